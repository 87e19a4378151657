//! The commands that put jobs in and read them back: `enqueue`, `status`,
//! `wait`, `logs`, `history`, `list`.

use crate::man::command::CommandDoc;
use crate::man::shared::{
    CONFIG_AND_DB, EXIT_BROKER, EXIT_CONFIG, EXIT_CONFIG_OPTIONAL, EXIT_IDS, NO_COLOR, READER_ENV, READER_FILES,
    TASKQ_BROKER, TASKQ_CONFIG, TASKQ_LOG, TASKQ_NAMESPACE, TZ_SHOWN, XDG_DIRS,
};

pub(in crate::man) const ENQUEUE: CommandDoc = CommandDoc {
    name: "enqueue",
    description: "\
Puts a run of *JOB* on its queue and prints its id (a UUIDv7), then returns: a worker (taskq-run(1)) runs it. \
When taskq exits 0, the job is stored in the broker.

Positional *ARGS* reach a shell job as $1, $2, ...; `-p` *NAME*`=`*VALUE* fills `{{NAME}}` in the job's templates, \
over its `params` defaults. Every parameter the job uses must get a value, and no other may be given. Each value \
is checked against its parameter's type or pattern (taskq.toml(5)) now, and again when the job starts; a value \
holding a NUL byte, or too large for the OS to pass to a process, is refused, and for a shell job so is one \
holding `$(`, `${` or a backquote.

`--delay` or `--at` hold the job back, in state `scheduled`, until then, by the broker's clock. `--expires` drops \
the job, as `expired`, if it has not started that long after it became due (default: the job's `expires`). \
`--queue` puts it on another queue than its own (not a job with `max_concurrent`, whose runs are counted on its \
own queue).

`--key` *KEY* makes the enqueue idempotent: within `--unique-for` (else the job's `unique_for`, else 1h), another \
enqueue with the same key prints the first job's id, whatever that job's state, and stores nothing. A job with \
`unique_for` is so without `--key`, keyed by its name, arguments and parameters (not its queue). `--json` says \
which happened: `{\"id\": ..., \"duplicate\": true}`.

`--wait` then waits for the job to end and exits with its outcome; `--timeout` bounds the wait (not the job).

*JOB* may name a workflow: this starts a run of it and prints the run's id, its first step's jobs enqueued at \
once and each later step's when the step before it succeeded. `-p` values reach every step that uses them. A \
workflow takes no positional arguments, `--queue`, `--delay`, `--at`, `--expires` or `--key`.

`--batch` *FILE* (`-` for standard input) enqueues many jobs, one JSON object a line: \
`{\"job\": \"NAME\", \"args\": [...], \"params\": {...}, \"queue\": \"Q\"}`, all but `job` optional. The ids are \
printed a line each as the jobs are stored, with a progress bar on a terminal. Good lines are enqueued, bad ones \
reported by line number on standard error, and the command then exits 65 with the counts. With `--then` *JOB* \
the batch goes in whole or, with one bad line, not at all; *JOB* runs once every job of the batch succeeded, \
reading their results from the file named by `$TASKQ_PREV_OUTPUTS`; the run's id is told on standard error, and \
`--wait` waits for *JOB*.",
    exit_status: &[
        ("0", "The job was stored (with `--wait`: and it, or the workflow run, succeeded)."),
        ("1", "With `--wait`: the job failed, was revoked or expired (a workflow run: failed or was revoked)."),
        (
            "2",
            "Usage error: bad flags, an unknown job or workflow, a missing, unknown or invalid parameter or argument, \
             `--queue` for a job with `max_concurrent`, `--wait` for a job with `ignore_result`, a `--batch` file \
             that cannot be opened.",
        ),
        (
            "65",
            "`--batch`: bad lines (reported by number; without `--then` the good ones were enqueued, with it \
             nothing was), input that could not be read to its end, or with `--then` a batch of no jobs.",
        ),
        EXIT_BROKER,
        (
            "74",
            "The job was stored, but its id could not be printed (standard output closed or full); the id is named \
             on standard error. Enqueueing again would run it twice. (`--batch`: the whole batch went in; `taskq \
             list` shows it.)",
        ),
        ("75", "`--wait --timeout`: the time ran out first; the job goes on."),
        EXIT_CONFIG,
    ],
    signals: &[(
        "INT, TERM",
        "End taskq at once (the default action). A job is stored whole or not at all; one stored stays queued and \
         runs: `--wait` stops waiting, not the job (`taskq revoke` cancels it). `--batch`: the jobs stored so far \
         stay; `taskq list` shows them.",
    )],
    environment: &[TASKQ_CONFIG, TASKQ_BROKER, TASKQ_NAMESPACE, TASKQ_LOG, NO_COLOR, TZ_SHOWN, XDG_DIRS],
    job_environment: false,
    files: CONFIG_AND_DB,
    examples: &[
        ("Enqueue a job with a parameter; its id is printed:", "taskq enqueue send-welcome-email -p user_id=42"),
        (
            "Positional arguments ($1 of the command), another queue, and not before 30 seconds from now:",
            "taskq enqueue resize-image photos/a.jpg --queue images --delay 30s",
        ),
        (
            "Wait up to 2 minutes for the outcome: exit 0, 1 or 75:",
            "taskq enqueue sync-inventory -p sku=A1 --wait --timeout 2m",
        ),
        ("Start a workflow's run and wait for all of it:", "taskq enqueue nightly-report -p day=2026-11-29 --wait"),
        ("At a local time (or RFC 3339, with its offset):", "taskq enqueue send-report --at \"2026-12-01 08:00\""),
        (
            "Idempotent: however often this runs within a day, one invoice job is stored:",
            "taskq enqueue send-invoice -p order=1001 \\\n  --key invoice-1001 --unique-for 1d",
        ),
        (
            "In a script: keep the id, wait for it later:",
            "id=$(taskq enqueue build -p ref=main)\ntaskq wait \"$id\" --timeout 30m",
        ),
        ("Many jobs from another program, a JSON line each:", "generate-lines | taskq enqueue --batch -"),
        (
            "A chord: charge-batch runs once every job of the batch succeeded; wait for it:",
            "taskq enqueue --batch orders.jsonl --then charge-batch --wait",
        ),
    ],
    see_also: &["taskq(1)", "taskq-wait(1)", "taskq-status(1)", "taskq-revoke(1)", "taskq-run(1)", "taskq.toml(5)"],
};

