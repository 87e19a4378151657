//! The embedded broker: one SQLite file in WAL mode, shared safely by any
//! number of taskq processes on one host. Every transition is one
//! `BEGIN IMMEDIATE` transaction (`write`), so two workers never claim the
//! same job (a deferred transaction would fail with SQLITE_BUSY instead of
//! waiting). The SQL lives in `jobs.rs` (lifecycle), `admin.rs` (revoke,
//! retry, purge), `beat.rs` (ticks), `tombstones.rs` (what an
//! `ignore_result` job leaves) and `setup.rs` (opening the file).
//!
//! SQLite has no cross-process notification: idle workers poll
//! `PRAGMA data_version`, which changes when another connection commits, at
//! a short interval; wake-ups from this process's own writes are immediate.
//!
//! The broker's clock is the host's: every process sharing the file runs on
//! this one host.

mod admin;
mod beat;
mod conn;
mod finish;
mod jobs;
mod runs;
mod setup;
mod stats;
mod tombstones;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::Connection;
use tokio::sync::Notify;

use super::{
    Broker, BrokerError, Enqueued, Finish, Finished, Fire, Fired, Forwarded, Lease, LeaseLoss, LeaseToken, ListFilter,
    NewRun, Options, OutputUpdate, Purge, Recovery, Retried, Revoke, RunRecord, RunState, ScheduleState, StepReport,
    Take, Tombstone, WorkerInfo,
};
use crate::flow::StepResult;
use crate::job::{IdPrefix, JobId, JobRecord, JobState, NewJob};
use crate::names::{JobName, QueueName};
use crate::time::{from_ms, to_ms};

use conn::Failure;
pub(crate) use setup::is_current;

/// How often an idle worker looks for other processes' writes.
const POLL_INTERVAL: Duration = Duration::from_millis(40);

/// A take, owned for the blocking pool.
struct TakeFrom {
    queues: Vec<String>,
    worker: String,
    lease: Duration,
    grant: String,
}

impl From<&Take<'_>> for TakeFrom {
    fn from(t: &Take<'_>) -> Self {
        TakeFrom {
            queues: t.queues.iter().map(std::string::ToString::to_string).collect(),
            worker: t.worker.to_string(),
            lease: t.lease,
            grant: t.grant.to_string(),
        }
    }
}

/// A namespace in one SQLite file.
pub(super) struct SqliteBroker {
    /// std Mutex: locked only inside `spawn_blocking`, never across .await.
    conn: Arc<Mutex<Connection>>,
    ns: Arc<str>,
    path: PathBuf,
    options: Options,
    /// Wakes this process's idle workers after its own writes.
    local: Arc<Notify>,
    /// `data_version` when a dequeue last found nothing.
    empty_version: Arc<AtomicI64>,
}

impl SqliteBroker {
    pub(super) async fn open(path: &Path, ns: &str, options: Options) -> Result<SqliteBroker, BrokerError> {
        let owned = path.to_path_buf();
        let conn = tokio::task::spawn_blocking(move || setup::open(&owned))
            .await
            .map_err(|e| BrokerError::Protocol(format!("opening the database panicked: {e}")))??;
        Ok(SqliteBroker {
            conn: Arc::new(Mutex::new(conn)),
            ns: ns.into(),
            path: path.to_path_buf(),
            options,
            local: Arc::new(Notify::new()),
            empty_version: Arc::new(AtomicI64::new(-1)),
        })
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    /// The broker's clock: this host's (shifted in tests), in ms.
    fn now(&self) -> i64 {
        to_ms(self.options.shift.now())
    }
}

#[async_trait]
impl Broker for SqliteBroker {
    fn describe(&self) -> String {
        self.url()
    }

    async fn time(&self) -> Result<Timestamp, BrokerError> {
        Ok(from_ms(self.now()))
    }

