//! The Redis broker. Each transition is one Lua script (scripts/*.lua, named
//! like the `Broker` method; lib.lua holds what several share), so it is
//! atomic and guarded by the lease. Keys are listed in `keys.rs`; how a job
//! is stored in `fields.rs`. Idle workers wait on the pub/sub subscription in
//! `wake.rs`: no polling.

mod admin;
mod beat;
mod fields;
mod wake;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{AsyncCommands, Script};
use tokio::sync::{Notify, OnceCell};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::keys::Keys;
use super::{
    AttemptResult, Broker, BrokerError, BrokerUrl, Enqueued, Finish, Finished, Fire, Fired, Forwarded, Lease,
    LeaseLoss, LeaseToken, ListFilter, OutputUpdate, Purge, Recovered, Retried, Revoke, ScheduleState, Take,
    WorkerInfo,
};
use crate::job::{JobId, JobRecord, NewJob};
use crate::names::QueueName;
use crate::time::{from_ms, to_ms};
use fields::{job_args, lease_from, ms, opt, record};

struct Scripts {
    enqueue: Script,
    dequeue: Script,
    extend: Script,
    finish: Script,
    forward: Script,
    recover: Script,
    revoke: Script,
    output: Script,
    fire: Script,
    schedule_outcome: Script,
    retry_failed: Script,
    purge: Script,
    purge_results: Script,
}

/// A script with lib.lua (the functions scripts share) prepended.
macro_rules! with_lib {
    ($file:literal) => {
        Script::new(concat!(include_str!("scripts/lib.lua"), include_str!(concat!("scripts/", $file))))
    };
}

static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    enqueue: with_lib!("enqueue.lua"),
    dequeue: with_lib!("dequeue.lua"),
    extend: Script::new(include_str!("scripts/extend.lua")),
    finish: with_lib!("finish.lua"),
    forward: Script::new(include_str!("scripts/forward.lua")),
    recover: with_lib!("recover.lua"),
    revoke: Script::new(include_str!("scripts/revoke.lua")),
    output: Script::new(include_str!("scripts/output.lua")),
    fire: with_lib!("fire.lua"),
    schedule_outcome: Script::new(include_str!("scripts/schedule_outcome.lua")),
    retry_failed: Script::new(include_str!("scripts/retry_failed.lua")),
    purge: Script::new(include_str!("scripts/purge.lua")),
    purge_results: Script::new(include_str!("scripts/purge_results.lua")),
});

/// Jobs per `enqueue.lua` call: large enough to amortise the round trip,
/// small enough not to stall the server.
const ENQUEUE_CHUNK: usize = 1000;

/// A namespace on a Redis server.
pub(super) struct RedisBroker {
    client: redis::Client,
    conn: ConnectionManager,
    keys: Keys,
    url: BrokerUrl,
    /// Signalled by the wake-up subscriber.
    wake: Arc<Notify>,
    subscribed: OnceCell<()>,
    /// Stops the subscriber when the broker is dropped.
    _subscriber: DropGuard,
    subscriber_stop: CancellationToken,
}

impl RedisBroker {
    pub(super) async fn connect(url: &BrokerUrl, ns: &str) -> Result<RedisBroker, BrokerError> {
        let BrokerUrl::Redis { url: raw } = url else {
            return Err(BrokerError::Protocol("internal error: not a Redis URL".into()));
        };
        crate::tls::install_crypto_provider();
        let unavailable = |e: redis::RedisError| unavailable(url, &e);
        let client = redis::Client::open(raw.as_str()).map_err(unavailable)?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(30)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let mut conn = ConnectionManager::new_with_config(client.clone(), config).await.map_err(unavailable)?;
        // A connection is not enough: authentication and the version must do.
        let info: String = redis::cmd("INFO").arg("server").query_async(&mut conn).await.map_err(unavailable)?;
        check_version(url, &info)?;
        let stop = CancellationToken::new();
        Ok(RedisBroker {
            client,
            conn,
            keys: Keys::new(ns),
            url: url.clone(),
            wake: Arc::new(Notify::new()),
            subscribed: OnceCell::new(),
            _subscriber: stop.clone().drop_guard(),
            subscriber_stop: stop,
        })
    }

    fn conn(&self) -> ConnectionManager {
        self.conn.clone()
    }

    fn err(&self) -> impl Fn(redis::RedisError) -> BrokerError + '_ {
        move |e| classify(&self.url, e)
    }

    /// Starts the wake-up subscriber once; later calls return at once.
    async fn subscribe(&self) -> Result<(), BrokerError> {
        self.subscribed
            .get_or_try_init(|| async {
                let channel = self.keys.wake();
                let mut pubsub = self.client.get_async_pubsub().await.map_err(self.err())?;
                pubsub.subscribe(&channel).await.map_err(self.err())?;
                let (client, wake, stop) = (self.client.clone(), self.wake.clone(), self.subscriber_stop.clone());
                tokio::spawn(wake::listen(client, channel, pubsub, wake, stop));
                Ok(())
            })
            .await?;
        Ok(())
    }
}

