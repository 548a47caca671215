//! A catalog as a whole: what a backup of it holds, every original it
//! names, and replacing the live catalog with a restored one.

use rusqlite::backup::Backup;
use rusqlite::{Connection, OpenFlags};

use crate::{Catalog, Millis, Result};

/// What a catalog holds, as the setup wizard shows a backup before restoring it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contents {
    /// (name, email) of each user, oldest first.
    pub users: Vec<(String, String)>,
    pub photos: u64,
    pub videos: u64,
    pub albums: u64,
    pub people: u64,
}

impl Contents {
    /// No account and no photo or video: a box a backup may be restored onto.
    pub fn blank(&self) -> bool {
        self.users.is_empty() && self.photos + self.videos == 0
    }
}

/// One asset's original file and the checksum it was stored with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Original {
    pub id: String,
    pub owner_id: String,
    pub original_file_name: String,
    /// Relative to the data folder.
    pub path: String,
    pub checksum: Vec<u8>,
    pub created_at: Millis,
}

impl Catalog {
    pub fn contents(&self) -> Result<Contents> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare("SELECT name, email FROM users ORDER BY created_at")?;
        let users = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        let count = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).map(|n| n as u64);
        Ok(Contents {
            users,
            photos: count("SELECT count(*) FROM assets WHERE kind = 'IMAGE'")?,
            videos: count("SELECT count(*) FROM assets WHERE kind = 'VIDEO'")?,
            albums: count("SELECT count(*) FROM albums")?,
            people: count("SELECT count(*) FROM people")?,
        })
    }

    /// Every asset's original (trashed ones too: they are still the owner's).
    pub fn originals(&self) -> Result<Vec<Original>> {
        let conn = self.conn()?;
        let mut stmt =
            conn.prepare("SELECT id, owner_id, original_file_name, original_path, checksum, created_at FROM assets ORDER BY id")?;
        let originals = stmt
            .query_map([], |r| {
                Ok(Original {
                    id: r.get(0)?,
                    owner_id: r.get(1)?,
                    original_file_name: r.get(2)?,
                    path: r.get(3)?,
                    checksum: r.get(4)?,
                    created_at: r.get(5)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        Ok(originals)
    }

    /// Each user's id and when the account was made.
    pub fn user_ids(&self) -> Result<Vec<(String, Millis)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare("SELECT id, created_at FROM users")?;
        let ids = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?.collect::<Result<_, _>>()?;
        Ok(ids)
    }

    /// Replaces everything in this catalog with the catalog file at `source`,
    /// in one step of SQLite's backup API: other connections see either the
    /// old catalog or the new one. The caller restarts the program after,
    /// since what it read from the old catalog is stale.
    pub fn replace_with(&self, source: &std::path::Path) -> Result<()> {
        let source = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
        let mut conn = self.conn()?;
        let backup = Backup::new(&source, &mut conn)?;
        backup.step(-1)?;
        Ok(())
    }
}
