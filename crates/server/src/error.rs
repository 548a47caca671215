//! The one place errors become HTTP responses, in Immich's error shape:
//! `{"message", "error", "statusCode", "correlationId"}`.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "Authentication required: sign in, or send an access token or API key",
        )
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, message)
    }
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, message)
    }
    /// Used both for ids that do not exist and ids of other users, so a
    /// response never reveals whether someone else's item exists.
    pub fn no_access(what: &str) -> Self {
        Self::bad_request(format!("Not found or no {what} access"))
    }
    pub fn internal(e: impl std::fmt::Display) -> Self {
        tracing::error!(error = %e, "request failed");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "The server hit an internal error; it is logged. Retry, and report it if it persists",
        )
    }
}

impl From<shoebox_catalog::Error> for ApiError {
    fn from(e: shoebox_catalog::Error) -> Self {
        match e {
            shoebox_catalog::Error::NotFound(what) => ApiError::no_access(what),
            shoebox_catalog::Error::Conflict(message) => ApiError::bad_request(message),
            other => ApiError::internal(other),
        }
    }
}

impl From<axum::extract::multipart::MultipartError> for ApiError {
    fn from(e: axum::extract::multipart::MultipartError) -> Self {
        ApiError::bad_request(format!("The upload was cut off or malformed ({e}); nothing was stored, retry it"))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "message": self.message,
            "error": self.status.canonical_reason().unwrap_or("Error"),
            "statusCode": self.status.as_u16(),
            "correlationId": uuid::Uuid::new_v4().simple().to_string()[..8],
        });
        (self.status, Json(body)).into_response()
    }
}
