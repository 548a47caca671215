//! The setup wizard's settings and the web UI's files, as a browser sees them.

use crate::common::{Server, send};
use serde_json::json;

#[test]
fn setup_is_open_until_an_admin_completes_it_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let (status, fresh) = send(server.get("/api/shoebox/setup"));
    assert_eq!(status, 200, "{fresh}");
    assert_eq!(
        (fresh["complete"].as_bool(), fresh["adminCreated"].as_bool()),
        (Some(false), Some(false))
    );
    assert_eq!(fresh["appliance"], false);
    assert_eq!(fresh["hostname"], "shoebox");
    assert_eq!(fresh["dataDir"], dir.path().display().to_string());

    let (status, _) = send(server.put("/api/shoebox/setup").json(&json!({"complete": true})));
    assert_eq!(status, 401, "nobody may finish setup before an admin exists");

    let admin = server.admin();
    let user = server.user(&admin, "kid@example.com");
    let (status, _) = send(
        server
            .put("/api/shoebox/setup")
            .bearer_auth(&user)
            .json(&json!({"hostname": "mine"})),
    );
    assert_eq!(status, 403, "only an admin changes the box's settings");

    for (change, field) in [
        (json!({"hostname": "Attic Box"}), "hostname"),
        (json!({"timeZone": "Mars/Olympus"}), "timeZone"),
        (json!({"backupTarget": "usb stick"}), "backupTarget"),
    ] {
        let (status, body) = send(server.put("/api/shoebox/setup").bearer_auth(&admin).json(&change));
        assert_eq!(status, 400, "{change} accepted");
        assert!(body["message"].as_str().unwrap().starts_with(field), "{body}");
    }

    let change = json!({"hostname": "attic", "timeZone": "Europe/Paris", "backupTarget": "rest:https://nas:8000/backup", "complete": true});
    let (status, body) = send(server.put("/api/shoebox/setup").bearer_auth(&admin).json(&change));
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        (body["hostname"].as_str(), body["timeZone"].as_str()),
        (Some("attic"), Some("Europe/Paris"))
    );

    drop(server);
    let server = Server::start(dir.path());
    let (_, after) = send(server.get("/api/shoebox/setup"));
    assert_eq!(after["complete"], true);
    assert_eq!(after["adminCreated"], true);
    assert_eq!(after["backupTarget"], "rest:https://nas:8000/backup");

    let (status, body) = send(
        server
            .put("/api/shoebox/setup")
            .bearer_auth(server.login("admin@example.com", crate::common::PASSWORD))
            .json(&json!({"backupTarget": null})),
    );
    assert_eq!(status, 200, "{body}");
    assert!(body["backupTarget"].is_null(), "null removes the backup target: {body}");
}

#[test]
fn the_web_ui_is_served_with_client_side_routes_and_api_misses_stay_json() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(dir.path());
    let index = server.get("/").send().unwrap();
    assert_eq!(index.status(), 200);
    assert!(index.headers()["content-type"].to_str().unwrap().starts_with("text/html"));
    let etag = index.headers()["etag"].clone();
    let page = index.text().unwrap();

    let route = server.get("/albums/some-album").send().unwrap();
    assert_eq!(route.status(), 200, "a client-side route gets the app");
    assert_eq!(route.text().unwrap(), page);

    let again = server.get("/").header("if-none-match", etag).send().unwrap();
    assert_eq!(again.status(), 304);

    let (status, body) = send(server.get("/api/no-such-route"));
    assert_eq!(status, 404);
    assert!(body["message"].as_str().unwrap().contains("/api/no-such-route"), "{body}");
}
