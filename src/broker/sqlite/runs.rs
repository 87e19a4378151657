//! Workflow runs in SQL (src/broker/runs.rs has the state machine). A job's
//! outcome reaches its run inside `finish`'s transaction (`report`), so the
//! outcome and the run's progress are committed together.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, Transaction, params};

use super::Failure;
use super::jobs::ms_after;
use crate::broker::{BrokerError, NewRun, RunRecord, RunState, StepReport};
use crate::flow::StepResult;
use crate::job::{JobId, JobState};
use crate::names::JobName;
use crate::time::from_ms;

fn protocol(e: impl ToString) -> Failure {
    Failure::Broker(BrokerError::Protocol(format!("a workflow run: {}", e.to_string())))
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String, Failure> {
    serde_json::to_string(v).map_err(protocol)
}

pub(super) fn start(tx: &Transaction<'_>, ns: &str, run: &NewRun, now: i64) -> Result<bool, Failure> {
    let id = run.id.to_string();
    let steps = u32::try_from(run.def.steps.len()).unwrap_or(u32::MAX);
    let added = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO runs (ns, id, head, state, steps, enqueued_at, touched_at)
             VALUES (?1, ?2, ?3, 'running', ?4, ?5, ?5)",
        )?
        .execute(params![ns, id, to_json(run)?, steps, now])?;
    if added == 1
        && let Some(first) = &run.first
    {
        launched(tx, ns, run.id, 0, first, now)?;
    }
    if added == 0 {
        tx.prepare_cached("UPDATE runs SET touched_at = ?3 WHERE ns = ?1 AND id = ?2 AND settled = 0")?
            .execute(params![ns, run.id.to_string(), now])?;
    }
    Ok(added == 1)
}

