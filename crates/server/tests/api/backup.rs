//! Off-site backup and restore, end to end: a library of real photos on a
//! btrfs pool (loop device) is backed up by the real shoebox-storaged, then
//! restored through the setup wizard of a second, blank box, where
//! shoeboxd finds the same users, albums, people and assets with the same
//! bytes. Needs root.

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

    /// Where the pool is mounted: the servers' data folder.
    pub fn mount(&self) -> &Path {
        &self.mount
    }

    /// More settings for the servers started on this box.
    pub fn add_config(&self, toml: &str) {
        let mut config = std::fs::read_to_string(&self.config).unwrap();
        config.push_str(toml);
        std::fs::write(&self.config, config).unwrap();
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

/// Each person's name and face count, sorted.
fn people(s: &Server, token: &str) -> Vec<(String, u64)> {
    let (status, body) = send(s.get("/api/people?withHidden=true").bearer_auth(token));
    assert_eq!(status, 200, "{body}");
    let mut people: Vec<(String, u64)> = body["people"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            let (_, stats) = send(s.get(&format!("/api/people/{}/statistics", text(&p["id"]))).bearer_auth(token));
            (text(&p["name"]), stats["assets"].as_u64().unwrap())
        })
        .collect();
    people.sort();
    people
}

/// Damages the largest pack file of a restic repository in its middle.
pub fn damage_a_pack(repository: &Path) {
    let pack = crate::common::files_under(&repository.join("data"))
        .into_iter()
        .max_by_key(|p| std::fs::metadata(p).unwrap().len())
        .expect("the repository holds pack files");
    let mut bytes = std::fs::read(&pack).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 64] {
        *b ^= 0xff;
    }
    std::fs::write(&pack, bytes).unwrap();
}

/// The setup wizard's restore as it stands now; `None` once the server
/// has stopped to start again on the restored library.
fn restore_status(s: &Server) -> Option<Value> {
    let r = s.get("/api/shoebox/setup/restore").send().ok()?;
    r.json().ok()
}

/// Whether the box two's wizard sees is still blank: no account, no
/// photo, nothing left in the staging folders.
fn blank(s: &Server, mount: &Path) -> bool {
    let (_, setup) = send(s.get("/api/shoebox/setup"));
    let photos = crate::common::files_under(&mount.join("library"))
        .into_iter()
        .filter(|p| !p.starts_with(mount.join("library/.incoming")))
        .count();
    setup["adminCreated"] == false
        && photos == 0
        && !mount.join("db/.restoring").exists()
        && !mount.join("library/.restoring").exists()
        && !mount.join("db/restore-commit.json").exists()
}

