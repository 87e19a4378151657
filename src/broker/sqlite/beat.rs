//! Beat's state in SQL: a tick is claimed only if it is later than the
//! entry's last, and its run enqueued, in the caller's transaction.

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::Failure;
use super::jobs::insert;
use crate::broker::{EARLY_TICK, Fired, ScheduleState};
use crate::job::NewJob;
use crate::time::from_ms;

/// A tick of an entry, owned for the blocking pool.
pub(super) struct Tick {
    pub entry: String,
    pub spec: String,
    pub tick: i64,
    pub missed: u64,
    pub run: Option<NewJob>,
    pub max_concurrent: Option<u32>,
    pub keep_until: i64,
    pub paused: bool,
}

/// Handles one tick once however many beats ask (see `Broker::fire`).
pub(super) fn fire(tx: &Transaction<'_>, ns: &str, t: &Tick, now: i64) -> Result<Fired, Failure> {
    if t.tick > now + i64::try_from(EARLY_TICK.as_millis()).unwrap_or(i64::MAX) {
        return Ok(Fired::Early);
    }
    let last: Option<i64> = tx
        .query_row("SELECT last_tick FROM schedules WHERE ns = ?1 AND entry = ?2", params![ns, t.entry], |r| r.get(0))
        .optional()?;
    if last.is_some_and(|l| l >= t.tick) {
        return Ok(Fired::Already);
    }
    let missed = i64::try_from(t.missed).unwrap_or(i64::MAX);
    tx.execute(
        "INSERT INTO schedules (ns, entry, spec, last_tick, skipped, last_skip, keep_until)
         VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?5 > 0 THEN 'no beat ran at the time' END, ?6)
         ON CONFLICT (ns, entry) DO UPDATE SET spec = ?3, last_tick = ?4, skipped = skipped + ?5,
             last_skip = CASE WHEN ?5 > 0 THEN 'no beat ran at the time' ELSE last_skip END, keep_until = ?6",
        params![ns, t.entry, t.spec, t.tick, missed, t.keep_until],
    )?;
    if t.paused {
        tx.execute(
            "UPDATE schedules SET skipped = skipped + 1, last_skip = 'paused' WHERE ns = ?1 AND entry = ?2",
            params![ns, t.entry],
        )?;
        return Ok(Fired::Paused);
    }
    let Some(run) = &t.run else { return Ok(Fired::Recorded) };
    if let Some(limit) = t.max_concurrent {
        let active: i64 = tx.query_row(
            "SELECT count(*) FROM jobs WHERE ns = ?1 AND job = ?2 AND state = 'running' AND lease_until >= ?3",
            params![ns, run.job.as_str(), now],
            |r| r.get(0),
        )?;
        if active >= i64::from(limit) {
            tx.execute(
                "UPDATE schedules SET skipped = skipped + 1, last_skip = 'previous run still active'
                 WHERE ns = ?1 AND entry = ?2",
                params![ns, t.entry],
            )?;
            return Ok(Fired::Skipped);
        }
    }
    let enqueued = insert(tx, ns, run, now)?;
    if enqueued.duplicate {
        return Ok(Fired::Duplicate(enqueued.id));
    }
    tx.execute(
        "UPDATE schedules SET fired = fired + 1, last_job = ?3 WHERE ns = ?1 AND entry = ?2",
        params![ns, t.entry, enqueued.id.to_string()],
    )?;
    Ok(Fired::Enqueued(enqueued.id))
}

