//! The account of every job once the load stops: the drain, what the broker
//! recorded, what actually ran (the marks), why a job ran more than once,
//! and the problems that fail the soak. Writing it up is `report`'s.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant};

use super::RSS_GROWTH_MAX;
use super::enqueue::{Enqueued, GIVE_UP};
use super::workers::{Growth, Idle, Series, Workers};
use crate::common::{Env, poll_until};
use crate::faults::chaos::{Run, runs};

/// Ample: a few seconds of work, plus leases lapsing after a kill.
const DRAIN: Duration = Duration::from_secs(300);
/// Most CPU an idle worker may use.
const IDLE_CPU_MAX: f64 = 0.20;

/// A job as `taskq list` shows it.
#[derive(Clone, Default)]
pub(super) struct Record {
    pub(super) state: String,
    pub(super) attempts: i64,
    pub(super) error: String,
}

/// Job id -> record of every job, from `taskq list`.
fn records(env: &Env) -> HashMap<String, Record> {
    let out = env.run(&["list", "--limit", "10000000", "--json"]).success().get_output().stdout.clone();
    String::from_utf8_lossy(&out)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            let record =
                Record { state: text("state"), attempts: v["attempts"].as_i64().unwrap_or(0), error: text("error") };
            (text("id"), record)
        })
        .collect()
}

fn succeeded(record: Option<&Record>) -> bool {
    record.is_some_and(|r| r.state == "succeeded")
}

/// Waits until every job has run to its end and is recorded as succeeded.
/// Returns whether that happened within `DRAIN`, and the records last seen.
pub(super) fn drain(env: &Env, ids: &[String]) -> (bool, HashMap<String, Record>) {
    let ids: HashSet<&String> = ids.iter().collect();
    let mut listed: Option<Instant> = None;
    let mut last = HashMap::new();
    let drained = poll_until(DRAIN, || {
        let runs = runs(env);
        if !ids.iter().all(|id| runs.get(*id).is_some_and(|r| r.iter().any(|run| run.ended.is_some()))) {
            return false;
        }
        // Listing every job is heavy: at most every 2 s.
        if listed.is_some_and(|at| at.elapsed() < Duration::from_secs(2)) {
            return false;
        }
        listed = Some(Instant::now());
        last = records(env);
        ids.iter().all(|id| succeeded(last.get(*id)))
    });
    if drained { (true, last) } else { (false, records(env)) }
}

/// Why jobs ran more than once: how each run that another run followed ended.
#[derive(Default)]
pub(super) struct Reruns {
    /// Jobs that ran more than once.
    pub(super) duplicated: usize,
    /// The most runs of one job.
    pub(super) most_runs: usize,
    /// Cut short by a SIGKILL of their worker (no end mark).
    pub(super) cut_killed: usize,
    /// Stopped by a worker still alive (its lease could not be renewed).
    pub(super) cut_live: usize,
    /// Completed on a worker killed before it recorded the outcome.
    pub(super) completed_killed: usize,
    /// Completed on a worker never killed: (job id, when it ended).
    pub(super) completed_live: Vec<(String, f64)>,
}

impl Reruns {
    fn of(ids: &[String], runs: &HashMap<String, Vec<Run>>, kills: &[(i32, f64)]) -> Reruns {
        let mut reruns = Reruns { most_runs: runs.values().map(Vec::len).max().unwrap_or(0), ..Reruns::default() };
        for id in ids {
            let Some(job) = runs.get(id) else { continue };
            if job.len() > 1 {
                reruns.duplicated += 1;
            }
            for pair in job.windows(2) {
                let (run, next) = (&pair[0], &pair[1]);
                // Its worker's kill ended the run if it came before the next run
                // began (pids are reused: a kill of that pid before the run
                // started, or after the next one began, is another story).
                let killed =
                    kills.iter().any(|&(pid, at)| pid == run.worker && at + 1.0 >= run.started && at <= next.started);
                match (run.ended, killed) {
                    (None, true) => reruns.cut_killed += 1,
                    (None, false) => reruns.cut_live += 1,
                    (Some(_), true) => reruns.completed_killed += 1,
                    (Some(end), false) => reruns.completed_live.push((id.clone(), end)),
                }
            }
        }
        reruns
    }
}

