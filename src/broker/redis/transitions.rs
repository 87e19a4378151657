//! A running job's transitions that are not a take: finishing an attempt
//! (and taking the next in the same script), its output so far, moving due
//! jobs to their queues, and recovering the jobs of lost workers (with the
//! rest of what maintenance does for every queue: the hook jobs a lost
//! worker left in an outbox, and the failed set's bound across queues).

use std::collections::BTreeMap;

use futures_util::future::join_all;
use jiff::Timestamp;
use serde::Serialize;

use super::fields::{Taken, ms, outbox_entry, taken};
use super::queues::Upkeep;
use super::{RedisBroker, SCRIPTS, lock, outbox};
use crate::broker::Broker;
use crate::broker::{
    AttemptResult, BrokerError, Finish, Finished, Forwarded, LeaseToken, OutputUpdate, Recovered, Recovery, Take,
};
use crate::names::QueueName;
use crate::time::{from_ms, to_ms};

/// finish.lua's argument for one attempt, as JSON: the run, how its attempt
/// ended, the hook job and the next take. Its header says what each field
/// means; a field left out (`None`) is one the script reads as none.
#[derive(Serialize)]
struct FinishArg<'a> {
    id: String,
    worker: &'a str,
    grant: &'a str,
    kind: &'static str,
    delay: u64,
    ttl: u64,
    delete: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    ran: Option<u64>,
    ended_ago: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    exit: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    output: &'a str,
    outlen: u64,
    /// A workflow step's job: what its run's next step reads, and whether
    /// it was cut to its tail.
    #[serde(skip_serializing_if = "Option::is_none")]
    step_output: Option<&'a str>,
    step_cut: bool,
    failed_max: u64,
    failed_ttl: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    hook: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<NextTake<'a>>,
}

/// `next` in finish.lua's argument: the take for the slot the run frees,
/// from the run's own queue.
#[derive(Serialize)]
struct NextTake<'a> {
    lease: u64,
    grant: &'a str,
}

/// The next value of finish.lua's reply (a value Lua left out: the default).
fn next_of<T: redis::FromRedisValue + Default>(
    reply: &mut impl Iterator<Item = redis::Value>,
) -> Result<T, BrokerError> {
    reply
        .next()
        .map(redis::from_redis_value)
        .transpose()
        .map_err(|e| BrokerError::Protocol(format!("finish: {e}")))
        .map(Option::unwrap_or_default)
}

