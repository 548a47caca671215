//! Albums and their assets.

use crate::partners::PARTNERS_OF;
use crate::rusqlite::{OptionalExtension, Row, Transaction, params};
use crate::users::{COLUMNS as USER_COLUMNS, from_row as user_from_row};
use crate::{Catalog, Error, Millis, OptionalExt, Result, User, new_id, now_millis};

#[derive(Debug, Clone)]
pub struct Album {
    pub id: String,
    pub owner_id: String,
    pub name: String,
    pub description: String,
    pub thumbnail_asset_id: Option<String>,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub asset_count: i64,
    /// Capture-time range of the album's assets, on the wall clock.
    pub start: Option<Millis>,
    pub end: Option<Millis>,
}

/// What happened to one asset id in an add/remove request (Immich's
/// `BulkIdResponseDto`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlbumAssetChange {
    Done,
    Duplicate,
    NotFound,
}

/// What a user may do in an album.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlbumRole {
    Owner,
    /// Adds their own photos, removes the ones they added.
    Editor,
    Viewer,
}

impl AlbumRole {
    pub fn as_str(self) -> &'static str {
        match self {
            AlbumRole::Owner => "owner",
            AlbumRole::Editor => "editor",
            AlbumRole::Viewer => "viewer",
        }
    }

    /// A member's role; "owner" is not one that can be given.
    pub fn parse_member(s: &str) -> Option<Self> {
        match s {
            "editor" => Some(AlbumRole::Editor),
            "viewer" => Some(AlbumRole::Viewer),
            _ => None,
        }
    }
}

/// Albums a user sees: their own and those shared with them (`?1` is the user).
pub(crate) const VISIBLE_ALBUMS: &str =
    "SELECT id FROM albums WHERE owner_id = ?1 UNION SELECT album_id FROM album_users WHERE user_id = ?1";

/// An album row with its derived cover, count and date range; `al` is the album.
macro_rules! album_columns {
    () => {
        "al.id, al.owner_id, al.name, al.description,
        coalesce(al.thumbnail_asset_id, (SELECT aa.asset_id FROM album_assets aa JOIN assets a ON a.id = aa.asset_id
            WHERE aa.album_id = al.id AND a.deleted_at IS NULL ORDER BY a.local_taken_at DESC LIMIT 1)),
        al.created_at, al.updated_at,
        (SELECT count(*) FROM album_assets aa JOIN assets a ON a.id = aa.asset_id WHERE aa.album_id = al.id AND a.deleted_at IS NULL),
        (SELECT min(a.local_taken_at) FROM album_assets aa JOIN assets a ON a.id = aa.asset_id WHERE aa.album_id = al.id AND a.deleted_at IS NULL),
        (SELECT max(a.local_taken_at) FROM album_assets aa JOIN assets a ON a.id = aa.asset_id WHERE aa.album_id = al.id AND a.deleted_at IS NULL)"
    };
}
pub(crate) const COLUMNS: &str = album_columns!();
const SELECT: &str = concat!("SELECT ", album_columns!(), " FROM albums al");

pub(crate) fn from_row(r: &Row) -> crate::rusqlite::Result<Album> {
    Ok(Album {
        id: r.get(0)?,
        owner_id: r.get(1)?,
        name: r.get(2)?,
        description: r.get(3)?,
        thumbnail_asset_id: r.get(4)?,
        created_at: r.get(5)?,
        updated_at: r.get(6)?,
        asset_count: r.get(7)?,
        start: r.get(8)?,
        end: r.get(9)?,
    })
}

fn owned_album(tx: &Transaction, owner_id: &str, id: &str) -> Result<Album> {
    tx.query_row(&format!("{SELECT} WHERE al.id = ?1 AND al.owner_id = ?2"), [id, owner_id], from_row)
        .found("album")
}

/// The user's role in the album; no role reads as "no such album".
fn role_in(tx: &Transaction, user_id: &str, album_id: &str) -> Result<AlbumRole> {
    let role: Option<String> = tx
        .query_row(
            "SELECT CASE WHEN owner_id = ?2 THEN 'owner'
                    ELSE (SELECT role FROM album_users WHERE album_id = ?1 AND user_id = ?2) END
             FROM albums WHERE id = ?1",
            [album_id, user_id],
            |r| r.get(0),
        )
        .optional()?
        .flatten();
    match role.as_deref() {
        Some("owner") => Ok(AlbumRole::Owner),
        Some(other) => AlbumRole::parse_member(other).ok_or(Error::NotFound("album")),
        None => Err(Error::NotFound("album")),
    }
}

