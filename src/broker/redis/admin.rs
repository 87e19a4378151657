//! Operators' transitions in Redis: revoke, retry of failed jobs, purge; and
//! the live workers' registry (`{ns}:workers`, `{ns}:worker:<id>`).

use jiff::Timestamp;
use redis::AsyncCommands;

use super::{RedisBroker, SCRIPTS};
use crate::broker::{BrokerError, Purge, Retried, Revoke, WorkerInfo};
use crate::job::JobId;
use crate::time::to_ms;

pub(super) async fn revoked(b: &RedisBroker, ids: &[JobId]) -> Result<Vec<JobId>, BrokerError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut pipe = redis::pipe();
    for id in ids {
        pipe.hget(b.keys.job(&id.to_string()), "revoke");
    }
    let flags: Vec<Option<String>> = pipe.query_async(&mut b.conn()).await.map_err(b.err())?;
    Ok(ids.iter().zip(flags).filter(|(_, f)| f.as_deref() == Some("1")).map(|(id, _)| *id).collect())
}

pub(super) async fn revoke(b: &RedisBroker, id: JobId, terminate: bool, now: Timestamp) -> Result<Revoke, BrokerError> {
    let reply: Vec<String> = SCRIPTS
        .revoke
        .key(b.keys.index())
        .arg(b.keys.prefix())
        .arg(id.to_string())
        .arg(to_ms(now))
        .arg(if terminate { "1" } else { "0" })
        .invoke_async(&mut b.conn())
        .await
        .map_err(b.err())?;
    let second = || reply.get(1).cloned().unwrap_or_default();
    Ok(match reply.first().map(String::as_str) {
        Some("revoked") => Revoke::Revoked,
        Some("terminating") => Revoke::Terminating { worker: second() },
        Some("running") => Revoke::Running { worker: second() },
        Some("final") => Revoke::Final(second().parse().map_err(BrokerError::Protocol)?),
        _ => Revoke::Unknown,
    })
}

pub(super) async fn retry_failed(
    b: &RedisBroker,
    ids: Option<&[JobId]>,
    _now: Timestamp,
) -> Result<Vec<(JobId, Retried)>, BrokerError> {
    let mut out = Vec::new();
    loop {
        let mut call = SCRIPTS.retry_failed.key(b.keys.failed());
        call.arg(b.keys.prefix()).arg(if ids.is_some() { "ids" } else { "all" });
        for id in ids.unwrap_or_default() {
            call.arg(id.to_string());
        }
        let reply: Vec<(String, String)> = call.invoke_async(&mut b.conn()).await.map_err(b.err())?;
        let batch = reply.len();
        for (id, state) in reply {
            let retried = match state.as_str() {
                "requeued" => Retried::Requeued,
                "unknown" => Retried::Unknown,
                other => Retried::NotFailed(other.parse().map_err(BrokerError::Protocol)?),
            };
            out.push((id.parse().map_err(BrokerError::Protocol)?, retried));
        }
        // "all" goes 1000 at a time; ids go at once.
        if ids.is_some() || batch < 1000 {
            return Ok(out);
        }
    }
}

pub(super) async fn count(b: &RedisBroker, what: &Purge, _now: Timestamp) -> Result<u64, BrokerError> {
    let mut conn = b.conn();
    match what {
        Purge::Failed => conn.zcard(b.keys.failed()).await,
        Purge::Queue(q) => conn.llen(b.keys.pending(q.as_str())).await,
    }
    .map_err(b.err())
}

pub(super) async fn purge(b: &RedisBroker, what: &Purge, _now: Timestamp) -> Result<u64, BrokerError> {
    let (key, kind) = match what {
        Purge::Failed => (b.keys.failed(), "failed"),
        Purge::Queue(q) => (b.keys.pending(q.as_str()), "queue"),
    };
    let mut total = 0;
    loop {
        let n: u64 = SCRIPTS
            .purge
            .key(&key)
            .arg(b.keys.prefix())
            .arg(kind)
            .invoke_async(&mut b.conn())
            .await
            .map_err(b.err())?;
        total += n;
        if n < 1000 {
            return Ok(total);
        }
    }
}

pub(super) async fn heartbeat(
    b: &RedisBroker,
    info: &WorkerInfo,
    ttl: std::time::Duration,
    now: Timestamp,
) -> Result<(), BrokerError> {
    let json = serde_json::to_string(info).map_err(|e| BrokerError::Protocol(e.to_string()))?;
    let until = to_ms(crate::time::add(now, ttl));
    redis::pipe()
        .atomic()
        .set_ex(b.keys.worker(&info.id), json, ttl.as_secs().max(1))
        .zadd(b.keys.workers(), &info.id, until)
        .zrembyscore(b.keys.workers(), "-inf", to_ms(now))
        .query_async::<()>(&mut b.conn())
        .await
        .map_err(b.err())?;
    Ok(())
}

pub(super) async fn forget_worker(b: &RedisBroker, id: &str) -> Result<(), BrokerError> {
    redis::pipe()
        .atomic()
        .del(b.keys.worker(id))
        .zrem(b.keys.workers(), id)
        .query_async::<()>(&mut b.conn())
        .await
        .map_err(b.err())
}

pub(super) async fn workers(b: &RedisBroker, now: Timestamp) -> Result<Vec<WorkerInfo>, BrokerError> {
    let ids: Vec<String> =
        b.conn().zrangebyscore(b.keys.workers(), format!("({}", to_ms(now)), "+inf").await.map_err(b.err())?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let keys: Vec<String> = ids.iter().map(|id| b.keys.worker(id)).collect();
    let infos: Vec<Option<String>> = b.conn().mget(keys).await.map_err(b.err())?;
    let mut out = Vec::new();
    for info in infos.into_iter().flatten() {
        out.push(serde_json::from_str(&info).map_err(|e| BrokerError::Protocol(e.to_string()))?);
    }
    out.sort_by(|a: &WorkerInfo, b| a.id.cmp(&b.id));
    Ok(out)
}
