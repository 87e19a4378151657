//! The command line, as clap parses it. `///` comments here are the help text,
//! man pages are rendered from [`Cli::command`], and shell completion walks
//! it (`complete`, which adds its value completers); nothing here validates
//! beyond what clap can express (see `config` and `commands`).

pub mod complete;
mod parse;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum, ValueHint};
use jiff::Timestamp;

use crate::job::{IdArg, JobState};
use crate::names::{Namespace, QueueName};
use crate::worker::QueueSelection;

/// `--delay 30s` and the other durations (humantime's forms).
fn duration_arg(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text).map_err(|e| format!("{e} (use e.g. 90s, 5m, 1h30m)"))
}

fn at_arg(text: &str) -> Result<Timestamp, String> {
    crate::time::parse_at(text).map_err(|e| e.0)
}

fn queue_arg(text: &str) -> Result<QueueName, String> {
    QueueName::new(text)
}

/// A job runner and cron replacement: shell and HTTP jobs from a TOML file,
/// queued in Redis or an embedded SQLite file.
#[derive(Debug, Parser)]
#[command(name = "taskq", version, propagate_version = true, max_term_width = 100)]
#[command(after_long_help = "EXAMPLES:
    taskq check                          validate jobs.toml, show next fire times
    taskq exec nightly-backup            run one job here and now, without a broker
    taskq enqueue send-welcome -p user_id=42
    taskq run -c 4                       start a worker on every configured queue
    taskq status 019364e1-7c5a-7d3e-9f7e-2b1d0c4a5e6f")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts, under a heading of their own in each
/// command's help.
#[derive(Debug, Args, Clone)]
#[command(next_help_heading = "Global options")]
pub struct GlobalArgs {
    /// The jobs file [default: ./jobs.toml, then ~/.config/taskq/jobs.toml, then /etc/taskq/jobs.toml]
    #[arg(short = 'f', long = "config", global = true, env = "TASKQ_CONFIG", value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub config: Option<PathBuf>,

    /// Broker URL: redis://[user:password@]host[:port][/db], rediss://..., or sqlite:///path/to/taskq.db
    #[arg(long, global = true, env = "TASKQ_BROKER", hide_env_values = true, value_name = "URL", value_hint = ValueHint::Url)]
    pub broker: Option<String>,

    /// Key prefix, so several applications can share one broker [default: taskq]
    #[arg(long, global = true, env = "TASKQ_NAMESPACE", value_name = "NS", value_parser = Namespace::new)]
    pub namespace: Option<Namespace>,

    /// Log more (repeat for more detail)
    #[arg(short, long, global = true, action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Log less (repeat to silence warnings too)
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub quiet: u8,

    /// When to color output
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,

