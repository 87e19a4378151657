//! `taskq list`: jobs, newest first, filtered by state, queue or job name.

use std::process::ExitCode;

use super::status::record_json;
use super::views::JobView;
use super::{Context, table};
use crate::broker::ListFilter;
use crate::cli::ListArgs;
use crate::error::UsageError;
use crate::names::JobName;
use crate::time::local;

pub(super) async fn run(args: ListArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let filter = ListFilter {
        state: args.state,
        queue: args.queue,
        job: args.job.as_deref().map(JobName::new).transpose().map_err(|e| UsageError(format!("--job: {e}")))?,
        limit: args.limit,
    };
    let config = ctx.optional_config()?;
    let broker = ctx.broker(config.as_ref()).await?;
    let records = broker.list(&filter).await?;
    if args.json {
        for r in &records {
            say!("{}", record_json(r));
        }
        return Ok(ExitCode::SUCCESS);
    }
    if records.is_empty() {
        eprintln!("no jobs");
        return Ok(ExitCode::SUCCESS);
    }
    let rows: Vec<Vec<String>> = records
        .iter()
        .map(|r| {
            let v = JobView::from(r);
            vec![
                v.id,
                v.job.to_string(),
                v.state.to_string(),
                v.queue.to_string(),
                v.attempts.to_string(),
                local(v.enqueued_at),
            ]
        })
        .collect();
    for line in table::render(&["ID", "JOB", "STATE", "QUEUE", "ATTEMPTS", "ENQUEUED"], &rows) {
        say!("{line}");
    }
    Ok(ExitCode::SUCCESS)
}
