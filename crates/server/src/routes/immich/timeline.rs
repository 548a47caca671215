//! Timeline buckets, as the web UI (and older apps) page through a library:
//! month keys with counts, then one month's assets as column arrays.

use std::sync::OnceLock;

use crate::json::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use shoebox_catalog::{Millis, PartnerDirection, TimelineAsset, TimelineFilter, Visibility};

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
    let with_coordinates = q.with_coordinates == Some(true);
    let parts = (0..month_parts()).map(|_| BucketColumns::new(with_coordinates)).collect();
    let parts = state
        .db(move |c| c.timeline_bucket(&owner, &filter, (from, to), with_coordinates, parts, BucketColumns::push))
        .await?;
    Ok(([(CONTENT_TYPE, "application/json")], BucketColumns::into_json(parts)).into_response())
}

/// In how many spans of time a month is read at once: one per core, up to
/// four. A month of a large library is thousands of assets, and the
/// catalog's pool has eight connections to share. Counted once: std reads
/// the cgroup's CPU quota from files each time it is asked.
fn month_parts() -> usize {
    static PARTS: OnceLock<usize> = OnceLock::new();
    *PARTS.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get().min(4)))
}

/// The fields of `TimeBucketAssetResponseDto`, in [`BucketColumns`]' order;
/// the last two only when coordinates are asked for.
const FIELDS: [&str; 18] = [
    "id",
    "ownerId",
    "isImage",
    "isFavorite",
    "isTrashed",
    "visibility",
    "fileCreatedAt",
    "createdAt",
    "localOffsetHours",
    "duration",
    "livePhotoVideoId",
    "ratio",
    "thumbhash",
    "city",
    "country",
    "projectionType",
    "latitude",
    "longitude",
];

/// `TimeBucketAssetResponseDto`: one JSON array per field, each cell
/// written as the month's rows are read. A month of a large library holds
/// thousands of assets; an owned copy of each, then serialising the copies,
/// took most of the request's time.
struct BucketColumns {
    /// Each field's cells, every one after a comma.
    cells: [Vec<u8>; FIELDS.len()],
    with_coordinates: bool,
}

impl BucketColumns {
    fn new(with_coordinates: bool) -> Self {
        BucketColumns {
            cells: Default::default(),
            with_coordinates,
        }
    }

    fn push(&mut self, a: &TimelineAsset<'_>) {
        let [
            id,
            owner_id,
            is_image,
            is_favorite,
            is_trashed,
            visibility,
            file_created_at,
            created_at,
            local_offset_hours,
            duration,
            live_photo_video_id,
            ratio,
            thumbhash,
            city,
            country,
            projection_type,
            latitude,
            longitude,
        ] = &mut self.cells;
        cell(id, a.id);
        cell(owner_id, a.owner_id);
        cell(is_image, a.is_image);
        cell(is_favorite, a.is_favorite);
        cell(is_trashed, a.is_trashed);
        cell(visibility, a.visibility.as_str());
        date_cell(file_created_at, a.taken_at);
        date_cell(created_at, a.created_at);
        cell(local_offset_hours, (a.local_taken_at - a.taken_at) as f64 / 3_600_000.0);
        cell(duration, a.duration_ms);
        cell(live_photo_video_id, a.live_photo_video_id);
        cell(ratio, width_over_height(a));
        cell(thumbhash, ());
        cell(city, a.city);
        cell(country, a.country);
        cell(projection_type, ());
        if self.with_coordinates {
            cell(latitude, a.latitude);
            cell(longitude, a.longitude);
        }
    }

    /// The JSON object: each field's name, then the cells of every part,
    /// in order, as one array.
    fn into_json(parts: Vec<BucketColumns>) -> Vec<u8> {
        let fields = match parts.first() {
            Some(part) if part.with_coordinates => FIELDS.len(),
            _ => FIELDS.len() - 2,
        };
        let cells = |field: usize| parts.iter().map(move |part| &part.cells[field]);
        let size: usize = (0..fields).flat_map(cells).map(Vec::len).sum();
        let mut json = Vec::with_capacity(size + 24 * fields);
        json.push(b'{');
        for (field, name) in FIELDS.iter().enumerate().take(fields) {
            if field > 0 {
                json.push(b',');
            }
            json.extend_from_slice(format!("\"{name}\":").as_bytes());
            let start = json.len();
            cells(field).for_each(|c| json.extend_from_slice(c));
            // Each cell follows a comma: the first becomes the bracket.
            match json.get_mut(start) {
                Some(comma) => *comma = b'[',
                None => json.push(b'['),
            }
            json.push(b']');
        }
        json.push(b'}');
        json
    }
}

/// Appends one value to a field's cells.
fn cell(cells: &mut Vec<u8>, value: impl Serialize) {
    cells.push(b',');
    serde_json::to_writer(cells, &value).expect("a timeline cell is a string, number, boolean or null");
}

fn date_cell(cells: &mut Vec<u8>, millis: Millis) {
    cells.push(b',');
    Iso(millis).write_json(cells);
}

/// Width over height, 1 where unknown.
fn width_over_height(a: &TimelineAsset) -> f64 {
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

    fn asset(id: &str) -> TimelineAsset<'_> {
        TimelineAsset {
            id,
            owner_id: "o",
            is_image: true,
            is_favorite: false,
            is_trashed: false,
            visibility: Visibility::Timeline,
            taken_at: 0,
            local_taken_at: 3_600_000,
            created_at: 0,
            width: Some(3),
            height: Some(2),
            duration_ms: None,
            live_photo_video_id: None,
            latitude: Some(1.5),
            longitude: None,
            city: Some("Zürich \"Altstadt\""),
            country: None,
        }
    }

    #[test]
    fn a_month_read_in_parts_is_one_object_of_arrays_in_order() {
        for with_coordinates in [false, true] {
            let mut parts: Vec<_> = (0..4).map(|_| BucketColumns::new(with_coordinates)).collect();
            parts[0].push(&asset("a"));
            parts[2].push(&asset("b"));
            parts[2].push(&asset("c"));
            let json: serde_json::Value = serde_json::from_slice(&BucketColumns::into_json(parts)).unwrap();
            assert_eq!(json["id"], json!(["a", "b", "c"]));
            assert_eq!(json["ratio"], json!([1.5, 1.5, 1.5]));
            assert_eq!(json["localOffsetHours"], json!([1.0, 1.0, 1.0]));
            assert_eq!(json["fileCreatedAt"][2], "1970-01-01T00:00:00.000Z");
            assert_eq!(json["city"][1], "Zürich \"Altstadt\"");
            assert_eq!(json["thumbhash"], json!([null, null, null]));
            assert_eq!(json.as_object().unwrap().len(), if with_coordinates { 18 } else { 16 });
            assert_eq!(json.get("latitude"), with_coordinates.then(|| json!([1.5, 1.5, 1.5])).as_ref());
        }
        let empty = BucketColumns::into_json(vec![BucketColumns::new(false), BucketColumns::new(false)]);
        let empty: serde_json::Value = serde_json::from_slice(&empty).unwrap();
        assert!(empty.as_object().unwrap().values().all(|v| *v == json!([])), "{empty}");
    }
}
