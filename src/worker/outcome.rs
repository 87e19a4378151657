//! What follows a recorded outcome beyond the job's own record: the last
//! success or failure of its schedule entry (the dead man's switch that
//! `inspect` and the metrics show), and this process's metrics.

use std::time::Duration;

use jiff::Timestamp;

use super::Shared;
use crate::broker::{AttemptResult, Finish};
use crate::job::NewJob;
use crate::metrics;

/// How an attempt ended, kept from its `Finish` (which `record` consumes).
#[derive(Debug, Clone, Copy)]
pub(super) struct Ended {
    outcome: metrics::Outcome,
    took: Option<Duration>,
    at: Timestamp,
}

impl Ended {
    pub(super) fn of(finish: &Finish) -> Ended {
        let (outcome, result) = match finish {
            Finish::Succeeded { result, .. } => (metrics::Outcome::Succeeded, Some(result)),
            Finish::Failed { result, .. } => (metrics::Outcome::Failed, Some(result)),
            Finish::Retry { result, .. } => (metrics::Outcome::Retried, Some(result)),
            Finish::Revoked { result, .. } => (metrics::Outcome::Revoked, Some(result)),
            Finish::Requeue => (metrics::Outcome::Requeued, None),
        };
        Ended {
            outcome,
            took: result.and_then(took),
            at: result.and_then(|r| r.finished_at).unwrap_or_else(Timestamp::now),
        }
    }
}

fn took(result: &AttemptResult) -> Option<Duration> {
    let (start, end) = (result.started_at?, result.finished_at?);
    Duration::try_from(end.duration_since(start)).ok()
}

pub(super) async fn observe(shared: &Shared, job: &NewJob, ended: Ended) {
    metrics::job_ended(job.job.as_str(), ended.outcome, ended.took);
    let succeeded = match ended.outcome {
        metrics::Outcome::Succeeded => true,
        metrics::Outcome::Failed => false,
        _ => return,
    };
    if job.scheduled_at.is_some() {
        schedule_outcome(shared, job.job.as_str(), succeeded, ended.at).await;
    }
}

/// Records a scheduled run's final outcome on its entry; a failure to is
/// logged, not retried: it is monitoring, and the next run records again.
pub(super) async fn schedule_outcome(shared: &Shared, entry: &str, succeeded: bool, at: Timestamp) {
    if let Err(e) = shared.broker.schedule_outcome(entry, succeeded, at).await {
        tracing::warn!(schedule = entry, error = %e, "cannot record the run's outcome on its schedule");
    }
}
