//! Operators' transitions in SQL: revoke, retry of failed jobs, purge; and
//! the live workers' registry.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::Failure;
use super::jobs::ms_after;
use crate::broker::{BrokerError, Purge, Retried, Revoke, WORKER_TTL, WorkerInfo};
use crate::job::{IdPrefix, JobId, JobState};
use crate::time::from_ms;

fn state(text: String) -> Result<JobState, Failure> {
    text.parse().map_err(|e| Failure::Broker(BrokerError::Protocol(e)))
}

/// Cancels a job that has not started, or flags a running one for its
/// worker to kill.
pub(super) fn revoke(tx: &Transaction<'_>, ns: &str, id: JobId, terminate: bool, now: i64) -> Result<Revoke, Failure> {
    let id = id.to_string();
    let found: Option<(String, Option<String>)> = tx
        .query_row(
            "SELECT state, worker FROM jobs WHERE ns = ?1 AND id = ?2
             AND (result_expires_at IS NULL OR result_expires_at > ?3)",
            params![ns, id, now],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?;
    let Some((found, worker)) = found else { return Ok(Revoke::Unknown) };
    Ok(match state(found)? {
        JobState::Queued | JobState::Scheduled | JobState::Retrying => {
            tx.execute(
                "UPDATE jobs SET state = 'revoked', finished_at = ?3, error = 'revoked',
                     result_expires_at = ?3 + result_ttl
                 WHERE ns = ?1 AND id = ?2",
                params![ns, id, now],
            )?;
            Revoke::Revoked
        }
        JobState::Running if terminate => {
            tx.execute("UPDATE jobs SET revoke = 1 WHERE ns = ?1 AND id = ?2", params![ns, id])?;
            Revoke::Terminating { worker: worker.unwrap_or_default() }
        }
        JobState::Running => Revoke::Running { worker: worker.unwrap_or_default() },
        other => Revoke::Final(other),
    })
}

/// Ids of jobs whose result (or tombstone) is not past its ttl, and of
/// runs, that start with `prefix`: a range of the primary keys ('~' sorts
/// after every character of an id).
pub(super) fn find_ids(
    conn: &Connection,
    ns: &str,
    prefix: &IdPrefix,
    limit: usize,
    now: i64,
) -> Result<Vec<JobId>, Failure> {
    let (from, to) = (prefix.as_str(), format!("{prefix}~"));
    let mut stmt = conn.prepare_cached(
        "SELECT id FROM jobs WHERE ns = ?1 AND id >= ?2 AND id < ?3
             AND (result_expires_at IS NULL OR result_expires_at > ?4)
         UNION ALL
         SELECT id FROM tombstones WHERE ns = ?1 AND id >= ?2 AND id < ?3 AND expires_at > ?4
         UNION ALL
         SELECT id FROM runs WHERE ns = ?1 AND id >= ?2 AND id < ?3
         LIMIT ?5",
    )?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let ids = stmt.query_map(params![ns, from, to, now, limit], |r| r.get::<_, String>(0))?;
    ids.map(|id| id?.parse().map_err(|e| Failure::Broker(BrokerError::Protocol(e)))).collect()
}

/// Which of `ids` `revoke --terminate` flagged.
pub(super) fn revoked(conn: &Connection, ns: &str, ids: &[JobId]) -> Result<Vec<JobId>, Failure> {
    let mut stmt = conn.prepare_cached("SELECT revoke FROM jobs WHERE ns = ?1 AND id = ?2")?;
    let mut out = Vec::new();
    for id in ids {
        let flag: Option<i64> = stmt.query_row(params![ns, id.to_string()], |r| r.get(0)).optional()?;
        if flag == Some(1) {
            out.push(*id);
        }
    }
    Ok(out)
}

/// Requeues failed jobs (`ids`, or all), attempts reset, at the back of
/// their queues.
pub(super) fn retry_failed(
    tx: &Transaction<'_>,
    ns: &str,
    ids: Option<&[JobId]>,
    now: i64,
) -> Result<Vec<(JobId, Retried)>, Failure> {
    let ids: Vec<String> = match ids {
        Some(ids) => ids.iter().map(std::string::ToString::to_string).collect(),
        None => tx
            .prepare("SELECT id FROM jobs WHERE ns = ?1 AND state = 'failed' ORDER BY finished_at")?
            .query_map(params![ns], |r| r.get(0))?
            .collect::<Result<_, _>>()?,
    };
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let found: Option<String> = tx
            .query_row("SELECT state FROM jobs WHERE ns = ?1 AND id = ?2", params![ns, id], |r| r.get(0))
            .optional()?;
        let retried = match found.map(state).transpose()? {
            Some(JobState::Failed) => {
                // Its last failure joins its history before the fields go.
                super::jobs::remember_attempt(tx, ns, &id, "failed", None)?;
                tx.execute(
                    "UPDATE jobs SET state = 'queued', attempts = 0, lost = 0, worker = NULL, started_at = NULL,
                         finished_at = NULL, ready_at = ?3, lease_until = NULL
                     WHERE ns = ?1 AND id = ?2",
                    params![ns, id, now],
                )?;
                Retried::Requeued
            }
            Some(other) => Retried::NotFailed(other),
            None => Retried::Unknown,
        };
        out.push((id.parse().map_err(|e| Failure::Broker(BrokerError::Protocol(e)))?, retried));
    }
    Ok(out)
}