    /// Log line format on stderr
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Every subcommand.
// Deferred: a subcommand's arguments are built only when it is the one
// invoked (or for help, completions and man pages), which saves a one-shot
// `enqueue` building every other command's. The argument structs below
// carry plain comments, not doc comments: built after the variant, a
// struct's doc comment would replace the command's one-line description.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Validate the config; list jobs and the next fire times of each schedule
    Check(CheckArgs),
    /// Put a job on its queue (or start a workflow's run) and print its id
    #[command(after_long_help = "EXAMPLES:
    taskq enqueue send-welcome-email -p user_id=42
    taskq enqueue resize-image photos/a.jpg --queue images --delay 30s
    taskq enqueue sync-inventory -p sku=A1 --wait --timeout 2m
    taskq enqueue nightly-report -p day=2026-11-29 --wait     # a workflow
    generate-lines | taskq enqueue --batch -
    taskq enqueue --batch orders.jsonl --then charge-batch --wait")]
    Enqueue(EnqueueArgs),
    /// Run a worker: take jobs from the queues and execute them
    Run(RunArgs),
    /// Run the scheduler only: enqueue jobs when their schedule fires
    Beat(BeatArgs),
    /// Run one job inline, here and now, without a broker; exit with its outcome
    Exec(ExecArgs),
    /// Show the state, attempts, times, exit code and output tail of jobs (a workflow run: its steps)
    Status(StatusArgs),
    /// Wait for jobs (or workflow runs) to finish; exit with their outcome
    Wait(WaitArgs),
    /// Print a job's captured output
    Logs(LogsArgs),
    /// The recent runs of one job (or workflow)
    History(HistoryArgs),
    /// List jobs, newest first
    List(ListArgs),
    /// Queues, workers, per-job counts and schedules
    Inspect(InspectArgs),
    /// Inspect full screen, read again every second (piped: inspect, once)
    #[command(after_long_help = "KEYS:
    q, Ctrl-C    quit (the terminal is given back as it was)
    /            filter the jobs by name (Enter or Esc ends the filter)
    Up, Down     select a job
    Enter        the selected job's latest runs, as status shows them
    Esc          back from the runs

Not on a terminal, or with --json, top prints what inspect does, once.")]
    Top(InspectArgs),
    /// List schedules; pause, resume or trigger one (obeyed by every beat)
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Cancel a queued, scheduled or retrying job, or what remains of a workflow run
    Revoke(RevokeArgs),
    /// Requeue failed jobs
    Retry(RetryArgs),
    /// Delete queued or failed jobs
    Purge(PurgeArgs),
    /// Turn a crontab into jobs.toml entries on stdout
    ImportCrontab(ImportCrontabArgs),
    /// Serve the dashboard (/) and the HTTP API (/api/v1/)
    #[command(after_long_help = "EXAMPLES:
    taskq web --no-auth                  # this machine only: http://127.0.0.1:5555/
    echo \"app operator $(taskq web hash-password)\" >> web-users
    taskq web --listen 0.0.0.0:5555 --auth-file web-users")]
    Web(WebArgs),
    /// Print shell completions
    Completions(CompletionsArgs),
    /// Print a man page: taskq(1), a command's, or taskq.toml(5) for the jobs file
    #[command(after_long_help = "EXAMPLES:
    taskq man | man -l -
    taskq man run | man -l -
    taskq man taskq.toml | man -l -")]
    Man(ManArgs),
    /// The companion a worker starts to kill its jobs if it dies (internal)
    #[command(name = "__reap", hide = true)]
    Reap,
}

impl Command {
    /// Workers, beat and the web server: logged at info.
    pub fn is_long_running(&self) -> bool {
        matches!(
            self,
            Command::Run(_) | Command::Beat(_) | Command::Top(_) | Command::Web(WebArgs { action: None, .. })
        )
    }

    /// Workers, beat and `top`: a multi-threaded runtime. The web server
    /// runs on one thread, as the one-shot commands do: its requests wait on
    /// the broker, and handing each between threads cost an API call a
    /// tenth of a millisecond of wake-ups (password checks and SQLite run
    /// on the blocking pool either way).
    pub fn is_multi_threaded(&self) -> bool {
        matches!(self, Command::Run(_) | Command::Beat(_) | Command::Top(_))
    }

    /// Commands that turn SIGTERM and SIGINT into a graceful stop; the rest
    /// keep the default behaviour of dying at once.
    pub fn handles_signals(&self) -> bool {
        matches!(self, Command::Run(_) | Command::Beat(_) | Command::Exec(_) | Command::Top(_) | Command::Web(_))
    }

    /// Commands that stop on SIGHUP as on SIGINT: `exec`, whose job would
    /// outlive it otherwise.
    pub fn stops_on_hangup(&self) -> bool {
        matches!(self, Command::Exec(_))
    }

    /// Commands that reload their config on SIGHUP: beat, workers and the
    /// dashboard.
    pub fn handles_reload(&self) -> bool {
        matches!(
            self,
            Command::Beat(BeatArgs { dry_run: false, .. })
                | Command::Run(_)
                | Command::Web(WebArgs { action: None, .. })
        )
    }
}

