//! The worker: takes a job only when it has a free slot (no prefetch), runs
//! it, and records the outcome under its lease. Three loops run side by side:
//! the fetch loop here, lease renewal (`lease.rs`), and broker maintenance
//! (`maintain.rs`: due jobs, lost workers, expired results).
//!
//! Shutdown, in order: stop fetching; let running jobs finish within the
//! shutdown timeout; kill what is left and requeue it at once, its attempt
//! not counted; stop renewal and maintenance.

mod heartbeat;
mod hooks;
mod lease;
mod maintain;
mod outcome;
pub mod queues;
pub mod retry;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use jiff::Timestamp;
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::broker::{AttemptResult, Broker, BrokerError, Finish, Lease, LeaseToken, Take};
use crate::config::Config;
use crate::exec::output::{LiveOutput, OutputSink, Prefixed};
use crate::exec::{Attempt, Executor};
use crate::job::JobId;
use crate::shutdown::Shutdown;
pub use queues::QueueSelection;

/// How long an idle worker waits for a wake-up before looking again anyway.
const IDLE_WAIT: Duration = Duration::from_secs(1);
/// Longest pause between attempts to reach an unavailable broker.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(10);

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    pub queues: QueueSelection,
    pub concurrency: usize,
    pub lease: Duration,
    pub shutdown_timeout: Duration,
    /// Exit once the queues are drained.
    pub burst: bool,
    /// Echo each job's output on stderr.
    pub job_output: bool,
    /// The scheduler runs in this process too (for heartbeats).
    pub beat: bool,
}

/// Why a running job was stopped from outside.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopReason {
    Shutdown,
    LeaseLost,
    /// `revoke --terminate`.
    Revoked,
}

/// A job this worker is running. Written by the fetch loop when the job
/// starts, removed by the job's task when its outcome is recorded; read by
/// renewal (to extend leases) and shutdown (to kill).
struct Running {
    token: LeaseToken,
    /// The job's name, for heartbeats.
    job: String,
    kill: CancellationToken,
    reason: Arc<OnceLock<StopReason>>,
    /// Set once the job has ended: a lost lease then no longer matters.
    finishing: Arc<AtomicBool>,
    /// Its output so far, published for `logs -F` by the renewal loop.
    output: Arc<LiveOutput>,
}

/// std Mutex: held only to insert, remove or copy entries, never across .await.
type RunningJobs = Arc<Mutex<HashMap<JobId, Running>>>;

fn lock(jobs: &RunningJobs) -> std::sync::MutexGuard<'_, HashMap<JobId, Running>> {
    jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What every job task shares.
struct Shared {
    id: String,
    broker: Arc<dyn Broker>,
    config: Arc<Config>,
    executor: Executor,
    opts: WorkerOptions,
    running: RunningJobs,
    /// Signalled when a job ends or maintenance made jobs due.
    local_wake: Notify,
    shutdown: Shutdown,
}

/// A worker process's loops.
pub struct Worker {
    id: String,
    broker: Arc<dyn Broker>,
    config: Arc<Config>,
    executor: Executor,
    opts: WorkerOptions,
    running: RunningJobs,
}

impl Worker {
    pub fn new(broker: Arc<dyn Broker>, config: Arc<Config>, opts: WorkerOptions) -> anyhow::Result<Worker> {
        let id = format!("{}:{}:{:04x}", hostname(), std::process::id(), rand::random::<u16>());
        let running = Arc::new(Mutex::new(HashMap::new()));
        Ok(Worker { id, broker, config, executor: Executor::with_reaper()?, opts, running })
    }

    /// The queues this worker takes jobs from.
    pub fn queues(&self) -> Vec<crate::names::QueueName> {
        self.opts.queues.all()
    }

