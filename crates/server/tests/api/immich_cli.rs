//! The real Immich CLI (from npm) against the real server: login, a
//! recursive upload into albums, and the same upload again, which must find
//! every file a duplicate. The checks live in tests/immich-cli/cli_test.sh.

use std::path::Path;
use std::process::Command;

use crate::common::{Server, send};
use serde_json::json;

#[test]
fn the_immich_cli_logs_in_uploads_into_albums_and_then_finds_only_duplicates() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let cli = root.join("target/tools/bin/immich");
    assert!(
        cli.exists(),
        "{} is missing: run ci/install-test-deps.sh (the README's test command does)",
        cli.display()
    );
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(dir.path());
    let token = s.admin();
    let (status, key) = send(
        s.post("/api/api-keys")
            .bearer_auth(&token)
            .json(&json!({"name": "immich-cli", "permissions": ["all"]})),
    );
    assert_eq!(status, 201);
    let status = Command::new("bash")
        .arg(root.join("tests/immich-cli/cli_test.sh"))
        .env("SHOEBOX_URL", &s.url)
        .env("SHOEBOX_API_KEY", key["secret"].as_str().unwrap())
        .status()
        .unwrap();
    assert!(status.success(), "the Immich CLI test failed; its output is above");
}
