//! `taskq schedule list | pause | resume | trigger`: runtime control of the
//! schedules in jobs.toml, as django-celery-beat's admin gives it. A pause
//! is kept in the broker, so every beat obeys it (at its next tick) and it
//! survives restarts; `trigger` enqueues one run now, outside the schedule.

use std::collections::BTreeMap;
use std::process::ExitCode;

use serde::Serialize;

use super::Context;
use super::table;
use crate::beat::{Entry, entries};
use crate::cli::{ScheduleCommand, ScheduleListArgs};
use crate::config::{Config, did_you_mean};
use crate::error::{NotPrinted, UsageError};
use crate::time::{in_zone, rfc3339, rfc3339_utc};

pub(super) async fn run(command: ScheduleCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    match command {
        ScheduleCommand::List(args) => list(&args, &config, ctx).await,
        ScheduleCommand::Pause(args) => pause(&args.name, true, &config, ctx).await,
        ScheduleCommand::Resume(args) => pause(&args.name, false, &config, ctx).await,
        ScheduleCommand::Trigger(args) => trigger(&args.name, &config, ctx).await,
    }
}

/// The schedule entry `name`, or a usage error naming the ones there are.
fn entry(name: &str, config: &Config) -> anyhow::Result<Entry> {
    let all = entries(config);
    if let Some(e) = all.iter().find(|e| e.name() == name) {
        return Ok(e.clone());
    }
    let hint = match did_you_mean(name, all.iter().map(Entry::name)) {
        Some(near) => format!(" (did you mean \"{near}\"?)"),
        None if all.is_empty() => " (jobs.toml has no schedule: give a job `schedule` or `every`)".into(),
        None => " (taskq schedule list shows them)".into(),
    };
    let what = if config.jobs.get(name).is_some() || config.workflow(name).is_some() {
        format!("\"{name}\" has no schedule")
    } else {
        format!("unknown schedule \"{name}\"")
    };
    Err(UsageError(format!("{what}{hint}")).into())
}

/// An entry, its last tick, its next fire, and since when it is paused.
type Listed = (Entry, Option<jiff::Timestamp>, Option<jiff::Zoned>, Option<jiff::Timestamp>);

#[derive(Serialize)]
struct ScheduleRow {
    name: String,
    schedule: String,
    timezone: String,
    paused: bool,
    paused_since: Option<String>,
    last_tick: Option<String>,
    next: Option<String>,
}

async fn list(args: &ScheduleListArgs, config: &Config, ctx: &Context) -> anyhow::Result<ExitCode> {
    let broker = ctx.broker(Some(config)).await?;
    let now = broker.time().await?;
    let paused: BTreeMap<String, jiff::Timestamp> = broker.paused().await?.into_iter().collect();
    let states = broker.schedules().await?;
    // Each entry with its last tick, next fire and pause, once.
    let rows: Vec<Listed> = entries(config)
        .into_iter()
        .map(|e| {
            let last = states.iter().find(|s| s.entry == e.name()).and_then(crate::broker::ScheduleState::ticked);
            let next = e.schedule.next_after(now, e.tz());
            let since = paused.get(e.name()).copied();
            (e, last, next, since)
        })
        .collect();
    if args.json {
        let rows: Vec<ScheduleRow> = rows
            .iter()
            .map(|(e, last, next, since)| ScheduleRow {
                name: e.name().to_string(),
                schedule: e.schedule.describe(),
                timezone: e.def.timezone.name(),
                paused: since.is_some(),
                paused_since: since.map(rfc3339_utc),
                last_tick: last.map(rfc3339_utc),
                next: next.as_ref().map(rfc3339),
            })
            .collect();
        say!("{}", serde_json::json!({ "schedules": rows }));
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        say!("no schedules in {}", config.path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let text: Vec<Vec<String>> = rows
        .iter()
        .map(|(e, last, next, since)| {
            // in the schedule's own zone, as check and inspect show them
            let when = |t: Option<jiff::Timestamp>| t.map_or("-".into(), |t| in_zone(t, e.tz()));
            let (state, next) = match since {
                Some(since) => (format!("paused since {}", in_zone(*since, e.tz())), "-".into()),
                None => ("active".into(), when(next.as_ref().map(jiff::Zoned::timestamp))),
            };
            vec![e.name().to_string(), e.schedule.describe(), state, when(*last), next]
        })
        .collect();
    for line in table::render(&["SCHEDULE", "WHEN", "STATE", "LAST TICK", "NEXT"], &text) {
        say!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn pause(name: &str, paused: bool, config: &Config, ctx: &Context) -> anyhow::Result<ExitCode> {
    let e = entry(name, config)?;
    let broker = ctx.broker(Some(config)).await?;
    let changed = broker.pause(e.name(), paused).await?;
    match (paused, changed) {
        (true, true) => say!("paused {name}: every beat skips its ticks until `taskq schedule resume {name}`"),
        (true, false) => say!("{name} was already paused"),
        (false, true) => say!("resumed {name}: it fires again from its next tick"),
        (false, false) => say!("{name} was not paused"),
    }
    Ok(ExitCode::SUCCESS)
}

async fn trigger(name: &str, config: &Config, ctx: &Context) -> anyhow::Result<ExitCode> {
    let e = entry(name, config)?;
    // The job's own parameter defaults, as a tick's run has; no
    // TASKQ_SCHEDULED_AT: this run is outside the schedule.
    let job = e.def.new_job(Vec::new(), BTreeMap::new()).map_err(|err| UsageError(err.to_string()))?;
    let broker = ctx.broker(Some(config)).await?;
    let enqueued = broker.enqueue(std::slice::from_ref(&job)).await?;
    let id = enqueued.first().map_or(job.id, |r| r.id);
    super::enqueue::print_id(&id.to_string())
        .map_err(|err| NotPrinted(format!("job {id} was enqueued, but its id could not be printed: {err}")))?;
    Ok(ExitCode::SUCCESS)
}
