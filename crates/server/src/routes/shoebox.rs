//! Shoebox's own routes, for what the Immich API has no place for.

use crate::json::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_catalog::JobKind;
use shoebox_media::hwaccel::Hardware;
use shoebox_media::transcode::TranscodeSettings;

use crate::auth::{AdminAuth, Auth};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use crate::{dto, model_fetch};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/shoebox/status", get(status))
        .route("/shoebox/jobs", get(jobs))
        .route("/shoebox/jobs/retry", post(retry))
        .route("/shoebox/jobs/wait-idle", get(wait_idle))
        .route("/shoebox/assets/failures", get(asset_failures))
        .route("/shoebox/ml/models/download", get(model_fetch_status).post(download_model))
        .route("/shoebox/ml/models/found", get(found_models))
        .route("/shoebox/ml/models/import", post(import_model))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelName {
    name: String,
}

/// Downloads a model from the model repository (Immich's) into the models
/// folder; 202 once it started. The server restarts once it is in place,
/// to load it.
async fn download_model(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Json(model): Json<ModelName>,
) -> ApiResult<(axum::http::StatusCode, Json<model_fetch::Fetch>)> {
    model_fetch::start(&state, model.name.trim(), model_fetch::Source::Hub)?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(model_fetch::status(&state))))
}

/// Model folders on the disks plugged into the box (USB disks), to import.
async fn found_models(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Vec<model_fetch::Found>>> {
    model_fetch::found(&state).await.map(Json)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelFolder {
    path: String,
}

/// Copies a model folder found on a disk into the models folder; 202 once
/// it started. Only a folder `found` lists is taken.
async fn import_model(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Json(folder): Json<ModelFolder>,
) -> ApiResult<(axum::http::StatusCode, Json<model_fetch::Fetch>)> {
    let found = model_fetch::found(&state).await?;
    let Some(model) = found.into_iter().find(|f| f.path == folder.path) else {
        return Err(ApiError::bad_request(format!(
            "{:?} is not a model folder on a disk plugged into the box: pick one from the list of models found",
            folder.path
        )));
    };
    model_fetch::start(&state, &model.name, model_fetch::Source::Folder(model.path.into()))?;
    Ok((axum::http::StatusCode::ACCEPTED, Json(model_fetch::status(&state))))
}

async fn model_fetch_status(State(state): State<AppState>, _admin: AdminAuth) -> Json<model_fetch::Fetch> {
    Json(model_fetch::status(&state))
}

async fn status(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Value>> {
    let (schema, counts) = state.db(|c| Ok((c.schema_version()?, c.job_counts()?))).await?;
    let video = super::settings::current(&state).await?;
    Ok(Json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptimeSeconds": state.started.elapsed().as_secs(),
        "catalogSchemaVersion": schema,
        "dataDir": state.layout.root().display().to_string(),
        "jobs": { "pending": counts.pending, "running": counts.running, "failed": counts.failed },
        "hardware": hardware_json(&state.hardware, &video),
        "machineLearning": state.ml.status_json(),
    })))
}

/// What the probe found for video, and the engine transcodes use now:
/// the one the settings choose, or software and why.
fn hardware_json(hw: &Hardware, video: &TranscodeSettings) -> Value {
    let (engine, problem) = shoebox_jobs::video::engine(video, hw);
    json!({
        "videoEncoder": engine.name(),
        "videoEngineChosen": video.accel,
        "videoEngineProblem": problem,
        "ffmpegHardwareEncoders": hw.encoders,
        "v4l2Devices": hw.v4l2_devices.iter().map(|(path, name)| json!({ "path": path, "name": name })).collect::<Vec<_>>(),
        "renderNodes": hw.render_nodes,
        "rkmppDevice": hw.rkmpp_device,
    })
}

fn job_json(job: &shoebox_catalog::Job) -> Value {
    json!({
        "id": job.id,
        "kind": job.kind.as_str(),
        "assetId": job.asset_id,
        "state": job.state,
        "attempts": job.attempts,
        "error": job.last_error,
        "updatedAt": dto::iso(job.updated_at),
        "progress": job.progress,
    })
}

/// Queue counts, the jobs running now with their progress, and every
/// failed job with its error (admin).
async fn jobs(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Value>> {
    let (counts, running, failed) = state.db(|c| Ok((c.job_counts()?, c.running_jobs()?, c.failed_jobs(None)?))).await?;
    Ok(Json(json!({
        "pending": counts.pending,
        "running": counts.running,
        "failed": counts.failed,
        "runningJobs": running.iter().map(job_json).collect::<Vec<_>>(),
        "failedJobs": failed.iter().map(job_json).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WaitQuery {
    timeout_seconds: Option<u64>,
}

/// Returns once no job is pending or running (or at the timeout, at most
/// five minutes), for scripts that must wait for processing to finish.
async fn wait_idle(State(state): State<AppState>, _auth: Auth, Query(q): Query<WaitQuery>) -> ApiResult<Json<Value>> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(q.timeout_seconds.unwrap_or(60).min(300));
    loop {
        let finished = state.jobs.job_finished();
        let counts = state.db(|c| c.job_counts()).await?;
        let idle = counts.pending == 0 && counts.running == 0;
        // Retries scheduled for later count as pending: the deadline bounds the wait.
        if idle || tokio::time::timeout_at(deadline, finished).await.is_err() {
            return Ok(Json(
                json!({ "idle": idle, "pending": counts.pending, "running": counts.running, "failed": counts.failed }),
            ));
        }
    }
}

#[derive(Deserialize)]
struct RetryQuery {
    kind: Option<String>,
}

async fn retry(State(state): State<AppState>, _admin: AdminAuth, Query(q): Query<RetryQuery>) -> ApiResult<Json<Value>> {
    let kind = q
        .kind
        .as_deref()
        .map(|k| JobKind::parse(k).ok_or_else(|| ApiError::bad_request(format!("unknown job kind {k:?}"))))
        .transpose()?;
    let count = state.db(move |c| c.retry_failed_jobs(kind)).await?;
    state.jobs.wake();
    Ok(Json(json!({ "count": count })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssetQuery {
    asset_id: String,
}

/// Why an asset of the caller's has no thumbnail or metadata: its failed jobs.
async fn asset_failures(State(state): State<AppState>, auth: Auth, Query(q): Query<AssetQuery>) -> ApiResult<Json<Vec<Value>>> {
    let owner = auth.user_id();
    let failed = state
        .db(move |c| {
            let asset = c.owned_asset(&owner, &q.asset_id)?;
            c.failed_jobs(Some(&asset.id))
        })
        .await?;
    Ok(Json(failed.iter().map(job_json).collect()))
}
