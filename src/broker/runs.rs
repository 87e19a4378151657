//! Workflow runs as both brokers keep them (docs/workflows.md). The broker
//! knows a run's steps only as sets of ids: which ids a step launched, which
//! of them succeeded, and whether one failed. What a step launches needs the
//! config, so the caller (`workflow::drive`) works it out and hands over the
//! ids; everything it does is safe to repeat, and the broker's part of each
//! transition is one atomic step.
//!
//! The state machine, the same in SQL (sqlite/runs.rs) and Lua
//! (redis/scripts/advance.lua):
//! - a run is `running` at step 0, nothing launched;
//! - `launched(run, s, ids)` records step `s`'s ids, once, at the run's
//!   current step (also in a run that ended meanwhile: what it launched
//!   is then cancelled);
//! - a job's outcome (`StepReport`), recorded once per id: a success counts
//!   towards its step; anything else fails the run, keeping the report as
//!   its cause;
//! - after either, while the current step is launched and all of its ids
//!   succeeded, the run moves to the next step, or succeeds after the last;
//! - a run that ended stays `open` until its follow-ups are done (its
//!   `on_failure` enqueued, its parent told): `settle_run`.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::flow::StepResult;
use crate::flow::WorkflowDef;
use crate::job::{JobId, JobState, WorkflowStep, duration_ms};
use crate::names::JobName;

/// A run as `start_run` stores it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRun {
    pub id: JobId,
    pub params: BTreeMap<String, String>,
    /// The workflow as it was when the run started.
    pub def: WorkflowDef,
    /// For a nested run: the run and step it is a member of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<WorkflowStep>,
    /// How long the record is kept once the run ended and settled.
    #[serde(with = "duration_ms")]
    pub ttl: Duration,
    /// Step 0's ids when the caller launches it itself (`enqueue --batch
    /// --then`): stored with the run, in the same step.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<Vec<JobId>>,
    /// Started by beat for a tick of the workflow's schedule: its outcome
    /// is stamped on the schedule's entry when it ends.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub scheduled: bool,
}

impl NewRun {
    pub fn workflow(&self) -> &JobName {
        &self.def.name
    }
}

/// Where a run is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    Running,
    Succeeded,
    Failed,
    Revoked,
}

impl RunState {
    pub fn as_str(self) -> &'static str {
        match self {
            RunState::Running => "running",
            RunState::Succeeded => "succeeded",
            RunState::Failed => "failed",
            RunState::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<RunState> {
        [RunState::Running, RunState::Succeeded, RunState::Failed, RunState::Revoked]
            .into_iter()
            .find(|r| r.as_str() == s)
    }

    pub fn is_final(self) -> bool {
        self != RunState::Running
    }
}

impl std::fmt::Display for RunState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How one member of a step ended: a job's final outcome, or a nested
/// run's. Recorded once per `id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    pub run: JobId,
    pub step: u32,
    pub id: JobId,
    /// The job's name (a nested run: its workflow's).
    pub job: JobName,
    /// `succeeded`, or what stopped it: `failed`, `revoked`, `expired`.
    pub state: JobState,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
    #[serde(default)]
    pub output: String,
    #[serde(default)]
    pub truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<i32>,
}

impl StepReport {
    pub fn result(&self) -> StepResult {
        StepResult {
            job: self.job.clone(),
            id: self.id,
            params: self.params.clone(),
            output: self.output.clone(),
            truncated: self.truncated,
        }
    }
}

/// A run as the broker has it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecord {
    pub run: NewRun,
    pub state: RunState,
    /// The current step: the first not yet complete (the step count once
    /// the run succeeded).
    pub step: u32,
    /// Per step, from 0: the ids it launched, `None` while not launched.
    pub launched: Vec<Option<Vec<JobId>>>,
    /// Per step, how many of its ids succeeded.
    pub done: Vec<u32>,
    pub enqueued_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    /// What failed the run (a failed or revoked run).
    pub cause: Option<StepReport>,
    /// Its follow-ups are done (or it is still running: false).
    pub settled: bool,
}

impl RunRecord {
    /// Step `s`'s state, as `status` shows it.
    pub fn step_state(&self, s: u32) -> &'static str {
        if self.cause.as_ref().is_some_and(|c| c.step == s) {
            return "failed";
        }
        if s < self.step {
            return "succeeded";
        }
        match (self.state, self.launched.get(s as usize).and_then(Option::as_ref)) {
            (RunState::Running, Some(_)) => "running",
            (RunState::Running, None) => "pending",
            (RunState::Revoked, Some(_)) => "revoked",
            (RunState::Succeeded, _) => "succeeded",
            _ => "cancelled",
        }
    }

    /// The ids step `s` launched (none yet: empty).
    pub fn ids(&self, s: u32) -> &[JobId] {
        self.launched.get(s as usize).and_then(Option::as_deref).unwrap_or(&[])
    }
}
