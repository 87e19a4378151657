//! `taskq list`: jobs and workflow runs, newest first, filtered by state,
//! queue or job name.

use std::process::ExitCode;

use super::status::{record_json, run_json};
use super::{Context, table};
use crate::broker::{ListFilter, RunRecord, RunState};
use crate::cli::ListArgs;
use crate::error::UsageError;
use crate::job::{JobId, JobRecord, JobState};
use crate::names::JobName;
use crate::time::local;
use crate::views::JobView;

pub(super) async fn run(args: ListArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let filter = ListFilter {
        state: args.state,
        queue: args.queue,
        job: args.job.as_deref().map(JobName::new).transpose().map_err(|e| UsageError(format!("--job: {e}")))?,
        limit: args.limit,
        scan: None,
    };
    let config = ctx.optional_config()?;
    let broker = ctx.broker(config.as_ref()).await?;
    let records = broker.list(&filter).await?;
    // Workflow runs have no queue; a state filter picks runs in that state.
    let runs = match (&filter.queue, filter.state.map(run_state)) {
        (Some(_), _) | (None, Some(None)) => Vec::new(),
        (None, wanted) => {
            let mut runs = broker.list_runs(filter.job.as_ref(), filter.limit).await?;
            if let Some(Some(state)) = wanted {
                runs.retain(|r| r.state == state);
            }
            runs
        }
    };
    let mut rows: Vec<Row> = records.iter().map(Row::Job).chain(runs.iter().map(Row::Run)).collect();
    rows.sort_by(|a, b| b.enqueued_at().cmp(&a.enqueued_at()).then_with(|| b.id().cmp(&a.id())));
    rows.truncate(filter.limit);
    if args.json {
        for r in &rows {
            match r {
                Row::Job(r) => say!("{}", record_json(r)),
                Row::Run(r) => say!("{}", run_json(r)),
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        eprintln!("no jobs");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|row| match row {
            Row::Job(r) => {
                let v = JobView::from(*r);
                vec![
                    v.id,
                    v.job.to_string(),
                    v.state.to_string(),
                    v.queue.to_string(),
                    v.attempts.to_string(),
                    local(v.enqueued_at),
                ]
            }
            Row::Run(r) => vec![
                r.run.id.to_string(),
                r.run.def.name.to_string(),
                r.state.to_string(),
                "(workflow)".to_string(),
                "-".to_string(),
                local(r.enqueued_at),
            ],
        })
        .collect();
    for line in table::render(&["ID", "JOB", "STATE", "QUEUE", "ATTEMPTS", "ENQUEUED"], &rows) {
        say!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// A line of the list: a job or a workflow run.
enum Row<'a> {
    Job(&'a JobRecord),
    Run(&'a RunRecord),
}

impl Row<'_> {
    fn enqueued_at(&self) -> jiff::Timestamp {
        match self {
            Row::Job(r) => r.enqueued_at,
            Row::Run(r) => r.enqueued_at,
        }
    }

    fn id(&self) -> JobId {
        match self {
            Row::Job(r) => r.job.id,
            Row::Run(r) => r.run.id,
        }
    }
}

/// The run state a job state filter means; `None`: no run is in it.
fn run_state(state: JobState) -> Option<RunState> {
    match state {
        JobState::Running => Some(RunState::Running),
        JobState::Succeeded => Some(RunState::Succeeded),
        JobState::Failed => Some(RunState::Failed),
        JobState::Revoked => Some(RunState::Revoked),
        _ => None,
    }
}
