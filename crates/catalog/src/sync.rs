//! Change feeds for the mobile apps' sync stream.
//!
//! Every synced row carries `sync_seq`, the value of one global counter when
//! it was last written (kept by triggers, see migration 6), and permanent
//! deletions are recorded in `sync_deletions` under the same counter. A
//! stream reads one snapshot and sends, per feed, the rows numbered after the
//! client's checkpoint up to the snapshot's counter, in counter order.

use crate::albums::{COLUMNS as ALBUM_COLUMNS, VISIBLE_ALBUMS, from_row as album_from_row};
use crate::assets::{COLUMNS as ASSET_COLUMNS, EXIF_COLUMNS, exif_from_row, from_row as asset_from_row};
use crate::faces::{FACE_COLUMNS, face_from_row};
use crate::partners::PARTNERS_OF;
use crate::people::{COLUMNS as PERSON_COLUMNS, from_row as person_from_row};
use crate::rusqlite::{OptionalExtension, Row, ToSql, Transaction, params};
use crate::settings::put_setting;
use crate::users::{COLUMNS as USER_COLUMNS, from_row as user_from_row};
use crate::{Album, AlbumRole, Asset, AssetFace, Catalog, Exif, Millis, Person, Result, User};

/// A position in the change order.
pub type Seq = i64;

/// What a deletion record is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Deleted {
    User,
    Asset,
    Album,
    /// An asset taken out of an album; the record's second key is the asset.
    AlbumAsset,
    /// A member who left an album; the second key is the member.
    AlbumUser,
    /// A partnership that ended: (sharer, receiver).
    Partner,
    Person,
    /// A face no longer in its photo (found anew, or removed).
    AssetFace,
}

impl Deleted {
    fn kind(self) -> &'static str {
        match self {
            Deleted::User => "user",
            Deleted::Asset => "asset",
            Deleted::Album => "album",
            Deleted::AlbumAsset => "album_asset",
            Deleted::AlbumUser => "album_user",
            Deleted::Partner => "partner",
            Deleted::Person => "person",
            Deleted::AssetFace => "asset_face",
        }
    }
}

const PRUNED_THROUGH: &str = "sync_deletions_pruned_through";

/// A consistent read of the catalog for one sync stream.
pub struct SyncSnapshot<'c> {
    tx: Transaction<'c>,
    bound: Seq,
}

impl Catalog {
    /// Runs `f` on one read snapshot of the catalog.
    pub fn sync_snapshot<T>(&self, f: impl FnOnce(&SyncSnapshot) -> Result<T>) -> Result<T> {
        let mut conn = self.conn()?;
        let tx = conn.transaction_with_behavior(crate::rusqlite::TransactionBehavior::Deferred)?;
        let bound = tx.query_row("SELECT seq FROM sync_clock", [], |r| r.get(0))?;
        f(&SyncSnapshot { tx, bound })
    }

