//! Albums shared between users of one box: what members see and may do,
//! what everybody else cannot reach, and how it reaches the phones.

use crate::common::schema::check;
use crate::common::sync::{ack, app_stream, of_type};
use crate::common::{Server, send};
use serde_json::{Value, json};

fn ids_of(lines: &[Value], kind: &str, field: &str) -> Vec<String> {
    let mut ids: Vec<String> = of_type(lines, kind)
        .iter()
        .map(|l| l["data"][field].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn members_see_a_shared_album_and_others_see_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let owner = s.admin();
    let (bob, carol) = (s.user(&owner, "bob@example.com"), s.user(&owner, "carol@example.com"));
    let photos = [s.photo(&owner, 1), s.photo(&owner, 2)];
    let unshared = s.photo(&owner, 3);
    let (status, album) = send(
        s.post("/api/albums")
            .bearer_auth(&owner)
            .json(&json!({ "albumName": "Family", "assetIds": photos })),
    );
    assert_eq!(status, 201, "{album}");
    let album_id = album["id"].as_str().unwrap().to_owned();
    assert!(send(s.get("/api/albums").bearer_auth(&bob)).1.as_array().unwrap().is_empty());
    assert_eq!(album["ownerId"], s.user_id(&owner).as_str());

    // Anyone signed in can list the box's users, to pick whom to share with.
    let (status, users) = send(s.get("/api/users").bearer_auth(&bob));
    check("get", "/users", status, &users);
    assert_eq!(users.as_array().unwrap().len(), 3);

    let share = json!({ "albumUsers": [{ "userId": s.user_id(&bob), "role": "viewer" }] });
    let (status, shared) = send(s.put(&format!("/api/albums/{album_id}/users")).bearer_auth(&owner).json(&share));
    check("put", "/albums/{id}/users", status, &shared);
    assert_eq!(shared["shared"], true);
    assert_eq!(
        shared["albumUsers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["role"].clone())
            .collect::<Vec<_>>(),
        [json!("owner"), json!("viewer")]
    );
    let (status, again) = send(s.put(&format!("/api/albums/{album_id}/users")).bearer_auth(&owner).json(&share));
    assert_eq!(status, 400, "sharing twice is refused: {again}");

    // Bob sees the album, its photos and their files.
    let (status, list) = send(s.get("/api/albums?shared=true").bearer_auth(&bob));
    check("get", "/albums", status, &list);
    assert_eq!(list[0]["id"], album_id.as_str());
    let (status, detail) = send(s.get(&format!("/api/albums/{album_id}")).bearer_auth(&bob));
    check("get", "/albums/{id}", status, &detail);
    assert_eq!(detail["assets"].as_array().unwrap().len(), 2);
    for path in [
        format!("/api/assets/{}", photos[0]),
        format!("/api/assets/{}/original", photos[0]),
        format!("/api/assets/{}/thumbnail", photos[1]),
    ] {
        assert_eq!(s.get(&path).bearer_auth(&bob).send().unwrap().status(), 200, "{path}");
    }
    let (status, _) = send(s.get(&format!("/api/timeline/buckets?albumId={album_id}")).bearer_auth(&bob));
    assert_eq!(status, 200);

    // Not the owner's other photos, and nothing at all for Carol.
    assert_ne!(
        s.get(&format!("/api/assets/{unshared}")).bearer_auth(&bob).send().unwrap().status(),
        200
    );
    for path in [
        format!("/api/albums/{album_id}"),
        format!("/api/assets/{}", photos[0]),
        format!("/api/assets/{}/original", photos[0]),
    ] {
        assert_ne!(
            s.get(&path).bearer_auth(&carol).send().unwrap().status(),
            200,
            "{path} leaked to a non-member"
        );
    }
    assert!(send(s.get("/api/albums").bearer_auth(&carol)).1.as_array().unwrap().is_empty());

    // A viewer adds nothing; an editor adds and removes only their own photos.
    let bobs = s.photo(&bob, 9);
    let add = |token: &str| {
        send(
            s.put(&format!("/api/albums/{album_id}/assets"))
                .bearer_auth(token)
                .json(&json!({ "ids": [bobs] })),
        )
    };
    assert_eq!(add(&bob).0, 400, "a viewer cannot add photos");
    let (status, _) = send(
        s.put(&format!("/api/albums/{album_id}/user/{}", s.user_id(&bob)))
            .bearer_auth(&owner)
            .json(&json!({ "role": "editor" })),
    );
    assert_eq!(status, 204);
    assert_eq!(add(&bob).1[0]["success"], true);
    let remove = |token: &str, id: &str| {
        send(
            s.delete(&format!("/api/albums/{album_id}/assets"))
                .bearer_auth(token)
                .json(&json!({ "ids": [id] })),
        )
        .1
    };
    assert_eq!(
        remove(&bob, &photos[0])[0]["success"],
        false,
        "an editor cannot remove the owner's photo"
    );
    assert_eq!(remove(&bob, &bobs)[0]["success"], true);
    assert_eq!(
        send(s.put(&format!("/api/albums/{album_id}/users")).bearer_auth(&bob).json(&share)).0,
        400,
        "only the owner shares"
    );

    // Leaving takes the album away.
    let (status, _) = send(s.delete(&format!("/api/albums/{album_id}/user/me")).bearer_auth(&bob));
    assert_eq!(status, 204);
    assert_ne!(
        s.get(&format!("/api/assets/{}", photos[0]))
            .bearer_auth(&bob)
            .send()
            .unwrap()
            .status(),
        200
    );
}

#[test]
fn a_member_who_joins_later_receives_the_whole_album_through_sync() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let owner = s.admin();
    let bob = s.user(&owner, "bob@example.com");
    let photos = vec![s.photo(&owner, 1), s.photo(&owner, 2)];
    let (_, album) = send(
        s.post("/api/albums")
            .bearer_auth(&owner)
            .json(&json!({ "albumName": "Trip", "assetIds": photos })),
    );
    let album_id = album["id"].as_str().unwrap().to_owned();
    s.wait_idle(&owner);

    // Bob's phone is fully synced before he is invited.
    let before = app_stream(&s, &bob);
    assert!(of_type(&before, "AlbumV2").is_empty());
    ack(&s, &bob, &before);

    let bob_id = s.user_id(&bob);
    let share = json!({ "albumUsers": [{ "userId": bob_id, "role": "viewer" }] });
    assert_eq!(
        send(s.put(&format!("/api/albums/{album_id}/users")).bearer_auth(&owner).json(&share)).0,
        200
    );
    let invited = app_stream(&s, &bob);
    assert_eq!(ids_of(&invited, "AlbumV2", "id"), std::slice::from_ref(&album_id));
    let mut expected = photos.clone();
    expected.sort();
    assert_eq!(
        ids_of(&invited, "AlbumAssetCreateV2", "id"),
        expected,
        "old photos come to the new member"
    );
    assert_eq!(ids_of(&invited, "AlbumAssetExifCreateV1", "assetId"), expected);
    assert_eq!(of_type(&invited, "AlbumToAssetV1").len(), 2);
    let mut roles: Vec<String> = of_type(&invited, "AlbumUserV1")
        .iter()
        .map(|l| l["data"]["role"].as_str().unwrap().to_owned())
        .collect();
    roles.sort();
    assert_eq!(roles, ["owner", "viewer"]);
    assert!(of_type(&invited, "AssetV2").is_empty(), "the owner's library stays the owner's");
    ack(&s, &bob, &invited);

    // A photo added later and the owner's favourite reach Bob too.
    let later = s.photo(&owner, 3);
    assert_eq!(
        send(
            s.put(&format!("/api/albums/{album_id}/assets"))
                .bearer_auth(&owner)
                .json(&json!({ "ids": [later] }))
        )
        .0,
        200
    );
    assert_eq!(
        send(
            s.put(&format!("/api/assets/{}", photos[0]))
                .bearer_auth(&owner)
                .json(&json!({ "isFavorite": true }))
        )
        .0,
        200
    );
    let changes = app_stream(&s, &bob);
    assert_eq!(ids_of(&changes, "AlbumAssetCreateV2", "id"), std::slice::from_ref(&later));
    let updated = of_type(&changes, "AlbumAssetUpdateV2");
    assert!(
        updated
            .iter()
            .any(|l| l["data"]["id"] == photos[0].as_str() && l["data"]["isFavorite"] == true),
        "{changes:?}"
    );
    ack(&s, &bob, &changes);

    // Removed from the album: Bob's phone drops it, the owner's sees him go.
    let owner_lines = app_stream(&s, &owner);
    ack(&s, &owner, &owner_lines);
    assert_eq!(
        send(s.delete(&format!("/api/albums/{album_id}/user/{bob_id}")).bearer_auth(&owner)).0,
        204
    );
    assert_eq!(
        ids_of(&app_stream(&s, &bob), "AlbumDeleteV1", "albumId"),
        std::slice::from_ref(&album_id)
    );
    let owner_view = app_stream(&s, &owner);
    assert_eq!(
        of_type(&owner_view, "AlbumUserDeleteV1")[0]["data"],
        json!({ "albumId": album_id, "userId": bob_id })
    );
}
