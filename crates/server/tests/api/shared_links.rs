//! Shared links: visitors without an account see exactly what a link
//! shares, only while it is valid and only with its password.

use crate::common::schema::check;
use crate::common::{Server, fixture, jpeg, send};
use serde_json::{Value, json};

fn status_of(s: &Server, path: &str) -> u16 {
    s.get(path).send().unwrap().status().as_u16()
}

#[test]
fn a_link_to_photos_shows_those_photos_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let owner = s.admin();
    let other = s.user(&owner, "other@example.com");
    let shared = s.created(&owner, "a.jpg", jpeg(64, 48, 1));
    let private = s.created(&owner, "b.jpg", jpeg(64, 48, 2));
    let theirs = s.created(&other, "c.jpg", jpeg(64, 48, 3));

    let (status, link) = send(
        s.post("/api/shared-links")
            .bearer_auth(&owner)
            .json(&json!({ "type": "INDIVIDUAL", "assetIds": [shared] })),
    );
    check("post", "/shared-links", status, &link);
    assert!(link["password"].is_null(), "no password, and none is ever echoed");
    let key = link["key"].as_str().unwrap().to_owned();

    let (status, seen) = send(s.get(&format!("/api/shared-links/me?key={key}")));
    check("get", "/shared-links/me", status, &seen);
    assert_eq!(
        seen["assets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a["id"].clone())
            .collect::<Vec<_>>(),
        [json!(shared)]
    );
    for path in [
        format!("/api/assets/{shared}?key={key}"),
        format!("/api/assets/{shared}/thumbnail?key={key}"),
        format!("/api/assets/{shared}/original?key={key}"),
    ] {
        assert_eq!(status_of(&s, &path), 200, "{path}");
    }
    for id in [&private, &theirs] {
        for path in [
            format!("/api/assets/{id}?key={key}"),
            format!("/api/assets/{id}/original?key={key}"),
            format!("/api/assets/{id}/thumbnail?key={key}"),
        ] {
            assert_ne!(status_of(&s, &path), 200, "{path} is not in the link");
        }
    }
    assert_eq!(status_of(&s, &format!("/api/assets/{shared}?key=not-a-key")), 401);
    assert_eq!(
        status_of(&s, &format!("/api/shared-links/{}", link["id"].as_str().unwrap())),
        401,
        "managing links needs the owner"
    );

    // The owner cannot put someone else's photo in a link, and another user cannot edit it.
    let (status, _) = send(
        s.post("/api/shared-links")
            .bearer_auth(&owner)
            .json(&json!({ "type": "INDIVIDUAL", "assetIds": [theirs] })),
    );
    assert_eq!(status, 400);
    let link_id = link["id"].as_str().unwrap();
    let (status, results) = send(
        s.put(&format!("/api/shared-links/{link_id}/assets"))
            .bearer_auth(&owner)
            .json(&json!({ "assetIds": [theirs, private] })),
    );
    check("put", "/shared-links/{id}/assets", status, &results);
    assert_eq!(
        (results[0]["success"].as_bool(), results[1]["success"].as_bool()),
        (Some(false), Some(true))
    );
    assert_ne!(
        send(
            s.patch(&format!("/api/shared-links/{link_id}"))
                .bearer_auth(&other)
                .json(&json!({ "description": "mine" }))
        )
        .0,
        200
    );

    // Expired, then deleted: the key opens nothing.
    let (status, edited) = send(
        s.patch(&format!("/api/shared-links/{link_id}"))
            .bearer_auth(&owner)
            .json(&json!({ "expiresAt": "2020-01-01T00:00:00.000Z" })),
    );
    check("patch", "/shared-links/{id}", status, &edited);
    let (status, body) = send(s.get(&format!("/api/shared-links/me?key={key}")));
    assert_eq!(status, 401);
    assert!(body["message"].as_str().unwrap().contains("expired"), "{body}");
    assert_ne!(status_of(&s, &format!("/api/assets/{shared}/original?key={key}")), 200);
    assert_eq!(send(s.delete(&format!("/api/shared-links/{link_id}")).bearer_auth(&owner)).0, 204);
    assert_eq!(send(s.get(&format!("/api/shared-links/me?key={key}"))).0, 401);
}

