//! A running job's transitions that are not a take: finishing an attempt
//! (and taking the next in the same script), its output so far, moving due
//! jobs to their queues, and recovering the jobs of lost workers.

use super::fields::{Taken, job_args, ms, opt, taken};
use super::{RedisBroker, SCRIPTS};
use crate::broker::{
    AttemptResult, BrokerError, Finish, Finished, Forwarded, LeaseToken, OutputUpdate, Recovered, Recovery, Take,
};
use crate::time::from_ms;

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
    let hook = hook.map(job_args).transpose()?.unwrap_or_default();
    let retention = b.options.retention;
    let mut call = SCRIPTS.finish.key(b.keys.leases());
    call.arg(b.keys.prefix())
        .arg(b.shift())
        .arg(token.id.to_string())
        .arg(&token.worker)
        .arg(&token.grant)
        .arg(kind)
        .arg(delay)
        .arg(ttl.max(1))
        .arg(if delete { "1" } else { "0" })
        .arg(opt(result.duration.map(ms)))
        .arg(ms(result.ended_ago))
        .arg(opt(result.exit_code))
        .arg(opt(result.http_status))
        .arg(result.error.clone().unwrap_or_default())
        .arg(&result.output)
        .arg(result.output_total)
        .arg(next.map_or(0, |t| ms(t.lease)))
        .arg(next.map_or("", |t| t.grant))
        .arg(retention.failed_max)
        .arg(ms(retention.failed_ttl));
    call.arg(hook.len()).arg(hook);
    for q in next.map_or(&[][..], |t| t.queues) {
        call.arg(q.as_str());
    }
    let reply: Vec<redis::Value> = b.link.invoke(&call).await?;
    let mut reply = reply.into_iter();
    let mut int = || -> Result<u64, BrokerError> {
        reply
            .next()
            .map(redis::from_redis_value)
            .transpose()
            .map_err(|e| BrokerError::Protocol(format!("finish: {e}")))
            .map(Option::unwrap_or_default)
    };
    let (recorded, dropped) = (int()?, int()?);
    let mut next_job = None;
    if let Some(take) = next {
        match reply.next().map(|v| taken(v, &take)).transpose()? {
            Some(Taken::Lease(lease)) => next_job = Some(*lease),
            Some(Taken::More) => next_job = b.take(&take).await?,
            Some(Taken::Nothing) | None => {}
        }
    }
    Ok(Finished { recorded: recorded == 1, dropped, next: next_job })
}

pub(super) async fn update_output(b: &RedisBroker, updates: &[OutputUpdate]) -> Result<(), BrokerError> {
    if updates.is_empty() {
        return Ok(());
    }
    let mut call = SCRIPTS.output.key(b.keys.leases());
    call.arg(b.keys.prefix());
    for u in updates {
        call.arg(u.token.id.to_string()).arg(&u.token.grant).arg(&u.output).arg(u.total);
    }
    b.link.invoke::<i64>(&call).await?;
    Ok(())
}

pub(super) async fn forward_due(b: &RedisBroker) -> Result<Forwarded, BrokerError> {
    let mut total = 0;
    loop {
        let mut call = SCRIPTS.forward.key(b.keys.delayed());
        call.arg(b.keys.prefix()).arg(b.shift());
        let (moved, next, now): (usize, String, i64) = b.link.invoke(&call).await?;
        total += moved;
        let next_due = next.parse::<f64>().ok().map(|ms| from_ms(ms as i64));
        if next_due.is_none_or(|t| t > from_ms(now)) {
            return Ok(Forwarded { moved: total, next_due });
        }
    }
}

pub(super) async fn recover_expired(b: &RedisBroker) -> Result<Recovery, BrokerError> {
    let retention = b.options.retention;
    let mut call = SCRIPTS.recover.key(b.keys.leases());
    call.arg(b.keys.prefix()).arg(b.shift()).arg(retention.failed_max).arg(ms(retention.failed_ttl));
    let reply: Vec<redis::Value> = b.link.invoke(&call).await?;
    let protocol = |e: redis::ParsingError| BrokerError::Protocol(format!("recover: {e}"));
    let mut reply = reply.into_iter();
    let dropped: u64 = reply.next().map(redis::from_redis_value).transpose().map_err(protocol)?.unwrap_or(0);
    let mut jobs = Vec::new();
    while let (Some(id), Some(state)) = (reply.next(), reply.next()) {
        let id: String = redis::from_redis_value(id).map_err(protocol)?;
        let state: String = redis::from_redis_value(state).map_err(protocol)?;
        jobs.push(Recovered {
            id: id.parse().map_err(BrokerError::Protocol)?,
            state: state.parse().map_err(BrokerError::Protocol)?,
        });
    }
    Ok(Recovery { jobs, dropped })
}