/// What became of every job, and what the workers did meanwhile.
pub(super) struct Account {
    pub(super) drained: bool,
    pub(super) records: HashMap<String, Record>,
    pub(super) runs: HashMap<String, Vec<Run>>,
    pub(super) succeeded: usize,
    /// Enqueued jobs not recorded as succeeded.
    pub(super) lost: Vec<String>,
    /// Jobs that ran but were never reported enqueued.
    pub(super) unknown: usize,
    /// `ID overlaps HOLDER TIME` lines from the `max_concurrent = 1` jobs.
    pub(super) overlaps: Vec<String>,
    pub(super) reruns: Reruns,
    /// How the memory of each worker never killed moved.
    pub(super) growth: Vec<Growth>,
    /// (level, message) -> how often the workers logged it.
    pub(super) messages: BTreeMap<(String, String), usize>,
}

impl Account {
    /// Takes stock of the jobs `ids` after the drain.
    pub(super) fn of(
        env: &Env,
        ids: &[String],
        workers: &Workers,
        drained: bool,
        records: HashMap<String, Record>,
    ) -> Account {
        let runs = runs(env);
        let known: HashSet<&String> = ids.iter().collect();
        Account {
            drained,
            succeeded: ids.iter().filter(|id| succeeded(records.get(*id))).count(),
            lost: ids.iter().filter(|id| !succeeded(records.get(*id))).cloned().collect(),
            unknown: runs.keys().filter(|id| !known.contains(id)).count(),
            overlaps: env.lines("overlaps"),
            reruns: Reruns::of(ids, &runs, &workers.kills),
            growth: workers.series.iter().filter(|s| s.killed.is_none()).filter_map(Series::growth).collect(),
            messages: logged(env),
            records,
            runs,
        }
    }
}

/// What the workers logged, by level and message, besides a job's start and end.
fn logged(env: &Env) -> BTreeMap<(String, String), usize> {
    let mut messages: BTreeMap<(String, String), usize> = BTreeMap::new();
    for entry in std::fs::read_dir(env.root()).expect("the env dir").flatten() {
        let name = entry.file_name().to_string_lossy().to_string();
        if !(name.starts_with("proc-") && entry.path().extension().is_some_and(|e| e == "log")) {
            continue;
        }
        for line in std::fs::read_to_string(entry.path()).unwrap_or_default().lines() {
            if let Some((level, text)) = message(line)
                && (level != "INFO" || !text.starts_with("job "))
            {
                *messages.entry((level.to_string(), text)).or_default() += 1;
            }
        }
    }
    messages
}

/// A log line's level and message, its fields left out.
fn message(line: &str) -> Option<(&str, String)> {
    let mut words = line.split_whitespace().skip(1);
    let level = words.next()?;
    let field =
        |w: &str| w.split_once('=').is_some_and(|(k, _)| k.chars().all(|c| c.is_alphanumeric() || "._".contains(c)));
    let text: Vec<&str> = words.take_while(|w| !field(w)).collect();
    Some((level, text.join(" ")))
}

/// Everything that fails the soak, in the order the report lists it.
pub(super) fn problems(idle: &[Idle], account: &Account, enqueued: &Enqueued) -> Vec<String> {
    let mut problems: Vec<String> = Vec::new();
    for worker in idle {
        if worker.share > IDLE_CPU_MAX {
            problems.push(format!("idle worker {} uses {:.0}% of a core", worker.pid, worker.share * 100.0));
        }
        if let Some(status) = worker.exited {
            problems.push(format!("worker {} exited ({status}) though never killed", worker.pid));
        }
    }
    if !account.lost.is_empty() {
        problems.push(format!("{} jobs lost", account.lost.len()));
    }
    if !account.overlaps.is_empty() {
        problems.push(format!("{} overlaps of the max_concurrent = 1 job", account.overlaps.len()));
    }
    for g in account.growth.iter().filter(|g| g.by > RSS_GROWTH_MAX) {
        problems.push(format!(
            "worker {} grew its RSS by {:.0}% ({:.0} kB -> {:.0} kB)",
            g.pid,
            g.by * 100.0,
            g.early,
            g.late
        ));
    }
    if enqueued.given_up > 0 {
        problems.push(format!("enqueue refused {} jobs for over {GIVE_UP:?}", enqueued.given_up));
    }
    problems
}
