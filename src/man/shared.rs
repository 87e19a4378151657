//! What several pages say alike: the environment variables taskq reads and
//! sets, the files it uses, and the exit codes most commands share. Each
//! entry is a (tag, text) pair in the markup of `render.rs`.

/// A tagged entry: an exit code, a signal, a variable or a file, and what
/// it means.
pub(super) type Entry = (&'static str, &'static str);

// Variables taskq reads.

pub(super) const TASKQ_CONFIG: Entry = (
    "TASKQ_CONFIG",
    "The jobs file, as `-f` names it (`-f` wins). Without either, taskq looks in the places FILES lists.",
);
pub(super) const TASKQ_BROKER: Entry = (
    "TASKQ_BROKER",
    "The broker URL, as `--broker` gives it (`--broker` wins; either wins over `broker` in `[taskq]`): \
     `redis://[user:password@]host[:port][/db]`, `rediss://...` (TLS; `?ca=`*PATH*, `cert=`*PATH*`&key=`*PATH*), \
     `redis+cluster://host1:port,host2:port/`, `redis+sentinel://s1:26379,s2:26379/`*MASTER*`[/db]` \
     (each over TLS as `rediss+cluster`, `rediss+sentinel`), or `sqlite:///`*absolute/path*`/taskq.db`. \
     Its password is never printed. Unset, and with no `broker` in `[taskq]`: the embedded SQLite file (FILES).",
);
pub(super) const TASKQ_NAMESPACE: Entry = (
    "TASKQ_NAMESPACE",
    "The key prefix, as `--namespace` gives it (`--namespace` wins; either wins over `namespace` in `[taskq]`; \
     default `taskq`). Applications sharing one broker, or one SQLite file, each use their own.",
);
pub(super) const TASKQ_LOG: Entry = (
    "TASKQ_LOG",
    "What is logged to standard error, overriding `-v` and `-q`: a level (`error`, `warn`, `info`, `debug`, \
     `trace`) or tracing's EnvFilter directives (`taskq=debug,reqwest=info`). A bare level applies to the \
     libraries taskq uses too; an invalid value is ignored.",
);
pub(super) const NO_COLOR: Entry = (
    "NO_COLOR",
    "Set to anything: log lines on a terminal are not colored (`--color auto`, the default, obeys it; \
     `--color always` does not).",
);
pub(super) const TZ_SHOWN: Entry = (
    "TZ",
    "The host's time zone (else /etc/localtime): the times printed in it, and a `--at` written without an \
     offset. A TZ that names no zone is warned about, and UTC used.",
);
pub(super) const TZ_SCHEDULES: Entry = (
    "TZ",
    "The host's time zone (else /etc/localtime): the zone of every schedule with neither its own `timezone` nor \
     `timezone` in `[taskq]`. A TZ that names no zone is warned about, and UTC used.",
);
pub(super) const XDG_DIRS: Entry = (
    "HOME, XDG_CONFIG_HOME, XDG_DATA_HOME",
    "Where ~/.config and ~/.local/share are: the user's jobs file and the embedded SQLite file (FILES).",
);
pub(super) const TMPDIR: Entry = (
    "TMPDIR",
    "Where the files named by `TASKQ_TRIGGER_OUTPUT` and `TASKQ_PREV_OUTPUTS` are written (default /tmp); \
     each is readable by the worker's user alone, and removed when the run ends.",
);
pub(super) const PROXIES: Entry = (
    "HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY",
    "The proxies HTTP jobs go through, as curl(1) reads them (lower-case names too).",
);
pub(super) const JOB_SECRETS: Entry = (
    "any variable a job's ${VAR} names",
    "Read when the job runs (in an HTTP job's url, headers or body, and in `env` values), so secrets stay out \
     of the broker, results and logs. Unset, the run fails without being retried. A shell job gets this \
     environment whole, as its own.",
);
pub(super) const SYSTEMD: Entry = (
    "NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID",
    "Set by systemd for a `Type=notify` unit: taskq reports READY once it has reached the broker, a STATUS \
     line, STOPPING when it begins to stop, and with `WatchdogSec=` pings the watchdog at half its interval. \
     Jobs do not see them (nor `LISTEN_FDS`, `LISTEN_PID`, `LISTEN_FDNAMES`).",
);
pub(super) const GLOBALS_IGNORED: Entry = (
    "TASKQ_CONFIG, TASKQ_BROKER, TASKQ_NAMESPACE",
    "Accepted, as the global options are, and not used (an invalid `$TASKQ_NAMESPACE` is refused all the same, \
     with exit 2, as by every command).",
);

/// What taskq sets in a shell job's environment (HTTP jobs run no process).
pub(super) const JOB_VARS: &[Entry] = &[
    ("TASKQ_JOB_ID", "The job's id, a UUIDv7 (under `taskq exec`, a new one for the run)."),
    ("TASKQ_JOB_NAME", "The job's name in jobs.toml."),
    ("TASKQ_ATTEMPT", "1 for the first run, 2 for the second (a retry, or a redelivery after a lost worker)."),
    ("TASKQ_QUEUE", "The queue the job was taken from."),
    (
        "TASKQ_SCHEDULED_AT",
        "For a run a schedule fired: the tick's instant, RFC 3339 with the schedule's zone offset \
         (`catch_up = \"once\"`: the latest tick missed). Not for `taskq schedule trigger`.",
    ),
    ("TASKQ_PARAM_name", "Each parameter's value: `{{name}}` in a command becomes a quoted reference to it."),
    ("TASKQ_WORKFLOW_ID", "For a job of a workflow's step: the workflow run's id."),
    (
        "TASKQ_PREV_OUTPUTS",
        "For a job of a workflow's second or later step, and the job `enqueue --batch --then` runs: a file \
         holding the previous step's results, one JSON object per line (`job`, `id`, `params`, `output`: stdout \
         for a shell job, the body for an HTTP job).",
    ),
    ("TASKQ_TRIGGER_ID", "For a job run by another's `on_failure` or `on_success`: that job's id."),
    ("TASKQ_TRIGGER_JOB", "With it: that job's name."),
    ("TASKQ_TRIGGER_STATE", "With it: that job's final state, `failed` or `succeeded`."),
    ("TASKQ_TRIGGER_EXIT", "With it: that job's exit code (empty for an HTTP job, or a process killed by a signal)."),
    ("TASKQ_TRIGGER_OUTPUT", "With it: a file holding the tail of that job's output."),
];

