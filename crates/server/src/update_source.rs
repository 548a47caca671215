//! Updates from a source the admin sets: a web address where releases are
//! published as a manifest, one JSON document for every board:
//!
//! ```json
//! { "version": "0.2.0",
//!   "bundles": { "shoebox-rock5b": { "url": "shoebox-rock5b-0.2.0.raucb",
//!                                    "sha256": "…", "size": 123456789 } } }
//! ```
//!
//! A bundle's `url` may be relative to the manifest's. The box looks once
//! a day (and when asked), picks the bundle made for its board (RAUC's
//! `compatible`), and offers it when its version is not the one running
//! nor one waiting in the other slot; an offer is an alert. Installing it
//! downloads the bundle into the updates folder, checks its size and
//! SHA-256 against the manifest, and hands it to RAUC like an uploaded
//! one, so RAUC's signature check still decides.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use axum::http::StatusCode;
use reqwest13::Url;
use serde::{Deserialize, Serialize};
use shoebox_catalog::{Millis, now_millis};

use crate::download::{self, Arrived};
use crate::error::{ApiError, ApiResult};
use crate::ingest::storage_error;
use crate::state::AppState;
use crate::update;

const SOURCE_SETTING: &str = "update.source";
const CHECK_SETTING: &str = "update.check";
/// How often the source is read, and how often the box asks itself whether that is due.
const CHECK_EVERY: Duration = Duration::from_secs(24 * 3600);
const LOOK_EVERY: Duration = Duration::from_secs(3600);
/// A manifest is a few lines; anything much larger is not one.
const MANIFEST_LIMIT: usize = 1 << 20;
const TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Source {
    pub url: String,
}

#[derive(Debug, Deserialize)]
struct Manifest {
    version: String,
    #[serde(default)]
    bundles: HashMap<String, BundleEntry>,
}

#[derive(Debug, Deserialize)]
struct BundleEntry {
    url: String,
    sha256: String,
    #[serde(default)]
    size: u64,
}

/// The release a source offers this box.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Release {
    pub version: String,
    pub url: String,
    pub sha256: String,
    pub size: u64,
}

/// The last look at the source.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Check {
    pub checked_at: Millis,
    pub url: String,
    pub offered: Option<Release>,
    /// Why the source could not be read, or offers nothing for this box.
    pub error: String,
}

/// Downloading the offered bundle, then handing it to RAUC.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Download {
    /// empty (none yet), downloading, installing (RAUC has it) or failed.
    pub state: &'static str,
    pub version: String,
    pub received: u64,
    pub total: u64,
    pub error: String,
}

/// Whether `offered` is news for a box in `status`: not what runs, and
/// not installed in the other slot waiting for a restart. A release that
/// was rolled back is offered again: its slot is marked bad.
pub fn available(offered: &Release, status: &update::Status) -> bool {
    offered.version != status.version
        && !status
            .slots
            .iter()
            .any(|s| s.bootname != status.booted && s.version == offered.version && s.boot_status == "good")
}

/// An update source's address: http or https.
pub fn parse_source(url: &str) -> ApiResult<Url> {
    let parsed = Url::parse(url.trim())
        .ok()
        .filter(|u| matches!(u.scheme(), "http" | "https") && u.host().is_some());
    parsed.ok_or_else(|| {
        ApiError::bad_request(format!(
            "{url:?} is not an update source: give the web address (http:// or https://) of the release manifest your updates are published with"
        ))
    })
}

/// The release `manifest` (read from `base`) offers the board `compatible`.
fn offer(base: &Url, manifest: &[u8], compatible: &str) -> Result<Release, String> {
    let manifest: Manifest =
        serde_json::from_slice(manifest).map_err(|e| format!("the source does not answer with a release manifest ({e})"))?;
    let entry = manifest.bundles.get(compatible).ok_or_else(|| {
        format!(
            "the source publishes version {} for other boards only, none for {compatible:?}",
            manifest.version
        )
    })?;
    let url = base
        .join(&entry.url)
        .map_err(|e| format!("the manifest's bundle address {:?} is not one ({e})", entry.url))?;
    let sha256 = entry.sha256.to_ascii_lowercase();
    if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("the manifest's sha256 for {compatible:?} is not a SHA-256 in hex"));
    }
    if manifest.version.trim().is_empty() {
        return Err("the manifest names no version".into());
    }
    Ok(Release {
        version: manifest.version,
        url: url.to_string(),
        sha256,
        size: entry.size,
    })
}

fn client() -> ApiResult<reqwest13::Client> {
    reqwest13::Client::builder().timeout(TIMEOUT).build().map_err(ApiError::internal)
}

