//! What interruptions leave behind: a server killed mid-upload, a client
//! that hangs up, a full disk, a crash between rename and commit. In every
//! case: either nothing or a complete asset, never a half.

use std::path::Path;

use crate::common::{Server, eventually, files_under, jpeg, partial_upload, send};
use rand::RngCore;

fn incoming_bytes(data: &Path) -> u64 {
    files_under(&data.join("library/.incoming"))
        .iter()
        .map(|f| f.metadata().map_or(0, |m| m.len()))
        .sum()
}

fn originals(data: &Path) -> usize {
    files_under(&data.join("library"))
        .iter()
        .filter(|f| !f.starts_with(data.join("library/.incoming")))
        .count()
}

#[test]
fn a_server_killed_mid_upload_restarts_with_no_partial_asset_or_file() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let _stream = partial_upload(&s, &token, 4 << 20, 1 << 20);
    eventually("the server has written part of the upload", || incoming_bytes(dir.path()) > 0);
    s.kill();

    let s = Server::start(dir.path());
    assert_eq!(incoming_bytes(dir.path()), 0);
    assert!(
        files_under(&dir.path().join("library/.incoming")).is_empty(),
        "partial upload removed at start-up"
    );
    assert_eq!(originals(dir.path()), 0);
    assert_eq!(
        send(s.get("/api/assets/statistics").bearer_auth(&token)).1["total"],
        0,
        "sessions survive restarts"
    );
    // The retried upload of the same photo ends as exactly one asset.
    let photo = jpeg(32, 32, 1);
    assert_eq!(s.upload(&token, "big.jpg", photo.clone()).0, 201);
    assert_eq!(s.upload(&token, "big.jpg", photo).0, 200);
    assert_eq!(originals(dir.path()), 1);
}

#[test]
fn a_client_that_hangs_up_mid_upload_leaves_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let stream = partial_upload(&s, &token, 4 << 20, 1 << 20);
    eventually("the server has written part of the upload", || incoming_bytes(dir.path()) > 0);
    drop(stream);
    eventually("the partial upload is deleted", || {
        files_under(&dir.path().join("library/.incoming")).is_empty()
    });
    assert_eq!(originals(dir.path()), 0);
    assert_eq!(send(s.get("/api/assets/statistics").bearer_auth(&token)).1["total"], 0);
    assert_eq!(s.upload(&token, "after.jpg", jpeg(16, 16, 2)).0, 201, "the server carries on");
}

#[test]
fn an_original_renamed_in_but_never_committed_is_removed_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let kept = s.upload(&token, "kept.jpg", jpeg(16, 16, 3)).1["id"].as_str().unwrap().to_string();
    assert!(s.stop().success());
    // The state a crash between rename and commit leaves: a pending note and its file.
    let catalog = shoebox_catalog::Catalog::open(&dir.path().join("db/shoebox.db")).unwrap();
    let orphan = "library/someone/ab/abcdef.jpg";
    catalog.add_pending_file(orphan).unwrap();
    std::fs::create_dir_all(dir.path().join("library/someone/ab")).unwrap();
    std::fs::write(dir.path().join(orphan), b"half an ingest").unwrap();
    drop(catalog);

    let s = Server::start(dir.path());
    assert!(!dir.path().join(orphan).exists());
    assert_eq!(
        s.asset(&token, &kept)["originalFileName"],
        "kept.jpg",
        "committed assets are untouched"
    );
    assert_eq!(originals(dir.path()), 1);
}

#[test]
fn jobs_interrupted_by_a_crash_finish_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let ids: Vec<String> = (0..12)
        .map(|i| {
            s.upload(&token, &format!("{i}.jpg"), jpeg(1600, 1200, i)).1["id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    s.kill();
    let s = Server::start(dir.path());
    s.wait_idle(&token);
    for id in &ids {
        assert_eq!(s.asset(&token, id)["resized"], true, "{id}");
    }
}

#[test]
fn a_full_disk_refuses_the_upload_clearly_and_keeps_nothing_half_written() {
    if !nix_is_root() {
        eprintln!("SKIPPED: the full-disk test mounts a small tmpfs and needs root; run the suite as root to exercise it");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("small");
    std::fs::create_dir_all(&mount).unwrap();
    let ok = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs", mount.to_str().unwrap()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "mounting a tmpfs failed");
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(self.0).status();
        }
    }
    let _guard = Unmount(&mount);

    let s = Server::start(&mount);
    let token = s.admin();
    let mut big = vec![0u8; 6 << 20];
    rand::rng().fill_bytes(&mut big);
    let (status, body) = s.upload(&token, "huge.jpg", big);
    assert_eq!(status, 507, "{body}");
    assert!(body["message"].as_str().unwrap().contains("disk is full"), "{body}");
    assert!(files_under(&mount.join("library/.incoming")).is_empty());
    assert_eq!(originals(&mount), 0);
    assert_eq!(send(s.get("/api/assets/statistics").bearer_auth(&token)).1["total"], 0);
    assert_eq!(
        s.upload(&token, "small.jpg", jpeg(16, 16, 1)).0,
        201,
        "with space freed, uploads work again"
    );
}

fn nix_is_root() -> bool {
    std::process::Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}
