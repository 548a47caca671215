//! Alerts about the box, in one place: the library's disk nearly full, the
//! off-site backup or its restore drill failed, an update rolled back, the pool degraded or reporting errors, a disk's
//! SMART health failing. Checked every few minutes and on demand; kept in
//! the catalog, which gives every admin a notification when one is raised;
//! sent on by email and webhook (`notify`) once per raising.
//!
//! Each check owns a scope of alert keys and clears the alerts of its scope
//! it no longer finds. A check that cannot look (no storage service on a
//! plain Linux install) leaves its alerts as they are.

use std::path::Path;
use std::time::Duration;

use shoebox_catalog::{Alert, Catalog};
use shoebox_storaged::client::Storage1Proxy;

use crate::drill::{self, Drill};
use crate::error::ApiResult;
use crate::kit::{self, Kit};
use crate::state::AppState;
use crate::{disk, notify, storage_service, update, update_source};

pub const CHECK_EVERY: Duration = Duration::from_secs(300);

/// Below this share of the disk free, a warning; below `FULL_ERROR`, an error.
const FULL_WARNING: f64 = 0.10;
const FULL_ERROR: f64 = 0.03;

/// A condition found to hold.
#[derive(Debug, Clone, PartialEq)]
struct Finding {
    key: String,
    level: &'static str,
    /// Immich's notification type.
    kind: &'static str,
    title: String,
    message: String,
}

impl Finding {
    fn new(key: impl Into<String>, level: &'static str, kind: &'static str, title: &str, message: String) -> Finding {
        Finding {
            key: key.into(),
            level,
            kind,
            title: title.to_string(),
            message,
        }
    }
}

/// What one check found: every alert whose key is `prefix`, or starts
/// with `prefix:`, is this check's to raise and clear.
struct Scope {
    prefix: &'static str,
    findings: Vec<Finding>,
}

impl Scope {
    fn owns(&self, key: &str) -> bool {
        key == self.prefix || key.strip_prefix(self.prefix).is_some_and(|rest| rest.starts_with(':'))
    }
}

/// Reads every condition, records what changed and sends the alerts newly
/// raised; answers with the alerts open now. One check at a time: a check
/// asked for while the periodic one runs waits for it, so when it answers,
/// whatever either raised has been delivered.
pub async fn check(state: &AppState) -> ApiResult<Vec<Alert>> {
    let _one = state.alerts_check.lock().await;
    let mut scopes = vec![disk_space(state.layout.root())];
    match storage_service::storage(state).await {
        Ok(storage) => scopes.extend(storage_checks(state, &storage).await?),
        Err(e) => tracing::debug!(error = e.message, "no storage service: its alerts are not checked"),
    }
    match update::status().await {
        Ok(status) => {
            let offered = update_source::last_check(state).await?.and_then(|c| c.offered);
            let news = offered.filter(|r| update_source::available(r, &status));
            scopes.push(Scope {
                prefix: "update",
                findings: status
                    .rolled_back
                    .iter()
                    .map(rolled_back_finding)
                    .chain(news.map(|r| available_finding(&r, &status.version)))
                    .collect(),
            })
        }
        Err(e) => tracing::debug!(error = e.message, "no update service: its alerts are not checked"),
    }
    let (raised, open) = state.db(move |c| record(c, &scopes)).await?;
    for alert in raised {
        tracing::warn!(alert = alert.key, message = alert.message, "alert raised");
        notify::send(state, &alert).await;
    }
    Ok(open)
}

/// Raises what the scopes found and clears what they own but no longer
/// find; the alerts newly raised, and those open afterwards.
fn record(c: &Catalog, scopes: &[Scope]) -> shoebox_catalog::Result<(Vec<Alert>, Vec<Alert>)> {
    let mut raised = Vec::new();
    for f in scopes.iter().flat_map(|s| &s.findings) {
        raised.extend(c.raise_alert(&f.key, f.level, f.kind, &f.title, &f.message)?);
    }
    for open in c.open_alerts()? {
        let gone = scopes
            .iter()
            .any(|s| s.owns(&open.key) && !s.findings.iter().any(|f| f.key == open.key));
        if gone {
            c.clear_alert(&open.key)?;
            tracing::info!(alert = open.key, "alert cleared");
        }
    }
    Ok((raised, c.open_alerts()?))
}