async fn read_manifest(url: &Url) -> Result<Vec<u8>, String> {
    let unreachable = |e: reqwest13::Error| format!("{url} cannot be read ({e}): check the address and that the box reaches it");
    let mut response = client()
        .map_err(|e| e.message)?
        .get(url.clone())
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(unreachable)?;
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(unreachable)? {
        body.extend_from_slice(&chunk);
        if body.len() > MANIFEST_LIMIT {
            return Err(format!("{url} answers with more than a manifest ({MANIFEST_LIMIT} bytes or more)"));
        }
    }
    Ok(body)
}

pub async fn source(state: &AppState) -> ApiResult<Option<Source>> {
    state.json_setting(SOURCE_SETTING).await
}

/// Sets the source (`None` to have none) and forgets the last look at the old one.
pub async fn set_source(state: &AppState, url: Option<&str>) -> ApiResult<()> {
    let source = url.map(parse_source).transpose()?.map(|u| Source { url: u.to_string() });
    state.set_json_setting(SOURCE_SETTING, &source).await?;
    state.set_json_setting(CHECK_SETTING, &None::<Check>).await
}

pub async fn last_check(state: &AppState) -> ApiResult<Option<Check>> {
    state.json_setting(CHECK_SETTING).await
}

/// Reads the source now and records what it offers.
pub async fn check(state: &AppState) -> ApiResult<Check> {
    let Some(source) = source(state).await? else {
        return Err(ApiError::bad_request(
            "No update source is set: set the address your updates are published at first",
        ));
    };
    let status = update::status().await?;
    let url = parse_source(&source.url)?;
    let offered = match read_manifest(&url).await {
        Ok(manifest) => offer(&url, &manifest, &status.compatible),
        Err(e) => Err(e),
    };
    let check = Check {
        checked_at: now_millis(),
        url: source.url,
        error: offered.as_ref().err().cloned().unwrap_or_default(),
        offered: offered.ok(),
    };
    if !check.error.is_empty() {
        tracing::warn!(error = check.error, "the update source could not be read");
    }
    state.set_json_setting(CHECK_SETTING, &Some(check.clone())).await?;
    Ok(check)
}

/// Looks at the source once a day while one is set, until shutdown.
pub async fn schedule(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut every = tokio::time::interval(LOOK_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => {
                if due(&state).await
                    && let Err(e) = check(&state).await
                {
                    tracing::debug!(error = e.message, "no update source read");
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

async fn due(state: &AppState) -> bool {
    let set = matches!(source(state).await, Ok(Some(_)));
    let last = last_check(state).await.ok().flatten().map(|c| c.checked_at).unwrap_or(0);
    set && now_millis() - last >= CHECK_EVERY.as_millis() as Millis
}

/// Starts downloading and installing the release the last look found;
/// its version. 409 while a download or an installation runs.
pub async fn install(state: &AppState) -> ApiResult<String> {
    let status = update::status().await?;
    let offered = last_check(state).await?.and_then(|c| c.offered);
    let Some(release) = offered.filter(|r| available(r, &status)) else {
        return Err(ApiError::bad_request(
            "The update source offers nothing newer than this box has: check it again first",
        ));
    };
    {
        let mut download = state.update_download.lock().expect("download lock");
        if matches!(download.state, "downloading") || status.operation != "idle" {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "An update is being downloaded or installed: wait for it to finish",
            ));
        }
        *download = Download {
            state: "downloading",
            version: release.version.clone(),
            total: release.size,
            ..Download::default()
        };
    }
    let version = release.version.clone();
    let state = state.clone();
    tokio::spawn(async move {
        let outcome = fetch_and_install(&state, &release).await;
        let mut download = state.update_download.lock().expect("download lock");
        match outcome {
            Ok(()) => download.state = "installing",
            Err(e) => {
                tracing::warn!(error = e.message, version = release.version, "the update could not be installed");
                download.state = "failed";
                download.error = e.message;
            }
        }
    });
    Ok(version)
}

async fn fetch_and_install(state: &AppState, release: &Release) -> ApiResult<()> {
    let dir = update::bundle_dir(state.layout.root());
    tokio::fs::create_dir_all(&dir)
        .await
        .map_err(|e| storage_error(e, "making the updates folder"))?;
    let bundle = dir.join(format!("{}.raucb", uuid::Uuid::new_v4()));
    let installed = match fetch(state, release, &bundle).await {
        Ok(()) => update::install(&bundle).await,
        Err(e) => Err(e),
    };
    if let Err(e) = installed {
        let _ = tokio::fs::remove_file(&bundle).await;
        return Err(e);
    }
    tokio::spawn(update::remove_when_installed(bundle));
    Ok(())
}

/// Downloads the release's bundle to `path`, checking it against the manifest.
async fn fetch(state: &AppState, release: &Release, path: &Path) -> ApiResult<()> {
    let broke_off = |e: reqwest13::Error| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!("Downloading the update from {} failed ({e}): try again", release.url),
        )
    };
    let response = client()?
        .get(&release.url)
        .timeout(Duration::from_secs(6 * 3600))
        .send()
        .await
        .and_then(|r| r.error_for_status())
        .map_err(broke_off)?;
    if let (0, Some(length)) = (release.size, response.content_length()) {
        state.update_download.lock().expect("download lock").total = length;
    }
    let Arrived { sha256, bytes: received } = download::to_file(response, path, "storing the update", broke_off, |n| {
        state.update_download.lock().expect("download lock").received += n;
    })
    .await?;
    if (release.size != 0 && received != release.size) || sha256 != release.sha256 {
        return Err(ApiError::new(
            StatusCode::BAD_GATEWAY,
            format!(
                "The downloaded update is not the one the manifest describes ({received} bytes with SHA-256 {sha256}, expected {} bytes with {}): nothing was installed; check the update source",
                release.size, release.sha256
            ),
        ));
    }
    Ok(())
}

