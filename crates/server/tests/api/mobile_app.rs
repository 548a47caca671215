//! The Immich mobile app's calls, replayed in the order the app makes them
//! (docs/immich-mobile-protocol.md): first launch, login, first sync, a
//! backup of 30 photos, a live photo and a video that is cut off by a
//! server crash and resumed, and a deletion made elsewhere reaching the
//! phone through the sync stream. Every JSON answer the app reads is
//! checked against the Immich 3.0 schemas; one violation fails the test.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use crate::common::schema::check;
use crate::common::sync::{ack, app_stream, of_type};
use crate::common::{PASSWORD, Server, eventually, fixture, jpeg, partial_upload, send};
use base64::Engine;
use reqwest::blocking::{RequestBuilder, multipart};
use serde_json::{Value, json};
use sha1::{Digest, Sha1};

/// Real camera photos first (dates, makes, orientations of real files),
/// then generated ones, 30 in all.
const CAMERA_PHOTOS: &[&str] = &[
    "Apple.jpg",
    "Canon.jpg",
    "FujiFilm.jpg",
    "GPS.jpg",
    "Nikon.jpg",
    "Olympus.jpg",
    "Pentax.jpg",
    "Sony.jpg",
];

struct Phone<'a> {
    server: &'a Server,
    token: String,
    /// The app's local copy of the server's assets, built from the stream.
    assets: BTreeMap<String, Value>,
}

impl Phone<'_> {
    /// The app authenticates with the session cookie.
    fn auth(&self, r: RequestBuilder) -> RequestBuilder {
        r.header("cookie", format!("immich_access_token={}", self.token))
    }

    /// GET a route and check the answer against its schema.
    fn get(&self, path: &str) -> Value {
        let (status, body) = send(self.auth(self.server.get(&format!("/api{path}"))));
        assert_eq!(status, 200, "GET {path}: {body}");
        check("get", path, status, &body);
        body
    }

    /// Uploads as the foreground backup does and returns the asset id.
    fn upload(&self, name: &str, bytes: Vec<u8>, extra: &[(&str, &str)]) -> (u16, String) {
        let mut form = multipart::Form::new()
            .text("deviceAssetId", format!("local-{name}"))
            .text("deviceId", "pixel-8")
            .text("fileCreatedAt", "2024-06-01T10:00:00.000Z")
            .text("fileModifiedAt", "2024-06-01T10:00:00.000Z")
            .text("isFavorite", "false")
            .text("duration", "0");
        for (k, v) in extra {
            form = form.text(k.to_string(), v.to_string());
        }
        form = form.part("assetData", multipart::Part::bytes(bytes).file_name(name.to_string()));
        let (status, body) = send(self.auth(self.server.post("/api/assets")).multipart(form));
        check("post", "/assets", status, &body);
        assert!(status == 200 || status == 201, "{name}: {status} {body}");
        (status, body["id"].as_str().unwrap().to_owned())
    }

    /// Syncs as the app does: applies the lines to its local copy,
    /// acknowledges them, and returns them.
    fn sync(&mut self) -> Vec<Value> {
        let version = self.get("/server/version");
        assert_eq!(version["major"], 3, "the app picks its sync types from the major version");
        let lines = app_stream(self.server, &self.token);
        for line in &lines {
            match line["type"].as_str().unwrap() {
                "AssetV2" => drop(
                    self.assets
                        .insert(line["data"]["id"].as_str().unwrap().to_owned(), line["data"].clone()),
                ),
                "AssetDeleteV1" => drop(self.assets.remove(line["data"]["assetId"].as_str().unwrap())),
                _ => {}
            }
        }
        ack(self.server, &self.token, &lines);
        lines
    }

    fn checksums(&self) -> Vec<String> {
        let mut sums: Vec<String> = self.assets.values().map(|a| a["checksum"].as_str().unwrap().to_owned()).collect();
        sums.sort();
        sums
    }
}

fn sha1_base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(Sha1::digest(bytes))
}

/// A short clip made with ffmpeg, as a phone camera would record one.
fn clip(dir: &Path, name: &str) -> Vec<u8> {
    let path = dir.join(name);
    let status = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=1:size=160x120:rate=10",
            "-pix_fmt",
            "yuv420p",
            "-y",
        ])
        .arg(&path)
        .status()
        .expect("ffmpeg is missing: run ci/install-test-deps.sh");
    assert!(status.success(), "ffmpeg could not make {name}");
    std::fs::read(path).unwrap()
}

fn photos() -> Vec<(String, Vec<u8>)> {
    let mut photos: Vec<(String, Vec<u8>)> = CAMERA_PHOTOS.iter().map(|n| (n.to_string(), fixture(n))).collect();
    let generated = (0..30 - photos.len()).map(|i| (format!("PXL_{i:04}.jpg"), jpeg(320, 240, i as u8)));
    photos.extend(generated);
    photos
}

