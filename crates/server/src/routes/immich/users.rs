//! The signed-in user, and admin management of users.

use crate::json::Json;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_catalog::NewUser;

use super::auth::check_email;
use crate::auth::{AdminAuth, Auth, check_new_password, hash_password};
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/users", get(search))
        .route("/users/me", get(me))
        .route("/users/me/onboarding", get(onboarding).put(set_onboarding).delete(reset_onboarding))
        .route("/admin/users", get(list).post(create))
        .route("/admin/users/{id}", get(one).put(update))
}

/// Everyone on the box, so users can pick whom to share albums and their
/// library with (Immich lists all users to signed-in users).
async fn search(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Value>>> {
    auth.require("user.read")?;
    let users = state.db(|c| c.users()).await?;
    Ok(Json(users.iter().map(dto::user).collect()))
}

async fn me(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let user = auth.user().clone();
    let id = user.id.clone();
    let usage = state.db(move |c| c.usage_bytes(&id)).await?;
    Ok(Json(dto::user_admin(&user, usage)))
}

/// Whether the user has been through the Immich web client's onboarding
/// (`OnboardingResponseDto`).
async fn onboarding(auth: Auth) -> Json<Value> {
    Json(json!({ "isOnboarded": auth.user().onboarded }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Onboarding {
    is_onboarded: bool,
}

async fn set_onboarding(State(state): State<AppState>, auth: Auth, Json(to): Json<Onboarding>) -> ApiResult<Json<Value>> {
    let id = auth.user_id();
    state.db(move |c| c.set_onboarded(&id, to.is_onboarded)).await?;
    Ok(Json(json!({ "isOnboarded": to.is_onboarded })))
}

async fn reset_onboarding(State(state): State<AppState>, auth: Auth) -> ApiResult<StatusCode> {
    let id = auth.user_id();
    state.db(move |c| c.set_onboarded(&id, false)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn list(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Vec<Value>>> {
    let users = state
        .db(|c| {
            c.users()?
                .into_iter()
                .map(|u| Ok(dto::user_admin(&u, c.usage_bytes(&u.id)?)))
                .collect()
        })
        .await?;
    Ok(Json(users))
}

async fn one(State(state): State<AppState>, _admin: AdminAuth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let (user, usage) = state.db(move |c| Ok((c.user(&id)?, c.usage_bytes(&id)?))).await?;
    Ok(Json(dto::user_admin(&user, usage)))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Create {
    email: String,
    name: String,
    password: String,
    #[serde(default)]
    is_admin: bool,
    #[serde(default)]
    should_change_password: bool,
    quota_size_in_bytes: Option<i64>,
}

async fn create(State(state): State<AppState>, _admin: AdminAuth, Json(body): Json<Create>) -> ApiResult<(StatusCode, Json<Value>)> {
    let email = check_email(&body.email)?;
    check_new_password(&body.password)?;
    let hash = tokio::task::spawn_blocking(move || hash_password(&body.password))
        .await
        .map_err(ApiError::internal)??;
    let user = state
        .db(move |c| {
            c.create_user(&NewUser {
                email: &email,
                name: body.name.trim(),
                password_hash: &hash,
                is_admin: body.is_admin,
                should_change_password: body.should_change_password,
                quota_bytes: body.quota_size_in_bytes.filter(|q| *q >= 0),
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(dto::user_admin(&user, 0))))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Update {
    password: Option<String>,
    should_change_password: Option<bool>,
    name: Option<String>,
    email: Option<String>,
    #[serde(default, deserialize_with = "crate::json::present")]
    quota_size_in_bytes: Option<Option<i64>>,
}

/// The admin changes an account: password reset, name, email, quota.
async fn update(
    State(state): State<AppState>,
    _admin: AdminAuth,
    Path(id): Path<String>,
    Json(body): Json<Update>,
) -> ApiResult<Json<Value>> {
    if body.quota_size_in_bytes.flatten().is_some_and(|q| q < 0) {
        return Err(ApiError::bad_request(
            "quotaSizeInBytes: use a number of bytes, or null for no quota",
        ));
    }
    if body.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(ApiError::bad_request("name: an account needs a name"));
    }
    if let Some(password) = body.password {
        check_new_password(&password)?;
        let hash = tokio::task::spawn_blocking(move || hash_password(&password))
            .await
            .map_err(ApiError::internal)??;
        let (id, change) = (id.clone(), body.should_change_password.unwrap_or(true));
        state.db(move |c| c.set_password_hash(&id, &hash, change)).await?;
    }
    if body.name.is_some() || body.email.is_some() || body.quota_size_in_bytes.is_some() {
        let id = id.clone();
        let email = body.email.map(|e| e.trim().to_owned());
        state
            .db(move |c| c.update_user(&id, body.name.as_deref(), email.as_deref(), body.quota_size_in_bytes))
            .await?;
    }
    let (user, usage) = state.db(move |c| Ok((c.user(&id)?, c.usage_bytes(&id)?))).await?;
    Ok(Json(dto::user_admin(&user, usage)))
}
