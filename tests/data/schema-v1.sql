-- taskq's embedded broker, schema version 1. One file may hold several
-- namespaces; every row carries its namespace.

CREATE TABLE IF NOT EXISTS taskq_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE IF NOT EXISTS jobs (
    ns               TEXT    NOT NULL,
    id               TEXT    NOT NULL,
    job              TEXT    NOT NULL,
    queue            TEXT    NOT NULL,
    state            TEXT    NOT NULL,
    payload          TEXT    NOT NULL,  -- the NewJob as JSON
    attempts         INTEGER NOT NULL DEFAULT 0,
    lost             INTEGER NOT NULL DEFAULT 0,  -- times its worker was lost
    enqueued_at      INTEGER NOT NULL,  -- ms since the epoch, as every instant here
    ready_at         INTEGER NOT NULL,  -- queued: its place in line; scheduled, retrying: when due
    expires_at       INTEGER,           -- not started by then: expired
    lease_until      INTEGER,
    worker           TEXT,
    started_at       INTEGER,
    finished_at      INTEGER,
    exit_code        INTEGER,
    http_status      INTEGER,
    error            TEXT,
    output           TEXT,
    output_total     INTEGER NOT NULL DEFAULT 0,  -- bytes of output in all (the tail keeps the last)
    result_expires_at INTEGER,          -- the record is deleted after this
    max_redeliveries INTEGER NOT NULL,
    max_concurrent   INTEGER,
    result_ttl       INTEGER NOT NULL,  -- ms
    revoke           INTEGER NOT NULL DEFAULT 0,  -- 1: revoke --terminate asked its worker to kill it
    PRIMARY KEY (ns, id)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS jobs_line ON jobs (ns, queue, state, ready_at, id);
CREATE INDEX IF NOT EXISTS jobs_due ON jobs (ns, state, ready_at);
CREATE INDEX IF NOT EXISTS jobs_lease ON jobs (ns, state, lease_until);
CREATE INDEX IF NOT EXISTS jobs_by_job ON jobs (ns, job, state);
CREATE INDEX IF NOT EXISTS jobs_enqueued ON jobs (ns, enqueued_at);
CREATE INDEX IF NOT EXISTS jobs_result_expiry ON jobs (ns, result_expires_at) WHERE result_expires_at IS NOT NULL;

CREATE TABLE IF NOT EXISTS uniques (
    ns         TEXT    NOT NULL,
    key        TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (ns, key)
) WITHOUT ROWID;

-- Beat: per schedule entry, the last tick handled (fired or skipped), so a
-- tick is fired once however many beats run, and restarts resume from it.
CREATE TABLE IF NOT EXISTS schedules (
    ns        TEXT    NOT NULL,
    entry     TEXT    NOT NULL,
    spec      TEXT    NOT NULL,  -- schedule and zone the last tick was computed with
    last_tick INTEGER NOT NULL,  -- ms
    last_job  TEXT,              -- the run last enqueued
    fired     INTEGER NOT NULL DEFAULT 0,
    skipped   INTEGER NOT NULL DEFAULT 0,
    last_skip TEXT,              -- why the last skip happened
    last_success INTEGER,        -- ms: when a run last succeeded
    last_failure INTEGER,        -- ms: when a run last failed
    PRIMARY KEY (ns, entry)
) WITHOUT ROWID;

-- Live workers: each heartbeat pushes expires_at forward.
CREATE TABLE IF NOT EXISTS workers (
    ns         TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    info       TEXT    NOT NULL,  -- WorkerInfo as JSON
    expires_at INTEGER NOT NULL,  -- ms
    PRIMARY KEY (ns, id)
) WITHOUT ROWID;
