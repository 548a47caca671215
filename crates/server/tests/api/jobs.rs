//! The admin's queue controls: a paused queue keeps its jobs waiting, across
//! a restart, until it is resumed.

use crate::common::schema::check;
use crate::common::{Server, jpeg, send};
use serde_json::{Value, json};

fn queue(s: &Server, token: &str, name: &str) -> Value {
    let (status, queues) = send(s.get("/api/queues").bearer_auth(token));
    check("get", "/queues", status, &queues);
    queues.as_array().unwrap().iter().find(|q| q["name"] == name).unwrap().clone()
}

fn command(s: &Server, token: &str, name: &str, command: &str) -> (u16, Value) {
    send(
        s.put(&format!("/api/jobs/{name}"))
            .bearer_auth(token)
            .json(&json!({ "command": command })),
    )
}

#[test]
fn a_paused_queue_waits_across_a_restart_until_it_is_resumed() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let admin = s.admin();
    let user = s.user(&admin, "user@example.com");
    assert_eq!(command(&s, &user, "thumbnailGeneration", "pause").0, 403, "only the admin");

    let (status, body) = command(&s, &admin, "thumbnailGeneration", "pause");
    check("put", "/jobs/{name}", status, &body);
    assert_eq!(body["queueStatus"]["isPaused"], true);
    let id = s.created(&admin, "photo.jpg", jpeg(640, 480, 1));
    // Metadata still runs: its outcome queues the thumbnail job, which waits.
    crate::common::eventually("the thumbnail job is queued", || {
        queue(&s, &admin, "thumbnailGeneration")["statistics"]["waiting"] == 1
    });
    assert_eq!(queue(&s, &admin, "thumbnailGeneration")["isPaused"], true);
    assert_eq!(queue(&s, &admin, "metadataExtraction")["isPaused"], false);
    assert_eq!(s.asset(&admin, &id)["hasMetadata"], true);
    assert_eq!(s.asset(&admin, &id)["resized"], false);

    assert!(s.stop().success());
    let s = Server::start(dir.path());
    let paused = queue(&s, &admin, "thumbnailGeneration");
    assert_eq!(
        (paused["isPaused"].as_bool(), paused["statistics"]["waiting"].as_i64()),
        (Some(true), Some(1)),
        "{paused}"
    );
    assert_eq!(s.asset(&admin, &id)["resized"], false);

    let (status, body) = command(&s, &admin, "thumbnailGeneration", "resume");
    check("put", "/jobs/{name}", status, &body);
    assert_eq!(body["queueStatus"]["isPaused"], false);
    assert_eq!(s.settled(&admin, &id)["resized"], true);
    assert_eq!(command(&s, &admin, "thumbnailGeneration", "explode").0, 400);
}
