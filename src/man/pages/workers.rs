//! The commands that run things: `run` (the worker), `beat` (the
//! scheduler) and `exec` (one job, inline).

use crate::man::command::CommandDoc;
use crate::man::shared::{
    CONFIG_FILES, DEFAULT_DB, EXIT_CONFIG, JOB_SECRETS, NO_COLOR, PROXIES, SERVICE_DB, SERVICE_ENV, SYSTEMD,
    TASKQ_BROKER, TASKQ_CONFIG, TASKQ_LOG, TASKQ_NAMESPACE, TMPDIR, TZ_SCHEDULES, WORKER_FILES, XDG_DIRS,
};

pub(in crate::man) const RUN: CommandDoc = CommandDoc {
    name: "run",
    description: "\
A worker: it takes jobs from its queues and runs them, up to `-c` at once (default: the number of CPUs). It takes a \
job only when it has a free slot, so a short job never waits behind a long one while another worker is idle.

`-Q high,default` serves the queues in strict order: a free slot takes from the first queue that has a job. \
`-Q high:6,default:3` picks a queue at random in proportion to the weights at each take, skipping empty ones. \
Without `-Q` the worker serves every queue jobs.toml names, plus `default`, with equal weights (as \
`-Q a:1,b:1`), so that no queue waits on another; a reload that names a new queue adds it.

A running job is held under a lease (`--lease`, else `lease` in `[taskq]`, default 30s) that the worker renews \
every third of it, however long the job runs. A worker that cannot renew a lease (the broker out of reach) stops \
that job before the lease can lapse, so that no job runs on two workers at once. If the worker dies, even by \
SIGKILL, every process of its running jobs is killed within a second; their leases lapse and they run again on \
another worker, the attempt counted. A job whose worker was lost `max_redeliveries` times fails with reason \
\"worker lost\".

A shell job runs as `SHELL -c COMMAND JOBNAME ARGS...` in a process group of its own, its standard input \
/dev/null. Its standard output and error are captured, the last 64 KiB kept in its result (`taskq logs`); \
`--job-output` also echoes each line on standard error, prefixed with the job's id. At the job's `timeout` its \
whole group gets SIGTERM, and SIGKILL `kill_after` later; when the job's main process exits, whatever it left \
running in its group gets the same. An HTTP job is one request, its `timeout` bounding all of it. A failure is \
retried as the job's `retries` say, then the job is `failed`, and `on_failure` enqueued.

A job name the worker's jobs.toml does not know (a rolling deploy) makes it read jobs.toml again, if the file \
changed; still unknown, the run is retried with backoff for up to 10 minutes, then fails with reason \"unknown \
job\".

An unreachable broker, at start or later, is waited out with capped backoff, a log line when it fails and one \
when it is back; systemd is told READY only once the broker answered. With `--burst` the worker exits 69 \
instead; otherwise `--burst` makes it exit 0 once its queues hold nothing queued and it runs nothing (jobs \
scheduled or retrying later stay for another worker; jobs waiting for a `max_concurrent` slot count as work).

The worker sends a heartbeat every 5 seconds: `taskq inspect` lists it and what it runs. `--metrics` serves \
Prometheus metrics at /metrics. `--beat` also runs the scheduler (taskq-beat(1)) in this process; if either \
half stops with an error, the other is stopped too and the process exits non-zero, so that its supervisor \
restarts it.",
    exit_status: &[
        (
            "0",
            "Stopped by TERM or INT (SIGNALS); with `--burst`, the queues were drained, whatever the jobs' outcomes.",
        ),
        ("1", "`--beat`: the worker or the scheduler stopped with an error. Also any error no other code names."),
        (
            "2",
            "Usage error: bad flags, `-c 0`, a `--lease` under 1s, a `--metrics` address that cannot be served, a \
             `--broker` URL taskq does not take.",
        ),
        (
            "69",
            "With `--burst`: the broker is unavailable (without `--burst` the worker waits for it). Either way: a \
             SQLite file that is not a taskq database.",
        ),
        EXIT_CONFIG,
    ],
    signals: &[
        (
            "TERM, INT",
            "Stop gracefully. The worker takes no more jobs and lets the running ones finish, for at most \
             `--shutdown-timeout` (default 30s), renewing their leases meanwhile. Then each job still running gets \
             SIGTERM to its process group and SIGKILL its `kill_after` later, and goes back on its queue at once, \
             without waiting for its lease to lapse and without counting an attempt. The worker waits for those \
             requeues to be recorded (at most the longest `kill_after` plus 10 seconds; with the broker out of \
             reach, the jobs are left to their leases), tells systemd STOPPING, and exits 0. Still waiting for \
             the broker to answer at start, it exits 0 at once.",
        ),
        (
            "TERM, INT, a second time",
            "Stop now: the running jobs are stopped and requeued as above without waiting for \
             `--shutdown-timeout`.",
        ),
        (
            "HUP",
            "Read jobs.toml again (what `systemctl reload` sends). New and changed jobs apply to the runs that start \
             after it; running jobs go on as they began. An invalid file is reported, each problem logged, and the \
             running config kept. Without `-Q`, the queues served follow the new file. With `--beat`, the \
             scheduler reloads too (taskq-beat(1)). A HUP that comes while the broker is still waited for at start \
             is acted on once it answers.",
        ),
    ],
    environment: &[
        TASKQ_CONFIG,
        TASKQ_BROKER,
        TASKQ_NAMESPACE,
        TASKQ_LOG,
        NO_COLOR,
        TZ_SCHEDULES,
        XDG_DIRS,
        TMPDIR,
        PROXIES,
        JOB_SECRETS,
        SYSTEMD,
    ],
    job_environment: true,
    files: WORKER_FILES,
    examples: &[
        ("A worker on every queue jobs.toml names, as many jobs at once as there are CPUs:", "taskq run"),
        ("The mail queue only, 8 jobs at once:", "taskq run -Q mail -c 8"),
        (
            "Strict priority: a free slot takes from high while high has jobs, then default, then low:",
            "taskq run -Q high,default,low",
        ),
        (
            "Weighted: about twice as many jobs from high as from default, neither starved:",
            "taskq run -Q high:2,default:1",
        ),
        (
            "A whole cron replacement on one host: the worker and the scheduler in one process, with metrics for \
             Prometheus:",
            "taskq run --beat --metrics 127.0.0.1:9108",
        ),
        ("Run what is queued, then exit (a CI step, a batch host):", "taskq run --burst -c 2"),
        (
            "Long jobs: let them finish for up to 10 minutes when the worker is stopped (give its unit a \
             `TimeoutStopSec=` longer than that plus the jobs' `kill_after`):",
            "taskq run --shutdown-timeout 10m",
        ),
        ("Apply an edited /etc/taskq/jobs.toml to the packaged worker:", "systemctl reload taskq-worker"),
        ("See each job's output as it runs, while trying things out:", "taskq -v run -c 1 --job-output"),
    ],
    see_also: &[
        "taskq(1)",
        "taskq-beat(1)",
        "taskq-inspect(1)",
        "taskq-logs(1)",
        "taskq.toml(5)",
        "systemd.service(5)",
        "sd_notify(3)",
    ],
};

