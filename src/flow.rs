//! The shapes of workflows (SPEC §7), shared by the config that defines
//! them, the brokers that keep runs of them and the code that drives those
//! runs: what a workflow's steps are, and what a step's job left for the
//! next. Data only.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::job::JobId;
use crate::names::JobName;

/// A workflow as jobs.toml defines it. A run keeps a copy (serialized), so
/// that a deploy editing the workflow does not shift a running one's steps.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct WorkflowDef {
    pub name: JobName,
    pub steps: Vec<Step>,
    /// Enqueued when the workflow fails.
    pub on_failure: Option<JobName>,
}

/// One step of a workflow.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    Job(JobName),
    /// Run at once; the step is over when every one succeeded.
    Group(Vec<Member>),
    /// `job` once per line (or JSON array item) of the previous step's
    /// output, the line given as parameter `param`.
    Map {
        job: JobName,
        param: String,
        max_items: u32,
    },
    Workflow(JobName),
}

/// What a group runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Member {
    Job(JobName),
    Workflow(JobName),
}

impl Step {
    /// The step in a line: `a`, `{a, b}`, `map(a over p)`, `workflow x`.
    pub fn describe(&self) -> String {
        match self {
            Step::Job(j) => j.to_string(),
            Step::Group(members) => {
                format!("{{{}}}", members.iter().map(Member::describe).collect::<Vec<_>>().join(", "))
            }
            Step::Map { job, param, .. } => format!("map({job} over {param})"),
            Step::Workflow(w) => format!("workflow {w}"),
        }
    }
}

impl Member {
    pub fn describe(&self) -> String {
        match self {
            Member::Job(j) => j.to_string(),
            Member::Workflow(w) => format!("workflow {w}"),
        }
    }
}

/// What a job of the previous step left: one line of `TASKQ_PREV_OUTPUTS`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StepResult {
    pub job: JobName,
    pub id: JobId,
    pub params: BTreeMap<String, String>,
    /// Its output tail: stdout for a shell job, the body for an HTTP job.
    pub output: String,
    /// The output was longer than the tail kept (a `map` cannot read it).
    #[serde(skip)]
    pub truncated: bool,
}
