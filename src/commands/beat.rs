//! `taskq beat`: the scheduler alone; `--dry-run` compares the config with
//! the schedule state in the broker and prints the differences and the next
//! fires, changing nothing.

use std::process::ExitCode;

use tokio_util::sync::CancellationToken;

use super::Context;
use crate::beat::{Beat, Change, Entry, diff, entries};
use crate::cli::BeatArgs;
use crate::error::UsageError;
use crate::systemd;
use crate::time::{local, rfc3339};

pub(super) async fn run(args: BeatArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    if args.dry_run {
        if args.metrics.is_some() {
            return Err(UsageError("--dry-run and --metrics go separately: a dry run serves nothing".into()).into());
        }
        return dry_run(&config, ctx).await;
    }
    if let Some(addr) = args.metrics {
        crate::metrics::serve(addr)?;
    }
    let Some(broker) = ctx.broker_waiting(&config, true).await? else {
        return Ok(ExitCode::SUCCESS);
    };
    let status = match entries(&config).len() {
        1 => "firing 1 schedule".to_string(),
        n => format!("firing {n} schedules"),
    };
    systemd::ready(&status);
    let supervisor = CancellationToken::new();
    tokio::spawn(systemd::supervise(move || status.clone(), ctx.shutdown.graceful().clone(), supervisor.clone()));
    if args.metrics.is_some() {
        let schedules = entries(&config).iter().map(|e| e.name().to_string()).collect();
        tokio::spawn(crate::metrics::sample(broker.clone(), config.queues(), schedules, supervisor.clone()));
    }
    let clock = crate::clock::BrokerClock::new(broker.clone());
    let result = Beat::new(broker, config, clock).registered().run(ctx.shutdown.clone()).await;
    supervisor.cancel();
    systemd::stopping("stopped");
    result?;
    Ok(ExitCode::SUCCESS)
}

async fn dry_run(config: &crate::config::Config, ctx: &Context) -> anyhow::Result<ExitCode> {
    let broker = ctx.broker(Some(config)).await?;
    let states = broker.schedules().await?;
    let entries = entries(config);
    let now = broker.time().await?;
    let changes = diff(states.iter().map(|s| (s.entry.as_str(), s.spec.as_str())), entries.iter().map(Entry::key));
    for change in &changes {
        match change {
            Change::Added { name, spec } => say!("{name}: new: {spec}"),
            Change::Changed { name, from, to } => {
                say!("{name}: changed: {from} -> {to} (starts afresh: no catch-up)");
            }
            Change::Removed { name, spec } => say!("{name}: removed: {spec} (stops firing)"),
            Change::Unchanged { name } => match states.iter().find(|s| &s.entry == name) {
                Some(state) if state.ticked().is_none() => {
                    say!("{name}: unchanged, no tick yet (run by a beat since {})", local(state.last_tick));
                }
                state => say!("{name}: unchanged, last tick {}", state.map(|s| local(s.last_tick)).unwrap_or_default()),
            },
        }
        if let Some(entry) = entries.iter().find(|e| e.name() == change_name(change)) {
            let next: Vec<String> = entry.schedule.upcoming(now, entry.tz(), 3).iter().map(rfc3339).collect();
            say!("  next: {}", next.join(", "));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn change_name(change: &Change) -> &str {
    match change {
        Change::Added { name, .. }
        | Change::Changed { name, .. }
        | Change::Removed { name, .. }
        | Change::Unchanged { name } => name,
    }
}
