//! The admin's storage routes, answered by the real shoebox-storaged over
//! D-Bus, and a clear answer where there is no storage service.

use std::path::Path;
use std::process::Command;

use crate::common::{Server, send};
use serde_json::{Value, json};
use shoebox_storaged::private_bus::PrivateBus;

fn config(dir: &Path, bus: &str) -> String {
    let file = dir.join("config.toml");
    std::fs::write(&file, format!("storage_bus = {bus:?}\n")).unwrap();
    file.display().to_string()
}

#[test]
fn without_a_storage_service_the_answer_says_the_host_manages_disks() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &format!("unix:path={}/no-such-bus", dir.path().display()));
    let s = Server::start_with(&dir.path().join("data"), &["--config", &config]);
    let admin = s.admin();
    let (status, body) = send(s.get("/api/shoebox/storage/disks").bearer_auth(&admin));
    assert_eq!(status, 503, "{body}");
    assert!(body["message"].as_str().unwrap().contains("host manages"), "{body}");
    let user = s.user(&admin, "u@example.com");
    assert_eq!(send(s.get("/api/shoebox/storage/disks").bearer_auth(&user)).0, 403);
}

#[test]
fn the_admin_and_a_blank_box_s_wizard_see_the_disks_storaged_reports() {
    if !Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0\n")) {
        eprintln!("SKIPPED: needs root (the project's bus policy lets only root own org.shoebox.Storage1)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rootfs/usr/share/dbus-1/system.d/org.shoebox.Storage1.conf");
    let bus = PrivateBus::start(dir.path(), &policy).expect("dbus-daemon is missing: run ci/install-test-deps.sh");
    let storaged = Path::new(env!("CARGO_BIN_EXE_shoeboxd")).with_file_name("shoebox-storaged");
    let (state, pool) = (dir.path().join("state"), dir.path().join("pool"));
    let _service = bus
        .run_service(
            &storaged,
            &["--state-dir", state.to_str().unwrap(), "--pool-mount", pool.to_str().unwrap()],
        )
        .expect("shoebox-storaged is built with the workspace");
    let s = Server::start_with(&dir.path().join("data"), &["--config", &config(dir.path(), &bus.address)]);
    // A blank box's setup wizard lists disks before any account exists; then only admins may.
    let (status, blank) = send(s.get("/api/shoebox/storage/disks"));
    assert_eq!(status, 200, "{blank}");
    let admin = s.admin();
    let (status, _) = send(s.get("/api/shoebox/storage/disks"));
    assert_eq!(status, 401, "once an admin exists, a token is needed");
    let (status, disks) = send(s.get("/api/shoebox/storage/disks").bearer_auth(&admin));
    assert_eq!(status, 200, "{disks}");
    let expected = shoebox_storaged::disks::list(&Default::default()).unwrap();
    assert_eq!(disks.as_array().unwrap().len(), expected.len());
    for (got, want) in disks.as_array().unwrap().iter().zip(&expected) {
        assert_eq!(
            (got["path"].as_str(), got["system"].as_bool()),
            (Some(want.path.as_str()), Some(want.system))
        );
    }

    // No pool yet: each answer says so instead of failing.
    let (status, pool) = send(s.get("/api/shoebox/storage/pool").bearer_auth(&admin));
    assert_eq!((status, &pool["present"]), (200, &json!(false)), "{pool}");
    let (status, list) = send(s.get("/api/shoebox/storage/snapshots").bearer_auth(&admin));
    assert_eq!((status, list), (200, json!([])));
    let (status, body) = send(s.post("/api/shoebox/storage/snapshots").bearer_auth(&admin));
    assert_eq!(status, 409, "{body}");
    assert!(body["message"].as_str().unwrap().contains("no storage pool"), "{body}");
    let (status, body) = send(s.post("/api/shoebox/storage/pool/scrub").bearer_auth(&admin));
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("no pool yet"), "{body}");
    let (status, backup) = send(s.get("/api/shoebox/storage/backup").bearer_auth(&admin));
    assert_eq!(
        (status, &backup["configured"], &backup["last"]),
        (200, &json!(false), &Value::Null),
        "{backup}"
    );
    let (status, body) = send(s.post("/api/shoebox/storage/backup/run").bearer_auth(&admin));
    assert_eq!(status, 409, "{body}");
    let (status, body) = send(
        s.put("/api/shoebox/storage/backup")
            .bearer_auth(&admin)
            .json(&json!({"repository": "nowhere"})),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("absolute folder"), "{body}");
    let repository = dir.path().join("backup");
    let (status, body) = send(
        s.put("/api/shoebox/storage/backup")
            .bearer_auth(&admin)
            .json(&json!({"repository": repository})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["password"].as_str().map(str::len),
        Some(64),
        "a generated key is handed to the owner"
    );
    let (status, body) = send(s.post("/api/shoebox/storage/backup/run").bearer_auth(&admin));
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("create a pool first"), "{body}");

    let user = s.user(&admin, "u@example.com");
    for (method, path) in [
        ("GET", "pool"),
        ("GET", "snapshots"),
        ("POST", "snapshots"),
        ("POST", "pool/scrub"),
        ("GET", "backup"),
        ("PUT", "backup"),
        ("POST", "backup/run"),
    ] {
        let url = format!("/api/shoebox/storage/{path}");
        let request = match method {
            "GET" => s.get(&url),
            "PUT" => s.put(&url).json(&json!({"repository": "/tmp/x"})),
            _ => s.post(&url),
        };
        assert_eq!(send(request.bearer_auth(&user)).0, 403, "{method} {path} is for admins only");
    }
}

