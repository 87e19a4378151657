//! What follows a recorded outcome beyond the job's own record (which, with
//! a scheduled run's schedule stamp, the broker wrote in `finish`): this
//! process's metrics.

use std::time::Duration;

use crate::broker::Finish;
use crate::job::NewJob;
use crate::metrics;

/// How an attempt ended, kept from its `Finish` (which `record` consumes).
#[derive(Debug, Clone, Copy)]
pub(super) struct Ended {
    outcome: metrics::Ending,
    took: Option<Duration>,
}

impl Ended {
    pub(super) fn of(finish: &Finish) -> Ended {
        let (outcome, result) = match finish {
            Finish::Succeeded { result, .. } => (metrics::Ending::Succeeded, Some(result)),
            Finish::Failed { result, .. } => (metrics::Ending::Failed, Some(result)),
            Finish::Retry { result, .. } => (metrics::Ending::Retried, Some(result)),
            Finish::Revoked { result, .. } => (metrics::Ending::Revoked, Some(result)),
            Finish::Requeue => (metrics::Ending::Requeued, None),
        };
        Ended { outcome, took: result.and_then(|r| r.duration) }
    }
}

pub(super) fn observe(job: &NewJob, ended: Ended) {
    metrics::job_ended(job.job.as_str(), ended.outcome, ended.took);
}
