//! The durable job queue's storage: one row per unit of background work.
//! A job is `pending` until a worker claims it (`running`); success deletes
//! it, failure either schedules a retry or parks it as `failed` with its error.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};

use crate::rusqlite::{OptionalExtension, Row, Transaction, params};
use crate::settings::{put_setting, setting_in};
use crate::{Catalog, Millis, Result, now_millis};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    ExtractMetadata,
    GenerateThumbnails,
    /// Videos only: a playback copy when the original needs one.
    TranscodeVideo,
    /// Text in the preview; queued only while the server can run it.
    Ocr,
    /// Faces in the preview; likewise.
    FaceDetection,
    /// The preview's CLIP embedding, for search by content; likewise.
    SmartSearch,
    /// Near-identical photos found by their embeddings; likewise.
    DuplicateDetection,
    /// The faces found, placed into people; likewise.
    FacialRecognition,
}

impl JobKind {
    pub const ALL: [JobKind; 8] = [
        JobKind::ExtractMetadata,
        JobKind::GenerateThumbnails,
        JobKind::TranscodeVideo,
        JobKind::Ocr,
        JobKind::FaceDetection,
        JobKind::SmartSearch,
        JobKind::DuplicateDetection,
        JobKind::FacialRecognition,
    ];

    /// Immich's queue name for this kind of job.
    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::ExtractMetadata => "metadataExtraction",
            JobKind::GenerateThumbnails => "thumbnailGeneration",
            JobKind::TranscodeVideo => "videoConversion",
            JobKind::Ocr => "ocr",
            JobKind::FaceDetection => "faceDetection",
            JobKind::SmartSearch => "smartSearch",
            JobKind::DuplicateDetection => "duplicateDetection",
            JobKind::FacialRecognition => "facialRecognition",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The jobs that follow this one for the same asset, whether this one
    /// succeeded or failed for good: a photo with unreadable EXIF can still
    /// get a thumbnail.
    fn follow_ups(self) -> &'static [JobKind] {
        match self {
            JobKind::ExtractMetadata => &[JobKind::GenerateThumbnails],
            JobKind::GenerateThumbnails => &[JobKind::TranscodeVideo, JobKind::SmartSearch, JobKind::Ocr, JobKind::FaceDetection],
            JobKind::SmartSearch => &[JobKind::DuplicateDetection],
            JobKind::FaceDetection => &[JobKind::FacialRecognition],
            JobKind::TranscodeVideo | JobKind::Ocr | JobKind::DuplicateDetection | JobKind::FacialRecognition => &[],
        }
    }

    /// Machine-learning work runs only where the server enables it (a
    /// runtime and a model are there); until then it is not queued, and
    /// jobs already queued wait.
    pub fn is_optional(self) -> bool {
        self.done_column().is_some()
    }

    /// The asset column that records when an optional job last ran.
    pub(crate) fn done_column(self) -> Option<&'static str> {
        match self {
            JobKind::Ocr => Some("ocr_at"),
            JobKind::FaceDetection => Some("faces_at"),
            JobKind::SmartSearch => Some("smart_search_at"),
            JobKind::DuplicateDetection => Some("duplicates_at"),
            JobKind::FacialRecognition => Some("recognized_at"),
            _ => None,
        }
    }
}

fn enqueue_next(tx: &Transaction, job: &Job, enabled: &JobGates) -> Result<()> {
    let Some(asset) = &job.asset_id else {
        return Ok(());
    };
    for &kind in job.kind.follow_ups() {
        let applies = match kind {
            JobKind::TranscodeVideo => tx.query_row(
                "SELECT EXISTS(SELECT 1 FROM assets WHERE id = ?1 AND kind = 'VIDEO')",
                [asset],
                |r| r.get(0),
            )?,
            kind => enabled.allows(kind),
        };
        if applies {
            enqueue_in(tx, kind, asset, now_millis())?;
        }
    }
    Ok(())
}

/// Which kinds of job this server queues and runs: the optional kinds it
/// has enabled (see [`JobKind::is_optional`]), less the kinds the admin
/// paused (still queued, not claimed).
#[derive(Debug, Clone, Default)]
pub(crate) struct JobGates(Arc<RwLock<Gates>>);

#[derive(Debug, Default)]
struct Gates {
    enabled: HashSet<JobKind>,
    paused: HashSet<JobKind>,
}

