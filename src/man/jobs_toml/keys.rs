//! Every key of jobs.toml, table by table: its type, default, meaning and
//! an example, in the markup of `render.rs`. Tables are named as
//! `config::keys::table` names them; the test in mod.rs holds these to the
//! keys the parser accepts.

use crate::config::keys::table;

/// One key: `name = kind`, what it does, its default, and a line of TOML.
pub(super) struct Key {
    pub(super) name: &'static str,
    pub(super) kind: &'static str,
    pub(super) default: &'static str,
    pub(super) text: &'static str,
    pub(super) example: &'static str,
}

/// A table of jobs.toml and its keys.
pub(super) struct Table {
    pub(super) id: &'static str,
    pub(super) keys: &'static [Key],
}

const fn key(
    name: &'static str,
    kind: &'static str,
    default: &'static str,
    text: &'static str,
    example: &'static str,
) -> Key {
    Key { name, kind, default, text, example }
}

pub(super) const TASKQ: Table = Table {
    id: table::TASKQ,
    keys: &[
        key(
            "broker",
            "URL",
            "the embedded SQLite file, ~/.local/share/taskq/taskq.db (for /etc/taskq/jobs.toml, the \
             packaged services' /var/lib/taskq/taskq.db)",
            "Where the queue lives: `redis://[user:password@]host[:port][/db]`, `rediss://...` (TLS), \
             `redis+cluster://host1:port,host2:port/`, `redis+sentinel://s1:26379,s2:26379/`*MASTER*`[/db]`, or \
             `sqlite:///`*absolute/path*. `--broker` and `$TASKQ_BROKER` win over it; keep a password out of \
             this file by giving the URL in `$TASKQ_BROKER` instead (for /etc/taskq/jobs.toml, in \
             /etc/taskq/env, which the packaged services and taskq read first).",
            "broker = \"redis://127.0.0.1:6379/0\"",
        ),
        key(
            "namespace",
            "name",
            "`taskq`",
            "The prefix of every key taskq writes, so several applications can share one broker (or one SQLite \
             file). Letters, digits, `_`, `.` and `-`. `--namespace` and `$TASKQ_NAMESPACE` win over it.",
            "namespace = \"billing\"",
        ),
        key(
            "timezone",
            "zone",
            "the host's zone ($TZ, else /etc/localtime)",
            "The zone of every schedule that names none (TIME ZONES). Set it when beats run on hosts whose zones \
             differ: without it they fire such schedules in UTC.",
            "timezone = \"Europe/Berlin\"",
        ),
        key(
            "result_ttl",
            "duration",
            "`1d`",
            "How long a finished job's record (state, times, exit code, output tail) is kept, unless the job sets \
             its own; gone within a minute after it.",
            "result_ttl = \"7d\"",
        ),
        key(
            "lease",
            "duration",
            "`30s`",
            "How long a worker's hold on a running job lasts; it renews it every third of that while the job runs, \
             and a job whose worker died runs again once it lapses. At least 1s. `taskq run --lease` wins over it.",
            "lease = \"1m\"",
        ),
        key(
            "failed_max",
            "integer",
            "`10000`",
            "The most failed jobs the failed set keeps, per namespace; beyond it the oldest are dropped, each \
             drop counted in the metrics.",
            "failed_max = 50000",
        ),
        key(
            "failed_ttl",
            "duration",
            "`180d`",
            "How long a failed job stays in the failed set, if not retried or purged first.",
            "failed_ttl = \"30d\"",
        ),
    ],
};

