//! Uploads, metadata, thumbnails, albums, trash and per-user isolation, over HTTP.

use crate::common::{Server, files_under, fixture, jpeg, send};
use serde_json::{Value, json};

#[test]
fn the_same_bytes_uploaded_twice_are_one_asset_and_bulk_check_knows_them() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let bytes = jpeg(64, 48, 7);
    let id = s.created(&token, "a.jpg", bytes.clone());
    let (status, body) = s.upload(&token, "renamed.jpg", bytes.clone());
    assert_eq!(
        (status, body["status"].as_str(), body["id"].as_str()),
        (200, Some("duplicate"), Some(id.as_str()))
    );
    assert_eq!(files_under(&dir.path().join("library")).len(), 1, "one original on disk");

    let (status, check) = send(s.post("/api/assets/bulk-upload-check").bearer_auth(&token).json(&json!({"assets": [
        {"id": "/photos/a.jpg", "checksum": sha1_hex(&bytes)},
        {"id": "/photos/new.jpg", "checksum": sha1_hex(b"something else")},
    ]})));
    assert_eq!(status, 200);
    let results = check["results"].as_array().unwrap();
    assert_eq!(
        results[0],
        json!({"id": "/photos/a.jpg", "action": "reject", "reason": "duplicate", "assetId": id, "isTrashed": false})
    );
    assert_eq!(results[1], json!({"id": "/photos/new.jpg", "action": "accept"}));

    let other = s.user(&token, "b@example.com");
    let (status, _) = s.upload(&other, "a.jpg", bytes);
    assert_eq!(status, 201, "another user's copy is their own asset");
}

fn sha1_hex(bytes: &[u8]) -> String {
    use sha1::Digest;
    hex::encode(sha1::Sha1::digest(bytes))
}

#[test]
fn a_checksum_header_that_does_not_match_the_bytes_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let form = reqwest::blocking::multipart::Form::new()
        .text("fileCreatedAt", "2020-01-01T00:00:00.000Z")
        .part(
            "assetData",
            reqwest::blocking::multipart::Part::bytes(jpeg(8, 8, 1)).file_name("a.jpg"),
        );
    let (status, body) = send(
        s.post("/api/assets")
            .bearer_auth(&token)
            .header("x-immich-checksum", "0000000000000000000000000000000000000000")
            .multipart(form),
    );
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("damaged in transit"));
    assert!(files_under(&dir.path().join("library")).is_empty());
    assert_eq!(send(s.get("/api/assets/statistics").bearer_auth(&token)).1["total"], 0);
}

#[test]
fn real_camera_photos_yield_their_exif_and_the_capture_date() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let gps = s.created(&token, "GPS.jpg", fixture("GPS.jpg"));
    let nikon = s.created(&token, "NikonD70.jpg", fixture("NikonD70.jpg"));
    let cr2 = s.created(&token, "CanonRaw.cr2", fixture("CanonRaw.cr2"));

    let a = s.settled(&token, &gps);
    let exif = &a["exifInfo"];
    assert!((exif["latitude"].as_f64().unwrap() - 54.98967).abs() < 0.001, "{exif}");
    assert!((exif["longitude"].as_f64().unwrap() + 1.91417).abs() < 0.001, "{exif}");
    assert_eq!(a["hasMetadata"], true);

    let n = s.asset(&token, &nikon);
    assert_eq!(n["exifInfo"]["make"], "NIKON CORPORATION");
    assert!(n["exifInfo"]["model"].as_str().unwrap().contains("D70"));
    assert_ne!(
        n["fileCreatedAt"], "2001-02-03T04:05:06.000Z",
        "the EXIF capture date replaces the file date"
    );

    let raw = s.asset(&token, &cr2);
    assert_eq!(raw["exifInfo"]["make"], "Canon");
    assert_eq!(raw["localDateTime"], "2005-08-03T18:59:18.000Z", "{raw}");
    // ExifTool's test CR2 has its preview image stripped to a 26-byte stub.
    let failures = s.failures(&token, &cr2);
    assert!(
        failures[0]["error"].as_str().unwrap().contains("no embedded JPEG preview"),
        "{failures:?}"
    );
}

#[test]
fn a_raw_file_gets_its_thumbnail_from_the_embedded_preview() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    // A real NEF's TIFF structure and metadata, with a camera-sized preview JPEG
    // embedded after it (the test NEF ships without one).
    let mut nef = fixture("Nikon.nef");
    nef.extend(jpeg(1200, 800, 4));
    let id = s.created(&token, "DSC_0001.NEF", nef);
    let a = s.settled(&token, &id);
    assert_eq!(a["resized"], true, "{:?}", s.failures(&token, &id));
    assert_eq!(a["originalMimeType"], "image/x-nikon-nef");
    assert!(a["exifInfo"]["make"].as_str().unwrap().starts_with("NIKON"), "{a}");
    assert_eq!((a["width"].as_i64(), a["height"].as_i64()), (Some(1200), Some(800)));
}

#[test]
fn a_photo_without_a_capture_date_keeps_the_date_the_client_sent() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let id = s.created(&token, "plain.jpg", jpeg(32, 32, 3));
    let a = s.settled(&token, &id);
    assert_eq!(a["fileCreatedAt"], "2001-02-03T04:05:06.000Z");
    assert_eq!(a["localDateTime"], "2001-02-03T04:05:06.000Z");
}

