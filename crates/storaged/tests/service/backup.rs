//! Off-site backup through the real service: a pool on a loop device, a
//! library on it, backups to a local folder, to a REST server and to an
//! SFTP server on loopback (both served by rclone), each then checked and restored by
//! Debian's `restic` program and compared file by file.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{checksums, photo};
use futures_util::StreamExt;
use shoebox_storaged::backup::Outcome;
use shoebox_storaged::client::Storage1Proxy;
use shoebox_storaged::testing::{LoopDisk, Unmount};

fn restic(repository: &str, password: &str, args: &[&str]) -> std::process::Output {
    Command::new("restic")
        .args(["--no-cache", "-r", repository])
        .args(args)
        .env("RESTIC_PASSWORD", password)
        .output()
        .expect("restic is missing: run ci/install-test-deps.sh")
}

/// Backs up now and waits for the BackupFinished signal.
async fn back_up(client: &Storage1Proxy<'_>) -> Outcome {
    let mut finished = client.receive_backup_finished().await.unwrap();
    let job = client.backup_now("manual").await.unwrap();
    assert!(!job.is_empty(), "a configured backup starts");
    let signal = tokio::time::timeout(Duration::from_secs(300), finished.next())
        .await
        .expect("BackupFinished within 5 minutes")
        .unwrap();
    signal.args().unwrap().outcome
}

/// What `restic restore latest` gives back, compared with the pool.
fn restored_matches(repository: &str, password: &str, pool: &Path, scratch: &Path) {
    let check = restic(repository, password, &["check", "--read-data"]);
    assert!(check.status.success(), "restic check: {}", String::from_utf8_lossy(&check.stderr));
    let target = scratch.join("restored");
    let restore = restic(repository, password, &["restore", "latest", "--target", target.to_str().unwrap()]);
    assert!(
        restore.status.success(),
        "restic restore: {}",
        String::from_utf8_lossy(&restore.stderr)
    );
    assert_eq!(checksums(&target.join("shoebox/library")), checksums(&pool.join("library")));
    assert_eq!(checksums(&target.join("shoebox/db")), checksums(&pool.join("db")));
    assert!(!target.join("shoebox/cache").exists(), "derived files are not backed up");
    std::fs::remove_dir_all(&target).unwrap();
}

/// A server rclone runs on a loopback port (`rclone serve <protocol>`),
/// and the repository address storaged is given for it; stopped on drop.
struct RcloneServer(Child, String);

impl RcloneServer {
    fn start(protocol: &str, args: &[&str], folder: &Path, address: impl FnOnce(u16) -> String) -> RcloneServer {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("rclone")
            .args(["serve", protocol, "--addr", &format!("127.0.0.1:{port}")])
            .args(args)
            .arg(folder)
            .stderr(Stdio::null())
            .spawn()
            .expect("rclone is missing: run ci/install-test-deps.sh");
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "rclone serve {protocol} did not listen");
            std::thread::sleep(Duration::from_millis(50));
        }
        RcloneServer(child, address(port))
    }

    /// A restic REST server.
    fn rest(folder: &Path) -> RcloneServer {
        Self::start("restic", &[], folder, |port| format!("rest:http://127.0.0.1:{port}/"))
    }

    /// An SFTP server with a password login, reached by storaged through
    /// the rclone program (`rclone:` addresses), as SFTP and S3 targets are.
    fn sftp(folder: &Path) -> RcloneServer {
        let obscured = Command::new("rclone").args(["obscure", "sftp secret"]).output().unwrap();
        let obscured = String::from_utf8(obscured.stdout).unwrap().trim().to_owned();
        std::fs::create_dir_all(folder).unwrap();
        // rclone makes its own host keys.
        Self::start("sftp", &["--user", "shoebox", "--pass", "sftp secret"], folder, |port| {
            format!("rclone::sftp,host=127.0.0.1,port={port},user=shoebox,pass={obscured}:backup")
        })
    }
}

