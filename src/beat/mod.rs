//! The scheduler. Sleeps until the earliest next tick of any entry, then
//! asks the broker to fire each due tick; the broker's `fire` claims a tick
//! once however many beats ask, so any number may run (for high
//! availability) and a restarted one resumes from the last tick the broker
//! recorded, applying `catch_up` to ticks missed while none ran.
//!
//! Wall-clock time drives it: every sleep is recomputed from the clock and
//! lasts at most a minute, so clock adjustments are followed.

pub mod catch_up;
mod entries;
pub mod health;
pub mod schedule;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::broker::{Broker, BrokerError, Fire, Fired};
use crate::config::Config;
use crate::job::NewJob;
use crate::shutdown::Shutdown;
pub use entries::{Change, Entry, diff, entries};

/// The longest sleep: the clock is looked at again at least this often.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// How long to wait before trying again after the broker failed.
const RETRY_AFTER_ERROR: Duration = Duration::from_secs(1);

/// A scheduler over one config.
pub struct Beat {
    broker: Arc<dyn Broker>,
    config: Config,
}

impl Beat {
    pub fn new(broker: Arc<dyn Broker>, config: Config) -> Beat {
        Beat { broker, config }
    }

    /// Fires due ticks until `shutdown`; SIGHUP (`shutdown.reload()`)
    /// reloads the config.
    pub async fn run(mut self, shutdown: Shutdown) -> anyhow::Result<()> {
        let mut entries = entries(&self.config);
        let mut cursors = self.resume(&entries).await;
        tracing::info!(entries = entries.len(), broker = %self.broker.describe(), "beat started");
        let mut failing = false;
        loop {
            let now = Timestamp::now();
            let mut error = None;
            for entry in &entries {
                let cursor = cursors.entry(entry.name().to_string()).or_insert(now);
                if let Err(e) = self.handle(entry, cursor, now).await {
                    error = Some(e);
                    break;
                }
            }
            let wait = if let Some(e) = error {
                if !failing {
                    tracing::error!(error = %e, "cannot fire schedules; retrying");
                    failing = true;
                }
                RETRY_AFTER_ERROR
            } else {
                if failing {
                    tracing::info!("firing schedules again");
                    failing = false;
                }
                let next = entries.iter().filter_map(|e| e.next_after(cursors[e.name()])).min();
                next.map_or(MAX_SLEEP, crate::time::until).min(MAX_SLEEP)
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shutdown.graceful().cancelled() => break,
                () = shutdown.reload().notified() => self.reload(&mut entries, &mut cursors),
            }
        }
        tracing::info!("beat stopped");
        Ok(())
    }

