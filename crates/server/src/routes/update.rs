//! Updating the appliance (`/api/shoebox/update`, admin only) and the
//! health check its boot loader's fallback relies on
//! (`/api/shoebox/health`, open: the box asks itself).

use axum::Router;
use axum::body::Body;
use axum::extract::DefaultBodyLimit;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult};
use crate::ingest::storage_error;
use crate::json::Json;
use crate::state::AppState;
use crate::storage_service::{storage, unavailable};
use crate::update::{self, Status};
use crate::update_source;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/shoebox/health", get(health))
        .route("/shoebox/update", get(status))
        .route("/shoebox/update/bundle", post(upload).layer(DefaultBodyLimit::disable()))
        .route("/shoebox/update/restart", post(restart))
        .route("/shoebox/update/source", get(source).put(set_source))
        .route("/shoebox/update/source/check", post(check_source))
        .route("/shoebox/update/source/install", post(install_offered))
}

/// Healthy: the catalog is at this program's schema and, on the
/// appliance, the storage service answers on the bus.
async fn health(State(state): State<AppState>) -> (StatusCode, Json<Value>) {
    let catalog = match state.db(|c| c.schema_is_current()).await {
        Ok(true) => "ok".to_owned(),
        Ok(false) => "the catalog is not at this program's schema".to_owned(),
        Err(e) => e.message,
    };
    let storage = if state.config.appliance {
        match storage(&state).await {
            Ok(s) => s
                .version()
                .await
                .map(|_| "ok".to_owned())
                .unwrap_or_else(|e| unavailable(e).message),
            Err(e) => e.message,
        }
    } else {
        "not used here".to_owned()
    };
    let healthy = catalog == "ok" && (storage == "ok" || !state.config.appliance);
    let code = if healthy { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (code, Json(json!({ "healthy": healthy, "catalog": catalog, "storage": storage })))
}

async fn status(_admin: AdminAuth) -> ApiResult<Json<Status>> {
    update::status().await.map(Json)
}

/// Receives a bundle (the request body, as a file) and has RAUC install
/// it; 202 with its version once RAUC took it. A bundle RAUC refuses
/// (signature, board) is a 400 with its reason, and nothing was written
/// to a slot.
async fn upload(State(state): State<AppState>, _admin: AdminAuth, body: Body) -> ApiResult<(StatusCode, Json<Value>)> {
    let dir = update::bundle_dir(state.layout.root());
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| storage_error(e, "making the updates folder"))?;
    let bundle = dir.join(format!("{}.raucb", uuid::Uuid::new_v4()));
    let received = receive(&bundle, body).await;
    let installed = match received {
        Ok(()) => update::install(&bundle).await,
        Err(e) => Err(e),
    };
    let version = match installed {
        Ok(version) => version,
        Err(e) => {
            let _ = tokio::fs::remove_file(&bundle).await;
            return Err(e);
        }
    };
    tokio::spawn(update::remove_when_installed(bundle));
    Ok((StatusCode::ACCEPTED, Json(json!({ "installing": version }))))
}

async fn receive(path: &std::path::Path, body: Body) -> ApiResult<()> {
    let mut file = tokio::fs::File::create(path)
        .await
        .map_err(|e| storage_error(e, "storing the update"))?;
    let mut stream = body.into_data_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad_request(format!("The upload broke off: {e}; send the bundle again")))?;
        file.write_all(&chunk).await.map_err(|e| storage_error(e, "storing the update"))?;
    }
    file.sync_all().await.map_err(|e| storage_error(e, "storing the update"))
}

/// Restarts the box (on the newly installed slot, after an update).
async fn restart(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<(StatusCode, Json<Value>)> {
    storage(&state).await?.reboot().await.map_err(unavailable)?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "restarting": true }))))
}

#[derive(serde::Deserialize)]
struct SourceBody {
    url: Option<String>,
}

/// The update source, the last look at it, whether it offers an update
/// (null where RAUC does not answer) and the download of one.
async fn source_view(state: &AppState) -> ApiResult<Json<Value>> {
    let check = update_source::last_check(state).await?;
    let available = match (&check, update::status().await) {
        (Some(check), Ok(status)) => json!(check.offered.as_ref().is_some_and(|r| update_source::available(r, &status))),
        _ => Value::Null,
    };
    Ok(Json(json!({
        "url": update_source::source(state).await?.map(|s| s.url),
        "check": check,
        "available": available,
        "download": update_source::download(state),
    })))
}

async fn source(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Value>> {
    source_view(&state).await
}

async fn set_source(State(state): State<AppState>, _admin: AdminAuth, Json(body): Json<SourceBody>) -> ApiResult<Json<Value>> {
    let url = body.url.as_deref().filter(|u| !u.trim().is_empty());
    update_source::set_source(&state, url).await?;
    source_view(&state).await
}

async fn check_source(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Value>> {
    update_source::check(&state).await?;
    crate::alerts::check(&state).await?;
    source_view(&state).await
}

/// Downloads the update the source offers and has RAUC install it; 202
/// with its version, then the download and RAUC's progress follow in the
/// source's and the update's status.
async fn install_offered(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<(StatusCode, Json<Value>)> {
    let version = update_source::install(&state).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "downloading": version }))))
}
