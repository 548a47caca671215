//! People (`/api/people`): who recognition found in the owner's photos,
//! named, hidden, merged and reassigned by the owner; each shown by a
//! face cut from a photo of them.

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use serde::Deserialize;
use serde_json::{Value, json};
use shoebox_catalog::PersonUpdate;
use shoebox_media::thumbnail;

use crate::auth::Auth;
use crate::dto;
use crate::error::{ApiError, ApiResult};
use crate::json::Json;
use crate::state::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/people", get(list))
        .route("/people/{id}", get(one).put(update))
        .route("/people/{id}/merge", post(merge))
        .route("/people/{id}/reassign", put(reassign))
        .route("/people/{id}/statistics", get(statistics))
        .route("/people/{id}/thumbnail", get(thumbnail))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct ListQuery {
    with_hidden: bool,
}

async fn list(State(state): State<AppState>, auth: Auth, Query(q): Query<ListQuery>) -> ApiResult<Json<Value>> {
    auth.require("person.read")?;
    let owner = auth.user_id();
    let people = state.db(move |c| c.people(&owner, true)).await?;
    let hidden = people.iter().filter(|p| p.is_hidden).count();
    let shown: Vec<Value> = people.iter().filter(|p| q.with_hidden || !p.is_hidden).map(dto::person).collect();
    Ok(Json(
        json!({ "people": shown, "total": people.len(), "hidden": hidden, "hasNextPage": false }),
    ))
}

async fn one(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    auth.require("person.read")?;
    let owner = auth.user_id();
    let person = state.db(move |c| c.person(&owner, &id)).await?;
    Ok(Json(dto::person(&person)))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct Update {
    name: Option<String>,
    /// Absent leaves it; `null` clears it.
    #[serde(deserialize_with = "present")]
    birth_date: Option<Option<String>>,
    is_hidden: Option<bool>,
    is_favorite: Option<bool>,
}

fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Ok(Some(Option::deserialize(d)?))
}

async fn update(State(state): State<AppState>, auth: Auth, Path(id): Path<String>, Json(body): Json<Update>) -> ApiResult<Json<Value>> {
    auth.require("person.update")?;
    if let Some(Some(date)) = &body.birth_date
        && chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d").is_err()
    {
        return Err(ApiError::bad_request(format!("birthDate {date:?} is not a date: use YYYY-MM-DD")));
    }
    let owner = auth.user_id();
    let update = PersonUpdate {
        name: body.name,
        birth_date: body.birth_date,
        is_hidden: body.is_hidden,
        is_favorite: body.is_favorite,
    };
    let person = state.db(move |c| c.update_person(&owner, &id, &update)).await?;
    Ok(Json(dto::person(&person)))
}

#[derive(Deserialize)]
struct Ids {
    ids: Vec<String>,
}

/// The people `ids` become this person: their faces move here.
async fn merge(State(state): State<AppState>, auth: Auth, Path(id): Path<String>, Json(body): Json<Ids>) -> ApiResult<Json<Vec<Value>>> {
    auth.require("person.merge")?;
    let owner = auth.user_id();
    let results = state
        .db(move |c| {
            c.person(&owner, &id)?;
            body.ids
                .iter()
                .map(|source| {
                    let merged = source != &id && c.merge_people(&owner, &id, std::slice::from_ref(source))? == 1;
                    Ok(match merged {
                        true => json!({ "id": source, "success": true }),
                        false => json!({ "id": source, "success": false, "error": "not_found" }),
                    })
                })
                .collect::<shoebox_catalog::Result<Vec<_>>>()
        })
        .await?;
    forget_people(&state);
    Ok(Json(results))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Reassign {
    data: Vec<Move>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Move {
    asset_id: String,
    person_id: String,
}

/// In each photo named, the faces of `personId` become this person's.
async fn reassign(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
    Json(body): Json<Reassign>,
) -> ApiResult<Json<Vec<Value>>> {
    auth.require("person.reassign")?;
    let owner = auth.user_id();
    let person = state
        .db(move |c| {
            for item in &body.data {
                let faces: Vec<String> = c
                    .faces(&item.asset_id)?
                    .into_iter()
                    .filter(|f| f.person_id.as_deref() == Some(item.person_id.as_str()))
                    .map(|f| f.id)
                    .collect();
                c.assign_faces(&owner, &faces, &id)?;
            }
            c.person(&owner, &id)
        })
        .await?;
    forget_people(&state);
    Ok(Json(vec![dto::person(&person)]))
}

async fn statistics(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    auth.require("person.statistics")?;
    let owner = auth.user_id();
    let assets = state.db(move |c| c.person_assets(&owner, &id)).await?.len();
    Ok(Json(json!({ "assets": assets })))
}

/// The person's face, cut square (with a margin) from the preview it was
/// found in, as a JPEG.
async fn thumbnail(State(state): State<AppState>, auth: Auth, Path(id): Path<String>) -> ApiResult<Response> {
    auth.require("person.read")?;
    let owner = auth.user_id();
    let layout = state.layout.clone();
    let found = state
        .db(move |c| {
            let person = c.person(&owner, &id)?;
            c.person_face(&person)
        })
        .await?;
    let (asset, face) = found.ok_or_else(|| ApiError::not_found("This person has no face to show"))?;
    let preview = asset
        .preview_path
        .ok_or_else(|| ApiError::not_found("The photo has no preview yet"))?;
    let path = layout.resolve(&preview);
    let jpeg = tokio::task::spawn_blocking(move || thumbnail::face_jpeg(&path, face.bbox, 250))
        .await
        .map_err(ApiError::internal)?
        .map_err(ApiError::internal)?;
    Ok((
        [(header::CONTENT_TYPE, "image/jpeg"), (header::CACHE_CONTROL, "private, max-age=60")],
        jpeg,
    )
        .into_response())
}

/// The owner changed who is who: recognition reads it again.
fn forget_people(state: &AppState) {
    if let Some(people) = &state.ml.people {
        people.invalidate();
    }
}
