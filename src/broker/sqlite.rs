//! The embedded broker: one SQLite file in WAL mode, shared safely by any
//! number of taskq processes on one host. Every read-then-write is one
//! `BEGIN IMMEDIATE` transaction, so two workers never claim the same job
//! (a deferred transaction would fail with SQLITE_BUSY instead of waiting).
//!
//! SQLite has no cross-process notification: idle workers poll
//! `PRAGMA data_version`, which changes when another connection commits, at
//! a short interval; wake-ups from this process's own writes are immediate.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use rusqlite::{Connection, ErrorCode, OptionalExtension, Row, TransactionBehavior, params};
use tokio::sync::Notify;

use super::{
    AttemptResult, Broker, BrokerError, Enqueued, Finish, Finished, Fire, Fired, Forwarded, Lease, LeaseLoss,
    LeaseToken, ListFilter, Purge, Recovered, Retried, Revoke, ScheduleState, Take,
};
use crate::job::{JobId, JobRecord, JobState, NewJob};
use crate::names::QueueName;
use crate::time::{from_ms, to_ms};

const SCHEMA: &str = include_str!("schema.sql");
const SCHEMA_VERSION: i64 = 1;
/// How long a writer waits for another process's transaction.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);
/// How often an idle worker looks for other processes' writes.
const POLL_INTERVAL: Duration = Duration::from_millis(40);
/// At most this many expired or lost jobs are handled per call, to keep
/// transactions short.
const BATCH: i64 = 100;

/// Whether job `j` may start now (?1 the namespace, ?3 now): below its
/// kind's `max_concurrent` counting running jobs whose lease has not lapsed.
const HAS_SLOT: &str = "(j.max_concurrent IS NULL OR (SELECT count(*) FROM jobs r WHERE r.ns = ?1 AND r.job = j.job
    AND r.state = 'running' AND r.lease_until >= ?3) < j.max_concurrent)";

/// The columns a `JobRecord` is read from, in `record` order.
const RECORD_COLUMNS: &str =
    "payload, state, attempts, ready_at, started_at, finished_at, worker, exit_code, http_status, error, output";

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
        let conn = tokio::task::spawn_blocking(move || open_connection(&owned))
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
    async fn call<T, F>(&self, f: F) -> Result<T, BrokerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &str) -> Result<T, BrokerError> + Send + 'static,
    {
        let conn = self.conn.clone();
        let ns = self.ns.clone();
        tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut guard, &ns)
        })
        .await
        .map_err(|e| BrokerError::Protocol(format!("a database call panicked: {e}")))?
    }

    fn err(&self) -> impl Fn(rusqlite::Error) -> BrokerError + Send + Sync + 'static + Clone {
        let url = self.url();
        move |e| map_error(&url, e)
    }
}

fn map_error(url: &str, e: rusqlite::Error) -> BrokerError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt) => {
            BrokerError::Corrupt { url: url.to_string(), reason: e.to_string() }
        }
        _ => BrokerError::Unavailable {
            url: url.to_string(),
            reason: e.to_string(),
            hint: "check the file's permissions and free disk space, or set --broker",
        },
    }
}

fn open_connection(path: &Path) -> Result<Connection, BrokerError> {
    let url = format!("sqlite://{}", path.display());
    let err = |e: rusqlite::Error| map_error(&url, e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| BrokerError::Unavailable {
            url: url.clone(),
            reason: format!("cannot create {}: {e}", dir.display()),
            hint: "choose a writable path with --broker sqlite:///path/to/taskq.db",
        })?;
    }
    let mut conn = Connection::open(path).map_err(err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
    // Setting up a new file races with other processes opening it; switching
    // to WAL fails with SQLITE_BUSY at once, without the busy handler, so
    // retry for as long as the busy timeout would have waited.
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match set_up(&mut conn, &url) {
            Err(SetUpError::Sql(e))
                if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(SetUpError::Sql(e)) => return Err(err(e)),
            Err(SetUpError::Broker(e)) => return Err(e),
            Ok(()) => return Ok(conn),
        }
    }
}

enum SetUpError {
    Sql(rusqlite::Error),
    Broker(BrokerError),
}

impl From<rusqlite::Error> for SetUpError {
    fn from(e: rusqlite::Error) -> Self {
        SetUpError::Sql(e)
    }
}

