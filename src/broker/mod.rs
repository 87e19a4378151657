//! The broker contract: one method per edge of the job lifecycle, each atomic
//! (one Lua script in Redis, one `BEGIN IMMEDIATE` transaction in SQLite).
//! Both backends pass the same conformance suite (tests/conformance).
//!
//! Every transition of a running job is guarded by its lease: the worker id
//! and the attempt number it was handed. A worker that lost its lease cannot
//! record a result over the next worker's run.

mod error;
mod keys;
mod redis;
mod runs;
mod sqlite;
pub mod stats;
mod types;
mod url;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

pub use error::BrokerError;
pub use runs::{NewRun, RunRecord, RunState, StepReport};
pub use types::*;
pub use url::{BrokerUrl, Node, RedisUrl, SYSTEM_SQLITE, TlsFiles, Topology};

use crate::flow::StepResult;
use crate::job::{IdPrefix, JobId, JobRecord, NewJob};
use crate::names::{JobName, Namespace, QueueName};

/// Whether the SQLite file at `path` is set up for this taskq, read
/// without changing it (opening a broker on an older one migrates it).
pub fn sqlite_is_current(path: &std::path::Path) -> bool {
    sqlite::is_current(path)
}

/// Connects to the broker at `url`, under namespace `ns`.
pub async fn connect(url: &BrokerUrl, ns: &Namespace) -> Result<Arc<dyn Broker>, BrokerError> {
    connect_with(url, ns, Options::default()).await
}

/// Connects with `options` (the failed set's bounds, and for tests a
/// shifted clock).
pub async fn connect_with(url: &BrokerUrl, ns: &Namespace, options: Options) -> Result<Arc<dyn Broker>, BrokerError> {
    match url {
        BrokerUrl::Redis { .. } => Ok(Arc::new(redis::RedisBroker::connect(url, ns.as_str(), options).await?)),
        BrokerUrl::Sqlite { path } => Ok(Arc::new(sqlite::SqliteBroker::open(path, ns.as_str(), options).await?)),
    }
}

/// How a broker connection behaves beyond its URL.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub retention: Retention,
    /// Zero outside tests: see [`ClockShift`].
    pub shift: ClockShift,
}

/// How much of the failed set a namespace keeps (SPEC §4, Sidekiq's dead
/// set rule): beyond either bound the oldest entries are deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub failed_max: u64,
    pub failed_ttl: Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { failed_max: 10_000, failed_ttl: Duration::from_secs(180 * 86_400) }
    }
}

/// A tick asked for more than this before its instant (by the broker's
/// clock) is refused as early: a beat whose clock offset is wrong (not yet
/// measured, or the host's clock stepped) must not claim ticks ahead of time.
pub const EARLY_TICK: Duration = Duration::from_millis(250);

/// How long a worker's heartbeat lasts: a worker silent this long is gone.
pub const WORKER_TTL: Duration = Duration::from_secs(30);

/// An amount added to the broker's clock by every transition. Zero outside
/// tests: there the broker's clock (Redis `TIME`, the SQLite host's clock)
/// judges every lease, delay, expiry and TTL, whatever the caller's clock says.
/// A test moves it on by hand (`advance`), or lets it follow tokio's clock
/// (`following_tokio`), which a paused runtime moves only when every task
/// waits: beat then runs days of ticks in milliseconds, deterministically.
#[derive(Debug, Clone, Default)]
pub struct ClockShift(Arc<Shift>);

#[derive(Debug, Default)]
struct Shift {
    by_ms: AtomicI64,
    /// The simulated start, and tokio's instant at that start.
    follows: Option<(Timestamp, tokio::time::Instant)>,
}

impl ClockShift {
    /// A clock that reads `start` now and then runs as tokio's clock does
    /// (in a runtime with paused time: `#[tokio::test(start_paused = true)]`).
    /// Made inside the runtime.
    pub fn following_tokio(start: Timestamp) -> ClockShift {
        ClockShift(Arc::new(Shift { by_ms: AtomicI64::new(0), follows: Some((start, tokio::time::Instant::now())) }))
    }

    /// Moves the broker's clock forward by `by` (the shifts add up).
    pub fn advance(&self, by: Duration) {
        self.0.by_ms.fetch_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX), Ordering::SeqCst);
    }

    /// The time on this clock: the host's, shifted.
    pub fn now(&self) -> Timestamp {
        let base = match self.0.follows {
            Some((start, at)) => crate::time::add(start, at.elapsed()),
            None => Timestamp::now(),
        };
        base + jiff::SignedDuration::from_millis(self.0.by_ms.load(Ordering::SeqCst))
    }

    /// How far this clock is ahead of the host's, in milliseconds: what
    /// a broker whose clock is not the host's (Redis) adds to its own.
    pub(crate) fn ms(&self) -> i64 {
        match self.0.follows {
            Some(_) => crate::time::to_ms(self.now()) - crate::time::to_ms(Timestamp::now()),
            None => self.0.by_ms.load(Ordering::SeqCst),
        }
    }
}

