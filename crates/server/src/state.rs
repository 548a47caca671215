//! State shared by every request handler.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Instant;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use shoebox_catalog::Catalog;
use shoebox_jobs::Waker;
use shoebox_media::Layout;
use shoebox_media::hwaccel::Hardware;

use crate::config::Config;
use crate::error::{ApiError, ApiResult};
use crate::ml::MachineLearning;

#[derive(Clone)]
pub struct AppState {
    pub catalog: Catalog,
    pub layout: Layout,
    pub config: Arc<Config>,
    pub jobs: Waker,
    pub login_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
    pub started: Instant,
    /// Video hardware found at start-up, for transcodes and the status page.
    pub hardware: Arc<Hardware>,
    /// The ML runtime and models found at start-up.
    pub ml: Arc<MachineLearning>,
    /// Asks the server to stop so that its service manager starts it again
    /// (after the library moved onto a new pool, say).
    pub restart: Arc<tokio::sync::Notify>,
    /// Held while a restore drill runs.
    pub drill: Arc<tokio::sync::Mutex<()>>,
    /// Held by an alerts check until what it raised is delivered.
    pub alerts_check: Arc<tokio::sync::Mutex<()>>,
    /// The setup wizard's restore from backup, while and after it runs.
    pub recovery: Arc<std::sync::Mutex<crate::recovery::Status>>,
    /// The update from the update source being downloaded, or the last one.
    pub update_download: Arc<std::sync::Mutex<crate::update_source::Download>>,
    /// The model being downloaded for the admin, or the last one.
    pub model_fetch: Arc<std::sync::Mutex<crate::model_fetch::Fetch>>,
}

impl AppState {
    pub fn new(catalog: Catalog, layout: Layout, config: Config, jobs: Waker, hardware: Arc<Hardware>, ml: MachineLearning) -> Self {
        // Ten attempts at once, then one every six seconds per client address:
        // plenty for people, far too slow for password guessing.
        let quota = Quota::per_minute(NonZeroU32::new(10).expect("non-zero")).allow_burst(NonZeroU32::new(10).expect("non-zero"));
        AppState {
            catalog,
            layout,
            config: Arc::new(config),
            jobs,
            login_limiter: Arc::new(RateLimiter::keyed(quota)),
            started: Instant::now(),
            hardware,
            ml: Arc::new(ml),
            restart: Arc::default(),
            drill: Arc::default(),
            alerts_check: Arc::default(),
            recovery: Arc::default(),
            update_download: Arc::default(),
            model_fetch: Arc::default(),
        }
    }

    /// Counts a password attempt (a login, a shared link's password) from
    /// `peer`; too many in a row are refused.
    pub fn limit_password_attempts(&self, peer: std::net::SocketAddr) -> ApiResult<()> {
        self.login_limiter.check_key(&peer.ip()).map_err(|_| {
            ApiError::new(
                axum::http::StatusCode::TOO_MANY_REQUESTS,
                "Too many password attempts from this address: wait a minute, then try again",
            )
        })
    }

    /// Runs catalog work on a blocking thread so SQLite never stalls the
    /// async runtime.
    pub async fn db<T, F>(&self, f: F) -> ApiResult<T>
    where
        F: FnOnce(&Catalog) -> shoebox_catalog::Result<T> + Send + 'static,
        T: Send + 'static,
    {
        let catalog = self.catalog.clone();
        tokio::task::spawn_blocking(move || f(&catalog))
            .await
            .map_err(ApiError::internal)?
            .map_err(ApiError::from)
    }

    /// A setting stored as JSON; `None` when unset, or unreadable (logged).
    pub async fn json_setting<T: serde::de::DeserializeOwned>(&self, key: &'static str) -> ApiResult<Option<T>> {
        let Some(json) = self.db(move |c| c.setting(key)).await? else {
            return Ok(None);
        };
        match serde_json::from_str(&json) {
            Ok(value) => Ok(Some(value)),
            Err(e) => {
                tracing::warn!(key, error = %e, "a saved setting is unreadable; it counts as unset");
                Ok(None)
            }
        }
    }

    pub async fn set_json_setting<T: serde::Serialize>(&self, key: &'static str, value: &T) -> ApiResult<()> {
        let json = serde_json::to_string(value).map_err(ApiError::internal)?;
        self.db(move |c| c.set_settings(&[(key, Some(json.as_str()))])).await
    }
}