/// Checks the file is a taskq database (or empty) and brings its schema up.
fn set_up(conn: &mut Connection, url: &str) -> Result<(), SetUpError> {
    // The first statement that reads the file tells a non-database apart.
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())?;
    if !tables.is_empty() && !tables.iter().any(|t| t == "taskq_meta") {
        return Err(SetUpError::Broker(BrokerError::Corrupt {
            url: url.to_string(),
            reason: "the file holds other tables; it is not a taskq database".into(),
        }));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // A file set up by this schema version needs nothing more: WAL mode is
    // kept in the file, and the tables exist.
    if tables.iter().any(|t| t == "taskq_meta") && schema_version(conn)? == Some(SCHEMA_VERSION) {
        return Ok(());
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA)?;
    match schema_version(&tx)? {
        None => {
            tx.execute(
                "INSERT INTO taskq_meta (key, value) VALUES ('schema_version', ?1)",
                [SCHEMA_VERSION.to_string()],
            )?;
        }
        Some(v) if v > SCHEMA_VERSION => {
            return Err(SetUpError::Broker(BrokerError::Corrupt {
                url: url.to_string(),
                reason: format!("it was written by a newer taskq (schema {v}); upgrade taskq"),
            }));
        }
        Some(_) => {}
    }
    tx.commit()?;
    Ok(())
}

fn schema_version(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT CAST(value AS INTEGER) FROM taskq_meta WHERE key = 'schema_version'", [], |r| r.get(0))
        .optional()
}

fn ms_opt(t: Option<Timestamp>) -> Option<i64> {
    t.map(to_ms)
}

fn record(row: &Row<'_>) -> rusqlite::Result<Result<JobRecord, BrokerError>> {
    let payload: String = row.get(0)?;
    let state: String = row.get(1)?;
    let job: NewJob = match serde_json::from_str(&payload) {
        Ok(j) => j,
        Err(e) => return Ok(Err(BrokerError::Protocol(format!("unreadable job payload: {e}")))),
    };
    let state: JobState = match state.parse() {
        Ok(s) => s,
        Err(e) => return Ok(Err(BrokerError::Protocol(e))),
    };
    let ready_at: i64 = row.get(3)?;
    Ok(Ok(JobRecord {
        job,
        state,
        attempts: row.get(2)?,
        due_at: matches!(state, JobState::Scheduled | JobState::Retrying).then(|| from_ms(ready_at)),
        started_at: row.get::<_, Option<i64>>(4)?.map(from_ms),
        finished_at: row.get::<_, Option<i64>>(5)?.map(from_ms),
        worker: row.get(6)?,
        exit_code: row.get(7)?,
        http_status: row.get(8)?,
        error: row.get(9)?,
        output: row.get(10)?,
    }))
}

#[async_trait]
impl Broker for SqliteBroker {
    fn describe(&self) -> String {
        self.url()
    }

