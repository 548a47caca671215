//! The first-boot setup wizard's settings: the box's name, its time zone
//! and the off-site backup target, and whether setup is complete.
//!
//! The admin account itself comes from `POST /api/auth/admin-sign-up`; the
//! wizard shows until an admin has marked setup complete.

use std::str::FromStr;

use crate::json::Json;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::{get, post};
use serde::{Deserialize, Serialize};

use serde_json::Value;

use crate::auth::{AdminAuth, SetupAccess};
use crate::error::{ApiError, ApiResult};
use crate::recovery;
use crate::state::AppState;

pub const HOSTNAME: &str = "hostname";
const TIME_ZONE: &str = "time_zone";
const BACKUP_TARGET: &str = "backup_target";
const COMPLETE: &str = "setup_complete";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/shoebox/setup", get(read).put(update))
        .route("/shoebox/setup/restore/inspect", post(inspect_backup))
        .route("/shoebox/setup/restore", get(restore_status).post(start_restore))
}

/// A backup to restore: where it is, and the key from its emergency kit.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct BackupSource {
    repository: String,
    password: String,
}

impl BackupSource {
    fn checked(self) -> ApiResult<(String, String)> {
        let repository = check_backup_target(self.repository.trim())?;
        let password = self.password.trim().to_owned();
        if password.is_empty() {
            return Err(ApiError::bad_request("password: give the key printed in the emergency kit"));
        }
        Ok((repository, password))
    }
}

/// What the newest backup holds, read before anything is restored.
async fn inspect_backup(State(state): State<AppState>, _setup: SetupAccess, Json(source): Json<BackupSource>) -> ApiResult<Json<Value>> {
    let (repository, password) = source.checked()?;
    recovery::inspect(&state, &repository, &password).await.map(Json)
}

async fn start_restore(
    State(state): State<AppState>,
    _setup: SetupAccess,
    Json(source): Json<BackupSource>,
) -> ApiResult<(StatusCode, Json<recovery::Status>)> {
    let (repository, password) = source.checked()?;
    recovery::start(&state, repository, password).await?;
    Ok((StatusCode::ACCEPTED, Json(recovery::status(&state))))
}

async fn restore_status(State(state): State<AppState>, _setup: SetupAccess) -> Json<recovery::Status> {
    Json(recovery::status(&state))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Setup {
    complete: bool,
    admin_created: bool,
    /// On the appliance the library lives on pooled disks; elsewhere in `data_dir`.
    appliance: bool,
    hostname: String,
    time_zone: String,
    data_dir: String,
    backup_target: Option<String>,
}

/// Every field is optional: each wizard step sends only what it asks for.
/// `backupTarget: null` removes the target, leaving it out keeps it.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SetupChange {
    hostname: Option<String>,
    time_zone: Option<String>,
    #[serde(default, deserialize_with = "crate::json::present")]
    backup_target: Option<Option<String>>,
    complete: Option<bool>,
}

async fn read(State(state): State<AppState>) -> ApiResult<Json<Setup>> {
    current(&state).await.map(Json)
}

async fn update(State(state): State<AppState>, _admin: AdminAuth, Json(change): Json<SetupChange>) -> ApiResult<Json<Setup>> {
    let hostname = change.hostname.map(|h| check_hostname(h.trim())).transpose()?;
    let time_zone = change.time_zone.map(|z| check_time_zone(z.trim())).transpose()?;
    let backup_target = change
        .backup_target
        .map(|t| t.map(|t| check_backup_target(t.trim())).transpose())
        .transpose()?;
    state
        .db(move |c| {
            let mut changes: Vec<(&str, Option<&str>)> = Vec::new();
            if let Some(h) = &hostname {
                changes.push((HOSTNAME, Some(h)));
            }
            if let Some(z) = &time_zone {
                changes.push((TIME_ZONE, Some(z)));
            }
            if let Some(t) = &backup_target {
                changes.push((BACKUP_TARGET, t.as_deref()));
            }
            if let Some(done) = change.complete {
                changes.push((COMPLETE, done.then_some("true")));
            }
            c.set_settings(&changes)
        })
        .await?;
    current(&state).await.map(Json)
}

async fn current(state: &AppState) -> ApiResult<Setup> {
    let (admin_created, complete, hostname, time_zone, backup_target) = state
        .db(|c| {
            Ok((
                c.has_admin()?,
                c.setting(COMPLETE)?.is_some(),
                c.setting(HOSTNAME)?,
                c.setting(TIME_ZONE)?,
                c.setting(BACKUP_TARGET)?,
            ))
        })
        .await?;
    Ok(Setup {
        complete,
        admin_created,
        appliance: state.config.appliance,
        hostname: hostname.unwrap_or_else(|| "shoebox".into()),
        time_zone: time_zone.unwrap_or_else(system_time_zone),
        data_dir: state.layout.root().display().to_string(),
        backup_target,
    })
}

fn system_time_zone() -> String {
    std::fs::read_to_string("/etc/timezone")
        .ok()
        .map(|z| z.trim().to_owned())
        .filter(|z| chrono_tz::Tz::from_str(z).is_ok())
        .unwrap_or_else(|| "UTC".into())
}

/// One DNS label: the box announces itself as `<hostname>.local`.
fn check_hostname(name: &str) -> ApiResult<String> {
    let valid = (1..=63).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if valid {
        Ok(name.to_owned())
    } else {
        Err(ApiError::bad_request(
            "hostname: use 1 to 63 lower-case letters, digits and hyphens, not starting or ending with a hyphen (e.g. \"shoebox\")",
        ))
    }
}

fn check_time_zone(zone: &str) -> ApiResult<String> {
    chrono_tz::Tz::from_str(zone)
        .map(|tz| tz.name().to_owned())
        .map_err(|_| ApiError::bad_request(format!("timeZone: {zone:?} is not an IANA time zone name such as \"Europe/Paris\"")))
}

/// A backup target is what the storage service backs up to: a folder (a
/// USB disk mounted on the box) or a repository address.
fn check_backup_target(target: &str) -> ApiResult<String> {
    shoebox_storaged::backup::Target::check_address(target)
        .map(|()| target.to_owned())
        .map_err(|e| ApiError::bad_request(format!("backupTarget: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostnames_are_single_dns_labels() {
        assert!(check_hostname("shoebox-2").is_ok());
        for bad in ["", "-box", "box-", "Shoebox", "my.box", "box name", &"a".repeat(64)] {
            assert!(check_hostname(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn time_zones_must_be_iana_names() {
        assert_eq!(check_time_zone("Europe/Paris").unwrap(), "Europe/Paris");
        assert!(check_time_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn backup_targets_are_folders_or_repository_addresses() {
        for good in [
            "/mnt/usb",
            "rclone::sftp,host=nas,user=me:/srv/backup",
            "rest:http://10.0.0.2:8000/",
            "rclone:s3remote:bucket/shoebox",
        ] {
            assert!(check_backup_target(good).is_ok(), "{good:?} refused");
        }
        for bad in [
            "backup",
            "/mnt/../etc",
            "sftp:me@nas:/x",
            "rclone:",
            "ftp://host/x",
            "rest:http://a b",
        ] {
            assert!(check_backup_target(bad).is_err(), "{bad:?} accepted");
        }
    }
}
