//! `taskq exec`: run one job here and now, without a broker, through the same
//! executor the worker uses; exit with its outcome.

use std::collections::BTreeMap;
use std::process::ExitCode;

use super::Context;
use crate::cli::ExecArgs;
use crate::config::{Action, parse_param_flags};
use crate::error::{Exit, UsageError};
use crate::exec::output::Passthrough;
use crate::exec::{Attempt, Executor, Kill};
use crate::job::{JobId, RunStatus};

pub(super) async fn run(args: ExecArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    let def = config.job(&args.job)?;
    let given = parse_param_flags(&args.params.params).map_err(|e| UsageError(e.to_string()))?;
    let params = def.resolve_run(&args.args, &given).map_err(|e| UsageError(e.to_string()))?;
    let executor = Executor::new();
    let attempt = Attempt {
        def,
        id: JobId::new(),
        args: &args.args,
        params: &params,
        number: 1,
        queue: &def.queue,
        scheduled_at: None,
        workflow_run: None,
        extra_env: &BTreeMap::new(),
    };
    let outcome = executor.run(&attempt, &Passthrough, &Kill::on(ctx.shutdown.graceful().clone())).await;
    let is_shell = matches!(def.action, Action::Shell { .. });
    if let (false, Some(error)) = (outcome.succeeded(), &outcome.error) {
        eprintln!("error: job \"{}\" {}", def.name, failure_phrase(error, outcome.http_status()));
    }
    Ok(match outcome.status {
        RunStatus::Succeeded if is_shell => ExitCode::from(outcome.exit_code().unwrap_or(0).clamp(0, 255) as u8),
        RunStatus::Succeeded => ExitCode::SUCCESS,
        RunStatus::TimedOut => Exit::Timeout.into(),
        RunStatus::Killed => ExitCode::from(130),
        RunStatus::Failed if is_shell && (outcome.exit_code().is_some() || outcome.signal().is_some()) => {
            match (outcome.exit_code(), outcome.signal()) {
                (Some(code), _) => ExitCode::from(code.clamp(0, 255) as u8),
                (None, sig) => ExitCode::from((128 + sig.unwrap_or(0)).clamp(0, 255) as u8),
            }
        }
        RunStatus::NotStarted | RunStatus::Failed => Exit::Failure.into(),
    })
}

fn failure_phrase(error: &str, http_status: Option<u16>) -> String {
    let says_how = ["exited", "killed", "timed out"].iter().any(|w| error.starts_with(w));
    if http_status.is_none() && says_how { error.to_string() } else { format!("failed: {error}") }
}