fn unavailable(url: &BrokerUrl, e: &redis::RedisError) -> BrokerError {
    let hint = if e.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("NOAUTH" | "WRONGPASS" | "NOPERM"))
    {
        "check the user and password in the broker URL"
    } else {
        "is redis-server running? set --broker or $TASKQ_BROKER"
    };
    BrokerError::Unavailable { url: url.to_string(), reason: e.to_string(), hint }
}

/// Connection trouble is `Unavailable` (a worker waits it out); anything
/// else is unexpected.
fn classify(url: &BrokerUrl, e: redis::RedisError) -> BrokerError {
    let transient = e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || e.kind() == redis::ErrorKind::AuthenticationFailed
        || e.kind() == redis::ErrorKind::ClusterConnectionNotFound
        || matches!(
            e.code(),
            Some(
                "NOAUTH"
                    | "WRONGPASS"
                    | "NOPERM"
                    | "LOADING"
                    | "READONLY"
                    | "MASTERDOWN"
                    | "CLUSTERDOWN"
                    | "TRYAGAIN"
                    | "BUSY"
            )
        );
    if transient { unavailable(url, &e) } else { BrokerError::Protocol(format!("Redis: {e}")) }
}

fn check_version(url: &BrokerUrl, info: &str) -> Result<(), BrokerError> {
    let version = info.lines().find_map(|l| l.strip_prefix("redis_version:")).unwrap_or("").trim();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < (6, 2) {
        return Err(BrokerError::Unavailable {
            url: url.to_string(),
            reason: format!("Redis {version} is too old"),
            hint: "taskq needs Redis 6.2 or newer",
        });
    }
    Ok(())
}

#[async_trait]
impl Broker for RedisBroker {
    fn describe(&self) -> String {
        self.url.to_string()
    }

    async fn enqueue(&self, jobs: &[NewJob], now: Timestamp) -> Result<Vec<Enqueued>, BrokerError> {
        let mut out = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(ENQUEUE_CHUNK) {
            let mut call = SCRIPTS.enqueue.key(self.keys.index());
            call.arg(self.keys.prefix()).arg(to_ms(now));
            for job in chunk {
                call.arg(job_args(job)?);
            }
            let reply: Vec<(String, u8)> = call.invoke_async(&mut self.conn()).await.map_err(self.err())?;
            for (id, dup) in reply {
                out.push(Enqueued { id: id.parse().map_err(BrokerError::Protocol)?, duplicate: dup == 1 });
            }
        }
        Ok(out)
    }

    async fn dequeue(
        &self,
        queues: &[QueueName],
        worker: &str,
        lease: Duration,
        now: Timestamp,
    ) -> Result<Option<Lease>, BrokerError> {
        let until = to_ms(crate::time::add(now, lease));
        let mut call = SCRIPTS.dequeue.key(self.keys.leases());
        call.arg(self.keys.prefix()).arg(to_ms(now)).arg(until).arg(worker);
        for q in queues {
            call.arg(q.as_str());
        }
        let reply: redis::Value = call.invoke_async(&mut self.conn()).await.map_err(self.err())?;
        lease_from(reply, worker)
    }

    async fn wait_for_jobs(&self, _queues: &[QueueName], timeout: Duration) -> Result<(), BrokerError> {
        self.subscribe().await?;
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
        Ok(())
    }

    async fn extend_leases(
        &self,
        tokens: &[LeaseToken],
        lease: Duration,
        now: Timestamp,
    ) -> Result<Vec<(JobId, LeaseLoss)>, BrokerError> {
        let mut lost = Vec::new();
        // One script call per worker id (a worker holds only its own).
        let mut by_worker: HashMap<&str, Vec<&LeaseToken>> = HashMap::new();
        for t in tokens {
            by_worker.entry(t.worker.as_str()).or_default().push(t);
        }
        for (worker, tokens) in by_worker {
            let mut call = SCRIPTS.extend.key(self.keys.leases());
            call.arg(self.keys.prefix()).arg(to_ms(crate::time::add(now, lease))).arg(worker);
            for t in tokens {
                call.arg(t.id.to_string()).arg(t.attempt);
            }
            let reply: Vec<(String, String)> = call.invoke_async(&mut self.conn()).await.map_err(self.err())?;
            for (id, why) in reply {
                let why = if why == "revoked" { LeaseLoss::Revoked } else { LeaseLoss::Lost };
                lost.push((id.parse().map_err(BrokerError::Protocol)?, why));
            }
        }
        Ok(lost)
    }

