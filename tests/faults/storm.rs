//! The SIGKILL storm: 2,000 jobs, three workers killed at random moments
//! (SIGKILL, so no shutdown code runs) and restarted at once, and in the end
//! every job has succeeded, no run of the `max_concurrent = 1` job
//! overlapped another, and a job ran again only when its worker died under
//! it. Jobs record their own runs (`ID start|end PID WORKER TIME` in a marks
//! file), so what is checked is what ran, not what the broker says ran.
//!
//! A job may legitimately run twice in two ways, both from a killed worker:
//! its run was cut short (a start without an end), or its run completed but
//! the worker died before recording the outcome (at-least-once: the end line
//! comes before the kill). Anything else is a bug: a second run after a
//! completed one on a worker that was never killed, or killed only later.
//!
//! `TASKQ_STORM_SEED` replays the kill schedule of a printed seed. On a
//! failure the run's files (worker logs, marks, kills) are kept and named;
//! `TASKQ_STORM_KEEP=1` keeps them always.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::chaos::{Rng, cpu_time, jobs_toml, keep_evidence, now_secs, runs};
use crate::both;
use crate::common::{Backend, Env, SOON, poll_until};

const JOBS: usize = 2000;
/// Every 20th job is the `max_concurrent = 1` one: 100 runs in a row.
const EXCLUSIVE_EVERY: usize = 20;
const WORKERS: usize = 3;
/// Kills stop after this many, or once every job has run to its end once.
const MAX_KILLS: usize = 30;
/// Short, so the jobs of a killed worker come back within the test.
const WORKER_ARGS: [&str; 5] = ["run", "-c", "4", "--lease", "2s"];
/// SPEC: a dead worker's jobs die within a second.
const GRACE: f64 = 1.0;
/// Ample for the drain after the storm: a few seconds of work and a lease.
const DRAIN: Duration = Duration::from_secs(60);

/// Whether every job has run to its end at least once.
fn every_job_ended(env: &Env, ids: &[String]) -> bool {
    let runs = runs(env);
    ids.iter().all(|id| runs.get(id).is_some_and(|r| r.iter().any(|run| run.ended.is_some())))
}

/// Job id -> attempts, for every job in `state`.
fn in_state(env: &Env, state: &str) -> BTreeMap<String, i64> {
    let out = env.run(&["list", "--state", state, "--limit", "100000", "--json"]).success().get_output().stdout.clone();
    String::from_utf8_lossy(&out)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            (v["id"].as_str().expect("an id").to_string(), v["attempts"].as_i64().expect("attempts"))
        })
        .collect()
}

/// How the runs that were followed by another one ended.
#[derive(Default)]
struct Tally {
    /// Killed (with their worker) before their end.
    cut_short: usize,
    /// Ended after their worker was killed, before the reaper got to them.
    outlived: usize,
    longest_outlived: f64,
    /// Ended before their worker was killed, which died before recording the outcome.
    unrecorded: usize,
    longest_unrecorded: f64,
}

/// A worker killed by the storm.
struct Kill {
    pid: i32,
    at: f64,
}

/// One storm at a time: two at once on a small machine starve each other.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

