//! The sync stream as the mobile app reads it: each line parsed and checked
//! against its entity type's schema, acknowledged in runs of one type.

use serde_json::{Value, json};

use super::schema::check_schema;
use super::{Server, send};

/// What a 3.x app asks for from a server that reports 3.0.0.
pub const APP_TYPES: &[&str] = &[
    "AuthUsersV1",
    "UsersV1",
    "AssetsV2",
    "AssetExifsV1",
    "AssetEditsV1",
    "AssetMetadataV1",
    "PartnersV1",
    "PartnerAssetsV2",
    "PartnerAssetExifsV1",
    "AlbumsV2",
    "AlbumUsersV1",
    "AlbumAssetsV2",
    "AlbumAssetExifsV1",
    "AlbumToAssetsV1",
    "MemoriesV1",
    "MemoryToAssetsV1",
    "StacksV1",
    "PartnerStacksV1",
    "UserMetadataV1",
    "PeopleV1",
    "AssetFacesV2",
    "AssetOcrV1",
];

fn schema_of(kind: &str) -> &'static str {
    match kind {
        "AuthUserV1" => "SyncAuthUserV1",
        "UserV1" => "SyncUserV1",
        "UserDeleteV1" => "SyncUserDeleteV1",
        "AssetV2" | "AlbumAssetCreateV2" | "AlbumAssetUpdateV2" | "PartnerAssetV2" | "PartnerAssetBackfillV2" => "SyncAssetV2",
        "AssetDeleteV1" => "SyncAssetDeleteV1",
        "AssetExifV1" | "AlbumAssetExifCreateV1" | "AlbumAssetExifUpdateV1" | "PartnerAssetExifV1" | "PartnerAssetExifBackfillV1" => {
            "SyncAssetExifV1"
        }
        "AlbumV2" => "SyncAlbumV2",
        "AlbumDeleteV1" => "SyncAlbumDeleteV1",
        "AlbumUserV1" => "SyncAlbumUserV1",
        "AlbumUserDeleteV1" => "SyncAlbumUserDeleteV1",
        "PartnerV1" => "SyncPartnerV1",
        "PartnerDeleteV1" => "SyncPartnerDeleteV1",
        "PartnerAssetDeleteV1" => "SyncAssetDeleteV1",
        "AlbumToAssetV1" => "SyncAlbumToAssetV1",
        "AlbumToAssetDeleteV1" => "SyncAlbumToAssetDeleteV1",
        "PersonV1" => "SyncPersonV1",
        "PersonDeleteV1" => "SyncPersonDeleteV1",
        "AssetFaceV2" => "SyncAssetFaceV2",
        "AssetFaceDeleteV1" => "SyncAssetFaceDeleteV1",
        "SyncAckV1" => "SyncAckV1",
        "SyncCompleteV1" => "SyncCompleteV1",
        "SyncResetV1" => "SyncResetV1",
        other => panic!("unexpected line type {other}"),
    }
}

/// Runs one stream as the app does (cookie auth, jsonlines accepted) and returns its lines, each checked.
pub fn stream(server: &Server, token: &str, body: Value) -> Vec<Value> {
    let r = server
        .post("/api/sync/stream")
        .header("cookie", format!("immich_access_token={token}"))
        .header("accept", "application/jsonlines+json")
        .json(&body)
        .send()
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "application/jsonlines+json");
    let text = r.text().unwrap();
    assert!(text.ends_with('\n'), "the last line must end with a newline: {text:?}");
    let lines: Vec<Value> = text
        .strip_suffix('\n')
        .unwrap()
        .split('\n')
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("line {l:?}: {e}")))
        .collect();
    for line in &lines {
        let kind = line["type"].as_str().unwrap();
        check_schema("SyncEntityType", &line["type"]);
        check_schema(schema_of(kind), &line["data"]);
        assert!(line["ack"].as_str().is_some_and(|a| !a.is_empty()), "{line}");
    }
    lines
}

pub fn app_stream(server: &Server, token: &str) -> Vec<Value> {
    stream(server, token, json!({ "types": APP_TYPES }))
}

/// Acknowledges like the app: the last ack of each run of same-typed lines.
pub fn ack(server: &Server, token: &str, lines: &[Value]) {
    let mut acks: Vec<&str> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if lines.get(i + 1).is_none_or(|next| next["type"] != line["type"]) {
            acks.push(line["ack"].as_str().unwrap());
        }
    }
    for a in acks {
        let (status, body) = send(
            server
                .post("/api/sync/ack")
                .header("cookie", format!("immich_access_token={token}"))
                .json(&json!({ "acks": [a] })),
        );
        assert_eq!(status, 204, "{a}: {body}");
    }
}

pub fn of_type<'a>(lines: &'a [Value], kind: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == kind).collect()
}

pub fn position(lines: &[Value], kind: &str) -> usize {
    lines
        .iter()
        .position(|l| l["type"] == kind)
        .unwrap_or_else(|| panic!("no {kind} line"))
}
