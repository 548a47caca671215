//! The D-Bus interface `org.shoebox.Storage1` at `/org/shoebox/Storage1`.
//! The bus policy lets only root and the `shoebox` user call it; every call
//! is still logged with the caller's user id. Arguments are checked here
//! against what the service itself probed: a disk must be one it offers,
//! never the system disk, and blank unless a plan's token confirms erasing it.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use zbus::fdo::{DBusProxy, Error as FdoError};
use zbus::message::Header;
use zbus::object_server::SignalEmitter;
use zbus::zvariant::Type;
use zbus::{Connection, interface};

use crate::backup::{self, Latest, Target};
use crate::backup_disks::{self, BackupDisk};
use crate::command::run;
use crate::disks::{self, Disk, Scope};
use crate::plans::{Action, Plans};
use crate::pool::{self, Pool, Profile, path};
use crate::snapshots::{self, Retention, Snapshot};

pub const BUS_NAME: &str = "org.shoebox.Storage1";
pub const OBJECT_PATH: &str = "/org/shoebox/Storage1";

/// The parts of the pool a backup holds (each a subvolume).
pub const PARTS: [&str; 2] = ["library", "db"];
/// Where a restore from the setup wizard is put, inside each part.
pub const STAGING: &str = ".restoring";
/// The restore drill's scratch folder at the top of the pool.
pub const DRILL_DIR: &str = ".drill";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0} is not a disk this service offers: pick one from ListDisks")]
    UnknownDisk(String),
    #[error("{0} holds the running system and is never used for the pool")]
    SystemDisk(String),
    #[error("{0} is already in the pool")]
    InPool(String),
    #[error("{0} is named twice")]
    Duplicate(String),
    #[error("{0} holds data: call the matching Plan verb, show the owner what it erases, and pass its token to confirm")]
    NotBlank(String),
    #[error("no member of the pool has devid {0}")]
    UnknownDevice(u64),
    #[error("busy: {0}; try again when it is done")]
    Busy(String),
    #[error(transparent)]
    Pool(#[from] pool::Error),
    #[error(transparent)]
    Disks(#[from] disks::Error),
    #[error(transparent)]
    Backup(#[from] backup::Error),
    #[error(transparent)]
    BackupDisk(#[from] backup_disks::Error),
    #[error("backups are read from, and restored onto, the pool: create a pool first")]
    BackupWithoutPool,
    #[error("the library already holds photos: a backup is restored only onto a blank box")]
    NotBlankLibrary,
    #[error("{0:?} is not a part of a backup: name \"library\" or \"db\"")]
    UnknownPart(String),
    #[error("the pool has {free} bytes free and the backup needs {needed}: add a disk or free space, then try again")]
    NoRoomToRestore { needed: u64, free: u64 },
}

impl From<Error> for FdoError {
    fn from(e: Error) -> FdoError {
        // A failing tool or file is the service's failure; everything else
        // is a call that does not fit the pool's state or the disks.
        match e {
            Error::Pool(pool::Error::Command(_) | pool::Error::Io(..) | pool::Error::State(..))
            | Error::Disks(_)
            | Error::Backup(backup::Error::Repository(_) | backup::Error::Io(..))
            | Error::BackupDisk(backup_disks::Error::Disks(_) | backup_disks::Error::Io(..)) => FdoError::Failed(e.to_string()),
            _ => FdoError::InvalidArgs(e.to_string()),
        }
    }
}

/// What a destructive verb would do, and the token that confirms it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, Type)]
pub struct Plan {
    pub token: String,
    /// One line per disk whose contents would be erased ("/dev/sdb (WDC ..., 4.0 TB)").
    pub erases: Vec<String>,
}

/// How the service is set up (from its command line).
#[derive(Debug, Clone)]
pub struct Config {
    pub pool: Pool,
    /// The off-site repository and its password (root-only).
    pub backup_file: std::path::PathBuf,
    pub include_loop: bool,
    pub retention: Retention,
    /// Where backup disks are mounted, each at `<dir>/<uuid>`.
    pub backup_disks: std::path::PathBuf,
}

#[derive(Clone)]
pub struct Storage {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    plans: Mutex<Plans>,
    /// Serialises verbs that change the pool or its snapshots.
    changing: Mutex<()>,
    /// A long operation running in the background, and the last one's failure.
    activity: Mutex<(String, String)>,
    backup: backup::Shared,
    /// Held while a restore drill restores.
    drilling: Mutex<()>,
}

impl Storage {
    pub fn new(config: Config) -> Storage {
        Storage {
            inner: Arc::new(Inner {
                config,
                plans: Mutex::default(),
                changing: Mutex::default(),
                activity: Mutex::default(),
                backup: backup::Shared::default(),
                drilling: Mutex::default(),
            }),
        }
    }

    /// Mounts the recorded pool (degraded if a member is gone).
    pub fn mount_pool(&self) -> Result<(), pool::Error> {
        self.inner.config.pool.ensure_mounted()
    }
}

impl Inner {
    fn scope(&self) -> Result<Scope, Error> {
        Ok(Scope {
            include_loop: self.config.include_loop,
            pool_uuid: self.config.pool.recorded()?.map(|r| r.uuid),
        })
    }

    fn disks(&self) -> Result<Vec<Disk>, Error> {
        Ok(disks::list(&self.scope()?)?)
    }

    /// Checks `names` against the probed disks; the ones that hold data.
    fn holding_data(&self, names: &[String]) -> Result<Vec<Disk>, Error> {
        let listing = self.disks()?;
        let mut seen = Vec::new();
        let mut holding = Vec::new();
        for name in names {
            let disk = listing
                .iter()
                .find(|d| &d.path == name)
                .ok_or_else(|| Error::UnknownDisk(name.clone()))?;
            if disk.system {
                return Err(Error::SystemDisk(name.clone()));
            }
            if disk.in_pool {
                return Err(Error::InPool(name.clone()));
            }
            if seen.contains(&name) {
                return Err(Error::Duplicate(name.clone()));
            }
            seen.push(name);
            if !disk.blank {
                holding.push(disk.clone());
            }
        }
        Ok(holding)
    }

    fn plan(&self, action: Action, disks: &[String]) -> Result<Plan, Error> {
        let erases = self
            .holding_data(disks)?
            .iter()
            .map(|d| {
                format!(
                    "{} ({}, {} bytes)",
                    d.path,
                    if d.model.is_empty() { "unknown model" } else { &d.model },
                    d.size_bytes
                )
            })
            .collect();
        let token = self.plans.lock().expect("plans lock").issue(action);
        Ok(Plan { token, erases })
    }

    /// Disks that hold data pass only with the token of a plan for `action`.
    fn confirm(&self, action: &Action, disks: &[String], token: &str) -> Result<(), Error> {
        let holding = self.holding_data(disks)?;
        if let Some(first) = holding.first()
            && !self.plans.lock().expect("plans lock").redeem(action, token)
        {
            return Err(Error::NotBlank(first.path.clone()));
        }
        Ok(())
    }

    fn create_pool(&self, disks: Vec<String>, profile: String, token: &str) -> Result<(), Error> {
        let _changing = self.changing.lock().expect("changing lock");
        let parsed = Profile::parse(&profile, disks.len())?;
        if let Some(existing) = self.config.pool.recorded()? {
            return Err(pool::Error::Exists(existing.uuid).into());
        }
        self.confirm(
            &Action::CreatePool {
                disks: disks.clone(),
                profile,
            },
            &disks,
            token,
        )?;
        let recorded = self.config.pool.create(&disks, parsed)?;
        tracing::info!(uuid = recorded.uuid, ?disks, ?parsed, "pool created");
        Ok(())
    }

    /// Runs `work` on its own thread, reported through `PoolStatus.activity`.
    fn in_background(
        self: &Arc<Self>,
        what: String,
        work: impl FnOnce(&Pool) -> Result<(), pool::Error> + Send + 'static,
    ) -> Result<(), Error> {
        {
            let mut activity = self.activity.lock().expect("activity lock");
            if !activity.0.is_empty() {
                return Err(Error::Busy(activity.0.clone()));
            }
            *activity = (what.clone(), String::new());
        }
        let inner = Arc::clone(self);
        std::thread::spawn(move || {
            let result = work(&inner.config.pool);
            match &result {
                Ok(()) => tracing::info!(what, "done"),
                Err(e) => tracing::error!(what, error = %e, "failed"),
            }
            *inner.activity.lock().expect("activity lock") = (String::new(), result.err().map(|e| e.to_string()).unwrap_or_default());
        });
        Ok(())
    }

    fn status(&self) -> Result<pool::Status, Error> {
        let mut status = self.config.pool.status()?;
        (status.activity, status.last_error) = self.activity.lock().expect("activity lock").clone();
        Ok(status)
    }

    /// Mounts the backup disk `repository` is on, if it is on one.
    fn reach(&self, repository: &str) -> Result<(), Error> {
        Ok(backup_disks::reach(&self.scope()?, &self.config.backup_disks, repository)?)
    }

    /// The off-site backup's target, its disk mounted.
    fn backup_target(&self) -> Result<Option<Target>, Error> {
        let target = Target::load(&self.config.backup_file)?;
        if let Some(t) = &target {
            self.reach(&t.repository)?;
        }
        Ok(target)
    }

    fn configure_backup(&self, repository: String, password: String) -> Result<String, Error> {
        Target::check_address(&repository)?;
        self.reach(&repository)?;
        let password = if password.is_empty() { backup::new_key() } else { password };
        let target = Target {
            repository,
            password,
            cache: Some(backup::cache_beside(&self.config.backup_file)),
        };
        target.init_or_open()?;
        target.save(&self.config.backup_file)?;
        tracing::info!(repository = target.repository, "off-site backup set up");
        Ok(target.password)
    }

    /// Claims the repository for a backup (`Some` counter) or a key change
    /// (`None`), in one step under the lock: either refuses while the other
    /// runs, so a backup never starts with a key that is being retired.
    fn claim_repository(&self, backup: Option<Arc<backup::Counter>>) -> Result<(), Error> {
        let mut state = self.backup.lock().expect("backup lock");
        if state.running.is_some() {
            return Err(Error::Busy("a backup is running".into()));
        }
        if state.changing_key {
            return Err(Error::Busy("the backup's key is being changed".into()));
        }
        match backup {
            Some(counter) => state.running = Some(counter),
            None => state.changing_key = true,
        }
        Ok(())
    }

    fn change_backup_key(&self) -> Result<String, Error> {
        let target = self.backup_target()?.ok_or(backup::Error::NotConfigured)?;
        self.claim_repository(None)?;
        let changed = target.change_key().and_then(|new| new.save(&self.config.backup_file).map(|()| new));
        self.backup.lock().expect("backup lock").changing_key = false;
        let new = changed?;
        tracing::info!(repository = new.repository, "the off-site backup's key was changed");
        Ok(new.password)
    }

    /// Checks a backup can start and takes the snapshot it reads.
    fn prepare_backup(&self, trigger: &str) -> Result<Option<(Target, std::path::PathBuf, Arc<backup::Counter>)>, Error> {
        if Target::load(&self.config.backup_file)?.is_none() {
            return Ok(None);
        }
        if self.config.pool.recorded()?.is_none() {
            return Err(Error::BackupWithoutPool);
        }
        let counter = Arc::new(backup::Counter::default());
        self.claim_repository(Some(Arc::clone(&counter)))?;
        // Read after the claim: a key change that just ended has saved its key.
        let prepared = self.backup_target().and_then(|target| {
            let Some(target) = target else { return Ok(None) };
            let snapshot = self.snapshot_now(&format!("backup-{trigger}"))?;
            Ok(Some((target, self.config.pool.mount.join(pool::SNAPSHOT_DIR).join(snapshot))))
        });
        match prepared {
            Ok(Some((target, dir))) => Ok(Some((target, dir, counter))),
            other => {
                self.backup.lock().expect("backup lock").running = None;
                other.map(|_| None)
            }
        }
    }

    /// Restores `parts` of the newest backup in `repository` onto the blank
    /// pool, each into `<part>/.restoring` (a rename cannot cross
    /// subvolumes), for shoeboxd to check and move into place.
    fn stage_restore(&self, repository: String, password: String, parts: Vec<String>) -> Result<Latest, Error> {
        let _changing = self.changing.lock().expect("changing lock");
        Target::check_address(&repository)?;
        self.reach(&repository)?;
        if let Some(part) = parts.iter().find(|p| !PARTS.contains(&p.as_str())) {
            return Err(Error::UnknownPart(part.clone()));
        }
        let mount = self.mounted_pool()?;
        if holds_files(&mount.join("library")) {
            return Err(Error::NotBlankLibrary);
        }
        let target = Target {
            repository,
            password,
            cache: None,
        };
        restore_into(&mount, &target, &parts, |part| mount.join(part).join(STAGING))
    }

    /// Restores the newest off-site backup into the pool's scratch folder
    /// (`.drill/<part>`), where shoeboxd checks it against the library.
    fn drill_restore(&self) -> Result<Latest, Error> {
        let _drilling = self
            .drilling
            .try_lock()
            .map_err(|_| Error::Busy("a restore drill is running".into()))?;
        let target = self.backup_target()?.ok_or(backup::Error::NotConfigured)?;
        let mount = self.mounted_pool()?;
        let scratch = mount.join(DRILL_DIR);
        let parts = PARTS.map(String::from);
        restore_into(&mount, &target, &parts, |part| scratch.join(part))
    }

    /// The pool's mount point, mounted; an error without a pool.
    fn mounted_pool(&self) -> Result<std::path::PathBuf, Error> {
        if self.config.pool.recorded()?.is_none() {
            return Err(Error::BackupWithoutPool);
        }
        self.config.pool.ensure_mounted()?;
        Ok(self.config.pool.mount.clone())
    }

    fn snapshot_now(&self, trigger: &str) -> Result<String, Error> {
        let _changing = self.changing.lock().expect("changing lock");
        if self.config.pool.recorded()?.is_none() {
            return Ok(String::new());
        }
        self.config.pool.ensure_mounted()?;
        let mount = &self.config.pool.mount;
        let snapshot = snapshots::create(mount, trigger, chrono::Utc::now())?;
        let pruned = snapshots::prune(mount, self.config.retention)?;
        tracing::info!(name = snapshot.name, trigger, ?pruned, "snapshot taken");
        Ok(snapshot.name)
    }

    fn list_snapshots(&self) -> Result<Vec<Snapshot>, Error> {
        if self.config.pool.recorded()?.is_none() {
            return Ok(Vec::new());
        }
        self.config.pool.ensure_mounted()?;
        Ok(snapshots::list(&self.config.pool.mount)?)
    }
}

/// Whether any file (not just folders) is under `dir`, leaving out a
/// restore's staging folder.
fn holds_files(dir: &Path) -> bool {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.file_name() != STAGING)
        .any(|entry| match entry.file_type() {
            Ok(t) if t.is_dir() => holds_files(&entry.path()),
            _ => true,
        })
}

/// Restores `parts` of the newest backup each into `dest(part)`, owned
/// like the pool's top folder so shoeboxd can read, move and remove them.
/// The pool must have room for the whole backup; on failure nothing
/// restored is left behind.
fn restore_into(mount: &Path, target: &Target, parts: &[String], dest: impl Fn(&str) -> PathBuf) -> Result<Latest, Error> {
    let latest = target.latest()?;
    let free = disks::free_bytes(mount).map_err(|e| pool::Error::Io(mount.display().to_string(), e))?;
    if latest.bytes > free {
        return Err(Error::NoRoomToRestore {
            needed: latest.bytes,
            free,
        });
    }
    let owner = std::fs::metadata(mount).map_err(|e| pool::Error::Io(mount.display().to_string(), e))?;
    let chown = format!("{}:{}", owner.uid(), owner.gid());
    let result = parts.iter().try_for_each(|part| {
        let dir = dest(part);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| pool::Error::Io(dir.display().to_string(), e))?;
        }
        target.restore_part(&latest.id, part, &dir)?;
        run("chown", &["-R", &chown, path(&dir)]).map_err(pool::Error::from)?;
        Ok::<_, Error>(())
    });
    if let Err(e) = result {
        for part in parts {
            let _ = std::fs::remove_dir_all(dest(part));
        }
        return Err(e);
    }
    Ok(latest)
}