impl Gates {
    fn allows(&self, kind: JobKind) -> bool {
        !kind.is_optional() || self.enabled.contains(&kind)
    }
}

impl JobGates {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Gates> {
        self.0.read().unwrap_or_else(|p| p.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Gates> {
        self.0.write().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether jobs of this kind are queued.
    fn allows(&self, kind: JobKind) -> bool {
        self.read().allows(kind)
    }

    /// The kinds a worker may claim, for SQL. Listing them (rather than
    /// the ones to skip) also leaves alone jobs of a kind this version does
    /// not know, queued by a newer one before a rollback. With every kind
    /// paused the list is a name no job has.
    fn runnable(&self) -> String {
        let gates = self.read();
        let kinds: Vec<String> = JobKind::ALL
            .into_iter()
            .filter(|&k| gates.allows(k) && !gates.paused.contains(&k))
            .map(|k| format!("'{}'", k.as_str()))
            .collect();
        if kinds.is_empty() { "''".to_owned() } else { kinds.join(",") }
    }
}

/// The paused kinds, comma-separated, so a pause outlasts a restart.
const PAUSED: &str = "jobs.paused";

fn parse_kinds(list: Option<&str>) -> HashSet<JobKind> {
    list.unwrap_or_default().split(',').filter_map(JobKind::parse).collect()
}

#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub kind: JobKind,
    pub asset_id: Option<String>,
    pub state: String,
    pub attempts: i64,
    pub run_after: Millis,
    pub last_error: Option<String>,
    pub updated_at: Millis,
    /// How far a running job has got, 0 to 1, where its work reports it.
    pub progress: Option<f64>,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JobCounts {
    pub pending: i64,
    pub running: i64,
    pub failed: i64,
}

const COLUMNS: &str = "id, kind, asset_id, state, attempts, run_after, last_error, updated_at, progress";

fn from_row(r: &Row) -> crate::rusqlite::Result<Job> {
    let kind: String = r.get(1)?;
    Ok(Job {
        id: r.get(0)?,
        kind: JobKind::parse(&kind).ok_or_else(|| {
            crate::rusqlite::Error::FromSqlConversionFailure(
                1,
                crate::rusqlite::types::Type::Text,
                format!("unknown job kind {kind}").into(),
            )
        })?,
        asset_id: r.get(2)?,
        state: r.get(3)?,
        attempts: r.get(4)?,
        run_after: r.get(5)?,
        last_error: r.get(6)?,
        updated_at: r.get(7)?,
        progress: r.get(8)?,
    })
}

/// Queues a job unless one of that kind is already open for the asset.
pub(crate) fn enqueue_in(tx: &Transaction, kind: JobKind, asset_id: &str, now: Millis) -> Result<()> {
    tx.execute(
        "INSERT OR IGNORE INTO jobs (kind, asset_id, state, run_after, created_at, updated_at) VALUES (?1, ?2, 'pending', ?3, ?3, ?3)",
        params![kind.as_str(), asset_id, now],
    )?;
    Ok(())
}

impl Catalog {
    pub fn enqueue(&self, kind: JobKind, asset_id: &str) -> Result<()> {
        self.write(|tx| enqueue_in(tx, kind, asset_id, now_millis()))
    }

    /// Lets an optional kind of job (machine learning) be queued and run.
    pub fn enable_job(&self, kind: JobKind) {
        self.job_gates.write().enabled.insert(kind);
    }

    pub fn job_enabled(&self, kind: JobKind) -> bool {
        self.job_gates.allows(kind)
    }

    /// Stops workers from claiming a kind of job (its jobs are still
    /// queued), or lets them again; kept across restarts.
    pub fn set_job_paused(&self, kind: JobKind, paused: bool) -> Result<()> {
        // Read and written in one transaction, which orders concurrent
        // calls; the gates change after it, never holding their lock
        // while waiting for the database (claims hold it the other way).
        let now = self.write(|tx| {
            let mut kinds = parse_kinds(setting_in(tx, PAUSED)?.as_deref());
            if paused {
                kinds.insert(kind);
            } else {
                kinds.remove(&kind);
            }
            let mut names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
            names.sort_unstable();
            put_setting(tx, PAUSED, Some(&names.join(",")))?;
            Ok(kinds)
        })?;
        self.job_gates.write().paused = now;
        Ok(())
    }

    pub fn job_paused(&self, kind: JobKind) -> bool {
        self.job_gates.read().paused.contains(&kind)
    }

    /// Reads the paused kinds saved by [`Catalog::set_job_paused`].
    pub(crate) fn load_paused_jobs(&self) -> Result<()> {
        let saved = self.setting(PAUSED)?;
        self.job_gates.write().paused = parse_kinds(saved.as_deref());
        Ok(())
    }

    /// Queues an optional kind of job for every asset with a preview it has
    /// not run on (all of them with `again`); returns how many were queued.
    pub fn queue_unprocessed(&self, kind: JobKind, again: bool) -> Result<usize> {
        let Some(done) = kind.done_column() else {
            return Ok(0);
        };
        self.write(|tx| {
            Ok(tx.execute(
                &format!(
                    "INSERT OR IGNORE INTO jobs (kind, asset_id, state, run_after, created_at, updated_at)
                     SELECT ?1, id, 'pending', ?2, ?2, ?2 FROM assets
                     WHERE deleted_at IS NULL AND preview_path IS NOT NULL AND (?3 OR {done} IS NULL)"
                ),
                params![kind.as_str(), now_millis(), again],
            )?)
        })
    }

    /// Claims the oldest job that is due, if any.
    pub fn claim_job(&self, now: Millis) -> Result<Option<Job>> {
        self.write(|tx| {
            Ok(tx
                .query_row(
                    &format!(
                        "UPDATE jobs SET state = 'running', attempts = attempts + 1, updated_at = ?1, progress = NULL
                         WHERE id = (SELECT id FROM jobs WHERE state = 'pending' AND run_after <= ?1
                                     AND kind IN ({runnable}) ORDER BY run_after, id LIMIT 1)
                         RETURNING {COLUMNS}",
                        runnable = self.job_gates.runnable()
                    ),
                    [now],
                    from_row,
                )
                .optional()?)
        })
    }

    /// When the next pending job becomes due.
    pub fn next_job_due(&self) -> Result<Option<Millis>> {
        Ok(self.conn()?.query_row(
            &format!(
                "SELECT min(run_after) FROM jobs WHERE state = 'pending' AND kind IN ({})",
                self.job_gates.runnable()
            ),
            [],
            |r| r.get(0),
        )?)
    }

    /// Marks a job done and queues the next one for its asset, in one transaction.
    pub fn finish_job(&self, job: &Job) -> Result<()> {
        self.write(|tx| {
            tx.execute("DELETE FROM jobs WHERE id = ?1", [job.id])?;
            enqueue_next(tx, job, &self.job_gates)
        })
    }

    /// Records a failure: retried at `retry_at`, or failed for good with
    /// `None` (and then the next job for the asset is queued all the same).
    pub fn fail_job(&self, job: &Job, error: &str, retry_at: Option<Millis>) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE jobs SET state = CASE WHEN ?3 IS NULL THEN 'failed' ELSE 'pending' END,
                    run_after = coalesce(?3, run_after), last_error = ?2, updated_at = ?4 WHERE id = ?1",
                params![job.id, error, retry_at, now_millis()],
            )?;
            if retry_at.is_none() {
                enqueue_next(tx, job, &self.job_gates)?;
            }
            Ok(())
        })
    }

    /// Returns jobs a stopped server left running to the queue.
    pub fn requeue_running_jobs(&self) -> Result<usize> {
        self.write(|tx| Ok(tx.execute("UPDATE jobs SET state = 'pending' WHERE state = 'running'", [])?))
    }

    /// Queues every failed job (of one kind, or all) again with a fresh retry budget.
    pub fn retry_failed_jobs(&self, kind: Option<JobKind>) -> Result<usize> {
        self.write(|tx| {
            Ok(tx.execute(
                "UPDATE jobs SET state = 'pending', attempts = 0, run_after = ?2, updated_at = ?2
                 WHERE state = 'failed' AND (?1 IS NULL OR kind = ?1)",
                params![kind.map(JobKind::as_str), now_millis()],
            )?)
        })
    }

    pub fn job_counts_by_kind(&self, kind: Option<JobKind>) -> Result<JobCounts> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare("SELECT state, count(*) FROM jobs WHERE ?1 IS NULL OR kind = ?1 GROUP BY state")?;
        let mut counts = JobCounts::default();
        for row in stmt.query_map([kind.map(JobKind::as_str)], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))? {
            match row? {
                (s, n) if s == "pending" => counts.pending = n,
                (s, n) if s == "running" => counts.running = n,
                (s, n) if s == "failed" => counts.failed = n,
                _ => {}
            }
        }
        Ok(counts)
    }

    pub fn job_counts(&self) -> Result<JobCounts> {
        self.job_counts_by_kind(None)
    }

    /// Records how far a running job has got (0 to 1).
    pub fn set_job_progress(&self, job_id: i64, progress: f64) -> Result<()> {
        self.write(|tx| {
            tx.execute(
                "UPDATE jobs SET progress = ?2 WHERE id = ?1 AND state = 'running'",
                params![job_id, progress.clamp(0.0, 1.0)],
            )?;
            Ok(())
        })
    }

    /// The jobs being worked on now, oldest first.
    pub fn running_jobs(&self) -> Result<Vec<Job>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE state = 'running' ORDER BY updated_at, id"
        ))?;
        let rows = stmt.query_map([], from_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }

    /// Failed jobs, optionally only those of one asset.
    pub fn failed_jobs(&self, asset_id: Option<&str>) -> Result<Vec<Job>> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM jobs WHERE state = 'failed' AND (?1 IS NULL OR asset_id = ?1) ORDER BY updated_at DESC LIMIT 500"
        ))?;
        let rows = stmt.query_map([asset_id], from_row)?.collect::<Result<_, _>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::assets::tests::{new_asset, user};

    #[test]
    fn a_job_is_claimed_once_and_its_follow_up_is_queued_when_it_finishes() {
        let (_d, cat) = crate::test_catalog();
        let a = user(&cat, "a@x");
        let asset = cat.commit_asset(&new_asset(&a, b"1")).unwrap().unwrap();
        let job = cat.claim_job(now_millis()).unwrap().unwrap();
        assert_eq!((job.kind, job.attempts), (JobKind::ExtractMetadata, 1));
        assert!(
            cat.claim_job(now_millis()).unwrap().is_none(),
            "a running job is not handed out twice"
        );
        cat.finish_job(&job).unwrap();
        let next = cat.claim_job(now_millis()).unwrap().unwrap();
        assert_eq!(
            (next.kind, next.asset_id.as_deref()),
            (JobKind::GenerateThumbnails, Some(asset.id.as_str()))
        );
    }

    #[test]
    fn a_paused_kind_stays_queued_unclaimed_across_a_restart_until_resumed() {
        let (dir, cat) = crate::test_catalog();
        let a = user(&cat, "a@x");
        cat.commit_asset(&new_asset(&a, b"1")).unwrap().unwrap();
        cat.set_job_paused(JobKind::ExtractMetadata, true).unwrap();
        cat.set_job_paused(JobKind::GenerateThumbnails, true).unwrap();
        assert!(cat.claim_job(now_millis()).unwrap().is_none(), "paused");
        assert_eq!(cat.job_counts().unwrap().pending, 1, "still queued");
        assert_eq!(cat.next_job_due().unwrap(), None);
        cat.set_job_paused(JobKind::GenerateThumbnails, false).unwrap();

        drop(cat);
        let cat = Catalog::open(&dir.path().join("test.db")).unwrap();
        assert!(cat.job_paused(JobKind::ExtractMetadata), "a pause outlasts a restart");
        assert!(!cat.job_paused(JobKind::GenerateThumbnails));
        assert!(cat.claim_job(now_millis()).unwrap().is_none());
        cat.set_job_paused(JobKind::ExtractMetadata, false).unwrap();
        let job = cat.claim_job(now_millis()).unwrap().unwrap();
        assert_eq!(job.kind, JobKind::ExtractMetadata);
    }

    #[test]
    fn a_retry_waits_for_its_time_and_a_final_failure_keeps_its_error() {
        let (_d, cat) = crate::test_catalog();
        let a = user(&cat, "a@x");
        cat.commit_asset(&new_asset(&a, b"1")).unwrap().unwrap();
        let now = now_millis();
        let job = cat.claim_job(now).unwrap().unwrap();
        cat.fail_job(&job, "disk hiccup", Some(now + 60_000)).unwrap();
        assert!(cat.claim_job(now).unwrap().is_none());
        let again = cat.claim_job(now + 60_000).unwrap().unwrap();
        assert_eq!(again.attempts, 2);
        cat.fail_job(&again, "not a JPEG", None).unwrap();
        let failed = cat.failed_jobs(None).unwrap();
        assert_eq!(failed[0].last_error.as_deref(), Some("not a JPEG"));
        assert_eq!(
            cat.job_counts().unwrap(),
            JobCounts {
                pending: 1,
                running: 0,
                failed: 1
            },
            "thumbnails still queued after metadata failed"
        );
        assert_eq!(cat.retry_failed_jobs(None).unwrap(), 1);
        assert_eq!(
            cat.job_counts().unwrap(),
            JobCounts {
                pending: 2,
                running: 0,
                failed: 0
            }
        );
    }

    #[test]
    fn a_running_job_reports_its_progress_and_a_new_attempt_starts_from_nothing() {
        let (_d, cat) = crate::test_catalog();
        let a = user(&cat, "a@x");
        cat.commit_asset(&new_asset(&a, b"1")).unwrap().unwrap();
        let job = cat.claim_job(now_millis()).unwrap().unwrap();
        cat.set_job_progress(job.id, 0.25).unwrap();
        let running = cat.running_jobs().unwrap();
        assert_eq!((running.len(), running[0].progress), (1, Some(0.25)));
        cat.requeue_running_jobs().unwrap();
        cat.set_job_progress(job.id, 0.5).unwrap();
        assert!(cat.running_jobs().unwrap().is_empty(), "only a running job records progress");
        let again = cat.claim_job(now_millis()).unwrap().unwrap();
        assert_eq!((again.id, again.progress), (job.id, None));
    }

    #[test]
    fn jobs_left_running_by_a_crash_are_requeued() {
        let (_d, cat) = crate::test_catalog();
        let a = user(&cat, "a@x");
        cat.commit_asset(&new_asset(&a, b"1")).unwrap().unwrap();
        cat.claim_job(now_millis()).unwrap().unwrap();
        assert_eq!(cat.requeue_running_jobs().unwrap(), 1);
        assert!(cat.claim_job(now_millis()).unwrap().is_some());
    }

    #[test]
    fn text_recognition_follows_thumbnails_only_where_enabled_and_queued_ones_wait_otherwise() {
        let (_d, cat) = crate::test_catalog();
        let a = user(&cat, "a@x");
        cat.commit_asset(&new_asset(&a, b"1")).unwrap().unwrap();
        let run_through = |cat: &Catalog| {
            let mut kinds = Vec::new();
            while let Some(job) = cat.claim_job(now_millis()).unwrap() {
                kinds.push(job.kind);
                cat.finish_job(&job).unwrap();
            }
            kinds
        };
        assert_eq!(run_through(&cat), [JobKind::ExtractMetadata, JobKind::GenerateThumbnails]);

        cat.commit_asset(&new_asset(&a, b"2")).unwrap().unwrap();
        cat.enable_job(JobKind::Ocr);
        assert_eq!(
            run_through(&cat),
            [JobKind::ExtractMetadata, JobKind::GenerateThumbnails, JobKind::Ocr]
        );

        // Queued by a server that could run it, found by one that cannot: it waits.
        let asset = cat.commit_asset(&new_asset(&a, b"3")).unwrap().unwrap();
        run_through(&cat);
        cat.enqueue(JobKind::Ocr, &asset.id).unwrap();
        let without = Catalog::open(&_d.path().join("test.db")).unwrap();
        assert!(without.claim_job(now_millis()).unwrap().is_none());
        assert_eq!(without.next_job_due().unwrap(), None, "a waiting job does not wake the workers");
        assert_eq!(without.job_counts().unwrap().pending, 1);

        // A kind from a newer version (before a rollback) waits too, rather
        // than stopping the queue.
        without.write(|tx| enqueue_in(tx, JobKind::ExtractMetadata, &asset.id, 0)).unwrap();
        without
            .write(|tx| Ok(tx.execute("UPDATE jobs SET kind = 'futureKind' WHERE kind = 'ocr'", [])?))
            .unwrap();
        assert_eq!(
            without.claim_job(now_millis()).unwrap().map(|j| j.kind),
            Some(JobKind::ExtractMetadata)
        );
    }

    #[test]
    fn every_kind_a_job_can_follow_with_is_listed_and_read_back() {
        let follow_ups = JobKind::ALL.iter().flat_map(|k| k.follow_ups());
        for kind in JobKind::ALL.iter().chain(follow_ups) {
            assert!(JobKind::ALL.contains(kind), "{kind:?} is missing from JobKind::ALL");
            assert_eq!(JobKind::parse(kind.as_str()), Some(*kind));
        }
    }
}
