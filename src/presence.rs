//! Presence: every few seconds a worker or a beat tells the broker it is
//! alive, what it serves and runs, and how far its host's clock is off the
//! broker's (`inspect` shows it); one silent for `WORKER_TTL` is gone from
//! the registry. The same loop keeps the process's `BrokerClock` measured.
//! A stopping process removes itself.

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, WorkerInfo};
use crate::clock::{BrokerClock, RESYNC_EVERY};

/// How often a process reports.
const EVERY: Duration = Duration::from_secs(5);

/// Reports `report()` until `stop`, then removes `id` from the registry.
pub async fn run(
    broker: Arc<dyn Broker>,
    clock: Arc<BrokerClock>,
    id: String,
    report: impl Fn() -> WorkerInfo + Send,
    stop: CancellationToken,
) {
    let mut failing = false;
    let mut next_sync = Instant::now();
    loop {
        if Instant::now() >= next_sync && clock.sync().await.is_ok() {
            next_sync = Instant::now() + RESYNC_EVERY;
        }
        let mut info = report();
        info.clock_offset_ms = clock.skew().as_millis() as i64;
        match broker.heartbeat(&info).await {
            Ok(_) => failing = false,
            Err(e) if !failing => {
                tracing::debug!(error = %e, "cannot send a heartbeat");
                failing = true;
            }
            Err(_) => {}
        }
        tokio::select! {
            () = tokio::time::sleep(EVERY) => {}
            () = stop.cancelled() => break,
        }
    }
    if let Err(e) = broker.forget_worker(&id).await {
        tracing::debug!(error = %e, "cannot remove this process from the registry; it expires by itself");
    }
}

/// This host's name, for process ids and reports.
pub fn hostname() -> String {
    let name = rustix::system::uname().nodename().to_string_lossy().trim().to_string();
    if name.is_empty() { "localhost".to_string() } else { name }
}

/// An id for a worker or beat process: host, pid and a random suffix.
pub fn process_id() -> String {
    format!("{}:{}:{:04x}", hostname(), std::process::id(), rand::random::<u16>())
}
