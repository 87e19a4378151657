//! Operators' transitions in Redis: revoke, retry of failed jobs, purge;
//! what a burst worker counts as work; and the live workers' registry
//! (`{ns}:workers`, `{ns}:worker:<id>`).

use std::collections::HashSet;

use jiff::Timestamp;

use super::call::BULK_BATCH;
use super::fields::ms;
use super::{RedisBroker, SCRIPTS};
use crate::broker::{Broker, BrokerError, Purge, Retried, Revoke, WORKER_TTL, WorkerInfo};
use crate::job::JobId;
use crate::names::QueueName;
use crate::time::{from_ms, to_ms};

pub(super) async fn revoked(b: &RedisBroker, ids: &[JobId]) -> Result<Vec<JobId>, BrokerError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let names: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let records = super::reads::fields_of(b, &names).await?;
    Ok(ids
        .iter()
        .zip(records)
        .filter(|(_, r)| r.get("revoke").map(String::as_str) == Some("1"))
        .map(|(id, _)| *id)
        .collect())
}

pub(super) async fn revoke(b: &RedisBroker, id: JobId, terminate: bool) -> Result<Revoke, BrokerError> {
    let mut call = b.script(&SCRIPTS.revoke, b.keys.index());
    call.arg(id.to_string()).arg(if terminate { "1" } else { "0" });
    let reply: Vec<String> = b.link.invoke(&call).await?;
    let second = || reply.get(1).cloned().unwrap_or_default();
    Ok(match reply.first().map(String::as_str) {
        Some("revoked") => Revoke::Revoked,
        Some("terminating") => Revoke::Terminating { worker: second() },
        Some("running") => Revoke::Running { worker: second() },
        Some("final") => Revoke::Final(second().parse().map_err(BrokerError::Protocol)?),
        _ => Revoke::Unknown,
    })
}

pub(super) async fn retry_failed(b: &RedisBroker, ids: Option<&[JobId]>) -> Result<Vec<(JobId, Retried)>, BrokerError> {
    let mut call = b.script(&SCRIPTS.retry_failed, b.keys.failed());
    call.arg(if ids.is_some() { "ids" } else { "all" });
    for id in ids.unwrap_or_default() {
        call.arg(id.to_string());
    }
    let mut out = Vec::new();
    b.drain(&call, |reply: Vec<(String, String)>| {
        let full = reply.len() as u64 == BULK_BATCH;
        for (id, state) in reply {
            let retried = match state.as_str() {
                "requeued" => Retried::Requeued,
                "unknown" => Retried::Unknown,
                other => Retried::NotFailed(other.parse().map_err(BrokerError::Protocol)?),
            };
            out.push((id.parse().map_err(BrokerError::Protocol)?, retried));
        }
        // "all" goes BULK_BATCH at a time; ids go at once.
        Ok(ids.is_none() && full)
    })
    .await?;
    Ok(out)
}

pub(super) async fn count(b: &RedisBroker, what: &Purge) -> Result<u64, BrokerError> {
    match what {
        Purge::Failed => b.link.query(redis::cmd("ZCARD").arg(b.keys.failed())).await,
        Purge::Queue(q) => b.link.query(redis::cmd("LLEN").arg(b.keys.pending(q.as_str()))).await,
    }
}

pub(super) async fn purge(b: &RedisBroker, what: &Purge) -> Result<u64, BrokerError> {
    let (key, kind) = match what {
        Purge::Failed => (b.keys.failed(), "failed"),
        Purge::Queue(q) => (b.keys.pending(q.as_str()), "queue"),
    };
    let mut call = b.script(&SCRIPTS.purge, key);
    call.arg(kind);
    let mut total = 0;
    b.drain(&call, |n: u64| {
        total += n;
        Ok(n == BULK_BATCH)
    })
    .await?;
    Ok(total)
}

/// Jobs a worker on `queues` has yet to run: queued, due but not yet
/// forwarded, or waiting for a concurrency slot (a burst worker must not
/// call such a queue drained).
pub(super) async fn count_ready(b: &RedisBroker, queues: &[QueueName]) -> Result<u64, BrokerError> {
    if queues.is_empty() {
        return Ok(0);
    }
    let mine: HashSet<&str> = queues.iter().map(QueueName::as_str).collect();
    let now = to_ms(b.time().await?);
    let mut pipe = redis::pipe();
    for q in queues {
        pipe.llen(b.keys.pending(q.as_str()));
    }
    let lengths: Vec<u64> = b.link.pipe(&pipe).await?;
    let due: Vec<String> = b
        .link
        .query(redis::cmd("ZRANGEBYSCORE").arg(b.keys.delayed()).arg("-inf").arg(now).arg("LIMIT").arg(0).arg(1000))
        .await?;
    let limited: Vec<String> = b.link.query(redis::cmd("SMEMBERS").arg(b.keys.limited())).await?;
    let mut waiting = Vec::new();
    for job in &limited {
        let ids: Vec<String> = b.link.query(redis::cmd("LRANGE").arg(b.keys.blocked(job)).arg(0).arg(999)).await?;
        waiting.extend(ids);
    }
    let mut owned = 0;
    for ids in [&due, &waiting] {
        if ids.is_empty() {
            continue;
        }
        let records = super::reads::fields_of(b, ids).await?;
        owned += records.iter().filter_map(|r| r.get("queue")).filter(|q| mine.contains(q.as_str())).count() as u64;
    }
    Ok(lengths.iter().sum::<u64>() + owned)
}

pub(super) async fn heartbeat(b: &RedisBroker, info: &WorkerInfo) -> Result<Timestamp, BrokerError> {
    let json = serde_json::to_string(info).map_err(|e| BrokerError::Protocol(e.to_string()))?;
    let mut call = b.script(&SCRIPTS.heartbeat, b.keys.workers());
    call.key(b.keys.worker(&info.id)).arg(ms(WORKER_TTL)).arg(&info.id).arg(json);
    let now: i64 = b.link.invoke(&call).await?;
    Ok(from_ms(now))
}

pub(super) async fn forget_worker(b: &RedisBroker, id: &str) -> Result<(), BrokerError> {
    // Not MULTI: `workers` skips an id whose key is gone, so order is all that
    // matters, and a user whose ACL lacks MULTI (see docs/security.md) must
    // still be able to stop cleanly.
    let mut pipe = redis::pipe();
    pipe.del(b.keys.worker(id)).zrem(b.keys.workers(), id);
    b.link.pipe::<()>(&pipe).await
}

pub(super) async fn workers(b: &RedisBroker) -> Result<Vec<WorkerInfo>, BrokerError> {
    let since = to_ms(b.time().await?) - ms(WORKER_TTL) as i64;
    let seen: Vec<(String, i64)> = b
        .link
        .query(redis::cmd("ZRANGEBYSCORE").arg(b.keys.workers()).arg(format!("({since}")).arg("+inf").arg("WITHSCORES"))
        .await?;
    if seen.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = seen.iter().map(|(id, _)| b.keys.worker(id)).collect();
    let infos: Vec<Option<String>> = b.link.query(redis::cmd("MGET").arg(keys)).await?;
    let mut out = Vec::new();
    for ((_, at), info) in seen.iter().zip(infos) {
        let Some(info) = info else { continue };
        let mut info: WorkerInfo = serde_json::from_str(&info).map_err(|e| BrokerError::Protocol(e.to_string()))?;
        info.seen_at = from_ms(*at);
        out.push(info);
    }
    out.sort_by(|a: &WorkerInfo, b| a.id.cmp(&b.id));
    Ok(out)
}
