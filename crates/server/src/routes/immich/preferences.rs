//! The signed-in user's app preferences (`UserPreferencesResponseDto`).
//! Stored as the user's changes only; answers are those changes laid over
//! Immich's defaults, so a default that changes later reaches everyone
//! who never touched it.

use crate::json::Json;
use axum::Router;
use axum::extract::State;
use axum::routing::get;
use serde_json::{Map, Value, json};

use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/users/me/preferences", get(read).put(update))
}

fn defaults() -> Value {
    json!({
        "albums": { "defaultAssetOrder": "desc" },
        "cast": { "gCastEnabled": false },
        "download": { "archiveSize": 4_294_967_296u64, "includeEmbeddedVideos": false },
        "emailNotifications": { "enabled": true, "albumInvite": true, "albumUpdate": true },
        "folders": { "enabled": false, "sidebarWeb": false },
        "memories": { "enabled": true, "duration": 5 },
        "people": { "enabled": true, "sidebarWeb": false },
        "purchase": { "showSupportBadge": true, "hideBuyButtonUntil": "2022-01-01T00:00:00.000Z" },
        "ratings": { "enabled": false },
        "sharedLinks": { "enabled": true, "sidebarWeb": false },
        "tags": { "enabled": false, "sidebarWeb": false },
    })
}

/// Lays `changes` over `base`, refusing keys and types the defaults lack.
fn merge(base: &mut Value, changes: &Value, at: &str) -> ApiResult<()> {
    let (Value::Object(base), Value::Object(changes)) = (base, changes) else {
        return Err(ApiError::bad_request(format!("preference {at} must be an object")));
    };
    for (key, change) in changes {
        let path = format!("{at}.{key}");
        let Some(current) = base.get_mut(key) else {
            return Err(ApiError::bad_request(format!(
                "unknown preference {}",
                path.trim_start_matches('.')
            )));
        };
        match current {
            Value::Object(_) => merge(current, change, &path)?,
            _ if std::mem::discriminant(current) == std::mem::discriminant(change) => *current = change.clone(),
            _ => {
                return Err(ApiError::bad_request(format!(
                    "preference {} has the wrong type",
                    path.trim_start_matches('.')
                )));
            }
        }
    }
    Ok(())
}

async fn stored(state: &AppState, user_id: String) -> ApiResult<Value> {
    let text = state.db(move |c| c.user_preferences(&user_id)).await?;
    Ok(text
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_else(|| Value::Object(Map::new())))
}

async fn read(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    let mut prefs = defaults();
    // Stored changes were validated when written.
    merge(&mut prefs, &stored(&state, auth.user_id()).await?, "")?;
    Ok(Json(prefs))
}

async fn update(State(state): State<AppState>, auth: Auth, Json(changes): Json<Value>) -> ApiResult<Json<Value>> {
    let mut prefs = defaults();
    let mut saved = stored(&state, auth.user_id()).await?;
    merge(&mut prefs, &saved, "")?;
    merge(&mut prefs, &changes, "")?;
    deep_extend(&mut saved, &changes);
    let (user_id, text) = (auth.user_id(), saved.to_string());
    state.db(move |c| c.set_user_preferences(&user_id, &text)).await?;
    Ok(Json(prefs))
}

fn deep_extend(into: &mut Value, from: &Value) {
    match (into, from) {
        (Value::Object(into), Value::Object(from)) => {
            for (k, v) in from {
                deep_extend(into.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (slot, value) => *slot = value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_merge_over_defaults_and_unknown_or_mistyped_keys_are_refused() {
        let mut prefs = defaults();
        merge(&mut prefs, &json!({"memories": {"duration": 9}}), "").unwrap();
        assert_eq!(prefs["memories"], json!({"enabled": true, "duration": 9}));
        assert!(
            merge(&mut defaults(), &json!({"memories": {"speed": 1}}), "")
                .unwrap_err()
                .message
                .contains("memories.speed")
        );
        assert!(
            merge(&mut defaults(), &json!({"ratings": {"enabled": "yes"}}), "")
                .unwrap_err()
                .message
                .contains("wrong type")
        );
        assert!(merge(&mut defaults(), &json!({"ratings": true}), "").is_err());
    }
}
