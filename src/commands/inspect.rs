//! `taskq inspect`: queues, live workers (and beats) and what they run,
//! flagged when their host's clock is off the broker's; per-job counts of
//! how attempts ended, with run times, over the last hour and 24 h;
//! schedules with their last and next fires, flagged when their last run
//! failed or no run succeeded within two periods; and workflow runs by
//! state (ended ones are kept for the result_ttl). Every instant is the
//! broker's. `top` shows the same snapshot, refreshed.

use std::process::ExitCode;

use super::{Context, table};
use crate::cli::InspectArgs;
use crate::control::snapshot;
use crate::text::short_duration;
use crate::time::local;
use crate::views::InspectView;

pub(super) async fn run(args: InspectArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    let broker = ctx.broker(Some(&config)).await?;
    let view = snapshot(&config, broker.as_ref()).await?;
    if args.json {
        say!("{}", serde_json::to_string(&view)?);
        return Ok(ExitCode::SUCCESS);
    }
    for line in render(&view) {
        say!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `inspect`'s text: a table per part.
pub(super) fn render(view: &InspectView) -> Vec<String> {
    let mut out = Vec::new();
    let InspectView { queues, workers, jobs, schedules, workflows } = view;
    let rows: Vec<Vec<String>> = queues.iter().map(|q| vec![q.name.clone(), q.ready.to_string()]).collect();
    out.extend(table::render(&["QUEUE", "READY"], &rows));
    out.push(String::new());
    if workers.is_empty() {
        out.push("no live workers".into());
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
        out.extend(table::render(&["WORKER", "QUEUES", "BUSY", "CLOCK", "RUNNING"], &rows));
    }
    out.push(String::new());
    if jobs.is_empty() {
        out.push("no job ran in the last 24 h".into());
    } else {
        let rows: Vec<Vec<String>> = jobs
            .iter()
            .map(|j| {
                let (h, d) = (&j.last_hour, &j.last_24h);
                vec![
                    j.name.clone(),
                    j.running.to_string(),
                    h.succeeded.to_string(),
                    h.failed.to_string(),
                    h.retried.to_string(),
                    h.expired.to_string(),
                    h.mean_seconds.map_or("-".into(), short_duration),
                    h.p95_seconds.map_or("-".into(), short_duration),
                    d.succeeded.to_string(),
                    d.failed.to_string(),
                ]
            })
            .collect();
        let header = [
            "JOB",
            "RUNNING",
            "OK 1H",
            "FAILED 1H",
            "RETRIED 1H",
            "EXPIRED 1H",
            "MEAN 1H",
            "P95 1H",
            "OK 24H",
            "FAILED 24H",
        ];
        out.extend(table::render(&header, &rows));
    }
    if !schedules.is_empty() {
        out.push(String::new());
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
                    if s.paused { "paused".into() } else { when(&s.next) },
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
        out.extend(table::render(&header, &rows));
    }
    if !workflows.is_empty() {
        out.push(String::new());
        let rows: Vec<Vec<String>> = workflows
            .iter()
            .map(|w| {
                let n = |v: u64| v.to_string();
                vec![w.name.clone(), n(w.running), n(w.succeeded), n(w.failed), n(w.revoked)]
            })
            .collect();
        out.extend(table::render(&["WORKFLOW", "RUNNING", "SUCCEEDED", "FAILED", "REVOKED"], &rows));
    }
    out
}

/// An RFC 3339 instant of a view, in `tz` (none: the host's zone).
fn in_zone_of(text: &str, tz: Option<&jiff::tz::TimeZone>) -> String {
    match (text.parse::<jiff::Timestamp>(), tz) {
        (Ok(t), Some(tz)) => crate::time::in_zone(t, tz),
        (Ok(t), None) => local(t),
        (Err(_), _) => text.to_string(),
    }
}
