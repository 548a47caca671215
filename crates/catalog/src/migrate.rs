//! Versioned schema migrations, run on every start.

use crate::{Error, Result};
use r2d2_sqlite::rusqlite::Connection;

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
