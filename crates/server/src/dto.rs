//! Catalog entities in the shapes of the Immich 3.0 OpenAPI schemas. The
//! apps' generated models parse strictly: every required field is present
//! here, with `null` only where the schema says nullable.

use base64::Engine;
use serde_json::{Value, json};
use shoebox_catalog::{Album, AlbumRole, ApiKey, Asset, AssetFace, Exif, Millis, OcrText, Person, User, Visibility};

/// ISO-8601 UTC with milliseconds, as Immich writes dates.
pub fn iso(millis: Millis) -> String {
    Iso(millis).to_string()
}

/// A date as [`iso`] writes it, written straight into a response: a
/// timeline month holds thousands, and chrono's general formatter took a
/// twentieth of that request.
#[derive(Debug, Clone, Copy)]
pub struct Iso(pub Millis);

impl Iso {
    /// The date's characters, for the years four digits hold.
    fn digits(self) -> Option<[u8; 24]> {
        use chrono::{Datelike, Timelike};
        let t = chrono::DateTime::from_timestamp_millis(self.0).unwrap_or_default();
        let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
        let mut out = *b"0000-00-00T00:00:00.000Z";
        let mut put = |at: usize, width: usize, mut n: u32| {
            for digit in out[at..at + width].iter_mut().rev() {
                *digit = b'0' + (n % 10) as u8;
                n /= 10;
            }
        };
        put(0, 4, year);
        put(5, 2, t.month());
        put(8, 2, t.day());
        put(11, 2, t.hour());
        put(14, 2, t.minute());
        put(17, 2, t.second());
        put(20, 3, t.timestamp_subsec_millis());
        Some(out)
    }

    /// Hands the date's text to `write`: from the stack when four digits
    /// hold its year, else as chrono writes it.
    fn write<R>(self, write: impl FnOnce(&str) -> R) -> R {
        match self.digits() {
            Some(digits) => write(std::str::from_utf8(&digits).expect("ASCII digits")),
            None => write(&chrono_iso(self.0)),
        }
    }

    /// Appends the date as a JSON string; its characters never need escaping.
    pub fn write_json(self, out: &mut Vec<u8>) {
        self.write(|text| {
            out.push(b'"');
            out.extend_from_slice(text.as_bytes());
            out.push(b'"');
        })
    }
}

impl std::fmt::Display for Iso {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.write(|text| f.write_str(text))
    }
}

impl serde::Serialize for Iso {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.write(|text| serializer.serialize_str(text))
    }
}

/// Dates whose years four digits cannot hold, written by chrono.
fn chrono_iso(millis: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(millis)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn parse_iso(s: &str) -> Option<Millis> {
    chrono::DateTime::parse_from_rfc3339(s.trim()).ok().map(|t| t.timestamp_millis())
}

/// A date-time request field; the error names the field.
pub fn parse_date_field(field: &str, value: Option<&str>) -> crate::error::ApiResult<Option<Millis>> {
    value
        .map(|v| parse_iso(v).ok_or_else(|| crate::error::ApiError::bad_request(format!("{field} is not an ISO-8601 date-time: {v:?}"))))
        .transpose()
}

pub fn checksum_base64(sum: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(sum)
}

/// `UserResponseDto`
pub fn user(u: &User) -> Value {
    json!({
        "id": u.id,
        "email": u.email,
        "name": u.name,
        "avatarColor": u.avatar_color,
        "profileImagePath": "",
        "profileChangedAt": iso(u.created_at),
    })
}

/// `UserAdminResponseDto`
pub fn user_admin(u: &User, usage_bytes: i64) -> Value {
    let mut v = user(u);
    let extra = json!({
        "createdAt": iso(u.created_at),
        "updatedAt": iso(u.updated_at),
        "deletedAt": null,
        "isAdmin": u.is_admin,
        "license": null,
        "oauthId": "",
        "quotaSizeInBytes": u.quota_bytes,
        "quotaUsageInBytes": usage_bytes,
        "shouldChangePassword": u.should_change_password,
        "status": "active",
        "storageLabel": if u.is_admin { Value::from("admin") } else { Value::Null },
    });
    merge(&mut v, extra);
    v
}

/// `ApiKeyResponseDto`
pub fn api_key(k: &ApiKey) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "permissions": k.permissions,
        "createdAt": iso(k.created_at),
        "updatedAt": iso(k.updated_at),
    })
}

/// `ExifResponseDto`
pub fn exif(e: &Exif) -> Value {
    json!({
        "make": e.make,
        "model": e.model,
        "lensModel": e.lens_model,
        "exposureTime": e.exposure_time,
        "fNumber": e.f_number,
        "iso": e.iso,
        "focalLength": e.focal_length,
        "latitude": e.latitude,
        "longitude": e.longitude,
        "orientation": e.orientation,
        "exifImageWidth": e.image_width,
        "exifImageHeight": e.image_height,
        "dateTimeOriginal": e.date_time_original.map(iso),
        "modifyDate": e.modify_date.map(iso),
        "timeZone": e.time_zone,
        "description": e.description.clone().unwrap_or_default(),
        "rating": e.rating,
        "fileSizeInByte": e.file_size,
        "city": e.city,
        "state": e.state,
        "country": e.country,
        "projectionType": null,
    })
}