both!(a_sigkill_storm_loses_no_job_and_never_overlaps, |backend| {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(PoisonError::into_inner);
    let began = Instant::now();
    let (mut rng, seed) = Rng::from_env("TASKQ_STORM_SEED");
    let env = Env::new(backend).jobs(&jobs_toml(""));
    let batch: String = (0..JOBS)
        .map(|i| if i % EXCLUSIVE_EVERY == 0 { "{\"job\":\"exclusive\"}\n" } else { "{\"job\":\"mark\"}\n" })
        .collect();
    let out = env.run_with_input(&["enqueue", "--batch", "-"], &batch).success().get_output().stdout.clone();
    let ids: Vec<String> = String::from_utf8(out).expect("utf-8 ids").lines().map(str::to_string).collect();
    assert_eq!(ids.len(), JOBS);

    let mut workers: Vec<_> = (0..WORKERS).map(|_| env.spawn(&WORKER_ARGS)).collect();
    let mut dead = Vec::new();
    let mut kills: Vec<Kill> = Vec::new();
    let storm = Instant::now();
    while kills.len() < MAX_KILLS && !every_job_ended(&env, &ids) {
        // Pacing the faults, not waiting for anything.
        std::thread::sleep(rng.between(Duration::from_millis(300), Duration::from_secs(1)));
        let victim = rng.below(WORKERS);
        kills.push(Kill { pid: workers[victim].pid(), at: now_secs() });
        workers[victim].signal(Signal::KILL);
        let mut killed = std::mem::replace(&mut workers[victim], env.spawn(&WORKER_ARGS));
        killed.wait_timeout(SOON).expect("a SIGKILLed worker exits");
        dead.push(killed);
    }
    let storm = storm.elapsed();
    let kill_log: String = kills.iter().map(|k| format!("{} {:.6}\n", k.pid, k.at)).collect();
    env.write("kills", &format!("# seed {seed}; worker pid, time killed\n{kill_log}"));

    let drain = Instant::now();
    let drained = poll_until(DRAIN, || every_job_ended(&env, &ids) && in_state(&env, "succeeded").len() == JOBS);
    let drain = drain.elapsed();

    // Everything below is collected, then reported at once with the evidence kept.
    let mut problems = Vec::new();
    if !drained {
        problems.push(format!("not every job succeeded within {DRAIN:?} of the last kill"));
    }
    for w in &mut workers {
        if let Ok(Some(status)) = w.child.try_wait() {
            problems.push(format!("worker {} exited ({status}) though never killed", w.pid()));
        }
    }
    // Idle now: a worker that keeps burning CPU spins.
    let before: Vec<_> = workers.iter().map(|w| cpu_time(w.pid())).collect();
    std::thread::sleep(Duration::from_secs(1));
    for (w, before) in workers.iter().zip(before) {
        if let (Some(before), Some(after)) = (before, cpu_time(w.pid()))
            && after.saturating_sub(before) > Duration::from_millis(200)
        {
            problems.push(format!("idle worker {} used {:?} of CPU in 1s", w.pid(), after.saturating_sub(before)));
        }
    }

    let succeeded = in_state(&env, "succeeded");
    let runs = runs(&env);
    let known: HashSet<&String> = ids.iter().collect();
    let mut tally = Tally::default();
    for id in runs.keys().filter(|id| !known.contains(id)) {
        problems.push(format!("marks of a job never enqueued: {id}"));
    }
    for id in &ids {
        let Some(job) = runs.get(id) else {
            problems.push(format!("{id}: never ran"));
            continue;
        };
        let (last, earlier) = job.split_last().expect("a job in the marks ran");
        if last.ended.is_none() {
            problems.push(format!("{id}: its last run has no end: {job:?}"));
        }
        for (run, next) in earlier.iter().zip(&job[1..]) {
            // The kill of the run's worker: pids are reused, so the first
            // kill of that pid after the run started (or just before: a
            // job writes its start mark a moment after its exec), and
            // before the next run started.
            let kill = kills
                .iter()
                .filter(|k| k.pid == run.worker && k.at + GRACE >= run.started && k.at <= next.started)
                .map(|k| k.at)
                .min_by(f64::total_cmp);
            let Some(kill) = kill else {
                problems.push(format!("{id}: ran again though its worker was not killed meanwhile: {job:?}"));
                continue;
            };
            match run.ended {
                None => tally.cut_short += 1,
                Some(end) if end > kill + GRACE => {
                    problems.push(format!("{id}: a run outlived its killed worker by {:.3}s: {job:?}", end - kill));
                }
                Some(end) if end > kill => {
                    tally.outlived += 1;
                    tally.longest_outlived = tally.longest_outlived.max(end - kill);
                }
                Some(end) => {
                    tally.unrecorded += 1;
                    tally.longest_unrecorded = tally.longest_unrecorded.max(kill - end);
                }
            }
        }
        match succeeded.get(id) {
            None => problems.push(format!("{id}: not succeeded")),
            Some(&attempts) if attempts < job.len() as i64 => {
                problems.push(format!("{id}: {} runs but {attempts} attempts counted: {job:?}", job.len()));
            }
            Some(_) => {}
        }
    }
    let failed = env.run(&["list", "--state", "failed"]).success().get_output().stdout.clone();
    if !failed.is_empty() {
        problems.push(format!("failed jobs:\n{}", String::from_utf8_lossy(&failed)));
    }
    let overlaps = env.read("overlaps");
    if !overlaps.is_empty() {
        problems.push(format!("the max_concurrent = 1 job overlapped:\n{overlaps}"));
    }

    let duplicated = runs.values().filter(|r| r.len() > 1).count();
    let most = runs.values().map(Vec::len).max().unwrap_or(0);
    let backend = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Redis => "redis",
    };
    eprintln!(
        "storm ({backend}, seed {seed}): {JOBS} jobs, {} kills in {storm:.1?}, drained {drain:.1?} later, {:.1?} in all; \
         {duplicated} jobs ran more than once (most {most} times); runs on a killed worker: {} cut short, \
         {} ended after the kill (by {:.0} ms at most), {} ended before it with the outcome unrecorded \
         (for {:.0} ms at most)",
        kills.len(),
        began.elapsed(),
        tally.cut_short,
        tally.outlived,
        tally.longest_outlived * 1000.0,
        tally.unrecorded,
        tally.longest_unrecorded * 1000.0,
    );
    if std::env::var_os("TASKQ_STORM_KEEP").is_some() {
        eprintln!(
            "storm: files kept in {}",
            keep_evidence(env.root(), &format!("taskq-storm-{backend}-{seed}")).display()
        );
    }
    if !problems.is_empty() {
        let kept = keep_evidence(env.root(), &format!("taskq-storm-{backend}-{seed}"));
        let shown: Vec<&String> = problems.iter().take(20).collect();
        panic!(
            "{} problems (seed {seed}; TASKQ_STORM_SEED={seed} replays the kills; logs, marks and kills kept in {}):\n{shown:#?}",
            problems.len(),
            kept.display()
        );
    }
    drop(dead);
});
