//! Timeline buckets, as the web UI (and older apps) page through a library:
//! month keys with counts, then one month's assets as column arrays.

use crate::json::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::get;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shoebox_catalog::{PartnerDirection, TimelineAsset, TimelineFilter, Visibility};

use crate::auth::Access;
use crate::dto::Iso;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/timeline/buckets", get(buckets))
        .route("/timeline/bucket", get(bucket))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TimelineQuery {
    album_id: Option<String>,
    is_favorite: Option<bool>,
    is_trashed: Option<bool>,
    visibility: Option<String>,
    user_id: Option<String>,
    with_coordinates: Option<bool>,
    with_partners: Option<bool>,
    time_bucket: Option<String>,
}

/// Whose timeline, and which part of it. Another user's timeline is open
/// only to their partners, and only its visible photos; a shared album
/// link opens that album's timeline.
async fn filter(state: &AppState, access: &Access, q: &TimelineQuery) -> ApiResult<(String, TimelineFilter)> {
    let auth = match access {
        Access::User(auth) => auth,
        Access::Link(link) => {
            let Some(album) = link.album_id.clone().filter(|a| q.album_id.as_ref() == Some(a)) else {
                return Err(ApiError::no_access("timeline"));
            };
            let filter = TimelineFilter {
                album_id: Some(album),
                ..TimelineFilter::default()
            };
            return Ok((link.owner_id.clone(), filter));
        }
    };
    auth.require("timeline.read")?;
    let me = auth.user_id();
    let partner = match q.user_id.clone() {
        Some(user) if user != me => {
            let (me, wanted) = (me.clone(), user.clone());
            let shares = state
                .db(move |c| Ok(c.partners(&me, PartnerDirection::SharedWith)?.iter().any(|(p, _)| p.id == wanted)))
                .await?;
            if !shares {
                return Err(ApiError::no_access("timeline"));
            }
            Some(user)
        }
        _ => None,
    };
    if let Some(album) = q.album_id.clone() {
        let me = me.clone();
        state.db(move |c| c.album(&me, &album)).await?;
    }
    let visibility = match q.visibility.as_deref() {
        Some(v) => Some(Visibility::parse(v).ok_or_else(|| ApiError::bad_request(format!("unknown visibility {v:?}")))?),
        None => None,
    };
    let filter = TimelineFilter {
        trashed: q.is_trashed.unwrap_or(false) && partner.is_none(),
        visibility: if partner.is_some() {
            Some(Visibility::Timeline)
        } else {
            visibility
        },
        favorite: q.is_favorite,
        album_id: q.album_id.clone(),
        with_partners: q.with_partners == Some(true) && partner.is_none(),
    };
    Ok((partner.unwrap_or(me), filter))
}

async fn buckets(State(state): State<AppState>, access: Access, Query(q): Query<TimelineQuery>) -> ApiResult<Json<Value>> {
    let (owner, filter) = filter(&state, &access, &q).await?;
    let months = state.db(move |c| c.timeline_buckets(&owner, &filter)).await?;
    Ok(Json(
        months
            .into_iter()
            .map(|(month, count)| json!({ "timeBucket": month, "count": count }))
            .collect(),
    ))
}

/// "2024-03-01", or an ISO date-time whose date part names the month.
fn month_range(bucket: &str) -> Option<(i64, i64)> {
    let date = NaiveDate::parse_from_str(bucket.get(..10)?, "%Y-%m-%d").ok()?;
    let start = date.with_day(1)?;
    let end = if start.month() == 12 {
        NaiveDate::from_ymd_opt(start.year() + 1, 1, 1)?
    } else {
        start.with_month(start.month() + 1)?
    };
    let millis = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(|t| t.and_utc().timestamp_millis());
    Some((millis(start)?, millis(end)?))
}