/// Every entry's state.
pub(super) fn schedules(conn: &Connection, ns: &str) -> Result<Vec<ScheduleState>, Failure> {
    let mut stmt = conn.prepare(
        "SELECT entry, spec, last_tick, last_job, fired, skipped, last_skip, last_success, last_failure
         FROM schedules WHERE ns = ?1 ORDER BY entry",
    )?;
    let rows = stmt.query_map(params![ns], |r| {
        Ok(ScheduleState {
            entry: r.get(0)?,
            spec: r.get(1)?,
            last_tick: from_ms(r.get(2)?),
            last_job: r.get::<_, Option<String>>(3)?.and_then(|id| id.parse().ok()),
            fired: r.get::<_, i64>(4)?.max(0) as u64,
            skipped: r.get::<_, i64>(5)?.max(0) as u64,
            last_skip: r.get(6)?,
            last_success: r.get::<_, Option<i64>>(7)?.map(from_ms),
            last_failure: r.get::<_, Option<i64>>(8)?.map(from_ms),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Stamps a scheduled run's final outcome on its entry, unless a later one
/// is there (part of `finish` and `recover`).
pub(super) fn schedule_outcome(
    tx: &Transaction<'_>,
    ns: &str,
    entry: &str,
    succeeded: bool,
    at: i64,
) -> Result<(), Failure> {
    // The column is chosen here, never from input.
    let column = if succeeded { "last_success" } else { "last_failure" };
    tx.execute(
        &format!("UPDATE schedules SET {column} = ?3 WHERE ns = ?1 AND entry = ?2 AND coalesce({column}, 0) < ?3"),
        params![ns, entry, at],
    )?;
    Ok(())
}

/// Pauses or resumes `entry`; true if that changed it.
pub(super) fn pause(tx: &Transaction<'_>, ns: &str, entry: &str, paused: bool, now: i64) -> Result<bool, Failure> {
    let changed = if paused {
        tx.execute("INSERT OR IGNORE INTO paused (ns, entry, since) VALUES (?1, ?2, ?3)", params![ns, entry, now])?
    } else {
        tx.execute("DELETE FROM paused WHERE ns = ?1 AND entry = ?2", params![ns, entry])?
    };
    Ok(changed == 1)
}

/// The paused entries and since when (ms).
pub(super) fn paused(conn: &Connection, ns: &str) -> Result<Vec<(String, i64)>, Failure> {
    let mut stmt = conn.prepare_cached("SELECT entry, since FROM paused WHERE ns = ?1 ORDER BY entry")?;
    let rows = stmt.query_map(params![ns], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A registered definition: entry, spec, beat, since and until (ms).
pub(super) type DefinitionRow = (String, String, String, i64, i64);

/// Registers `beat`'s definitions until `until`, replacing its earlier
/// ones; returns every live definition (entry, spec, beat, since, until).
pub(super) fn define(
    tx: &Transaction<'_>,
    ns: &str,
    beat: &str,
    defs: &[(String, String)],
    now: i64,
    until: i64,
) -> Result<Vec<DefinitionRow>, Failure> {
    tx.execute("DELETE FROM definitions WHERE ns = ?1 AND until < ?2", params![ns, now])?;
    let held: Vec<(String, String, i64)> = tx
        .prepare_cached("SELECT entry, spec, since FROM definitions WHERE ns = ?1 AND beat = ?2")?
        .query_map(params![ns, beat], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
        .collect::<Result<_, _>>()?;
    tx.execute("DELETE FROM definitions WHERE ns = ?1 AND beat = ?2", params![ns, beat])?;
    for (entry, spec) in defs {
        let since = held.iter().find(|(e, s, _)| e == entry && s == spec).map_or(now, |(_, _, since)| *since);
        tx.prepare_cached(
            "INSERT INTO definitions (ns, entry, beat, spec, since, until) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![ns, entry, beat, spec, since, until])?;
    }
    definitions(tx, ns, now)
}

/// Every live definition.
pub(super) fn definitions(conn: &Connection, ns: &str, now: i64) -> Result<Vec<DefinitionRow>, Failure> {
    let mut stmt = conn.prepare_cached(
        "SELECT entry, spec, beat, since, until FROM definitions WHERE ns = ?1 AND until >= ?2 ORDER BY entry, beat",
    )?;
    let rows = stmt.query_map(params![ns, now], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
