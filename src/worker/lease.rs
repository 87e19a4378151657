//! Lease renewal: the worker itself, not the job, keeps its jobs' leases
//! alive, every third of the lease, whatever the jobs' processes are doing.
//! Every second it also publishes the output that running jobs wrote since
//! (for `logs -F`) and looks for jobs `revoke --terminate` asked to stop. A
//! lease found lost (the job was redelivered) or a revocation stops the
//! local run.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use super::{RunningJobs, StopReason, lock};
use crate::broker::{Broker, LeaseLoss, LeaseToken, OutputUpdate};
use crate::job::JobId;

/// How often running jobs are checked for `revoke --terminate`.
const REVOKE_CHECK: Duration = Duration::from_secs(1);

pub(super) async fn renew(broker: Arc<dyn Broker>, running: RunningJobs, lease: Duration, stop: CancellationToken) {
    let every = lease / 3;
    let mut next_renewal = tokio::time::Instant::now() + every;
    let mut failing = false;
    loop {
        tokio::select! {
            () = tokio::time::sleep(REVOKE_CHECK.min(every)) => {}
            () = stop.cancelled() => return,
        }
        let tokens: Vec<LeaseToken> = lock(&running).values().map(|r| r.token.clone()).collect();
        if tokens.is_empty() {
            continue;
        }
        publish_output(broker.as_ref(), &running).await;
        let result = if tokio::time::Instant::now() >= next_renewal {
            next_renewal = tokio::time::Instant::now() + every;
            broker.extend_leases(&tokens, lease, Timestamp::now()).await
        } else {
            let ids: Vec<JobId> = tokens.iter().map(|t| t.id).collect();
            broker.revoked(&ids).await.map(|ids| ids.into_iter().map(|id| (id, LeaseLoss::Revoked)).collect())
        };
        match result {
            Ok(stopped) => {
                if failing {
                    tracing::info!("lease renewal works again");
                    failing = false;
                }
                stop_runs(&running, stopped);
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(error = %e, "cannot renew leases; running jobs may be redelivered if this lasts");
                    failing = true;
                }
            }
        }
    }
}

/// Publishes what running jobs wrote since the last round.
async fn publish_output(broker: &dyn Broker, running: &RunningJobs) {
    let updates: Vec<OutputUpdate> = lock(running)
        .values()
        .filter(|r| !r.finishing.load(Ordering::SeqCst))
        .filter_map(|r| {
            let (tail, total) = r.output.changed()?;
            Some(OutputUpdate { token: r.token.clone(), output: String::from_utf8_lossy(&tail).into_owned(), total })
        })
        .collect();
    if !updates.is_empty()
        && let Err(e) = broker.update_output(&updates).await
    {
        tracing::debug!(error = %e, "cannot publish running jobs' output");
    }
}

/// Kills the local runs of jobs this worker must give up.
fn stop_runs(running: &RunningJobs, stopped: Vec<(JobId, LeaseLoss)>) {
    let jobs = lock(running);
    for (id, why) in stopped {
        let Some(job) = jobs.get(&id) else { continue };
        if job.finishing.load(Ordering::SeqCst) {
            continue;
        }
        match why {
            LeaseLoss::Lost => {
                tracing::warn!(job.id = %id, "lease lost: the job was handed to another worker; stopping this run");
                let _ = job.reason.set(StopReason::LeaseLost);
            }
            LeaseLoss::Revoked => {
                tracing::warn!(job.id = %id, "revoked with --terminate; killing the job");
                let _ = job.reason.set(StopReason::Revoked);
            }
        }
        job.kill.cancel();
    }
}
