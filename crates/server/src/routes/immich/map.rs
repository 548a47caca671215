//! Map markers (`GET /api/map/markers`): one per geotagged asset.

use crate::json::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::routing::get;
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_catalog::MapFilter;

use crate::auth::Auth;
use crate::dto;
use crate::error::ApiResult;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/map/markers", get(markers))
}

/// `withPartners` and `withSharedAlbums` are ignored: markers are the
/// caller's own assets.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct MarkerQuery {
    is_archived: Option<bool>,
    is_favorite: Option<bool>,
    file_created_after: Option<String>,
    file_created_before: Option<String>,
}

async fn markers(State(state): State<AppState>, auth: Auth, Query(q): Query<MarkerQuery>) -> ApiResult<Json<Value>> {
    auth.require("map.read")?;
    let filter = MapFilter {
        with_archived: q.is_archived.unwrap_or(false),
        favorite: q.is_favorite,
        taken_after: dto::parse_date_field("fileCreatedAfter", q.file_created_after.as_deref())?,
        taken_before: dto::parse_date_field("fileCreatedBefore", q.file_created_before.as_deref())?,
    };
    let owner = auth.user_id();
    let markers = state.db(move |c| c.map_markers(&owner, &filter)).await?;
    Ok(Json(
        markers
            .into_iter()
            .map(|(id, lat, lon)| json!({ "id": id, "lat": lat, "lon": lon, "city": null, "state": null, "country": null }))
            .collect(),
    ))
}
