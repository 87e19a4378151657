//! The commands around the jobs file and taskq itself: `check`,
//! `import-crontab`, `completions`, `man`.

use crate::man::command::CommandDoc;
use crate::man::shared::{
    CONFIG_FILES, DEFAULT_DB, EXIT_CONFIG, EXIT_WRITE, GLOBALS_IGNORED, NO_COLOR, TASKQ_BROKER, TASKQ_CONFIG,
    TASKQ_LOG, TASKQ_NAMESPACE, TZ_SCHEDULES, XDG_DIRS,
};

pub(in crate::man) const CHECK: CommandDoc = CommandDoc {
    name: "check",
    description: "\
Reads the jobs file (FILES), validates it, and prints every job: its kind (shell or http), queue, timeout, \
retries and schedule, with the next three fire times of each schedule (cron or `every`) in its own zone; then each \
workflow and its steps. Every problem is reported, not just the first, each as *FILE*:*LINE*:*COLUMN*: and what \
is wrong, with a \"did you mean\" for a misspelt key or name. Besides the file's form, check refuses what would \
fail at run time: a parameter no template uses, a scheduled job whose parameters lack defaults, a `{{param}}` of \
type `string` in shell arithmetic, an unknown `on_failure` job, a workflow that includes itself.

If the broker answers within a second, check also marks the schedules paused there (`taskq schedule pause`). It \
needs no broker: it never creates the SQLite file, nor upgrades one an older taskq wrote.

`--json` prints one document: the file's path, and `jobs` and `workflows` with, per job, its `name`, `kind`, \
`queue`, `timeout`, `retries`, `schedule`, `timezone`, `next` (RFC 3339 instants) and, when scheduled, `paused` \
(null when the broker was not asked).

Run it before installing a changed jobs.toml: a worker or beat told to reload an invalid file keeps its running \
config and logs the errors.",
    exit_status: &[("0", "The jobs file is valid."), ("2", "Usage error: bad flags."), EXIT_CONFIG],
    signals: &[],
    environment: &[TASKQ_CONFIG, TASKQ_BROKER, TASKQ_NAMESPACE, TASKQ_LOG, NO_COLOR, TZ_SCHEDULES, XDG_DIRS],
    job_environment: false,
    files: &[
        CONFIG_FILES[0],
        CONFIG_FILES[1],
        CONFIG_FILES[2],
        (DEFAULT_DB.0, "The default broker, read for paused schedules if it exists; never created by check."),
    ],
    examples: &[
        ("Validate jobs.toml and see when each schedule fires next:", "taskq check"),
        ("Check a file before installing it:", "taskq -f jobs.example.toml check"),
        (
            "In a deploy script: stop on an invalid file (exit 78), errors on standard error:",
            "taskq -f deploy/jobs.toml check >/dev/null",
        ),
        (
            "Each schedule's next fire, for a script:",
            "taskq check --json |\n  jq -r '.jobs[] | select(.schedule) | .name + \" \" + .next[0]'",
        ),
    ],
    see_also: &["taskq(1)", "taskq.toml(5)", "taskq-beat(1)", "taskq-schedule(1)"],
};

