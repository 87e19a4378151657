//! `taskq retry`: requeue failed jobs, attempts reset.

use std::process::ExitCode;

use super::Context;
use crate::broker::Retried;
use crate::cli::RetryArgs;
use crate::error::{Failed, unknown_ids};

pub(super) async fn run(args: RetryArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = ctx.optional_config()?;
    let broker = ctx.broker(config.as_ref()).await?;
    let ids = super::ids::resolve(broker.as_ref(), &args.ids).await?;
    let results = broker.retry_failed(if args.all_failed { None } else { Some(&ids) }).await?;
    if args.all_failed && results.is_empty() {
        eprintln!("no failed jobs");
    }
    let (mut unknown, mut refused, mut requeued) = (Vec::new(), Vec::new(), Vec::new());
    for (id, retried) in results {
        match retried {
            Retried::Requeued => {
                say!("requeued {id}");
                requeued.push(id);
            }
            Retried::NotFailed(state) => refused.push(format!("job {id} is {state}")),
            Retried::Unknown => unknown.push(id),
        }
    }
    // A workflow's step job runs again alone: its run failed with it and
    // does not resume.
    if !args.all_failed && !requeued.is_empty() {
        for record in broker.get(&requeued).await?.into_iter().flatten() {
            if let Some(step) = &record.job.workflow {
                eprintln!(
                    "note: {} is a job of step {} of workflow run {} ({}), which ended with it and does not resume: enqueue {} again to run the workflow",
                    record.job.id,
                    step.step + 1,
                    step.run,
                    step.workflow,
                    step.workflow
                );
            }
        }
    }
    // A job that succeeded with ignore_result left only a tombstone: known,
    // and not failed.
    let tombstones = if unknown.is_empty() { Vec::new() } else { broker.tombstones(&unknown).await? };
    for (id, t) in unknown.clone().into_iter().zip(tombstones) {
        if t.is_some() {
            refused.push(format!("job {id} succeeded (its record is not kept: ignore_result)"));
            unknown.retain(|u| *u != id);
        }
    }
    if !unknown.is_empty() {
        return Err(unknown_ids(&unknown).into());
    }
    if !refused.is_empty() {
        return Err(Failed(format!("{}, not failed; only failed jobs can be retried", refused.join(", "))).into());
    }
    Ok(ExitCode::SUCCESS)
}
