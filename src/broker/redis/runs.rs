//! Workflow runs on Redis: every change is one call of runs.lua in the
//! namespace's runs slot `{ns/_runs}`; reads are plain hash reads there. A
//! step job's outcome is recorded in its queue's slot, so it reaches its run
//! through the queue's outbox (`finish.lua` writes the report there in the
//! same step as the outcome; `finish` applies it and removes it; a lost
//! worker's is applied by maintenance, and applying one twice is harmless).

use std::time::Duration;

use redis::Value;
use serde::Deserialize;

use super::fields::ms;
use super::{RedisBroker, SCRIPTS};
use crate::broker::{BrokerError, NewRun, RunRecord, RunState, StepReport};
use crate::flow::StepResult;
use crate::job::JobId;
use crate::names::JobName;
use crate::time::from_ms;

fn protocol(e: impl ToString) -> BrokerError {
    BrokerError::Protocol(format!("a workflow run: {}", e.to_string()))
}

impl RedisBroker {
    fn runs_call(&self, op: &str) -> super::script::Call {
        let mut call = self.ns_script(&SCRIPTS.runs, &self.keys.runs());
        call.arg(op);
        call
    }

    pub(super) fn runs_key(&self, name: &str) -> String {
        let keys = self.keys.runs();
        let at = super::super::keys::RUN_KEYS.iter().position(|k| *k == name).unwrap_or(0);
        keys[at].clone()
    }
}

pub(super) async fn start(b: &RedisBroker, run: &NewRun) -> Result<bool, BrokerError> {
    let head = serde_json::to_string(run).map_err(protocol)?;
    let first = match &run.first {
        Some(ids) => serde_json::to_string(ids).map_err(protocol)?,
        None => String::new(),
    };
    let mut call = b.runs_call("start");
    call.arg(run.id.to_string()).arg(head).arg(run.def.steps.len()).arg(first).arg(run.def.name.as_str());
    let added: i64 = b.link.invoke(&call).await?;
    Ok(added == 1)
}

/// Applies a report as JSON (as finish.lua wrote it in an outbox); true
/// if that completed its step or ended its run.
pub(super) async fn advance_json(b: &RedisBroker, report: &str) -> Result<bool, BrokerError> {
    let mut call = b.runs_call("advance");
    call.arg(report);
    let moved: i64 = b.link.invoke(&call).await?;
    Ok(moved == 2)
}

pub(super) async fn advance(b: &RedisBroker, report: &StepReport) -> Result<(), BrokerError> {
    advance_json(b, &serde_json::to_string(report).map_err(protocol)?).await.map(|_| ())
}

pub(super) async fn launched(b: &RedisBroker, run: JobId, step: u32, ids: &[JobId]) -> Result<(), BrokerError> {
    let mut call = b.runs_call("launched");
    call.arg(run.to_string()).arg(step).arg(serde_json::to_string(ids).map_err(protocol)?).arg(ids.len());
    let _: i64 = b.link.invoke(&call).await?;
    Ok(())
}

pub(super) async fn revoke(b: &RedisBroker, id: JobId) -> Result<Option<RunRecord>, BrokerError> {
    let mut call = b.runs_call("revoke");
    call.arg(id.to_string());
    let _: Option<i64> = b.link.invoke(&call).await?;
    Ok(get(b, &[id]).await?.pop().flatten())
}

pub(super) async fn settle(b: &RedisBroker, id: JobId) -> Result<(), BrokerError> {
    let mut call = b.runs_call("settle");
    call.arg(id.to_string());
    let _: i64 = b.link.invoke(&call).await?;
    Ok(())
}

pub(super) async fn open(b: &RedisBroker, idle: Duration, limit: usize) -> Result<Vec<JobId>, BrokerError> {
    let mut call = b.runs_call("open");
    call.arg(ms(idle)).arg(limit);
    let ids: Vec<String> = b.link.invoke(&call).await?;
    ids.iter().map(|id| id.parse().map_err(protocol)).collect()
}

/// Deletes the settled runs past their ttl; returns how many.
pub(super) async fn purge(b: &RedisBroker) -> Result<u64, BrokerError> {
    let mut total = 0;
    loop {
        let n: u64 = b.link.invoke(&b.runs_call("purge")).await?;
        total += n;
        if n < 100 {
            return Ok(total);
        }
    }
}

/// A run's state as runs.lua keeps it.
#[derive(Deserialize)]
struct State {
    state: String,
    step: u32,
    steps: u32,
    enq: String,
    fin: Option<String>,
    cause: Option<String>,
    settled: u8,
    /// The workflow's name, for counts.
    wf: Option<String>,
}

