//! The operator's commands: `inspect`, `top`, `schedule`, `revoke`,
//! `retry`, `purge`.

use crate::man::command::CommandDoc;
use crate::man::shared::{
    CONFIG_AND_DB, EXIT_BROKER, EXIT_CONFIG, EXIT_CONFIG_OPTIONAL, EXIT_IDS, READER_ENV, READER_FILES, SCHEDULE_ENV,
};

pub(in crate::man) const INSPECT: CommandDoc = CommandDoc {
    name: "inspect",
    description: "\
A snapshot of the namespace, every instant in it read on the broker's clock:

- the queues jobs.toml names, and how many jobs each holds ready;
- the live workers and beats: host, process, queues and concurrency, the jobs they run and for how long; one
  whose host's clock is more than 1 s off the broker's is flagged; one silent for 30 s is gone;
- per job, how its attempts ended over the last hour and 24 h (succeeded, failed, retried), with mean and 95th
  percentile run times;
- the schedules: when each fires, its last tick and next fire, ticks fired and skipped, its last success, and an
  alert when its last run failed, when no run succeeded within two periods, or when beats hold different
  definitions of it;
- workflow runs by state.

`--json` prints it as one JSON document. `taskq top` shows the same full screen, refreshed.",
    exit_status: &[("0", "The snapshot was printed."), ("2", "Usage error: bad flags."), EXIT_BROKER, EXIT_CONFIG],
    signals: &[],
    environment: SCHEDULE_ENV,
    job_environment: false,
    files: CONFIG_AND_DB,
    examples: &[
        ("Queues, workers, jobs and schedules at a glance:", "taskq inspect"),
        ("Another application's namespace in the same Redis:", "taskq --namespace billing inspect"),
        (
            "Schedules with an alert, for a monitoring script:",
            "taskq inspect --json |\n  jq -r '.schedules[] | select(.alerts != []) | .name'",
        ),
    ],
    see_also: &["taskq(1)", "taskq-top(1)", "taskq-schedule(1)", "taskq-run(1)", "taskq-beat(1)"],
};

pub(in crate::man) const TOP: CommandDoc = CommandDoc {
    name: "top",
    description: "\
`taskq inspect`, full screen and read again every second: queues and their depths, workers and how long their \
jobs have run, per-job outcomes with a sparkline of the last hour, and the schedules that need a look (failing, \
overdue, paused). The keys are below. A broker that stops answering is said on the screen while top keeps \
asking.

Not on a terminal (standard output piped), or with `--json`, top prints what `taskq inspect` prints, once.",
    exit_status: &[
        ("0", "Quit with a key or a signal; not on a terminal, the snapshot was printed."),
        ("1", "The terminal could not be used full screen."),
        ("2", "Usage error: bad flags."),
        EXIT_BROKER,
        EXIT_CONFIG,
    ],
    signals: &[("INT, TERM", "Quit, giving the terminal back as it was.")],
    environment: SCHEDULE_ENV,
    job_environment: false,
    files: CONFIG_AND_DB,
    examples: &[
        ("Watch the queues and workers live:", "taskq top"),
        ("Against the production Redis:", "TASKQ_BROKER=redis://redis.internal:6379/0 taskq top"),
    ],
    see_also: &["taskq(1)", "taskq-inspect(1)", "top(1)"],
};

pub(in crate::man) const SCHEDULE: CommandDoc = CommandDoc {
    name: "schedule",
    description: "\
Runtime control of the schedules jobs.toml defines, as django-celery-beat's admin gives it. A schedule is named \
by its job's (or workflow's) name. A pause is kept in the broker: every beat obeys it from its next tick, and it \
survives restarts.

`list` prints each schedule: when it fires, whether it is paused and since when, its last tick and its next \
fire, in the schedule's own zone (`--json`: one document). `pause` stops it firing on every beat until it is \
resumed; each tick meanwhile is counted as skipped (\"paused\"). `resume` lets it fire again from its next tick; \
the ticks of the pause are not caught up. `trigger` enqueues one run now, outside the schedule, paused or not, \
with the job's parameter defaults (and no `TASKQ_SCHEDULED_AT`), and prints its id.",
    exit_status: &[
        ("0", "Done (pausing a paused schedule, or resuming an active one, changes nothing and says so)."),
        (
            "2",
            "Usage error: bad flags, an unknown schedule, or a job or workflow that has no schedule (a \"did you \
             mean\" follows).",
        ),
        EXIT_BROKER,
        ("74", "`trigger`: the run was enqueued, but its id could not be printed; the id is named on standard error."),
        EXIT_CONFIG,
    ],
    signals: &[],
    environment: SCHEDULE_ENV,
    job_environment: false,
    files: CONFIG_AND_DB,
    examples: &[
        ("Every schedule, its last tick and next fire:", "taskq schedule list"),
        ("Hold the nightly backup during maintenance, on every beat:", "taskq schedule pause nightly-backup"),
        ("Let it fire again from its next tick:", "taskq schedule resume nightly-backup"),
        ("Run it now, once, and wait for it:", "taskq wait \"$(taskq schedule trigger nightly-backup)\""),
    ],
    see_also: &["taskq(1)", "taskq-beat(1)", "taskq-inspect(1)", "taskq.toml(5)"],
};