/// The rows `purge` deletes: a table with its index and a WHERE clause
/// over ?1 (namespace) and ?2. (Named: without statistics the planner would
/// scan the namespace rather than the partial index.)
fn selection(what: &Purge) -> (&'static str, String) {
    match what {
        Purge::Failed => ("jobs INDEXED BY jobs_failed WHERE ns = ?1 AND state = 'failed' AND ?2 = ''", String::new()),
        Purge::Queue(q) => {
            ("jobs INDEXED BY jobs_queued WHERE ns = ?1 AND state = 'queued' AND queue = ?2", q.to_string())
        }
    }
}

/// How many jobs `purge` would delete.
pub(super) fn count(conn: &Connection, ns: &str, what: &Purge) -> Result<u64, Failure> {
    let (sql, arg) = selection(what);
    let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {sql}"), params![ns, arg], |r| r.get(0))?;
    Ok(n.max(0) as u64)
}

/// Deletes failed jobs, or the jobs queued on a queue.
pub(super) fn purge(tx: &Transaction<'_>, ns: &str, what: &Purge) -> Result<u64, Failure> {
    let (sql, arg) = selection(what);
    Ok(tx.execute(&format!("DELETE FROM {sql}"), params![ns, arg])? as u64)
}

/// Registers or renews a live worker, heard from at `now`.
pub(super) fn heartbeat(tx: &Transaction<'_>, ns: &str, info: &WorkerInfo, now: i64) -> Result<(), Failure> {
    let json = serde_json::to_string(info).map_err(|e| Failure::Broker(BrokerError::Protocol(e.to_string())))?;
    tx.execute(
        "INSERT INTO workers (ns, id, info, expires_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (ns, id) DO UPDATE SET info = ?3, expires_at = ?4",
        params![ns, info.id, json, ms_after(now, WORKER_TTL)],
    )?;
    // Forget the silent ones here too: no other round looks after them.
    tx.execute("DELETE FROM workers WHERE ns = ?1 AND expires_at <= ?2", params![ns, now])?;
    Ok(())
}

/// Removes a worker.
pub(super) fn forget_worker(tx: &Transaction<'_>, ns: &str, id: &str) -> Result<(), Failure> {
    tx.execute("DELETE FROM workers WHERE ns = ?1 AND id = ?2", params![ns, id])?;
    Ok(())
}

/// The live workers.
pub(super) fn workers(conn: &Connection, ns: &str, now: i64) -> Result<Vec<WorkerInfo>, Failure> {
    let mut stmt =
        conn.prepare_cached("SELECT info, expires_at FROM workers WHERE ns = ?1 AND expires_at > ?2 ORDER BY id")?;
    let rows = stmt.query_map(params![ns, now], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (info, expires_at) = row?;
        let mut info: WorkerInfo =
            serde_json::from_str(&info).map_err(|e| Failure::Broker(BrokerError::Protocol(e.to_string())))?;
        info.seen_at = from_ms(expires_at - ms_after(0, WORKER_TTL));
        out.push(info);
    }
    Ok(out)
}
