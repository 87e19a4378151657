//! The Redis broker. Each transition is one Lua script (scripts/*.lua, named
//! like the `Broker` method; lib.lua holds what several share), so it is
//! atomic and guarded by the lease. Keys are listed in `keys.rs`; how a job
//! is stored in `fields.rs`; the connection that heals itself in `link.rs`.
//! Idle workers wait on the pub/sub subscription in `wake.rs`: no polling.
//!
//! Every script reads the server's clock (`TIME`), so every host judges
//! leases, due times and expiry by one clock.

mod admin;
mod beat;
mod error;
mod fields;
mod link;
mod wake;

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use redis::Script;
use tokio::sync::Notify;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::keys::Keys;
use super::{
    Broker, BrokerError, BrokerUrl, Enqueued, Finish, Finished, Fire, Fired, Forwarded, Lease, LeaseLoss, LeaseToken,
    ListFilter, Options, OutputUpdate, Purge, Recovered, Recovery, Retried, Revoke, ScheduleState, Take, WorkerInfo,
};
use crate::job::{JobId, JobRecord, NewJob};
use crate::names::QueueName;
use crate::time::from_ms;
use error::{check_version, classify};
use fields::{Taken, job_args, ms, opt, record, taken};
use link::Link;

/// The scripts, each hashed (SHA-1, for EVALSHA) on first use only: a
/// one-shot `enqueue` process hashes its own script, not all of them.
struct Scripts {
    enqueue: LazyLock<Script>,
    dequeue: LazyLock<Script>,
    extend: LazyLock<Script>,
    finish: LazyLock<Script>,
    forward: LazyLock<Script>,
    recover: LazyLock<Script>,
    revoke: LazyLock<Script>,
    output: LazyLock<Script>,
    fire: LazyLock<Script>,
    heartbeat: LazyLock<Script>,
    retry_failed: LazyLock<Script>,
    purge: LazyLock<Script>,
    purge_results: LazyLock<Script>,
}

/// A script with lib.lua (the clock and the functions scripts share)
/// prepended.
macro_rules! with_lib {
    ($file:literal) => {
        LazyLock::new(|| {
            Script::new(concat!(include_str!("scripts/lib.lua"), include_str!(concat!("scripts/", $file))))
        })
    };
}

macro_rules! alone {
    ($file:literal) => {
        LazyLock::new(|| Script::new(include_str!(concat!("scripts/", $file))))
    };
}

static SCRIPTS: Scripts = Scripts {
    enqueue: with_lib!("enqueue.lua"),
    dequeue: with_lib!("dequeue.lua"),
    extend: with_lib!("extend.lua"),
    finish: with_lib!("finish.lua"),
    forward: with_lib!("forward.lua"),
    recover: with_lib!("recover.lua"),
    revoke: with_lib!("revoke.lua"),
    output: alone!("output.lua"),
    fire: with_lib!("fire.lua"),
    heartbeat: with_lib!("heartbeat.lua"),
    retry_failed: with_lib!("retry_failed.lua"),
    purge: alone!("purge.lua"),
    purge_results: with_lib!("purge_results.lua"),
};

/// Jobs per `enqueue.lua` call: large enough to amortise the round trip,
/// small enough not to stall the server.
const ENQUEUE_CHUNK: usize = 1000;

/// A namespace on a Redis server.
pub(super) struct RedisBroker {
    link: Link,
    keys: Keys,
    url: BrokerUrl,
    options: Options,
    /// Signalled by the wake-up subscriber.
    wake: Arc<Notify>,
    /// Started by the first `wait_for_jobs`.
    subscriber: std::sync::OnceLock<()>,
    /// Stops the subscriber when the broker is dropped.
    _subscriber: DropGuard,
    subscriber_stop: CancellationToken,
}

