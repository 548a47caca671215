//! Off-site backup and restore, end to end: a library of real photos on a
//! btrfs pool (loop device) is backed up by the real shoebox-storaged, then
//! restored onto a second, blank box, where shoeboxd finds the same users,
//! albums and assets with the same bytes. Needs root.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{PASSWORD, Server, eventually, fixture, send};
use serde_json::{Value, json};
use shoebox_storaged::private_bus::{PrivateBus, Service};
use shoebox_storaged::testing::{LoopDisk, Unmount, can_make_pools};

/// One box's storage: a bus, the service on it, a pool.
pub struct Box {
    bus: PrivateBus,
    service: Option<Service>,
    storaged_args: Vec<String>,
    mount: PathBuf,
    config: PathBuf,
}

impl Box {
    /// A pool on one disk.
    pub fn new(dir: &Path, name: &str, disk: &LoopDisk) -> Box {
        Box::with_pool(dir, name, &[disk], "single")
    }

    pub fn with_pool(dir: &Path, name: &str, disks: &[&LoopDisk], profile: &str) -> Box {
        let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rootfs/usr/share/dbus-1/system.d/org.shoebox.Storage1.conf");
        let bus = PrivateBus::start(&dir.join(format!("{name}-bus")), &policy).expect("dbus-daemon: run ci/install-test-deps.sh");
        let mount = dir.join(name);
        let state = dir.join(format!("{name}-state"));
        let storaged_args = [
            "--pool-mount",
            mount.to_str().unwrap(),
            "--state-dir",
            state.to_str().unwrap(),
            "--include-loop-devices",
        ]
        .map(String::from)
        .to_vec();
        let config = dir.join(format!("{name}.toml"));
        std::fs::write(&config, format!("storage_bus = {:?}\n", bus.address)).unwrap();
        let mut this = Box {
            bus,
            service: None,
            storaged_args,
            mount,
            config,
        };
        this.start_service();
        let count = disks.len().to_string();
        let mut create = vec!["CreatePool", "asss", &count];
        create.extend(disks.iter().map(|d| d.path.as_str()));
        create.extend([profile, ""]);
        this.call(&create).expect("a pool on the blank disks");
        this
    }

    fn start_service(&mut self) {
        let storaged = Path::new(env!("CARGO_BIN_EXE_shoeboxd")).with_file_name("shoebox-storaged");
        let args: Vec<&str> = self.storaged_args.iter().map(String::as_str).collect();
        let service = self
            .bus
            .run_service(&storaged, &args)
            .expect("shoebox-storaged is built with the workspace");
        self.service = Some(service);
    }

    /// A disk is pulled out while the box is off; the pool comes up without it.
    pub fn pull_disk(&mut self, disk: &mut LoopDisk) {
        self.service = None;
        drop(Unmount(self.mount.clone()));
        disk.detach();
        self.start_service();
    }

