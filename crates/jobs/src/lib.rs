//! Background work on a durable queue stored in the catalog.
//!
//! Uploads queue a metadata job; its success queues thumbnail generation.
//! Workers claim due jobs from SQLite, run the CPU-bound work on blocking
//! threads under a semaphore (so the web server keeps its share of the
//! cores), and record the outcome: success removes the job, a transient
//! failure (I/O) retries with exponential backoff, a failure that comes from
//! the file itself parks the job as `failed` with its error for the API.
//! Jobs left running by a crash are re-queued at start-up. Text
//! recognition and face detection follow thumbnails where the server has
//! models for them.

#![forbid(unsafe_code)]

mod handlers;
mod models;
pub mod video;

use std::sync::Arc;
use std::time::Duration;

use handlers::Context;
use shoebox_catalog::{Catalog, Job, JobKind, now_millis};
use shoebox_media::Layout;
use shoebox_media::hwaccel::Hardware;
use shoebox_places::Places;
use tokio::sync::{Notify, Semaphore, watch};

pub use handlers::HandlerError;
pub use models::{FaceRecognition, Models, Neighbours};

/// Attempts before a transiently failing job is parked as failed.
const MAX_ATTEMPTS: i64 = 5;
/// Longest the runner idles before looking at the queue again.
const IDLE_POLL: Duration = Duration::from_secs(30);
/// How long the place-name table stays loaded after its last use, when no
/// machine-learning idle time is configured.
const PLACES_IDLE: Duration = Duration::from_secs(300);

/// A handle to wake the workers when new work is queued, and to hear when
/// a job has finished.
#[derive(Clone, Default)]
pub struct Waker {
    queued: Arc<Notify>,
    finished: Arc<Notify>,
}

impl Waker {
    pub fn wake(&self) {
        self.queued.notify_one();
    }

    /// Resolves after the next job outcome is recorded. Create it before
    /// checking the queue so no outcome slips between check and wait.
    pub fn job_finished(&self) -> tokio::sync::futures::Notified<'_> {
        self.finished.notified()
    }
}

pub struct Runner {
    catalog: Catalog,
    layout: Layout,
    slots: Arc<Semaphore>,
    /// Job work runs on these threads only, never on the async runtime or
    /// its blocking pool: large decode buffers then stay in a few malloc
    /// arenas instead of one per pool thread (which tripled RSS).
    workers: Arc<rayon::ThreadPool>,
    waker: Waker,
    hardware: Arc<Hardware>,
    models: Option<Arc<Models>>,
    places: Arc<Places>,
}

impl Runner {
    pub fn new(catalog: Catalog, layout: Layout, concurrency: usize, waker: Waker) -> Self {
        let concurrency = concurrency.max(1);
        let workers = rayon::ThreadPoolBuilder::new()
            .num_threads(concurrency)
            .thread_name(|i| format!("shoebox-job-{i}"))
            .build()
            .expect("job worker threads start");
        Runner {
            catalog,
            layout,
            slots: Arc::new(Semaphore::new(concurrency)),
            workers: Arc::new(workers),
            waker,
            hardware: Arc::default(),
            models: None,
            places: Arc::default(),
        }
    }

    /// Runs machine-learning jobs with these models; their kinds of job
    /// are queued from now on.
    pub fn with_models(mut self, models: Arc<Models>) -> Self {
        for kind in models.job_kinds() {
            self.catalog.enable_job(kind);
        }
        self.models = Some(models);
        self
    }

    /// The video engines found at start-up, for transcodes.
    pub fn with_video_hardware(mut self, hardware: Arc<Hardware>) -> Self {
        self.hardware = hardware;
        self
    }

