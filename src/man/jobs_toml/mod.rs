//! taskq.toml(5): every key of jobs.toml, from the tables in keys.rs, with
//! the rules that span keys: templates, durations, schedules, time zones.
//! The tests below hold the page to the parser: a key the parser accepts
//! that the page lacks fails them, as does an example the parser refuses.

mod keys;

use clap_mangen::roff::{bold, italic, roman};

use self::keys::{Key, PARAM_TYPES, TABLES, Table};
use super::render::Doc;
use crate::config::keys::{documented_sections, table};

/// The heading each table's keys are listed under.
fn heading(id: &str) -> &'static str {
    match id {
        table::TASKQ => "THE [taskq] TABLE",
        table::DEFAULTS => "THE [defaults] TABLE",
        table::JOB => "JOBS: [jobs.NAME]",
        table::HTTP => "THE http TABLE",
        table::PARAM_RULE => "Rules",
        table::PARAM_TYPES => "Types",
        table::WORKFLOW => "WORKFLOWS: [workflows.NAME]",
        table::GROUP_STEP => "{ group = [...] }",
        table::MAP_STEP => "{ map = JOB, param = NAME }",
        table::WORKFLOW_STEP => "{ workflow = NAME }",
        _ => "",
    }
}

fn table_of(id: &str) -> &'static Table {
    TABLES.iter().copied().find(|t| t.id == id).expect("every table id has a table in keys.rs")
}

/// The rendered page.
pub(super) fn render() -> Vec<u8> {
    let mut out = Doc::title("taskq.toml", "5", concat!("taskq ", env!("CARGO_PKG_VERSION")));
    let mut doc = Doc::new();
    doc.section("NAME").text("taskq.toml - taskq's job definitions file, jobs.toml");
    doc.section("SYNOPSIS").text("./jobs.toml, ~/.config/taskq/jobs.toml, /etc/taskq/jobs.toml");
    doc.section("DESCRIPTION").text(DESCRIPTION);

    keys_section(&mut doc, table::TASKQ, "Settings for taskq itself, all optional.");
    doc.section(heading(table::DEFAULTS)).text(&defaults_text());
    keys_section(&mut doc, table::JOB, JOB_INTRO);
    keys_section(&mut doc, table::HTTP, HTTP_INTRO);

    doc.section("PARAMETERS").text(&PARAMETERS_INTRO.replace("{PARAMS_EXAMPLE}", &displayed(PARAMS_EXAMPLE)));
    doc.subsection(heading(table::PARAM_RULE));
    keys(&mut doc, table_of(table::PARAM_RULE));
    doc.subsection(heading(table::PARAM_TYPES));
    for (name, text) in PARAM_TYPES {
        doc.item(vec![bold(*name)], text);
    }
    doc.subsection("What every value must be").text(EVERY_VALUE);

    keys_section(&mut doc, table::WORKFLOW, WORKFLOW_INTRO);
    doc.subsection("Steps").text(
        "A step is a job's name (the job runs once), or a table of one of the forms below.\n\n    \
         steps = [\n      \
           \"list-new-orders\",\n      \
           { map = \"validate-order\", param = \"order_id\" },\n      \
           \"charge-batch\",\n    \
         ]",
    );
    for id in [table::GROUP_STEP, table::MAP_STEP, table::WORKFLOW_STEP] {
        doc.subsection(heading(id));
        keys(&mut doc, table_of(id));
    }

    doc.section("TEMPLATES").text(TEMPLATES);
    doc.section("DURATIONS").text(DURATIONS);
    doc.section("SCHEDULES").text(SCHEDULES);
    doc.section("TIME ZONES").text(TIME_ZONES);
    doc.section("EXAMPLE").text(EXAMPLE_INTRO);
    doc.text(&displayed(EXAMPLE));
    doc.text(
        "Its workflow is started, and waited for, with:\n\n    taskq enqueue daily-report -p day=2026-11-29 --wait",
    );
    doc.section("FILES");
    for (file, text) in super::shared::CONFIG_FILES {
        doc.item(vec![italic(*file)], text);
    }
    doc.item(
        vec![italic("jobs.example.toml")],
        "Every feature of the file, commented: in taskq's source, and installed as \
         /usr/share/doc/taskq/examples/jobs.example.toml (`taskq -f jobs.example.toml check`).",
    );
    doc.section("SEE ALSO").pages(&[
        "taskq(1)",
        "taskq-check(1)",
        "taskq-enqueue(1)",
        "taskq-run(1)",
        "taskq-beat(1)",
        "taskq-import-crontab(1)",
        "crontab(5)",
    ]);
    out.extend(doc.into_bytes());
    out
}