pub(super) async fn count(b: &RedisBroker) -> Result<Vec<(JobName, RunState, u64)>, BrokerError> {
    let states: Vec<String> = b.link.query(redis::cmd("HVALS").arg(b.runs_key("runs"))).await?;
    let mut counts: std::collections::BTreeMap<(String, String), u64> = std::collections::BTreeMap::new();
    for state in states {
        let st: State = serde_json::from_str(&state).map_err(protocol)?;
        *counts.entry((st.wf.unwrap_or_default(), st.state)).or_default() += 1;
    }
    let mut out = Vec::new();
    for ((name, state), n) in counts {
        let (Ok(name), Some(state)) = (JobName::new(&name), RunState::parse(&state)) else { continue };
        out.push((name, state, n));
    }
    Ok(out)
}

pub(super) async fn get(b: &RedisBroker, ids: &[JobId]) -> Result<Vec<Option<RunRecord>>, BrokerError> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(read(b, &id.to_string()).await?);
    }
    Ok(out)
}

async fn read(b: &RedisBroker, id: &str) -> Result<Option<RunRecord>, BrokerError> {
    let mut pipe = redis::pipe();
    pipe.hget(b.runs_key("runs"), id).hget(b.runs_key("heads"), id);
    let (state, head): (Option<String>, Option<String>) = b.link.pipe(&pipe).await?;
    let (Some(state), Some(head)) = (state, head) else { return Ok(None) };
    let st: State = serde_json::from_str(&state).map_err(protocol)?;
    let mut fields = redis::cmd("HMGET");
    fields.arg(b.runs_key("steps"));
    for s in 0..st.steps {
        fields.arg(format!("{id}/{s}")).arg(format!("{id}/{s}#done"));
    }
    let values: Vec<Option<String>> = if st.steps == 0 { Vec::new() } else { b.link.query(&fields).await? };
    let mut launched = Vec::with_capacity(st.steps as usize);
    let mut done = Vec::with_capacity(st.steps as usize);
    for pair in values.chunks(2) {
        launched
            .push(pair.first().cloned().flatten().map(|ids| serde_json::from_str(&ids)).transpose().map_err(protocol)?);
        done.push(pair.get(1).cloned().flatten().and_then(|n| n.parse().ok()).unwrap_or(0));
    }
    let instant = |s: &str| s.parse::<i64>().map(from_ms).map_err(protocol);
    Ok(Some(RunRecord {
        run: serde_json::from_str(&head).map_err(protocol)?,
        state: RunState::parse(&st.state).ok_or_else(|| protocol(format!("unknown state {}", st.state)))?,
        step: st.step,
        launched,
        done,
        enqueued_at: instant(&st.enq)?,
        finished_at: st.fin.as_deref().map(instant).transpose()?,
        cause: st.cause.map(|c| serde_json::from_str(&c)).transpose().map_err(protocol)?,
        settled: st.settled == 1,
    }))
}

pub(super) async fn state(b: &RedisBroker, id: JobId) -> Result<Option<RunState>, BrokerError> {
    let state: Option<String> = b.link.query(redis::cmd("HGET").arg(b.runs_key("runs")).arg(id.to_string())).await?;
    let Some(state) = state else { return Ok(None) };
    let st: State = serde_json::from_str(&state).map_err(protocol)?;
    RunState::parse(&st.state).map(Some).ok_or_else(|| protocol(format!("unknown state {}", st.state)))
}

pub(super) async fn results(b: &RedisBroker, run: JobId, step: u32) -> Result<Vec<StepResult>, BrokerError> {
    let ids: Option<String> =
        b.link.query(redis::cmd("HGET").arg(b.runs_key("steps")).arg(format!("{run}/{step}"))).await?;
    let ids: Vec<JobId> = ids.map(|i| serde_json::from_str(&i)).transpose().map_err(protocol)?.unwrap_or_default();
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut cmd = redis::cmd("HMGET");
        cmd.arg(b.runs_key("members"));
        for id in chunk {
            cmd.arg(format!("{run}/{id}"));
        }
        let reports: Vec<Value> = b.link.query(&cmd).await?;
        for report in reports {
            let Value::BulkString(bytes) = report else { continue };
            let report: StepReport = serde_json::from_slice(&bytes).map_err(protocol)?;
            if report.state == crate::job::JobState::Succeeded {
                out.push(report.result());
            }
        }
    }
    Ok(out)
}

pub(super) async fn list(
    b: &RedisBroker,
    workflow: Option<&JobName>,
    limit: usize,
) -> Result<Vec<RunRecord>, BrokerError> {
    const PAGE: isize = 200;
    let mut out = Vec::new();
    let mut start = 0isize;
    while out.len() < limit {
        let ids: Vec<String> =
            b.link.query(redis::cmd("ZREVRANGE").arg(b.runs_key("index")).arg(start).arg(start + PAGE - 1)).await?;
        if ids.is_empty() {
            break;
        }
        start += PAGE;
        for id in ids {
            if let Some(run) = read(b, &id).await?
                && workflow.is_none_or(|w| *w == run.run.def.name)
                && out.len() < limit
            {
                out.push(run);
            }
        }
    }
    Ok(out)
}
