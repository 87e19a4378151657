//! jobs.toml: where it is found, and what it says once validated. Loading
//! parses, validates and resolves in one go, reporting every problem with its
//! place; the rest of taskq only ever sees a valid `Config`.

mod contexts;
mod def;
mod error;
mod evaluated;
mod fields;
mod host;
mod http;
pub mod keys;
pub mod params;
mod raw;
mod resolve;
mod suggest;
pub mod template;
mod validate;
mod workflow;

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

pub use crate::flow::{Member, Step, WorkflowDef};
pub use def::*;
pub use error::{ConfigError, ConfigErrors, Location};
pub use host::{SYSTEM_CONFIG, SYSTEM_ENV, broker_named, is_system_config};
pub use keys::{KeySection, documented_sections};
pub use suggest::did_you_mean;
pub use workflow::DEFAULT_MAX_ITEMS;

use crate::exit::UsageError;
use crate::names::QueueName;

/// A loaded, valid jobs.toml.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it was read from.
    pub path: PathBuf,
    pub settings: Settings,
    pub jobs: JobSet,
    /// In file order.
    pub workflows: Vec<WorkflowDef>,
    /// Per scheduled workflow, the job beat fires at each tick
    /// (`JobDef::workflow_tick`), in file order.
    pub workflow_ticks: Vec<JobDef>,
}

/// The jobs of a config, in file order, found by name.
#[derive(Debug, Clone, Default)]
pub struct JobSet {
    jobs: Vec<JobDef>,
    by_name: HashMap<String, usize>,
}

impl JobSet {
    pub(crate) fn new(jobs: Vec<JobDef>) -> JobSet {
        let by_name = jobs.iter().enumerate().map(|(i, j)| (j.name.to_string(), i)).collect();
        JobSet { jobs, by_name }
    }

    pub fn get(&self, name: &str) -> Option<&JobDef> {
        self.by_name.get(name).map(|&i| &self.jobs[i])
    }

    pub fn iter(&self) -> std::slice::Iter<'_, JobDef> {
        self.jobs.iter()
    }

    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }
}

impl<'a> IntoIterator for &'a JobSet {
    type Item = &'a JobDef;
    type IntoIter = std::slice::Iter<'a, JobDef>;

    fn into_iter(self) -> Self::IntoIter {
        self.jobs.iter()
    }
}

impl Config {
    /// Reads and validates the config at `path`.
    pub fn load(path: &Path) -> Result<Config, ConfigErrors> {
        let source = read_source(path).map_err(ConfigErrors::one)?;
        Config::parse(path, &source)
    }

    /// Validates `source` as if read from `path`.
    pub fn parse(path: &Path, source: &str) -> Result<Config, ConfigErrors> {
        validate::parse(path, source).map_err(ConfigErrors)
    }

    /// Finds and loads the config: `explicit` (from -f or $TASKQ_CONFIG), else
    /// the first of ./jobs.toml, the user's config dir and /etc/taskq.
    pub fn discover(explicit: Option<&Path>) -> Result<Config, ConfigErrors> {
        Config::load(&discover_path(explicit)?)
    }

    /// Whether any job makes HTTP calls (a worker then needs an HTTP client).
    pub fn has_http_jobs(&self) -> bool {
        self.jobs.iter().any(|def| matches!(def.action, Action::Http(_)))
    }

    /// The job named `name`, or a usage error suggesting near names (or
    /// saying it is a workflow).
    pub fn job(&self, name: &str) -> Result<&JobDef, UsageError> {
        if self.workflow(name).is_some() {
            return Err(UsageError(format!("\"{name}\" is a workflow, not a job: this takes a job")));
        }
        self.jobs.get(name).ok_or_else(|| unknown_job(name, self.jobs.iter().map(|j| j.name.as_str())))
    }

    /// The workflow named `name`.
    pub fn workflow(&self, name: &str) -> Option<&WorkflowDef> {
        self.workflows.iter().find(|w| w.name.as_str() == name)
    }

    /// Every queue the config names, plus `default`, sorted.
    pub fn queues(&self) -> Vec<QueueName> {
        let mut set: BTreeSet<QueueName> = self.jobs.iter().map(|j| j.queue.clone()).collect();
        set.insert(QueueName::default_queue());
        set.into_iter().collect()
    }
}

/// `unknown job "x" (did you mean "y"?)`, listing the jobs when none is near.
pub fn unknown_job<'a>(name: &str, known: impl Iterator<Item = &'a str> + Clone) -> UsageError {
    let hint = if let Some(near) = did_you_mean(name, known.clone()) {
        format!(" (did you mean \"{near}\"?)")
    } else {
        let all: Vec<&str> = known.collect();
        if all.is_empty() {
            " (the config defines no jobs)".to_string()
        } else {
            format!(" (jobs: {})", all.join(", "))
        }
    };
    UsageError(format!("unknown job \"{name}\"{hint}"))
}

/// Far above any real jobs file (a thousand jobs is ~200 KB), far below what
/// would take the host's memory: `-f /dev/zero` is refused at once.
pub const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// The config's text: at most `MAX_CONFIG_BYTES`, and UTF-8, or an error
/// naming the first bad byte's line and column.
fn read_source(path: &Path) -> Result<String, String> {
    use std::io::Read;
    let shown = path.display();
    let cannot =
        |e: std::io::Error| format!("cannot read config {shown}: {e}; pass an existing file with -f or $TASKQ_CONFIG");
    let mut bytes = Vec::new();
    std::fs::File::open(path).and_then(|f| f.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes)).map_err(cannot)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(format!(
            "config {shown} is over {} MiB, far more than any jobs file: check that -f or $TASKQ_CONFIG names the right file",
            MAX_CONFIG_BYTES >> 20
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let good = &e.as_bytes()[..e.utf8_error().valid_up_to()];
        let line = good.split(|&b| b == b'\n').count();
        let start = good.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
        let column = String::from_utf8_lossy(&good[start..]).chars().count() + 1;
        let byte = e.as_bytes()[good.len()];
        format!("{shown}:{line}:{column}: byte 0x{byte:02x} is not UTF-8: save the file as UTF-8")
    })
}

/// The places searched for jobs.toml, in order, when none is given.
pub fn search_path() -> Vec<PathBuf> {
    let mut paths = vec![PathBuf::from("jobs.toml")];
    if let Some(dirs) = directories::ProjectDirs::from("", "", "taskq") {
        paths.push(dirs.config_dir().join("jobs.toml"));
    }
    paths.push(PathBuf::from(SYSTEM_CONFIG));
    paths
}

fn discover_path(explicit: Option<&Path>) -> Result<PathBuf, ConfigErrors> {
    if let Some(path) = explicit {
        return Ok(path.to_path_buf());
    }
    let candidates = search_path();
    if let Some(found) = candidates.iter().find(|p| p.is_file()) {
        return Ok(found.clone());
    }
    let looked: Vec<String> = candidates.iter().map(|p| p.display().to_string()).collect();
    Err(ConfigErrors::one(format!(
        "no config found (looked for {}); create jobs.toml (see jobs.example.toml) or pass -f FILE",
        looked.join(", ")
    )))
}

#[cfg(test)]
mod tests;