#[test]
fn thumbnails_and_previews_have_immich_sizes_and_orientation_applied() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let id = s.created(&token, "big.jpg", jpeg(3000, 2000, 9));
    let rotated = s.created(&token, "MWG.jpg", fixture("MWG.jpg"));
    let a = s.settled(&token, &id);
    assert_eq!((a["width"].as_i64(), a["height"].as_i64()), (Some(3000), Some(2000)));

    let r = s
        .get(&format!("/api/assets/{id}/thumbnail?size=thumbnail"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/webp");
    let etag = r.headers()["etag"].to_str().unwrap().to_string();
    assert!(r.headers()["cache-control"].to_str().unwrap().contains("max-age"));
    let thumb = image::load_from_memory(&r.bytes().unwrap()).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (375, 250));

    let r = s
        .get(&format!("/api/assets/{id}/thumbnail?size=preview"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    let preview = image::load_from_memory(&r.bytes().unwrap()).unwrap();
    assert_eq!((preview.width(), preview.height()), (2160, 1440));

    let r = s
        .get(&format!("/api/assets/{id}/thumbnail"))
        .bearer_auth(&token)
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(r.status(), 304);

    // MWG.jpg is stored 8x8 with EXIF orientation 6; its displayed size is the same square,
    // so check the catalog recorded the orientation and the thumbnail exists.
    let m = s.asset(&token, &rotated);
    assert_eq!(m["exifInfo"]["orientation"], "6");
    assert_eq!(m["resized"], true);
}

#[test]
fn corrupt_and_unsupported_files_get_a_clear_error_and_nothing_else_breaks() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let bad = s.created(&token, "truncated.jpg", jpeg(400, 300, 1)[..600].to_vec());
    let garbage = s.created(
        &token,
        "garbage.jpg",
        b"\xFF\xD8\xFF\xE1\x00\x10Exif\x00\x00MM\x00\x2A\xFF\xFF\xFF\xFF".to_vec(),
    );
    let good = s.created(&token, "good.jpg", jpeg(300, 200, 2));
    s.wait_idle(&token);
    assert_eq!(s.asset(&token, &good)["resized"], true);
    for id in [&bad, &garbage] {
        let failures = s.failures(&token, id);
        let thumb = failures
            .iter()
            .find(|f| f["kind"] == "thumbnailGeneration")
            .unwrap_or_else(|| panic!("{failures:?}"));
        assert!(thumb["error"].as_str().unwrap().contains("cannot be decoded"), "{thumb}");
        // The original is kept and downloadable.
        assert_eq!(
            s.get(&format!("/api/assets/{id}/original"))
                .bearer_auth(&token)
                .send()
                .unwrap()
                .status(),
            200
        );
        // A placeholder stands in for the thumbnail, not cached.
        let r = s.get(&format!("/api/assets/{id}/thumbnail")).bearer_auth(&token).send().unwrap();
        assert_eq!(r.headers()["cache-control"], "no-store");
    }
    let (status, body) = s.upload(&token, "notes.txt", b"hello".to_vec());
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("not supported"), "{body}");
    let (_, jobs) = send(s.get("/api/shoebox/jobs").bearer_auth(&token));
    assert!(jobs["failed"].as_i64().unwrap() >= 2, "{jobs}");
}

#[test]
fn path_tricks_in_file_names_stay_inside_the_library() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let id = s.created(&token, "../../../../tmp/evil.jpg", jpeg(16, 16, 5));
    let a = s.asset(&token, &id);
    assert_eq!(a["originalFileName"], "evil.jpg");
    let files = files_under(dir.path());
    assert!(files.iter().all(|f| f.starts_with(dir.path())));
    assert!(!std::path::Path::new("/tmp/evil.jpg").exists());
}

#[test]
fn originals_download_whole_and_by_range() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let bytes = fixture("Canon.jpg");
    let id = s.created(&token, "Canon.jpg", bytes.clone());
    let r = s.get(&format!("/api/assets/{id}/original")).bearer_auth(&token).send().unwrap();
    assert!(r.headers()["content-disposition"].to_str().unwrap().contains("Canon.jpg"));
    assert_eq!(r.bytes().unwrap().to_vec(), bytes);
    let r = s
        .get(&format!("/api/assets/{id}/original"))
        .bearer_auth(&token)
        .header("range", "bytes=10-19")
        .send()
        .unwrap();
    assert_eq!(r.status(), 206);
    assert_eq!(r.bytes().unwrap().to_vec(), bytes[10..20].to_vec());
}

#[test]
fn favorites_archive_statistics_and_trash_with_restore_and_empty() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let a = s.created(&token, "a.jpg", jpeg(16, 16, 1));
    let b = s.created(&token, "b.jpg", jpeg(16, 16, 2));
    let v = s.created(&token, "clip.mp4", b"\0\0\0\x18ftypmp42 not really a video".to_vec());
    let stats = |q: &str| send(s.get(&format!("/api/assets/statistics{q}")).bearer_auth(&token)).1;
    assert_eq!(stats(""), json!({"images": 2, "videos": 1, "total": 3}));
    assert_eq!(s.asset(&token, &v)["type"], "VIDEO");

    let (status, fav) = send(
        s.put(&format!("/api/assets/{a}"))
            .bearer_auth(&token)
            .json(&json!({"isFavorite": true, "description": "sunset"})),
    );
    assert_eq!((status, fav["isFavorite"].as_bool()), (200, Some(true)));
    assert_eq!(stats("?isFavorite=true")["total"], 1);
    assert_eq!(
        send(
            s.put("/api/assets")
                .bearer_auth(&token)
                .json(&json!({"ids": [b], "visibility": "archive"}))
        )
        .0,
        204
    );
    assert_eq!(s.asset(&token, &b)["isArchived"], true);
    assert_eq!(stats("?visibility=archive")["total"], 1);

    assert_eq!(
        send(s.delete("/api/assets").bearer_auth(&token).json(&json!({"ids": [a, b]}))).0,
        204
    );
    assert_eq!(s.asset(&token, &a)["isTrashed"], true);
    assert_eq!(stats("?isTrashed=true")["total"], 2);
    assert_eq!(
        send(s.post("/api/trash/restore/assets").bearer_auth(&token).json(&json!({"ids": [a]}))).1["count"],
        1
    );
    assert_eq!(send(s.post("/api/trash/empty").bearer_auth(&token)).1["count"], 1);
    assert_eq!(
        send(s.get(&format!("/api/assets/{b}")).bearer_auth(&token)).0,
        400,
        "emptied for good"
    );
    assert_eq!(
        send(
            s.delete("/api/assets")
                .bearer_auth(&token)
                .json(&json!({"ids": [a], "force": true}))
        )
        .0,
        204
    );
    s.wait_idle(&token);
    assert_eq!(stats(""), json!({"images": 0, "videos": 1, "total": 1}));
    let originals: Vec<_> = files_under(&dir.path().join("library"));
    assert_eq!(originals.len(), 1, "only the video's original is left: {originals:?}");
}