impl RedisBroker {
    pub(super) async fn connect(url: &BrokerUrl, ns: &str, options: Options) -> Result<RedisBroker, BrokerError> {
        let BrokerUrl::Redis { url: raw } = url else {
            return Err(BrokerError::Protocol("internal error: not a Redis URL".into()));
        };
        crate::tls::install_crypto_provider();
        let client = redis::Client::open(raw.as_str()).map_err(|e| classify(url, &e))?;
        let link = Link::connect(client, url.clone()).await?;
        // A connection is not enough: authentication and the version must do.
        let info: String = link.query(redis::cmd("INFO").arg("server")).await?;
        check_version(url, &info)?;
        let stop = CancellationToken::new();
        Ok(RedisBroker {
            link,
            keys: Keys::new(ns),
            url: url.clone(),
            options,
            wake: Arc::new(Notify::new()),
            subscriber: std::sync::OnceLock::new(),
            _subscriber: stop.clone().drop_guard(),
            subscriber_stop: stop,
        })
    }

    /// The clock shift every script takes (zero outside tests).
    fn shift(&self) -> i64 {
        self.options.shift.ms()
    }

    /// Starts the wake-up subscriber once. It keeps itself subscribed,
    /// backing off while the server refuses, so callers never wait on it.
    fn subscribe(&self) {
        self.subscriber.get_or_init(|| {
            let client = self.link.client().clone();
            let (channel, wake, stop) = (self.keys.wake(), self.wake.clone(), self.subscriber_stop.clone());
            tokio::spawn(wake::listen(client, channel, wake, stop));
        });
    }

    /// Runs `take` until the script stops asking to be called again.
    async fn take(&self, take: &Take<'_>) -> Result<Option<Lease>, BrokerError> {
        loop {
            let mut call = SCRIPTS.dequeue.key(self.keys.leases());
            call.arg(self.keys.prefix()).arg(self.shift()).arg(ms(take.lease)).arg(take.worker).arg(take.grant);
            for q in take.queues {
                call.arg(q.as_str());
            }
            let reply: redis::Value = self.link.invoke(&call).await?;
            match taken(reply, take)? {
                Taken::More => {}
                Taken::Lease(lease) => return Ok(Some(*lease)),
                Taken::Nothing => return Ok(None),
            }
        }
    }
}

#[async_trait]
impl Broker for RedisBroker {
    fn describe(&self) -> String {
        self.url.to_string()
    }

    async fn time(&self) -> Result<Timestamp, BrokerError> {
        let (secs, micros): (i64, i64) = self.link.query(&redis::cmd("TIME")).await?;
        Ok(from_ms(secs * 1000 + micros / 1000 + self.shift()))
    }

