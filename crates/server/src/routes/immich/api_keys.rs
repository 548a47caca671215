//! API keys: created by a signed-in user, shown once, used by the CLI.

use crate::json::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_catalog::AuthSubject;

use crate::auth::{Auth, new_token};
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api-keys", get(list).post(create))
        .route("/api-keys/me", get(current))
        .route("/api-keys/{id}", get(one).put(rename).delete(remove))
}

#[derive(Deserialize)]
struct Create {
    name: Option<String>,
    #[serde(default)]
    permissions: Vec<String>,
}

async fn create(State(state): State<AppState>, auth: Auth, Json(body): Json<Create>) -> ApiResult<(StatusCode, Json<Value>)> {
    let permissions = if body.permissions.is_empty() {
        vec!["all".to_string()]
    } else {
        body.permissions
    };
    // A key can grant no more than the credential that creates it.
    if let AuthSubject::ApiKey { key, .. } = &auth.0
        && !key.permissions.iter().any(|p| p == "all")
        && permissions.iter().any(|p| !key.permissions.contains(p))
    {
        return Err(ApiError::forbidden(
            "An API key cannot create a key with permissions it does not have",
        ));
    }
    let name = body.name.filter(|n| !n.trim().is_empty()).unwrap_or_else(|| "API Key".into());
    let (secret, digest) = new_token();
    let user_id = auth.user_id();
    let key = state.db(move |c| c.create_api_key(&user_id, &name, &digest, &permissions)).await?;
    Ok((StatusCode::CREATED, Json(json!({ "secret": secret, "apiKey": dto::api_key(&key) }))))
}

async fn list(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Value>>> {
    let user_id = auth.user_id();
    let keys = state.db(move |c| c.api_keys(&user_id)).await?;
    Ok(Json(keys.iter().map(dto::api_key).collect()))
}

/// The key the request is made with (the CLI checks its permissions).
async fn current(auth: Auth) -> ApiResult<Json<Value>> {
    match &auth.0 {
        AuthSubject::ApiKey { key, .. } => Ok(Json(dto::api_key(key))),
        AuthSubject::Session { .. } => Err(ApiError::forbidden("This request was not made with an API key")),
    }
}

async fn one(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let user_id = auth.user_id();
    let key = state.db(move |c| c.api_key(&user_id, &id)).await?;
    Ok(Json(dto::api_key(&key)))
}

#[derive(Deserialize)]
struct Rename {
    name: String,
}

async fn rename(State(state): State<AppState>, auth: Auth, Path(id): Path<String>, Json(body): Json<Rename>) -> ApiResult<Json<Value>> {
    let user_id = auth.user_id();
    let key = state.db(move |c| c.rename_api_key(&user_id, &id, &body.name)).await?;
    Ok(Json(dto::api_key(&key)))
}

async fn remove(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    let user_id = auth.user_id();
    state.db(move |c| c.delete_api_key(&user_id, &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