    /// The session's checkpoints: (entity type, acknowledgement) pairs.
    pub fn sync_checkpoints(&self, session_id: &str) -> Result<Vec<(String, String)>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare("SELECT type, ack FROM sync_checkpoints WHERE session_id = ?1 ORDER BY type")?;
        let rows = stmt.query_map([session_id], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn set_sync_checkpoints(&self, session_id: &str, acks: &[(String, String)]) -> Result<()> {
        self.write(|tx| {
            for (kind, ack) in acks {
                tx.execute(
                    "INSERT INTO sync_checkpoints (session_id, type, ack) VALUES (?1, ?2, ?3)
                     ON CONFLICT (session_id, type) DO UPDATE SET ack = excluded.ack",
                    params![session_id, kind, ack],
                )?;
            }
            Ok(())
        })
    }

    /// Drops deletion records older than `cutoff`, and everything numbered
    /// before them, and remembers how far: a client whose last complete
    /// sync is older may have missed deletions and must start over.
    pub fn prune_sync_deletions(&self, cutoff: Millis) -> Result<usize> {
        self.write(|tx| {
            let newest: Option<Seq> = tx.query_row("SELECT max(seq) FROM sync_deletions WHERE deleted_at < ?1", [cutoff], |r| r.get(0))?;
            let Some(newest) = newest else {
                return Ok(0);
            };
            let pruned = tx.execute("DELETE FROM sync_deletions WHERE seq <= ?1", [newest])?;
            put_setting(tx, PRUNED_THROUGH, Some(&newest.to_string()))?;
            Ok(pruned)
        })
    }

    /// The change number up to which deletion records are gone.
    pub fn sync_pruned_through(&self) -> Result<Seq> {
        Ok(self.setting(PRUNED_THROUGH)?.and_then(|v| v.parse().ok()).unwrap_or(0))
    }

    /// Forgets the given checkpoints, or all of the session's with `None`,
    /// which also ends a reset the server asked for.
    pub fn clear_sync_checkpoints(&self, session_id: &str, types: Option<&[String]>) -> Result<()> {
        self.write(|tx| {
            match types {
                None => {
                    tx.execute("UPDATE sessions SET pending_sync_reset = 0 WHERE id = ?1", [session_id])?;
                    tx.execute("DELETE FROM sync_checkpoints WHERE session_id = ?1", [session_id])?
                }
                Some(types) => {
                    let mut n = 0;
                    for kind in types {
                        n += tx.execute(
                            "DELETE FROM sync_checkpoints WHERE session_id = ?1 AND type = ?2",
                            [session_id, kind],
                        )?;
                    }
                    n
                }
            };
            Ok(())
        })
    }
}

impl SyncSnapshot<'_> {
    /// The last change this snapshot holds.
    pub fn bound(&self) -> Seq {
        self.bound
    }

    /// Runs `sql` (whose last column is the row's seq) with the snapshot's
    /// bound as `?3`, handing rows to `each` until it returns false.
    fn feed<T>(
        &self,
        sql: &str,
        first: &dyn ToSql,
        after: Seq,
        map: impl Fn(&Row) -> crate::rusqlite::Result<T>,
        mut each: impl FnMut(Seq, T) -> bool,
    ) -> Result<()> {
        let mut stmt = self.tx.prepare(sql)?;
        let mut rows = stmt.query(params![first, after, self.bound])?;
        while let Some(row) = rows.next()? {
            let seq: Seq = row.get(row.as_ref().column_count() - 1)?;
            if !each(seq, map(row)?) {
                break;
            }
        }
        Ok(())
    }

    /// The user, if changed after `after`.
    pub fn user(&self, id: &str, after: Seq) -> Result<Option<(Seq, User)>> {
        Ok(self
            .tx
            .query_row(
                &format!("SELECT {USER_COLUMNS}, sync_seq FROM users WHERE id = ?1 AND sync_seq > ?2 AND sync_seq <= ?3"),
                params![id, after, self.bound],
                |r| Ok((r.get("sync_seq")?, user_from_row(r)?)),
            )
            .optional()?)
    }

    /// Every user of the server: the apps need the owner of everything they show.
    pub fn users(&self, after: Seq, each: impl FnMut(Seq, User) -> bool) -> Result<()> {
        let sql =
            format!("SELECT {USER_COLUMNS}, sync_seq FROM users WHERE ?1 IS NULL AND sync_seq > ?2 AND sync_seq <= ?3 ORDER BY sync_seq");
        self.feed(&sql, &None::<String>, after, user_from_row, each)
    }

    pub fn assets(&self, owner_id: &str, after: Seq, each: impl FnMut(Seq, Asset) -> bool) -> Result<()> {
        let sql = format!(
            "SELECT {ASSET_COLUMNS}, sync_seq FROM assets WHERE owner_id = ?1 AND sync_seq > ?2 AND sync_seq <= ?3 ORDER BY sync_seq"
        );
        self.feed(&sql, &owner_id, after, asset_from_row, each)
    }

    /// The owner's people.
    pub fn people(&self, owner_id: &str, after: Seq, each: impl FnMut(Seq, Person) -> bool) -> Result<()> {
        let sql = format!(
            "SELECT {PERSON_COLUMNS}, p.sync_seq FROM people p WHERE p.owner_id = ?1 AND p.sync_seq > ?2 AND p.sync_seq <= ?3 ORDER BY p.sync_seq"
        );
        self.feed(&sql, &owner_id, after, person_from_row, each)
    }

