//! Restoring a whole library from its off-site backup onto a blank box,
//! from the setup wizard. The storage service restores the backup into
//! staging folders on the pool (`db/.restoring`, `library/.restoring`),
//! checking every block as it reads; this checks every original against
//! its recorded SHA-1, and only then moves the library into place and puts
//! the backup's catalog in place of the blank one (SQLite's backup API),
//! and restarts on it. Until that last step the box is blank: a wrong key,
//! a damaged repository or a bad file leaves it blank, able to try again.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use serde::Serialize;
use serde_json::{Value, json};
use shoebox_catalog::Contents;
use shoebox_media::Layout;
use shoebox_storaged::backup::Latest;
use shoebox_storaged::service::STAGING;

use crate::drill::RemoveOnDrop;
use crate::error::{ApiError, ApiResult};
use crate::kit;
use crate::restored::{Progress, RestoredBackup};
use crate::state::AppState;
use crate::storage_service::{storage, unavailable};

/// Where the restore stands, as `GET /api/shoebox/setup/restore` answers.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// idle, inspecting (reading a backup's catalog to show what it holds),
    /// restoring (reading the repository), checking (the files), failed,
    /// or restarting (done: the server starts on the library).
    pub state: &'static str,
    pub checked: u64,
    pub total: u64,
    pub error: String,
    #[serde(skip)]
    progress: Option<Arc<Progress>>,
}

impl Status {
    pub fn now(&self) -> Status {
        let mut now = self.clone();
        if now.state.is_empty() {
            now.state = "idle";
        }
        if let Some(p) = &self.progress {
            now.checked = p.done.load(Ordering::Relaxed);
            now.total = p.total.load(Ordering::Relaxed);
        }
        now
    }
}

/// The staging folders the storage service restores into.
fn staging(layout: &Layout) -> (PathBuf, PathBuf) {
    (layout.db_dir().join(STAGING), layout.root().join("library").join(STAGING))
}

/// A restore replaces the catalog whole, so it is for a box that holds nothing yet.
async fn ensure_blank(state: &AppState) -> ApiResult<()> {
    let contents = state.db(|c| c.contents()).await?;
    if !contents.users.is_empty() || contents.photos + contents.videos > 0 {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "This box already has a library: a backup is restored only onto a blank box (snapshots restore single photos on the storage page)",
        ));
    }
    Ok(())
}

/// What the newest backup in `repository` holds: its date and size, users,
/// photos, videos, albums and people. Only its catalog is read.
pub async fn inspect(state: &AppState, repository: &str, password: &str) -> ApiResult<Value> {
    ensure_blank(state).await?;
    // Looking stages the backup's catalog in the folder a restore checks
    // and moves from: the two, or two looks, never run at once.
    let _looking = Looking::claim(state)?;
    let latest = storage(state)
        .await?
        .stage_restore(repository, password, &["db"])
        .await
        .map_err(unavailable)?;
    let (db, _) = staging(&state.layout);
    let contents = tokio::task::spawn_blocking(move || {
        let _remove = RemoveOnDrop(vec![db.clone()]);
        RestoredBackup::open(&db, Path::new("")).and_then(|b| Ok(b.catalog.contents()?))
    })
    .await
    .map_err(ApiError::internal)??;
    Ok(summary(&latest, &contents))
}

fn summary(latest: &Latest, contents: &Contents) -> Value {
    let users: Vec<Value> = contents
        .users
        .iter()
        .map(|(name, email)| json!({"name": name, "email": email}))
        .collect();
    json!({
        "backupId": latest.id,
        "createdAt": crate::dto::iso(latest.created * 1000),
        "sizeBytes": latest.bytes,
        "users": users,
        "photos": contents.photos,
        "videos": contents.videos,
        "albums": contents.albums,
        "people": contents.people,
    })
}

/// Starts the restore in the background; 409 while one runs.
pub async fn start(state: &AppState, repository: String, password: String) -> ApiResult<()> {
    ensure_blank(state).await?;
    let progress = Arc::new(Progress::default());
    {
        let mut status = state.recovery.lock().expect("recovery lock");
        if running(status.state) {
            return Err(already_running());
        }
        *status = Status {
            state: "restoring",
            progress: Some(Arc::clone(&progress)),
            ..Status::default()
        };
    }
    let state = state.clone();
    tokio::spawn(async move {
        let outcome = restore(&state, &repository, &password, progress).await;
        let mut status = state.recovery.lock().expect("recovery lock");
        match outcome {
            Ok(()) => {
                status.state = "restarting";
                tracing::info!(repository, "the library was restored from backup; restarting on it");
                state.restart.notify_one();
            }
            Err(e) => {
                tracing::warn!(error = e.message, "restoring from backup failed; the box stays blank");
                status.state = "failed";
                status.error = e.message;
            }
        }
    });
    Ok(())
}

