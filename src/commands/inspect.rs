//! `taskq inspect`: queues, live workers (and beats) and what they run,
//! flagged when their host's clock is off the broker's, and schedules with
//! their last and next fires, flagged when their last run failed or no run
//! succeeded within two periods. Every instant is the broker's.

use std::process::ExitCode;

use serde_json::json;

use super::{Context, table};
use crate::beat::entries;
use crate::beat::health::alerts;
use crate::cli::InspectArgs;
use crate::time::{local, rfc3339, rfc3339_utc};

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
    let schedules: Vec<_> = entries(&config)
        .into_iter()
        .map(|e| {
            let state = states.iter().find(|s| s.entry == e.name());
            let next = e.schedule.next_after(now, e.tz());
            let alerts: Vec<String> = alerts(state, &e.schedule, e.tz(), now).iter().map(ToString::to_string).collect();
            (e, state.cloned(), next, alerts)
        })
        .collect();
    if args.json {
        let doc = json!({
            "queues": queues.iter().map(|(q, n)| json!({ "name": q, "ready": n })).collect::<Vec<_>>(),
            "workers": workers.iter().map(|w| json!({
                "id": w.id,
                "host": w.host,
                "pid": w.pid,
                "queues": w.queues,
                "concurrency": w.concurrency,
                "beat": w.beat,
                "started_at": rfc3339_utc(w.started_at),
                "seen_at": rfc3339_utc(w.seen_at),
                "clock_offset_ms": w.clock_offset_ms,
                "clock_ok": clock_ok(w.clock_offset_ms),
                "running": w.running.iter().map(|r| json!({ "id": r.id.to_string(), "job": r.job, "attempt": r.attempt })).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "schedules": schedules.iter().map(|(e, s, next, alerts)| json!({
                "name": e.name(),
                "schedule": e.schedule.describe(),
                "last_tick": s.as_ref().map(|s| rfc3339_utc(s.last_tick)),
                "last_job": s.as_ref().and_then(|s| s.last_job).map(|id| id.to_string()),
                "fired": s.as_ref().map_or(0, |s| s.fired),
                "skipped": s.as_ref().map_or(0, |s| s.skipped),
                "last_skip": s.as_ref().and_then(|s| s.last_skip.clone()),
                "last_success": s.as_ref().and_then(|s| s.last_success).map(rfc3339_utc),
                "last_failure": s.as_ref().and_then(|s| s.last_failure).map(rfc3339_utc),
                "next": next.as_ref().map(rfc3339),
                "alerts": alerts,
            })).collect::<Vec<_>>(),
        });
        say!("{doc}");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = queues.iter().map(|(q, n)| vec![q.clone(), n.to_string()]).collect();
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
                    if clock_ok(w.clock_offset_ms) { "ok".into() } else { format!("{offset} OFF") },
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
            .map(|(e, s, next, alerts)| {
                vec![
                    e.name().to_string(),
                    e.schedule.describe(),
                    s.as_ref().map_or("-".into(), |s| local(s.last_tick)),
                    next.as_ref().map_or("-".into(), |n| local(n.timestamp())),
                    s.as_ref().map_or("0".into(), |s| s.fired.to_string()),
                    s.as_ref().map_or("0".into(), |s| match &s.last_skip {
                        Some(why) if s.skipped > 0 => format!("{} ({why})", s.skipped),
                        _ => s.skipped.to_string(),
                    }),
                    s.as_ref().and_then(|s| s.last_success).map_or("-".into(), local),
                    if alerts.is_empty() { "-".into() } else { alerts.join("; ") },
                ]
            })
            .collect();
        let header = ["SCHEDULE", "WHEN", "LAST TICK", "NEXT", "FIRED", "SKIPPED", "LAST SUCCESS", "ALERT"];
        for line in table::render(&header, &rows) {
            say!("{line}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Whether a host's clock is within `SKEW_WARNING` of the broker's.
fn clock_ok(offset_ms: i64) -> bool {
    offset_ms.unsigned_abs() <= crate::clock::SKEW_WARNING.as_millis() as u64
}
