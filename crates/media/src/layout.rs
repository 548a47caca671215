//! Where files live under the data directory. Paths handed to the catalog
//! are relative to the data directory, so a library can be moved whole.
//!
//! ```text
//! <data>/db/shoebox.db                      catalog
//! <data>/library/<owner>/<id[0..2]>/<id>.<ext>   originals (never modified)
//! <data>/library/.incoming/                 uploads being received
//! <data>/cache/thumbs/<owner>/<id[0..2]>/<id>-thumbnail.webp, -preview.jpeg
//! ```

use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Layout {
    root: PathBuf,
}

impl Layout {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Layout { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn db_dir(&self) -> PathBuf {
        self.root.join("db")
    }

    pub fn db_file(&self) -> PathBuf {
        self.db_dir().join("shoebox.db")
    }

    /// Uploads in progress; on the same filesystem as the library so the
    /// final rename is atomic.
    pub fn incoming_dir(&self) -> PathBuf {
        self.root.join("library").join(".incoming")
    }

    /// Relative path of an original. `extension` includes its dot and has
    /// been checked against the accepted list, so no path tricks get through.
    pub fn original(owner_id: &str, asset_id: &str, extension: &str) -> String {
        format!("library/{owner_id}/{}/{asset_id}{extension}", &asset_id[..2])
    }

    /// Relative path of an asset's XMP sidecar, beside its original.
    pub fn sidecar(owner_id: &str, asset_id: &str) -> String {
        Self::original(owner_id, asset_id, ".xmp")
    }

    pub fn thumbnail(owner_id: &str, asset_id: &str) -> String {
        format!("cache/thumbs/{owner_id}/{}/{asset_id}-thumbnail.webp", &asset_id[..2])
    }

    pub fn preview(owner_id: &str, asset_id: &str) -> String {
        format!("cache/thumbs/{owner_id}/{}/{asset_id}-preview.jpeg", &asset_id[..2])
    }

    /// A video's playback transcode.
    pub fn encoded_video(owner_id: &str, asset_id: &str) -> String {
        format!("cache/encoded-video/{owner_id}/{}/{asset_id}.mp4", &asset_id[..2])
    }

    /// Marks the cache folder as checked for derived files the catalog
    /// names but the folder lacks (a library restored from backup).
    pub fn derivatives_stamp(&self) -> PathBuf {
        self.root.join("cache").join(".derivatives-checked")
    }

    /// Absolute path of a catalog-relative path.
    pub fn resolve(&self, relative: &str) -> PathBuf {
        self.root.join(relative)
    }
}
