//! The signed-in user's sessions (devices): list, sign one out, sign out
//! all others.

use crate::json::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get};
use serde_json::{Value, json};

use crate::auth::Auth;
use crate::dto::iso;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sessions", get(list).delete(delete_others))
        .route("/sessions/{id}", delete(delete_one))
}

async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Value>>> {
    let current = auth.session_id();
    let user_id = auth.user_id();
    let sessions = state.db(move |c| c.sessions(&user_id)).await?;
    Ok(Json(
        sessions
            .iter()
            .map(|s| {
                json!({
                    "id": s.id,
                    "createdAt": iso(s.created_at),
                    "updatedAt": iso(s.updated_at),
                    "current": current.as_deref() == Some(s.id.as_str()),
                    "deviceType": s.device_type,
                    "deviceOS": s.device_os,
                    "appVersion": null,
                    "isPendingSyncReset": false,
                })
            })
            .collect(),
    ))
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