pub(super) const JOB: Table = Table {
    id: table::JOB,
    keys: &[
        key(
            "command",
            "string",
            "none",
            "The shell command the job runs, as `SHELL -c COMMAND JOBNAME ARGS...`: positional arguments given to \
             `taskq enqueue` are $1, $2, ..., the job's name is $0. It runs in a process group of its own, its \
             standard input /dev/null, its output captured. `{{name}}` is a parameter (TEMPLATES); `$VAR` and \
             `${VAR}` are left to the shell. A job has `command` or `http`, not both.",
            "command = \"./bin/send-welcome --user {{user_id}}\"",
        ),
        key(
            "http",
            "table",
            "none",
            "Makes the job an HTTP request: see THE http TABLE.",
            "http = { url = \"https://api.example.com/orders/{{id}}/sync\" }",
        ),
        key(
            "shell",
            "path",
            "`/bin/sh`",
            "The shell that runs `command`, as *SHELL* `-c`. Shell jobs only.",
            "shell = \"/bin/bash\"",
        ),
        key(
            "workdir",
            "path",
            "the worker's working directory",
            "The directory the command starts in. A run whose workdir does not exist fails without being \
             retried. Shell jobs only.",
            "workdir = \"/srv/app\"",
        ),
        key(
            "env",
            "table of strings",
            "none",
            "Environment variables set for the command, over the worker's own. A value may hold `${VAR}`, read \
             from the worker's environment when the job runs (not `{{param}}`). Merged with `[defaults] env`, the \
             job's value winning. Shell jobs only: an HTTP job takes `${VAR}` in its url, headers or body.",
            "env = { APP_ENV = \"production\", SMTP_PASS = \"${SMTP_PASS}\" }",
        ),
        key(
            "queue",
            "name",
            "`default`",
            "The queue the job's runs go on; workers choose the queues they serve (`taskq run -Q`). Letters, \
             digits, `_`, `.` and `-`.",
            "queue = \"mail\"",
        ),
        key(
            "timeout",
            "duration",
            "none for a shell job; 1h for an HTTP job",
            "How long a run may take. A shell job's whole process group then gets SIGTERM, and SIGKILL \
             `kill_after` later; an HTTP request is abandoned (the timeout bounds all of it). A timeout is a \
             failure, retried if retries remain.",
            "timeout = \"30s\"",
        ),
        key(
            "kill_after",
            "duration",
            "`10s`",
            "How long a job's processes have between SIGTERM and SIGKILL: at its timeout, when its main process \
             left others running, when a worker stops, on `taskq revoke --terminate`.",
            "kill_after = \"1m\"",
        ),
        key(
            "retries",
            "integer",
            "`0`",
            "How many times a failed run is retried, so at most retries + 1 attempts. A shell job is retried on \
             any failure (an exit code not in `success_exit`, a signal, a timeout) unless `retry_on_exit` narrows \
             it; an HTTP job on connection errors, timeouts, 408, 429 and 5xx. A run that could not start (an \
             unset `${VAR}`, a missing `workdir`) is not retried. After the last attempt the job is `failed`.",
            "retries = 5",
        ),
        key(
            "retry_delay",
            "duration",
            "`10s`",
            "The delay before the first retry; each later one doubles it (10s, 20s, 40s, ...), up to \
             `retry_delay_max`. An HTTP response's `Retry-After` (seconds or a date) replaces the computed delay.",
            "retry_delay = \"30s\"",
        ),
        key(
            "retry_delay_max",
            "duration",
            "`1h`",
            "The longest delay between retries, `Retry-After` included. Not shorter than `retry_delay`.",
            "retry_delay_max = \"10m\"",
        ),
        key(
            "retry_jitter",
            "boolean",
            "`false`",
            "Full jitter: each delay is random, between none and the computed one, so that jobs failing together \
             do not retry together.",
            "retry_jitter = true",
        ),
        key(
            "retry_on_exit",
            "array of integers",
            "any failure",
            "Retry only when the command exits with one of these codes (0 to 255); timeouts are still retried. \
             Shell jobs only.",
            "retry_on_exit = [75]",
        ),
        key(
            "unique_for",
            "duration",
            "none",
            "Makes enqueueing idempotent: within this window, a second enqueue of the job with the same arguments \
             and parameters (whatever the queue) returns the first one's id, whatever that job's state, and \
             stores nothing. Also the window of `taskq enqueue --key` for this job.",
            "unique_for = \"1h\"",
        ),
        key(
            "expires",
            "duration",
            "none; for a scheduled run, until its schedule's next tick",
            "A run not started this long after it became due (enqueued, or its delay over) is dropped as `expired` \
             and never runs. A run that started once, and was requeued or is retrying, never expires.",
            "expires = \"15m\"",
        ),
        key(
            "on_failure",
            "job name, or false",
            "none",
            "A job to enqueue when a run fails for good (its retries spent, or its worker lost too often). It runs \
             with its own parameter defaults and sees `TASKQ_TRIGGER_ID`, `TASKQ_TRIGGER_JOB`, \
             `TASKQ_TRIGGER_STATE`, `TASKQ_TRIGGER_EXIT` and `TASKQ_TRIGGER_OUTPUT` (taskq(1)): what cron's \
             MAILTO did, for any alerting channel. `false` turns off an `on_failure` from `[defaults]`, which never \
             applies to the job it names.",
            "on_failure = \"alert-oncall\"",
        ),
        key(
            "on_success",
            "job name, or false",
            "none",
            "A job to enqueue when a run succeeds, as `on_failure` does.",
            "on_success = \"publish-report\"",
        ),
        key(
            "success_status",
            "array of integers",
            "any 2xx",
            "The HTTP statuses (100 to 599) that count as success. HTTP jobs only.",
            "success_status = [200, 201, 202, 204]",
        ),
        key(
            "success_exit",
            "array of integers",
            "`[0]`",
            "The exit codes (0 to 255) that count as success. Shell jobs only.",
            "success_exit = [0, 3]",
        ),
        key(
            "schedule",
            "cron expression",
            "none",
            "Fire the job on this schedule (SCHEDULES): `taskq beat` enqueues a run at each tick, with the job's \
             parameter defaults, so each parameter needs one. Not with `every`.",
            "schedule = \"30 2 * * *\"",
        ),
        key(
            "every",
            "duration",
            "none",
            "Fire the job at every whole multiple of this period since the Unix epoch (`5m`: at :00, :05, ...), so \
             every beat agrees on the ticks. At least 1s. Not with `schedule`.",
            "every = \"5m\"",
        ),
        key(
            "timezone",
            "zone",
            "`timezone` of `[taskq]`, else the host's zone",
            "The zone the job's `schedule` is read in (TIME ZONES); its runs' `TASKQ_SCHEDULED_AT` carries its \
             offset.",
            "timezone = \"America/New_York\"",
        ),
        key(
            "params",
            "table",
            "none",
            "Defaults and rules for the job's parameters: see PARAMETERS.",
            "params = { keep = { type = \"int\", default = 14 } }",
        ),
        key(
            "max_concurrent",
            "integer",
            "none",
            "At most this many runs of the job at once, across every worker on every host (what flock(1) does for \
             cron). A run over the limit waits for a slot, without holding up other jobs; a tick that finds the \
             previous run still running with the limit reached is skipped. The job's runs stay on its own queue \
             (`taskq enqueue --queue` is refused).",
            "max_concurrent = 1",
        ),
        key(
            "catch_up",
            "string",
            "`\"skip\"`",
            "What becomes of the ticks missed while no beat ran at all: `\"skip\"` them (as cron), run `\"once\"` now \
             (as anacron), or run `\"all\"` of them, the latest 100.",
            "catch_up = \"once\"",
        ),
        key(
            "result_ttl",
            "duration",
            "`result_ttl` of `[taskq]`, else `1d`",
            "How long the job's finished runs' records are kept.",
            "result_ttl = \"1h\"",
        ),
        key(
            "ignore_result",
            "boolean",
            "`false`",
            "Delete a run's record as soon as it succeeds: `taskq status` then says it succeeded, its record not \
             kept; a failed run's record is kept. `taskq enqueue --wait` refuses such a job.",
            "ignore_result = true",
        ),
        key(
            "max_redeliveries",
            "integer",
            "`3`",
            "How many times the job may lose its worker (killed, host down) before it fails as a poison job, with \
             reason \"worker lost\", instead of taking down worker after worker.",
            "max_redeliveries = 1",
        ),
        key(
            "user",
            "user name",
            "the worker's own user",
            "Run a shell job as this user, as the user field of /etc/crontab does. The worker must run as \
             root: it switches to the user for the job, with the user's groups, `HOME`, `USER` and `LOGNAME` \
             from its passwd entry and `SHELL` the job's shell, in the user's home unless `workdir` is set (`/` \
             when it has none). Its environment is that and the worker's `PATH`, `LANG`, `LC_*` and `TZ`, as \
             under cron, not from the worker's environment, which holds the broker's URL \
             and every job's secrets: name what it needs in its `env` (`TOKEN = \"${TOKEN}\"`). A worker that \
             cannot switch to the user (it is not root, or the user is missing on its host) names each such job \
             of its queues in an error at start and reload, and their runs there fail without retries; its \
             other jobs run (`taskq check` warns too). The account is looked up when each run starts.",
            "user = \"www-data\"",
        ),
        key(
            "group",
            "group name",
            "the user's primary group",
            "The primary group the job runs with; needs `user`. The user's own groups stay its supplementary \
             groups, as with `sudo -u USER -g GROUP`.",
            "user = \"www-data\"\ngroup = \"adm\"",
        ),
    ],
};

