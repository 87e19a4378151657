//! `taskq status` and `taskq wait`: one job's record (or a workflow run's),
//! for people or scripts. A job that succeeded with `ignore_result` has no
//! record, but its tombstone tells it from an id never seen.

use std::collections::HashMap;
use std::process::ExitCode;
use std::time::Duration;

use super::Context;
use crate::broker::{Broker, RunRecord, RunState, Tombstone};
use crate::cli::{StatusArgs, WaitArgs};
use crate::error::{Exit, TimedOut, unknown_ids};
use crate::job::{JobId, JobRecord, JobState};
use crate::text::one_line;
use crate::time::local;
use crate::views::{JobView, RunView, tombstone_json};

/// How much of the output tail `status` prints (the JSON has all of it).
const OUTPUT_LINES: usize = 20;

pub(super) async fn status(args: StatusArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = ctx.optional_config()?;
    let broker = ctx.broker(config.as_ref()).await?;
    let ids = crate::control::ids::resolve(broker.as_ref(), &args.ids).await?;
    let mut unknown = Vec::new();
    for (id, job) in ids.iter().zip(jobs(broker.as_ref(), &ids).await?) {
        let found = match job {
            Some(job) => Some(job),
            None => broker.get_runs(&[*id]).await?.pop().flatten().map(Found::Run),
        };
        match found {
            Some(found) => found.print(args.json, true)?,
            None => unknown.push(id.to_string()),
        }
    }
    if unknown.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(unknown_ids(&unknown).into())
}

pub(super) async fn wait(args: WaitArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = ctx.optional_config()?;
    let broker = ctx.broker(config.as_ref()).await?;
    let (ids, timeout) = (crate::control::ids::resolve(broker.as_ref(), &args.ids).await?, args.timeout);
    let ended = wait_for_any(broker.as_ref(), &ids, timeout).await?;
    for e in &ended {
        e.print(args.json, false)?;
    }
    let ok = ended.iter().all(Found::succeeded);
    Ok(if ok { Exit::Success } else { Exit::Failure }.into())
}

/// What an id names: a job's record, what is left of a job that succeeded
/// with `ignore_result`, or a workflow run.
pub(super) enum Found {
    Job(JobRecord),
    /// A job that succeeded with `ignore_result`: its record is gone.
    Unkept(Tombstone),
    Run(RunRecord),
}

impl Found {
    pub(super) fn succeeded(&self) -> bool {
        match self {
            Found::Job(r) => r.state == JobState::Succeeded,
            Found::Unkept(_) => true,
            Found::Run(r) => r.state == RunState::Succeeded,
        }
    }

    fn is_final(&self) -> bool {
        match self {
            Found::Job(r) => r.state.is_final(),
            Found::Unkept(_) => true,
            Found::Run(r) => r.state.is_final(),
        }
    }

    /// `status`'s view with `full`, else `wait`'s line.
    fn print(&self, json: bool, full: bool) -> std::io::Result<()> {
        match (self, json) {
            (Found::Job(r), true) => say!("{}", record_json(r)),
            (Found::Job(r), false) if full => print_record(r)?,
            (Found::Job(r), false) => say!("{}  {}  {}", r.job.id, r.job.job, r.state),
            (Found::Unkept(t), true) => say!("{}", tombstone_json(t)),
            (Found::Unkept(t), false) => {
                say!("{}  {}  succeeded (record not kept: ignore_result)", t.id, t.job);
                if full {
                    say!("  its record is unknown: ignore_result = true deleted it when it finished");
                    say!("  finished:  {}", local(t.finished_at));
                }
            }
            (Found::Run(r), true) => say!("{}", run_json(r)),
            (Found::Run(r), false) if full => print_run(r)?,
            (Found::Run(r), false) => say!("{}  {}  {}", r.run.id, r.run.def.name, r.state),
        }
        Ok(())
    }
}

/// Each job's record, else its tombstone; `None` for neither (a workflow
/// run's id, or an unknown one).
async fn jobs(broker: &dyn Broker, ids: &[JobId]) -> anyhow::Result<Vec<Option<Found>>> {
    let records = broker.get(ids).await?;
    let missing: Vec<JobId> = ids.iter().zip(&records).filter(|(_, r)| r.is_none()).map(|(id, _)| *id).collect();
    let gone: HashMap<JobId, Tombstone> = if missing.is_empty() {
        HashMap::new()
    } else {
        broker.tombstones(&missing).await?.into_iter().flatten().map(|t| (t.id, t)).collect()
    };
    Ok(ids
        .iter()
        .zip(records)
        .map(|(id, r)| r.map(Found::Job).or_else(|| gone.get(id).cloned().map(Found::Unkept)))
        .collect())
}

