//! Shared links: public addresses for an album or a set of photos. The
//! catalog stores and finds them; the server checks expiry and passwords.

use crate::albums::AlbumAssetChange;
use crate::assets::{COLUMNS as ASSET_COLUMNS, from_row as asset_from_row};
use crate::rusqlite::{OptionalExtension, Row, Transaction, params};
use crate::{Asset, Catalog, Error, Millis, OptionalExt, Result, new_id, now_millis};

#[derive(Debug, Clone, PartialEq)]
pub struct SharedLink {
    pub id: String,
    pub owner_id: String,
    pub key: String,
    /// The album shared; `None` for a link to chosen photos.
    pub album_id: Option<String>,
    pub created_at: Millis,
    pub settings: SharedLinkSettings,
}

/// A link's settings, as created or edited.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SharedLinkSettings {
    pub slug: Option<String>,
    pub description: Option<String>,
    /// Already hashed (argon2id PHC string).
    pub password_hash: Option<String>,
    pub expires_at: Option<Millis>,
    pub allow_download: bool,
    pub allow_upload: bool,
    pub show_metadata: bool,
}

const COLUMNS: &str = "id, owner_id, key, slug, album_id, description, password_hash, expires_at, allow_download, allow_upload, \
    show_metadata, created_at";

fn from_row(r: &Row) -> crate::rusqlite::Result<SharedLink> {
    Ok(SharedLink {
        id: r.get(0)?,
        owner_id: r.get(1)?,
        key: r.get(2)?,
        album_id: r.get(4)?,
        created_at: r.get(11)?,
        settings: SharedLinkSettings {
            slug: r.get(3)?,
            description: r.get(5)?,
            password_hash: r.get(6)?,
            expires_at: r.get(7)?,
            allow_download: r.get(8)?,
            allow_upload: r.get(9)?,
            show_metadata: r.get(10)?,
        },
    })
}

fn owned_link(tx: &Transaction, owner_id: &str, id: &str) -> Result<SharedLink> {
    tx.query_row(
        &format!("SELECT {COLUMNS} FROM shared_links WHERE id = ?1 AND owner_id = ?2"),
        [id, owner_id],
        from_row,
    )
    .found("shared link")
}

fn slug_taken(e: crate::rusqlite::Error) -> Error {
    match e {
        crate::rusqlite::Error::SqliteFailure(f, _) if f.code == crate::rusqlite::ErrorCode::ConstraintViolation => {
            Error::Conflict("That custom link name is taken: choose another slug".into())
        }
        other => other.into(),
    }
}

/// Adds the owner's own assets to an individual link.
fn add_in(tx: &Transaction, link: &SharedLink, ids: &[String]) -> Result<Vec<AlbumAssetChange>> {
    ids.iter()
        .map(|id| {
            let owned: bool = tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM assets WHERE id = ?1 AND owner_id = ?2)",
                [id, &link.owner_id],
                |r| r.get(0),
            )?;
            if !owned {
                return Ok(AlbumAssetChange::NotFound);
            }
            let n = tx.execute(
                "INSERT OR IGNORE INTO shared_link_assets (link_id, asset_id) VALUES (?1, ?2)",
                [&link.id, id],
            )?;
            Ok(if n == 1 {
                AlbumAssetChange::Done
            } else {
                AlbumAssetChange::Duplicate
            })
        })
        .collect()
}

