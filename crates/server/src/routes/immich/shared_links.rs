//! Shared links (`/api/shared-links`): the owner makes a public address for
//! an album or for chosen photos, optionally with a password and an expiry;
//! visitors read through it with `?key=` or `?slug=` and see only what it
//! shares (the `Access` extractor).

use std::net::SocketAddr;

use crate::json::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_catalog::{AlbumAssetChange, Catalog, SharedLink, SharedLinkSettings};

use crate::auth::{self, Access, Auth, NamedLink, SHARED_LINK_COOKIE};
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/shared-links", get(list).post(create))
        .route("/shared-links/me", get(mine))
        .route("/shared-links/login", post(login))
        .route("/shared-links/{id}", get(one).patch(edit).delete(remove))
        .route("/shared-links/{id}/assets", put(add_assets).delete(remove_assets))
}

/// `SharedLinkResponseDto`. The password is never sent back: only its hash
/// is kept. Without `showMetadata`, visitors get no EXIF.
fn link_json(c: &Catalog, link: &SharedLink, for_visitor: bool) -> shoebox_catalog::Result<Value> {
    let strip = for_visitor && !link.settings.show_metadata;
    let assets: Vec<Value> = match &link.album_id {
        Some(_) => Vec::new(),
        None => c
            .shared_link_assets(link)?
            .iter()
            .map(|a| Ok(dto::asset(a, if strip { None } else { c.exif(&a.id)? }.as_ref())))
            .collect::<shoebox_catalog::Result<_>>()?,
    };
    let mut v = json!({
        "id": link.id,
        "key": link.key,
        "slug": link.settings.slug,
        "type": if link.album_id.is_some() { "ALBUM" } else { "INDIVIDUAL" },
        "userId": link.owner_id,
        "description": link.settings.description,
        "password": null,
        "hasPassword": link.settings.password_hash.is_some(),
        "createdAt": dto::iso(link.created_at),
        "expiresAt": link.settings.expires_at.map(dto::iso),
        "allowDownload": link.settings.allow_download,
        "allowUpload": link.settings.allow_upload,
        "showMetadata": link.settings.show_metadata,
        "assets": assets,
    });
    if let Some(album_id) = &link.album_id {
        let album = c.album(&link.owner_id, album_id)?;
        v["album"] = dto::album(&album, &c.user(&album.owner_id)?, &c.album_members(album_id)?, true);
    }
    Ok(v)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    album_id: Option<String>,
}

async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<Vec<Value>>> {
    auth.require("sharedLink.read")?;
    let owner = auth.user_id();
    let links = state
        .db(move |c| {
            c.shared_links(&owner, q.album_id.as_deref())?
                .iter()
                .map(|l| link_json(c, l, false))
                .collect()
        })
        .await?;
    Ok(Json(links))
}

/// Settings as both create and edit send them. `None` for a nullable field
/// means "absent"; `Some(None)` means "clear it".
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Settings {
    #[serde(deserialize_with = "crate::json::present")]
    slug: Option<Option<String>>,
    #[serde(deserialize_with = "crate::json::present")]
    description: Option<Option<String>>,
    #[serde(deserialize_with = "crate::json::present")]
    password: Option<Option<String>>,
    #[serde(deserialize_with = "crate::json::present")]
    expires_at: Option<Option<String>>,
    allow_download: Option<bool>,
    allow_upload: Option<bool>,
    show_metadata: Option<bool>,
}

