//! The storage service, shoebox-storaged, reached over D-Bus: this process
//! never runs as root, so disks, the pool, snapshots and backups are its.

use axum::http::StatusCode;
use shoebox_storaged::client::Storage1Proxy;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A plain Linux install has no storage service: the host manages its
/// disks. A refusal or failure of a verb keeps the service's own message.
pub fn unavailable(e: zbus::Error) -> ApiError {
    if let zbus::Error::MethodError(name, message, _) = &e {
        let message = message.clone().unwrap_or_default();
        match name.as_str() {
            "org.freedesktop.DBus.Error.InvalidArgs" => return ApiError::new(StatusCode::BAD_REQUEST, message),
            "org.freedesktop.DBus.Error.Failed" => {
                return ApiError::new(StatusCode::BAD_GATEWAY, format!("The storage service could not do it: {message}"));
            }
            _ => {}
        }
    }
    tracing::debug!(error = %e, "storage service unreachable");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "The storage service (shoebox-storaged) is not running here: on a plain Linux install the host manages disks, pools and snapshots",
    )
}

pub async fn storage(state: &AppState) -> ApiResult<Storage1Proxy<'static>> {
    let builder = match &state.config.storage_bus {
        Some(address) => zbus::connection::Builder::address(address.as_str()),
        None => zbus::connection::Builder::system(),
    }
    .map_err(unavailable)?;
    let connection = builder.build().await.map_err(unavailable)?;
    Storage1Proxy::new(&connection).await.map_err(unavailable)
}
