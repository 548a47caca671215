//! The pool on real btrfs over loop devices, driven over D-Bus through the
//! real service: a RAID1 pool of two disks, a library written to it, a
//! snapshot, one disk pulled, a degraded mount that still reads every file,
//! the disk replaced, and a clean scrub. Refusals change nothing.

use std::time::{Duration, Instant};

use crate::common::{checksums, photo, sh};
use shoebox_storaged::client::Storage1Proxy;
use shoebox_storaged::pool::Status;
use shoebox_storaged::testing::{LoopDisk, Unmount};

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
    if !shoebox_storaged::testing::can_make_pools() {
        return;
    }
    let _disks = shoebox_storaged::testing::disks_to_myself().await;
    let dir = tempfile::tempdir().unwrap();
    let harness = crate::common::harness(dir.path());
    let a = LoopDisk::new(dir.path(), "a.img");
    let mut b = LoopDisk::new(dir.path(), "b.img");
    let c = LoopDisk::new(dir.path(), "c.img");
    // c holds someone's data: a file system of its own.
    sh("mkfs.btrfs", &["-q", "-L", "someone-else", &c.path]);
    let mount = dir.path().join("data");
    let _unmount = Unmount(mount.clone());
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

    // A third disk grows the pool; the data stays mirrored.
    let d = LoopDisk::new(dir.path(), "d.img");
    let message = refusal(client.add_disk(&c.path, "").await.unwrap_err());
    assert!(message.contains("already in the pool"), "{message}");
    client.add_disk(&d.path, "").await.unwrap();
    let status = until("the new disk and the rebalance", &client, |s| s.activity.is_empty()).await;
    assert_eq!(status.last_error, "");
    assert_eq!(status.devices.len(), 3, "{status:?}");
    assert_eq!((status.data_profile.as_str(), status.metadata_profile.as_str()), ("raid1", "raid1"));
    assert_eq!(checksums(&mount.join("library")), library);
    drop(service);
}