pub(in crate::man) const IMPORT_CRONTAB: CommandDoc = CommandDoc {
    name: "import-crontab",
    description: "\
Reads a crontab, from *FILE* or standard input, and prints the jobs.toml entries that replace it on standard \
output: each schedule line becomes a `[jobs.NAME]` table holding its `schedule` and `command`, named after \
what its command does (`pg_dump app | gzip > ...` is `pg-dump-app`, `find /var/log/app -mtime +7 -delete` is \
`clean-var-log-app`), unique within the file. Lines above it apply, as in cron: `SHELL=` becomes `shell`, \
`CRON_TZ=` `timezone`, other *VAR*`=`*value* lines `env`; a `MAILTO=` with an address becomes a comment \
suggesting `on_failure` (taskq keeps each run's output in its result instead of mailing it), and `MAILTO=\"\"` \
(no mail) leaves nothing. `\\%` becomes `%`. Comments above a line are kept.

Lines that cannot be converted are listed on standard error with their line numbers and reasons, and the command \
exits 65 (0 with `--allow-partial`); the rest is still printed. Such lines are an unescaped `%` (cron's \
standard-input feature), `@reboot` (run it from a systemd unit at boot), and lines that are not a schedule.

`--system` reads the format of /etc/crontab and /etc/cron.d/*, whose lines carry a user field after the time \
fields: it becomes the job's `user`, which a worker running as root switches to. /etc/crontab and files in \
/etc/cron.d are read so without it.

Review the output, run `taskq check` on it, then remove the crontab lines it replaces.",
    exit_status: &[
        ("0", "Every line was converted."),
        EXIT_WRITE,
        ("2", "Usage error: bad flags, or *FILE* cannot be read."),
        (
            "65",
            "Some lines could not be converted (listed on standard error); the others were printed. With \
          `--allow-partial`, 0.",
        ),
    ],
    signals: &[],
    environment: &[GLOBALS_IGNORED, TASKQ_LOG],
    job_environment: false,
    files: &[
        ("/etc/crontab, /etc/cron.d/*", "The system crontabs, read with `--system` when given as *FILE*."),
        ("/var/spool/cron/crontabs/*", "Users' crontabs (`crontab -l` prints one's own)."),
    ],
    examples: &[
        ("Convert your own crontab:", "crontab -l | taskq import-crontab > jobs.toml"),
        (
            "A system crontab, appended to the system's jobs file:",
            "taskq import-crontab --system /etc/cron.d/backup \\\n  | sudo tee -a /etc/taskq/jobs.toml",
        ),
        (
            "In a script under `set -o pipefail`, keeping what converts:",
            "crontab -l | taskq import-crontab --allow-partial > jobs.toml",
        ),
        ("Then check the result:", "taskq -f /etc/taskq/jobs.toml check"),
    ],
    see_also: &["taskq(1)", "taskq.toml(5)", "taskq-check(1)", "crontab(5)", "cron(8)"],
};

pub(in crate::man) const COMPLETIONS: CommandDoc = CommandDoc {
    name: "completions",
    description: "\
Prints the completion script for *SHELL* (bash, zsh, fish, elvish or powershell) on standard output, for the \
shell to load. The scripts for bash, zsh and fish are also in the source tree, under completions/.",
    exit_status: &[("0", "The script was printed."), EXIT_WRITE, ("2", "Usage error: bad flags, an unknown shell.")],
    signals: &[],
    environment: &[GLOBALS_IGNORED],
    job_environment: false,
    files: &[
        (
            "/usr/share/bash-completion/completions/taskq, /usr/share/zsh/vendor-completions/_taskq, \
             /usr/share/fish/vendor_completions.d/taskq.fish",
            "Where a system-wide installation puts the scripts, for each shell to find.",
        ),
        (
            "~/.local/share/bash-completion/completions/taskq, ~/.config/fish/completions/taskq.fish",
            "Where bash and fish find a user's own.",
        ),
    ],
    examples: &[
        (
            "Install bash completions for yourself:",
            "taskq completions bash \\\n  > ~/.local/share/bash-completion/completions/taskq",
        ),
        ("For fish:", "taskq completions fish > ~/.config/fish/completions/taskq.fish"),
        ("For zsh, into a directory on $fpath:", "taskq completions zsh > \"${fpath[1]}/_taskq\""),
        ("Try them in the running bash only:", "source <(taskq completions bash)"),
    ],
    see_also: &["taskq(1)", "bash(1)", "zsh(1)", "fish(1)"],
};

pub(in crate::man) const MAN: CommandDoc = CommandDoc {
    name: "man",
    description: "\
Prints a man page, as roff source for man(1) to format: taskq(1) by default; a command's page, named by the \
command (`run`) or the page (`taskq-run`, `taskq-run.1`); or taskq.toml(5), the jobs file's page (`taskq.toml`, \
also `jobs.toml`). The same pages are in the source tree, under man/, and installed by packages, where man(1) \
finds them; where they are not installed, pipe `taskq man` to `man -l -`.",
    exit_status: &[
        ("0", "The page was printed."),
        EXIT_WRITE,
        ("2", "Usage error: bad flags, or no such page (the pages are listed)."),
    ],
    signals: &[],
    environment: &[GLOBALS_IGNORED],
    job_environment: false,
    files: &[
        ("/usr/share/man/man1/taskq.1, /usr/share/man/man1/taskq-*.1", "taskq(1) and the commands' pages, installed."),
        ("/usr/share/man/man5/taskq.toml.5", "The jobs file's page, installed."),
    ],
    examples: &[
        ("Read taskq(1):", "taskq man | man -l -"),
        ("The worker's page:", "taskq man run | man -l -"),
        ("Every key of jobs.toml:", "taskq man taskq.toml | man -l -"),
        ("Install a page by hand:", "taskq man taskq.toml > /usr/local/share/man/man5/taskq.toml.5"),
    ],
    see_also: &["taskq(1)", "taskq.toml(5)", "man(1)"],
};
