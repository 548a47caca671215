//! Admin settings that Immich keeps in its system config: how videos are
//! transcoded (Immich's `SystemConfigFFmpegDto`, with a `v4l2` engine).
//! Saved in the catalog; transcodes read them as they start, so a change
//! applies to the next video without a restart.

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Map, Value};
use shoebox_jobs::video::{self, SETTINGS_KEY};
use shoebox_media::transcode::TranscodeSettings;

use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/shoebox/settings/video", get(read).put(update))
}

pub(crate) async fn current(state: &AppState) -> ApiResult<TranscodeSettings> {
    let hardware = state.hardware.clone();
    state.db(move |c| video::settings(c, &hardware)).await
}

async fn read(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<TranscodeSettings>> {
    current(&state).await.map(Json)
}

/// Takes any of the fields; the rest keep their values.
async fn update(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Json(change): Json<Map<String, Value>>,
) -> ApiResult<Json<TranscodeSettings>> {
    let mut merged = serde_json::to_value(current(&state).await?).map_err(ApiError::internal)?;
    for (key, value) in change {
        merged[key] = value;
    }
    let settings: TranscodeSettings =
        serde_json::from_value(merged).map_err(|e| ApiError::bad_request(format!("These video settings are not valid: {e}")))?;
    settings
        .check()
        .map_err(|e| ApiError::bad_request(format!("These video settings cannot be used: {e}")))?;
    state.set_json_setting(SETTINGS_KEY, &settings).await?;
    Ok(Json(settings))
}
