-- taskq's embedded broker, schema version 4 (setup.rs migrates versions 1 to 3, and brings a version 4 file
-- up to the indexes below). One file may hold several
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
    ran              INTEGER NOT NULL DEFAULT 0,  -- 1: it started once (then it never expires)
    grant_id         TEXT,              -- the take that leased it (a retried take gets it again)
    fin              TEXT,              -- "worker/attempt" that recorded its outcome (a retried finish is a no-op)
    PRIMARY KEY (ns, id)
) WITHOUT ROWID;

-- The indexes a job's state changes touch hold only the rows of one or two
-- states (partial indexes): a take and a finish write a page to each index
-- the row enters or leaves, and that is most of what they write. The line
-- of queued jobs per queue (the take); scheduled and retrying jobs by when
-- they are due; running jobs by lease (lost workers, and the running count
-- per job that max_concurrent checks). Before them, four indexes over all
-- rows (jobs_line, jobs_due, jobs_lease, jobs_by_job) held these: setup.rs
-- replaces them in an older file.
CREATE INDEX IF NOT EXISTS jobs_queued ON jobs (ns, queue, ready_at, id) WHERE state = 'queued';
CREATE INDEX IF NOT EXISTS jobs_waiting ON jobs (ns, ready_at) WHERE state IN ('scheduled', 'retrying');
CREATE INDEX IF NOT EXISTS jobs_running ON jobs (ns, lease_until) WHERE state = 'running';
CREATE INDEX IF NOT EXISTS jobs_enqueued ON jobs (ns, enqueued_at);
CREATE INDEX IF NOT EXISTS jobs_result_expiry ON jobs (ns, result_expires_at) WHERE result_expires_at IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_grant ON jobs (ns, grant_id) WHERE grant_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_failed ON jobs (ns, state, finished_at) WHERE state = 'failed';
-- `list` by state or by job, newest first (the dashboard's filters among 100,000 jobs).
-- ADDED_TO_4 in setup.rs adds them to a file of this version made before them.
CREATE INDEX IF NOT EXISTS jobs_state_enqueued ON jobs (ns, state, enqueued_at);
CREATE INDEX IF NOT EXISTS jobs_job_enqueued ON jobs (ns, job, enqueued_at);

-- Per job, the attempts before its last (retried, or lost with its worker), the newest 20: the dashboard's
-- history of attempts. Rows of deleted jobs are swept by maintenance. (Added to schema 4 as the indexes above.)
CREATE TABLE IF NOT EXISTS attempts (
    ns          TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    attempt     INTEGER NOT NULL,
    outcome     TEXT    NOT NULL,  -- retried | lost
    started_at  INTEGER,
    finished_at INTEGER,
    exit_code   INTEGER,
    http_status INTEGER,
    error       TEXT,
    worker      TEXT
);
CREATE INDEX IF NOT EXISTS attempts_job ON attempts (ns, id);

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
    keep_until INTEGER,          -- ms: forgotten if no tick comes by then (a removed entry)
    PRIMARY KEY (ns, entry)
) WITHOUT ROWID;