#[test]
fn albums_can_be_created_renamed_filled_emptied_and_deleted() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let a = s.created(&token, "a.jpg", jpeg(16, 16, 1));
    let b = s.created(&token, "b.jpg", jpeg(16, 16, 2));
    let (status, album) = send(
        s.post("/api/albums")
            .bearer_auth(&token)
            .json(&json!({"albumName": "Holiday", "assetIds": [a]})),
    );
    assert_eq!((status, album["assetCount"].as_i64()), (201, Some(1)));
    let id = album["id"].as_str().unwrap();
    let (_, added) = send(
        s.put(&format!("/api/albums/{id}/assets"))
            .bearer_auth(&token)
            .json(&json!({"ids": [a, b]})),
    );
    assert_eq!(
        added,
        json!([{"id": a, "success": false, "error": "duplicate"}, {"id": b, "success": true}])
    );
    let (_, renamed) = send(
        s.patch(&format!("/api/albums/{id}"))
            .bearer_auth(&token)
            .json(&json!({"albumName": "Summer", "albumThumbnailAssetId": b})),
    );
    assert_eq!(
        (renamed["albumName"].as_str(), renamed["albumThumbnailAssetId"].as_str()),
        (Some("Summer"), Some(b.as_str()))
    );
    let (_, one) = send(s.get(&format!("/api/albums/{id}")).bearer_auth(&token));
    assert_eq!(one["assets"].as_array().unwrap().len(), 2);
    let (_, removed) = send(
        s.delete(&format!("/api/albums/{id}/assets"))
            .bearer_auth(&token)
            .json(&json!({"ids": [b]})),
    );
    assert_eq!(removed[0]["success"], true);
    let (_, list) = send(s.get("/api/albums").bearer_auth(&token));
    assert_eq!(list[0]["assetCount"], 1);
    assert_eq!(
        list[0]["albumThumbnailAssetId"],
        a.as_str(),
        "cover falls back when its photo leaves"
    );
    assert_eq!(send(s.delete(&format!("/api/albums/{id}")).bearer_auth(&token)).0, 204);
    assert_eq!(send(s.get("/api/albums").bearer_auth(&token)).1, json!([]));
    assert_eq!(s.asset(&token, &a)["isTrashed"], false, "deleting an album keeps its photos");
}

#[test]
fn one_user_can_reach_nothing_of_another_users_library() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let alice = s.admin();
    let bob = s.user(&alice, "bob@example.com");
    let photo = s.created(&alice, "alice.jpg", jpeg(64, 64, 1));
    let (_, album) = send(
        s.post("/api/albums")
            .bearer_auth(&alice)
            .json(&json!({"albumName": "Private", "assetIds": [photo]})),
    );
    let album = album["id"].as_str().unwrap();
    s.wait_idle(&alice);

    let missing = uuid_like();
    for path in [
        format!("/api/assets/{photo}"),
        format!("/api/assets/{photo}/thumbnail"),
        format!("/api/assets/{photo}/original"),
        format!("/api/assets/{photo}/video/playback"),
        format!("/api/albums/{album}"),
        format!("/api/shoebox/assets/failures?assetId={photo}"),
    ] {
        let (status, body) = send(s.get(&path).bearer_auth(&bob));
        assert_eq!(status, 400, "{path}: {body}");
        // The same answer as for an id that does not exist at all.
        let (status_missing, body_missing) = send(s.get(&path.replace(&photo, &missing).replace(album, &missing)).bearer_auth(&bob));
        assert_eq!(
            (status_missing, body_missing["message"].clone()),
            (400, body["message"].clone()),
            "{path}"
        );
    }
    assert_eq!(send(s.get("/api/albums").bearer_auth(&bob)).1, json!([]));
    assert_eq!(send(s.get("/api/assets/statistics").bearer_auth(&bob)).1["total"], 0);
    let check = json!({"assets": [{"id": "x", "checksum": s.asset(&alice, &photo)["checksum"]}]});
    assert_eq!(
        send(s.post("/api/assets/bulk-upload-check").bearer_auth(&bob).json(&check)).1["results"][0]["action"],
        "accept"
    );

    // Writes are refused or have no effect.
    assert_eq!(
        send(
            s.put(&format!("/api/assets/{photo}"))
                .bearer_auth(&bob)
                .json(&json!({"isFavorite": true}))
        )
        .0,
        400
    );
    assert_eq!(
        send(
            s.delete("/api/assets")
                .bearer_auth(&bob)
                .json(&json!({"ids": [photo], "force": true}))
        )
        .0,
        204
    );
    assert_eq!(
        send(
            s.patch(&format!("/api/albums/{album}"))
                .bearer_auth(&bob)
                .json(&json!({"albumName": "mine"}))
        )
        .0,
        400
    );
    assert_eq!(send(s.delete(&format!("/api/albums/{album}")).bearer_auth(&bob)).0, 400);
    let (_, bob_album) = send(s.post("/api/albums").bearer_auth(&bob).json(&json!({"albumName": "Bob"})));
    let (_, added) = send(
        s.put(&format!("/api/albums/{}/assets", bob_album["id"].as_str().unwrap()))
            .bearer_auth(&bob)
            .json(&json!({"ids": [photo]})),
    );
    assert_eq!(added[0]["success"], false);
    assert_eq!(
        send(
            s.put(&format!("/api/albums/{album}/assets"))
                .bearer_auth(&bob)
                .json(&json!({"ids": [photo]}))
        )
        .0,
        400
    );

    let a = s.asset(&alice, &photo);
    assert_eq!((a["isFavorite"].as_bool(), a["isTrashed"].as_bool()), (Some(false), Some(false)));
    assert_eq!(
        send(s.get(&format!("/api/albums/{album}")).bearer_auth(&alice)).1["albumName"],
        "Private"
    );
}

