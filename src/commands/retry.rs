//! `taskq retry`: requeue failed jobs, attempts reset.

use std::process::ExitCode;

use super::Context;
use crate::broker::Retried;
use crate::cli::RetryArgs;
use crate::error::{Exit, UsageError};
use crate::job::JobId;

pub(super) async fn run(args: RetryArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let ids: Vec<JobId> = args.ids.iter().map(|s| s.parse().map_err(UsageError)).collect::<Result<_, _>>()?;
    let config = ctx.optional_config()?;
    let broker = ctx.broker(config.as_ref()).await?;
    let results = broker.retry_failed(if args.all_failed { None } else { Some(&ids) }).await?;
    if args.all_failed && results.is_empty() {
        eprintln!("no failed jobs");
    }
    let (mut unknown, mut refused) = (Vec::new(), false);
    for (id, retried) in results {
        match retried {
            Retried::Requeued => say!("requeued {id}"),
            Retried::NotFailed(state) => {
                eprintln!("error: job {id} is {state}, not failed; only failed jobs can be retried");
                refused = true;
            }
            Retried::Unknown => unknown.push(id.to_string()),
        }
    }
    if !unknown.is_empty() {
        return Err(
            UsageError(format!("unknown job ids {}: not in this broker and namespace", unknown.join(", "))).into()
        );
    }
    Ok(if refused { Exit::Failure.into() } else { ExitCode::SUCCESS })
}
