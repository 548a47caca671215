//! Disks for tests, here and in shoeboxd's: sparse image files on loop
//! devices, so pools, snapshots and backups run on real btrfs without
//! touching a real disk. Needs root.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use tokio::sync::{Mutex, MutexGuard};

/// Held by each test that makes and pulls disks: the kernel's btrfs device
/// list and loop device numbers are machine-wide, and a disk pulled by one
/// test must not come back as another test's new disk mid-mount.
static DISKS: Mutex<()> = Mutex::const_new(());

pub async fn disks_to_myself() -> MutexGuard<'static, ()> {
    DISKS.lock().await
}

/// [`disks_to_myself`] for tests that do not run on an async runtime.
pub fn disks_to_myself_blocking() -> MutexGuard<'static, ()> {
    DISKS.blocking_lock()
}

pub fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

/// Root and btrfs-progs, or a SKIPPED line saying what is missing.
pub fn can_make_pools() -> bool {
    if !is_root() {
        eprintln!("SKIPPED: needs root (loop devices, mkfs.btrfs, mount)");
        return false;
    }
    assert!(
        Command::new("mkfs.btrfs").arg("--version").output().is_ok(),
        "mkfs.btrfs is missing: run ci/install-test-deps.sh (btrfs-progs)"
    );
    true
}

/// A 320 MiB sparse image file on a loop device; detached when dropped.
pub struct LoopDisk {
    pub path: String,
    attached: bool,
}

impl LoopDisk {
    pub fn new(dir: &Path, name: &str) -> LoopDisk {
        let image = dir.join(name);
        std::fs::File::create(&image).unwrap().set_len(320 << 20).unwrap();
        let out = Command::new("losetup")
            .args(["--find", "--show"])
            .arg(&image)
            .output()
            .expect("losetup (util-linux) is installed");
        assert!(out.status.success(), "losetup: {}", String::from_utf8_lossy(&out.stderr));
        let path = String::from_utf8(out.stdout).unwrap().trim().to_owned();
        LoopDisk { path, attached: true }
    }

    /// The disk is pulled out.
    pub fn detach(&mut self) {
        let ok = Command::new("losetup")
            .args(["--detach", &self.path])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "losetup --detach {}", self.path);
        self.attached = false;
    }
}

impl Drop for LoopDisk {
    fn drop(&mut self) {
        if self.attached {
            let _ = Command::new("losetup").args(["--detach", &self.path]).status();
        }
    }
}

/// Unmounts a folder (every mount stacked on it) when dropped, pass or fail.
pub struct Unmount(pub PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        while Command::new("umount")
            .arg(&self.0)
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {}
    }
}
