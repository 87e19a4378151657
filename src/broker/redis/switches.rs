//! Following a Sentinel failover as it happens. A new connection asks the
//! Sentinels for the master, but an open one stays where it is; and a
//! failover ordered while the master is up (`SENTINEL FAILOVER`) leaves it
//! taking writes until it is made a replica, seconds after its replica was
//! promoted, which throws them away: taken jobs run again, fired ticks and
//! enqueues are lost. So every Sentinel's events are heard:
//!
//! - `+failover-state-send-slaveof-noone` (a replica of our master is about
//!   to be promoted): calls wait, up to `HOLD`, as a write now would land on
//!   a master about to be left behind;
//! - `+promoted-slave`: calls go to the promoted replica at once, before the
//!   Sentinels report it as the master;
//! - `+switch-master`: the Sentinels report the new master: calls ask them
//!   again, and the wake-up subscription moves too;
//! - `-failover-abort-*`: calls go on where they were.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::{Mutex, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::target::{Conn, SentinelTarget, Target};
use crate::backoff::Backoff;
use crate::broker::Node;

/// The longest calls wait for a failover to promote a replica.
const HOLD: Duration = Duration::from_secs(10);

/// The connection a `Link` uses, with its generation.
pub(super) type Current = Arc<Mutex<(u64, Option<Conn>)>>;

/// What a failover in progress means to a link's callers.
#[derive(Debug)]
pub(super) struct Failover {
    /// Until when calls wait (a promotion under way), or `None`.
    held: watch::Sender<Option<Instant>>,
    /// Bumped whenever the master changes: a subscription moves too.
    switches: watch::Sender<u64>,
    /// The last `+switch-master` heard: every Sentinel announces it.
    last_switch: std::sync::Mutex<String>,
}

impl Failover {
    pub(super) fn new() -> Arc<Failover> {
        Arc::new(Failover {
            held: watch::channel(None).0,
            switches: watch::channel(0).0,
            last_switch: std::sync::Mutex::new(String::new()),
        })
    }

    /// Waits while a promotion is under way (at most until its deadline).
    pub(super) async fn wait(&self) {
        let mut held = self.held.subscribe();
        loop {
            let Some(until) = *held.borrow_and_update() else { return };
            if Instant::now() >= until {
                return;
            }
            tokio::select! {
                _ = held.changed() => {}
                () = tokio::time::sleep_until(until) => return,
            }
        }
    }

    pub(super) fn switches(&self) -> watch::Receiver<u64> {
        self.switches.subscribe()
    }
}

/// Until `stop`, for a Sentinel target: hears every Sentinel's failover
/// events for our master and moves the link's calls as the module says.
pub(super) async fn follow(target: Arc<Target>, current: Current, failover: Arc<Failover>, stop: CancellationToken) {
    let Target::Sentinel(sentinels) = &*target else { return };
    let listeners = sentinels.sentinels.iter().map(|client| listen(client, sentinels, &current, &failover, &stop));
    futures_util::future::join_all(listeners).await;
}

/// The event channels heard, as patterns.
const EVENTS: [&str; 4] =
    ["+failover-state-send-slaveof-noone", "+promoted-slave", "+switch-master", "-failover-abort-*"];

async fn listen(
    client: &redis::Client,
    target: &SentinelTarget,
    current: &Current,
    failover: &Failover,
    stop: &CancellationToken,
) {
    let mut backoff = Backoff::new(Duration::from_millis(100), Duration::from_secs(5));
    let mut first = true;
    loop {
        let attempt = async {
            let mut ps = client.get_async_pubsub().await?;
            for pattern in EVENTS {
                ps.psubscribe(pattern).await?;
            }
            Ok::<_, redis::RedisError>(ps)
        };
        let subscribed = tokio::select! {
            () = stop.cancelled() => return,
            result = attempt => result,
        };
        if let Ok(ps) = subscribed {
            backoff.reset();
            // A switch may have gone unheard while this Sentinel was out of reach.
            if !std::mem::take(&mut first) {
                drop_connection(current, failover).await;
            }
            let mut messages = ps.into_on_message();
            loop {
                tokio::select! {
                    () = stop.cancelled() => return,
                    msg = messages.next() => match msg {
                        Some(msg) => {
                            let payload: String = msg.get_payload().unwrap_or_default();
                            heard(msg.get_channel_name(), &payload, target, current, failover).await;
                        }
                        None => break,
                    },
                }
            }
        }
        tokio::select! {
            () = stop.cancelled() => return,
            () = tokio::time::sleep(backoff.pause()) => {}
        }
    }
}

/// Acts on one event, if it is about our master.
async fn heard(event: &str, payload: &str, target: &SentinelTarget, current: &Current, failover: &Failover) {
    let words: Vec<&str> = payload.split(' ').collect();
    if master_of(&words) != Some(target.master.as_str()) {
        return;
    }
    match event {
        "+failover-state-send-slaveof-noone" => {
            tracing::info!(master = %target.master, "a failover is promoting a replica; calls wait for it");
            failover.held.send_replace(Some(Instant::now() + HOLD));
        }
        "+promoted-slave" => {
            // "slave <ip:port> <ip> <port> @ <master> <ip> <port>"
            let Some(port) = words.get(3).and_then(|p| p.parse().ok()) else { return };
            let node = Node { host: words[2].to_string(), port };
            tracing::info!(master = %target.master, to = %format!("{}:{}", node.host, node.port), "following the promoted replica");
            *target.promoted.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(node);
            drop_connection(current, failover).await;
            failover.held.send_replace(None);
        }
        "+switch-master" => {
            let had = target.promoted.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
            let news = {
                let mut last = failover.last_switch.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                std::mem::replace(&mut *last, payload.to_string()) != payload
            };
            if !news && had.is_none() {
                return;
            }
            if news {
                tracing::info!(master = %target.master, to = %words[3..].join(":"), "the Sentinels switched the master; following");
            }
            drop_connection(current, failover).await;
            failover.held.send_replace(None);
        }
        _ => {
            tracing::warn!(master = %target.master, %event, "a failover was abandoned; calls go on");
            failover.held.send_replace(None);
        }
    }
}

/// The master an event is about: after "@" for a replica's events, the
/// second word for a master's, the first for `+switch-master`.
fn master_of<'a>(words: &[&'a str]) -> Option<&'a str> {
    match words.iter().position(|w| *w == "@") {
        Some(at) => words.get(at + 1).copied(),
        None if words.first() == Some(&"master") => words.get(1).copied(),
        None => words.first().copied(),
    }
}

async fn drop_connection(current: &Current, failover: &Failover) {
    let mut current = current.lock().await;
    current.0 += 1;
    current.1 = None;
    failover.switches.send_modify(|n| *n += 1);
}

#[cfg(test)]
mod tests {
    use super::master_of;

    #[test]
    fn events_name_their_master() {
        let words = |s: &'static str| s.split(' ').collect::<Vec<_>>();
        assert_eq!(master_of(&words("slave 127.0.0.1:7002 127.0.0.1 7002 @ jobs 127.0.0.1 7001")), Some("jobs"));
        assert_eq!(master_of(&words("master jobs 127.0.0.1 7001")), Some("jobs"));
        assert_eq!(master_of(&words("jobs 127.0.0.1 7001 127.0.0.1 7002")), Some("jobs"));
    }
}
