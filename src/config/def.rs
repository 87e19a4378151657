//! What jobs.toml says, resolved: defaults merged, durations parsed,
//! templates parsed, references checked. `JobDef` is a job's definition; an
//! enqueued instance of it is a `job::Job`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use super::contexts::whole_path_segments;
use super::params::{MAX_TOTAL_BYTES, ParamRule, check_anywhere};
use super::template::Template;
use super::template::param_var;
use crate::job::{BrokerPolicy, JobId, NewJob, UniqueKey};
use crate::names::{JobName, QueueName};
use crate::schedule::Schedule;
use crate::time::Zone;

/// The default lease (`lease`, `taskq run --lease`).
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// Default `kill_after`: how long SIGTERM has before SIGKILL.
pub const DEFAULT_KILL_AFTER: Duration = Duration::from_secs(10);
pub use crate::job::{DEFAULT_MAX_REDELIVERIES, DEFAULT_RESULT_TTL};
/// Default `retry_delay`.
pub const DEFAULT_RETRY_DELAY: Duration = Duration::from_secs(10);
/// Default `retry_delay_max`.
pub const DEFAULT_RETRY_DELAY_MAX: Duration = Duration::from_secs(3600);
/// Default shell.
pub const DEFAULT_SHELL: &str = "/bin/sh";

/// The `[taskq]` table.
#[derive(Debug, Clone, Default)]
pub struct Settings {
    pub broker: Option<String>,
    pub namespace: Option<crate::names::Namespace>,
    pub timezone: Option<Zone>,
    pub result_ttl: Option<Duration>,
    pub lease: Option<Duration>,
    /// The failed set's bounds (default: `broker::Retention::default()`).
    pub failed_max: Option<u64>,
    pub failed_ttl: Option<Duration>,
}

impl Settings {
    /// How much of the failed set the broker keeps.
    pub fn retention(&self) -> crate::broker::Retention {
        let default = crate::broker::Retention::default();
        crate::broker::Retention {
            failed_max: self.failed_max.unwrap_or(default.failed_max),
            failed_ttl: self.failed_ttl.unwrap_or(default.failed_ttl),
        }
    }
}

/// One `[jobs.NAME]` table with `[defaults]` applied.
#[derive(Debug, Clone)]
pub struct JobDef {
    pub name: JobName,
    pub action: Action,
    pub queue: QueueName,
    pub timeout: Option<Duration>,
    pub kill_after: Duration,
    pub retry: RetryPolicy,
    pub unique_for: Option<Duration>,
    pub expires: Option<Duration>,
    pub on_failure: Option<JobName>,
    pub on_success: Option<JobName>,
    pub schedule: Option<Schedule>,
    pub timezone: Zone,
    /// `params`: default values.
    pub params: BTreeMap<String, String>,
    /// `params`: the rules declared (a parameter without one is any text).
    pub param_rules: BTreeMap<String, ParamRule>,
    /// Every parameter the job's templates use.
    pub param_names: BTreeSet<String>,
    pub max_concurrent: Option<u32>,
    pub catch_up: CatchUp,
    pub result_ttl: Duration,
    pub ignore_result: bool,
    pub max_redeliveries: u32,
}

/// What a job does.
#[derive(Debug, Clone)]
pub enum Action {
    Shell(ShellAction),
    Http(HttpAction),
    /// Starts a run of the workflow of the job's name: a scheduled
    /// workflow's tick, which beat fires as a job (`JobDef::workflow_tick`)
    /// and a worker carries out.
    Workflow,
}

/// A shell job: what it runs, where, and what counts as success.
#[derive(Debug, Clone)]
pub struct ShellAction {
    pub shell: String,
    pub command: Template,
    pub workdir: Option<PathBuf>,
    /// `user` and `group`: whom the job runs as (`None`: the worker's user).
    pub run_as: Option<RunAs>,
    /// `env`, values still holding their `${VAR}`s.
    pub env: BTreeMap<String, Template>,
    /// Exit codes that count as success.
    pub success_exit: Vec<i32>,
    /// `retry_on_exit`: retry only on these exit codes (`None`: any failure).
    pub retry_on_exit: Option<Vec<i32>>,
}

