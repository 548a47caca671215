//! Albums: create, list, rename, add and remove assets, delete.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_catalog::{AlbumAssetChange, Catalog};

use crate::auth::Auth;
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/albums", get(list).post(create))
        .route("/albums/{id}", get(one).patch(update).delete(remove))
        .route("/albums/{id}/assets", put(add_assets).delete(remove_assets))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    asset_id: Option<String>,
    shared: Option<bool>,
}

async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<Vec<Value>>> {
    auth.require("album.read")?;
    // Albums shared with the user arrive with sharing; until then none are shared.
    if q.shared == Some(true) {
        return Ok(Json(Vec::new()));
    }
    let owner = auth.user_id();
    let albums = state
        .db(move |c| match q.asset_id {
            Some(asset) => c.albums_with_asset(&owner, &asset),
            None => c.albums(&owner),
        })
        .await?;
    Ok(Json(albums.iter().map(|a| dto::album(a, auth.user())).collect()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Create {
    album_name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    asset_ids: Vec<String>,
}

async fn create(State(state): State<AppState>, auth: Auth, Json(body): Json<Create>) -> ApiResult<(StatusCode, Json<Value>)> {
    auth.require("album.create")?;
    if body.album_name.trim().is_empty() {
        return Err(ApiError::bad_request("An album needs a name"));
    }
    let owner = auth.user_id();
    let album = state
        .db(move |c| c.create_album(&owner, &body.album_name, &body.description, &body.asset_ids))
        .await?;
    Ok((StatusCode::CREATED, Json(dto::album(&album, auth.user()))))
}

/// One album, with its assets in the `assets` field as older clients expect.
async fn one(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    auth.require("album.read")?;
    let owner = auth.user_id();
    let (album, assets) = state
        .db(move |c| {
            let album = c.album(&owner, &id)?;
            let assets = c
                .album_asset_ids(&album.id)?
                .into_iter()
                .map(|asset_id| Ok(dto::asset(&c.asset(&asset_id)?, c.exif(&asset_id)?.as_ref())))
                .collect::<shoebox_catalog::Result<Vec<_>>>()?;
            Ok((album, assets))
        })
        .await?;
    let mut v = dto::album(&album, auth.user());
    v["assets"] = Value::Array(assets);
    Ok(Json(v))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Update {
    album_name: Option<String>,
    description: Option<String>,
    album_thumbnail_asset_id: Option<String>,
}

async fn update(State(state): State<AppState>, auth: Auth, Path(id): Path<String>, Json(body): Json<Update>) -> ApiResult<Json<Value>> {
    auth.require("album.update")?;
    if body.album_name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(ApiError::bad_request("An album needs a name"));
    }
    let owner = auth.user_id();
    let album = state
        .db(move |c| {
            c.update_album(
                &owner,
                &id,
                body.album_name.as_deref(),
                body.description.as_deref(),
                body.album_thumbnail_asset_id.as_deref(),
            )
        })
        .await?;
    Ok(Json(dto::album(&album, auth.user())))
}

async fn remove(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    auth.require("album.delete")?;
    let owner = auth.user_id();
    state.db(move |c| c.delete_album(&owner, &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
struct Ids {
    // The CLI can send null for files the server rejected; those are skipped.
    ids: Vec<Option<String>>,
}

type AlbumAssetOp = fn(&Catalog, &str, &str, &[String]) -> shoebox_catalog::Result<Vec<AlbumAssetChange>>;

/// Adds or removes assets and reports each id as Immich's `BulkIdResponseDto`.
async fn change_assets(
    state: AppState,
    auth: Auth,
    album_id: String,
    body: Ids,
    permission: &str,
    op: AlbumAssetOp,
) -> ApiResult<Json<Vec<Value>>> {
    auth.require(permission)?;
    let ids: Vec<String> = body.ids.into_iter().flatten().collect();
    let owner = auth.user_id();
    let list = ids.clone();
    let changes = state.db(move |c| op(c, &owner, &album_id, &list)).await?;
    let results = ids
        .iter()
        .zip(&changes)
        .map(|(id, change)| match change {
            AlbumAssetChange::Done => json!({ "id": id, "success": true }),
            AlbumAssetChange::Duplicate => json!({ "id": id, "success": false, "error": "duplicate" }),
            AlbumAssetChange::NotFound => json!({ "id": id, "success": false, "error": "no_permission" }),
        })
        .collect();
    Ok(Json(results))
}

async fn add_assets(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<Ids>,
) -> ApiResult<Json<Vec<Value>>> {
    change_assets(state, auth, id, body, "albumAsset.create", Catalog::add_album_assets).await
}

async fn remove_assets(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<Ids>,
) -> ApiResult<Json<Vec<Value>>> {
    change_assets(state, auth, id, body, "albumAsset.delete", Catalog::remove_album_assets).await
}