    /// What the worker is doing, in a line (systemd's STATUS): how many of
    /// its slots run jobs, and from which queues it takes them.
    pub fn status(&self) -> impl Fn() -> String + Send + Sync + 'static {
        let running = self.running.clone();
        let concurrency = self.opts.concurrency;
        let queues = self.opts.queues.all().iter().map(super::names::QueueName::as_str).collect::<Vec<_>>().join(",");
        move || format!("running {}/{concurrency} jobs from {queues}", lock(&running).len())
    }

    /// This worker's id, as job records show it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Runs until `shutdown` (or, in burst mode, until the queues are drained).
    pub async fn run(self, shutdown: Shutdown) -> anyhow::Result<()> {
        let shared = Arc::new(Shared {
            id: self.id,
            broker: self.broker,
            config: self.config,
            executor: self.executor,
            opts: self.opts,
            running: self.running,
            local_wake: Notify::new(),
            shutdown: shutdown.clone(),
        });
        let opts = &shared.opts;
        tracing::info!(
            worker = %shared.id,
            queues = %opts.queues.all().iter().map(super::names::QueueName::as_str).collect::<Vec<_>>().join(","),
            concurrency = opts.concurrency,
            broker = %shared.broker.describe(),
            "worker started"
        );
        let background = CancellationToken::new();
        let renewer =
            tokio::spawn(lease::renew(shared.broker.clone(), shared.running.clone(), opts.lease, background.clone()));
        let maintainer = tokio::spawn(maintain::run(shared.clone(), background.clone()));
        let heartbeats = tokio::spawn(heartbeat::run(shared.clone(), Timestamp::now(), background.clone()));
        let tracker = TaskTracker::new();
        let slots = Arc::new(Semaphore::new(opts.concurrency.max(1)));

        let result = fetch_loop(&shared, &slots, &tracker, &shutdown).await;

        tracker.close();
        if !tracker.is_empty() {
            tracing::info!(running = tracker.len(), "waiting for running jobs to finish");
            tokio::select! {
                () = tracker.wait() => {}
                () = tokio::time::sleep(opts.shutdown_timeout) => stop_all(&shared, "shutdown timeout reached"),
                () = shutdown.immediate().cancelled() => stop_all(&shared, "second signal"),
            }
            // Killed jobs requeue themselves before their tasks end.
            tokio::select! {
                () = tracker.wait() => {}
                () = shutdown.immediate().cancelled() => {
                    stop_all(&shared, "second signal");
                    tracker.wait().await;
                }
            }
        }
        background.cancel();
        let _ = tokio::join!(renewer, maintainer, heartbeats);
        tracing::info!(worker = %shared.id, "worker stopped");
        result
    }
}

/// Kills every running job for a shutdown: each is requeued at once.
fn stop_all(shared: &Shared, why: &str) {
    let jobs = lock(&shared.running);
    if !jobs.is_empty() {
        tracing::warn!(jobs = jobs.len(), "{why}: stopping running jobs and requeueing them");
    }
    for job in jobs.values() {
        let _ = job.reason.set(StopReason::Shutdown);
        job.kill.cancel();
    }
}

async fn fetch_loop(
    shared: &Arc<Shared>,
    slots: &Arc<Semaphore>,
    tracker: &TaskTracker,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    let opts = &shared.opts;
    let mut outage = Outage::default();
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit?,
            () = shutdown.graceful().cancelled() => return Ok(()),
        };
        let order = opts.queues.order();
        match shared.broker.dequeue(&order, &shared.id, opts.lease, Timestamp::now()).await {
            Ok(Some(lease)) => {
                outage.ended();
                start(shared, lease, permit, tracker);
            }
            Ok(None) => {
                outage.ended();
                drop(permit);
                if opts.burst && drained(shared, tracker).await? {
                    tracing::info!("queues drained");
                    return Ok(());
                }
                tokio::select! {
                    result = shared.broker.wait_for_jobs(&order, IDLE_WAIT) => {
                        if let Err(e) = result {
                            outage.failed(&e, opts.burst)?;
                        }
                    }
                    () = shared.local_wake.notified() => {}
                    () = shutdown.graceful().cancelled() => return Ok(()),
                }
            }
            Err(e) => {
                drop(permit);
                let delay = outage.failed(&e, opts.burst)?;
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = shutdown.graceful().cancelled() => return Ok(()),
                }
            }
        }
    }
}

/// Burst mode: nothing queued or due on our queues, and no slot busy here
/// (a busy slot may still take more jobs).
async fn drained(shared: &Shared, tracker: &TaskTracker) -> anyhow::Result<bool> {
    if !tracker.is_empty() {
        return Ok(false);
    }
    let now = Timestamp::now();
    shared.broker.forward_due(now).await?;
    Ok(shared.broker.count_ready(&shared.opts.queues.all(), now).await? == 0)
}

