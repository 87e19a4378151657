//! The scheduler. Sleeps until the earliest next tick of any entry, then
//! asks the broker to fire each due tick; the broker's `fire` claims a tick
//! once however many beats ask, so any number may run (for high
//! availability) and a restarted one resumes from the last tick the broker
//! recorded, applying `catch_up` to ticks missed while none ran. A running
//! beat that could not reach the broker fires every tick it was late for
//! once the broker is back (up to `MAX_CATCH_UP` per entry).
//!
//! Ticks are instants on the broker's clock (`BrokerClock`): beats on hosts
//! whose clocks disagree fire a tick at the same real moment. Every sleep is
//! recomputed from that clock and lasts at most a minute.

pub mod agree;
pub mod catch_up;
mod entries;
pub mod health;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use tokio_util::sync::CancellationToken;

use crate::backoff::Backoff;
use crate::broker::{Broker, BrokerError, Fire, Fired, WorkerInfo};
use crate::clock::BrokerClock;
use crate::config::Config;
use crate::job::NewJob;
use crate::shutdown::Shutdown;
pub use entries::{Change, Entry, diff, entries};

/// The longest sleep: the clock is looked at again at least this often.
const MAX_SLEEP: Duration = Duration::from_secs(60);
/// The least pause after the broker refused a tick as early.
const EARLY_PAUSE: Duration = Duration::from_millis(100);
/// How long an entry's state is kept past its next tick when no beat fires
/// it: an entry removed from every config is forgotten after that.
const KEEP_STATE: Duration = Duration::from_secs(35 * 86_400);

/// Where an entry stands: the last tick handled, and whether the ticks
/// after it fell while no beat ran (then `catch_up` decides) or while this
/// beat was running (then each fires, late).
#[derive(Debug, Clone, Copy)]
struct Cursor {
    at: Timestamp,
    catch_up: bool,
    /// The broker holds the definition this beat runs: resumed from the
    /// broker's state, or recorded since (`handle` records a new one).
    declared: bool,
    /// Where the cursor stood when missed or late ticks were last logged: a
    /// fire retried through an outage is logged once, not at every retry.
    warned: Option<Timestamp>,
}

impl Cursor {
    /// Resumed from the broker's state: the ticks after `at` fell while no
    /// beat ran.
    fn resumed(at: Timestamp) -> Cursor {
        Cursor { at, catch_up: true, declared: true, warned: None }
    }

    /// A new or changed entry: its ticks count from `now`, and the broker
    /// does not know its definition yet. From `GRACE` before, in fact: the
    /// definition is recorded as a tick handled at `at`, and another beat
    /// may still be firing a tick of that last second (the broker takes no
    /// tick at or before the last one recorded); this beat fires it too if
    /// none has, as any tick within `GRACE` is on time.
    fn fresh(now: Timestamp) -> Cursor {
        let at = now - jiff::SignedDuration::try_from(catch_up::GRACE).unwrap_or_default();
        Cursor { at, catch_up: false, declared: false, warned: None }
    }

    /// Whether ticks after the cursor are to be logged as missed or late:
    /// once for each place it stands at (it moves on as ticks are handled).
    fn first_warning(&mut self) -> bool {
        let first = self.warned != Some(self.at);
        self.warned = Some(self.at);
        first
    }
}

/// A scheduler over one config.
pub struct Beat {
    broker: Arc<dyn Broker>,
    config: Config,
    clock: Arc<BrokerClock>,
    /// A beat on its own (not `run --beat`) registers like a worker, so
    /// `inspect` shows it and its host's clock skew.
    register: bool,
    /// Set when the broker refused a tick as early: measure the clock again.
    early: std::sync::atomic::AtomicBool,
    /// The entries paused (`taskq schedule pause`) as last read, to log
    /// each change once.
    paused: std::sync::Mutex<Option<BTreeSet<String>>>,
    /// This beat's id among the beats that register definitions.
    id: String,
    /// Where this beat stands with the others (agree.rs).
    agreement: std::sync::Mutex<Agreement>,
}

/// When this beat renews its registrations next, and what it decided for
/// each entry (each change is logged once).
#[derive(Default)]
struct Agreement {
    renew_at: Option<tokio::time::Instant>,
    verdicts: HashMap<String, agree::Verdict>,
}