/// Runs the checks every `CHECK_EVERY` until shutdown.
pub async fn watch(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut every = tokio::time::interval(CHECK_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => {
                if let Err(e) = check(&state).await {
                    tracing::warn!(error = e.message, "could not check for alerts");
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

fn disk_space(root: &Path) -> Scope {
    let findings = match disk::space(root) {
        Ok((total, free)) => space_finding(total, free).into_iter().collect(),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the data folder's free space");
            Vec::new()
        }
    };
    Scope {
        prefix: "storage-full",
        findings,
    }
}

fn space_finding(total: u64, free: u64) -> Option<Finding> {
    let share = if total == 0 { 1.0 } else { free as f64 / total as f64 };
    let level = if share < FULL_ERROR {
        "error"
    } else if share < FULL_WARNING {
        "warning"
    } else {
        return None;
    };
    Some(Finding::new(
        "storage-full",
        level,
        "SystemMessage",
        "Storage nearly full",
        format!(
            "The library's disk has {} free of {} ({:.0}% used). Empty the trash, remove what you no longer need, or add a disk on the storage page; uploads stop when it is full.",
            size(free),
            size(total),
            (1.0 - share) * 100.0
        ),
    ))
}

/// Bytes for people: "1.5 GB".
fn size(bytes: u64) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit < units.len() - 1 {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// The checks that ask the storage service; one that fails to answer is
/// left out, so its alerts stay as they were.
async fn storage_checks(state: &AppState, storage: &Storage1Proxy<'static>) -> ApiResult<Vec<Scope>> {
    let mut scopes = Vec::new();
    match storage.backup_status().await {
        Ok(status) => {
            let kit = kit::current(state).await?;
            let drill = drill::last(state).await?;
            let findings = backup_finding(&status)
                .into_iter()
                .chain(kit_finding(&status, kit.as_ref()))
                .chain(drill.as_ref().and_then(|d| drill_finding(&status, d)));
            scopes.push(Scope {
                prefix: "backup",
                findings: findings.collect(),
            });
        }
        Err(e) => tracing::warn!(error = %e, "could not read the backup status"),
    }
    match storage.pool_status().await {
        Ok(status) => scopes.push(Scope {
            prefix: "pool",
            findings: pool_findings(&status),
        }),
        Err(e) => tracing::warn!(error = %e, "could not read the pool status"),
    }
    match storage.list_disks().await {
        Ok(disks) => scopes.push(Scope {
            prefix: "disk-smart",
            findings: disks.iter().filter_map(smart_finding).collect(),
        }),
        Err(e) => tracing::warn!(error = %e, "could not list the disks"),
    }
    Ok(scopes)
}

/// Off-site backup without a kit the owner confirmed keeping: on the day
/// the box is lost, nobody could open the backup.
fn kit_finding(status: &shoebox_storaged::backup::Status, kit: Option<&Kit>) -> Option<Finding> {
    let kept = kit.is_some_and(|k| k.repository == status.repository && k.confirmed_at.is_some());
    (status.configured && !kept).then(|| {
        Finding::new(
            "backup:kit",
            "warning",
            "SystemMessage",
            "Emergency kit not confirmed",
            "No one has confirmed keeping the emergency kit with the off-site backup's key. Without that key nobody can restore the backup if the box is lost: print or save the kit on the storage page and confirm it, or make a new key there.".into(),
        )
    })
}

fn rolled_back_finding(slot: &update::Slot) -> Finding {
    let version = if slot.version.is_empty() {
        "the update".to_owned()
    } else {
        format!("Version {}", slot.version)
    };
    // One alert per update undone: the next one rolled back is news again.
    Finding::new(
        format!("update:rolled-back:{}", slot.installed_at),
        "error",
        "SystemMessage",
        "An update was rolled back",
        format!(
            "{version}, installed {}, did not start healthy, so the box went back to the version it ran before; nothing in the library was lost. Try the update again later, or look for a newer one.",
            slot.installed_at
        ),
    )
}

fn available_finding(release: &update_source::Release, running: &str) -> Finding {
    let running = if running.is_empty() {
        "the version it came with".to_owned()
    } else {
        format!("version {running}")
    };
    // One alert per version: a newer one is news again.
    Finding::new(
        format!("update:available:{}", release.version),
        "info",
        "SystemMessage",
        "An update is available",
        format!(
            "Version {} is published at the update source; this box runs {running}. Install it on the Updates page: the box restarts once, and goes back by itself if the new version does not start healthy.",
            release.version
        ),
    )
}

fn drill_finding(status: &shoebox_storaged::backup::Status, last: &Drill) -> Option<Finding> {
    let message = drill::alert_message(last).filter(|_| status.configured)?;
    Some(Finding::new(
        "backup:drill",
        "error",
        "BackupFailed",
        "Restore drill failed",
        message,
    ))
}

fn backup_finding(status: &shoebox_storaged::backup::Status) -> Option<Finding> {
    let last = &status.last;
    if !status.configured || last.finished == 0 || last.ok {
        return None;
    }
    let when = chrono::DateTime::from_timestamp(last.finished, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M UTC");
    Some(Finding::new(
        "backup",
        "error",
        "BackupFailed",
        "Off-site backup failed",
        format!(
            "The backup to {} at {when} failed: {}. Check that the backup target is reachable and its key is right on the storage page; the next backup tries again.",
            status.repository, last.message
        ),
    ))
}

fn pool_findings(status: &shoebox_storaged::pool::Status) -> Vec<Finding> {
    if !status.present {
        return Vec::new();
    }
    let mut findings = Vec::new();
    let missing = status.devices.iter().filter(|d| d.missing).count();
    if status.degraded || missing > 0 {
        findings.push(Finding::new(
            "pool:degraded",
            "error",
            "SystemMessage",
            "A disk of the pool is missing",
            format!(
                "The pool runs degraded: {} of {} disks answer. Your photos are still read from the others, without a second copy: replace the missing disk on the storage page soon.",
                status.devices.len() - missing,
                status.devices.len()
            ),
        ));
    }
    let failing: Vec<&str> = status
        .devices
        .iter()
        .filter(|d| d.errors > 0 && !d.missing)
        .map(|d| d.path.as_str())
        .collect();
    if !failing.is_empty() {
        findings.push(Finding::new(
            "pool:errors",
            "warning",
            "SystemMessage",
            "A disk reports read or write errors",
            format!(
                "{} counted read, write or checksum errors. Run a scrub on the storage page to repair what it can, and plan to replace the disk if the count grows.",
                failing.join(", ")
            ),
        ));
    }
    findings
}

fn smart_finding(disk: &shoebox_storaged::disks::Disk) -> Option<Finding> {
    (disk.smart == "failing").then(|| {
        let name = if disk.model.is_empty() { disk.path.clone() } else { format!("{} ({})", disk.model, disk.path) };
        Finding::new(
            format!("disk-smart:{}", if disk.serial.is_empty() { &disk.path } else { &disk.serial }),
            "error",
            "SystemMessage",
            "A disk's health check is failing",
            format!("{name} reports through SMART that it is failing. Make sure the off-site backup is current, then replace the disk on the storage page."),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_space_below_a_tenth_warns_and_below_three_percent_is_an_error() {
        assert_eq!(space_finding(1000, 200), None);
        let warning = space_finding(1_000_000_000_000, 80_000_000_000).unwrap();
        assert_eq!(warning.level, "warning");
        assert!(warning.message.contains("80.0 GB free of 1.0 TB (92% used)"), "{}", warning.message);
        assert_eq!(space_finding(1000, 20).unwrap().level, "error");
    }

    #[test]
    fn a_scope_owns_its_key_and_the_keys_under_it_only() {
        let scope = Scope {
            prefix: "pool",
            findings: Vec::new(),
        };
        assert!(scope.owns("pool") && scope.owns("pool:degraded"));
        assert!(!scope.owns("pools") && !scope.owns("backup"));
    }

    #[test]
    fn off_site_backup_without_a_kept_kit_is_an_alert() {
        let status = shoebox_storaged::backup::Status {
            configured: true,
            repository: "/mnt/usb".into(),
            ..Default::default()
        };
        let mut kit = Kit {
            repository: "/mnt/usb".into(),
            key_id: "a".into(),
            created_at: 0,
            confirmed_at: None,
        };
        assert!(kit_finding(&status, None).is_some(), "no kit at all");
        assert!(kit_finding(&status, Some(&kit)).is_some(), "not confirmed");
        kit.confirmed_at = Some(1);
        assert_eq!(kit_finding(&status, Some(&kit)), None);
        kit.repository = "/mnt/other".into();
        assert!(kit_finding(&status, Some(&kit)).is_some(), "a kit for another repository");
        let unconfigured = shoebox_storaged::backup::Status::default();
        assert_eq!(kit_finding(&unconfigured, None), None);
    }

    #[test]
    fn a_failing_disk_is_named_by_its_serial() {
        let mut disk = shoebox_storaged::disks::Disk {
            path: "/dev/sda".into(),
            model: "WD Red".into(),
            serial: "WX123".into(),
            smart: "passed".into(),
            ..Default::default()
        };
        assert_eq!(smart_finding(&disk), None);
        disk.smart = "failing".into();
        let f = smart_finding(&disk).unwrap();
        assert_eq!(f.key, "disk-smart:WX123");
        assert!(f.message.starts_with("WD Red (/dev/sda)"), "{}", f.message);
    }
}
