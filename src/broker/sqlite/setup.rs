//! Opening the SQLite file: telling a taskq database from anything else,
//! WAL mode, and the schema, safely while other processes open it too.

use std::path::Path;
use std::time::{Duration, Instant};

use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior};

use super::Failure;
use crate::broker::BrokerError;

const SCHEMA: &str = include_str!("schema.sql");
/// What version 2 added to version 1's tables (the schema's CREATE ... IF
/// NOT EXISTS statements add the rest).
const MIGRATE_1_TO_2: &str = "
    ALTER TABLE jobs ADD COLUMN ran INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE jobs ADD COLUMN grant_id TEXT;
    ALTER TABLE jobs ADD COLUMN fin TEXT;
    UPDATE jobs SET ran = 1 WHERE attempts > 0 OR lost > 0;
    ALTER TABLE schedules ADD COLUMN keep_until INTEGER;
";
const SCHEMA_VERSION: i64 = 4;

/// Indexes and a table added to schema 4 without a new version (a taskq
/// that lacks them reads and writes the file as before, indexes being no
/// part of what it reads): made on a file that lacks them, and the indexes
/// they replaced dropped.
const ADDED_TO_4: &str = "
CREATE INDEX IF NOT EXISTS jobs_state_enqueued ON jobs (ns, state, enqueued_at);
CREATE INDEX IF NOT EXISTS jobs_job_enqueued ON jobs (ns, job, enqueued_at);
CREATE TABLE IF NOT EXISTS attempts (
    ns TEXT NOT NULL, id TEXT NOT NULL, attempt INTEGER NOT NULL, outcome TEXT NOT NULL, started_at INTEGER,
    finished_at INTEGER, exit_code INTEGER, http_status INTEGER, error TEXT, worker TEXT
);
CREATE INDEX IF NOT EXISTS attempts_job ON attempts (ns, id);
CREATE INDEX IF NOT EXISTS jobs_queued ON jobs (ns, queue, ready_at, id) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS jobs_waiting ON jobs (ns, ready_at) WHERE state IN ('scheduled', 'retrying');
CREATE INDEX IF NOT EXISTS jobs_running ON jobs (ns, lease_until) WHERE state = 'running';
DROP INDEX IF EXISTS jobs_line;
DROP INDEX IF EXISTS jobs_due;
DROP INDEX IF EXISTS jobs_lease;
DROP INDEX IF EXISTS jobs_by_job;
";
/// True when a file of schema 4 has all of `ADDED_TO_4` done.
const HAS_ADDED_TO_4: &str = "SELECT
    sum(name IN ('jobs_state_enqueued', 'jobs_job_enqueued', 'attempts_job', 'jobs_queued', 'jobs_waiting',
                 'jobs_running')) = 6
    AND sum(name IN ('jobs_line', 'jobs_due', 'jobs_lease', 'jobs_by_job')) = 0
    FROM sqlite_master";
/// How long a writer waits for another process's transaction.
pub(super) const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A SQLite error as a broker error: a file that is not a database is
/// `Corrupt`; the troubles a worker can wait out (locked, full disk, read
/// only, I/O, cannot open) are `Unavailable`; anything else (a constraint, a
/// statement taskq got wrong) is a bug, not an outage.
pub(super) fn map_error(url: &str, e: rusqlite::Error) -> BrokerError {
    let unavailable = |hint| BrokerError::Unavailable { url: url.to_string(), reason: e.to_string(), hint };
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => {
            BrokerError::Corrupt { url: url.to_string(), reason: e.to_string() }
        }
        Some(ErrorCode::DiskFull) => unavailable("the disk holding the database is full: free some space"),
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => {
            unavailable("another process holds the database too long; it is retried")
        }
        Some(
            ErrorCode::ReadOnly | ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::SystemIoFailure,
        ) => unavailable("check the file's permissions and free disk space, or set --broker"),
        _ => BrokerError::Protocol(format!("SQLite at {url}: {e}")),
    }
}