/// Gives every photo of the album a new change number, so a member who
/// just joined receives them all through the sync stream.
fn restamp_album_assets(tx: &Transaction, album_id: &str) -> Result<()> {
    let rows: Vec<i64> = tx
        .prepare("SELECT rowid FROM album_assets WHERE album_id = ?1 ORDER BY added_at")?
        .query_map([album_id], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for rowid in rows {
        tx.execute("UPDATE sync_clock SET seq = seq + 1", [])?;
        tx.execute(
            "UPDATE album_assets SET sync_seq = (SELECT seq FROM sync_clock) WHERE rowid = ?1",
            [rowid],
        )?;
    }
    tx.execute("UPDATE albums SET updated_at = ?2 WHERE id = ?1", params![album_id, now_millis()])?;
    Ok(())
}

fn add_in(tx: &Transaction, owner_id: &str, album_id: &str, ids: &[String]) -> Result<Vec<AlbumAssetChange>> {
    let now = now_millis();
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        // The user's own photos, and those of partners who share their library with them, as in Immich.
        let allowed: bool = tx.query_row(
            &format!("SELECT EXISTS(SELECT 1 FROM assets WHERE id = ?2 AND (owner_id = ?1 OR owner_id IN ({PARTNERS_OF})))"),
            [owner_id, id],
            |r| r.get(0),
        )?;
        if !allowed {
            out.push(AlbumAssetChange::NotFound);
            continue;
        }
        let n = tx.execute(
            "INSERT OR IGNORE INTO album_assets (album_id, asset_id, added_at) VALUES (?1, ?2, ?3)",
            params![album_id, id, now],
        )?;
        out.push(if n == 1 {
            AlbumAssetChange::Done
        } else {
            AlbumAssetChange::Duplicate
        });
    }
    tx.execute("UPDATE albums SET updated_at = ?2 WHERE id = ?1", params![album_id, now])?;
    Ok(out)
}

impl Catalog {
    pub fn create_album(&self, owner_id: &str, name: &str, description: &str, asset_ids: &[String]) -> Result<Album> {
        let id = new_id();
        self.write(|tx| {
            let now = now_millis();
            tx.execute(
                "INSERT INTO albums (id, owner_id, name, description, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                params![id, owner_id, name, description, now],
            )?;
            add_in(tx, owner_id, &id, asset_ids)?;
            owned_album(tx, owner_id, &id)
        })
    }

