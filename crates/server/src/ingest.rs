//! Durable ingest of an uploaded original.
//!
//! The order is what makes a crash at any byte harmless:
//! 1. stream the body into `library/.incoming/<random>` (same filesystem as
//!    the library), hashing SHA-1 as it arrives; fsync;
//! 2. note the final path in `pending_files`; rename into place; fsync the
//!    directory;
//! 3. commit the asset row (which clears the pending note) in one transaction.
//!
//! A crash in 1 leaves a file in `.incoming`, which start-up empties. A
//! crash in 2 leaves a pending note, whose file start-up deletes. Only a
//! committed row makes an asset, and the upload is acknowledged after that.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use axum::extract::multipart::Field;
use sha1::{Digest, Sha1};
use shoebox_catalog::{AssetKind, Catalog, NewAsset, Visibility};
use shoebox_media::Layout;
use tokio::io::AsyncWriteExt;

use crate::error::{ApiError, ApiResult};

/// A body received in full into the incoming folder. Dropping it without
/// `store` removes the temporary file.
pub struct Received {
    pub temp: PathBuf,
    pub sha1: [u8; 20],
    pub size: u64,
    kept: bool,
}

impl Received {
    /// A new file name in the incoming folder; the guard removes whatever is
    /// written there unless `store` keeps it.
    fn new(layout: &Layout) -> Received {
        Received {
            temp: layout.incoming_dir().join(uuid::Uuid::new_v4().simple().to_string()),
            sha1: [0; 20],
            size: 0,
            kept: false,
        }
    }
}

