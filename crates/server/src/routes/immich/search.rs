//! Metadata search (`POST /api/search/metadata`).

use crate::json::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::post;
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_catalog::{AssetKind, AssetSearch, Visibility};

use crate::auth::Auth;
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/search/metadata", post(metadata))
}

/// The part of Immich's `MetadataSearchDto` Shoebox answers; other fields
/// (people, tags, places) are accepted and not yet applied.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct MetadataSearch {
    taken_after: Option<String>,
    taken_before: Option<String>,
    created_after: Option<String>,
    created_before: Option<String>,
    make: Option<String>,
    model: Option<String>,
    lens_model: Option<String>,
    original_file_name: Option<String>,
    description: Option<String>,
    ocr: Option<String>,
    r#type: Option<String>,
    is_favorite: Option<bool>,
    rating: Option<i64>,
    visibility: Option<String>,
    with_deleted: bool,
    album_ids: Vec<String>,
    is_not_in_album: bool,
    checksum: Option<String>,
    id: Option<String>,
    order: Option<String>,
    page: Option<u32>,
    size: Option<u32>,
    with_exif: bool,
}

async fn metadata(State(state): State<AppState>, auth: Auth, Json(q): Json<MetadataSearch>) -> ApiResult<Json<Value>> {
    auth.require("asset.read")?;
    let owner = auth.user_id();
    let search = AssetSearch {
        taken_after: dto::parse_date_field("takenAfter", q.taken_after.as_deref())?,
        taken_before: dto::parse_date_field("takenBefore", q.taken_before.as_deref())?,
        created_after: dto::parse_date_field("createdAfter", q.created_after.as_deref())?,
        created_before: dto::parse_date_field("createdBefore", q.created_before.as_deref())?,
        make: q.make,
        model: q.model,
        lens_model: q.lens_model,
        file_name: q.original_file_name.filter(|n| !n.is_empty()),
        description: q.description.filter(|d| !d.is_empty()),
        ocr: q.ocr.filter(|t| !t.trim().is_empty()),
        kind: match q.r#type.as_deref() {
            None => None,
            Some("IMAGE") => Some(AssetKind::Image),
            Some("VIDEO") => Some(AssetKind::Video),
            Some(other) => return Err(ApiError::bad_request(format!("unknown asset type {other:?}: use IMAGE or VIDEO"))),
        },
        favorite: q.is_favorite,
        rating: q.rating,
        visibility: q
            .visibility
            .as_deref()
            .map(|v| Visibility::parse(v).ok_or_else(|| ApiError::bad_request(format!("unknown visibility {v:?}"))))
            .transpose()?,
        with_deleted: q.with_deleted,
        album_ids: q.album_ids.clone(),
        not_in_album: q.is_not_in_album,
        checksum: q
            .checksum
            .as_deref()
            .map(|c| super::assets::decode_checksum(c).ok_or_else(|| ApiError::bad_request("checksum is not SHA-1 in hex or base64")))
            .transpose()?,
        id: q.id,
        oldest_first: q.order.as_deref() == Some("asc"),
        page: q.page.unwrap_or(1).max(1),
        size: q.size.unwrap_or(250),
    };
    for album in &q.album_ids {
        let (owner, album) = (owner.clone(), album.clone());
        state.db(move |c| c.album(&owner, &album)).await?;
    }
    let page = search.page;
    let with_exif = q.with_exif;
    let (items, more) = state
        .db(move |c| {
            let (assets, more) = c.search_assets(&owner, &search)?;
            let items = assets
                .iter()
                .map(|a| Ok(dto::asset(a, if with_exif { c.exif(&a.id)? } else { None }.as_ref())))
                .collect::<shoebox_catalog::Result<Vec<_>>>()?;
            Ok((items, more))
        })
        .await?;
    let count = items.len();
    Ok(Json(json!({
        "assets": { "count": count, "total": count, "items": items, "facets": [], "nextPage": more.then(|| (page + 1).to_string()) },
        "albums": { "count": 0, "total": 0, "items": [], "facets": [] },
    })))
}
