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

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct MarkerQuery {
    is_archived: Option<bool>,
    is_favorite: Option<bool>,
    file_created_after: Option<String>,
    file_created_before: Option<String>,
    with_partners: bool,
    with_shared_albums: bool,
}

async fn markers(State(state): State<AppState>, auth: Auth, Query(q): Query<MarkerQuery>) -> ApiResult<Json<Value>> {
    auth.require("map.read")?;
    let filter = MapFilter {
        with_archived: q.is_archived.unwrap_or(false),
        favorite: q.is_favorite,
        taken_after: dto::parse_date_field("fileCreatedAfter", q.file_created_after.as_deref())?,
        taken_before: dto::parse_date_field("fileCreatedBefore", q.file_created_before.as_deref())?,
        with_partners: q.with_partners,
        with_shared_albums: q.with_shared_albums,
    };
    let owner = auth.user_id();
    let markers = state.db(move |c| c.map_markers(&owner, &filter)).await?;
    Ok(Json(
        markers
            .into_iter()
            .map(|m| json!({ "id": m.id, "lat": m.latitude, "lon": m.longitude, "city": m.city, "state": m.state, "country": m.country }))
            .collect(),
    ))
}
