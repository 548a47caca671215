//! shoeboxd as a library: settings, start-up, the HTTP API and shutdown.
//! `main.rs` only parses arguments and calls [`run`].

#![forbid(unsafe_code)]

mod alerts;
mod auth;
mod config;
mod disk;
mod download;
mod drill;
mod dto;
mod error;
mod ingest;
mod json;
mod kit;
mod listen;
mod ml;
mod model_fetch;
mod notify;
mod people;
mod recovery;
mod restore;
mod restored;
mod routes;
mod smart_search;
mod state;
mod storage_service;
mod update;
mod update_source;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use shoebox_catalog::Catalog;
use shoebox_jobs::{Runner, Waker};
use shoebox_media::Layout;
use shoebox_media::hwaccel::Hardware;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::watch;

pub use config::{Args, Config, LogFormat};
use ml::MachineLearning;
use state::AppState;

pub fn init_logging(config: &Config) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("{},tower_http=warn", config.log_level)));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match config.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// How often expired trash is purged and stale limiter entries dropped.
const MAINTENANCE_EVERY: Duration = Duration::from_secs(3600);

/// Why the server stopped.
#[derive(Debug, PartialEq, Eq)]
pub enum Stopped {
    /// SIGINT or SIGTERM.
    Asked,
    /// The server asked to be started again (see `AppState::restart`).
    ToRestart,
}

/// The exit status that tells the service manager to start shoeboxd again
/// (EX_TEMPFAIL; `Restart=on-failure` acts on it).
pub const RESTART_EXIT_CODE: i32 = 75;