// `taskq check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Print one JSON document instead of a table
    #[arg(long)]
    pub json: bool,
}

// `-p name=value`, shared by `enqueue` and `exec`.
#[derive(Debug, Args, Clone, Default)]
pub struct ParamArgs {
    /// Set the job parameter NAME (used as {{NAME}} in jobs.toml)
    #[arg(short = 'p', long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
}

// `taskq enqueue`.
#[derive(Debug, Args)]
pub struct EnqueueArgs {
    /// The job's (or workflow's) name in jobs.toml
    #[arg(required_unless_present = "batch", conflicts_with = "batch")]
    pub job: Option<String>,

    /// Positional arguments: $1, $2, ... of a shell job
    #[arg(allow_hyphen_values = false)]
    pub args: Vec<String>,

    #[command(flatten)]
    pub params: ParamArgs,

    /// Put the job on this queue instead of the job's own (not for a job
    /// with max_concurrent, whose runs are counted on its own queue)
    #[arg(long, value_name = "QUEUE", value_parser = queue_arg)]
    pub queue: Option<QueueName>,

    /// Run no earlier than this long from now (e.g. 30s, 5m)
    #[arg(long, value_name = "DURATION", conflicts_with = "at", value_parser = duration_arg)]
    pub delay: Option<Duration>,

    /// Run no earlier than this time: RFC 3339, or a local "YYYY-MM-DD HH:MM[:SS]"
    #[arg(long, value_name = "TIME", value_parser = at_arg)]
    pub at: Option<Timestamp>,

    /// Drop the job as expired if it has not started this long after it became due
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub expires: Option<Duration>,

    /// Idempotency key: a second enqueue with the same key returns the first job's id
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,

    /// How long the key is held [default: the job's unique_for, else 1h]
    #[arg(long, value_name = "DURATION", requires = "key", value_parser = duration_arg)]
    pub unique_for: Option<Duration>,

    /// Wait for the job to finish and exit with its outcome
    #[arg(long)]
    pub wait: bool,

    /// With --wait: give up after this long (exit 75)
    #[arg(long, value_name = "DURATION", requires = "wait", value_parser = duration_arg)]
    pub timeout: Option<Duration>,

    /// Enqueue JSON lines {"job":..., "args":[...], "params":{...}} from FILE, or - for stdin
    #[arg(
        long,
        value_name = "FILE",
        value_hint = ValueHint::FilePath,
        // Each line carries its own job; options for one job would be ignored.
        // (--wait only with --then: then it waits for the callback)
        conflicts_with_all = ["params", "queue", "delay", "at", "expires", "key", "json"]
    )]
    pub batch: Option<PathBuf>,

    /// With --batch: run this job once after every job of the batch succeeded,
    /// with their results in $TASKQ_PREV_OUTPUTS (one bad line and nothing goes in);
    /// with --wait, wait for it
    #[arg(long, value_name = "JOB", requires = "batch")]
    pub then: Option<String>,

    /// Print {"id": ..., "duplicate": ...} instead of the bare id
    #[arg(long)]
    pub json: bool,
}

// `taskq run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// Queues to serve: strict order "high,default", or weighted "high:6,default:3"
    /// [default: every queue jobs.toml names, plus default]
    #[arg(short = 'Q', long = "queues", value_name = "QUEUES", value_parser = QueueSelection::parse)]
    pub queues: Option<QueueSelection>,

    /// How many jobs to run at once [default: the number of CPUs]
    #[arg(short = 'c', long, value_name = "N")]
    pub concurrency: Option<usize>,

    /// How long a job's lease lasts; renewed every third of it [default: 30s]
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub lease: Option<Duration>,

    /// On SIGTERM or SIGINT, how long running jobs may take to finish
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = duration_arg)]
    pub shutdown_timeout: Duration,

    /// Also run the scheduler in this process
    #[arg(long)]
    pub beat: bool,

    /// Exit once the queues hold nothing queued and nothing is running
    #[arg(long)]
    pub burst: bool,

    /// Serve Prometheus metrics on this address, e.g. 127.0.0.1:9108
    #[arg(long, value_name = "ADDR", value_parser = socket_address)]
    pub metrics: Option<SocketAddr>,

    /// Echo each job's output on stderr, each line prefixed with its id
    #[arg(long)]
    pub job_output: bool,
}