    async fn enqueue(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>, BrokerError> {
        let mut out = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(ENQUEUE_CHUNK) {
            let mut call = SCRIPTS.enqueue.key(self.keys.index());
            call.arg(self.keys.prefix()).arg(self.shift());
            for job in chunk {
                call.arg(job_args(job)?);
            }
            let reply: Vec<(String, u8)> = self.link.invoke(&call).await?;
            for (id, dup) in reply {
                out.push(Enqueued { id: id.parse().map_err(BrokerError::Protocol)?, duplicate: dup == 1 });
            }
        }
        Ok(out)
    }

    async fn dequeue(&self, take: &Take<'_>) -> Result<Option<Lease>, BrokerError> {
        self.take(take).await
    }

    async fn wait_for_jobs(&self, _queues: &[QueueName], timeout: Duration) -> Result<(), BrokerError> {
        self.subscribe();
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
        Ok(())
    }

    async fn extend_leases(
        &self,
        tokens: &[LeaseToken],
        lease: Duration,
    ) -> Result<Vec<(LeaseToken, LeaseLoss)>, BrokerError> {
        let mut lost = Vec::new();
        // One script call per worker id (a worker holds only its own).
        let mut by_worker: HashMap<&str, Vec<&LeaseToken>> = HashMap::new();
        for t in tokens {
            by_worker.entry(t.worker.as_str()).or_default().push(t);
        }
        for (worker, tokens) in by_worker {
            let mut call = SCRIPTS.extend.key(self.keys.leases());
            call.arg(self.keys.prefix()).arg(self.shift()).arg(ms(lease)).arg(worker);
            for t in &tokens {
                call.arg(t.id.to_string()).arg(t.attempt).arg(&t.grant);
            }
            let reply: Vec<(String, String, String)> = self.link.invoke(&call).await?;
            for (id, grant, why) in reply {
                let why = if why == "revoked" { LeaseLoss::Revoked } else { LeaseLoss::Lost };
                if let Some(token) = tokens.iter().find(|t| t.grant == grant && t.id.to_string() == id) {
                    lost.push(((*token).clone(), why));
                }
            }
        }
        Ok(lost)
    }

    async fn revoked(&self, ids: &[JobId]) -> Result<Vec<JobId>, BrokerError> {
        admin::revoked(self, ids).await
    }

    async fn revoke(&self, id: JobId, terminate: bool) -> Result<Revoke, BrokerError> {
        admin::revoke(self, id, terminate).await
    }

    async fn retry_failed(&self, ids: Option<&[JobId]>) -> Result<Vec<(JobId, Retried)>, BrokerError> {
        admin::retry_failed(self, ids).await
    }

    async fn count(&self, what: &Purge) -> Result<u64, BrokerError> {
        admin::count(self, what).await
    }

    async fn purge(&self, what: &Purge) -> Result<u64, BrokerError> {
        admin::purge(self, what).await
    }

    async fn finish(
        &self,
        token: &LeaseToken,
        finish: Finish,
        next: Option<Take<'_>>,
    ) -> Result<Finished, BrokerError> {
        let none = super::AttemptResult::default();
        let (kind, delay, ttl, delete, result, hook) = match &finish {
            Finish::Succeeded { result, ttl, ignore_result, hook } => {
                ("succeeded", 0, ms(*ttl), *ignore_result, result, hook.as_ref())
            }
            Finish::Failed { result, hook } => ("failed", 0, 0, false, result, hook.as_ref()),
            Finish::Retry { result, delay } => ("retrying", ms(*delay), 0, false, result, None),
            Finish::Revoked { result, ttl } => ("revoked", 0, ms(*ttl), false, result, None),
            Finish::Requeue => ("requeue", 0, 0, false, &none, None),
        };
        let hook = hook.map(job_args).transpose()?.unwrap_or_default();
        let retention = self.options.retention;
        let mut call = SCRIPTS.finish.key(self.keys.leases());
        call.arg(self.keys.prefix())
            .arg(self.shift())
            .arg(token.id.to_string())
            .arg(&token.worker)
            .arg(&token.grant)
            .arg(kind)
            .arg(delay)
            .arg(ttl.max(1))
            .arg(if delete { "1" } else { "0" })
            .arg(opt(result.duration.map(ms)))
            .arg(ms(result.ended_ago))
            .arg(opt(result.exit_code))
            .arg(opt(result.http_status))
            .arg(result.error.clone().unwrap_or_default())
            .arg(&result.output)
            .arg(result.output_total)
            .arg(next.map_or(0, |t| ms(t.lease)))
            .arg(next.map_or("", |t| t.grant))
            .arg(retention.failed_max)
            .arg(ms(retention.failed_ttl));
        call.arg(hook.len()).arg(hook);
        for q in next.map_or(&[][..], |t| t.queues) {
            call.arg(q.as_str());
        }
        let reply: Vec<redis::Value> = self.link.invoke(&call).await?;
        let mut reply = reply.into_iter();
        let mut int = || -> Result<u64, BrokerError> {
            reply
                .next()
                .map(redis::from_redis_value)
                .transpose()
                .map_err(|e| BrokerError::Protocol(format!("finish: {e}")))
                .map(Option::unwrap_or_default)
        };
        let (recorded, dropped) = (int()?, int()?);
        let mut next_job = None;
        if let Some(take) = next {
            match reply.next().map(|v| taken(v, &take)).transpose()? {
                Some(Taken::Lease(lease)) => next_job = Some(*lease),
                Some(Taken::More) => next_job = self.take(&take).await?,
                Some(Taken::Nothing) | None => {}
            }
        }
        Ok(Finished { recorded: recorded == 1, dropped, next: next_job })
    }

    async fn update_output(&self, updates: &[OutputUpdate]) -> Result<(), BrokerError> {
        if updates.is_empty() {
            return Ok(());
        }
        let mut call = SCRIPTS.output.key(self.keys.leases());
        call.arg(self.keys.prefix());
        for u in updates {
            call.arg(u.token.id.to_string()).arg(&u.token.grant).arg(&u.output).arg(u.total);
        }
        self.link.invoke::<i64>(&call).await?;
        Ok(())
    }

    async fn forward_due(&self) -> Result<Forwarded, BrokerError> {
        let mut total = 0;
        loop {
            let mut call = SCRIPTS.forward.key(self.keys.delayed());
            call.arg(self.keys.prefix()).arg(self.shift());
            let (moved, next, now): (usize, String, i64) = self.link.invoke(&call).await?;
            total += moved;
            let next_due = next.parse::<f64>().ok().map(|ms| from_ms(ms as i64));
            if next_due.is_none_or(|t| t > from_ms(now)) {
                return Ok(Forwarded { moved: total, next_due });
            }
        }
    }

    async fn recover_expired(&self) -> Result<Recovery, BrokerError> {
        let retention = self.options.retention;
        let mut call = SCRIPTS.recover.key(self.keys.leases());
        call.arg(self.keys.prefix()).arg(self.shift()).arg(retention.failed_max).arg(ms(retention.failed_ttl));
        let reply: Vec<redis::Value> = self.link.invoke(&call).await?;
        let protocol = |e: redis::ParsingError| BrokerError::Protocol(format!("recover: {e}"));
        let mut reply = reply.into_iter();
        let dropped: u64 = reply.next().map(redis::from_redis_value).transpose().map_err(protocol)?.unwrap_or(0);
        let mut jobs = Vec::new();
        while let (Some(id), Some(state)) = (reply.next(), reply.next()) {
            let id: String = redis::from_redis_value(id).map_err(protocol)?;
            let state: String = redis::from_redis_value(state).map_err(protocol)?;
            jobs.push(Recovered {
                id: id.parse().map_err(BrokerError::Protocol)?,
                state: state.parse().map_err(BrokerError::Protocol)?,
            });
        }
        Ok(Recovery { jobs, dropped })
    }

    async fn get(&self, ids: &[JobId]) -> Result<Vec<Option<JobRecord>>, BrokerError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut pipe = redis::pipe();
        for id in ids {
            pipe.hgetall(self.keys.job(&id.to_string()));
        }
        let hashes: Vec<HashMap<String, String>> = self.link.pipe(&pipe).await?;
        ids.iter().zip(hashes).map(|(id, h)| record(&id.to_string(), h)).collect()
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<JobRecord>, BrokerError> {
        const PAGE: isize = 200;
        let mut out = Vec::new();
        let mut start = 0isize;
        while out.len() < filter.limit {
            let ids: Vec<String> = self
                .link
                .query(redis::cmd("ZREVRANGE").arg(self.keys.index()).arg(start).arg(start + PAGE - 1))
                .await?;
            if ids.is_empty() {
                break;
            }
            start += PAGE;
            let mut pipe = redis::pipe();
            for id in &ids {
                pipe.hgetall(self.keys.job(id));
            }
            let hashes: Vec<HashMap<String, String>> = self.link.pipe(&pipe).await?;
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

    async fn count_ready(&self, queues: &[QueueName]) -> Result<u64, BrokerError> {
        admin::count_ready(self, queues).await
    }

    async fn fire(&self, fire: &Fire<'_>) -> Result<Fired, BrokerError> {
        beat::fire(self, fire).await
    }

    async fn schedules(&self) -> Result<Vec<ScheduleState>, BrokerError> {
        beat::schedules(self).await
    }

    async fn heartbeat(&self, info: &WorkerInfo) -> Result<Timestamp, BrokerError> {
        admin::heartbeat(self, info).await
    }

    async fn forget_worker(&self, id: &str) -> Result<(), BrokerError> {
        admin::forget_worker(self, id).await
    }

    async fn workers(&self) -> Result<Vec<WorkerInfo>, BrokerError> {
        admin::workers(self).await
    }

    async fn purge_expired_results(&self) -> Result<u64, BrokerError> {
        let mut total = 0;
        loop {
            let mut call = SCRIPTS.purge_results.key(self.keys.done());
            call.arg(self.keys.prefix()).arg(self.shift());
            let n: u64 = self.link.invoke(&call).await?;
            total += n;
            if n < 1000 {
                return Ok(total);
            }
        }
    }
}
