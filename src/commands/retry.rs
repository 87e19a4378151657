//! `taskq retry`: requeue failed jobs, attempts reset.

use std::process::ExitCode;

use super::Context;
use crate::cli::RetryArgs;
use crate::control::retry;

pub(super) async fn run(args: RetryArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = ctx.optional_config()?;
    let broker = ctx.broker(config.as_ref()).await?;
    let ids = crate::control::ids::resolve(broker.as_ref(), &args.ids).await?;
    let done = retry(broker.as_ref(), if args.all_failed { None } else { Some(&ids) }).await?;
    if args.all_failed && done.requeued.is_empty() && done.refused.is_empty() {
        eprintln!("no failed jobs");
    }
    for id in &done.requeued {
        say!("requeued {id}");
    }
    for note in &done.notes {
        eprintln!("note: {note}");
    }
    match done.error() {
        Some(e) => Err(e),
        None => Ok(ExitCode::SUCCESS),
    }
}
