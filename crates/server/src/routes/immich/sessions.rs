//! The signed-in user's sessions (devices): list, sign one out, sign out
//! all others, or tell one to start its sync over.

use crate::json::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_catalog::Session;

use crate::auth::Auth;
use crate::dto::iso;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions", get(list).delete(delete_others))
        .route("/sessions/{id}", delete(delete_one).put(update))
}

/// `SessionResponseDto`
fn session(s: &Session, current: Option<&str>) -> Value {
    json!({
        "id": s.id,
        "createdAt": iso(s.created_at),
        "updatedAt": iso(s.updated_at),
        "current": current == Some(s.id.as_str()),
        "deviceType": s.device_type,
        "deviceOS": s.device_os,
        "appVersion": null,
        "isPendingSyncReset": s.pending_sync_reset,
    })
}

async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Value>>> {
    let current = auth.session_id();
    let user_id = auth.user_id();
    let sessions = state.db(move |c| c.sessions(&user_id)).await?;
    Ok(Json(sessions.iter().map(|s| session(s, current.as_deref())).collect()))
}

/// `SessionUpdateDto`
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SessionUpdate {
    is_pending_sync_reset: Option<bool>,
}

/// Asks a device to empty its copy of the library and sync it again (as
/// Immich does when a user resets a device's sync from the web).
async fn update(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(change): Json<SessionUpdate>,
) -> ApiResult<Json<Value>> {
    let Some(pending) = change.is_pending_sync_reset else {
        return Err(ApiError::bad_request("No fields to update: send isPendingSyncReset"));
    };
    let (current, user_id) = (auth.session_id(), auth.user_id());
    let updated = state.db(move |c| c.set_pending_sync_reset(&user_id, &id, pending)).await?;
    Ok(Json(session(&updated, current.as_deref())))
}

async fn delete_others(State(state): State<AppState>, auth: Auth) -> ApiResult<StatusCode> {
    let (user_id, keep) = (auth.user_id(), auth.session_id());
    state.db(move |c| c.delete_other_sessions(&user_id, keep.as_deref())).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_one(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let user_id = auth.user_id();
    state.db(move |c| c.delete_user_session(&user_id, &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