#[test]
fn a_library_backed_up_off_site_is_restored_through_the_setup_wizard_of_a_blank_box() {
    if !can_make_pools() {
        return;
    }
    let _disks = shoebox_storaged::testing::disks_to_myself_blocking();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let (disk1, disk2) = (LoopDisk::new(dir.path(), "one.img"), LoopDisk::new(dir.path(), "two.img"));
    let (_unmount1, _unmount2) = (Unmount(dir.path().join("one")), Unmount(dir.path().join("two")));
    let repository = dir.path().join("usb-disk/backup");
    let damaged = dir.path().join("usb-disk/damaged");

    // The first box: two users, real photos, a shared album, two people
    // found by the test face model and one named, a backup whose key the
    // box made (the kit's).
    let one = Box::new(dir.path(), "one", &disk1);
    one.add_config(&faces_config());
    let s = one.server();
    let admin = s.admin();
    let bob = s.user(&admin, "bob@example.com");
    let photos = ["NikonD70.jpg", "GPS.jpg", "CanonRaw.cr2"];
    let ids: Vec<String> = photos.iter().map(|name| s.created(&admin, name, fixture(name))).collect();
    s.created(&bob, "MWG.jpg", fixture("MWG.jpg"));
    let shots = [(1.0, 0, 0), (0.8, 60, 30), (1.25, 10, 90)];
    for (i, &(scale, left, top)) in shots.iter().enumerate() {
        s.created(
            &admin,
            &format!("kafka-{i}.png"),
            crate::ml::portrait("franz-kafka.jpg", scale, left, top),
        );
        s.created(
            &admin,
            &format!("astronaut-{i}.png"),
            crate::ml::portrait("astronaut.png", scale, left, top),
        );
    }
    let (status, album) = send(
        s.post("/api/albums")
            .bearer_auth(&admin)
            .json(&json!({"albumName": "Holiday", "assetIds": [ids[0], ids[1]]})),
    );
    assert_eq!(status, 201, "{album}");
    s.wait_idle(&admin);
    let (_, found) = send(s.get("/api/people").bearer_auth(&admin));
    let someone = text(&found["people"][0]["id"]);
    let (status, body) = send(
        s.put(&format!("/api/people/{someone}"))
            .bearer_auth(&admin)
            .json(&json!({"name": "Franz"})),
    );
    assert_eq!(status, 200, "{body}");
    let before = (library(&s, &admin), library(&s, &bob), people(&s, &admin));
    assert_eq!(before.2.len(), 2, "two people found: {:?}", before.2);
    let original = original_bytes(&s, &admin, &ids[2]);

    let (status, body) = send(
        s.put("/api/shoebox/storage/backup")
            .bearer_auth(&admin)
            .json(&json!({"repository": repository})),
    );
    assert_eq!(status, 200, "{body}");
    let key = text(&body["password"]);
    let last = run_backup(&s, &admin);
    assert_eq!(last["last"]["ok"], true, "{last}");
    s.stop();
    Command::new("cp").arg("-a").arg(&repository).arg(&damaged).status().unwrap();
    damage_a_pack(&damaged);

    // The second box is blank: the wizard asks no account to restore.
    let two = Box::new(dir.path(), "two", &disk2);
    let s = two.server();
    assert!(blank(&s, &two.mount));
    let source = |repository: &Path, password: &str| json!({"repository": repository, "password": password});
    let (status, body) = send(
        s.post("/api/shoebox/setup/restore/inspect")
            .json(&source(&repository, "not the key")),
    );
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("does not open with this key: check it against the emergency kit"),
        "{body}"
    );
    assert_eq!(status, 400, "a wrong key is the caller's mistake, not a failure: {body}");
    assert!(blank(&s, &two.mount), "a wrong key leaves the box blank");

    // What the backup holds, before anything is restored.
    let (status, held) = send(s.post("/api/shoebox/setup/restore/inspect").json(&source(&repository, &key)));
    assert_eq!(status, 200, "{held}");
    let users: Vec<&str> = held["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["email"].as_str().unwrap())
        .collect();
    assert_eq!(users, ["admin@example.com", "bob@example.com"], "{held}");
    assert_eq!(
        (&held["photos"], &held["albums"], &held["people"]),
        (&json!(10), &json!(1), &json!(2)),
        "{held}"
    );
    assert!(held["createdAt"].is_string() && held["sizeBytes"].as_u64().unwrap() > 0, "{held}");
    assert!(blank(&s, &two.mount), "looking restores nothing");

    // A damaged repository: a clear error, and the box stays blank.
    let (status, body) = send(s.post("/api/shoebox/setup/restore").json(&source(&damaged, &key)));
    assert_eq!(status, 202, "{body}");
    let mut now = Value::Null;
    eventually("the damaged restore to fail", || {
        now = restore_status(&s).unwrap();
        now["state"] == "failed"
    });
    assert!(now["error"].as_str().unwrap().contains("repository is damaged"), "{now}");
    assert!(blank(&s, &two.mount), "a failed restore leaves the box blank: {now}");

    // The good one: restored, checked, and the server starts again on it.
    let (status, body) = send(s.post("/api/shoebox/setup/restore").json(&source(&repository, &key)));
    assert_eq!(status, 202, "{body}");
    eventually("the restore to finish", || match restore_status(&s) {
        Some(now) => {
            assert_ne!(now["state"], "failed", "{now}");
            now["state"] == "restarting"
        }
        None => true,
    });
    assert_eq!(s.wait().code(), Some(shoebox_server::RESTART_EXIT_CODE));
    assert!(
        !two.mount.join("db/restore-commit.json").exists(),
        "the commit's journal is gone once it finished"
    );

    let s = two.server();
    let admin = s.login("admin@example.com", PASSWORD);
    let bob = s.login("bob@example.com", PASSWORD);
    s.wait_idle(&admin);
    assert_eq!(
        (library(&s, &admin), library(&s, &bob), people(&s, &admin)),
        before,
        "the same users, assets, albums and people"
    );
    assert_eq!(original_bytes(&s, &admin, &ids[2]), original, "the raw file's bytes are back");
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
    assert!(
        backup["kit"]["confirmedAt"].is_string(),
        "the kit used to restore counts as kept: {backup}"
    );
    let (status, body) = send(
        s.post("/api/shoebox/setup/restore")
            .bearer_auth(&admin)
            .json(&source(&repository, &key)),
    );
    assert_eq!(status, 409, "a restored box is no longer blank: {body}");
    let (status, _) = send(s.post("/api/shoebox/setup/restore/inspect").json(&source(&repository, &key)));
    assert_eq!(status, 401, "without an account only a blank box answers");
}

/// The test face model (ci/fetch-ml.sh), so the library has people.
fn faces_config() -> String {
    let ml = crate::ml::ml_dir();
    format!(
        "[ml]\nruntime = {:?}\nmodels_dir = {:?}\nclip_model = \"\"\nocr_model = \"\"\nface_model = \"test-faces\"\n",
        ml.join("runtime/libonnxruntime.so"),
        ml.join("models")
    )
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
