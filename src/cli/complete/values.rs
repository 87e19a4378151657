//! The value completers (`COMPLETERS` says which argument each serves):
//! job, workflow, schedule and queue names from the config in effect, and
//! recent ids from its broker. Each takes the word typed so far and returns what may follow;
//! anything that goes wrong gives no candidates (see the module above).

use std::ffi::OsStr;
use std::sync::OnceLock;
use std::time::Duration;

use clap_complete::CompletionCandidate;

use super::{matching, request};
use crate::broker::{Broker, BrokerUrl, ListFilter};
use crate::config::{Action, Config, JobDef, WorkflowDef};
use crate::job::{JobId, JobRecord, JobState};
use crate::names::Namespace;

/// How long ids may take to arrive: past it, a TAB gives no ids rather than
/// a hung prompt.
const BROKER_DEADLINE: Duration = Duration::from_secs(1);
/// How many ids are offered, newest first.
const RECENT_IDS: usize = 40;
/// How much of a command or URL is shown beside a job's name.
const DESCRIPTION_CHARS: usize = 60;

/// The config in effect for the line being completed, if one is found and
/// valid: `-f` on the line, `$TASKQ_CONFIG`, then the usual search path.
fn config() -> Option<&'static Config> {
    static CONFIG: OnceLock<Option<Config>> = OnceLock::new();
    CONFIG.get_or_init(|| Config::discover(request().flags.config.as_deref()).ok()).as_ref()
}

/// `enqueue JOB`, `exec JOB`, `list --job`, `--then`: the config's jobs.
pub(super) fn jobs(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(config) = config() else { return Vec::new() };
    matching(current, config.jobs.iter().map(job).collect())
}

/// `enqueue` and `history`, which take a workflow as well as a job.
pub(super) fn jobs_and_workflows(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(config) = config() else { return Vec::new() };
    let all = config.jobs.iter().map(job).chain(config.workflows.iter().map(workflow)).collect();
    matching(current, all)
}

/// `schedule pause|resume|trigger NAME`: the entries beat fires.
pub(super) fn schedules(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(config) = config() else { return Vec::new() };
    let entries = crate::beat::entries(config)
        .into_iter()
        .map(|e| CompletionCandidate::new(e.name().to_string()).help(Some(shown(&e.spec).into())))
        .collect();
    matching(current, entries)
}

/// `--queue`: the queues the config names, and `default`.
pub(super) fn queues(current: &OsStr) -> Vec<CompletionCandidate> {
    let Some(config) = config() else { return Vec::new() };
    matching(current, config.queues().iter().map(|q| CompletionCandidate::new(q.as_str().to_string())).collect())
}

/// `run -Q high,default`: the queue after the last comma, the ones before
/// kept as typed. A weight being typed (`high:6`) gets nothing.
pub(super) fn queue_list(current: &OsStr) -> Vec<CompletionCandidate> {
    let typed = current.to_string_lossy();
    let (before, last) = typed.rsplit_once(',').map_or(("", typed.as_ref()), |(b, l)| (b, l));
    if last.contains(':') {
        return Vec::new();
    }
    let prefix = if before.is_empty() { String::new() } else { format!("{before},") };
    queues(OsStr::new(last)).into_iter().map(|c| c.add_prefix(prefix.clone())).collect()
}

/// `list --state`.
pub(super) fn states(current: &OsStr) -> Vec<CompletionCandidate> {
    matching(current, JobState::ALL.iter().map(|s| CompletionCandidate::new(s.as_str())).collect())
}

/// `status` and `wait`: recent jobs and workflow runs.
pub(super) fn ids(current: &OsStr) -> Vec<CompletionCandidate> {
    recent(current, Ids::JobsAndRuns)
}

/// `logs`: recent jobs (a workflow run has no output of its own).
pub(super) fn job_ids(current: &OsStr) -> Vec<CompletionCandidate> {
    recent(current, Ids::Jobs)
}

/// `revoke`: jobs and runs that have not ended.
pub(super) fn unfinished_ids(current: &OsStr) -> Vec<CompletionCandidate> {
    recent(current, Ids::Unfinished)
}

/// `retry`: failed jobs.
pub(super) fn failed_ids(current: &OsStr) -> Vec<CompletionCandidate> {
    recent(current, Ids::Failed)
}

fn job(def: &JobDef) -> CompletionCandidate {
    let what = match &def.action {
        Action::Shell(shell) => template_text(shell.command.pieces()),
        Action::Http(http) => format!("{} {}", http.method, template_text(http.url.pieces())),
        Action::Workflow => "workflow".to_string(),
    };
    CompletionCandidate::new(def.name.as_str().to_string()).help(Some(shown(&what).into()))
}

fn workflow(def: &WorkflowDef) -> CompletionCandidate {
    let steps: Vec<String> = def.steps.iter().map(crate::flow::Step::describe).collect();
    let what = format!("workflow: {}", steps.join(" -> "));
    CompletionCandidate::new(def.name.as_str().to_string()).help(Some(shown(&what).into()))
}

