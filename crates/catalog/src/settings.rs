//! Server-wide settings (box name, time zone, setup progress) as text
//! values under fixed keys; the server owns their meaning and validation.

use crate::rusqlite::{Connection, OptionalExtension, params};
use crate::{Catalog, Result, now_millis};

impl Catalog {
    pub fn setting(&self, key: &str) -> Result<Option<String>> {
        let conn = self.conn()?;
        setting_in(&conn, key)
    }

    /// Writes several settings in one transaction; `None` removes a key.
    pub fn set_settings(&self, changes: &[(&str, Option<&str>)]) -> Result<()> {
        self.write(|tx| {
            for (key, value) in changes {
                put_setting(tx, key, *value)?;
            }
            Ok(())
        })
    }
}

/// A setting's value, read on a connection or inside a transaction.
pub(crate) fn setting_in(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

/// Writes a setting inside a transaction; `None` removes it.
pub(crate) fn put_setting(tx: &Connection, key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => tx.execute(
            "INSERT INTO settings (key, value, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            params![key, v, now_millis()],
        )?,
        None => tx.execute("DELETE FROM settings WHERE key = ?1", [key])?,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::test_catalog;

    #[test]
    fn settings_are_written_together_and_can_be_removed() {
        let (_dir, cat) = test_catalog();
        assert_eq!(cat.setting("hostname").unwrap(), None);
        cat.set_settings(&[("hostname", Some("attic")), ("backup_target", Some("/mnt/usb"))])
            .unwrap();
        cat.set_settings(&[("hostname", Some("loft")), ("backup_target", None)]).unwrap();
        assert_eq!(cat.setting("hostname").unwrap().as_deref(), Some("loft"));
        assert_eq!(cat.setting("backup_target").unwrap(), None);
    }
}
