//! Giving back photos from a snapshot. The pool's snapshots sit under the
//! data folder (`.snapshots/<name>/{db,library}`, read-only, readable by
//! this process), so restoring needs no privilege: the snapshot's catalog is
//! opened from a scratch copy, and each original is copied back through the
//! same durable path as an upload, checked against its recorded checksum.

use std::path::{Path, PathBuf};

use shoebox_catalog::{Asset, AssetKind, Catalog, NewAsset};
use shoebox_media::Layout;

use crate::error::{ApiError, ApiResult};
use crate::ingest::{self, Stored};

/// Where the storage service puts snapshots, relative to the data folder.
const SNAPSHOTS: &str = ".snapshots";

/// A snapshot opened for reading: its catalog (a scratch copy, removed on
/// drop) and its files.
pub struct Snapshot {
    pub catalog: Catalog,
    pub files: Layout,
    _scratch: tempfile::TempDir,
}

/// What became of one asset of a restore request.
pub enum Outcome {
    /// Copied back; the id in the library now.
    Restored(String),
    /// The library already holds these bytes for this owner.
    Present(String),
    Failed(String),
}

impl Snapshot {
    /// Opens snapshot `name`; 404 for a name that is not a complete snapshot.
    pub fn open(layout: &Layout, name: &str) -> ApiResult<Snapshot> {
        let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        let root = layout.root().join(SNAPSHOTS).join(name);
        // The storage service writes snapshot.json last: without it the snapshot is incomplete.
        if !valid || !root.join("snapshot.json").is_file() {
            return Err(ApiError::not_found(format!(
                "There is no snapshot named {name:?}: list them with GET /api/shoebox/storage/snapshots"
            )));
        }
        let files = Layout::new(&root);
        let scratch = tempfile::Builder::new()
            .prefix("restore-")
            .tempdir_in(layout.incoming_dir())
            .map_err(|e| ApiError::internal(format!("making a scratch folder: {e}")))?;
        // The catalog with its WAL: SQLite finishes what the WAL holds when it opens the copy.
        for entry in std::fs::read_dir(files.db_dir()).map_err(|e| ApiError::internal(format!("reading the snapshot's catalog: {e}")))? {
            let entry = entry.map_err(ApiError::internal)?;
            std::fs::copy(entry.path(), scratch.path().join(entry.file_name()))
                .map_err(|e| ApiError::internal(format!("copying the snapshot's catalog: {e}")))?;
        }
        let file_name = files.db_file().file_name().map(PathBuf::from).unwrap_or_default();
        let catalog = Catalog::open(&scratch.path().join(file_name))?;
        Ok(Snapshot {
            catalog,
            files,
            _scratch: scratch,
        })
    }

    /// Copies the given assets back into the library, each with its owner,
    /// names, dates and flags; jobs make their thumbnails again. Motion parts
    /// go first so a live photo's still finds its video.
    pub fn restore(&self, live: &Catalog, layout: &Layout, ids: &[String]) -> Vec<(String, Outcome)> {
        let mut assets: Vec<(String, Result<Asset, String>)> = ids
            .iter()
            .map(|id| (id.clone(), self.catalog.asset(id).map_err(|_| "not in this snapshot".to_owned())))
            .collect();
        assets.sort_by_key(|(_, a)| !matches!(a, Ok(a) if a.kind == AssetKind::Video));
        assets
            .into_iter()
            .map(|(id, asset)| {
                let outcome = match asset {
                    Ok(asset) => self.restore_one(live, layout, asset).unwrap_or_else(|e| Outcome::Failed(e.message)),
                    Err(why) => Outcome::Failed(why),
                };
                (id, outcome)
            })
            .collect()
    }

    fn restore_one(&self, live: &Catalog, layout: &Layout, asset: Asset) -> ApiResult<Outcome> {
        if let Some((id, _)) = live
            .find_checksums(&asset.owner_id, std::slice::from_ref(&asset.checksum))?
            .remove(&asset.checksum)
        {
            return Ok(Outcome::Present(id));
        }
        if live.user(&asset.owner_id).is_err() {
            return Ok(Outcome::Failed("its owner no longer has an account here".into()));
        }
        let original = ingest::receive_file(layout, &self.files.resolve(&asset.original_path))?;
        if original.sha1.as_slice() != asset.checksum.as_slice() {
            return Ok(Outcome::Failed("its file in the snapshot does not match its checksum".into()));
        }
        let sidecar = match &asset.sidecar_path {
            Some(path) if self.files.resolve(path).is_file() => Some(ingest::receive_file(layout, &self.files.resolve(path))?),
            _ => None,
        };
        // Keep the id (albums, links and phones know it) unless the library reused it.
        let id = if live.asset(&asset.id).is_ok() {
            uuid::Uuid::new_v4().to_string()
        } else {
            asset.id.clone()
        };
        let extension = Path::new(&asset.original_path)
            .extension()
            .map(|e| format!(".{}", e.to_string_lossy()))
            .unwrap_or_default();
        let new = NewAsset {
            original_path: Layout::original(&asset.owner_id, &id, &extension),
            sidecar_path: sidecar.as_ref().map(|_| Layout::sidecar(&asset.owner_id, &id)),
            live_photo_video_id: asset.live_photo_video_id.filter(|video| live.asset(video).is_ok()),
            id,
            owner_id: asset.owner_id,
            checksum: asset.checksum,
            kind: asset.kind,
            original_file_name: asset.original_file_name,
            mime_type: asset.mime_type,
            file_size: asset.file_size,
            device_asset_id: asset.device_asset_id,
            device_id: asset.device_id,
            file_created_at: asset.file_created_at,
            file_modified_at: asset.file_modified_at,
            duration_ms: asset.duration_ms,
            is_favorite: asset.is_favorite,
            visibility: asset.visibility,
        };
        Ok(match ingest::store(live, layout, original, sidecar, new)? {
            Stored::Created(id) => Outcome::Restored(id),
            Stored::Duplicate(id) => Outcome::Present(id),
        })
    }

    /// Restores an album: its assets, then the album itself (into the
    /// owner's album of that id if it still exists, else a new one with its
    /// name). Returns the live album id and each asset's outcome.
    pub fn restore_album(&self, live: &Catalog, layout: &Layout, album_id: &str) -> ApiResult<(String, Vec<(String, Outcome)>)> {
        let album = self
            .catalog
            .album_by_id(album_id)
            .map_err(|_| ApiError::not_found("That album is not in this snapshot"))?;
        let outcomes = self.restore(live, layout, &self.catalog.album_asset_ids(album_id)?);
        let live_ids: Vec<String> = outcomes
            .iter()
            .filter_map(|(_, o)| match o {
                Outcome::Restored(id) | Outcome::Present(id) => Some(id.clone()),
                Outcome::Failed(_) => None,
            })
            .collect();
        let id = match live.album(&album.owner_id, &album.id) {
            Ok(existing) => {
                live.add_album_assets(&album.owner_id, &existing.id, &live_ids)?;
                existing.id
            }
            Err(_) => live.create_album(&album.owner_id, &album.name, &album.description, &live_ids)?.id,
        };
        Ok((id, outcomes))
    }
}