pub(super) async fn finish(
    b: &RedisBroker,
    token: &LeaseToken,
    finish: Finish,
    next: Option<Take<'_>>,
) -> Result<Finished, BrokerError> {
    let none = AttemptResult::default();
    let (kind, delay, ttl, delete, result, hook) = match &finish {
        Finish::Succeeded { result, ttl, ignore_result, hook } => {
            ("succeeded", 0, ms(*ttl), *ignore_result, result, hook.as_ref())
        }
        Finish::Failed { result, hook } => ("failed", 0, 0, false, result, hook.as_ref()),
        Finish::Retry { result, delay } => ("retrying", ms(*delay), 0, false, result, None),
        Finish::Revoked { result, ttl } => ("revoked", 0, ms(*ttl), false, result, None),
        Finish::Requeue => ("requeue", 0, 0, false, &none, None),
    };
    let retention = b.options.retention;
    let queue = token.queue.as_str();
    let outcome = FinishArg {
        id: token.id.to_string(),
        worker: &token.worker,
        grant: &token.grant,
        kind,
        delay,
        ttl: ttl.max(1),
        delete,
        ran: result.duration.map(ms),
        ended_ago: ms(result.ended_ago),
        exit: result.exit_code,
        http: result.http_status,
        error: result.error.as_deref(),
        output: &result.output,
        outlen: result.output_total,
        step_output: result.stdout.as_ref().map(|_| result.step_output().0),
        step_cut: result.step_output().1,
        failed_max: retention.failed_max,
        failed_ttl: ms(retention.failed_ttl),
        hook: hook.map(outbox_entry).transpose()?,
        // The next job comes from the run's own queue in the same call when
        // that queue is the first to try; otherwise from the queues in
        // order, after it.
        next: next.filter(|t| here_first(b, t, queue)).map(|t| NextTake { lease: ms(t.lease), grant: t.grant }),
    };
    let took_here = outcome.next.is_some();
    if took_here && let Some(t) = &next {
        lock(&b.asked).insert(t.grant.to_string(), queue.to_string());
    }
    // a requeue, or a slot freed for a waiting job
    b.wake.touched(queue);
    // After `touched`: what this call gives its own queue, its own take
    // sees; only a message heard meanwhile means the queue may have a job.
    let stamp = b.wake.before(queue);
    let reply = match b.finishes.call(b, queue, &outcome).await? {
        // A script error of this attempt alone (a bug, as a whole call's is).
        redis::Value::BulkString(error) => {
            return Err(BrokerError::Protocol(format!("Redis: finish: {}", String::from_utf8_lossy(&error))));
        }
        reply => reply,
    };
    let reply: Vec<redis::Value> =
        redis::from_redis_value(reply).map_err(|e| BrokerError::Protocol(format!("finish: {e}")))?;
    if took_here && let Some(t) = &next {
        // The reply came: the take it carried was not lost.
        lock(&b.asked).remove(t.grant);
    }
    let mut reply = reply.into_iter();
    let (recorded, dropped): (u64, u64) = (next_of(&mut reply)?, next_of(&mut reply)?);
    let (entry, report): (String, String) = (next_of(&mut reply)?, next_of(&mut reply)?);
    if let (false, Some(hook)) = (entry.is_empty(), hook) {
        // The outcome is recorded: a hook that cannot go in now stays in the
        // outbox for maintenance.
        if let Err(error) = Box::pin(outbox::deliver(b, queue, &entry, hook)).await {
            tracing::warn!(%error, queue, "hook job left in the outbox for maintenance");
        }
    }
    let mut run_moved = false;
    if !report.is_empty() {
        // Likewise a step job's outcome, on its way to its run.
        run_moved = match Box::pin(outbox::report(b, queue, &report)).await {
            Ok(moved) => moved,
            Err(error) => {
                tracing::warn!(%error, queue, "a workflow step's outcome left in the outbox for maintenance");
                false
            }
        };
    }
    // What calls again is boxed, so that the future of a finish that took
    // its next job in the same call (a single-queue worker's every job)
    // stays small; a worker serving several queues pays an allocation
    // for the second call's future when it makes one.
    let mut next_job = None;
    if let Some(take) = next {
        let rest: Vec<&str> =
            take.queues.iter().map(QueueName::as_str).filter(|q| *q != queue && b.wake.may_have_jobs(q)).collect();
        next_job = if took_here {
            // (a take that found nothing ends the reply: Lua drops a last nil)
            match reply.next().map_or(Ok(Taken::Nothing), |v| taken(v, &take))? {
                Taken::Lease(lease) => Some(*lease),
                Taken::More => Box::pin(b.take(&take)).await?,
                Taken::Nothing => {
                    b.wake.found_empty(queue, &stamp);
                    Box::pin(b.take_in(&rest, &take)).await?
                }
            }
        } else {
            Box::pin(b.take(&take)).await?
        };
    }
    Ok(Finished { recorded: recorded == 1, dropped, next: next_job, run_moved })
}

/// Whether `take` tries `queue` first (of the queues not found empty
/// lately), and no earlier try of its grant, whose reply may have been lost,
/// asked another queue (that one must be asked first: `RedisBroker::take`).
fn here_first(b: &RedisBroker, take: &Take<'_>, queue: &str) -> bool {
    if lock(&b.asked).get(take.grant).is_some_and(|asked| asked != queue) {
        return false;
    }
    take.queues
        .iter()
        .find(|q| q.as_str() == queue || b.wake.may_have_jobs(q.as_str()))
        .is_some_and(|q| q.as_str() == queue)
}

pub(super) async fn update_output(b: &RedisBroker, updates: &[OutputUpdate]) -> Result<(), BrokerError> {
    let mut by_queue: BTreeMap<&str, Vec<&OutputUpdate>> = BTreeMap::new();
    for u in updates {
        by_queue.entry(u.token.queue.as_str()).or_default().push(u);
    }
    for (queue, updates) in by_queue {
        let mut call = b.script(&SCRIPTS.output, queue);
        for u in updates {
            call.arg(u.token.id.to_string()).arg(&u.token.grant).arg(&u.output).arg(u.total);
        }
        b.link.invoke::<i64>(&call).await?;
    }
    Ok(())
}

/// Moves due jobs to their queues, of the queues `Known::upkeep` gives:
/// in each queue whose earliest delayed job is due by the broker's clock
/// (one cheap read per queue, read concurrently; the script only where
/// there is something to move). A queue that cannot be reached (its master
/// is down) does not hold up the others: its error is returned after them.
pub(super) async fn forward_due(b: &RedisBroker) -> Result<Forwarded, BrokerError> {
    let now = to_ms(b.time().await?);
    let queues = b.queues.upkeep(b, Upkeep::Forward).await?;
    let firsts = join_all(queues.iter().map(|q| async move {
        let first: Vec<(String, f64)> = b
            .link
            .query(redis::cmd("ZRANGE").arg(b.keys.queue(q).key("delayed")).arg(0).arg(0).arg("WITHSCORES"))
            .await?;
        Ok::<_, BrokerError>(first.first().map(|(_, due)| *due as i64))
    }))
    .await;
    let (mut total, mut next_due, mut failure) = (0, None::<Timestamp>, None);
    for (q, first) in queues.iter().zip(firsts) {
        let later = match first {
            Ok(Some(due)) if due <= now => forward_in(b, q).await.map(|(moved, later)| {
                total += moved;
                later
            }),
            Ok(due) => Ok(due.map(from_ms)),
            Err(e) => Err(e),
        };
        match later {
            Ok(Some(due)) => next_due = Some(next_due.map_or(due, |d| d.min(due))),
            Ok(None) => {}
            Err(e) => failure = failure.or(Some(e)),
        }
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(Forwarded { moved: total, next_due }),
    }
}