    async fn revoked(&self, ids: &[JobId]) -> Result<Vec<JobId>, BrokerError> {
        admin::revoked(self, ids).await
    }

    async fn revoke(&self, id: JobId, terminate: bool, now: Timestamp) -> Result<Revoke, BrokerError> {
        admin::revoke(self, id, terminate, now).await
    }

    async fn retry_failed(&self, ids: Option<&[JobId]>, now: Timestamp) -> Result<Vec<(JobId, Retried)>, BrokerError> {
        admin::retry_failed(self, ids, now).await
    }

    async fn count(&self, what: &Purge, now: Timestamp) -> Result<u64, BrokerError> {
        admin::count(self, what, now).await
    }

    async fn purge(&self, what: &Purge, now: Timestamp) -> Result<u64, BrokerError> {
        admin::purge(self, what, now).await
    }

    async fn finish(
        &self,
        token: &LeaseToken,
        finish: Finish,
        next: Option<Take<'_>>,
        now: Timestamp,
    ) -> Result<Finished, BrokerError> {
        let none = AttemptResult::default();
        let (kind, due, ttl, delete, result, hook) = match &finish {
            Finish::Succeeded { result, ttl, ignore_result, hook } => {
                ("succeeded", None, ms(*ttl), *ignore_result, result, hook.as_ref())
            }
            Finish::Failed { result, hook } => ("failed", None, 0, false, result, hook.as_ref()),
            Finish::Retry { result, at } => ("retrying", Some(to_ms(*at)), 0, false, result, None),
            Finish::Revoked { result, ttl } => ("revoked", None, ms(*ttl), false, result, None),
            Finish::Requeue => ("requeue", None, 0, false, &none, None),
        };
        let hook = hook.map(job_args).transpose()?.unwrap_or_default();
        let mut call = SCRIPTS.finish.key(self.keys.leases());
        call.arg(self.keys.prefix())
            .arg(token.id.to_string())
            .arg(&token.worker)
            .arg(token.attempt)
            .arg(to_ms(now))
            .arg(kind)
            .arg(opt(due))
            .arg(ttl.max(1))
            .arg(if delete { "1" } else { "0" })
            .arg(opt(result.started_at.map(to_ms)))
            .arg(opt(result.exit_code))
            .arg(opt(result.http_status))
            .arg(result.error.clone().unwrap_or_default())
            .arg(&result.output)
            .arg(result.output_total)
            .arg(to_ms(result.finished_at.unwrap_or(now)));
        call.arg(next.map_or(0, |t| to_ms(crate::time::add(now, t.lease))));
        call.arg(hook.len()).arg(hook);
        for q in next.map_or(&[][..], |t| t.queues) {
            call.arg(q.as_str());
        }
        let reply: Vec<redis::Value> = call.invoke_async(&mut self.conn()).await.map_err(self.err())?;
        let mut reply = reply.into_iter();
        let recorded: i64 = reply
            .next()
            .map(redis::from_redis_value)
            .transpose()
            .map_err(|e| BrokerError::Protocol(format!("finish: {e}")))?
            .unwrap_or(0);
        let worker = next.map_or("", |t| t.worker);
        let next = match reply.next() {
            Some(value) => lease_from(value, worker)?,
            None => None,
        };
        Ok(Finished { recorded: recorded == 1, next })
    }

    async fn update_output(&self, updates: &[OutputUpdate]) -> Result<(), BrokerError> {
        // One call per worker id (a worker publishes only its own).
        let mut by_worker: HashMap<&str, Vec<&OutputUpdate>> = HashMap::new();
        for u in updates {
            by_worker.entry(u.token.worker.as_str()).or_default().push(u);
        }
        for (worker, updates) in by_worker {
            let mut call = SCRIPTS.output.key(self.keys.leases());
            call.arg(self.keys.prefix()).arg(worker);
            for u in updates {
                call.arg(u.token.id.to_string()).arg(u.token.attempt).arg(&u.output).arg(u.total);
            }
            call.invoke_async::<i64>(&mut self.conn()).await.map_err(self.err())?;
        }
        Ok(())
    }

    async fn forward_due(&self, now: Timestamp) -> Result<Forwarded, BrokerError> {
        let mut total = 0;
        loop {
            let (moved, next): (usize, Option<f64>) = SCRIPTS
                .forward
                .key(self.keys.delayed())
                .arg(self.keys.prefix())
                .arg(to_ms(now))
                .invoke_async(&mut self.conn())
                .await
                .map_err(self.err())?;
            total += moved;
            let next_due = next.map(|ms| from_ms(ms as i64));
            if next_due.is_none_or(|t| t > now) {
                return Ok(Forwarded { moved: total, next_due });
            }
        }
    }

