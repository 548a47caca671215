//! Search by metadata (`POST /api/search/metadata`) and by content
//! (`POST /api/search/smart`), with the same filters.

use crate::json::Json;
use axum::Router;
use axum::extract::Query;
use axum::extract::State;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_catalog::{AssetKind, AssetSearch, SuggestionField, SuggestionFilter, Visibility};

use crate::auth::Auth;
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/search/metadata", post(metadata))
        .route("/search/smart", post(smart))
        .route("/search/person", get(person))
        .route("/search/suggestions", get(suggestions))
        .route("/search/cities", get(cities))
        .route("/search/explore", get(explore))
}

/// The filters Immich's metadata and smart searches share; tags are
/// accepted and not yet applied.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Filters {
    taken_after: Option<String>,
    taken_before: Option<String>,
    created_after: Option<String>,
    created_before: Option<String>,
    make: Option<String>,
    model: Option<String>,
    lens_model: Option<String>,
    city: Option<String>,
    state: Option<String>,
    country: Option<String>,
    ocr: Option<String>,
    r#type: Option<String>,
    is_favorite: Option<bool>,
    rating: Option<i64>,
    visibility: Option<String>,
    with_deleted: bool,
    album_ids: Vec<String>,
    is_not_in_album: bool,
    person_ids: Vec<String>,
    page: Option<u32>,
    size: Option<u32>,
    with_exif: bool,
}

/// Immich's `MetadataSearchDto`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct MetadataSearch {
    #[serde(flatten)]
    filters: Filters,
    original_file_name: Option<String>,
    description: Option<String>,
    checksum: Option<String>,
    id: Option<String>,
    order: Option<String>,
}

/// Immich's `SmartSearchDto`: a query in words, or a photo to find others like.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct SmartSearch {
    #[serde(flatten)]
    filters: Filters,
    query: Option<String>,
    query_asset_id: Option<String>,
}

impl Filters {
    /// The catalog's search for these filters, after checking the caller
    /// may see the albums named.
    async fn search(&self, state: &AppState, owner: &str) -> ApiResult<AssetSearch> {
        for album in &self.album_ids {
            let (owner, album) = (owner.to_owned(), album.clone());
            state.db(move |c| c.album(&owner, &album)).await?;
        }
        Ok(AssetSearch {
            taken_after: dto::parse_date_field("takenAfter", self.taken_after.as_deref())?,
            taken_before: dto::parse_date_field("takenBefore", self.taken_before.as_deref())?,
            created_after: dto::parse_date_field("createdAfter", self.created_after.as_deref())?,
            created_before: dto::parse_date_field("createdBefore", self.created_before.as_deref())?,
            make: self.make.clone(),
            model: self.model.clone(),
            lens_model: self.lens_model.clone(),
            city: self.city.clone(),
            state: self.state.clone(),
            country: self.country.clone(),
            ocr: self.ocr.clone().filter(|t| !t.trim().is_empty()),
            kind: match self.r#type.as_deref() {
                None => None,
                Some("IMAGE") => Some(AssetKind::Image),
                Some("VIDEO") => Some(AssetKind::Video),
                Some(other) => return Err(ApiError::bad_request(format!("unknown asset type {other:?}: use IMAGE or VIDEO"))),
            },
            favorite: self.is_favorite,
            rating: self.rating,
            visibility: self
                .visibility
                .as_deref()
                .map(|v| Visibility::parse(v).ok_or_else(|| ApiError::bad_request(format!("unknown visibility {v:?}"))))
                .transpose()?,
            with_deleted: self.with_deleted,
            album_ids: self.album_ids.clone(),
            not_in_album: self.is_not_in_album,
            person_ids: self.person_ids.clone(),
            page: self.page.unwrap_or(1).max(1),
            size: self.size.unwrap_or(250),
            ..AssetSearch::default()
        })
    }
}

async fn metadata(State(state): State<AppState>, auth: Auth, Json(q): Json<MetadataSearch>) -> ApiResult<Json<Value>> {
    auth.require("asset.read")?;
    let owner = auth.user_id();
    let search = AssetSearch {
        file_name: q.original_file_name.filter(|n| !n.is_empty()),
        description: q.description.filter(|d| !d.is_empty()),
        checksum: q
            .checksum
            .as_deref()
            .map(|c| super::assets::decode_checksum(c).ok_or_else(|| ApiError::bad_request("checksum is not SHA-1 in hex or base64")))
            .transpose()?,
        id: q.id,
        oldest_first: q.order.as_deref() == Some("asc"),
        ..q.filters.search(&state, &owner).await?
    };
    respond(&state, search.page, q.filters.with_exif, move |c| c.search_assets(&owner, &search)).await
}

async fn smart(State(state): State<AppState>, auth: Auth, Json(q): Json<SmartSearch>) -> ApiResult<Json<Value>> {
    auth.require("asset.read")?;
    let owner = auth.user_id();
    if state.ml.smart_search().is_none() {
        return Err(ApiError::bad_request(
            "Search by content is off on this server: install ONNX Runtime and a CLIP model (the status page says which is missing)",
        ));
    }
    let search = q.filters.search(&state, &owner).await?;
    let query = match (q.query_asset_id, q.query.filter(|t| !t.trim().is_empty())) {
        (Some(asset), _) => like_asset(&state, &owner, asset).await?,
        (None, Some(text)) => {
            let ml = state.ml.clone();
            tokio::task::spawn_blocking(move || ml.smart_search().expect("checked above").0.encode_text(&text))
                .await
                .map_err(ApiError::internal)?
                .map_err(ApiError::internal)?
        }
        (None, None) => return Err(ApiError::bad_request("Say what to look for in query, or give queryAssetId")),
    };
    let ml = state.ml.clone();
    respond(&state, search.page, q.filters.with_exif, move |c| {
        ml.smart_search().expect("checked above").1.search(c, &owner, &query, &search)
    })
    .await
}