#[test]
fn the_app_logs_in_backs_up_through_a_crash_and_hears_of_deletions() {
    let dir = tempfile::tempdir().unwrap();
    let clips = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    server.admin(); // the owner signed up in the web UI

    // First launch: the server URL is checked before the login form.
    let (status, well_known) = send(server.get("/.well-known/immich"));
    assert_eq!((status, &well_known["api"]["endpoint"]), (200, &json!("/api")));
    for path in [
        "/server/ping",
        "/server/features",
        "/server/config",
        "/server/version",
        "/server/media-types",
    ] {
        let (status, body) = send(server.get(&format!("/api{path}")));
        check("get", path, status, &body);
    }
    let (status, login) = send(
        server
            .post("/api/auth/login")
            .json(&json!({ "email": "admin@example.com", "password": PASSWORD })),
    );
    check("post", "/auth/login", status, &login);
    let mut phone = Phone {
        server: &server,
        token: login["accessToken"].as_str().unwrap().to_owned(),
        assets: BTreeMap::new(),
    };
    let (status, valid) = send(phone.auth(server.post("/api/auth/validateToken")));
    check("post", "/auth/validateToken", status, &valid);
    for path in ["/users/me", "/users/me/preferences", "/server/about", "/server/storage"] {
        phone.get(path);
    }
    for types in [
        json!(["AlbumV1"]),
        json!(["AssetV1", "PartnerAssetV1", "AlbumAssetCreateV1", "AlbumAssetUpdateV1"]),
    ] {
        let (status, body) = send(phone.auth(server.delete("/api/sync/ack")).json(&json!({ "types": types })));
        assert_eq!(status, 204, "{body}");
    }
    let first = phone.sync();
    assert!(of_type(&first, "AssetV2").is_empty());

    // Backup: half the photos, then the server dies in the middle of the next one.
    let photos = photos();
    let mut sent = Vec::new();
    for (name, bytes) in &photos[..15] {
        assert_eq!(phone.upload(name, bytes.clone(), &[]).0, 201, "{name}");
        sent.push(sha1_base64(bytes));
    }
    let _cut = partial_upload(&server, &phone.token, 2 << 20, 256 << 10);
    eventually("the server has part of the 16th upload on disk", || {
        crate::common::files_under(&dir.path().join("library/.incoming"))
            .iter()
            .any(|f| f.metadata().is_ok_and(|m| m.len() > 0))
    });
    let Phone { token, assets, .. } = phone;
    server.kill();

    // The app comes back: sync first, then upload whatever the server lacks.
    let server = Server::start(dir.path());
    let mut phone = Phone {
        server: &server,
        token,
        assets,
    };
    let resumed = phone.sync();
    let on_server = phone.checksums();
    sent.sort();
    assert_eq!(on_server, sent, "exactly the acknowledged uploads survived the crash");
    for (name, bytes) in &photos {
        if !on_server.contains(&sha1_base64(bytes)) {
            assert_eq!(phone.upload(name, bytes.clone(), &[]).0, 201, "{name}");
        }
    }
    // An upload the app had not yet seen synced is answered as a duplicate.
    let (status, _) = phone.upload(&photos[0].0, photos[0].1.clone(), &[]);
    assert_eq!(status, 200);

    // A live photo (motion part first, then the still linked to it) and a video.
    let (_, motion) = phone.upload("IMG_0042.MOV", clip(clips.path(), "IMG_0042.MOV"), &[]);
    let (_, still) = phone.upload("IMG_0042.JPG", jpeg(400, 300, 200), &[("livePhotoVideoId", &motion)]);
    let (_, video) = phone.upload("VID_0001.mp4", clip(clips.path(), "VID_0001.mp4"), &[("duration", "1000")]);
    server.wait_idle(&phone.token);

    let backed_up = phone.sync();
    assert_eq!(
        phone.assets.len(),
        30 + 3,
        "every photo, the live pair and the video are on the phone"
    );
    let by_id = |id: &str| phone.assets.get(id).unwrap_or_else(|| panic!("{id} not synced")).clone();
    assert_eq!(by_id(&still)["livePhotoVideoId"], motion.as_str());
    assert_eq!(by_id(&motion)["visibility"], "hidden", "the motion part stays out of the timeline");
    assert_eq!(by_id(&video)["type"], "VIDEO");
    let stats = phone.get("/assets/statistics");
    assert_eq!((stats["images"].as_i64(), stats["videos"].as_i64()), (Some(31), Some(2)), "{stats}");
    let exif_of_canon = of_type(&resumed, "AssetExifV1")
        .into_iter()
        .chain(of_type(&backed_up, "AssetExifV1"))
        .any(|l| l["data"]["make"] == "Canon");
    assert!(exif_of_canon, "camera EXIF reaches the phone");

    // Someone deletes one photo for good and trashes another in the web UI.
    let web = server.login("admin@example.com", PASSWORD);
    let (gone, trashed) = (by_id(&video)["id"].as_str().unwrap().to_owned(), still.clone());
    let (status, _) = send(
        server
            .delete("/api/assets")
            .bearer_auth(&web)
            .json(&json!({ "ids": [gone], "force": true })),
    );
    assert_eq!(status, 204);
    let (status, _) = send(server.delete("/api/assets").bearer_auth(&web).json(&json!({ "ids": [trashed] })));
    assert_eq!(status, 204);
    let after = phone.sync();
    assert_eq!(
        of_type(&after, "AssetDeleteV1")
            .iter()
            .map(|l| l["data"]["assetId"].clone())
            .collect::<Vec<_>>(),
        [json!(gone)]
    );
    assert!(!phone.assets.contains_key(&gone));
    assert!(
        phone.assets[&trashed]["deletedAt"].is_string(),
        "trashing reaches the phone as an update"
    );
    assert_eq!(phone.sync().len(), 1, "after acknowledging, only SyncCompleteV1 remains");
}