    /// The user's albums and those shared with them; `shared` picks albums
    /// with other members (true) or without (false).
    pub fn albums(&self, user_id: &str, shared: Option<bool>) -> Result<Vec<Album>> {
        let has_members = "(al.owner_id <> ?1 OR EXISTS (SELECT 1 FROM album_users m WHERE m.album_id = al.id))";
        let which = match shared {
            None => String::new(),
            Some(true) => format!("AND {has_members}"),
            Some(false) => format!("AND NOT {has_members}"),
        };
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "{SELECT} WHERE al.id IN ({VISIBLE_ALBUMS}) {which} ORDER BY al.created_at DESC"
        ))?;
        let rows = stmt.query_map([user_id], from_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Albums the user sees that contain the asset.
    pub fn albums_with_asset(&self, user_id: &str, asset_id: &str) -> Result<Vec<Album>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "{SELECT} WHERE al.id IN ({VISIBLE_ALBUMS}) AND al.id IN (SELECT album_id FROM album_assets WHERE asset_id = ?2) ORDER BY al.created_at DESC"
        ))?;
        let rows = stmt.query_map([user_id, asset_id], from_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// An album the user owns or is a member of.
    pub fn album(&self, user_id: &str, id: &str) -> Result<Album> {
        self.conn()?
            .query_row(
                &format!("{SELECT} WHERE al.id = ?2 AND al.id IN ({VISIBLE_ALBUMS})"),
                [user_id, id],
                from_row,
            )
            .found("album")
    }

    /// The album's members other than the owner, in the order they joined.
    pub fn album_members(&self, album_id: &str) -> Result<Vec<(User, AlbumRole)>> {
        let conn = self.conn()?;
        let columns = USER_COLUMNS.split(", ").map(|c| format!("u.{c}")).collect::<Vec<_>>().join(", ");
        let mut stmt = conn.prepare(&format!(
            "SELECT {columns}, m.role FROM album_users m JOIN users u ON u.id = m.user_id WHERE m.album_id = ?1 ORDER BY m.created_at"
        ))?;
        let rows = stmt.query_map([album_id], |r| {
            let role: String = r.get("role")?;
            Ok((user_from_row(r)?, AlbumRole::parse_member(&role).unwrap_or(AlbumRole::Viewer)))
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Shares the owner's album with other users.
    pub fn share_album(&self, owner_id: &str, album_id: &str, members: &[(String, AlbumRole)]) -> Result<()> {
        self.write(|tx| {
            owned_album(tx, owner_id, album_id)?;
            for (user_id, role) in members {
                if user_id == owner_id {
                    return Err(Error::Conflict("The owner is already in the album".into()));
                }
                let exists: bool = tx.query_row("SELECT EXISTS(SELECT 1 FROM users WHERE id = ?1)", [user_id], |r| r.get(0))?;
                if !exists {
                    return Err(Error::NotFound("user"));
                }
                let added = tx.execute(
                    "INSERT OR IGNORE INTO album_users (album_id, user_id, role, created_at) VALUES (?1, ?2, ?3, ?4)",
                    params![album_id, user_id, role.as_str(), now_millis()],
                )?;
                if added == 0 {
                    return Err(Error::Conflict("That user is already in the album".into()));
                }
            }
            restamp_album_assets(tx, album_id)
        })
    }

    pub fn set_album_role(&self, owner_id: &str, album_id: &str, user_id: &str, role: AlbumRole) -> Result<()> {
        self.write(|tx| {
            owned_album(tx, owner_id, album_id)?;
            match tx.execute(
                "UPDATE album_users SET role = ?3 WHERE album_id = ?1 AND user_id = ?2",
                params![album_id, user_id, role.as_str()],
            )? {
                0 => Err(Error::NotFound("album member")),
                _ => Ok(()),
            }
        })
    }

    /// The owner removes a member, or a member leaves.
    pub fn remove_album_member(&self, actor_id: &str, album_id: &str, user_id: &str) -> Result<()> {
        self.write(|tx| {
            let role = role_in(tx, actor_id, album_id)?;
            if role != AlbumRole::Owner && actor_id != user_id {
                return Err(Error::Conflict("Only the album's owner can remove other members".into()));
            }
            match tx.execute("DELETE FROM album_users WHERE album_id = ?1 AND user_id = ?2", [album_id, user_id])? {
                0 if role == AlbumRole::Owner && actor_id == user_id => {
                    Err(Error::Conflict("The owner cannot leave the album; delete it instead".into()))
                }
                0 => Err(Error::NotFound("album member")),
                _ => Ok(()),
            }
        })
    }

    /// Ids of the album's assets that are not in the trash, newest first.
    /// An album by id, whoever owns it. Callers check access.
    pub fn album_by_id(&self, id: &str) -> Result<Album> {
        self.conn()?
            .query_row(&format!("{SELECT} WHERE al.id = ?1"), [id], from_row)
            .found("album")
    }

    pub fn album_asset_ids(&self, album_id: &str) -> Result<Vec<String>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(
            "SELECT a.id FROM album_assets aa JOIN assets a ON a.id = aa.asset_id
             WHERE aa.album_id = ?1 AND a.deleted_at IS NULL ORDER BY a.local_taken_at DESC",
        )?;
        let rows = stmt.query_map([album_id], |r| r.get(0))?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    pub fn update_album(
        &self,
        owner_id: &str,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
        thumbnail: Option<&str>,
    ) -> Result<Album> {
        self.write(|tx| {
            if let Some(asset) = thumbnail {
                let in_album: bool = tx.query_row(
                    "SELECT EXISTS(SELECT 1 FROM album_assets WHERE album_id = ?1 AND asset_id = ?2)",
                    [id, asset],
                    |r| r.get(0),
                )?;
                if !in_album {
                    return Err(Error::Conflict("The album cover must be one of the album's photos".into()));
                }
            }
            let n = tx.execute(
                "UPDATE albums SET name = coalesce(?3, name), description = coalesce(?4, description),
                    thumbnail_asset_id = coalesce(?5, thumbnail_asset_id), updated_at = ?6
                 WHERE id = ?1 AND owner_id = ?2",
                params![id, owner_id, name, description, thumbnail, now_millis()],
            )?;
            if n == 0 {
                return Err(Error::NotFound("album"));
            }
            owned_album(tx, owner_id, id)
        })
    }

    pub fn delete_album(&self, owner_id: &str, id: &str) -> Result<()> {
        self.write(
            |tx| match tx.execute("DELETE FROM albums WHERE id = ?1 AND owner_id = ?2", [id, owner_id])? {
                0 => Err(Error::NotFound("album")),
                _ => Ok(()),
            },
        )
    }

    /// The owner or an editor adds their own assets.
    pub fn add_album_assets(&self, user_id: &str, album_id: &str, ids: &[String]) -> Result<Vec<AlbumAssetChange>> {
        self.write(|tx| {
            if role_in(tx, user_id, album_id)? == AlbumRole::Viewer {
                return Err(Error::Conflict(
                    "Viewers cannot add photos: ask the album's owner to make you an editor".into(),
                ));
            }
            add_in(tx, user_id, album_id, ids)
        })
    }

    /// The owner removes any asset; an editor only their own.
    pub fn remove_album_assets(&self, user_id: &str, album_id: &str, ids: &[String]) -> Result<Vec<AlbumAssetChange>> {
        self.write(|tx| {
            let role = role_in(tx, user_id, album_id)?;
            if role == AlbumRole::Viewer {
                return Err(Error::Conflict("Viewers cannot remove photos from the album".into()));
            }
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let n = tx.execute(
                    "DELETE FROM album_assets WHERE album_id = ?1 AND asset_id = ?2
                       AND (?3 OR asset_id IN (SELECT id FROM assets WHERE owner_id = ?4))",
                    params![album_id, id, role == AlbumRole::Owner, user_id],
                )?;
                out.push(if n == 1 {
                    AlbumAssetChange::Done
                } else {
                    AlbumAssetChange::NotFound
                });
            }
            // A cover that left the album falls back to the newest photo.
            tx.execute(
                "UPDATE albums SET updated_at = ?2, thumbnail_asset_id = CASE WHEN thumbnail_asset_id IN
                    (SELECT asset_id FROM album_assets WHERE album_id = ?1) THEN thumbnail_asset_id END WHERE id = ?1",
                params![album_id, now_millis()],
            )?;
            Ok(out)
        })
    }

    /// The owner's album with exactly this name, if any (the CLI reuses albums by name).
    pub fn album_by_name(&self, owner_id: &str, name: &str) -> Result<Option<Album>> {
        Ok(self
            .conn()?
            .query_row(
                &format!("{SELECT} WHERE al.owner_id = ?1 AND al.name = ?2"),
                [owner_id, name],
                from_row,
            )
            .optional()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::tests::{new_asset, user};

    #[test]
    fn albums_take_only_the_owners_assets_and_report_each_id() {
        let (_d, cat) = crate::test_catalog();
        let (a, b) = (user(&cat, "a@x"), user(&cat, "b@x"));
        let mine = cat.commit_asset(&new_asset(&a, b"1")).unwrap().unwrap();
        let theirs = cat.commit_asset(&new_asset(&b, b"2")).unwrap().unwrap();
        let album = cat.create_album(&a, "Trip", "", &[]).unwrap();
        let result = cat
            .add_album_assets(&a, &album.id, &[mine.id.clone(), theirs.id.clone(), mine.id.clone()])
            .unwrap();
        assert_eq!(
            result,
            vec![AlbumAssetChange::Done, AlbumAssetChange::NotFound, AlbumAssetChange::Duplicate]
        );
        let album = cat.album(&a, &album.id).unwrap();
        assert_eq!(
            (album.asset_count, album.thumbnail_asset_id.as_deref()),
            (1, Some(mine.id.as_str()))
        );
        assert!(cat.album(&b, &album.id).is_err(), "another user cannot see the album");
        assert!(cat.add_album_assets(&b, &album.id, std::slice::from_ref(&theirs.id)).is_err());
    }

    #[test]
    fn trashed_assets_leave_album_counts_until_restored() {
        let (_d, cat) = crate::test_catalog();
        let a = user(&cat, "a@x");
        let asset = cat.commit_asset(&new_asset(&a, b"1")).unwrap().unwrap();
        let album = cat.create_album(&a, "A", "", std::slice::from_ref(&asset.id)).unwrap();
        assert_eq!(album.asset_count, 1);
        cat.trash_assets(&a, std::slice::from_ref(&asset.id)).unwrap();
        assert_eq!(cat.album(&a, &album.id).unwrap().asset_count, 0);
        cat.restore_trash(&a).unwrap();
        assert_eq!(cat.album(&a, &album.id).unwrap().asset_count, 1);
    }
}