impl Settings {
    /// These settings laid over `base`, checked, with a new password hashed.
    fn apply(self, base: SharedLinkSettings) -> ApiResult<SharedLinkSettings> {
        let slug = self
            .slug
            .map_or(base.slug, |s| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()));
        if let Some(s) = &slug
            && !s.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
        {
            return Err(ApiError::bad_request("slug: use letters, digits, - and _ only"));
        }
        let password_hash = match self.password {
            None => base.password_hash,
            Some(None) => None,
            Some(Some(p)) if p.is_empty() => None,
            Some(Some(p)) => Some(auth::hash_password(&p)?),
        };
        let expires_at = match self.expires_at {
            None => base.expires_at,
            Some(None) => None,
            Some(Some(t)) => dto::parse_date_field("expiresAt", Some(&t))?,
        };
        Ok(SharedLinkSettings {
            slug,
            description: self.description.unwrap_or(base.description),
            password_hash,
            expires_at,
            allow_download: self.allow_download.unwrap_or(base.allow_download),
            allow_upload: self.allow_upload.unwrap_or(base.allow_upload),
            show_metadata: self.show_metadata.unwrap_or(base.show_metadata),
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Create {
    r#type: String,
    album_id: Option<String>,
    #[serde(default)]
    asset_ids: Vec<String>,
    #[serde(flatten)]
    settings: Settings,
}

async fn create(State(state): State<AppState>, auth: Auth, Json(body): Json<Create>) -> ApiResult<(StatusCode, Json<Value>)> {
    auth.require("sharedLink.create")?;
    let album_id = match (body.r#type.as_str(), body.album_id) {
        ("ALBUM", Some(id)) => Some(id),
        ("ALBUM", None) => return Err(ApiError::bad_request("albumId is required for an album link")),
        ("INDIVIDUAL", _) if body.asset_ids.is_empty() => return Err(ApiError::bad_request("assetIds: choose at least one photo")),
        ("INDIVIDUAL", _) => None,
        (other, _) => return Err(ApiError::bad_request(format!("type: {other:?} is not ALBUM or INDIVIDUAL"))),
    };
    let defaults = SharedLinkSettings {
        allow_download: true,
        show_metadata: true,
        ..Default::default()
    };
    let settings = body.settings.apply(defaults)?;
    let (key, key_hash) = auth::new_token();
    let owner = auth.user_id();
    let link = state
        .db(move |c| {
            let link = c.create_shared_link(&owner, &key, &key_hash, album_id.as_deref(), &body.asset_ids, &settings)?;
            link_json(c, &link, false)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(link)))
}

async fn one(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    auth.require("sharedLink.read")?;
    let owner = auth.user_id();
    Ok(Json(state.db(move |c| link_json(c, &c.shared_link(&owner, &id)?, false)).await?))
}

async fn edit(State(state): State<AppState>, auth: Auth, Path(id): Path<String>, Json(body): Json<Settings>) -> ApiResult<Json<Value>> {
    auth.require("sharedLink.update")?;
    let owner = auth.user_id();
    let current = {
        let (owner, id) = (owner.clone(), id.clone());
        state.db(move |c| c.shared_link(&owner, &id)).await?
    };
    let settings = body.apply(current.settings)?;
    let link = state
        .db(move |c| {
            let link = c.update_shared_link(&owner, &id, &settings)?;
            link_json(c, &link, false)
        })
        .await?;
    Ok(Json(link))
}

async fn remove(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    auth.require("sharedLink.delete")?;
    let owner = auth.user_id();
    state.db(move |c| c.delete_shared_link(&owner, &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The link a visitor holds, with what it shows.
async fn mine(State(state): State<AppState>, access: Access) -> ApiResult<Json<Value>> {
    let Access::Link(link) = access else {
        return Err(ApiError::bad_request("key or slug is required: open the link you were given"));
    };
    Ok(Json(state.db(move |c| link_json(c, &link, true)).await?))
}

#[derive(Deserialize)]
struct Password {
    password: String,
}

/// A visitor gives the link's password and receives a cookie that admits
/// them to this link. Attempts count against the address's login limit.
async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    NamedLink(link): NamedLink,
    Json(body): Json<Password>,
) -> ApiResult<Response> {
    state.limit_password_attempts(peer)?;
    let Some(hash) = &link.settings.password_hash else {
        return Err(ApiError::bad_request("This link has no password"));
    };
    if !auth::verify_password(&body.password, hash) {
        return Err(ApiError::new(StatusCode::UNAUTHORIZED, "Wrong password for this link"));
    }
    let (token, digest) = auth::new_token();
    let json = state
        .db(move |c| {
            c.create_shared_link_session(&link.id, &digest)?;
            link_json(c, &link, true)
        })
        .await?;
    let cookie = format!("{SHARED_LINK_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=86400");
    Ok((StatusCode::CREATED, [(header::SET_COOKIE, cookie)], Json(json)).into_response())
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssetIds {
    asset_ids: Vec<String>,
}

type LinkAssetOp = fn(&Catalog, &str, &str, &[String]) -> shoebox_catalog::Result<Vec<AlbumAssetChange>>;

/// Adds or removes photos of an individual link, reported per id as
/// `AssetIdsResponseDto`.
async fn change_assets(state: AppState, auth: Auth, id: String, body: AssetIds, op: LinkAssetOp) -> ApiResult<Json<Vec<Value>>> {
    auth.require("sharedLink.update")?;
    let owner = auth.user_id();
    let ids = body.asset_ids.clone();
    let changes = state.db(move |c| op(c, &owner, &id, &ids)).await?;
    Ok(Json(
        body.asset_ids
            .iter()
            .zip(changes)
            .map(|(id, change)| match change {
                AlbumAssetChange::Done => json!({ "assetId": id, "success": true }),
                AlbumAssetChange::Duplicate => json!({ "assetId": id, "success": false, "error": "duplicate" }),
                AlbumAssetChange::NotFound => json!({ "assetId": id, "success": false, "error": "no_permission" }),
            })
            .collect(),
    ))
}

async fn add_assets(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<AssetIds>,
) -> ApiResult<Json<Vec<Value>>> {
    change_assets(state, auth, id, body, Catalog::add_shared_link_assets).await
}

async fn remove_assets(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<AssetIds>,
) -> ApiResult<Json<Vec<Value>>> {
    change_assets(state, auth, id, body, Catalog::remove_shared_link_assets).await
}