impl Beat {
    pub fn new(broker: Arc<dyn Broker>, config: Config, clock: Arc<BrokerClock>) -> Beat {
        Beat {
            broker,
            config,
            clock,
            register: false,
            early: std::sync::atomic::AtomicBool::new(false),
            paused: std::sync::Mutex::new(None),
            id: format!("beat:{}", crate::presence::process_id()),
            agreement: std::sync::Mutex::new(Agreement::default()),
        }
    }

    /// Registers its schedule definitions as `id` (`run --beat`: the
    /// worker's, so that inspect names one process one way).
    #[must_use]
    pub fn with_id(mut self, id: &str) -> Beat {
        self.id = id.to_string();
        self
    }

    /// Registers this beat in the broker's registry of live processes.
    #[must_use]
    pub fn registered(mut self) -> Beat {
        self.register = true;
        self
    }

    /// Fires due ticks until `shutdown`; SIGHUP (`shutdown.reloads()`)
    /// reloads the config. Broker errors are waited out with backoff.
    pub async fn run(mut self, shutdown: Shutdown) -> anyhow::Result<()> {
        let mut reloads = shutdown.reloads();
        let mut entries = entries(&self.config);
        // The entries as this beat fires them (agree.rs may move one to UTC).
        let mut effective = entries.clone();
        let mut cursors: Option<HashMap<String, Cursor>> = None;
        let presence = CancellationToken::new();
        if self.register {
            tokio::spawn(self.presence(presence.clone()));
        }
        tracing::info!(entries = entries.len(), broker = %self.broker.describe(), "beat started");
        let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
        let mut next_sync = tokio::time::Instant::now();
        loop {
            let early = self.early.swap(false, std::sync::atomic::Ordering::Relaxed);
            if (early || tokio::time::Instant::now() >= next_sync) && self.clock.sync().await.is_ok() {
                next_sync = tokio::time::Instant::now() + crate::clock::RESYNC_EVERY;
            }
            let wait = if let Err(e) = self.round(&entries, &mut cursors, &mut effective, backoff.is_failing()).await {
                if !backoff.is_failing() {
                    tracing::error!(error = %e, "cannot fire schedules; retrying");
                }
                crate::metrics::broker_error("fire");
                backoff.pause()
            } else {
                if backoff.is_failing() {
                    tracing::info!("firing schedules again");
                    backoff.reset();
                }
                let cursors = cursors.as_ref().expect("a round that succeeded set the cursors");
                let next =
                    effective.iter().filter_map(|e| cursors.get(e.name()).and_then(|c| e.next_after(c.at))).min();
                // At least every RENEW: this beat's definitions are renewed
                // and the other beats' read (agree.rs).
                let wait = next.map_or(MAX_SLEEP, |t| self.clock.until(t)).min(MAX_SLEEP).min(agree::RENEW);
                // Refused as early: the clock is measured again first; never spin.
                if self.early.load(std::sync::atomic::Ordering::Relaxed) { wait.max(EARLY_PAUSE) } else { wait }
            };
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = shutdown.graceful().cancelled() => break,
                Ok(()) = reloads.changed() => {
                    if let Some(c) = cursors.as_mut() {
                        self.reload(&mut entries, c);
                    }
                }
            }
        }
        presence.cancel();
        // Other beats holding another definition of these entries need not
        // wait for this one's registrations to lapse.
        let withdraw = self.broker.define(&self.id, &[], agree::TTL);
        if let Ok(Err(e)) = tokio::time::timeout(Duration::from_secs(2), withdraw).await {
            tracing::debug!(error = %e, "cannot withdraw this beat's definitions; they lapse by themselves");
        }
        tracing::info!("beat stopped");
        Ok(())
    }

    /// One pass over the entries: resume them from the broker first if not
    /// yet done; after an outage, catch up with what other beats fired.
    async fn round(
        &self,
        entries: &[Entry],
        cursors: &mut Option<HashMap<String, Cursor>>,
        effective: &mut Vec<Entry>,
        after_outage: bool,
    ) -> Result<(), BrokerError> {
        let cursors = match cursors {
            Some(c) => {
                if after_outage {
                    self.refresh(entries, c).await?;
                }
                c
            }
            None => cursors.insert(self.resume(entries).await?),
        };
        // Read every round, just before firing: a pause stored before a
        // tick is obeyed at that tick.
        let paused = self.paused_entries(entries).await?;
        let defs = self.definitions(entries).await?;
        let now = self.clock.now();
        effective.clear();
        for entry in entries {
            let cursor = cursors.entry(entry.name().to_string()).or_insert_with(|| Cursor::fresh(now));
            let verdict = agree::decide(entry, &defs);
            // Another zone: its ticks count from now, as after a reload. But
            // taking over from a beat that held another definition, from the
            // last round that saw it hold the entry (the cursor stands
            // there), so that no tick of the gap is lost: they fire late, as
            // after an outage.
            let before = self.note(entry, &verdict);
            if before.is_some_and(|b| !matches!(b, agree::Verdict::Defer { .. })) {
                *cursor = Cursor::fresh(now);
            }
            let entry = match verdict {
                agree::Verdict::Fire => entry.clone(),
                agree::Verdict::FireInUtc => entry.in_utc(),
                agree::Verdict::Defer { .. } => {
                    cursor.at = cursor.at.max(now);
                    cursor.catch_up = false;
                    effective.push(entry.clone());
                    continue;
                }
            };
            effective.push(entry.clone());
            let entry = &entry;
            if paused.contains(entry.name()) {
                self.skip_paused(entry, cursor, now).await?;
            } else {
                self.handle(entry, cursor, now).await?;
            }
        }
        Ok(())
    }

    /// Every beat's live definitions: this beat's renewed every `RENEW`,
    /// and at once when its own have changed (a reload).
    async fn definitions(&self, entries: &[Entry]) -> Result<Vec<crate::broker::Definition>, BrokerError> {
        let mine: Vec<(String, String)> = entries.iter().map(|e| (e.name().to_string(), e.declared())).collect();
        let renew = {
            let a = self.agreement.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            a.renew_at.is_none_or(|at| tokio::time::Instant::now() >= at)
        };
        // Read afresh every round, so that a holder that stopped (or a
        // broker that lost the registrations) is seen at the next tick.
        let mut defs = if renew { None } else { Some(self.broker.definitions().await?) };
        if let Some(d) = &defs {
            let mut held: Vec<(String, String)> =
                d.iter().filter(|d| d.beat == self.id).map(|d| (d.entry.clone(), d.spec.clone())).collect();
            held.sort();
            let mut sorted = mine.clone();
            sorted.sort();
            // Its own registrations changed (a reload) or are gone (a
            // broker that lost them): registered again at once.
            if held != sorted {
                defs = None;
            }
        }
        if let Some(d) = defs {
            return Ok(d);
        }
        let d = self.broker.define(&self.id, &mine, agree::TTL).await?;
        self.agreement.lock().unwrap_or_else(std::sync::PoisonError::into_inner).renew_at =
            Some(tokio::time::Instant::now() + agree::RENEW);
        Ok(d)
    }

    /// Logs what this beat now does with `entry` if that changed; the
    /// earlier decision if it changed (none on the first, or no change).
    fn note(&self, entry: &Entry, verdict: &agree::Verdict) -> Option<agree::Verdict> {
        let mut a = self.agreement.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = a.verdicts.insert(entry.name().to_string(), verdict.clone());
        if before.as_ref() == Some(verdict) {
            return None;
        }
        let name = entry.name();
        match verdict {
            agree::Verdict::Defer { holder, spec } => tracing::warn!(
                entry = name,
                mine = %entry.declared(),
                theirs = %spec,
                holder = %holder,
                "beats define this schedule differently: it fires by the other's definition, not this beat's"
            ),
            agree::Verdict::FireInUtc => tracing::warn!(
                entry = name,
                schedule = %entry.schedule.describe(),
                "the beats' hosts are in different time zones and this schedule names none: it is evaluated in UTC (set timezone, or [taskq] timezone)"
            ),
            agree::Verdict::Fire if before.is_some() => {
                tracing::info!(entry = name, schedule = %entry.spec, "this beat fires this schedule by its own definition again");
            }
            agree::Verdict::Fire => {}
        }
        before
    }

    /// The entries paused now; each pause and resume this beat sees is
    /// logged once.
    async fn paused_entries(&self, entries: &[Entry]) -> Result<BTreeSet<String>, BrokerError> {
        let now: BTreeSet<String> = self.broker.paused().await?.into_iter().map(|(e, _)| e).collect();
        let mut seen = self.paused.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let before = seen.clone().unwrap_or_default();
        for e in entries.iter().map(Entry::name) {
            match (before.contains(e), now.contains(e)) {
                (false, true) => tracing::info!(entry = e, "schedule paused: its ticks are skipped until resumed"),
                (true, false) => tracing::info!(entry = e, "schedule resumed"),
                _ => {}
            }
        }
        *seen = Some(now.clone());
        Ok(now)
    }

    /// A paused entry: every tick due is recorded as skipped ("paused"),
    /// in one call for the latest of them.
    async fn skip_paused(&self, entry: &Entry, cursor: &mut Cursor, now: Timestamp) -> Result<(), BrokerError> {
        let due = catch_up::due(&entry.schedule, entry.tz(), cursor.at, now);
        let Some(&latest) = due.on_time.last().or(due.recent.last()) else { return Ok(()) };
        let others = due.missed + due.on_time.len() as u64 - 1;
        if self.fire_as(entry, latest, others, false, true).await? {
            cursor.at = latest;
            cursor.catch_up = false;
            cursor.declared = true;
        }
        Ok(())
    }

    /// Where each entry resumes: from the last tick the broker recorded for
    /// it, if its schedule is unchanged (ticks since then fell while no beat
    /// ran); from now for new or changed ones.
    async fn resume(&self, entries: &[Entry]) -> Result<HashMap<String, Cursor>, BrokerError> {
        let states = self.broker.schedules().await?;
        let now = self.clock.now();
        Ok(entries
            .iter()
            .map(|e| {
                let resumed = states.iter().find(|s| s.entry == e.name() && s.spec == e.spec).map(|s| s.last_tick);
                let cursor = resumed.map_or_else(|| Cursor::fresh(now), Cursor::resumed);
                (e.name().to_string(), cursor)
            })
            .collect())
    }

    /// After an outage: ticks another beat handled meanwhile need no retry.
    async fn refresh(&self, entries: &[Entry], cursors: &mut HashMap<String, Cursor>) -> Result<(), BrokerError> {
        let states = self.broker.schedules().await?;
        for e in entries {
            if let (Some(state), Some(cursor)) =
                (states.iter().find(|s| s.entry == e.name() && s.spec == e.spec), cursors.get_mut(e.name()))
            {
                cursor.at = cursor.at.max(state.last_tick);
            }
        }
        Ok(())
    }

    /// Fires what is due for `entry` since its cursor, moving it past each
    /// tick handled.
    async fn handle(&self, entry: &Entry, cursor: &mut Cursor, now: Timestamp) -> Result<(), BrokerError> {
        if !cursor.declared {
            // The definition this beat runs goes into the broker at once, as
            // a tick handled at the instant its ticks count from (nothing
            // runs): `beat --dry-run` then sees it as unchanged, and a beat
            // restarted before the first tick resumes from there, applying
            // catch_up, instead of starting afresh. Early: asked again next round.
            cursor.declared = self.fire(entry, cursor.at, 0, false).await?;
        }
        let due = catch_up::due(&entry.schedule, entry.tz(), cursor.at, now);
        if due.missed == 0 && due.on_time.is_empty() {
            cursor.catch_up = false;
            return Ok(());
        }
        if cursor.catch_up {
            let plan = catch_up::plan(entry.def.catch_up, &due);
            if due.missed > 0 && cursor.first_warning() {
                tracing::warn!(
                    entry = entry.name(),
                    missed = due.missed,
                    running = plan.run.len(),
                    skipped = plan.skipped,
                    "ticks were missed while no beat ran"
                );
            }
            if let Some(tick) = plan.record {
                if !self.fire(entry, tick, plan.skipped, false).await? {
                    return Ok(());
                }
                cursor.at = tick;
            }
            for (i, tick) in plan.run.iter().enumerate() {
                if !self.fire(entry, *tick, if i == 0 { plan.skipped } else { 0 }, true).await? {
                    return Ok(());
                }
                cursor.at = *tick;
            }
        } else if due.missed > 0 {
            // This beat was running but late (the broker was out of reach):
            // every tick still fires, the most recent MAX_CATCH_UP of them.
            let skipped = due.missed - due.recent.len() as u64;
            if cursor.first_warning() {
                tracing::warn!(entry = entry.name(), late = due.missed, skipped, "firing ticks this beat was late for");
            }
            for (i, tick) in due.recent.iter().enumerate() {
                if !self.fire(entry, *tick, if i == 0 { skipped } else { 0 }, true).await? {
                    return Ok(());
                }
                cursor.at = *tick;
            }
        }
        cursor.catch_up = false;
        for tick in due.on_time {
            if !self.fire(entry, tick, 0, true).await? {
                return Ok(());
            }
            cursor.at = tick;
        }
        Ok(())
    }

    /// Asks the broker to fire `tick`; `false` when the broker found it
    /// early (this beat's idea of the broker's time is off: the clock is
    /// measured again before the next round).
    async fn fire(&self, entry: &Entry, tick: Timestamp, missed: u64, run: bool) -> Result<bool, BrokerError> {
        self.fire_as(entry, tick, missed, run, false).await
    }

    /// `fire`, or with `paused` the tick recorded as skipped ("paused").
    async fn fire_as(
        &self,
        entry: &Entry,
        tick: Timestamp,
        missed: u64,
        run: bool,
        paused: bool,
    ) -> Result<bool, BrokerError> {
        let job = if run && !paused { Self::run_for(entry, tick) } else { None };
        let keep_until = crate::time::add(entry.next_after(tick).unwrap_or(tick), KEEP_STATE);
        let fire = Fire {
            entry: entry.name(),
            queue: &entry.def.queue,
            spec: &entry.spec,
            tick,
            missed,
            run: job.as_ref(),
            max_concurrent: entry.def.max_concurrent,
            keep_until,
            paused,
        };
        let at = crate::time::rfc3339(&tick.to_zoned(entry.tz().clone()));
        let fired = self.broker.fire(&fire).await?;
        if matches!(fired, Fired::Enqueued(_) | Fired::Skipped | Fired::Duplicate(_) | Fired::Recorded) {
            crate::metrics::beat_skipped(entry.name(), "missed", missed);
        }
        if fired == Fired::Paused {
            crate::metrics::beat_skipped(entry.name(), "paused", missed + 1);
        }
        match fired {
            Fired::Enqueued(id) => {
                let late = self.clock.now().duration_since(tick).unsigned_abs();
                crate::metrics::beat_fired(entry.name(), late);
                tracing::info!(entry = entry.name(), tick = %at, job.id = %id, "fired");
            }
            Fired::Skipped => {
                crate::metrics::beat_skipped(entry.name(), "active", 1);
                tracing::warn!(entry = entry.name(), tick = %at, "tick skipped: previous run still active");
            }
            Fired::Duplicate(id) => {
                tracing::info!(entry = entry.name(), tick = %at, job.id = %id, "tick's run is a duplicate");
            }
            Fired::Recorded => tracing::debug!(entry = entry.name(), tick = %at, "tick recorded"),
            Fired::Paused => tracing::debug!(entry = entry.name(), tick = %at, "tick skipped: paused"),
            Fired::Already => tracing::debug!(entry = entry.name(), tick = %at, "tick handled by another beat"),
            Fired::Early => {
                tracing::debug!(entry = entry.name(), tick = %at, "tick not due yet by the broker's clock");
                self.early.store(true, std::sync::atomic::Ordering::Relaxed);
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The run of `entry` for `tick`: the job's own parameters' defaults,
    /// `TASKQ_SCHEDULED_AT`, and an expiry one period after it is enqueued
    /// unless the job sets `expires`.
    fn run_for(entry: &Entry, tick: Timestamp) -> Option<NewJob> {
        let mut job = match entry.def.new_job(Vec::new(), BTreeMap::new()) {
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
            job.expires = Some(next.duration_since(tick).unsigned_abs());
        }
        Some(job)
    }

    /// Reloads the config (SIGHUP): an invalid one is reported and the running
    /// one kept; a valid one is reconciled entry by entry.
    fn reload(&mut self, entries: &mut Vec<Entry>, cursors: &mut HashMap<String, Cursor>) {
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
        let now = self.clock.now();
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
            kept.entry(e.name().to_string()).or_insert_with(|| Cursor::fresh(now));
        }
        *cursors = kept;
        *entries = fresh;
        self.config = config;
        tracing::info!(entries = entries.len(), "config reloaded");
    }

    /// Keeps this beat in the registry of live processes.
    fn presence(&self, stop: CancellationToken) -> impl Future<Output = ()> + use<> {
        let id = self.id.clone();
        let started = std::time::Instant::now();
        let (broker, clock, report_id) = (self.broker.clone(), self.clock.clone(), id.clone());
        let report_clock = clock.clone();
        let report = move || WorkerInfo {
            id: report_id.clone(),
            host: crate::presence::hostname(),
            pid: std::process::id(),
            queues: Vec::new(),
            concurrency: 0,
            beat: true,
            started_at: report_clock.now() - jiff::SignedDuration::try_from(started.elapsed()).unwrap_or_default(),
            seen_at: Timestamp::UNIX_EPOCH,
            clock_offset_ms: 0,
            running: Vec::new(),
        };
        crate::presence::run(broker, clock, id, report, stop)
    }
}
