//! The Redis broker. Each transition is one Lua script (scripts/*.lua, named
//! like the `Broker` method; lib.lua holds what several share), so it is
//! atomic and guarded by the lease. A script works on one queue (its keys
//! share the queue's slot, `keys.rs`); what spans queues (the registry of
//! queues, unique keys, hook jobs, the failed set's bound) is done in steps
//! that are safe to repeat (`queues.rs`, `unique.rs`, `outbox.rs`). How a
//! job is stored is in `fields.rs`; the connection that heals itself in
//! `link.rs`. Idle workers wait on the pub/sub subscription in `wake.rs`.
//!
//! Every script reads the server's clock (`TIME`), so every host judges
//! leases, due times and expiry by one clock.

mod admin;
mod beat;
mod call;
mod error;
mod fields;
mod finishes;
mod layout;
mod link;
mod outbox;
mod queues;
mod reads;
mod runs;
mod script;
mod switches;
mod target;
mod transitions;
mod unique;
mod wake;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use tokio_util::sync::{CancellationToken, DropGuard};

use super::keys::Keys;
use super::{
    Broker, BrokerError, BrokerUrl, Enqueued, Finish, Finished, Fire, Fired, Forwarded, Lease, LeaseLoss, LeaseToken,
    ListFilter, NewRun, Options, OutputUpdate, Purge, Recovery, Retried, Revoke, RunRecord, RunState, ScheduleState,
    StepReport, Take, Tombstone, WorkerInfo,
};
use crate::flow::StepResult;
use crate::job::{IdPrefix, JobId, JobRecord, NewJob};
use crate::names::{JobName, QueueName};
use crate::time::from_ms;
use call::BULK_BATCH;
use error::{check_version, classify};
use fields::{Taken, ms, taken};
use link::Link;
use script::Script;

/// The scripts, each with the SHA-1 `EVALSHA` names it by (hashed at
/// build time: script.rs).
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
    heartbeat: Script,
    retry_failed: Script,
    purge: Script,
    purge_results: Script,
    time: Script,
    read: Script,
    migrate: Script,
    migrate_entries: Script,
    schedules: Script,
    claim: Script,
    settle: Script,
    export: Script,
    import: Script,
    drop: Script,
    old_entries: Script,
    renew: Script,
    runs: Script,
    outcome: Script,
    stats: Script,
}

/// A queue's script: common.lua (the clock) and lib.lua (the queue's keys
/// and the functions its scripts share) prepended.
macro_rules! with_lib {
    ($file:literal) => {
        Script::new(
            concat!(
                include_str!("scripts/common.lua"),
                include_str!("scripts/lib.lua"),
                include_str!(concat!("scripts/", $file))
            ),
            "lib",
            $file,
        )
    };
}