/// `AssetResponseDto`
/// One line of text read from an asset (`AssetOcrResponseDto`).
pub fn ocr_line(asset_id: &str, line: &OcrText) -> Value {
    let [[x1, y1], [x2, y2], [x3, y3], [x4, y4]] = line.corners;
    json!({
        "id": line.id, "assetId": asset_id, "text": line.text,
        "boxScore": line.box_score, "textScore": line.text_score,
        "x1": x1, "y1": y1, "x2": x2, "y2": y2, "x3": x3, "y3": y3, "x4": x4, "y4": y4,
    })
}

/// A face found in an asset (`AssetFaceResponseDto`), in pixels of the image it was found in.
pub fn face(face: &AssetFace, person: Option<&Person>) -> Value {
    let [x1, y1, x2, y2] = face.bbox;
    json!({
        "id": face.id, "imageWidth": face.image_width, "imageHeight": face.image_height,
        "boundingBoxX1": x1, "boundingBoxY1": y1, "boundingBoxX2": x2, "boundingBoxY2": y2,
        "person": person.map(self::person), "sourceType": "machine-learning",
    })
}

/// Immich's `PersonResponseDto`; the thumbnail is served by its own route.
pub fn person(p: &Person) -> Value {
    json!({
        "id": p.id,
        "name": p.name,
        "birthDate": p.birth_date,
        "thumbnailPath": format!("/api/people/{}/thumbnail", p.id),
        "isHidden": p.is_hidden,
        "isFavorite": p.is_favorite,
        "updatedAt": iso(p.updated_at),
    })
}

pub fn asset(a: &Asset, exif_info: Option<&Exif>) -> Value {
    let mut v = json!({
        "id": a.id,
        "ownerId": a.owner_id,
        "checksum": checksum_base64(&a.checksum),
        "type": a.kind.as_str(),
        "originalFileName": a.original_file_name,
        "originalMimeType": a.mime_type,
        "originalPath": a.original_path,
        "fileCreatedAt": iso(a.taken_at),
        "fileModifiedAt": iso(a.file_modified_at),
        "localDateTime": iso(a.local_taken_at),
        "createdAt": iso(a.created_at),
        "updatedAt": iso(a.updated_at),
        "duration": a.duration_ms,
        "width": a.width,
        "height": a.height,
        "hasMetadata": a.has_metadata,
        "isFavorite": a.is_favorite,
        "isArchived": a.visibility == Visibility::Archive,
        "isTrashed": a.deleted_at.is_some(),
        "isOffline": false,
        "isEdited": false,
        "visibility": a.visibility.as_str(),
        "livePhotoVideoId": a.live_photo_video_id,
        "thumbhash": null,
        "resized": a.thumbnail_path.is_some(),
        "people": [],
        "tags": [],
    });
    if let Some(e) = exif_info {
        merge(&mut v, json!({ "exifInfo": exif(e) }));
    }
    v
}

/// `AlbumResponseDto`; the owner is listed in `albumUsers` first, as the apps expect.
pub fn album(a: &Album, owner: &User, members: &[(User, AlbumRole)], has_shared_link: bool) -> Value {
    let album_users: Vec<Value> = std::iter::once((owner, AlbumRole::Owner))
        .chain(members.iter().map(|(u, r)| (u, *r)))
        .map(|(u, role)| json!({ "role": role.as_str(), "user": user(u) }))
        .collect();
    let mut v = json!({
        "id": a.id,
        "albumName": a.name,
        "description": a.description,
        "albumThumbnailAssetId": a.thumbnail_asset_id,
        "albumUsers": album_users,
        "assetCount": a.asset_count,
        "createdAt": iso(a.created_at),
        "updatedAt": iso(a.updated_at),
        "hasSharedLink": has_shared_link,
        "ownerId": a.owner_id,
        "owner": user(owner),
        "isActivityEnabled": false,
        "shared": !members.is_empty(),
        "order": "desc",
    });
    if let (Some(start), Some(end)) = (a.start, a.end) {
        merge(&mut v, json!({ "startDate": iso(start), "endDate": iso(end) }));
    }
    v
}

fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        into.extend(from);
    }
}

/// `SyncUserV1`
pub fn sync_user(u: &User) -> Value {
    json!({
        "id": u.id,
        "name": u.name,
        "email": u.email,
        "avatarColor": u.avatar_color,
        "deletedAt": null,
        "hasProfileImage": false,
        "profileChangedAt": iso(u.created_at),
    })
}

