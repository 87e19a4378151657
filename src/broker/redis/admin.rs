//! Operators' transitions in Redis: revoke, retry of failed jobs, purge
//! (and the failed set's bound across queues); what a burst worker counts
//! as work; the live workers' registry (`{ns}:workers`,
//! `{ns}:worker:<id>`); and the per-job statistics of every queue.

use std::collections::BTreeMap;

use jiff::Timestamp;

use super::call::BULK_BATCH;
use super::fields::ms;
use super::{RedisBroker, SCRIPTS, queues};
use crate::broker::{Broker, BrokerError, LeaseToken, Purge, Retried, Revoke, WORKER_TTL, WorkerInfo};
use crate::job::JobId;
use crate::names::QueueName;
use crate::time::{from_ms, to_ms};

pub(super) async fn revoked(b: &RedisBroker, runs: &[LeaseToken]) -> Result<Vec<JobId>, BrokerError> {
    let mut by_queue: BTreeMap<&str, Vec<&LeaseToken>> = BTreeMap::new();
    for t in runs {
        by_queue.entry(t.queue.as_str()).or_default().push(t);
    }
    let mut out = Vec::new();
    for (queue, runs) in by_queue {
        let ids: Vec<String> = runs.iter().map(|t| t.id.to_string()).collect();
        let names: Vec<&str> = ids.iter().map(String::as_str).collect();
        let records = super::reads::fields_in(b, queue, &names).await?;
        out.extend(
            runs.iter()
                .zip(records)
                .filter(|(_, r)| r.get("revoke").map(String::as_str) == Some("1"))
                .map(|(t, _)| t.id),
        );
    }
    Ok(out)
}

pub(super) async fn revoke(b: &RedisBroker, id: JobId, terminate: bool) -> Result<Revoke, BrokerError> {
    match queues::locate(b, &[id.to_string()]).await?.pop().flatten() {
        Some(queue) => revoke_in(b, &queue, id, terminate).await,
        None => Ok(Revoke::Unknown),
    }
}

pub(super) async fn revoke_in(b: &RedisBroker, queue: &str, id: JobId, terminate: bool) -> Result<Revoke, BrokerError> {
    b.wake.touched(queue);
    let mut call = b.script(&SCRIPTS.revoke, queue);
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
    let mut out = Vec::new();
    let Some(ids) = ids else {
        for queue in b.queues.all(b).await? {
            b.wake.touched(&queue);
            let mut call = b.script(&SCRIPTS.retry_failed, &queue);
            call.arg("all");
            b.drain(&call, |reply: Vec<(String, String)>| {
                let full = reply.len() as u64 == BULK_BATCH;
                out.extend(retried(reply)?);
                Ok(full)
            })
            .await?;
        }
        return Ok(out);
    };
    let names: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let mut answers = std::collections::HashMap::new();
    for (queue, share) in queues::group(b, &names).await? {
        b.wake.touched(&queue);
        let mut call = b.script(&SCRIPTS.retry_failed, &queue);
        call.arg("ids");
        for (_, id) in &share {
            call.arg(id);
        }
        answers.extend(retried(b.link.invoke(&call).await?)?);
    }
    // in the order asked
    Ok(ids.iter().map(|id| (*id, answers.remove(id).unwrap_or(Retried::Unknown))).collect())
}

/// retry_failed.lua's reply, read.
fn retried(reply: Vec<(String, String)>) -> Result<Vec<(JobId, Retried)>, BrokerError> {
    reply
        .into_iter()
        .map(|(id, state)| {
            let retried = match state.as_str() {
                "requeued" => Retried::Requeued,
                "unknown" => Retried::Unknown,
                other => Retried::NotFailed(other.parse().map_err(BrokerError::Protocol)?),
            };
            Ok((id.parse().map_err(BrokerError::Protocol)?, retried))
        })
        .collect()
}

pub(super) async fn count(b: &RedisBroker, what: &Purge) -> Result<u64, BrokerError> {
    match what {
        Purge::Failed => {
            let mut total = 0;
            for queue in b.queues.all(b).await? {
                total += b.link.query::<u64>(redis::cmd("ZCARD").arg(b.keys.queue(&queue).key("failed"))).await?;
            }
            Ok(total)
        }
        Purge::Queue(q) => {
            let keys = b.keys.queue(q.as_str());
            let mut pipe = redis::pipe();
            pipe.llen(keys.key("pending")).zcard(keys.key("blocked"));
            let (pending, waiting): (u64, u64) = b.link.pipe(&pipe).await?;
            Ok(pending + waiting)
        }
    }
}

pub(super) async fn purge(b: &RedisBroker, what: &Purge) -> Result<u64, BrokerError> {
    let (queues, kind) = match what {
        Purge::Failed => (b.queues.all(b).await?, "failed"),
        Purge::Queue(q) => (vec![q.to_string()], "queue"),
    };
    let mut total = 0;
    for queue in queues {
        let mut call = b.script(&SCRIPTS.purge, &queue);
        call.arg(kind);
        b.drain(&call, |n: u64| {
            total += n;
            Ok(n == BULK_BATCH)
        })
        .await?;
    }
    Ok(total)
}