fn uuid_like() -> String {
    "00000000-0000-4000-8000-000000000000".to_string()
}

#[test]
fn a_user_quota_stops_uploads_that_would_exceed_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = s.admin();
    let r = s
        .post("/api/admin/users")
        .bearer_auth(&admin)
        .json(&json!({"email": "q@example.com", "name": "Q", "password": crate::common::PASSWORD, "quotaSizeInBytes": 2000}))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let token = s.login("q@example.com", crate::common::PASSWORD);
    let small = jpeg(8, 8, 1);
    assert!(small.len() < 2000);
    s.created(&token, "small.jpg", small);
    let (status, body) = s.upload(&token, "big.jpg", jpeg(200, 200, 1));
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("quota"));
    let me: Value = send(s.get("/api/users/me").bearer_auth(&token)).1;
    assert!(me["quotaUsageInBytes"].as_i64().unwrap() < 2000);

    // The admin lifts the quota; a negative one is refused.
    let id = me["id"].as_str().unwrap();
    let (status, _) = send(
        s.put(&format!("/api/admin/users/{id}"))
            .bearer_auth(&admin)
            .json(&json!({ "quotaSizeInBytes": -1 })),
    );
    assert_eq!(status, 400);
    let (status, user) = send(
        s.put(&format!("/api/admin/users/{id}"))
            .bearer_auth(&admin)
            .json(&json!({ "quotaSizeInBytes": null })),
    );
    crate::common::schema::check("put", "/admin/users/{id}", status, &user);
    assert!(user["quotaSizeInBytes"].is_null(), "{user}");
    assert_eq!(s.upload(&token, "big.jpg", jpeg(200, 200, 1)).0, 201);
}

#[test]
fn trash_older_than_the_configured_days_is_emptied_with_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let old = s.created(&token, "old.jpg", jpeg(16, 16, 1));
    let kept = s.created(&token, "kept.jpg", jpeg(16, 16, 2));
    s.wait_idle(&token);
    assert_eq!(
        send(s.delete("/api/assets").bearer_auth(&token).json(&json!({"ids": [old]}))).0,
        204
    );
    assert!(s.stop().success());

    // With the default 30 days, a restart keeps the trashed photo.
    let s = Server::start(dir.path());
    assert_eq!(s.asset(&token, &old)["isTrashed"], true);
    assert!(s.stop().success());

    let config = dir.path().join("shoebox.toml");
    std::fs::write(&config, "trash_days = 0\n").unwrap();
    let s = Server::start_with(dir.path(), &["--config", config.to_str().unwrap()]);
    assert_eq!(
        send(s.get(&format!("/api/assets/{old}")).bearer_auth(&token)).0,
        400,
        "purged at start-up"
    );
    assert_eq!(s.asset(&token, &kept)["isTrashed"], false);
    let files = files_under(&dir.path().join("library"));
    assert_eq!(files.len(), 1, "only the kept original is left: {files:?}");
    assert_eq!(
        files_under(&dir.path().join("cache/thumbs")).len(),
        2,
        "the purged photo's thumbnail and preview are gone"
    );
}

#[test]
fn an_iphone_style_heic_gets_a_thumbnail_and_preview() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src.jpg");
    std::fs::write(&src, jpeg(1600, 1200, 8)).unwrap();
    let heic = dir.path().join("IMG_0001.HEIC");
    let made = std::process::Command::new("heif-enc")
        .args(["-q", "70", "-o"])
        .arg(&heic)
        .arg(&src)
        .status();
    assert!(
        made.is_ok_and(|s| s.success()),
        "heif-enc (libheif-examples) is needed: run ci/install-test-deps.sh"
    );
    let s = Server::start(&dir.path().join("data"));
    let token = s.admin();
    let id = s.created(&token, "IMG_0001.HEIC", std::fs::read(&heic).unwrap());
    let a = s.settled(&token, &id);
    assert_eq!(a["resized"], true, "{:?}", s.failures(&token, &id));
    assert_eq!(a["originalMimeType"], "image/heic");
    assert_eq!((a["width"].as_i64(), a["height"].as_i64()), (Some(1600), Some(1200)));
    let r = s
        .get(&format!("/api/assets/{id}/thumbnail?size=fullsize"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(
        r.headers()["content-type"],
        "image/jpeg",
        "browsers get the JPEG preview for a HEIC"
    );
}

#[test]
fn concurrent_uploads_of_the_same_photo_end_as_one_asset() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let bytes = jpeg(256, 256, 42);
    let results: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..8)
            .map(|i| {
                let (s, token, bytes) = (&s, &token, bytes.clone());
                scope.spawn(move || s.upload(token, &format!("copy-{i}.jpg"), bytes))
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let created = results.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(created, 1, "{results:?}");
    let ids: std::collections::HashSet<_> = results.iter().map(|(_, body)| body["id"].as_str().unwrap().to_string()).collect();
    assert_eq!(ids.len(), 1, "every response names the same asset: {results:?}");
    assert!(results.iter().all(|(status, _)| *status == 201 || *status == 200));
    assert_eq!(
        files_under(&dir.path().join("library"))
            .iter()
            .filter(|f| !f.to_string_lossy().contains(".incoming"))
            .count(),
        1
    );
    assert!(files_under(&dir.path().join("library/.incoming")).is_empty());
}

#[test]
fn canon_cr3_and_fujifilm_raf_metadata_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let cr3 = s.created(&token, "CanonRaw.cr3", fixture("CanonRaw.cr3"));
    let raf = s.created(&token, "FujiFilm.raf", fixture("FujiFilm.raf"));
    s.wait_idle(&token);
    let c = s.asset(&token, &cr3);
    assert_eq!(
        (c["exifInfo"]["make"].as_str(), c["exifInfo"]["model"].as_str()),
        (Some("Canon"), Some("Canon EOS M50")),
        "{c}"
    );
    assert_eq!(c["exifInfo"]["iso"], 12800);
    assert_eq!(c["exifInfo"]["exposureTime"], "1/80");
    assert_eq!(c["exifInfo"]["timeZone"], "UTC+0");
    assert_eq!(c["fileCreatedAt"], "2018-02-21T12:08:56.000Z");
    let f = s.asset(&token, &raf);
    assert_eq!(f["exifInfo"]["make"], "FUJIFILM", "{f}");
    assert_eq!(f["localDateTime"], "2007-05-22T13:58:30.000Z");
}

