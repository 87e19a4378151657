//! `taskq exec`: run one job here and now, without a broker, through the same
//! executor the worker uses; exit with its outcome.

use std::collections::BTreeMap;
use std::process::ExitCode;

use super::Context;
use crate::cli::ExecArgs;
use crate::config::{Action, parse_param_flags};
use crate::error::{Exit, UsageError};
use crate::exec::output::Passthrough;
use crate::exec::{Attempt, Executor};
use crate::job::{JobId, RunStatus};

pub async fn run(args: ExecArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = ctx.config()?;
    let def = config.job(&args.job)?;
    let given = parse_param_flags(&args.params.params).map_err(|e| UsageError(e.to_string()))?;
    let params = def.resolve_params(&given).map_err(|e| UsageError(e.to_string()))?;
    let executor = Executor::new()?;
    let attempt = Attempt {
        def,
        id: JobId::new(),
        args: &args.args,
        params: &params,
        number: 1,
        queue: &def.queue,
        scheduled_at: None,
        extra_env: &BTreeMap::new(),
    };
    let outcome = executor.run(&attempt, &Passthrough, ctx.shutdown.graceful()).await;
    let is_shell = matches!(def.action, Action::Shell { .. });
    if let (false, Some(error)) = (outcome.succeeded(), &outcome.error) {
        eprintln!("error: job \"{}\" {}", def.name, failure_phrase(error, outcome.http_status));
    }
    Ok(match outcome.status {
        RunStatus::Succeeded if is_shell => ExitCode::from(outcome.exit_code.unwrap_or(0).clamp(0, 255) as u8),
        RunStatus::Succeeded => ExitCode::SUCCESS,
        RunStatus::TimedOut => Exit::Timeout.into(),
        RunStatus::Killed => ExitCode::from(130),
        RunStatus::NotStarted => Exit::Failure.into(),
        RunStatus::Failed if is_shell => match (outcome.exit_code, outcome.signal) {
            (Some(code), _) => ExitCode::from(code.clamp(0, 255) as u8),
            (None, Some(sig)) => ExitCode::from((128 + sig).clamp(0, 255) as u8),
            (None, None) => Exit::Failure.into(),
        },
        RunStatus::Failed => Exit::Failure.into(),
    })
}

fn failure_phrase(error: &str, http_status: Option<u16>) -> String {
    match http_status {
        Some(_) => format!("failed: {error}"),
        None if error.starts_with("exited") || error.starts_with("killed") || error.starts_with("timed out") => {
            error.to_string()
        }
        None => format!("failed: {error}"),
    }
}
