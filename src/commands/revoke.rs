//! `taskq revoke`: cancel a job that has not started; with `--terminate`,
//! also kill a running one (its worker checks every second) and wait for
//! the kill to be recorded. A workflow run's id stops the run: what has not
//! started is revoked, running jobs finish (or are killed with `--terminate`).

use std::process::ExitCode;
use std::time::Duration;

use super::Context;
use crate::cli::RevokeArgs;
use crate::control::revoke::{Revoked, ended, revoke};
use crate::error::Failed;
use crate::job::JobState;

/// How long `--terminate` waits for the kill to be recorded: a live worker
/// acts within a second (plus the job's kill_after); a dead one's lease must
/// lapse first.
const TERMINATE_WAIT: Duration = Duration::from_secs(120);

pub(super) async fn run(args: RevokeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = ctx.optional_config()?;
    let broker = ctx.broker(config.as_ref()).await?;
    let id = crate::control::ids::resolve_one(broker.as_ref(), &args.id).await?;
    let done = revoke(broker.as_ref(), &config.unwrap_or_default(), id, args.terminate).await?;
    let Revoked::Terminating { worker } = done else {
        say!("{}", done.describe(id));
        return Ok(ExitCode::SUCCESS);
    };
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
