//! What `status`, `wait`, `list`, `history` and `inspect` show, as types:
//! `--json` serializes them (SPEC §9) and the text views read the same
//! fields, so the two cannot drift apart.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::Serialize;

use crate::beat::Entry;
use crate::broker::stats::{JobStats, Tally, Window};
use crate::broker::{RunRecord, RunState, ScheduleState, Tombstone, WorkerInfo};
use crate::job::{JobRecord, JobState};
use crate::time::{rfc3339, rfc3339_utc};

/// One job: `--json` prints it (instants in UTC), the text views read it
/// (instants in the host's zone).
#[derive(Debug, Serialize)]
pub struct JobView<'a> {
    pub id: String,
    pub job: &'a str,
    pub state: JobState,
    pub queue: &'a str,
    pub args: &'a [String],
    pub params: &'a BTreeMap<String, String>,
    pub attempts: u32,
    #[serde(serialize_with = "utc")]
    pub enqueued_at: Timestamp,
    #[serde(serialize_with = "utc_or_null")]
    pub due_at: Option<Timestamp>,
    #[serde(serialize_with = "utc_or_null")]
    pub expires_at: Option<Timestamp>,
    #[serde(serialize_with = "utc_or_null")]
    pub started_at: Option<Timestamp>,
    #[serde(serialize_with = "utc_or_null")]
    pub finished_at: Option<Timestamp>,
    pub duration_ms: Option<u128>,
    pub scheduled_at: Option<&'a str>,
    pub exit_code: Option<i32>,
    pub http_status: Option<u16>,
    pub worker: Option<&'a str>,
    pub error: Option<&'a str>,
    pub output: Option<&'a str>,
    /// A workflow step's job: its run, and the step (from 1).
    pub run: Option<StepOfRun<'a>>,
    /// The attempts before the last, oldest first: retried, or lost with
    /// their worker (the newest 20).
    pub history: Vec<PastAttemptView<'a>>,
}

/// One past attempt, as `status --json` prints it.
#[derive(Debug, Serialize)]
pub struct PastAttemptView<'a> {
    pub attempt: u32,
    pub outcome: &'a str,
    #[serde(serialize_with = "utc_or_null")]
    pub started_at: Option<Timestamp>,
    #[serde(serialize_with = "utc_or_null")]
    pub finished_at: Option<Timestamp>,
    pub exit_code: Option<i32>,
    pub http_status: Option<u16>,
    pub error: Option<&'a str>,
    pub worker: Option<&'a str>,
}

#[derive(Debug, Serialize)]
pub struct StepOfRun<'a> {
    pub id: String,
    pub workflow: &'a str,
    pub step: u32,
}

fn utc<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339_utc(*t))
}

#[allow(clippy::ref_option)] // serde hands the field over by reference
fn utc_or_null<S: serde::Serializer>(t: &Option<Timestamp>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&rfc3339_utc(*t)),
        None => s.serialize_none(),
    }
}

/// SPEC §9's JSON object for a job that succeeded with `ignore_result`:
/// what its record would have told is null, as the record was not kept.
pub fn tombstone_json(t: &Tombstone) -> String {
    serde_json::json!({
        "id": t.id.to_string(),
        "job": t.job.as_str(),
        "state": JobState::Succeeded,
        "queue": null,
        "attempts": null,
        "enqueued_at": null,
        "started_at": null,
        "finished_at": rfc3339_utc(t.finished_at),
        "exit_code": null,
        "http_status": null,
        "worker": null,
        "error": null,
        "output": null,
        "scheduled_at": null,
        "ignore_result": true,
    })
    .to_string()
}

impl<'a> From<&'a JobRecord> for JobView<'a> {
    fn from(r: &'a JobRecord) -> Self {
        JobView {
            id: r.job.id.to_string(),
            job: r.job.job.as_str(),
            state: r.state,
            queue: r.job.queue.as_str(),
            args: &r.job.args,
            params: &r.job.params,
            attempts: r.attempts,
            enqueued_at: r.enqueued_at,
            due_at: r.due_at,
            expires_at: r.expires_at,
            started_at: r.started_at,
            finished_at: r.finished_at,
            duration_ms: match (r.started_at, r.finished_at) {
                (Some(start), Some(end)) if end >= start => Some(end.duration_since(start).as_millis() as u128),
                _ => None,
            },
            scheduled_at: r.job.scheduled_at.as_deref(),
            exit_code: r.exit_code,
            http_status: r.http_status,
            worker: r.worker.as_deref(),
            error: r.error.as_deref(),
            output: r.output.as_deref(),
            run: r.job.workflow.as_ref().map(|w| StepOfRun {
                id: w.run.to_string(),
                workflow: w.workflow.as_str(),
                step: w.step + 1,
            }),
            history: r
                .history
                .iter()
                .map(|a| PastAttemptView {
                    attempt: a.attempt,
                    outcome: &a.outcome,
                    started_at: a.started_at,
                    finished_at: a.finished_at,
                    exit_code: a.exit_code,
                    http_status: a.http_status,
                    error: a.error.as_deref(),
                    worker: a.worker.as_deref(),
                })
                .collect(),
        }
    }
}

