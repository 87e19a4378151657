//! The worker: takes a job only when it has a free slot (no prefetch), runs
//! it, and records the outcome under its lease. Loops run side by side: the
//! fetch loop (`fetch.rs`) and each slot's job (`slot.rs`), lease renewal
//! (`lease.rs`), broker maintenance (`maintain.rs`: due jobs, lost workers,
//! expired results) and presence (heartbeats, the broker clock).
//!
//! Shutdown, in order: stop fetching; let running jobs finish within the
//! shutdown timeout; kill what is left and requeue it at once, its attempt
//! not counted; give up on a broker that stays out of reach (the leases
//! lapse and the jobs run again elsewhere); stop renewal and maintenance.
//!
//! Broker errors never end a worker: every call is retried with backoff
//! (`run --burst` exits 69 instead, as one-shot commands do).

mod ended;
mod fetch;
mod hooks;
mod lease;
mod maintain;
pub mod queues;
pub mod retry;
mod slot;

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::broker::{Broker, BrokerError, LeaseToken, RunState, RunningJob, WorkerInfo};
use crate::clock::BrokerClock;
use crate::config::Config;
use crate::exec::output::LiveOutput;
use crate::exec::{Executor, Kill};
use crate::job::{JobId, WorkflowStep};
use crate::shutdown::Shutdown;
pub use queues::QueueSelection;

/// How long an idle worker waits for a wake-up before looking again anyway.
const IDLE_WAIT: Duration = Duration::from_secs(1);
/// Pauses between attempts to reach a broker that failed.
const RETRY_FIRST: Duration = Duration::from_millis(100);
const RETRY_MAX: Duration = Duration::from_secs(10);
/// After the shutdown timeout killed what ran, how long requeueing it may
/// wait for the broker before the worker gives up (the leases then lapse).
const REQUEUE_GRACE: Duration = Duration::from_secs(10);

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// `-Q`; none: the config's queues, as reloads change them.
    pub queues: Option<QueueSelection>,
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
    /// Another worker has the job now.
    LeaseLost,
    /// The lease could not be renewed and would lapse: the job is stopped
    /// before it can, so it never runs on two workers at once.
    LeaseExpiring,
    /// `revoke --terminate`.
    Revoked,
}

/// A job this worker is running. Inserted by its slot when the job starts,
/// removed by the slot when its outcome is recorded; renewal reads the
/// tokens and moves `deadline`, renewal and shutdown stop runs.
struct Running {
    /// The job's name, for heartbeats.
    job: String,
    kill: Kill,
    reason: Arc<OnceLock<StopReason>>,
    /// Set once the job has ended: a lost lease then no longer matters.
    finishing: Arc<AtomicBool>,
    /// Its output so far, published for `logs -F` by the renewal loop.
    output: Arc<LiveOutput>,
    /// Until when the lease surely holds, on this host's monotonic clock:
    /// the lease's length after the call that granted or renewed it was
    /// sent (the broker counted from a later instant).
    deadline: Instant,
    /// How long the job gets between SIGTERM and SIGKILL when its lease
    /// is about to lapse: its `kill_after`, at most a tenth of the lease
    /// (short, so that renewals have most of the lease to get through).
    grace: Duration,
    /// When it started here, for heartbeats (`top` shows how long it runs).
    since: Instant,
}

/// Keyed by lease token, not job id: a worker may be handed a job again
/// while an earlier run of it is still being wound down here.
/// std Mutex: held only to insert, remove, copy or update entries, never
/// across .await.
type RunningJobs = Arc<Mutex<HashMap<LeaseToken, Running>>>;

fn lock(jobs: &RunningJobs) -> std::sync::MutexGuard<'_, HashMap<LeaseToken, Running>> {
    jobs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What every loop of a worker shares.
struct Shared {
    id: String,
    broker: Arc<dyn Broker>,
    clock: Arc<BrokerClock>,
    /// The config now: replaced whole by a reload (SIGHUP, or a job name it
    /// lacks after jobs.toml changed); a job in progress keeps the one it
    /// started with.
    config: std::sync::RwLock<Arc<Config>>,
    /// When jobs.toml was last read (its modification time then).
    config_read: Mutex<Option<std::time::SystemTime>>,
    /// The queues served: `-Q`, else the config's, set again by a reload.
    selection: std::sync::RwLock<Arc<QueueSelection>>,
    executor: Executor,
    opts: WorkerOptions,
    running: RunningJobs,
    /// Signalled when a job ends or maintenance made jobs due.
    local_wake: Notify,
    shutdown: Shutdown,
    /// Cancelled when the worker stops waiting for the broker: calls still
    /// retrying give up (their leases lapse; the jobs run again elsewhere).
    give_up: CancellationToken,
    /// Numbers each take's grant.
    grants: AtomicU64,
    /// A burst worker's broker error: it stops and exits with it.
    failure: Mutex<Option<BrokerError>>,
    /// The last workflow steps' results read for `TASKQ_PREV_OUTPUTS`, as
    /// the file's text: a complete step's results never change, and every
    /// job of a `map` reads the same ones.
    prev_outputs: Mutex<VecDeque<(WorkflowStep, Arc<str>)>>,
    /// Workflow runs' states as last read, and when (`run_ended`).
    run_states: Mutex<HashMap<JobId, (RunState, Instant)>>,
}