#[test]
fn the_server_refuses_a_data_folder_whose_pool_is_not_mounted() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(shoebox_storaged::pool::NOT_MOUNTED), "").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_shoeboxd"))
        .args(["--data-dir", dir.path().to_str().unwrap(), "--port", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let log = String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(log.contains("storage pool is not mounted"), "{log}");
    assert!(!dir.path().join("db").exists(), "nothing is created in the folder under the pool");
}

/// A snapshot as the storage service lays it out, made here by copying the
/// stopped server's folder (btrfs does the same in an instant, as root;
/// storaged's own tests cover that part).
fn fake_snapshot(data: &Path, name: &str) -> std::path::PathBuf {
    let root = data.join(".snapshots").join(name);
    std::fs::create_dir_all(&root).unwrap();
    for sub in ["db", "library"] {
        let ok = Command::new("cp")
            .arg("-a")
            .arg(data.join(sub))
            .arg(&root)
            .status()
            .unwrap()
            .success();
        assert!(ok, "copying {sub}");
    }
    std::fs::write(root.join("snapshot.json"), r#"{"name":"x","created":0,"trigger":"test"}"#).unwrap();
    root
}

/// One asset's entry in a restore's results.
fn outcome(body: &Value, id: &str) -> Value {
    let results = body["results"].as_array().unwrap();
    results
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("{id} in {body}"))
        .clone()
}

#[test]
fn photos_and_an_album_deleted_for_good_come_back_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let s = Server::start(&data);
    let admin = s.admin();
    let user = s.user(&admin, "u@example.com");
    let photos: Vec<String> = (1..=4).map(|seed| s.photo(&user, seed)).collect();
    let (status, album) = send(
        s.post("/api/albums")
            .bearer_auth(&user)
            .json(&json!({"albumName": "Trip", "description": "Summer", "assetIds": [photos[0], photos[1]]})),
    );
    assert_eq!(status, 201, "{album}");
    let album_id = album["id"].as_str().unwrap().to_owned();
    let original = s
        .get(&format!("/api/assets/{}/original", photos[2]))
        .bearer_auth(&user)
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    s.wait_idle(&admin);
    s.stop();

    let snapshot = fake_snapshot(&data, "2026-11-25T100000Z");
    let s = Server::start(&data);
    let admin = s.login("admin@example.com", crate::common::PASSWORD);
    let user = s.login("u@example.com", crate::common::PASSWORD);
    let deleted = [&photos[1], &photos[2], &photos[3]];
    let status = send(
        s.delete("/api/assets")
            .bearer_auth(&user)
            .json(&json!({"ids": deleted, "force": true})),
    )
    .0;
    assert_eq!(status, 204);
    assert_eq!(send(s.delete(&format!("/api/albums/{album_id}")).bearer_auth(&user)).0, 204);
    // photos[3]'s copy in the snapshot is damaged.
    let owner = s.user_id(&user);
    let damaged = crate::common::files_under(&snapshot.join("library").join(&owner))
        .into_iter()
        .find(|p| p.to_string_lossy().contains(&photos[3]))
        .unwrap();
    std::fs::write(&damaged, b"not the photo").unwrap();

    let name = "2026-11-25T100000Z";
    let (status, listed) = send(s.get(&format!("/api/shoebox/storage/snapshots/{name}/assets")).bearer_auth(&admin));
    assert_eq!(status, 200, "{listed}");
    let in_library = |id: &str| {
        listed
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["id"] == id)
            .map(|a| a["inLibrary"].clone())
    };
    assert_eq!(in_library(&photos[0]), Some(json!(true)));
    assert_eq!(in_library(&photos[2]), Some(json!(false)));

    let (status, body) = send(
        s.post(&format!("/api/shoebox/storage/snapshots/{name}/restore"))
            .bearer_auth(&admin)
            .json(&json!({"assetIds": [photos[2], photos[3], "no-such-asset"]})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(outcome(&body, &photos[2])["status"], "restored", "{body}");
    assert_eq!(outcome(&body, &photos[2])["assetId"], photos[2].as_str(), "the asset keeps its id");
    assert_eq!(outcome(&body, &photos[3])["status"], "failed");
    assert!(outcome(&body, &photos[3])["error"].as_str().unwrap().contains("checksum"), "{body}");
    assert_eq!(outcome(&body, "no-such-asset")["status"], "failed");
    let restored = s
        .get(&format!("/api/assets/{}/original", photos[2]))
        .bearer_auth(&user)
        .send()
        .unwrap();
    assert_eq!(restored.status(), 200);
    assert_eq!(restored.bytes().unwrap(), original, "the same bytes are back, for their owner");
    assert_eq!(s.settled(&user, &photos[2])["originalFileName"], "p3.jpg");
    assert!(
        crate::common::files_under(&data.join("library/.incoming")).is_empty(),
        "a failed restore leaves nothing behind"
    );

    let (status, body) = send(
        s.post(&format!("/api/shoebox/storage/snapshots/{name}/restore"))
            .bearer_auth(&admin)
            .json(&json!({"albumId": album_id})),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(outcome(&body, &photos[0])["status"], "present");
    let statuses: Vec<&str> = body["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.iter().filter(|s| **s == "present").count(), 1, "{body}");
    assert_eq!(statuses.iter().filter(|s| **s == "restored").count(), 1, "{body}");
    let new_album = body["albumId"].as_str().unwrap();
    let (status, album) = send(s.get(&format!("/api/albums/{new_album}")).bearer_auth(&user));
    assert_eq!(status, 200, "the album is back for its owner: {album}");
    assert_eq!((album["albumName"].as_str(), album["assetCount"].as_i64()), (Some("Trip"), Some(2)));

    // Bad names and non-admins change nothing.
    for bad in ["..%2F..%2Fdb", "no-such-snapshot"] {
        let r = s
            .post(&format!("/api/shoebox/storage/snapshots/{bad}/restore"))
            .bearer_auth(&admin)
            .json(&json!({"assetIds": [photos[1]]}));
        assert_eq!(send(r).0, 404, "{bad}");
    }
    let r = s
        .post(&format!("/api/shoebox/storage/snapshots/{name}/restore"))
        .bearer_auth(&user)
        .json(&json!({"assetIds": [photos[1]]}));
    assert_eq!(send(r).0, 403);
}

#[test]
fn the_library_moves_onto_a_new_pool_and_the_server_restarts_on_it() {
    if !shoebox_storaged::testing::can_make_pools() {
        return;
    }
    let _disks = shoebox_storaged::testing::disks_to_myself_blocking();
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let disk = shoebox_storaged::testing::LoopDisk::new(dir.path(), "disk.img");
    // The disk holds someone's file system: only a plan's token lets it go.
    assert!(Command::new("mkfs.btrfs").args(["-q", &disk.path]).status().unwrap().success());
    let data = dir.path().join("data");
    let _unmount = shoebox_storaged::testing::Unmount(data.clone());
    let policy = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rootfs/usr/share/dbus-1/system.d/org.shoebox.Storage1.conf");
    let bus = PrivateBus::start(&dir.path().join("bus"), &policy).expect("dbus-daemon is missing: run ci/install-test-deps.sh");
    let storaged = Path::new(env!("CARGO_BIN_EXE_shoeboxd")).with_file_name("shoebox-storaged");
    let state = dir.path().join("state");
    let args = [
        "--pool-mount",
        data.to_str().unwrap(),
        "--state-dir",
        state.to_str().unwrap(),
        "--include-loop-devices",
    ];
    let _service = bus.run_service(&storaged, &args).unwrap();
    let config = config(dir.path(), &bus.address);

    let s = Server::start_with(&data, &["--config", &config]);
    let admin = s.admin();
    let photo = s.created(&admin, "a.jpg", crate::common::jpeg(320, 240, 9));
    let request = json!({"disks": [disk.path], "profile": "single"});
    let (status, body) = send(s.post("/api/shoebox/storage/pool").bearer_auth(&admin).json(&request));
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("token"), "{body}");
    let (status, plan) = send(s.post("/api/shoebox/storage/pool/plan").bearer_auth(&admin).json(&request));
    assert_eq!(status, 200, "{plan}");
    assert_eq!(plan["erases"].as_array().unwrap().len(), 1, "{plan}");
    let confirmed = json!({"disks": [disk.path], "profile": "single", "token": plan["token"]});
    let (status, body) = send(s.post("/api/shoebox/storage/pool").bearer_auth(&admin).json(&confirmed));
    assert_eq!((status, &body["restarting"]), (202, &json!(true)), "{body}");
    let exit = s.wait();
    assert_eq!(
        exit.code(),
        Some(shoebox_server::RESTART_EXIT_CODE),
        "the server stops to be started again"
    );

    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    assert!(
        mounts.contains(&format!(" {} ", data.display())),
        "the pool is mounted on the data folder"
    );
    let s = Server::start_with(&data, &["--config", &config]);
    let admin = s.login("admin@example.com", crate::common::PASSWORD);
    assert_eq!(s.asset(&admin, &photo)["originalFileName"], "a.jpg", "the library came along");
    let (status, pool) = send(s.get("/api/shoebox/storage/pool").bearer_auth(&admin));
    assert_eq!(
        (status, &pool["present"], &pool["mounted"]),
        (200, &json!(true), &json!(true)),
        "{pool}"
    );
}