/// Keeps the namespace's failed jobs within `max` across its queues (each
/// queue keeps its own within it as jobs fail): the oldest beyond it go,
/// whichever queue holds them. `sizes`: each queue's failed count. Each job
/// chosen is deleted only if it is still failed since the same instant, so
/// workers trimming at once do not each take their share. Returns how many
/// went.
pub(super) async fn trim_failed(b: &RedisBroker, sizes: &[(String, u64)], max: u64) -> Result<u64, BrokerError> {
    let over = sizes.iter().map(|(_, n)| n).sum::<u64>().saturating_sub(max).min(BULK_BATCH);
    if over == 0 {
        return Ok(0);
    }
    // The `over` oldest across queues: each queue's oldest `over`, merged.
    let mut oldest: Vec<(f64, &str, String)> = Vec::new();
    for (q, _) in sizes.iter().filter(|(_, n)| *n > 0) {
        let scored: Vec<(String, f64)> = b
            .link
            .query(redis::cmd("ZRANGE").arg(b.keys.queue(q).key("failed")).arg(0).arg(over - 1).arg("WITHSCORES"))
            .await?;
        oldest.extend(scored.into_iter().map(|(id, at)| (at, q.as_str(), id)));
    }
    oldest.sort_by(|a, b| a.0.total_cmp(&b.0));
    oldest.truncate(over as usize);
    let mut per_queue: BTreeMap<&str, Vec<(String, f64)>> = BTreeMap::new();
    for (at, q, id) in oldest {
        per_queue.entry(q).or_default().push((id, at));
    }
    let mut dropped = 0;
    for (q, jobs) in per_queue {
        let mut call = b.script(&SCRIPTS.purge, q);
        call.arg("these");
        for (id, at) in jobs {
            call.arg(id).arg(at);
        }
        dropped += b.link.invoke::<u64>(&call).await?;
    }
    Ok(dropped)
}

/// Jobs a worker on `queues` has yet to run: queued, due but not yet
/// forwarded, or waiting for a concurrency slot (a burst worker must not
/// call such a queue drained).
pub(super) async fn count_ready(b: &RedisBroker, queues: &[QueueName]) -> Result<u64, BrokerError> {
    if queues.is_empty() {
        return Ok(0);
    }
    let now = to_ms(b.time().await?);
    let mut total = 0;
    for q in queues {
        let keys = b.keys.queue(q.as_str());
        let mut pipe = redis::pipe();
        pipe.llen(keys.key("pending")).zcount(keys.key("delayed"), "-inf", now).zcard(keys.key("blocked"));
        let (pending, due, waiting): (u64, u64, u64) = b.link.pipe(&pipe).await?;
        total += pending + due + waiting;
    }
    Ok(total)
}

pub(super) async fn heartbeat(b: &RedisBroker, info: &WorkerInfo) -> Result<Timestamp, BrokerError> {
    let json = serde_json::to_string(info).map_err(|e| BrokerError::Protocol(e.to_string()))?;
    let mut call = b.ns_script(&SCRIPTS.heartbeat, &[b.keys.workers(), b.keys.worker(&info.id)]);
    call.arg(ms(WORKER_TTL)).arg(&info.id).arg(json);
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

/// Every queue's statistics cells, read by stats.lua in each queue's slot,
/// summed per job by the broker's clock.
pub(super) async fn job_stats(b: &RedisBroker) -> Result<Vec<crate::broker::stats::JobStats>, BrokerError> {
    use crate::broker::stats::{Cell, aggregate};
    let protocol = |e: String| BrokerError::Protocol(format!("stats: {e}"));
    let (mut cells, mut now) = (Vec::new(), None);
    for q in b.queues.all(b).await? {
        let reply: Vec<String> = b.link.invoke(&b.script(&SCRIPTS.stats, &q)).await?;
        let mut reply = reply.into_iter();
        let at: i64 = reply.next().unwrap_or_default().parse().map_err(|e| protocol(format!("{e}")))?;
        now = now.max(Some(at));
        while let (Some(job), Some(scale), Some(bucket), Some(counters)) =
            (reply.next(), reply.next(), reply.next(), reply.next())
        {
            let bucket = bucket.parse().map_err(|e| protocol(format!("{e}")))?;
            // cjson writes an empty table as {} and whole numbers as such.
            let counters: BTreeMap<String, f64> =
                serde_json::from_str(&counters).map_err(|e| protocol(e.to_string()))?;
            for (field, n) in counters {
                cells.push(Cell { hourly: scale == "h", bucket, job: job.clone(), field, n: n.max(0.0) as u64 });
            }
        }
    }
    let now = match now {
        Some(now) => now,
        None => to_ms(b.time().await?),
    };
    Ok(aggregate(cells, now))
}
