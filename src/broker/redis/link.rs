//! The connection commands go over: a multiplexed `ConnectionManager`, which
//! reconnects by itself after a dropped connection, replaced by a new one
//! when it cannot recover on its own. A manager whose reconnect was refused
//! (a changed password, too many clients) keeps returning that refusal
//! forever, and a connection that stopped answering (a silent network) only
//! times out: both need a fresh manager once the broker is back.

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Cmd, FromRedisValue, Pipeline, RedisError, ScriptInvocation};
use tokio::sync::Mutex;

use super::classify;
use crate::broker::{BrokerError, BrokerUrl};

/// How long a connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a reply may take: every script is bounded to a few
/// milliseconds of work, so a silent connection is noticed after this.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(10);

/// A self-healing connection to one Redis server.
pub(super) struct Link {
    client: redis::Client,
    url: BrokerUrl,
    /// The manager in use and its generation; `None` after a failure it
    /// cannot recover from: the next call connects anew. Tokio's mutex,
    /// held across the reconnect so concurrent callers wait for one.
    current: Mutex<(u64, Option<ConnectionManager>)>,
}

impl Link {
    pub(super) async fn connect(client: redis::Client, url: BrokerUrl) -> Result<Link, BrokerError> {
        let manager = manager(&client).await.map_err(|e| classify(&url, &e))?;
        Ok(Link { client, url, current: Mutex::new((0, Some(manager))) })
    }

    pub(super) fn client(&self) -> &redis::Client {
        &self.client
    }

    /// The manager to use, connecting anew if the last one was given up.
    async fn conn(&self) -> Result<(u64, ConnectionManager), BrokerError> {
        let mut current = self.current.lock().await;
        if let Some(conn) = &current.1 {
            return Ok((current.0, conn.clone()));
        }
        let conn = manager(&self.client).await.map_err(|e| classify(&self.url, &e))?;
        current.0 += 1;
        current.1 = Some(conn.clone());
        Ok((current.0, conn))
    }

    /// The error as taskq sees it; a manager that cannot recover by itself
    /// is given up (unless another caller replaced it meanwhile).
    async fn failed(&self, generation: u64, e: &RedisError) -> BrokerError {
        if !is_command_refusal(e) {
            let mut current = self.current.lock().await;
            if current.0 == generation {
                current.1 = None;
            }
        }
        classify(&self.url, e)
    }

    pub(super) async fn invoke<T: FromRedisValue>(&self, call: &ScriptInvocation<'_>) -> Result<T, BrokerError> {
        let (generation, mut conn) = self.conn().await?;
        match call.invoke_async(&mut conn).await {
            Ok(v) => Ok(v),
            Err(e) => Err(self.failed(generation, &e).await),
        }
    }

    pub(super) async fn query<T: FromRedisValue>(&self, cmd: &Cmd) -> Result<T, BrokerError> {
        let (generation, mut conn) = self.conn().await?;
        match cmd.query_async(&mut conn).await {
            Ok(v) => Ok(v),
            Err(e) => Err(self.failed(generation, &e).await),
        }
    }

    pub(super) async fn pipe<T: FromRedisValue>(&self, pipe: &Pipeline) -> Result<T, BrokerError> {
        let (generation, mut conn) = self.conn().await?;
        match pipe.query_async(&mut conn).await {
            Ok(v) => Ok(v),
            Err(e) => Err(self.failed(generation, &e).await),
        }
    }
}

async fn manager(client: &redis::Client) -> Result<ConnectionManager, RedisError> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(Some(CONNECT_TIMEOUT))
        .set_response_timeout(Some(RESPONSE_TIMEOUT))
        .set_number_of_retries(1)
        .set_max_delay(Duration::from_millis(500));
    ConnectionManager::new_with_config(client.clone(), config).await
}

/// Whether a healthy connection carried this error: the server answered
/// and refused the command (it cannot save, is full, is loading, the user
/// lacks a right, a script failed). Anything else may have come from the
/// connection itself, which is then replaced.
fn is_command_refusal(e: &RedisError) -> bool {
    // Not READONLY: after a failover behind a name or address that stays,
    // only a new connection reaches the new master.
    matches!(
        super::error::refusal(e),
        Some("MISCONF" | "OOM" | "NOPERM" | "LOADING" | "BUSY" | "NOREPLICAS" | "MASTERDOWN" | "NOSCRIPT")
    ) || (e.code() == Some("ERR") && e.to_string().contains("script"))
}
