//! Timeline buckets over HTTP, checked against the Immich schemas' shapes.

use crate::common::{Server, jpeg, send};
use reqwest::blocking::multipart;
use serde_json::json;

fn upload_at(s: &Server, token: &str, name: &str, seed: u8, when: &str) -> String {
    let form = multipart::Form::new()
        .text("fileCreatedAt", when.to_string())
        .text("fileModifiedAt", when.to_string())
        .part("assetData", multipart::Part::bytes(jpeg(30, 20, seed)).file_name(name.to_string()));
    let (status, body) = send(s.post("/api/assets").bearer_auth(token).multipart(form));
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_string()
}

#[test]
fn buckets_count_months_newest_first_and_a_bucket_lists_its_assets() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let old = upload_at(&s, &token, "a.jpg", 1, "2019-07-04T10:00:00.000Z");
    let new1 = upload_at(&s, &token, "b.jpg", 2, "2024-03-02T10:00:00.000Z");
    let new2 = upload_at(&s, &token, "c.jpg", 3, "2024-03-20T10:00:00.000Z");
    let archived = upload_at(&s, &token, "d.jpg", 4, "2024-03-21T10:00:00.000Z");
    s.wait_idle(&token);
    assert_eq!(
        send(
            s.put("/api/assets")
                .bearer_auth(&token)
                .json(&json!({"ids": [archived], "visibility": "archive"}))
        )
        .0,
        204
    );

    let (status, buckets) = send(s.get("/api/timeline/buckets").bearer_auth(&token));
    assert_eq!(status, 200);
    assert_eq!(
        buckets,
        json!([{"timeBucket": "2024-03-01", "count": 2}, {"timeBucket": "2019-07-01", "count": 1}])
    );

    let (status, march) = send(s.get("/api/timeline/bucket?timeBucket=2024-03-01").bearer_auth(&token));
    assert_eq!(status, 200, "{march}");
    assert_eq!(march["id"], json!([new2, new1]));
    assert_eq!(march["ratio"], json!([1.5, 1.5]));
    assert_eq!(march["isImage"], json!([true, true]));
    assert_eq!(march["localOffsetHours"], json!([0.0, 0.0]));
    for key in [
        "ownerId",
        "isFavorite",
        "isTrashed",
        "visibility",
        "fileCreatedAt",
        "createdAt",
        "duration",
        "livePhotoVideoId",
        "thumbhash",
        "city",
        "country",
        "projectionType",
    ] {
        assert_eq!(march[key].as_array().map(Vec::len), Some(2), "{key}");
    }

    let (_, archive) = send(s.get("/api/timeline/buckets?visibility=archive").bearer_auth(&token));
    assert_eq!(archive, json!([{"timeBucket": "2024-03-01", "count": 1}]));
    assert_eq!(
        send(s.delete("/api/assets").bearer_auth(&token).json(&json!({"ids": [old]}))).0,
        204
    );
    let (_, trash) = send(s.get("/api/timeline/buckets?isTrashed=true").bearer_auth(&token));
    assert_eq!(trash, json!([{"timeBucket": "2019-07-01", "count": 1}]));

    let (_, album) = send(
        s.post("/api/albums")
            .bearer_auth(&token)
            .json(&json!({"albumName": "A", "assetIds": [new1]})),
    );
    let album_id = album["id"].as_str().unwrap();
    let (_, in_album) = send(s.get(&format!("/api/timeline/buckets?albumId={album_id}")).bearer_auth(&token));
    assert_eq!(in_album, json!([{"timeBucket": "2024-03-01", "count": 1}]));

    let bob = s.user(&token, "bob@example.com");
    assert_eq!(send(s.get("/api/timeline/buckets").bearer_auth(&bob)).1, json!([]));
    assert_eq!(
        send(s.get(&format!("/api/timeline/buckets?albumId={album_id}")).bearer_auth(&bob)).0,
        400
    );
    let (_, admin) = send(s.get("/api/users/me").bearer_auth(&token));
    assert_eq!(
        send(
            s.get(&format!("/api/timeline/buckets?userId={}", admin["id"].as_str().unwrap()))
                .bearer_auth(&bob)
        )
        .0,
        400
    );
    let (status, body) = send(s.get("/api/timeline/bucket?timeBucket=soon").bearer_auth(&token));
    assert_eq!(status, 400, "{body}");
}