/// Records a member's outcome once, and moves its run on; true if that
/// completed its step or ended the run.
pub(super) fn advance(tx: &Transaction<'_>, ns: &str, report: &StepReport, now: i64) -> Result<bool, Failure> {
    let run = report.run.to_string();
    let at: Option<(String, u32)> = tx
        .prepare_cached("SELECT state, step FROM runs WHERE ns = ?1 AND id = ?2")?
        .query_row(params![ns, run], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let Some((state, step)) = at else { return Ok(false) };
    let added = tx
        .prepare_cached(
            "INSERT OR IGNORE INTO run_members (ns, run, id, step, state, report) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(params![ns, run, report.id.to_string(), report.step, report.state.as_str(), to_json(report)?])?;
    if added == 1 && report.state == JobState::Succeeded {
        tx.prepare_cached(
            "INSERT INTO run_done (ns, run, step, done) VALUES (?1, ?2, ?3, 1)
             ON CONFLICT (ns, run, step) DO UPDATE SET done = done + 1",
        )?
        .execute(params![ns, run, report.step])?;
    }
    if added == 0 || state != "running" {
        return Ok(false);
    }
    if report.state == JobState::Succeeded {
        move_on(tx, ns, &run, now)?;
        let after: u32 = tx
            .prepare_cached("SELECT step FROM runs WHERE ns = ?1 AND id = ?2")?
            .query_row(params![ns, run], |r| r.get(0))?;
        Ok(after != step)
    } else {
        tx.prepare_cached(
            "UPDATE runs SET state = 'failed', finished_at = ?3, cause = ?4, touched_at = ?3 WHERE ns = ?1 AND id = ?2",
        )?
        .execute(params![ns, run, now, to_json(report)?])?;
        Ok(true)
    }
}

pub(super) fn launched(
    tx: &Transaction<'_>,
    ns: &str,
    run: JobId,
    step: u32,
    ids: &[JobId],
    now: i64,
) -> Result<(), Failure> {
    let run = run.to_string();
    // Recorded even in a run that ended meanwhile (revoked during the
    // launch): what it launched is then cancelled, so it must be known.
    let at: Option<u32> = tx
        .prepare_cached("SELECT step FROM runs WHERE ns = ?1 AND id = ?2")?
        .query_row(params![ns, run], |r| r.get(0))
        .optional()?;
    if at != Some(step) {
        return Ok(());
    }
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    let added = tx
        .prepare_cached("INSERT OR IGNORE INTO run_steps (ns, run, step, ids, need) VALUES (?1, ?2, ?3, ?4, ?5)")?
        .execute(params![ns, run, step, to_json(&ids)?, ids.len() as i64])?;
    if added == 1 {
        move_on(tx, ns, &run, now)?;
    }
    Ok(())
}

/// While the current step is launched and each of its ids succeeded, moves
/// to the next step; after the last, the run succeeded.
fn move_on(tx: &Transaction<'_>, ns: &str, run: &str, now: i64) -> Result<(), Failure> {
    loop {
        let (step, steps): (u32, u32) = tx
            .prepare_cached("SELECT step, steps FROM runs WHERE ns = ?1 AND id = ?2 AND state = 'running'")?
            .query_row(params![ns, run], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?
            .unwrap_or((u32::MAX, 0));
        if step >= steps {
            break;
        }
        let need: Option<u32> = tx
            .prepare_cached("SELECT need FROM run_steps WHERE ns = ?1 AND run = ?2 AND step = ?3")?
            .query_row(params![ns, run, step], |r| r.get(0))
            .optional()?;
        let Some(need) = need else { break };
        let done: u32 = tx
            .prepare_cached("SELECT done FROM run_done WHERE ns = ?1 AND run = ?2 AND step = ?3")?
            .query_row(params![ns, run, step], |r| r.get(0))
            .optional()?
            .unwrap_or(0);
        if done < need {
            break;
        }
        let next = step + 1;
        if next >= steps {
            tx.prepare_cached(
                "UPDATE runs SET step = ?3, state = 'succeeded', finished_at = ?4, touched_at = ?4
                 WHERE ns = ?1 AND id = ?2",
            )?
            .execute(params![ns, run, next, now])?;
        } else {
            tx.prepare_cached("UPDATE runs SET step = ?3, touched_at = ?4 WHERE ns = ?1 AND id = ?2")?
                .execute(params![ns, run, next, now])?;
        }
    }
    Ok(())
}

pub(super) fn get(conn: &Connection, ns: &str, ids: &[JobId]) -> Result<Vec<Option<RunRecord>>, Failure> {
    ids.iter().map(|id| read(conn, ns, &id.to_string())).collect()
}

fn read(conn: &Connection, ns: &str, id: &str) -> Result<Option<RunRecord>, Failure> {
    type Row = (String, String, u32, u32, i64, Option<i64>, Option<String>, bool);
    let row: Option<Row> = conn
        .prepare_cached(
            "SELECT head, state, step, steps, enqueued_at, finished_at, cause, settled FROM runs
             WHERE ns = ?1 AND id = ?2",
        )?
        .query_row(params![ns, id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?, r.get(7)?))
        })
        .optional()?;
    let Some((head, state, step, steps, enqueued, finished, cause, settled)) = row else { return Ok(None) };
    let mut launched = vec![None; steps as usize];
    let mut done = vec![0; steps as usize];
    let mut stmt = conn.prepare_cached("SELECT step, ids FROM run_steps WHERE ns = ?1 AND run = ?2")?;
    for row in stmt.query_map(params![ns, id], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?)))? {
        let (s, ids) = row?;
        let ids: Vec<JobId> = serde_json::from_str(&ids).map_err(protocol)?;
        if let Some(slot) = launched.get_mut(s as usize) {
            *slot = Some(ids);
        }
    }
    let mut stmt = conn.prepare_cached("SELECT step, done FROM run_done WHERE ns = ?1 AND run = ?2")?;
    for row in stmt.query_map(params![ns, id], |r| Ok((r.get::<_, u32>(0)?, r.get::<_, u32>(1)?)))? {
        let (s, n) = row?;
        if let Some(slot) = done.get_mut(s as usize) {
            *slot = n;
        }
    }
    Ok(Some(RunRecord {
        run: serde_json::from_str(&head).map_err(protocol)?,
        state: RunState::parse(&state).ok_or_else(|| protocol(format!("unknown state {state}")))?,
        step,
        launched,
        done,
        enqueued_at: from_ms(enqueued),
        finished_at: finished.map(from_ms),
        cause: cause.map(|c| serde_json::from_str(&c)).transpose().map_err(protocol)?,
        settled,
    }))
}

pub(super) fn state(conn: &Connection, ns: &str, id: JobId) -> Result<Option<RunState>, Failure> {
    let state: Option<String> = conn
        .prepare_cached("SELECT state FROM runs WHERE ns = ?1 AND id = ?2")?
        .query_row(params![ns, id.to_string()], |r| r.get(0))
        .optional()?;
    state.map(|s| RunState::parse(&s).ok_or_else(|| protocol(format!("unknown state {s}")))).transpose()
}