-- What is left of a job that succeeded with ignore_result (its row in jobs
-- is deleted): that it succeeded, until its result ttl is over. Version 4.
CREATE TABLE IF NOT EXISTS tombstones (
    ns          TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    job         TEXT    NOT NULL,
    finished_at INTEGER NOT NULL,  -- ms
    expires_at  INTEGER NOT NULL,  -- ms: deleted after this
    PRIMARY KEY (ns, id)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS tombstones_expiry ON tombstones (ns, expires_at);

-- Live workers: each heartbeat pushes expires_at forward.
CREATE TABLE IF NOT EXISTS workers (
    ns         TEXT    NOT NULL,
    id         TEXT    NOT NULL,
    info       TEXT    NOT NULL,  -- WorkerInfo as JSON
    expires_at INTEGER NOT NULL,  -- ms: its last heartbeat plus WORKER_TTL
    PRIMARY KEY (ns, id)
) WITHOUT ROWID;

-- Workflow runs (src/broker/runs.rs has the state machine). Version 3.
CREATE TABLE IF NOT EXISTS runs (
    ns          TEXT    NOT NULL,
    id          TEXT    NOT NULL,
    head        TEXT    NOT NULL,  -- the NewRun as JSON: workflow copy, params, parent, ttl
    state       TEXT    NOT NULL,  -- running, succeeded, failed, revoked
    step        INTEGER NOT NULL DEFAULT 0,  -- the first step not yet complete
    steps       INTEGER NOT NULL,  -- how many steps the workflow has
    enqueued_at INTEGER NOT NULL,
    finished_at INTEGER,
    cause       TEXT,              -- the StepReport that failed it, as JSON
    settled     INTEGER NOT NULL DEFAULT 0,  -- 1: its follow-ups are done
    touched_at  INTEGER NOT NULL,  -- ms: its last change or follow-up
    expires_at  INTEGER,           -- settled: deleted after this
    PRIMARY KEY (ns, id)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS runs_open ON runs (ns, settled, touched_at);
CREATE INDEX IF NOT EXISTS runs_enqueued ON runs (ns, enqueued_at);
CREATE INDEX IF NOT EXISTS runs_expiry ON runs (ns, expires_at) WHERE expires_at IS NOT NULL;

-- The ids each launched step of a run holds.
CREATE TABLE IF NOT EXISTS run_steps (
    ns   TEXT    NOT NULL,
    run  TEXT    NOT NULL,
    step INTEGER NOT NULL,
    ids  TEXT    NOT NULL,  -- JSON array, in launch order
    need INTEGER NOT NULL,  -- how many
    PRIMARY KEY (ns, run, step)
) WITHOUT ROWID;

-- How each member of a run's steps ended (a StepReport), once per id.
CREATE TABLE IF NOT EXISTS run_members (
    ns     TEXT    NOT NULL,
    run    TEXT    NOT NULL,
    id     TEXT    NOT NULL,
    step   INTEGER NOT NULL,
    state  TEXT    NOT NULL,
    report TEXT    NOT NULL,
    PRIMARY KEY (ns, run, id)
) WITHOUT ROWID;

CREATE INDEX IF NOT EXISTS run_members_step ON run_members (ns, run, step, state);

-- Per step of a run, how many of its members succeeded (kept with them, so
-- that a member's outcome is not a count of the step's).
CREATE TABLE IF NOT EXISTS run_done (
    ns   TEXT    NOT NULL,
    run  TEXT    NOT NULL,
    step INTEGER NOT NULL,
    done INTEGER NOT NULL,
    PRIMARY KEY (ns, run, step)
) WITHOUT ROWID;

-- Per-job statistics (src/broker/stats.rs): per job, counters of endings,
-- run-time sums and histogram buckets, per minute (scale 'm') and per hour
-- ('h') bucket of Unix time; written by the transaction that ends an
-- attempt, old buckets deleted by purge_expired.
CREATE TABLE IF NOT EXISTS stats (
    ns     TEXT    NOT NULL,
    scale  TEXT    NOT NULL,
    bucket INTEGER NOT NULL,
    job    TEXT    NOT NULL,
    field  TEXT    NOT NULL,
    n      INTEGER NOT NULL,
    PRIMARY KEY (ns, scale, bucket, job, field)
) WITHOUT ROWID;

-- Schedule entries paused by `taskq schedule pause`, obeyed by every beat.
CREATE TABLE IF NOT EXISTS paused (
    ns    TEXT    NOT NULL,
    entry TEXT    NOT NULL,
    since INTEGER NOT NULL,  -- ms
    PRIMARY KEY (ns, entry)
) WITHOUT ROWID;

-- Each running beat's definition of each schedule entry (Broker::define),
-- while it renews it: entries two beats define differently fire by one.
CREATE TABLE IF NOT EXISTS definitions (
    ns    TEXT    NOT NULL,
    entry TEXT    NOT NULL,
    beat  TEXT    NOT NULL,
    spec  TEXT    NOT NULL,
    since INTEGER NOT NULL,  -- ms
    until INTEGER NOT NULL,  -- ms
    PRIMARY KEY (ns, entry, beat)
) WITHOUT ROWID;
