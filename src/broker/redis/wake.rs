//! Wake-ups for idle workers: a subscription to `{ns}:wake`, which the
//! scripts publish to whenever a queue gains a job. It lives on its own
//! connection (a subscription cannot share the multiplexed one commands use),
//! survives lost connections, and backs off while the server refuses it (an
//! ACL user without channel rights): idle workers then look every second,
//! which is slower but never stops work.

use std::sync::Arc;
use std::time::Duration;

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
    wake: Arc<Notify>,
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
                wake.notify_one();
                let mut stream = ps.into_on_message();
                loop {
                    tokio::select! {
                        () = stop.cancelled() => return,
                        msg = stream.next() => match msg {
                            Some(_) => wake.notify_one(),
                            None => break,
                        },
                        // The Sentinels switched the master: subscribe there.
                        () = switched(&mut switches) => break,
                    }
                }
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