    async fn enqueue(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>, BrokerError> {
        let jobs = jobs.to_vec();
        let now = self.now();
        let out =
            self.write_synced(move |tx, ns| jobs.iter().map(|job| jobs::insert(tx, ns, job, now)).collect()).await?;
        self.local.notify_one();
        Ok(out)
    }

    async fn dequeue(&self, take: &Take<'_>) -> Result<Option<Lease>, BrokerError> {
        let from = Arc::new(TakeFrom::from(take));
        loop {
            let (from, empty_version, now) = (from.clone(), self.empty_version.clone(), self.now());
            let taken = self
                .write(move |tx, ns| {
                    let taken = jobs::take(tx, ns, &from, now)?;
                    if matches!(taken, jobs::Taken::Nothing) {
                        let version: i64 = tx.query_row("PRAGMA data_version", [], |r| r.get(0))?;
                        empty_version.store(version, Ordering::SeqCst);
                    }
                    Ok(taken)
                })
                .await?;
            match taken {
                jobs::Taken::Lease(lease) => return Ok(Some(*lease)),
                jobs::Taken::Nothing => return Ok(None),
                jobs::Taken::More => {}
            }
        }
    }

    async fn wait_for_jobs(&self, _queues: &[QueueName], timeout: Duration) -> Result<(), BrokerError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let seen = self.empty_version.load(Ordering::SeqCst);
        loop {
            let jitter = Duration::from_millis(rand::random_range(0..10));
            let wake = tokio::time::Instant::now() + POLL_INTERVAL + jitter;
            tokio::select! {
                () = self.local.notified() => return Ok(()),
                () = tokio::time::sleep_until(wake.min(deadline)) => {}
            }
            let version: i64 =
                self.read(|conn, _| Ok(conn.query_row("PRAGMA data_version", [], |r| r.get(0))?)).await?;
            if version != seen || tokio::time::Instant::now() >= deadline {
                return Ok(());
            }
        }
    }

    async fn extend_leases(
        &self,
        tokens: &[LeaseToken],
        lease: Duration,
    ) -> Result<Vec<(LeaseToken, LeaseLoss)>, BrokerError> {
        let tokens = tokens.to_vec();
        let now = self.now();
        let until = jobs::ms_after(now, lease);
        self.write(move |tx, ns| jobs::extend(tx, ns, &tokens, now, until)).await
    }

    async fn revoked(&self, runs: &[LeaseToken]) -> Result<Vec<JobId>, BrokerError> {
        let ids: Vec<JobId> = runs.iter().map(|t| t.id).collect();
        self.read(move |conn, ns| admin::revoked(conn, ns, &ids)).await
    }

    async fn revoke(&self, id: JobId, terminate: bool) -> Result<Revoke, BrokerError> {
        let now = self.now();
        self.write_synced(move |tx, ns| admin::revoke(tx, ns, id, terminate, now)).await
    }

    async fn retry_failed(&self, ids: Option<&[JobId]>) -> Result<Vec<(JobId, Retried)>, BrokerError> {
        let ids = ids.map(<[JobId]>::to_vec);
        let now = self.now();
        let out = self.write_synced(move |tx, ns| admin::retry_failed(tx, ns, ids.as_deref(), now)).await?;
        if out.iter().any(|(_, r)| *r == Retried::Requeued) {
            self.local.notify_one();
        }
        Ok(out)
    }

    async fn count(&self, what: &Purge) -> Result<u64, BrokerError> {
        let what = what.clone();
        self.read(move |conn, ns| admin::count(conn, ns, &what)).await
    }

    async fn purge(&self, what: &Purge) -> Result<u64, BrokerError> {
        let what = what.clone();
        self.write_synced(move |tx, ns| admin::purge(tx, ns, &what)).await
    }

    async fn finish(
        &self,
        token: &LeaseToken,
        finish: Finish,
        next: Option<Take<'_>>,
    ) -> Result<Finished, BrokerError> {
        let token = token.clone();
        let next = next.as_ref().map(TakeFrom::from);
        let requeued = matches!(finish, Finish::Requeue);
        let (now, retention) = (self.now(), self.options.retention);
        let done =
            self.write(move |tx, ns| finish::finish(tx, ns, &token, &finish, next.as_ref(), now, retention)).await?;
        if done.recorded && requeued {
            self.local.notify_one();
        }
        Ok(done)
    }

    async fn update_output(&self, updates: &[OutputUpdate]) -> Result<(), BrokerError> {
        let updates = updates.to_vec();
        self.write(move |tx, ns| jobs::update_output(tx, ns, &updates)).await
    }

    async fn forward_due(&self) -> Result<Forwarded, BrokerError> {
        let now = self.now();
        let forwarded = self.write(move |tx, ns| jobs::forward(tx, ns, now)).await?;
        if forwarded.moved > 0 {
            self.local.notify_one();
        }
        Ok(forwarded)
    }

