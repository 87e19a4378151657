//! Ending an attempt in SQL: the outcome under the lease, its hook, its
//! schedule entry's last outcome, the failed set's bounds, and the freed
//! slot's next job, in the caller's `BEGIN IMMEDIATE` transaction.

use rusqlite::{OptionalExtension, Transaction, params};

use super::jobs::{HELD, Taken, insert, ms, ms_after, take};
use super::{Failure, TakeFrom};
use crate::broker::stats::Tally;
use crate::broker::{AttemptResult, BrokerError, Finish, Finished, LeaseToken, Retention, StepReport};
use crate::job::{JobState, NewJob};

/// Records how an attempt ended, with its hook and its schedule entry's
/// last outcome, if the lease is still held; then takes the freed slot's
/// next job. Asked again after a lost reply, it reports the outcome recorded.
pub(super) fn finish(
    tx: &Transaction<'_>,
    ns: &str,
    token: &LeaseToken,
    finish: &Finish,
    next: Option<&TakeFrom>,
    now: i64,
    retention: Retention,
) -> Result<Finished, Failure> {
    let id = token.id.to_string();
    let fin = token.grant.clone();
    let guard = params![ns, id, token.grant, token.attempt];
    let ended = |r: &AttemptResult| now - ms(r.ended_ago);
    let set_result = |state: &str, r: &AttemptResult, ready_at: Option<i64>, expires: Option<i64>| {
        let finished = ended(r);
        tx.prepare_cached(&format!(
            "UPDATE jobs SET state = ?5, lease_until = NULL, revoke = 0, started_at = coalesce(?6, started_at),
                 finished_at = ?7, exit_code = ?8, http_status = ?9, error = ?10, output = ?11,
                 ready_at = coalesce(?12, ready_at), result_expires_at = ?13, output_total = ?14, fin = ?15,
                 grant_id = NULL
             WHERE {HELD}"
        ))?
        .execute(params![
            ns,
            id,
            token.grant,
            token.attempt,
            state,
            r.duration.map(|d| finished - ms(d)),
            finished,
            r.exit_code,
            r.http_status,
            r.error,
            r.output,
            ready_at,
            expires,
            i64::try_from(r.output_total).unwrap_or(i64::MAX),
            fin,
        ])
    };
    let (job, scheduled, workflow): (Option<String>, bool, Option<String>) = tx
        .prepare_cached(&format!(
            "SELECT job, json_extract(payload, '$.scheduled_at') IS NOT NULL,
                    CASE WHEN json_extract(payload, '$.workflow') IS NOT NULL THEN payload END
             FROM jobs WHERE {HELD}"
        ))?
        .query_row(guard, |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?
        .map_or((None, false, None), |(j, s, w)| (Some(j), s, w));
    let changed = match finish {
        Finish::Requeue => tx
            .prepare_cached(&format!(
                "UPDATE jobs SET state = 'queued', attempts = attempts - 1, worker = NULL,
                     lease_until = NULL, started_at = NULL, fin = ?5, grant_id = NULL
                 WHERE {HELD}"
            ))?
            .execute(params![ns, id, token.grant, token.attempt, fin])?,
        Finish::Succeeded { ignore_result: true, result, ttl, .. } => {
            let deleted = tx.prepare_cached(&format!("DELETE FROM jobs WHERE {HELD}"))?.execute(guard)?;
            if let (1, Some(job)) = (deleted, &job) {
                super::tombstones::bury(tx, ns, &id, job, ended(result), ms_after(now, *ttl))?;
            }
            deleted
        }
        Finish::Succeeded { result, ttl, .. } => set_result("succeeded", result, None, Some(ms_after(now, *ttl)))?,
        Finish::Failed { result, .. } => set_result("failed", result, None, None)?,
        Finish::Retry { result, delay } => {
            let changed = set_result("retrying", result, Some(ms_after(ended(result), *delay).max(now)), None)?;
            if changed == 1 {
                super::jobs::remember_attempt(tx, ns, &id, "retried", None)?;
            }
            changed
        }
        Finish::Revoked { result, ttl } => set_result("revoked", result, None, Some(ms_after(now, *ttl)))?,
    };
    let recorded = if changed == 1 {
        true
    } else {
        // this very outcome, recorded by an earlier call whose reply was lost
        tx.prepare_cached("SELECT 1 FROM jobs WHERE ns = ?1 AND id = ?2 AND fin = ?3")?
            .query_row(params![ns, id, fin], |_| Ok(()))
            .optional()?
            .is_some()
    };
    let mut dropped = 0;
    let mut run_moved = false;
    if changed == 1 {
        let counted = match finish {
            Finish::Succeeded { result, .. } => Some((Tally::Succeeded, result.duration)),
            Finish::Failed { result, .. } => Some((Tally::Failed, result.duration)),
            Finish::Retry { result, .. } => Some((Tally::Retried, result.duration)),
            // Cut short: its run time says nothing of the job's.
            Finish::Revoked { .. } => Some((Tally::Revoked, None)),
            Finish::Requeue => None,
        };
        if let (Some(job), Some((tally, ran))) = (&job, counted) {
            super::stats::tally(tx, ns, job, tally, ran, now)?;
        }
        let hook = match finish {
            Finish::Succeeded { hook, .. } | Finish::Failed { hook, .. } => hook.as_ref(),
            _ => None,
        };
        if let Some(hook) = hook {
            insert(tx, ns, hook, now)?;
        }
        if let (Some(job), true) = (&job, scheduled) {
            match finish {
                Finish::Succeeded { result, .. } => super::beat::schedule_outcome(tx, ns, job, true, ended(result))?,
                Finish::Failed { result, .. } => super::beat::schedule_outcome(tx, ns, job, false, ended(result))?,
                _ => {}
            }
        }
        if matches!(finish, Finish::Failed { .. }) {
            dropped = bound_failed(tx, ns, now, retention)?;
        }
        if let Some(payload) = workflow {
            // The run moves on in this same transaction (SPEC §7).
            run_moved = report_to_run(tx, ns, &payload, finish, now)?;
        }
    }
    let next = match next {
        // Stopped at its bound: the fetch loop takes the next one.
        Some(from) => match take(tx, ns, from, now)? {
            Taken::Lease(lease) => Some(*lease),
            Taken::Nothing | Taken::More => None,
        },
        None => None,
    };
    Ok(Finished { recorded, dropped, next, run_moved })
}

/// Reports a final outcome of a workflow's step job to its run; true if
/// that moved the run.
fn report_to_run(tx: &Transaction<'_>, ns: &str, payload: &str, finish: &Finish, now: i64) -> Result<bool, Failure> {
    let (state, result) = match finish {
        Finish::Succeeded { result, .. } => (JobState::Succeeded, result),
        Finish::Failed { result, .. } => (JobState::Failed, result),
        Finish::Revoked { result, .. } => (JobState::Revoked, result),
        Finish::Retry { .. } | Finish::Requeue => return Ok(false),
    };
    let job: NewJob = serde_json::from_str(payload)
        .map_err(|e| Failure::Broker(BrokerError::Protocol(format!("a job's stored request: {e}"))))?;
    let Some(step) = job.workflow else { return Ok(false) };
    let report = StepReport {
        run: step.run,
        step: step.step,
        id: job.id,
        job: job.job,
        state,
        params: job.params,
        output: result.step_output().0.to_string(),
        truncated: result.step_output().1,
        exit_code: result.exit_code,
    };
    super::runs::advance(tx, ns, &report, now)
}

/// Keeps the failed set within its bounds: the oldest failed jobs beyond
/// `failed_max`, or older than `failed_ttl`, are deleted (at most 100 a call).
pub(super) fn bound_failed(tx: &Transaction<'_>, ns: &str, now: i64, retention: Retention) -> Result<u64, Failure> {
    let max = i64::try_from(retention.failed_max).unwrap_or(i64::MAX);
    let removed = tx
        .prepare_cached(
            "DELETE FROM jobs WHERE ns = ?1 AND id IN (
                 SELECT id FROM jobs WHERE ns = ?1 AND state = 'failed'
                 AND (finished_at < ?2 OR id NOT IN (
                     SELECT id FROM jobs WHERE ns = ?1 AND state = 'failed'
                     ORDER BY finished_at DESC, id DESC LIMIT ?3))
                 ORDER BY finished_at, id LIMIT 100)",
        )?
        .execute(params![ns, now - ms(retention.failed_ttl), max])?;
    Ok(removed as u64)
}