// `taskq beat`.
#[derive(Debug, Args)]
pub struct BeatArgs {
    /// Print what differs from the broker's schedule state, and the next fires, then exit
    #[arg(long)]
    pub dry_run: bool,

    /// Serve Prometheus metrics on this address, e.g. 127.0.0.1:9108
    #[arg(long, value_name = "ADDR", value_parser = socket_address)]
    pub metrics: Option<SocketAddr>,
}

// `taskq exec`.
#[derive(Debug, Args)]
pub struct ExecArgs {
    /// The job's name in jobs.toml
    pub job: String,

    /// Positional arguments: $1, $2, ... of a shell job
    pub args: Vec<String>,

    #[command(flatten)]
    pub params: ParamArgs,
}

// `taskq status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Job (or workflow run) ids, as `enqueue` printed them, or each id's
    /// first 8 or more characters if no other id starts with them
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<IdArg>,

    /// Print JSON (one object per id, as JSON lines)
    #[arg(long)]
    pub json: bool,
}

// `taskq wait`.
#[derive(Debug, Args)]
pub struct WaitArgs {
    /// Job (or workflow run) ids, as `enqueue` printed them, or each id's
    /// first 8 or more characters if no other id starts with them
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<IdArg>,

    /// Give up after this long (exit 75)
    #[arg(long, value_name = "DURATION", value_parser = duration_arg)]
    pub timeout: Option<Duration>,

    /// Print JSON (one object per id, as JSON lines)
    #[arg(long)]
    pub json: bool,
}

// `taskq logs`.
#[derive(Debug, Args)]
pub struct LogsArgs {
    /// The job id (or its first 8 or more characters, if no other id starts with them)
    pub id: IdArg,

    /// Follow a running job's output live until it ends (`-f` after `logs`
    /// means this too; elsewhere it is --config)
    #[arg(short = 'F', long)]
    pub follow: bool,
}

// `taskq history`.
#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The job's (or workflow's) name in jobs.toml
    pub job: String,

    /// How many runs to show
    #[arg(long, default_value_t = 20)]
    pub limit: usize,

    /// Print JSON lines
    #[arg(long)]
    pub json: bool,
}

// `taskq list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only jobs in this state: scheduled, queued, running, retrying, succeeded, failed, revoked, expired
    #[arg(long, value_name = "STATE")]
    pub state: Option<JobState>,

    /// Only jobs on this queue
    #[arg(long, value_name = "QUEUE", value_parser = queue_arg)]
    pub queue: Option<QueueName>,

    /// Only runs of this job
    #[arg(long, value_name = "NAME")]
    pub job: Option<String>,

    /// At most this many jobs
    #[arg(long, default_value_t = 50, value_name = "N")]
    pub limit: usize,

    /// Print JSON lines
    #[arg(long)]
    pub json: bool,
}

// `taskq web`.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct WebArgs {
    #[command(subcommand)]
    pub action: Option<WebAction>,
    /// Address to listen on
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:5555")]
    pub listen: std::net::SocketAddr,
    /// Users allowed in: NAME ROLE HASH lines (roles viewer and operator; hashes from `taskq web hash-password`)
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath)]
    pub auth_file: Option<PathBuf>,
    /// Let every request in as an operator: only on a loopback address
    #[arg(long, conflicts_with = "auth_file")]
    pub no_auth: bool,
    /// Serve HTTPS with this certificate chain (PEM); needs --tls-key
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM)
    #[arg(long, value_name = "FILE", value_hint = ValueHint::FilePath, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

