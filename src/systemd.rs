//! systemd's notify protocol, for `Type=notify` units: READY once the broker
//! is reachable, STATUS saying what the process does, WATCHDOG pings while
//! its runtime is responsive (`WatchdogSec=`), STOPPING on shutdown. Outside
//! such a unit (no `NOTIFY_SOCKET`) every call does nothing.

use std::time::Duration;

use sd_notify::NotifyState;
use tokio_util::sync::CancellationToken;

/// The variables systemd sets for this service alone: a job inherits the
/// worker's environment, and must not speak to systemd as if it were taskq.
pub(crate) const SERVICE_VARS: [&str; 6] =
    ["NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "LISTEN_FDS", "LISTEN_PID", "LISTEN_FDNAMES"];

/// How often STATUS is refreshed when no watchdog asks for more.
const STATUS_EVERY: Duration = Duration::from_secs(5);

pub(crate) fn ready(status: &str) {
    notify(&[NotifyState::Ready, NotifyState::Status(status)]);
}

pub(crate) fn stopping(status: &str) {
    notify(&[NotifyState::Stopping, NotifyState::Status(status)]);
}

/// Until `done`, refreshes STATUS from `status` and, when systemd watches,
/// pings the watchdog at half its interval, through a graceful shutdown too
/// (announced with STOPPING once `stopping` is cancelled). It runs as a task
/// on the same runtime as the work, so a wedged runtime stops the pings and
/// systemd restarts the process.
pub(crate) async fn supervise(status: impl Fn() -> String, stopping: CancellationToken, done: CancellationToken) {
    if std::env::var_os("NOTIFY_SOCKET").is_none() {
        return;
    }
    let watchdog = sd_notify::watchdog_enabled();
    let every = watchdog.map_or(STATUS_EVERY, |w| (w / 2).clamp(Duration::from_millis(10), STATUS_EVERY));
    let mut last = String::new();
    let mut announced = false;
    loop {
        let now = status();
        let mut states = Vec::with_capacity(3);
        if stopping.is_cancelled() && !announced {
            states.push(NotifyState::Stopping);
            announced = true;
        }
        if watchdog.is_some() {
            states.push(NotifyState::Watchdog);
        }
        if now != last {
            states.push(NotifyState::Status(&now));
        }
        if !states.is_empty() {
            notify(&states);
        }
        last = now;
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = stopping.cancelled(), if !announced => {}
            () = done.cancelled() => return,
        }
    }
}

fn notify(states: &[NotifyState<'_>]) {
    if let Err(e) = sd_notify::notify(states) {
        tracing::debug!(error = %e, "cannot notify systemd");
    }
}
