//! Off-site backup in restic's repository format (rustic_core), so the
//! `restic` program can check and restore what the box writes. A backup
//! reads a fresh pool snapshot, never the live folders: the catalog and the
//! originals in it are consistent with each other, and derived files are
//! left out (they are made again after a restore). The repository address
//! and password live in a root-only file of the service's state folder.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rustic_backend::BackendOptions;
use rustic_core::{
    BackupOptions, ConfigOptions, Credentials, KeepOptions, KeyOptions, LocalDestination, LsOptions, PathList, Progress, ProgressBars,
    ProgressType, PruneOptions, Repository, RepositoryOptions, RestoreOptions, RusticProgress, SnapshotOptions,
};
use serde::{Deserialize, Serialize};
use zbus::zvariant::Type;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(
        "{0:?} is neither an absolute folder (e.g. /mnt/usb-backup) nor a repository address (rest:http(s)://host/path, or rclone:<remote>:<path> for SFTP and S3)"
    )]
    Address(String),
    #[error("no off-site backup is set up yet")]
    NotConfigured,
    #[error("the backup repository: {0}")]
    Repository(String),
    #[error("the backup repository does not open with this key: check it against the emergency kit (64 letters and digits)")]
    WrongKey,
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
}

impl From<Box<rustic_core::RusticError>> for Error {
    fn from(e: Box<rustic_core::RusticError>) -> Error {
        if e.is_incorrect_password() {
            return Error::WrongKey;
        }
        Error::Repository(e.display_log())
    }
}

/// Where backups go and the key that opens them.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Target {
    pub repository: String,
    pub password: String,
    /// rustic's cache of the repository's index, beside the target's file
    /// in the service's state folder (not in root's home, which is on the
    /// read-only system); none when unset.
    #[serde(skip)]
    pub cache: Option<PathBuf>,
}

/// A new repository key: 256 random bits as 64 hex digits, easy to type
/// from a printed emergency kit.
pub fn new_key() -> String {
    uuid::Uuid::new_v4().simple().to_string() + &uuid::Uuid::new_v4().simple().to_string()
}

/// The cache folder of the target saved in `file`.
pub fn cache_beside(file: &Path) -> PathBuf {
    file.with_file_name("backup-cache")
}

/// A finished (or failed) backup, as the dashboard shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type, Default)]
pub struct Outcome {
    /// Unix seconds when it finished; 0 when no backup has run.
    pub finished: i64,
    pub ok: bool,
    /// The error, or "" on success.
    pub message: String,
    /// The repository's snapshot id ("" on failure).
    pub snapshot_id: String,
    pub files: u64,
    pub bytes: u64,
}

/// Bytes done out of bytes to do, updated by the backup as it runs.
#[derive(Debug, Default)]
pub struct Counter {
    pub done: std::sync::atomic::AtomicU64,
    pub total: std::sync::atomic::AtomicU64,
}

impl Target {
    /// Whether `repository` is an address the service can back up to.
    pub fn check_address(repository: &str) -> Result<(), Error> {
        let folder = Path::new(repository).is_absolute() && !repository.split('/').any(|part| part == "..");
        let address = !repository.contains(char::is_whitespace)
            && (repository.starts_with("rest:http://")
                || repository.starts_with("rest:https://")
                || repository.strip_prefix("rclone:").is_some_and(|r| r.contains(':')));
        let ok = folder || address;
        if ok { Ok(()) } else { Err(Error::Address(repository.to_owned())) }
    }