    async fn recover_expired(&self, now: Timestamp) -> Result<Vec<Recovered>, BrokerError> {
        let reply: Vec<(String, String)> = SCRIPTS
            .recover
            .key(self.keys.leases())
            .arg(self.keys.prefix())
            .arg(to_ms(now))
            .invoke_async(&mut self.conn())
            .await
            .map_err(self.err())?;
        reply
            .into_iter()
            .map(|(id, state)| {
                Ok(Recovered {
                    id: id.parse().map_err(BrokerError::Protocol)?,
                    state: state.parse().map_err(BrokerError::Protocol)?,
                })
            })
            .collect()
    }

    async fn get(&self, ids: &[JobId], _now: Timestamp) -> Result<Vec<Option<JobRecord>>, BrokerError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hgetall(self.keys.job(&id.to_string()));
        }
        let hashes: Vec<HashMap<String, String>> = pipe.query_async(&mut self.conn()).await.map_err(self.err())?;
        ids.iter().zip(hashes).map(|(id, h)| record(&id.to_string(), h)).collect()
    }

    async fn list(&self, filter: &ListFilter, _now: Timestamp) -> Result<Vec<JobRecord>, BrokerError> {
        const PAGE: isize = 200;
        let mut out = Vec::new();
        let mut start = 0isize;
        while out.len() < filter.limit {
            let ids: Vec<String> =
                self.conn().zrevrange(self.keys.index(), start, start + PAGE - 1).await.map_err(self.err())?;
            if ids.is_empty() {
                break;
            }
            start += PAGE;
            let mut pipe = redis::pipe();
            for id in &ids {
                pipe.hgetall(self.keys.job(id));
            }
            let hashes: Vec<HashMap<String, String>> = pipe.query_async(&mut self.conn()).await.map_err(self.err())?;
            for rec in ids.iter().zip(hashes).map(|(id, h)| record(id, h)) {
                let Some(rec) = rec? else { continue };
                let keep = filter.state.is_none_or(|s| s == rec.state)
                    && filter.queue.as_ref().is_none_or(|q| *q == rec.job.queue)
                    && filter.job.as_ref().is_none_or(|j| *j == rec.job.job);
                if keep && out.len() < filter.limit {
                    out.push(rec);
                }
            }
        }
        Ok(out)
    }

    async fn count_ready(&self, queues: &[QueueName], now: Timestamp) -> Result<u64, BrokerError> {
        if queues.is_empty() {
            return Ok(0);
        }
        let mut pipe = redis::pipe();
        for q in queues {
            pipe.llen(self.keys.pending(q.as_str()));
        }
        let lengths: Vec<u64> = pipe.query_async(&mut self.conn()).await.map_err(self.err())?;
        // Due but not yet forwarded jobs count too, if they belong to these queues.
        let due: Vec<String> = self
            .conn()
            .zrangebyscore_limit(self.keys.delayed(), "-inf", to_ms(now), 0, 1000)
            .await
            .map_err(self.err())?;
        let mut due_here = 0;
        if !due.is_empty() {
            let mut pipe = redis::pipe();
            for id in &due {
                pipe.hget(self.keys.job(id), "queue");
            }
            let owners: Vec<Option<String>> = pipe.query_async(&mut self.conn()).await.map_err(self.err())?;
            due_here = owners.iter().flatten().filter(|q| queues.iter().any(|mine| mine.as_str() == q.as_str())).count()
                as u64;
        }
        Ok(lengths.iter().sum::<u64>() + due_here)
    }

    async fn fire(&self, fire: &Fire<'_>, now: Timestamp) -> Result<Fired, BrokerError> {
        beat::fire(self, fire, now).await
    }

    async fn schedules(&self) -> Result<Vec<ScheduleState>, BrokerError> {
        beat::schedules(self).await
    }

    async fn schedule_outcome(&self, entry: &str, succeeded: bool, at: Timestamp) -> Result<(), BrokerError> {
        beat::schedule_outcome(self, entry, succeeded, at).await
    }

    async fn heartbeat(&self, info: &WorkerInfo, ttl: Duration, now: Timestamp) -> Result<(), BrokerError> {
        admin::heartbeat(self, info, ttl, now).await
    }

    async fn forget_worker(&self, id: &str) -> Result<(), BrokerError> {
        admin::forget_worker(self, id).await
    }

    async fn workers(&self, now: Timestamp) -> Result<Vec<WorkerInfo>, BrokerError> {
        admin::workers(self, now).await
    }

    async fn purge_expired_results(&self, now: Timestamp) -> Result<u64, BrokerError> {
        let mut total = 0;
        loop {
            let n: u64 = SCRIPTS
                .purge_results
                .key(self.keys.done())
                .arg(self.keys.prefix())
                .arg(to_ms(now))
                .invoke_async(&mut self.conn())
                .await
                .map_err(self.err())?;
            total += n;
            if n < 1000 {
                return Ok(total);
            }
        }
    }
}
