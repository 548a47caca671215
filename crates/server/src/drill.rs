//! The restore drill: a backup is only as good as its last restore. Every
//! month by default (and on demand), the storage service restores the
//! newest off-site backup into a scratch folder on the pool; this reads
//! every original there against its recorded SHA-1 and compares the
//! backup's catalog with the live library, records the result (the storage
//! page shows it) and lets the alerts check raise `backup:drill` when it
//! failed. The scratch folder is removed afterwards.

use std::time::Duration;

use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shoebox_catalog::{Millis, now_millis};
use shoebox_storaged::backup::Latest;
use shoebox_storaged::service::DRILL_DIR;

use crate::alerts;
use crate::error::{ApiError, ApiResult};
use crate::restored::{Findings, Progress, RestoredBackup};
use crate::state::AppState;
use crate::storage_service::{storage, unavailable};

const SETTING: &str = "backup.drill";
const EVERY_SETTING: &str = "backup.drill.every_days";
pub const DEFAULT_EVERY_DAYS: u32 = 30;
const DAY_MILLIS: i64 = 86_400_000;

/// The scheduler looks this often whether a drill is due; the first look
/// waits as long, so a box that just started serves first.
const LOOK_EVERY: Duration = Duration::from_secs(3600);

/// One drill's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Drill {
    pub started_at: Millis,
    pub finished_at: Millis,
    pub ok: bool,
    /// The backup restored; empty when none could be.
    pub backup_id: String,
    pub backup_created_at: Millis,
    #[serde(flatten)]
    pub findings: Findings,
    /// Why the drill could not run to the end; empty when it did.
    pub error: String,
}

pub async fn last(state: &AppState) -> ApiResult<Option<Drill>> {
    state.json_setting(SETTING).await
}

pub async fn every_days(state: &AppState) -> ApiResult<u32> {
    Ok(state.json_setting(EVERY_SETTING).await?.unwrap_or(DEFAULT_EVERY_DAYS))
}

pub async fn set_every_days(state: &AppState, days: u32) -> ApiResult<()> {
    if !(1..=365).contains(&days) {
        return Err(ApiError::bad_request("everyDays: give a number of days from 1 to 365"));
    }
    state.set_json_setting(EVERY_SETTING, &days).await
}

/// When the next scheduled drill is due: `every` days after the last one,
/// or now when there has been none.
pub fn next_due(last: Option<&Drill>, every_days: u32) -> Millis {
    last.map_or(0, |d| d.started_at + i64::from(every_days) * DAY_MILLIS)
}

pub fn running(state: &AppState) -> bool {
    state.drill.try_lock().is_err()
}

/// Starts a drill in the background; 409 while one runs.
pub fn start(state: &AppState) -> ApiResult<()> {
    let guard = state
        .drill
        .clone()
        .try_lock_owned()
        .map_err(|_| ApiError::new(StatusCode::CONFLICT, "A restore drill is running: wait for its result"))?;
    let state = state.clone();
    tokio::spawn(async move {
        let drill = run(&state).await;
        if !drill.ok {
            tracing::warn!(
                error = drill.error,
                problems = drill.findings.problem_count,
                "the restore drill failed"
            );
        } else {
            tracing::info!(
                assets = drill.findings.assets,
                bytes = drill.findings.bytes,
                "the restore drill passed"
            );
        }
        if let Err(e) = state.set_json_setting(SETTING, &drill).await {
            tracing::error!(error = e.message, "could not record the restore drill's result");
        }
        if let Err(e) = alerts::check(&state).await {
            tracing::warn!(error = e.message, "could not check for alerts after the drill");
        }
        // Held until the result is recorded and its alert raised, so "not
        // running" means the result is there to read.
        drop(guard);
    });
    Ok(())
}

async fn run(state: &AppState) -> Drill {
    let started_at = now_millis();
    let (latest, outcome) = match restore_and_check(state).await {
        Ok((latest, findings)) => (latest, Ok(findings)),
        Err((latest, e)) => (latest, Err(e.message)),
    };
    let (findings, error) = match outcome {
        Ok(findings) => (findings, String::new()),
        Err(message) => (Findings::default(), message),
    };
    Drill {
        started_at,
        finished_at: now_millis(),
        ok: error.is_empty() && findings.ok(),
        backup_id: latest.id,
        backup_created_at: latest.created * 1000,
        findings,
        error,
    }
}

