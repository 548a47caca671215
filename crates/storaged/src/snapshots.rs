//! Read-only snapshots of the originals and the catalog, and their
//! retention. A snapshot is `.snapshots/<name>/{db,library}` on the pool
//! plus a `snapshot.json` written last, so a half-made one is never listed.
//!
//! The catalog is snapshotted first: shoeboxd writes and fsyncs an original
//! before the catalog row that names it, so every asset in the snapshot's
//! catalog has its file in the snapshot's library. SQLite in WAL mode
//! recovers an atomic file-system image of its files like it recovers from a
//! power cut, so no extra checkpoint is needed for a consistent catalog.

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::{Deserialize, Serialize};
use zbus::zvariant::Type;

use crate::command::run;
use crate::pool::{Error, SNAPSHOT_DIR, io, path};

/// Snapshotted subvolumes, in the order they are taken.
const SNAPSHOTTED: [&str; 2] = ["db", "library"];
const INFO: &str = "snapshot.json";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Type)]
pub struct Snapshot {
    pub name: String,
    /// Unix seconds.
    pub created: i64,
    /// What asked for it: "timer", "manual", "before-update", ...
    pub trigger: String,
}

/// How many snapshots to keep per period, newest first; a snapshot that
/// is the newest of its hour, day, week or month may count for several.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub hourly: usize,
    pub daily: usize,
    pub weekly: usize,
    pub monthly: usize,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            hourly: 24,
            daily: 7,
            weekly: 4,
            monthly: 12,
        }
    }
}

pub fn create(pool: &Path, trigger: &str, now: DateTime<Utc>) -> Result<Snapshot, Error> {
    if trigger.is_empty() || trigger.len() > 32 || !trigger.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-') {
        return Err(Error::Trigger(trigger.to_owned()));
    }
    let root = pool.join(SNAPSHOT_DIR);
    let stem = now.format("%Y-%m-%dT%H%M%SZ").to_string();
    let name = (1..)
        .map(|n| if n == 1 { stem.clone() } else { format!("{stem}-{n}") })
        .find(|name| !root.join(name).exists())
        .expect("an unused name");
    let dir = root.join(&name);
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    for sub in SNAPSHOTTED {
        let (source, target) = (pool.join(sub), dir.join(sub));
        run("btrfs", &["subvolume", "snapshot", "-r", path(&source), path(&target)])?;
    }
    let snapshot = Snapshot {
        name,
        created: now.timestamp(),
        trigger: trigger.to_owned(),
    };
    let info = dir.join(INFO);
    std::fs::write(&info, serde_json::to_vec(&snapshot).expect("plain struct")).map_err(|e| io(&info, e))?;
    Ok(snapshot)
}

/// Complete snapshots, newest first.
pub fn list(pool: &Path) -> Result<Vec<Snapshot>, Error> {
    let root = pool.join(SNAPSHOT_DIR);
    let mut found: Vec<Snapshot> = std::fs::read_dir(&root)
        .map_err(|e| io(&root, e))?
        .flatten()
        .filter_map(|entry| serde_json::from_slice(&std::fs::read(entry.path().join(INFO)).ok()?).ok())
        .collect();
    found.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.name.cmp(&a.name)));
    Ok(found)
}

/// Deletes what `retention` does not keep, and leftovers of snapshots that
/// failed half-way. Returns the names deleted.
pub fn prune(pool: &Path, retention: Retention) -> Result<Vec<String>, Error> {
    let snapshots = list(pool)?;
    let keep = kept(&snapshots, retention);
    let root = pool.join(SNAPSHOT_DIR);
    let mut deleted = Vec::new();
    for entry in std::fs::read_dir(&root).map_err(|e| io(&root, e))?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if keep.contains(&name) {
            continue;
        }
        for sub in SNAPSHOTTED {
            let subvolume = entry.path().join(sub);
            if subvolume.exists() {
                run("btrfs", &["subvolume", "delete", path(&subvolume)])?;
            }
        }
        std::fs::remove_dir_all(entry.path()).map_err(|e| io(&entry.path(), e))?;
        deleted.push(name);
    }
    Ok(deleted)
}

/// The period a time falls in, as a comparable key (year, period, hour, kind).
type PeriodOf = fn(DateTime<Utc>) -> (i32, u32, u32, u32);

/// How many snapshots someone asked for by hand (not the timer's, not a
/// backup's) are kept: the newest ones, whatever their age.
pub const KEPT_BY_HAND: usize = 10;

/// Whether a snapshot was taken on schedule (the timer, or a backup's).
fn scheduled(snapshot: &Snapshot) -> bool {
    snapshot.trigger == "timer" || snapshot.trigger.starts_with("backup")
}

