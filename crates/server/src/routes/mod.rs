//! The HTTP surface: the Immich API under `/api` (one module per area of
//! the Immich contract) and Shoebox's own routes under `/api/shoebox`.
//! Everything else is the browser UI. Handlers hold no SQL: they call the
//! catalog through `AppState::db`.

mod alerts;
mod immich;
mod settings;
mod setup;
mod shoebox;
mod storage;
mod update;
mod web;

use axum::Router;
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::trace::TraceLayer;

use crate::state::AppState;

pub use immich::remove_asset_files;
pub use setup::HOSTNAME as HOSTNAME_SETTING;

pub fn router(state: AppState) -> Router {
    Router::new()
        .route("/.well-known/immich", get(immich::server::well_known))
        .nest(
            "/api",
            immich::router()
                .merge(shoebox::router())
                .merge(setup::router())
                .merge(settings::router())
                .merge(storage::router())
                .merge(alerts::router())
                .merge(update::router()),
        )
        .fallback(web::serve)
        .layer(CatchPanicLayer::new())
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
