//! Users: accounts, admin flag, quota.

use crate::rusqlite::{OptionalExtension, Row, params};
use crate::{Catalog, Error, Millis, OptionalExt, Result, new_id, now_millis};

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub password_hash: String,
    pub is_admin: bool,
    pub should_change_password: bool,
    pub quota_bytes: Option<i64>,
    pub avatar_color: String,
    pub created_at: Millis,
    pub updated_at: Millis,
    /// Through the Immich web client's first-login onboarding.
    pub onboarded: bool,
}

pub struct NewUser<'a> {
    pub email: &'a str,
    pub name: &'a str,
    /// Already hashed (argon2id PHC string); the catalog never sees passwords.
    pub password_hash: &'a str,
    pub is_admin: bool,
    pub should_change_password: bool,
    pub quota_bytes: Option<i64>,
}

pub(crate) const COLUMNS: &str =
    "id, email, name, password_hash, is_admin, should_change_password, quota_bytes, avatar_color, created_at, updated_at, onboarded";

pub(crate) fn from_row(r: &Row) -> crate::rusqlite::Result<User> {
    Ok(User {
        id: r.get(0)?,
        email: r.get(1)?,
        name: r.get(2)?,
        password_hash: r.get(3)?,
        is_admin: r.get(4)?,
        should_change_password: r.get(5)?,
        quota_bytes: r.get(6)?,
        avatar_color: r.get(7)?,
        created_at: r.get(8)?,
        updated_at: r.get(9)?,
        onboarded: r.get(10)?,
    })
}

impl Catalog {
    pub fn create_user(&self, new: &NewUser) -> Result<User> {
        self.write(|tx| insert_user(tx, new))
    }

    /// Creates the first admin, atomically refusing when any admin exists.
    pub fn create_first_admin(&self, new: &NewUser) -> Result<User> {
        self.write(|tx| {
            let admins: i64 = tx.query_row("SELECT count(*) FROM users WHERE is_admin", [], |r| r.get(0))?;
            if admins > 0 {
                return Err(Error::Conflict("The server already has an admin account; sign in instead".into()));
            }
            insert_user(tx, &NewUser { is_admin: true, ..*new })
        })
    }

    pub fn has_admin(&self) -> Result<bool> {
        Ok(self
            .conn()?
            .query_row("SELECT EXISTS(SELECT 1 FROM users WHERE is_admin)", [], |r| r.get(0))?)
    }