/// The names kept. Scheduled snapshots follow `retention` (restic's
/// `forget --keep-*` rule: per period kind, the newest snapshot of each of
/// the last N periods that have one); one taken by hand is never thinned
/// out by the schedule's, only pushed out by [`KEPT_BY_HAND`] newer ones.
/// The newest snapshot is always kept.
pub fn kept(snapshots: &[Snapshot], retention: Retention) -> HashSet<String> {
    let mut by_hand: Vec<&Snapshot> = snapshots.iter().filter(|s| !scheduled(s)).collect();
    by_hand.sort_by_key(|s| std::cmp::Reverse(s.created));
    let mut keep: HashSet<String> = by_hand.iter().take(KEPT_BY_HAND).map(|s| s.name.clone()).collect();
    keep.extend(snapshots.iter().max_by_key(|s| s.created).map(|s| s.name.clone()));
    let mut newest_first: Vec<&Snapshot> = snapshots.iter().filter(|s| scheduled(s)).collect();
    newest_first.sort_by_key(|s| std::cmp::Reverse(s.created));
    let periods: [(usize, PeriodOf); 4] = [
        (retention.hourly, |t| (t.year(), t.ordinal(), t.hour(), 0)),
        (retention.daily, |t| (t.year(), t.ordinal(), 0, 0)),
        (retention.weekly, |t| (t.iso_week().year(), t.iso_week().week(), 0, 1)),
        (retention.monthly, |t| (t.year(), t.month(), 0, 2)),
    ];
    for (count, period) in periods {
        let mut last = None;
        let mut kept = 0;
        for snapshot in &newest_first {
            if kept == count {
                break;
            }
            let key = period(DateTime::from_timestamp(snapshot.created, 0).unwrap_or_default());
            if last != Some(key) {
                keep.insert(snapshot.name.clone());
                last = Some(key);
                kept += 1;
            }
        }
    }
    keep
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hourly_for(days: i64) -> Vec<Snapshot> {
        let start = DateTime::parse_from_rfc3339("2026-01-01T00:30:00Z").unwrap().timestamp();
        (0..days * 24)
            .map(|h| Snapshot {
                name: format!("s{h}"),
                created: start + h * 3600,
                trigger: "timer".into(),
            })
            .collect()
    }

    #[test]
    fn a_year_of_hourly_snapshots_thins_out_to_the_policy() {
        let snapshots = hourly_for(365);
        let keep = kept(&snapshots, Retention::default());
        let newest = snapshots.len() - 1;
        // The last 24 hours, then one a day for 7 days, one a week for 4
        // weeks, one a month for 12 months: overlapping, so fewer than the sum.
        for h in 0..24 {
            assert!(keep.contains(&format!("s{}", newest - h)), "hour {h} kept");
        }
        assert!(!keep.contains(&format!("s{}", newest - 24 - 1)), "an older hourly one goes");
        assert!(
            keep.contains(&format!("s{}", newest - 24 * 6)),
            "the day a week ago keeps its last hour"
        );
        assert!(keep.contains("s743"), "January's last snapshot is its month's");
        assert!(keep.len() <= 24 + 7 + 4 + 12 && keep.len() >= 24 + 6, "{} kept", keep.len());
    }

    #[test]
    fn snapshots_taken_by_hand_outlive_the_schedule() {
        let mut snapshots = hourly_for(2);
        let before_update = snapshots[20].created + 60;
        snapshots.push(Snapshot {
            name: "by-hand".into(),
            created: before_update,
            trigger: "manual".into(),
        });
        let keep = kept(&snapshots, Retention::default());
        assert!(
            keep.contains("by-hand"),
            "a snapshot taken by hand is not thinned out by the hourly ones"
        );
        let many: Vec<Snapshot> = (0..15)
            .map(|i| Snapshot {
                name: format!("m{i}"),
                created: i,
                trigger: "ui".into(),
            })
            .collect();
        let keep = kept(&many, Retention::default());
        assert_eq!(keep.len(), KEPT_BY_HAND);
        assert!(keep.contains("m14") && !keep.contains("m4"), "the newest ones stay");
    }

    #[test]
    fn nothing_is_thinned_below_the_counts() {
        let snapshots = hourly_for(1)[..5].to_vec();
        assert_eq!(kept(&snapshots, Retention::default()).len(), 5);
        let none = Retention {
            hourly: 0,
            daily: 0,
            weekly: 0,
            monthly: 0,
        };
        assert_eq!(kept(&snapshots, none), HashSet::from(["s4".to_owned()]), "the newest always stays");
    }
}