    /// Faces in the owner's assets: (asset id, face), without embeddings.
    pub fn faces(&self, owner_id: &str, after: Seq, each: impl FnMut(Seq, (String, AssetFace)) -> bool) -> Result<()> {
        let columns = FACE_COLUMNS.replace("embedding", "NULL");
        let sql = format!(
            "SELECT {columns}, asset_id, sync_seq FROM asset_faces
             WHERE asset_id IN (SELECT id FROM assets WHERE owner_id = ?1) AND sync_seq > ?2 AND sync_seq <= ?3 ORDER BY sync_seq"
        );
        self.feed(&sql, &owner_id, after, |r| Ok((r.get("asset_id")?, face_from_row(r)?)), each)
    }

    /// EXIF of the owner's assets: (asset id, EXIF).
    pub fn exifs(&self, owner_id: &str, after: Seq, each: impl FnMut(Seq, (String, Exif)) -> bool) -> Result<()> {
        let sql = format!(
            "SELECT {EXIF_COLUMNS}, asset_id, sync_seq FROM exif
             WHERE asset_id IN (SELECT id FROM assets WHERE owner_id = ?1) AND sync_seq > ?2 AND sync_seq <= ?3 ORDER BY sync_seq"
        );
        self.feed(&sql, &owner_id, after, exif_with_id, each)
    }

    pub fn albums(&self, user_id: &str, after: Seq, each: impl FnMut(Seq, Album) -> bool) -> Result<()> {
        let sql = format!(
            "SELECT {ALBUM_COLUMNS}, al.sync_seq FROM albums al
             WHERE al.id IN ({VISIBLE_ALBUMS}) AND al.sync_seq > ?2 AND al.sync_seq <= ?3 ORDER BY al.sync_seq"
        );
        self.feed(&sql, &user_id, after, album_from_row, each)
    }