async fn bucket(State(state): State<AppState>, access: Access, Query(q): Query<TimelineQuery>) -> ApiResult<Response> {
    let (owner, filter) = filter(&state, &access, &q).await?;
    let key = q
        .time_bucket
        .as_deref()
        .ok_or_else(|| ApiError::bad_request("timeBucket is required, e.g. 2024-03-01"))?;
    let (from, to) = month_range(key).ok_or_else(|| ApiError::bad_request(format!("timeBucket {key:?} is not a date like 2024-03-01")))?;
    let assets = state.db(move |c| c.timeline_bucket(&owner, &filter, from, to)).await?;
    // About 170 bytes an asset, more with coordinates: room for both.
    let columns = BucketColumns::new(&assets, q.with_coordinates == Some(true));
    Ok(crate::json::sized(&columns, 256 * assets.len()))
}

/// `TimeBucketAssetResponseDto`: one array per field, serialised straight
/// from the rows (a month of a large library holds thousands of assets; one
/// JSON value per cell took most of the request's time).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BucketColumns<'a> {
    id: Vec<&'a str>,
    owner_id: Vec<&'a str>,
    is_image: Vec<bool>,
    is_favorite: Vec<bool>,
    is_trashed: Vec<bool>,
    visibility: Vec<&'a str>,
    file_created_at: Vec<Iso>,
    created_at: Vec<Iso>,
    local_offset_hours: Vec<f64>,
    duration: Vec<Option<i64>>,
    live_photo_video_id: Vec<Option<&'a str>>,
    ratio: Vec<f64>,
    thumbhash: Vec<()>,
    city: Vec<Option<&'a str>>,
    country: Vec<Option<&'a str>>,
    projection_type: Vec<()>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latitude: Option<Vec<Option<f64>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    longitude: Option<Vec<Option<f64>>>,
}

impl<'a> BucketColumns<'a> {
    fn new(assets: &'a [TimelineAsset], with_coordinates: bool) -> Self {
        let coordinates = |f: fn(&TimelineAsset) -> Option<f64>| with_coordinates.then(|| assets.iter().map(f).collect());
        BucketColumns {
            id: assets.iter().map(|a| a.id.as_str()).collect(),
            owner_id: assets.iter().map(|a| &*a.owner_id).collect(),
            is_image: assets.iter().map(|a| a.is_image).collect(),
            is_favorite: assets.iter().map(|a| a.is_favorite).collect(),
            is_trashed: assets.iter().map(|a| a.is_trashed).collect(),
            visibility: assets.iter().map(|a| a.visibility.as_str()).collect(),
            file_created_at: assets.iter().map(|a| Iso(a.taken_at)).collect(),
            created_at: assets.iter().map(|a| Iso(a.created_at)).collect(),
            local_offset_hours: assets
                .iter()
                .map(|a| (a.local_taken_at - a.taken_at) as f64 / 3_600_000.0)
                .collect(),
            duration: assets.iter().map(|a| a.duration_ms).collect(),
            live_photo_video_id: assets.iter().map(|a| a.live_photo_video_id.as_deref()).collect(),
            ratio: assets.iter().map(ratio).collect(),
            thumbhash: vec![(); assets.len()],
            city: assets.iter().map(|a| a.city.as_deref()).collect(),
            country: assets.iter().map(|a| a.country.as_deref()).collect(),
            projection_type: vec![(); assets.len()],
            latitude: coordinates(|a| a.latitude),
            longitude: coordinates(|a| a.longitude),
        }
    }
}

/// Width over height, 1 where unknown.
fn ratio(a: &TimelineAsset) -> f64 {
    match (a.width, a.height) {
        (Some(w), Some(h)) if h > 0 => w as f64 / h as f64,
        _ => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::iso;

    #[test]
    fn a_bucket_key_names_its_whole_month() {
        let (from, to) = month_range("2024-12-01").unwrap();
        assert_eq!(
            (iso(from).as_str(), iso(to).as_str()),
            ("2024-12-01T00:00:00.000Z", "2025-01-01T00:00:00.000Z")
        );
        assert_eq!(month_range("2024-02-15T00:00:00.000Z"), month_range("2024-02-01"));
        assert!(month_range("March").is_none());
    }
}