impl Catalog {
    /// Creates a link to the owner's album, or (with `album_id` None) to
    /// the given assets of the owner's.
    pub fn create_shared_link(
        &self,
        owner_id: &str,
        key: &str,
        key_hash: &[u8],
        album_id: Option<&str>,
        asset_ids: &[String],
        settings: &SharedLinkSettings,
    ) -> Result<SharedLink> {
        self.write(|tx| {
            if let Some(album) = album_id {
                let owned: bool = tx.query_row(
                    "SELECT EXISTS(SELECT 1 FROM albums WHERE id = ?1 AND owner_id = ?2)",
                    [album, owner_id],
                    |r| r.get(0),
                )?;
                if !owned {
                    return Err(Error::NotFound("album"));
                }
            }
            let id = new_id();
            tx.execute(
                "INSERT INTO shared_links (id, owner_id, key, key_hash, slug, kind, album_id, description, password_hash, expires_at,
                     allow_download, allow_upload, show_metadata, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
                params![
                    id,
                    owner_id,
                    key,
                    key_hash,
                    settings.slug,
                    if album_id.is_some() { "ALBUM" } else { "INDIVIDUAL" },
                    album_id,
                    settings.description,
                    settings.password_hash,
                    settings.expires_at,
                    settings.allow_download,
                    settings.allow_upload,
                    settings.show_metadata,
                    now_millis()
                ],
            )
            .map_err(slug_taken)?;
            let link = owned_link(tx, owner_id, &id)?;
            if album_id.is_none() && add_in(tx, &link, asset_ids)?.iter().all(|c| *c == AlbumAssetChange::NotFound) {
                return Err(Error::Conflict("A link to photos needs at least one of your photos".into()));
            }
            Ok(link)
        })
    }

