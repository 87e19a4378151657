//! `taskq revoke`: cancel a job that has not started; with `--terminate`,
//! also kill a running one (its worker checks every second) and wait for
//! the kill to be recorded. A workflow run's id stops the run: what has not
//! started is revoked, running jobs finish (or are killed with `--terminate`).

use std::process::ExitCode;
use std::time::Duration;

use super::Context;
use crate::broker::{Broker, Revoke, RunState};
use crate::cli::RevokeArgs;
use crate::config::Config;
use crate::error::{Failed, unknown_ids};
use crate::job::{JobId, JobState};
use crate::workflow::drive::RunRevoke;

/// How long `--terminate` waits for the kill to be recorded: a live worker
/// acts within a second (plus the job's kill_after); a dead one's lease must
/// lapse first.
const TERMINATE_WAIT: Duration = Duration::from_secs(120);

pub(super) async fn run(args: RevokeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = ctx.optional_config()?;
    let broker = ctx.broker(config.as_ref()).await?;
    let id = super::ids::resolve_one(broker.as_ref(), &args.id).await?;
    match broker.revoke(id, args.terminate).await? {
        Revoke::Revoked => {
            say!("revoked {id}");
            // A workflow step's job: its run hears of it now (it fails).
            if let Some(Some(record)) = broker.get(&[id]).await?.pop()
                && record.job.workflow.is_some()
            {
                let config = config.unwrap_or_default();
                crate::workflow::drive::ended_elsewhere(broker.as_ref(), &config, &record).await?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Revoke::Running { worker } => {
            Err(Failed(format!("job {id} is running on worker {worker}; pass --terminate to kill it")).into())
        }
        Revoke::Final(state) => {
            Err(Failed(format!("job {id} has already {}; there is nothing to revoke", ended(state))).into())
        }
        Revoke::Unknown => revoke_run(broker.as_ref(), config.unwrap_or_default(), id, args.terminate).await,
        Revoke::Terminating { worker } => {
            let spinner = super::progress::spinner("waiting for the job to be killed");
            let deadline = tokio::time::Instant::now() + TERMINATE_WAIT;
            loop {
                let state = broker.get(&[id]).await?.pop().flatten().map(|r| r.state);
                match state {
                    Some(JobState::Revoked) | None => {
                        spinner.finish_and_clear();
                        say!("revoked {id} (terminated on worker {worker})");
                        return Ok(ExitCode::SUCCESS);
                    }
                    Some(state) if state.is_final() => {
                        spinner.finish_and_clear();
                        return Err(Failed(format!("job {id} {} before it could be killed", ended(state))).into());
                    }
                    _ => {}
                }
                if tokio::time::Instant::now() >= deadline {
                    spinner.finish_and_clear();
                    return Err(Failed(format!(
                        "job {id} is still running: worker {worker} will kill it when it next checks, or, if it is gone, once its lease lapses"
                    ))
                    .into());
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// `revoke` of a workflow run's id.
async fn revoke_run(broker: &dyn Broker, config: Config, id: JobId, terminate: bool) -> anyhow::Result<ExitCode> {
    match crate::workflow::drive::revoke(broker, &config, id, terminate).await? {
        RunRevoke::Unknown if broker.tombstones(&[id]).await?.first().is_some_and(Option::is_some) => {
            Err(Failed(format!(
                "job {id} has already succeeded (its record is not kept: ignore_result); there is nothing to revoke"
            ))
            .into())
        }
        RunRevoke::Unknown => Err(unknown_ids(&[id]).into()),
        RunRevoke::Final(state) => {
            let ended = if state == RunState::Revoked { "been revoked".to_string() } else { state.to_string() };
            Err(Failed(format!("workflow run {id} has already {ended}; there is nothing to revoke")).into())
        }
        RunRevoke::Revoked { terminating, left } => {
            let running = match (terminating, left) {
                (0, 0) => String::new(),
                (n, 0) => format!("; {n} running job(s) asked to be killed"),
                (_, n) => format!("; {n} running job(s) left to finish (--terminate kills them)"),
            };
            say!("revoked workflow run {id}{running}");
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// "succeeded", "failed", "been revoked", "expired".
fn ended(state: JobState) -> String {
    match state {
        JobState::Revoked => "been revoked".to_string(),
        other => other.to_string(),
    }
}
