//! Every response the Immich apps and CLI read, validated against the
//! Immich 3.0 OpenAPI schemas, along one realistic session.

use crate::common::schema::check;
use crate::common::{PASSWORD, Server, jpeg, send};
use serde_json::json;

#[test]
fn responses_match_the_immich_openapi_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let get = |path: &str, token: Option<&str>| {
        let r = s.get(&format!("/api{path}"));
        send(match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        })
    };

    for (path, template) in [
        ("/server/ping", "/server/ping"),
        ("/server/version", "/server/version"),
        ("/server/features", "/server/features"),
        ("/server/media-types", "/server/media-types"),
        ("/server/config", "/server/config"),
    ] {
        let (status, body) = get(path, None);
        check("get", template, status, &body);
    }

    let (status, body) = send(
        s.post("/api/auth/admin-sign-up")
            .json(&json!({"email": "admin@example.com", "name": "Admin", "password": PASSWORD})),
    );
    check("post", "/auth/admin-sign-up", status, &body);
    let (status, login) = send(
        s.post("/api/auth/login")
            .json(&json!({"email": "admin@example.com", "password": PASSWORD})),
    );
    check("post", "/auth/login", status, &login);
    let token = login["accessToken"].as_str().unwrap().to_string();
    let t = Some(token.as_str());

    for (path, template) in [
        ("/users/me", "/users/me"),
        ("/server/about", "/server/about"),
        ("/server/storage", "/server/storage"),
        ("/admin/users", "/admin/users"),
        ("/api-keys", "/api-keys"),
        ("/queues", "/queues"),
    ] {
        let (status, body) = get(path, t);
        check("get", template, status, &body);
    }
    let (status, body) = get("/users/me/preferences", t);
    check("get", "/users/me/preferences", status, &body);
    let (status, body) = send(
        s.put("/api/users/me/preferences")
            .bearer_auth(&token)
            .json(&json!({"memories": {"enabled": false}})),
    );
    check("put", "/users/me/preferences", status, &body);
    assert_eq!(body["memories"], json!({"enabled": false, "duration": 5}));
    let (_, again) = get("/users/me/preferences", t);
    assert_eq!(again["memories"]["enabled"], false, "preferences persist");
    assert_eq!(
        send(
            s.put("/api/users/me/preferences")
                .bearer_auth(&token)
                .json(&json!({"theme": "dark"}))
        )
        .0,
        400
    );
    let (status, body) = send(s.post("/api/auth/validateToken").bearer_auth(&token));
    check("post", "/auth/validateToken", status, &body);

    let (status, key) = send(
        s.post("/api/api-keys")
            .bearer_auth(&token)
            .json(&json!({"name": "cli", "permissions": ["all"]})),
    );
    check("post", "/api-keys", status, &key);
    let secret = key["secret"].as_str().unwrap();
    let (status, body) = send(s.get("/api/api-keys/me").header("x-api-key", secret));
    check("get", "/api-keys/me", status, &body);

    let (status, created) = s.upload(&token, "photo.jpg", jpeg(60, 40, 1));
    check("post", "/assets", status, &created);
    let (status, duplicate) = s.upload(&token, "photo.jpg", jpeg(60, 40, 1));
    check("post", "/assets", status, &duplicate);
    let (status, video) = s.upload(&token, "clip.mov", b"\0\0\0\x14ftypqt  not a real movie".to_vec());
    check("post", "/assets", status, &video);
    let id = created["id"].as_str().unwrap().to_string();
    s.wait_idle(&token);

    let checksum = s.asset(&token, &id)["checksum"].clone();
    let (status, body) = send(s.post("/api/assets/bulk-upload-check").bearer_auth(&token).json(
        &json!({"assets": [{"id": "a", "checksum": checksum}, {"id": "b", "checksum": "a9993e364706816aba3e25717850c26c9cd0d89d"}]}),
    ));
    check("post", "/assets/bulk-upload-check", status, &body);
    for asset in [&id, video["id"].as_str().unwrap()] {
        let (status, body) = get(&format!("/assets/{asset}"), t);
        check("get", "/assets/{id}", status, &body);
    }
    let (status, body) = send(
        s.put(&format!("/api/assets/{id}"))
            .bearer_auth(&token)
            .json(&json!({"isFavorite": true})),
    );
    check("put", "/assets/{id}", status, &body);
    let (status, body) = get("/assets/statistics", t);
    check("get", "/assets/statistics", status, &body);

    let (status, album) = send(s.post("/api/albums").bearer_auth(&token).json(&json!({"albumName": "Trip"})));
    check("post", "/albums", status, &album);
    let album_id = album["id"].as_str().unwrap();
    let (status, body) = send(
        s.put(&format!("/api/albums/{album_id}/assets"))
            .bearer_auth(&token)
            .json(&json!({"ids": [id]})),
    );
    check("put", "/albums/{id}/assets", status, &body);
    let (status, body) = get("/albums", t);
    check("get", "/albums", status, &body);
    let (status, body) = get(&format!("/albums/{album_id}"), t);
    check("get", "/albums/{id}", status, &body);
    let (status, body) = send(
        s.patch(&format!("/api/albums/{album_id}"))
            .bearer_auth(&token)
            .json(&json!({"albumName": "Trip 2"})),
    );
    check("patch", "/albums/{id}", status, &body);

    let (status, found) = send(
        s.post("/api/search/metadata")
            .bearer_auth(&token)
            .json(&json!({"originalFileName": "PHOTO", "withExif": true, "size": 1})),
    );
    check("post", "/search/metadata", status, &found);
    assert_eq!(found["assets"]["items"][0]["id"], id.as_str(), "{found}");
    let (status, page) = send(s.post("/api/search/metadata").bearer_auth(&token).json(&json!({"size": 1})));
    check("post", "/search/metadata", status, &page);
    assert_eq!(page["assets"]["nextPage"], "2", "two assets, one per page");
    let (status, _) = send(
        s.post("/api/search/metadata")
            .bearer_auth(&token)
            .json(&json!({"takenAfter": "yesterday"})),
    );
    assert_eq!(status, 400);
    let (status, buckets) = get("/timeline/buckets", t);
    check("get", "/timeline/buckets", status, &buckets);
    let bucket = buckets[0]["timeBucket"].as_str().unwrap();
    let (status, body) = get(&format!("/timeline/bucket?timeBucket={bucket}&withCoordinates=true"), t);
    check("get", "/timeline/bucket", status, &body);

    assert_eq!(send(s.delete("/api/assets").bearer_auth(&token).json(&json!({"ids": [id]}))).0, 204);
    let (status, body) = send(s.post("/api/trash/restore").bearer_auth(&token));
    check("post", "/trash/restore", status, &body);
    let (status, body) = send(s.post("/api/trash/empty").bearer_auth(&token));
    check("post", "/trash/empty", status, &body);

    let (status, body) = send(s.post("/api/auth/logout").bearer_auth(&token));
    check("post", "/auth/logout", status, &body);
}

#[test]
fn the_schema_check_rejects_a_response_with_a_missing_required_field() {
    let bad = json!({"images": 1, "videos": 0});
    let result = std::panic::catch_unwind(|| check("get", "/assets/statistics", 200, &bad));
    assert!(result.is_err(), "a body without `total` must fail the check");
    let null_where_forbidden = json!({"id": "x", "status": null});
    assert!(std::panic::catch_unwind(|| check("post", "/assets", 201, &null_where_forbidden)).is_err());
}
