//! Shutdown requests. Only `main` turns signals into them; everything else
//! takes a `Shutdown` so tests can drive it.

use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

/// Two stages: the first SIGTERM or SIGINT asks for a graceful stop, the
/// second for an immediate one. SIGHUP, where handled, asks for a reload.
#[derive(Debug, Clone)]
pub struct Shutdown {
    graceful: CancellationToken,
    immediate: CancellationToken,
    /// Counts reload requests: every half of a process (`run --beat`'s
    /// worker and scheduler) sees each one.
    reload: Arc<watch::Sender<u64>>,
    /// A receiver that has seen none: its clones see every request since
    /// the start, so a SIGHUP while the broker is still waited for, before
    /// the worker or beat listens, is acted on once they do.
    from_start: watch::Receiver<u64>,
}

impl Default for Shutdown {
    fn default() -> Self {
        let (reload, from_start) = watch::channel(0);
        Shutdown {
            graceful: CancellationToken::new(),
            immediate: CancellationToken::new(),
            reload: Arc::new(reload),
            from_start,
        }
    }
}

impl Shutdown {
    pub fn new() -> Shutdown {
        Shutdown::default()
    }

    /// Cancelled at the first request: stop taking work, finish what runs.
    pub fn graceful(&self) -> &CancellationToken {
        &self.graceful
    }

    /// Cancelled at the second request: stop now.
    pub fn immediate(&self) -> &CancellationToken {
        &self.immediate
    }

    /// Changes when the config should be reloaded (SIGHUP); each holder
    /// sees every request, those made before it asked included.
    pub fn reloads(&self) -> watch::Receiver<u64> {
        self.from_start.clone()
    }

    /// Asks for a reload, as SIGHUP does.
    pub fn request_reload(&self) {
        self.reload.send_modify(|n| *n += 1);
    }

    /// Asks for the next stage: graceful first, then immediate.
    pub fn request(&self) {
        if self.graceful.is_cancelled() {
            self.immediate.cancel();
        } else {
            self.graceful.cancel();
        }
    }

    /// Turns SIGHUP into reload requests (only where a reload is handled:
    /// elsewhere SIGHUP keeps its default, ending the process).
    pub fn listen_for_reload(&self) {
        use tokio::signal::unix::{SignalKind, signal};
        // Each handler is installed here, before the command starts, not
        // when its task first runs: on a one-thread runtime that waits for
        // the command's first pause, and a signal before it would take its
        // default action (death, leaving a job's children running).
        let Ok(mut hup) = signal(SignalKind::hangup()) else {
            tracing::error!("cannot install a SIGHUP handler; reload by restarting");
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                tracing::info!(signal = "SIGHUP", "reloading the config");
                this.request_reload();
            }
        });
    }

    /// Turns SIGHUP into a stop request, as SIGINT. For `exec`: its job runs
    /// in a process group of its own, which a closed terminal's hangup does
    /// not reach; by default `exec` would die and leave the job running.
    pub fn stop_on_hangup(&self) {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut hup) = signal(SignalKind::hangup()) else { return };
        let this = self.clone();
        tokio::spawn(async move {
            while hup.recv().await.is_some() {
                tracing::info!(signal = "SIGHUP", "stopping");
                this.request();
            }
        });
    }

    /// Turns SIGTERM and SIGINT into requests, for the life of the runtime.
    pub fn listen_for_signals(&self) {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            tracing::error!("cannot install signal handlers; SIGTERM and SIGINT will stop taskq at once");
            return;
        };
        let this = self.clone();
        tokio::spawn(async move {
            loop {
                let name = tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                };
                let stage = if this.graceful.is_cancelled() { "stopping now" } else { "stopping gracefully" };
                tracing::info!(signal = name, "{stage}");
                this.request();
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::Shutdown;

    #[test]
    fn a_reload_asked_for_before_anyone_listens_is_seen_once_they_do() {
        let shutdown = Shutdown::new();
        assert!(!shutdown.reloads().has_changed().unwrap_or(true), "no request yet");
        shutdown.request_reload();
        let mut late = shutdown.reloads();
        assert!(late.has_changed().unwrap_or(false), "the request made before listening");
        late.mark_unchanged();
        assert!(!late.has_changed().unwrap_or(true));
        shutdown.request_reload();
        assert!(late.has_changed().unwrap_or(false));
    }
}