/// What the commands that read the broker use.
pub(super) const READER_ENV: &[Entry] =
    &[TASKQ_CONFIG, TASKQ_BROKER, TASKQ_NAMESPACE, TASKQ_LOG, NO_COLOR, TZ_SHOWN, XDG_DIRS];

/// What the commands that show schedules use.
pub(super) const SCHEDULE_ENV: &[Entry] =
    &[TASKQ_CONFIG, TASKQ_BROKER, TASKQ_NAMESPACE, TASKQ_LOG, NO_COLOR, TZ_SCHEDULES, XDG_DIRS];

// Files.

pub(super) const CONFIG_FILES: &[Entry] = &[
    ("./jobs.toml", "The jobs file (taskq.toml(5)), when neither `-f` nor `$TASKQ_CONFIG` names one."),
    ("~/.config/taskq/jobs.toml", "Else this one (under `$XDG_CONFIG_HOME` when that is set)."),
    ("/etc/taskq/jobs.toml", "Else this one: the system's, which the packaged services name with `-f`."),
];
pub(super) const DEFAULT_DB: Entry = (
    "~/.local/share/taskq/taskq.db, /var/lib/taskq/taskq.db",
    "The embedded SQLite broker when none is configured (under `$XDG_DATA_HOME` when that is set), created on \
     first use: the file 0600, its directory 0700, as results hold parameters and output. Any number of taskq \
     processes of the same user share it. With /etc/taskq/jobs.toml, the packaged services' queue \
     /var/lib/taskq/taskq.db instead, shared by root, the user taskq and the services.",
);
/// The files of a command that needs a jobs file and a broker.
pub(super) const CONFIG_AND_DB: &[Entry] = &[CONFIG_FILES[0], CONFIG_FILES[1], CONFIG_FILES[2], DEFAULT_DB];

/// The files of a command that only reads the broker: a jobs file is
/// optional for it.
pub(super) const READER_FILES: &[Entry] = &[
    (
        "./jobs.toml, ~/.config/taskq/jobs.toml, /etc/taskq/jobs.toml",
        "The jobs file, the first found of these (or the one `-f` or `$TASKQ_CONFIG` names), read for its \
         `broker` and `namespace`. Optional here: without one, taskq uses `--broker`, `$TASKQ_BROKER` or the \
         default SQLite file.",
    ),
    DEFAULT_DB,
];
pub(super) const SERVICE_ENV: Entry = (
    "/etc/taskq/env",
    "For the packaged systemd units (taskq-worker.service, taskq-beat.service): the environment they read, \
     `TASKQ_BROKER` and the secrets jobs take as `${VAR}`, one `NAME=value` a line. Mode 0640, owner root, group \
     taskq. taskq run with /etc/taskq/jobs.toml takes `TASKQ_BROKER` from it too, before jobs.toml's `broker`, \
     as the services do (and exits 78 if it cannot read it).",
);
pub(super) const SERVICE_DB: Entry = (
    "/var/lib/taskq/taskq.db",
    "The packaged services' SQLite broker, shared by every worker and beat on the host; its directory is \
     taskq's, 0700.",
);
pub(super) const TEMP_FILES: Entry = (
    "$TMPDIR/taskq-trigger-*.out, $TMPDIR/taskq-prev-*.out",
    "The files `TASKQ_TRIGGER_OUTPUT` and `TASKQ_PREV_OUTPUTS` name, written for a run and removed when it ends.",
);

/// The files of a worker (and of taskq(1), which runs one).
pub(super) const WORKER_FILES: &[Entry] =
    &[CONFIG_FILES[0], CONFIG_FILES[1], CONFIG_FILES[2], DEFAULT_DB, SERVICE_ENV, SERVICE_DB, TEMP_FILES];

// Exit codes.

pub(super) const EXIT_CONFIG: Entry =
    ("78", "No jobs file found, or the one found is invalid: each problem is printed as *FILE*:*LINE*:*COLUMN*: ...");
pub(super) const EXIT_CONFIG_OPTIONAL: Entry = (
    "78",
    "The jobs file found is invalid, and neither `--broker` nor `$TASKQ_BROKER` is given (with either, an invalid \
     file is ignored with a warning: the command needs no jobs file when it is told where the broker is).",
);
pub(super) const EXIT_BROKER: Entry = (
    "69",
    "The broker is unavailable: unreachable, authentication refused, or a SQLite file that cannot be opened or \
     is not a taskq database.",
);
pub(super) const EXIT_IDS: Entry = (
    "2",
    "Usage error: bad flags, an id the broker does not know (or whose result expired), or an id prefix that \
     matches several.",
);
pub(super) const EXIT_WRITE: Entry = ("1", "The output could not be written (a full disk).");
