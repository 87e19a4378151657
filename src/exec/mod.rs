//! Running one attempt of a job: a shell command or an HTTP call, turned into
//! an `Outcome`. `taskq exec` and the worker share this code; neither the
//! broker nor retry policy is known here.

mod http;
pub mod identity;
pub mod output;
pub mod reaper;
mod redirect;
mod shell;
mod spawn;

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use crate::config::{Action, JobDef};
use crate::job::{JobId, Outcome};
use crate::names::QueueName;
use output::OutputSink;

/// An HTTP job without a `timeout` still needs one: reqwest has no default.
pub const DEFAULT_HTTP_TIMEOUT: Duration = Duration::from_secs(3600);

/// One attempt to run.
#[derive(Debug, Clone)]
pub struct Attempt<'a> {
    pub def: &'a JobDef,
    pub id: JobId,
    pub args: &'a [String],
    /// Every parameter the job uses, resolved.
    pub params: &'a BTreeMap<String, String>,
    /// 1 for the first run.
    pub number: u32,
    pub queue: &'a QueueName,
    /// For scheduled runs: the tick, RFC 3339 with offset.
    pub scheduled_at: Option<&'a str>,
    /// For a workflow step's job: the run's id (`TASKQ_WORKFLOW_ID`).
    pub workflow_run: Option<JobId>,
    /// Extra variables for the job's environment (hooks' `TASKQ_TRIGGER_*`).
    pub extra_env: &'a BTreeMap<String, String>,
}

impl Attempt<'_> {
    /// The `TASKQ_*` variables every job sees.
    fn taskq_env(&self) -> Vec<(String, String)> {
        let mut vars = vec![
            ("TASKQ_JOB_ID".to_string(), self.id.to_string()),
            ("TASKQ_JOB_NAME".to_string(), self.def.name.to_string()),
            ("TASKQ_ATTEMPT".to_string(), self.number.to_string()),
            ("TASKQ_QUEUE".to_string(), self.queue.to_string()),
        ];
        if let Some(at) = self.scheduled_at {
            vars.push(("TASKQ_SCHEDULED_AT".to_string(), at.to_string()));
        }
        if let Some(run) = self.workflow_run {
            vars.push(("TASKQ_WORKFLOW_ID".to_string(), run.to_string()));
        }
        vars.extend(self.extra_env.iter().map(|(k, v)| (k.clone(), v.clone())));
        vars
    }
}

/// How an attempt is stopped from outside (a shutdown, a lost lease,
/// `revoke --terminate`): cancelled, it sends SIGTERM to the job's group and
/// SIGKILL the job's `kill_after` later, or sooner when the stop must be done
/// by a deadline (a lease about to lapse).
#[derive(Debug, Clone, Default)]
pub struct Kill {
    token: CancellationToken,
    grace: Arc<OnceLock<Duration>>,
}

impl Kill {
    pub fn new() -> Kill {
        Kill::default()
    }

    /// Stops the job, with its own `kill_after` as the grace.
    pub fn cancel(&self) {
        self.token.cancel();
    }

    /// Stops the job, SIGKILL at most `grace` after SIGTERM.
    pub fn cancel_within(&self, grace: Duration) {
        let _ = self.grace.set(grace);
        self.token.cancel();
    }

    pub fn is_cancelled(&self) -> bool {
        self.token.is_cancelled()
    }

    pub async fn cancelled(&self) {
        self.token.cancelled().await;
    }

    /// A stop that comes when `token` is cancelled.
    pub fn on(token: CancellationToken) -> Kill {
        Kill { token, grace: Arc::default() }
    }

    /// The grace between SIGTERM and SIGKILL: `kill_after`, or less.
    fn grace(&self, kill_after: Duration) -> Duration {
        self.grace.get().map_or(kill_after, |g| (*g).min(kill_after))
    }
}

/// Runs attempts. Holds what is worth reusing between them (the HTTP
/// connection pool) and, in a worker, the reaper that kills its jobs if it
/// dies.
#[derive(Clone)]
pub struct Executor {
    /// Made by the first HTTP job (or by `prepare_http`): the client and
    /// its TLS roots are a third of an idle worker's heap, which a worker
    /// of shell jobs never needs. A set-up error is kept: what failed it
    /// (no CA certificates on the host) does not pass between two jobs.
    http: Arc<OnceLock<Result<reqwest::Client, String>>>,
    reaper: Option<Arc<reaper::Reaper>>,
    vars: Vars,
}

