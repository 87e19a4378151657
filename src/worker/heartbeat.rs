//! Heartbeats: every few seconds the worker tells the broker it is alive,
//! what it serves and what it runs (`inspect` shows it); a worker silent for
//! `TTL` is gone from the registry. A stopping worker removes itself.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use super::{Shared, lock};
use crate::broker::{RunningJob, WorkerInfo};

/// How often a worker reports.
const EVERY: Duration = Duration::from_secs(5);
/// How long a report lasts: a worker silent this long is gone.
const TTL: Duration = Duration::from_secs(30);

pub(super) async fn run(shared: Arc<Shared>, started_at: Timestamp, stop: CancellationToken) {
    let mut failing = false;
    loop {
        let info = report(&shared, started_at);
        match shared.broker.heartbeat(&info, TTL, info.seen_at).await {
            Ok(()) => failing = false,
            Err(e) if !failing => {
                tracing::debug!(error = %e, "cannot send a heartbeat");
                failing = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            () = stop.cancelled() => break,
        }
    }
    if let Err(e) = shared.broker.forget_worker(&shared.id).await {
        tracing::debug!(error = %e, "cannot remove this worker from the registry; it expires by itself");
    }
}

fn report(shared: &Shared, started_at: Timestamp) -> WorkerInfo {
    let running = lock(&shared.running)
        .values()
        .map(|r| RunningJob { id: r.token.id, job: r.job.clone(), attempt: r.token.attempt })
        .collect();
    WorkerInfo {
        id: shared.id.clone(),
        host: super::hostname(),
        pid: std::process::id(),
        queues: shared.opts.queues.all().iter().map(ToString::to_string).collect(),
        concurrency: shared.opts.concurrency,
        beat: shared.opts.beat,
        started_at,
        seen_at: Timestamp::now(),
        running,
    }
}
