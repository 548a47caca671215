//! Reading media files: what kind a file is, what its metadata says, and the
//! derived images (thumbnail, preview) made from it.
//!
//! This crate works on paths and bytes only: it knows nothing of the catalog,
//! users or HTTP. Every function is synchronous and CPU- or disk-bound;
//! callers run it off the async runtime.

#![forbid(unsafe_code)]

mod embedded;
pub mod hwaccel;
mod jpeg;
pub mod layout;
pub mod media_type;
pub mod metadata;
pub mod motion;
mod process;
pub mod thumbnail;
pub mod transcode;
pub mod video;

pub use layout::Layout;
pub use media_type::{MediaKind, MediaType};
pub use metadata::Metadata;
pub use thumbnail::{DerivativeSizes, Derivatives};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("could not read {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("the file's metadata is unreadable: {0}")]
    Metadata(String),
    #[error("the image cannot be decoded ({0}); the original is kept, only its thumbnail is missing")]
    Decode(String),
    #[error("{0} files are stored and listed, but thumbnails for them are not supported yet")]
    Unsupported(&'static str),
    #[error("could not write a derived image: {0}")]
    Encode(String),
    #[error("{tool} is not installed: install the {package} package to read these files")]
    MissingTool { tool: String, package: String },
    #[error("{tool} could not read the file: {message}")]
    Tool { tool: String, message: String },
}

impl Error {
    /// Whether running the same work again could succeed (disk trouble),
    /// as opposed to a property of the file itself.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Io { .. })
    }

    pub(crate) fn io(path: &std::path::Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.display().to_string(),
            source,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