/// `toml` as a display block of the markup.
fn displayed(toml: &str) -> String {
    toml.lines().map(|l| format!("    {l}")).collect::<Vec<_>>().join("\n")
}

fn keys_section(doc: &mut Doc, id: &str, intro: &str) {
    doc.section(heading(id)).text(intro);
    keys(doc, table_of(id));
}

/// Each key as `name = kind`, then what it does, its default and an example.
fn keys(doc: &mut Doc, table: &Table) {
    for Key { name, kind, default, text, example } in table.keys {
        // Indented lines are kept as they are; one per line of the example.
        let example = example.replace('\n', "\n    ");
        let body = format!("{text}\n\nDefault: {default}.\n\n    {example}");
        doc.item(vec![bold(*name), roman(" = "), italic(*kind)], &body);
    }
}

/// `[defaults]`: which keys it takes, from what the parser allows there.
fn defaults_text() -> String {
    let sections = documented_sections();
    let keys_of = |id: &str| sections.iter().find(|s| s.table == id).map(|s| s.keys.clone()).unwrap_or_default();
    let (job, defaults) = (keys_of(table::JOB), keys_of(table::DEFAULTS));
    let per_job: Vec<&str> = job.iter().copied().filter(|k| !defaults.contains(k)).collect();
    let quoted = |keys: &[&str]| keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ");
    let accepted: Vec<&str> =
        table_of(table::JOB).keys.iter().map(|k| k.name).filter(|k| !per_job.contains(k)).collect();
    format!(
        "Keys every job inherits, each as the job's own key of that name says; a job's own value wins, and `env` \
         is merged with the job's, the job's value winning where both set a variable.\n\n\
         Accepted here: {}.\n\n\
         Not here, as they belong to one job: {}.\n\n\
         A key that applies to one kind of job only (`shell`, `workdir`, `env`, `retry_on_exit` and \
         `success_exit` to shell jobs, `success_status` to HTTP jobs) is an error on a job of the other kind, but \
         from `[defaults]` it is ignored there. An `on_failure` or `on_success` in `[defaults]` does not apply to \
         the job it names.\n\n    \
         [defaults]\n    \
         queue = \"default\"\n    \
         timeout = \"10m\"\n    \
         retries = 2\n    \
         on_failure = \"alert-oncall\"",
        quoted(&accepted),
        quoted(&per_job),
    )
}

const DESCRIPTION: &str = "\
jobs.toml is a TOML file that names taskq's jobs, each a shell command or an HTTP request, with how it is \
retried, limited and scheduled. Every taskq command that needs it reads it from the first place FILES lists; \
`taskq check` validates it and shows when each schedule fires next.

It holds four tables, all optional: `[taskq]`, settings for taskq itself; `[defaults]`, keys every job inherits; \
`[jobs.NAME]`, one per job; and `[workflows.NAME]`, one per workflow, which runs jobs in steps.

A job's or workflow's name is letters, digits, `_`, `.` and `-`, starting with a letter or digit, at most 200 \
bytes; a job and a workflow may not share one. An unknown key is an error, with a \"did you mean\". Every error \
names the file, line and column, as in `jobs.toml:12:3: unknown key \"retires\" (did you mean \"retries\"?)`, and \
all are reported at once.

What goes into the broker is a job's name, arguments and parameters, never its command: a worker runs a job as \
its own jobs.toml defines it when the job starts, so every worker should have the same file. A worker that meets \
a job its file lacks reads the file again, if it changed, and retries the run for up to 10 minutes before failing \
it with reason \"unknown job\". Workers and beats read the file again on SIGHUP (`systemctl reload`); an invalid \
file is reported and the running one kept.";

const JOB_INTRO: &str = "\
One table per job, `[jobs.NAME]`, NAME being how `taskq enqueue`, `taskq exec` and the logs call it (quote a name \
holding a dot: `[jobs.\"db.vacuum\"]`). A job has exactly one of `command`, which makes it a shell job, and \
`http`, an HTTP job.";

const HTTP_INTRO: &str = "\
An HTTP job's request, as `[jobs.NAME.http]` or inline, `http = { url = \"...\" }`: one request per run, the job's \
`timeout` bounding all of it. Redirects are followed, at most 10: 301, 302 and 303 turn the request into a GET \
without a body (a HEAD stays one), 307 and 308 repeat it. The status decides success (`success_status`); the \
response body is the run's output, its last 64 KiB kept.";

const PARAMETERS_INTRO: &str = "\
A job's parameters are exactly the `{{name}}`s its templates use (TEMPLATES). `taskq enqueue -p name=value` \
gives a value, else the job's default is used; a parameter with neither, or one the job does not use, is an \
error at enqueue (exit 2). A scheduled job, and a job named by `on_failure` or `on_success`, runs with the \
defaults only, so each of its parameters needs one. A name in `params` that no template uses is an error.