/// Runs a prepared backup, sending BackupProgress each second and
/// BackupFinished at the end.
async fn run_backup(
    inner: Arc<Inner>,
    connection: Connection,
    target: Target,
    dir: std::path::PathBuf,
    trigger: String,
    counter: Arc<backup::Counter>,
) {
    let emitter = SignalEmitter::new(&connection, OBJECT_PATH).expect("a valid object path");
    let work = {
        let counter = Arc::clone(&counter);
        tokio::task::spawn_blocking(move || {
            let mut outcome = target.back_up(&dir, &trigger, counter)?;
            // The backup is safe by now; a failed clean-up is reported, not fatal.
            match target.forget_and_prune() {
                Ok(dropped) => tracing::info!(dropped, "backup retention applied"),
                Err(e) => outcome.message = format!("backed up, but old backups could not be pruned: {e}"),
            }
            Ok(outcome)
        })
    };
    tokio::pin!(work);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    let result = loop {
        tokio::select! {
            result = &mut work => break result,
            _ = tick.tick() => {
                let load = |a: &std::sync::atomic::AtomicU64| a.load(std::sync::atomic::Ordering::Relaxed);
                let _ = Storage::backup_progress(&emitter, load(&counter.done), load(&counter.total)).await;
            }
        }
    };
    let outcome = match result.map_err(|e| backup::Error::Repository(e.to_string())).and_then(|r| r) {
        Ok(outcome) => {
            tracing::info!(
                snapshot = outcome.snapshot_id,
                files = outcome.files,
                bytes = outcome.bytes,
                "backup done"
            );
            outcome
        }
        Err(e) => {
            tracing::error!(error = %e, "backup failed");
            backup::Outcome {
                finished: chrono::Utc::now().timestamp(),
                message: e.to_string(),
                ..backup::Outcome::default()
            }
        }
    };
    {
        let mut state = inner.backup.lock().expect("backup lock");
        state.running = None;
        state.last = outcome.clone();
    }
    let _ = Storage::backup_finished(&emitter, outcome).await;
}

