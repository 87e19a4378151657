//! `taskq inspect`: queues, live workers (and beats) and what they run,
//! flagged when their host's clock is off the broker's, and schedules with
//! their last and next fires, flagged when their last run failed or no run
//! succeeded within two periods; and workflow runs by state (ended ones are
//! kept for the result_ttl). Every instant is the broker's.

use std::process::ExitCode;

use super::views::{InspectView, QueueView, ScheduleView, WorkerView, WorkflowRunsView};
use super::{Context, table};
use crate::beat::entries;
use crate::beat::health::alerts;
use crate::broker::RunState;
use crate::cli::InspectArgs;
use crate::time::local;

pub(super) async fn run(args: InspectArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    let broker = ctx.broker(Some(&config)).await?;
    let now = broker.time().await?;
    let mut queues = Vec::new();
    for q in config.queues() {
        queues.push((q.to_string(), broker.count_ready(std::slice::from_ref(&q)).await?));
    }
    let workers = broker.workers().await?;
    let states = broker.schedules().await?;
    let counts = broker.count_runs().await?;
    let mut workflows: Vec<WorkflowRunsView> = config
        .workflows
        .iter()
        .map(|w| WorkflowRunsView { name: w.name.to_string(), ..WorkflowRunsView::default() })
        .collect();
    for (name, state, n) in counts {
        let at = workflows.iter().position(|w| w.name == name.as_str()).unwrap_or_else(|| {
            workflows.push(WorkflowRunsView { name: name.to_string(), ..WorkflowRunsView::default() });
            workflows.len() - 1
        });
        let w = &mut workflows[at];
        match state {
            RunState::Running => w.running += n,
            RunState::Succeeded => w.succeeded += n,
            RunState::Failed => w.failed += n,
            RunState::Revoked => w.revoked += n,
        }
    }
    let view = InspectView {
        queues: queues.into_iter().map(|(name, ready)| QueueView { name, ready }).collect(),
        workers: workers.iter().map(WorkerView::from).collect(),
        schedules: entries(&config)
            .iter()
            .map(|e| {
                let state = states.iter().find(|s| s.entry == e.name());
                let next = e.schedule.next_after(now, e.tz());
                let alerts = alerts(state, &e.schedule, e.tz(), now).iter().map(ToString::to_string).collect();
                ScheduleView::new(e, state, next.as_ref(), alerts)
            })
            .collect(),
        workflows,
    };
    if args.json {
        say!("{}", serde_json::to_string(&view)?);
        return Ok(ExitCode::SUCCESS);
    }
    let InspectView { queues, workers, schedules, workflows } = view;
    let rows: Vec<Vec<String>> = queues.iter().map(|q| vec![q.name.clone(), q.ready.to_string()]).collect();
    for line in table::render(&["QUEUE", "READY"], &rows) {
        say!("{line}");
    }
    say!();
    if workers.is_empty() {
        say!("no live workers");
    } else {
        let rows: Vec<Vec<String>> = workers
            .iter()
            .map(|w| {
                let running: Vec<String> = w.running.iter().map(|r| format!("{} {}", r.job, r.id)).collect();
                let offset = format!("{:+.3}s", w.clock_offset_ms as f64 / 1000.0);
                vec![
                    w.id.clone(),
                    if w.concurrency == 0 { "(beat)".into() } else { w.queues.join(",") },
                    format!("{}/{}", w.running.len(), w.concurrency),
                    if w.clock_ok { "ok".into() } else { format!("{offset} OFF") },
                    if running.is_empty() { "-".into() } else { running.join(", ") },
                ]
            })
            .collect();
        for line in table::render(&["WORKER", "QUEUES", "BUSY", "CLOCK", "RUNNING"], &rows) {
            say!("{line}");
        }
    }
    if !schedules.is_empty() {
        say!();
        let rows: Vec<Vec<String>> = schedules
            .iter()
            .map(|s| {
                // in the schedule's own zone, as check shows its fires
                let tz = crate::time::Zone::named(&s.timezone).map(|z| z.tz().clone()).ok();
                let when = |t: &Option<String>| t.as_deref().map_or("-".into(), |t| in_zone_of(t, tz.as_ref()));
                vec![
                    s.name.clone(),
                    s.schedule.clone(),
                    when(&s.last_tick),
                    when(&s.next),
                    s.fired.to_string(),
                    match &s.last_skip {
                        Some(why) if s.skipped > 0 => format!("{} ({why})", s.skipped),
                        _ => s.skipped.to_string(),
                    },
                    when(&s.last_success),
                    if s.alerts.is_empty() { "-".into() } else { s.alerts.join("; ") },
                ]
            })
            .collect();
        let header = ["SCHEDULE", "WHEN", "LAST TICK", "NEXT", "FIRED", "SKIPPED", "LAST SUCCESS", "ALERT"];
        for line in table::render(&header, &rows) {
            say!("{line}");
        }
    }
    if !workflows.is_empty() {
        say!();
        let rows: Vec<Vec<String>> = workflows
            .iter()
            .map(|w| {
                let n = |v: u64| v.to_string();
                vec![w.name.clone(), n(w.running), n(w.succeeded), n(w.failed), n(w.revoked)]
            })
            .collect();
        for line in table::render(&["WORKFLOW", "RUNNING", "SUCCEEDED", "FAILED", "REVOKED"], &rows) {
            say!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An RFC 3339 instant of a view, in `tz` (none: the host's zone).
fn in_zone_of(text: &str, tz: Option<&jiff::tz::TimeZone>) -> String {
    match (text.parse::<jiff::Timestamp>(), tz) {
        (Ok(t), Some(tz)) => crate::time::in_zone(t, tz),
        (Ok(t), None) => local(t),
        (Err(_), _) => text.to_string(),
    }
}