    pub fn shared_links(&self, owner_id: &str, album_id: Option<&str>) -> Result<Vec<SharedLink>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM shared_links WHERE owner_id = ?1 AND (?2 IS NULL OR album_id = ?2) ORDER BY created_at DESC"
        ))?;
        let rows = stmt.query_map(params![owner_id, album_id], from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn shared_link(&self, owner_id: &str, id: &str) -> Result<SharedLink> {
        self.conn()?
            .query_row(
                &format!("SELECT {COLUMNS} FROM shared_links WHERE id = ?1 AND owner_id = ?2"),
                [id, owner_id],
                from_row,
            )
            .found("shared link")
    }

    /// The link a visitor names by key digest or by slug.
    pub fn find_shared_link(&self, key_hash: Option<&[u8]>, slug: Option<&str>) -> Result<Option<SharedLink>> {
        Ok(self
            .conn()?
            .query_row(
                &format!("SELECT {COLUMNS} FROM shared_links WHERE key_hash = ?1 OR slug = ?2"),
                params![key_hash, slug],
                from_row,
            )
            .optional()?)
    }

    pub fn update_shared_link(&self, owner_id: &str, id: &str, settings: &SharedLinkSettings) -> Result<SharedLink> {
        self.write(|tx| {
            let before = owned_link(tx, owner_id, id)?;
            tx.execute(
                "UPDATE shared_links SET slug = ?3, description = ?4, password_hash = ?5, expires_at = ?6,
                     allow_download = ?7, allow_upload = ?8, show_metadata = ?9 WHERE id = ?1 AND owner_id = ?2",
                params![
                    id,
                    owner_id,
                    settings.slug,
                    settings.description,
                    settings.password_hash,
                    settings.expires_at,
                    settings.allow_download,
                    settings.allow_upload,
                    settings.show_metadata
                ],
            )
            .map_err(slug_taken)?;
            // A changed password ends the visitors' sessions.
            if before.settings.password_hash != settings.password_hash {
                tx.execute("DELETE FROM shared_link_sessions WHERE link_id = ?1", [id])?;
            }
            owned_link(tx, owner_id, id)
        })
    }

    pub fn delete_shared_link(&self, owner_id: &str, id: &str) -> Result<()> {
        self.write(
            |tx| match tx.execute("DELETE FROM shared_links WHERE id = ?1 AND owner_id = ?2", [id, owner_id])? {
                0 => Err(Error::NotFound("shared link")),
                _ => Ok(()),
            },
        )
    }

    pub fn add_shared_link_assets(&self, owner_id: &str, id: &str, ids: &[String]) -> Result<Vec<AlbumAssetChange>> {
        self.write(|tx| {
            let link = owned_link(tx, owner_id, id)?;
            if link.album_id.is_some() {
                return Err(Error::Conflict(
                    "An album link shows the album: add photos to the album instead".into(),
                ));
            }
            add_in(tx, &link, ids)
        })
    }

    pub fn remove_shared_link_assets(&self, owner_id: &str, id: &str, ids: &[String]) -> Result<Vec<AlbumAssetChange>> {
        self.write(|tx| {
            owned_link(tx, owner_id, id)?;
            ids.iter()
                .map(|asset| {
                    let n = tx.execute("DELETE FROM shared_link_assets WHERE link_id = ?1 AND asset_id = ?2", [id, asset])?;
                    Ok(if n == 1 {
                        AlbumAssetChange::Done
                    } else {
                        AlbumAssetChange::NotFound
                    })
                })
                .collect()
        })
    }

    /// What the link shows: its album's or its chosen photos, outside the trash.
    pub fn shared_link_assets(&self, link: &SharedLink) -> Result<Vec<Asset>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {ASSET_COLUMNS} FROM assets WHERE deleted_at IS NULL AND id IN (
                 SELECT asset_id FROM shared_link_assets WHERE link_id = ?1
                 UNION SELECT asset_id FROM album_assets WHERE album_id = ?2)
             ORDER BY taken_at DESC"
        ))?;
        let rows = stmt.query_map(params![link.id, link.album_id], asset_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// One asset the link shows; any other reads as not found.
    pub fn shared_link_asset(&self, link: &SharedLink, asset_id: &str) -> Result<Asset> {
        self.conn()?
            .query_row(
                &format!(
                    "SELECT {ASSET_COLUMNS} FROM assets WHERE id = ?3 AND deleted_at IS NULL AND id IN (
                         SELECT asset_id FROM shared_link_assets WHERE link_id = ?1
                         UNION SELECT asset_id FROM album_assets WHERE album_id = ?2)"
                ),
                params![link.id, link.album_id, asset_id],
                asset_from_row,
            )
            .found("asset")
    }

    /// Records that a visitor gave the link's password.
    pub fn create_shared_link_session(&self, link_id: &str, token_hash: &[u8]) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "INSERT INTO shared_link_sessions (token_hash, link_id, created_at) VALUES (?1, ?2, ?3)",
                params![token_hash, link_id, now_millis()],
            )?;
            Ok(())
        })
    }

    pub fn shared_link_session_valid(&self, link_id: &str, token_hash: &[u8]) -> Result<bool> {
        Ok(self.conn()?.query_row(
            "SELECT EXISTS(SELECT 1 FROM shared_link_sessions WHERE token_hash = ?1 AND link_id = ?2)",
            params![token_hash, link_id],
            |r| r.get(0),
        )?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::tests::{new_asset, user};

    #[test]
    fn a_link_shows_only_its_owners_chosen_photos() {
        let (_d, cat) = crate::test_catalog();
        let (a, b) = (user(&cat, "a@x"), user(&cat, "b@x"));
        let shown = cat.commit_asset(&new_asset(&a, b"1")).unwrap().unwrap();
        let hidden = cat.commit_asset(&new_asset(&a, b"2")).unwrap().unwrap();
        let theirs = cat.commit_asset(&new_asset(&b, b"3")).unwrap().unwrap();
        let ids = [shown.id.clone(), theirs.id.clone()];
        let link = cat
            .create_shared_link(&a, "k", b"digest", None, &ids, &SharedLinkSettings::default())
            .unwrap();
        assert_eq!(
            cat.shared_link_assets(&link)
                .unwrap()
                .iter()
                .map(|x| x.id.clone())
                .collect::<Vec<_>>(),
            std::slice::from_ref(&shown.id)
        );
        assert!(cat.shared_link_asset(&link, &hidden.id).is_err());
        assert!(
            cat.shared_link_asset(&link, &theirs.id).is_err(),
            "another user's photo never joins a link"
        );
        assert_eq!(cat.find_shared_link(Some(b"digest"), None).unwrap().unwrap().id, link.id);
        assert!(cat.shared_link(&b, &link.id).is_err());
        let only_theirs = cat.create_shared_link(
            &a,
            "k2",
            b"d2",
            None,
            std::slice::from_ref(&theirs.id),
            &SharedLinkSettings::default(),
        );
        assert!(matches!(only_theirs, Err(Error::Conflict(_))));
    }
}