#[test]
fn an_album_link_with_a_password_admits_only_those_who_give_it() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let owner = s.admin();
    let photo = s.created(&owner, "Canon.jpg", fixture("Canon.jpg"));
    let outside = s.created(&owner, "x.jpg", jpeg(32, 32, 4));
    s.wait_idle(&owner);
    let (_, album) = send(
        s.post("/api/albums")
            .bearer_auth(&owner)
            .json(&json!({ "albumName": "Wedding", "assetIds": [photo] })),
    );
    let album_id = album["id"].as_str().unwrap().to_owned();
    let (_, other_album) = send(
        s.post("/api/albums")
            .bearer_auth(&owner)
            .json(&json!({ "albumName": "Private", "assetIds": [outside] })),
    );
    let create = json!({ "type": "ALBUM", "albumId": album_id, "password": "open sesame", "showMetadata": false, "allowDownload": false, "slug": "wedding" });
    let (status, link) = send(s.post("/api/shared-links").bearer_auth(&owner).json(&create));
    check("post", "/shared-links", status, &link);
    assert_eq!(link["album"]["id"], album_id.as_str());
    assert_eq!(
        send(s.get(&format!("/api/albums/{album_id}")).bearer_auth(&owner)).1["hasSharedLink"],
        true
    );
    assert_eq!(
        send(
            s.get(&format!("/api/albums/{}", other_album["id"].as_str().unwrap()))
                .bearer_auth(&owner)
        )
        .1["hasSharedLink"],
        false
    );
    assert_eq!(
        send(s.post("/api/shared-links").bearer_auth(&owner).json(&create)).0,
        400,
        "slugs are unique"
    );

    let (status, body) = send(s.get("/api/shared-links/me?slug=wedding"));
    assert_eq!(status, 401);
    assert!(body["message"].as_str().unwrap().contains("Password"), "{body}");
    assert_eq!(status_of(&s, &format!("/api/albums/{album_id}?slug=wedding")), 401);
    let (status, _) = send(s.post("/api/shared-links/login?slug=wedding").json(&json!({ "password": "wrong" })));
    assert_eq!(status, 401);

    let r = s
        .post("/api/shared-links/login?slug=wedding")
        .json(&json!({ "password": "open sesame" }))
        .send()
        .unwrap();
    assert_eq!(r.status(), 201);
    let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
    let visit = |path: &str| send(s.get(path).header("cookie", &cookie));
    let (status, me) = visit("/api/shared-links/me?slug=wedding");
    check("get", "/shared-links/me", status, &me);
    let (status, shown) = visit(&format!("/api/albums/{album_id}?slug=wedding"));
    check("get", "/albums/{id}", status, &shown);
    let assets: &Vec<Value> = shown["assets"].as_array().unwrap();
    assert_eq!(assets.len(), 1);
    assert!(assets[0].get("exifInfo").is_none(), "showMetadata=false hides EXIF: {}", assets[0]);
    assert_eq!(visit(&format!("/api/timeline/buckets?albumId={album_id}&slug=wedding")).0, 200);
    assert_eq!(visit(&format!("/api/assets/{photo}/thumbnail?slug=wedding")).0, 200);
    assert_eq!(
        visit(&format!("/api/assets/{photo}/original?slug=wedding")).0,
        403,
        "downloads are off"
    );
    assert_ne!(visit(&format!("/api/assets/{outside}/thumbnail?slug=wedding")).0, 200);
    assert_ne!(
        visit(&format!("/api/albums/{}?slug=wedding", other_album["id"].as_str().unwrap())).0,
        200
    );
    assert_ne!(visit("/api/timeline/buckets?slug=wedding").0, 200, "only the album's own timeline");

    // A new password ends the visitors' sessions.
    let link_id = link["id"].as_str().unwrap();
    assert_eq!(
        send(
            s.patch(&format!("/api/shared-links/{link_id}"))
                .bearer_auth(&owner)
                .json(&json!({ "password": "new one" }))
        )
        .0,
        200
    );
    assert_eq!(visit("/api/shared-links/me?slug=wedding").0, 401);
}