/// Opens the data folder, repairs what a crash left, serves until SIGINT,
/// SIGTERM or a restart request, then lets requests and jobs in flight finish.
pub async fn run(config: Config) -> anyhow::Result<Stopped> {
    // Installed first, so a stop request during start-up is kept, not fatal.
    let mut terminate = signal(SignalKind::terminate())?;
    let mut interrupt = signal(SignalKind::interrupt())?;
    shoebox_allocator::reuse_large_buffers();
    let layout = Layout::new(&config.data_dir);
    // The appliance's pool is mounted over the data folder; without it the
    // folder holds only this marker, and serving it would show an empty
    // library and take uploads that vanish when the pool comes back.
    if config.data_dir.join(shoebox_storaged::pool::NOT_MOUNTED).exists() {
        anyhow::bail!(
            "the storage pool is not mounted on {}: check that its disks are connected, then see `journalctl -u shoebox-storaged`",
            config.data_dir.display()
        );
    }
    std::fs::create_dir_all(layout.db_dir()).with_context(|| {
        format!(
            "cannot create the data folder {}: check it exists and is writable",
            config.data_dir.display()
        )
    })?;
    let catalog = {
        let path = layout.db_file();
        tokio::task::spawn_blocking(move || Catalog::open(&path)).await??
    };
    let (c, l) = (catalog.clone(), layout.clone());
    tokio::task::spawn_blocking(move || recovery::finish_interrupted(&c, &l)).await??;
    let (c, l) = (catalog.clone(), layout.clone());
    let removed = tokio::task::spawn_blocking(move || ingest::recover(&c, &l)).await??;
    if removed > 0 {
        tracing::info!(files = removed, "removed partial uploads left by an interrupted run");
    }

    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let waker = Waker::default();
    let hardware = Arc::new(tokio::task::spawn_blocking(|| Hardware::probe(Path::new("/sys"), Path::new("/dev"))).await?);
    tracing::info!(default_engine = ?hardware.default_choice(), found = ?hardware, "video hardware");
    let mut runner =
        Runner::new(catalog.clone(), layout.clone(), config.job_concurrency, waker.clone()).with_video_hardware(hardware.clone());
    let ml_config = config.ml.clone();
    let ml = tokio::task::spawn_blocking(move || MachineLearning::start(&ml_config, 1)).await?;
    if let Some(models) = &ml.models {
        runner = runner.with_models(models.clone());
        if let Some((model, _)) = &models.clip {
            let (c, model) = (catalog.clone(), model.clone());
            match tokio::task::spawn_blocking(move || c.drop_embeddings_except(&model)).await? {
                Ok(n) if n > 0 => tracing::info!(assets = n, "the CLIP model changed: photos will be looked at again"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not drop the previous CLIP model's embeddings"),
            }
        }
        // Photos from before the models were there, or from a box without the runtime.
        for kind in models.job_kinds() {
            let c = catalog.clone();
            match tokio::task::spawn_blocking(move || c.queue_unprocessed(kind, false)).await? {
                Ok(n) if n > 0 => tracing::info!(assets = n, job = kind.as_str(), "queued for photos not looked at yet"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, job = kind.as_str(), "could not queue machine-learning jobs"),
            }
        }
    }
    let jobs = tokio::spawn(runner.run(shutdown_rx.clone()));
    let state = AppState::new(catalog, layout, config.clone(), waker, hardware, ml);
    // Once before serving, so a box that was off for a month is tidy when it answers.
    purge_expired_trash(&state).await;
    let sweeper = tokio::spawn(maintenance(state.clone(), shutdown_rx.clone()));
    let watcher = tokio::spawn(alerts::watch(state.clone(), shutdown_rx.clone()));
    let drills = tokio::spawn(drill::schedule(state.clone(), shutdown_rx.clone()));
    let updates = tokio::spawn(update_source::schedule(state.clone(), shutdown_rx.clone()));

    let restart = state.restart.clone();
    let app = routes::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let (stop_serving, serving) = watch::channel(false);
    let mut servers = listen::serve(&config, app, serving).await?;
    let stopped = tokio::select! {
        _ = terminate.recv() => Stopped::Asked,
        _ = interrupt.recv() => Stopped::Asked,
        _ = restart.notified() => Stopped::ToRestart,
    };
    let _ = stop_serving.send(true);
    while let Some(served) = servers.join_next().await {
        served??;
    }
    tracing::info!("shutting down: finishing background jobs");
    let _ = shutdown_tx.send(true);
    let _ = jobs.await;
    let _ = sweeper.await;
    let _ = watcher.await;
    let _ = drills.await;
    let _ = updates.await;
    Ok(stopped)
}

/// Asks the server `config` describes for its health until it answers
/// healthy or `wait` has passed; prints each answer. Whether it was healthy.
pub async fn health_check(config: &Config, wait: Duration) -> bool {
    let host = if config.listen.is_unspecified() {
        IpAddr::from([127, 0, 0, 1])
    } else {
        config.listen
    };
    let url = format!("http://{}/api/shoebox/health", SocketAddr::new(host, config.port));
    let client = match reqwest13::Client::builder().timeout(Duration::from_secs(10)).build() {
        Ok(client) => client,
        Err(e) => {
            println!("cannot make an HTTP client: {e}");
            return false;
        }
    };
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match client.get(&url).send().await {
            Ok(r) => {
                let healthy = r.status().is_success();
                println!("{}", r.text().await.unwrap_or_default());
                if healthy {
                    return true;
                }
            }
            Err(e) => println!("{url}: {e}"),
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
}

/// How long the mobile apps' sync keeps deletion records: a phone away for
/// longer starts its sync over.
const SYNC_DELETIONS_KEPT_DAYS: i64 = 90;

async fn prune_sync_deletions(state: &AppState) {
    let cutoff = shoebox_catalog::now_millis() - SYNC_DELETIONS_KEPT_DAYS * 86_400_000;
    match state.db(move |c| c.prune_sync_deletions(cutoff)).await {
        Ok(n) if n > 0 => tracing::info!(records = n, "pruned old sync deletion records"),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = e.message, "could not prune sync deletion records"),
    }
}

/// Deletes assets that have been in the trash longer than `trash_days`.
async fn purge_expired_trash(state: &AppState) {
    let cutoff = shoebox_catalog::now_millis() - i64::from(state.config.trash_days) * 86_400_000;
    match state.db(move |c| c.purge_trash(None, cutoff)).await {
        Ok(gone) if !gone.is_empty() => {
            tracing::info!(assets = gone.len(), "emptied expired trash");
            routes::remove_asset_files(state, gone).await;
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = e.message, "could not empty expired trash"),
    }
}

/// Hourly housekeeping: expired trash, and login-limiter entries of
/// addresses that have not tried for a while.
async fn maintenance(state: AppState, mut shutdown: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(MAINTENANCE_EVERY) => {
                purge_expired_trash(&state).await;
                prune_sync_deletions(&state).await;
                state.login_limiter.retain_recent();
            }
            _ = shutdown.changed() => return,
        }
    }
}
