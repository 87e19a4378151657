//! Beat's state in Redis: ticks claimed by `fire.lua`, entries listed from
//! the `{ns}:schedules` set.

use std::collections::HashMap;

use jiff::Timestamp;
use redis::AsyncCommands;

use super::fields::{job_args, opt};
use super::{RedisBroker, SCRIPTS};
use crate::broker::{BrokerError, Fire, Fired, ScheduleState};
use crate::job::JobId;
use crate::time::{from_ms, to_ms};

pub(super) async fn fire(b: &RedisBroker, fire: &Fire<'_>, now: Timestamp) -> Result<Fired, BrokerError> {
    let run = fire.run.map(job_args).transpose()?.unwrap_or_default();
    let reply: Vec<String> = SCRIPTS
        .fire
        .key(b.keys.schedule(fire.entry))
        .arg(b.keys.prefix())
        .arg(to_ms(fire.tick))
        .arg(to_ms(now))
        .arg(fire.spec)
        .arg(fire.missed)
        .arg(opt(fire.max_concurrent))
        .arg(fire.entry)
        .arg(run.len())
        .arg(run)
        .invoke_async(&mut b.conn())
        .await
        .map_err(b.err())?;
    let id = || -> Result<JobId, BrokerError> {
        reply
            .get(1)
            .ok_or_else(|| BrokerError::Protocol("fire: no id in the reply".into()))?
            .parse()
            .map_err(BrokerError::Protocol)
    };
    Ok(match reply.first().map(String::as_str) {
        Some("already") => Fired::Already,
        Some("recorded") => Fired::Recorded,
        Some("skipped") => Fired::Skipped,
        Some("duplicate") => Fired::Duplicate(id()?),
        Some("enqueued") => Fired::Enqueued(id()?),
        other => return Err(BrokerError::Protocol(format!("fire: unexpected reply {other:?}"))),
    })
}

pub(super) async fn schedules(b: &RedisBroker) -> Result<Vec<ScheduleState>, BrokerError> {
    let keys: Vec<String> = b.conn().smembers(b.keys.schedules()).await.map_err(b.err())?;
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for key in &keys {
        pipe.hgetall(key);
    }
    let hashes: Vec<HashMap<String, String>> = pipe.query_async(&mut b.conn()).await.map_err(b.err())?;
    let prefix = b.keys.schedule("");
    let mut out = Vec::new();
    for (key, fields) in keys.iter().zip(hashes) {
        let Some(last) = fields.get("last").and_then(|v| v.parse::<i64>().ok()) else { continue };
        let count = |k: &str| fields.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        out.push(ScheduleState {
            entry: key.strip_prefix(&prefix).unwrap_or(key).to_string(),
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

pub(super) async fn schedule_outcome(
    b: &RedisBroker,
    entry: &str,
    succeeded: bool,
    at: Timestamp,
) -> Result<(), BrokerError> {
    let _: i64 = SCRIPTS
        .schedule_outcome
        .key(b.keys.schedule(entry))
        .arg(if succeeded { "ok" } else { "fail" })
        .arg(to_ms(at))
        .invoke_async(&mut b.conn())
        .await
        .map_err(b.err())?;
    Ok(())
}
