//! Restoring a whole library from its off-site backup onto a blank box,
//! from the setup wizard. The storage service restores the backup into
//! staging folders on the pool (`db/.restoring`, `library/.restoring`),
//! checking every block as it reads; this checks every original against
//! its recorded SHA-1, and only then moves the library into place and puts
//! the backup's catalog in place of the blank one (SQLite's backup API),
//! and restarts on it. Until that last step the box is blank: a wrong key,
//! a damaged repository or a bad file leaves it blank, able to try again.
//! The move and the catalog's replacement are one step for a power cut
//! too: a journal lists what is moved, and a start that finds it with the
//! catalog still blank takes the moved folders out again (see
//! [`finish_interrupted`]).

use std::path::{Component, Path, PathBuf};
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
    if !contents.blank() {
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

/// Lists the library folders a commit moves into place, for as long as it runs.
fn journal(layout: &Layout) -> PathBuf {
    layout.db_dir().join("restore-commit.json")
}

/// Moves the checked library into place, then replaces the catalog; a
/// failure while moving moves back what was moved, so the box stays blank.
fn commit(live: &shoebox_catalog::Catalog, layout: &Layout, staged: &Path, catalog: &Path) -> ApiResult<()> {
    let library = layout.root().join("library");
    let names: Vec<std::ffi::OsString> = std::fs::read_dir(staged)
        .map_err(|e| ApiError::internal(format!("reading the restored library: {e}")))?
        .flatten()
        .map(|e| e.file_name())
        .filter(|name| !name.to_string_lossy().starts_with('.'))
        .collect();
    write_journal(layout, &names)?;
    let mut moved: Vec<(PathBuf, PathBuf)> = Vec::new();
    let result = names.iter().try_for_each(|name| {
        let (from, to) = (staged.join(name), library.join(name));
        std::fs::rename(&from, &to)?;
        moved.push((from, to));
        Ok::<_, std::io::Error>(())
    });
    let result = result
        .map_err(|e| ApiError::internal(format!("moving the restored library into place: {e}")))
        .and_then(|()| live.replace_with(catalog).map_err(ApiError::from));
    if result.is_err() {
        for (from, to) in moved.iter().rev() {
            let _ = std::fs::rename(to, from);
        }
        // Everything is back where it was: nothing for the next start to undo.
        let _ = std::fs::remove_file(journal(layout));
    }
    result?;
    // The backup holds no thumbnails: have the next start look for them.
    let _ = std::fs::remove_file(layout.derivatives_stamp());
    std::fs::remove_file(journal(layout)).map_err(|e| ApiError::internal(format!("finishing the restore: {e}")))
}

/// Written and synced before the first folder moves, so that a power cut
/// at any point of the commit finds it.
fn write_journal(layout: &Layout, names: &[std::ffi::OsString]) -> ApiResult<()> {
    let names: Vec<String> = names.iter().map(|n| n.to_string_lossy().into_owned()).collect();
    let write = || -> std::io::Result<()> {
        let path = journal(layout);
        let partial = path.with_extension("json.partial");
        let mut file = std::fs::File::create(&partial)?;
        std::io::Write::write_all(&mut file, serde_json::to_string(&names)?.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&partial, &path)?;
        crate::ingest::sync_dir(&layout.db_dir())
    };
    write().map_err(|e| ApiError::internal(format!("starting to move the restored library into place: {e}")))
}

/// At start-up: a restore whose commit was cut off (the journal is still
/// there). With the catalog still blank the library folders it moved are
/// taken out again, so the box is blank and a restore can be tried again;
/// with the backup's catalog in place only the journal was left to remove.
/// Whether a cut-off restore was found.
pub fn finish_interrupted(live: &shoebox_catalog::Catalog, layout: &Layout) -> anyhow::Result<bool> {
    let path = journal(layout);
    let names: Vec<String> = match std::fs::read(&path) {
        Ok(json) => serde_json::from_slice(&json).unwrap_or_default(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    if live.contents()?.blank() {
        let library = layout.root().join("library");
        // Only plain names: the journal is ours, but a path never leaves the library.
        let plain = |n: &&String| {
            let parts: Vec<Component> = Path::new(n.as_str()).components().collect();
            matches!(parts[..], [Component::Normal(_)]) && !n.starts_with('.')
        };
        for name in names.iter().filter(plain) {
            match std::fs::remove_dir_all(library.join(name)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(e.into()),
                _ => {}
            }
        }
        let (db, staged) = staging(layout);
        for dir in [db, staged] {
            let _ = std::fs::remove_dir_all(dir);
        }
        tracing::warn!("a restore from backup was cut off before it finished: the box is blank again; restore again from the setup wizard");
    } else {
        let _ = std::fs::remove_file(layout.derivatives_stamp());
        tracing::info!("a restore from backup had put the library in place when it was cut off; finished");
    }
    std::fs::remove_file(&path)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library_with(dir: &Path, names: &[&str]) -> (shoebox_catalog::Catalog, Layout) {
        let layout = Layout::new(dir);
        std::fs::create_dir_all(layout.db_dir()).unwrap();
        for name in names {
            let folder = layout.root().join("library").join(name).join("ab");
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join("photo.jpg"), b"restored bytes").unwrap();
        }
        (shoebox_catalog::Catalog::open(&layout.db_file()).unwrap(), layout)
    }

    #[test]
    fn a_commit_cut_off_before_the_catalog_was_replaced_leaves_the_box_blank() {
        let dir = tempfile::tempdir().unwrap();
        let (catalog, layout) = library_with(dir.path(), &["u1", "u2"]);
        // Cut off after moving u1: u2 is still staged, the catalog blank.
        write_journal(&layout, &["u1".into(), "u2".into()]).unwrap();
        let (_, staged) = staging(&layout);
        std::fs::create_dir_all(staged.join("u2")).unwrap();
        std::fs::rename(layout.root().join("library/u2"), staged.join("u2/moved")).unwrap();

        assert!(finish_interrupted(&catalog, &layout).unwrap());
        let left: Vec<_> = std::fs::read_dir(layout.root().join("library"))
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert!(left.is_empty(), "the library folder holds {left:?}");
        assert!(!journal(&layout).exists());
        assert!(!finish_interrupted(&catalog, &layout).unwrap(), "found once");
    }

    #[test]
    fn a_commit_cut_off_after_the_catalog_was_replaced_keeps_the_library() {
        let dir = tempfile::tempdir().unwrap();
        let (catalog, layout) = library_with(dir.path(), &["u1"]);
        catalog
            .create_user(&shoebox_catalog::NewUser {
                email: "ann@example.com",
                name: "Ann",
                password_hash: "hash",
                is_admin: true,
                should_change_password: false,
                quota_bytes: None,
            })
            .unwrap();
        write_journal(&layout, &["u1".into(), "../../db".into()]).unwrap();

        assert!(finish_interrupted(&catalog, &layout).unwrap());
        assert!(layout.root().join("library/u1/ab/photo.jpg").is_file());
        assert!(layout.db_file().is_file());
        assert!(!journal(&layout).exists());
    }

    #[test]
    fn a_journal_naming_paths_outside_the_library_removes_nothing_there() {
        let dir = tempfile::tempdir().unwrap();
        let (catalog, layout) = library_with(dir.path(), &[]);
        std::fs::create_dir_all(layout.root().join("keep")).unwrap();
        write_journal(&layout, &["../keep".into(), "/etc".into(), "..".into()]).unwrap();

        assert!(finish_interrupted(&catalog, &layout).unwrap());
        assert!(layout.root().join("keep").is_dir());
        assert!(layout.db_file().is_file());
    }
}