    /// A D-Bus call as the timers make them (busctl); stdout or the error.
    fn call(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("busctl")
            .arg(format!("--address={}", self.bus.address))
            .args(["call", "org.shoebox.Storage1", "/org/shoebox/Storage1", "org.shoebox.Storage1"])
            .args(args)
            .output()
            .unwrap();
        if out.status.success() {
            Ok(String::from_utf8_lossy(&out.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    pub fn server(&self) -> Server {
        Server::start_with(&self.mount, &["--config", self.config.to_str().unwrap()])
    }
}

/// A box on one fresh loop disk under `dir`; the parts go in the order
/// they must: the service, then the pool's mount, then the disk.
pub fn one_disk_box(dir: &Path) -> (Box, Unmount, LoopDisk) {
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let disk = LoopDisk::new(dir, "pool.img");
    let unmount = Unmount(dir.join("box"));
    (Box::new(dir, "box", &disk), unmount, disk)
}

/// Starts an off-site backup and waits for it to end; the backup status then.
pub fn run_backup(s: &Server, admin: &str) -> Value {
    let (status, body) = send(s.post("/api/shoebox/storage/backup/run").bearer_auth(admin));
    assert_eq!(status, 202, "{body}");
    let mut last = Value::Null;
    eventually("the backup to finish", || {
        last = send(s.get("/api/shoebox/storage/backup").bearer_auth(admin)).1;
        last["running"] == false && !last["last"].is_null()
    });
    last
}

/// A user's assets (id, file name, checksum) and albums (name, asset count).
type Library = (Vec<(String, String, String)>, Vec<(String, i64)>);

/// What a person would compare after a restore.
fn library(s: &Server, token: &str) -> Library {
    let (_, found) = send(s.post("/api/search/metadata").bearer_auth(token).json(&json!({"size": 1000})));
    let mut assets: Vec<(String, String, String)> = found["assets"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (text(&a["id"]), text(&a["originalFileName"]), text(&a["checksum"])))
        .collect();
    assets.sort();
    let (_, albums) = send(s.get("/api/albums").bearer_auth(token));
    let mut albums: Vec<(String, i64)> = albums
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (text(&a["albumName"]), a["assetCount"].as_i64().unwrap()))
        .collect();
    albums.sort();
    (assets, albums)
}

fn original_bytes(s: &Server, token: &str, id: &str) -> Vec<u8> {
    let r = s.get(&format!("/api/assets/{id}/original")).bearer_auth(token).send().unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().unwrap().to_vec()
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_library_backed_up_off_site_comes_back_on_a_blank_box() {
    if !can_make_pools() {
        return;
    }
    let _disks = shoebox_storaged::testing::disks_to_myself_blocking();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (disk1, disk2) = (LoopDisk::new(dir.path(), "one.img"), LoopDisk::new(dir.path(), "two.img"));
    let (_unmount1, _unmount2) = (Unmount(dir.path().join("one")), Unmount(dir.path().join("two")));
    let repository = dir.path().join("usb-disk/backup");
    let key = "the key printed in the emergency kit";

    // The first box: two users, real photos, a shared album, a backup.
    let one = Box::new(dir.path(), "one", &disk1);
    let s = one.server();
    let admin = s.admin();
    let bob = s.user(&admin, "bob@example.com");
    let photos = ["NikonD70.jpg", "GPS.jpg", "CanonRaw.cr2"];
    let ids: Vec<String> = photos.iter().map(|name| s.created(&admin, name, fixture(name))).collect();
    s.created(&bob, "MWG.jpg", fixture("MWG.jpg"));
    let (status, album) = send(
        s.post("/api/albums")
            .bearer_auth(&admin)
            .json(&json!({"albumName": "Holiday", "assetIds": [ids[0], ids[1]]})),
    );
    assert_eq!(status, 201, "{album}");
    s.wait_idle(&admin);
    let before = (library(&s, &admin), library(&s, &bob));
    let original = original_bytes(&s, &admin, &ids[2]);

    let target = json!({"repository": repository, "password": key});
    let (status, body) = send(s.put("/api/shoebox/storage/backup").bearer_auth(&admin).json(&target));
    assert_eq!(status, 200, "{body}");
    let last = run_backup(&s, &admin);
    assert_eq!(last["last"]["ok"], true, "{last}");
    s.stop();

    // The second box is blank: a wrong key is refused and leaves it blank.
    let two = Box::new(dir.path(), "two", &disk2);
    let wrong = two
        .call(&["RestoreBackup", "ss", repository.to_str().unwrap(), "not the key"])
        .unwrap_err();
    assert!(wrong.contains("backup repository"), "{wrong}");
    assert!(!two.mount.join("db/shoebox.db").exists(), "nothing restored");
    let restored = two.call(&["RestoreBackup", "ss", repository.to_str().unwrap(), key]).unwrap();
    assert!(restored.starts_with("s \""), "{restored}");
    let again = two.call(&["RestoreBackup", "ss", repository.to_str().unwrap(), key]).unwrap_err();
    assert!(again.contains("blank box"), "a restored box is no longer blank: {again}");

    let s = two.server();
    let admin = s.login("admin@example.com", PASSWORD);
    let bob = s.login("bob@example.com", PASSWORD);
    assert_eq!(
        (library(&s, &admin), library(&s, &bob)),
        before,
        "the same users, assets and albums"
    );
    let bytes = original_bytes(&s, &admin, &ids[2]);
    assert_eq!(bytes, original, "the raw file's bytes are back");
    s.wait_idle(&admin);
    let thumbnail = s
        .get(&format!("/api/assets/{}/thumbnail", ids[0]))
        .bearer_auth(&admin)
        .send()
        .unwrap();
    assert_eq!(thumbnail.status(), 200, "thumbnails are made again on the new box");
    assert_ne!(
        thumbnail.headers()["cache-control"],
        "no-store",
        "a real thumbnail, not the placeholder"
    );
    let (_, backup) = send(s.get("/api/shoebox/storage/backup").bearer_auth(&admin));
    assert_eq!(
        backup["repository"],
        repository.to_str().unwrap(),
        "the new box backs up to the same place"
    );
}

/// `restic` (Debian's) on `repository` with `password`: whether it opened it.
fn restic_opens(repository: &Path, password: &str) -> bool {
    Command::new("restic")
        .args(["--no-cache", "-r", repository.to_str().unwrap(), "cat", "config"])
        .env("RESTIC_PASSWORD", password)
        .output()
        .expect("restic is missing: run ci/install-test-deps.sh")
        .status
        .success()
}

#[test]
fn the_emergency_kit_holds_the_key_until_kept_and_a_new_key_retires_the_old() {
    if !can_make_pools() {
        return;
    }
    let _disks = shoebox_storaged::testing::disks_to_myself_blocking();
    let dir = tempfile::tempdir().unwrap();
    let (storage, _unmount, _disk) = one_disk_box(dir.path());
    let s = storage.server();
    let admin = s.admin();
    let repository = dir.path().join("usb-disk/backup");
    let kit_alert = |s: &Server| {
        let (_, open) = send(s.post("/api/shoebox/alerts/check").bearer_auth(&admin));
        open.as_array().unwrap().iter().any(|a| a["key"] == "backup:kit")
    };

    // The box makes the key; the kit names it by fingerprint.
    let (status, first) = send(
        s.put("/api/shoebox/storage/backup")
            .bearer_auth(&admin)
            .json(&json!({"repository": repository})),
    );
    assert_eq!(status, 200, "{first}");
    let key = first["password"].as_str().unwrap().to_owned();
    assert!(key.len() == 64 && key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
    assert_eq!(first["kit"]["repository"], repository.to_str().unwrap());
    assert!(first["kit"]["confirmedAt"].is_null(), "{first}");
    let (_, backup) = send(s.get("/api/shoebox/storage/backup").bearer_auth(&admin));
    assert_eq!(backup["kit"]["keyId"], first["kit"]["keyId"], "{backup}");
    assert!(!backup.to_string().contains(&key), "the key is never shown again: {backup}");
    assert!(kit_alert(&s), "an unconfirmed kit is an alert");

    // Kept: the alert clears.
    let (status, body) = send(
        s.post("/api/shoebox/storage/backup/kit/confirm")
            .bearer_auth(&admin)
            .json(&json!({"keyId": "0000-0000-0000-0000"})),
    );
    assert_eq!(status, 400, "{body}");
    let (status, kept) = send(
        s.post("/api/shoebox/storage/backup/kit/confirm")
            .bearer_auth(&admin)
            .json(&json!({"keyId": first["kit"]["keyId"]})),
    );
    assert_eq!(status, 200, "{kept}");
    assert!(kept["confirmedAt"].is_string(), "{kept}");
    assert!(!kit_alert(&s));
    assert!(restic_opens(&repository, &key));

    // A new key: a new kit to keep, and the old key opens nothing.
    let (status, second) = send(s.post("/api/shoebox/storage/backup/key").bearer_auth(&admin));
    assert_eq!(status, 200, "{second}");
    let new_key = second["password"].as_str().unwrap();
    assert_ne!(new_key, key);
    assert_ne!(second["kit"]["keyId"], first["kit"]["keyId"]);
    assert!(kit_alert(&s), "the new kit is not kept yet");
    assert!(restic_opens(&repository, new_key), "the new key opens the repository");
    assert!(!restic_opens(&repository, &key), "the old key is retired");
    let (status, body) = send(
        s.post("/api/shoebox/storage/backup/kit/confirm")
            .bearer_auth(&admin)
            .json(&json!({"keyId": first["kit"]["keyId"]})),
    );
    assert_eq!(status, 400, "the old kit cannot be confirmed: {body}");

    // Backups go on with the new key.
    let last = run_backup(&s, &admin);
    assert_eq!(last["last"]["ok"], true, "{last}");
}