/// `bytes` (a file of type `ext`) with the EXIF of a real camera photo
/// copied in by ExifTool, as a camera or an editor would have written it.
fn with_exif_of(source: &str, ext: &str, bytes: &[u8], edits: &[&str]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let (from, to) = (dir.path().join("source.jpg"), dir.path().join(format!("photo.{ext}")));
    std::fs::write(&from, fixture(source)).unwrap();
    std::fs::write(&to, bytes).unwrap();
    let out = std::process::Command::new("exiftool")
        .args(["-q", "-overwrite_original", "-tagsFromFile"])
        .arg(&from)
        .arg("-exif:all")
        .args(edits)
        .arg(&to)
        .output()
        .expect("exiftool runs (ci/install-test-deps.sh installs it)");
    assert!(out.status.success(), "exiftool: {}", String::from_utf8_lossy(&out.stderr));
    std::fs::read(&to).unwrap()
}

fn encoded(format: image::ImageFormat) -> Vec<u8> {
    let img = image::RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 90]));
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

#[test]
fn png_webp_tiff_and_sony_and_olympus_raw_metadata_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let png = s.created(
        &token,
        "edit.png",
        with_exif_of("NikonD70.jpg", "png", &encoded(image::ImageFormat::Png), &[]),
    );
    let webp = s.created(
        &token,
        "edit.webp",
        with_exif_of("NikonD70.jpg", "webp", &encoded(image::ImageFormat::WebP), &[]),
    );
    let tiff = s.created(&token, "scan.tif", fixture("ExifTool.tif"));
    // No Sony or Olympus RAW ships with ExifTool's tests: these are real
    // TIFF structures carrying those cameras' tags and a preview, as the
    // cameras write them; ORF differs from TIFF only in its magic number.
    let sony = |model: &str| {
        let mut raw = with_exif_of("Sony.jpg", "tif", &fixture("ExifTool.tif"), &[&format!("-Model={model}")]);
        raw.extend(jpeg(960, 640, 7));
        raw
    };
    let arw = s.created(&token, "DSC00001.ARW", sony("ILCE-7M3"));
    let mut orf = with_exif_of("Olympus.jpg", "tif", &fixture("ExifTool.tif"), &[]);
    assert_eq!(&orf[..4], b"MM\0*");
    orf[2..4].copy_from_slice(b"OR");
    orf.extend(jpeg(800, 600, 8));
    let orf = s.created(&token, "P1010001.ORF", orf);
    s.wait_idle(&token);

    for id in [&png, &webp] {
        let a = s.asset(&token, id);
        let exif = &a["exifInfo"];
        assert_eq!(
            (exif["make"].as_str(), exif["model"].as_str()),
            (Some("NIKON CORPORATION"), Some("NIKON D70")),
            "{a}"
        );
        assert_eq!(
            (exif["exposureTime"].as_str(), exif["fNumber"].as_f64()),
            (Some("1/60"), Some(5.0)),
            "{a}"
        );
        assert_eq!(a["localDateTime"], "2005-01-14T08:57:59.200Z", "{a}");
        assert_eq!(a["resized"], true, "{:?}", s.failures(&token, id));
    }
    let t = s.asset(&token, &tiff);
    assert_eq!(t["exifInfo"]["model"], "Canon EOS DIGITAL REBEL", "{t}");
    assert_eq!((t["width"].as_i64(), t["height"].as_i64()), (Some(160), Some(120)), "{t}");

    let a = s.asset(&token, &arw);
    assert_eq!(a["originalMimeType"], "image/x-sony-arw");
    assert_eq!(
        (a["exifInfo"]["make"].as_str(), a["exifInfo"]["model"].as_str()),
        (Some("SONY"), Some("ILCE-7M3")),
        "{a}"
    );
    assert_eq!(a["resized"], true, "{:?}", s.failures(&token, &arw));
    assert_eq!((a["width"].as_i64(), a["height"].as_i64()), (Some(960), Some(640)));
    let o = s.asset(&token, &orf);
    assert_eq!(o["originalMimeType"], "image/x-olympus-orf");
    assert!(o["exifInfo"]["make"].as_str().unwrap().starts_with("OLYMPUS"), "{o}");
    assert_eq!(o["resized"], true, "{:?}", s.failures(&token, &orf));
}

