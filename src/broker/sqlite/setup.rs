//! Opening the SQLite file: telling a taskq database from anything else,
//! WAL mode, and the schema, safely while other processes open it too.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior};

use super::Failure;
use crate::broker::BrokerError;

const SCHEMA: &str = include_str!("schema.sql");
const SCHEMA_VERSION: i64 = 1;
/// How long a writer waits for another process's transaction.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A SQLite error as a broker error: a file that is not a database is
/// `Corrupt`, anything else `Unavailable`.
pub(super) fn map_error(url: &str, e: rusqlite::Error) -> BrokerError {
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            BrokerError::Corrupt { url: url.to_string(), reason: e.to_string() }
        }
        _ => BrokerError::Unavailable {
            url: url.to_string(),
            reason: e.to_string(),
            hint: "check the file's permissions and free disk space, or set --broker",
        },
    }
}

/// Opens (creating when missing) the database at `path`.
pub(super) fn open(path: &Path) -> Result<Connection, BrokerError> {
    let url = format!("sqlite://{}", path.display());
    let err = |e: rusqlite::Error| map_error(&url, e);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| BrokerError::Unavailable {
            url: url.clone(),
            reason: format!("cannot create {}: {e}", dir.display()),
            hint: "choose a writable path with --broker sqlite:///path/to/taskq.db",
        })?;
    }
    let mut conn = Connection::open(path).map_err(err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
    // Setting up a new file races with other processes opening it; switching
    // to WAL fails with SQLITE_BUSY at once, without the busy handler, so
    // retry for as long as the busy timeout would have waited.
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match set_up(&mut conn, &url) {
            Err(Failure::Sql(e))
                if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) && Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(Failure::Sql(e)) => return Err(err(e)),
            Err(Failure::Broker(e)) => return Err(e),
            Ok(()) => return Ok(conn),
        }
    }
}

/// Checks the file is a taskq database (or empty) and brings its schema up.
fn set_up(conn: &mut Connection, url: &str) -> Result<(), Failure> {
    // The first statement that reads the file tells a non-database apart.
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())?;
    if !tables.is_empty() && !tables.iter().any(|t| t == "taskq_meta") {
        return Err(Failure::Broker(BrokerError::Corrupt {
            url: url.to_string(),
            reason: "the file holds other tables; it is not a taskq database".into(),
        }));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // A file set up by this schema version needs nothing more: WAL mode is
    // kept in the file, and the tables exist.
    if tables.iter().any(|t| t == "taskq_meta") && schema_version(conn)? == Some(SCHEMA_VERSION) {
        return Ok(());
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(SCHEMA)?;
    match schema_version(&tx)? {
        None => {
            tx.execute(
                "INSERT INTO taskq_meta (key, value) VALUES ('schema_version', ?1)",
                [SCHEMA_VERSION.to_string()],
            )?;
        }
        Some(v) if v > SCHEMA_VERSION => {
            return Err(Failure::Broker(BrokerError::Corrupt {
                url: url.to_string(),
                reason: format!("it was written by a newer taskq (schema {v}); upgrade taskq"),
            }));
        }
        Some(_) => {}
    }
    tx.commit()?;
    Ok(())
}

fn schema_version(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT CAST(value AS INTEGER) FROM taskq_meta WHERE key = 'schema_version'", [], |r| r.get(0))
        .optional()
}