    async fn recover_expired(&self) -> Result<Recovery, BrokerError> {
        let (now, retention) = (self.now(), self.options.retention);
        let recovered = self.write(move |tx, ns| jobs::recover(tx, ns, now, retention)).await?;
        if recovered.jobs.iter().any(|r| r.state == JobState::Queued) {
            self.local.notify_one();
        }
        Ok(recovered)
    }

    async fn get(&self, ids: &[JobId]) -> Result<Vec<Option<JobRecord>>, BrokerError> {
        let ids = ids.to_vec();
        let now = self.now();
        self.read(move |conn, ns| jobs::get(conn, ns, &ids, now)).await
    }

    async fn tombstones(&self, ids: &[JobId]) -> Result<Vec<Option<Tombstone>>, BrokerError> {
        let ids = ids.to_vec();
        let now = self.now();
        self.read(move |conn, ns| tombstones::read(conn, ns, &ids, now)).await
    }

    async fn find_ids(&self, prefix: &IdPrefix, limit: usize) -> Result<Vec<JobId>, BrokerError> {
        let prefix = prefix.clone();
        let now = self.now();
        self.read(move |conn, ns| admin::find_ids(conn, ns, &prefix, limit, now)).await
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<JobRecord>, BrokerError> {
        let filter = filter.clone();
        let now = self.now();
        self.read(move |conn, ns| jobs::list(conn, ns, &filter, now)).await
    }

    async fn count_ready(&self, queues: &[QueueName]) -> Result<u64, BrokerError> {
        let queues: Vec<String> = queues.iter().map(std::string::ToString::to_string).collect();
        let now = self.now();
        self.read(move |conn, ns| jobs::count_ready(conn, ns, &queues, now)).await
    }

    async fn fire(&self, fire: &Fire<'_>) -> Result<Fired, BrokerError> {
        let tick = beat::Tick {
            entry: fire.entry.to_string(),
            spec: fire.spec.to_string(),
            tick: to_ms(fire.tick),
            missed: fire.missed,
            run: fire.run.cloned(),
            max_concurrent: fire.max_concurrent,
            keep_until: to_ms(fire.keep_until),
            paused: fire.paused,
        };
        let now = self.now();
        let fired = self.write_synced(move |tx, ns| beat::fire(tx, ns, &tick, now)).await?;
        if matches!(fired, Fired::Enqueued(_)) {
            self.local.notify_one();
        }
        Ok(fired)
    }

    async fn schedule_outcome(&self, entry: &str, _queue: &QueueName, succeeded: bool) -> Result<(), BrokerError> {
        let (entry, now) = (entry.to_string(), self.now());
        self.write(move |tx, ns| beat::schedule_outcome(tx, ns, &entry, succeeded, now)).await
    }

    async fn schedules(&self) -> Result<Vec<ScheduleState>, BrokerError> {
        self.read(beat::schedules).await
    }

    async fn heartbeat(&self, info: &WorkerInfo) -> Result<Timestamp, BrokerError> {
        let info = info.clone();
        let now = self.now();
        self.write(move |tx, ns| admin::heartbeat(tx, ns, &info, now)).await?;
        Ok(from_ms(now))
    }

    async fn forget_worker(&self, id: &str) -> Result<(), BrokerError> {
        let id = id.to_string();
        self.write(move |tx, ns| admin::forget_worker(tx, ns, &id)).await
    }

    async fn workers(&self) -> Result<Vec<WorkerInfo>, BrokerError> {
        let now = self.now();
        self.read(move |conn, ns| admin::workers(conn, ns, now)).await
    }

    async fn pause(&self, entry: &str, paused: bool) -> Result<bool, BrokerError> {
        let (entry, now) = (entry.to_string(), self.now());
        self.write_synced(move |tx, ns| beat::pause(tx, ns, &entry, paused, now)).await
    }

    async fn paused(&self) -> Result<Vec<(String, Timestamp)>, BrokerError> {
        let rows = self.read(beat::paused).await?;
        Ok(rows.into_iter().map(|(e, since)| (e, from_ms(since))).collect())
    }

    async fn define(
        &self,
        beat: &str,
        defs: &[(String, String)],
        ttl: Duration,
    ) -> Result<Vec<super::Definition>, BrokerError> {
        let (beat, defs, now) = (beat.to_string(), defs.to_vec(), self.now());
        let until = now + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX / 2);
        let rows = self.write(move |tx, ns| beat::define(tx, ns, &beat, &defs, now, until)).await?;
        Ok(definitions_of(rows))
    }

