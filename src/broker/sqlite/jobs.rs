//! The job lifecycle in SQL: each function runs inside the caller's
//! `BEGIN IMMEDIATE` transaction, so a read-then-write never races another
//! process, and every write to a running job is guarded by its lease.

use std::time::Duration;

use rusqlite::{OptionalExtension, Row, Transaction, params};

use super::{Failure, TakeFrom};
use crate::broker::stats::Tally;
use crate::broker::{
    BrokerError, Enqueued, Forwarded, Lease, LeaseLoss, LeaseToken, ListFilter, OutputUpdate, Recovered, Recovery,
    Retention,
};
use crate::job::{Delay, JobId, JobRecord, JobState, MAX_HISTORY, NewJob, PastAttempt};
use crate::time::{from_ms, to_ms};

/// At most this many lost jobs are handled per call, to keep transactions
/// short.
const BATCH: i64 = 100;

/// Expired results deleted per transaction (see `purge_expired`).
pub(super) const PURGE_BATCH: u64 = 500;

/// Whether job `j` may start now (?1 the namespace, ?3 now): its kind is
/// not at its `max_concurrent`, counting running jobs whose lease has not
/// lapsed. The kinds at their limit are found once per statement (a
/// subquery that does not depend on `j`), so a take walks past thousands of
/// waiting jobs in milliseconds. (Its index is named, as the take's is:
/// without statistics the planner would rather scan an index in `job` order.)
const HAS_SLOT: &str = "(j.max_concurrent IS NULL OR j.job NOT IN (
    SELECT r.job FROM jobs r INDEXED BY jobs_running WHERE r.ns = ?1 AND r.state = 'running' AND r.lease_until >= ?3
    AND r.max_concurrent IS NOT NULL GROUP BY r.job HAVING count(*) >= min(r.max_concurrent)))";

/// A statement writes only while this run holds the job (?1 to ?4:
/// namespace, id, the run's grant, its attempt).
pub(super) const HELD: &str = "ns = ?1 AND id = ?2 AND state = 'running' AND grant_id = ?3 AND attempts = ?4";

/// The columns a `JobRecord` is read from, in `record` order.
const RECORD_COLUMNS: &str = "payload, state, attempts, ready_at, started_at, finished_at, worker, exit_code, http_status, error, output, output_total, enqueued_at, expires_at";

pub(super) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(super) fn ms_after(now: i64, d: Duration) -> i64 {
    now.saturating_add(ms(d))
}

fn protocol(e: impl ToString) -> Failure {
    Failure::Broker(BrokerError::Protocol(e.to_string()))
}

/// Stores one new job (or finds the holder of its unique key).
pub(super) fn insert(tx: &Transaction<'_>, ns: &str, job: &NewJob, now: i64) -> Result<Enqueued, Failure> {
    let id = job.id.to_string();
    // An enqueue by a known id leaves the job as it is (a hook, or a
    // workflow step's job, enqueued again after a crash or by two workers
    // at once), as on Redis. Without a unique key, the insert below finds
    // that out itself (one lookup of the key, not two).
    if let Some(unique) = &job.unique {
        let known = tx
            .prepare_cached("SELECT 1 FROM jobs WHERE ns = ?1 AND id = ?2")?
            .query_row(params![ns, id], |_| Ok(()))
            .optional()?
            .is_some();
        if known {
            return Ok(Enqueued { id: job.id, duplicate: false });
        }
        tx.prepare_cached("DELETE FROM uniques WHERE ns = ?1 AND key = ?2 AND expires_at <= ?3")?
            .execute(params![ns, unique.key, now])?;
        let holder: Option<String> = tx
            .prepare_cached("SELECT id FROM uniques WHERE ns = ?1 AND key = ?2")?
            .query_row(params![ns, unique.key], |r| r.get(0))
            .optional()?;
        if let Some(holder) = holder {
            return Ok(Enqueued { id: holder.parse().map_err(protocol)?, duplicate: true });
        }
        tx.prepare_cached("INSERT INTO uniques (ns, key, id, expires_at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![ns, unique.key, id, ms_after(now, unique.window)])?;
    }
    let payload = serde_json::to_string(job).map_err(protocol)?;
    let due = match job.delay {
        None => now,
        Some(Delay::For(d)) => ms_after(now, d),
        Some(Delay::Until(t)) => to_ms(t).max(now),
    };
    let state = if due > now { JobState::Scheduled } else { JobState::Queued };
    tx.prepare_cached(
        "INSERT INTO jobs (ns, id, job, queue, state, payload, enqueued_at, ready_at, expires_at,
                           max_redeliveries, max_concurrent, result_ttl)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT (ns, id) DO NOTHING",
    )?
    .execute(params![
        ns,
        id,
        job.job.as_str(),
        job.queue.as_str(),
        state.as_str(),
        payload,
        now,
        due,
        job.expires.map(|e| ms_after(due, e)),
        job.policy.max_redeliveries,
        job.policy.max_concurrent,
        i64::try_from(job.policy.result_ttl.as_millis()).unwrap_or(i64::MAX),
    ])?;
    Ok(Enqueued { id: job.id, duplicate: false })
}

