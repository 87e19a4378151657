//! `taskq logs ID [-f]`: a job's captured output (the last 64 KiB); with
//! `-f`, followed live while it runs, from any host: workers publish running
//! jobs' output every second, with a byte count that says what is new.
//! Control characters are shown escaped (`status --json` has the raw tail).

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use super::Context;
use crate::cli::LogsArgs;

/// How often `-f` looks for new output.
const FOLLOW_EVERY: Duration = Duration::from_millis(500);

pub(super) async fn run(args: LogsArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = ctx.optional_config()?;
    let broker = ctx.broker(config.as_ref()).await?;
    let id = crate::control::ids::resolve_one(broker.as_ref(), &args.id).await?;
    let mut printed = 0u64;
    let mut attempt = None;
    let mut first = true;
    loop {
        let Some(record) = broker.get(&[id]).await?.pop().flatten() else {
            if first {
                if let Some(gone) = broker.tombstones(&[id]).await?.pop().flatten() {
                    eprintln!("job {id} ({}) succeeded; its output was not kept (ignore_result)", gone.job);
                    return Ok(ExitCode::SUCCESS);
                }
                if broker.get_runs(&[id]).await?.pop().flatten().is_some() {
                    return Err(crate::error::UsageError(format!(
                        "{id} is a workflow run, which has no output of its own: taskq status {id} lists its steps' job ids, whose logs these are"
                    ))
                    .into());
                }
                return Err(crate::error::unknown_ids(&[id]).into());
            }
            return Ok(ExitCode::SUCCESS);
        };
        first = false;
        // Each attempt's output starts afresh.
        if attempt != Some(record.attempts) {
            if attempt.is_some() && record.attempts > 0 {
                eprintln!("--- attempt {} ---", record.attempts);
            }
            attempt = Some(record.attempts);
            printed = 0;
        }
        let tail = record.output.unwrap_or_default().into_bytes();
        let total = record.output_total.max(tail.len() as u64);
        if total > printed {
            let new = total - printed;
            let mut out = crate::stdio::stdout();
            let shown = if new > tail.len() as u64 {
                eprintln!("[{} earlier bytes were not kept]", new - tail.len() as u64);
                &tail[..]
            } else {
                &tail[tail.len() - new as usize..]
            };
            // Shown, not obeyed: a job's output may try to drive the terminal.
            out.write_all(crate::text::lines(&String::from_utf8_lossy(shown)).as_bytes())?;
            out.flush()?;
            printed = total;
        }
        if !args.follow || record.state.is_final() {
            return Ok(ExitCode::SUCCESS);
        }
        tokio::time::sleep(FOLLOW_EVERY).await;
    }
}
