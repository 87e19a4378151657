//! Wake-ups for idle workers: a subscription to `{ns}:wake`, which the
//! scripts publish to whenever a queue gains a job. It lives on its own
//! connection (a subscription cannot share the multiplexed one commands use)
//! and survives lost connections.

use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

/// Longest reconnect pause of the subscriber.
const MAX_RESUBSCRIBE_DELAY: Duration = Duration::from_secs(5);

/// Forwards wake-up messages to `wake`, resubscribing after a lost connection
/// (and waking once then, as messages may have been missed meanwhile).
pub(super) async fn listen(
    client: redis::Client,
    channel: String,
    pubsub: redis::aio::PubSub,
    wake: Arc<Notify>,
    stop: CancellationToken,
) {
    let mut stream = pubsub.into_on_message();
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            msg = stream.next() => {
                if msg.is_some() {
                    wake.notify_one();
                    continue;
                }
            }
        }
        tracing::warn!("lost the wake-up subscription; resubscribing");
        let mut delay = Duration::from_millis(100);
        stream = loop {
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(delay) => {}
            }
            let attempt = async {
                let mut ps = client.get_async_pubsub().await?;
                ps.subscribe(&channel).await?;
                Ok::<_, redis::RedisError>(ps)
            };
            match attempt.await {
                Ok(ps) => break ps.into_on_message(),
                Err(_) => delay = (delay * 2).min(MAX_RESUBSCRIBE_DELAY),
            }
        };
        tracing::info!("wake-up subscription restored");
        wake.notify_one();
    }
}