#[test]
fn a_live_photo_is_one_visible_asset_with_its_motion_part_hidden() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let video = s.created(&token, "IMG_0001.MOV", b"\0\0\0\x14ftypqt  motion part".to_vec());
    let form = reqwest::blocking::multipart::Form::new()
        .text("fileCreatedAt", "2023-05-06T07:08:09.000Z")
        .text("fileModifiedAt", "2023-05-06T07:08:09.000Z")
        .text("livePhotoVideoId", video.clone())
        .part(
            "assetData",
            reqwest::blocking::multipart::Part::bytes(jpeg(40, 30, 9)).file_name("IMG_0001.HEIC.jpg"),
        );
    let (status, still) = send(s.post("/api/assets").bearer_auth(&token).multipart(form));
    assert_eq!(status, 201, "{still}");
    let still = still["id"].as_str().unwrap();
    assert_eq!(s.asset(&token, still)["livePhotoVideoId"], video.as_str());
    assert_eq!(s.asset(&token, &video)["visibility"], "hidden");
    assert_eq!(
        send(s.get("/api/timeline/buckets").bearer_auth(&token)).1,
        json!([{"timeBucket": "2023-05-01", "count": 1}])
    );
    // The motion part plays through the still's link.
    assert_eq!(
        s.get(&format!("/api/assets/{video}/video/playback"))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .status(),
        200
    );
    // Thumbnail URLs from the apps carry cache keys the server ignores.
    let r = s
        .get(&format!("/api/assets/{still}/thumbnail?size=thumbnail&c=abc&edited=false"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);

    // Only one's own videos can be the motion part.
    let other = s.user(&token, "other@example.com");
    let form = reqwest::blocking::multipart::Form::new()
        .text("fileCreatedAt", "2023-05-06T07:08:09.000Z")
        .text("livePhotoVideoId", video.clone())
        .part(
            "assetData",
            reqwest::blocking::multipart::Part::bytes(jpeg(40, 30, 10)).file_name("x.jpg"),
        );
    let (status, body) = send(s.post("/api/assets").bearer_auth(&other).multipart(form));
    assert_eq!(status, 400, "{body}");
    assert!(
        files_under(&dir.path().join("library"))
            .iter()
            .all(|f| !f.to_string_lossy().contains(".incoming"))
    );
}

#[test]
fn an_xmp_sidecar_is_kept_beside_the_original_and_its_edits_win() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let xmp = r#"<?xpacket begin=""?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
        <rdf:Description xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmlns:exif="http://ns.adobe.com/exif/1.0/" xmp:Rating="5"
          exif:DateTimeOriginal="2015-08-09T10:11:12+02:00"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">Harbour at dawn</rdf:li></rdf:Alt></dc:description>
        </rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;
    let form = reqwest::blocking::multipart::Form::new()
        .text("fileCreatedAt", "2020-01-01T00:00:00.000Z")
        .text("fileModifiedAt", "2020-01-01T00:00:00.000Z")
        .part(
            "sidecarData",
            reqwest::blocking::multipart::Part::bytes(xmp.as_bytes().to_vec()).file_name("NikonD70.jpg.xmp"),
        )
        .part(
            "assetData",
            reqwest::blocking::multipart::Part::bytes(fixture("NikonD70.jpg")).file_name("NikonD70.jpg"),
        );
    let (status, body) = send(s.post("/api/assets").bearer_auth(&token).multipart(form));
    assert_eq!(status, 201, "{body}");
    let id = body["id"].as_str().unwrap();
    let a = s.settled(&token, id);
    assert_eq!(a["exifInfo"]["rating"], 5, "{a}");
    assert_eq!(a["exifInfo"]["description"], "Harbour at dawn");
    assert_eq!(
        a["exifInfo"]["make"], "NIKON CORPORATION",
        "the file's own EXIF still counts where the sidecar is silent"
    );
    assert_eq!(a["localDateTime"], "2015-08-09T10:11:12.000Z");
    assert_eq!(a["fileCreatedAt"], "2015-08-09T08:11:12.000Z");
    let sidecars: Vec<_> = files_under(&dir.path().join("library"))
        .into_iter()
        .filter(|f| f.extension().is_some_and(|e| e == "xmp"))
        .collect();
    assert_eq!(sidecars.len(), 1);
    assert_eq!(std::fs::read_to_string(&sidecars[0]).unwrap(), xmp);
    assert_eq!(
        send(
            s.delete("/api/assets")
                .bearer_auth(&token)
                .json(&json!({"ids": [id], "force": true}))
        )
        .0,
        204
    );
    assert!(!sidecars[0].exists(), "deleting the asset deletes its sidecar");
}

#[test]
fn an_upload_with_endless_form_fields_is_refused_and_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let mut form = reqwest::blocking::multipart::Form::new();
    for i in 0..1000 {
        form = form.text(format!("field{i}"), "x");
    }
    let form = form.part(
        "assetData",
        reqwest::blocking::multipart::Part::bytes(jpeg(8, 8, 1)).file_name("a.jpg"),
    );
    // The server answers 400, reading the rest of so small a body first, so
    // the client gets the answer rather than a connection closed under it.
    let (status, body) = send(s.post("/api/assets").bearer_auth(&token).multipart(form));
    assert_eq!(status, 400, "{body}");
    assert!(body["message"].as_str().unwrap().contains("too many form fields"), "{body}");
    assert!(files_under(&dir.path().join("library")).is_empty());
    assert_eq!(s.upload(&token, "fine.jpg", jpeg(8, 8, 2)).0, 201, "the server carries on");
}

