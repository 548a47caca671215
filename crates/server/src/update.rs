//! Updates of the appliance: signed RAUC bundles installed into the
//! inactive A/B root slot. This process never runs as root: it talks to
//! the RAUC service over the system bus (`de.pengutronix.rauc`, which the
//! bus policy lets the shoebox user call), stores an uploaded bundle in the
//! data folder for RAUC to read, and asks the storage service to restart
//! the box. The boot loader tries the new slot; `shoebox-update-health`
//! marks it good once this server answers healthy, or bad (and restarts
//! on the previous slot) when it does not. A slot that was installed last
//! but is not the one running, and is marked bad, is an update that was
//! rolled back: the status and an alert say so.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use axum::http::StatusCode;
use serde::Serialize;
use zbus::zvariant::OwnedValue;

use crate::error::{ApiError, ApiResult};

#[zbus::proxy(
    interface = "de.pengutronix.rauc.Installer",
    default_service = "de.pengutronix.rauc",
    default_path = "/",
    gen_blocking = false
)]
trait Installer {
    fn install_bundle(&self, source: &str, args: HashMap<&str, zbus::zvariant::Value<'_>>) -> zbus::Result<()>;
    fn info(&self, bundle: &str) -> zbus::Result<(String, String)>;
    fn get_slot_status(&self) -> zbus::Result<Vec<(String, HashMap<String, OwnedValue>)>>;
    #[zbus(property)]
    fn operation(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn last_error(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn progress(&self) -> zbus::Result<(i32, String, i32)>;
    #[zbus(property)]
    fn boot_slot(&self) -> zbus::Result<String>;
    #[zbus(property)]
    fn compatible(&self) -> zbus::Result<String>;
}

/// One root slot as RAUC reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Slot {
    /// RAUC's name (`rootfs.0`) and the boot loader's (`A`).
    pub name: String,
    pub bootname: String,
    /// `booted`, `inactive` or `active`.
    pub state: String,
    /// The boot loader's verdict: `good` or `bad`.
    pub boot_status: String,
    /// The bundle installed there; empty for a slot written by the image.
    pub version: String,
    pub installed_at: String,
}

/// What the update page shows.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    pub booted: String,
    /// The version running: the booted slot's bundle, or the image's
    /// (`/etc/os-release`) on the slot the box was flashed with.
    pub version: String,
    /// The boards the bundles this box takes are made for (RAUC's
    /// `compatible`), which picks its bundle from an update source.
    pub compatible: String,
    pub slots: Vec<Slot>,
    /// `idle` or `installing`.
    pub operation: String,
    pub progress: i32,
    pub message: String,
    pub last_error: String,
    /// The update that failed its first boot and was undone, if the last one did.
    pub rolled_back: Option<Slot>,
}

fn unavailable(e: zbus::Error) -> ApiError {
    tracing::debug!(error = %e, "RAUC unreachable");
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "The update service (RAUC) does not answer here: updates are installed this way on the Shoebox appliance only; elsewhere update the program as it was installed",
    )
}

async fn installer() -> ApiResult<InstallerProxy<'static>> {
    let connection = zbus::Connection::system().await.map_err(unavailable)?;
    InstallerProxy::new(&connection).await.map_err(unavailable)
}

fn text(dict: &HashMap<String, OwnedValue>, key: &str) -> String {
    dict.get(key).and_then(|v| String::try_from(v.clone()).ok()).unwrap_or_default()
}

fn slot(name: String, dict: &HashMap<String, OwnedValue>) -> Slot {
    Slot {
        name,
        bootname: text(dict, "bootname"),
        state: text(dict, "state"),
        boot_status: text(dict, "boot-status"),
        version: text(dict, "bundle.version"),
        installed_at: text(dict, "installed.timestamp"),
    }
}

/// The slot installed last, when it is not running and the boot loader
/// gave up on it: that update was rolled back.
pub fn rolled_back(slots: &[Slot]) -> Option<Slot> {
    let last = slots
        .iter()
        .filter(|s| !s.installed_at.is_empty())
        .max_by(|a, b| a.installed_at.cmp(&b.installed_at))?;
    (last.state != "booted" && last.boot_status == "bad").then(|| last.clone())
}

/// The image's version, as its `/etc/os-release` gives it; empty where
/// the system is not a Shoebox image.
pub fn image_version(os_release: &str) -> String {
    let field = |name: &str| {
        os_release.lines().find_map(|line| {
            let value = line.strip_prefix(name)?.strip_prefix('=')?;
            Some(value.trim().trim_matches(|c| c == '"' || c == '\'').to_owned())
        })
    };
    match field("ID") {
        Some(id) if id == "shoebox" => field("VERSION_ID").unwrap_or_default(),
        _ => String::new(),
    }
}

