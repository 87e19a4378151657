//! taskq: a job runner and cron replacement. `run` is the entry point the
//! binary calls (and tests can call): it dispatches one parsed command line.

pub mod backoff;
pub mod beat;
pub mod broker;
pub mod cli;
pub mod clock;
pub mod commands;
pub mod config;
pub mod control;
pub mod crontab;
pub mod enqueue;
pub mod error;
pub mod exec;
pub mod exit;
pub mod flow;
#[doc(hidden)]
pub mod fuzzing;
pub mod job;
pub mod logging;
pub mod man;
mod metrics;
pub mod names;
pub mod presence;
pub mod schedule;
pub mod shutdown;
pub mod stdio;
mod systemd;
pub mod text;
pub mod time;
pub mod tls;
pub mod views;
pub mod web;
pub mod worker;
pub mod workflow;

use std::process::ExitCode;

/// Runs one command to completion; the `ExitCode` is the command's own
/// outcome, an error is mapped to one by `error::exit_code`.
pub async fn run(cli: cli::Cli, shutdown: shutdown::Shutdown) -> anyhow::Result<ExitCode> {
    commands::run(cli, shutdown).await
}