/// The account a job runs as, by name: looked up on the worker's host when
/// a run starts, as cron looks up a cron.d line's user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunAs {
    pub user: String,
    /// The primary group (`None`: the user's own, from its passwd entry).
    pub group: Option<String>,
}

impl Action {
    /// `shell` or `http`, as `check` prints it.
    pub fn kind(&self) -> &'static str {
        match self {
            Action::Shell(_) => "shell",
            Action::Http(_) => "http",
            Action::Workflow => "workflow",
        }
    }
}

/// An `http` table.
#[derive(Debug, Clone)]
pub struct HttpAction {
    pub method: reqwest::Method,
    pub url: Template,
    /// The URL parsed once, when it has no placeholder (most jobs): a
    /// worker then copies it for each request instead of parsing it again.
    pub fixed_url: Option<reqwest::Url>,
    pub headers: Vec<(reqwest::header::HeaderName, Template)>,
    pub body: HttpBody,
    /// `success_status`: statuses that count as success; `None` is any 2xx.
    pub success_status: Option<Vec<u16>>,
}

/// An HTTP job's request body.
#[derive(Debug, Clone)]
pub enum HttpBody {
    None,
    /// A JSON document whose strings are templates.
    Json(super::http::JsonTemplate),
    Raw(Template),
}

/// `retries`, `retry_delay`, `retry_delay_max`, `retry_jitter`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    pub retries: u32,
    pub delay: Duration,
    pub delay_max: Duration,
    pub jitter: bool,
}

/// `catch_up`: what to do with ticks missed while no beat ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CatchUp {
    #[default]
    Skip,
    Once,
    All,
}

/// Why the parameters given for a job do not fit it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    #[error("job \"{job}\" needs parameter \"{name}\": pass -p {name}=VALUE")]
    Missing { job: String, name: String },
    #[error("job \"{job}\" has no parameter \"{name}\"{}", known_list(.known))]
    Unknown { job: String, name: String, known: Vec<String> },
    #[error("invalid parameter \"{0}\": write it as NAME=VALUE")]
    Malformed(String),
    #[error("parameter \"{0}\" is given twice: pass -p {0}=VALUE once")]
    Repeated(String),
    #[error("parameter \"{name}\" of job \"{job}\" cannot be {value}: {why}")]
    Refused { job: String, name: String, value: String, why: String },
    #[error("argument {index} of job \"{job}\" cannot be {value}: {why}")]
    RefusedArg { job: String, index: usize, value: String, why: String },
    #[error(
        "the parameters and arguments of job \"{job}\" take {bytes} bytes; the OS passes at most {} KiB of them to a process",
        MAX_TOTAL_BYTES / 1024
    )]
    TooLarge { job: String, bytes: usize },
}

/// A value as an error shows it: quoted, and cut short when long.
fn shown(value: &str) -> String {
    const MAX: usize = 40;
    if value.chars().count() <= MAX {
        return format!("{value:?}");
    }
    let cut: String = value.chars().take(MAX).collect();
    format!("{cut:?}... ({} bytes)", value.len())
}

fn known_list(known: &[String]) -> String {
    if known.is_empty() { " (it takes none)".to_string() } else { format!(" (its parameters: {})", known.join(", ")) }
}

