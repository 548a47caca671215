//! Near-identical photos (`/api/duplicates`): the groups duplicate
//! detection found, dismissed or resolved by keeping some and trashing the rest.

use std::collections::HashSet;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Auth;
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/duplicates", get(list).delete(dismiss_many))
        .route("/duplicates/{id}", delete(dismiss))
        .route("/duplicates/resolve", post(resolve))
}

async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Value>>> {
    auth.require("duplicate.read")?;
    let owner = auth.user_id();
    let groups = state.db(move |c| c.duplicate_groups(&owner)).await?;
    Ok(Json(
        groups
            .into_iter()
            .map(|(id, assets)| {
                // The largest file is the likeliest original (Immich suggests by size too).
                let keep = assets.iter().max_by_key(|a| a.file_size).map(|a| a.id.clone());
                json!({
                    "duplicateId": id,
                    "assets": assets.iter().map(|a| dto::asset(a, None)).collect::<Vec<_>>(),
                    "suggestedKeepAssetIds": keep.into_iter().collect::<Vec<_>>(),
                })
            })
            .collect(),
    ))
}

#[derive(Deserialize)]
struct Ids {
    ids: Vec<String>,
}

/// The groups are not duplicates after all.
async fn dismiss_many(State(state): State<AppState>, auth: Auth, Json(body): Json<Ids>) -> ApiResult<StatusCode> {
    auth.require("duplicate.delete")?;
    let owner = auth.user_id();
    state.db(move |c| c.dismiss_duplicate_groups(&owner, &body.ids)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn dismiss(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    auth.require("duplicate.delete")?;
    let owner = auth.user_id();
    state.db(move |c| c.dismiss_duplicate_groups(&owner, &[id])).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Resolve {
    groups: Vec<Group>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Group {
    duplicate_id: String,
    keep_asset_ids: Vec<String>,
    trash_asset_ids: Vec<String>,
}

/// Per group: the photos to trash go to the trash, and every photo named
/// leaves the group. A group naming a photo that is not in it is refused
/// whole, so a stale page cannot trash the wrong photo.
async fn resolve(State(state): State<AppState>, auth: Auth, Json(body): Json<Resolve>) -> ApiResult<Json<Vec<Value>>> {
    auth.require("duplicate.delete")?;
    if body.groups.is_empty() {
        return Err(ApiError::bad_request("groups must name at least one group"));
    }
    let owner = auth.user_id();
    let results = state
        .db(move |c| {
            let members: Vec<(String, HashSet<String>)> = c
                .duplicate_groups(&owner)?
                .into_iter()
                .map(|(id, assets)| (id, assets.into_iter().map(|a| a.id).collect()))
                .collect();
            body.groups
                .into_iter()
                .map(|group| {
                    let named: Vec<String> = group.keep_asset_ids.iter().chain(&group.trash_asset_ids).cloned().collect();
                    let known = members.iter().find(|(id, _)| *id == group.duplicate_id);
                    let error = match known {
                        None => Some("not_found"),
                        Some((_, ids)) if !named.iter().all(|id| ids.contains(id)) => Some("no_permission"),
                        Some(_) => None,
                    };
                    if error.is_none() {
                        c.trash_assets(&owner, &group.trash_asset_ids)?;
                        c.dismiss_duplicates(&owner, &named)?;
                    }
                    Ok(match error {
                        None => json!({ "id": group.duplicate_id, "success": true }),
                        Some(error) => json!({ "id": group.duplicate_id, "success": false, "error": error }),
                    })
                })
                .collect::<shoebox_catalog::Result<Vec<_>>>()
        })
        .await?;
    Ok(Json(results))
}