/// A script of the namespace's slot: common.lua prepended.
macro_rules! with_common {
    ($file:literal) => {
        Script::new(
            concat!(include_str!("scripts/common.lua"), include_str!(concat!("scripts/", $file))),
            "common",
            $file,
        )
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
    heartbeat: with_common!("heartbeat.lua"),
    retry_failed: with_lib!("retry_failed.lua"),
    purge: with_lib!("purge.lua"),
    purge_results: with_lib!("purge_results.lua"),
    time: with_common!("time.lua"),
    read: with_lib!("read.lua"),
    migrate: with_common!("migrate.lua"),
    migrate_entries: with_common!("migrate_entries.lua"),
    schedules: with_lib!("schedules.lua"),
    claim: with_common!("claim.lua"),
    settle: with_common!("settle.lua"),
    export: with_common!("export.lua"),
    import: with_lib!("import.lua"),
    drop: with_common!("drop.lua"),
    old_entries: with_common!("old_entries.lua"),
    renew: with_common!("renew.lua"),
    runs: with_common!("runs.lua"),
    outcome: with_lib!("outcome.lua"),
    stats: with_lib!("stats.lua"),
};

/// A namespace on a Redis server.
pub(super) struct RedisBroker {
    link: Link,
    keys: Keys,
    url: BrokerUrl,
    options: Options,
    /// What the wake-up subscriber heard.
    wake: Arc<wake::Wakes>,
    /// Started by the first `wait_for_jobs`.
    subscriber: std::sync::OnceLock<()>,
    /// Stops the subscriber when the broker is dropped.
    _subscriber: DropGuard,
    subscriber_stop: CancellationToken,
    /// The queues this process knows of (`queues.rs`).
    queues: queues::Known,
    /// Per grant whose take may have lost its reply, the queue it asked:
    /// asked again, that queue is asked first, so the job it may have
    /// taken is handed over instead of leased to nobody.
    asked: std::sync::Mutex<HashMap<String, String>>,
    /// Finish calls under way per queue, and the finishes waiting to go
    /// with the next (`finishes.rs`).
    finishes: finishes::Finishes,
    /// Whether beat's state kept by taskq before 0.2 may be left to move
    /// (`beat.rs`); set by `layout.rs`.
    old_entries: std::sync::atomic::AtomicBool,
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
        let keys = Keys::new(ns);
        // A connection is not enough: authentication and the version must do.
        // A cluster client asks every master and answers with a map of them.
        // One server is asked for the key layout's mark in the same round
        // trip (a one-shot `enqueue` pays each round trip).
        let cluster = matches!(parsed.topology, crate::broker::Topology::Cluster(_));
        let (info, mark): (redis::Value, Option<layout::Mark>) = if cluster {
            (link.query(redis::cmd("INFO").arg("server")).await.map_err(not_redis)?, None)
        } else {
            let mut pipe = layout::read_mark(&keys);
            pipe.cmd("INFO").arg("server");
            match link.pipe(&pipe).await {
                Ok((marked, old_entries, info)) => (info, Some(layout::Mark { marked, old_entries })),
                // Asked alone, INFO tells what is wrong, if it answers (a
                // Cluster node answers the mark's GET with MOVED); the mark
                // is then read again, as a refusal of it would say.
                Err(_) => (link.query(redis::cmd("INFO").arg("server")).await.map_err(not_redis)?, None),
            }
        };
        let texts: Vec<String> = match info {
            redis::Value::Map(nodes) => nodes.into_iter().map(|(_, text)| text).collect(),
            one => vec![one],
        }
        .into_iter()
        .map(|v| redis::from_redis_value(v).map_err(|e| not_redis(BrokerError::Protocol(format!("INFO: {e}")))))
        .collect::<Result<_, _>>()?;
        for text in &texts {
            check_version(url, text)?;
            // A plain URL at a cluster node reaches only the slots that node
            // holds (a queue elsewhere answers MOVED): refused from the start.
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
            keys,
            url: url.clone(),
            options,
            wake: Arc::default(),
            subscriber: std::sync::OnceLock::new(),
            _subscriber: stop.clone().drop_guard(),
            subscriber_stop: stop,
            queues: queues::Known::default(),
            asked: std::sync::Mutex::default(),
            finishes: finishes::Finishes::default(),
            old_entries: std::sync::atomic::AtomicBool::new(false),
        };
        layout::ensure(&broker, mark).await?;
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

    /// Takes a job from the first queue of `take` that has one, in order
    /// (one script call per queue: each is its own slot), skipping the
    /// queues found empty lately (`wake.rs`).
    async fn take(&self, take: &Take<'_>) -> Result<Option<Lease>, BrokerError> {
        self.subscribe();
        let mut order: Vec<&str> =
            take.queues.iter().map(QueueName::as_str).filter(|q| self.wake.may_have_jobs(q)).collect();
        let asked = lock(&self.asked).get(take.grant).cloned();
        if let Some(at) = order.iter().position(|q| Some(*q) == asked.as_deref()) {
            let q = order.remove(at);
            order.insert(0, q);
        }
        self.take_in(&order, take).await
    }

    /// Takes a job from the first of `queues` that has one.
    async fn take_in(&self, queues: &[&str], take: &Take<'_>) -> Result<Option<Lease>, BrokerError> {
        for q in queues {
            self.queues.serve(q);
            let stamp = self.wake.before(q);
            {
                let mut asked = lock(&self.asked);
                // grants given up on (a worker that stopped retrying) go too
                if asked.len() >= 10_000 {
                    asked.clear();
                }
                asked.insert(take.grant.to_string(), (*q).to_string());
            }
            let mut call = self.script(&SCRIPTS.dequeue, q);
            call.arg(ms(take.lease)).arg(take.worker).arg(take.grant);
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
            if lease.is_some() {
                lock(&self.asked).remove(take.grant);
                return Ok(lease);
            }
            self.wake.found_empty(q, &stamp);
        }
        lock(&self.asked).remove(take.grant);
        Ok(None)
    }
}

/// A std mutex's guard; a panic elsewhere while it was held changes nothing
/// here (the maps stay consistent between statements).
fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[async_trait]
impl Broker for RedisBroker {
    fn describe(&self) -> String {
        self.url.to_string()
    }

    async fn time(&self) -> Result<Timestamp, BrokerError> {
        let (secs, micros): (i64, i64) =
            self.link.invoke(&self.ns_script(&SCRIPTS.time, &[self.keys.workers()])).await?;
        Ok(from_ms(secs * 1000 + micros / 1000 + self.shift()))
    }

    async fn enqueue(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>, BrokerError> {
        unique::enqueue(self, jobs).await
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
        // One script call per queue and worker id (a worker holds only its own).
        let mut by_run: HashMap<(&str, &str), Vec<&LeaseToken>> = HashMap::new();
        for t in tokens {
            by_run.entry((t.queue.as_str(), t.worker.as_str())).or_default().push(t);
        }
        for ((queue, worker), tokens) in by_run {
            let mut call = self.script(&SCRIPTS.extend, queue);
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

    async fn revoked(&self, runs: &[LeaseToken]) -> Result<Vec<JobId>, BrokerError> {
        admin::revoked(self, runs).await
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

    async fn tombstones(&self, ids: &[JobId]) -> Result<Vec<Option<Tombstone>>, BrokerError> {
        reads::tombstones(self, ids).await
    }

    async fn find_ids(&self, prefix: &IdPrefix, limit: usize) -> Result<Vec<JobId>, BrokerError> {
        reads::find_ids(self, prefix, limit).await
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

    async fn schedule_outcome(&self, entry: &str, queue: &QueueName, succeeded: bool) -> Result<(), BrokerError> {
        let mut call = self.script(&SCRIPTS.outcome, queue.as_str());
        call.arg(entry).arg(if succeeded { "1" } else { "0" });
        let _: i64 = self.link.invoke(&call).await?;
        Ok(())
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

    async fn pause(&self, entry: &str, paused: bool) -> Result<bool, BrokerError> {
        beat::pause(self, entry, paused).await
    }

    async fn paused(&self) -> Result<Vec<(String, Timestamp)>, BrokerError> {
        beat::paused(self).await
    }

    async fn define(
        &self,
        beat: &str,
        defs: &[(String, String)],
        ttl: Duration,
    ) -> Result<Vec<super::Definition>, BrokerError> {
        beat::define(self, beat, defs, ttl).await
    }

    async fn definitions(&self) -> Result<Vec<super::Definition>, BrokerError> {
        beat::definitions(self).await
    }

    async fn job_stats(&self) -> Result<Vec<super::stats::JobStats>, BrokerError> {
        admin::job_stats(self).await
    }

    async fn purge_expired_results(&self) -> Result<u64, BrokerError> {
        let mut total = 0;
        for q in self.queues.all(self).await? {
            let call = self.script(&SCRIPTS.purge_results, &q);
            self.drain(&call, |n: u64| {
                total += n;
                Ok(n == BULK_BATCH)
            })
            .await?;
        }
        runs::purge(self).await?;
        Ok(total)
    }

    async fn start_run(&self, run: &NewRun) -> Result<bool, BrokerError> {
        runs::start(self, run).await
    }

    async fn advance(&self, report: &StepReport) -> Result<(), BrokerError> {
        runs::advance(self, report).await
    }

    async fn launched(&self, run: JobId, step: u32, ids: &[JobId]) -> Result<(), BrokerError> {
        runs::launched(self, run, step, ids).await
    }

    async fn get_runs(&self, ids: &[JobId]) -> Result<Vec<Option<RunRecord>>, BrokerError> {
        runs::get(self, ids).await
    }

    async fn run_state(&self, id: JobId) -> Result<Option<RunState>, BrokerError> {
        runs::state(self, id).await
    }

    async fn step_results(&self, run: JobId, step: u32) -> Result<Vec<StepResult>, BrokerError> {
        runs::results(self, run, step).await
    }

    async fn revoke_run(&self, id: JobId) -> Result<Option<RunRecord>, BrokerError> {
        runs::revoke(self, id).await
    }

    async fn settle_run(&self, id: JobId) -> Result<(), BrokerError> {
        runs::settle(self, id).await
    }

    async fn open_runs(&self, idle: Duration, limit: usize) -> Result<Vec<JobId>, BrokerError> {
        runs::open(self, idle, limit).await
    }

    async fn count_runs(&self) -> Result<Vec<(JobName, RunState, u64)>, BrokerError> {
        runs::count(self).await
    }

    async fn list_runs(&self, workflow: Option<&JobName>, limit: usize) -> Result<Vec<RunRecord>, BrokerError> {
        runs::list(self, workflow, limit).await
    }
}