impl JobDef {
    /// A new enqueued instance with the job's own queue and policy; the
    /// parameters are checked (and defaults applied only at run time).
    /// The job beat fires for each tick of workflow `wf` on `schedule`: run
    /// by a worker, it starts the workflow's run.
    pub fn workflow_tick(wf: &super::WorkflowDef, settings: &Settings, schedule: Schedule) -> JobDef {
        JobDef {
            name: wf.name.clone(),
            action: Action::Workflow,
            queue: QueueName::default_queue(),
            timeout: None,
            kill_after: DEFAULT_KILL_AFTER,
            retry: RetryPolicy { retries: 0, delay: Duration::ZERO, delay_max: Duration::ZERO, jitter: false },
            unique_for: None,
            expires: None,
            on_failure: None,
            on_success: None,
            schedule: Some(schedule),
            timezone: settings.timezone.clone().unwrap_or_else(Zone::system),
            params: BTreeMap::new(),
            param_rules: BTreeMap::new(),
            param_names: BTreeSet::new(),
            max_concurrent: None,
            catch_up: CatchUp::default(),
            result_ttl: settings.result_ttl.unwrap_or(DEFAULT_RESULT_TTL),
            ignore_result: false,
            max_redeliveries: DEFAULT_MAX_REDELIVERIES,
        }
    }

    pub fn new_job(&self, args: Vec<String>, params: BTreeMap<String, String>) -> Result<NewJob, ParamError> {
        let resolved = self.resolve_run(&args, &params)?;
        let unique = self.unique_for.map(|window| UniqueKey { key: self.default_unique_key(&args, &resolved), window });
        Ok(NewJob {
            id: JobId::new(),
            job: self.name.clone(),
            args,
            params,
            queue: self.queue.clone(),
            delay: None,
            expires: self.expires,
            unique,
            scheduled_at: None,
            trigger: None,
            workflow: None,
            policy: BrokerPolicy {
                max_redeliveries: self.max_redeliveries,
                max_concurrent: self.max_concurrent,
                result_ttl: self.result_ttl,
            },
        })
    }

    /// Moves `job` to `queue`, unless the job has `max_concurrent`: its
    /// runs are counted on its own queue (on Redis, in that queue's slot),
    /// so that the limit holds across every worker.
    pub fn move_to(&self, job: &mut NewJob, queue: QueueName) -> Result<(), String> {
        if let Some(n) = self.max_concurrent.filter(|_| queue != self.queue) {
            return Err(format!(
                "job {} has max_concurrent = {n}, which is kept on its own queue ({}): drop the queue given, or change the job's queue in jobs.toml",
                self.name, self.queue
            ));
        }
        job.queue = queue;
        Ok(())
    }

    /// The idempotency key without `--key`: job name, args and parameters
    /// (the queue is not part of it).
    pub fn default_unique_key(&self, args: &[String], resolved: &BTreeMap<String, String>) -> String {
        let parts = serde_json::json!([self.name.as_str(), args, resolved]);
        format!("job:{parts}")
    }

    /// Refuses arguments no process can be passed, and a shell job whose
    /// parameters and arguments together are more than the OS passes.
    fn check_args(&self, args: &[String], params: &BTreeMap<String, String>) -> Result<(), ParamError> {
        let shell = matches!(self.action, Action::Shell(_));
        for (i, arg) in args.iter().enumerate() {
            if let Some(why) = check_anywhere(arg, shell, "") {
                let (job, value) = (self.name.to_string(), shown(arg));
                return Err(ParamError::RefusedArg { job, index: i + 1, value, why });
            }
        }
        let bytes: usize = args.iter().chain(params.values()).map(String::len).sum();
        if shell && bytes > MAX_TOTAL_BYTES {
            return Err(ParamError::TooLarge { job: self.name.to_string(), bytes });
        }
        Ok(())
    }

    /// The parameter values for a run with `args` (see `resolve_params`),
    /// the arguments checked too: what is checked at enqueue and again when
    /// the job starts.
    pub fn resolve_run(
        &self,
        args: &[String],
        given: &BTreeMap<String, String>,
    ) -> Result<BTreeMap<String, String>, ParamError> {
        let resolved = self.resolve_params(given)?;
        self.check_args(args, &resolved)?;
        Ok(resolved)
    }

