//! Immich's queue overview for the admin UI (`GET /api/queues`).

use crate::json::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};
use shoebox_catalog::JobKind;

use crate::auth::AdminAuth;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/queues", get(queues))
}

async fn queues(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Vec<Value>>> {
    let counts = state
        .db(|c| {
            JobKind::ALL
                .into_iter()
                .map(|k| Ok((k, c.job_counts_by_kind(Some(k))?)))
                .collect::<shoebox_catalog::Result<Vec<_>>>()
        })
        .await?;
    Ok(Json(
        counts
            .into_iter()
            .map(|(kind, n)| {
                json!({
                    "name": kind.as_str(),
                    "isPaused": false,
                    "statistics": { "active": n.running, "completed": 0, "delayed": 0, "failed": n.failed, "paused": 0, "waiting": n.pending },
                })
            })
            .collect(),
    ))
}
