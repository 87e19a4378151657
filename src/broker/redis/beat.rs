//! Beat's state in Redis: ticks claimed by `fire.lua`, entries listed by
//! `schedules.lua`, both on the entries hash of the queue the entry's job
//! runs on (`{ns/q}:entries`), so that a tick is claimed and its run
//! enqueued in one step.

use std::collections::HashMap;

use super::fields::{job_args, ms, opt};
use super::{RedisBroker, SCRIPTS, queues, unique};
use crate::broker::{Broker, BrokerError, EARLY_TICK, Fire, Fired, ScheduleState};
use crate::job::JobId;
use crate::time::{from_ms, to_ms};

pub(super) async fn fire(b: &RedisBroker, fire: &Fire<'_>) -> Result<Fired, BrokerError> {
    let queue = fire.queue.as_str();
    adopt(b, queue, fire.entry).await?;
    b.queues.note(queue);
    // A run with a unique key claims it first (`unique.rs`): a held key
    // makes the tick a duplicate; a claim whose tick was not this beat's
    // to enqueue is released.
    let holder = match fire.run {
        Some(run) => unique::claim(b, &[run]).await?.pop().flatten(),
        None => None,
    };
    let args = fire.run.map(job_args).transpose()?.unwrap_or_default();
    b.wake.touched(queue);
    let mut call = b.script(&SCRIPTS.fire, queue);
    call.arg(to_ms(fire.tick))
        .arg(fire.spec)
        .arg(fire.missed)
        .arg(opt(fire.max_concurrent))
        .arg(fire.entry)
        .arg(to_ms(fire.keep_until))
        .arg(holder.map(|h| h.to_string()).unwrap_or_default())
        .arg(ms(EARLY_TICK))
        .arg(if fire.paused { "1" } else { "0" })
        .arg(args.len())
        .arg(args);
    let reply: Vec<String> = b.link.invoke(&call).await?;
    // A state recorded without a run (a new entry's start, a skipped
    // catch-up, a paused tick) must be found by `schedules` in other
    // processes too, which read only the listed queues.
    if matches!(reply.first().map(String::as_str), Some("recorded" | "paused"))
        && reply.get(2).map(String::as_str) == Some("0")
    {
        queues::register(b, queue).await?;
    }
    if let Some(run) = fire.run.filter(|_| holder.is_none()) {
        let enqueued = reply.first().map(String::as_str) == Some("enqueued");
        if enqueued && reply.get(2).map(String::as_str) == Some("0") {
            queues::register(b, queue).await?;
        }
        unique::settle(b, &[run], enqueued).await?;
    }
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
        Some("paused") => Fired::Paused,
        Some("skipped") => Fired::Skipped,
        Some("duplicate") => Fired::Duplicate(id()?),
        Some("enqueued") => Fired::Enqueued(id()?),
        other => return Err(BrokerError::Protocol(format!("fire: unexpected reply {other:?}"))),
    })
}

pub(super) async fn schedules(b: &RedisBroker) -> Result<Vec<ScheduleState>, BrokerError> {
    let mut found: HashMap<String, HashMap<String, String>> = HashMap::new();
    let mut keep = |entry: String, fields: HashMap<String, String>| {
        let last = |f: &HashMap<String, String>| f.get("last").and_then(|v| v.parse::<i64>().ok());
        // An entry whose job moved to another queue has a state in each:
        // the one with the later tick is the one in use.
        if found.get(&entry).is_none_or(|seen| last(seen) < last(&fields)) {
            found.insert(entry, fields);
        }
    };
    for q in b.queues.all(b).await? {
        let entries: Vec<(String, HashMap<String, String>)> = b.link.invoke(&b.script(&SCRIPTS.schedules, &q)).await?;
        for (entry, fields) in entries {
            keep(entry, fields);
        }
    }
    for (entry, fields) in old_entries(b).await? {
        keep(entry, fields);
    }
    let mut out = Vec::new();
    for (entry, fields) in found {
        let Some(last) = fields.get("last").and_then(|v| v.parse::<i64>().ok()) else { continue };
        let count = |k: &str| fields.get(k).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        out.push(ScheduleState {
            entry,
            spec: fields.get("spec").cloned().unwrap_or_default(),
            last_tick: from_ms(last),
            last_job: fields.get("job").and_then(|v| v.parse::<JobId>().ok()),
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

/// Moves an entry's state kept by taskq before 0.2 (in `{ns}:entries`,
/// which did not know the entry's queue) to `queue`'s entries, where its
/// next tick is claimed: copied if the queue has none, then deleted.
async fn adopt(b: &RedisBroker, queue: &str, entry: &str) -> Result<(), BrokerError> {
    if !b.old_entries.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(());
    }
    let old = b.keys.old("entries");
    let state: Option<Vec<u8>> = b.link.query(redis::cmd("HGET").arg(&old).arg(entry)).await?;
    if let Some(state) = state {
        let into = b.keys.queue(queue).key("entries");
        let _: i64 = b.link.query(redis::cmd("HSETNX").arg(into).arg(entry).arg(state)).await?;
        let _: i64 = b.link.query(redis::cmd("HDEL").arg(&old).arg(entry)).await?;
    }
    let left: i64 = b.link.query(redis::cmd("EXISTS").arg(&old)).await?;
    if left == 0 {
        b.old_entries.store(false, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(())
}

/// Entry states kept by taskq before 0.2 that no beat has moved yet.
async fn old_entries(b: &RedisBroker) -> Result<Vec<(String, HashMap<String, String>)>, BrokerError> {
    if !b.old_entries.load(std::sync::atomic::Ordering::Relaxed) {
        return Ok(Vec::new());
    }
    let entries: Vec<(String, HashMap<String, String>)> =
        b.link.invoke(&b.ns_script(&SCRIPTS.old_entries, &[b.keys.old("entries")])).await?;
    if entries.is_empty() {
        b.old_entries.store(false, std::sync::atomic::Ordering::Relaxed);
    }
    Ok(entries)
}

/// Pauses or resumes `entry` in `{ns}:paused`; true if that changed it.
pub(super) async fn pause(b: &RedisBroker, entry: &str, paused: bool) -> Result<bool, BrokerError> {
    let key = b.keys.paused();
    let changed: i64 = if paused {
        let now = to_ms(b.time().await?);
        b.link.query(redis::cmd("HSETNX").arg(key).arg(entry).arg(now)).await?
    } else {
        b.link.query(redis::cmd("HDEL").arg(key).arg(entry)).await?
    };
    Ok(changed == 1)
}

/// The paused entries and since when.
pub(super) async fn paused(b: &RedisBroker) -> Result<Vec<(String, jiff::Timestamp)>, BrokerError> {
    let all: std::collections::BTreeMap<String, i64> = b.link.query(redis::cmd("HGETALL").arg(b.keys.paused())).await?;
    Ok(all.into_iter().map(|(e, since)| (e, from_ms(since))).collect())
}
