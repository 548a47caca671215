//! Albums: create, list, rename, add and remove assets, delete, and share
//! with other users of the box (as editors or viewers).

use crate::json::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_catalog::{Album, AlbumAssetChange, AlbumRole, Catalog};

use crate::auth::{Access, Auth};
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/albums", get(list).post(create))
        .route("/albums/{id}", get(one).patch(update).delete(remove))
        .route("/albums/{id}/assets", put(add_assets).delete(remove_assets))
        .route("/albums/{id}/users", put(add_users))
        .route("/albums/{id}/user/{user_id}", put(set_role).delete(remove_user))
}

/// `AlbumResponseDto` with the owner and the members in `albumUsers`.
fn album_json(c: &Catalog, album: &Album) -> shoebox_catalog::Result<Value> {
    let has_link = !c.shared_links(&album.owner_id, Some(&album.id))?.is_empty();
    Ok(dto::album(album, &c.user(&album.owner_id)?, &c.album_members(&album.id)?, has_link))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Member {
    user_id: String,
    #[serde(default = "editor")]
    role: String,
}

fn editor() -> String {
    "editor".into()
}

fn members(list: Vec<Member>) -> ApiResult<Vec<(String, AlbumRole)>> {
    list.into_iter()
        .map(|m| {
            AlbumRole::parse_member(&m.role)
                .map(|role| (m.user_id, role))
                .ok_or_else(|| ApiError::bad_request(format!("role: {:?} is not editor or viewer", m.role)))
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    asset_id: Option<String>,
    shared: Option<bool>,
}

async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<Vec<Value>>> {
    auth.require("album.read")?;
    let user = auth.user_id();
    let albums = state
        .db(move |c| {
            let albums = match q.asset_id {
                Some(asset) => c.albums_with_asset(&user, &asset)?,
                None => c.albums(&user, q.shared)?,
            };
            albums.iter().map(|a| album_json(c, a)).collect()
        })
        .await?;
    Ok(Json(albums))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Create {
    album_name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    asset_ids: Vec<String>,
    #[serde(default)]
    album_users: Vec<Member>,
}

async fn create(State(state): State<AppState>, auth: Auth, Json(body): Json<Create>) -> ApiResult<(StatusCode, Json<Value>)> {
    auth.require("album.create")?;
    if body.album_name.trim().is_empty() {
        return Err(ApiError::bad_request("An album needs a name"));
    }
    let shared_with = members(body.album_users)?;
    let owner = auth.user_id();
    let album = state
        .db(move |c| {
            let album = c.create_album(&owner, &body.album_name, &body.description, &body.asset_ids)?;
            if !shared_with.is_empty() {
                c.share_album(&owner, &album.id, &shared_with)?;
            }
            album_json(c, &c.album(&owner, &album.id)?)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(album)))
}

/// One album, with its assets in the `assets` field as older clients
/// expect; a shared link opens only its own album.
async fn one(State(state): State<AppState>, access: Access, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let reader = match &access {
        Access::User(auth) => {
            auth.require("album.read")?;
            auth.user_id()
        }
        Access::Link(link) if link.album_id.as_deref() == Some(id.as_str()) => link.owner_id.clone(),
        Access::Link(_) => return Err(ApiError::no_access("album")),
    };
    let hide_exif = matches!(&access, Access::Link(link) if !link.settings.show_metadata);
    let album = state
        .db(move |c| {
            let album = c.album(&reader, &id)?;
            let assets = c
                .album_asset_ids(&album.id)?
                .into_iter()
                .map(|asset_id| {
                    let exif = if hide_exif { None } else { c.exif(&asset_id)? };
                    Ok(dto::asset(&c.asset(&asset_id)?, exif.as_ref()))
                })
                .collect::<shoebox_catalog::Result<Vec<_>>>()?;
            let mut v = album_json(c, &album)?;
            v["assets"] = Value::Array(assets);
            Ok(v)
        })
        .await?;
    Ok(Json(album))
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
            let album = c.update_album(
                &owner,
                &id,
                body.album_name.as_deref(),
                body.description.as_deref(),
                body.album_thumbnail_asset_id.as_deref(),
            )?;
            album_json(c, &album)
        })
        .await?;
    Ok(Json(album))
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AddUsers {
    album_users: Vec<Member>,
}

/// Shares the album with more users (owner only).
async fn add_users(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<AddUsers>,
) -> ApiResult<Json<Value>> {
    auth.require("albumUser.create")?;
    if body.album_users.is_empty() {
        return Err(ApiError::bad_request("albumUsers: name at least one user"));
    }
    let shared_with = members(body.album_users)?;
    let owner = auth.user_id();
    let album = state
        .db(move |c| {
            c.share_album(&owner, &id, &shared_with)?;
            album_json(c, &c.album(&owner, &id)?)
        })
        .await?;
    Ok(Json(album))
}

#[derive(Deserialize)]
struct RoleChange {
    role: String,
}

async fn set_role(
    State(state): State<AppState>,
    auth: Auth,
    Path((id, user_id)): Path<(String, String)>,
    Json(body): Json<RoleChange>,
) -> ApiResult<StatusCode> {
    auth.require("albumUser.update")?;
    let role = AlbumRole::parse_member(&body.role)
        .ok_or_else(|| ApiError::bad_request(format!("role: {:?} is not editor or viewer", body.role)))?;
    let owner = auth.user_id();
    state.db(move |c| c.set_album_role(&owner, &id, &user_id, role)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The owner removes a member; a member leaves with their own id or "me".
async fn remove_user(State(state): State<AppState>, auth: Auth, Path((id, user_id)): Path<(String, String)>) -> ApiResult<StatusCode> {
    auth.require("albumUser.delete")?;
    let actor = auth.user_id();
    let user_id = if user_id == "me" { actor.clone() } else { user_id };
    state.db(move |c| c.remove_album_member(&actor, &id, &user_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
