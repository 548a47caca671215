//! Assets (photos and videos), their EXIF, and the ingest bookkeeping that
//! keeps the library and the catalog in step across crashes.

use crate::albums::VISIBLE_ALBUMS;
use crate::partners::PARTNERS_OF;
use std::collections::HashMap;

use crate::rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ValueRef};
use crate::rusqlite::{OptionalExtension, Row, Transaction, params, params_from_iter};
use crate::settings::put_setting;
use crate::{Catalog, Error, JobKind, Millis, OptionalExt, Result, now_millis};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AssetKind {
    Image,
    Video,
}

impl AssetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AssetKind::Image => "IMAGE",
            AssetKind::Video => "VIDEO",
        }
    }
    fn parse(s: &str) -> Self {
        if s == "VIDEO" { AssetKind::Video } else { AssetKind::Image }
    }
}

/// Where an asset shows: Immich's `AssetVisibility`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    Timeline,
    Archive,
    Hidden,
    Locked,
}

impl Visibility {
    pub fn as_str(self) -> &'static str {
        match self {
            Visibility::Timeline => "timeline",
            Visibility::Archive => "archive",
            Visibility::Hidden => "hidden",
            Visibility::Locked => "locked",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "timeline" => Visibility::Timeline,
            "archive" => Visibility::Archive,
            "hidden" => Visibility::Hidden,
            "locked" => Visibility::Locked,
            _ => return None,
        })
    }
}

impl FromSql for Visibility {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let text = value.as_str()?;
        Visibility::parse(text).ok_or_else(|| FromSqlError::Other(format!("unknown visibility {text:?}").into()))
    }
}

#[derive(Debug, Clone)]
pub struct Asset {
    pub id: String,
    pub owner_id: String,
    pub checksum: Vec<u8>,
    pub kind: AssetKind,
    pub original_path: String,
    pub original_file_name: String,
    pub mime_type: String,
    pub file_size: i64,
    pub device_asset_id: String,
    pub device_id: String,
    pub file_created_at: Millis,
    pub file_modified_at: Millis,
    pub taken_at: Millis,
    pub local_taken_at: Millis,
    pub width: Option<i64>,
    pub height: Option<i64>,
    pub duration_ms: Option<i64>,
    pub is_favorite: bool,
    pub visibility: Visibility,
    pub live_photo_video_id: Option<String>,
    pub has_metadata: bool,
    pub thumbnail_path: Option<String>,
    pub preview_path: Option<String>,
    /// The playback transcode of a video, if it needed one.
    pub encoded_video_path: Option<String>,
    pub sidecar_path: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub deleted_at: Option<Millis>,
}

