//! The Immich API subset, grouped as the contract groups it.

mod albums;
mod api_keys;
mod assets;
mod auth;
mod duplicates;
mod jobs;
mod map;
mod notifications;
mod partners;
mod people;
mod preferences;
mod search;
pub mod server;
mod sessions;
mod shared_links;
mod sync;
mod timeline;
mod users;

use axum::Router;

use crate::state::AppState;

pub use assets::remove_files as remove_asset_files;

pub fn router() -> Router<AppState> {
    Router::new()
        .merge(server::router())
        .merge(auth::router())
        .merge(users::router())
        .merge(api_keys::router())
        .merge(assets::router())
        .merge(albums::router())
        .merge(duplicates::router())
        .merge(jobs::router())
        .merge(timeline::router())
        .merge(preferences::router())
        .merge(sessions::router())
        .merge(search::router())
        .merge(sync::router())
        .merge(map::router())
        .merge(notifications::router())
        .merge(partners::router())
        .merge(people::router())
        .merge(shared_links::router())
}