/// `inspect`: queues, live workers and beats, per-job statistics,
/// schedules, workflow runs.
#[derive(Debug, Serialize)]
pub struct InspectView {
    pub queues: Vec<QueueView>,
    pub workers: Vec<WorkerView>,
    pub jobs: Vec<JobStatsView>,
    pub schedules: Vec<ScheduleView>,
    pub workflows: Vec<WorkflowRunsView>,
}

/// One job's activity: running now, and how its attempts ended over the
/// last hour and the last 24 h (src/broker/stats.rs).
#[derive(Debug, Serialize)]
pub struct JobStatsView {
    pub name: String,
    /// Its queue in the config (none: a job the config no longer has).
    pub queue: Option<String>,
    pub running: usize,
    pub last_hour: WindowView,
    pub last_24h: WindowView,
    /// Per minute of the last hour, oldest first: `[succeeded, failed]`
    /// (failed counts retried, expired and lost attempts too).
    pub per_minute: Vec<[u64; 2]>,
    /// Per hour of the last 24 h, oldest first, the same way.
    pub per_hour: Vec<[u64; 2]>,
}

#[derive(Debug, Default, Serialize)]
pub struct WindowView {
    pub succeeded: u64,
    pub failed: u64,
    pub retried: u64,
    pub expired: u64,
    pub revoked: u64,
    pub lost: u64,
    pub mean_seconds: Option<f64>,
    pub p95_seconds: Option<f64>,
}

impl From<&Window> for WindowView {
    fn from(w: &Window) -> Self {
        WindowView {
            succeeded: w.count(Tally::Succeeded),
            failed: w.count(Tally::Failed),
            retried: w.count(Tally::Retried),
            expired: w.count(Tally::Expired),
            revoked: w.count(Tally::Revoked),
            lost: w.count(Tally::Lost),
            mean_seconds: w.mean().map(|d| d.as_secs_f64()),
            p95_seconds: w.p95().map(|d| (d.as_secs_f64() * 1000.0).round() / 1000.0),
        }
    }
}

impl JobStatsView {
    pub fn new(name: &str, queue: Option<String>, stats: Option<&JobStats>, running: usize) -> Self {
        let window = |w: Option<&Window>| w.map(WindowView::from).unwrap_or_default();
        JobStatsView {
            name: name.to_string(),
            queue,
            running,
            last_hour: window(stats.map(|s| &s.hour)),
            last_24h: window(stats.map(|s| &s.day)),
            per_minute: stats
                .map_or_else(Vec::new, |s| s.per_minute().into_iter().map(|(ok, bad)| [ok, bad]).collect()),
            per_hour: stats.map_or_else(Vec::new, |s| s.per_hour().into_iter().map(|(ok, bad)| [ok, bad]).collect()),
        }
    }
}

/// A workflow's runs the broker holds, by state.
#[derive(Debug, Default, Serialize)]
pub struct WorkflowRunsView {
    pub name: String,
    pub running: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub revoked: u64,
}

#[derive(Debug, Serialize)]
pub struct QueueView {
    pub name: String,
    pub ready: u64,
}

#[derive(Debug, Serialize)]
pub struct WorkerView {
    pub id: String,
    pub host: String,
    pub pid: u32,
    pub queues: Vec<String>,
    pub concurrency: usize,
    pub beat: bool,
    pub started_at: String,
    pub seen_at: String,
    pub clock_offset_ms: i64,
    pub clock_ok: bool,
    pub running: Vec<RunningView>,
}

#[derive(Debug, Serialize)]
pub struct RunningView {
    pub id: String,
    pub job: String,
    pub attempt: u32,
    pub started_at: Option<String>,
}

impl From<&WorkerInfo> for WorkerView {
    fn from(w: &WorkerInfo) -> Self {
        WorkerView {
            id: w.id.clone(),
            host: w.host.clone(),
            pid: w.pid,
            queues: w.queues.clone(),
            concurrency: w.concurrency,
            beat: w.beat,
            started_at: rfc3339_utc(w.started_at),
            seen_at: rfc3339_utc(w.seen_at),
            clock_offset_ms: w.clock_offset_ms,
            clock_ok: w.clock_offset_ms.unsigned_abs() <= crate::clock::SKEW_WARNING.as_millis() as u64,
            running: w
                .running
                .iter()
                .map(|r| RunningView {
                    id: r.id.to_string(),
                    job: r.job.clone(),
                    attempt: r.attempt,
                    started_at: r.started_at.map(rfc3339_utc),
                })
                .collect(),
        }
    }
}

