//! Calls on the one connection: in the blocking pool, as reads, as
//! transactions synced or not (see docs/architecture.md on durability),
//! with SQLite's errors turned into the broker's at the edge.

use rusqlite::{Connection, Transaction, TransactionBehavior};

use super::{SqliteBroker, setup};
use crate::broker::BrokerError;

/// A failure inside a database call: SQLite's (given the URL at the edge) or
/// the broker's own (unreadable data, a file that is not a taskq database).
pub(super) enum Failure {
    Sql(rusqlite::Error),
    Broker(BrokerError),
}

impl From<rusqlite::Error> for Failure {
    fn from(e: rusqlite::Error) -> Self {
        Failure::Sql(e)
    }
}

impl From<BrokerError> for Failure {
    fn from(e: BrokerError) -> Self {
        Failure::Broker(e)
    }
}

impl SqliteBroker {
    /// Runs `f` on the connection in the blocking pool.
    pub(super) async fn blocking<T, F>(&self, f: F) -> Result<T, BrokerError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection, &str) -> Result<T, Failure> + Send + 'static,
    {
        let (conn, ns, url) = (self.conn.clone(), self.ns.clone(), self.url());
        let result = tokio::task::spawn_blocking(move || {
            let mut guard = conn.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            f(&mut guard, &ns)
        })
        .await
        .map_err(|e| BrokerError::Protocol(format!("a database call panicked: {e}")))?;
        result.map_err(|failure| match failure {
            Failure::Sql(e) => setup::map_error(&url, e),
            Failure::Broker(e) => e,
        })
    }

    /// Reads outside a transaction.
    pub(super) async fn read<T, F>(&self, f: F) -> Result<T, BrokerError>
    where
        T: Send + 'static,
        F: FnOnce(&Connection, &str) -> Result<T, Failure> + Send + 'static,
    {
        self.blocking(move |conn, ns| f(conn, ns)).await
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction, committed if it
    /// succeeds. The commit is not synced to disk by itself (WAL with
    /// `synchronous = NORMAL`): a power loss may roll back the last of these,
    /// which are the worker's own steps (a job taken, an outcome recorded,
    /// a lease renewed): such a job runs again, as after any lost worker.
    pub(super) async fn write<T, F>(&self, f: F) -> Result<T, BrokerError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &str) -> Result<T, Failure> + Send + 'static,
    {
        self.blocking(move |conn, ns| transact(conn, ns, f)).await
    }

    /// `write`, synced to disk before it returns (`synchronous = FULL`, for
    /// this commit): what a caller was told is stored survives power loss
    /// (enqueue, a beat's tick, an operator's revoke, retry or purge). The
    /// sync also makes every earlier commit durable.
    pub(super) async fn write_synced<T, F>(&self, f: F) -> Result<T, BrokerError>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>, &str) -> Result<T, Failure> + Send + 'static,
    {
        self.blocking(move |conn, ns| {
            conn.pragma_update(None, "synchronous", "FULL")?;
            let out = transact(conn, ns, f);
            conn.pragma_update(None, "synchronous", "NORMAL")?;
            out
        })
        .await
    }
}

/// One `BEGIN IMMEDIATE` transaction around `f`.
fn transact<T>(
    conn: &mut Connection,
    ns: &str,
    f: impl FnOnce(&Transaction<'_>, &str) -> Result<T, Failure>,
) -> Result<T, Failure> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let out = f(&tx, ns)?;
    tx.commit()?;
    Ok(out)
}
