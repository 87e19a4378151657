//! Lease renewal: the worker itself, not the job, keeps its jobs' leases
//! alive, every third of the lease, whatever the jobs' processes are doing.
//! A lease found lost (the job was redelivered) stops the local run.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use super::{RunningJobs, StopReason, lock};
use crate::broker::{Broker, LeaseToken};

pub(super) async fn renew(broker: Arc<dyn Broker>, running: RunningJobs, lease: Duration, stop: CancellationToken) {
    let every = lease / 3;
    let mut failing = false;
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = stop.cancelled() => return,
        }
        let tokens: Vec<LeaseToken> = lock(&running).values().map(|r| r.token.clone()).collect();
        if tokens.is_empty() {
            continue;
        }
        match broker.extend_leases(&tokens, lease, Timestamp::now()).await {
            Ok(lost) => {
                if failing {
                    tracing::info!("lease renewal works again");
                    failing = false;
                }
                let jobs = lock(&running);
                for id in lost {
                    let Some(job) = jobs.get(&id) else { continue };
                    if job.finishing.load(Ordering::SeqCst) {
                        continue;
                    }
                    tracing::warn!(job.id = %id, "lease lost: the job was redelivered or revoked; stopping this run");
                    let _ = job.reason.set(StopReason::LeaseLost);
                    job.kill.cancel();
                }
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
