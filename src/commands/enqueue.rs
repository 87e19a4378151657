//! `taskq enqueue`: put one job on its queue, print its id, and with
//! `--wait` block until it ends. `--batch` is in batch.rs.

use std::process::ExitCode;

use serde_json::json;

use super::Context;
use crate::cli::EnqueueArgs;
use crate::config::parse_param_flags;
use crate::config::{Config, WorkflowDef};
use crate::enqueue::Request;
use crate::error::{NotPrinted, UsageError};
use crate::job::{Delay, JobId};

pub(super) async fn run(args: EnqueueArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    if let (Some(then), None) = (&args.then, &args.batch) {
        return Err(UsageError(format!(
            "--then {then} follows a batch: pass --batch FILE too (a workflow's steps go in [workflows] in jobs.toml)"
        ))
        .into());
    }
    if let Some(path) = &args.batch {
        return match &args.then {
            Some(then) => {
                let wait = if args.wait { super::batch::Wait::Yes(args.timeout) } else { super::batch::Wait::No };
                super::batch::run_then(path, then, wait, &config, ctx).await
            }
            None if args.wait => Err(UsageError(
                "--wait with --batch needs --then JOB: it waits for that job, run after the whole batch".into(),
            )
            .into()),
            None => super::batch::run(path, &config, ctx).await,
        };
    }
    let name = args.job.as_deref().ok_or_else(|| UsageError("name a job to enqueue, or pass --batch FILE".into()))?;
    if let Some(wf) = config.workflow(name) {
        return run_workflow(&args, &config, wf, ctx).await;
    }
    if let Some(message) = crate::enqueue::unknown_job_or_workflow(&config, name) {
        return Err(UsageError(message).into());
    }
    // An unknown name is the first thing to say, before its parameters.
    config.job(name)?;
    let request = Request {
        job: name.to_string(),
        args: args.args.clone(),
        params: parse_param_flags(&args.params.params).map_err(|e| UsageError(e.to_string()))?,
        queue: args.queue.clone(),
        delay: match (&args.delay, &args.at) {
            (Some(d), _) => Some(Delay::For(*d)),
            (None, Some(at)) => Some(Delay::Until(*at)),
            (None, None) => None,
        },
        expires: args.expires,
        key: args.key.clone(),
        unique_for: args.unique_for,
    };
    let (job, def) = request.build(&config)?;
    let timeout = args.timeout;
    if args.wait && def.ignore_result {
        return Err(UsageError(format!(
            "cannot --wait for \"{name}\": it has ignore_result = true, so its result is deleted when it finishes"
        ))
        .into());
    }

    let broker = ctx.broker(Some(&config)).await?;
    let enqueued = broker.enqueue(std::slice::from_ref(&job)).await?;
    let enqueued = enqueued
        .first()
        .ok_or_else(|| anyhow::anyhow!("internal error: the broker acknowledged no job; please report it"))?;
    let line = if args.json {
        json!({ "id": enqueued.id.to_string(), "duplicate": enqueued.duplicate }).to_string()
    } else {
        enqueued.id.to_string()
    };
    print_id(&line)
        .map_err(|e| NotPrinted(format!("job {} was enqueued, but its id could not be printed: {e}", enqueued.id)))?;
    if enqueued.duplicate {
        tracing::info!(job.id = %enqueued.id, "duplicate: the key is held by an earlier job");
    }
    if !args.wait {
        return Ok(ExitCode::SUCCESS);
    }
    let ended = super::status::wait_for(broker.as_ref(), &[enqueued.id], timeout).await?;
    if let Some(super::status::Found::Job(r)) = ended.first().filter(|e| !e.succeeded()) {
        let why = r.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
        return Err(crate::error::Failed(format!("job {} ({}) {}{why}", r.job.id, r.job.job, r.state)).into());
    }
    Ok(ExitCode::SUCCESS)
}

/// `enqueue WORKFLOW`: starts a run and launches its first step; prints
/// the run's id, and with `--wait` waits for the whole run.
async fn run_workflow(
    args: &EnqueueArgs,
    config: &Config,
    wf: &WorkflowDef,
    ctx: &Context,
) -> anyhow::Result<ExitCode> {
    let name = &wf.name;
    let refused = [
        (!args.args.is_empty(), "positional arguments (pass -p NAME=VALUE)"),
        (args.queue.is_some(), "--queue (each step's job goes to its own queue)"),
        (args.delay.is_some() || args.at.is_some(), "--delay and --at"),
        (args.expires.is_some(), "--expires"),
        (args.key.is_some(), "--key"),
    ];
    if let Some((_, what)) = refused.iter().find(|(given, _)| *given) {
        return Err(UsageError(format!("\"{name}\" is a workflow: it takes no {what}")).into());
    }
    let given = parse_param_flags(&args.params.params).map_err(|e| UsageError(e.to_string()))?;
    crate::workflow::check_params(config, wf, &given).map_err(UsageError)?;
    let broker = ctx.broker(Some(config)).await?;
    let id = JobId::new();
    let how = crate::workflow::drive::Start { params: given, ..Default::default() };
    crate::workflow::drive::store(broker.as_ref(), config, wf, id, how).await?;
    // Stored: its id is told before its first step is launched, so a caller
    // who retries after an error here does not start a second run unknowingly.
    let line = if args.json { json!({ "id": id.to_string(), "duplicate": false }).to_string() } else { id.to_string() };
    print_id(&line)
        .map_err(|e| NotPrinted(format!("workflow run {id} was started, but its id could not be printed: {e}")))?;
    let launched =
        crate::workflow::drive::follow_up(broker.as_ref(), config, id, crate::workflow::drive::Check::Run).await;
    if let Err(e) = launched {
        tracing::warn!(run = %id, error = %e, "run stored; a worker's maintenance launches its first step");
    }
    if !args.wait {
        return Ok(ExitCode::SUCCESS);
    }
    let run = super::status::wait_for_runs(broker.as_ref(), &[id], args.timeout).await?;
    if let Some(r) = run.first().filter(|r| r.state != crate::broker::RunState::Succeeded) {
        let view = crate::views::RunView::from(r);
        let why = view.error.map(|e| format!(": {e}")).unwrap_or_default();
        return Err(crate::error::Failed(format!("workflow run {id} ({name}) {}{why}", r.state)).into());
    }
    Ok(ExitCode::SUCCESS)
}

/// Prints an enqueued job's id line and makes sure it left the process.
pub(super) fn print_id(line: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = crate::stdio::stdout();
    writeln!(out, "{line}")?;
    out.flush()
}
