//! What is left of a job that succeeded with `ignore_result`: its row is
//! deleted when it finishes, and a small one here says how it ended until
//! its result ttl is over, so that `wait` and `status` tell it from an id
//! never seen.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::Failure;
use crate::broker::{BrokerError, Tombstone};
use crate::job::JobId;
use crate::names::JobName;
use crate::time::from_ms;

/// Leaves the tombstone of job `id` (of job `job`), in `finish`'s transaction.
pub(super) fn bury(
    tx: &Transaction<'_>,
    ns: &str,
    id: &str,
    job: &str,
    finished: i64,
    expires: i64,
) -> Result<(), Failure> {
    tx.prepare_cached(
        "INSERT OR REPLACE INTO tombstones (ns, id, job, finished_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![ns, id, job, finished, expires])?;
    Ok(())
}

/// The tombstones of `ids` not past their ttl.
pub(super) fn read(conn: &Connection, ns: &str, ids: &[JobId], now: i64) -> Result<Vec<Option<Tombstone>>, Failure> {
    let mut stmt =
        conn.prepare_cached("SELECT job, finished_at FROM tombstones WHERE ns = ?1 AND id = ?2 AND expires_at > ?3")?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let row: Option<(String, i64)> =
            stmt.query_row(params![ns, id.to_string(), now], |r| Ok((r.get(0)?, r.get(1)?))).optional()?;
        out.push(
            row.map(|(job, finished)| {
                let job = JobName::new(&job)
                    .map_err(|e| Failure::Broker(BrokerError::Protocol(format!("a tombstone: {e}"))))?;
                Ok::<_, Failure>(Tombstone { id: *id, job, finished_at: from_ms(finished) })
            })
            .transpose()?,
        );
    }
    Ok(out)
}

/// Deletes the tombstones past their ttl.
pub(super) fn purge(tx: &Transaction<'_>, ns: &str, now: i64) -> Result<(), Failure> {
    tx.execute("DELETE FROM tombstones WHERE ns = ?1 AND expires_at <= ?2", params![ns, now])?;
    Ok(())
}