/// Opens (creating when missing) the database at `path`, in a directory that
/// exists: a typo in a directory would otherwise start an empty queue there.
/// (The default data dir is created with the default URL, `BrokerUrl::default_sqlite`.)
pub(super) fn open(path: &Path) -> Result<Connection, BrokerError> {
    let url = format!("sqlite://{}", path.display());
    let err = |e: rusqlite::Error| map_error(&url, e);
    let cannot = |what: &Path, e: std::io::Error| BrokerError::Unavailable {
        url: url.clone(),
        reason: format!("cannot open or create {}: {e}", what.display()),
        // The services' queue: another path would be one nobody serves.
        hint: if path == Path::new(crate::broker::SYSTEM_SQLITE) {
            "it is the taskq services' queue: run taskq as root or as the taskq user (sudo -u taskq taskq ...)"
        } else {
            "choose a writable path with --broker sqlite:///path/to/taskq.db"
        },
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty() && !d.is_dir()) {
        return Err(BrokerError::Unavailable {
            url: url.clone(),
            reason: format!("the directory {} does not exist", dir.display()),
            hint: "create it, or correct the path in the broker URL",
        });
    }
    private_file(path).map_err(|e| cannot(path, e))?;
    let mut conn = Connection::open(path).map_err(err)?;
    conn.busy_timeout(BUSY_TIMEOUT).map_err(err)?;
    // Plans that never depend on bound values (the query planner stability
    // guarantee). Without it SQLite marks most statements with `col = ?` to
    // be planned again when a value is bound, and the statement cache's
    // clearing of the bindings then re-prepares the statement on each use:
    // the take's, once per job (4% of a drain's CPU, measured). taskq's
    // partial indexes are matched by literals, never by bound values.
    conn.set_db_config(rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG, true).map_err(err)?;
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

/// Creates the database file private to this user (0600; SQLite gives its
/// WAL and shared-memory files the same mode), or makes an existing one of
/// this user's private if an earlier version left it readable by others.
fn private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
    match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
        Ok(file) => give_to_dir_owner(&file, path),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let meta = std::fs::metadata(path)?;
            if meta.is_file() && meta.uid() == rustix::process::geteuid().as_raw() && meta.mode() & 0o077 != 0 {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
            }
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// A file root creates in another user's directory goes to that user: an
/// admin's `sudo taskq enqueue` on the host's config creates the services'
/// database in /var/lib/taskq, and a file of root's there would lock the
/// services out of their own queue. (SQLite does the same for the WAL and
/// shared-memory files it creates as root.)
fn give_to_dir_owner(file: &std::fs::File, path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    if !rustix::process::geteuid().is_root() {
        return Ok(());
    }
    let Some(dir) = path.parent().map(std::fs::metadata).transpose()? else { return Ok(()) };
    if dir.uid() == 0 {
        return Ok(());
    }
    std::os::unix::fs::fchown(file, Some(dir.uid()), Some(dir.gid()))
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
    // NORMAL for the worker's own steps; what callers are told is stored
    // (an enqueue) commits with FULL: see `SqliteBroker::write_synced`.
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    // A file set up by this schema version needs nothing more: WAL mode is
    // kept in the file, and the tables exist.
    if tables.iter().any(|t| t == "taskq_meta") && schema_version(conn)? == Some(SCHEMA_VERSION) {
        let complete: bool = conn.query_row(HAS_ADDED_TO_4, [], |r| r.get(0))?;
        if !complete {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute_batch(ADDED_TO_4)?;
            tx.commit()?;
        }
        return Ok(());
    }
    if tables.is_empty() {
        // Only a file without tables can take this: lets maintenance give
        // freed pages back to the file system (`PRAGMA incremental_vacuum`).
        conn.pragma_update(None, "auto_vacuum", "INCREMENTAL")?;
    }
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if schema_version(&tx).ok().flatten() == Some(1) {
        tx.execute_batch(MIGRATE_1_TO_2)?;
    }
    tx.execute_batch(SCHEMA)?;
    tx.execute_batch(ADDED_TO_4)?;
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
        Some(_) => {
            tx.execute("UPDATE taskq_meta SET value = ?1 WHERE key = 'schema_version'", [SCHEMA_VERSION.to_string()])?;
        }
    }
    tx.commit()?;
    Ok(())
}

fn schema_version(conn: &Connection) -> rusqlite::Result<Option<i64>> {
    conn.query_row("SELECT CAST(value AS INTEGER) FROM taskq_meta WHERE key = 'schema_version'", [], |r| r.get(0))
        .optional()
}

/// Whether the file at `path` is a taskq database of this schema version
/// with all of `ADDED_TO_4`, read without writing anything: opening one
/// that is not would set it up or migrate it (which a read-only command
/// like `check` must not do).
pub(crate) fn is_current(path: &Path) -> bool {
    let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    Connection::open_with_flags(path, flags).is_ok_and(|conn| {
        schema_version(&conn).ok().flatten() == Some(SCHEMA_VERSION)
            && conn.query_row(HAS_ADDED_TO_4, [], |r| r.get::<_, bool>(0)).unwrap_or(false)
    })
}

#[cfg(test)]
mod classification {
    use super::*;

    fn error_of(sql: &str) -> BrokerError {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL)").unwrap();
        map_error("sqlite:///x.db", conn.execute_batch(sql).unwrap_err())
    }

    #[test]
    fn a_constraint_or_a_wrong_statement_is_a_bug_not_an_outage() {
        for sql in ["INSERT INTO t (id, v) VALUES (1, NULL)", "SELECT nope FROM t", "INSERT INTO nowhere VALUES (1)"] {
            let e = error_of(sql);
            assert!(matches!(e, BrokerError::Protocol(_)), "{sql}: {e:?}");
            assert!(!e.is_unavailable());
        }
    }

    #[test]
    fn a_busy_database_is_an_outage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q.db");
        let holder = Connection::open(&path).unwrap();
        holder.execute_batch("CREATE TABLE t (id INTEGER); BEGIN IMMEDIATE; INSERT INTO t VALUES (1);").unwrap();
        let other = Connection::open(&path).unwrap();
        other.busy_timeout(Duration::from_millis(10)).unwrap();
        let e = map_error("sqlite:///q.db", other.execute_batch("BEGIN IMMEDIATE").unwrap_err());
        assert!(e.is_unavailable(), "{e:?}");
    }
}