    pub fn load(file: &Path) -> Result<Option<Target>, Error> {
        match std::fs::read(file) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(|target: Target| {
                    Some(Target {
                        cache: Some(cache_beside(file)),
                        ..target
                    })
                })
                .map_err(|e| Error::Io(file.display().to_string(), std::io::Error::other(e))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Io(file.display().to_string(), e)),
        }
    }

    /// Writes the target readable by root only.
    pub fn save(&self, file: &Path) -> Result<(), Error> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let io = |e| Error::Io(file.display().to_string(), e);
        if let Some(dir) = file.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = file.with_extension("tmp");
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        out.write_all(&serde_json::to_vec(self).expect("plain struct")).map_err(io)?;
        out.sync_all().map_err(io)?;
        std::fs::rename(&tmp, file).map_err(io)
    }

    fn repository(&self, progress: impl ProgressBars) -> Result<Repository<()>, Error> {
        let backends = BackendOptions::default().repository(self.repository.clone()).to_backends()?;
        let options = match &self.cache {
            Some(dir) => RepositoryOptions::default().cache_dir(dir.clone()),
            None => RepositoryOptions::default().no_cache(true),
        };
        Ok(Repository::new_with_progress(&options, &backends, progress)?)
    }

    /// Gives the repository a new key (256 random bits) and retires the
    /// current one, so the old key opens nothing any more. The new key is
    /// added before the old goes: an interruption leaves both working.
    pub fn change_key(&self) -> Result<Target, Error> {
        let current = self.repository(Quiet)?.open(&Credentials::password(&self.password))?;
        let new = Target {
            password: new_key(),
            ..self.clone()
        };
        current.add_key(&new.password, &KeyOptions::default())?;
        let retired = current
            .key_id()
            .ok_or_else(|| Error::Repository("the key in use has no id".into()))?;
        let reopened = new.repository(Quiet)?.open(&Credentials::password(&new.password))?;
        reopened.delete_key(&retired)?;
        Ok(new)
    }

    /// Opens the repository, making it first if there is none at the address;
    /// a wrong password for an existing one is an error.
    pub fn init_or_open(&self) -> Result<(), Error> {
        let repo = self.repository(Quiet)?;
        let credentials = Credentials::password(&self.password);
        if repo.config_id()?.is_none() {
            repo.init(&credentials, &KeyOptions::default(), &ConfigOptions::default())?;
        } else {
            repo.open(&credentials)?;
        }
        Ok(())
    }

    /// Backs up `snapshot` (a pool snapshot folder) as `/shoebox` in the
    /// repository, tagged with what asked for it.
    pub fn back_up(&self, snapshot: &Path, trigger: &str, counter: Arc<Counter>) -> Result<Outcome, Error> {
        let repo = self
            .repository(Counting(counter))?
            .open(&Credentials::password(&self.password))?
            .to_indexed_ids()?;
        let snap = SnapshotOptions::default()
            .host("shoebox".to_owned())
            .add_tags(&format!("shoebox,{trigger}"))?
            .to_snapshot()?;
        let options = BackupOptions::default().as_path(PathBuf::from("/shoebox"));
        let source = PathList::from_string(snapshot.to_str().unwrap_or_default())?
            .sanitize()
            .map_err(|e| Error::Repository(e.to_string()))?;
        let saved = repo.backup(&options, &source, snap)?;
        let summary = saved.summary.unwrap_or_default();
        Ok(Outcome {
            finished: chrono::Utc::now().timestamp(),
            ok: true,
            message: String::new(),
            snapshot_id: saved.id.to_hex().to_string(),
            files: summary.total_files_processed,
            bytes: summary.total_bytes_processed,
        })
    }

    /// Applies the retention (the newest backup of each of the last 7 days,
    /// 4 weeks and 12 months) and frees what no kept backup uses. Returns
    /// how many backups were dropped.
    pub fn forget_and_prune(&self) -> Result<usize, Error> {
        let repo = self.repository(Quiet)?.open(&Credentials::password(&self.password))?;
        let ours = repo.get_all_snapshots()?.into_iter().filter(|s| s.hostname == "shoebox").collect();
        let keep = KeepOptions::default().keep_daily(7).keep_weekly(4).keep_monthly(12);
        let decided = keep.apply(ours, &rustic_core::jiff::Zoned::now())?;
        let dropped: Vec<_> = decided.iter().filter(|f| !f.keep).map(|f| f.snapshot.id).collect();
        if !dropped.is_empty() {
            repo.delete_snapshots(&dropped)?;
            let options = PruneOptions::default();
            let plan = repo.prune_plan(&options)?;
            repo.prune(&options, plan)?;
        }
        Ok(dropped.len())
    }

    /// Restores `/shoebox/<part>` of backup `id` into `dest` (a new
    /// folder). Every blob read is checked against its hash and MAC as it is
    /// decrypted, so a damaged repository fails here, before anything is used.
    pub fn restore_part(&self, id: &str, part: &str, dest: &Path) -> Result<(), Error> {
        let repo = self.repository(Quiet)?.open(&Credentials::password(&self.password))?.to_indexed()?;
        let node = repo.node_from_snapshot_path(&format!("{id}:/shoebox/{part}"), |s| s.hostname == "shoebox")?;
        let listing = repo.ls(&node, &LsOptions::default())?;
        let destination = LocalDestination::new(dest.to_str().unwrap_or_default(), true, !node.is_dir())?;
        let options = RestoreOptions::default();
        let plan = repo.prepare_restore(&options, listing.clone(), &destination, false)?;
        // rustic_core's restore workers panic on a block that fails its
        // check (a damaged pack file) instead of returning the error.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| repo.restore(plan, &options, listing, &destination)))
            .map_err(|_| {
                Error::Repository(
                    "a block of the backup failed its integrity check, so the repository is damaged: restore from another copy of the backup, or check the backup disk"
                        .into(),
                )
            })??;
        Ok(())
    }

    /// The newest Shoebox backup in the repository.
    pub fn latest(&self) -> Result<Latest, Error> {
        let repo = self.repository(Quiet)?.open(&Credentials::password(&self.password))?;
        let snapshots = repo.get_all_snapshots()?;
        let latest = snapshots
            .iter()
            .filter(|s| s.hostname == "shoebox")
            .max_by_key(|s| s.time.timestamp());
        latest
            .map(|s| Latest {
                id: s.id.to_hex().to_string(),
                created: s.time.timestamp().as_second(),
                bytes: s.summary.as_ref().map_or(0, |summary| summary.total_bytes_processed),
            })
            .ok_or_else(|| Error::Repository("it holds no Shoebox backup".into()))
    }
}