/// The caller's Unix user, asked of the bus itself (not taken from the message).
async fn caller_uid(connection: &Connection, header: &Header<'_>) -> zbus::fdo::Result<u32> {
    let sender = header
        .sender()
        .ok_or_else(|| FdoError::AccessDenied("a call without a sender".into()))?;
    DBusProxy::new(connection)
        .await?
        .get_connection_unix_user(sender.clone().into())
        .await
}

async fn log_call(connection: &Connection, header: &Header<'_>, method: &str, args: impl std::fmt::Debug) -> zbus::fdo::Result<()> {
    let uid = caller_uid(connection, header).await?;
    tracing::info!(uid, method, args = ?args, "call");
    Ok(())
}

/// Runs blocking work (tools, file systems) off the bus's executor.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> Result<T, Error> + Send + 'static) -> zbus::fdo::Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| FdoError::Failed(e.to_string()))?
        .map_err(FdoError::from)
}

#[interface(name = "org.shoebox.Storage1")]
impl Storage {
    /// The interface's revision; methods are only ever added within one.
    #[zbus(property)]
    fn version(&self) -> u32 {
        1
    }

    /// Every whole disk, with whether it is blank, in the pool, and whether
    /// the system runs from it.
    async fn list_disks(&self, #[zbus(connection)] c: &Connection, #[zbus(header)] h: Header<'_>) -> zbus::fdo::Result<Vec<Disk>> {
        log_call(c, &h, "ListDisks", ()).await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.disks()).await
    }

    /// What CreatePool would erase, and the token that confirms it.
    /// File systems on disks outside the pool (USB disks), each mounted
    /// under the backup disks folder, with the backups found on them: a
    /// repository address to restore from, or a folder to back up into.
    async fn list_backup_disks(
        &self,
        #[zbus(connection)] c: &Connection,
        #[zbus(header)] h: Header<'_>,
    ) -> zbus::fdo::Result<Vec<BackupDisk>> {
        log_call(c, &h, "ListBackupDisks", ()).await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || Ok(backup_disks::list(&inner.scope()?, &inner.config.backup_disks)?)).await
    }

    async fn plan_pool(
        &self,
        disks: Vec<String>,
        profile: String,
        #[zbus(connection)] c: &Connection,
        #[zbus(header)] h: Header<'_>,
    ) -> zbus::fdo::Result<Plan> {
        log_call(c, &h, "PlanPool", (&disks, &profile)).await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            Profile::parse(&profile, disks.len())?;
            inner.plan(
                Action::CreatePool {
                    disks: disks.clone(),
                    profile,
                },
                &disks,
            )
        })
        .await
    }

    /// Creates the pool on `disks` ("single" or "raid1"); `token` from
    /// PlanPool is needed when a disk holds data, "" otherwise.
    async fn create_pool(
        &self,
        disks: Vec<String>,
        profile: String,
        token: String,
        #[zbus(connection)] c: &Connection,
        #[zbus(header)] h: Header<'_>,
    ) -> zbus::fdo::Result<()> {
        log_call(c, &h, "CreatePool", (&disks, &profile)).await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.create_pool(disks, profile, &token)).await
    }

    async fn pool_status(&self, #[zbus(connection)] c: &Connection, #[zbus(header)] h: Header<'_>) -> zbus::fdo::Result<pool::Status> {
        log_call(c, &h, "PoolStatus", ()).await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.status()).await
    }

    async fn start_scrub(&self, #[zbus(connection)] c: &Connection, #[zbus(header)] h: Header<'_>) -> zbus::fdo::Result<()> {
        log_call(c, &h, "StartScrub", ()).await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || Ok(inner.config.pool.start_scrub()?)).await
    }

    async fn plan_add_disk(
        &self,
        disk: String,
        #[zbus(connection)] c: &Connection,
        #[zbus(header)] h: Header<'_>,
    ) -> zbus::fdo::Result<Plan> {
        log_call(c, &h, "PlanAddDisk", &disk).await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.plan(Action::AddDisk { disk: disk.clone() }, &[disk])).await
    }

    /// Adds `disk` to the pool and rebalances, in the background.
    async fn add_disk(
        &self,
        disk: String,
        token: String,
        #[zbus(connection)] c: &Connection,
        #[zbus(header)] h: Header<'_>,
    ) -> zbus::fdo::Result<()> {
        log_call(c, &h, "AddDisk", &disk).await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            inner.config.pool.recorded()?.ok_or(pool::Error::Missing)?;
            inner.confirm(&Action::AddDisk { disk: disk.clone() }, std::slice::from_ref(&disk), &token)?;
            inner.in_background(format!("adding {disk}"), move |pool| pool.add_disk(&disk))
        })
        .await
    }

    async fn plan_replace(
        &self,
        devid: u64,
        disk: String,
        #[zbus(connection)] c: &Connection,
        #[zbus(header)] h: Header<'_>,
    ) -> zbus::fdo::Result<Plan> {
        log_call(c, &h, "PlanReplace", (devid, &disk)).await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.plan(Action::ReplaceDisk { devid, disk: disk.clone() }, &[disk])).await
    }

    /// Rebuilds member `devid` (missing or failing) onto `disk`, in the background.
    async fn replace_disk(
        &self,
        devid: u64,
        disk: String,
        token: String,
        #[zbus(connection)] c: &Connection,
        #[zbus(header)] h: Header<'_>,
    ) -> zbus::fdo::Result<()> {
        log_call(c, &h, "ReplaceDisk", (devid, &disk)).await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            if !inner.config.pool.status()?.devices.iter().any(|d| d.devid == devid) {
                return Err(Error::UnknownDevice(devid));
            }
            inner.confirm(
                &Action::ReplaceDisk { devid, disk: disk.clone() },
                std::slice::from_ref(&disk),
                &token,
            )?;
            inner.in_background(format!("replacing devid {devid} with {disk}"), move |pool| {
                pool.replace(devid, &disk)
            })
        })
        .await
    }

    /// Takes read-only snapshots of the catalog and the originals, then
    /// applies retention. Returns the snapshot's name, "" when there is no pool.
    async fn snapshot_now(
        &self,
        trigger: String,
        #[zbus(connection)] c: &Connection,
        #[zbus(header)] h: Header<'_>,
    ) -> zbus::fdo::Result<String> {
        log_call(c, &h, "SnapshotNow", &trigger).await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.snapshot_now(&trigger)).await
    }

    /// Complete snapshots, newest first.
    async fn list_snapshots(&self, #[zbus(connection)] c: &Connection, #[zbus(header)] h: Header<'_>) -> zbus::fdo::Result<Vec<Snapshot>> {
        log_call(c, &h, "ListSnapshots", ()).await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.list_snapshots()).await
    }

    /// Sets the off-site repository (an absolute folder such as a USB
    /// disk's, rest:http(s)://..., or rclone:<remote>:<path> for SFTP and
    /// S3) and opens it, creating it if it is new. An empty password makes
    /// a random one. Returns the password: it is the only way into the
    /// backup, so the owner must keep it.
    async fn configure_backup(
        &self,
        repository: String,
        password: String,
        #[zbus(connection)] c: &Connection,
        #[zbus(header)] h: Header<'_>,
    ) -> zbus::fdo::Result<String> {
        log_call(c, &h, "ConfigureBackup", &repository).await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.configure_backup(repository, password)).await
    }

    /// Gives the off-site repository a new key and retires the old one;
    /// returns the new key, which the owner must keep (a new emergency kit).
    async fn change_backup_key(&self, #[zbus(connection)] c: &Connection, #[zbus(header)] h: Header<'_>) -> zbus::fdo::Result<String> {
        log_call(c, &h, "ChangeBackupKey", "").await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.change_backup_key()).await
    }

    /// Restores `parts` ("library", "db") of the newest backup in
    /// `repository` into `<part>/.restoring` on this box's pool, whose
    /// library must hold no photos. Every block is checked as it is read: a
    /// wrong key or a damaged repository is an error and leaves nothing.
    async fn stage_restore(
        &self,
        repository: String,
        password: String,
        parts: Vec<String>,
        #[zbus(connection)] c: &Connection,
        #[zbus(header)] h: Header<'_>,
    ) -> zbus::fdo::Result<Latest> {
        log_call(c, &h, "StageRestore", (&repository, &parts)).await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.stage_restore(repository, password, parts)).await
    }

    /// Restores the newest off-site backup into the pool's `.drill`
    /// folder, for a restore drill to compare with the library.
    async fn drill_restore(&self, #[zbus(connection)] c: &Connection, #[zbus(header)] h: Header<'_>) -> zbus::fdo::Result<Latest> {
        log_call(c, &h, "DrillRestore", ()).await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || inner.drill_restore()).await
    }

    /// Restarts the box (after an update was installed into the other
    /// slot, so that it boots the new one).
    async fn reboot(&self, #[zbus(connection)] c: &Connection, #[zbus(header)] h: Header<'_>) -> zbus::fdo::Result<()> {
        log_call(c, &h, "Reboot", ()).await?;
        blocking(|| {
            run("systemctl", &["reboot"]).map_err(pool::Error::from)?;
            Ok(())
        })
        .await
    }

    /// Snapshots the pool and backs the snapshot up in the background.
    /// Returns a job id, "" when no backup is set up.
    async fn backup_now(
        &self,
        trigger: String,
        #[zbus(connection)] c: &Connection,
        #[zbus(header)] h: Header<'_>,
    ) -> zbus::fdo::Result<String> {
        log_call(c, &h, "BackupNow", &trigger).await?;
        let inner = Arc::clone(&self.inner);
        let prepare_trigger = trigger.clone();
        let prepared = blocking({
            let inner = Arc::clone(&inner);
            move || inner.prepare_backup(&prepare_trigger)
        })
        .await?;
        let Some((target, dir, counter)) = prepared else {
            return Ok(String::new());
        };
        let job = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        tokio::spawn(run_backup(inner, c.clone(), target, dir, trigger, counter));
        Ok(job)
    }

    async fn backup_status(&self, #[zbus(connection)] c: &Connection, #[zbus(header)] h: Header<'_>) -> zbus::fdo::Result<backup::Status> {
        log_call(c, &h, "BackupStatus", ()).await?;
        let inner = Arc::clone(&self.inner);
        blocking(move || {
            let target = Target::load(&inner.config.backup_file)?;
            Ok(inner.backup.lock().expect("backup lock").status(target.as_ref()))
        })
        .await
    }

    #[zbus(signal)]
    async fn backup_progress(emitter: &SignalEmitter<'_>, done_bytes: u64, total_bytes: u64) -> zbus::Result<()>;

    #[zbus(signal)]
    async fn backup_finished(emitter: &SignalEmitter<'_>, outcome: backup::Outcome) -> zbus::Result<()>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inner() -> Inner {
        let dir = std::path::PathBuf::from("/nonexistent");
        let config = Config {
            pool: Pool {
                mount: dir.join("pool"),
                state_file: dir.join("pool.json"),
            },
            backup_file: dir.join("backup.json"),
            include_loop: false,
            retention: Retention::default(),
            backup_disks: dir.join("backup-disks"),
        };
        Arc::try_unwrap(Storage::new(config).inner).ok().expect("the only handle")
    }

    #[test]
    fn a_backup_and_a_key_change_never_hold_the_repository_at_once() {
        let inner = inner();
        inner.claim_repository(None).unwrap();
        let refused = inner.claim_repository(Some(Arc::default())).unwrap_err();
        assert!(refused.to_string().contains("key is being changed"), "{refused}");
        inner.backup.lock().unwrap().changing_key = false;

        inner.claim_repository(Some(Arc::default())).unwrap();
        let refused = inner.claim_repository(None).unwrap_err();
        assert!(refused.to_string().contains("a backup is running"), "{refused}");
        assert!(inner.claim_repository(Some(Arc::default())).is_err(), "nor two backups");
    }
}
