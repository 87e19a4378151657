//! `taskq purge`: delete the failed jobs, or the jobs queued on a queue,
//! after asking (or with `--yes`; without a terminal to ask on, refuse).

use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;

use super::Context;
use crate::broker::Purge;
use crate::cli::PurgeArgs;
use crate::error::UsageError;

pub(super) async fn run(args: PurgeArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let what = match (&args.queue, args.failed) {
        (Some(q), false) => Purge::Queue(q.clone()),
        (None, true) => Purge::Failed,
        _ => return Err(UsageError("say what to purge: --queue QUEUE or --failed".into()).into()),
    };
    let config = ctx.optional_config()?;
    let broker = ctx.broker(config.as_ref()).await?;
    let count = broker.count(&what).await?;
    let what_text = match &what {
        Purge::Failed => format!("{count} failed job{}", plural(count)),
        Purge::Queue(q) => format!("{count} job{} queued on \"{q}\"", plural(count)),
    };
    if count == 0 {
        eprintln!("nothing to purge: {what_text}");
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(UsageError(format!("refusing to delete {what_text} without confirmation: pass --yes")).into());
        }
        eprint!("delete {what_text}? [y/N] ");
        std::io::stderr().flush()?;
        let mut answer = String::new();
        std::io::stdin().lock().read_line(&mut answer)?;
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            return Err(crate::error::Failed("nothing deleted: not confirmed".into()).into());
        }
    }
    let spinner = super::progress::spinner("purging");
    let deleted = broker.purge(&what).await?;
    spinner.finish_and_clear();
    say!("deleted {deleted} job{}", plural(deleted));
    Ok(ExitCode::SUCCESS)
}

fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}
