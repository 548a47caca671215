//! The mobile apps' sync stream, read as the app reads it: every line must
//! parse as its entity type's schema, parents come before the rows that
//! point at them, and after acknowledging, only what changed comes again.

use crate::common::schema::check;
use crate::common::sync::{APP_TYPES, ack, app_stream, of_type, position, stream};
use crate::common::{Server, jpeg, send};
use serde_json::json;

#[test]
fn a_first_sync_sends_the_library_in_order_and_then_only_changes() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let admin = server.admin();
    let ids: Vec<String> = (1..=3).map(|seed| server.photo(&admin, seed)).collect();
    server.wait_idle(&admin);

    // The app's one-off clean-ups before its first stream.
    for types in [
        json!(["AlbumV1"]),
        json!(["AssetV1", "AssetV2"]),
        json!(["AssetExifV1", "PartnerAssetExifV1"]),
    ] {
        let (status, body) = send(server.delete("/api/sync/ack").bearer_auth(&admin).json(&json!({ "types": types })));
        assert_eq!(status, 204, "{body}");
    }

    let first = app_stream(&server, &admin);
    assert_eq!(first[0]["type"], "AuthUserV1");
    assert_eq!(first[0]["data"]["isAdmin"], true);
    assert_eq!(first.last().unwrap()["type"], "SyncCompleteV1");
    assert!(
        position(&first, "UserV1") < position(&first, "AssetV2"),
        "owners before their assets"
    );
    assert!(
        position(&first, "AssetV2") < position(&first, "AssetExifV1"),
        "assets before their EXIF"
    );
    let mut synced: Vec<String> = of_type(&first, "AssetV2")
        .iter()
        .map(|l| l["data"]["id"].as_str().unwrap().to_owned())
        .collect();
    synced.sort();
    let mut expected = ids.clone();
    expected.sort();
    assert_eq!(synced, expected);
    assert_eq!(of_type(&first, "AssetExifV1").len(), 3, "metadata ran for every photo");
    let sizes: Vec<i64> = of_type(&first, "AssetExifV1")
        .iter()
        .map(|l| l["data"]["fileSizeInByte"].as_i64().unwrap())
        .collect();
    let uploaded: Vec<i64> = (1..=3).map(|seed| jpeg(64, 48, seed).len() as i64).collect();
    assert!(sizes.iter().all(|n| uploaded.contains(n)), "EXIF carries the file size: {sizes:?}");
    ack(&server, &admin, &first);

    let (status, acks) = send(server.get("/api/sync/ack").bearer_auth(&admin));
    assert_eq!(status, 200);
    check("get", "/sync/ack", 200, &acks);

    let quiet = app_stream(&server, &admin);
    assert_eq!(quiet.len(), 1, "nothing changed: {quiet:?}");
    assert_eq!(quiet[0]["type"], "SyncCompleteV1");
    ack(&server, &admin, &quiet);

    // Changes on the server: a trash, a permanent delete, an album, a favourite.
    let (status, _) = send(server.delete("/api/assets").bearer_auth(&admin).json(&json!({ "ids": [ids[0]] })));
    assert_eq!(status, 204);
    let (status, _) = send(
        server
            .delete("/api/assets")
            .bearer_auth(&admin)
            .json(&json!({ "ids": [ids[1]], "force": true })),
    );
    assert_eq!(status, 204);
    let (status, album) = send(
        server
            .post("/api/albums")
            .bearer_auth(&admin)
            .json(&json!({ "albumName": "Trip", "assetIds": [ids[2]] })),
    );
    assert_eq!(status, 201, "{album}");
    let (status, _) = send(
        server
            .put(&format!("/api/assets/{}", ids[2]))
            .bearer_auth(&admin)
            .json(&json!({ "isFavorite": true })),
    );
    assert_eq!(status, 200);

    let changes = app_stream(&server, &admin);
    let deleted = of_type(&changes, "AssetDeleteV1");
    assert_eq!(deleted.len(), 1, "{changes:?}");
    assert_eq!(deleted[0]["data"]["assetId"], ids[1].as_str());
    let updated = of_type(&changes, "AssetV2");
    let trashed = updated
        .iter()
        .find(|l| l["data"]["id"] == ids[0].as_str())
        .expect("the trashed asset comes again");
    assert!(trashed["data"]["deletedAt"].is_string(), "trashing sets deletedAt: {trashed}");
    let favourite = updated
        .iter()
        .find(|l| l["data"]["id"] == ids[2].as_str())
        .expect("the favourite comes again");
    assert_eq!(favourite["data"]["isFavorite"], true);
    assert!(
        updated.iter().all(|l| l["data"]["id"] != ids[1].as_str()),
        "a deleted asset is not upserted"
    );

    let album_id = album["id"].as_str().unwrap();
    assert_eq!(of_type(&changes, "AlbumV2")[0]["data"]["id"], album_id);
    assert_eq!(of_type(&changes, "AlbumUserV1")[0]["data"]["role"], "owner");
    assert_eq!(
        of_type(&changes, "AlbumToAssetV1")[0]["data"],
        json!({ "albumId": album_id, "assetId": ids[2] })
    );
    let sync_ack = position(&changes, "SyncAckV1");
    assert!(changes[sync_ack]["ack"].as_str().unwrap().starts_with("AlbumAssetUpdateV2|"));
    assert_eq!(changes[sync_ack + 1]["type"], "AlbumAssetCreateV2");
    assert!(position(&changes, "AlbumAssetCreateV2") < position(&changes, "AlbumV2"));
    assert!(
        position(&changes, "AlbumV2") < position(&changes, "AlbumToAssetV1"),
        "albums before their members"
    );
    ack(&server, &admin, &changes);

    // Taking the photo out of the album reaches the app as a membership deletion.
    let (status, _) = send(
        server
            .delete(&format!("/api/albums/{album_id}/assets"))
            .bearer_auth(&admin)
            .json(&json!({ "ids": [ids[2]] })),
    );
    assert_eq!(status, 200);
    let removal = app_stream(&server, &admin);
    assert_eq!(
        of_type(&removal, "AlbumToAssetDeleteV1")[0]["data"],
        json!({ "albumId": album_id, "assetId": ids[2] })
    );
}