/// A backup in the repository: what a restore reads from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type, Default)]
pub struct Latest {
    /// The repository's snapshot id.
    pub id: String,
    /// Unix seconds when it was taken.
    pub created: i64,
    /// The size of the files it holds.
    pub bytes: u64,
}

/// No progress to show (opening, initialising).
#[derive(Debug, Clone, Copy)]
struct Quiet;

impl ProgressBars for Quiet {
    fn progress(&self, _: ProgressType, _: &str) -> Progress {
        Progress::hidden()
    }
}

/// Feeds the byte progress of a backup into a [`Counter`].
#[derive(Debug, Clone)]
struct Counting(Arc<Counter>);

impl ProgressBars for Counting {
    fn progress(&self, kind: ProgressType, _: &str) -> Progress {
        match kind {
            ProgressType::Bytes => Progress::new(ByteProgress(Arc::clone(&self.0))),
            _ => Progress::hidden(),
        }
    }
}

#[derive(Debug)]
struct ByteProgress(Arc<Counter>);

impl RusticProgress for ByteProgress {
    fn is_hidden(&self) -> bool {
        false
    }
    fn set_length(&self, len: u64) {
        self.0.total.store(len, std::sync::atomic::Ordering::Relaxed);
    }
    fn set_title(&self, _: &str) {}
    fn inc(&self, inc: u64) {
        self.0.done.fetch_add(inc, std::sync::atomic::Ordering::Relaxed);
    }
    fn finish(&self) {}
}

/// What BackupStatus answers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type, Default)]
pub struct Status {
    pub configured: bool,
    pub repository: String,
    pub running: bool,
    /// Bytes read so far and to read, while running.
    pub done_bytes: u64,
    pub total_bytes: u64,
    pub last: Outcome,
}

/// What the service tracks between calls.
#[derive(Debug, Default)]
pub struct State {
    pub running: Option<Arc<Counter>>,
    /// A key change is under way: no backup may start.
    pub changing_key: bool,
    pub last: Outcome,
}

pub type Shared = Arc<Mutex<State>>;

impl State {
    pub fn status(&self, target: Option<&Target>) -> Status {
        let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
        Status {
            configured: target.is_some(),
            repository: target.map(|t| t.repository.clone()).unwrap_or_default(),
            running: self.running.is_some(),
            done_bytes: self.running.as_ref().map(|c| load(&c.done)).unwrap_or(0),
            total_bytes: self.running.as_ref().map(|c| load(&c.total)).unwrap_or(0),
            last: self.last.clone(),
        }
    }
}
