//! Alerts about the box (one row per condition, open while it holds) and
//! the users' notifications, in Immich's shape: raising an alert gives
//! every admin a notification, once, however often the condition is seen.

use crate::rusqlite::{self, Connection, OptionalExtension, Row, params};
use crate::{Catalog, Millis, OptionalExt, Result, json_list, new_id, now_millis};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The condition, e.g. `backup` or `disk-smart:/dev/sda`.
    pub key: String,
    /// Immich's notification level: `error` or `warning`.
    pub level: String,
    pub title: String,
    pub message: String,
    pub raised_at: Millis,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    pub id: String,
    pub level: String,
    /// Immich's notification type: `BackupFailed`, `SystemMessage`, ...
    pub kind: String,
    pub title: String,
    pub description: Option<String>,
    /// A JSON object.
    pub data: String,
    pub created_at: Millis,
    pub read_at: Option<Millis>,
}

/// Which of a user's notifications to list; `None` matches any.
#[derive(Debug, Default, Clone)]
pub struct NotificationFilter {
    pub id: Option<String>,
    pub level: Option<String>,
    pub kind: Option<String>,
    pub unread: Option<bool>,
}

const ALERT_COLUMNS: &str = "key, level, title, message, raised_at";
const NOTIFICATION_COLUMNS: &str = "id, level, kind, title, description, data, created_at, read_at";

fn alert_row(r: &Row) -> rusqlite::Result<Alert> {
    Ok(Alert {
        key: r.get(0)?,
        level: r.get(1)?,
        title: r.get(2)?,
        message: r.get(3)?,
        raised_at: r.get(4)?,
    })
}

fn notification_row(r: &Row) -> rusqlite::Result<Notification> {
    Ok(Notification {
        id: r.get(0)?,
        level: r.get(1)?,
        kind: r.get(2)?,
        title: r.get(3)?,
        description: r.get(4)?,
        data: r.get(5)?,
        created_at: r.get(6)?,
        read_at: r.get(7)?,
    })
}

impl Catalog {
    /// Records that a condition holds. The first time (or the first time
    /// since it cleared) every admin gets a notification of `kind` and the
    /// alert is returned, for the caller to send on; while it stays open
    /// only its message follows the latest reading and `None` comes back.
    pub fn raise_alert(&self, key: &str, level: &str, kind: &str, title: &str, message: &str) -> Result<Option<Alert>> {
        self.write(|tx| {
            let open = tx
                .query_row("SELECT 1 FROM alerts WHERE key = ?1 AND cleared_at IS NULL", [key], |_| Ok(()))
                .optional()?
                .is_some();
            if open {
                tx.execute(
                    "UPDATE alerts SET message = ?2, level = ?3 WHERE key = ?1",
                    params![key, message, level],
                )?;
                return Ok(None);
            }
            let now = now_millis();
            tx.execute(
                "INSERT INTO alerts (key, level, title, message, raised_at, cleared_at) VALUES (?1, ?2, ?3, ?4, ?5, NULL)
                 ON CONFLICT (key) DO UPDATE SET level = excluded.level, title = excluded.title, message = excluded.message,
                     raised_at = excluded.raised_at, cleared_at = NULL",
                params![key, level, title, message, now],
            )?;
            let notification = Notification {
                id: String::new(),
                level: level.to_string(),
                kind: kind.to_string(),
                title: title.to_string(),
                description: Some(message.to_string()),
                data: serde_json::json!({ "alert": key }).to_string(),
                created_at: now,
                read_at: None,
            };
            let admins: Vec<String> = tx
                .prepare("SELECT id FROM users WHERE is_admin")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?;
            for admin in admins {
                insert_notification(tx, &admin, &notification)?;
            }
            Ok(Some(Alert {
                key: key.to_string(),
                level: level.to_string(),
                title: title.to_string(),
                message: message.to_string(),
                raised_at: now,
            }))
        })
    }

