//! Broker upkeep every worker shares in: moving due scheduled and retrying
//! jobs to their queues (sleeping until the next one is due), requeueing the
//! jobs of lost workers, and dropping results past their TTL. The broker
//! judges what is due and lapsed by its own clock; this loop only decides
//! when to ask.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::Shared;
use crate::job::JobState;
use crate::workflow::drive::Check;

/// The longest sleep between rounds: how late a lost worker's job is noticed
/// after its lease lapses.
const MAX_SLEEP: Duration = Duration::from_secs(1);
/// How often expired results are dropped.
const PURGE_EVERY: Duration = Duration::from_secs(30);
/// How long a workflow run is left to whoever touched it last before
/// maintenance follows it up (its caller may be lost), and how often.
const RUNS_IDLE: Duration = Duration::from_secs(10);

pub(super) async fn run(shared: Arc<Shared>, stop: CancellationToken) {
    let broker = &shared.broker;
    let mut next_purge = Instant::now();
    let mut next_runs = Instant::now();
    loop {
        let mut sleep = MAX_SLEEP;
        match broker.forward_due().await {
            Ok(forwarded) => {
                if forwarded.moved > 0 {
                    tracing::debug!(jobs = forwarded.moved, "due jobs queued");
                    shared.local_wake.notify_one();
                }
                if let Some(due) = forwarded.next_due {
                    sleep = sleep.min(shared.clock.until(due));
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot forward due jobs"),
        }
        match broker.recover_expired().await {
            Ok(recovery) => {
                crate::metrics::failed_dropped(recovery.dropped);
                for r in &recovery.jobs {
                    crate::metrics::lease_lapsed(r.state);
                    match r.state {
                        JobState::Failed => {
                            tracing::error!(job.id = %r.id, "worker lost too many times; job failed as a poison job");
                            super::hooks::after_poison(&shared, r.id).await;
                        }
                        JobState::Revoked => {
                            tracing::warn!(job.id = %r.id, "worker lost; job revoked as asked");
                            if let Ok(mut found) = broker.get(&[r.id]).await
                                && let Some(Some(record)) = found.pop()
                                && let Err(e) =
                                    crate::workflow::drive::ended_elsewhere(&**broker, &shared.config(), &record).await
                            {
                                tracing::debug!(job.id = %r.id, error = %e, "cannot report to its workflow run yet");
                            }
                        }
                        _ => tracing::warn!(job.id = %r.id, "worker lost; job requeued"),
                    }
                }
                if !recovery.jobs.is_empty() {
                    shared.local_wake.notify_one();
                }
                for run in recovery.runs {
                    if let Err(e) =
                        crate::workflow::drive::follow_up(&*shared.broker, &shared.config(), run, Check::Run).await
                    {
                        tracing::debug!(run = %run, error = %e, "cannot move a workflow run on");
                    }
                }
            }
            Err(e) => tracing::debug!(error = %e, "cannot recover lost jobs"),
        }
        if Instant::now() >= next_runs {
            follow_up_runs(&shared, RUNS_IDLE, Check::Idle).await;
            next_runs = Instant::now() + RUNS_IDLE;
        }
        if Instant::now() >= next_purge {
            match broker.purge_expired_results().await {
                Ok(0) => {}
                Ok(n) => tracing::debug!(results = n, "expired results dropped"),
                Err(e) => tracing::debug!(error = %e, "cannot drop expired results"),
            }
            next_purge = Instant::now() + PURGE_EVERY;
        }
        tokio::select! {
            () = tokio::time::sleep(sleep) => {}
            () = stop.cancelled() => return,
        }
    }
}

/// Moves on the workflow runs no one touched for `idle`, looking at their
/// current step's jobs as far as `check` says.
pub(super) async fn follow_up_runs(shared: &Shared, idle: Duration, check: Check) {
    let ids = match shared.broker.open_runs(idle, 100).await {
        Ok(ids) => ids,
        Err(e) => {
            tracing::debug!(error = %e, "cannot list open workflow runs");
            return;
        }
    };
    for id in ids {
        if let Err(e) = crate::workflow::drive::follow_up(&*shared.broker, &shared.config(), id, check).await {
            tracing::debug!(run = %id, error = %e, "cannot move a workflow run on");
        }
    }
}