/// Moves `queue`'s due jobs to it: how many, and when the next is due.
async fn forward_in(b: &RedisBroker, queue: &str) -> Result<(usize, Option<Timestamp>), BrokerError> {
    b.wake.touched(queue);
    let call = b.script(&SCRIPTS.forward, queue);
    let (mut total, mut later) = (0, None);
    // a next due time not after now: the call stopped at its bound
    b.drain(&call, |(moved, next, now): (usize, String, i64)| {
        total += moved;
        later = next.parse::<f64>().ok().map(|ms| from_ms(ms as i64));
        Ok(later.is_some_and(|t| t <= from_ms(now)))
    })
    .await?;
    Ok((total, later))
}

/// Recovers the runs whose lease lapsed, in each queue whose earliest lease
/// has; enqueues the hook jobs lost workers left in outboxes; and keeps the
/// namespace's failed jobs within their bound across queues. One cheap
/// read per queue, concurrently; a queue that cannot be reached does not
/// hold up the others.
pub(super) async fn recover_expired(b: &RedisBroker) -> Result<Recovery, BrokerError> {
    let retention = b.options.retention;
    let now = to_ms(b.time().await?);
    let queues = b.queues.upkeep(b, Upkeep::Recover).await?;
    let looks = join_all(queues.iter().map(|q| async move {
        let keys = b.keys.queue(q);
        let mut pipe = redis::pipe();
        pipe.cmd("ZRANGE").arg(keys.key("leases")).arg(0).arg(0).arg("WITHSCORES");
        pipe.llen(keys.key("outbox")).zcard(keys.key("failed"));
        b.link.pipe::<(Vec<(String, f64)>, u64, u64)>(&pipe).await
    }))
    .await;
    let mut recovery = Recovery::default();
    let (mut failed, mut failure) = (Vec::new(), None);
    for (q, look) in queues.iter().zip(looks) {
        let done = async {
            let (lease, outbox, in_failed) = look?;
            failed.push((q.clone(), in_failed));
            if lease.first().is_some_and(|(_, expiry)| (*expiry as i64) < now) {
                recover_in(b, q, &mut recovery).await?;
            }
            if outbox > 0 {
                outbox::drain(b, q, now, &mut recovery.runs).await?;
            }
            Ok::<_, BrokerError>(())
        };
        if let Err(e) = done.await {
            failure = failure.or(Some(e));
        }
    }
    let total: u64 = failed.iter().map(|(_, n)| n).sum();
    if total > retention.failed_max {
        recovery.dropped += super::admin::trim_failed(b, &failed, retention.failed_max).await?;
    }
    match failure {
        Some(e) => Err(e),
        None => Ok(recovery),
    }
}

/// Recovers `queue`'s runs whose lease lapsed.
async fn recover_in(b: &RedisBroker, queue: &str, recovery: &mut Recovery) -> Result<(), BrokerError> {
    let retention = b.options.retention;
    b.wake.touched(queue);
    let mut call = b.script(&SCRIPTS.recover, queue);
    call.arg(retention.failed_max).arg(ms(retention.failed_ttl));
    let protocol = |e: redis::ParsingError| BrokerError::Protocol(format!("recover: {e}"));
    loop {
        let reply: Vec<redis::Value> = b.link.invoke(&call).await?;
        let mut reply = reply.into_iter();
        recovery.dropped +=
            reply.next().map(redis::from_redis_value::<u64>).transpose().map_err(protocol)?.unwrap_or(0);
        let mut n = 0;
        while let (Some(id), Some(state)) = (reply.next(), reply.next()) {
            let id: String = redis::from_redis_value(id).map_err(protocol)?;
            let state: String = redis::from_redis_value(state).map_err(protocol)?;
            recovery.jobs.push(Recovered {
                id: id.parse().map_err(BrokerError::Protocol)?,
                state: state.parse().map_err(BrokerError::Protocol)?,
            });
            n += 1;
        }
        // A full batch: there may be more.
        if n < super::call::MOVE_BATCH {
            return Ok(());
        }
    }
}