pub(super) const HTTP: Table = Table {
    id: table::HTTP,
    keys: &[
        key(
            "method",
            "string",
            "`GET`",
            "The request's method: `GET`, `POST`, `PUT`, `PATCH`, `DELETE`, `HEAD`, or another of letters only.",
            "method = \"POST\"",
        ),
        key(
            "url",
            "string",
            "none; required",
            "The URL, `http://` or `https://`. A `{{param}}` is percent-encoded; a parameter filling a whole path \
             segment cannot be `.` or `..`. `${VAR}` is read from the worker's environment.",
            "url = \"https://api.example.com/inventory/{{sku}}/sync\"",
        ),
        key(
            "headers",
            "table of strings",
            "none",
            "Request headers. Values take `{{param}}` as it is (a control character in it is refused) and \
             `${VAR}`. They are sent to the URL's origin only: a redirect elsewhere drops them.",
            "headers = { Authorization = \"Bearer ${INVENTORY_TOKEN}\" }",
        ),
        key(
            "json",
            "any TOML value",
            "none",
            "A JSON body, written as TOML (a table, array, string, number or boolean), sent with `Content-Type: \
             application/json` unless `headers` sets one. Every string in it is a template: a parameter becomes \
             a JSON string. Not with `body`.",
            "json = { source = \"taskq\", sku = \"{{sku}}\" }",
        ),
        key(
            "body",
            "string",
            "none",
            "A raw body, sent as it is; a `{{param}}` goes in as it is. Not with `json`.",
            "body = \"sku={{sku}}&source=taskq\"",
        ),
    ],
};