#[test]
fn a_100_megapixel_photo_is_thumbnailed_within_a_small_memory_bound() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let (w, h) = (12_000, 8_334);
    let img = image::RgbImage::from_pixel(w, h, image::Rgb([90, 140, 200]));
    let mut panorama = std::io::Cursor::new(Vec::new());
    img.write_to(&mut panorama, image::ImageFormat::Jpeg).unwrap();
    drop(img);
    let id = s.created(&token, "panorama.jpg", panorama.into_inner());
    let a = s.settled(&token, &id);
    assert_eq!(a["resized"], true, "{:?}", s.failures(&token, &id));
    assert_eq!(
        (a["width"].as_i64(), a["height"].as_i64()),
        (Some(12_000), Some(8_334)),
        "the original's size, not the decoded one"
    );
    let r = s
        .get(&format!("/api/assets/{id}/thumbnail?size=preview"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    let preview = image::load_from_memory(&r.bytes().unwrap()).unwrap();
    assert_eq!(preview.height(), 1440);
    // Peak resident memory of the whole server over its life so far.
    let status = std::fs::read_to_string(format!("/proc/{}/status", s.child.id())).unwrap();
    let peak_kib: u64 = status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .unwrap()
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    // Decoded whole, the panorama alone would be 300 MB of pixels.
    assert!(peak_kib < 256 * 1024, "server peaked at {} MiB", peak_kib / 1024);
}

#[test]
fn dng_and_panasonic_rw2_metadata_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let dng = s.created(&token, "DNG.dng", fixture("DNG.dng"));
    let rw2 = s.created(&token, "Panasonic.rw2", fixture("Panasonic.rw2"));
    s.wait_idle(&token);
    let d = s.asset(&token, &dng);
    assert_eq!(
        (d["exifInfo"]["model"].as_str(), d["exifInfo"]["iso"].as_i64()),
        (Some("Canon EOS 350D DIGITAL"), Some(400)),
        "{d}"
    );
    assert_eq!(d["localDateTime"], "2005-08-03T18:59:18.000Z");
    let p = s.asset(&token, &rw2);
    assert_eq!(
        (p["exifInfo"]["make"].as_str(), p["exifInfo"]["model"].as_str()),
        (Some("Panasonic"), Some("DMC-LX3")),
        "{p}"
    );
    assert_eq!(p["localDateTime"], "2008-08-06T15:21:56.000Z");
}

#[test]
fn metadata_search_finds_by_camera_and_name_and_never_another_users_photos() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let alice = s.admin();
    let nikon = s.created(&alice, "NikonD70.jpg", fixture("NikonD70.jpg"));
    s.created(&alice, "GPS.jpg", fixture("GPS.jpg"));
    s.wait_idle(&alice);
    let search = |token: &str, body: Value| send(s.post("/api/search/metadata").bearer_auth(token).json(&body)).1;
    let found = search(&alice, json!({"make": "NIKON CORPORATION"}));
    assert_eq!(found["assets"]["items"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["assets"]["items"][0]["id"], nikon.as_str());
    assert_eq!(search(&alice, json!({"originalFileName": "gps"}))["assets"]["count"], 1);
    assert_eq!(search(&alice, json!({"type": "VIDEO"}))["assets"]["count"], 0);

    let bob = s.user(&alice, "bob@example.com");
    assert_eq!(search(&bob, json!({}))["assets"]["count"], 0);
    assert_eq!(search(&bob, json!({"id": nikon}))["assets"]["count"], 0);
    let (_, album) = send(
        s.post("/api/albums")
            .bearer_auth(&alice)
            .json(&json!({"albumName": "A", "assetIds": [nikon]})),
    );
    let (status, _) = send(
        s.post("/api/search/metadata")
            .bearer_auth(&bob)
            .json(&json!({"albumIds": [album["id"]]})),
    );
    assert_eq!(status, 400);
}

/// GPS.jpg was taken at 54.98967 N, 1.91417 W: 4 km from Horsley.
const GPS_PLACE: (&str, &str, &str) = ("Horsley", "England", "United Kingdom of Great Britain and Northern Ireland");

#[test]
fn geotagged_photos_are_map_markers_named_by_place_for_their_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let other = s.user(&token, "other@example.com");
    let gps = s.created(&token, "GPS.jpg", fixture("GPS.jpg"));
    s.created(&token, "plain.jpg", jpeg(64, 48, 1));
    let (city, state, country) = GPS_PLACE;
    let asset = s.settled(&token, &gps);
    crate::common::schema::check("get", "/assets/{id}", 200, &asset);
    let exif = asset["exifInfo"].clone();
    assert!(exif["latitude"].is_f64(), "the fixture carries GPS: {exif}");
    assert_eq!(
        (exif["city"].as_str(), exif["state"].as_str(), exif["country"].as_str()),
        (Some(city), Some(state), Some(country))
    );

    let (status, markers) = send(s.get("/api/map/markers").bearer_auth(&token));
    crate::common::schema::check("get", "/map/markers", status, &markers);
    assert_eq!(
        markers,
        json!([{ "id": gps, "lat": exif["latitude"], "lon": exif["longitude"], "city": city, "state": state, "country": country }])
    );
    assert_eq!(send(s.get("/api/map/markers?isFavorite=true").bearer_auth(&token)).1, json!([]));
    for query in ["", "?withPartners=true&withSharedAlbums=true"] {
        assert_eq!(
            send(s.get(&format!("/api/map/markers{query}")).bearer_auth(&other)).1,
            json!([]),
            "another user's places stay private"
        );
    }
    let (status, body) = send(s.get("/api/map/markers?fileCreatedAfter=yesterday").bearer_auth(&token));
    assert_eq!(status, 400, "{body}");

    // Place search, the filter suggestions and the Places page.
    assert_eq!(s.found(&token, json!({ "city": city })), vec![gps.clone()]);
    assert_eq!(s.found(&token, json!({ "country": country, "state": state })), vec![gps.clone()]);
    assert!(s.found(&token, json!({ "city": "Paris" })).is_empty());
    assert!(s.found(&other, json!({ "city": city })).is_empty());
    for (query, expected) in [
        ("type=country", json!([country])),
        (&format!("type=city&country={country}") as &str, json!([city])),
        ("type=city&country=France", json!([])),
        ("type=camera-make", exif["make"].as_str().map_or(json!([]), |m| json!([m]))),
    ] {
        let (status, body) = send(s.get(&format!("/api/search/suggestions?{query}")).bearer_auth(&token));
        crate::common::schema::check("get", "/search/suggestions", status, &body);
        assert_eq!(body, expected, "{query}");
    }
    assert_eq!(send(s.get("/api/search/suggestions?type=country").bearer_auth(&other)).1, json!([]));
    assert_eq!(send(s.get("/api/search/suggestions?type=planet").bearer_auth(&token)).0, 400);
    let (status, cities) = send(s.get("/api/search/cities").bearer_auth(&token));
    crate::common::schema::check("get", "/search/cities", status, &cities);
    assert_eq!(
        cities.as_array().unwrap().iter().map(|a| a["id"].clone()).collect::<Vec<_>>(),
        vec![json!(gps)]
    );
    assert_eq!(
        cities[0]["exifInfo"]["city"], city,
        "each city's photo comes with its place: {cities}"
    );
    let (status, explore) = send(s.get("/api/search/explore").bearer_auth(&token));
    crate::common::schema::check("get", "/search/explore", status, &explore);
    assert_eq!(explore[0]["fieldName"], "exifInfo.city");
    assert_eq!(explore[0]["items"][0]["value"], city);
    assert_eq!(send(s.get("/api/search/cities").bearer_auth(&other)).1, json!([]));
}

