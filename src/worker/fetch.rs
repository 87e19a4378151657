//! The fetch loop: a job is taken only for a free slot (no prefetch); when
//! nothing is queued the loop waits for a broker wake-up, a local one (a job
//! ended, maintenance made jobs due), or a second. Broker errors are waited
//! out with backoff; a take whose reply was lost is asked again under the
//! same grant, so the job it may have leased is not left to lapse.

use std::sync::Arc;

use tokio::sync::Semaphore;
use tokio_util::task::TaskTracker;

use super::{IDLE_WAIT, RETRY_FIRST, RETRY_MAX, Shared, slot};
use crate::backoff::Backoff;
use crate::broker::{BrokerError, Take};

pub(super) async fn run(shared: &Arc<Shared>, slots: &Arc<Semaphore>, tracker: &TaskTracker) -> anyhow::Result<()> {
    let opts = &shared.opts;
    let shutdown = shared.shutdown.graceful();
    let mut outage = Outage::new();
    loop {
        let permit = tokio::select! {
            permit = slots.clone().acquire_owned() => permit?,
            () = shutdown.cancelled() => return Ok(()),
        };
        let selection = shared.queues();
        let order = selection.order();
        let grant = shared.grant();
        let take = Take { queues: &order, worker: &shared.id, lease: opts.lease, grant: &grant };
        // Until the broker answers, the same grant: a lost reply must not
        // leave a job leased to this worker without its knowing. (Asked
        // again, the broker counts the lease from then: so does `sent`.)
        let (taken, sent) = loop {
            let sent = tokio::time::Instant::now();
            match shared.broker.dequeue(&take).await {
                Ok(taken) => break (taken, sent),
                Err(e) => {
                    let delay = outage.failed(&e, opts.burst)?;
                    tokio::select! {
                        () = tokio::time::sleep(delay) => {}
                        () = shutdown.cancelled() => return Ok(()),
                    }
                }
            }
        };
        outage.ended();
        if let Some(lease) = taken {
            slot::start(shared, lease, sent, permit, tracker);
            continue;
        }
        drop(permit);
        if opts.burst && drained(shared, slots).await? {
            tracing::info!("queues drained");
            return Ok(());
        }
        tokio::select! {
            result = shared.broker.wait_for_jobs(&order, IDLE_WAIT) => {
                if let Err(e) = result {
                    let delay = outage.failed(&e, opts.burst)?;
                    tokio::time::sleep(delay).await;
                }
            }
            () = shared.local_wake.notified() => {}
            () = shutdown.cancelled() => return Ok(()),
        }
    }
}

/// Burst mode: nothing queued, due or waiting for a slot on our queues, and
/// no slot busy here (a busy slot may still take more jobs). A slot gives
/// its permit back before it wakes this loop (its task may still be ending,
/// so the tracker would say busy and the loop would sleep a second).
async fn drained(shared: &Shared, slots: &Semaphore) -> anyhow::Result<bool> {
    if slots.available_permits() < shared.opts.concurrency.max(1) {
        return Ok(false);
    }
    shared.broker.forward_due().await?;
    if shared.broker.count_ready(&shared.queues().all()).await? > 0 {
        return Ok(false);
    }
    // Before stopping, the workflow runs whose step ended outside a worker
    // (a job expired, or revoked while queued) are moved on: that may
    // launch more jobs, or end a run.
    super::maintain::follow_up_runs(shared, std::time::Duration::ZERO, crate::workflow::drive::Check::Jobs).await;
    Ok(shared.broker.count_ready(&shared.queues().all()).await? == 0)
}

/// Tracks a broker outage: a warning when it starts, an error if it lasts
/// (then an operator must act), one line when it ends, and a capped backoff
/// between attempts meanwhile.
struct Outage {
    since: Option<tokio::time::Instant>,
    reported: bool,
    backoff: Backoff,
}

/// An outage longer than this is logged as an error.
const LONG_OUTAGE: std::time::Duration = std::time::Duration::from_secs(30);

impl Outage {
    fn new() -> Outage {
        Outage { since: None, reported: false, backoff: Backoff::new(RETRY_FIRST, RETRY_MAX) }
    }

    /// Records a failure; returns how long to wait, or in burst mode the
    /// error itself (a burst run exits on it, as one-shot commands do).
    fn failed(&mut self, err: &BrokerError, burst: bool) -> anyhow::Result<std::time::Duration> {
        if burst {
            return Err(anyhow::Error::new(err.clone()));
        }
        crate::metrics::broker_error("dequeue");
        match self.since {
            // Not an outage: a bug (a SQL error, a reply this version cannot
            // read). Kept apart from outages in the log, at error level, and
            // still retried with backoff: one odd reply during a failover
            // must not end a worker, and a lasting one is plain to see.
            None if !err.is_unavailable() => {
                tracing::error!(error = %err, "the broker failed in a way that is not an outage; retrying with backoff");
                self.since = Some(tokio::time::Instant::now());
            }
            None => {
                tracing::warn!(error = %err, "broker unavailable; retrying with backoff");
                self.since = Some(tokio::time::Instant::now());
            }
            Some(since) if !self.reported && since.elapsed() >= LONG_OUTAGE => {
                tracing::error!(error = %err, "broker unavailable for 30s; still retrying");
                self.reported = true;
            }
            Some(_) => {}
        }
        Ok(self.backoff.pause())
    }

    fn ended(&mut self) {
        self.backoff.reset();
        self.reported = false;
        if let Some(since) = self.since.take() {
            let after = humantime::format_duration(std::time::Duration::from_secs(since.elapsed().as_secs()));
            tracing::info!(%after, "broker reachable again");
        }
    }
}