/// `wait_for`, where an id may also be a workflow run's: polls until each
/// job and run ended.
pub(super) async fn wait_for_any(
    broker: &dyn Broker,
    ids: &[JobId],
    timeout: Option<Duration>,
) -> anyhow::Result<Vec<Found>> {
    let found = jobs(broker, ids).await?;
    let runs: Vec<JobId> = ids.iter().zip(&found).filter(|(_, f)| f.is_none()).map(|(id, _)| *id).collect();
    if runs.is_empty() {
        return wait_for(broker, ids, timeout).await;
    }
    let found = broker.get_runs(&runs).await?;
    let unknown: Vec<String> =
        runs.iter().zip(&found).filter(|(_, r)| r.is_none()).map(|(id, _)| id.to_string()).collect();
    if !unknown.is_empty() {
        return Err(unknown_ids(&unknown).into());
    }
    let started = tokio::time::Instant::now();
    let jobs: Vec<JobId> = ids.iter().filter(|id| !runs.contains(id)).copied().collect();
    let job_records = wait_for(broker, &jobs, timeout).await?;
    let left = timeout.map(|t| t.saturating_sub(started.elapsed()));
    let run_records = wait_for_runs(broker, &runs, left).await?;
    let (mut jobs_iter, mut runs_iter) = (job_records.into_iter(), run_records.into_iter());
    Ok(ids
        .iter()
        .filter_map(|id| if runs.contains(id) { runs_iter.next().map(Found::Run) } else { jobs_iter.next() })
        .collect())
}

/// Polls until every run ended; `TimedOut` after `timeout`.
pub(super) async fn wait_for_runs(
    broker: &dyn Broker,
    ids: &[JobId],
    timeout: Option<Duration>,
) -> anyhow::Result<Vec<RunRecord>> {
    let mut poll = Poll::new(timeout);
    loop {
        // Each run's state alone while waiting (a wide step's ids are many);
        // the whole records once all ended.
        let mut states = Vec::with_capacity(ids.len());
        for id in ids {
            states.push(broker.run_state(*id).await?);
        }
        let unknown: Vec<String> =
            ids.iter().zip(&states).filter(|(_, s)| s.is_none()).map(|(id, _)| id.to_string()).collect();
        if !unknown.is_empty() {
            return Err(unknown_ids(&unknown).into());
        }
        let left = states.iter().flatten().filter(|s| !s.is_final()).count();
        if left == 0 {
            let runs: Vec<RunRecord> = broker.get_runs(ids).await?.into_iter().flatten().collect();
            if runs.len() == ids.len() {
                return Ok(runs);
            }
            // (one expired in between: reported unknown next round)
            continue;
        }
        if poll.expired() {
            return Err(
                TimedOut(format!("--timeout reached with {left} of {} workflow runs not finished", ids.len())).into()
            );
        }
        poll.pause().await;
    }
}

/// SPEC §9's JSON object for a workflow run, holding its steps.
pub(super) fn run_json(r: &RunRecord) -> String {
    serde_json::to_string(&RunView::from(r)).unwrap_or_default()
}

fn print_run(r: &RunRecord) -> std::io::Result<()> {
    let v = RunView::from(r);
    say!("{}  {}  {}", v.id, v.workflow, v.state);
    say!("  workflow run, {} steps", v.steps.len());
    for (name, value) in v.params {
        say!("  param:     {}={}", one_line(name), one_line(value));
    }
    say!("  enqueued:  {}", local(v.enqueued_at));
    if let Some(t) = v.finished_at {
        say!("  finished:  {}", local(t));
    }
    if let Some(e) = &v.error {
        say!("  error:     {}", one_line(e));
    }
    for step in &v.steps {
        let count = if step.jobs.is_empty() {
            String::new()
        } else {
            format!(" ({} of {} succeeded)", step.succeeded, step.jobs.len())
        };
        say!("  step {}: {}  {}{count}", step.step, one_line(&step.name), step.state);
        for id in step.jobs.iter().take(OUTPUT_LINES) {
            say!("    {id}");
        }
        if step.jobs.len() > OUTPUT_LINES {
            say!("    ... and {} more (taskq status --json ID lists them all)", step.jobs.len() - OUTPUT_LINES);
        }
    }
    Ok(())
}

/// Polls until every job is final (`Found::Job`, or `Found::Unkept` once an
/// `ignore_result` job succeeded); `TimedOut` after `timeout`. An id the
/// broker does not know is a usage error.
pub(super) async fn wait_for(
    broker: &dyn Broker,
    ids: &[JobId],
    timeout: Option<Duration>,
) -> anyhow::Result<Vec<Found>> {
    let mut poll = Poll::new(timeout);
    let progress = crate::commands::progress::bar(ids.len() as u64, "waiting");
    loop {
        let found = jobs(broker, ids).await?;
        let unknown: Vec<String> =
            ids.iter().zip(&found).filter(|(_, f)| f.is_none()).map(|(id, _)| id.to_string()).collect();
        if !unknown.is_empty() {
            return Err(unknown_ids(&unknown).into());
        }
        let records: Vec<Found> = found.into_iter().flatten().collect();
        let done = records.iter().filter(|r| r.is_final()).count();
        progress.set_position(done as u64);
        if done == records.len() {
            progress.finish_and_clear();
            return Ok(records);
        }
        if poll.expired() {
            progress.finish_and_clear();
            let left = records.len() - done;
            return Err(
                TimedOut(format!("--timeout reached with {left} of {} jobs not finished", records.len())).into()
            );
        }
        poll.pause().await;
    }
}

