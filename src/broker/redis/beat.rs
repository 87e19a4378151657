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

/// A definition as `{ns}:definitions` holds it: field `<entry>|<beat>`.
#[derive(serde::Serialize, serde::Deserialize)]
struct Held {
    spec: String,
    since: i64,
    until: i64,
}

/// Every definition in `{ns}:definitions`, expired ones too, by field.
async fn read_definitions(b: &RedisBroker) -> Result<Vec<(String, crate::broker::Definition)>, BrokerError> {
    let all: HashMap<String, String> = b.link.query(redis::cmd("HGETALL").arg(b.keys.definitions())).await?;
    let mut out = Vec::new();
    for (field, value) in all {
        let (Some((entry, beat)), Ok(held)) = (field.split_once('|'), serde_json::from_str::<Held>(&value)) else {
            continue;
        };
        let d = crate::broker::Definition {
            entry: entry.to_string(),
            spec: held.spec,
            beat: beat.to_string(),
            since: from_ms(held.since),
            until: from_ms(held.until),
        };
        out.push((field, d));
    }
    Ok(out)
}

/// Registers `beat`'s definitions in `{ns}:definitions`, each beat writing
/// its own fields only (so no script is needed); drops expired ones;
/// returns the live ones.
pub(super) async fn define(
    b: &RedisBroker,
    beat: &str,
    defs: &[(String, String)],
    ttl: std::time::Duration,
) -> Result<Vec<crate::broker::Definition>, BrokerError> {
    let now = b.time().await?;
    let until = now + jiff::SignedDuration::try_from(ttl).unwrap_or(jiff::SignedDuration::MAX / 2);
    let mut gone = Vec::new();
    let mut live = Vec::new();
    let mut before = HashMap::new();
    for (field, d) in read_definitions(b).await? {
        if d.beat == beat {
            before.insert(d.entry.clone(), (d.spec.clone(), d.since));
            gone.push(field);
        } else if d.until < now {
            gone.push(field);
        } else {
            live.push(d);
        }
    }
    let mut set = Vec::new();
    for (entry, spec) in defs {
        let since = before.get(entry).filter(|(s, _)| s == spec).map_or(now, |(_, since)| *since);
        let held = Held { spec: spec.clone(), since: to_ms(since), until: to_ms(until) };
        let value = serde_json::to_string(&held).map_err(|e| BrokerError::Protocol(format!("define: {e}")))?;
        let field = format!("{entry}|{beat}");
        gone.retain(|g| *g != field);
        set.push((field, value));
        live.push(crate::broker::Definition {
            entry: entry.clone(),
            spec: spec.clone(),
            beat: beat.to_string(),
            since,
            until,
        });
    }
    let key = b.keys.definitions();
    if !gone.is_empty() {
        let _: i64 = b.link.query(redis::cmd("HDEL").arg(&key).arg(&gone)).await?;
    }
    if !set.is_empty() {
        let _: i64 = b.link.query(redis::cmd("HSET").arg(&key).arg(&set)).await?;
    }
    live.sort_by(|a, b| (&a.entry, &a.beat).cmp(&(&b.entry, &b.beat)));
    Ok(live)
}

/// Every live definition.
pub(super) async fn definitions(b: &RedisBroker) -> Result<Vec<crate::broker::Definition>, BrokerError> {
    let now = b.time().await?;
    let mut live: Vec<crate::broker::Definition> =
        read_definitions(b).await?.into_iter().map(|(_, d)| d).filter(|d| d.until >= now).collect();
    live.sort_by(|a, b| (&a.entry, &a.beat).cmp(&(&b.entry, &b.beat)));
    Ok(live)
}
