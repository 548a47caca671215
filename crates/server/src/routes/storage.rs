//! Disks, pool, snapshots and backup (`/api/shoebox/storage/...`, admin
//! only): every call goes to shoebox-storaged over D-Bus, since this
//! process never runs as root.

use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::get;
use serde_json::{Value, json};
use shoebox_storaged::client::Storage1Proxy;

use crate::auth::AdminAuth;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/shoebox/storage/disks", get(disks))
}

/// A plain Linux install has no storage service: the host manages its disks.
fn unavailable(e: zbus::Error) -> ApiError {
    tracing::debug!(error = %e, "storage service unreachable");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "The storage service (shoebox-storaged) is not running here: on a plain Linux install the host manages disks, pools and snapshots",
    )
}

async fn storage(state: &AppState) -> ApiResult<Storage1Proxy<'static>> {
    let builder = match &state.config.storage_bus {
        Some(address) => zbus::connection::Builder::address(address.as_str()),
        None => zbus::connection::Builder::system(),
    }
    .map_err(unavailable)?;
    let connection = builder.build().await.map_err(unavailable)?;
    Storage1Proxy::new(&connection).await.map_err(unavailable)
}

async fn disks(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Vec<Value>>> {
    let disks = storage(&state).await?.list_disks().await.map_err(unavailable)?;
    Ok(Json(
        disks
            .into_iter()
            .map(|d| {
                json!({
                    "path": d.path, "model": d.model, "serial": d.serial, "sizeBytes": d.size_bytes,
                    "transport": d.transport, "blank": d.blank, "system": d.system,
                })
            })
            .collect(),
    ))
}