    /// Who is in the user's albums, the owner included: (album id, user id, role).
    pub fn album_users(&self, user_id: &str, after: Seq, each: impl FnMut(Seq, (String, String, AlbumRole)) -> bool) -> Result<()> {
        let sql = format!(
            "SELECT album_id, member, role, seq FROM (
                 SELECT id AS album_id, owner_id AS member, 'owner' AS role, sync_seq AS seq FROM albums
                 UNION ALL SELECT album_id, user_id, role, sync_seq FROM album_users)
             WHERE album_id IN ({VISIBLE_ALBUMS}) AND seq > ?2 AND seq <= ?3 ORDER BY seq"
        );
        self.feed(
            &sql,
            &user_id,
            after,
            |r| {
                let role: String = r.get(2)?;
                Ok((r.get(0)?, r.get(1)?, AlbumRole::parse_member(&role).unwrap_or(AlbumRole::Owner)))
            },
            each,
        )
    }

    /// Album memberships of assets: (album id, asset id).
    pub fn album_links(&self, user_id: &str, after: Seq, each: impl FnMut(Seq, (String, String)) -> bool) -> Result<()> {
        let sql = format!(
            "SELECT album_id, asset_id, sync_seq FROM album_assets
             WHERE album_id IN ({VISIBLE_ALBUMS}) AND sync_seq > ?2 AND sync_seq <= ?3 ORDER BY sync_seq"
        );
        self.feed(&sql, &user_id, after, |r| Ok((r.get(0)?, r.get(1)?)), each)
    }

    /// Assets newly put into the user's albums, numbered by the membership.
    pub fn album_assets_added(&self, user_id: &str, after: Seq, each: impl FnMut(Seq, Asset) -> bool) -> Result<()> {
        let sql = format!(
            "SELECT {ASSET_COLUMNS}, link_seq FROM assets JOIN (
                 SELECT asset_id AS linked, sync_seq AS link_seq FROM album_assets
                 WHERE album_id IN ({VISIBLE_ALBUMS}) AND sync_seq > ?2 AND sync_seq <= ?3) ON linked = id
             ORDER BY link_seq"
        );
        self.feed(&sql, &user_id, after, asset_from_row, each)
    }

    /// Assets in the user's albums changed after `after`, among the
    /// memberships numbered up to `known` (those the client already has).
    pub fn album_assets_changed(&self, user_id: &str, after: Seq, known: Seq, each: impl FnMut(Seq, Asset) -> bool) -> Result<()> {
        let sql = format!(
            "SELECT {ASSET_COLUMNS}, sync_seq FROM assets
             WHERE id IN (SELECT asset_id FROM album_assets WHERE album_id IN ({VISIBLE_ALBUMS}) AND sync_seq <= {known})
               AND sync_seq > ?2 AND sync_seq <= ?3 ORDER BY sync_seq"
        );
        self.feed(&sql, &user_id, after, asset_from_row, each)
    }

    /// EXIF of assets newly put into the user's albums.
    pub fn album_exifs_added(&self, user_id: &str, after: Seq, each: impl FnMut(Seq, (String, Exif)) -> bool) -> Result<()> {
        let sql = format!(
            "SELECT {EXIF_COLUMNS}, asset_id, link_seq FROM exif JOIN (
                 SELECT asset_id AS linked, sync_seq AS link_seq FROM album_assets
                 WHERE album_id IN ({VISIBLE_ALBUMS}) AND sync_seq > ?2 AND sync_seq <= ?3) ON linked = asset_id
             ORDER BY link_seq"
        );
        self.feed(&sql, &user_id, after, exif_with_id, each)
    }

    /// EXIF changed after `after` of album assets the client already has.
    pub fn album_exifs_changed(&self, user_id: &str, after: Seq, known: Seq, each: impl FnMut(Seq, (String, Exif)) -> bool) -> Result<()> {
        let sql = format!(
            "SELECT {EXIF_COLUMNS}, asset_id, sync_seq FROM exif
             WHERE asset_id IN (SELECT asset_id FROM album_assets WHERE album_id IN ({VISIBLE_ALBUMS}) AND sync_seq <= {known})
               AND sync_seq > ?2 AND sync_seq <= ?3 ORDER BY sync_seq"
        );
        self.feed(&sql, &user_id, after, exif_with_id, each)
    }

    /// Partnerships the user is in: (sharer, receiver, in timeline).
    pub fn partners(&self, user_id: &str, after: Seq, each: impl FnMut(Seq, (String, String, bool)) -> bool) -> Result<()> {
        let sql = "SELECT shared_by_id, shared_with_id, in_timeline, sync_seq FROM partners
             WHERE (shared_by_id = ?1 OR shared_with_id = ?1) AND sync_seq > ?2 AND sync_seq <= ?3 ORDER BY sync_seq";
        self.feed(sql, &user_id, after, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)), each)
    }

    /// Partnerships sharing with the user, created after `after`: (created seq, sharer).
    pub fn partnerships_created(&self, user_id: &str, after: Seq) -> Result<Vec<(Seq, String)>> {
        let mut out = Vec::new();
        let sql = "SELECT shared_by_id, created_seq FROM partners
             WHERE shared_with_id = ?1 AND created_seq > ?2 AND created_seq <= ?3 ORDER BY created_seq";
        self.feed(
            sql,
            &user_id,
            after,
            |r| r.get::<_, String>(0),
            |seq, sharer| {
                out.push((seq, sharer));
                true
            },
        )?;
        Ok(out)
    }

    /// Assets of the users who share their library with `user_id`.
    pub fn partner_assets(&self, user_id: &str, after: Seq, each: impl FnMut(Seq, Asset) -> bool) -> Result<()> {
        let sql = format!(
            "SELECT {ASSET_COLUMNS}, sync_seq FROM assets
             WHERE owner_id IN ({PARTNERS_OF}) AND sync_seq > ?2 AND sync_seq <= ?3 ORDER BY sync_seq"
        );
        self.feed(&sql, &user_id, after, asset_from_row, each)
    }

    pub fn partner_exifs(&self, user_id: &str, after: Seq, each: impl FnMut(Seq, (String, Exif)) -> bool) -> Result<()> {
        let sql = format!(
            "SELECT {EXIF_COLUMNS}, asset_id, sync_seq FROM exif
             WHERE asset_id IN (SELECT id FROM assets WHERE owner_id IN ({PARTNERS_OF})) AND sync_seq > ?2 AND sync_seq <= ?3
             ORDER BY sync_seq"
        );
        self.feed(&sql, &user_id, after, exif_with_id, each)
    }

    /// A partner's assets last changed at or before `upto`: what a new
    /// partner's client missed before the partnership began.
    pub fn older_assets(&self, owner_id: &str, upto: Seq, each: impl FnMut(Seq, Asset) -> bool) -> Result<()> {
        let sql = format!(
            "SELECT {ASSET_COLUMNS}, sync_seq FROM assets WHERE owner_id = ?1 AND sync_seq > ?2 AND sync_seq <= min(?3, {upto})
             ORDER BY sync_seq"
        );
        self.feed(&sql, &owner_id, 0, asset_from_row, each)
    }

    pub fn older_exifs(&self, owner_id: &str, upto: Seq, each: impl FnMut(Seq, (String, Exif)) -> bool) -> Result<()> {
        let sql = format!(
            "SELECT {EXIF_COLUMNS}, asset_id, sync_seq FROM exif
             WHERE asset_id IN (SELECT id FROM assets WHERE owner_id = ?1) AND sync_seq > ?2 AND sync_seq <= min(?3, {upto})
             ORDER BY sync_seq"
        );
        self.feed(&sql, &owner_id, 0, exif_with_id, each)
    }

    /// Assets deleted for good by the users who share with `user_id`.
    pub fn partner_asset_deletions(&self, user_id: &str, after: Seq, each: impl FnMut(Seq, String) -> bool) -> Result<()> {
        let sql = format!(
            "SELECT key, seq FROM sync_deletions
             WHERE kind = 'asset' AND user_id IN ({PARTNERS_OF}) AND seq > ?2 AND seq <= ?3 ORDER BY seq"
        );
        self.feed(&sql, &user_id, after, |r| r.get(0), each)
    }

    /// Deletions the user must hear about: (key, second key).
    pub fn deletions(
        &self,
        what: Deleted,
        user_id: &str,
        after: Seq,
        each: impl FnMut(Seq, (String, Option<String>)) -> bool,
    ) -> Result<()> {
        let sql = format!(
            "SELECT key, key2, seq FROM sync_deletions
             WHERE kind = '{}' AND (user_id = ?1 OR user_id IS NULL) AND seq > ?2 AND seq <= ?3 ORDER BY seq",
            what.kind()
        );
        self.feed(&sql, &user_id, after, |r| Ok((r.get(0)?, r.get(1)?)), each)
    }
}