/// Polling until a deadline: 10 ms apart at first, then doubling to 200 ms.
struct Poll {
    deadline: Option<tokio::time::Instant>,
    every: Duration,
}

impl Poll {
    fn new(timeout: Option<Duration>) -> Poll {
        Poll { deadline: timeout.map(|t| tokio::time::Instant::now() + t), every: Duration::from_millis(10) }
    }

    fn expired(&self) -> bool {
        self.deadline.is_some_and(|d| tokio::time::Instant::now() >= d)
    }

    async fn pause(&mut self) {
        let now = tokio::time::Instant::now();
        tokio::time::sleep(self.deadline.map_or(self.every, |d| self.every.min(d.saturating_duration_since(now))))
            .await;
        self.every = (self.every * 2).min(Duration::from_millis(200));
    }
}

/// SPEC §9's JSON object for a job.
pub(super) fn record_json(r: &JobRecord) -> String {
    // Serializing plain strings and numbers cannot fail.
    serde_json::to_string(&JobView::from(r)).unwrap_or_default()
}

/// `status`'s text for one job, a line each (control characters escaped).
pub(super) fn record_lines(r: &JobRecord) -> Vec<String> {
    let v = JobView::from(r);
    let mut out = Vec::new();
    out.push(format!("{}  {}  {}", v.id, v.job, v.state));
    let mut facts = vec![format!("queue {}", v.queue), format!("attempts {}", v.attempts)];
    if let Some(code) = v.exit_code {
        facts.push(format!("exit code {code}"));
    }
    if let Some(status) = v.http_status {
        facts.push(format!("HTTP {status}"));
    }
    if let Some(ms) = v.duration_ms {
        facts.push(format!("took {}", humantime::format_duration(Duration::from_millis(ms as u64))));
    }
    out.push(format!("  {}", facts.join(", ")));
    if !v.args.is_empty() {
        out.push(format!("  args:      {}", one_line(&crate::text::shell_words(v.args))));
    }
    for (name, value) in v.params {
        out.push(format!("  param:     {}={}", one_line(name), one_line(value)));
    }
    out.push(format!("  enqueued:  {}", local(v.enqueued_at)));
    if let Some(at) = v.scheduled_at {
        out.push(format!("  scheduled: {}", one_line(at)));
    }
    if let Some(due) = v.due_at {
        let label = if v.state == JobState::Retrying { "retry at:" } else { "due:" };
        out.push(format!("  {label:<10} {}", local(due)));
    }
    if let Some(t) = v.started_at {
        out.push(format!("  started:   {}", local(t)));
    }
    if let Some(t) = v.finished_at {
        out.push(format!("  finished:  {}", local(t)));
    }
    if let Some(w) = v.worker {
        out.push(format!("  worker:    {}", one_line(w)));
    }
    if let Some(run) = &v.run {
        out.push(format!("  workflow:  step {} of run {} ({})", run.step, run.id, run.workflow));
    }
    if let Some(e) = v.error {
        out.push(format!("  error:     {}", one_line(e)));
    }
    // A retrying job's last attempt is its fields above: not twice.
    let shown = match v.history.last() {
        Some(last) if v.state == JobState::Retrying && last.attempt == v.attempts => &v.history[..v.history.len() - 1],
        _ => &v.history[..],
    };
    for a in shown {
        let how = match (a.exit_code, a.http_status) {
            (Some(code), _) => format!(", exit code {code}"),
            (None, Some(status)) => format!(", HTTP {status}"),
            (None, None) => String::new(),
        };
        let when = a.finished_at.map(|t| format!(" {}", local(t))).unwrap_or_default();
        let why = a.error.map(|e| format!(": {}", one_line(e))).unwrap_or_default();
        out.push(format!("  attempt {}: {}{when}{how}{why}", a.attempt, a.outcome));
    }
    if let Some(tail) = v.output.filter(|o| !o.is_empty()) {
        let lines: Vec<&str> = tail.lines().collect();
        let shown = &lines[lines.len().saturating_sub(OUTPUT_LINES)..];
        let more = if shown.len() < lines.len() {
            format!(" (last {} lines; taskq logs ID for more)", shown.len())
        } else {
            String::new()
        };
        out.push(format!("  output{more}:"));
        for line in shown {
            out.push(format!("    {}", one_line(line)));
        }
    }
    out
}

fn print_record(r: &JobRecord) -> std::io::Result<()> {
    for line in record_lines(r) {
        say!("{line}");
    }
    Ok(())
}