impl Shared {
    /// A fresh grant: names one take, so a retried take after a lost reply
    /// gets the same job.
    fn grant(&self) -> String {
        format!("{}/{}", self.id, self.grants.fetch_add(1, Ordering::Relaxed))
    }

    /// Stops a burst worker that met a broker error; `run` returns it.
    fn fail(&self, e: BrokerError) {
        tracing::error!(error = %e, "broker error; stopping the burst run");
        self.failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get_or_insert(e);
        self.shutdown.graceful().cancel();
        self.give_up.cancel();
    }

    /// The config now.
    fn config(&self) -> Arc<Config> {
        self.config.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// The queues served: `-Q`, else those of the config in use (a reload
    /// that adds a queue adds it here).
    fn queues(&self) -> Arc<QueueSelection> {
        self.selection.read().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }

    /// Reads jobs.toml again and, if it is valid, runs the jobs that start
    /// from now on by it; an invalid one is reported and the running config
    /// kept. `why` is logged.
    fn reload(&self, why: &str) -> bool {
        let path = self.config().path.clone();
        *self.config_read.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = modified(&path);
        match Config::load(&path) {
            Ok(config) => {
                let served = self.opts.queues.as_ref().map(QueueSelection::all);
                for refused in crate::exec::identity::refusals(&config, served.as_deref()) {
                    tracing::error!(config = %path.display(), "{refused}; its runs will fail");
                }
                // Made now if HTTP jobs came with this config: its first job
                // does not wait for it, and a failure is said here.
                if config.has_http_jobs()
                    && let Err(e) = self.executor.prepare_http()
                {
                    tracing::error!(config = %path.display(), "{e:#}; its HTTP jobs will fail");
                }
                tracing::info!(
                    config = %path.display(), jobs = config.jobs.len(), workflows = config.workflows.len(), why,
                    "config reloaded"
                );
                if self.opts.queues.is_none() {
                    let queues = QueueSelection::equal(config.queues());
                    if queues != *self.queues() {
                        let names: Vec<String> = queues.all().iter().map(ToString::to_string).collect();
                        tracing::info!(queues = %names.join(","), "serving the config's queues");
                    }
                    *self.selection.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(queues);
                }
                *self.config.write().unwrap_or_else(std::sync::PoisonError::into_inner) = Arc::new(config);
                true
            }
            Err(errors) => {
                for e in &errors.0 {
                    tracing::error!("reload: {e}");
                }
                tracing::error!(config = %path.display(), "reload failed: keeping the running config");
                false
            }
        }
    }

    /// Reloads jobs.toml if it changed since it was last read: for a job
    /// name this config lacks (a deploy that added it). True if reloaded.
    fn reload_if_changed(&self) -> bool {
        let path = self.config().path.clone();
        let now = modified(&path);
        let then = *self.config_read.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        now.is_some() && now != then && self.reload("jobs.toml changed, and a job named one it lacked")
    }

    /// Whether workflow run `run` ended (its state then), asked of the
    /// broker at most once a second per run: a running one's answer is
    /// kept that long, an ended one's for good.
    async fn run_ended(&self, run: JobId) -> Option<RunState> {
        const FRESH: Duration = Duration::from_secs(1);
        let now = Instant::now();
        {
            let known = self.run_states.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            match known.get(&run) {
                Some((state, _)) if state.is_final() => return Some(*state),
                Some((_, at)) if now.duration_since(*at) < FRESH => return None,
                _ => {}
            }
        }
        // Unknown to the broker (or unreadable now): run the job.
        let state = self.broker.run_state(run).await.ok()??;
        let mut known = self.run_states.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if known.len() > 1000 {
            known.retain(|_, (s, at)| s.is_final() || now.duration_since(*at) < FRESH);
            if known.len() > 1000 {
                known.clear();
            }
        }
        known.insert(run, (state, now));
        state.is_final().then_some(state)
    }

    /// The text of `TASKQ_PREV_OUTPUTS` for a job of workflow step `step`.
    async fn prev_outputs(&self, step: &WorkflowStep) -> Result<Arc<str>, BrokerError> {
        /// Steps remembered.
        const KEEP: usize = 8;
        let cached = |cache: &VecDeque<(WorkflowStep, Arc<str>)>| {
            cache.iter().find(|(s, _)| s == step).map(|(_, text)| text.clone())
        };
        if let Some(text) = cached(&self.prev_outputs.lock().unwrap_or_else(std::sync::PoisonError::into_inner)) {
            return Ok(text);
        }
        let results = crate::workflow::drive::prev_results(&*self.broker, step).await?;
        let text: Arc<str> = crate::workflow::prev_outputs(&results).into();
        let mut cache = self.prev_outputs.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if cache.len() == KEEP {
            cache.pop_front();
        }
        cache.push_back((step.clone(), text.clone()));
        Ok(text)
    }

    /// A pause between retries, or `false` when the worker gave up meanwhile.
    async fn pause(&self, delay: Duration) -> bool {
        tokio::select! {
            () = tokio::time::sleep(delay) => true,
            () = self.give_up.cancelled() => false,
        }
    }
}

/// A worker process's loops.
pub struct Worker {
    shared: Arc<Shared>,
}

impl Worker {
    pub fn new(
        broker: Arc<dyn Broker>,
        clock: Arc<BrokerClock>,
        config: Arc<Config>,
        opts: WorkerOptions,
        shutdown: Shutdown,
    ) -> anyhow::Result<Worker> {
        let executor = Executor::with_reaper()?;
        if config.has_http_jobs() {
            executor.prepare_http()?;
        }
        let shared = Shared {
            id: crate::presence::process_id(),
            broker,
            clock,
            config_read: Mutex::new(modified(&config.path)),
            selection: std::sync::RwLock::new(Arc::new(
                opts.queues.clone().unwrap_or_else(|| QueueSelection::equal(config.queues())),
            )),
            config: std::sync::RwLock::new(config),
            executor,
            opts,
            running: Arc::new(Mutex::new(HashMap::new())),
            local_wake: Notify::new(),
            shutdown,
            give_up: CancellationToken::new(),
            grants: AtomicU64::new(0),
            failure: Mutex::new(None),
            prev_outputs: Mutex::new(VecDeque::new()),
            run_states: Mutex::new(HashMap::new()),
        };
        Ok(Worker { shared: Arc::new(shared) })
    }