#[derive(Debug, Serialize)]
pub struct ScheduleView {
    pub name: String,
    pub schedule: String,
    /// The zone its ticks are computed in (the text view shows its
    /// instants there, as `check` does).
    pub timezone: String,
    pub last_tick: Option<String>,
    pub last_job: Option<String>,
    pub fired: u64,
    pub skipped: u64,
    pub last_skip: Option<String>,
    pub last_success: Option<String>,
    pub last_failure: Option<String>,
    pub next: Option<String>,
    /// Paused by `taskq schedule pause`: no beat fires it.
    pub paused: bool,
    pub alerts: Vec<String>,
}

impl ScheduleView {
    pub fn new(entry: &Entry, state: Option<&ScheduleState>, next: Option<&jiff::Zoned>, alerts: Vec<String>) -> Self {
        ScheduleView {
            name: entry.name().to_string(),
            schedule: entry.schedule.describe(),
            timezone: entry.def.timezone.name(),
            last_tick: state.and_then(ScheduleState::ticked).map(rfc3339_utc),
            last_job: state.and_then(|s| s.last_job).map(|id| id.to_string()),
            fired: state.map_or(0, |s| s.fired),
            skipped: state.map_or(0, |s| s.skipped),
            last_skip: state.and_then(|s| s.last_skip.clone()),
            last_success: state.and_then(|s| s.last_success).map(rfc3339_utc),
            last_failure: state.and_then(|s| s.last_failure).map(rfc3339_utc),
            next: next.map(rfc3339),
            paused: false,
            alerts,
        }
    }
}

/// One workflow run: `status`, `wait` and `list` print it beside jobs, with
/// the fields a job's object has (those that mean nothing for a run are
/// null) and its steps.
#[derive(Debug, Serialize)]
pub struct RunView<'a> {
    pub id: String,
    pub job: &'a str,
    pub workflow: &'a str,
    pub state: RunState,
    pub queue: Option<&'a str>,
    pub params: &'a BTreeMap<String, String>,
    pub attempts: Option<u32>,
    #[serde(serialize_with = "utc")]
    pub enqueued_at: Timestamp,
    #[serde(serialize_with = "utc")]
    pub started_at: Timestamp,
    #[serde(serialize_with = "utc_or_null")]
    pub finished_at: Option<Timestamp>,
    pub exit_code: Option<i32>,
    pub http_status: Option<u16>,
    pub worker: Option<&'a str>,
    pub error: Option<String>,
    pub output: Option<&'a str>,
    pub steps: Vec<StepView>,
}

#[derive(Debug, Serialize)]
pub struct StepView {
    /// From 1, as `check` and error messages count steps.
    pub step: u32,
    pub name: String,
    pub state: &'static str,
    pub jobs: Vec<String>,
    pub succeeded: u32,
}

impl<'a> From<&'a RunRecord> for RunView<'a> {
    fn from(r: &'a RunRecord) -> Self {
        let steps = r
            .run
            .def
            .steps
            .iter()
            .enumerate()
            .map(|(i, step)| {
                let s = u32::try_from(i).unwrap_or(u32::MAX);
                StepView {
                    step: s + 1,
                    name: step.describe(),
                    state: r.step_state(s),
                    jobs: r.ids(s).iter().map(ToString::to_string).collect(),
                    succeeded: r.done.get(i).copied().unwrap_or(0),
                }
            })
            .collect();
        let error = r.cause.as_ref().map(|c| {
            if c.job == r.run.def.name {
                // the step could not start, or a job of it is gone: the output says why
                return format!("step {}: {}", c.step + 1, crate::text::one_line(&c.output));
            }
            let exit = c.exit_code.map(|e| format!(" (exit code {e})")).unwrap_or_default();
            format!("step {}: {} {} {}{exit}", c.step + 1, c.job, c.id, c.state)
        });
        RunView {
            id: r.run.id.to_string(),
            job: r.run.def.name.as_str(),
            workflow: r.run.def.name.as_str(),
            state: r.state,
            queue: None,
            params: &r.run.params,
            attempts: None,
            enqueued_at: r.enqueued_at,
            started_at: r.enqueued_at,
            finished_at: r.finished_at,
            exit_code: r.cause.as_ref().and_then(|c| c.exit_code),
            http_status: None,
            worker: None,
            error,
            output: None,
            steps,
        }
    }
}