fn running(state: &str) -> bool {
    matches!(state, "inspecting" | "restoring" | "checking" | "restarting")
}

/// The wizard looking at a backup: the status reads `inspecting` until
/// dropped, then what it read before.
struct Looking {
    state: AppState,
    before: Status,
}

impl Looking {
    fn claim(state: &AppState) -> ApiResult<Looking> {
        let mut status = state.recovery.lock().expect("recovery lock");
        if running(status.state) {
            return Err(already_running());
        }
        let before = std::mem::replace(
            &mut *status,
            Status {
                state: "inspecting",
                ..Status::default()
            },
        );
        Ok(Looking {
            state: state.clone(),
            before,
        })
    }
}

impl Drop for Looking {
    fn drop(&mut self) {
        *self.state.recovery.lock().expect("recovery lock") = std::mem::take(&mut self.before);
    }
}

fn already_running() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "A restore, or a look at a backup, is running: follow it with GET /api/shoebox/setup/restore and try again when it is done",
    )
}

pub fn status(state: &AppState) -> Status {
    state.recovery.lock().expect("recovery lock").now()
}

fn set_state(state: &AppState, now: &'static str) {
    state.recovery.lock().expect("recovery lock").state = now;
}

async fn restore(state: &AppState, repository: &str, password: &str, progress: Arc<Progress>) -> ApiResult<()> {
    let storage = storage(state).await?;
    storage
        .stage_restore(repository, password, &["db", "library"])
        .await
        .map_err(unavailable)?;
    set_state(state, "checking");
    let (live, layout) = (state.catalog.clone(), state.layout.clone());
    tokio::task::spawn_blocking(move || {
        let (db, library) = staging(&layout);
        let _remove = RemoveOnDrop(vec![db.clone(), library.clone()]);
        let restored = RestoredBackup::open(&db, &library)?;
        let findings = restored.check_files(&progress)?;
        if !findings.ok() {
            return Err(ApiError::bad_request(format!(
                "The backup is damaged: {} of its {} files do not match their checksums ({}). Nothing was restored; restore from another copy, or try again",
                findings.problem_count,
                findings.assets,
                findings.problems.join("; ")
            )));
        }
        let file = restored.db_file().to_path_buf();
        drop(restored);
        commit(&live, &layout, &library, &file)
    })
    .await
    .map_err(ApiError::internal)??;
    // The restored box backs up where it was restored from, with the key
    // its owner just used: the kit they hold.
    if let Err(e) = storage.configure_backup(repository, password).await {
        tracing::warn!(error = %e, "restored, but the off-site backup could not be set up again: set it on the storage page");
    }
    kit::record(state, repository, password).await?;
    kit::confirm(state, &kit::key_id(password)).await?;
    Ok(())
}

/// Moves the checked library into place, then replaces the catalog; a
/// failure while moving moves back what was moved, so the box stays blank.
fn commit(live: &shoebox_catalog::Catalog, layout: &Layout, staged: &Path, catalog: &Path) -> ApiResult<()> {
    let library = layout.root().join("library");
    let entries: Vec<PathBuf> = std::fs::read_dir(staged)
        .map_err(|e| ApiError::internal(format!("reading the restored library: {e}")))?
        .flatten()
        .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect();
    let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = entries.iter().try_for_each(|from| {
        let to = library.join(from.file_name().unwrap_or_default());
        std::fs::rename(from, &to)?;
        moved.push((from.clone(), to));
        Ok::<_, std::io::Error>(())
    });
    let result = result
        .map_err(|e| ApiError::internal(format!("moving the restored library into place: {e}")))
        .and_then(|()| live.replace_with(catalog).map_err(ApiError::from));
    if result.is_err() {
        for (from, to) in moved.iter().rev() {
            let _ = std::fs::rename(to, from);
        }
    }
    result?;
    // The backup holds no thumbnails: have the next start look for them.
    let _ = std::fs::remove_file(layout.derivatives_stamp());
    Ok(())
}