    /// The queues this worker takes jobs from.
    pub fn queues(&self) -> Vec<crate::names::QueueName> {
        self.shared.queues().all()
    }

    /// What the worker is doing, in a line (systemd's STATUS): how many of
    /// its slots run jobs, and from which queues it takes them.
    pub fn status(&self) -> impl Fn() -> String + Send + Sync + 'static {
        let running = self.shared.running.clone();
        let concurrency = self.shared.opts.concurrency;
        let shared = self.shared.clone();
        move || format!("running {}/{concurrency} jobs from {}", lock(&running).len(), queue_list(&shared))
    }

    /// This worker's id, as job records show it.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    /// Runs until the shutdown it was made with (or, in burst mode, until
    /// the queues are drained).
    pub async fn run(self) -> anyhow::Result<()> {
        let shared = self.shared;
        let opts = &shared.opts;
        tracing::info!(
            worker = %shared.id,
            queues = %queue_list(&shared),
            concurrency = opts.concurrency,
            broker = %shared.broker.describe(),
            "worker started"
        );
        let background = CancellationToken::new();
        let renewer = tokio::spawn(vital(lease::renew(shared.clone(), background.clone())));
        let maintainer = tokio::spawn(maintain::run(shared.clone(), background.clone()));
        let presence = tokio::spawn(crate::presence::run(
            shared.broker.clone(),
            shared.clock.clone(),
            shared.id.clone(),
            report(shared.clone()),
            background.clone(),
        ));
        let reloader = tokio::spawn(reload_on_request(shared.clone(), background.clone()));
        let tracker = TaskTracker::new();
        let slots = Arc::new(Semaphore::new(opts.concurrency.max(1)));

        // On a runtime thread, not the thread that blocks on the command:
        // a wake-up, the take it makes and the job it starts then pass
        // between tasks on one thread, not through futex wake-ups between
        // threads (each one 0.1 ms on an idle machine). It stops with this
        // future if the caller drops it.
        let fetching = {
            let (shared, slots, tracker) = (shared.clone(), slots.clone(), tracker.clone());
            tokio_util::task::AbortOnDropHandle::new(tokio::spawn(async move {
                fetch::run(&shared, &slots, &tracker).await
            }))
        };
        let result = match fetching.await {
            Ok(result) => result,
            Err(e) => match e.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(e) => Err(anyhow::anyhow!("the fetch loop stopped: {e}")),
            },
        };
        drain(&shared, &tracker).await;
        background.cancel();
        let _ = tokio::join!(renewer, maintainer, presence, reloader);
        tracing::info!(worker = %shared.id, "worker stopped");
        let failure = shared.failure.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        match failure {
            Some(e) => Err(e.into()),
            None => result,
        }
    }
}