/// What a take found.
pub(super) enum Taken {
    Lease(Box<Lease>),
    Nothing,
    /// It stopped at its step bound (a pile of expired jobs): ask again.
    More,
}

/// Takes the oldest job of the first non-empty of `from.queues` and leases it
/// to `from.worker`, marking jobs found past their expiry on the way (a job
/// that ever started never expires). A take asked again with the same grant
/// hands over the job it handed before.
pub(super) fn take(tx: &Transaction<'_>, ns: &str, from: &TakeFrom, now: i64) -> Result<Taken, Failure> {
    let lease = |(attempt, payload): (u32, String)| -> Result<Taken, Failure> {
        let job: NewJob =
            serde_json::from_str(&payload).map_err(|e| protocol(format!("unreadable job payload: {e}")))?;
        Ok(Taken::Lease(Box::new(Lease { job, attempt, worker: from.worker.clone(), grant: from.grant.clone() })))
    };
    if from.queues.is_empty() {
        return Ok(Taken::Nothing);
    }
    let until = ms_after(now, from.lease);
    let granted: Option<(String, bool, u32, String)> = tx
        .prepare_cached(
            // Named: without statistics the planner would scan the namespace.
            "SELECT id, state = 'running' AND worker = ?3, attempts, payload FROM jobs INDEXED BY jobs_grant
             WHERE ns = ?1 AND grant_id = ?2",
        )?
        .query_row(params![ns, from.grant, from.worker], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .optional()?;
    if let Some((id, held, attempt, payload)) = granted
        && held
    {
        // This take happened already (its reply was lost): the same job,
        // its lease counted from now.
        tx.prepare_cached("UPDATE jobs SET lease_until = ?3 WHERE ns = ?1 AND id = ?2")?
            .execute(params![ns, id, until])?;
        return lease((attempt, payload));
    }
    // Bounded, to keep the write lock short behind a pile of expired jobs;
    // the caller asks again on `More`.
    let mut budget = BATCH;
    for queue in &from.queues {
        loop {
            if budget == 0 {
                return Ok(Taken::More);
            }
            budget -= 1;
            let next: Option<(String, Option<i64>, bool, String)> = tx
                .prepare_cached(&format!(
                    "SELECT id, expires_at, ran, job FROM jobs j INDEXED BY jobs_queued
                     WHERE ns = ?1 AND queue = ?2 AND state = 'queued' AND {HAS_SLOT}
                     ORDER BY ready_at, id LIMIT 1"
                ))?
                .query_row(params![ns, queue, now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
                .optional()?;
            let Some((id, expires_at, ran, job)) = next else { break };
            if !ran && expires_at.is_some_and(|e| e <= now) {
                tx.prepare_cached(
                    "UPDATE jobs SET state = 'expired', finished_at = ?3,
                         error = 'expired: not started before its expiry', result_expires_at = ?3 + result_ttl
                     WHERE ns = ?1 AND id = ?2",
                )?
                .execute(params![ns, id, now])?;
                super::stats::tally(tx, ns, &job, Tally::Expired, None, now)?;
                continue;
            }
            let taken: (u32, String) = tx
                .prepare_cached(
                    "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = ?3, started_at = ?4,
                         lease_until = ?5, finished_at = NULL, exit_code = NULL, http_status = NULL,
                         error = NULL, output = NULL, output_total = 0, ran = 1, grant_id = ?6, fin = NULL
                     WHERE ns = ?1 AND id = ?2 RETURNING attempts, payload",
                )?
                .query_row(params![ns, id, from.worker, now, until, from.grant], |r| Ok((r.get(0)?, r.get(1)?)))?;
            return lease(taken);
        }
    }
    Ok(Taken::Nothing)
}

/// Publishes running attempts' output so far, where the lease is held.
pub(super) fn update_output(tx: &Transaction<'_>, ns: &str, updates: &[OutputUpdate]) -> Result<(), Failure> {
    let mut stmt = tx.prepare_cached(&format!("UPDATE jobs SET output = ?5, output_total = ?6 WHERE {HELD}"))?;
    for u in updates {
        let total = i64::try_from(u.total).unwrap_or(i64::MAX);
        stmt.execute(params![ns, u.token.id.to_string(), u.token.grant, u.token.attempt, u.output, total])?;
    }
    Ok(())
}

/// Extends held leases; reports the lost and the revoked ones. A lease that
/// lapsed is lost even if no one recovered it yet: a run whose worker
/// stalled past its lease is not revived beside a run that may have
/// replaced it.
pub(super) fn extend(
    tx: &Transaction<'_>,
    ns: &str,
    tokens: &[LeaseToken],
    now: i64,
    until: i64,
) -> Result<Vec<(LeaseToken, LeaseLoss)>, Failure> {
    let mut extend = tx.prepare_cached(&format!(
        "UPDATE jobs SET lease_until = ?5 WHERE {HELD} AND lease_until >= ?6 RETURNING revoke"
    ))?;
    let mut out = Vec::new();
    for t in tokens {
        let revoke: Option<i64> =
            extend.query_row(params![ns, t.id.to_string(), t.grant, t.attempt, until, now], |r| r.get(0)).optional()?;
        match revoke {
            None => out.push((t.clone(), LeaseLoss::Lost)),
            Some(1) => out.push((t.clone(), LeaseLoss::Revoked)),
            Some(_) => {}
        }
    }
    Ok(out)
}

/// Makes due scheduled and retrying jobs queued (their `ready_at`, the due
/// time, is their place in line); returns how many, and the next due time.
pub(super) fn forward(tx: &Transaction<'_>, ns: &str, now: i64) -> Result<Forwarded, Failure> {
    let moved = tx
        .prepare_cached(
            "UPDATE jobs SET state = 'queued' WHERE ns = ?1 AND state IN ('scheduled', 'retrying') AND ready_at <= ?2",
        )?
        .execute(params![ns, now])?;
    let next: Option<i64> = tx.query_row(
        "SELECT min(ready_at) FROM jobs WHERE ns = ?1 AND state IN ('scheduled', 'retrying')",
        params![ns],
        |r| r.get(0),
    )?;
    Ok(Forwarded { moved, next_due: next.map(from_ms) })
}

/// Requeues running jobs whose lease lapsed; fails poison jobs, revokes the
/// ones whose termination was asked for.
pub(super) fn recover(tx: &Transaction<'_>, ns: &str, now: i64, retention: Retention) -> Result<Recovery, Failure> {
    let lapsed: Vec<(String, String, u32, u32, i64, bool)> = tx
        .prepare_cached(
            "SELECT id, job, lost, max_redeliveries, revoke, json_extract(payload, '$.scheduled_at') IS NOT NULL FROM jobs
             WHERE ns = ?1 AND state = 'running' AND lease_until < ?2 LIMIT ?3",
        )?
        .query_map(params![ns, now, BATCH], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)))?
        .collect::<Result<_, _>>()?;
    let mut out = Recovery::default();
    for (id, job, lost, max, revoke, scheduled) in lapsed {
        let state = if revoke == 1 {
            JobState::Revoked
        } else if lost + 1 >= max {
            JobState::Failed
        } else {
            JobState::Queued
        };
        match state {
            JobState::Revoked => tx.execute(
                "UPDATE jobs SET state = 'revoked', revoke = 0, lease_until = NULL, grant_id = NULL, finished_at = ?3,
                     error = 'revoked: terminated (its worker was lost)', result_expires_at = ?3 + result_ttl
                 WHERE ns = ?1 AND id = ?2",
                params![ns, id, now],
            )?,
            JobState::Failed => {
                let n = tx.execute(
                    "UPDATE jobs SET state = 'failed', lost = lost + 1, lease_until = NULL, grant_id = NULL, finished_at = ?3,
                         error = 'worker lost: its worker stopped renewing the lease ' || (lost + 1) || ' times'
                     WHERE ns = ?1 AND id = ?2",
                    params![ns, id, now],
                )?;
                if scheduled {
                    super::beat::schedule_outcome(tx, ns, &job, false, now)?;
                }
                out.dropped += super::finish::bound_failed(tx, ns, now, retention)?;
                n
            }
            _ => {
                remember_attempt(tx, ns, &id, "lost", Some((now, "its worker stopped renewing the lease")))?;
                tx.execute(
                    "UPDATE jobs SET state = 'queued', lost = lost + 1, lease_until = NULL, worker = NULL, grant_id = NULL
                     WHERE ns = ?1 AND id = ?2",
                    params![ns, id],
                )?
            }
        };
        let tally = match state {
            JobState::Revoked => Tally::Revoked,
            JobState::Failed => Tally::Failed,
            _ => Tally::Lost,
        };
        super::stats::tally(tx, ns, &job, tally, None, now)?;
        out.jobs.push(Recovered { id: id.parse().map_err(protocol)?, state });
    }
    Ok(out)
}

/// Adds the attempt job `id` is at to its history as `outcome`, from its
/// row: as it ended (`ended`: when and why, for an attempt that did not
/// end by itself), or as its outcome was recorded. Keeps the newest
/// `MAX_HISTORY`.
pub(super) fn remember_attempt(
    tx: &Transaction<'_>,
    ns: &str,
    id: &str,
    outcome: &str,
    ended: Option<(i64, &str)>,
) -> Result<(), Failure> {
    let (finished, error) = ended.map_or((None, None), |(at, why)| (Some(at), Some(why)));
    tx.prepare_cached(
        "INSERT INTO attempts (ns, id, attempt, outcome, started_at, finished_at, exit_code, http_status, error, worker)
         SELECT ns, id, attempts, ?3, started_at, coalesce(?4, finished_at),
                CASE WHEN ?4 IS NULL THEN exit_code END, CASE WHEN ?4 IS NULL THEN http_status END,
                substr(coalesce(?5, error), 1, 300), worker
         FROM jobs WHERE ns = ?1 AND id = ?2",
    )?
    .execute(params![ns, id, outcome, finished, error])?;
    tx.prepare_cached(
        "DELETE FROM attempts WHERE ns = ?1 AND id = ?2 AND rowid NOT IN (
             SELECT rowid FROM attempts WHERE ns = ?1 AND id = ?2 ORDER BY rowid DESC LIMIT ?3)",
    )?
    .execute(params![ns, id, MAX_HISTORY as i64])?;
    Ok(())
}

