//! Per-job statistics in SQL (the `stats` table; src/broker/stats.rs has
//! the design): counted inside the transaction that ends an attempt.

use std::time::Duration;

use rusqlite::{Connection, Transaction, params};

use super::Failure;
use crate::broker::stats::{self, Cell, HOUR_MS, MINUTE_MS, SUM_FIELD, Tally};

/// Counts one ending of `job` at `now`, with its run time if it is timed.
pub(super) fn tally(
    tx: &Transaction<'_>,
    ns: &str,
    job: &str,
    t: Tally,
    ran: Option<Duration>,
    now: i64,
) -> Result<(), Failure> {
    let (m, h) = (now.div_euclid(MINUTE_MS), now.div_euclid(HOUR_MS));
    match ran {
        // One statement for the six cells: the hot path's cost is one step.
        Some(ran) => {
            let ms = u64::try_from(ran.as_millis()).unwrap_or(u64::MAX);
            let bucket = stats::histogram_field(ms);
            let ms = i64::try_from(ms).unwrap_or(i64::MAX);
            tx.prepare_cached(
                "INSERT INTO stats (ns, scale, bucket, job, field, n) VALUES
                     (?1, 'm', ?2, ?4, ?5, 1), (?1, 'h', ?3, ?4, ?5, 1),
                     (?1, 'm', ?2, ?4, ?6, ?7), (?1, 'h', ?3, ?4, ?6, ?7),
                     (?1, 'm', ?2, ?4, ?8, 1), (?1, 'h', ?3, ?4, ?8, 1)
                 ON CONFLICT (ns, scale, bucket, job, field) DO UPDATE SET n = n + excluded.n",
            )?
            .execute(params![ns, m, h, job, t.as_str(), SUM_FIELD, ms, bucket])?;
        }
        None => {
            tx.prepare_cached(
                "INSERT INTO stats (ns, scale, bucket, job, field, n) VALUES
                     (?1, 'm', ?2, ?4, ?5, 1), (?1, 'h', ?3, ?4, ?5, 1)
                 ON CONFLICT (ns, scale, bucket, job, field) DO UPDATE SET n = n + excluded.n",
            )?
            .execute(params![ns, m, h, job, t.as_str()])?;
        }
    }
    Ok(())
}

/// The cells of the last hour's minutes and the last 24 h's hours.
pub(super) fn read(conn: &Connection, ns: &str, now: i64) -> Result<Vec<Cell>, Failure> {
    let (minutes, hours) = stats::buckets(now);
    let mut stmt = conn.prepare_cached(
        "SELECT scale, bucket, job, field, n FROM stats
         WHERE ns = ?1 AND ((scale = 'm' AND bucket >= ?2) OR (scale = 'h' AND bucket >= ?3))",
    )?;
    let rows = stmt.query_map(params![ns, minutes.start(), hours.start()], |r| {
        Ok(Cell {
            hourly: r.get::<_, String>(0)? == "h",
            bucket: r.get(1)?,
            job: r.get(2)?,
            field: r.get(3)?,
            n: u64::try_from(r.get::<_, i64>(4)?).unwrap_or(0),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Deletes the buckets no window reads any more.
pub(super) fn purge(tx: &Transaction<'_>, ns: &str, now: i64) -> Result<(), Failure> {
    let (minutes, hours) = stats::buckets(now);
    tx.prepare_cached(
        "DELETE FROM stats WHERE ns = ?1 AND ((scale = 'm' AND bucket < ?2) OR (scale = 'h' AND bucket < ?3))",
    )?
    .execute(params![ns, minutes.start(), hours.start()])?;
    Ok(())
}