#[test]
fn each_user_syncs_only_their_own_library_and_sees_every_owner() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let admin = server.admin();
    let kid = server.user(&admin, "kid@example.com");
    let mine = server.photo(&admin, 1);
    let (status, _) = send(
        server
            .post("/api/albums")
            .bearer_auth(&admin)
            .json(&json!({ "albumName": "Mine", "assetIds": [mine] })),
    );
    assert_eq!(status, 201);
    server.wait_idle(&admin);

    let lines = app_stream(&server, &kid);
    for kind in [
        "AssetV2",
        "AssetExifV1",
        "AlbumV2",
        "AlbumUserV1",
        "AlbumToAssetV1",
        "AlbumAssetCreateV2",
    ] {
        assert!(of_type(&lines, kind).is_empty(), "{kind} of another user leaked: {lines:?}");
    }
    assert_eq!(of_type(&lines, "UserV1").len(), 2, "every user, as Immich sends them");
    assert_eq!(lines[0]["data"]["email"], "kid@example.com");
}

#[test]
fn reset_acknowledgement_and_refusals() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let admin = server.admin();
    server.photo(&admin, 1);
    let first = app_stream(&server, &admin);
    ack(&server, &admin, &first);

    let reset = stream(&server, &admin, json!({ "types": APP_TYPES, "reset": true }));
    assert_eq!(reset, [json!({ "type": "SyncResetV1", "data": {}, "ack": "SyncResetV1|reset" })]);
    let again = app_stream(&server, &admin);
    assert_eq!(of_type(&again, "AssetV2").len(), 1, "after a reset everything comes again");
    ack(&server, &admin, &again);
    let (status, _) = send(
        server
            .post("/api/sync/ack")
            .bearer_auth(&admin)
            .json(&json!({ "acks": ["SyncResetV1|reset"] })),
    );
    assert_eq!(status, 204);
    let (_, acks) = send(server.get("/api/sync/ack").bearer_auth(&admin));
    assert_eq!(acks, json!([]), "acknowledging the reset clears progress");

    let (status, body) = send(
        server
            .post("/api/sync/stream")
            .bearer_auth(&admin)
            .json(&json!({ "types": ["AssetsV1"] })),
    );
    assert_eq!(status, 400, "{body}");
    let (status, _) = send(
        server
            .post("/api/sync/stream")
            .bearer_auth(&admin)
            .json(&json!({ "types": ["Everything"] })),
    );
    assert_eq!(status, 400);
    let (status, body) = send(
        server
            .post("/api/sync/ack")
            .bearer_auth(&admin)
            .json(&json!({ "acks": ["Bogus|1"] })),
    );
    assert_eq!(status, 400, "{body}");

    let (status, key) = send(
        server
            .post("/api/api-keys")
            .bearer_auth(&admin)
            .json(&json!({ "name": "cli", "permissions": ["all"] })),
    );
    assert_eq!(status, 201, "{key}");
    let secret = key["secret"].as_str().unwrap();
    let (status, body) = send(
        server
            .post("/api/sync/stream")
            .header("x-api-key", secret)
            .json(&json!({ "types": APP_TYPES })),
    );
    assert_eq!(status, 403, "sync needs a login session: {body}");
}