/// The broker contract. Every instant is the broker's own clock's (Redis
/// `TIME`; the host clock for SQLite, which serves one host): no caller's
/// clock decides a lease, a due time, an expiry or a TTL.
#[async_trait]
pub trait Broker: Send + Sync {
    /// The URL, password redacted, for messages.
    fn describe(&self) -> String;

    /// The broker's clock now.
    async fn time(&self) -> Result<Timestamp, BrokerError>;

    /// Enqueues each job atomically (a batch is not all-or-nothing: each
    /// job's result is reported). A job with `run_at` in the future is
    /// `scheduled`; with a unique key already held, a duplicate.
    async fn enqueue(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>, BrokerError>;

    /// Takes the next job from the first non-empty of `take.queues`, in
    /// order, and leases it to `take.worker` for `take.lease`. Jobs found
    /// expired on the way are marked `expired`; a job whose kind is at its
    /// `max_concurrent` waits (it is skipped, not dropped).
    async fn dequeue(&self, take: &Take<'_>) -> Result<Option<Lease>, BrokerError>;

    /// Returns when a job may have become available on `queues`, or after
    /// `timeout`. Spurious returns are allowed; missed wake-ups are not.
    async fn wait_for_jobs(&self, queues: &[QueueName], timeout: Duration) -> Result<(), BrokerError>;

    /// Extends the leases of running attempts by `lease` from now; returns
    /// the attempts that are lost or that `revoke --terminate` asked to stop.
    async fn extend_leases(
        &self,
        tokens: &[LeaseToken],
        lease: Duration,
    ) -> Result<Vec<(LeaseToken, LeaseLoss)>, BrokerError>;

    /// Which of these runs `revoke --terminate` asked to stop (a cheap read,
    /// checked more often than leases are renewed).
    async fn revoked(&self, runs: &[LeaseToken]) -> Result<Vec<JobId>, BrokerError>;

    /// Cancels a job that has not started; a running one is flagged for its
    /// worker to kill when `terminate`, else left alone.
    async fn revoke(&self, id: JobId, terminate: bool) -> Result<Revoke, BrokerError>;

    /// Requeues failed jobs (every one when `ids` is `None`), attempts reset.
    async fn retry_failed(&self, ids: Option<&[JobId]>) -> Result<Vec<(JobId, Retried)>, BrokerError>;

    /// How many jobs `purge` would delete.
    async fn count(&self, what: &Purge) -> Result<u64, BrokerError>;

    /// Deletes failed jobs, or the jobs queued on a queue; returns how many.
    async fn purge(&self, what: &Purge) -> Result<u64, BrokerError>;

    /// Records how an attempt ended (nothing when the lease was lost) and,
    /// with `next`, takes the next job for the slot this frees, as `dequeue`
    /// would, in the same atomic step: no prefetch, and no round trip of its
    /// own for the take (a busy Redis queue's finishes also share calls).
    /// A scheduled run's final outcome is stamped on its schedule entry in
    /// the same step. Asked again after a lost reply, it reports the outcome
    /// recorded and hands over the same next job.
    async fn finish(&self, token: &LeaseToken, finish: Finish, next: Option<Take<'_>>)
    -> Result<Finished, BrokerError>;

    /// Publishes running attempts' output so far (for `logs -F`); an
    /// attempt whose lease is lost is left alone.
    async fn update_output(&self, updates: &[OutputUpdate]) -> Result<(), BrokerError>;

    /// Moves scheduled and retrying jobs that are due to their queues.
    async fn forward_due(&self) -> Result<Forwarded, BrokerError>;

    /// Requeues running jobs whose lease lapsed, counting the
    /// loss; a job lost `max_redeliveries` times fails as "worker lost", one
    /// flagged by `revoke --terminate` is revoked.
    async fn recover_expired(&self) -> Result<Recovery, BrokerError>;

    /// The records of `ids`, `None` for unknown or expired ones.
    async fn get(&self, ids: &[JobId]) -> Result<Vec<Option<JobRecord>>, BrokerError>;

    /// What is left of each of `ids` that succeeded with `ignore_result`
    /// within its result ttl (`None`: no such job; one whose record is kept
    /// has none). Read after `get` found no record.
    async fn tombstones(&self, ids: &[JobId]) -> Result<Vec<Option<Tombstone>>, BrokerError>;

    /// Ids of jobs (those `get` or `tombstones` finds) and of workflow runs that start with
    /// `prefix`, at most `limit`, in no particular order: how a command
    /// completes an id given in part.
    async fn find_ids(&self, prefix: &IdPrefix, limit: usize) -> Result<Vec<JobId>, BrokerError>;

    /// Records matching `filter`, newest first.
    async fn list(&self, filter: &ListFilter) -> Result<Vec<JobRecord>, BrokerError>;

    /// How many jobs on `queues` are yet to run: queued (waiting for a
    /// concurrency slot or not) or due. A burst worker stops at zero.
    async fn count_ready(&self, queues: &[QueueName]) -> Result<u64, BrokerError>;

    /// Beat: handles one tick of an entry, once however many beats ask: the
    /// tick is claimed only if later than the entry's last, then its run is
    /// enqueued (or skipped at `max_concurrent`), all in one atomic step.
    async fn fire(&self, fire: &Fire<'_>) -> Result<Fired, BrokerError>;

    /// Stamps a final outcome, now, on schedule entry `entry` (whose runs
    /// go to `queue`), as `finish` does for a scheduled job's run: for a
    /// scheduled workflow's run, which ends after the job that started it.
    /// An entry the broker has no state for is left alone.
    async fn schedule_outcome(&self, entry: &str, queue: &QueueName, succeeded: bool) -> Result<(), BrokerError>;

    /// Beat: the state of every schedule entry the broker has seen.
    async fn schedules(&self) -> Result<Vec<ScheduleState>, BrokerError>;

    /// Registers a live worker (renewed by each heartbeat); one silent for
    /// [`WORKER_TTL`] is gone from `workers`. The broker stamps `seen_at`
    /// with its own clock, and returns it.
    async fn heartbeat(&self, info: &WorkerInfo) -> Result<Timestamp, BrokerError>;

    /// Removes a worker that is stopping.
    async fn forget_worker(&self, id: &str) -> Result<(), BrokerError>;

    /// The live workers, by id.
    async fn workers(&self) -> Result<Vec<WorkerInfo>, BrokerError>;

    /// Deletes results past their TTL (and runs past theirs); returns how
    /// many jobs.
    async fn purge_expired_results(&self) -> Result<u64, BrokerError>;

    /// Pauses (or resumes) schedule `entry` for every beat; true if that
    /// changed it.
    async fn pause(&self, entry: &str, paused: bool) -> Result<bool, BrokerError>;

    /// The paused schedule entries, and since when.
    async fn paused(&self) -> Result<Vec<(String, Timestamp)>, BrokerError>;

    /// Registers beat `beat`'s definitions of its entries (entry, spec)
    /// until `ttl` from now, replacing what it registered before (an empty
    /// list: it is gone); returns every beat's live definitions.
    async fn define(
        &self,
        beat: &str,
        defs: &[(String, String)],
        ttl: Duration,
    ) -> Result<Vec<Definition>, BrokerError>;

    /// Every beat's live definitions.
    async fn definitions(&self) -> Result<Vec<Definition>, BrokerError>;

    /// Every job's statistics over the last hour and 24 h, by the broker's
    /// clock (stats.rs): counted by the transitions that end attempts.
    async fn job_stats(&self) -> Result<Vec<stats::JobStats>, BrokerError>;

    // Workflow runs (runs.rs has the state machine). Each call is atomic
    // and safe to repeat. A job carrying `workflow` reports its final
    // outcome to its run inside `finish` (Redis: through the queue's
    // outbox, applied before `finish` returns, or by maintenance).

    /// Stores a new run, `running` at step 0; false if `run.id` exists
    /// (then it counts as touched: maintenance leaves an open one be for a
    /// while longer, as its starter is still at work).
    async fn start_run(&self, run: &NewRun) -> Result<bool, BrokerError>;

    /// Records how a member of a step ended (once per id), and moves the
    /// run on. A report for an unknown run is dropped.
    async fn advance(&self, report: &StepReport) -> Result<(), BrokerError>;

    /// Records the ids step `step` launched, unless it has some already or
    /// the run is not at that step (a run that ended meanwhile still
    /// records them), and moves a running run on.
    async fn launched(&self, run: JobId, step: u32, ids: &[JobId]) -> Result<(), BrokerError>;

    /// The runs `ids`, `None` for unknown or expired ones.
    async fn get_runs(&self, ids: &[JobId]) -> Result<Vec<Option<RunRecord>>, BrokerError>;

    /// Run `id`'s state alone (cheap, where `get_runs` reads every step's
    /// ids); `None` if unknown.
    async fn run_state(&self, id: JobId) -> Result<Option<RunState>, BrokerError>;

    /// The succeeded members' results of step `step`, in launch order.
    async fn step_results(&self, run: JobId, step: u32) -> Result<Vec<StepResult>, BrokerError>;

    /// Stops a running run (`revoked`); returns the record, `None` if unknown.
    async fn revoke_run(&self, id: JobId) -> Result<Option<RunRecord>, BrokerError>;

    /// Marks an ended run's follow-ups done: it is kept for its ttl, then
    /// deleted.
    async fn settle_run(&self, id: JobId) -> Result<(), BrokerError>;

    /// Runs not settled that no call touched for `idle`, for maintenance to
    /// follow up (marked touched now, so that one worker takes each).
    async fn open_runs(&self, idle: Duration, limit: usize) -> Result<Vec<JobId>, BrokerError>;

    /// How many runs the broker holds (those ended: until their ttl), by
    /// workflow and state.
    async fn count_runs(&self) -> Result<Vec<(JobName, RunState, u64)>, BrokerError>;

    /// The runs (of `workflow` only, if given), newest first, at most `limit`.
    async fn list_runs(&self, workflow: Option<&JobName>, limit: usize) -> Result<Vec<RunRecord>, BrokerError>;
}
