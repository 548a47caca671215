//! The runner against a real catalog file and real media files.

use std::time::Duration;

use shoebox_catalog::{AssetKind, Catalog, NewAsset, NewUser, Visibility};
use shoebox_jobs::{Runner, Waker};
use shoebox_media::Layout;
use tokio::sync::watch;

fn setup() -> (tempfile::TempDir, Catalog, Layout, String) {
    let dir = tempfile::tempdir().unwrap();
    let layout = Layout::new(dir.path());
    std::fs::create_dir_all(layout.db_dir()).unwrap();
    let catalog = Catalog::open(&layout.db_file()).unwrap();
    let user = catalog
        .create_user(&NewUser {
            email: "a@x",
            name: "A",
            password_hash: "h",
            is_admin: false,
            should_change_password: false,
            quota_bytes: None,
        })
        .unwrap();
    (dir, catalog, layout, user.id)
}

fn add_photo(catalog: &Catalog, layout: &Layout, owner: &str, bytes: Option<Vec<u8>>) -> String {
    let id = uuid_v4();
    let path = Layout::original(owner, &id, ".jpg");
    if let Some(bytes) = bytes {
        std::fs::create_dir_all(layout.resolve(&path).parent().unwrap()).unwrap();
        std::fs::write(layout.resolve(&path), bytes).unwrap();
    }
    let new = NewAsset {
        id: id.clone(),
        owner_id: owner.into(),
        checksum: id.as_bytes()[..20].to_vec(),
        kind: AssetKind::Image,
        original_path: path,
        original_file_name: "p.jpg".into(),
        mime_type: "image/jpeg".into(),
        file_size: 1,
        device_asset_id: String::new(),
        device_id: String::new(),
        file_created_at: 0,
        file_modified_at: 0,
        duration_ms: None,
        is_favorite: false,
        visibility: Visibility::Timeline,
        live_photo_video_id: None,
        sidecar_path: None,
    };
    catalog.commit_asset(&new).unwrap().unwrap();
    id
}

fn uuid_v4() -> String {
    // Deterministic enough for a test and shaped like the server's ids.
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "{:08x}-0000-4000-8000-000000000000",
        N.fetch_add(1, Ordering::Relaxed) + 0x1000_0000
    )
}

fn jpeg() -> Vec<u8> {
    let img = image::RgbImage::from_pixel(600, 400, image::Rgb([10, 200, 30]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Jpeg).unwrap();
    out.into_inner()
}

/// Runs the queue until `done` says so, waking on every recorded outcome.
async fn run_until(catalog: &Catalog, layout: &Layout, done: impl Fn(&Catalog) -> bool) {
    let waker = Waker::default();
    let (stop, stopped) = watch::channel(false);
    let runner = tokio::spawn(Runner::new(catalog.clone(), layout.clone(), 2, waker.clone()).run(stopped));
    let wait = async {
        loop {
            let finished = waker.job_finished();
            if done(catalog) {
                return;
            }
            finished.await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), wait)
        .await
        .expect("the queue reached the expected state");
    stop.send(true).unwrap();
    runner.await.unwrap();
}

#[tokio::test]
async fn a_photo_goes_through_metadata_and_thumbnails_and_its_jobs_are_gone() {
    let (_dir, catalog, layout, owner) = setup();
    let id = add_photo(&catalog, &layout, &owner, Some(jpeg()));
    run_until(&catalog, &layout, |c| c.asset(&id).unwrap().thumbnail_path.is_some()).await;
    let asset = catalog.asset(&id).unwrap();
    assert!(asset.has_metadata);
    assert!(layout.resolve(asset.preview_path.as_deref().unwrap()).exists());
    assert_eq!((asset.width, asset.height), (Some(600), Some(400)));
    let counts = catalog.job_counts().unwrap();
    assert_eq!((counts.pending, counts.running, counts.failed), (0, 0, 0));
}

#[tokio::test]
async fn a_missing_original_is_a_disk_problem_and_is_retried_later_not_failed() {
    let (_dir, catalog, layout, owner) = setup();
    add_photo(&catalog, &layout, &owner, None);
    let start = shoebox_catalog::now_millis();
    run_until(&catalog, &layout, |c| c.next_job_due().unwrap().is_some_and(|due| due > start)).await;
    let counts = catalog.job_counts().unwrap();
    assert_eq!((counts.pending, counts.failed), (1, 0), "scheduled for a retry");
    let due = catalog.next_job_due().unwrap().unwrap();
    assert!(due - start >= 9_000, "backs off about ten seconds first, got {} ms", due - start);
    assert!(catalog.claim_job(start).unwrap().is_none(), "not handed out before it is due");
}

#[tokio::test]
async fn a_corrupt_photo_fails_for_good_with_its_error_and_others_still_finish() {
    let (_dir, catalog, layout, owner) = setup();
    let bad = add_photo(&catalog, &layout, &owner, Some(b"\xFF\xD8\xFF\xE0 broken".to_vec()));
    let good = add_photo(&catalog, &layout, &owner, Some(jpeg()));
    run_until(&catalog, &layout, |c| {
        c.job_counts().unwrap().pending == 0 && c.job_counts().unwrap().running == 0
    })
    .await;
    assert!(catalog.asset(&good).unwrap().thumbnail_path.is_some());
    let failed = catalog.failed_jobs(Some(&bad)).unwrap();
    assert_eq!(failed.len(), 2, "metadata and thumbnails each failed: {failed:?}");
    assert!(
        failed.iter().all(|j| j.attempts == 1),
        "a property of the file is not retried: {failed:?}"
    );
    let thumbnails = failed
        .iter()
        .find(|j| j.kind == shoebox_catalog::JobKind::GenerateThumbnails)
        .unwrap();
    assert!(thumbnails.last_error.as_deref().unwrap().contains("cannot be decoded"));
}