#[test]
fn photos_catalogued_before_place_names_get_theirs_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let gps = s.created(&token, "GPS.jpg", fixture("GPS.jpg"));
    s.settled(&token, &gps);
    assert!(s.stop().success());

    // A catalog as an older Shoebox left it: positions without place names,
    // and the marker migration 16 leaves for them.
    let db = dir.path().join("db/shoebox.db");
    let conn = shoebox_catalog::rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE exif SET city = NULL, state = NULL, country = NULL", [])
        .unwrap();
    conn.execute(
        "INSERT INTO settings (key, value, updated_at) VALUES ('places.backfill', 'pending', 0)",
        [],
    )
    .unwrap();
    drop(conn);

    let s = Server::start(dir.path());
    crate::common::eventually("the place is named", || s.asset(&token, &gps)["exifInfo"]["city"] == GPS_PLACE.0);
    assert!(s.stop().success());
    let catalog = shoebox_catalog::Catalog::open(&db).unwrap();
    assert_eq!(catalog.setting("places.backfill").unwrap(), None, "done once");
}

#[test]
fn the_map_shows_a_partners_and_a_shared_albums_photos_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let anna = s.admin();
    let (ben, carl) = (s.user(&anna, "ben@example.com"), s.user(&anna, "carl@example.com"));
    let (anna_id, ben_id) = (s.user_id(&anna), s.user_id(&ben));
    let annas = s.created(&anna, "GPS.jpg", fixture("GPS.jpg"));
    let carls = s.created(&carl, "GPS.jpg", fixture("GPS.jpg"));
    s.wait_idle(&anna);
    s.wait_idle(&carl);
    let marker_ids = |query: &str| -> Vec<String> {
        let (status, body) = send(s.get(&format!("/api/map/markers{query}")).bearer_auth(&ben));
        crate::common::schema::check("get", "/map/markers", status, &body);
        let mut ids: Vec<String> = body
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["id"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };

    // Anna shares her library with Ben; it joins his map once he shows her in his timeline.
    assert_eq!(
        send(s.post("/api/partners").bearer_auth(&anna).json(&json!({ "sharedWithId": ben_id }))).0,
        201
    );
    assert!(marker_ids("?withPartners=true").is_empty(), "not in Ben's timeline yet");
    let shown = send(
        s.put(&format!("/api/partners/{anna_id}"))
            .bearer_auth(&ben)
            .json(&json!({ "inTimeline": true })),
    );
    assert_eq!(shown.0, 200, "{}", shown.1);
    assert_eq!(marker_ids("?withPartners=true"), vec![annas.clone()]);
    assert!(marker_ids("").is_empty(), "a partner's photos only when asked");

    // Carl shares an album with Ben.
    let (status, album) = send(
        s.post("/api/albums")
            .bearer_auth(&carl)
            .json(&json!({ "albumName": "Trip", "assetIds": [carls] })),
    );
    assert_eq!(status, 201, "{album}");
    let share = json!({ "albumUsers": [{ "userId": ben_id, "role": "viewer" }] });
    assert_eq!(
        send(
            s.put(&format!("/api/albums/{}/users", album["id"].as_str().unwrap()))
                .bearer_auth(&carl)
                .json(&share)
        )
        .0,
        200
    );
    assert_eq!(marker_ids("?withSharedAlbums=true"), vec![carls.clone()]);
    let mut both = vec![annas, carls];
    both.sort();
    assert_eq!(marker_ids("?withPartners=true&withSharedAlbums=true"), both);
}

#[test]
fn derived_files_lost_with_the_cache_folder_are_made_again_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let id = s.created(&token, "a.jpg", jpeg(640, 480, 3));
    s.wait_idle(&token);
    s.stop();
    // What a restore from backup looks like: the catalog without derived files.
    std::fs::remove_dir_all(dir.path().join("cache")).unwrap();
    let s = Server::start(dir.path());
    let token = s.login("admin@example.com", crate::common::PASSWORD);
    s.wait_idle(&token);
    let r = s.get(&format!("/api/assets/{id}/thumbnail")).bearer_auth(&token).send().unwrap();
    assert_eq!(r.status(), 200);
    assert_ne!(r.headers()["cache-control"], "no-store", "the real thumbnail, not the placeholder");
    assert!(!files_under(&dir.path().join("cache/thumbs")).is_empty());
}
