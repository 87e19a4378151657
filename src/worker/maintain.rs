//! Broker upkeep every worker shares in: moving due scheduled and retrying
//! jobs to their queues (sleeping until the next one is due), requeueing the
//! jobs of lost workers, and dropping results past their TTL.

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::job::JobState;

/// The longest sleep between rounds: how late a lost worker's job is noticed
/// after its lease lapses.
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// How often expired results are dropped.
const PURGE_EVERY: Duration = Duration::from_secs(30);

pub(super) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let broker = &shared.broker;
    let mut next_purge = Timestamp::now();
    loop {
        let now = Timestamp::now();
        let mut wake_at = crate::time::add(now, MAX_SLEEP);
        match broker.forward_due(now).await {
            Ok(forwarded) => {
                if forwarded.moved > 0 {
                    tracing::debug!(jobs = forwarded.moved, "due jobs queued");
                    shared.local_wake.notify_one();
                }
                if let Some(due) = forwarded.next_due {
                    wake_at = wake_at.min(due);
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot forward due jobs"),
        }
        match broker.recover_expired(now).await {
            Ok(recovered) => {
                for r in &recovered {
                    crate::metrics::lease_lapsed(r.state);
                    match r.state {
                        JobState::Failed => {
                            tracing::error!(job.id = %r.id, "worker lost too many times; job failed as a poison job");
                            super::hooks::after_poison(&shared, r.id).await;
                        }
                        JobState::Revoked => tracing::warn!(job.id = %r.id, "worker lost; job revoked as asked"),
                        _ => tracing::warn!(job.id = %r.id, "worker lost; job requeued"),
                    }
                }
                if !recovered.is_empty() {
                    shared.local_wake.notify_one();
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot recover lost jobs"),
        }
        if now >= next_purge {
            match broker.purge_expired_results(now).await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(results = n, "expired results dropped"),
                Err(e) => tracing::debug!(error = %e, "cannot drop expired results"),
            }
            next_purge = crate::time::add(now, PURGE_EVERY);
        }
        let sleep = crate::time::until(wake_at).min(MAX_SLEEP);
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = stop.cancelled() => return,
        }
    }
}