pub(in crate::man) const BEAT: CommandDoc = CommandDoc {
    name: "beat",
    description: "\
The scheduler: at each tick of each scheduled job and workflow (`schedule` or `every` in jobs.toml) it enqueues \
one run, within 50 ms of the tick, the instant read on the broker's clock. It runs no job itself: workers do \
(taskq-run(1)).

Each tick fires exactly once, however many beats run on however many hosts: run two for high availability. A \
beat keeps the last fire of each schedule in the broker, so a restart neither repeats nor loses ticks. What \
happens to ticks that fell while no beat ran at all is the job's `catch_up`: `skip` (the default, as cron), \
`once` (one run now) or `all` (a run per missed tick, the latest 100). A beat that lost the broker for a while \
fires, once it is back, every tick it was late for (up to 100 per schedule).

Cron schedules are evaluated in their time zone with Vixie cron's rules for daylight saving time \
(taskq.toml(5)); `every` ticks at whole multiples of its period since the Unix epoch. Beats on hosts in \
different zones agree: a schedule with no `timezone` takes `timezone` in `[taskq]`, else UTC while beats \
disagree. If two beats hold different definitions of a schedule, it fires by one of them only; `taskq inspect` \
shows the disagreement.

A tick is skipped, and counted so in `taskq inspect` and the metrics, when its schedule is paused (`taskq \
schedule pause`), or when the job's previous run is still running and its `max_concurrent` is reached. A \
scheduled run not started by the schedule's next tick expires, unless the job sets `expires`, so that runs do not \
pile up while no worker runs.

`--dry-run` compares jobs.toml with the schedules the broker holds, prints what starting (or reloading) this \
beat would change (a schedule new, changed, removed, or unchanged with its last tick) and each schedule's next \
three fires, and exits without changing anything.

An unreachable broker is waited out with capped backoff; systemd is told READY once it answered.",
    exit_status: &[
        ("0", "Stopped by TERM or INT; `--dry-run`: the comparison was printed."),
        ("1", "Any error no other code names."),
        (
            "2",
            "Usage error: bad flags, `--dry-run` with `--metrics`, a `--metrics` address that cannot be served, a \
             `--broker` URL taskq does not take.",
        ),
        (
            "69",
            "With `--dry-run`: the broker is unavailable (without it, beat waits for the broker). Either way: a \
             SQLite file that is not a taskq database.",
        ),
        EXIT_CONFIG,
    ],
    signals: &[
        (
            "TERM, INT",
            "Stop: fire no more ticks, withdraw this beat's definitions from the broker (waiting at most 2 \
             seconds), tell systemd STOPPING, and exit 0. Other beats go on firing; with none left, the ticks \
             missed until a beat starts again follow `catch_up`. Still waiting for the broker to answer at start, \
             it exits 0 at once. A second signal changes nothing.",
        ),
        (
            "HUP",
            "Read jobs.toml again and reconcile by schedule name: a new schedule fires from its next tick, a \
             changed one replaces the old (never both; it starts afresh, without catch-up), a removed one stops; \
             each change is logged. An invalid file is reported, each problem logged, and the running config kept. \
             `--dry-run` shows what a reload would change. A HUP that comes while the broker is still waited for \
             at start is acted on once it answers.",
        ),
    ],
    environment: &[TASKQ_CONFIG, TASKQ_BROKER, TASKQ_NAMESPACE, TASKQ_LOG, NO_COLOR, TZ_SCHEDULES, XDG_DIRS, SYSTEMD],
    job_environment: false,
    files: &[CONFIG_FILES[0], CONFIG_FILES[1], CONFIG_FILES[2], DEFAULT_DB, SERVICE_ENV, SERVICE_DB],
    examples: &[
        ("The scheduler alone; workers run elsewhere:", "taskq beat"),
        (
            "High availability: the same on a second host, against the same Redis; each tick still fires once:",
            "TASKQ_BROKER=redis://redis.internal:6379/0 taskq beat",
        ),
        ("Before reloading an edited jobs.toml, see what would change:", "taskq beat --dry-run"),
        ("Then apply it to the packaged scheduler:", "systemctl reload taskq-beat"),
        (
            "With metrics: fires, firing delays, and each schedule's last success:",
            "taskq beat --metrics 127.0.0.1:9109",
        ),
    ],
    see_also: &[
        "taskq(1)",
        "taskq-run(1)",
        "taskq-schedule(1)",
        "taskq-check(1)",
        "taskq.toml(5)",
        "systemd.service(5)",
    ],
};