pub struct NewAsset {
    pub id: String,
    pub owner_id: String,
    pub checksum: Vec<u8>,
    pub kind: AssetKind,
    pub original_path: String,
    pub original_file_name: String,
    pub mime_type: String,
    pub file_size: i64,
    pub device_asset_id: String,
    pub device_id: String,
    pub file_created_at: Millis,
    pub file_modified_at: Millis,
    pub duration_ms: Option<i64>,
    pub is_favorite: bool,
    pub visibility: Visibility,
    pub live_photo_video_id: Option<String>,
    /// An XMP sidecar stored beside the original.
    pub sidecar_path: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Exif {
    pub make: Option<String>,
    pub model: Option<String>,
    pub lens_model: Option<String>,
    pub exposure_time: Option<String>,
    pub f_number: Option<f64>,
    pub iso: Option<i64>,
    pub focal_length: Option<f64>,
    pub latitude: Option<f64>,
    pub longitude: Option<f64>,
    pub orientation: Option<String>,
    pub image_width: Option<i64>,
    pub image_height: Option<i64>,
    pub date_time_original: Option<Millis>,
    pub time_zone: Option<String>,
    pub modify_date: Option<Millis>,
    pub description: Option<String>,
    pub rating: Option<i64>,
    pub file_size: Option<i64>,
    /// The place named from the GPS position.
    pub city: Option<String>,
    pub state: Option<String>,
    pub country: Option<String>,
}

/// Changes a user may make to an asset; `None` leaves a field as it is.
#[derive(Debug, Default)]
pub struct AssetUpdate {
    pub is_favorite: Option<bool>,
    pub visibility: Option<Visibility>,
    pub description: Option<String>,
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct AssetStats {
    pub images: i64,
    pub videos: i64,
}

pub(crate) const COLUMNS: &str = "id, owner_id, checksum, kind, original_path, original_file_name, mime_type, file_size, \
    device_asset_id, device_id, file_created_at, file_modified_at, taken_at, local_taken_at, width, height, \
    duration_ms, is_favorite, visibility, live_photo_video_id, has_metadata, thumbnail_path, preview_path, \
    created_at, updated_at, deleted_at, sidecar_path, encoded_video_path";

pub(crate) fn from_row(r: &Row) -> crate::rusqlite::Result<Asset> {
    Ok(Asset {
        id: r.get(0)?,
        owner_id: r.get(1)?,
        checksum: r.get(2)?,
        kind: AssetKind::parse(&r.get::<_, String>(3)?),
        original_path: r.get(4)?,
        original_file_name: r.get(5)?,
        mime_type: r.get(6)?,
        file_size: r.get(7)?,
        device_asset_id: r.get(8)?,
        device_id: r.get(9)?,
        file_created_at: r.get(10)?,
        file_modified_at: r.get(11)?,
        taken_at: r.get(12)?,
        local_taken_at: r.get(13)?,
        width: r.get(14)?,
        height: r.get(15)?,
        duration_ms: r.get(16)?,
        is_favorite: r.get(17)?,
        visibility: r.get(18)?,
        live_photo_video_id: r.get(19)?,
        has_metadata: r.get(20)?,
        thumbnail_path: r.get(21)?,
        preview_path: r.get(22)?,
        created_at: r.get(23)?,
        updated_at: r.get(24)?,
        deleted_at: r.get(25)?,
        sidecar_path: r.get(26)?,
        encoded_video_path: r.get(27)?,
    })
}

/// Present while photos from before place names wait for theirs.
pub(crate) const PLACES_BACKFILL: &str = "places.backfill";

pub(crate) const EXIF_COLUMNS: &str = "make, model, lens_model, exposure_time, f_number, iso, focal_length, latitude, longitude, \
    orientation, image_width, image_height, date_time_original, time_zone, modify_date, description, rating, file_size, city, state, country";

pub(crate) fn exif_from_row(r: &Row) -> crate::rusqlite::Result<Exif> {
    Ok(Exif {
        make: r.get(0)?,
        model: r.get(1)?,
        lens_model: r.get(2)?,
        exposure_time: r.get(3)?,
        f_number: r.get(4)?,
        iso: r.get(5)?,
        focal_length: r.get(6)?,
        latitude: r.get(7)?,
        longitude: r.get(8)?,
        orientation: r.get(9)?,
        image_width: r.get(10)?,
        image_height: r.get(11)?,
        date_time_original: r.get(12)?,
        time_zone: r.get(13)?,
        modify_date: r.get(14)?,
        description: r.get(15)?,
        rating: r.get(16)?,
        file_size: r.get(17)?,
        city: r.get(18)?,
        state: r.get(19)?,
        country: r.get(20)?,
    })
}

fn asset_in(tx: &Transaction, id: &str) -> Result<Asset> {
    tx.query_row(&format!("SELECT {COLUMNS} FROM assets WHERE id = ?1"), [id], from_row)
        .found("asset")
}

impl Catalog {
    /// Records that `path` is about to be renamed into the library, before
    /// the rename, so a crash before the row commits leaves a trace.
    pub fn add_pending_file(&self, path: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO pending_files (path, created_at) VALUES (?1, ?2)",
                params![path, now_millis()],
            )?;
            Ok(())
        })
    }

    pub fn remove_pending_file(&self, path: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM pending_files WHERE path = ?1", [path])?;
            Ok(())
        })
    }

    /// Pending files that no asset row claims: orphans of an interrupted
    /// ingest. The caller deletes each file, then calls `remove_pending_file`.
    pub fn orphaned_pending_files(&self) -> Result<Vec<String>> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM pending_files WHERE path IN (SELECT original_path FROM assets)
                    OR path IN (SELECT sidecar_path FROM assets WHERE sidecar_path IS NOT NULL)",
                [],
            )?;
            let mut stmt = tx.prepare("SELECT path FROM pending_files")?;
            let paths = stmt.query_map([], |r| r.get(0))?.collect::<Result<_, _>>()?;
            Ok(paths)
        })
    }

    /// Commits a fully written original: inserts its row, clears its pending
    /// mark and queues its metadata job, all in one transaction. If the user
    /// already has an asset with this checksum (a concurrent or retried
    /// upload), nothing is inserted and that asset's id comes back as `Err`.
    pub fn commit_asset(&self, new: &NewAsset) -> Result<std::result::Result<Asset, String>> {
        self.write(|tx| {
            let existing: Option<String> = tx
                .query_row(
                    "SELECT id FROM assets WHERE owner_id = ?1 AND checksum = ?2",
                    params![new.owner_id, new.checksum],
                    |r| r.get(0),
                )
                .optional()?;
            if let Some(id) = existing {
                return Ok(Err(id));
            }
            let now = now_millis();
            tx.execute(
                "INSERT INTO assets (id, owner_id, checksum, kind, original_path, original_file_name, mime_type, file_size,
                    device_asset_id, device_id, file_created_at, file_modified_at, taken_at, local_taken_at, duration_ms,
                    is_favorite, visibility, live_photo_video_id, created_at, updated_at, sidecar_path)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?11, ?11, ?13, ?14, ?15, ?16, ?17, ?17, ?18)",
                params![
                    new.id,
                    new.owner_id,
                    new.checksum,
                    new.kind.as_str(),
                    new.original_path,
                    new.original_file_name,
                    new.mime_type,
                    new.file_size,
                    new.device_asset_id,
                    new.device_id,
                    new.file_created_at,
                    new.file_modified_at,
                    new.duration_ms,
                    new.is_favorite,
                    new.visibility.as_str(),
                    new.live_photo_video_id,
                    now,
                    new.sidecar_path
                ],
            )?;
            tx.execute(
                "DELETE FROM pending_files WHERE path IN (?1, ?2)",
                params![new.original_path, new.sidecar_path],
            )?;
            // A live photo's motion part shows through its still, not on its own.
            if let Some(video) = &new.live_photo_video_id {
                tx.execute(
                    "UPDATE assets SET visibility = 'hidden', updated_at = ?3 WHERE id = ?1 AND owner_id = ?2 AND kind = 'VIDEO'",
                    params![video, new.owner_id, now],
                )?;
            }
            crate::jobs::enqueue_in(tx, JobKind::ExtractMetadata, &new.id, now)?;
            Ok(Ok(asset_in(tx, &new.id)?))
        })
    }

    /// An asset by id, whoever owns it. Callers check access.
    pub fn asset(&self, id: &str) -> Result<Asset> {
        self.conn()?
            .query_row(&format!("SELECT {COLUMNS} FROM assets WHERE id = ?1"), [id], from_row)
            .found("asset")
    }

    /// An asset of this owner's; another user's asset is reported as not
    /// found so ids of other users' assets reveal nothing.
    pub fn owned_asset(&self, owner_id: &str, id: &str) -> Result<Asset> {
        self.conn()?
            .query_row(
                &format!("SELECT {COLUMNS} FROM assets WHERE id = ?1 AND owner_id = ?2"),
                [id, owner_id],
                from_row,
            )
            .found("asset")
    }

    /// An asset the user owns, sees in an album shared with them, or sees
    /// because its owner is their partner.
    pub fn viewable_asset(&self, user_id: &str, id: &str) -> Result<Asset> {
        self.conn()?
            .query_row(
                &format!(
                    "SELECT {COLUMNS} FROM assets WHERE id = ?2 AND (owner_id = ?1 OR owner_id IN ({PARTNERS_OF})
                       OR id IN (SELECT asset_id FROM album_assets WHERE album_id IN ({VISIBLE_ALBUMS})))"
                ),
                [user_id, id],
                from_row,
            )
            .found("asset")
    }

    pub fn exif(&self, asset_id: &str) -> Result<Option<Exif>> {
        Ok(self
            .conn()?
            .query_row(
                &format!("SELECT {EXIF_COLUMNS} FROM exif WHERE asset_id = ?1"),
                [asset_id],
                exif_from_row,
            )
            .optional()?)
    }

    /// The metadata of each of `assets` that has some, by asset id, in one query.
    pub fn exifs_of(&self, assets: &[Asset]) -> Result<HashMap<String, Exif>> {
        let ids: Vec<&str> = assets.iter().map(|a| a.id.as_str()).collect();
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {EXIF_COLUMNS}, asset_id FROM exif WHERE asset_id IN (SELECT value FROM json_each(?1))"
        ))?;
        let id_column = EXIF_COLUMNS.split(',').count();
        let rows = stmt.query_map([crate::json_list(&ids)], |r| {
            Ok((r.get::<_, String>(id_column)?, exif_from_row(r)?))
        })?;
        Ok(rows.collect::<crate::rusqlite::Result<_>>()?)
    }

    /// Which of these SHA-1 checksums the user already has: checksum → (asset id, in trash).
    pub fn find_checksums(&self, owner_id: &str, checksums: &[Vec<u8>]) -> Result<HashMap<Vec<u8>, (String, bool)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare_cached("SELECT id, deleted_at IS NOT NULL FROM assets WHERE owner_id = ?1 AND checksum = ?2")?;
        let mut found = HashMap::new();
        for sum in checksums {
            if let Some(hit) = stmt.query_row(params![owner_id, sum], |r| Ok((r.get(0)?, r.get(1)?))).optional()? {
                found.insert(sum.clone(), hit);
            }
        }
        Ok(found)
    }

    /// Stores extracted metadata and moves the asset's dates to the capture
    /// time when the file says when it was taken.
    pub fn set_metadata(&self, asset_id: &str, exif: &Exif, taken: Option<(Millis, Millis)>, size: Option<(i64, i64)>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT OR REPLACE INTO exif (asset_id, make, model, lens_model, exposure_time, f_number, iso, focal_length,
                    latitude, longitude, orientation, image_width, image_height, date_time_original, time_zone, modify_date,
                    description, rating, file_size, city, state, country)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
                params![
                    asset_id,
                    exif.make,
                    exif.model,
                    exif.lens_model,
                    exif.exposure_time,
                    exif.f_number,
                    exif.iso,
                    exif.focal_length,
                    exif.latitude,
                    exif.longitude,
                    exif.orientation,
                    exif.image_width,
                    exif.image_height,
                    exif.date_time_original,
                    exif.time_zone,
                    exif.modify_date,
                    exif.description,
                    exif.rating,
                    exif.file_size,
                    exif.city,
                    exif.state,
                    exif.country
                ],
            )?;
            let now = now_millis();
            tx.execute(
                "UPDATE assets SET has_metadata = 1, updated_at = ?2,
                    taken_at = coalesce(?3, taken_at), local_taken_at = coalesce(?4, local_taken_at),
                    width = coalesce(?5, width), height = coalesce(?6, height)
                 WHERE id = ?1",
                params![
                    asset_id,
                    now,
                    taken.map(|t| t.0),
                    taken.map(|t| t.1),
                    size.map(|s| s.0),
                    size.map(|s| s.1)
                ],
            )?;
            Ok(())
        })
    }

    /// Records an asset's Apple content identifier and pairs the two halves
    /// of a live photo uploaded separately, whichever came first: the still
    /// links the video, which is then hidden, as with `livePhotoVideoId`
    /// at upload.
    pub fn link_live_photo(&self, asset_id: &str, content_id: &str) -> Result<()> {
        self.write(|tx| {
            let now = now_millis();
            tx.execute("UPDATE assets SET live_photo_cid = ?2 WHERE id = ?1", params![asset_id, content_id])?;
            let pair: Option<(String, String)> = tx
                .query_row(
                    "SELECT s.id, v.id FROM assets me
                     JOIN assets s ON s.owner_id = me.owner_id AND s.live_photo_cid = me.live_photo_cid AND s.kind = 'IMAGE'
                     JOIN assets v ON v.owner_id = me.owner_id AND v.live_photo_cid = me.live_photo_cid AND v.kind = 'VIDEO'
                     WHERE me.id = ?1 AND s.deleted_at IS NULL AND v.deleted_at IS NULL AND s.live_photo_video_id IS NULL
                       AND NOT EXISTS (SELECT 1 FROM assets o WHERE o.live_photo_video_id = v.id)
                     ORDER BY s.created_at, v.created_at LIMIT 1",
                    [asset_id],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()?;
            if let Some((still, video)) = pair {
                tx.execute(
                    "UPDATE assets SET live_photo_video_id = ?2, updated_at = ?3 WHERE id = ?1",
                    params![still, video, now],
                )?;
                tx.execute(
                    "UPDATE assets SET visibility = 'hidden', updated_at = ?2 WHERE id = ?1",
                    params![video, now],
                )?;
            }
            Ok(())
        })
    }

    /// Names the places of photos catalogued before place names existed,
    /// once (migration 16 leaves a marker when there are any): `name` gives
    /// (city, state, country) for a position. Returns how many were named.
    pub fn name_missing_places(&self, name: impl Fn(f64, f64) -> Option<(String, Option<String>, String)>) -> Result<usize> {
        if self.setting(PLACES_BACKFILL)?.is_none() {
            return Ok(0);
        }
        let positions: Vec<(String, f64, f64)> = {
            let conn = self.conn()?;
            let mut stmt = conn.prepare(
                "SELECT asset_id, latitude, longitude FROM exif WHERE latitude IS NOT NULL AND longitude IS NOT NULL AND city IS NULL",
            )?;
            stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<Result<_, _>>()?
        };
        let named: Vec<_> = positions
            .into_iter()
            .filter_map(|(id, lat, lon)| Some((id, name(lat, lon)?)))
            .collect();
        self.write(|tx| {
            for (id, (city, state, country)) in &named {
                tx.execute(
                    "UPDATE exif SET city = ?2, state = ?3, country = ?4 WHERE asset_id = ?1",
                    params![id, city, state, country],
                )?;
            }
            put_setting(tx, PLACES_BACKFILL, None)?;
            Ok(named.len())
        })
    }

    /// A video's length as its file states it, replacing what the uploader claimed.
    pub fn set_duration(&self, asset_id: &str, duration_ms: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute("UPDATE assets SET duration_ms = ?2 WHERE id = ?1", params![asset_id, duration_ms])?;
            Ok(())
        })
    }

    pub fn set_encoded_video(&self, asset_id: &str, path: Option<&str>) -> Result<()> {
        self.write(|tx| {
            tx.execute("UPDATE assets SET encoded_video_path = ?2 WHERE id = ?1", params![asset_id, path])?;
            Ok(())
        })
    }

    /// Records the derived files and the displayed (orientation-applied) size.
    /// Every derived file the catalog names: (asset id, catalog-relative path).
    pub fn derived_files(&self) -> Result<Vec<(String, String)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare("SELECT id, thumbnail_path, preview_path, encoded_video_path FROM assets")?;
        let rows = stmt.query_map([], |r| {
            let paths: [Option<String>; 3] = [r.get(1)?, r.get(2)?, r.get(3)?];
            Ok((r.get::<_, String>(0)?, paths))
        })?;
        let mut files = Vec::new();
        for row in rows {
            let (id, paths) = row?;
            files.extend(paths.into_iter().flatten().map(|p| (id.clone(), p)));
        }
        Ok(files)
    }

    pub fn set_derivatives(&self, asset_id: &str, thumbnail_path: &str, preview_path: &str, width: i64, height: i64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE assets SET thumbnail_path = ?2, preview_path = ?3, width = ?4, height = ?5, updated_at = ?6 WHERE id = ?1",
                params![asset_id, thumbnail_path, preview_path, width, height, now_millis()],
            )?;
            Ok(())
        })
    }

    pub fn update_asset(&self, owner_id: &str, id: &str, update: &AssetUpdate) -> Result<Asset> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE assets SET is_favorite = coalesce(?3, is_favorite), visibility = coalesce(?4, visibility), updated_at = ?5
                 WHERE id = ?1 AND owner_id = ?2",
                params![
                    id,
                    owner_id,
                    update.is_favorite,
                    update.visibility.map(Visibility::as_str),
                    now_millis()
                ],
            )?;
            if n == 0 {
                return Err(Error::NotFound("asset"));
            }
            if let Some(description) = &update.description {
                tx.execute("INSERT OR IGNORE INTO exif (asset_id) VALUES (?1)", [id])?;
                tx.execute("UPDATE exif SET description = ?2 WHERE asset_id = ?1", params![id, description])?;
            }
            asset_in(tx, id)
        })
    }

    /// Moves the user's assets among `ids` to the trash; returns how many moved.
    pub fn trash_assets(&self, owner_id: &str, ids: &[String]) -> Result<usize> {
        self.for_owned(
            owner_id,
            ids,
            "UPDATE assets SET deleted_at = ?3, updated_at = ?3 WHERE id = ?1 AND owner_id = ?2 AND deleted_at IS NULL",
        )
    }

    pub fn restore_assets(&self, owner_id: &str, ids: &[String]) -> Result<usize> {
        self.for_owned(
            owner_id,
            ids,
            "UPDATE assets SET deleted_at = NULL, updated_at = ?3 WHERE id = ?1 AND owner_id = ?2 AND deleted_at IS NOT NULL",
        )
    }

    pub fn restore_trash(&self, owner_id: &str) -> Result<usize> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE assets SET deleted_at = NULL, updated_at = ?2 WHERE owner_id = ?1 AND deleted_at IS NOT NULL",
                params![owner_id, now_millis()],
            )?)
        })
    }

    fn for_owned(&self, owner_id: &str, ids: &[String], sql: &str) -> Result<usize> {
        let now = now_millis();
        self.write(|tx| {
            let mut stmt = tx.prepare(sql)?;
            let mut changed = 0;
            for id in ids {
                changed += stmt.execute(params![id, owner_id, now])?;
            }
            Ok(changed)
        })
    }

    /// Deletes the user's assets among `ids` for good and returns them, so
    /// the caller can remove their files.
    pub fn delete_assets(&self, owner_id: &str, ids: &[String]) -> Result<Vec<Asset>> {
        self.write(|tx| {
            let mut gone = Vec::new();
            for id in ids {
                if let Some(asset) = tx
                    .query_row(
                        &format!("SELECT {COLUMNS} FROM assets WHERE id = ?1 AND owner_id = ?2"),
                        [id, owner_id],
                        from_row,
                    )
                    .optional()?
                {
                    tx.execute("DELETE FROM assets WHERE id = ?1", [id])?;
                    gone.push(asset);
                }
            }
            Ok(gone)
        })
    }

    /// Empties the trash: of one user, or (with `None`) every asset trashed
    /// before `cutoff`. Returns the deleted assets for file removal.
    pub fn purge_trash(&self, owner_id: Option<&str>, cutoff: Millis) -> Result<Vec<Asset>> {
        self.write(|tx| {
            let sql = format!(
                "DELETE FROM assets WHERE deleted_at IS NOT NULL AND deleted_at <= ?1 AND (?2 IS NULL OR owner_id = ?2) RETURNING {COLUMNS}"
            );
            let mut stmt = tx.prepare(&sql)?;
            let gone = stmt.query_map(params![cutoff, owner_id], from_row)?.collect::<Result<_, _>>()?;
            Ok(gone)
        })
    }

    /// Assets of the owner for listing, newest capture first.
    pub fn owner_assets(&self, owner_id: &str, trashed: bool, limit: i64, offset: i64) -> Result<Vec<Asset>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM assets WHERE owner_id = ?1 AND (deleted_at IS NOT NULL) = ?2
             ORDER BY local_taken_at DESC, id LIMIT ?3 OFFSET ?4"
        ))?;
        let rows = stmt
            .query_map(params![owner_id, trashed, limit, offset], from_row)?
            .collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Counts of the user's assets with the given filters (`None` = any).
    pub fn asset_stats(
        &self,
        owner_id: &str,
        favorite: Option<bool>,
        trashed: Option<bool>,
        visibility: Option<Visibility>,
    ) -> Result<AssetStats> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT kind, count(*) FROM assets WHERE owner_id = ?1
               AND (?2 IS NULL OR is_favorite = ?2)
               AND (?3 IS NULL OR (deleted_at IS NOT NULL) = ?3)
               AND (?4 IS NULL OR visibility = ?4)
             GROUP BY kind",
        )?;
        let mut stats = AssetStats::default();
        let rows = stmt.query_map(params![owner_id, favorite, trashed, visibility.map(Visibility::as_str)], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?))
        })?;
        for row in rows {
            match row? {
                (k, n) if k == "VIDEO" => stats.videos = n,
                (_, n) => stats.images += n,
            }
        }
        Ok(stats)
    }

    /// Which of `ids` exist and belong to the owner.
    pub fn owned_ids(&self, owner_id: &str, ids: &[String]) -> Result<Vec<String>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let conn = self.conn()?;
        let placeholders = vec!["?"; ids.len()].join(",");
        let mut stmt = conn.prepare(&format!("SELECT id FROM assets WHERE owner_id = ? AND id IN ({placeholders})"))?;
        let args = std::iter::once(owner_id).chain(ids.iter().map(String::as_str));
        let rows = stmt.query_map(params_from_iter(args), |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::NewUser;

    pub(crate) fn user(cat: &Catalog, email: &str) -> String {
        cat.create_user(&NewUser {
            email,
            name: "U",
            password_hash: "h",
            is_admin: false,
            should_change_password: false,
            quota_bytes: None,
        })
        .unwrap()
        .id
    }

    pub(crate) fn new_asset(owner: &str, checksum: &[u8]) -> NewAsset {
        let id = crate::new_id();
        NewAsset {
            original_path: format!("library/{owner}/{id}.jpg"),
            id,
            owner_id: owner.into(),
            checksum: checksum.into(),
            kind: AssetKind::Image,
            original_file_name: "a.jpg".into(),
            mime_type: "image/jpeg".into(),
            file_size: 10,
            device_asset_id: String::new(),
            device_id: String::new(),
            file_created_at: 1_000,
            file_modified_at: 2_000,
            duration_ms: None,
            is_favorite: false,
            visibility: Visibility::Timeline,
            live_photo_video_id: None,
            sidecar_path: None,
        }
    }

    #[test]
    fn the_same_checksum_for_the_same_user_is_a_duplicate_but_not_for_another_user() {
        let (_d, cat) = crate::test_catalog();
        let (a, b) = (user(&cat, "a@x"), user(&cat, "b@x"));
        let first = cat.commit_asset(&new_asset(&a, b"sum")).unwrap().unwrap();
        assert_eq!(cat.commit_asset(&new_asset(&a, b"sum")).unwrap().unwrap_err(), first.id);
        assert!(cat.commit_asset(&new_asset(&b, b"sum")).unwrap().is_ok());
    }

    #[test]
    fn a_committed_asset_clears_its_pending_file_and_queues_metadata() {
        let (_d, cat) = crate::test_catalog();
        let a = user(&cat, "a@x");
        let new = new_asset(&a, b"sum");
        cat.add_pending_file(&new.original_path).unwrap();
        cat.add_pending_file("library/orphan.jpg").unwrap();
        cat.commit_asset(&new).unwrap().unwrap();
        assert_eq!(cat.orphaned_pending_files().unwrap(), vec!["library/orphan.jpg".to_string()]);
        assert_eq!(cat.job_counts().unwrap().pending, 1);
    }

    #[test]
    fn trash_restore_and_purge_respect_owner_and_cutoff() {
        let (_d, cat) = crate::test_catalog();
        let (a, b) = (user(&cat, "a@x"), user(&cat, "b@x"));
        let asset = cat.commit_asset(&new_asset(&a, b"1")).unwrap().unwrap();
        assert_eq!(
            cat.trash_assets(&b, std::slice::from_ref(&asset.id)).unwrap(),
            0,
            "another user cannot trash it"
        );
        assert_eq!(cat.trash_assets(&a, std::slice::from_ref(&asset.id)).unwrap(), 1);
        let trashed_at = cat.asset(&asset.id).unwrap().deleted_at.unwrap();
        assert!(cat.purge_trash(None, trashed_at - 1).unwrap().is_empty(), "too recent to purge");
        assert_eq!(cat.restore_trash(&a).unwrap(), 1);
        cat.trash_assets(&a, std::slice::from_ref(&asset.id)).unwrap();
        let purged = cat.purge_trash(None, now_millis()).unwrap();
        assert_eq!(purged.len(), 1);
        assert!(matches!(cat.asset(&asset.id), Err(Error::NotFound(_))));
    }

    #[test]
    fn places_missing_from_an_older_catalog_are_named_once() {
        let (_d, cat) = crate::test_catalog();
        let a = user(&cat, "a@x");
        let at = |sum: &[u8], latitude: Option<f64>| {
            let asset = cat.commit_asset(&new_asset(&a, sum)).unwrap().unwrap();
            let exif = Exif {
                latitude,
                longitude: latitude,
                ..Default::default()
            };
            cat.set_metadata(&asset.id, &exif, None, None).unwrap();
            asset.id
        };
        let (town, sea, nowhere) = (at(b"1", Some(10.0)), at(b"2", Some(0.0)), at(b"3", None));
        let name = |lat: f64, _lon: f64| (lat > 5.0).then(|| ("Town".to_string(), None, "Land".to_string()));
        assert_eq!(cat.name_missing_places(name).unwrap(), 0, "nothing to do without the marker");
        cat.set_settings(&[(PLACES_BACKFILL, Some("pending"))]).unwrap();
        assert_eq!(cat.name_missing_places(name).unwrap(), 1);
        assert_eq!(cat.exif(&town).unwrap().unwrap().city.as_deref(), Some("Town"));
        assert_eq!(cat.exif(&sea).unwrap().unwrap().city, None);
        assert!(cat.exif(&nowhere).unwrap().unwrap().country.is_none());
        assert_eq!(cat.setting(PLACES_BACKFILL).unwrap(), None, "done once");
    }

    #[test]
    fn metadata_moves_the_capture_date_and_keeps_file_dates() {
        let (_d, cat) = crate::test_catalog();
        let a = user(&cat, "a@x");
        let asset = cat.commit_asset(&new_asset(&a, b"1")).unwrap().unwrap();
        let exif = Exif {
            make: Some("Canon".into()),
            ..Default::default()
        };
        cat.set_metadata(&asset.id, &exif, Some((500, 3_600_500)), Some((4000, 3000)))
            .unwrap();
        let after = cat.asset(&asset.id).unwrap();
        assert_eq!(
            (after.taken_at, after.local_taken_at, after.file_created_at),
            (500, 3_600_500, 1_000)
        );
        assert_eq!(cat.exif(&asset.id).unwrap().unwrap().make.as_deref(), Some("Canon"));
    }
}
