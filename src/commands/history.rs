//! `taskq history JOB`: the recent runs of one job, scheduled or not: when,
//! where, attempts, outcome, duration.

use std::process::ExitCode;
use std::time::Duration;

use super::status::record_json;
use super::{Context, table};
use crate::broker::ListFilter;
use crate::cli::HistoryArgs;
use crate::config::unknown_job;
use crate::error::UsageError;
use crate::names::JobName;
use crate::time::local;

pub(super) async fn run(args: HistoryArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let name = JobName::new(&args.job).map_err(UsageError)?;
    let config = ctx.optional_config()?;
    let broker = ctx.broker(config.as_ref()).await?;
    if config.as_ref().and_then(|c| c.workflow(name.as_str())).is_some() {
        return workflow_history(broker.as_ref(), &name, args.limit, args.json).await;
    }
    let filter = ListFilter { job: Some(name.clone()), limit: args.limit, ..ListFilter::default() };
    let runs = broker.list(&filter).await?;
    if runs.is_empty() {
        // No runs of a job the config does not know: most likely a typo.
        if let Some(config) = &config
            && config.jobs.get(name.as_str()).is_none()
        {
            return Err(unknown_job(name.as_str(), config.jobs.iter().map(|j| j.name.as_str())).into());
        }
        eprintln!("no runs of \"{name}\" (results are kept for their result_ttl)");
        return Ok(ExitCode::SUCCESS);
    }
    if args.json {
        for r in &runs {
            say!("{}", record_json(r));
        }
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let took = match (r.started_at, r.finished_at) {
                (Some(s), Some(e)) if e >= s => {
                    humantime::format_duration(Duration::from_millis(e.duration_since(s).as_millis() as u64))
                        .to_string()
                }
                _ => "-".into(),
            };
            let outcome = match (r.exit_code, r.http_status) {
                (Some(code), _) if r.state.is_final() => format!("{} (exit {code})", r.state),
                (_, Some(status)) if r.state.is_final() => format!("{} (HTTP {status})", r.state),
                _ => r.state.to_string(),
            };
            vec![
                local(r.started_at.unwrap_or(r.enqueued_at)),
                r.job.scheduled_at.clone().unwrap_or_else(|| "-".into()),
                r.worker.clone().unwrap_or_else(|| "-".into()),
                r.attempts.to_string(),
                outcome,
                took,
                r.job.id.to_string(),
            ]
        })
        .collect();
    for line in table::render(&["WHEN", "SCHEDULED", "WORKER", "ATTEMPTS", "OUTCOME", "TOOK", "ID"], &rows) {
        say!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}

/// `history WORKFLOW`: its recent runs, each with how far it got.
async fn workflow_history(
    broker: &dyn crate::broker::Broker,
    name: &JobName,
    limit: usize,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let runs = broker.list_runs(Some(name), limit).await?;
    if json {
        for r in &runs {
            say!("{}", super::status::run_json(r));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        eprintln!("no runs of workflow \"{name}\" (runs are kept for the result_ttl)");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let took = match r.finished_at {
                Some(e) if e >= r.enqueued_at => humantime::format_duration(Duration::from_millis(
                    e.duration_since(r.enqueued_at).as_millis() as u64,
                ))
                .to_string(),
                _ => "-".into(),
            };
            let steps = r.run.def.steps.len();
            let reached = if r.state == crate::broker::RunState::Succeeded { steps } else { r.step as usize + 1 };
            vec![local(r.enqueued_at), format!("{reached}/{steps}"), r.state.to_string(), took, r.run.id.to_string()]
        })
        .collect();
    for line in table::render(&["WHEN", "STEP", "OUTCOME", "TOOK", "ID"], &rows) {
        say!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