// `taskq web`'s subcommands.
#[derive(Debug, Subcommand)]
pub enum WebAction {
    /// Read a password on stdin (a line) and print its argon2 hash, for an auth file
    HashPassword,
}

// `taskq inspect` and `taskq top`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// Print one JSON document
    #[arg(long)]
    pub json: bool,
}

// `taskq schedule`.
#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Every schedule: when it fires, whether it is paused, its last and next fire
    List(ScheduleListArgs),
    /// Stop a schedule firing on every beat until resumed (kept in the broker); its ticks are counted as skipped
    Pause(ScheduleNameArgs),
    /// Let a paused schedule fire again, from its next tick
    Resume(ScheduleNameArgs),
    /// Enqueue one run of a schedule's job (or workflow) now, outside the schedule; print its id
    Trigger(ScheduleNameArgs),
}

// `taskq schedule list`.
#[derive(Debug, Args)]
pub struct ScheduleListArgs {
    /// Print one JSON document
    #[arg(long)]
    pub json: bool,
}

// `taskq schedule pause|resume|trigger NAME`.
#[derive(Debug, Args)]
pub struct ScheduleNameArgs {
    /// The schedule: the name of its job (or workflow) in jobs.toml
    pub name: String,
}

// `taskq revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// The job id, or a workflow run's (or its first 8 or more characters, if
    /// no other id starts with them)
    pub id: IdArg,

    /// Also kill the job if it is running (a workflow run: its running jobs)
    #[arg(long)]
    pub terminate: bool,
}

// `taskq retry`.
#[derive(Debug, Args)]
pub struct RetryArgs {
    /// Failed job ids (or each id's first 8 or more characters, if no other id
    /// starts with them)
    #[arg(required_unless_present = "all_failed", conflicts_with = "all_failed", value_name = "ID")]
    pub ids: Vec<IdArg>,

    /// Requeue every failed job
    #[arg(long)]
    pub all_failed: bool,
}

// `taskq purge`.
#[derive(Debug, Args)]
pub struct PurgeArgs {
    /// Delete the jobs queued on this queue
    #[arg(long, value_name = "QUEUE", conflicts_with = "failed", value_parser = queue_arg)]
    pub queue: Option<QueueName>,

    /// Delete the failed jobs
    #[arg(long)]
    pub failed: bool,

    /// Do not ask for confirmation
    #[arg(long)]
    pub yes: bool,
}

// `taskq import-crontab`.
#[derive(Debug, Args)]
pub struct ImportCrontabArgs {
    /// The crontab to read [default: stdin]
    #[arg(value_hint = ValueHint::FilePath)]
    pub file: Option<PathBuf>,

    /// Read the /etc/crontab and /etc/cron.d format, with its user field
    /// (written as each job's `user`)
    #[arg(long)]
    pub system: bool,

    /// Exit 0 even when some lines could not be converted
    ///
    /// The lines that could not be converted are still listed on stderr, and
    /// the others converted; only the exit status differs (0, not 65). For
    /// scripts under `set -o pipefail`, which exit 65 would stop:
    /// `crontab -l | taskq import-crontab --allow-partial > jobs.toml`
    #[arg(long)]
    pub allow_partial: bool,
}

// `taskq completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to print completions for
    pub shell: clap_complete::Shell,
}

// `taskq man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The page: a command (run, schedule), taskq.toml for the jobs file, or taskq [default: taskq]
    pub page: Option<String>,
}

/// `--metrics`: an IP and a port (a name would need a lookup at start).
fn socket_address(text: &str) -> Result<SocketAddr, String> {
    text.parse().map_err(|_| "not an address; give an IP and port such as 127.0.0.1:9108".to_string())
}