    /// Records that a condition no longer holds; true if it was open.
    pub fn clear_alert(&self, key: &str) -> Result<bool> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE alerts SET cleared_at = ?2 WHERE key = ?1 AND cleared_at IS NULL",
                params![key, now_millis()],
            )? > 0)
        })
    }

    /// Conditions that hold now, newest first.
    pub fn open_alerts(&self) -> Result<Vec<Alert>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE cleared_at IS NULL ORDER BY raised_at DESC, key"
        ))?;
        Ok(stmt.query_map([], alert_row)?.collect::<rusqlite::Result<_>>()?)
    }

    /// A user's notifications, newest first.
    pub fn notifications(&self, user_id: &str, filter: &NotificationFilter) -> Result<Vec<Notification>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {NOTIFICATION_COLUMNS} FROM notifications
             WHERE user_id = ?1 AND (?2 IS NULL OR id = ?2) AND (?3 IS NULL OR level = ?3) AND (?4 IS NULL OR kind = ?4)
               AND (?5 IS NULL OR (read_at IS NULL) = ?5)
             ORDER BY created_at DESC, rowid DESC"
        ))?;
        let rows = stmt.query_map(
            params![user_id, filter.id, filter.level, filter.kind, filter.unread],
            notification_row,
        )?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn notification(&self, user_id: &str, id: &str) -> Result<Notification> {
        self.conn()?
            .query_row(
                &format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE user_id = ?1 AND id = ?2"),
                [user_id, id],
                notification_row,
            )
            .found("notification")
    }

    /// Marks the user's notifications among `ids` read at `read_at`
    /// (`None`: unread again); others' ids are ignored.
    pub fn mark_notifications(&self, user_id: &str, ids: &[String], read_at: Option<Millis>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE notifications SET read_at = ?3 WHERE user_id = ?1 AND id IN (SELECT value FROM json_each(?2))",
                params![user_id, json_list(ids), read_at],
            )?;
            Ok(())
        })
    }

    /// Deletes the user's notifications among `ids`; others' are ignored.
    pub fn delete_notifications(&self, user_id: &str, ids: &[String]) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "DELETE FROM notifications WHERE user_id = ?1 AND id IN (SELECT value FROM json_each(?2))",
                params![user_id, json_list(ids)],
            )?;
            Ok(())
        })
    }
}

/// Gives `user_id` a copy of `n` under a new id.
fn insert_notification(tx: &Connection, user_id: &str, n: &Notification) -> Result<()> {
    tx.execute(
        "INSERT INTO notifications (id, user_id, level, kind, title, description, data, created_at, read_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        params![
            new_id(),
            user_id,
            n.level,
            n.kind,
            n.title,
            n.description,
            n.data,
            n.created_at,
            n.read_at
        ],
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{NewUser, test_catalog};

    use super::*;

    fn user(cat: &Catalog, email: &str, is_admin: bool) -> String {
        cat.create_user(&NewUser {
            email,
            name: email,
            password_hash: "x",
            is_admin,
            should_change_password: false,
            quota_bytes: None,
        })
        .unwrap()
        .id
    }

    #[test]
    fn an_alert_notifies_the_admins_once_while_it_holds_and_again_after_it_cleared() {
        let (_dir, cat) = test_catalog();
        let (admin, member) = (user(&cat, "a@x", true), user(&cat, "m@x", false));
        let raised = cat
            .raise_alert("backup", "error", "BackupFailed", "Backup failed", "no route")
            .unwrap();
        assert_eq!(raised.map(|a| a.key).as_deref(), Some("backup"));
        assert_eq!(
            cat.raise_alert("backup", "error", "BackupFailed", "Backup failed", "timeout")
                .unwrap(),
            None
        );
        assert_eq!(
            cat.open_alerts().unwrap()[0].message,
            "timeout",
            "the message follows the latest reading"
        );
        let all = NotificationFilter::default();
        assert_eq!(cat.notifications(&admin, &all).unwrap().len(), 1);
        assert!(
            cat.notifications(&member, &all).unwrap().is_empty(),
            "members hear nothing of the box"
        );

        assert!(cat.clear_alert("backup").unwrap());
        assert!(!cat.clear_alert("backup").unwrap());
        assert!(cat.open_alerts().unwrap().is_empty());
        assert!(
            cat.raise_alert("backup", "error", "BackupFailed", "Backup failed", "again")
                .unwrap()
                .is_some()
        );
        assert_eq!(cat.notifications(&admin, &all).unwrap().len(), 2);
    }

    #[test]
    fn notifications_are_read_filtered_and_deleted_by_their_owner_only() {
        let (_dir, cat) = test_catalog();
        let (first, second) = (user(&cat, "a@x", true), user(&cat, "b@x", true));
        cat.raise_alert("pool", "error", "SystemMessage", "Pool degraded", "a disk is missing")
            .unwrap();
        let mine = cat.notifications(&first, &NotificationFilter::default()).unwrap();
        let theirs = cat.notifications(&second, &NotificationFilter::default()).unwrap();
        let (mine, theirs) = (mine[0].id.clone(), theirs[0].id.clone());

        cat.mark_notifications(&first, &[mine.clone(), theirs.clone()], Some(5)).unwrap();
        assert_eq!(cat.notification(&first, &mine).unwrap().read_at, Some(5));
        assert_eq!(cat.notification(&second, &theirs).unwrap().read_at, None, "another's id is ignored");
        assert!(matches!(cat.notification(&first, &theirs), Err(crate::Error::NotFound(_))));
        let unread = NotificationFilter {
            unread: Some(true),
            ..Default::default()
        };
        assert!(cat.notifications(&first, &unread).unwrap().is_empty());
        assert_eq!(cat.notifications(&second, &unread).unwrap().len(), 1);

        cat.delete_notifications(&first, &[mine.clone(), theirs.clone()]).unwrap();
        assert!(cat.notifications(&first, &NotificationFilter::default()).unwrap().is_empty());
        assert_eq!(cat.notifications(&second, &NotificationFilter::default()).unwrap().len(), 1);
    }
}