pub(super) fn results(conn: &Connection, ns: &str, run: JobId, step: u32) -> Result<Vec<StepResult>, Failure> {
    let run = run.to_string();
    let ids: Option<String> = conn
        .prepare_cached("SELECT ids FROM run_steps WHERE ns = ?1 AND run = ?2 AND step = ?3")?
        .query_row(params![ns, run, step], |r| r.get(0))
        .optional()?;
    let order: Vec<String> = ids.map(|i| serde_json::from_str(&i)).transpose().map_err(protocol)?.unwrap_or_default();
    let mut stmt = conn.prepare_cached(
        "SELECT id, report FROM run_members WHERE ns = ?1 AND run = ?2 AND step = ?3 AND state = 'succeeded'",
    )?;
    let mut by_id: HashMap<String, StepReport> = HashMap::new();
    for row in stmt.query_map(params![ns, run, step], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))? {
        let (id, report) = row?;
        by_id.insert(id, serde_json::from_str(&report).map_err(protocol)?);
    }
    Ok(order.iter().filter_map(|id| by_id.get(id)).map(StepReport::result).collect())
}

pub(super) fn revoke(tx: &Transaction<'_>, ns: &str, id: JobId, now: i64) -> Result<Option<RunRecord>, Failure> {
    tx.prepare_cached(
        "UPDATE runs SET state = 'revoked', finished_at = ?3, touched_at = ?3
         WHERE ns = ?1 AND id = ?2 AND state = 'running'",
    )?
    .execute(params![ns, id.to_string(), now])?;
    read(tx, ns, &id.to_string())
}

pub(super) fn settle(tx: &Transaction<'_>, ns: &str, id: JobId, now: i64) -> Result<(), Failure> {
    let id = id.to_string();
    let head: Option<String> = tx
        .prepare_cached("SELECT head FROM runs WHERE ns = ?1 AND id = ?2 AND state != 'running' AND settled = 0")?
        .query_row(params![ns, id], |r| r.get(0))
        .optional()?;
    let Some(head) = head else { return Ok(()) };
    let run: NewRun = serde_json::from_str(&head).map_err(protocol)?;
    tx.prepare_cached("UPDATE runs SET settled = 1, expires_at = ?3 WHERE ns = ?1 AND id = ?2")?.execute(params![
        ns,
        id,
        ms_after(now, run.ttl)
    ])?;
    Ok(())
}

pub(super) fn open(tx: &Transaction<'_>, ns: &str, before: i64, now: i64, limit: usize) -> Result<Vec<JobId>, Failure> {
    let ids: Vec<String> = tx
        .prepare_cached(
            "SELECT id FROM runs WHERE ns = ?1 AND settled = 0 AND touched_at < ?2 ORDER BY touched_at LIMIT ?3",
        )?
        .query_map(params![ns, before, limit as i64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        tx.prepare_cached("UPDATE runs SET touched_at = ?3 WHERE ns = ?1 AND id = ?2")?
            .execute(params![ns, id, now])?;
        out.push(id.parse().map_err(protocol)?);
    }
    Ok(out)
}

pub(super) fn list(
    conn: &Connection,
    ns: &str,
    workflow: Option<&str>,
    limit: usize,
) -> Result<Vec<RunRecord>, Failure> {
    let ids: Vec<String> = conn
        .prepare_cached(
            "SELECT id FROM runs WHERE ns = ?1 AND (?2 IS NULL OR json_extract(head, '$.def.name') = ?2)
             ORDER BY enqueued_at DESC, id DESC LIMIT ?3",
        )?
        .query_map(params![ns, workflow, limit as i64], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    ids.iter().filter_map(|id| read(conn, ns, id).transpose()).collect()
}

pub(super) fn count(conn: &Connection, ns: &str) -> Result<Vec<(JobName, RunState, u64)>, Failure> {
    let mut stmt = conn.prepare_cached(
        "SELECT json_extract(head, '$.def.name'), state, count(*) FROM runs WHERE ns = ?1 GROUP BY 1, 2 ORDER BY 1, 2",
    )?;
    let rows =
        stmt.query_map(params![ns], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (name, state, n) = row?;
        let state = RunState::parse(&state).ok_or_else(|| protocol(format!("unknown state {state}")))?;
        out.push((JobName::new(&name).map_err(protocol)?, state, n.unsigned_abs()));
    }
    Ok(out)
}

/// Deletes settled runs past their ttl, with their steps and members.
pub(super) fn purge_expired(tx: &Transaction<'_>, ns: &str, now: i64) -> Result<u64, Failure> {
    let ids: Vec<String> = tx
        .prepare_cached("SELECT id FROM runs WHERE ns = ?1 AND expires_at < ?2 LIMIT 1000")?
        .query_map(params![ns, now], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for id in &ids {
        for table in ["run_steps", "run_members", "run_done"] {
            tx.prepare_cached(&format!("DELETE FROM {table} WHERE ns = ?1 AND run = ?2"))?.execute(params![ns, id])?;
        }
        tx.prepare_cached("DELETE FROM runs WHERE ns = ?1 AND id = ?2")?.execute(params![ns, id])?;
    }
    Ok(ids.len() as u64)
}
