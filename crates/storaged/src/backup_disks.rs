//! Backup disks: a USB disk (or any disk outside the pool) that holds a
//! backup to restore from, or is to hold the off-site backup. Each of its
//! file systems is mounted at `<dir>/<uuid>` (nosuid, nodev, noexec: what
//! is on it is never run), so a repository on it has an address that
//! stays the same from one plug-in to the next; a backup or restore that
//! names such an address mounts the disk again first, after a restart or
//! when it was unplugged and plugged back in.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use zbus::zvariant::Type;

use crate::command;
use crate::disks::{self, Scope, Volume};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Disks(#[from] disks::Error),
    #[error("{path} could not be mounted ({source}): check the disk in another computer")]
    Mount { path: String, source: command::Error },
    #[error("{0} is on a backup disk that is not plugged in: plug it in and try again")]
    Absent(String),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// Where on a backup disk the box's own backup goes.
pub const BACKUP_FOLDER: &str = "shoebox-backup";

/// One file system on a backup disk, and the backups on it. (Field names
/// are for JSON only: D-Bus sends the fields in order.)
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, Type)]
#[serde(rename_all = "camelCase")]
pub struct BackupDisk {
    pub path: String,
    pub label: String,
    #[serde(rename = "fsType")]
    pub fstype: String,
    pub size_bytes: u64,
    pub free_bytes: u64,
    pub model: String,
    /// "usb", "sata", ...: "" when the kernel does not say.
    pub transport: String,
    /// Where it is mounted.
    pub mount: String,
    /// The folder a backup to this disk goes into.
    pub backup_folder: String,
    /// Repositories found at the top or one folder down, as addresses.
    pub repositories: Vec<String>,
}

/// Mounts every volume in `scope` under `dir` and lists what each holds.
/// A volume mounted elsewhere is in use by something else and left out;
/// one that cannot be mounted is left out, and logged.
pub fn list(scope: &Scope, dir: &Path) -> Result<Vec<BackupDisk>, Error> {
    let mut found = Vec::new();
    for volume in disks::volumes(scope)?.into_iter().filter(|v| free(v, dir)) {
        match mount(&volume, dir) {
            Ok(at) => found.push(describe(&volume, &at)),
            Err(e) => tracing::warn!(error = %e, "a disk outside the pool is not offered for backups"),
        }
    }
    Ok(found)
}

/// Mounts the disk `repository` is on, when its address is under `dir`;
/// anything else is left alone.
pub fn reach(scope: &Scope, dir: &Path, repository: &str) -> Result<(), Error> {
    let Some(uuid) = Path::new(repository)
        .strip_prefix(dir)
        .ok()
        .and_then(|rest| rest.components().next())
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
    else {
        return Ok(());
    };
    let volume = disks::volumes(scope)?
        .into_iter()
        .find(|v| v.uuid == uuid)
        .ok_or_else(|| Error::Absent(repository.to_owned()))?;
    mount(&volume, dir).map(|_| ())
}

/// Not mounted, or mounted here only.
fn free(volume: &Volume, dir: &Path) -> bool {
    volume.mountpoints.iter().all(|m| Path::new(m).starts_with(dir))
}

fn mount(volume: &Volume, dir: &Path) -> Result<PathBuf, Error> {
    let at = dir.join(&volume.uuid);
    std::fs::create_dir_all(&at).map_err(|e| Error::Io(at.clone(), e))?;
    if mounted(&at)? {
        return Ok(at);
    }
    let target = at.to_string_lossy();
    command::run("mount", &["-o", "nosuid,nodev,noexec", &volume.path, &target]).map_err(|source| Error::Mount {
        path: volume.path.clone(),
        source,
    })?;
    tracing::info!(disk = volume.path, at = %at.display(), "backup disk mounted");
    Ok(at)
}

/// A mount point is on another device than the folder it is in.
fn mounted(at: &Path) -> Result<bool, Error> {
    let here = std::fs::metadata(at).map_err(|e| Error::Io(at.to_path_buf(), e))?;
    let parent = at.parent().unwrap_or(at);
    let above = std::fs::metadata(parent).map_err(|e| Error::Io(parent.to_path_buf(), e))?;
    Ok(here.dev() != above.dev())
}

fn describe(volume: &Volume, at: &Path) -> BackupDisk {
    let free_bytes = disks::free_bytes(at).unwrap_or(0);
    BackupDisk {
        path: volume.path.clone(),
        label: volume.label.clone(),
        fstype: volume.fstype.clone(),
        size_bytes: volume.size_bytes,
        free_bytes,
        model: volume.model.clone(),
        transport: volume.transport.clone(),
        mount: at.to_string_lossy().into_owned(),
        backup_folder: at.join(BACKUP_FOLDER).to_string_lossy().into_owned(),
        repositories: repositories(at),
    }
}

/// restic's repository layout: a `config` file beside a `keys` folder.
fn repositories(at: &Path) -> Vec<String> {
    let is_repository = |d: &Path| d.join("config").is_file() && d.join("keys").is_dir();
    let mut found: Vec<PathBuf> = std::iter::once(at.to_path_buf())
        .chain(
            std::fs::read_dir(at)
                .into_iter()
                .flatten()
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir()),
        )
        .filter(|d| is_repository(d))
        .collect();
    found.sort();
    found.into_iter().map(|p| p.to_string_lossy().into_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_are_found_at_the_top_and_one_folder_down() {
        let disk = tempfile::tempdir().unwrap();
        for repo in ["shoebox-backup", "old/too-deep", "."] {
            let at = disk.path().join(repo);
            std::fs::create_dir_all(at.join("keys")).unwrap();
            std::fs::write(at.join("config"), b"x").unwrap();
        }
        std::fs::create_dir_all(disk.path().join("holiday-photos/keys")).unwrap();
        let found = repositories(disk.path());
        let top = disk.path().to_string_lossy().into_owned();
        assert_eq!(found, [top.clone(), format!("{top}/shoebox-backup")]);
    }

    #[test]
    fn a_volume_mounted_elsewhere_is_in_use_and_not_offered() {
        let dir = Path::new("/media/shoebox");
        let at = |points: &[&str]| Volume {
            mountpoints: points.iter().map(|p| p.to_string()).collect(),
            ..Volume::default()
        };
        assert!(free(&at(&[]), dir));
        assert!(free(&at(&["/media/shoebox/64B1-0F3A"]), dir));
        assert!(!free(&at(&["/home"]), dir));
        assert!(!free(&at(&["/media/shoebox/x", "/mnt/other"]), dir));
    }

    #[test]
    fn only_addresses_under_the_disks_folder_need_a_disk() {
        let scope = Scope::default();
        let dir = Path::new("/media/shoebox");
        assert!(reach(&scope, dir, "rest:http://nas:8000/").is_ok());
        assert!(reach(&scope, dir, "/srv/backup").is_ok());
        let absent = reach(&scope, dir, "/media/shoebox/0000-NOT-HERE/shoebox-backup").unwrap_err();
        assert!(absent.to_string().contains("not plugged in"), "{absent}");
    }
}
