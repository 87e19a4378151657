//! Retrying failed jobs, for `taskq retry` and the dashboard: each id
//! requeued (attempts reset) or refused with the reason.

use crate::broker::{Broker, BrokerError, Retried};
use crate::exit::{Failed, unknown_ids};
use crate::job::JobId;

/// What one retry did.
#[derive(Debug, Default)]
pub struct Retry {
    pub requeued: Vec<JobId>,
    /// "job ID is STATE": known, but not failed.
    pub refused: Vec<String>,
    pub unknown: Vec<JobId>,
    /// What a user should know of a requeued job: a workflow's step job
    /// runs again alone.
    pub notes: Vec<String>,
}

impl Retry {
    /// The error the whole request ends in, if any: unknown ids first.
    pub fn error(&self) -> Option<anyhow::Error> {
        if !self.unknown.is_empty() {
            return Some(unknown_ids(&self.unknown).into());
        }
        if !self.refused.is_empty() {
            return Some(
                Failed(format!("{}, not failed; only failed jobs can be retried", self.refused.join(", "))).into(),
            );
        }
        None
    }
}

/// Requeues the failed jobs `ids`, or every failed job (`None`).
pub async fn retry(broker: &dyn Broker, ids: Option<&[JobId]>) -> Result<Retry, BrokerError> {
    let mut out = Retry::default();
    for (id, retried) in broker.retry_failed(ids).await? {
        match retried {
            Retried::Requeued => out.requeued.push(id),
            Retried::NotFailed(state) => out.refused.push(format!("job {id} is {state}")),
            Retried::Unknown => out.unknown.push(id),
        }
    }
    // A workflow's step job runs again alone: its run failed with it and
    // does not resume. (Named ids only: "all failed" would read them all.)
    if ids.is_some() && !out.requeued.is_empty() {
        for record in broker.get(&out.requeued).await?.into_iter().flatten() {
            if let Some(step) = &record.job.workflow {
                out.notes.push(format!(
                    "{} is a job of step {} of workflow run {} ({}), which ended with it and does not resume: enqueue {} again to run the workflow",
                    record.job.id,
                    step.step + 1,
                    step.run,
                    step.workflow,
                    step.workflow
                ));
            }
        }
    }
    // A job that succeeded with ignore_result left only a tombstone: known,
    // and not failed.
    if !out.unknown.is_empty() {
        let tombstones = broker.tombstones(&out.unknown).await?;
        let mut still = Vec::new();
        for (id, t) in out.unknown.iter().zip(tombstones) {
            match t {
                Some(_) => out.refused.push(format!("job {id} succeeded (its record is not kept: ignore_result)")),
                None => still.push(*id),
            }
        }
        out.unknown = still;
    }
    Ok(out)
}
