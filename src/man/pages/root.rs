//! taskq(1): what taskq is, every exit code, and everything it reads.

use crate::man::command::CommandDoc;
use crate::man::shared::{
    JOB_SECRETS, NO_COLOR, PROXIES, SYSTEMD, TASKQ_BROKER, TASKQ_CONFIG, TASKQ_LOG, TASKQ_NAMESPACE, TMPDIR,
    WORKER_FILES, XDG_DIRS,
};

pub(in crate::man) const TASKQ: CommandDoc = CommandDoc {
    name: "taskq",
    description: "\
taskq runs the jobs a TOML file defines, shell commands and HTTP requests, on workers: now (`taskq enqueue`) or \
on a schedule (`taskq beat`), with retries, time limits, uniqueness, concurrency limits and a record of every \
run. It replaces crontab entries with schedules that never fire twice, never overlap when told not to, retry on \
failure and leave a record; and does for any program on a Unix host what Celery and Celery beat do for a Django \
project.

The jobs file, jobs.toml, maps job names to commands; taskq.toml(5) describes every key. The queue lives in a \
broker: Redis, shared by any number of hosts, or with no set-up at all an embedded SQLite file on the local \
host.

A job's life: `taskq enqueue` stores it and prints its id (a UUIDv7). A worker (`taskq run`) takes it when it has \
a free slot, holds it under a lease it renews while the job runs, and records its outcome: `succeeded`; \
`retrying`, then `queued` again after its backoff; or `failed` once its retries are spent, into the failed set \
(`taskq retry` requeues it). A delayed job is `scheduled` until due; a `revoked` or `expired` job never runs. \
When a worker dies its jobs die with it, their leases lapse and they run again on another worker.

What goes into the broker is a job's name, arguments and parameters, never its command: a worker runs the job as \
its own jobs.toml defines it when the job starts.

Global options may stand before or after the command (`taskq -f jobs.toml run`, `taskq run -f jobs.toml`; after \
`logs`, `-f` means `--follow`). A flag wins over its environment variable, which wins over `[taskq]` in \
jobs.toml, which wins over the default.

Data goes to standard output: ids, tables, or with `--json` one JSON document (JSON lines for `list`, \
`history`, `status` and `wait`), times in RFC 3339 with their offset. Logs and errors go to standard error; \
every error is one line, `error:` followed by what went wrong and the fix, when there is one. Text output \
shows control characters escaped, so a job's output cannot drive the terminal; `--json` carries them as they are.",
    exit_status: &[
        (
            "0",
            "Success (`run --burst`: the queues were drained, whatever the jobs' outcomes). A pipe closed on \
             standard output (`taskq list | head`) ends a command quietly, with 0.",
        ),
        (
            "1",
            "The job failed, was revoked or expired (`enqueue --wait`, `wait`, `exec` of an HTTP job); with several \
             ids, any one. Also a request that was refused (`revoke` or `retry` of a job in a state they do not \
             apply to, `purge` not confirmed), and any error no other code names.",
        ),
        (
            "2",
            "Usage error: bad flags, an unknown job or workflow name, a missing, unknown or invalid parameter, an \
             unknown or ambiguous job id.",
        ),
        ("65", "Bad input data: a `--batch` line, a crontab line that cannot be converted."),
        (
            "69",
            "The broker is unavailable: unreachable, authentication refused, or a SQLite file that cannot be \
             opened or is not a taskq database.",
        ),
        (
            "74",
            "`enqueue` and `schedule trigger`: the job was stored, but its id could not be printed (standard output \
             closed or full); the id is named on standard error. Enqueueing again would run it twice.",
        ),
        ("75", "`--timeout` reached while waiting (wins over 1 when several ids are waited for)."),
        ("78", "No jobs file found, or it is invalid."),
        ("124", "`exec`: the job hit its `timeout`, as timeout(1) exits."),
        (
            "*N*",
            "`exec` of a shell job exits with the job's own exit code: 128+*N* when it was killed by signal *N*, \
             130 when taskq was interrupted.",
        ),
    ],
    signals: &[
        (
            "TERM, INT",
            "`run` stops taking jobs and lets the running ones finish (taskq-run(1)); `beat` stops firing; `exec` \
             stops its job and exits 130; `top` gives the terminal back. Other commands end at once, as the signal's \
             default action: what they stored stays stored.",
        ),
        (
            "HUP",
            "`run` and `beat` read jobs.toml again; an invalid file is reported and the running config kept. \
             `exec` stops its job, as on INT. Other commands end at once.",
        ),
    ],
    environment: &[
        TASKQ_CONFIG,
        TASKQ_BROKER,
        TASKQ_NAMESPACE,
        TASKQ_LOG,
        NO_COLOR,
        (
            "TZ",
            "The host's time zone (else /etc/localtime): times printed in it, a `--at` written without an offset, \
             and schedules with neither their own `timezone` nor `timezone` in `[taskq]`. A TZ that names no zone \
             is warned about, and UTC used.",
        ),
        XDG_DIRS,
        TMPDIR,
        PROXIES,
        JOB_SECRETS,
        SYSTEMD,
    ],
    job_environment: true,
    files: WORKER_FILES,
    examples: &[
        ("Validate jobs.toml and show the next fire times of its schedules:", "taskq check"),
        ("Run one job here and now, without a broker:", "taskq exec nightly-backup"),
        ("Put a job on its queue; its id is printed:", "taskq enqueue send-welcome -p user_id=42"),
        ("Start a worker on every queue jobs.toml names, running 4 jobs at once:", "taskq run -c 4"),
        ("What became of a job:", "taskq status 019364e1-7c5a-7d3e-9f7e-2b1d0c4a5e6f"),
        (
            "A cron replacement on one host: the worker and the scheduler in one process, with the embedded \
             SQLite broker:",
            "taskq run --beat",
        ),
        (
            "The same jobs file against a shared Redis, on each of several hosts:",
            "export TASKQ_BROKER=redis://redis.internal:6379/0\ntaskq run -Q high:6,default:3",
        ),
        ("Queues, workers and schedules at a glance:", "taskq inspect"),
    ],
    see_also: &[
        "taskq.toml(5)",
        "taskq-check(1)",
        "taskq-enqueue(1)",
        "taskq-run(1)",
        "taskq-beat(1)",
        "taskq-exec(1)",
        "taskq-status(1)",
        "taskq-wait(1)",
        "taskq-logs(1)",
        "taskq-history(1)",
        "taskq-list(1)",
        "taskq-inspect(1)",
        "taskq-top(1)",
        "taskq-schedule(1)",
        "taskq-revoke(1)",
        "taskq-retry(1)",
        "taskq-purge(1)",
        "taskq-import-crontab(1)",
        "crontab(5)",
        "systemd.service(5)",
    ],
};
