//! `taskq schedule list | pause | resume | trigger`: runtime control of the
//! schedules in jobs.toml, as django-celery-beat's admin gives it. A pause
//! is kept in the broker, so every beat obeys it (at its next tick) and it
//! survives restarts; `trigger` enqueues one run now, outside the schedule.

use std::process::ExitCode;

use super::Context;
use super::table;
use crate::cli::{ScheduleCommand, ScheduleListArgs};
use crate::config::Config;
use crate::control::schedules::{self, ScheduleRow};
use crate::error::NotPrinted;
use crate::time::in_zone;

pub(super) async fn run(command: ScheduleCommand, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    match command {
        ScheduleCommand::List(args) => list(&args, &config, ctx).await,
        ScheduleCommand::Pause(args) => pause(&args.name, true, &config, ctx).await,
        ScheduleCommand::Resume(args) => pause(&args.name, false, &config, ctx).await,
        ScheduleCommand::Trigger(args) => trigger(&args.name, &config, ctx).await,
    }
}

async fn list(args: &ScheduleListArgs, config: &Config, ctx: &Context) -> anyhow::Result<ExitCode> {
    let broker = ctx.broker(Some(config)).await?;
    let rows = schedules::list(config, broker.as_ref()).await?;
    if args.json {
        let rows: Vec<ScheduleRow> = rows.iter().map(ScheduleRow::from).collect();
        say!("{}", serde_json::json!({ "schedules": rows }));
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        say!("no schedules in {}", config.path.display());
        return Ok(ExitCode::SUCCESS);
    }
    let text: Vec<Vec<String>> = rows
        .iter()
        .map(|l| {
            let e = &l.entry;
            // in the schedule's own zone, as check and inspect show them
            let when = |t: Option<jiff::Timestamp>| t.map_or("-".into(), |t| in_zone(t, e.tz()));
            let (state, next) = match l.paused_since {
                Some(since) => (format!("paused since {}", in_zone(since, e.tz())), "-".into()),
                None => ("active".into(), when(l.next.as_ref().map(jiff::Zoned::timestamp))),
            };
            vec![e.name().to_string(), e.schedule.describe(), state, when(l.last_tick), next]
        })
        .collect();
    for line in table::render(&["SCHEDULE", "WHEN", "STATE", "LAST TICK", "NEXT"], &text) {
        say!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn pause(name: &str, paused: bool, config: &Config, ctx: &Context) -> anyhow::Result<ExitCode> {
    schedules::entry(name, config)?;
    let broker = ctx.broker(Some(config)).await?;
    let changed = schedules::pause(name, paused, config, broker.as_ref()).await?;
    say!("{}", schedules::paused_text(name, paused, changed));
    Ok(ExitCode::SUCCESS)
}

async fn trigger(name: &str, config: &Config, ctx: &Context) -> anyhow::Result<ExitCode> {
    schedules::entry(name, config)?;
    let broker = ctx.broker(Some(config)).await?;
    let id = schedules::trigger(name, config, broker.as_ref()).await?.id;
    super::enqueue::print_id(&id.to_string())
        .map_err(|err| NotPrinted(format!("job {id} was enqueued, but its id could not be printed: {err}")))?;
    Ok(ExitCode::SUCCESS)
}
