//! The pool on real btrfs over loop devices, driven over D-Bus through the
//! real service: a RAID1 pool of two disks, a library written to it, a
//! snapshot, one disk pulled, a degraded mount that still reads every file,
//! the disk replaced, and a clean scrub. Refusals change nothing.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};
use shoebox_storaged::client::Storage1Proxy;
use shoebox_storaged::pool::Status;
use shoebox_storaged::private_bus::{PrivateBus, Service};

fn is_root() -> bool {
    Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap();
    assert!(out.status.success(), "{program} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// A sparse image file on a loop device; detached when dropped.
struct LoopDisk {
    path: String,
    attached: bool,
}

impl LoopDisk {
    fn new(dir: &Path, name: &str) -> LoopDisk {
        let image = dir.join(name);
        std::fs::File::create(&image).unwrap().set_len(320 << 20).unwrap();
        let path = sh("losetup", &["--find", "--show", image.to_str().unwrap()]).trim().to_owned();
        LoopDisk { path, attached: true }
    }

    /// The disk is pulled out.
    fn detach(&mut self) {
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
struct Unmount(PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        while Command::new("umount").arg(&self.0).status().is_ok_and(|s| s.success()) {}
    }
}

struct Harness {
    bus: PrivateBus,
    args: Vec<String>,
}

impl Harness {
    fn start(&self) -> Service {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.bus
            .run_service(Path::new(env!("CARGO_BIN_EXE_shoebox-storaged")), &args)
            .unwrap()
    }

    async fn client(&self) -> Storage1Proxy<'static> {
        let connection = zbus::connection::Builder::address(self.bus.address.as_str())
            .unwrap()
            .build()
            .await
            .unwrap();
        Storage1Proxy::new(&connection).await.unwrap()
    }
}

fn checksums(root: &Path) -> BTreeMap<String, String> {
    let mut sums = BTreeMap::new();
    for entry in std::fs::read_dir(root).unwrap().flatten() {
        let bytes = std::fs::read(entry.path()).unwrap();
        sums.insert(entry.file_name().to_string_lossy().into_owned(), hex(&Sha256::digest(&bytes)));
    }
    sums
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Deterministic incompressible-looking bytes (xorshift).
fn photo(seed: u64, len: usize) -> Vec<u8> {
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

async fn until(what: &str, client: &Storage1Proxy<'_>, done: impl Fn(&Status) -> bool) -> Status {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let status = client.pool_status().await.unwrap();
        if done(&status) {
            return status;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}: {status:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn refusal(e: zbus::Error) -> String {
    match e {
        zbus::Error::MethodError(_, Some(message), _) => message,
        other => panic!("expected the service to refuse, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_raid1_pool_survives_a_lost_disk_and_is_rebuilt_onto_a_new_one() {
    if !is_root() {
        eprintln!("SKIPPED: needs root (loop devices, mkfs.btrfs, mount)");
        return;
    }
    if Command::new("mkfs.btrfs").arg("--version").output().is_err() {
        panic!("mkfs.btrfs is missing: run ci/install-test-deps.sh (btrfs-progs)");
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let a = LoopDisk::new(dir.path(), "a.img");
    let mut b = LoopDisk::new(dir.path(), "b.img");
    let c = LoopDisk::new(dir.path(), "c.img");
    // c holds someone's data: a file system of its own.
    sh("mkfs.btrfs", &["-q", "-L", "someone-else", &c.path]);
    let mount = dir.path().join("data");
    let _unmount = Unmount(mount.clone());
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rootfs/usr/share/dbus-1/system.d/org.shoebox.Storage1.conf");
    let harness = Harness {
        bus: PrivateBus::start(&dir.path().join("bus"), &policy).expect("dbus-daemon is missing: run ci/install-test-deps.sh"),
        args: vec![
            "--pool-mount".into(),
            mount.to_str().unwrap().into(),
            "--state-dir".into(),
            dir.path().join("state").to_str().unwrap().into(),
            "--include-loop-devices".into(),
        ],
    };
    let service = harness.start();
    let client = harness.client().await;
    let blank = |disks: &[shoebox_storaged::disks::Disk], path: &str| disks.iter().find(|d| d.path == path).map(|d| d.blank);

    // No pool yet: nothing to snapshot, and the timer's call still succeeds.
    assert_eq!(client.snapshot_now("timer").await.unwrap(), "");
    assert!(!client.pool_status().await.unwrap().present);

    // Refusals: each leaves every disk as it was.
    let disks = client.list_disks().await.unwrap();
    assert_eq!(blank(&disks, &a.path), Some(true));
    assert_eq!(blank(&disks, &c.path), Some(false), "a disk with a file system is not blank");
    let message = refusal(client.create_pool(&[&a.path, &c.path], "raid1", "").await.unwrap_err());
    assert!(message.contains(&c.path) && message.contains("token"), "{message}");
    let message = refusal(client.create_pool(&["/dev/nonexistent"], "single", "").await.unwrap_err());
    assert!(message.contains("not a disk this service offers"), "{message}");
    let message = refusal(client.create_pool(&[&a.path], "raid1", "").await.unwrap_err());
    assert!(message.contains("two disks"), "{message}");
    let message = refusal(client.create_pool(&[&a.path, &a.path], "raid1", "").await.unwrap_err());
    assert!(message.contains("twice"), "{message}");
    match disks.iter().find(|d| d.system) {
        Some(system) => {
            let message = refusal(client.create_pool(&[&system.path, &a.path], "raid1", "").await.unwrap_err());
            assert!(message.contains("running system"), "{message}");
        }
        None => eprintln!("NOT EXERCISED: this machine shows no system disk to refuse"),
    }
    let plan = client.plan_pool(&[&a.path, &c.path], "raid1").await.unwrap();
    assert_eq!(plan.erases.len(), 1, "the plan names the disk holding data: {plan:?}");
    let message = refusal(client.create_pool(&[&c.path, &a.path], "raid1", &plan.token).await.unwrap_err());
    assert!(
        message.contains("token"),
        "a token confirms exactly the planned arguments: {message}"
    );
    let disks = client.list_disks().await.unwrap();
    assert_eq!(
        (blank(&disks, &a.path), blank(&disks, &b.path), blank(&disks, &c.path)),
        (Some(true), Some(true), Some(false))
    );

    // The pool: blank disks need no token. What the data folder already
    // holds (the setup wizard's catalog) moves onto it.
    std::fs::create_dir_all(mount.join("db")).unwrap();
    std::fs::write(mount.join("db/shoebox.db"), photo(99, 100_000)).unwrap();
    client.create_pool(&[&a.path, &b.path], "raid1", "").await.unwrap();
    assert_eq!(std::fs::read(mount.join("db/shoebox.db")).unwrap(), photo(99, 100_000));
    let status = client.pool_status().await.unwrap();
    assert!(status.present && status.mounted && !status.degraded, "{status:?}");
    assert_eq!((status.data_profile.as_str(), status.metadata_profile.as_str()), ("raid1", "raid1"));
    assert_eq!(status.devices.len(), 2);
    let disks = client.list_disks().await.unwrap();
    assert!(disks.iter().filter(|d| d.in_pool).count() == 2, "{disks:?}");
    let message = refusal(client.create_pool(&[&c.path], "single", "").await.unwrap_err());
    assert!(message.contains("already exists"), "{message}");
    for sub in ["library", "db", "cache"] {
        assert!(mount.join(sub).is_dir(), "{sub} subvolume");
    }

    // A library, and a snapshot of it.
    for i in 0..24 {
        std::fs::write(mount.join(format!("library/IMG_{i:04}.jpg")), photo(i, 300_000)).unwrap();
    }
    let library = checksums(&mount.join("library"));
    let snapshot = client.snapshot_now("manual").await.unwrap();
    let listed = client.list_snapshots().await.unwrap();
    assert_eq!(listed.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), [snapshot.as_str()]);
    assert_eq!(listed[0].trigger, "manual");
    let snapshot_dir = mount.join(".snapshots").join(&snapshot);
    assert_eq!(checksums(&snapshot_dir.join("library")), library);
    assert_eq!(checksums(&snapshot_dir.join("db")), checksums(&mount.join("db")));
    assert!(
        std::fs::write(snapshot_dir.join("library/new.jpg"), b"x").is_err(),
        "snapshots are read-only"
    );
    std::fs::remove_file(mount.join("library/IMG_0000.jpg")).unwrap();
    assert!(
        snapshot_dir.join("library/IMG_0000.jpg").exists(),
        "a deleted photo is still in the snapshot"
    );
    std::fs::write(mount.join("library/IMG_0000.jpg"), photo(0, 300_000)).unwrap();

    // A disk is pulled while the box is off; it comes up degraded.
    drop(service);
    drop(Unmount(mount.clone()));
    let underneath: Vec<_> = std::fs::read_dir(&mount).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(
        underneath,
        [shoebox_storaged::pool::NOT_MOUNTED],
        "the folder under the pool holds only the marker"
    );
    b.detach();
    let service = harness.start();
    let client = harness.client().await;
    let status = client.pool_status().await.unwrap();
    assert!(status.mounted && status.degraded, "{status:?}");
    let missing: Vec<u64> = status.devices.iter().filter(|d| d.missing).map(|d| d.devid).collect();
    assert_eq!(missing.len(), 1, "{status:?}");
    assert_eq!(
        checksums(&mount.join("library")),
        library,
        "every photo reads back from the one disk left"
    );
    std::fs::write(mount.join("library/IMG_after.jpg"), photo(1000, 300_000)).unwrap();
    let library = checksums(&mount.join("library"));

    // Replace it with c, which holds data: only with the plan's token.
    let message = refusal(client.replace_disk(missing[0], &c.path, "").await.unwrap_err());
    assert!(message.contains("token"), "{message}");
    let message = refusal(client.replace_disk(77, &c.path, "").await.unwrap_err());
    assert!(message.contains("devid 77"), "{message}");
    let plan = client.plan_replace(missing[0], &c.path).await.unwrap();
    assert_eq!(plan.erases.len(), 1);
    client.replace_disk(missing[0], &c.path, &plan.token).await.unwrap();
    let status = until("the replace and rebalance", &client, |s| s.activity.is_empty()).await;
    assert_eq!(status.last_error, "");
    assert!(!status.degraded && status.devices.iter().all(|d| !d.missing), "{status:?}");
    assert!(status.devices.iter().any(|d| d.path == c.path), "{status:?}");
    assert_eq!(
        (status.data_profile.as_str(), status.metadata_profile.as_str()),
        ("raid1", "raid1"),
        "chunks written while degraded are mirrored again"
    );

    client.start_scrub().await.unwrap();
    let status = until("the scrub", &client, |s| s.scrub.state == "finished").await;
    assert_eq!(status.scrub.errors, 0, "{status:?}");
    assert!(status.devices.iter().all(|d| d.errors == 0), "{status:?}");
    assert_eq!(checksums(&mount.join("library")), library);
    drop(service);
}
