//! The admin's storage routes, answered by the real shoebox-storaged over
//! D-Bus, and a clear answer where there is no storage service.

use std::path::Path;
use std::process::Command;

use crate::common::{Server, send};
use serde_json::json;
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
fn the_admin_sees_the_disks_storaged_reports() {
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
    let admin = s.admin();
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
    let user = s.user(&admin, "u@example.com");
    for (method, path) in [("GET", "pool"), ("GET", "snapshots"), ("POST", "snapshots"), ("POST", "pool/scrub")] {
        let url = format!("/api/shoebox/storage/{path}");
        let request = if method == "GET" { s.get(&url) } else { s.post(&url) };
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
