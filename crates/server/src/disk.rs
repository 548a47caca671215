//! Free space on the filesystem holding the data folder.

use std::path::Path;

/// (total, available to unprivileged users) in bytes.
pub fn space(path: &Path) -> std::io::Result<(u64, u64)> {
    let stat = nix::sys::statvfs::statvfs(path).map_err(std::io::Error::from)?;
    let block = stat.fragment_size();
    Ok((stat.blocks() * block, stat.blocks_available() * block))
}
