//! The SQLite catalog: the one place that holds SQL.
//!
//! Every query Shoebox runs lives in this crate, grouped by entity. Calls are
//! synchronous and may block on disk; async callers run them on a blocking
//! thread (the server's `AppState::db`). The catalog knows nothing about HTTP
//! or about where files live: paths are opaque strings to it.

#![forbid(unsafe_code)]

mod albums;
mod alerts;
mod assets;
mod auth;
mod copies;
mod duplicates;
mod embeddings;
mod faces;
mod jobs;
mod migrate;
mod ocr;
mod partners;
mod people;
mod search;
mod settings;
mod shared_links;
mod sync;
mod timeline;
mod users;

use std::path::Path;
use std::time::Duration;

use r2d2_sqlite::SqliteConnectionManager;
pub use r2d2_sqlite::rusqlite;
use rusqlite::Connection;

pub use albums::{Album, AlbumAssetChange, AlbumRole};
pub use alerts::{Alert, Notification, NotificationFilter};
pub use assets::{Asset, AssetKind, AssetStats, AssetUpdate, Exif, NewAsset, Visibility};
pub use auth::{ApiKey, AuthSubject, Session};
pub use copies::{Contents, Original};
pub use embeddings::StoredEmbedding;
pub use faces::AssetFace;
pub use jobs::{Job, JobCounts, JobKind};
pub use ocr::OcrText;
pub use partners::PartnerDirection;
pub use people::{FaceEmbedding, Person, PersonUpdate};
pub use search::{AssetSearch, MapFilter, MapMarker, SuggestionField, SuggestionFilter};
pub use shared_links::{SharedLink, SharedLinkSettings};
pub use sync::{Deleted, Seq, SyncSnapshot};
pub use timeline::{TimelineAsset, TimelineFilter};
pub use users::{NewUser, User};

/// Milliseconds since the Unix epoch, the catalog's one time representation.
pub type Millis = i64;

pub fn now_millis() -> Millis {
    chrono::Utc::now().timestamp_millis()
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("catalog database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("could not get a catalog connection: {0}")]
    Pool(#[from] r2d2::Error),
    #[error(
        "the catalog is at schema version {found}, newer than this program knows ({known}); install a newer Shoebox or restore a catalog backup"
    )]
    TooNew { found: i64, known: i64 },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("the catalog's file {0}: {1}")]
    Io(String, std::io::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

type Pooled = r2d2::PooledConnection<SqliteConnectionManager>;

/// The write lock of [`Catalog::hold_writers`], released when dropped.
struct WritersHeld(Pooled);

impl Drop for WritersHeld {
    fn drop(&mut self) {
        // Nothing was written: rolling back only releases the lock, and a
        // failure leaves the connection in a transaction r2d2 cannot see.
        if let Err(e) = self.0.execute_batch("ROLLBACK") {
            tracing::error!("releasing the catalog's write lock: {e}");
        }
    }
}

/// A pooled handle on the catalog database; cheap to clone.
#[derive(Clone)]
pub struct Catalog {
    pool: r2d2::Pool<SqliteConnectionManager>,
    job_gates: jobs::JobGates,
}

impl Catalog {
    /// Opens (creating if needed) the catalog at `path` and brings its schema
    /// up to date.
    pub fn open(path: &Path) -> Result<Self> {
        migrate::prepare(path, migrate::known())?;
        let manager = SqliteConnectionManager::file(path).with_init(configure);
        let pool = r2d2::Pool::builder()
            .max_size(8)
            .connection_timeout(Duration::from_secs(30))
            .build(manager)?;
        let catalog = Self {
            pool,
            job_gates: Default::default(),
        };
        migrate::run(&mut *catalog.conn()?)?;
        catalog.load_paused_jobs()?;
        Ok(catalog)
    }

    fn conn(&self) -> Result<Pooled> {
        Ok(self.pool.get()?)
    }

    /// A connection now idle, if any: for work that can do without one.
    fn idle_conn(&self) -> Option<Pooled> {
        self.pool.try_get()
    }

    /// Holds the write lock, so that no commit lands while several readers
    /// begin at one snapshot of the catalog; `None` when a writer is at
    /// work or no connection is idle (neither is waited for).
    fn hold_writers(&self) -> Result<Option<WritersHeld>> {
        let Some(conn) = self.idle_conn() else {
            return Ok(None);
        };
        conn.busy_timeout(Duration::ZERO)?;
        let begun = conn.execute_batch("BEGIN IMMEDIATE");
        conn.busy_timeout(BUSY_TIMEOUT)?;
        match begun {
            Ok(()) => Ok(Some(WritersHeld(conn))),
            Err(e) if e.sqlite_error_code() == Some(rusqlite::ErrorCode::DatabaseBusy) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// Runs `f` in an immediate (write-locking) transaction, so concurrent
    /// writers queue on the busy timeout instead of failing on lock upgrade.
    fn write<T>(&self, f: impl FnOnce(&rusqlite::Transaction) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` while the catalog's files are complete and still: the WAL
    /// is checkpointed into the database file and a write lock is held, so
    /// other writers wait (up to the busy timeout) and a plain file copy
    /// made by `f` is a consistent catalog.
    pub fn while_still<T>(&self, f: impl FnOnce() -> T) -> Result<T> {
        let mut conn = self.conn()?;
        conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
        let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let out = f();
        tx.rollback()?;
        Ok(out)
    }

    /// Whether the catalog is at the schema this program knows.
    pub fn schema_is_current(&self) -> Result<bool> {
        Ok(self.schema_version()? == migrate::known())
    }

    /// The schema version the catalog is at.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn()?.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }
}

/// How long a connection waits for another's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

fn configure(conn: &mut Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // synchronous=FULL: an upload is acknowledged only after its row is on
    // disk, so a power cut cannot lose an acknowledged photo.
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;",
    )
}

pub(crate) fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

/// Maps "no rows" to a typed not-found error naming the entity.
/// A list of ids as one JSON array parameter, for `json_each(?)`: one
/// bound value however long the list, so no limit on SQL variables.
pub(crate) fn json_list<T: serde::Serialize>(items: &[T]) -> String {
    serde_json::to_string(items).expect("strings serialise")
}

pub(crate) trait OptionalExt<T> {
    fn found(self, what: &'static str) -> Result<T>;
}

impl<T> OptionalExt<T> for rusqlite::Result<T> {
    fn found(self, what: &'static str) -> Result<T> {
        match self {
            Err(rusqlite::Error::QueryReturnedNoRows) => Err(Error::NotFound(what)),
            other => Ok(other?),
        }
    }
}

#[cfg(test)]
pub(crate) fn test_catalog() -> (tempfile::TempDir, Catalog) {
    let dir = tempfile::tempdir().unwrap();
    let cat = Catalog::open(&dir.path().join("test.db")).unwrap();
    (dir, cat)
}