pub(in crate::man) const STATUS: CommandDoc = CommandDoc {
    name: "status",
    description: "\
Prints what the broker holds about each job: its id, name and state; its queue, attempts, exit code or HTTP \
status and how long it took; its arguments and parameters; when it was enqueued, scheduled, due, started and \
finished; the worker that ran it, its workflow step, its error, and the last 20 lines of its output (`taskq logs` \
prints all that is kept). A workflow run's id shows the run's state and each step's state and jobs.

An id may be given by its first 8 or more characters, as long as no other job's or workflow run's id starts with \
them. A job's record is kept for its `result_ttl` (default 1d), then its id is unknown; a job with \
`ignore_result` that succeeded is reported as such, its record not kept.

`--json` prints one JSON object per id, a line each, with at least `id`, `job`, `state`, `queue`, `attempts`, \
`enqueued_at`, `started_at`, `finished_at`, `exit_code`, `http_status`, `worker`, `error`, `output` (the whole \
tail kept) and `scheduled_at`; absent values are null. A workflow run's object holds its steps.",
    exit_status: &[
        ("0", "Every id was reported, whatever its job's state."),
        (
            "2",
            "Usage error: bad flags, an id the broker does not know (the known ones are printed first), or an id \
             prefix that matches several.",
        ),
        EXIT_BROKER,
        EXIT_CONFIG_OPTIONAL,
    ],
    signals: &[],
    environment: READER_ENV,
    job_environment: false,
    files: READER_FILES,
    examples: &[
        ("A job's state, times, exit code and output tail:", "taskq status 019364e1-7c5a-7d3e-9f7e-2b1d0c4a5e6f"),
        ("By the start of its id:", "taskq status 019364e1"),
        ("A state for a script:", "taskq status --json 019364e1 | jq -r .state"),
        (
            "Against a broker given on the command line, with no jobs file at hand:",
            "taskq --broker redis://redis.internal:6379/0 status 019364e1",
        ),
    ],
    see_also: &["taskq(1)", "taskq-wait(1)", "taskq-logs(1)", "taskq-history(1)", "taskq-list(1)"],
};

pub(in crate::man) const WAIT: CommandDoc = CommandDoc {
    name: "wait",
    description: "\
Waits until every job or workflow run named has ended, that is succeeded, failed, been revoked or expired (a job \
that is retrying has not ended); then prints a line for each, `ID  JOB  STATE` (with `--json`, its `status` \
object), and exits with their outcome. With many ids a progress bar shows on a terminal.

It asks the broker, every 10 ms at first and every 200 ms after a while, so it works from any host. An id may be \
given by its first 8 or more characters, as long as no other id starts with them.",
    exit_status: &[
        ("0", "Every job succeeded."),
        ("1", "At least one failed, was revoked or expired."),
        EXIT_IDS,
        EXIT_BROKER,
        ("75", "`--timeout` ran out first, whatever the outcomes of the jobs that ended; the jobs go on."),
        EXIT_CONFIG_OPTIONAL,
    ],
    signals: &[("INT, TERM", "End at once (the default action): the waiting stops, the jobs go on.")],
    environment: READER_ENV,
    job_environment: false,
    files: READER_FILES,
    examples: &[
        ("Wait for a job; the exit code is its outcome:", "taskq wait 019364e1-7c5a-7d3e-9f7e-2b1d0c4a5e6f"),
        ("Wait for several, for at most 10 minutes:", "taskq wait 019364e1 01936502 01936517 --timeout 10m"),
        (
            "Fan out, then wait for all of them:",
            "ids=$(for f in *.csv; do taskq enqueue import -p file=\"$f\"; done)\ntaskq wait $ids",
        ),
    ],
    see_also: &["taskq(1)", "taskq-enqueue(1)", "taskq-status(1)"],
};