    async fn enqueue(&self, jobs: &[NewJob], now: Timestamp) -> Result<Vec<Enqueued>, BrokerError> {
        let jobs = jobs.to_vec();
        let err = self.err();
        let out = self
            .call(move |conn, ns| {
                let now = to_ms(now);
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
                let mut out = Vec::with_capacity(jobs.len());
                for job in &jobs {
                    out.push(insert(&tx, ns, job, now).map_err(|e| e.into_broker(&err))?);
                }
                tx.commit().map_err(&err)?;
                Ok(out)
            })
            .await?;
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
        let queues: Vec<String> = queues.iter().map(|q| q.to_string()).collect();
        let worker = worker.to_string();
        let err = self.err();
        let empty_version = self.empty_version.clone();
        self.call(move |conn, ns| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
            let found = take(&tx, ns, &queues, &worker, lease, now).map_err(|e| e.into_broker(&err))?;
            if found.is_none() {
                let version: i64 = tx.query_row("PRAGMA data_version", [], |r| r.get(0)).map_err(&err)?;
                empty_version.store(version, Ordering::SeqCst);
            }
            tx.commit().map_err(&err)?;
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
            let err = self.err();
            let version: i64 =
                self.call(move |conn, _| conn.query_row("PRAGMA data_version", [], |r| r.get(0)).map_err(&err)).await?;
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
        let err = self.err();
        self.call(move |conn, ns| {
            let until = to_ms(crate::time::add(now, lease));
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
            let mut lost = Vec::new();
            {
                let mut extend = tx
                    .prepare_cached(
                        "UPDATE jobs SET lease_until = ?3
                         WHERE ns = ?1 AND id = ?2 AND state = 'running' AND worker = ?4 AND attempts = ?5
                         RETURNING revoke",
                    )
                    .map_err(&err)?;
                for t in &tokens {
                    let revoke: Option<i64> = extend
                        .query_row(params![ns, t.id.to_string(), until, t.worker, t.attempt], |r| r.get(0))
                        .optional()
                        .map_err(&err)?;
                    match revoke {
                        None => lost.push((t.id, LeaseLoss::Lost)),
                        Some(1) => lost.push((t.id, LeaseLoss::Revoked)),
                        Some(_) => {}
                    }
                }
            }
            tx.commit().map_err(&err)?;
            Ok(lost)
        })
        .await
    }

    async fn revoked(&self, ids: &[JobId]) -> Result<Vec<JobId>, BrokerError> {
        let ids = ids.to_vec();
        let err = self.err();
        self.call(move |conn, ns| {
            let mut stmt = conn.prepare_cached("SELECT revoke FROM jobs WHERE ns = ?1 AND id = ?2").map_err(&err)?;
            let mut out = Vec::new();
            for id in ids {
                let flag: Option<i64> =
                    stmt.query_row(params![ns, id.to_string()], |r| r.get(0)).optional().map_err(&err)?;
                if flag == Some(1) {
                    out.push(id);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn revoke(&self, id: JobId, terminate: bool, now: Timestamp) -> Result<Revoke, BrokerError> {
        let err = self.err();
        self.call(move |conn, ns| {
            let id = id.to_string();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
            let found: Option<(String, Option<String>)> = tx
                .query_row(
                    "SELECT state, worker FROM jobs WHERE ns = ?1 AND id = ?2
                     AND (result_expires_at IS NULL OR result_expires_at > ?3)",
                    params![ns, id, to_ms(now)],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(&err)?;
            let Some((state, worker)) = found else { return Ok(Revoke::Unknown) };
            let state: JobState = state.parse().map_err(BrokerError::Protocol)?;
            let outcome = match state {
                JobState::Queued | JobState::Scheduled | JobState::Retrying => {
                    tx.execute(
                        "UPDATE jobs SET state = 'revoked', finished_at = ?3, error = 'revoked',
                             result_expires_at = ?3 + result_ttl
                         WHERE ns = ?1 AND id = ?2",
                        params![ns, id, to_ms(now)],
                    )
                    .map_err(&err)?;
                    Revoke::Revoked
                }
                JobState::Running if terminate => {
                    tx.execute("UPDATE jobs SET revoke = 1 WHERE ns = ?1 AND id = ?2", params![ns, id])
                        .map_err(&err)?;
                    Revoke::Terminating { worker: worker.unwrap_or_default() }
                }
                JobState::Running => Revoke::Running { worker: worker.unwrap_or_default() },
                other => Revoke::Final(other),
            };
            tx.commit().map_err(&err)?;
            Ok(outcome)
        })
        .await
    }

    async fn retry_failed(&self, ids: Option<&[JobId]>, now: Timestamp) -> Result<Vec<(JobId, Retried)>, BrokerError> {
        let ids = ids.map(<[JobId]>::to_vec);
        let err = self.err();
        self.call(move |conn, ns| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
            let ids: Vec<String> = match ids {
                Some(ids) => ids.iter().map(|i| i.to_string()).collect(),
                None => tx
                    .prepare("SELECT id FROM jobs WHERE ns = ?1 AND state = 'failed' ORDER BY finished_at")
                    .and_then(|mut s| s.query_map(params![ns], |r| r.get(0))?.collect())
                    .map_err(&err)?,
            };
            let mut out = Vec::with_capacity(ids.len());
            for id in ids {
                let state: Option<String> = tx
                    .query_row("SELECT state FROM jobs WHERE ns = ?1 AND id = ?2", params![ns, id], |r| r.get(0))
                    .optional()
                    .map_err(&err)?;
                let state: Option<JobState> = state.map(|s| s.parse()).transpose().map_err(BrokerError::Protocol)?;
                let retried = if state == Some(JobState::Failed) {
                    tx.execute(
                        "UPDATE jobs SET state = 'queued', attempts = 0, lost = 0, worker = NULL, started_at = NULL,
                             finished_at = NULL, ready_at = ?3, lease_until = NULL
                         WHERE ns = ?1 AND id = ?2",
                        params![ns, id, to_ms(now)],
                    )
                    .map_err(&err)?;
                    Retried::Requeued
                } else {
                    state.map_or(Retried::Unknown, Retried::NotFailed)
                };
                out.push((id.parse().map_err(BrokerError::Protocol)?, retried));
            }
            tx.commit().map_err(&err)?;
            Ok(out)
        })
        .await
        .inspect(|out| {
            if out.iter().any(|(_, r)| *r == Retried::Requeued) {
                self.local.notify_one();
            }
        })
    }

    async fn count(&self, what: &Purge, _now: Timestamp) -> Result<u64, BrokerError> {
        let (sql, arg) = purge_selection(what);
        let err = self.err();
        self.call(move |conn, ns| {
            conn.query_row(&format!("SELECT count(*) FROM jobs WHERE {sql}"), params![ns, arg], |r| r.get::<_, i64>(0))
                .map(|n| n.max(0) as u64)
                .map_err(&err)
        })
        .await
    }

    async fn purge(&self, what: &Purge, _now: Timestamp) -> Result<u64, BrokerError> {
        let (sql, arg) = purge_selection(what);
        let err = self.err();
        self.call(move |conn, ns| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
            let n = tx.execute(&format!("DELETE FROM jobs WHERE {sql}"), params![ns, arg]).map_err(&err)?;
            tx.commit().map_err(&err)?;
            Ok(n as u64)
        })
        .await
    }

    async fn finish(
        &self,
        token: &LeaseToken,
        finish: Finish,
        next: Option<Take<'_>>,
        now_at: Timestamp,
    ) -> Result<Finished, BrokerError> {
        let token = token.clone();
        let take_from: Option<(Vec<String>, String, Duration)> =
            next.map(|t| (t.queues.iter().map(|q| q.to_string()).collect(), t.worker.to_string(), t.lease));
        let err = self.err();
        let requeued = matches!(finish, Finish::Requeue);
        let done = self
            .call(move |conn, ns| {
                let now = to_ms(now_at);
                let id = token.id.to_string();
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
                // Each statement writes only while this worker holds this attempt.
                const HELD: &str = "ns = ?1 AND id = ?2 AND state = 'running' AND worker = ?3 AND attempts = ?4";
                let set_result = |tx: &rusqlite::Transaction<'_>,
                                  state: &str,
                                  r: &AttemptResult,
                                  ready_at: Option<i64>,
                                  expires: Option<i64>| {
                    tx.prepare_cached(&format!(
                        "UPDATE jobs SET state = ?5, lease_until = NULL, revoke = 0, started_at = coalesce(?6, started_at),
                             finished_at = ?7, exit_code = ?8, http_status = ?9, error = ?10, output = ?11,
                             ready_at = coalesce(?12, ready_at), result_expires_at = ?13
                         WHERE {HELD}"
                    ))?
                    .execute(params![
                        ns,
                        id,
                        token.worker,
                        token.attempt,
                        state,
                        ms_opt(r.started_at),
                        ms_opt(r.finished_at).unwrap_or(now),
                        r.exit_code,
                        r.http_status,
                        r.error,
                        r.output,
                        ready_at,
                        expires,
                    ])
                };
                let guard = params![ns, id, token.worker, token.attempt];
                let ttl_ms = |ttl: &Duration| now.saturating_add(i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX));
                let changed = match &finish {
                    Finish::Requeue => tx
                        .prepare_cached(&format!(
                            "UPDATE jobs SET state = 'queued', attempts = attempts - 1, worker = NULL,
                                 lease_until = NULL, started_at = NULL
                             WHERE {HELD}"
                        ))
                        .and_then(|mut s| s.execute(guard)),
                    Finish::Succeeded { ignore_result: true, .. } => tx
                        .prepare_cached(&format!("DELETE FROM jobs WHERE {HELD}"))
                        .and_then(|mut s| s.execute(guard)),
                    Finish::Succeeded { result, ttl, .. } => {
                        set_result(&tx, "succeeded", result, None, Some(ttl_ms(ttl)))
                    }
                    Finish::Failed { result, .. } => set_result(&tx, "failed", result, None, None),
                    Finish::Retry { result, at } => set_result(&tx, "retrying", result, Some(to_ms(*at)), None),
                    Finish::Revoked { result, ttl } => set_result(&tx, "revoked", result, None, Some(ttl_ms(ttl))),
                }
                .map_err(&err)?;
                let hook = match &finish {
                    Finish::Succeeded { hook, .. } | Finish::Failed { hook, .. } => hook.as_ref(),
                    _ => None,
                };
                if let (1, Some(hook)) = (changed, hook) {
                    insert(&tx, ns, hook, now).map_err(|e| e.into_broker(&err))?;
                }
                let next = match &take_from {
                    Some((queues, worker, lease)) => {
                        take(&tx, ns, queues, worker, *lease, now_at).map_err(|e| e.into_broker(&err))?
                    }
                    None => None,
                };
                tx.commit().map_err(&err)?;
                Ok(Finished { recorded: changed == 1, next })
            })
            .await?;
        if done.recorded && requeued {
            self.local.notify_one();
        }
        Ok(done)
    }

    async fn forward_due(&self, now: Timestamp) -> Result<Forwarded, BrokerError> {
        let err = self.err();
        let forwarded = self
            .call(move |conn, ns| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
                let moved = forward(&tx, ns, to_ms(now)).map_err(&err)?;
                let next: Option<i64> = tx
                    .query_row(
                        "SELECT min(ready_at) FROM jobs WHERE ns = ?1 AND state IN ('scheduled', 'retrying')",
                        params![ns],
                        |r| r.get(0),
                    )
                    .map_err(&err)?;
                tx.commit().map_err(&err)?;
                Ok(Forwarded { moved, next_due: next.map(from_ms) })
            })
            .await?;
        if forwarded.moved > 0 {
            self.local.notify_one();
        }
        Ok(forwarded)
    }

    async fn recover_expired(&self, now: Timestamp) -> Result<Vec<Recovered>, BrokerError> {
        let err = self.err();
        let recovered = self
            .call(move |conn, ns| {
                let now = to_ms(now);
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
                let lapsed: Vec<(String, u32, u32, i64)> = tx
                    .prepare_cached(
                        "SELECT id, lost, max_redeliveries, revoke FROM jobs
                         WHERE ns = ?1 AND state = 'running' AND lease_until < ?2 LIMIT ?3",
                    )
                    .and_then(|mut s| {
                        s.query_map(params![ns, now, BATCH], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
                            .collect()
                    })
                    .map_err(&err)?;
                let mut out = Vec::new();
                for (id, lost, max, revoke) in lapsed {
                    let state = if revoke == 1 {
                        JobState::Revoked
                    } else if lost + 1 >= max {
                        JobState::Failed
                    } else {
                        JobState::Queued
                    };
                    match state {
                        JobState::Revoked => tx.execute(
                            "UPDATE jobs SET state = 'revoked', revoke = 0, lease_until = NULL, finished_at = ?3,
                                 error = 'revoked: terminated (its worker was lost)', result_expires_at = ?3 + result_ttl
                             WHERE ns = ?1 AND id = ?2",
                            params![ns, id, now],
                        ),
                        JobState::Failed => tx.execute(
                            "UPDATE jobs SET state = 'failed', lost = lost + 1, lease_until = NULL, finished_at = ?3,
                                 error = 'worker lost: its worker stopped renewing the lease ' || (lost + 1) || ' times'
                             WHERE ns = ?1 AND id = ?2",
                            params![ns, id, now],
                        ),
                        _ => tx.execute(
                            "UPDATE jobs SET state = 'queued', lost = lost + 1, lease_until = NULL, worker = NULL
                             WHERE ns = ?1 AND id = ?2",
                            params![ns, id],
                        ),
                    }
                    .map_err(&err)?;
                    out.push(Recovered { id: id.parse().map_err(BrokerError::Protocol)?, state });
                }
                tx.commit().map_err(&err)?;
                Ok(out)
            })
            .await?;
        if recovered.iter().any(|r| r.state == JobState::Queued) {
            self.local.notify_one();
        }
        Ok(recovered)
    }

    async fn get(&self, ids: &[JobId], now: Timestamp) -> Result<Vec<Option<JobRecord>>, BrokerError> {
        let ids: Vec<String> = ids.iter().map(|i| i.to_string()).collect();
        let err = self.err();
        self.call(move |conn, ns| {
            let sql = format!(
                "SELECT {RECORD_COLUMNS} FROM jobs WHERE ns = ?1 AND id = ?2
                 AND (result_expires_at IS NULL OR result_expires_at > ?3)"
            );
            let mut stmt = conn.prepare_cached(&sql).map_err(&err)?;
            ids.iter()
                .map(|id| stmt.query_row(params![ns, id, to_ms(now)], record).optional().map_err(&err)?.transpose())
                .collect()
        })
        .await
    }

    async fn list(&self, filter: &ListFilter, now: Timestamp) -> Result<Vec<JobRecord>, BrokerError> {
        let filter = filter.clone();
        let err = self.err();
        self.call(move |conn, ns| {
            let mut sql = format!(
                "SELECT {RECORD_COLUMNS} FROM jobs WHERE ns = ?1 AND (result_expires_at IS NULL OR result_expires_at > ?2)"
            );
            let mut args: Vec<rusqlite::types::Value> = vec![ns.to_string().into(), to_ms(now).into()];
            for (column, value) in [
                ("state", filter.state.map(|s| s.as_str().to_string())),
                ("queue", filter.queue.as_ref().map(|q| q.to_string())),
                ("job", filter.job.as_ref().map(|j| j.to_string())),
            ] {
                if let Some(value) = value {
                    args.push(value.into());
                    sql.push_str(&format!(" AND {column} = ?{}", args.len()));
                }
            }
            args.push(i64::try_from(filter.limit).unwrap_or(i64::MAX).into());
            sql.push_str(&format!(" ORDER BY enqueued_at DESC, id DESC LIMIT ?{}", args.len()));
            let mut stmt = conn.prepare(&sql).map_err(&err)?;
            let rows = stmt.query_map(rusqlite::params_from_iter(args), record).map_err(&err)?;
            rows.map(|r| r.map_err(&err)?).collect()
        })
        .await
    }

    async fn count_ready(&self, queues: &[QueueName], now: Timestamp) -> Result<u64, BrokerError> {
        let queues: Vec<String> = queues.iter().map(|q| q.to_string()).collect();
        let err = self.err();
        self.call(move |conn, ns| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT count(*) FROM jobs j WHERE ns = ?1 AND queue = ?2
                     AND (state = 'queued' OR (state IN ('scheduled', 'retrying') AND ready_at <= ?3))
                     AND {HAS_SLOT}"
                ))
                .map_err(&err)?;
            let mut total = 0u64;
            for q in &queues {
                total +=
                    stmt.query_row(params![ns, q, to_ms(now)], |r| r.get::<_, i64>(0)).map_err(&err)?.max(0) as u64;
            }
            Ok(total)
        })
        .await
    }

    async fn fire(&self, fire: &Fire<'_>, now: Timestamp) -> Result<Fired, BrokerError> {
        let (entry, spec, tick, missed) =
            (fire.entry.to_string(), fire.spec.to_string(), to_ms(fire.tick), fire.missed);
        let (run, limit) = (fire.run.cloned(), fire.max_concurrent);
        let err = self.err();
        let fired = self
            .call(move |conn, ns| {
                let now = to_ms(now);
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
                let last: Option<i64> = tx
                    .query_row("SELECT last_tick FROM schedules WHERE ns = ?1 AND entry = ?2", params![ns, entry], |r| {
                        r.get(0)
                    })
                    .optional()
                    .map_err(&err)?;
                if last.is_some_and(|l| l >= tick) {
                    return Ok(Fired::Already);
                }
                let missed = i64::try_from(missed).unwrap_or(i64::MAX);
                tx.execute(
                    "INSERT INTO schedules (ns, entry, spec, last_tick, skipped, last_skip)
                     VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?5 > 0 THEN 'no beat ran at the time' END)
                     ON CONFLICT (ns, entry) DO UPDATE SET spec = ?3, last_tick = ?4, skipped = skipped + ?5,
                         last_skip = CASE WHEN ?5 > 0 THEN 'no beat ran at the time' ELSE last_skip END",
                    params![ns, entry, spec, tick, missed],
                )
                .map_err(&err)?;
                let fired = match run {
                    None => Fired::Recorded,
                    Some(run) => {
                        let active: i64 = match limit {
                            Some(_) => tx
                                .query_row(
                                    "SELECT count(*) FROM jobs WHERE ns = ?1 AND job = ?2 AND state = 'running'
                                     AND lease_until >= ?3",
                                    params![ns, run.job.as_str(), now],
                                    |r| r.get(0),
                                )
                                .map_err(&err)?,
                            None => 0,
                        };
                        if limit.is_some_and(|l| active >= i64::from(l)) {
                            tx.execute(
                                "UPDATE schedules SET skipped = skipped + 1, last_skip = 'previous run still active'
                                 WHERE ns = ?1 AND entry = ?2",
                                params![ns, entry],
                            )
                            .map_err(&err)?;
                            Fired::Skipped
                        } else {
                            let enqueued = insert(&tx, ns, &run, now).map_err(|e| e.into_broker(&err))?;
                            if enqueued.duplicate {
                                Fired::Duplicate(enqueued.id)
                            } else {
                                tx.execute(
                                    "UPDATE schedules SET fired = fired + 1, last_job = ?3 WHERE ns = ?1 AND entry = ?2",
                                    params![ns, entry, enqueued.id.to_string()],
                                )
                                .map_err(&err)?;
                                Fired::Enqueued(enqueued.id)
                            }
                        }
                    }
                };
                tx.commit().map_err(&err)?;
                Ok(fired)
            })
            .await?;
        if matches!(fired, Fired::Enqueued(_)) {
            self.local.notify_one();
        }
        Ok(fired)
    }

