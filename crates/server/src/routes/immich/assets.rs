//! Assets: upload and duplicate check, info, edits, trash, statistics, and
//! the media endpoints (thumbnail, preview, original).

use std::collections::HashMap;

use crate::json::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::{DefaultBodyLimit, Multipart, Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine;
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_catalog::{Asset, AssetKind, AssetUpdate, NewAsset, Visibility, now_millis};
use shoebox_media::{Layout, MediaKind, MediaType};
use tower::ServiceExt;
use tower_http::services::ServeFile;

use crate::auth::{Access, Auth};
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::ingest::{self, Stored};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/assets",
            post(upload).layer(DefaultBodyLimit::disable()).put(update_many).delete(delete_many),
        )
        .route("/assets/bulk-upload-check", post(bulk_upload_check))
        .route("/assets/statistics", get(statistics))
        .route("/assets/{id}", get(info).put(update_one))
        .route("/assets/{id}/thumbnail", get(thumbnail))
        .route("/assets/{id}/ocr", get(ocr))
        .route("/faces", get(faces))
        .route("/assets/{id}/original", get(original))
        .route("/assets/{id}/video/playback", get(playback))
        .route("/trash/restore", post(restore_all))
        .route("/trash/restore/assets", post(restore_some))
        .route("/trash/empty", post(empty_trash))
}

/// Text fields of an upload are small and few; anything beyond is not a
/// client of ours, and must not make the server hold it in memory.
const MAX_FIELD_BYTES: usize = 64 * 1024;
const MAX_FIELDS: usize = 64;

async fn small_text(mut field: axum::extract::multipart::Field<'_>) -> ApiResult<String> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await? {
        if buf.len() + chunk.len() > MAX_FIELD_BYTES {
            return Err(ApiError::bad_request("An upload form field is too large"));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| ApiError::bad_request("An upload form field is not UTF-8 text"))
}

/// The name to show for a file: only its last path component, never
/// directories a client put in it.
fn display_name(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or("").trim();
    let clean: String = base.chars().filter(|c| !c.is_control()).take(255).collect();
    if clean.is_empty() || clean == "." || clean == ".." {
        "upload".into()
    } else {
        clean
    }
}

/// Immich clients send SHA-1 as hex (CLI header) or base64 (bulk check).
pub(super) fn decode_checksum(s: &str) -> Option<Vec<u8>> {
    let s = s.trim();
    let bytes = if s.len() == 40 {
        hex::decode(s).ok()?
    } else {
        base64::engine::general_purpose::STANDARD.decode(s).ok()?
    };
    (bytes.len() == 20).then_some(bytes)
}

/// 3.x clients send milliseconds; older ones "H:MM:SS.ffffff".
fn parse_duration(s: &str) -> Option<i64> {
    if let Ok(ms) = s.trim().parse::<i64>() {
        return Some(ms);
    }
    let mut parts = s.trim().split(':');
    let (h, m, sec) = (
        parts.next()?.parse::<f64>().ok()?,
        parts.next()?.parse::<f64>().ok()?,
        parts.next()?.parse::<f64>().ok()?,
    );
    Some(((h * 3600.0 + m * 60.0 + sec) * 1000.0).round() as i64)
}