pub(in crate::man) const REVOKE: CommandDoc = CommandDoc {
    name: "revoke",
    description: "\
Cancels a job that has not started (queued, scheduled or retrying): it becomes `revoked` and never runs. A running \
job is left running, and said so (exit 1), unless `--terminate`: then its worker, which looks every second, \
stops it (SIGTERM to its process group, SIGKILL its `kill_after` later) and records it `revoked`; revoke waits up \
to 2 minutes for that. A revoked job is not retried and enqueues no `on_failure`.

A workflow run's id stops the run: its steps not yet started are revoked, its running jobs finish (or are \
killed, with `--terminate`). A step's job revoked alone fails its workflow run.",
    exit_status: &[
        ("0", "Revoked (with `--terminate`, a running job killed and recorded so)."),
        (
            "1",
            "Not revoked: the job is running (without `--terminate`), or has already ended (succeeded, failed, \
             revoked or expired), or ended before it could be killed; or, with `--terminate`, the kill was not \
             recorded within 2 minutes: the worker kills it when it next looks, or, if the worker is gone, once \
             its lease lapses.",
        ),
        EXIT_IDS,
        EXIT_BROKER,
        EXIT_CONFIG_OPTIONAL,
    ],
    signals: &[(
        "INT, TERM",
        "End at once (the default action). A revoke, or a `--terminate` kill, already asked for still happens.",
    )],
    environment: READER_ENV,
    job_environment: false,
    files: READER_FILES,
    examples: &[
        ("Cancel a job that has not started:", "taskq revoke 019364e1"),
        ("Stop a running one too:", "taskq revoke 019364e1 --terminate"),
        ("Cancel what remains of a workflow run:", "taskq revoke 01936502-9a1b-7c3d-8e4f-5a6b7c8d9e0f"),
    ],
    see_also: &["taskq(1)", "taskq-status(1)", "taskq-list(1)", "taskq-retry(1)"],
};

pub(in crate::man) const RETRY: CommandDoc = CommandDoc {
    name: "retry",
    description: "\
Requeues failed jobs: each goes back on its queue as `queued`, its attempts reset, to run with all its \
`retries` again. `--all-failed` requeues the whole failed set.

A job of a workflow's step runs again alone: its workflow run failed with it and does not resume (a note on \
standard error says so); enqueue the workflow again to run it whole.",
    exit_status: &[
        ("0", "Every job named was requeued (`--all-failed`: the failed set, maybe empty)."),
        ("1", "A job named is not failed (queued, running, succeeded, ...): said why; the failed ones were requeued."),
        ("2", "Usage error: bad flags, an id the broker does not know, or a prefix that matches several."),
        EXIT_BROKER,
        EXIT_CONFIG_OPTIONAL,
    ],
    signals: &[],
    environment: READER_ENV,
    job_environment: false,
    files: READER_FILES,
    examples: &[
        ("Run a failed job again:", "taskq retry 019364e1"),
        ("After fixing what made them fail, every failed job:", "taskq retry --all-failed"),
    ],
    see_also: &["taskq(1)", "taskq-list(1)", "taskq-purge(1)", "taskq-revoke(1)"],
};

pub(in crate::man) const PURGE: CommandDoc = CommandDoc {
    name: "purge",
    description: "\
Deletes jobs for good: with `--failed` the failed set, with `--queue` *QUEUE* the jobs queued on that queue (not \
those scheduled, retrying or running). It says how many and asks first; `--yes` does not ask. Without a terminal \
to ask on, and without `--yes`, it refuses. A spinner shows on a terminal while it deletes.",
    exit_status: &[
        ("0", "Deleted (or nothing to delete)."),
        ("1", "Not confirmed: nothing was deleted."),
        ("2", "Usage error: bad flags, neither `--queue` nor `--failed`, or no terminal to ask on and no `--yes`."),
        EXIT_BROKER,
        EXIT_CONFIG_OPTIONAL,
    ],
    signals: &[("INT, TERM", "End at once (the default action); at the question, nothing is deleted.")],
    environment: READER_ENV,
    job_environment: false,
    files: READER_FILES,
    examples: &[
        ("Empty the failed set, after a look at it:", "taskq purge --failed"),
        ("Drop what waits on a queue, from a script:", "taskq purge --queue bulk-email --yes"),
    ],
    see_also: &["taskq(1)", "taskq-list(1)", "taskq-retry(1)", "taskq-revoke(1)"],
};

