//! Beat's state in Redis: ticks claimed by `fire.lua`, entries listed by
//! `schedules.lua`, both on `{ns}:entries`.

use std::collections::HashMap;

use super::fields::{job_args, ms, opt};
use super::{RedisBroker, SCRIPTS};
use crate::broker::{BrokerError, EARLY_TICK, Fire, Fired, ScheduleState};
use crate::job::JobId;
use crate::time::{from_ms, to_ms};

pub(super) async fn fire(b: &RedisBroker, fire: &Fire<'_>) -> Result<Fired, BrokerError> {
    let run = fire.run.map(job_args).transpose()?.unwrap_or_default();
    let mut call = b.script(&SCRIPTS.fire, b.keys.entries());
    call.arg(to_ms(fire.tick))
        .arg(fire.spec)
        .arg(fire.missed)
        .arg(opt(fire.max_concurrent))
        .arg(fire.entry)
        .arg(to_ms(fire.keep_until))
        .arg(run.len())
        .arg(run)
        .arg(ms(EARLY_TICK));
    let reply: Vec<String> = b.link.invoke(&call).await?;
    let id = || -> Result<JobId, BrokerError> {
        reply
            .get(1)
            .ok_or_else(|| BrokerError::Protocol("fire: no id in the reply".into()))?
            .parse()
            .map_err(BrokerError::Protocol)
    };
    Ok(match reply.first().map(String::as_str) {
        Some("already") => Fired::Already,
        Some("early") => Fired::Early,
        Some("recorded") => Fired::Recorded,
        Some("skipped") => Fired::Skipped,
        Some("duplicate") => Fired::Duplicate(id()?),
        Some("enqueued") => Fired::Enqueued(id()?),
        other => return Err(BrokerError::Protocol(format!("fire: unexpected reply {other:?}"))),
    })
}

pub(super) async fn schedules(b: &RedisBroker) -> Result<Vec<ScheduleState>, BrokerError> {
    let entries: Vec<(String, HashMap<String, String>)> =
        b.link.invoke(&b.script(&SCRIPTS.schedules, b.keys.entries())).await?;
    let mut out = Vec::new();
    for (entry, fields) in entries {
        let Some(last) = fields.get("last").and_then(|v| v.parse::<i64>().ok()) else { continue };
        let count = |k: &str| fields.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        out.push(ScheduleState {
            entry,
            spec: fields.get("spec").cloned().unwrap_or_default(),
            last_tick: from_ms(last),
            last_job: fields.get("job").and_then(|v| v.parse().ok()),
            fired: count("fired"),
            skipped: count("skipped"),
            last_skip: fields.get("last_skip").cloned(),
            last_success: fields.get("ok").and_then(|v| v.parse().ok()).map(from_ms),
            last_failure: fields.get("fail").and_then(|v| v.parse().ok()).map(from_ms),
        });
    }
    out.sort_by(|a, b| a.entry.cmp(&b.entry));
    Ok(out)
}
