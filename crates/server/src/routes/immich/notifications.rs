//! Each user's notifications (Immich's `/api/notifications`): the box's
//! alerts reach admins here, beside the web UI's banner.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_catalog::{Notification, NotificationFilter};

use crate::auth::Auth;
use crate::dto::{iso, parse_date_field};
use crate::error::ApiResult;
use crate::json::Json;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/notifications", get(list).put(update_all).delete(delete_all))
        .route("/notifications/{id}", get(one).put(update_one).delete(delete_one))
}

/// `NotificationDto`: `description` and `readAt` are left out when unset
/// (the schema has them optional, not nullable).
fn notification_json(n: &Notification) -> Value {
    let data: Value = serde_json::from_str(&n.data).unwrap_or_else(|_| json!({}));
    let mut dto = json!({
        "id": n.id, "createdAt": iso(n.created_at), "level": n.level, "type": n.kind,
        "title": n.title, "data": data,
    });
    if let Some(description) = &n.description {
        dto["description"] = json!(description);
    }
    if let Some(at) = n.read_at {
        dto["readAt"] = json!(iso(at));
    }
    dto
}

#[derive(Deserialize)]
struct ListQuery {
    id: Option<String>,
    level: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    unread: Option<bool>,
}

async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<Vec<Value>>> {
    auth.require("notification.read")?;
    let user_id = auth.user_id();
    let filter = NotificationFilter {
        id: q.id,
        level: q.level,
        kind: q.kind,
        unread: q.unread,
    };
    let found = state.db(move |c| c.notifications(&user_id, &filter)).await?;
    Ok(Json(found.iter().map(notification_json).collect()))
}

async fn one(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    auth.require("notification.read")?;
    let user_id = auth.user_id();
    let found = state.db(move |c| c.notification(&user_id, &id)).await?;
    Ok(Json(notification_json(&found)))
}

/// `NotificationUpdateAllDto`
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateAll {
    ids: Vec<String>,
    read_at: Option<String>,
}

async fn update_all(State(state): State<AppState>, auth: Auth, Json(change): Json<UpdateAll>) -> ApiResult<StatusCode> {
    auth.require("notification.update")?;
    let (user_id, at) = (auth.user_id(), parse_date_field("readAt", change.read_at.as_deref())?);
    state.db(move |c| c.mark_notifications(&user_id, &change.ids, at)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `NotificationUpdateDto`
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UpdateOne {
    read_at: Option<String>,
}

async fn update_one(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(change): Json<UpdateOne>,
) -> ApiResult<Json<Value>> {
    auth.require("notification.update")?;
    let (user_id, at) = (auth.user_id(), parse_date_field("readAt", change.read_at.as_deref())?);
    let updated = state
        .db(move |c| {
            let current = c.notification(&user_id, &id)?;
            c.mark_notifications(&user_id, std::slice::from_ref(&current.id), at)?;
            c.notification(&user_id, &id)
        })
        .await?;
    Ok(Json(notification_json(&updated)))
}

/// `NotificationDeleteAllDto`
#[derive(Deserialize)]
struct DeleteAll {
    ids: Vec<String>,
}

async fn delete_all(State(state): State<AppState>, auth: Auth, Json(request): Json<DeleteAll>) -> ApiResult<StatusCode> {
    auth.require("notification.delete")?;
    let user_id = auth.user_id();
    state.db(move |c| c.delete_notifications(&user_id, &request.ids)).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete_one(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<StatusCode> {
    auth.require("notification.delete")?;
    let user_id = auth.user_id();
    state
        .db(move |c| {
            c.notification(&user_id, &id)?;
            c.delete_notifications(&user_id, &[id])
        })
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