fn exif_with_id(r: &Row) -> crate::rusqlite::Result<(String, Exif)> {
    Ok((r.get("asset_id")?, exif_from_row(r)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::tests::{new_asset, user};
    use crate::test_catalog;

    fn asset_feed(cat: &Catalog, owner: &str, after: Seq) -> Vec<(Seq, String, bool)> {
        cat.sync_snapshot(|s| {
            let mut out = Vec::new();
            s.assets(owner, after, |seq, a| {
                out.push((seq, a.id, a.deleted_at.is_some()));
                true
            })?;
            Ok(out)
        })
        .unwrap()
    }

    #[test]
    fn every_change_moves_a_row_to_the_end_of_the_feed() {
        let (_d, cat) = test_catalog();
        let me = user(&cat, "me@x");
        let one = cat.commit_asset(&new_asset(&me, b"1")).unwrap().unwrap();
        let two = cat.commit_asset(&new_asset(&me, b"2")).unwrap().unwrap();
        let feed = asset_feed(&cat, &me, 0);
        assert_eq!(
            feed.iter().map(|r| r.1.as_str()).collect::<Vec<_>>(),
            [one.id.as_str(), two.id.as_str()]
        );

        let checkpoint = feed[1].0;
        assert!(asset_feed(&cat, &me, checkpoint).is_empty(), "nothing new after the last row");
        cat.trash_assets(&me, std::slice::from_ref(&one.id)).unwrap();
        let feed = asset_feed(&cat, &me, checkpoint);
        assert_eq!(feed.len(), 1);
        assert_eq!((feed[0].1.as_str(), feed[0].2), (one.id.as_str(), true), "trashing is an update");
    }

    #[test]
    fn another_users_assets_never_appear_in_my_feeds() {
        let (_d, cat) = test_catalog();
        let (me, other) = (user(&cat, "me@x"), user(&cat, "other@x"));
        let theirs = cat.commit_asset(&new_asset(&other, b"1")).unwrap().unwrap();
        cat.delete_assets(&other, &[theirs.id]).unwrap();
        assert!(asset_feed(&cat, &me, 0).is_empty());
        let deleted = cat
            .sync_snapshot(|s| {
                let mut n = 0;
                s.deletions(Deleted::Asset, &me, 0, |_, _| {
                    n += 1;
                    true
                })?;
                Ok(n)
            })
            .unwrap();
        assert_eq!(deleted, 0);
    }

    #[test]
    fn permanent_deletion_and_album_removal_leave_records_in_order() {
        let (_d, cat) = test_catalog();
        let me = user(&cat, "me@x");
        let kept = cat.commit_asset(&new_asset(&me, b"1")).unwrap().unwrap();
        let gone = cat.commit_asset(&new_asset(&me, b"2")).unwrap().unwrap();
        let album = cat.create_album(&me, "Trip", "", &[kept.id.clone(), gone.id.clone()]).unwrap();
        let before = cat.sync_snapshot(|s| Ok(s.bound())).unwrap();

        cat.delete_assets(&me, std::slice::from_ref(&gone.id)).unwrap();
        let records = cat
            .sync_snapshot(|s| {
                let mut out = Vec::new();
                s.deletions(Deleted::Asset, &me, before, |seq, k| {
                    out.push((seq, "asset", k));
                    true
                })?;
                s.deletions(Deleted::AlbumAsset, &me, before, |seq, k| {
                    out.push((seq, "album_asset", k));
                    true
                })?;
                Ok(out)
            })
            .unwrap();
        assert_eq!(records.len(), 2, "{records:?}");
        assert!(records.iter().any(|r| r.1 == "asset" && r.2 == (gone.id.clone(), None)));
        assert!(
            records
                .iter()
                .any(|r| r.1 == "album_asset" && r.2 == (album.id.clone(), Some(gone.id.clone())))
        );

        let mut links = Vec::new();
        cat.sync_snapshot(|s| {
            s.album_links(&me, 0, |_, l| {
                links.push(l);
                true
            })
        })
        .unwrap();
        assert_eq!(links, [(album.id.clone(), kept.id.clone())]);
    }

    #[test]
    fn pruning_forgets_old_deletions_and_says_how_far() {
        let (_d, cat) = test_catalog();
        let me = user(&cat, "me@x");
        let gone = cat.commit_asset(&new_asset(&me, b"1")).unwrap().unwrap();
        cat.delete_assets(&me, std::slice::from_ref(&gone.id)).unwrap();
        assert_eq!(cat.prune_sync_deletions(0).unwrap(), 0, "nothing is that old");
        assert_eq!(cat.sync_pruned_through().unwrap(), 0);
        assert_eq!(cat.prune_sync_deletions(crate::now_millis() + 1).unwrap(), 1);
        let bound = cat.sync_snapshot(|s| Ok(s.bound())).unwrap();
        assert_eq!(cat.sync_pruned_through().unwrap(), bound);
    }

    #[test]
    fn checkpoints_are_per_session_and_type() {
        let (_d, cat) = test_catalog();
        let me = user(&cat, "me@x");
        let session = cat.create_session(&me, b"digest", "phone", "android").unwrap();
        let acks = [
            ("AssetV2".to_string(), "AssetV2|7".to_string()),
            ("UserV1".into(), "UserV1|3".into()),
        ];
        cat.set_sync_checkpoints(&session.id, &acks).unwrap();
        cat.set_sync_checkpoints(&session.id, &[("AssetV2".into(), "AssetV2|9".into())])
            .unwrap();
        assert_eq!(
            cat.sync_checkpoints(&session.id).unwrap(),
            [
                ("AssetV2".to_string(), "AssetV2|9".to_string()),
                ("UserV1".into(), "UserV1|3".into())
            ]
        );
        cat.clear_sync_checkpoints(&session.id, Some(&["UserV1".to_string()])).unwrap();
        assert_eq!(cat.sync_checkpoints(&session.id).unwrap().len(), 1);
        cat.clear_sync_checkpoints(&session.id, None).unwrap();
        assert!(cat.sync_checkpoints(&session.id).unwrap().is_empty());
    }
}
