//! Versioned schema migrations, run on every start.
//!
//! Before a migration the catalog is copied whole (SQLite's backup API)
//! beside itself as `<name>.v<version>.db`: after an update that is rolled
//! back, the older program finds its catalog newer than it knows, and puts
//! that copy back in its place (setting the newer catalog aside), so it
//! starts on a catalog it can read.

use std::path::{Path, PathBuf};

use crate::{Error, Result};
use r2d2_sqlite::rusqlite::{Connection, MAIN_DB};

const MIGRATIONS: &str = include_str!("migrations.sql");

fn steps() -> Vec<&'static str> {
    // Split on the marker comment; the step keeps its own heading line,
    // which SQLite reads as a comment.
    MIGRATIONS
        .split("\n-- migration ")
        .skip(1)
        .map(|step| step.split_once('\n').map_or("", |(_, sql)| sql))
        .collect()
}

/// The number of schema steps this program knows.
pub(crate) fn known() -> i64 {
    steps().len() as i64
}

/// The copy made before migrating from `version`.
fn copy_before(path: &Path, version: i64) -> PathBuf {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    path.with_file_name(format!("{stem}.v{version}.db"))
}

/// Readies the catalog file at `path` for a program that knows `known`
/// steps, before it is opened for use: an older catalog is copied first,
/// and one newer than `known` is swapped for the copy made before it was
/// migrated, if there is one.
pub(crate) fn prepare(path: &Path, known: i64) -> Result<()> {
    if !path.exists() {
        return Ok(());
    }
    let conn = Connection::open(path)?;
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > known {
        return roll_back(conn, path, current, known);
    }
    if current == 0 || current == known {
        return Ok(());
    }
    let copy = copy_before(path, current);
    let partial = copy.with_extension("db.partial");
    conn.backup(MAIN_DB, &partial, None)?;
    std::fs::rename(&partial, &copy).map_err(|e| Error::Io(copy.display().to_string(), e))?;
    // One copy is kept: the one an immediate rollback needs.
    for old in older_copies(path)?.into_iter().filter(|p| *p != copy) {
        let _ = std::fs::remove_file(old);
    }
    tracing::info!(from = current, to = known, copy = %copy.display(), "catalog copied before migrating");
    Ok(())
}

fn older_copies(path: &Path) -> Result<Vec<PathBuf>> {
    let stem = path.file_stem().unwrap_or_default().to_string_lossy().into_owned();
    let dir = path.parent().unwrap_or(Path::new("."));
    let entries = std::fs::read_dir(dir).map_err(|e| Error::Io(dir.display().to_string(), e))?;
    Ok(entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            name.strip_prefix(&format!("{stem}.v"))
                .and_then(|rest| rest.strip_suffix(".db"))
                .is_some_and(|v| v.parse::<i64>().is_ok())
        })
        .collect())
}

/// The newer catalog is checkpointed and set aside as
/// `<name>.v<version>.rolled-back.db`; the copy takes its place.
fn roll_back(conn: Connection, path: &Path, current: i64, known: i64) -> Result<()> {
    let copy = copy_before(path, known);
    if !copy.exists() {
        return Err(Error::TooNew { found: current, known });
    }
    conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
    drop(conn);
    let stem = path.file_stem().unwrap_or_default().to_string_lossy();
    let aside = path.with_file_name(format!("{stem}.v{current}.rolled-back.db"));
    let io = |p: &Path, e| Error::Io(p.display().to_string(), e);
    std::fs::rename(path, &aside).map_err(|e| io(&aside, e))?;
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    std::fs::rename(&copy, path).map_err(|e| io(path, e))?;
    tracing::warn!(
        newer = current,
        known,
        aside = %aside.display(),
        "the catalog was newer than this program (an update was rolled back): back on the copy made before its migration"
    );
    Ok(())
}

pub(crate) fn run(conn: &mut Connection) -> Result<()> {
    let steps = steps();
    let known = steps.len() as i64;
    let current: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if current > known {
        return Err(Error::TooNew { found: current, known });
    }
    for (index, sql) in steps.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_bring_a_new_catalog_to_the_latest_version_and_are_idempotent() {
        let (dir, cat) = crate::test_catalog();
        assert_eq!(cat.schema_version().unwrap(), steps().len() as i64);
        drop(cat);
        let again = crate::Catalog::open(&dir.path().join("test.db")).unwrap();
        assert_eq!(again.schema_version().unwrap(), steps().len() as i64);
    }

    /// A catalog at schema version `version`, made by the real steps.
    fn catalog_at(path: &Path, version: usize) {
        let conn = Connection::open(path).unwrap();
        for (index, sql) in steps().iter().enumerate().take(version) {
            conn.execute_batch(sql).unwrap();
            conn.pragma_update(None, "user_version", index as i64 + 1).unwrap();
        }
    }

    fn version(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn a_migration_copies_the_catalog_first_and_a_rolled_back_program_starts_on_the_copy() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("shoebox.db");
        let older = known() as usize - 1;
        catalog_at(&path, older);
        let conn = Connection::open(&path).unwrap();
        conn.execute("INSERT INTO settings (key, value, updated_at) VALUES ('hostname', 'attic', 0)", [])
            .unwrap();
        drop(conn);

        let cat = crate::Catalog::open(&path).unwrap();
        assert_eq!(cat.schema_version().unwrap(), known());
        cat.set_settings(&[("hostname", Some("after the update"))]).unwrap();
        drop(cat);
        let copy = dir.path().join(format!("shoebox.v{older}.db"));
        assert_eq!(version(&copy), older as i64, "the copy is the catalog as it was before");

        // The older program (knowing one step fewer) starts after a rollback.
        prepare(&path, older as i64).unwrap();
        assert_eq!(version(&path), older as i64);
        let conn = Connection::open(&path).unwrap();
        let name: String = conn
            .query_row("SELECT value FROM settings WHERE key = 'hostname'", [], |r| r.get(0))
            .unwrap();
        assert_eq!(name, "attic");
        let aside = dir.path().join(format!("shoebox.v{}.rolled-back.db", known()));
        assert_eq!(version(&aside), known(), "the newer catalog is set aside, not lost");
        assert!(!copy.exists());

        // A catalog already at the program's version is neither copied nor touched.
        prepare(&aside, known()).unwrap();
        assert_eq!(older_copies(&aside).unwrap(), Vec::<PathBuf>::new());
    }

    #[test]
    fn a_catalog_from_a_newer_version_is_refused_with_advice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("new.db");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 999).unwrap();
        drop(conn);
        let err = crate::Catalog::open(&path).err().unwrap();
        assert!(err.to_string().contains("newer Shoebox"), "{err}");
    }
}
