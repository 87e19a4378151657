//! The embedded broker: one SQLite file in WAL mode, shared safely by any
//! number of taskq processes on one host. Every transition is one
//! `BEGIN IMMEDIATE` transaction (`write`), so two workers never claim the
//! same job (a deferred transaction would fail with SQLITE_BUSY instead of
//! waiting). The SQL lives in `jobs.rs` (lifecycle), `admin.rs` (revoke,
//! retry, purge), `beat.rs` (ticks) and `setup.rs` (opening the file).
//!
//! SQLite has no cross-process notification: idle workers poll
//! `PRAGMA data_version`, which changes when another connection commits, at
//! a short interval; wake-ups from this process's own writes are immediate.

mod admin;
mod beat;
mod jobs;
mod setup;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use tokio::sync::Notify;

use super::{
    Broker, BrokerError, Enqueued, Finish, Finished, Fire, Fired, Forwarded, Lease, LeaseLoss, LeaseToken, ListFilter,
    OutputUpdate, Purge, Recovered, Retried, Revoke, ScheduleState, Take, WorkerInfo,
};
use crate::job::{JobId, JobRecord, JobState, NewJob};
use crate::names::QueueName;
use crate::time::to_ms;

/// How often an idle worker looks for other processes' writes.
const POLL_INTERVAL: Duration = Duration::from_millis(40);

/// A failure inside a database call: SQLite's (given the URL at the edge) or
/// the broker's own (unreadable data, a file that is not a taskq database).
enum Failure {
    Sql(rusqlite::Error),
    Broker(BrokerError),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Sql(e)
    }
}

impl From<BrokerError> for Failure {
    fn from(e: BrokerError) -> Self {
        Failure::Broker(e)
    }
}

/// Where a freed slot takes its next job from, owned for the blocking pool.
struct TakeFrom {
    queues: Vec<String>,
    worker: String,
    lease: Duration,
}

impl From<Take<'_>> for TakeFrom {
    fn from(t: Take<'_>) -> Self {
        TakeFrom {
            queues: t.queues.iter().map(std::string::ToString::to_string).collect(),
            worker: t.worker.to_string(),
            lease: t.lease,
        }
    }
}

/// A namespace in one SQLite file.
pub(super) struct SqliteBroker {
    /// std Mutex: locked only inside `spawn_blocking`, never across .await.
    conn: Arc<Mutex<Connection>>,
    ns: Arc<str>,
    path: PathBuf,
    /// Wakes this process's idle workers after its own writes.
    local: Arc<Notify>,
    /// `data_version` when a dequeue last found nothing.
    empty_version: Arc<AtomicI64>,
}

impl SqliteBroker {
    pub(super) async fn open(path: &Path, ns: &str) -> Result<SqliteBroker, BrokerError> {
        let owned = path.to_path_buf();
        let conn = tokio::task::spawn_blocking(move || setup::open(&owned))
            .await
            .map_err(|e| BrokerError::Protocol(format!("opening the database panicked: {e}")))??;
        Ok(SqliteBroker {
            conn: Arc::new(Mutex::new(conn)),
            ns: ns.into(),
            path: path.to_path_buf(),
            local: Arc::new(Notify::new()),
            empty_version: Arc::new(AtomicI64::new(-1)),
        })
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.path.display())
    }

    /// Runs `f` on the connection in the blocking pool.
    async fn blocking<T, F>(&self, f: F) -> Result<T, BrokerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &str) -> Result<T, Failure> + Send + 'static,
    {
        let (conn, ns, url) = (self.conn.clone(), self.ns.clone(), self.url());
        let result = tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard, &ns)
        })
        .await
        .map_err(|e| BrokerError::Protocol(format!("a database call panicked: {e}")))?;
        result.map_err(|failure| match failure {
            Failure::Sql(e) => setup::map_error(&url, e),
            Failure::Broker(e) => e,
        })
    }

    /// Reads outside a transaction.
    async fn read<T, F>(&self, f: F) -> Result<T, BrokerError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &str) -> Result<T, Failure> + Send + 'static,
    {
        self.blocking(move |conn, ns| f(conn, ns)).await
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction, committed if it succeeds.
    async fn write<T, F>(&self, f: F) -> Result<T, BrokerError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &str) -> Result<T, Failure> + Send + 'static,
    {
        self.blocking(move |conn, ns| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let out = f(&tx, ns)?;
            tx.commit()?;
            Ok(out)
        })
        .await
    }
}

#[async_trait]
impl Broker for SqliteBroker {
    fn describe(&self) -> String {
        self.url()
    }

    async fn enqueue(&self, jobs: &[NewJob], now: Timestamp) -> Result<Vec<Enqueued>, BrokerError> {
        let jobs = jobs.to_vec();
        let out =
            self.write(move |tx, ns| jobs.iter().map(|job| jobs::insert(tx, ns, job, to_ms(now))).collect()).await?;
        self.local.notify_one();
        Ok(out)
    }

    async fn dequeue(
        &self,
        queues: &[QueueName],
        worker: &str,
        lease: Duration,
        now: Timestamp,
    ) -> Result<Option<Lease>, BrokerError> {
        let from = TakeFrom::from(Take { queues, worker, lease });
        let empty_version = self.empty_version.clone();
        self.write(move |tx, ns| {
            let found = jobs::take(tx, ns, &from, now)?;
            if found.is_none() {
                let version: i64 = tx.query_row("PRAGMA data_version", [], |r| r.get(0))?;
                empty_version.store(version, Ordering::SeqCst);
            }
            Ok(found)
        })
        .await
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
        now: Timestamp,
    ) -> Result<Vec<(JobId, LeaseLoss)>, BrokerError> {
        let tokens = tokens.to_vec();
        let until = to_ms(crate::time::add(now, lease));
        self.write(move |tx, ns| jobs::extend(tx, ns, &tokens, until)).await
    }