impl Drop for Received {
    fn drop(&mut self) {
        if !self.kept {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// What a full disk looks like to a client: 507, with what to do.
pub fn storage_error(e: std::io::Error, doing: &str) -> ApiError {
    if e.kind() == ErrorKind::StorageFull || e.kind() == ErrorKind::QuotaExceeded || e.raw_os_error() == Some(28) {
        return ApiError::new(
            axum::http::StatusCode::INSUFFICIENT_STORAGE,
            "The server's disk is full, so the upload was not stored: free space or add a disk, then retry",
        );
    }
    ApiError::internal(format!("{doing}: {e}"))
}

/// Streams one multipart file part to a new temporary file.
pub async fn receive(layout: &Layout, mut field: Field<'_>) -> ApiResult<Received> {
    let mut received = Received::new(layout);
    let mut file = tokio::fs::File::create(&received.temp)
        .await
        .map_err(|e| storage_error(e, "creating an upload file"))?;
    let mut hasher = Sha1::new();
    while let Some(chunk) = field.chunk().await? {
        hasher.update(&chunk);
        received.size += chunk.len() as u64;
        if let Err(e) = file.write_all(&chunk).await {
            // Read the rest so the client gets our answer instead of a reset connection.
            while field.chunk().await?.is_some() {}
            return Err(storage_error(e, "writing an upload"));
        }
    }
    file.flush().await.map_err(|e| storage_error(e, "writing an upload"))?;
    file.sync_all().await.map_err(|e| storage_error(e, "syncing an upload"))?;
    received.sha1 = hasher.finalize().into();
    Ok(received)
}

/// Copies a file from elsewhere on the box (a snapshot) into the incoming
/// folder, hashing it on the way, as `receive` does for an upload. Blocking.
pub fn receive_file(layout: &Layout, source: &Path) -> ApiResult<Received> {
    let mut from = std::fs::File::open(source).map_err(|e| ApiError::internal(format!("opening {}: {e}", source.display())))?;
    let mut received = Received::new(layout);
    let mut to = std::fs::File::create(&received.temp).map_err(|e| storage_error(e, "creating a restore file"))?;
    let mut hasher = Sha1::new();
    let mut buffer = vec![0; 1 << 16];
    loop {
        let n =
            std::io::Read::read(&mut from, &mut buffer).map_err(|e| ApiError::internal(format!("reading {}: {e}", source.display())))?;
        if n == 0 {
            break;
        }
        hasher.update(&buffer[..n]);
        received.size += n as u64;
        std::io::Write::write_all(&mut to, &buffer[..n]).map_err(|e| storage_error(e, "writing a restore file"))?;
    }
    to.sync_all().map_err(|e| storage_error(e, "syncing a restore file"))?;
    received.sha1 = hasher.finalize().into();
    Ok(received)
}

/// Android motion photos carry their video after the still: it is stored
/// first as a hidden video asset of its own, and the still (kept whole, as
/// uploaded) links to it as an iPhone's live photo does. Runs on a
/// blocking thread, before `store` of the still.
pub fn split_motion_photo(catalog: &Catalog, layout: &Layout, still: &Received, mut new: NewAsset) -> ApiResult<NewAsset> {
    if new.kind != AssetKind::Image || new.live_photo_video_id.is_some() {
        return Ok(new);
    }
    let offset = match shoebox_media::motion::embedded_video(&still.temp) {
        Ok(Some(offset)) => offset,
        Ok(None) => return Ok(new),
        // An unreadable still is the still's problem; its own jobs will report it.
        Err(e) => {
            tracing::debug!(error = %e, "could not look for a motion photo's video");
            return Ok(new);
        }
    };
    let part = copy_tail(layout, still, offset)?;
    let id = uuid::Uuid::new_v4().to_string();
    let stem = new
        .original_file_name
        .rsplit_once('.')
        .map_or(new.original_file_name.as_str(), |(stem, _)| stem);
    let video = NewAsset {
        original_path: Layout::original(&new.owner_id, &id, ".mp4"),
        owner_id: new.owner_id.clone(),
        checksum: part.sha1.to_vec(),
        kind: AssetKind::Video,
        original_file_name: format!("{stem}.mp4"),
        mime_type: "video/mp4".into(),
        file_size: part.size as i64,
        device_asset_id: format!("{}-motion", new.device_asset_id),
        device_id: new.device_id.clone(),
        file_created_at: new.file_created_at,
        file_modified_at: new.file_modified_at,
        duration_ms: None,
        is_favorite: false,
        visibility: Visibility::Hidden,
        live_photo_video_id: None,
        sidecar_path: None,
        id,
    };
    let (Stored::Created(video_id) | Stored::Duplicate(video_id)) = store(catalog, layout, part, None, video)?;
    new.live_photo_video_id = Some(video_id);
    Ok(new)
}

/// Copies `source` from `offset` to its end into a new incoming file, hashed and synced.
fn copy_tail(layout: &Layout, source: &Received, offset: u64) -> ApiResult<Received> {
    use std::io::{Read, Seek, SeekFrom, Write};
    let mut part = Received::new(layout);
    let mut input = std::fs::File::open(&source.temp).map_err(|e| storage_error(e, "reading a motion photo"))?;
    input
        .seek(SeekFrom::Start(offset))
        .map_err(|e| storage_error(e, "reading a motion photo"))?;
    let mut output = std::fs::File::create(&part.temp).map_err(|e| storage_error(e, "creating a motion photo's video"))?;
    let mut hasher = Sha1::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = input.read(&mut buf).map_err(|e| storage_error(e, "reading a motion photo"))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        output
            .write_all(&buf[..n])
            .map_err(|e| storage_error(e, "writing a motion photo's video"))?;
        part.size += n as u64;
    }
    output.sync_all().map_err(|e| storage_error(e, "syncing a motion photo's video"))?;
    part.sha1 = hasher.finalize().into();
    Ok(part)
}

/// The outcome of storing: the id of the new asset, or of the one the user
/// already had with the same bytes.
pub enum Stored {
    Created(String),
    Duplicate(String),
}

/// Moves a received file (and its sidecar) into the library and commits
/// its row. Runs on a blocking thread.
pub fn store(catalog: &Catalog, layout: &Layout, original: Received, sidecar: Option<Received>, new: NewAsset) -> ApiResult<Stored> {
    if let Some((id, _)) = catalog
        .find_checksums(&new.owner_id, std::slice::from_ref(&new.checksum))?
        .remove(&new.checksum)
    {
        return Ok(Stored::Duplicate(id));
    }
    let files: Vec<(Received, &str)> = std::iter::once((original, new.original_path.as_str()))
        .chain(sidecar.zip(new.sidecar_path.as_deref()))
        .collect();
    let mut placed = Vec::new();
    let result = place_all(catalog, layout, files, &mut placed).and_then(|()| Ok(catalog.commit_asset(&new)?));
    match result {
        Ok(Ok(asset)) => Ok(Stored::Created(asset.id)),
        // Lost a race with a concurrent upload of the same bytes: keep theirs.
        Ok(Err(existing)) => {
            discard(catalog, layout, &placed);
            Ok(Stored::Duplicate(existing))
        }
        Err(e) => {
            discard(catalog, layout, &placed);
            Err(e)
        }
    }
}

/// Notes each final path as pending, then renames each file into place.
fn place_all<'a>(catalog: &Catalog, layout: &Layout, files: Vec<(Received, &'a str)>, placed: &mut Vec<&'a str>) -> ApiResult<()> {
    for (mut received, relative) in files {
        let target = layout.resolve(relative);
        let dir = target.parent().expect("library files live in a folder").to_path_buf();
        std::fs::create_dir_all(&dir).map_err(|e| storage_error(e, "creating a library folder"))?;
        catalog.add_pending_file(relative)?;
        std::fs::rename(&received.temp, &target).map_err(|e| storage_error(e, "moving an upload into the library"))?;
        received.kept = true;
        placed.push(relative);
        sync_dir(&dir).map_err(|e| storage_error(e, "syncing the library folder"))?;
    }
    Ok(())
}

fn discard(catalog: &Catalog, layout: &Layout, placed: &[&str]) {
    for relative in placed {
        if std::fs::remove_file(layout.resolve(relative)).is_ok() {
            let _ = catalog.remove_pending_file(relative);
        }
    }
}

/// Makes a rename or a new file in `dir` outlast a power cut.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::File::open(dir)?.sync_all()
}

/// Start-up repair: empties the incoming folder and deletes originals whose
/// row never committed. Returns how many files were removed.
pub fn recover(catalog: &Catalog, layout: &Layout) -> anyhow::Result<usize> {
    let incoming = layout.incoming_dir();
    std::fs::create_dir_all(&incoming)?;
    let mut removed = 0;
    for entry in std::fs::read_dir(&incoming)? {
        std::fs::remove_file(entry?.path())?;
        removed += 1;
    }
    for relative in catalog.orphaned_pending_files()? {
        match std::fs::remove_file(layout.resolve(&relative)) {
            Ok(()) => removed += 1,
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => return Err(e.into()),
        }
        catalog.remove_pending_file(&relative)?;
    }
    Ok(removed)
}