pub(in crate::man) const EXEC: CommandDoc = CommandDoc {
    name: "exec",
    description: "\
Runs one job of jobs.toml here and now, in the foreground and without a broker, through the same code a worker \
runs it with: to try a definition, or to run a job by hand. Its output goes to taskq's own standard output and \
error as it comes; its standard input is /dev/null. Nothing is recorded, retried or enqueued (no `on_failure`, \
no `on_success`); a workflow cannot be run so.

Arguments and parameters are checked as `taskq enqueue` checks them. The job gets its `env`, its parameters, \
`TASKQ_JOB_ID` (a new id), `TASKQ_JOB_NAME`, `TASKQ_ATTEMPT=1` and `TASKQ_QUEUE`; `${VAR}` is read from taskq's \
own environment. Its `timeout` and `kill_after` apply.

exec exits with the job's outcome (EXIT STATUS), so it can stand in a script, or a crontab line, for the command \
itself.",
    exit_status: &[
        ("0", "The job succeeded (a shell job's exit code was in its `success_exit`, 0 by default)."),
        (
            "*N*",
            "A shell job exits with its own exit code *N* (even one its `success_exit` counts as success), and \
             taskq with it; a job killed by signal *N* gives 128+*N*. Note that a job's 1, 2 or 78 reads like \
             taskq's own codes.",
        ),
        (
            "1",
            "An HTTP job failed (a connection error, a status outside `success_status`), or the job could not \
             start: an unset `${VAR}`, a missing `workdir`, a shell that cannot be run.",
        ),
        ("2", "Usage error: bad flags, an unknown job (or a workflow), a missing, unknown or invalid parameter."),
        EXIT_CONFIG,
        ("124", "The job hit its `timeout` (shell or HTTP), as timeout(1) exits."),
        ("130", "taskq was stopped by INT, TERM or HUP, and stopped the job."),
    ],
    signals: &[
        (
            "INT, TERM, HUP",
            "Stop the job: SIGTERM to its process group, SIGKILL its `kill_after` later; then exit 130. (Ctrl-C \
             and a closed terminal's hangup reach taskq only: the job leads a process group of its own.)",
        ),
        (
            "QUIT",
            "End taskq at once (the signal's default action). The job's shell is killed with it, but processes the \
             job started may be left running: stop exec with INT or TERM.",
        ),
    ],
    environment: &[TASKQ_CONFIG, TASKQ_LOG, NO_COLOR, XDG_DIRS, PROXIES, JOB_SECRETS],
    job_environment: true,
    files: &[CONFIG_FILES[0], CONFIG_FILES[1], CONFIG_FILES[2]],
    examples: &[
        ("Run a job once, now, to see what it does:", "taskq exec nightly-backup"),
        (
            "With a parameter and positional arguments ($1, $2 of the command):",
            "taskq exec resize-image -p width=640 photos/a.jpg photos/b.jpg",
        ),
        ("Try an HTTP job's definition; the response body is printed:", "taskq exec sync-inventory -p sku=A1"),
        ("From another jobs file:", "taskq -f ./staging/jobs.toml exec heartbeat"),
        (
            "In a crontab, keeping the job's definition (timeout, env, workdir) in jobs.toml:",
            "*/5 * * * * taskq -f /etc/taskq/jobs.toml exec heartbeat",
        ),
    ],
    see_also: &["taskq(1)", "taskq-enqueue(1)", "taskq-check(1)", "taskq.toml(5)", "timeout(1)"],
};
