//! `taskq check`: validate the config, list its jobs and upcoming fires.

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use jiff::Timestamp;
use serde_json::json;

use super::{Context, table};
use crate::broker::BrokerUrl;
use crate::cli::CheckArgs;
use crate::config::{Config, JobDef, Member, Step, WorkflowDef};
use crate::names::JobName;
use crate::time::rfc3339;

/// How many upcoming fires `check` shows per schedule.
const UPCOMING: usize = 3;

/// How long `check` waits for the broker to say which schedules are paused.
const PAUSED_WAIT: Duration = Duration::from_secs(1);

pub(super) async fn run(args: CheckArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    let now = Timestamp::now();
    let paused = paused(&config, ctx).await;
    let warnings = crate::exec::identity::refusals(&config, None);
    if args.json {
        let jobs: Vec<_> = config
            .jobs
            .iter()
            .map(|j| {
                let mut doc = job_json(j, now);
                if j.schedule.is_some() {
                    doc["paused"] = json!(paused.as_ref().map(|p| p.contains(j.name.as_str())));
                }
                doc
            })
            .collect();
        let workflows: Vec<_> = config.workflows.iter().map(|w| workflow_json(w, &config, now)).collect();
        say!(
            "{}",
            json!({ "config": config.path.display().to_string(), "jobs": jobs, "workflows": workflows, "warnings": warnings })
        );
    } else {
        print_table(&config, now, paused.as_ref())?;
    }
    // Warnings, not errors: the worker may run on another host, as another
    // user, than `check` does.
    for w in &warnings {
        eprintln!("warning: {}", crate::text::one_line(w));
    }
    // `check` may run as root where the worker will not (the packaged units
    // run it as taskq): say what such jobs need even when all is well here.
    let as_users: Vec<&str> = config
        .jobs
        .iter()
        .filter(|j| {
            matches!(&j.action, crate::config::Action::Shell(s) if s.run_as.as_ref().is_some_and(|r| r.user != "taskq"))
        })
        .map(|j| j.name.as_str())
        .collect();
    if warnings.is_empty() && !as_users.is_empty() {
        eprintln!(
            "note: {} name{} a user the packaged units' worker (user taskq) cannot switch to: install the drop-in /usr/share/doc/taskq/examples/run-jobs-as-users.conf, which runs it as root",
            as_users.join(", "),
            if as_users.len() == 1 { "s" } else { "" }
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The schedules paused in the broker (`taskq schedule pause`), if it
/// answers within a second: `check` validates a config and must work
/// without a broker, so none (`None`) is no error.
async fn paused(config: &Config, ctx: &Context) -> Option<BTreeSet<String>> {
    if config.jobs.iter().all(|j| j.schedule.is_none()) && config.workflow_ticks.is_empty() {
        return None;
    }
    // A SQLite file that does not exist yet is not created, and one an
    // older taskq wrote is not migrated (check must leave it to that taskq).
    if let Ok(BrokerUrl::Sqlite { path }) = ctx.broker_url(Some(config))
        && !crate::broker::sqlite_is_current(&path)
    {
        return None;
    }
    let read = async { ctx.broker(Some(config)).await.ok()?.paused().await.ok() };
    let paused = tokio::time::timeout(PAUSED_WAIT, read).await.ok().flatten()?;
    Some(paused.into_iter().map(|(entry, _)| entry).collect())
}

fn job_json(job: &JobDef, now: Timestamp) -> serde_json::Value {
    let next: Vec<String> =
        job.schedule.iter().flat_map(|s| s.upcoming(now, job.timezone.tz(), UPCOMING)).map(|z| rfc3339(&z)).collect();
    json!({
        "name": job.name.as_str(),
        "kind": job.action.kind(),
        "queue": job.queue.as_str(),
        "timeout": job.timeout.map(|t| humantime::format_duration(t).to_string()),
        "retries": job.retry.retries,
        "schedule": job.schedule.as_ref().map(crate::schedule::Schedule::describe),
        "timezone": job.schedule.as_ref().map(|_| zone_name(job)),
        "next": next,
    })
}

/// The job beat fires for a scheduled workflow's ticks.
fn tick_of<'c>(config: &'c Config, w: &WorkflowDef) -> Option<&'c JobDef> {
    config.workflow_ticks.iter().find(|t| t.name == w.name)
}

fn workflow_json(w: &WorkflowDef, config: &Config, now: Timestamp) -> serde_json::Value {
    let steps: Vec<serde_json::Value> = w
        .steps
        .iter()
        .map(|s| match s {
            Step::Job(j) => json!({ "job": j.as_str() }),
            Step::Group(members) => json!({ "group": members.iter().map(member_json).collect::<Vec<_>>() }),
            Step::Map { job, param, max_items } => {
                json!({ "map": job.as_str(), "param": param, "max_items": max_items })
            }
            Step::Workflow(name) => json!({ "workflow": name.as_str() }),
        })
        .collect();
    let tick = tick_of(config, w);
    let next: Vec<String> = tick
        .into_iter()
        .flat_map(|t| t.schedule.iter().flat_map(|s| s.upcoming(now, t.timezone.tz(), UPCOMING)))
        .map(|z| rfc3339(&z))
        .collect();
    json!({
        "name": w.name.as_str(),
        "steps": steps,
        "on_failure": w.on_failure.as_ref().map(JobName::as_str),
        "schedule": tick.and_then(|t| t.schedule.as_ref()).map(crate::schedule::Schedule::describe),
        "timezone": tick.map(zone_name),
        "next": next,
    })
}

fn member_json(m: &Member) -> serde_json::Value {
    match m {
        Member::Job(j) => json!({ "job": j.as_str() }),
        Member::Workflow(w) => json!({ "workflow": w.as_str() }),
    }
}

fn zone_name(job: &JobDef) -> String {
    job.timezone.name()
}

fn print_table(config: &Config, now: Timestamp, paused: Option<&BTreeSet<String>>) -> std::io::Result<()> {
    let scheduled = config.jobs.iter().filter(|j| j.schedule.is_some()).count() + config.workflow_ticks.len();
    let workflows = match config.workflows.len() {
        0 => String::new(),
        1 => ", 1 workflow".to_string(),
        n => format!(", {n} workflows"),
    };
    say!("{}: {} jobs, {} scheduled{workflows}", config.path.display(), config.jobs.len(), scheduled);
    print_jobs(config, now, paused)?;
    for w in &config.workflows {
        let steps: Vec<String> = w.steps.iter().map(Step::describe).collect();
        let on_failure = w.on_failure.as_ref().map(|j| format!(" (on failure: {j})")).unwrap_or_default();
        say!("workflow {}: {}{on_failure}", w.name, steps.join(" → "));
        if let Some(tick) = tick_of(config, w)
            && let Some(schedule) = &tick.schedule
        {
            let next: Vec<String> = schedule.upcoming(now, tick.timezone.tz(), UPCOMING).iter().map(rfc3339).collect();
            let state = if paused.is_some_and(|p| p.contains(w.name.as_str())) { ", paused" } else { "" };
            say!("  schedule: {} ({}){state}", schedule.describe(), zone_name(tick));
            say!("  next: {}", next.join(", "));
        }
    }
    Ok(())
}

fn print_jobs(config: &Config, now: Timestamp, paused: Option<&BTreeSet<String>>) -> std::io::Result<()> {
    if config.jobs.is_empty() {
        return Ok(());
    }
    let rows: Vec<Vec<String>> = config
        .jobs
        .iter()
        .map(|j| {
            vec![
                j.name.to_string(),
                j.action.kind().to_string(),
                j.queue.to_string(),
                j.timeout.map_or("-".to_string(), |t| humantime::format_duration(t).to_string()),
                j.retry.retries.to_string(),
                j.schedule.as_ref().map_or("-".to_string(), |s| format!("{} ({})", s.describe(), zone_name(j))),
            ]
        })
        .collect();
    let lines = table::render(&["JOB", "KIND", "QUEUE", "TIMEOUT", "RETRIES", "SCHEDULE"], &rows);
    say!("{}", lines[0]);
    for (line, job) in lines[1..].iter().zip(config.jobs.iter()) {
        say!("{line}");
        if let Some(schedule) = &job.schedule {
            if paused.is_some_and(|p| p.contains(job.name.as_str())) {
                say!("  paused (taskq schedule resume {} lets it fire again)", job.name);
                continue;
            }
            let next: Vec<String> = schedule.upcoming(now, job.timezone.tz(), UPCOMING).iter().map(rfc3339).collect();
            say!("  next: {}", next.join(", "));
        }
    }
    Ok(())
}
