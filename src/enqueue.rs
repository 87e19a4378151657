//! One enqueue as asked for (`taskq enqueue`'s flags now, the HTTP API's
//! body next), turned into the job the broker stores: one set of rules and
//! one wording of each refusal, whoever asks.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::config::{Config, JobDef};
use crate::exit::UsageError;
use crate::job::{Delay, NewJob, UniqueKey};
use crate::names::QueueName;

/// The window of a `key` when neither `unique_for` nor the job sets one.
pub const DEFAULT_KEY_WINDOW: Duration = Duration::from_secs(3600);

/// What one enqueue of a job asks for.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub job: String,
    pub args: Vec<String>,
    pub params: BTreeMap<String, String>,
    /// Another queue than the job's own.
    pub queue: Option<QueueName>,
    /// Not to run before then: added to the broker's clock, never this host's.
    pub delay: Option<Delay>,
    /// Not started this long after it became due: expired (default: the job's `expires`).
    pub expires: Option<Duration>,
    /// An idempotency key: an enqueue with a key held by an earlier job returns that job.
    pub key: Option<String>,
    /// How long the key is held (default: the job's `unique_for`, else an hour).
    pub unique_for: Option<Duration>,
}

impl Request {
    /// The job to store, and its definition.
    pub fn build<'c>(&self, config: &'c Config) -> Result<(NewJob, &'c JobDef), UsageError> {
        let def = config.job(&self.job)?;
        let mut job = def.new_job(self.args.clone(), self.params.clone()).map_err(|e| UsageError(e.to_string()))?;
        if let Some(q) = &self.queue {
            def.move_to(&mut job, q.clone()).map_err(UsageError)?;
        }
        job.delay = self.delay;
        // Expiry counts from when the job becomes due.
        job.expires = self.expires.or(def.expires);
        if let Some(key) = &self.key {
            if self.unique_for.is_some_and(|w| w.is_zero()) {
                return Err(UsageError("--unique-for must be longer than 0s: the key is held for that long".into()));
            }
            let window = self.unique_for.or(def.unique_for).unwrap_or(DEFAULT_KEY_WINDOW);
            job.unique = Some(UniqueKey { key: format!("key:{key}"), window });
        }
        Ok((job, def))
    }
}

/// A name that is neither a job nor a workflow of `config`, when it has
/// workflows: the message names both kinds, with the nearest name. (With
/// jobs only, `Config::job`'s message says it.)
pub fn unknown_job_or_workflow(config: &Config, name: &str) -> Option<String> {
    if config.jobs.get(name).is_some() || config.workflow(name).is_some() || config.workflows.is_empty() {
        return None;
    }
    let names = config.jobs.iter().map(|j| j.name.as_str()).chain(config.workflows.iter().map(|w| w.name.as_str()));
    let hint = crate::config::did_you_mean(name, names)
        .map_or_else(|| " (taskq check lists them)".to_string(), |near| format!(" (did you mean \"{near}\"?)"));
    Some(format!("unknown job or workflow \"{name}\"{hint}"))
}