/// Job `id`'s past attempts, oldest first.
fn history(conn: &rusqlite::Connection, ns: &str, id: &str) -> Result<Vec<PastAttempt>, Failure> {
    let mut stmt = conn.prepare_cached(
        "SELECT attempt, outcome, started_at, finished_at, exit_code, http_status, error, worker
         FROM attempts WHERE ns = ?1 AND id = ?2 ORDER BY rowid",
    )?;
    let rows = stmt.query_map(params![ns, id], |r| {
        Ok(PastAttempt {
            attempt: r.get::<_, i64>(0)?.clamp(0, i64::from(u32::MAX)) as u32,
            outcome: r.get(1)?,
            started_at: r.get::<_, Option<i64>>(2)?.map(from_ms),
            finished_at: r.get::<_, Option<i64>>(3)?.map(from_ms),
            exit_code: r.get(4)?,
            http_status: r.get(5)?,
            error: r.get(6)?,
            worker: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deletes the history of jobs that are gone.
pub(super) fn sweep_history(tx: &Transaction<'_>, ns: &str) -> Result<(), Failure> {
    tx.execute(
        "DELETE FROM attempts WHERE ns = ?1 AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.ns = ?1 AND j.id = attempts.id)",
        params![ns],
    )?;
    Ok(())
}

/// A `JobRecord` from a row of `RECORD_COLUMNS`.
fn record(row: &Row<'_>) -> rusqlite::Result<Result<JobRecord, BrokerError>> {
    let payload: String = row.get(0)?;
    let state: String = row.get(1)?;
    let job: NewJob = match serde_json::from_str(&payload) {
        Ok(j) => j,
        Err(e) => return Ok(Err(BrokerError::Protocol(format!("unreadable job payload: {e}")))),
    };
    let state: JobState = match state.parse() {
        Ok(s) => s,
        Err(e) => return Ok(Err(BrokerError::Protocol(e))),
    };
    let ready_at: i64 = row.get(3)?;
    Ok(Ok(JobRecord {
        job,
        state,
        enqueued_at: from_ms(row.get(12)?),
        expires_at: row.get::<_, Option<i64>>(13)?.map(from_ms),
        attempts: row.get(2)?,
        due_at: matches!(state, JobState::Scheduled | JobState::Retrying).then(|| from_ms(ready_at)),
        started_at: row.get::<_, Option<i64>>(4)?.map(from_ms),
        finished_at: row.get::<_, Option<i64>>(5)?.map(from_ms),
        worker: row.get(6)?,
        exit_code: row.get(7)?,
        http_status: row.get(8)?,
        error: row.get(9)?,
        output: row.get(10)?,
        output_total: row.get::<_, i64>(11)?.max(0) as u64,
        history: Vec::new(),
    }))
}

/// The records of `ids` whose result has not expired.
pub(super) fn get(
    conn: &rusqlite::Connection,
    ns: &str,
    ids: &[JobId],
    now: i64,
) -> Result<Vec<Option<JobRecord>>, Failure> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {RECORD_COLUMNS} FROM jobs WHERE ns = ?1 AND id = ?2
         AND (result_expires_at IS NULL OR result_expires_at > ?3)"
    ))?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let mut found = stmt.query_row(params![ns, id.to_string(), now], record).optional()?.transpose()?;
        if let Some(r) = found.as_mut() {
            r.history = history(conn, ns, &id.to_string())?;
        }
        out.push(found);
    }
    Ok(out)
}

/// Records matching `filter`, newest first.
pub(super) fn list(
    conn: &rusqlite::Connection,
    ns: &str,
    filter: &ListFilter,
    now: i64,
) -> Result<Vec<JobRecord>, Failure> {
    let mut sql = format!(
        "SELECT {RECORD_COLUMNS} FROM jobs WHERE ns = ?1 AND (result_expires_at IS NULL OR result_expires_at > ?2)"
    );
    let mut args: Vec<rusqlite::types::Value> = vec![ns.to_string().into(), now.into()];
    for (column, value) in [
        ("state", filter.state.map(|s| s.as_str().to_string())),
        ("queue", filter.queue.as_ref().map(std::string::ToString::to_string)),
        ("job", filter.job.as_ref().map(std::string::ToString::to_string)),
    ] {
        if let Some(value) = value {
            args.push(value.into());
            sql.push_str(&format!(" AND {column} = ?{}", args.len()));
        }
    }
    args.push(i64::try_from(filter.limit).unwrap_or(i64::MAX).into());
    sql.push_str(&format!(" ORDER BY enqueued_at DESC, id DESC LIMIT ?{}", args.len()));
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), record)?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row??);
    }
    Ok(out)
}

