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
mod sqlite;
mod url;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;

pub use error::BrokerError;
pub use url::BrokerUrl;

use crate::job::{JobId, JobRecord, JobState, NewJob};
use crate::names::{JobName, QueueName};

/// The namespace when none is configured.
pub const DEFAULT_NAMESPACE: &str = "taskq";

/// Checks a namespace: it is part of every key, so it has the name rules.
pub fn validate_namespace(ns: &str) -> Result<(), String> {
    QueueName::new(ns).map(|_| ()).map_err(|_| {
        format!("invalid namespace \"{ns}\": use letters, digits, '_', '.' and '-', starting with a letter or digit")
    })
}

/// Connects to the broker at `url`, under namespace `ns`.
pub async fn connect(url: &BrokerUrl, ns: &str) -> Result<Arc<dyn Broker>, BrokerError> {
    connect_with(url, ns, Options::default()).await
}

/// Connects with `options` (the failed set's bounds, and for tests a
/// shifted clock).
pub async fn connect_with(url: &BrokerUrl, ns: &str, options: Options) -> Result<Arc<dyn Broker>, BrokerError> {
    match url {
        BrokerUrl::Redis { .. } => Ok(Arc::new(redis::RedisBroker::connect(url, ns, options).await?)),
        BrokerUrl::Sqlite { path } => Ok(Arc::new(sqlite::SqliteBroker::open(path, ns, options).await?)),
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
#[derive(Debug, Clone, Default)]
pub struct ClockShift(Arc<AtomicI64>);

impl ClockShift {
    /// Moves the broker's clock forward by `by` (the shifts add up).
    pub fn advance(&self, by: Duration) {
        self.0.fetch_add(i64::try_from(by.as_millis()).unwrap_or(i64::MAX), Ordering::SeqCst);
    }

    /// The shift in milliseconds.
    pub(crate) fn ms(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The outcome of one enqueue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enqueued {
    /// The new job's id, or for a duplicate the first job's.
    pub id: JobId,
    /// The unique key was already held: nothing new was enqueued.
    pub duplicate: bool,
}

/// Where a take looks for a job and to whom it leases it.
#[derive(Debug, Clone, Copy)]
pub struct Take<'a> {
    pub queues: &'a [QueueName],
    pub worker: &'a str,
    pub lease: Duration,
    /// Names this take: asked again with the same grant (its reply was
    /// lost), the broker hands over the same job instead of leaving it
    /// leased to nobody. Unique per take.
    pub grant: &'a str,
}

/// A job handed to a worker, held under a lease.
#[derive(Debug, Clone)]
pub struct Lease {
    pub job: NewJob,
    /// The attempt this is: 1 for the first run.
    pub attempt: u32,
    pub worker: String,
    /// The take that handed it over: names this run alone (an attempt given
    /// back by a shutdown is counted again by the next run).
    pub grant: String,
}

impl Lease {
    /// What proves this worker still holds this run.
    pub fn token(&self) -> LeaseToken {
        LeaseToken { id: self.job.id, worker: self.worker.clone(), attempt: self.attempt, grant: self.grant.clone() }
    }
}

/// Identifies one run held by one worker; every transition of a running
/// job checks it. The grant alone is unique per run; the worker and the
/// attempt are kept for messages and grouping.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseToken {
    pub id: JobId,
    pub worker: String,
    pub attempt: u32,
    pub grant: String,
}

/// What an attempt left behind. Its times are durations measured by the
/// worker; the broker turns them into instants on its own clock.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AttemptResult {
    /// How long it ran; `None` when it never started.
    pub duration: Option<Duration>,
    /// How long ago it ended when this was sent (an outcome recorded after a
    /// broker outage keeps its real end).
    pub ended_ago: Duration,
    pub exit_code: Option<i32>,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    /// The output tail.
    pub output: String,
    /// How many bytes of output there were in all.
    pub output_total: u64,
}

/// A running attempt's output so far, for `Broker::update_output`.
#[derive(Debug, Clone)]
pub struct OutputUpdate {
    pub token: LeaseToken,
    pub output: String,
    pub total: u64,
}

/// How a running job leaves the running state.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    /// Done; the record is kept for `ttl`, or deleted at once with
    /// `ignore_result`. `hook` (its `on_success`) is enqueued with it.
    Succeeded { result: AttemptResult, ttl: Duration, ignore_result: bool, hook: Option<NewJob> },
    /// Failed for good: into the failed set, kept until retried or purged.
    /// `hook` (its `on_failure`) is enqueued with it.
    Failed { result: AttemptResult, hook: Option<NewJob> },
    /// Failed, to run again `delay` after the attempt ended.
    Retry { result: AttemptResult, delay: Duration },
    /// Killed by `revoke --terminate`; the record is kept for `ttl`.
    Revoked { result: AttemptResult, ttl: Duration },
    /// Stopped by a worker shutting down: back to the front of its queue at
    /// once, the attempt not counted.
    Requeue,
}

/// Why a running job's lease cannot be renewed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseLoss {
    /// Another worker has the job now, or it is gone.
    Lost,
    /// `revoke --terminate` asked for it: kill it and record `Finish::Revoked`.
    Revoked,
}

/// What `revoke` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoke {
    /// It had not started: it never will.
    Revoked,
    /// It is running on `worker`, which was asked to kill it.
    Terminating { worker: String },
    /// It is running on `worker`; nothing was done (no terminate).
    Running { worker: String },
    /// It had already ended in this state.
    Final(JobState),
    /// No such job.
    Unknown,
}