impl std::fmt::Debug for Executor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Executor").field("http", &self.http).field("reaper", &self.reaper).finish_non_exhaustive()
    }
}

/// Where `${VAR}` is read from: the worker's environment, or for tests a
/// table of their own (setting the process's environment while other
/// threads read it is undefined behaviour).
pub type Vars = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

fn http_client() -> Result<reqwest::Client, String> {
    crate::tls::install_crypto_provider();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        // Followed by hand (see redirect.rs), to keep the job's headers
        // from other origins.
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("taskq/", env!("CARGO_PKG_VERSION")))
        .build()
        // reqwest's error alone names only its kind ("builder error"): the
        // chain says why (no CA certificates were loaded, say).
        .map_err(|e| format!("cannot set up the HTTP client: {:#}", anyhow::Error::from(e)))
}

impl Default for Executor {
    fn default() -> Executor {
        Executor::new()
    }
}

impl Executor {
    pub fn new() -> Executor {
        Executor { http: Arc::default(), reaper: None, vars: Arc::new(|name| std::env::var(name).ok()) }
    }

    /// Makes the HTTP client now: a worker whose jobs include HTTP ones
    /// then fails at start if it cannot, and its first job does not wait.
    pub fn prepare_http(&self) -> anyhow::Result<()> {
        self.http().map(drop).map_err(|e| anyhow::anyhow!("{e}"))
    }

    fn http(&self) -> Result<&reqwest::Client, &str> {
        self.http.get_or_init(http_client).as_ref().map_err(String::as_str)
    }

    /// This executor reading `${VAR}` from `vars` instead of the environment.
    #[must_use]
    pub fn with_vars(mut self, vars: Vars) -> Executor {
        self.vars = vars;
        self
    }

    /// An executor whose shell jobs die with this process however it dies
    /// (see `reaper.rs`): a worker's, whose jobs would otherwise run on
    /// beside their redelivered runs.
    pub fn with_reaper() -> anyhow::Result<Executor> {
        let mut executor = Executor::new();
        executor.reaper = Some(reaper::Reaper::start().context("cannot start the job reaper")?);
        Ok(executor)
    }

    /// Runs one attempt to its end. Cancelling `kill` stops the job (SIGTERM
    /// to its process group, SIGKILL `kill_after` later) and reports it killed.
    pub async fn run(&self, attempt: &Attempt<'_>, sink: &dyn OutputSink, kill: &Kill) -> Outcome {
        let outcome = match &attempt.def.action {
            Action::Shell(action) => shell::run(action, attempt, &*self.vars, sink, kill, self.reaper.as_deref()).await,
            Action::Http(action) => match self.http() {
                Ok(client) => http::run(client, action, attempt, &*self.vars, sink, kill).await,
                Err(e) => Outcome::not_started(e),
            },
            // A worker starts the run itself (worker/slot.rs): nothing to execute.
            Action::Workflow => {
                let now = jiff::Timestamp::now();
                crate::job::Outcome {
                    status: crate::job::RunStatus::Failed,
                    detail: crate::job::Detail::None,
                    retryable: false,
                    error: Some(format!("\"{}\" is a workflow: a worker starts its runs", attempt.def.name)),
                    output: Vec::new(),
                    output_total: 0,
                    stdout: None,
                    started_at: now,
                    finished_at: now,
                }
            }
        };
        sink.finish();
        outcome
    }
}

/// Starts `argv` (the program first) with the job spawner, as a job's shell
/// is started, and waits for its exit code: for the spawner benchmark
/// (benches/spawn.rs), which sets it beside `std::process::Command`.
#[doc(hidden)]
pub async fn spawn_and_wait(argv: &[&str]) -> std::io::Result<Option<i32>> {
    let program = argv.first().ok_or_else(|| std::io::Error::other("no program"))?;
    let spec = spawn::Spawn {
        program: program.into(),
        args: argv.iter().map(Into::into).collect(),
        env: std::env::vars_os().collect(),
        cwd: None,
        reaper: None,
        credentials: None,
    };
    let mut child = spawn::spawn(&spec)?;
    Ok(child.wait().await?.code)
}

#[cfg(test)]
mod tests {
    use super::Executor;

    #[test]
    fn the_http_client_is_made_when_first_needed_and_shared_by_clones() {
        let executor = Executor::new();
        let clone = executor.clone();
        assert!(executor.http.get().is_none(), "a new executor has no HTTP client yet");
        // Made or refused (a host without CA certificates): either way once.
        let _ = executor.prepare_http();
        assert!(clone.http.get().is_some(), "a clone shares what was made");
    }
}