async fn restore_and_check(state: &AppState) -> Result<(Latest, Findings), (Latest, ApiError)> {
    let none = |e| (Latest::default(), e);
    let storage = storage(state).await.map_err(none)?;
    let latest = storage.drill_restore().await.map_err(|e| none(unavailable(e)))?;
    let (live, scratch) = (state.catalog.clone(), state.layout.root().join(DRILL_DIR));
    let checked = tokio::task::spawn_blocking(move || {
        let _remove = RemoveOnDrop(vec![scratch.join("db"), scratch.join("library")]);
        let restored = RestoredBackup::open(&scratch.join("db"), &scratch.join("library"))?;
        let mut findings = restored.check_files(&Progress::default())?;
        restored.compare_with(&live, &mut findings)?;
        Ok(findings)
    })
    .await
    .map_err(ApiError::internal)
    .and_then(|r| r);
    match checked {
        Ok(findings) => Ok((latest, findings)),
        Err(e) => Err((latest, e)),
    }
}

/// Removes folders when dropped: a restore's scratch copy is not kept,
/// however its check ends.
pub struct RemoveOnDrop(pub Vec<std::path::PathBuf>);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        for dir in &self.0 {
            if let Err(e) = std::fs::remove_dir_all(dir)
                && e.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(error = %e, dir = %dir.display(), "could not remove a restore's scratch folder");
            }
        }
    }
}

/// Starts a drill whenever one is due and an off-site backup has
/// succeeded, until shutdown.
pub async fn schedule(state: AppState, mut shutdown: tokio::sync::watch::Receiver<bool>) {
    let mut every = tokio::time::interval_at(tokio::time::Instant::now() + LOOK_EVERY, LOOK_EVERY);
    loop {
        tokio::select! {
            _ = every.tick() => {
                match due(&state).await {
                    Ok(true) => { let _ = start(&state); }
                    Ok(false) => {}
                    Err(e) => tracing::debug!(error = e.message, "no restore drill scheduled"),
                }
            }
            _ = shutdown.changed() => return,
        }
    }
}

async fn due(state: &AppState) -> ApiResult<bool> {
    let status = storage(state).await?.backup_status().await.map_err(unavailable)?;
    let backed_up = status.configured && status.last.ok;
    let next = next_due(last(state).await?.as_ref(), every_days(state).await?);
    Ok(backed_up && next <= now_millis())
}

/// The alert a failed last drill raises.
pub fn alert_message(drill: &Drill) -> Option<String> {
    if drill.ok {
        return None;
    }
    let when = chrono::DateTime::from_timestamp_millis(drill.finished_at)
        .unwrap_or_default()
        .format("%Y-%m-%d %H:%M UTC");
    let what = if drill.error.is_empty() {
        let shown: Vec<&str> = drill.findings.problems.iter().take(3).map(String::as_str).collect();
        let count = drill.findings.problem_count;
        format!(
            "{count} problem{}, among them: {}",
            if count == 1 { "" } else { "s" },
            shown.join("; ")
        )
    } else {
        drill.error.clone()
    };
    Some(format!(
        "The restore drill at {when} could not restore the off-site backup whole: {what}. The backup may not bring your library back: run a backup now, then a drill again on the storage page; if it fails again, check the backup disk or service."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_drill_is_due_at_once_and_then_every_so_many_days() {
        assert_eq!(next_due(None, 30), 0);
        let drill = Drill {
            started_at: 1_000,
            finished_at: 2_000,
            ok: true,
            backup_id: "b".into(),
            backup_created_at: 0,
            findings: Findings::default(),
            error: String::new(),
        };
        assert_eq!(next_due(Some(&drill), 30), 1_000 + 30 * DAY_MILLIS);
        assert_eq!(alert_message(&drill), None);
        let failed = Drill {
            ok: false,
            findings: Findings {
                assets: 3,
                bytes: 10,
                problems: vec!["a.jpg (1): its file does not match its checksum".into()],
                problem_count: 1,
            },
            ..drill
        };
        let message = alert_message(&failed).unwrap();
        assert!(
            message.contains("1 problem, among them: a.jpg (1): its file does not match"),
            "{message}"
        );
    }
}
