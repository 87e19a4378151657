//! The shared vocabulary of the job lifecycle: ids, states, an enqueued job,
//! its stored record, and the outcome of one attempt.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::names::{JobName, QueueName};

mod id;

pub use id::{IdArg, IdPrefix, JobId};

/// SPEC §4's states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    Scheduled,
    Queued,
    Running,
    Retrying,
    Succeeded,
    Failed,
    Revoked,
    Expired,
}

impl JobState {
    pub const ALL: [JobState; 8] = [
        JobState::Scheduled,
        JobState::Queued,
        JobState::Running,
        JobState::Retrying,
        JobState::Succeeded,
        JobState::Failed,
        JobState::Revoked,
        JobState::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Scheduled => "scheduled",
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Retrying => "retrying",
            JobState::Succeeded => "succeeded",
            JobState::Failed => "failed",
            JobState::Revoked => "revoked",
            JobState::Expired => "expired",
        }
    }

    /// Whether the job will not run again by itself.
    pub fn is_final(self) -> bool {
        matches!(self, JobState::Succeeded | JobState::Failed | JobState::Revoked | JobState::Expired)
    }
}

impl fmt::Display for JobState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for JobState {
    type Err = String;
    fn from_str(s: &str) -> Result<JobState, String> {
        JobState::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            let all: Vec<&str> = JobState::ALL.iter().map(|s| s.as_str()).collect();
            format!("unknown state \"{s}\": use one of {}", all.join(", "))
        })
    }
}

/// A job to enqueue: what goes into the broker (never the rendered command).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewJob {
    pub id: JobId,
    pub job: JobName,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<String>,
    /// Parameters as given at enqueue; defaults are applied by the worker.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    pub queue: QueueName,
    /// Not to run before then (`--delay`, `--at`); the broker resolves a
    /// relative delay on its own clock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay: Option<Delay>,
    /// Not started this long after it became due: expired. Counted by the
    /// broker's clock from the end of the delay (or the enqueue).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_duration_ms")]
    pub expires: Option<Duration>,
    /// The idempotency key and how long it is held.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unique: Option<UniqueKey>,
    /// For scheduled runs: the tick's instant, RFC 3339 with its zone's offset.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheduled_at: Option<String>,
    /// For a hook job (`on_failure`, `on_success`): the run that triggered it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trigger: Option<Trigger>,
    /// For a job a workflow's step launched: which run and step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workflow: Option<WorkflowStep>,
    /// Policy the broker itself applies, copied from the job's definition at enqueue.
    #[serde(default)]
    pub policy: BrokerPolicy,
}

/// When a delayed job becomes due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Delay {
    /// This long after the broker stored it (`--delay`): a host whose clock
    /// is off cannot make it due early.
    #[serde(with = "duration_ms")]
    For(Duration),
    /// At this instant (`--at`).
    Until(Timestamp),
}

/// The final outcome of a run, handed to the hook job it triggers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trigger {
    pub id: JobId,
    pub job: JobName,
    pub state: JobState,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
    /// The trigger's output tail.
    #[serde(default)]
    pub output: String,
}

/// Where a job stands in a workflow run (src/workflow/).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkflowStep {
    /// The run: its id, and its workflow's name.
    pub run: JobId,
    pub workflow: JobName,
    /// The step's place in the workflow, from 0.
    pub step: u32,
}

/// An idempotency key held for `window`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UniqueKey {
    pub key: String,
    #[serde(with = "duration_ms")]
    pub window: Duration,
}

/// Default `result_ttl`: the broker keeps a finished job's record this long.
pub const DEFAULT_RESULT_TTL: Duration = Duration::from_secs(24 * 3600);
/// Default `max_redeliveries`: a job whose worker is lost this often fails
/// as a poison job.
pub const DEFAULT_MAX_REDELIVERIES: u32 = 3;

/// The parts of a job's policy the broker enforces without jobs.toml.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerPolicy {
    pub max_redeliveries: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent: Option<u32>,
    /// How long the record of a job the broker ends itself (expired) is kept.
    #[serde(with = "duration_ms")]
    pub result_ttl: Duration,
}

impl Default for BrokerPolicy {
    fn default() -> Self {
        BrokerPolicy {
            max_redeliveries: DEFAULT_MAX_REDELIVERIES,
            max_concurrent: None,
            result_ttl: DEFAULT_RESULT_TTL,
        }
    }
}

/// Durations as integer milliseconds in stored JSON.
pub mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

/// Optional durations as integer milliseconds in stored JSON.
pub mod opt_duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => super::duration_ms::serialize(d, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        Ok(Option::<u64>::deserialize(d)?.map(Duration::from_millis))
    }
}