pub(super) const PARAM_RULE: Table = Table {
    id: table::PARAM_RULE,
    keys: &[
        key("type", "string", "`\"string\"`", "What values may be: one of the types below.", "type = \"int\""),
        key(
            "default",
            "string, integer, float or boolean",
            "none; the parameter is then required",
            "The value when `-p` gives none (and the only value a scheduled run or a hook job gets); checked \
             against the rule when the file loads.",
            "default = 14",
        ),
        key(
            "pattern",
            "regular expression",
            "none",
            "A regular expression (Rust regex syntax) the whole value must match.",
            "pattern = \"^[a-z0-9-]+$\"",
        ),
    ],
};

/// The values of a rule's `type`.
pub(super) const PARAM_TYPES: &[(&str, &str)] = &[
    (
        "string",
        "Any text (for a shell job, within what every value must be, below). The type of a parameter with no rule.",
    ),
    (
        "int",
        "An integer of 64 bits, with an optional sign and no leading zeros (bash would read 010 as octal). The \
         type a parameter in shell arithmetic must have.",
    ),
    ("number", "A decimal number: an optional sign, digits and an optional fraction (no exponent)."),
    ("bool", "`true` or `false`."),
    ("word", "Letters, digits, `_`, `.` and `-`, at least one."),
    ("uuid", "A UUID."),
];