    pub fn user(&self, id: &str) -> Result<User> {
        self.conn()?
            .query_row(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"), [id], from_row)
            .found("user")
    }

    pub fn user_by_email(&self, email: &str) -> Result<Option<User>> {
        Ok(self
            .conn()?
            .query_row(&format!("SELECT {COLUMNS} FROM users WHERE email = ?1"), [email], from_row)
            .optional()?)
    }

    pub fn users(&self) -> Result<Vec<User>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!("SELECT {COLUMNS} FROM users ORDER BY created_at"))?;
        let users = stmt.query_map([], from_row)?.collect::<Result<_, _>>()?;
        Ok(users)
    }

    pub fn set_onboarded(&self, user_id: &str, onboarded: bool) -> Result<()> {
        self.write(
            |tx| match tx.execute("UPDATE users SET onboarded = ?2 WHERE id = ?1", params![user_id, onboarded])? {
                0 => Err(Error::NotFound("user")),
                _ => Ok(()),
            },
        )
    }

    pub fn set_password_hash(&self, user_id: &str, hash: &str, should_change: bool) -> Result<()> {
        self.write(|tx| {
            let n = tx.execute(
                "UPDATE users SET password_hash = ?2, should_change_password = ?3, updated_at = ?4 WHERE id = ?1",
                params![user_id, hash, should_change, now_millis()],
            )?;
            if n == 0 {
                return Err(Error::NotFound("user"));
            }
            Ok(())
        })
    }

    /// Changes name, email and quota where given; `quota` `Some(None)` lifts the quota.
    pub fn update_user(&self, user_id: &str, name: Option<&str>, email: Option<&str>, quota: Option<Option<i64>>) -> Result<()> {
        self.write(|tx| {
            let n = tx
                .execute(
                    "UPDATE users SET name = coalesce(?2, name), email = coalesce(?3, email),
                     quota_bytes = CASE WHEN ?4 THEN ?5 ELSE quota_bytes END, updated_at = ?6 WHERE id = ?1",
                    params![user_id, name, email, quota.is_some(), quota.flatten(), now_millis()],
                )
                .map_err(|e| match e {
                    crate::rusqlite::Error::SqliteFailure(f, _) if f.code == crate::rusqlite::ErrorCode::ConstraintViolation => {
                        Error::Conflict("Another account already uses that email".into())
                    }
                    other => other.into(),
                })?;
            if n == 0 {
                return Err(Error::NotFound("user"));
            }
            Ok(())
        })
    }

    /// The user's stored preferences (a JSON object the server interprets), if any.
    pub fn user_preferences(&self, user_id: &str) -> Result<Option<String>> {
        Ok(self
            .conn()?
            .query_row("SELECT json FROM user_preferences WHERE user_id = ?1", [user_id], |r| r.get(0))
            .optional()?)
    }

    pub fn set_user_preferences(&self, user_id: &str, json: &str) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO user_preferences (user_id, json, updated_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (user_id) DO UPDATE SET json = excluded.json, updated_at = excluded.updated_at",
                params![user_id, json, now_millis()],
            )?;
            Ok(())
        })
    }

    /// Bytes of originals a user holds, trash included (it still takes disk).
    pub fn usage_bytes(&self, user_id: &str) -> Result<i64> {
        Ok(self.conn()?.query_row(
            "SELECT coalesce(sum(file_size), 0) FROM assets WHERE owner_id = ?1",
            [user_id],
            |r| r.get(0),
        )?)
    }
}

fn insert_user(tx: &crate::rusqlite::Transaction, new: &NewUser) -> Result<User> {
    let taken: bool = tx.query_row("SELECT EXISTS(SELECT 1 FROM users WHERE email = ?1)", [new.email], |r| r.get(0))?;
    if taken {
        return Err(Error::Conflict(format!("A user with the email {} already exists", new.email)));
    }
    let id = new_id();
    let now = now_millis();
    tx.execute(
        "INSERT INTO users (id, email, name, password_hash, is_admin, should_change_password, quota_bytes, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?8)",
        params![
            id,
            new.email,
            new.name,
            new.password_hash,
            new.is_admin,
            new.should_change_password,
            new.quota_bytes,
            now
        ],
    )?;
    Ok(tx.query_row(&format!("SELECT {COLUMNS} FROM users WHERE id = ?1"), [&id], from_row)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admin<'a>(email: &'a str) -> NewUser<'a> {
        NewUser {
            email,
            name: "A",
            password_hash: "x",
            is_admin: false,
            should_change_password: false,
            quota_bytes: None,
        }
    }

    #[test]
    fn only_one_first_admin_can_be_created() {
        let (_d, cat) = crate::test_catalog();
        assert!(!cat.has_admin().unwrap());
        let first = cat.create_first_admin(&admin("a@example.com")).unwrap();
        assert!(first.is_admin);
        assert!(matches!(cat.create_first_admin(&admin("b@example.com")), Err(Error::Conflict(_))));
    }

    #[test]
    fn emails_are_unique_regardless_of_case() {
        let (_d, cat) = crate::test_catalog();
        cat.create_user(&admin("Someone@Example.com")).unwrap();
        assert!(matches!(cat.create_user(&admin("someone@example.com")), Err(Error::Conflict(_))));
        assert!(cat.user_by_email("SOMEONE@example.com").unwrap().is_some());
    }
}