pub fn download(state: &AppState) -> Download {
    state.update_download.lock().expect("download lock").clone()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";

    fn manifest(bundles: &str) -> Vec<u8> {
        format!(r#"{{"version": "0.2.0", "bundles": {{{bundles}}}}}"#).into_bytes()
    }

    #[test]
    fn the_bundle_for_this_board_is_offered_with_its_address_resolved() {
        let base = Url::parse("https://updates.example/shoebox/latest.json").unwrap();
        let m = manifest(&format!(
            r#""shoebox-rock5b": {{"url": "rock5b-0.2.0.raucb", "sha256": "{}", "size": 9}},
               "shoebox-rpi5": {{"url": "https://cdn.example/rpi5.raucb", "sha256": "{SHA}"}}"#,
            SHA.to_uppercase()
        ));
        let rock = offer(&base, &m, "shoebox-rock5b").unwrap();
        assert_eq!(
            rock,
            Release {
                version: "0.2.0".into(),
                url: "https://updates.example/shoebox/rock5b-0.2.0.raucb".into(),
                sha256: SHA.into(),
                size: 9
            }
        );
        assert_eq!(offer(&base, &m, "shoebox-rpi5").unwrap().url, "https://cdn.example/rpi5.raucb");
        let other = offer(&base, &m, "shoebox-rpi4").unwrap_err();
        assert!(other.contains("other boards only") && other.contains("shoebox-rpi4"), "{other}");
    }

    #[test]
    fn a_manifest_that_is_not_one_is_an_error_that_says_so() {
        let base = Url::parse("http://198.18.77.20/latest.json").unwrap();
        assert!(offer(&base, b"<html>404</html>", "b").unwrap_err().contains("release manifest"));
        let short_hash = manifest(r#""b": {"url": "b.raucb", "sha256": "abc"}"#);
        assert!(offer(&base, &short_hash, "b").unwrap_err().contains("SHA-256"));
        let no_version = format!(r#"{{"version": " ", "bundles": {{"b": {{"url": "b.raucb", "sha256": "{SHA}"}}}}}}"#);
        assert!(offer(&base, no_version.as_bytes(), "b").unwrap_err().contains("no version"));
    }

    #[test]
    fn a_source_is_a_web_address() {
        assert!(parse_source(" https://updates.example/latest.json ").is_ok());
        for not_one in ["ftp://updates.example/x", "/srv/updates", "file:///etc/passwd", "http://", ""] {
            assert!(parse_source(not_one).is_err(), "{not_one}");
        }
    }

    fn slot(bootname: &str, state: &str, boot_status: &str, version: &str) -> update::Slot {
        update::Slot {
            bootname: bootname.into(),
            state: state.into(),
            boot_status: boot_status.into(),
            version: version.into(),
            ..update::Slot::default()
        }
    }

    #[test]
    fn a_release_is_news_unless_it_runs_or_waits_for_a_restart() {
        let release = Release {
            version: "2".into(),
            ..Release::default()
        };
        let status = |version: &str, slots| update::Status {
            booted: "A".into(),
            version: version.into(),
            slots,
            ..update::Status::default()
        };
        let fresh = status("1", vec![slot("A", "booted", "good", ""), slot("B", "inactive", "good", "")]);
        assert!(available(&release, &fresh));
        assert!(!available(&release, &status("2", vec![slot("A", "booted", "good", "2")])));
        let waiting = status("1", vec![slot("A", "booted", "good", ""), slot("B", "inactive", "good", "2")]);
        assert!(!available(&release, &waiting), "installed, waiting for the restart");
        let rolled_back = status("1", vec![slot("A", "booted", "good", ""), slot("B", "inactive", "bad", "2")]);
        assert!(available(&release, &rolled_back), "offered again after a rollback");
    }
}
