//! `taskq run`: the worker process. Connects (waiting out an unreachable
//! broker unless `--burst`), tells systemd it is ready, and runs the worker
//! until a signal, or until the queues are drained with `--burst`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use super::Context;
use crate::broker::Broker;
use crate::cli::RunArgs;
use crate::error::UsageError;
use crate::time::duration_flag;
use crate::worker::{QueueSelection, Worker, WorkerOptions};

/// The default `--lease`.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

pub async fn run(args: RunArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = Arc::new(ctx.config()?);
    if args.beat {
        return Err(UsageError("run --beat is not implemented yet".into()).into());
    }
    if args.metrics.is_some() {
        return Err(UsageError("--metrics is not implemented yet".into()).into());
    }
    let queues = match &args.queues {
        Some(q) => QueueSelection::parse(q)?,
        None => QueueSelection::Strict(config.queues()),
    };
    let concurrency = match args.concurrency {
        Some(0) => return Err(UsageError("-c must be at least 1".into()).into()),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let lease = match &args.lease {
        Some(l) => duration_flag("--lease", l)?,
        None => config.settings.lease.unwrap_or(DEFAULT_LEASE),
    };
    if lease < Duration::from_secs(1) {
        return Err(UsageError("--lease must be at least 1s".into()).into());
    }
    let shutdown_timeout = duration_flag("--shutdown-timeout", &args.shutdown_timeout)?;
    let opts =
        WorkerOptions { queues, concurrency, lease, shutdown_timeout, burst: args.burst, job_output: args.job_output };

    let Some(broker) = connect(ctx, &config, args.burst).await? else {
        return Ok(ExitCode::SUCCESS);
    };
    notify_systemd(&[sd_notify::NotifyState::Ready]);
    let worker = Worker::new(broker, config, opts)?;
    let result = worker.run(ctx.shutdown.clone()).await;
    notify_systemd(&[sd_notify::NotifyState::Stopping]);
    result?;
    Ok(ExitCode::SUCCESS)
}

/// Connects to the broker. In burst mode an unreachable broker is an error
/// (exit 69); otherwise the worker keeps trying with capped backoff, one log
/// line when it starts failing, until it connects or is told to stop (`None`).
async fn connect(
    ctx: &Context,
    config: &crate::config::Config,
    burst: bool,
) -> anyhow::Result<Option<Arc<dyn Broker>>> {
    let mut delay = Duration::from_millis(200);
    let mut logged = false;
    loop {
        match ctx.broker(Some(config)).await {
            Ok(b) => {
                if logged {
                    tracing::info!("broker reachable");
                }
                return Ok(Some(b));
            }
            Err(e) => {
                let unavailable = e.downcast_ref::<crate::broker::BrokerError>().is_some_and(|b| b.is_unavailable());
                if burst || !unavailable {
                    return Err(e);
                }
                if !logged {
                    tracing::error!(error = %e, "broker unavailable; retrying with backoff");
                    logged = true;
                }
                tokio::select! {
                    () = tokio::time::sleep(delay) => {}
                    () = ctx.shutdown.graceful().cancelled() => return Ok(None),
                }
                delay = (delay * 2).min(Duration::from_secs(10));
            }
        }
    }
}

/// Tells systemd about our state; a no-op outside a `Type=notify` unit.
fn notify_systemd(states: &[sd_notify::NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "cannot notify systemd");
    }
}