/// What the broker knows of a job: its request, state and last result. Its
/// instants are the broker's clock's, whichever host reads them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    #[serde(flatten)]
    pub job: NewJob,
    pub state: JobState,
    pub enqueued_at: Timestamp,
    /// Not started by then: expired.
    pub expires_at: Option<Timestamp>,
    /// Attempts started, including a running one.
    pub attempts: u32,
    /// When a scheduled or retrying job becomes due.
    pub due_at: Option<Timestamp>,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub worker: Option<String>,
    pub exit_code: Option<i32>,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    /// The output tail, as UTF-8 (invalid bytes replaced).
    pub output: Option<String>,
    /// How many bytes of output the attempt wrote in all (the tail keeps the
    /// last `OUTPUT_TAIL_BYTES`); lets `logs -F` print only what is new.
    pub output_total: u64,
    /// The attempts before the last, oldest first (the newest
    /// `MAX_HISTORY`): each one retried, or lost with its worker. The last
    /// attempt is the record's own fields.
    #[serde(default)]
    pub history: Vec<PastAttempt>,
}

/// Past attempts a record keeps.
pub const MAX_HISTORY: usize = 20;

/// An attempt that another followed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PastAttempt {
    /// From 1.
    pub attempt: u32,
    /// "retried" (it failed and was run again), "lost" (its worker
    /// stopped renewing its lease; it was put back in line) or "failed"
    /// (it failed for good, then `retry` requeued the job, its attempts
    /// counted from 1 again).
    pub outcome: String,
    pub started_at: Option<Timestamp>,
    pub finished_at: Option<Timestamp>,
    pub exit_code: Option<i32>,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub worker: Option<String>,
}

/// How one attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    Succeeded,
    Failed,
    /// Hit the job's `timeout`.
    TimedOut,
    /// Killed on request (shutdown, revoke).
    Killed,
    /// Could not be started: unset `${VAR}`, missing workdir, unknown job.
    NotStarted,
}

/// The outcome of one attempt, as the executor reports it.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: RunStatus,
    /// What the attempt's kind of job reported.
    pub detail: Detail,
    /// Whether this kind of failure may be retried (the job's retries decide whether it is).
    pub retryable: bool,
    /// Why it failed, in words.
    pub error: Option<String>,
    /// The last `OUTPUT_TAIL_BYTES` of output.
    pub output: Vec<u8>,
    /// How many bytes of output there were in all.
    pub output_total: u64,
    /// Asked for a workflow step's job: a shell job's stdout alone (tail and
    /// total), which its run's next step reads (an HTTP job's is its body,
    /// the output itself).
    pub stdout: Option<(Vec<u8>, u64)>,
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
}

/// What an attempt reported, by the kind of job: a field of one kind
/// cannot be set on the other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// It never started (or never reached a process or a server).
    None,
    /// A shell job's main process: its exit code, or the signal that ended it.
    Shell { exit_code: Option<i32>, signal: Option<i32> },
    /// An HTTP job's response status, and a `Retry-After` that replaces the
    /// computed backoff.
    Http { status: Option<u16>, retry_after: Option<Duration> },
}

impl Outcome {
    /// An attempt that never started.
    pub fn not_started(error: impl Into<String>) -> Outcome {
        let now = Timestamp::now();
        Outcome {
            status: RunStatus::NotStarted,
            detail: Detail::None,
            retryable: false,
            error: Some(error.into()),
            output: Vec::new(),
            output_total: 0,
            stdout: None,
            started_at: now,
            finished_at: now,
        }
    }

    pub fn exit_code(&self) -> Option<i32> {
        if let Detail::Shell { exit_code, .. } = self.detail { exit_code } else { None }
    }

    pub fn signal(&self) -> Option<i32> {
        if let Detail::Shell { signal, .. } = self.detail { signal } else { None }
    }

    pub fn http_status(&self) -> Option<u16> {
        if let Detail::Http { status, .. } = self.detail { status } else { None }
    }

    pub fn retry_after(&self) -> Option<Duration> {
        if let Detail::Http { retry_after, .. } = self.detail { retry_after } else { None }
    }

    pub fn succeeded(&self) -> bool {
        self.status == RunStatus::Succeeded
    }

    pub fn duration(&self) -> Duration {
        self.finished_at.duration_since(self.started_at).unsigned_abs()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_parse_by_name() {
        for s in JobState::ALL {
            assert_eq!(s.as_str().parse::<JobState>().unwrap(), s);
        }
        assert!("done".parse::<JobState>().unwrap_err().contains("succeeded"));
    }
}
