//! Immich's queue overview for the admin UI (`GET /api/queues`), and
//! queue commands (`PUT /api/jobs/{name}`): start, pause, resume.

use crate::json::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::routing::{get, put};
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_catalog::JobKind;

use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/queues", get(queues)).route("/jobs/{name}", put(command))
}

async fn queues(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Vec<Value>>> {
    let counts = state
        .db(|c| {
            JobKind::ALL
                .into_iter()
                .map(|k| Ok((k, c.job_counts_by_kind(Some(k))?, c.job_paused(k))))
                .collect::<shoebox_catalog::Result<Vec<_>>>()
        })
        .await?;
    Ok(Json(
        counts
            .into_iter()
            .map(|(kind, n, paused)| json!({ "name": kind.as_str(), "isPaused": paused, "statistics": statistics(n) }))
            .collect(),
    ))
}

fn statistics(n: shoebox_catalog::JobCounts) -> Value {
    json!({ "active": n.running, "completed": 0, "delayed": 0, "failed": n.failed, "paused": 0, "waiting": n.pending })
}

#[derive(Deserialize)]
struct Command {
    command: String,
    #[serde(default)]
    force: bool,
}

/// `start` queues the work for every asset that lacks it (all of them
/// with `force`). Only machine-learning queues take it yet: the others
/// already follow every upload. `pause` keeps a queue's jobs waiting
/// (those running finish) until `resume`, across restarts too.
async fn command(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Path(name): Path<String>,
    Json(body): Json<Command>,
) -> ApiResult<Json<Value>> {
    let kind = JobKind::parse(&name).ok_or_else(|| ApiError::bad_request(format!("Shoebox has no queue named {name:?}")))?;
    match (kind, body.command.as_str()) {
        (kind, command @ ("pause" | "resume")) => {
            let paused = command == "pause";
            state.db(move |c| c.set_job_paused(kind, paused)).await?;
            state.jobs.wake();
        }
        (kind, "start") if kind.is_optional() && state.catalog.job_enabled(kind) => {
            let force = body.force;
            state.db(move |c| c.queue_unprocessed(kind, force)).await?;
            state.jobs.wake();
        }
        (kind, "start") if kind.is_optional() => {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                format!(
                    "The {name} queue is off: install ONNX Runtime and its model (the status page says which is missing), then restart"
                ),
            ));
        }
        (_, command) => {
            return Err(ApiError::bad_request(format!(
                "Shoebox does not run {command:?} on the {name} queue"
            )));
        }
    }
    let (counts, paused) = state
        .db(move |c| Ok((c.job_counts_by_kind(Some(kind))?, c.job_paused(kind))))
        .await?;
    Ok(Json(json!({
        "jobCounts": statistics(counts),
        "queueStatus": { "isActive": counts.running > 0, "isPaused": paused },
    })))
}
