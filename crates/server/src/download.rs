//! A response body streamed into a file, hashed on the way, for the
//! downloads that are checked against what their source lists: update
//! bundles and model files.

use std::path::Path;

use sha2::{Digest, Sha256};
use tokio::io::AsyncWriteExt;

use crate::error::{ApiError, ApiResult};
use crate::ingest::storage_error;

/// What arrived.
pub struct Arrived {
    /// SHA-256 in lower-case hex.
    pub sha256: String,
    pub bytes: u64,
}

/// Writes `response`'s body to a new file at `path` and syncs it; `storing`
/// says what for a disk error ("storing the update"), `broke_off` words a
/// connection that failed midway, and `progress` hears each chunk's length.
pub async fn to_file(
    mut response: reqwest13::Response,
    path: &Path,
    storing: &str,
    broke_off: impl Fn(reqwest13::Error) -> ApiError,
    mut progress: impl FnMut(u64),
) -> ApiResult<Arrived> {
    let mut file = tokio::fs::File::create(path).await.map_err(|e| storage_error(e, storing))?;
    let (mut hasher, mut bytes) = (Sha256::new(), 0u64);
    while let Some(chunk) = response.chunk().await.map_err(&broke_off)? {
        hasher.update(&chunk);
        file.write_all(&chunk).await.map_err(|e| storage_error(e, storing))?;
        bytes += chunk.len() as u64;
        progress(chunk.len() as u64);
    }
    file.sync_all().await.map_err(|e| storage_error(e, storing))?;
    Ok(Arrived {
        sha256: hex::encode(hasher.finalize()),
        bytes,
    })
}