pub(super) const WORKFLOW: Table = Table {
    id: table::WORKFLOW,
    keys: &[
        key(
            "steps",
            "array of steps",
            "none; required",
            "The steps, in order (below). A step starts once the step before it fully succeeded; a step that \
             fails, after its jobs' retries, fails the run.",
            "steps = [\"export-orders\", \"upload-report\"]",
        ),
        key(
            "on_failure",
            "job name",
            "none",
            "A job to enqueue once when the run fails. It runs with its own parameter defaults; \
             `TASKQ_TRIGGER_ID` and `TASKQ_TRIGGER_JOB` name the run and the workflow, `TASKQ_TRIGGER_EXIT` and \
             `TASKQ_TRIGGER_OUTPUT` are those of the job whose failure failed it.",
            "on_failure = \"alert-oncall\"",
        ),
        key(
            "schedule",
            "cron expression",
            "none",
            "Start a run at each tick, as a job's `schedule` does. Every parameter its steps' jobs use needs a \
             default (a `map` step's own excepted). Not with `every`.",
            "schedule = \"0 6 * * *\"",
        ),
        key(
            "every",
            "duration",
            "none",
            "Start a run at each tick of this period, as a job's `every` does.",
            "every = \"1h\"",
        ),
        key(
            "timezone",
            "zone",
            "`timezone` of `[taskq]`, else the host's zone",
            "The zone `schedule` is read in.",
            "timezone = \"Europe/Berlin\"",
        ),
    ],
};

pub(super) const GROUP_STEP: Table = Table {
    id: table::GROUP_STEP,
    keys: &[key(
        "group",
        "array",
        "none",
        "Jobs, and `{ workflow = NAME }`, enqueued together to run in parallel; the next step starts once every \
         one succeeded (a chord, when a step follows). Not empty.",
        "{ group = [\"export-orders\", { workflow = \"refresh-stats\" }] }",
    )],
};

pub(super) const MAP_STEP: Table = Table {
    id: table::MAP_STEP,
    keys: &[
        key(
            "map",
            "job name",
            "none",
            "Run this job once per non-empty line of the previous step's output (or per item, when that output is \
             a JSON array), the runs enqueued together. Not the first step.",
            "{ map = \"validate-order\", param = \"order_id\" }",
        ),
        key(
            "param",
            "parameter name",
            "none; required",
            "The parameter of the `map` job each line fills.",
            "{ map = \"resize\", param = \"path\" }",
        ),
        key(
            "max_items",
            "integer",
            "`10000`",
            "The most runs one output may make; more fails the step.",
            "{ map = \"resize\", param = \"path\", max_items = 500 }",
        ),
    ],
};

pub(super) const WORKFLOW_STEP: Table = Table {
    id: table::WORKFLOW_STEP,
    keys: &[key(
        "workflow",
        "workflow name",
        "none",
        "Run that workflow, whole, as this step. A workflow may not include itself, directly or through others.",
        "{ workflow = \"refresh-stats\" }",
    )],
};

/// Every table with keys.
pub(super) const TABLES: &[&Table] =
    &[&TASKQ, &JOB, &HTTP, &PARAM_RULE, &WORKFLOW, &GROUP_STEP, &MAP_STEP, &WORKFLOW_STEP];