pub async fn status() -> ApiResult<Status> {
    let rauc = installer().await?;
    let slots: Vec<Slot> = rauc
        .get_slot_status()
        .await
        .map_err(unavailable)?
        .into_iter()
        .filter(|(name, _)| name.starts_with("rootfs."))
        .map(|(name, dict)| slot(name, &dict))
        .collect();
    let (progress, message, _) = rauc.progress().await.unwrap_or_default();
    let booted = rauc.boot_slot().await.map_err(unavailable)?;
    let version = match slots.iter().find(|s| s.bootname == booted).map(|s| s.version.clone()) {
        Some(version) if !version.is_empty() => version,
        _ => image_version(&tokio::fs::read_to_string("/etc/os-release").await.unwrap_or_default()),
    };
    Ok(Status {
        booted,
        version,
        compatible: rauc.compatible().await.map_err(unavailable)?,
        rolled_back: rolled_back(&slots),
        slots,
        operation: rauc.operation().await.map_err(unavailable)?,
        progress,
        message,
        last_error: rauc.last_error().await.map_err(unavailable)?,
    })
}

/// Where uploaded bundles wait for RAUC; RAUC wants the `.raucb` suffix.
pub fn bundle_dir(data: &Path) -> PathBuf {
    data.join("cache").join("updates")
}

/// Asks RAUC to install the bundle at `bundle` and returns its version.
/// RAUC's `Info` checks the signature against the box's keyring first, so
/// a bundle that is unsigned, wrongly signed or damaged is refused here,
/// before anything is written; the installation itself runs on in RAUC,
/// and the status follows it.
pub async fn install(bundle: &Path) -> ApiResult<String> {
    let rauc = installer().await?;
    if rauc.operation().await.map_err(unavailable)? != "idle" {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "An update is being installed: wait for it to finish",
        ));
    }
    let source = bundle.to_string_lossy();
    let refused = |e: zbus::Error| {
        let reason = match &e {
            zbus::Error::MethodError(_, Some(message), _) => message.clone(),
            other => other.to_string(),
        };
        tracing::warn!(reason, "an update bundle was refused");
        ApiError::bad_request(format!(
            "The update was refused and nothing was changed: RAUC could not verify the bundle ({reason}), so it is not signed with this box's key, or damaged, or not a Shoebox bundle. Use an update made for this box"
        ))
    };
    let (_, version) = rauc.info(&source).await.map_err(refused)?;
    rauc.install_bundle(&source, HashMap::new()).await.map_err(refused)?;
    tracing::info!(version, "installing an update");
    Ok(version)
}

/// RAUC reads a bundle while it installs; the bundle goes once RAUC is
/// idle again.
pub async fn remove_when_installed(bundle: PathBuf) {
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(2)).await;
        match status().await {
            Ok(s) if s.operation == "installing" => continue,
            _ => break,
        }
    }
    if let Err(e) = tokio::fs::remove_file(&bundle).await {
        tracing::warn!(error = %e, bundle = %bundle.display(), "could not remove an installed update bundle");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slot(bootname: &str, state: &str, boot_status: &str, installed_at: &str) -> Slot {
        Slot {
            name: format!("rootfs.{bootname}"),
            bootname: bootname.into(),
            state: state.into(),
            boot_status: boot_status.into(),
            version: "2".into(),
            installed_at: installed_at.into(),
        }
    }

    #[test]
    fn an_update_is_rolled_back_when_its_slot_was_installed_last_and_failed() {
        let image_then_update = [
            slot("A", "booted", "good", ""),
            slot("B", "inactive", "bad", "2026-12-03T10:00:00Z"),
        ];
        assert_eq!(rolled_back(&image_then_update).unwrap().bootname, "B");
        let running_update = [
            slot("A", "inactive", "good", ""),
            slot("B", "booted", "good", "2026-12-03T10:00:00Z"),
        ];
        assert_eq!(rolled_back(&running_update), None);
        let older_failure = [
            slot("A", "booted", "good", "2026-12-03T11:00:00Z"),
            slot("B", "inactive", "bad", "2026-12-03T10:00:00Z"),
        ];
        assert_eq!(rolled_back(&older_failure), None, "a newer update runs since");
        assert_eq!(rolled_back(&[slot("A", "booted", "good", "")]), None);
    }

    #[test]
    fn the_image_version_is_read_from_a_shoebox_os_release_only() {
        let yocto = "ID=shoebox\nNAME=\"Shoebox\"\nVERSION_ID=0.1.0\nPRETTY_NAME=\"Shoebox 0.1.0\"\n";
        assert_eq!(image_version(yocto), "0.1.0");
        assert_eq!(image_version("ID=\"shoebox\"\nVERSION_ID='2'"), "2");
        assert_eq!(image_version("PRETTY_NAME=\"Debian 12\"\nID=debian\nVERSION_ID=\"12\"\n"), "");
        assert_eq!(image_version("ID_LIKE=shoebox\nVERSION_ID=3\n"), "", "ID_LIKE is not ID");
        assert_eq!(image_version(""), "");
    }
}
