//! Sessions and API keys. Only hashes of secrets are stored; callers hash
//! the presented token and look it up by hash.

use crate::rusqlite::{OptionalExtension, Row, params};
use crate::{Catalog, Error, Millis, Result, User, new_id, now_millis};

#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub user_id: String,
    pub device_type: String,
    pub device_os: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// The server asked this device to empty its copy and sync again.
    pub pending_sync_reset: bool,
}

#[derive(Debug, Clone)]
pub struct ApiKey {
    pub id: String,
    pub user_id: String,
    pub name: String,
    pub permissions: Vec<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// Who a request acts as, and through which credential.
#[derive(Debug, Clone)]
pub enum AuthSubject {
    Session { user: User, session: Session },
    ApiKey { user: User, key: ApiKey },
}

impl AuthSubject {
    pub fn user(&self) -> &User {
        match self {
            AuthSubject::Session { user, .. } | AuthSubject::ApiKey { user, .. } => user,
        }
    }
}

fn session_from_row(r: &Row) -> crate::rusqlite::Result<Session> {
    Ok(Session {
        id: r.get(0)?,
        user_id: r.get(1)?,
        device_type: r.get(2)?,
        device_os: r.get(3)?,
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
        pending_sync_reset: r.get(6)?,
    })
}

fn key_from_row(r: &Row) -> crate::rusqlite::Result<ApiKey> {
    let permissions: String = r.get(3)?;
    Ok(ApiKey {
        id: r.get(0)?,
        user_id: r.get(1)?,
        name: r.get(2)?,
        permissions: serde_json::from_str(&permissions).unwrap_or_default(),
        created_at: r.get(4)?,
        updated_at: r.get(5)?,
    })
}

const SESSION_COLUMNS: &str = "id, user_id, device_type, device_os, created_at, updated_at, pending_sync_reset";
const KEY_COLUMNS: &str = "id, user_id, name, permissions, created_at, updated_at";

impl Catalog {
    pub fn create_session(&self, user_id: &str, token_hash: &[u8], device_type: &str, device_os: &str) -> Result<Session> {
        let id = new_id();
        let now = now_millis();
        self.write(|tx| {
            tx.execute(
                "INSERT INTO sessions (id, user_id, token_hash, device_type, device_os, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![id, user_id, token_hash, device_type, device_os, now],
            )?;
            Ok(tx.query_row(&format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE id = ?1"), [&id], session_from_row)?)
        })
    }

    pub fn delete_session(&self, id: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM sessions WHERE id = ?1", [id])?;
            Ok(())
        })
    }

    /// Deletes one of the user's sessions; another user's is not found.
    pub fn delete_user_session(&self, user_id: &str, id: &str) -> Result<()> {
        self.write(
            |tx| match tx.execute("DELETE FROM sessions WHERE id = ?1 AND user_id = ?2", [id, user_id])? {
                0 => Err(Error::NotFound("session")),
                _ => Ok(()),
            },
        )
    }

    /// Signs the user out everywhere but `keep` (the session asking).
    pub fn delete_other_sessions(&self, user_id: &str, keep: Option<&str>) -> Result<usize> {
        self.write(|tx| Ok(tx.execute("DELETE FROM sessions WHERE user_id = ?1 AND id IS NOT ?2", params![user_id, keep])?))
    }

    /// Marks one of the user's sessions as due to start its sync over (or
    /// not); another user's is not found.
    pub fn set_pending_sync_reset(&self, user_id: &str, id: &str, pending: bool) -> Result<Session> {
        self.write(|tx| {
            tx.query_row(
                &format!("UPDATE sessions SET pending_sync_reset = ?3 WHERE id = ?1 AND user_id = ?2 RETURNING {SESSION_COLUMNS}"),
                params![id, user_id, pending],
                session_from_row,
            )
            .optional()?
            .ok_or(Error::NotFound("session"))
        })
    }