/// The embedding of one of the caller's photos, to find others like it.
async fn like_asset(state: &AppState, owner: &str, asset: String) -> ApiResult<Vec<f32>> {
    let ml = state.ml.clone();
    let owner = owner.to_owned();
    state
        .db(move |c| {
            let found = c.asset(&asset)?;
            if found.owner_id != owner {
                return Err(shoebox_catalog::Error::NotFound("asset"));
            }
            let model = ml.smart_search().expect("checked by the caller").1.model();
            c.embedding(&asset, model)
        })
        .await?
        .ok_or_else(|| {
            ApiError::bad_request("That photo has not been looked at for search yet: try again once the smart search jobs are done")
        })
}

/// A page of `find`'s assets as Immich's `SearchResponseDto`.
async fn respond(
    state: &AppState,
    page: u32,
    with_exif: bool,
    find: impl FnOnce(&shoebox_catalog::Catalog) -> shoebox_catalog::Result<(Vec<shoebox_catalog::Asset>, bool)> + Send + 'static,
) -> ApiResult<Json<Value>> {
    let (items, more) = state
        .db(move |c| {
            let (assets, more) = find(c)?;
            let items = if with_exif {
                with_their_exif(c, &assets)?
            } else {
                assets.iter().map(|a| dto::asset(a, None)).collect()
            };
            Ok((items, more))
        })
        .await?;
    let count = items.len();
    Ok(Json(json!({
        "assets": { "count": count, "total": count, "items": items, "facets": [], "nextPage": more.then(|| (page + 1).to_string()) },
        "albums": { "count": 0, "total": 0, "items": [], "facets": [] },
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PersonQuery {
    name: String,
    #[serde(default)]
    with_hidden: bool,
}

/// The caller's people whose name contains `name`, any case.
async fn person(State(state): State<AppState>, auth: Auth, Query(q): Query<PersonQuery>) -> ApiResult<Json<Vec<Value>>> {
    auth.require("person.read")?;
    let owner = auth.user_id();
    let people = state.db(move |c| c.people(&owner, q.with_hidden)).await?;
    let wanted = q.name.to_lowercase();
    Ok(Json(
        people
            .iter()
            .filter(|p| !p.name.is_empty() && p.name.to_lowercase().contains(&wanted))
            .map(dto::person)
            .collect(),
    ))
}

/// `GET /api/search/suggestions`'s query.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SuggestionQuery {
    r#type: String,
    country: Option<String>,
    state: Option<String>,
    make: Option<String>,
    model: Option<String>,
}

/// The values the user's photos have for a place or camera field, for the
/// apps' search filters.
async fn suggestions(State(state): State<AppState>, auth: Auth, Query(q): Query<SuggestionQuery>) -> ApiResult<Json<Vec<String>>> {
    auth.require("asset.read")?;
    let field = match q.r#type.as_str() {
        "country" => SuggestionField::Country,
        "state" => SuggestionField::State,
        "city" => SuggestionField::City,
        "camera-make" => SuggestionField::CameraMake,
        "camera-model" => SuggestionField::CameraModel,
        "camera-lens-model" => SuggestionField::CameraLensModel,
        other => {
            return Err(ApiError::bad_request(format!(
                "type {other:?} is not a suggestion type: use country, state, city, camera-make, camera-model or camera-lens-model"
            )));
        }
    };
    let within = SuggestionFilter {
        country: q.country,
        state: q.state,
        make: q.make,
        model: q.model,
    };
    let owner = auth.user_id();
    Ok(Json(state.db(move |c| c.suggestions(&owner, field, &within)).await?))
}

async fn city_assets(state: &AppState, owner: String) -> ApiResult<Vec<Value>> {
    state.db(move |c| with_their_exif(c, &c.city_assets(&owner)?)).await
}

/// Assets as Immich's `AssetResponseDto`s with their EXIF, read in one query.
fn with_their_exif(c: &shoebox_catalog::Catalog, assets: &[shoebox_catalog::Asset]) -> shoebox_catalog::Result<Vec<Value>> {
    let exif = c.exifs_of(assets)?;
    Ok(assets.iter().map(|a| dto::asset(a, exif.get(&a.id))).collect())
}

/// One photo per city the user has photos in, with its EXIF (the place).
async fn cities(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Vec<Value>>> {
    auth.require("asset.read")?;
    Ok(Json(city_assets(&state, auth.user_id()).await?))
}

/// The explore page's places: each city with a photo from it.
async fn explore(State(state): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    auth.require("asset.read")?;
    let items: Vec<Value> = city_assets(&state, auth.user_id())
        .await?
        .into_iter()
        .map(|asset| json!({ "value": asset["exifInfo"]["city"], "data": asset }))
        .collect();
    Ok(Json(json!([{ "fieldName": "exifInfo.city", "items": items }])))
}
