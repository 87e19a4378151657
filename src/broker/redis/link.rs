//! The connection commands go over: a multiplexed `ConnectionManager`
//! (or the cluster client's connection), which reconnects by itself after a
//! dropped connection, replaced by a new one when it cannot recover on its
//! own (for Sentinel, a new one asks the Sentinels for the master again). A manager whose reconnect was refused
//! (a changed password, too many clients) keeps returning that refusal
//! forever, and a connection that stopped answering (a silent network) only
//! times out: both need a fresh manager once the broker is back.

use std::sync::Arc;

use redis::{Cmd, ErrorKind, FromRedisValue, Pipeline, RedisError, ServerErrorKind};
use tokio::sync::{Mutex, watch};
use tokio_util::sync::{CancellationToken, DropGuard};

use super::classify;
use super::script::Call;
use super::switches::{self, Current, Failover};
use super::target::{Conn, Target};
use crate::broker::{BrokerError, BrokerUrl};

/// A self-healing connection to a Redis deployment.
pub(super) struct Link {
    target: Arc<Target>,
    url: BrokerUrl,
    /// The connection in use and its generation; `None` after a failure it
    /// cannot recover from: the next call connects anew. Tokio's mutex,
    /// held across the reconnect so concurrent callers wait for one.
    current: Current,
    /// A Sentinel failover under way (`switches.rs`).
    failover: Arc<Failover>,
    /// Stops the switch follower with the link.
    _follower: DropGuard,
}

impl Link {
    pub(super) async fn connect(target: Target, url: BrokerUrl) -> Result<Link, BrokerError> {
        let conn = target.connect().await.map_err(|e| classify(&url, &e))?;
        let (target, current) = (Arc::new(target), Arc::new(Mutex::new((0, Some(conn)))));
        let failover = Failover::new();
        let stop = CancellationToken::new();
        tokio::spawn(switches::follow(target.clone(), current.clone(), failover.clone(), stop.clone()));
        Ok(Link { target, url, current, failover, _follower: stop.drop_guard() })
    }

    /// Changes when the Sentinels switch the master: a subscription moves too.
    pub(super) fn switches(&self) -> watch::Receiver<u64> {
        self.failover.switches()
    }

    pub(super) fn target(&self) -> &Arc<Target> {
        &self.target
    }

    /// The connection to use, connecting anew if the last one was given up.
    async fn conn(&self) -> Result<(u64, Conn), BrokerError> {
        self.failover.wait().await;
        let mut current = self.current.lock().await;
        if let Some(conn) = &current.1 {
            return Ok((current.0, conn.clone()));
        }
        // Boxed: connecting is rare, and its future, some kilobytes, would
        // otherwise be part of every call's (a job's finish among them).
        let conn = Box::pin(self.target.connect()).await.map_err(|e| classify(&self.url, &e))?;
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

    /// Calls a script by its hash, loading it first where the server does
    /// not have it (a new or restarted server, a new master).
    pub(super) async fn invoke<T: FromRedisValue>(&self, call: &Call) -> Result<T, BrokerError> {
        let (generation, mut conn) = self.conn().await?;
        let eval = call.eval();
        let result = match eval.query_async(&mut conn).await {
            Err(e) if e.kind() == ErrorKind::Server(ServerErrorKind::NoScript) => {
                match call.load().query_async::<String>(&mut conn).await {
                    // A build whose hash is not the text's would meet
                    // NOSCRIPT forever, which reads as an outage: say so.
                    Ok(hash) if hash != call.hash() => {
                        return Err(BrokerError::Protocol(format!(
                            "Redis hashes a script as {hash}, this build as {}",
                            call.hash()
                        )));
                    }
                    Ok(_) => eval.query_async(&mut conn).await,
                    Err(e) => Err(e),
                }
            }
            other => other,
        };
        match result {
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
