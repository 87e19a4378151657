//! The values that cross the broker contract: what goes in (a take, a
//! finish, a fire), what comes out (a lease, a revoke's outcome, a
//! schedule's state) and what workers report.

use std::time::Duration;

use jiff::Timestamp;

use crate::job::{JobId, JobState, NewJob};
use crate::names::{JobName, QueueName};

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
        LeaseToken {
            id: self.job.id,
            queue: self.job.queue.clone(),
            worker: self.worker.clone(),
            attempt: self.attempt,
            grant: self.grant.clone(),
        }
    }
}

/// Identifies one run held by one worker; every transition of a running
/// job checks it. The grant alone is unique per run; the worker and the
/// attempt are kept for messages and grouping.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LeaseToken {
    pub id: JobId,
    /// The job's queue (where a broker that keeps queues apart finds it).
    pub queue: QueueName,
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
    /// A workflow step's job: its stdout alone (an HTTP job's body), the
    /// result its run's next step reads, and how many bytes it was in all.
    /// `None`: the output is that result.
    pub stdout: Option<(String, u64)>,
}

impl AttemptResult {
    /// What a workflow's next step reads of this attempt, and whether it
    /// was cut to its tail.
    pub fn step_output(&self) -> (&str, bool) {
        match &self.stdout {
            Some((out, total)) => (out, *total > out.len() as u64),
            None => (&self.output, self.output_total > self.output.len() as u64),
        }
    }
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
    /// The queue the job runs on (the run's, when there is one).
    pub queue: &'a QueueName,
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
    /// The entry is paused (`taskq schedule pause`): the tick is recorded
    /// and counted as skipped ("paused"), with no run.
    pub paused: bool,
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
    /// Recorded as skipped: the entry is paused.
    Paused,
    /// Not run: the previous run is still active.
    Skipped,
    /// The run's unique key is held by this job.
    Duplicate(JobId),
    Enqueued(JobId),
}

/// What is left of a job that succeeded with `ignore_result`: its record is
/// deleted when it finishes, and this kept instead for its result ttl, so
/// that `wait` and `status` tell it from an id never seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tombstone {
    pub id: JobId,
    pub job: JobName,
    pub finished_at: Timestamp,
}

/// A running beat's definition of one schedule entry, as it registered
/// it (`Broker::define`): beats compare theirs so that an entry two of them
/// define differently fires by one of them only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub entry: String,
    /// The schedule and zone (`beat::Entry::declared`).
    pub spec: String,
    /// The beat's id.
    pub beat: String,
    /// Since when this beat has held this definition.
    pub since: Timestamp,
    /// Forgotten after this unless the beat registers it again.
    pub until: Timestamp,
}

/// What the broker remembers of a schedule entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleState {
    pub entry: String,
    pub spec: String,
    /// The last tick handled, fired or skipped; before the first, the
    /// instant a beat started running this definition (ticks count from it).
    pub last_tick: Timestamp,
    pub last_job: Option<JobId>,
    pub fired: u64,
    pub skipped: u64,
    pub last_skip: Option<String>,
    /// When a run of this entry last succeeded, and last failed.
    pub last_success: Option<Timestamp>,
    pub last_failure: Option<Timestamp>,
}

impl ScheduleState {
    /// The last tick handled; `None` while the entry has only been taken on
    /// by a beat, with no tick yet.
    pub fn ticked(&self) -> Option<Timestamp> {
        (self.fired + self.skipped > 0 || self.last_job.is_some()).then_some(self.last_tick)
    }
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
    /// When it started, by the broker's clock (none from older workers).
    #[serde(default)]
    pub started_at: Option<Timestamp>,
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
    /// A workflow step's job: its outcome completed its step or ended its
    /// run (or it could not be told, Redis: it reaches the run later), so
    /// what follows is due (`workflow::drive::follow_up`).
    pub run_moved: bool,
}

/// What `list` selects.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub state: Option<JobState>,
    pub queue: Option<QueueName>,
    pub job: Option<JobName>,
    pub limit: usize,
    /// Look at no more than this many of each queue's newest jobs (`None`:
    /// all). Redis has no index by job name: a page that must answer fast
    /// (the dashboard) bounds its search so; SQLite's indexes need no bound.
    pub scan: Option<usize>,
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
    /// Workflow runs that outcomes a lost worker left behind moved on: to
    /// follow up now (Redis; SQLite moves runs with the outcome).
    pub runs: Vec<JobId>,
}

/// A job whose worker was lost, found by `recover_expired`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovered {
    pub id: JobId,
    /// Requeued (`Queued`), given up on as a poison job (`Failed`), or
    /// `Revoked` (its termination was asked for).
    pub state: JobState,
}
