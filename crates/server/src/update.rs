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
    Ok(Status {
        booted: rauc.boot_slot().await.map_err(unavailable)?,
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
}
