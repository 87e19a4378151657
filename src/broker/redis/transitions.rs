//! A running job's transitions that are not a take: finishing an attempt
//! (and taking the next in the same script), its output so far, moving due
//! jobs to their queues, and recovering the jobs of lost workers.

use serde::Serialize;

use super::fields::{Taken, job_args, ms, taken};
use super::{RedisBroker, SCRIPTS};
use crate::broker::{
    AttemptResult, BrokerError, Finish, Finished, Forwarded, LeaseToken, OutputUpdate, Recovered, Recovery, Take,
};
use crate::names::QueueName;
use crate::time::from_ms;

/// finish.lua's one argument, as JSON: the run, how its attempt ended, the
/// hook job and the next take. Its header says what each field means; a
/// field left out (`None`) is one the script reads as none.
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
    failed_max: u64,
    failed_ttl: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    hook: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next: Option<NextTake<'a>>,
}

/// `next` in finish.lua's argument: the take for the slot the run frees.
#[derive(Serialize)]
struct NextTake<'a> {
    lease: u64,
    grant: &'a str,
    queues: Vec<&'a str>,
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
        failed_max: retention.failed_max,
        failed_ttl: ms(retention.failed_ttl),
        hook: hook.map(job_args).transpose()?,
        next: next.map(|t| NextTake {
            lease: ms(t.lease),
            grant: t.grant,
            queues: t.queues.iter().map(QueueName::as_str).collect(),
        }),
    };
    let outcome = serde_json::to_string(&outcome).map_err(|e| BrokerError::Protocol(format!("finish: {e}")))?;
    let mut call = b.script(&SCRIPTS.finish, b.keys.leases());
    call.arg(outcome);
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
    let mut call = b.script(&SCRIPTS.output, b.keys.leases());
    for u in updates {
        call.arg(u.token.id.to_string()).arg(&u.token.grant).arg(&u.output).arg(u.total);
    }
    b.link.invoke::<i64>(&call).await?;
    Ok(())
}

pub(super) async fn forward_due(b: &RedisBroker) -> Result<Forwarded, BrokerError> {
    let call = b.script(&SCRIPTS.forward, b.keys.delayed());
    let (mut total, mut next_due) = (0, None);
    // a next due time not after now: the call stopped at its bound
    b.drain(&call, |(moved, next, now): (usize, String, i64)| {
        total += moved;
        next_due = next.parse::<f64>().ok().map(|ms| from_ms(ms as i64));
        Ok(next_due.is_some_and(|t| t <= from_ms(now)))
    })
    .await?;
    Ok(Forwarded { moved: total, next_due })
}

pub(super) async fn recover_expired(b: &RedisBroker) -> Result<Recovery, BrokerError> {
    let retention = b.options.retention;
    let mut call = b.script(&SCRIPTS.recover, b.keys.leases());
    call.arg(retention.failed_max).arg(ms(retention.failed_ttl));
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