/// What `retry_failed` did with one job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retried {
    /// It was failed and is queued again.
    Requeued,
    /// It is not failed: nothing was done.
    NotFailed(JobState),
    /// No such job.
    Unknown,
}

/// One tick of a schedule entry, for `Broker::fire`.
#[derive(Debug, Clone)]
pub struct Fire<'a> {
    /// The entry: the scheduled job's name.
    pub entry: &'a str,
    /// The schedule and zone the tick was computed with; stored, so a
    /// changed schedule is noticed.
    pub spec: &'a str,
    pub tick: Timestamp,
    /// Ticks missed before this one (no beat ran), counted as skipped.
    pub missed: u64,
    /// The run to enqueue; `None` records the tick only (`catch_up = "skip"`).
    pub run: Option<&'a NewJob>,
    /// The job's `max_concurrent`: with that many runs active, the tick is
    /// skipped ("previous run still active").
    pub max_concurrent: Option<u32>,
    /// The entry's state may be forgotten if no tick comes by then (a
    /// removed entry's state does not stay forever).
    pub keep_until: Timestamp,
}

/// What `fire` did with a tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fired {
    /// The entry was at this tick or later already (another beat had it).
    Already,
    /// The tick has not come yet by the broker's clock (the asking beat's
    /// idea of the broker's time is off): nothing was claimed.
    Early,
    /// Recorded without a run.
    Recorded,
    /// Not run: the previous run is still active.
    Skipped,
    /// The run's unique key is held by this job.
    Duplicate(JobId),
    Enqueued(JobId),
}

/// What the broker remembers of a schedule entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleState {
    pub entry: String,
    pub spec: String,
    /// The last tick handled, fired or skipped.
    pub last_tick: Timestamp,
    pub last_job: Option<JobId>,
    pub fired: u64,
    pub skipped: u64,
    pub last_skip: Option<String>,
    /// When a run of this entry last succeeded, and last failed.
    pub last_success: Option<Timestamp>,
    pub last_failure: Option<Timestamp>,
}

/// What a live worker reports about itself in its heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkerInfo {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub queues: Vec<String>,
    pub concurrency: usize,
    /// Runs the scheduler too (`run --beat`).
    pub beat: bool,
    pub started_at: Timestamp,
    /// When the broker last heard from it, by the broker's clock (set by
    /// `workers`).
    #[serde(default = "epoch", skip_serializing)]
    pub seen_at: Timestamp,
    /// How far its host's clock is from the broker's (host minus broker);
    /// more than a second is a problem (SPEC §4 "One clock").
    #[serde(default)]
    pub clock_offset_ms: i64,
    /// The jobs it is running.
    pub running: Vec<RunningJob>,
}

fn epoch() -> Timestamp {
    Timestamp::UNIX_EPOCH
}

/// A job a worker is running, as its heartbeat reports it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunningJob {
    pub id: JobId,
    pub job: String,
    pub attempt: u32,
}

/// What `purge` deletes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Purge {
    /// The failed set.
    Failed,
    /// The jobs queued on a queue.
    Queue(QueueName),
}

/// What `finish` did.
#[derive(Debug, Clone)]
pub struct Finished {
    /// `false`: the lease was lost and nothing was recorded.
    pub recorded: bool,
    /// Failed jobs deleted to keep the failed set within its bounds.
    pub dropped: u64,
    /// The next job for the freed slot, when one was asked for and queued.
    pub next: Option<Lease>,
}

/// What `list` selects.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub state: Option<JobState>,
    pub queue: Option<QueueName>,
    pub job: Option<JobName>,
    pub limit: usize,
}

/// The result of moving due jobs to their queues.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Forwarded {
    pub moved: usize,
    /// When the next scheduled or retrying job becomes due.
    pub next_due: Option<Timestamp>,
}

/// What `recover_expired` did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recovery {
    pub jobs: Vec<Recovered>,
    /// Failed jobs deleted to keep the failed set within its bounds.
    pub dropped: u64,
}

/// A job whose worker was lost, found by `recover_expired`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    pub id: JobId,
    /// Requeued (`Queued`), given up on as a poison job (`Failed`), or
    /// `Revoked` (its termination was asked for).
    pub state: JobState,
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

    /// Which of these jobs `revoke --terminate` asked to stop (a cheap read,
    /// checked more often than leases are renewed).
    async fn revoked(&self, ids: &[JobId]) -> Result<Vec<JobId>, BrokerError>;

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
    /// would, in the same atomic step: one round trip per job, no prefetch.
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

    /// Records matching `filter`, newest first.
    async fn list(&self, filter: &ListFilter) -> Result<Vec<JobRecord>, BrokerError>;

    /// How many jobs on `queues` are yet to run: queued (waiting for a
    /// concurrency slot or not) or due. A burst worker stops at zero.
    async fn count_ready(&self, queues: &[QueueName]) -> Result<u64, BrokerError>;

    /// Beat: handles one tick of an entry, once however many beats ask: the
    /// tick is claimed only if later than the entry's last, then its run is
    /// enqueued (or skipped at `max_concurrent`), all in one atomic step.
    async fn fire(&self, fire: &Fire<'_>) -> Result<Fired, BrokerError>;

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

    /// Deletes results past their TTL; returns how many.
    async fn purge_expired_results(&self) -> Result<u64, BrokerError>;
}