    async fn definitions(&self) -> Result<Vec<super::Definition>, BrokerError> {
        let now = self.now();
        Ok(definitions_of(self.read(move |conn, ns| beat::definitions(conn, ns, now)).await?))
    }

    async fn job_stats(&self) -> Result<Vec<super::stats::JobStats>, BrokerError> {
        let now = self.now();
        let cells = self.read(move |conn, ns| stats::read(conn, ns, now)).await?;
        Ok(super::stats::aggregate(cells, now))
    }

    async fn purge_expired_results(&self) -> Result<u64, BrokerError> {
        // In batches, each its own short transaction: other processes'
        // renewals and takes wait for the write lock only that long.
        let mut total = 0;
        loop {
            let now = self.now();
            let n = self.write(move |tx, ns| jobs::purge_expired(tx, ns, now)).await?;
            total += n;
            if n < jobs::PURGE_BATCH {
                break;
            }
        }
        let now = self.now();
        self.write(move |tx, ns| {
            stats::purge(tx, ns, now)?;
            jobs::sweep_history(tx, ns)?;
            runs::purge_expired(tx, ns, now)
        })
        .await?;
        // Gives freed pages back to the file system, a few at a time. Each
        // step of the statement frees one page: step it to the end.
        self.blocking(|conn, _| {
            let mut stmt = conn.prepare_cached("PRAGMA incremental_vacuum(1000)")?;
            let mut rows = stmt.query([])?;
            while rows.next()?.is_some() {}
            Ok(())
        })
        .await?;
        Ok(total)
    }

    async fn start_run(&self, run: &NewRun) -> Result<bool, BrokerError> {
        let (run, now) = (run.clone(), self.now());
        self.write_synced(move |tx, ns| runs::start(tx, ns, &run, now)).await
    }

    async fn advance(&self, report: &StepReport) -> Result<(), BrokerError> {
        let (report, now) = (report.clone(), self.now());
        self.write(move |tx, ns| runs::advance(tx, ns, &report, now).map(|_| ())).await
    }

    async fn launched(&self, run: JobId, step: u32, ids: &[JobId]) -> Result<(), BrokerError> {
        let (ids, now) = (ids.to_vec(), self.now());
        self.write_synced(move |tx, ns| runs::launched(tx, ns, run, step, &ids, now)).await
    }

    async fn get_runs(&self, ids: &[JobId]) -> Result<Vec<Option<RunRecord>>, BrokerError> {
        let ids = ids.to_vec();
        self.read(move |conn, ns| runs::get(conn, ns, &ids)).await
    }

    async fn run_state(&self, id: JobId) -> Result<Option<RunState>, BrokerError> {
        self.read(move |conn, ns| runs::state(conn, ns, id)).await
    }

    async fn step_results(&self, run: JobId, step: u32) -> Result<Vec<StepResult>, BrokerError> {
        self.read(move |conn, ns| runs::results(conn, ns, run, step)).await
    }

    async fn revoke_run(&self, id: JobId) -> Result<Option<RunRecord>, BrokerError> {
        let now = self.now();
        self.write_synced(move |tx, ns| runs::revoke(tx, ns, id, now)).await
    }

    async fn settle_run(&self, id: JobId) -> Result<(), BrokerError> {
        let now = self.now();
        self.write(move |tx, ns| runs::settle(tx, ns, id, now)).await
    }

    async fn open_runs(&self, idle: Duration, limit: usize) -> Result<Vec<JobId>, BrokerError> {
        let now = self.now();
        let before = now - jobs::ms(idle);
        self.write(move |tx, ns| runs::open(tx, ns, before, now, limit)).await
    }

    async fn count_runs(&self) -> Result<Vec<(JobName, RunState, u64)>, BrokerError> {
        self.read(runs::count).await
    }

    async fn list_runs(&self, workflow: Option<&JobName>, limit: usize) -> Result<Vec<RunRecord>, BrokerError> {
        let workflow = workflow.map(ToString::to_string);
        self.read(move |conn, ns| runs::list(conn, ns, workflow.as_deref(), limit)).await
    }
}

fn definitions_of(rows: Vec<beat::DefinitionRow>) -> Vec<super::Definition> {
    rows.into_iter()
        .map(|(entry, spec, beat, since, until)| super::Definition {
            entry,
            spec,
            beat,
            since: from_ms(since),
            until: from_ms(until),
        })
        .collect()
}
