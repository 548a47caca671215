//! Partner sharing (`/api/partners`): the caller shares their whole library
//! with another user; that user may show it in their own timeline.

use crate::json::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_catalog::{PartnerDirection, User};

use crate::auth::Auth;
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/partners", get(list).post(create))
        .route("/partners/{id}", post(create_with_id).put(update).delete(remove))
}

/// `PartnerResponseDto`: the other user, and whether the partnership shows
/// in the receiving user's timeline.
fn partner(user: &User, in_timeline: bool) -> Value {
    let mut v = dto::user(user);
    v["inTimeline"] = json!(in_timeline);
    v
}

#[derive(Deserialize)]
struct ListQuery {
    direction: String,
}

async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<Vec<Value>>> {
    auth.require("partner.read")?;
    let direction = match q.direction.as_str() {
        "shared-by" => PartnerDirection::SharedBy,
        "shared-with" => PartnerDirection::SharedWith,
        other => {
            return Err(ApiError::bad_request(format!(
                "direction: {other:?} is not shared-by or shared-with"
            )));
        }
    };
    let me = auth.user_id();
    let partners = state.db(move |c| c.partners(&me, direction)).await?;
    Ok(Json(partners.iter().map(|(u, t)| partner(u, *t)).collect()))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Create {
    shared_with_id: String,
}

async fn create(State(state): State<AppState>, auth: Auth, Json(body): Json<Create>) -> ApiResult<(StatusCode, Json<Value>)> {
    share(state, auth, body.shared_with_id).await
}

/// The older form of `POST /partners`, with the user in the path.
async fn create_with_id(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<(StatusCode, Json<Value>)> {
    share(state, auth, id).await
}

async fn share(state: AppState, auth: Auth, with: String) -> ApiResult<(StatusCode, Json<Value>)> {
    auth.require("partner.create")?;
    let me = auth.user_id();
    let user = state
        .db(move |c| {
            c.create_partner(&me, &with)?;
            c.user(&with)
        })
        .await?;
    Ok((StatusCode::CREATED, Json(partner(&user, false))))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Update {
    in_timeline: bool,
}

/// The receiving user shows or hides the partner `id` in their timeline.
async fn update(State(state): State<AppState>, auth: Auth, Path(id): Path<String>, Json(body): Json<Update>) -> ApiResult<Json<Value>> {
    auth.require("partner.update")?;
    let me = auth.user_id();
    let user = state
        .db(move |c| {
            c.set_partner_in_timeline(&me, &id, body.in_timeline)?;
            c.user(&id)
        })
        .await?;
    Ok(Json(partner(&user, body.in_timeline)))
}

/// The caller stops sharing with `id`.
async fn remove(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    auth.require("partner.delete")?;
    let me = auth.user_id();
    state.db(move |c| c.remove_partner(&me, &id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
