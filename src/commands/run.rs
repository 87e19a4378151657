//! `taskq run`: the worker process (with `--beat`, the scheduler too).
//! Connects (waiting out an unreachable broker unless `--burst`), tells
//! systemd it is ready, and runs until a signal, or until the queues are
//! drained with `--burst`.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Context;
use crate::beat::Beat;
use crate::cli::RunArgs;
use crate::clock::BrokerClock;
use crate::error::UsageError;
use crate::shutdown::Shutdown;
use crate::worker::{QueueSelection, Worker, WorkerOptions};
use crate::{metrics, systemd};

pub(super) async fn run(args: RunArgs, ctx: &Context) -> anyhow::Result<ExitCode> {
    let config = Arc::new(ctx.config()?);
    let queues = args.queues.clone();
    report_accounts(&config, queues.as_ref());
    let concurrency = match args.concurrency {
        Some(0) => return Err(UsageError("-c must be at least 1".into()).into()),
        Some(n) => n,
        None => std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
    };
    let lease = args.lease.or(config.settings.lease).unwrap_or(crate::config::DEFAULT_LEASE);
    if lease < Duration::from_secs(1) {
        return Err(UsageError("--lease must be at least 1s".into()).into());
    }
    let shutdown_timeout = args.shutdown_timeout;
    // Served from the start, so that a bad address is found before the broker
    // is waited for.
    if let Some(addr) = args.metrics {
        metrics::serve(addr)?;
    }
    let opts = WorkerOptions {
        queues,
        concurrency,
        lease,
        shutdown_timeout,
        burst: args.burst,
        job_output: args.job_output,
        beat: args.beat,
    };

    let Some(broker) = ctx.broker_waiting(&config, !args.burst).await? else {
        return Ok(ExitCode::SUCCESS);
    };
    let clock = BrokerClock::new(broker.clone());
    let worker = Worker::new(broker.clone(), clock.clone(), config.clone(), opts, ctx.shutdown.clone())?;
    let status = {
        let (working, shutdown, beat) = (worker.status(), ctx.shutdown.clone(), args.beat);
        move || {
            let working = working();
            let beat = if beat { ", and the scheduler" } else { "" };
            if shutdown.graceful().is_cancelled() { format!("stopping: {working}") } else { format!("{working}{beat}") }
        }
    };
    systemd::ready(&status());
    let supervisor = CancellationToken::new();
    tokio::spawn(systemd::supervise(status, ctx.shutdown.graceful().clone(), supervisor.clone()));
    if args.metrics.is_some() {
        let mut queues = worker.queues();
        if args.beat {
            queues.extend(config.queues());
            queues.sort();
            queues.dedup();
        }
        let schedules = crate::beat::entries(&config).iter().map(|e| e.name().to_string()).collect();
        tokio::spawn(metrics::sample(broker.clone(), queues, schedules, supervisor.clone()));
    }
    let result = if args.beat {
        // One process for a single host: the scheduler beside the worker.
        let beat = Beat::new(broker, (*config).clone(), clock).with_id(worker.id());
        both(worker.run(), beat.run(ctx.shutdown.clone()), &ctx.shutdown).await
    } else {
        worker.run().await
    };
    supervisor.cancel();
    systemd::stopping("stopped");
    result?;
    Ok(ExitCode::SUCCESS)
}

/// Says at start which jobs of the worker's queues name a `user` it cannot
/// run them as (not root, or an account missing on this host). Their runs
/// fail with the reason; every other job runs: one such job must not stop
/// a host's whole worker, as one bad line does not stop cron.
fn report_accounts(config: &crate::config::Config, queues: Option<&QueueSelection>) {
    let served = queues.map(QueueSelection::all);
    for refused in crate::exec::identity::refusals(config, served.as_deref()) {
        tracing::error!(config = %config.path.display(), "{refused}; its runs will fail");
    }
}

/// Runs the worker and the scheduler of `run --beat` side by side. If one
/// half fails, the other is stopped too and the process exits non-zero, so
/// its supervisor restarts it: never half a process that looks alive.
async fn both(
    worker: impl Future<Output = anyhow::Result<()>>,
    beat: impl Future<Output = anyhow::Result<()>>,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    tokio::pin!(worker, beat);
    tokio::select! {
        result = &mut worker => {
            if result.is_err() {
                tracing::error!("the worker stopped; stopping the scheduler too");
            }
            shutdown.graceful().cancel();
            let beat = beat.await;
            result.and(beat)
        }
        result = &mut beat => {
            if result.is_err() || !shutdown.graceful().is_cancelled() {
                tracing::error!("the scheduler stopped; stopping the worker too");
            }
            shutdown.graceful().cancel();
            let worker = worker.await;
            result.and(worker)
        }
    }
}