Each entry of `params` is a default, written as a string (of type `string`), or a rule. A job's `params` may be \
written inline, `params = { keep = { type = \"int\", default = 14 } }`, or as a table of its own:

{PARAMS_EXAMPLE}

Values are checked when a job is enqueued, with an error naming the parameter, the value's problem and the rule, \
and again when it starts.";

const EVERY_VALUE: &str = "\
Whatever its type, a value holding a NUL byte is refused. For a shell job so is a value holding `$(`, `${` or a \
backquote, or ending in `$` (shells evaluate a value again inside arithmetic and array subscripts, where those \
would run code), a value over 128 KiB, and parameters and arguments over 1 MiB together. For an HTTP job, a value \
of `.` or `..` filling a whole path segment of the URL is refused, and a control character in a header.

`taskq check` refuses a command that puts a `{{param}}` without a type or pattern where its value would be run as \
code (a `-c` script, `eval`, `ssh`, a program fed to an interpreter, a command's name), or a `{{param}}` not of \
type `int` inside shell arithmetic (`$(( ))`, `(( ))`, `[[ -eq ]]`, an array subscript, `let`), where bash \
evaluates a value as code whatever its quotes. Give it a type or a pattern, or pass it as an argument: \
`sh -c 'echo \"$1\"' sh {{name}}`.";

const WORKFLOW_INTRO: &str = "\
A workflow runs jobs in steps, as Celery's canvas does, each step once the one before it fully succeeded. It is \
enqueued (`taskq enqueue NAME -p k=v`, which prints its run's id), scheduled, waited for, revoked and shown like \
a job; `-p` values reach every step that uses them. Its name follows a job's rules, and no job may share it.

Each step's jobs get `TASKQ_WORKFLOW_ID`, and from the second step on the previous step's results in the file \
named by `TASKQ_PREV_OUTPUTS`, a JSON object a line (`job`, `id`, `params`, `output`: stdout for a shell job, the \
body for an HTTP job). A step that fails, after its jobs' retries, fails the run; the rest does not run. Progress \
is recorded in the same atomic step as each job's outcome, so a crash neither loses a run nor runs a step twice.

    [workflows.nightly-report]
    steps = [
      { group = [\"export-orders\", \"export-users\"] },  # in parallel
      \"merge-exports\",                              # then this
      \"upload-report\",
    ]
    on_failure = \"alert-oncall\"
    schedule = \"0 6 * * *\"";

const TEMPLATES: &str = "\
`{{name}}` stands for the parameter *name* (letters, digits and `_`, not starting with a digit; spaces inside the \
braces are allowed) in a `command`, and in an HTTP job's `url`, `headers`, `json` strings and `body`. Each value \
goes in so that it cannot change the text around it:

- in a `command`, the placeholder becomes a quoted reference to `$TASKQ_PARAM_name`, which carries the value in
  the environment: the shell never parses a value as syntax, whatever quotes the placeholder stands in;
- in a `url`, the value is percent-encoded;
- in `json`, it becomes a JSON string, or part of one;
- in `headers` and `body`, it goes in as it is.

`${VAR}` in a `url`, `headers`, `json`, `body` and `env` values is read from the worker's environment when the job \
runs, so secrets stay out of the broker, results and logs; an unset one fails the run, which is not retried. In a \
`command` taskq leaves `$VAR` and `${VAR}` to the shell, which expands them from the job's environment. A \
parameter's value is never expanded: a value `${TOKEN}` stays that text.

There is no escape: `{{` always begins a parameter, and outside a `command` `${` always begins a variable.";

const DURATIONS: &str = "\
A duration is a string of numbers and units, as the humantime library reads it: `90s`, `5m`, `1h30m`, `1h 30m`, \
`1d`, `2w`. The units are `ms`, `s`, `m`, `h`, `d` (24 hours) and `w`, or their long names (`seconds`, \
`minutes`, ...). Most keys need a duration longer than 0s, and say so.";

const SCHEDULES: &str = "\
`schedule` takes a cron expression of five fields, *MINUTE HOUR DAY-OF-MONTH MONTH DAY-OF-WEEK*, or six with the \
seconds first:

    30 2 * * *              02:30 every day
    */15 9-17 * * MON-FRI   every 15 minutes, 09:00 to 17:45, Mon to Fri
    0 0 1 JAN,JUL *         midnight, 1 January and 1 July
    0 0 * * 5#2             midnight, the second Friday of each month
    0 0 L * *               midnight, the last day of each month
    */20 * * * * *          every 20 seconds

A field is `*`, a number, a range (`9-17`), a list (`1,15`) or a step (`*/15`, `0-30/5`). Months may be named \
`JAN` to `DEC` and days `SUN` to `SAT` (0 and 7 are Sunday), in any case. In the day fields `?` means `*`; the day \
of the month also takes `L` (the last) and `W` (`15W`: the weekday nearest the 15th), the day of the week `L` \
(`5L`: the last Friday) and `#` (`5#2`: the second Friday). When both day fields are restricted, a day matching \
either fires, as in cron. The macros are `@yearly` (or `@annually`), `@monthly`, `@weekly`, `@daily` (or \
`@midnight`) and `@hourly`; `@reboot` is refused (a systemd unit does that).

Daylight saving time is handled as Vixie cron does, in the words of the Open Cron Pattern Spec. A fixed-time \
schedule (its seconds, minute and hour fields each a single value: `30 2 * * *`, `@daily`) whose time a \
spring-forward skips fires once, at the first instant after the gap; one whose time a fall-back repeats fires \
once, in the first pass. Any other schedule (a wildcard, step, list or range in one of those fields: \
`0 * * * *`, `0 1-4 * * *`) follows real time: it fires in both passes of a repeated hour, and has nothing to fire \
in a skipped one.

`every` ticks at whole multiples of its period since the Unix epoch, so that every beat on any host agrees on the \
ticks: `every = \"5m\"` fires at :00, :05, ...; `every = \"90m\"` at 00:00 UTC, 01:30, 03:00, .... Time zones and \
daylight saving time do not move it.

Each tick fires exactly once, however many beats run; what becomes of the ticks missed while none ran is the \
job's `catch_up` (taskq-beat(1)).";

const TIME_ZONES: &str = "\
A zone is an IANA time zone name: `Europe/Berlin`, `America/New_York`, `UTC`. Names are checked when the file \
loads, against the zone database built into taskq; times are then computed with the system's (/usr/share/zoneinfo) \
where it has the zone, so its updates apply.

A job's schedule is read in its `timezone`, else that of `[defaults]`, else that of `[taskq]`, else the host's \
zone ($TZ, else /etc/localtime). Beats on hosts whose zones differ would read a schedule naming no zone \
differently: while they disagree they fire such schedules in UTC, so set `timezone` in `[taskq]` where they may.";

const EXAMPLE_INTRO: &str = "\
The jobs of a web application's host: a welcome mail sent on demand, a nightly backup, an inventory sync every 10 \
minutes, a daily report built by a workflow, and an alert for any job that fails for good.";

/// A job with typed parameters (a test parses it).
const PARAMS_EXAMPLE: &str = r#"[jobs.deploy]
command = "./deploy --to {{stage}} --workers {{n}} --tag {{tag}}"
[jobs.deploy.params]
tag = "latest"
n = { type = "int" }
stage = { default = "staging", pattern = "staging|production" }"#;

/// A whole jobs file (a test parses it).
const EXAMPLE: &str = r#"[taskq]
broker = "redis://127.0.0.1:6379/0"
timezone = "Europe/Berlin"
result_ttl = "7d"

[defaults]
workdir = "/srv/app"
env = { APP_ENV = "production", DATABASE_URL = "${DATABASE_URL}" }
timeout = "15m"
retries = 2
on_failure = "alert-oncall"

[jobs.send-welcome-email]
command = "./bin/mail welcome --user {{user_id}}"
params = { user_id = { type = "int" } }
queue = "mail"
timeout = "30s"
retries = 5
retry_jitter = true
unique_for = "1h"

[jobs.nightly-backup]
command = "pg_dump app | gzip > /backups/app-$(date +%F).sql.gz"
shell = "/bin/bash"
schedule = "30 2 * * *"
timeout = "2h"
max_concurrent = 1
catch_up = "once"

[jobs.sync-inventory]
every = "10m"
timeout = "20s"
retries = 4
[jobs.sync-inventory.http]
method = "POST"
url = "https://api.example.com/inventory/sync"
headers = { Authorization = "Bearer ${INVENTORY_TOKEN}" }
json = { source = "taskq" }

[jobs.export-orders]
command = "./bin/export orders --day {{day}}"
params = { day = { pattern = "[0-9]{4}-[0-9]{2}-[0-9]{2}" } }

[jobs.export-users]
command = "./bin/export users --day {{day}}"
params = { day = { pattern = "[0-9]{4}-[0-9]{2}-[0-9]{2}" } }

[jobs.merge-exports]
command = './bin/merge-exports < "$TASKQ_PREV_OUTPUTS"'

[workflows.daily-report]
steps = [
  { group = ["export-orders", "export-users"] },
  "merge-exports",
]

[jobs.alert-oncall]
command = 'notify "$TASKQ_TRIGGER_JOB" < "$TASKQ_TRIGGER_OUTPUT"'
retries = 3"#;

#[cfg(test)]
mod tests;