pub(in crate::man) const WEB: CommandDoc = CommandDoc {
    name: "web",
    description: "\
Serves taskq's dashboard at `/` and its HTTP API under `/api/v1/`, from this binary, with nothing fetched from \
the internet. The dashboard shows the overview (queues and depths, live workers and what they run, each job's \
outcomes over the last hour and day, the failed count, schedules that need a look), jobs (by state, queue, job \
or id), a job (its fields, its output, followed live while it runs, its recent runs), the failed set (retry one \
or all, purge), schedules (pause, resume, trigger now) and workers. Pages read without JavaScript and refresh \
themselves with it.

The API is what application code (a Django view, a Node service) uses to enqueue jobs and read their results \
without starting a process, and everything the pages do. `POST /api/v1/jobs` takes a JSON object: `job` (a \
name), and optionally `args` (strings), `params` (an object of strings, numbers or booleans), `queue`, `delay` (a \
duration, `\"30s\"`) or `at` (RFC 3339), `expires` and `unique_for` (durations), `key` (an idempotency key). It \
answers 201 with `{\"id\": ..., \"duplicate\": false}`, or 200 with the earlier job's id when `key` is held; a \
bad request is 400 with `{\"error\": ...}`, the message `taskq enqueue` gives. `GET /api/v1/jobs/`*ID* answers \
what `taskq status --json` prints; `GET /api/v1/jobs?state=&queue=&job=&limit=` what `taskq list --json` \
prints, as one JSON array; `GET /api/v1/overview` what `taskq inspect --json` prints. Operators retry \
(`POST /api/v1/jobs/`*ID*`/retry`, `/api/v1/failed/retry`), revoke (`POST /api/v1/jobs/`*ID*`/revoke`, body \
`{\"terminate\": true}` to kill a running job), purge (`DELETE /api/v1/failed`, \
`/api/v1/queues/`*QUEUE*`/jobs`) and control schedules (`POST /api/v1/schedules/`*NAME*`/pause`, `resume`, \
`trigger`). `GET /api/v1/events` and `/api/v1/jobs/`*ID*`/output` are server-sent events: job state changes, \
and one job's output as it runs. `/api/v1/openapi.json` describes it all.

Every request needs a user of the auth file (`--auth-file`): HTTP basic auth, or `Authorization: Bearer` \
*NAME*`:`*SECRET*. Its lines are *NAME* *ROLE* *HASH*: the role `viewer` reads, `operator` also enqueues, \
retries, revokes, purges and pauses; the hash is what `taskq web hash-password` prints for a password read on \
standard input. A wrong or missing user is 401, a viewer's change 403; after 10 failed logins of one user in a \
minute, that user is answered 429 from that client address for the rest of it, and after 100 of any users the \
address is (behind a reverse proxy every client is the proxy's address: limit logins there too). A request that changes something is refused (403) when the browser says another site \
sent it (`Sec-Fetch-Site` or `Origin`), and the dashboard's forms carry a token of their user's. `--no-auth` \
lets every request in as an operator, only on a loopback address, and only requests for localhost or a \
loopback address. With `--tls-cert` and `--tls-key` (PEM files, read at start) it serves HTTPS; or put a \
reverse proxy (nginx, Caddy) in front: docs/api.md shows one. A client must send a request's headers, and \
finish a TLS handshake, within 10 s.",
    exit_status: &[
        ("0", "Stopped by INT or TERM (requests under way are finished first)."),
        ("2", "Usage error: no `--auth-file` (or `--no-auth` off loopback), an address that cannot be listened on."),
        (
            "78",
            "The jobs file, the auth file or a TLS file is missing or invalid: each problem is printed with its file.",
        ),
    ],
    signals: &[
        ("INT, TERM", "Stop taking connections, finish the requests under way (at most 10 s), and exit 0."),
        ("HUP", "Read jobs.toml again; an invalid file is reported and the running config kept."),
    ],
    environment: READER_ENV,
    job_environment: false,
    files: CONFIG_AND_DB,
    examples: &[
        ("Look at this machine's queues in a browser, at http://127.0.0.1:5555/:", "taskq web --no-auth"),
        ("A user for the API (type its password):", "echo \"app operator $(taskq web hash-password)\" >> web-users"),
        ("Serve it:", "taskq web --listen 0.0.0.0:5555 --auth-file web-users"),
        (
            "Enqueue from anywhere:",
            "curl -u app:PASSWORD -H 'content-type: application/json' \\\n  -d '{\"job\": \"send-welcome-email\", \"params\": {\"user_id\": 42}}' \\\n  http://127.0.0.1:5555/api/v1/jobs",
        ),
        ("Retry every failed job:", "curl -u app:PASSWORD -X POST http://127.0.0.1:5555/api/v1/failed/retry"),
    ],
    see_also: &["taskq(1)", "taskq-enqueue(1)", "taskq-status(1)", "taskq-list(1)"],
};