    pub fn sessions(&self, user_id: &str) -> Result<Vec<Session>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE user_id = ?1 ORDER BY updated_at DESC"
        ))?;
        let rows = stmt.query_map([user_id], session_from_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    pub fn create_api_key(&self, user_id: &str, name: &str, key_hash: &[u8], permissions: &[String]) -> Result<ApiKey> {
        let id = new_id();
        let now = now_millis();
        let perms = serde_json::to_string(permissions).expect("strings serialise");
        self.write(|tx| {
            tx.execute(
                "INSERT INTO api_keys (id, user_id, name, key_hash, permissions, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6)",
                params![id, user_id, name, key_hash, perms, now],
            )?;
            Ok(tx.query_row(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?1"), [&id], key_from_row)?)
        })
    }

    pub fn api_keys(&self, user_id: &str) -> Result<Vec<ApiKey>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {KEY_COLUMNS} FROM api_keys WHERE user_id = ?1 ORDER BY created_at"
        ))?;
        let rows = stmt.query_map([user_id], key_from_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// A key of this user's; another user's key is reported as not found.
    pub fn api_key(&self, user_id: &str, id: &str) -> Result<ApiKey> {
        self.conn()?
            .query_row(
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?1 AND user_id = ?2"),
                [id, user_id],
                key_from_row,
            )
            .optional()?
            .ok_or(Error::NotFound("API key"))
    }

    pub fn delete_api_key(&self, user_id: &str, id: &str) -> Result<()> {
        self.write(
            |tx| match tx.execute("DELETE FROM api_keys WHERE id = ?1 AND user_id = ?2", [id, user_id])? {
                0 => Err(Error::NotFound("API key")),
                _ => Ok(()),
            },
        )
    }

    pub fn rename_api_key(&self, user_id: &str, id: &str, name: &str) -> Result<ApiKey> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE api_keys SET name = ?3, updated_at = ?4 WHERE id = ?1 AND user_id = ?2",
                params![id, user_id, name, now_millis()],
            )?;
            if n == 0 {
                return Err(Error::NotFound("API key"));
            }
            Ok(tx.query_row(&format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE id = ?1"), [id], key_from_row)?)
        })
    }

    /// Resolves a hashed bearer/cookie token or API key secret to its subject.
    pub fn authenticate(&self, token_hash: &[u8]) -> Result<Option<AuthSubject>> {
        let conn = self.conn()?;
        let session = conn
            .query_row(
                &format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = ?1"),
                [token_hash],
                session_from_row,
            )
            .optional()?;
        if let Some(session) = session {
            let user = self.user(&session.user_id)?;
            return Ok(Some(AuthSubject::Session { user, session }));
        }
        let key = conn
            .query_row(
                &format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_hash = ?1"),
                [token_hash],
                key_from_row,
            )
            .optional()?;
        match key {
            Some(key) => Ok(Some(AuthSubject::ApiKey {
                user: self.user(&key.user_id)?,
                key,
            })),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::NewUser;

    #[test]
    fn a_deleted_session_no_longer_authenticates() {
        let (_d, cat) = crate::test_catalog();
        let u = cat
            .create_user(&NewUser {
                email: "a@b.c",
                name: "A",
                password_hash: "h",
                is_admin: false,
                should_change_password: false,
                quota_bytes: None,
            })
            .unwrap();
        let s = cat.create_session(&u.id, b"hash-1", "", "").unwrap();
        assert!(cat.authenticate(b"hash-1").unwrap().is_some());
        cat.delete_session(&s.id).unwrap();
        assert!(cat.authenticate(b"hash-1").unwrap().is_none());
    }

    #[test]
    fn api_keys_of_other_users_are_invisible() {
        let (_d, cat) = crate::test_catalog();
        let mk = |e| {
            cat.create_user(&NewUser {
                email: e,
                name: "A",
                password_hash: "h",
                is_admin: false,
                should_change_password: false,
                quota_bytes: None,
            })
            .unwrap()
        };
        let (a, b) = (mk("a@x.y"), mk("b@x.y"));
        let key = cat.create_api_key(&a.id, "k", b"secret", &["all".into()]).unwrap();
        assert!(cat.api_key(&b.id, &key.id).is_err());
        assert!(cat.delete_api_key(&b.id, &key.id).is_err());
        assert_eq!(cat.api_key(&a.id, &key.id).unwrap().permissions, vec!["all".to_string()]);
    }
}