/// A template as written in jobs.toml.
fn template_text<'a>(pieces: impl Iterator<Item = crate::config::template::Piece<'a>>) -> String {
    use crate::config::template::Piece;
    pieces
        .map(|p| match p {
            Piece::Literal(text) => text.to_string(),
            Piece::Param(name) => format!("{{{{{name}}}}}"),
            Piece::Env(name) => format!("${{{name}}}"),
        })
        .collect()
}

/// A description on one line, control characters escaped (a shell shows it
/// as it is), shortened to fit beside the name.
fn shown(text: &str) -> String {
    let one = crate::text::one_line(text);
    if one.chars().count() <= DESCRIPTION_CHARS {
        return one.into_owned();
    }
    let mut short: String = one.chars().take(DESCRIPTION_CHARS - 1).collect();
    short.push('…');
    short
}

/// Which ids a command takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ids {
    JobsAndRuns,
    Jobs,
    Unfinished,
    Failed,
}

/// Recent ids of `kind`, newest first, each with its job's name and state,
/// if the broker answers within the deadline.
fn recent(current: &OsStr, kind: Ids) -> Vec<CompletionCandidate> {
    let Some((url, ns)) = broker_in_effect() else { return Vec::new() };
    let Ok(runtime) = tokio::runtime::Builder::new_current_thread().enable_all().build() else {
        return Vec::new();
    };
    let found = runtime.block_on(async {
        tokio::time::timeout(BROKER_DEADLINE, async {
            let broker = crate::broker::connect(&url, &ns).await.ok()?;
            read_ids(broker.as_ref(), kind).await
        })
        .await
        .ok()
        .flatten()
    });
    // A read still running past the deadline is left behind, not waited for.
    runtime.shutdown_background();
    matching(current, found.unwrap_or_default())
}

/// The broker the line's flags and config point at, if reading it can
/// change nothing: a SQLite file is neither created (not even its default
/// directory) nor migrated for a completion.
fn broker_in_effect() -> Option<(BrokerUrl, Namespace)> {
    let flags = &request().flags;
    let config = config();
    // As `Context::broker_url` picks it, but creating nothing.
    let named = match (flags.broker.clone(), config) {
        (Some(url), _) => Some(url),
        (None, Some(c)) => crate::config::broker_named(c).ok()?.map(|(url, _)| url),
        (None, None) => None,
    };
    let url = if let Some(url) = named {
        BrokerUrl::parse(&url).ok()?
    } else if config.is_some_and(|c| crate::config::is_system_config(&c.path)) {
        BrokerUrl::Sqlite { path: crate::broker::SYSTEM_SQLITE.into() }
    } else {
        let dirs = directories::ProjectDirs::from("", "", "taskq")?;
        BrokerUrl::Sqlite { path: dirs.data_dir().join("taskq.db") }
    };
    if let BrokerUrl::Sqlite { path } = &url
        && !crate::broker::sqlite_is_current(path)
    {
        return None;
    }
    let ns = flags
        .namespace
        .clone()
        .or_else(|| config.and_then(|c| c.settings.namespace.clone()))
        .unwrap_or_else(Namespace::default_namespace);
    Some((url, ns))
}

async fn read_ids(broker: &dyn Broker, kind: Ids) -> Option<Vec<CompletionCandidate>> {
    let list = |state| ListFilter { state, limit: RECENT_IDS, ..ListFilter::default() };
    let mut jobs: Vec<JobRecord> = match kind {
        Ids::JobsAndRuns | Ids::Jobs => broker.list(&list(None)).await.ok()?,
        Ids::Failed => broker.list(&list(Some(JobState::Failed))).await.ok()?,
        Ids::Unfinished => {
            let mut open = Vec::new();
            for state in JobState::ALL.into_iter().filter(|s| !s.is_final()) {
                open.extend(broker.list(&list(Some(state))).await.ok()?);
            }
            open
        }
    };
    jobs.retain(|j| kind != Ids::Unfinished || !j.state.is_final());
    let mut found: Vec<(JobId, String)> =
        jobs.iter().map(|j| (j.job.id, format!("{} ({})", j.job.job, j.state))).collect();
    if matches!(kind, Ids::JobsAndRuns | Ids::Unfinished) {
        let runs = broker.list_runs(None, RECENT_IDS).await.ok()?;
        found.extend(
            runs.iter()
                .filter(|r| kind != Ids::Unfinished || !r.state.is_final())
                .map(|r| (r.run.id, format!("workflow {} ({})", r.run.def.name, r.state.as_str()))),
        );
    }
    // UUIDv7 ids sort by time: newest first.
    found.sort_by_key(|(id, _)| std::cmp::Reverse(*id));
    found.dedup_by_key(|(id, _)| *id);
    found.truncate(RECENT_IDS);
    Some(
        found
            .into_iter()
            .map(|(id, what)| CompletionCandidate::new(id.to_string()).help(Some(shown(&what).into())))
            .collect(),
    )
}