/// Tracks a broker outage: one log line when it starts and one when it ends,
/// and a capped backoff between attempts meanwhile.
#[derive(Default)]
struct Outage {
    since: Option<tokio::time::Instant>,
    delay: Duration,
}

impl Outage {
    /// Records a failure; returns how long to wait, or the error itself when
    /// it is not worth waiting out (burst mode, or not an outage).
    fn failed(&mut self, err: &BrokerError, burst: bool) -> anyhow::Result<Duration> {
        if burst || !err.is_unavailable() {
            return Err(anyhow::anyhow!("{err}"));
        }
        if self.since.is_none() {
            tracing::error!(error = %err, "broker unavailable; retrying with backoff");
            self.since = Some(tokio::time::Instant::now());
            self.delay = Duration::from_millis(100);
        } else {
            self.delay = (self.delay * 2).min(MAX_RETRY_DELAY);
        }
        Ok(self.delay)
    }

    fn ended(&mut self) {
        if let Some(since) = self.since.take() {
            tracing::info!(after = %humantime::format_duration(Duration::from_secs(since.elapsed().as_secs())), "broker reachable again");
        }
    }
}

/// Starts a slot's task: it runs the job, and then each next job the broker
/// hands over when the outcome is recorded, until there is none.
fn start(shared: &Arc<Shared>, lease: Lease, permit: OwnedSemaphorePermit, tracker: &TaskTracker) {
    let shared = shared.clone();
    tracker.spawn(async move {
        let mut current = Some(lease);
        while let Some(lease) = current.take() {
            current = run_one(&shared, lease).await;
        }
        drop(permit);
        shared.local_wake.notify_one();
    });
}

/// Runs one leased job until its outcome is recorded; returns the slot's
/// next job if the broker handed one over.
async fn run_one(shared: &Shared, lease: Lease) -> Option<Lease> {
    let kill = CancellationToken::new();
    let reason = Arc::new(OnceLock::new());
    let finishing = Arc::new(AtomicBool::new(false));
    let id = lease.job.id;
    let echo: Option<Box<dyn OutputSink>> =
        shared.opts.job_output.then(|| Box::new(Prefixed::new(format!("{id} "))) as Box<dyn OutputSink>);
    let output = Arc::new(LiveOutput::new(echo));
    lock(&shared.running).insert(
        id,
        Running {
            token: lease.token(),
            job: lease.job.job.to_string(),
            kill: kill.clone(),
            reason: reason.clone(),
            finishing: finishing.clone(),
            output: output.clone(),
        },
    );
    load(shared);
    let finish = execute(shared, &lease, &kill, &reason, output.as_ref()).await;
    finishing.store(true, Ordering::SeqCst);
    // A worker that is stopping takes no more jobs.
    let order = shared.opts.queues.order();
    let take = (!shared.shutdown.graceful().is_cancelled()).then_some(Take {
        queues: &order,
        worker: &shared.id,
        lease: shared.opts.lease,
    });
    let next = match finish {
        Some(finish) => {
            let ended = outcome::Ended::of(&finish);
            let (recorded, next) = record(shared, &lease.token(), finish, take).await;
            if recorded {
                outcome::observe(shared, &lease.job, ended).await;
            }
            next
        }
        None => match take {
            Some(t) => shared.broker.dequeue(t.queues, t.worker, t.lease, Timestamp::now()).await.unwrap_or(None),
            None => None,
        },
    };
    lock(&shared.running).remove(&id);
    load(shared);
    next
}

fn load(shared: &Shared) {
    crate::metrics::worker_load(lock(&shared.running).len(), shared.opts.concurrency);
}

