//! The schedules of jobs.toml at run time, for `taskq schedule` and the
//! dashboard: each with its last tick, next fire and pause; pause, resume
//! and trigger by name.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::beat::{Entry, entries};
use crate::broker::{Broker, Enqueued};
use crate::config::{Config, did_you_mean};
use crate::exit::UsageError;
use crate::time::{rfc3339, rfc3339_utc};

/// The schedule entry `name`, or a usage error naming the ones there are.
pub fn entry(name: &str, config: &Config) -> Result<Entry, UsageError> {
    let all = entries(config);
    if let Some(e) = all.iter().find(|e| e.name() == name) {
        return Ok(e.clone());
    }
    let hint = match did_you_mean(name, all.iter().map(Entry::name)) {
        Some(near) => format!(" (did you mean \"{near}\"?)"),
        None if all.is_empty() => " (jobs.toml has no schedule: give a job `schedule` or `every`)".into(),
        None => " (taskq schedule list shows them)".into(),
    };
    let what = if config.jobs.get(name).is_some() || config.workflow(name).is_some() {
        format!("\"{name}\" has no schedule")
    } else {
        format!("unknown schedule \"{name}\"")
    };
    Err(UsageError(format!("{what}{hint}")))
}

/// An entry as `schedule list` shows it.
pub struct Listed {
    pub entry: Entry,
    pub last_tick: Option<jiff::Timestamp>,
    pub next: Option<jiff::Zoned>,
    pub paused_since: Option<jiff::Timestamp>,
}

/// `schedule list --json`'s row.
#[derive(Serialize)]
pub struct ScheduleRow {
    pub name: String,
    pub schedule: String,
    pub timezone: String,
    pub paused: bool,
    pub paused_since: Option<String>,
    pub last_tick: Option<String>,
    pub next: Option<String>,
}

impl From<&Listed> for ScheduleRow {
    fn from(l: &Listed) -> Self {
        ScheduleRow {
            name: l.entry.name().to_string(),
            schedule: l.entry.schedule.describe(),
            timezone: l.entry.def.timezone.name(),
            paused: l.paused_since.is_some(),
            paused_since: l.paused_since.map(rfc3339_utc),
            last_tick: l.last_tick.map(rfc3339_utc),
            next: l.next.as_ref().map(rfc3339),
        }
    }
}

/// Every entry with its last tick, next fire (by the broker's clock) and pause.
pub async fn list(config: &Config, broker: &dyn Broker) -> anyhow::Result<Vec<Listed>> {
    let now = broker.time().await?;
    let paused: BTreeMap<String, jiff::Timestamp> = broker.paused().await?.into_iter().collect();
    let states = broker.schedules().await?;
    Ok(entries(config)
        .into_iter()
        .map(|e| Listed {
            last_tick: states.iter().find(|s| s.entry == e.name()).and_then(crate::broker::ScheduleState::ticked),
            next: e.schedule.next_after(now, e.tz()),
            paused_since: paused.get(e.name()).copied(),
            entry: e,
        })
        .collect())
}

/// Pauses (or resumes) entry `name`; false when it already was so.
pub async fn pause(name: &str, paused: bool, config: &Config, broker: &dyn Broker) -> anyhow::Result<bool> {
    let e = entry(name, config)?;
    Ok(broker.pause(e.name(), paused).await?)
}

/// What `pause` did, in words.
pub fn paused_text(name: &str, paused: bool, changed: bool) -> String {
    match (paused, changed) {
        (true, true) => format!("paused {name}: every beat skips its ticks until `taskq schedule resume {name}`"),
        (true, false) => format!("{name} was already paused"),
        (false, true) => format!("resumed {name}: it fires again from its next tick"),
        (false, false) => format!("{name} was not paused"),
    }
}

/// Enqueues one run of entry `name` now, outside its schedule: the job's
/// own parameter defaults, as a tick's run has; no TASKQ_SCHEDULED_AT.
pub async fn trigger(name: &str, config: &Config, broker: &dyn Broker) -> anyhow::Result<Enqueued> {
    let e = entry(name, config)?;
    let job = e.def.new_job(Vec::new(), BTreeMap::new()).map_err(|err| UsageError(err.to_string()))?;
    let enqueued = broker.enqueue(std::slice::from_ref(&job)).await?;
    Ok(enqueued.into_iter().next().unwrap_or(Enqueued { id: job.id, duplicate: false }))
}
