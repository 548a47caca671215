//! The box's alerts (`/api/shoebox/alerts`, admin only): those open now,
//! a check on demand, where they are sent, and a test message.

use axum::Router;
use axum::extract::State;
use axum::routing::{get, post};
use serde_json::{Value, json};
use shoebox_catalog::Alert;

use crate::alerts;
use crate::auth::AdminAuth;
use crate::dto::iso;
use crate::error::ApiResult;
use crate::json::Json;
use crate::notify::{self, Delivery};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/shoebox/alerts", get(open))
        .route("/shoebox/alerts/check", post(check))
        .route("/shoebox/alerts/delivery", get(delivery).put(set_delivery))
        .route("/shoebox/alerts/test", post(test))
}

fn alert_json(a: &Alert) -> Value {
    json!({ "key": a.key, "level": a.level, "title": a.title, "message": a.message, "raisedAt": iso(a.raised_at) })
}

async fn open(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Vec<Value>>> {
    let open = state.db(|c| c.open_alerts()).await?;
    Ok(Json(open.iter().map(alert_json).collect()))
}

/// Reads every condition now (the box also does every few minutes).
async fn check(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Vec<Value>>> {
    let open = alerts::check(&state).await?;
    Ok(Json(open.iter().map(alert_json).collect()))
}

async fn delivery(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Value>> {
    Ok(Json(notify::delivery(&state).await?.without_secrets()))
}

async fn set_delivery(State(state): State<AppState>, _admin: AdminAuth, Json(new): Json<Delivery>) -> ApiResult<Json<Value>> {
    Ok(Json(notify::set_delivery(&state, new).await?.without_secrets()))
}

/// Sends a test alert through each channel set up and says how each went.
async fn test(State(state): State<AppState>, _admin: AdminAuth) -> ApiResult<Json<Value>> {
    let name = notify::box_name(&state).await;
    let alert = Alert {
        key: "test".into(),
        level: "info".into(),
        title: "Test alert".into(),
        message: format!("{name} can reach you: alerts about backups, disks and storage will come this way."),
        raised_at: shoebox_catalog::now_millis(),
    };
    let sent = notify::send(&state, &alert).await;
    let outcome = |r: Option<Result<(), String>>| match r {
        None => json!({ "configured": false }),
        Some(Ok(())) => json!({ "configured": true, "ok": true }),
        Some(Err(e)) => json!({ "configured": true, "ok": false, "error": e }),
    };
    Ok(Json(json!({ "email": outcome(sent.email), "webhook": outcome(sent.webhook) })))
}
