//! Server information: what the apps ask before and right after login.

use crate::json::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Value, json};
use shoebox_media::{MediaKind, MediaType};

use crate::auth::Auth;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/server/ping", get(ping))
        .route("/server/version", get(version))
        .route("/server/features", get(features))
        .route("/server/media-types", get(media_types))
        .route("/server/config", get(config))
        .route("/server/about", get(about))
        .route("/server/storage", get(storage))
}

/// The Immich apps and CLI look here to find the API from a bare URL.
pub async fn well_known() -> Json<Value> {
    Json(json!({ "api": { "endpoint": "/api" } }))
}

async fn ping() -> Json<Value> {
    Json(json!({ "res": "pong" }))
}

async fn version(State(state): State<AppState>) -> Json<Value> {
    let (major, minor, patch) = state.config.claimed_version;
    Json(json!({ "major": major, "minor": minor, "patch": patch }))
}

/// Only what works is reported; the apps hide features reported false.
async fn features(State(state): State<AppState>) -> Json<Value> {
    Json(json!({
        "configFile": false,
        "duplicateDetection": state.ml.runs("duplicateDetection"),
        "email": false,
        "facialRecognition": false,
        "importFaces": false,
        "map": false,
        "oauth": false,
        "oauthAutoLaunch": false,
        "ocr": state.ml.runs("ocr"),
        "passwordLogin": true,
        "reverseGeocoding": false,
        "search": false,
        "sidecar": false,
        "smartSearch": state.ml.runs("smartSearch"),
        "trash": true,
    }))
}

async fn media_types() -> Json<Value> {
    let list = |kind| MediaType::extensions(kind).collect::<Vec<_>>();
    Json(json!({
        "image": list(MediaKind::Image),
        "video": list(MediaKind::Video),
        "sidecar": list(MediaKind::Sidecar),
    }))
}

async fn config(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let initialized = state.db(|c| c.has_admin()).await?;
    Ok(Json(json!({
        "externalDomain": "",
        "isInitialized": initialized,
        "isOnboarded": initialized,
        "loginPageMessage": "",
        "maintenanceMode": false,
        "mapDarkStyleUrl": "",
        "mapLightStyleUrl": "",
        "oauthButtonText": "",
        "publicUsers": true,
        "trashDays": state.config.trash_days,
        "userDeleteDelay": 7,
    })))
}

async fn about(State(state): State<AppState>, _auth: Auth) -> Json<Value> {
    let (major, minor, patch) = state.config.claimed_version;
    Json(json!({
        "version": format!("v{major}.{minor}.{patch}"),
        "versionUrl": "",
        "licensed": false,
        "build": env!("CARGO_PKG_VERSION"),
        "sourceRef": format!("shoebox {}", env!("CARGO_PKG_VERSION")),
    }))
}

/// Disk use of the filesystem holding the data folder.
async fn storage(State(state): State<AppState>, _auth: Auth) -> ApiResult<Json<Value>> {
    let root = state.layout.root().to_path_buf();
    let (total, free) = tokio::task::spawn_blocking(move || crate::disk::space(&root))
        .await
        .map_err(crate::error::ApiError::internal)?
        .map_err(crate::error::ApiError::internal)?;
    let used = total.saturating_sub(free);
    let pct = if total == 0 {
        0.0
    } else {
        (used as f64 / total as f64 * 10000.0).round() / 100.0
    };
    Ok(Json(json!({
        "diskSize": human_bytes(total),
        "diskUse": human_bytes(used),
        "diskAvailable": human_bytes(free),
        "diskSizeRaw": total,
        "diskUseRaw": used,
        "diskAvailableRaw": free,
        "diskUsagePercentage": pct,
    })))
}

fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}
