//! Revoking a job or a workflow run, for `taskq revoke` and the dashboard.
//! A job not started is revoked; a running one is killed only when asked
//! (`terminate`: its worker acts within a second); a run's id stops the
//! run. Whatever cannot be revoked is an error saying why.

use crate::broker::{Broker, Revoke, RunState};
use crate::config::Config;
use crate::exit::{Failed, unknown_ids};
use crate::job::{JobId, JobState};
use crate::workflow::drive::RunRevoke;

/// What a revoke did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Revoked {
    /// A job that had not started: it never will.
    Job,
    /// A running job its worker is asked to kill: the caller may wait for
    /// the kill to be recorded.
    Terminating { worker: String },
    /// A workflow run: what had not started is revoked; `terminating`
    /// running jobs are being killed, `left` are left to finish.
    Run { terminating: usize, left: usize },
}

impl Revoked {
    /// What the command line prints and the API returns as `message`.
    pub fn describe(&self, id: JobId) -> String {
        match self {
            Revoked::Job => format!("revoked {id}"),
            Revoked::Terminating { worker } => format!("job {id} is being killed on worker {worker}"),
            Revoked::Run { terminating, left } => {
                let running = match (terminating, left) {
                    (0, 0) => String::new(),
                    (n, 0) => format!("; {n} running job(s) asked to be killed"),
                    (_, n) => format!("; {n} running job(s) left to finish (--terminate kills them)"),
                };
                format!("revoked workflow run {id}{running}")
            }
        }
    }
}

/// Revokes job or workflow run `id`.
pub async fn revoke(broker: &dyn Broker, config: &Config, id: JobId, terminate: bool) -> anyhow::Result<Revoked> {
    match broker.revoke(id, terminate).await? {
        Revoke::Revoked => {
            // A workflow step's job: its run hears of it now (it fails).
            if let Some(Some(record)) = broker.get(&[id]).await?.pop()
                && record.job.workflow.is_some()
            {
                crate::workflow::drive::ended_elsewhere(broker, config, &record).await?;
            }
            Ok(Revoked::Job)
        }
        Revoke::Terminating { worker } => Ok(Revoked::Terminating { worker }),
        Revoke::Running { worker } => {
            Err(Failed(format!("job {id} is running on worker {worker}; pass --terminate to kill it")).into())
        }
        Revoke::Final(state) => {
            Err(Failed(format!("job {id} has already {}; there is nothing to revoke", ended(state))).into())
        }
        Revoke::Unknown => match crate::workflow::drive::revoke(broker, config, id, terminate).await? {
            RunRevoke::Unknown if broker.tombstones(&[id]).await?.first().is_some_and(Option::is_some) => {
                Err(Failed(format!(
                    "job {id} has already succeeded (its record is not kept: ignore_result); there is nothing to revoke"
                ))
                .into())
            }
            RunRevoke::Unknown => Err(unknown_ids(&[id]).into()),
            RunRevoke::Final(state) => {
                let ended = if state == RunState::Revoked { "been revoked".to_string() } else { state.to_string() };
                Err(Failed(format!("workflow run {id} has already {ended}; there is nothing to revoke")).into())
            }
            RunRevoke::Revoked { terminating, left } => Ok(Revoked::Run { terminating, left }),
        },
    }
}

/// "succeeded", "failed", "been revoked", "expired".
pub fn ended(state: JobState) -> String {
    match state {
        JobState::Revoked => "been revoked".to_string(),
        other => other.to_string(),
    }
}