    async fn schedules(&self) -> Result<Vec<ScheduleState>, BrokerError> {
        let err = self.err();
        self.call(move |conn, ns| {
            let mut stmt = conn
                .prepare(
                    "SELECT entry, spec, last_tick, last_job, fired, skipped, last_skip FROM schedules
                     WHERE ns = ?1 ORDER BY entry",
                )
                .map_err(&err)?;
            let rows = stmt
                .query_map(params![ns], |r| {
                    Ok(ScheduleState {
                        entry: r.get(0)?,
                        spec: r.get(1)?,
                        last_tick: from_ms(r.get(2)?),
                        last_job: r.get::<_, Option<String>>(3)?.and_then(|id| id.parse().ok()),
                        fired: r.get::<_, i64>(4)?.max(0) as u64,
                        skipped: r.get::<_, i64>(5)?.max(0) as u64,
                        last_skip: r.get(6)?,
                    })
                })
                .map_err(&err)?;
            rows.map(|r| r.map_err(&err)).collect()
        })
        .await
    }

    async fn purge_expired_results(&self, now: Timestamp) -> Result<u64, BrokerError> {
        let err = self.err();
        self.call(move |conn, ns| {
            let now = to_ms(now);
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate).map_err(&err)?;
            let removed = tx
                .execute("DELETE FROM jobs WHERE ns = ?1 AND result_expires_at <= ?2", params![ns, now])
                .map_err(&err)?;
            tx.execute("DELETE FROM uniques WHERE ns = ?1 AND expires_at <= ?2", params![ns, now]).map_err(&err)?;
            tx.commit().map_err(&err)?;
            Ok(removed as u64)
        })
        .await
    }
}

