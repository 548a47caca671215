//! Sign-up of the first admin, login, logout, token validation.

use std::net::SocketAddr;

use crate::json::Json;
use axum::Router;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use serde::Deserialize;
use serde_json::json;
use shoebox_catalog::NewUser;

use crate::auth::{ACCESS_COOKIE, Auth, check_new_password, dummy_hash, hash_password, new_token, verify_password};
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/auth/admin-sign-up", post(admin_sign_up))
        .route("/auth/login", post(login))
        .route("/auth/logout", post(logout))
        .route("/auth/validateToken", post(validate_token))
        .route("/auth/change-password", post(change_password))
}

#[derive(Deserialize)]
struct SignUp {
    email: String,
    name: String,
    password: String,
}

pub fn check_email(email: &str) -> ApiResult<String> {
    let email = email.trim();
    let valid = email
        .split_once('@')
        .is_some_and(|(user, host)| !user.is_empty() && !host.is_empty() && !email.contains(char::is_whitespace));
    if !valid {
        return Err(ApiError::bad_request(format!("{email:?} is not an email address")));
    }
    Ok(email.to_string())
}

/// Creates the first admin; refused once an admin exists.
async fn admin_sign_up(State(state): State<AppState>, Json(body): Json<SignUp>) -> ApiResult<(StatusCode, Json<serde_json::Value>)> {
    let email = check_email(&body.email)?;
    check_new_password(&body.password)?;
    if body.name.trim().is_empty() {
        return Err(ApiError::bad_request("A name is required"));
    }
    let hash = tokio::task::spawn_blocking(move || hash_password(&body.password))
        .await
        .map_err(ApiError::internal)??;
    let name = body.name.trim().to_string();
    let user = state
        .db(move |c| {
            c.create_first_admin(&NewUser {
                email: &email,
                name: &name,
                password_hash: &hash,
                is_admin: true,
                should_change_password: false,
                quota_bytes: None,
            })
        })
        .await?;
    Ok((StatusCode::CREATED, Json(dto::user_admin(&user, 0))))
}

#[derive(Deserialize)]
struct Credentials {
    email: String,
    password: String,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Json(body): Json<Credentials>,
) -> ApiResult<Response> {
    state.limit_password_attempts(peer)?;
    let email = body.email.trim().to_string();
    let user = state.db(move |c| c.user_by_email(&email)).await?;
    let hash = user.as_ref().map_or_else(|| dummy_hash().to_string(), |u| u.password_hash.clone());
    let password = body.password;
    let valid = tokio::task::spawn_blocking(move || verify_password(&password, &hash))
        .await
        .map_err(ApiError::internal)?;
    let user = match user {
        Some(user) if valid => user,
        _ => {
            return Err(ApiError::new(StatusCode::UNAUTHORIZED, "Incorrect email or password"));
        }
    };
    let (token, digest) = new_token();
    let device = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .chars()
            .take(200)
            .collect::<String>()
    };
    let (device_type, device_os) = (device("user-agent"), device("x-device-os"));
    let user_id = user.id.clone();
    state
        .db(move |c| c.create_session(&user_id, &digest, &device_type, &device_os))
        .await?;
    let body = json!({
        "accessToken": token,
        "userId": user.id,
        "userEmail": user.email,
        "name": user.name,
        "isAdmin": user.is_admin,
        "profileImagePath": "",
        "shouldChangePassword": user.should_change_password,
        "isOnboarded": user.onboarded,
    });
    let cookie = format!("{ACCESS_COOKIE}={token}; Path=/; HttpOnly; SameSite=Lax; Max-Age=34560000");
    Ok((StatusCode::CREATED, [(header::SET_COOKIE, cookie)], Json(body)).into_response())
}

/// Revokes the session the request was made with.
async fn logout(State(state): State<AppState>, auth: Auth) -> ApiResult<Response> {
    if let Some(session) = auth.session_id() {
        state.db(move |c| c.delete_session(&session)).await?;
    }
    let clear = format!("{ACCESS_COOKIE}=; Path=/; HttpOnly; SameSite=Lax; Max-Age=0");
    Ok((
        [(header::SET_COOKIE, clear)],
        Json(json!({ "successful": true, "redirectUri": "/auth/login" })),
    )
        .into_response())
}

async fn validate_token(_auth: Auth) -> Json<serde_json::Value> {
    Json(json!({ "authStatus": true }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangePassword {
    password: String,
    new_password: String,
    #[serde(default)]
    invalidate_sessions: bool,
}

/// Changes the caller's password after checking the current one; can sign
/// out every other device at the same time.
async fn change_password(
    State(state): State<AppState>,
    auth: Auth,
    Json(body): Json<ChangePassword>,
) -> ApiResult<Json<serde_json::Value>> {
    check_new_password(&body.new_password)?;
    let (current, stored) = (body.password, auth.user().password_hash.clone());
    let valid = tokio::task::spawn_blocking(move || verify_password(&current, &stored))
        .await
        .map_err(ApiError::internal)?;
    if !valid {
        return Err(ApiError::bad_request("The current password is wrong"));
    }
    let new_password = body.new_password;
    let hash = tokio::task::spawn_blocking(move || hash_password(&new_password))
        .await
        .map_err(ApiError::internal)??;
    let user_id = auth.user_id();
    let keep = auth.session_id();
    let invalidate = body.invalidate_sessions;
    let (user, usage) = state
        .db(move |c| {
            c.set_password_hash(&user_id, &hash, false)?;
            if invalidate {
                c.delete_other_sessions(&user_id, keep.as_deref())?;
            }
            Ok((c.user(&user_id)?, c.usage_bytes(&user_id)?))
        })
        .await?;
    Ok(Json(dto::user_admin(&user, usage)))
}