/// How many jobs on `queues` are yet to run: queued (waiting for a
/// concurrency slot or not), or due.
pub(super) fn count_ready(conn: &rusqlite::Connection, ns: &str, queues: &[String], now: i64) -> Result<u64, Failure> {
    // Two counts, each on its partial index (named: without statistics the
    // planner would scan the namespace; one `OR` of states would too).
    let mut stmt = conn.prepare_cached(
        "SELECT (SELECT count(*) FROM jobs INDEXED BY jobs_queued WHERE ns = ?1 AND queue = ?2 AND state = 'queued')
              + (SELECT count(*) FROM jobs INDEXED BY jobs_waiting WHERE ns = ?1 AND state IN ('scheduled', 'retrying')
                 AND ready_at <= ?3 AND queue = ?2)",
    )?;
    let mut total = 0u64;
    for q in queues {
        total += stmt.query_row(params![ns, q, now], |r| r.get::<_, i64>(0))?.max(0) as u64;
    }
    Ok(total)
}

/// Deletes up to `PURGE_BATCH` results past their TTL, expired unique keys
/// and the state of schedule entries no beat has fired for long; returns
/// how many results (call again while it is `PURGE_BATCH`).
pub(super) fn purge_expired(tx: &Transaction<'_>, ns: &str, now: i64) -> Result<u64, Failure> {
    let batch = i64::try_from(PURGE_BATCH).unwrap_or(i64::MAX);
    let removed = tx.execute(
        "DELETE FROM jobs WHERE ns = ?1 AND id IN (
             SELECT id FROM jobs WHERE ns = ?1 AND result_expires_at <= ?2 LIMIT ?3)",
        params![ns, now, batch],
    )?;
    tx.execute(
        "DELETE FROM uniques WHERE ns = ?1 AND key IN (
             SELECT key FROM uniques WHERE ns = ?1 AND expires_at <= ?2 LIMIT ?3)",
        params![ns, now, batch],
    )?;
    tx.execute("DELETE FROM schedules WHERE ns = ?1 AND keep_until <= ?2", params![ns, now])?;
    super::tombstones::purge(tx, ns, now)?;
    Ok(removed as u64)
}