#[test]
fn a_phone_that_missed_pruned_deletions_is_told_to_start_over() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let admin = server.admin();
    let ids = [server.photo(&admin, 1), server.photo(&admin, 2)];
    let first = app_stream(&server, &admin);
    ack(&server, &admin, &first);
    let (status, _) = send(
        server
            .delete("/api/assets")
            .bearer_auth(&admin)
            .json(&json!({ "ids": [ids[0]], "force": true })),
    );
    assert_eq!(status, 204);
    assert!(server.stop().success());

    // What the hourly maintenance does once the record is old enough.
    let catalog = shoebox_catalog::Catalog::open(&dir.path().join("db/shoebox.db")).unwrap();
    assert_eq!(catalog.prune_sync_deletions(shoebox_catalog::now_millis() + 1).unwrap(), 1);
    drop(catalog);

    let server = Server::start(dir.path());
    let stale = app_stream(&server, &admin);
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0]["type"], "SyncResetV1");
    ack(&server, &admin, &stale);
    let fresh = app_stream(&server, &admin);
    assert_eq!(of_type(&fresh, "AssetV2").len(), 1, "after the reset, the library as it is now");
    assert!(of_type(&fresh, "AssetDeleteV1").is_empty());
}

#[test]
fn a_device_told_to_reset_gets_only_the_reset_until_it_acknowledges() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let admin = server.admin();
    let other = server.user(&admin, "other@example.com");
    server.photo(&admin, 1);
    server.wait_idle(&admin);
    ack(&server, &admin, &app_stream(&server, &admin));
    let (_, sessions) = send(server.get("/api/sessions").bearer_auth(&admin));
    let phone = sessions.as_array().unwrap().iter().find(|s| s["current"] == true).unwrap().clone();
    assert_eq!(phone["isPendingSyncReset"], false);
    let id = phone["id"].as_str().unwrap();

    let refused = send(
        server
            .put(&format!("/api/sessions/{id}"))
            .bearer_auth(&other)
            .json(&json!({ "isPendingSyncReset": true })),
    );
    assert_ne!(refused.0, 200, "another user's device is not theirs to reset: {}", refused.1);
    let (status, empty) = send(server.put(&format!("/api/sessions/{id}")).bearer_auth(&admin).json(&json!({})));
    assert_eq!(status, 400, "{empty}");
    assert!(
        app_stream(&server, &admin).iter().all(|l| l["type"] != "SyncResetV1"),
        "not asked yet"
    );

    let (status, updated) = send(
        server
            .put(&format!("/api/sessions/{id}"))
            .bearer_auth(&admin)
            .json(&json!({ "isPendingSyncReset": true })),
    );
    check("put", "/sessions/{id}", status, &updated);
    assert_eq!(updated["isPendingSyncReset"], true);
    for _ in 0..2 {
        let told = app_stream(&server, &admin);
        assert_eq!(told, [json!({ "type": "SyncResetV1", "data": {}, "ack": "SyncResetV1|reset" })]);
    }
    ack(&server, &admin, &[json!({ "type": "SyncResetV1", "ack": "SyncResetV1|reset" })]);
    let fresh = app_stream(&server, &admin);
    assert_eq!(of_type(&fresh, "AssetV2").len(), 1, "after the reset, the whole library again");
    let (_, sessions) = send(server.get("/api/sessions").bearer_auth(&admin));
    check("get", "/sessions", 200, &sessions);
    assert!(
        sessions.as_array().unwrap().iter().all(|s| s["isPendingSyncReset"] == false),
        "{sessions}"
    );
}