/// Runs a loop the worker's promises rest on (lease renewal: without it,
/// running jobs would outlive their leases). If it panics, the process
/// aborts: its reaper kills the running jobs at once, their leases lapse and
/// they run again elsewhere, and the service manager restarts the worker.
async fn vital(run: impl Future<Output = ()>) {
    use futures_util::FutureExt as _;
    if std::panic::AssertUnwindSafe(run).catch_unwind().await.is_err() {
        tracing::error!("internal error: lease renewal failed; stopping at once so no job outlives its lease");
        std::process::abort();
    }
}

/// Lets running jobs finish within the shutdown timeout, then kills and
/// requeues them, giving up on the broker if it stays out of reach.
async fn drain(shared: &Shared, tracker: &TaskTracker) {
    tracker.close();
    if tracker.is_empty() {
        shared.give_up.cancel();
        return;
    }
    let shutdown = &shared.shutdown;
    tracing::info!(running = tracker.len(), "waiting for running jobs to finish");
    tokio::select! {
        () = tracker.wait() => {}
        () = tokio::time::sleep(shared.opts.shutdown_timeout) => stop_all(shared, "shutdown timeout reached"),
        () = shutdown.immediate().cancelled() => stop_all(shared, "second signal"),
    }
    // Killed jobs requeue themselves before their tasks end, if the broker
    // lets them; an unreachable one is waited for only so long.
    let longest_kill = shared.config().jobs.iter().map(|d| d.kill_after).max().unwrap_or_default();
    tokio::select! {
        () = tracker.wait() => {}
        () = tokio::time::sleep(longest_kill + REQUEUE_GRACE) => {
            tracing::warn!("the broker is out of reach; leaving the stopped jobs to their leases");
        }
        () = shutdown.immediate().cancelled() => stop_all(shared, "second signal"),
    }
    shared.give_up.cancel();
    tracker.wait().await;
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

fn queue_list(shared: &Shared) -> String {
    shared.queues().all().iter().map(crate::names::QueueName::as_str).collect::<Vec<_>>().join(",")
}

/// What this worker's heartbeats say.
fn report(shared: Arc<Shared>) -> impl Fn() -> WorkerInfo + Send {
    // Read on the broker's clock at each report: the first is sent only
    // after the offset was measured.
    let started = std::time::Instant::now();
    move || {
        let started_at = shared.clock.now() - jiff::SignedDuration::try_from(started.elapsed()).unwrap_or_default();
        let running = lock(&shared.running)
            .iter()
            .map(|(token, r)| RunningJob {
                id: token.id,
                job: r.job.clone(),
                attempt: token.attempt,
                started_at: Some(
                    shared.clock.now() - jiff::SignedDuration::try_from(r.since.elapsed()).unwrap_or_default(),
                ),
            })
            .collect();
        WorkerInfo {
            id: shared.id.clone(),
            host: crate::presence::hostname(),
            pid: std::process::id(),
            queues: shared.queues().all().iter().map(ToString::to_string).collect(),
            concurrency: shared.opts.concurrency,
            beat: shared.opts.beat,
            started_at,
            seen_at: jiff::Timestamp::UNIX_EPOCH,
            clock_offset_ms: 0,
            running,
        }
    }
}

/// Reloads the config at each request (SIGHUP) until `stop`: the jobs that
/// start from then on run by the new one.
async fn reload_on_request(shared: Arc<Shared>, stop: CancellationToken) {
    let mut reloads = shared.shutdown.reloads();
    loop {
        tokio::select! {
            changed = reloads.changed() => {
                if changed.is_err() {
                    return;
                }
                shared.reload("SIGHUP");
            }
            () = stop.cancelled() => return,
        }
    }
}

/// A file's modification time, if it can be read.
fn modified(path: &std::path::Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}