/// Runs one attempt; `None` when the lease was lost and nothing is to be recorded.
async fn execute(
    shared: &Shared,
    lease: &Lease,
    kill: &CancellationToken,
    reason: &OnceLock<StopReason>,
    output: &LiveOutput,
) -> Option<Finish> {
    let job = &lease.job;
    let Some(def) = shared.config.jobs.get(job.job.as_str()) else {
        tracing::error!(job.id = %job.id, job.name = %job.job, "unknown job: not in this worker's config");
        let error =
            format!("unknown job: this worker's config ({}) has no job \"{}\"", shared.config.path.display(), job.job);
        return Some(Finish::Failed {
            result: AttemptResult { error: Some(error), ..AttemptResult::default() },
            hook: None,
        });
    };
    let params = match def.resolve_params(&job.params) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(job.id = %job.id, job.name = %job.job, error = %e, "cannot run job");
            let result = AttemptResult { error: Some(e.to_string()), ..AttemptResult::default() };
            return Some(hooks::attach(shared, def, lease, Finish::Failed { result, hook: None }));
        }
    };
    // A hook job reads its trigger's output tail from a file of its own.
    let trigger = match hooks::TriggerFile::write(job) {
        Ok(t) => t,
        Err(e) => {
            let result = AttemptResult { error: Some(e), ..AttemptResult::default() };
            return Some(Finish::Failed { result, hook: None });
        }
    };
    let attempt = Attempt {
        def,
        id: job.id,
        args: &job.args,
        params: &params,
        number: lease.attempt,
        queue: &job.queue,
        scheduled_at: job.scheduled_at.as_deref(),
        extra_env: trigger.env(),
    };
    tracing::info!(job.id = %job.id, job.name = %job.job, attempt = lease.attempt, "job started");
    let outcome = shared.executor.run(&attempt, output, kill).await;
    drop(trigger);
    match reason.get() {
        Some(StopReason::Shutdown) => {
            tracing::warn!(job.id = %job.id, job.name = %job.job, "job stopped by shutdown; requeued");
            Some(Finish::Requeue)
        }
        Some(StopReason::LeaseLost) => {
            tracing::warn!(
                job.id = %job.id, job.name = %job.job,
                "lease lost; the job was handed to another worker and this run's result is discarded"
            );
            None
        }
        Some(StopReason::Revoked) => {
            tracing::warn!(job.id = %job.id, job.name = %job.job, "job terminated: revoked");
            let mut result = retry::result_of(&outcome);
            result.error = Some("revoked: terminated by revoke --terminate".into());
            Some(Finish::Revoked { result, ttl: def.result_ttl })
        }
        None => {
            let finish = retry::decide(def, lease.attempt, &outcome);
            let duration = humantime::format_duration(Duration::from_millis(outcome.duration().as_millis() as u64));
            let error = outcome.error.as_deref().unwrap_or("");
            match &finish {
                Finish::Succeeded { .. } => {
                    tracing::info!(job.id = %job.id, job.name = %job.job, %duration, "job succeeded");
                }
                Finish::Retry { at, .. } => {
                    tracing::warn!(job.id = %job.id, job.name = %job.job, error, retry_at = %at, "job failed; will retry");
                }
                _ => tracing::warn!(job.id = %job.id, job.name = %job.job, error, "job failed"),
            }
            Some(hooks::attach(shared, def, lease, finish))
        }
    }
}

/// Records an outcome (taking the slot's next job as `take` says), waiting
/// out a broker outage (renewal keeps the lease meanwhile) unless an
/// immediate shutdown was asked for.
async fn record(shared: &Shared, token: &LeaseToken, finish: Finish, take: Option<Take<'_>>) -> (bool, Option<Lease>) {
    let mut delay = Duration::from_millis(100);
    loop {
        match shared.broker.finish(token, finish.clone(), take, Timestamp::now()).await {
            Ok(done) => {
                if !done.recorded {
                    tracing::warn!(
                        job.id = %token.id,
                        "lease lost before the outcome was recorded; another worker has the job now"
                    );
                }
                return (done.recorded, done.next);
            }
            Err(e) if e.is_unavailable() => {
                tracing::warn!(job.id = %token.id, error = %e, "cannot record the outcome yet; retrying");
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = shared.shutdown.immediate().cancelled() => return (false, None),
                }
                delay = (delay * 2).min(MAX_RETRY_DELAY);
            }
            Err(e) => {
                tracing::error!(job.id = %token.id, error = %e, "cannot record the outcome");
                return (false, None);
            }
        }
    }
}

/// This host's name, for worker ids.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}