    /// Where each entry resumes: from the last tick the broker recorded for
    /// it, if its schedule is unchanged; from now for new or changed ones.
    async fn resume(&self, entries: &[Entry]) -> HashMap<String, Timestamp> {
        let now = Timestamp::now();
        let states = match self.broker.schedules().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the schedules' last fires; missed ticks are not caught up");
                Vec::new()
            }
        };
        entries
            .iter()
            .map(|e| {
                let resumed = states.iter().find(|s| s.entry == e.name() && s.spec == e.spec).map(|s| s.last_tick);
                (e.name().to_string(), resumed.unwrap_or(now))
            })
            .collect()
    }

    /// Fires what is due for `entry` since `cursor`, moving it past each
    /// tick handled.
    async fn handle(&self, entry: &Entry, cursor: &mut Timestamp, now: Timestamp) -> Result<(), BrokerError> {
        let due = catch_up::due(&entry.schedule, entry.tz(), *cursor, now);
        if due.missed == 0 && due.on_time.is_empty() {
            return Ok(());
        }
        let plan = catch_up::plan(entry.def.catch_up, &due);
        if due.missed > 0 {
            tracing::warn!(
                entry = entry.name(),
                missed = due.missed,
                running = plan.run.len(),
                skipped = plan.skipped,
                "ticks were missed while no beat ran"
            );
        }
        if let Some(tick) = plan.record {
            self.fire(entry, tick, plan.skipped, false, now).await?;
            *cursor = tick;
        }
        for (i, tick) in plan.run.iter().enumerate() {
            self.fire(entry, *tick, if i == 0 { plan.skipped } else { 0 }, true, now).await?;
            *cursor = *tick;
        }
        for tick in due.on_time {
            self.fire(entry, tick, 0, true, now).await?;
            *cursor = tick;
        }
        Ok(())
    }

    async fn fire(
        &self,
        entry: &Entry,
        tick: Timestamp,
        missed: u64,
        run: bool,
        now: Timestamp,
    ) -> Result<(), BrokerError> {
        let job = if run { Self::run_for(entry, tick, now) } else { None };
        let fire = Fire {
            entry: entry.name(),
            spec: &entry.spec,
            tick,
            missed,
            run: job.as_ref(),
            max_concurrent: entry.def.max_concurrent,
        };
        let at = crate::time::rfc3339(&tick.to_zoned(entry.tz().clone()));
        match self.broker.fire(&fire, now).await? {
            Fired::Enqueued(id) => tracing::info!(entry = entry.name(), tick = %at, job.id = %id, "fired"),
            Fired::Skipped => {
                tracing::warn!(entry = entry.name(), tick = %at, "tick skipped: previous run still active");
            }
            Fired::Duplicate(id) => {
                tracing::info!(entry = entry.name(), tick = %at, job.id = %id, "tick's run is a duplicate");
            }
            Fired::Recorded => tracing::debug!(entry = entry.name(), tick = %at, "tick recorded"),
            Fired::Already => tracing::debug!(entry = entry.name(), tick = %at, "tick handled by another beat"),
        }
        Ok(())
    }

    /// The run of `entry` for `tick`: the job's own parameters' defaults,
    /// `TASKQ_SCHEDULED_AT`, and an expiry one period after it is enqueued
    /// unless the job sets `expires`.
    fn run_for(entry: &Entry, tick: Timestamp, now: Timestamp) -> Option<NewJob> {
        let mut job = match entry.def.new_job(Vec::new(), BTreeMap::new(), now) {
            Ok(j) => j,
            Err(e) => {
                tracing::error!(entry = entry.name(), error = %e, "cannot build the scheduled run");
                return None;
            }
        };
        job.scheduled_at = Some(crate::time::rfc3339(&tick.to_zoned(entry.tz().clone())));
        if entry.def.expires.is_none()
            && let Some(next) = entry.next_after(tick)
        {
            job.expires_at = Some(crate::time::add(now, next.duration_since(tick).unsigned_abs()));
        }
        Some(job)
    }

    /// Reloads the config (SIGHUP): an invalid one is reported and the running
    /// one kept; a valid one is reconciled entry by entry.
    fn reload(&mut self, entries: &mut Vec<Entry>, cursors: &mut HashMap<String, Timestamp>) {
        let config = match Config::load(&self.config.path) {
            Ok(c) => c,
            Err(errors) => {
                for e in errors.iter() {
                    tracing::error!("reload: {e}");
                }
                tracing::error!("reload failed: keeping the running config");
                return;
            }
        };
        let fresh = crate::beat::entries(&config);
        let now = Timestamp::now();
        let changes = diff(entries.iter().map(Entry::key), fresh.iter().map(Entry::key));
        for change in &changes {
            match change {
                Change::Added { name, spec } => {
                    tracing::info!(entry = %name, schedule = %spec, "reload: schedule added");
                }
                Change::Removed { name, spec } => {
                    tracing::info!(entry = %name, schedule = %spec, "reload: schedule removed");
                }
                Change::Changed { name, from, to } => {
                    tracing::info!(entry = %name, from = %from, to = %to, "reload: schedule changed");
                }
                Change::Unchanged { .. } => {}
            }
        }
        let mut kept = HashMap::new();
        for change in changes {
            if let Change::Unchanged { name } = change
                && let Some(cursor) = cursors.get(&name)
            {
                kept.insert(name, *cursor);
            }
        }
        // New and changed entries start from now: a changed schedule never
        // fires both its old and its new ticks.
        for e in &fresh {
            kept.entry(e.name().to_string()).or_insert(now);
        }
        *cursors = kept;
        *entries = fresh;
        self.config = config;
        tracing::info!(entries = entries.len(), "config reloaded");
    }
}
