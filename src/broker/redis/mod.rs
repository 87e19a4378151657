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
mod call;
mod error;
mod fields;
mod layout;
mod link;
mod reads;
mod switches;
mod target;
mod transitions;
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
    ListFilter, Options, OutputUpdate, Purge, Recovery, Retried, Revoke, ScheduleState, Take, WorkerInfo,
};
use crate::job::{JobId, JobRecord, NewJob};
use crate::names::QueueName;
use crate::time::from_ms;
use call::BULK_BATCH;
use error::{check_version, classify};
use fields::{Taken, job_args, ms, taken};
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
    time: LazyLock<Script>,
    read: LazyLock<Script>,
    migrate: LazyLock<Script>,
    migrate_entries: LazyLock<Script>,
    schedules: LazyLock<Script>,
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
    output: with_lib!("output.lua"),
    fire: with_lib!("fire.lua"),
    heartbeat: with_lib!("heartbeat.lua"),
    retry_failed: with_lib!("retry_failed.lua"),
    purge: with_lib!("purge.lua"),
    purge_results: with_lib!("purge_results.lua"),
    time: alone!("time.lua"),
    read: with_lib!("read.lua"),
    migrate: with_lib!("migrate.lua"),
    migrate_entries: with_lib!("migrate_entries.lua"),
    schedules: with_lib!("schedules.lua"),
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
        let BrokerUrl::Redis { url: parsed, .. } = url else {
            return Err(BrokerError::Protocol("internal error: not a Redis URL".into()));
        };
        crate::tls::install_crypto_provider();
        let target = target::Target::new(parsed).map_err(|reason| BrokerError::Unavailable {
            url: url.to_string(),
            reason,
            hint: "check the URL's ca=, cert= and key= files",
        })?;
        // Something that is not Redis at that address answers with what the
        // client cannot read: that is the address's fault, not a bug.
        let not_redis = |e: BrokerError| match e {
            BrokerError::Protocol(_) => BrokerError::Unavailable {
                url: url.to_string(),
                reason: "the server does not answer as Redis does".into(),
                hint: "check the host and port in the broker URL",
            },
            other => other,
        };
        let link = Link::connect(target, url.clone()).await.map_err(not_redis)?;
        // A connection is not enough: authentication and the version must do.
        // A cluster client asks every master and answers with a map of them.
        let info: redis::Value = link.query(redis::cmd("INFO").arg("server")).await.map_err(not_redis)?;
        let texts: Vec<String> = match info {
            redis::Value::Map(nodes) => nodes.into_iter().map(|(_, text)| text).collect(),
            one => vec![one],
        }
        .into_iter()
        .map(|v| redis::from_redis_value(v).map_err(|e| not_redis(BrokerError::Protocol(format!("INFO: {e}")))))
        .collect::<Result<_, _>>()?;
        for text in &texts {
            check_version(url, text)?;
            // A plain URL at a cluster node works until the first failover
            // or resharding moves the namespace's slot: refused from the start.
            if !matches!(parsed.topology, crate::broker::Topology::Cluster(_)) && text.contains("redis_mode:cluster") {
                return Err(BrokerError::Unavailable {
                    url: url.to_string(),
                    reason: "the server is a Redis Cluster node".into(),
                    hint: "use a redis+cluster:// URL naming some of its nodes",
                });
            }
        }
        let stop = CancellationToken::new();
        let broker = RedisBroker {
            link,
            keys: Keys::new(ns),
            url: url.clone(),
            options,
            wake: Arc::new(Notify::new()),
            subscriber: std::sync::OnceLock::new(),
            _subscriber: stop.clone().drop_guard(),
            subscriber_stop: stop,
        };
        layout::ensure(&broker).await?;
        Ok(broker)
    }

    /// The clock shift every script takes (zero outside tests).
    fn shift(&self) -> i64 {
        self.options.shift.ms()
    }

    /// Starts the wake-up subscriber once. It keeps itself subscribed,
    /// backing off while the server refuses, so callers never wait on it.
    fn subscribe(&self) {
        self.subscriber.get_or_init(|| {
            let (target, switches) = (self.link.target().clone(), self.link.switches());
            let (channel, wake, stop) = (self.keys.wake(), self.wake.clone(), self.subscriber_stop.clone());
            tokio::spawn(wake::listen(target, switches, channel, wake, stop));
        });
    }

    /// Runs `take` until the script stops asking to be called again.
    async fn take(&self, take: &Take<'_>) -> Result<Option<Lease>, BrokerError> {
        let mut call = self.script(&SCRIPTS.dequeue, self.keys.leases());
        call.arg(ms(take.lease)).arg(take.worker).arg(take.grant);
        for q in take.queues {
            call.arg(q.as_str());
        }
        let mut lease = None;
        self.drain(&call, |reply| match taken(reply, take)? {
            Taken::More => Ok(true),
            Taken::Lease(found) => {
                lease = Some(*found);
                Ok(false)
            }
            Taken::Nothing => Ok(false),
        })
        .await?;
        Ok(lease)
    }
}

#[async_trait]
impl Broker for RedisBroker {
    fn describe(&self) -> String {
        self.url.to_string()
    }

    async fn time(&self) -> Result<Timestamp, BrokerError> {
        let (secs, micros): (i64, i64) = self.link.invoke(&SCRIPTS.time.key(self.keys.workers())).await?;
        Ok(from_ms(secs * 1000 + micros / 1000 + self.shift()))
    }

    async fn enqueue(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>, BrokerError> {
        let mut out = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(ENQUEUE_CHUNK) {
            let mut call = self.script(&SCRIPTS.enqueue, self.keys.index());
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
            let mut call = self.script(&SCRIPTS.extend, self.keys.leases());
            call.arg(ms(lease)).arg(worker);
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
        transitions::finish(self, token, finish, next).await
    }

    async fn update_output(&self, updates: &[OutputUpdate]) -> Result<(), BrokerError> {
        transitions::update_output(self, updates).await
    }

    async fn forward_due(&self) -> Result<Forwarded, BrokerError> {
        transitions::forward_due(self).await
    }

    async fn recover_expired(&self) -> Result<Recovery, BrokerError> {
        transitions::recover_expired(self).await
    }

    async fn get(&self, ids: &[JobId]) -> Result<Vec<Option<JobRecord>>, BrokerError> {
        reads::get(self, ids).await
    }

    async fn list(&self, filter: &ListFilter) -> Result<Vec<JobRecord>, BrokerError> {
        reads::list(self, filter).await
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
        let call = self.script(&SCRIPTS.purge_results, self.keys.done());
        let mut total = 0;
        self.drain(&call, |n: u64| {
            total += n;
            Ok(n == BULK_BATCH)
        })
        .await?;
        Ok(total)
    }
}