async fn upload(State(state): State<AppState>, auth: Auth, headers: HeaderMap, mut multipart: Multipart) -> ApiResult<Response> {
    let form = match auth.require("asset.upload") {
        Ok(()) => read_upload(&state, &mut multipart).await,
        Err(e) => Err(e),
    };
    let Upload { fields, file, sidecar } = match form {
        Ok(form) => form,
        Err(e) => {
            drain(&mut multipart).await;
            return Err(e);
        }
    };
    let (received, name, media) = file.ok_or_else(|| ApiError::bad_request("The upload has no assetData file part"))?;
    if let Some(claimed) = headers.get("x-immich-checksum").and_then(|v| v.to_str().ok())
        && decode_checksum(claimed).as_deref() != Some(&received.sha1[..])
    {
        return Err(ApiError::bad_request(
            "The file's checksum does not match x-immich-checksum: it was damaged in transit, retry the upload",
        ));
    }
    let user = auth.user().clone();
    if let Some(quota) = user.quota_bytes {
        let id = user.id.clone();
        let used = state.db(move |c| c.usage_bytes(&id)).await?;
        if used + received.size as i64 > quota {
            return Err(ApiError::bad_request(
                "This upload would exceed your storage quota: ask the admin for more space or delete photos",
            ));
        }
    }
    let field = |k: &str| fields.get(k).map(String::as_str);
    let now = now_millis();
    let modified = field("fileModifiedAt").and_then(dto::parse_iso);
    let created = field("fileCreatedAt").and_then(dto::parse_iso).or(modified).unwrap_or(now);
    let id = uuid::Uuid::new_v4().to_string();
    let new = NewAsset {
        original_path: Layout::original(&user.id, &id, media.extension),
        owner_id: user.id.clone(),
        checksum: received.sha1.to_vec(),
        kind: if media.kind == MediaKind::Video {
            AssetKind::Video
        } else {
            AssetKind::Image
        },
        original_file_name: field("filename").map(display_name).unwrap_or(name),
        mime_type: media.mime.to_string(),
        file_size: received.size as i64,
        device_asset_id: field("deviceAssetId").unwrap_or("").chars().take(512).collect(),
        device_id: field("deviceId").unwrap_or("").chars().take(512).collect(),
        file_created_at: created,
        file_modified_at: modified.unwrap_or(created),
        duration_ms: field("duration").and_then(parse_duration),
        is_favorite: field("isFavorite") == Some("true"),
        visibility: field("visibility").and_then(Visibility::parse).unwrap_or(Visibility::Timeline),
        live_photo_video_id: field("livePhotoVideoId").filter(|v| !v.is_empty()).map(str::to_string),
        sidecar_path: sidecar.as_ref().map(|_| Layout::sidecar(&user.id, &id)),
        id,
    };
    if let Some(video) = new.live_photo_video_id.clone() {
        // The motion part of a live photo: the app uploads it first, then the still naming it.
        let owner = user.id.clone();
        let kind = state.db(move |c| c.owned_asset(&owner, &video)).await.map(|a| a.kind);
        if !matches!(kind, Ok(AssetKind::Video)) {
            return Err(ApiError::bad_request("livePhotoVideoId must name one of your uploaded videos"));
        }
    }
    let (catalog, layout) = (state.catalog.clone(), state.layout.clone());
    let stored = tokio::task::spawn_blocking(move || {
        let new = ingest::split_motion_photo(&catalog, &layout, &received, new)?;
        ingest::store(&catalog, &layout, received, sidecar, new)
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(match stored {
        Stored::Created(id) => {
            state.jobs.wake();
            (StatusCode::CREATED, Json(json!({ "id": id, "status": "created" }))).into_response()
        }
        Stored::Duplicate(id) => (StatusCode::OK, Json(json!({ "id": id, "status": "duplicate" }))).into_response(),
    })
}

/// Most of an upload's body read and dropped after an error, so that a
/// client still sending it reads the answer rather than a connection closed
/// under it; past this the connection is closed all the same (an endless
/// body is not read for ever).
const DRAIN_LIMIT: usize = 64 << 20;

async fn drain(multipart: &mut Multipart) {
    let mut left = DRAIN_LIMIT;
    while let Ok(Some(mut field)) = multipart.next_field().await {
        while let Ok(Some(chunk)) = field.chunk().await {
            left = left.saturating_sub(chunk.len());
            if left == 0 {
                return;
            }
        }
    }
}

/// An upload's form: its text fields, the file, and an XMP sidecar.
struct Upload {
    fields: HashMap<String, String>,
    file: Option<(ingest::Received, String, MediaType)>,
    sidecar: Option<ingest::Received>,
}

async fn read_upload(state: &AppState, multipart: &mut Multipart) -> ApiResult<Upload> {
    let mut fields: HashMap<String, String> = HashMap::new();
    let mut file = None;
    let mut sidecar = None;
    while let Some(field) = multipart.next_field().await? {
        match field.name().unwrap_or("") {
            "assetData" => {
                let name = display_name(field.file_name().unwrap_or(""));
                let media = MediaType::from_file_name(&name)
                    .filter(|t| t.kind != MediaKind::Sidecar)
                    .ok_or_else(|| ApiError::bad_request(format!("{name}: this file type is not supported; upload photos or videos")))?;
                file = Some((ingest::receive(&state.layout, field).await?, name, media));
            }
            // Sidecars are not kept yet; read and drop so the body completes.
            "sidecarData" => sidecar = Some(ingest::receive(&state.layout, field).await?),
            name => {
                if fields.len() >= MAX_FIELDS {
                    return Err(ApiError::bad_request("An upload has too many form fields"));
                }
                let name = name.to_string();
                let value = small_text(field).await?;
                fields.insert(name, value);
            }
        }
    }
    Ok(Upload { fields, file, sidecar })
}

#[derive(Deserialize)]
struct BulkCheck {
    assets: Vec<BulkCheckItem>,
}

#[derive(Deserialize)]
struct BulkCheckItem {
    id: String,
    checksum: String,
}

/// Answers from the catalog which files the client still needs to send;
/// `id` is the client's own key (the CLI uses the file path) and is echoed.
async fn bulk_upload_check(State(state): State<AppState>, auth: Auth, Json(body): Json<BulkCheck>) -> ApiResult<Json<Value>> {
    auth.require("asset.upload")?;
    let sums = body
        .assets
        .iter()
        .map(|a| {
            decode_checksum(&a.checksum).ok_or_else(|| ApiError::bad_request(format!("{}: checksum is not SHA-1 in hex or base64", a.id)))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let owner = auth.user_id();
    let lookup = sums.clone();
    let found = state.db(move |c| c.find_checksums(&owner, &lookup)).await?;
    let results: Vec<Value> = body
        .assets
        .iter()
        .zip(&sums)
        .map(|(item, sum)| match found.get(sum) {
            Some((asset_id, trashed)) => {
                json!({ "id": item.id, "action": "reject", "reason": "duplicate", "assetId": asset_id, "isTrashed": trashed })
            }
            None => json!({ "id": item.id, "action": "accept" }),
        })
        .collect();
    Ok(Json(json!({ "results": results })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatsQuery {
    is_favorite: Option<bool>,
    is_trashed: Option<bool>,
    visibility: Option<String>,
}

async fn statistics(State(state): State<AppState>, auth: Auth, Query(q): Query<StatsQuery>) -> ApiResult<Json<Value>> {
    let visibility = q
        .visibility
        .as_deref()
        .map(|v| Visibility::parse(v).ok_or_else(|| ApiError::bad_request(format!("unknown visibility {v:?}"))))
        .transpose()?;
    let owner = auth.user_id();
    let stats = state
        .db(move |c| c.asset_stats(&owner, q.is_favorite, q.is_trashed, visibility))
        .await?;
    Ok(Json(
        json!({ "images": stats.images, "videos": stats.videos, "total": stats.images + stats.videos }),
    ))
}

/// An asset the caller owns or sees in an album shared with them.
/// Through a shared link, only an asset the link shows.
async fn viewable(state: &AppState, access: &Access, id: String) -> ApiResult<Asset> {
    match access {
        Access::User(auth) => {
            auth.require("asset.read")?;
            let user = auth.user_id();
            state.db(move |c| c.viewable_asset(&user, &id)).await
        }
        Access::Link(link) => {
            let link = link.clone();
            state.db(move |c| c.shared_link_asset(&link, &id)).await
        }
    }
}

async fn info(State(state): State<AppState>, access: Access, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let asset = viewable(&state, &access, id).await?;
    let asset_id = asset.id.clone();
    let hide_exif = matches!(&access, Access::Link(link) if !link.settings.show_metadata);
    let exif = if hide_exif {
        None
    } else {
        state.db(move |c| c.exif(&asset_id)).await?
    };
    Ok(Json(dto::asset(&asset, exif.as_ref())))
}

/// Text read from the asset, line by line. A shared link that hides
/// metadata hides this too.
async fn ocr(State(state): State<AppState>, access: Access, Path(id): Path<String>) -> ApiResult<Json<Vec<Value>>> {
    let asset = viewable(&state, &access, id).await?;
    if matches!(&access, Access::Link(link) if !link.settings.show_metadata) {
        return Ok(Json(Vec::new()));
    }
    let asset_id = asset.id.clone();
    let lines = state.db(move |c| c.ocr(&asset_id)).await?;
    Ok(Json(lines.iter().map(|line| dto::ocr_line(&asset.id, line)).collect()))
}

#[derive(Deserialize)]
struct FacesQuery {
    id: String,
}

/// The faces found in an asset (`GET /api/faces?id=`), hidden like its
/// text from a shared link that hides metadata. People come with face
/// recognition; until then every face is nobody's.
async fn faces(State(state): State<AppState>, access: Access, Query(q): Query<FacesQuery>) -> ApiResult<Json<Vec<Value>>> {
    let asset = viewable(&state, &access, q.id).await?;
    if matches!(&access, Access::Link(link) if !link.settings.show_metadata) {
        return Ok(Json(Vec::new()));
    }
    let faces = state
        .db(move |c| {
            let faces = c.faces(&asset.id)?;
            faces
                .iter()
                .map(|f| {
                    let person = f.person_id.as_deref().map(|id| c.person(&asset.owner_id, id)).transpose()?;
                    Ok(dto::face(f, person.as_ref()))
                })
                .collect::<shoebox_catalog::Result<Vec<_>>>()
        })
        .await?;
    Ok(Json(faces))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Update {
    #[serde(default)]
    ids: Vec<String>,
    is_favorite: Option<bool>,
    visibility: Option<String>,
    description: Option<String>,
}

impl Update {
    fn to_catalog(&self) -> ApiResult<AssetUpdate> {
        let visibility = match &self.visibility {
            Some(v) => Some(Visibility::parse(v).ok_or_else(|| ApiError::bad_request(format!("unknown visibility {v:?}")))?),
            None => None,
        };
        Ok(AssetUpdate {
            is_favorite: self.is_favorite,
            visibility,
            description: self.description.clone(),
        })
    }
}

async fn update_one(State(state): State<AppState>, auth: Auth, Path(id): Path<String>, Json(body): Json<Update>) -> ApiResult<Json<Value>> {
    auth.require("asset.update")?;
    let update = body.to_catalog()?;
    let owner = auth.user_id();
    let (asset, exif) = state
        .db(move |c| {
            let asset = c.update_asset(&owner, &id, &update)?;
            let exif = c.exif(&asset.id)?;
            Ok((asset, exif))
        })
        .await?;
    Ok(Json(dto::asset(&asset, exif.as_ref())))
}

async fn update_many(State(state): State<AppState>, auth: Auth, Json(body): Json<Update>) -> ApiResult<StatusCode> {
    auth.require("asset.update")?;
    let update = body.to_catalog()?;
    let owner = auth.user_id();
    state
        .db(move |c| {
            for id in c.owned_ids(&owner, &body.ids)? {
                c.update_asset(&owner, &id, &update)?;
            }
            Ok(())
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Delete {
    ids: Vec<String>,
    #[serde(default)]
    force: bool,
}

/// Trash by default; `force` deletes for good, files included.
async fn delete_many(State(state): State<AppState>, auth: Auth, Json(body): Json<Delete>) -> ApiResult<StatusCode> {
    auth.require("asset.delete")?;
    let owner = auth.user_id();
    if body.force {
        let gone = state.db(move |c| c.delete_assets(&owner, &body.ids)).await?;
        remove_files(&state, gone).await;
    } else {
        state.db(move |c| c.trash_assets(&owner, &body.ids)).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes the files of assets whose rows are gone. A file that cannot be
/// removed is logged: the row is already gone, so it is only wasted space.
pub async fn remove_files(state: &AppState, assets: Vec<Asset>) {
    let layout = state.layout.clone();
    let _ = tokio::task::spawn_blocking(move || {
        for asset in assets {
            let paths = [
                Some(asset.original_path),
                asset.sidecar_path,
                asset.thumbnail_path,
                asset.preview_path,
                asset.encoded_video_path,
            ];
            for relative in paths.into_iter().flatten() {
                if let Err(e) = std::fs::remove_file(layout.resolve(&relative))
                    && e.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(path = relative, error = %e, "could not delete a file of a deleted asset");
                }
            }
        }
    })
    .await;
}

async fn restore_all(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let owner = auth.user_id();
    let count = state.db(move |c| c.restore_trash(&owner)).await?;
    Ok(Json(json!({ "count": count })))
}

#[derive(Deserialize)]
struct Ids {
    ids: Vec<String>,
}

async fn restore_some(State(state): State<AppState>, auth: Auth, Json(body): Json<Ids>) -> ApiResult<Json<Value>> {
    let owner = auth.user_id();
    let count = state.db(move |c| c.restore_assets(&owner, &body.ids)).await?;
    Ok(Json(json!({ "count": count })))
}

async fn empty_trash(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let owner = auth.user_id();
    let gone = state.db(move |c| c.purge_trash(Some(&owner), now_millis())).await?;
    let count = gone.len();
    remove_files(&state, gone).await;
    Ok(Json(json!({ "count": count })))
}

#[derive(Deserialize)]
struct SizeQuery {
    size: Option<String>,
}

/// Formats a browser shows as they are, so `fullsize` can be the original.
fn browser_displayable(mime: &str) -> bool {
    matches!(mime, "image/jpeg" | "image/png" | "image/webp" | "image/gif")
}

async fn thumbnail(
    State(state): State<AppState>,
    access: Access,
    Path(id): Path<String>,
    Query(q): Query<SizeQuery>,
    request: Request,
) -> ApiResult<Response> {
    let asset = viewable(&state, &access, id).await?;
    let relative = match q.size.as_deref().unwrap_or("thumbnail") {
        "thumbnail" => asset.thumbnail_path.clone(),
        "preview" => asset.preview_path.clone(),
        "fullsize" if browser_displayable(&asset.mime_type) => Some(asset.original_path.clone()),
        "fullsize" => asset.preview_path.clone(),
        other => {
            return Err(ApiError::bad_request(format!(
                "unknown size {other:?}: use thumbnail, preview or fullsize"
            )));
        }
    };
    let Some(relative) = relative else {
        // Not generated yet: a neutral placeholder the client must not cache.
        return Ok((
            [(header::CONTENT_TYPE, "image/webp"), (header::CACHE_CONTROL, "no-store")],
            shoebox_media::thumbnail::placeholder_webp(),
        )
            .into_response());
    };
    let mime = match relative.rsplit('.').next() {
        Some("webp") => "image/webp".to_string(),
        Some("jpeg") => "image/jpeg".to_string(),
        _ => asset.mime_type.clone(),
    };
    serve(&state, &relative, &mime, request, Some("private, max-age=86400, no-transform")).await
}

/// The original file, as a download; a shared link must allow downloads.
async fn original(State(state): State<AppState>, access: Access, Path(id): Path<String>, request: Request) -> ApiResult<Response> {
    if matches!(&access, Access::Link(link) if !link.settings.allow_download) {
        return Err(ApiError::forbidden("This shared link does not allow downloads"));
    }
    let asset = viewable(&state, &access, id).await?;
    let mut response = serve(&state, &asset.original_path, &asset.mime_type, request, None).await?;
    let disposition = format!("attachment; filename*=UTF-8''{}", percent_encode(&asset.original_file_name));
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, value);
    }
    Ok(response)
}

/// A video streamed for watching: its playback copy when it has one, else
/// the original. A shared link allows this even when it forbids downloads.
async fn playback(State(state): State<AppState>, access: Access, Path(id): Path<String>, request: Request) -> ApiResult<Response> {
    let asset = viewable(&state, &access, id).await?;
    match &asset.encoded_video_path {
        Some(encoded) => serve(&state, encoded, "video/mp4", request, None).await,
        None => serve(&state, &asset.original_path, &asset.mime_type, request, None).await,
    }
}

/// Serves a file with range and conditional-request support, and a strong
/// ETag from its size and modification time.
async fn serve(state: &AppState, relative: &str, mime: &str, request: Request, cache: Option<&'static str>) -> ApiResult<Response> {
    let path = state.layout.resolve(relative);
    let meta = tokio::fs::metadata(&path)
        .await
        .map_err(|e| ApiError::internal(format!("{}: {e}", path.display())))?;
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    let etag = format!("\"{:x}-{:x}\"", meta.len(), mtime);
    if request
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag))
    {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, etag)]).into_response());
    }
    let mime: mime::Mime = mime.parse().unwrap_or(mime::APPLICATION_OCTET_STREAM);
    let mut response = ServeFile::new_with_mime(&path, &mime)
        .oneshot(request)
        .await
        .map_err(ApiError::internal)?
        .map(Body::new);
    let headers = response.headers_mut();
    headers.insert(header::ETAG, HeaderValue::from_str(&etag).map_err(ApiError::internal)?);
    if let Some(cache) = cache {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    }
    Ok(response)
}

fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_lose_directories_and_control_characters() {
        assert_eq!(display_name("../../etc/passwd.jpg"), "passwd.jpg");
        assert_eq!(display_name("C:\\\\Users\\\\me\\\\IMG_1.JPG"), "IMG_1.JPG");
        assert_eq!(display_name("a\u{0}b\n.jpg"), "ab.jpg");
        assert_eq!(display_name(".."), "upload");
    }

    #[test]
    fn checksums_are_accepted_in_hex_and_base64() {
        let hex = "a9993e364706816aba3e25717850c26c9cd0d89d";
        let b64 = "qZk+NkcGgWq6PiVxeFDCbJzQ2J0=";
        assert_eq!(decode_checksum(hex), decode_checksum(b64));
        assert!(decode_checksum("abc").is_none());
    }

    #[test]
    fn durations_parse_from_milliseconds_and_clock_strings() {
        assert_eq!(parse_duration("1500"), Some(1500));
        assert_eq!(parse_duration("0:01:02.500000"), Some(62_500));
        assert_eq!(parse_duration("soon"), None);
    }
}
