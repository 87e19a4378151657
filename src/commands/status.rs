//! `taskq status` and `taskq wait`: one job's record, for people or scripts.

use std::process::ExitCode;
use std::time::Duration;

use super::Context;
use super::views::JobView;
use crate::broker::Broker;
use crate::cli::{StatusArgs, WaitArgs};
use crate::error::{Exit, TimedOut, unknown_ids};
use crate::job::{JobId, JobRecord, JobState};
use crate::text::one_line;
use crate::time::local;

/// How much of the output tail `status` prints (the JSON has all of it).
const OUTPUT_LINES: usize = 20;

pub(super) async fn status(args: StatusArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let ids = args.ids;
    let config = ctx.optional_config()?;
    let broker = ctx.broker(config.as_ref()).await?;
    let records = broker.get(&ids).await?;
    let mut unknown = Vec::new();
    for (id, record) in ids.iter().zip(&records) {
        match record {
            Some(r) if args.json => say!("{}", record_json(r)),
            Some(r) => print_record(r)?,
            None => unknown.push(id.to_string()),
        }
    }
    if unknown.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    Err(unknown_ids(&unknown).into())
}

pub(super) async fn wait(args: WaitArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let (ids, timeout) = (args.ids, args.timeout);
    let config = ctx.optional_config()?;
    let broker = ctx.broker(config.as_ref()).await?;
    let records = wait_for(broker.as_ref(), &ids, timeout).await?;
    for r in &records {
        if args.json {
            say!("{}", record_json(r));
        } else {
            say!("{}  {}  {}", r.job.id, r.job.job, r.state);
        }
    }
    Ok(outcome_exit(&records).into())
}

/// Exit 0 when every job succeeded, 1 when any failed, was revoked or expired.
fn outcome_exit(records: &[JobRecord]) -> Exit {
    if records.iter().all(|r| r.state == JobState::Succeeded) { Exit::Success } else { Exit::Failure }
}

/// Polls until every job is final; `TimedOut` after `timeout`. An id the
/// broker does not know is a usage error.
pub(super) async fn wait_for(
    broker: &dyn Broker,
    ids: &[JobId],
    timeout: Option<Duration>,
) -> anyhow::Result<Vec<JobRecord>> {
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let progress = crate::commands::progress::bar(ids.len() as u64, "waiting");
    let mut poll = Duration::from_millis(10);
    loop {
        let records = broker.get(ids).await?;
        let unknown: Vec<String> =
            ids.iter().zip(&records).filter(|(_, r)| r.is_none()).map(|(id, _)| id.to_string()).collect();
        if !unknown.is_empty() {
            return Err(unknown_ids(&unknown).into());
        }
        let records: Vec<JobRecord> = records.into_iter().flatten().collect();
        let done = records.iter().filter(|r| r.state.is_final()).count();
        progress.set_position(done as u64);
        if done == records.len() {
            progress.finish_and_clear();
            return Ok(records);
        }
        if deadline.is_some_and(|d| tokio::time::Instant::now() >= d) {
            progress.finish_and_clear();
            let left = records.len() - done;
            return Err(
                TimedOut(format!("--timeout reached with {left} of {} jobs not finished", records.len())).into()
            );
        }
        let pause = deadline.map_or(poll, |d| poll.min(d.saturating_duration_since(tokio::time::Instant::now())));
        tokio::time::sleep(pause).await;
        poll = (poll * 2).min(Duration::from_millis(200));
    }
}

/// SPEC §9's JSON object for a job.
pub(super) fn record_json(r: &JobRecord) -> String {
    // Serializing plain strings and numbers cannot fail.
    serde_json::to_string(&JobView::from(r)).unwrap_or_default()
}

fn print_record(r: &JobRecord) -> std::io::Result<()> {
    let v = JobView::from(r);
    say!("{}  {}  {}", v.id, v.job, v.state);
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
    say!("  {}", facts.join(", "));
    if !v.args.is_empty() {
        say!("  args:      {}", one_line(&v.args.join(" ")));
    }
    for (name, value) in v.params {
        say!("  param:     {}={}", one_line(name), one_line(value));
    }
    say!("  enqueued:  {}", local(v.enqueued_at));
    if let Some(at) = v.scheduled_at {
        say!("  scheduled: {}", one_line(at));
    }
    if let Some(due) = v.due_at {
        let label = if v.state == JobState::Retrying { "retry at:" } else { "due:" };
        say!("  {label:<10} {}", local(due));
    }
    if let Some(t) = v.started_at {
        say!("  started:   {}", local(t));
    }
    if let Some(t) = v.finished_at {
        say!("  finished:  {}", local(t));
    }
    if let Some(w) = v.worker {
        say!("  worker:    {}", one_line(w));
    }
    if let Some(e) = v.error {
        say!("  error:     {}", one_line(e));
    }
    if let Some(out) = v.output.filter(|o| !o.is_empty()) {
        let lines: Vec<&str> = out.lines().collect();
        let shown = &lines[lines.len().saturating_sub(OUTPUT_LINES)..];
        let more = if shown.len() < lines.len() {
            format!(" (last {} lines; taskq logs ID for more)", shown.len())
        } else {
            String::new()
        };
        say!("  output{more}:");
        for line in shown {
            say!("    {}", one_line(line));
        }
    }
    Ok(())
}