    async fn revoked(&self, ids: &[JobId]) -> Result<Vec<JobId>, BrokerError> {
        let ids = ids.to_vec();
        self.read(move |conn, ns| admin::revoked(conn, ns, &ids)).await
    }

    async fn revoke(&self, id: JobId, terminate: bool, now: Timestamp) -> Result<Revoke, BrokerError> {
        self.write(move |tx, ns| admin::revoke(tx, ns, id, terminate, now)).await
    }

    async fn retry_failed(&self, ids: Option<&[JobId]>, now: Timestamp) -> Result<Vec<(JobId, Retried)>, BrokerError> {
        let ids = ids.map(<[JobId]>::to_vec);
        let out = self.write(move |tx, ns| admin::retry_failed(tx, ns, ids.as_deref(), now)).await?;
        if out.iter().any(|(_, r)| *r == Retried::Requeued) {
            self.local.notify_one();
        }
        Ok(out)
    }

    async fn count(&self, what: &Purge, _now: Timestamp) -> Result<u64, BrokerError> {
        let what = what.clone();
        self.read(move |conn, ns| admin::count(conn, ns, &what)).await
    }

    async fn purge(&self, what: &Purge, _now: Timestamp) -> Result<u64, BrokerError> {
        let what = what.clone();
        self.write(move |tx, ns| admin::purge(tx, ns, &what)).await
    }

    async fn finish(
        &self,
        token: &LeaseToken,
        finish: Finish,
        next: Option<Take<'_>>,
        now: Timestamp,
    ) -> Result<Finished, BrokerError> {
        let token = token.clone();
        let next = next.map(TakeFrom::from);
        let requeued = matches!(finish, Finish::Requeue);
        let done = self.write(move |tx, ns| jobs::finish(tx, ns, &token, &finish, next.as_ref(), now)).await?;
        if done.recorded && requeued {
            self.local.notify_one();
        }
        Ok(done)
    }

    async fn update_output(&self, updates: &[OutputUpdate]) -> Result<(), BrokerError> {
        let updates = updates.to_vec();
        self.write(move |tx, ns| jobs::update_output(tx, ns, &updates)).await
    }

    async fn forward_due(&self, now: Timestamp) -> Result<Forwarded, BrokerError> {
        let forwarded = self.write(move |tx, ns| jobs::forward(tx, ns, to_ms(now))).await?;
        if forwarded.moved > 0 {
            self.local.notify_one();
        }
        Ok(forwarded)
    }

    async fn recover_expired(&self, now: Timestamp) -> Result<Vec<Recovered>, BrokerError> {
        let recovered = self.write(move |tx, ns| jobs::recover(tx, ns, to_ms(now))).await?;
        if recovered.iter().any(|r| r.state == JobState::Queued) {
            self.local.notify_one();
        }
        Ok(recovered)
    }

    async fn get(&self, ids: &[JobId], now: Timestamp) -> Result<Vec<Option<JobRecord>>, BrokerError> {
        let ids = ids.to_vec();
        self.read(move |conn, ns| jobs::get(conn, ns, &ids, to_ms(now))).await
    }

    async fn list(&self, filter: &ListFilter, now: Timestamp) -> Result<Vec<JobRecord>, BrokerError> {
        let filter = filter.clone();
        self.read(move |conn, ns| jobs::list(conn, ns, &filter, to_ms(now))).await
    }

    async fn count_ready(&self, queues: &[QueueName], now: Timestamp) -> Result<u64, BrokerError> {
        let queues: Vec<String> = queues.iter().map(std::string::ToString::to_string).collect();
        self.read(move |conn, ns| jobs::count_ready(conn, ns, &queues, to_ms(now))).await
    }

    async fn fire(&self, fire: &Fire<'_>, now: Timestamp) -> Result<Fired, BrokerError> {
        let tick = beat::Tick {
            entry: fire.entry.to_string(),
            spec: fire.spec.to_string(),
            tick: to_ms(fire.tick),
            missed: fire.missed,
            run: fire.run.cloned(),
            max_concurrent: fire.max_concurrent,
        };
        let fired = self.write(move |tx, ns| beat::fire(tx, ns, &tick, to_ms(now))).await?;
        if matches!(fired, Fired::Enqueued(_)) {
            self.local.notify_one();
        }
        Ok(fired)
    }

    async fn schedules(&self) -> Result<Vec<ScheduleState>, BrokerError> {
        self.read(beat::schedules).await
    }

    async fn schedule_outcome(&self, entry: &str, succeeded: bool, at: Timestamp) -> Result<(), BrokerError> {
        let entry = entry.to_string();
        self.write(move |tx, ns| beat::schedule_outcome(tx, ns, &entry, succeeded, to_ms(at))).await
    }

    async fn heartbeat(&self, info: &WorkerInfo, ttl: Duration, now: Timestamp) -> Result<(), BrokerError> {
        let info = info.clone();
        let expires_at = to_ms(crate::time::add(now, ttl));
        self.write(move |tx, ns| admin::heartbeat(tx, ns, &info, expires_at)).await
    }

    async fn forget_worker(&self, id: &str) -> Result<(), BrokerError> {
        let id = id.to_string();
        self.write(move |tx, ns| admin::forget_worker(tx, ns, &id)).await
    }

    async fn workers(&self, now: Timestamp) -> Result<Vec<WorkerInfo>, BrokerError> {
        self.read(move |conn, ns| admin::workers(conn, ns, to_ms(now))).await
    }

    async fn purge_expired_results(&self, now: Timestamp) -> Result<u64, BrokerError> {
        self.write(move |tx, ns| jobs::purge_expired(tx, ns, to_ms(now))).await
    }
}