    /// The full set of parameter values for a run: `given` over the defaults.
    /// Every parameter the job uses must end up with a value, and no other;
    /// each value must fit its rule and be one a job can be given (checked
    /// at enqueue and again when the job starts).
    pub fn resolve_params(&self, given: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ParamError> {
        if let Some(name) = given.keys().find(|k| !self.param_names.contains(*k)) {
            return Err(ParamError::Unknown {
                job: self.name.to_string(),
                name: name.clone(),
                known: self.param_names.iter().cloned().collect(),
            });
        }
        let mut out = BTreeMap::new();
        for name in &self.param_names {
            let value = given
                .get(name)
                .or_else(|| self.params.get(name))
                .ok_or_else(|| ParamError::Missing { job: self.name.to_string(), name: name.clone() })?;
            out.insert(name.clone(), value.clone());
        }
        self.check_values(&out)?;
        Ok(out)
    }
}

impl JobDef {
    fn refused(&self, name: &str, value: &str, why: String) -> ParamError {
        ParamError::Refused { job: self.name.to_string(), name: name.to_string(), value: shown(value), why }
    }

    fn check_values(&self, values: &BTreeMap<String, String>) -> Result<(), ParamError> {
        let shell = matches!(self.action, Action::Shell(_));
        for (name, value) in values {
            let rule = self.param_rules.get(name);
            let carrier = format!("{}=", param_var(name));
            if let Some(why) = rule.and_then(|r| r.check(value)).or_else(|| check_anywhere(value, shell, &carrier)) {
                return Err(self.refused(name, value, why));
            }
        }
        self.check_http_values(values)
    }

    /// The defaults, where they decide a run alone: an HTTP job's URL path
    /// segment or header that no run could send. (What any value is checked
    /// for, the config loader checks in each default.)
    pub(super) fn check_defaults(&self) -> Result<(), ParamError> {
        self.check_http_values(&self.params)
    }

    /// What an HTTP job cannot send: a whole path segment of `.` or `..`
    /// (judged once every part of it has a value), a control character in
    /// a header.
    fn check_http_values(&self, values: &BTreeMap<String, String>) -> Result<(), ParamError> {
        let refused = |name: &str, value: &str, why: String| self.refused(name, value, why);
        if let Action::Http(http) = &self.action {
            for group in whole_path_segments(&http.url) {
                if !group.iter().all(|n| values.contains_key(n)) {
                    continue;
                }
                let segment: String = group.iter().filter_map(|n| values.get(n)).map(String::as_str).collect();
                if segment == "." || segment == ".." {
                    let why = "it fills a whole path segment of the URL, which would resolve it to another resource"
                        .to_string();
                    return Err(refused(&group.join("}}{{"), &segment, why));
                }
            }
            // A header value goes verbatim: a line break in one could only
            // fail the request (never add a header), so say so now.
            for (header, template) in &http.headers {
                for name in template.params() {
                    if let Some(value) = values.get(name)
                        && value.chars().any(|c| c.is_ascii_control() && c != '\t')
                    {
                        let why = format!("it fills the {header} header, where control characters are not allowed");
                        return Err(refused(name, value, why));
                    }
                }
            }
        }
        Ok(())
    }
}

/// Parses `-p name=value` flags.
pub fn parse_param_flags(flags: &[String]) -> Result<BTreeMap<String, String>, ParamError> {
    let mut out = BTreeMap::new();
    for flag in flags {
        let Some((k, v)) = flag.split_once('=').filter(|(k, _)| !k.is_empty()) else {
            return Err(ParamError::Malformed(flag.clone()));
        };
        // Which of two values was meant cannot be known: say so.
        if out.insert(k.to_string(), v.to_string()).is_some() {
            return Err(ParamError::Repeated(k.to_string()));
        }
    }
    Ok(out)
}
