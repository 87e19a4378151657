//! The broker's clock as this process sees it. Brokers judge every lease,
//! due time and expiry by their own clock; beat must also *wait* for ticks
//! on it, and every process reports how far its host's clock is off. So a
//! long-running process measures its offset from the broker (the middle of
//! the round trip of a `time()` call, best of a few), refreshes it every
//! minute, and reads "now" as the host clock plus that offset.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::time::{Duration, Instant};

use jiff::{SignedDuration, Timestamp};

use crate::broker::{Broker, BrokerError, ClockShift};

/// How often the offset is measured again.
pub const RESYNC_EVERY: Duration = Duration::from_secs(60);
/// An offset beyond this is a badly synchronised host: logged and shown.
pub const SKEW_WARNING: Duration = Duration::from_secs(1);
/// Round trips per measurement; the fastest one is kept.
const SAMPLES: usize = 3;

/// The broker's clock, read on this host.
pub struct BrokerClock {
    broker: Arc<dyn Broker>,
    /// The host's clock: the system's, or a test's simulated one.
    host: ClockShift,
    /// Broker minus host, in ms; written by `sync`.
    offset_ms: AtomicI64,
    /// Whether the host is currently reported as off (to log once per change).
    warned: AtomicBool,
}

impl BrokerClock {
    /// A clock that assumes no offset until `sync` measures one.
    pub fn new(broker: Arc<dyn Broker>) -> Arc<BrokerClock> {
        Self::on_host_clock(broker, ClockShift::default())
    }

    /// A clock whose host time is `host` (a test's simulated clock).
    pub fn on_host_clock(broker: Arc<dyn Broker>, host: ClockShift) -> Arc<BrokerClock> {
        Arc::new(BrokerClock { broker, host, offset_ms: AtomicI64::new(0), warned: AtomicBool::new(false) })
    }

    /// The broker's time now.
    pub fn now(&self) -> Timestamp {
        self.host.now() + SignedDuration::from_millis(self.offset_ms.load(Ordering::Relaxed))
    }

    /// How far this host's clock is from the broker's (host minus broker).
    pub fn skew(&self) -> SignedDuration {
        -SignedDuration::from_millis(self.offset_ms.load(Ordering::Relaxed))
    }

    /// How long until the broker's clock reads `t` (zero if it has).
    pub fn until(&self, t: Timestamp) -> Duration {
        let now = self.now();
        if t > now { t.duration_since(now).unsigned_abs() } else { Duration::ZERO }
    }

    /// Measures the offset again; logs once when the host goes beyond (or
    /// comes back within) `SKEW_WARNING`, and exports it as a metric.
    pub async fn sync(&self) -> Result<(), BrokerError> {
        let mut best: Option<(Duration, i64)> = None;
        for _ in 0..SAMPLES {
            let (sent, local) = (Instant::now(), self.host.now());
            let remote = self.broker.time().await?;
            let rtt = sent.elapsed();
            let middle = local + SignedDuration::try_from(rtt / 2).unwrap_or_default();
            let offset = remote.duration_since(middle).as_millis() as i64;
            if best.is_none_or(|(fastest, _)| rtt < fastest) {
                best = Some((rtt, offset));
            }
        }
        let Some((_, offset)) = best else { return Ok(()) };
        self.offset_ms.store(offset, Ordering::Relaxed);
        crate::metrics::clock_offset(self.skew());
        let off = offset.unsigned_abs() > SKEW_WARNING.as_millis() as u64;
        if off != self.warned.swap(off, Ordering::Relaxed) {
            let skew = format!("{:+.3}s", self.skew().as_secs_f64());
            if off {
                tracing::warn!(
                    %skew,
                    "this host's clock is off the broker's; taskq keeps to the broker's clock, but fix the host's (NTP)"
                );
            } else {
                tracing::info!(%skew, "this host's clock agrees with the broker's again");
            }
        }
        Ok(())
    }
}
