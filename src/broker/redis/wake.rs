//! Wake-ups for idle workers: a subscription to `{ns}:wake`, which the
//! scripts publish to whenever a queue gains a job. It lives on its own
//! connection (a subscription cannot share the multiplexed one commands use),
//! survives lost connections, and backs off while the server refuses it (an
//! ACL user without channel rights): idle workers then look every second,
//! which is slower but never stops work.
//!
//! The same messages tell a busy worker which queues to skip: each queue is
//! its own slot, so a take across queues asks them one call at a time, and a
//! queue a take found empty is not asked again until a message names it
//! (or `EMPTY_HINT` has passed). Only while the
//! subscription is up, and only if no message named the queue while the
//! take that found it empty was under way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;

use super::target::Target;
use crate::backoff::Backoff;

/// Subscribes to `channel` and forwards its messages to `wake` until `stop`,
/// resubscribing after a lost connection or a refusal, and waking once after
/// each (messages may have been missed meanwhile).
pub(super) async fn listen(
    target: Arc<Target>,
    mut switches: watch::Receiver<u64>,
    channel: String,
    wake: Arc<Wakes>,
    stop: CancellationToken,
) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(30));
    let mut failing = false;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let attempt = async {
            let client = target.subscriber(attempts).await?;
            let mut ps = client.get_async_pubsub().await?;
            ps.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(ps)
        };
        let subscribed = tokio::select! {
            () = stop.cancelled() => return,
            result = attempt => result,
        };
        match subscribed {
            Ok(ps) => {
                if failing {
                    tracing::info!("wake-up subscription restored");
                    failing = false;
                }
                backoff.reset();
                wake.live(true);
                let mut stream = ps.into_on_message();
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        msg = stream.next() => match msg {
                            Some(msg) => wake.heard(&String::from_utf8_lossy(msg.get_payload_bytes())),
                            None => break,
                        },
                        // The Sentinels switched the master: subscribe there.
                        () = switched(&mut switches) => break,
                    }
                }
                wake.live(false);
                tracing::warn!("lost the wake-up subscription; resubscribing");
            }
            Err(e) => {
                if !failing {
                    tracing::warn!(
                        error = %e,
                        "cannot subscribe to wake-ups; idle workers look for jobs every second meanwhile"
                    );
                    failing = true;
                }
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(backoff.pause()) => {}
        }
    }
}

/// Resolves when the master has been switched; never, where nothing switches.
async fn switched(switches: &mut watch::Receiver<u64>) {
    if switches.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// How long a queue found empty is skipped without a message naming it.
/// Every script that gives a queue a job publishes it, and a message can
/// be missed only while the subscription is down, which clears the hints;
/// this bounds the cost of one missed anyway.
const EMPTY_HINT: Duration = Duration::from_secs(10);

/// What the subscription has told: a wake-up for idle workers, and which
/// queues takes may skip.
#[derive(Default)]
pub(super) struct Wakes {
    notify: Notify,
    state: Mutex<Heard>,
}

#[derive(Default)]
struct Heard {
    /// Whether the subscription is up (a message could be missed otherwise).
    live: bool,
    /// Bumped whenever the subscription comes or goes.
    generation: u64,
    /// Messages per queue, counted.
    named: HashMap<String, u64>,
    /// Queues a take found empty, and when.
    empty: HashMap<String, Instant>,
}

impl Heard {
    /// Counts a message (or a change of this worker's) naming `queue`, which
    /// may then have jobs; done for every job: the name is copied only the
    /// first time.
    fn note(&mut self, queue: &str) {
        match self.named.get_mut(queue) {
            Some(n) => *n += 1,
            None => {
                self.named.insert(queue.to_string(), 1);
            }
        }
        self.empty.remove(queue);
    }
}

/// What a take notes before asking a queue (`Wakes::before`).
#[derive(PartialEq, Eq)]
pub(super) struct Stamp(u64, u64);

impl Wakes {
    /// Resolves at the next message (or subscription), or never.
    pub(super) async fn notified(&self) {
        self.notify.notified().await;
    }

    fn state(&self) -> std::sync::MutexGuard<'_, Heard> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn live(&self, up: bool) {
        let mut s = self.state();
        s.live = up;
        s.generation += 1;
        s.empty.clear();
        drop(s);
        // messages may have been missed meanwhile
        self.notify.notify_one();
    }

    /// This process ran a script that may have given `queue` a job: its
    /// message may come after the next take, which must not skip it.
    pub(super) fn touched(&self, queue: &str) {
        let mut s = self.state();
        s.note(queue);
    }

    fn heard(&self, queue: &str) {
        let mut s = self.state();
        s.note(queue);
        drop(s);
        self.notify.notify_one();
    }

    /// Whether `queue` may have a job: not found empty lately.
    pub(super) fn may_have_jobs(&self, queue: &str) -> bool {
        self.state().empty.get(queue).is_none_or(|at| at.elapsed() >= EMPTY_HINT)
    }

    /// Noted before a take asks `queue`.
    pub(super) fn before(&self, queue: &str) -> Stamp {
        let s = self.state();
        Stamp(s.generation, s.named.get(queue).copied().unwrap_or(0))
    }

    /// A take found `queue` empty: skip it, unless a message named it since
    /// `stamp` or the subscription is not there to tell when it gains one.
    pub(super) fn found_empty(&self, queue: &str, stamp: &Stamp) {
        let mut s = self.state();
        if s.live && *stamp == Stamp(s.generation, s.named.get(queue).copied().unwrap_or(0)) {
            s.empty.insert(queue.to_string(), Instant::now());
        }
    }
}
