//! What the storage service's root tests share: loop-device disks, the
//! service on a private bus, and checksums of what is on disk.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};
use shoebox_storaged::client::Storage1Proxy;
use shoebox_storaged::private_bus::{PrivateBus, Service};

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

pub fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A sparse image file on a loop device; detached when dropped.
pub struct LoopDisk {
    pub path: String,
    attached: bool,
}

impl LoopDisk {
    pub fn new(dir: &Path, name: &str) -> LoopDisk {
        let image = dir.join(name);
        std::fs::File::create(&image).unwrap().set_len(320 << 20).unwrap();
        let path = sh("losetup", &["--find", "--show", image.to_str().unwrap()]).trim().to_owned();
        LoopDisk { path, attached: true }
    }

    /// The disk is pulled out.
    pub fn detach(&mut self) {
        sh("losetup", &["--detach", &self.path]);
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

/// Unmounts the pool when the test ends, pass or fail.
pub struct Unmount(pub PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        while Command::new("umount")
            .arg(&self.0)
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
        {}
    }
}

pub struct Harness {
    pub bus: PrivateBus,
    pub args: Vec<String>,
}

impl Harness {
    pub fn start(&self) -> Service {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.bus
            .run_service(Path::new(env!("CARGO_BIN_EXE_shoebox-storaged")), &args)
            .unwrap()
    }

    pub async fn client(&self) -> Storage1Proxy<'static> {
        let connection = zbus::connection::Builder::address(self.bus.address.as_str())
            .unwrap()
            .build()
            .await
            .unwrap();
        Storage1Proxy::new(&connection).await.unwrap()
    }
}

pub fn checksums(root: &Path) -> BTreeMap<String, String> {
    let mut sums = BTreeMap::new();
    for entry in std::fs::read_dir(root).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        sums.insert(entry.file_name().to_string_lossy().into_owned(), hex(&Sha256::digest(&bytes)));
    }
    sums
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Deterministic incompressible-looking bytes (xorshift).
pub fn photo(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A scratch folder others may enter (the bus socket lives in it), a
/// private bus with the project's policy, and the service's arguments for a
/// pool mounted at `<dir>/data` with its state in `<dir>/state`.
pub fn harness(dir: &Path) -> Harness {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rootfs/usr/share/dbus-1/system.d/org.shoebox.Storage1.conf");
    Harness {
        bus: PrivateBus::start(&dir.join("bus"), &policy).expect("dbus-daemon is missing: run ci/install-test-deps.sh"),
        args: vec![
            "--pool-mount".into(),
            dir.join("data").to_str().unwrap().into(),
            "--state-dir".into(),
            dir.join("state").to_str().unwrap().into(),
            "--include-loop-devices".into(),
        ],
    }
}
