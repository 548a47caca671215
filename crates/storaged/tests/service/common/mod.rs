//! What the storage service's root tests share: the service on a private
//! bus, and checksums of what is on disk (loop-device disks are in the
//! library's `testing`, which shoeboxd's tests use too).

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use sha2::{Digest, Sha256};
use shoebox_storaged::client::Storage1Proxy;
use shoebox_storaged::private_bus::{PrivateBus, Service};

pub fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
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
            "--backup-disks-dir".into(),
            dir.join("backup-disks").to_str().unwrap().into(),
        ],
    }
}