/// The rows `purge` deletes: a WHERE clause over ?1 (namespace) and ?2.
fn purge_selection(what: &Purge) -> (&'static str, String) {
    match what {
        Purge::Failed => ("ns = ?1 AND state = 'failed' AND ?2 = ''", String::new()),
        Purge::Queue(q) => ("ns = ?1 AND state = 'queued' AND queue = ?2", q.to_string()),
    }
}

/// Stores one new job (or finds the holder of its unique key).
fn insert(tx: &rusqlite::Transaction<'_>, ns: &str, job: &NewJob, now: i64) -> Result<Enqueued, TxError> {
    let id = job.id.to_string();
    if let Some(unique) = &job.unique {
        tx.prepare_cached("DELETE FROM uniques WHERE ns = ?1 AND key = ?2 AND expires_at <= ?3")?
            .execute(params![ns, unique.key, now])?;
        let holder: Option<String> = tx
            .prepare_cached("SELECT id FROM uniques WHERE ns = ?1 AND key = ?2")?
            .query_row(params![ns, unique.key], |r| r.get(0))
            .optional()?;
        if let Some(holder) = holder {
            let id = holder.parse().map_err(|e| TxError::Broker(BrokerError::Protocol(e)))?;
            return Ok(Enqueued { id, duplicate: true });
        }
        let until = now.saturating_add(i64::try_from(unique.window.as_millis()).unwrap_or(i64::MAX));
        tx.prepare_cached("INSERT INTO uniques (ns, key, id, expires_at) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![ns, unique.key, id, until])?;
    }
    let payload = serde_json::to_string(job).map_err(|e| TxError::Broker(BrokerError::Protocol(e.to_string())))?;
    let run_at = ms_opt(job.run_at).filter(|t| *t > now);
    let state = if run_at.is_some() { JobState::Scheduled } else { JobState::Queued };
    tx.prepare_cached(
        "INSERT INTO jobs (ns, id, job, queue, state, payload, enqueued_at, ready_at, expires_at,
                           max_redeliveries, max_concurrent, result_ttl)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?
    .execute(params![
        ns,
        id,
        job.job.as_str(),
        job.queue.as_str(),
        state.as_str(),
        payload,
        to_ms(job.enqueued_at),
        run_at.unwrap_or(to_ms(job.enqueued_at)),
        ms_opt(job.expires_at),
        job.policy.max_redeliveries,
        job.policy.max_concurrent,
        i64::try_from(job.policy.result_ttl.as_millis()).unwrap_or(i64::MAX),
    ])?;
    Ok(Enqueued { id: job.id, duplicate: false })
}

/// A failure inside a transaction: SQLite's, or unreadable data.
enum TxError {
    Sql(rusqlite::Error),
    Broker(BrokerError),
}

impl From<rusqlite::Error> for TxError {
    fn from(e: rusqlite::Error) -> Self {
        TxError::Sql(e)
    }
}

impl TxError {
    fn into_broker(self, err: &impl Fn(rusqlite::Error) -> BrokerError) -> BrokerError {
        match self {
            TxError::Sql(e) => err(e),
            TxError::Broker(e) => e,
        }
    }
}

/// Takes the oldest job of the first non-empty of `queues` and leases it to
/// `worker`, marking jobs found past their expiry on the way.
fn take(
    tx: &rusqlite::Transaction<'_>,
    ns: &str,
    queues: &[String],
    worker: &str,
    lease: Duration,
    now: Timestamp,
) -> Result<Option<Lease>, TxError> {
    let now_ms = to_ms(now);
    let until = to_ms(crate::time::add(now, lease));
    for queue in queues {
        for _ in 0..BATCH {
            let next: Option<(String, Option<i64>, u32)> = tx
                .prepare_cached(&format!(
                    "SELECT id, expires_at, attempts FROM jobs j
                         WHERE ns = ?1 AND queue = ?2 AND state = 'queued' AND {HAS_SLOT}
                         ORDER BY ready_at, id LIMIT 1"
                ))?
                .query_row(params![ns, queue, now_ms], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
                .optional()?;
            let Some((id, expires_at, attempts)) = next else { break };
            if attempts == 0 && expires_at.is_some_and(|e| e <= now_ms) {
                tx.prepare_cached(
                    "UPDATE jobs SET state = 'expired', finished_at = ?3,
                         error = 'expired: not started before its expiry', result_expires_at = ?3 + result_ttl
                     WHERE ns = ?1 AND id = ?2",
                )?
                .execute(params![ns, id, now_ms])?;
                continue;
            }
            let (attempt, payload): (u32, String) = tx
                .prepare_cached(
                    "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker = ?3, started_at = ?4,
                         lease_until = ?5, finished_at = NULL, exit_code = NULL, http_status = NULL,
                         error = NULL, output = NULL
                     WHERE ns = ?1 AND id = ?2 RETURNING attempts, payload",
                )?
                .query_row(params![ns, id, worker, now_ms, until], |r| Ok((r.get(0)?, r.get(1)?)))?;
            let job: NewJob = serde_json::from_str(&payload)
                .map_err(|e| TxError::Broker(BrokerError::Protocol(format!("unreadable job payload: {e}"))))?;
            return Ok(Some(Lease { job, attempt, worker: worker.to_string() }));
        }
    }
    Ok(None)
}

/// Makes due scheduled and retrying jobs queued; their `ready_at` (the due
/// time) is their place in line.
fn forward(tx: &rusqlite::Transaction<'_>, ns: &str, now: i64) -> rusqlite::Result<usize> {
    tx.prepare_cached(
        "UPDATE jobs SET state = 'queued' WHERE ns = ?1 AND state IN ('scheduled', 'retrying') AND ready_at <= ?2",
    )?
    .execute(params![ns, now])
}
