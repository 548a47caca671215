//! JSON bodies in and out. Axum's own extractor answers a malformed body
//! with a plain-text 422; the Immich apps read errors as Immich's JSON
//! (`message`, `statusCode`), so a body that does not parse is a 400 in
//! that shape, naming what is wrong.

use axum::extract::FromRequest;
use axum::extract::rejection::JsonRejection;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Deserializer, Serialize};

use crate::error::ApiError;

#[derive(FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct Json<T>(pub T);

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        ApiError::bad_request(format!("The request body is not what this call expects: {}", rejection.body_text()))
    }
}

/// For `#[serde(default, deserialize_with = "present")]`: tells a field sent
/// as `null` (`Some(None)`, "clear it") from one left out (`None`, "keep it").
pub fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<Option<T>>, D::Error> {
    Option::deserialize(d).map(Some)
}
