//! The health check the A/B update fallback relies on, asked over HTTP
//! and through `shoeboxd --health-check` as shoebox-update-health asks
//! it; and the update routes where no RAUC runs. Installing bundles, the
//! boot into the new slot and the rollback are tested in the appliance's
//! VM (ci/image-test.sh), where RAUC and the A/B boot loader are real.

use std::process::Command;

use crate::common::{Server, send};

fn health_check(port: &str, config: Option<&std::path::Path>, seconds: &str) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_shoeboxd"));
    command.args([
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--port",
        port,
        "--health-check",
        seconds,
    ]);
    if let Some(config) = config {
        command.args(["--config", config.to_str().unwrap()]);
    }
    let out = command.output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_running_server_is_healthy_and_an_appliance_without_its_storage_service_is_not() {
    let s = Server::start(tempfile::tempdir().unwrap().path());
    let (status, body) = send(s.get("/api/shoebox/health"));
    assert_eq!((status, &body["catalog"]), (200, &serde_json::json!("ok")), "{body}");
    let port = s.url.rsplit(':').next().unwrap().to_owned();
    let (healthy, said) = health_check(&port, None, "5");
    assert!(healthy, "{said}");
    assert!(said.contains("\"healthy\":true"), "{said}");

    let (status, body) = send(s.get("/api/shoebox/update").bearer_auth(s.admin()));
    assert_eq!(status, 503, "no RAUC here: {body}");
    assert!(body["message"].as_str().unwrap().contains("appliance"), "{body}");
    s.stop();

    // Nothing listens any more: unhealthy once the wait is over.
    let (healthy, said) = health_check(&port, None, "0");
    assert!(!healthy, "{said}");

    // An appliance whose storage service is not on its bus is not healthy.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("appliance.toml");
    std::fs::write(
        &config,
        format!(
            "appliance = true\nstorage_bus = \"unix:path={}\"\n",
            dir.path().join("no-bus").display()
        ),
    )
    .unwrap();
    let s = Server::start_with(&dir.path().join("data"), &["--config", config.to_str().unwrap()]);
    let (status, body) = send(s.get("/api/shoebox/health"));
    assert_eq!((status, &body["healthy"]), (503, &serde_json::json!(false)), "{body}");
    assert!(body["storage"].as_str().unwrap().contains("shoebox-storaged"), "{body}");
    let port = s.url.rsplit(':').next().unwrap().to_owned();
    let (healthy, said) = health_check(&port, Some(&config), "0");
    assert!(!healthy, "{said}");
}
