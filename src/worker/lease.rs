//! Lease renewal: the worker itself, not the job, keeps its jobs' leases
//! alive, every third of the lease, whatever the jobs' processes are doing.
//!
//! Each running job also has a local deadline: how long its lease surely
//! holds, on this host's monotonic clock, counted from when the granting or
//! renewing call was sent. While renewals fail (broker unreachable, a
//! partition), they are retried every second, and a job whose deadline
//! draws near is stopped (SIGTERM, SIGKILL its grace later) before the
//! lease can lapse: so no job runs on two workers at once, and
//! `max_concurrent` holds across a partition.
//!
//! Every second the loop also publishes the output that running jobs wrote
//! since (for `logs -F`) and looks for jobs `revoke --terminate` asked to
//! stop. A lease found lost (the job was redelivered) stops the local run.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{Shared, StopReason, lock};
use crate::broker::{LeaseLoss, LeaseToken, OutputUpdate};

/// How often running jobs are checked for `revoke --terminate`, and failed
/// renewals retried.
const TICK: Duration = Duration::from_secs(1);

/// How long before its deadline a job's SIGKILL must land: room for the
/// difference between this host's clock rate and the broker's, and for the
/// kill itself.
fn margin(lease: Duration) -> Duration {
    (lease / 20).max(Duration::from_millis(200))
}

pub(super) async fn renew(shared: Arc<Shared>, stop: CancellationToken) {
    let lease = shared.opts.lease;
    let every = lease / 3;
    let mut next_renewal = Instant::now() + every;
    let mut next_tick = Instant::now() + TICK.min(every);
    let mut failing = false;
    loop {
        let wake = next_renewal.min(next_tick).min(earliest_stop(&shared, lease).unwrap_or(next_tick));
        tokio::select! {
            () = tokio::time::sleep_until(wake) => {}
            () = stop.cancelled() => return,
        }
        stop_expiring(&shared, lease);
        let tokens: Vec<LeaseToken> = lock(&shared.running).keys().cloned().collect();
        if tokens.is_empty() {
            (next_renewal, next_tick) = (Instant::now() + every, Instant::now() + TICK.min(every));
            continue;
        }
        if Instant::now() >= next_renewal {
            let sent = Instant::now();
            match bounded(&shared, shared.broker.extend_leases(&tokens, lease)).await {
                Some(Ok(stopped)) => {
                    if failing {
                        tracing::info!("lease renewal works again");
                        failing = false;
                    }
                    renewed(&shared, &tokens, &stopped, sent + lease);
                    stop_runs(&shared, stopped);
                    next_renewal = sent + every;
                }
                failed => {
                    if !failing {
                        let error = failed.and_then(Result::err).map_or("no answer".to_string(), |e| e.to_string());
                        tracing::warn!(%error, "cannot renew leases; retrying every second");
                        failing = true;
                    }
                    crate::metrics::broker_error("extend_leases");
                    next_renewal = Instant::now() + TICK;
                    continue;
                }
            }
        }
        if Instant::now() >= next_tick && !failing {
            next_tick = Instant::now() + TICK.min(every);
            bounded(&shared, publish_output(&shared)).await;
            if let Some(Ok(revoked)) = bounded(&shared, shared.broker.revoked(&tokens)).await {
                let revoked = tokens
                    .iter()
                    .filter(|t| revoked.contains(&t.id))
                    .map(|t| (t.clone(), LeaseLoss::Revoked))
                    .collect();
                stop_runs(&shared, revoked);
            }
        }
    }
}

/// Runs a broker call unless a job must be stopped first: a call that hangs
/// (a silent network) must never keep the loop from stopping jobs in time.
async fn bounded<T>(shared: &Shared, call: impl Future<Output = T>) -> Option<T> {
    tokio::select! {
        result = call => Some(result),
        () = sleep_until_stop(shared, shared.opts.lease) => None,
    }
}

/// When the first running job must be stopped if its lease is not renewed:
/// its deadline, less its grace and the margin.
fn earliest_stop(shared: &Shared, lease: Duration) -> Option<Instant> {
    lock(&shared.running)
        .values()
        .filter(|r| !r.finishing.load(Ordering::SeqCst) && r.reason.get().is_none())
        .map(|r| r.deadline.checked_sub(r.grace + margin(lease)).unwrap_or_else(Instant::now))
        .min()
}

async fn sleep_until_stop(shared: &Shared, lease: Duration) {
    match earliest_stop(shared, lease) {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Stops the jobs whose leases would lapse before a renewal could land.
fn stop_expiring(shared: &Shared, lease: Duration) {
    let now = Instant::now();
    let jobs = lock(&shared.running);
    for (token, job) in jobs.iter() {
        if job.finishing.load(Ordering::SeqCst) || job.reason.get().is_some() {
            continue;
        }
        let stop_at = job.deadline.checked_sub(job.grace + margin(lease)).unwrap_or(now);
        if stop_at <= now {
            tracing::warn!(
                job.id = %token.id,
                "cannot renew the lease in time; stopping the job before it lapses, so it never runs twice"
            );
            let _ = job.reason.set(StopReason::LeaseExpiring);
            job.kill.cancel_within(job.grace);
        }
    }
}

/// Moves the deadlines of the leases a renewal extended.
fn renewed(shared: &Shared, tokens: &[LeaseToken], stopped: &[(LeaseToken, LeaseLoss)], deadline: Instant) {
    let lost: HashSet<&LeaseToken> =
        stopped.iter().filter(|(_, why)| *why == LeaseLoss::Lost).map(|(t, _)| t).collect();
    let mut jobs = lock(&shared.running);
    for token in tokens {
        if lost.contains(token) {
            continue;
        }
        if let Some(job) = jobs.get_mut(token) {
            job.deadline = deadline;
        }
    }
}

/// Publishes what running jobs wrote since the last round.
async fn publish_output(shared: &Shared) {
    let updates: Vec<OutputUpdate> = lock(&shared.running)
        .iter()
        .filter(|(_, r)| !r.finishing.load(Ordering::SeqCst))
        .filter_map(|(token, r)| {
            let (tail, total) = r.output.changed()?;
            Some(OutputUpdate { token: token.clone(), output: String::from_utf8_lossy(&tail).into_owned(), total })
        })
        .collect();
    if !updates.is_empty()
        && let Err(e) = shared.broker.update_output(&updates).await
    {
        tracing::debug!(error = %e, "cannot publish running jobs' output");
    }
}

/// Kills the local runs of jobs this worker must give up.
fn stop_runs(shared: &Shared, stopped: Vec<(LeaseToken, LeaseLoss)>) {
    let jobs = lock(&shared.running);
    for (token, why) in stopped {
        let Some(job) = jobs.get(&token) else { continue };
        if job.finishing.load(Ordering::SeqCst) {
            continue;
        }
        match why {
            LeaseLoss::Lost => {
                tracing::warn!(job.id = %token.id, "lease lost: the job was handed to another worker; stopping this run");
                let _ = job.reason.set(StopReason::LeaseLost);
            }
            LeaseLoss::Revoked => {
                tracing::warn!(job.id = %token.id, "revoked with --terminate; killing the job");
                let _ = job.reason.set(StopReason::Revoked);
            }
        }
        job.kill.cancel();
    }
}