/// `SyncAuthUserV1`: the signed-in user, with admin flag and quota.
pub fn sync_auth_user(u: &User, usage_bytes: i64) -> Value {
    let mut v = sync_user(u);
    merge(
        &mut v,
        json!({
            "isAdmin": u.is_admin,
            "oauthId": "",
            "pinCode": null,
            "quotaSizeInBytes": u.quota_bytes,
            "quotaUsageInBytes": usage_bytes,
            "storageLabel": if u.is_admin { Value::from("admin") } else { Value::Null },
        }),
    );
    v
}

/// `SyncAssetV2`
pub fn sync_asset(a: &Asset) -> Value {
    json!({
        "id": a.id,
        "ownerId": a.owner_id,
        "checksum": checksum_base64(&a.checksum),
        "type": a.kind.as_str(),
        "originalFileName": a.original_file_name,
        "createdAt": iso(a.created_at),
        "fileCreatedAt": iso(a.taken_at),
        "fileModifiedAt": iso(a.file_modified_at),
        "localDateTime": iso(a.local_taken_at),
        "deletedAt": a.deleted_at.map(iso),
        "duration": a.duration_ms,
        "width": a.width,
        "height": a.height,
        "isFavorite": a.is_favorite,
        "isEdited": false,
        "visibility": a.visibility.as_str(),
        "livePhotoVideoId": a.live_photo_video_id,
        "thumbhash": null,
        "stackId": null,
        "libraryId": null,
    })
}

/// `SyncAssetExifV1`
pub fn sync_exif(asset_id: &str, e: &Exif) -> Value {
    let mut v = exif(e);
    merge(&mut v, json!({ "assetId": asset_id, "fps": null, "profileDescription": null }));
    v
}

/// `SyncPersonV1`
pub fn sync_person(p: &Person) -> Value {
    json!({
        "id": p.id,
        "ownerId": p.owner_id,
        "name": p.name,
        // A date-time here (midnight UTC), where the REST DTO has a date.
        "birthDate": p.birth_date.as_ref().map(|d| format!("{d}T00:00:00.000Z")),
        "isHidden": p.is_hidden,
        "isFavorite": p.is_favorite,
        "color": null,
        "faceAssetId": p.face_id,
        "createdAt": iso(p.created_at),
        "updatedAt": iso(p.updated_at),
    })
}

/// `SyncAssetFaceV2`
pub fn sync_face(asset_id: &str, f: &AssetFace) -> Value {
    let [x1, y1, x2, y2] = f.bbox;
    json!({
        "id": f.id, "assetId": asset_id, "personId": f.person_id,
        "imageWidth": f.image_width, "imageHeight": f.image_height,
        "boundingBoxX1": x1, "boundingBoxY1": y1, "boundingBoxX2": x2, "boundingBoxY2": y2,
        "sourceType": "machine-learning", "isVisible": true, "deletedAt": null,
    })
}

/// `SyncAlbumV2`
pub fn sync_album(a: &Album) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "description": a.description,
        "createdAt": iso(a.created_at),
        "updatedAt": iso(a.updated_at),
        "thumbnailAssetId": a.thumbnail_asset_id,
        "isActivityEnabled": false,
        "order": "desc",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip_through_iso_with_milliseconds_and_z() {
        assert_eq!(iso(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(parse_iso("2020-01-01T00:00:00.123Z"), Some(1_577_836_800_123));
        assert_eq!(parse_iso("2020-01-01T02:00:00+02:00"), Some(1_577_836_800_000));
        assert_eq!(parse_iso("yesterday"), None);
    }

    #[test]
    fn iso_writes_every_date_as_chrono_does() {
        // Both ends of four-digit years, before 1970, leap days, and dates
        // from hostile metadata that take five digits or a sign.
        let edges = [
            0,
            -1,
            951_782_400_999,
            -62_167_219_200_000,
            -62_167_219_200_001,
            253_402_300_799_999,
            253_402_300_800_000,
            8_210_266_876_799_999,
            i64::MAX,
            i64::MIN,
        ];
        let spread = (0..2000).map(|i: i64| -2_000_000_000_000 + i * 3_123_456_789_017);
        for millis in edges.into_iter().chain(spread) {
            assert_eq!(iso(millis), chrono_iso(millis), "{millis}");
            assert_eq!(serde_json::to_value(Iso(millis)).unwrap(), chrono_iso(millis), "{millis}");
            let mut json = Vec::new();
            Iso(millis).write_json(&mut json);
            assert_eq!(json, serde_json::to_vec(&chrono_iso(millis)).unwrap(), "{millis}");
        }
        let json = serde_json::to_string(&[Iso(1_577_836_800_123)]).unwrap();
        assert_eq!(json, r#"["2020-01-01T00:00:00.123Z"]"#);
    }
}