    /// Runs until `shutdown` turns true, then waits for jobs in flight.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let (catalog, layout) = (self.catalog.clone(), self.layout.clone());
        match tokio::task::spawn_blocking(move || catalog.requeue_running_jobs()).await {
            Ok(Ok(n)) if n > 0 => {
                tracing::info!(jobs = n, "re-queued jobs interrupted by the last shutdown")
            }
            Ok(Err(e)) => tracing::error!(error = %e, "could not re-queue interrupted jobs"),
            _ => {}
        }
        let catalog = self.catalog.clone();
        match tokio::task::spawn_blocking(move || requeue_missing_derivatives(&catalog, &layout)).await {
            Ok(Ok(n)) if n > 0 => tracing::info!(assets = n, "derived files are missing (a restored library?); making them again"),
            Ok(Err(e)) => tracing::error!(error = %e, "could not check the derived files"),
            _ => {}
        }
        let (catalog, places) = (self.catalog.clone(), self.places.clone());
        match tokio::task::spawn_blocking(move || catalog.name_missing_places(|lat, lon| handlers::place_name(&places, lat, lon))).await {
            Ok(Ok(n)) if n > 0 => tracing::info!(assets = n, "named the places of photos catalogued before place names"),
            Ok(Err(e)) => tracing::error!(error = %e, "could not name the places of earlier photos"),
            _ => {}
        }
        tokio::spawn(unload_when_idle(self.models.clone(), self.places.clone(), shutdown.clone()));
        let slots = self.slots.clone();
        loop {
            if *shutdown.borrow() {
                break;
            }
            let permit = tokio::select! {
                permit = slots.clone().acquire_owned() => permit.expect("semaphore is never closed"),
                _ = shutdown.changed() => break,
            };
            let catalog = self.catalog.clone();
            let claimed = tokio::task::spawn_blocking(move || catalog.claim_job(now_millis())).await;
            match claimed {
                Ok(Ok(Some(job))) => {
                    let context = Context {
                        catalog: self.catalog.clone(),
                        layout: self.layout.clone(),
                        hardware: self.hardware.clone(),
                        models: self.models.clone(),
                        places: self.places.clone(),
                    };
                    let (waker, workers) = (self.waker.clone(), self.workers.clone());
                    tokio::spawn(async move {
                        execute(context, &workers, job).await;
                        drop(permit);
                        // The outcome may have queued the asset's next job.
                        waker.wake();
                        waker.finished.notify_waiters();
                    });
                }
                Ok(Ok(None)) => {
                    drop(permit);
                    let wait = self.idle_wait().await;
                    tokio::select! {
                        _ = self.waker.queued.notified() => {}
                        _ = tokio::time::sleep(wait) => {}
                        _ = shutdown.changed() => break,
                    }
                }
                Ok(Err(e)) => {
                    drop(permit);
                    tracing::error!(error = %e, "could not read the job queue; trying again shortly");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(5)) => {}
                        _ = shutdown.changed() => break,
                    }
                }
                Err(join) => panic!("job queue task panicked: {join}"),
            }
        }
        // Wait for running jobs: each holds a slot until its outcome is recorded.
        let all = u32::try_from(self.workers.current_num_threads()).unwrap_or(u32::MAX);
        let _ = tokio::time::timeout(Duration::from_secs(30), self.slots.acquire_many(all)).await;
    }

    /// Until the next retry is due, or the idle poll.
    async fn idle_wait(&self) -> Duration {
        let catalog = self.catalog.clone();
        match tokio::task::spawn_blocking(move || catalog.next_job_due()).await {
            Ok(Ok(Some(due))) => Duration::from_millis(u64::try_from(due - now_millis()).unwrap_or(0)).min(IDLE_POLL),
            _ => IDLE_POLL,
        }
    }
}

/// Frees the models and the place-name table when unused for their idle time.
async fn unload_when_idle(models: Option<Arc<Models>>, places: Arc<Places>, mut shutdown: watch::Receiver<bool>) {
    let idle = models.as_ref().map_or(PLACES_IDLE, |m| m.idle_unload);
    let every = (idle / 4).max(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.changed() => return,
        }
        let (models, places) = (models.clone(), places.clone());
        let _ = tokio::task::spawn_blocking(move || {
            if let Some(models) = models {
                models.unload_if_idle();
            }
            if places.unload_if_idle(idle) {
                shoebox_allocator::release_freed_memory();
            }
        })
        .await;
    }
}

async fn execute(context: Context, workers: &rayon::ThreadPool, job: Job) {
    let catalog = context.catalog.clone();
    let j = job.clone();
    let (tx, rx) = tokio::sync::oneshot::channel();
    workers.spawn(move || {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| handlers::handle(&context, &j)));
        let _ = tx.send(outcome);
    });
    let outcome = match rx.await {
        Ok(Ok(outcome)) => outcome,
        _ => Err(HandlerError::Permanent("the job crashed; see the server log".into())),
    };
    let recorded = tokio::task::spawn_blocking(move || match outcome {
        Ok(()) => catalog.finish_job(&job),
        Err(HandlerError::Transient(msg)) if job.attempts < MAX_ATTEMPTS => {
            let delay = 10_000i64 << (job.attempts - 1).clamp(0, 10);
            tracing::warn!(job = job.id, kind = job.kind.as_str(), error = %msg, retry_in_ms = delay, "job failed; will retry");
            catalog.fail_job(&job, &msg, Some(now_millis() + delay.min(3_600_000)))
        }
        Err(e) => {
            tracing::warn!(job = job.id, kind = job.kind.as_str(), asset = job.asset_id.as_deref().unwrap_or(""), error = %e, "job failed");
            catalog.fail_job(&job, &e.to_string(), None)
        }
    })
    .await;
    let failure = match recorded {
        Ok(Ok(())) => return,
        Ok(Err(e)) => e.to_string(),
        Err(e) => e.to_string(),
    };
    tracing::error!(error = %failure, "could not record a job's outcome; it will run again after restart");
}

/// Backups leave derived files out, so a restored library has a catalog
/// naming thumbnails that are not there: queue them again. Checked once
/// per cache folder (a stamp marks it done), since it stats every file.
fn requeue_missing_derivatives(catalog: &Catalog, layout: &Layout) -> Result<usize, shoebox_catalog::Error> {
    let stamp = layout.derivatives_stamp();
    if stamp.exists() {
        return Ok(0);
    }
    let missing: std::collections::BTreeSet<String> = catalog
        .derived_files()?
        .into_iter()
        .filter(|(_, path)| !layout.resolve(path).exists())
        .map(|(id, _)| id)
        .collect();
    for id in &missing {
        catalog.enqueue(JobKind::GenerateThumbnails, id)?;
    }
    // Not fatal: without the stamp the check just runs again next start.
    if let Err(e) = stamp
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| std::fs::write(&stamp, ""))
    {
        tracing::warn!(error = %e, "could not stamp the cache folder as checked");
    }
    Ok(missing.len())
}