pub(in crate::man) const LOGS: CommandDoc = CommandDoc {
    name: "logs",
    description: "\
Prints the output a job's run captured, its standard output and error interleaved as written: the last 64 KiB of \
it (an HTTP job's: the response body). Control characters are shown escaped (`taskq status --json` has the text \
as it was). A retried job's output is its latest attempt's.

`-f` follows a running job's output live, from any host, until the job ends: its worker publishes what the job \
wrote every second, and logs prints what is new. A line `--- attempt N ---` on standard error marks a new \
attempt; output that scrolled out of the kept 64 KiB between two looks is told as `[N earlier bytes were not \
kept]`. After `logs`, `-f` is `--follow` (also `-F`); before it, `-f` names the jobs file.",
    exit_status: &[
        ("0", "The output was printed (a job that succeeded with `ignore_result` kept none: said on standard error)."),
        (
            "2",
            "Usage error: bad flags, an id the broker does not know, an id prefix that matches several, or a \
             workflow run's id (its steps' jobs have the output: `taskq status` lists them).",
        ),
        EXIT_BROKER,
        EXIT_CONFIG_OPTIONAL,
    ],
    signals: &[("INT, TERM", "End at once (the default action): with `-f`, the following stops; the job goes on.")],
    environment: READER_ENV,
    job_environment: false,
    files: READER_FILES,
    examples: &[
        ("A finished job's output:", "taskq logs 019364e1"),
        ("Follow a running job, as tail -f does:", "taskq logs 019364e1 -f"),
        ("Search it:", "taskq logs 019364e1 | grep -i error"),
    ],
    see_also: &["taskq(1)", "taskq-status(1)", "taskq-run(1)"],
};

pub(in crate::man) const HISTORY: CommandDoc = CommandDoc {
    name: "history",
    description: "\
The recent runs of one job, scheduled or not, newest first: when each ran, its tick (for a scheduled run), the \
worker, its attempts, its outcome with its exit code or HTTP status, how long it took, and its id; `--limit` \
runs (default 20). For a workflow, its recent runs and how far each got. Runs are kept for their \
`result_ttl`.

`--json` prints each run's `status` object, a line each.",
    exit_status: &[
        ("0", "The runs were printed (none kept is said on standard error)."),
        (
            "2",
            "Usage error: bad flags, an invalid name, or a name the jobs file does not know that has no runs either \
             (a \"did you mean\" follows).",
        ),
        EXIT_BROKER,
        EXIT_CONFIG_OPTIONAL,
    ],
    signals: &[],
    environment: READER_ENV,
    job_environment: false,
    files: READER_FILES,
    examples: &[
        ("Did last night's backup run, and how long did it take?", "taskq history nightly-backup --limit 5"),
        ("Each run's state, for a script:", "taskq history nightly-backup --json | jq -r .state"),
    ],
    see_also: &["taskq(1)", "taskq-list(1)", "taskq-status(1)", "taskq-schedule(1)"],
};

pub(in crate::man) const LIST: CommandDoc = CommandDoc {
    name: "list",
    description: "\
Lists jobs, and workflow runs, newest first by enqueue time: each one's id, name, state, queue, attempts and \
when it was enqueued; at most `--limit` (default 50). `--state`, `--queue` and `--job` filter; the states are \
`scheduled`, `queued`, `running`, `retrying`, `succeeded`, `failed`, `revoked` and `expired` (a workflow run's \
state filters runs; `--queue` leaves runs out). Finished jobs are kept for their `result_ttl`; failed ones stay \
in the failed set until retried or purged, at most `failed_max` of them and none older than `failed_ttl`.

`--json` prints each job's `status` object, a line each.",
    exit_status: &[
        ("0", "The list was printed (none: said on standard error)."),
        ("2", "Usage error: bad flags, an unknown `--state`, an invalid `--queue` or `--job` name."),
        EXIT_BROKER,
        EXIT_CONFIG_OPTIONAL,
    ],
    signals: &[],
    environment: READER_ENV,
    job_environment: false,
    files: READER_FILES,
    examples: &[
        ("The 50 latest jobs:", "taskq list"),
        ("The failed set:", "taskq list --state failed --limit 500"),
        ("What waits on the mail queue:", "taskq list --queue mail --state queued"),
        (
            "Retry one job's failed runs:",
            "taskq list --job sync-inventory --state failed --json |\n  jq -r .id | xargs taskq retry",
        ),
    ],
    see_also: &["taskq(1)", "taskq-status(1)", "taskq-history(1)", "taskq-retry(1)", "taskq-purge(1)"],
};
