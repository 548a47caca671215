//! Partner sharing: one user's whole library shown to another, through the
//! API and the sync stream, and nothing to anybody else.

use crate::common::schema::check;
use crate::common::sync::{ack, app_stream, of_type};
use crate::common::{Server, send};
use serde_json::{Value, json};

fn asset_ids(lines: &[Value], kind: &str) -> Vec<String> {
    let mut ids: Vec<String> = of_type(lines, kind)
        .iter()
        .map(|l| {
            l["data"]
                .get("id")
                .or(l["data"].get("assetId"))
                .unwrap()
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    ids.sort();
    ids.dedup();
    ids
}

#[test]
fn a_partner_sees_the_library_through_the_api_and_the_sync_stream() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let anna = s.admin();
    let (ben, carl) = (s.user(&anna, "ben@example.com"), s.user(&anna, "carl@example.com"));
    let (anna_id, ben_id, carl_id) = (s.user_id(&anna), s.user_id(&ben), s.user_id(&carl));
    let mut annas = vec![s.photo(&anna, 1), s.photo(&anna, 2)];
    annas.sort();

    // Ben already receives Carl's library, so his phone has partner checkpoints.
    assert_eq!(
        send(s.post("/api/partners").bearer_auth(&carl).json(&json!({ "sharedWithId": ben_id }))).0,
        201
    );
    let carls = s.photo(&carl, 3);
    s.wait_idle(&anna);
    let before = app_stream(&s, &ben);
    assert_eq!(asset_ids(&before, "PartnerAssetV2"), std::slice::from_ref(&carls));
    assert!(of_type(&before, "PartnerAssetExifV1").len() == 1);
    ack(&s, &ben, &before);

    // Anna starts sharing: her older photos reach Ben's phone as backfill.
    let (status, partner) = send(s.post("/api/partners").bearer_auth(&anna).json(&json!({ "sharedWithId": ben_id })));
    check("post", "/partners", status, &partner);
    assert_eq!(partner["id"], ben_id.as_str());
    let (status, list) = send(s.get("/api/partners?direction=shared-with").bearer_auth(&ben));
    check("get", "/partners", status, &list);
    let mut sharers: Vec<&str> = list.as_array().unwrap().iter().map(|p| p["id"].as_str().unwrap()).collect();
    sharers.sort();
    let mut expected = vec![anna_id.as_str(), carl_id.as_str()];
    expected.sort();
    assert_eq!(sharers, expected);

    let joined = app_stream(&s, &ben);
    assert!(
        of_type(&joined, "PartnerV1")
            .iter()
            .any(|l| l["data"] == json!({ "sharedById": anna_id, "sharedWithId": ben_id, "inTimeline": false }))
    );
    assert_eq!(
        asset_ids(&joined, "PartnerAssetBackfillV2"),
        annas,
        "Anna's older photos are backfilled"
    );
    assert_eq!(asset_ids(&joined, "PartnerAssetExifBackfillV1"), annas);
    assert!(
        of_type(&joined, "SyncAckV1")
            .iter()
            .any(|l| l["ack"].as_str().unwrap().starts_with("PartnerAssetBackfillV2|"))
    );
    ack(&s, &ben, &joined);
    let again = app_stream(&s, &ben);
    assert!(
        of_type(&again, "PartnerAssetBackfillV2").is_empty(),
        "a completed backfill is not repeated: {again:?}"
    );
    ack(&s, &ben, &again);

    // Ben sees Anna's photos; Carl, who is nobody's partner of Anna, does not.
    assert_eq!(
        s.get(&format!("/api/assets/{}/original", annas[0]))
            .bearer_auth(&ben)
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_ne!(
        s.get(&format!("/api/assets/{}", annas[0]))
            .bearer_auth(&carl)
            .send()
            .unwrap()
            .status(),
        200
    );
    assert!(of_type(&app_stream(&s, &carl), "PartnerAssetV2").is_empty(), "sharing is one way");
    let (status, shown) = send(
        s.put(&format!("/api/partners/{anna_id}"))
            .bearer_auth(&ben)
            .json(&json!({ "inTimeline": true })),
    );
    check("put", "/partners/{id}", status, &shown);
    assert_eq!(shown["inTimeline"], true);
    let (status, buckets) = send(s.get(&format!("/api/timeline/buckets?userId={anna_id}")).bearer_auth(&ben));
    assert_eq!(
        (status, buckets[0]["count"].as_i64()),
        (200, Some(2)),
        "a partner's timeline: {buckets}"
    );
    let (status, _) = send(s.get(&format!("/api/timeline/buckets?userId={anna_id}")).bearer_auth(&carl));
    assert_ne!(status, 200, "only partners see another user's timeline");
    // Anna shows in Ben's own timeline now; Carl, not chosen, does not.
    let (_, merged) = send(s.get("/api/timeline/buckets?withPartners=true").bearer_auth(&ben));
    assert_eq!(merged[0]["count"], 2, "{merged}");
    let month = merged[0]["timeBucket"].as_str().unwrap();
    let (status, bucket) = send(
        s.get(&format!("/api/timeline/bucket?withPartners=true&timeBucket={month}"))
            .bearer_auth(&ben),
    );
    check("get", "/timeline/bucket", status, &bucket);
    let mut shown_ids: Vec<String> = bucket["id"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect();
    shown_ids.sort();
    assert_eq!(shown_ids, annas);
    assert_eq!(
        send(s.get("/api/timeline/buckets").bearer_auth(&ben)).1,
        json!([]),
        "without withPartners, only Ben's own"
    );

    // Anna's new photo and her deletion reach Ben; then she stops sharing.
    let newer = s.photo(&anna, 4);
    assert_eq!(
        send(
            s.delete("/api/assets")
                .bearer_auth(&anna)
                .json(&json!({ "ids": [annas[0]], "force": true }))
        )
        .0,
        204
    );
    let changes = app_stream(&s, &ben);
    assert!(asset_ids(&changes, "PartnerAssetV2").contains(&newer));
    assert_eq!(asset_ids(&changes, "PartnerAssetDeleteV1"), std::slice::from_ref(&annas[0]));
    ack(&s, &ben, &changes);
    assert_eq!(send(s.delete(&format!("/api/partners/{ben_id}")).bearer_auth(&anna)).0, 204);
    let ended = app_stream(&s, &ben);
    assert_eq!(
        of_type(&ended, "PartnerDeleteV1")[0]["data"],
        json!({ "sharedById": anna_id, "sharedWithId": ben_id })
    );
    assert_ne!(
        s.get(&format!("/api/assets/{newer}")).bearer_auth(&ben).send().unwrap().status(),
        200
    );
    assert_eq!(
        send(s.post("/api/partners").bearer_auth(&anna).json(&json!({ "sharedWithId": anna_id }))).0,
        400
    );
}