impl Drop for RcloneServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn backups_to_a_folder_a_rest_server_and_sftp_are_read_back_by_restic() {
    if !shoebox_storaged::testing::can_make_pools() {
        return;
    }
    let _disks = shoebox_storaged::testing::disks_to_myself().await;
    let dir = tempfile::tempdir().unwrap();
    let harness = crate::common::harness(dir.path());
    let disk = LoopDisk::new(dir.path(), "disk.img");
    let pool = dir.path().join("data");
    let _unmount = Unmount(pool.clone());
    let _service = harness.start();
    let client = harness.client().await;

    assert_eq!(
        client.backup_now("timer").await.unwrap(),
        "",
        "nothing set up: the timer's call still succeeds"
    );
    let refused = client.configure_backup("relative/folder", "").await.unwrap_err().to_string();
    assert!(refused.contains("absolute folder"), "{refused}");
    assert!(!client.backup_status().await.unwrap().configured);

    let repository = dir.path().join("usb-disk/shoebox-backup");
    let password = client.configure_backup(repository.to_str().unwrap(), "").await.unwrap();
    assert_eq!(password.len(), 64, "a generated key");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(dir.path().join("state/backup.json")).unwrap().permissions());
    assert_eq!(mode & 0o077, 0, "the key is readable by root only");
    let refused = client.backup_now("manual").await.unwrap_err().to_string();
    assert!(refused.contains("create a pool first"), "{refused}");

    client.create_pool(&[&disk.path], "single", "").await.unwrap();
    for i in 0..30 {
        std::fs::write(pool.join(format!("library/IMG_{i:04}.jpg")), photo(i, 200_000)).unwrap();
    }
    std::fs::write(pool.join("db/shoebox.db"), photo(7, 50_000)).unwrap();
    std::fs::write(pool.join("cache/thumb.webp"), b"derived").unwrap();

    let outcome = back_up(&client).await;
    assert!(outcome.ok, "{outcome:?}");
    assert!(outcome.files >= 31 && !outcome.snapshot_id.is_empty(), "{outcome:?}");
    let status = client.backup_status().await.unwrap();
    assert!(status.configured && !status.running && status.last == outcome, "{status:?}");
    restored_matches(repository.to_str().unwrap(), &password, &pool, dir.path());

    // Retention keeps the newest backup of each day (and, as restic does,
    // the oldest one overall): of three today, the middle one goes.
    let mut outcomes = vec![outcome];
    for i in 0..2 {
        std::fs::write(pool.join(format!("library/IMG_later_{i}.jpg")), photo(400 + i, 200_000)).unwrap();
        let later = back_up(&client).await;
        assert!(later.ok && later.message.is_empty(), "{later:?}");
        outcomes.push(later);
    }
    let listed = restic(repository.to_str().unwrap(), &password, &["snapshots", "--json"]);
    let kept: Vec<serde_json::Value> = serde_json::from_slice(&listed.stdout).unwrap();
    let mut kept: Vec<&str> = kept.iter().map(|s| s["id"].as_str().unwrap()).collect();
    kept.sort();
    let mut expected = [outcomes[0].snapshot_id.as_str(), outcomes[2].snapshot_id.as_str()];
    expected.sort();
    assert_eq!(kept, expected, "{}", String::from_utf8_lossy(&listed.stdout));
    restored_matches(repository.to_str().unwrap(), &password, &pool, dir.path());

    // The wrong key for an existing repository is refused and changes nothing.
    let refused = client
        .configure_backup(repository.to_str().unwrap(), "not the key")
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("backup repository does not open with this key"), "{refused}");
    assert!(refused.contains("emergency kit"), "it says what to check: {refused}");
    assert_eq!(client.backup_status().await.unwrap().repository, repository.to_str().unwrap());

    // A second backup after a change, to a REST server.
    std::fs::write(pool.join("library/IMG_new.jpg"), photo(500, 200_000)).unwrap();
    let server = RcloneServer::rest(&dir.path().join("rest"));
    let password = client.configure_backup(&server.1, "a key the owner chose").await.unwrap();
    assert_eq!(password, "a key the owner chose");
    let outcome = back_up(&client).await;
    assert!(outcome.ok, "{outcome:?}");
    restored_matches(&server.1, &password, &pool, dir.path());

    // And over SFTP; restic reads it back from the same folder.
    let folder = dir.path().join("sftp");
    let server = RcloneServer::sftp(&folder);
    let password = client.configure_backup(&server.1, "").await.unwrap();
    let outcome = back_up(&client).await;
    assert!(outcome.ok, "{outcome:?}");
    restored_matches(folder.join("backup").to_str().unwrap(), &password, &pool, dir.path());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_usb_disk_is_found_backed_up_to_and_restored_from_after_it_was_unplugged() {
    if !shoebox_storaged::testing::can_make_pools() {
        return;
    }
    let _disks = shoebox_storaged::testing::disks_to_myself().await;
    let dir = tempfile::tempdir().unwrap();
    let harness = crate::common::harness(dir.path());
    let pool_disk = LoopDisk::new(dir.path(), "pool.img");
    let usb = LoopDisk::new(dir.path(), "usb.img");
    crate::common::sh("mkfs.ext4", &["-q", "-L", "HOLIDAYS", &usb.path]);
    let pool = dir.path().join("data");
    let _unmount = Unmount(pool.clone());
    let _service = harness.start();
    let client = harness.client().await;
    client.create_pool(&[&pool_disk.path], "single", "").await.unwrap();
    for i in 0..10 {
        std::fs::write(pool.join(format!("library/IMG_{i:04}.jpg")), photo(i, 100_000)).unwrap();
    }
    let library = checksums(&pool.join("library"));

    let found = client.list_backup_disks().await.unwrap();
    let [disk] = &found[..] else {
        panic!("one backup disk, the USB one: {found:?}")
    };
    let _unmount_usb = Unmount(disk.mount.clone().into());
    assert_eq!(
        (disk.path.as_str(), disk.label.as_str(), disk.fstype.as_str()),
        (usb.path.as_str(), "HOLIDAYS", "ext4")
    );
    assert!(
        disk.mount.starts_with(dir.path().join("backup-disks").to_str().unwrap()),
        "{disk:?}"
    );
    assert!(disk.repositories.is_empty() && disk.free_bytes > 0, "{disk:?}");
    let pool_found = client.list_disks().await.unwrap();
    assert!(
        pool_found.iter().any(|d| d.path == pool_disk.path && d.in_pool),
        "the pool's disk is no backup disk"
    );

    let repository = disk.backup_folder.clone();
    let password = client.configure_backup(&repository, "").await.unwrap();
    let outcome = back_up(&client).await;
    assert!(outcome.ok, "{outcome:?}");

    // Unplugged (unmounted) and plugged back in: the next backup mounts it again.
    crate::common::sh("umount", &[&disk.mount]);
    assert!(!Path::new(&repository).exists());
    std::fs::write(pool.join("library/IMG_later.jpg"), photo(99, 100_000)).unwrap();
    let later = back_up(&client).await;
    assert!(later.ok, "the disk is mounted again for the backup: {later:?}");
    let again = client.list_backup_disks().await.unwrap();
    assert_eq!(
        again[0].repositories,
        std::slice::from_ref(&repository),
        "the backup is found on it"
    );

    // A blank box restores from it, also after it was unplugged.
    crate::common::sh("umount", &[&disk.mount]);
    std::fs::remove_dir_all(pool.join("library")).unwrap();
    std::fs::create_dir(pool.join("library")).unwrap();
    let latest = client.stage_restore(&repository, &password, &["library"]).await.unwrap();
    assert_eq!(latest.id, later.snapshot_id);
    let mut restored = checksums(&pool.join("library/.restoring"));
    assert!(restored.remove("IMG_later.jpg").is_some(), "{restored:?}");
    assert_eq!(restored, library);
}
