//! The soak: minutes of steady load on Redis with the faults production
//! meets, then an account of every job. A durable redis-server (AOF, fsync
//! on every write) sits behind proxies: each of three workers (`-c 4
//! --lease 5s`) reaches it through a `Proxy` of its own. While jobs are
//! enqueued at a steady rate, workers are SIGKILLed at random and restarted
//! at once (one, the witness, is spared, so that one memory series spans
//! the whole run), Redis crashes once and is back 2 s later, and one worker
//! is cut off for 10 s (its proxy paused) just after it started a run of
//! the slow `max_concurrent = 1` job, which outlasts the lease: the other
//! workers carry on and take the job over once its lease lapses, so the
//! cut-off worker must have stopped its run by then or the two overlap.
//! Then enqueuing stops, the queue drains, and the report says how many
//! jobs were enqueued, succeeded, ran more than once, were lost and
//! overlapped, and how much memory each worker held every 30 s.
//!
//! It fails if a job is lost, a `max_concurrent = 1` run overlapped
//! another, a worker exited or spins when idle, or a worker never killed
//! grew its RSS by more than 20% between the first and the last minutes.
//!
//! Not in CI (`#[ignore]`): `scripts/soak [MINUTES]` runs it in release
//! mode and writes docs/soak.md. Settings: `TASKQ_SOAK_MINUTES` (default
//! 10), `TASKQ_SOAK_RATE` (jobs a second, default 30), `TASKQ_SOAK_SEED`
//! (replays the kill schedule), `TASKQ_SOAK_REPORT` (a file for the
//! Markdown report; default stdout), `TASKQ_SOAK_REVISION` (named in it).
//!
//! This file holds the test and what its parts share; the parts:
//! - `schedule`: when each fault strikes
//! - `faults`: striking them, and the log of what was done
//! - `workers`: the workers, their kills, their memory and how they idle
//! - `enqueue`: the steady load
//! - `account`: the drain, what became of every job, and the problems found
//! - `report`: the Markdown report

mod account;
mod enqueue;
mod faults;
mod report;
mod schedule;
mod workers;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use self::account::{Account, drain, problems};
use self::enqueue::enqueue_steadily;
use self::faults::Faults;
use self::report::{Report, redis_version};
use self::schedule::timeline;
use self::workers::Workers;
use super::chaos::{Rng, exclusive, jobs_toml, keep_evidence, now_secs};
use crate::common::{Env, Proxy, RedisServer};

const WORKERS: usize = 3;
/// The worker never killed: its memory series spans the whole run.
const WITNESS: usize = 0;
const REDIS_DOWN: Duration = Duration::from_secs(2);
const PARTITION: Duration = Duration::from_secs(10);
/// Largest RSS growth allowed to a worker never killed.
const RSS_GROWTH_MAX: f64 = 0.20;

/// What `TASKQ_SOAK_*` asks of this run.
struct Settings {
    minutes: f64,
    /// `mark` jobs enqueued a second.
    rate: f64,
    /// Replays the faults of a run.
    seed: u64,
}

/// The chaos jobs and `slow`, longer than a lease: the partition outlasts
/// its lease, so its worker must stop it before the lease lapses, or its
/// next run would overlap it.
fn soak_jobs() -> String {
    jobs_toml(&format!("\n[jobs.slow]\nmax_concurrent = 1\ncommand = '''{}'''\n", exclusive("slow", "8")))
}

fn setting<T: std::str::FromStr>(var: &str, default: T) -> T {
    match std::env::var(var) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("{var}={v:?} is not a valid value")),
        Err(_) => default,
    }
}

/// Sleeps until `deadline`, if it is still ahead.
fn sleep_until(deadline: Instant) {
    if let Some(pause) = deadline.checked_duration_since(Instant::now()) {
        std::thread::sleep(pause);
    }
}

#[test]
#[ignore = "minutes long: scripts/soak runs it"]
fn soak_steady_load_with_kills_a_redis_crash_and_a_partition() {
    let minutes: f64 = setting("TASKQ_SOAK_MINUTES", 10.0);
    let rate: f64 = setting("TASKQ_SOAK_RATE", 30.0);
    let (mut rng, seed) = Rng::from_env("TASKQ_SOAK_SEED");
    let settings = Settings { minutes, rate, seed };
    let load = Duration::from_secs_f64(minutes * 60.0);
    let date = jiff::Zoned::now().strftime("%Y-%m-%d %H:%M %Z").to_string();

    let server = RedisServer::start_durable();
    // One per worker slot, so that one worker can be cut off alone.
    let proxies: Vec<Proxy> = (0..WORKERS).map(|_| Proxy::start(server.port)).collect();
    let redis_version = redis_version(&server);
    let env = Env::with_broker(&server.url()).jobs(&soak_jobs());

    let began = Instant::now();
    let began_secs = now_secs();
    let mut workers = Workers::start(&env, &proxies);
    let stop = AtomicBool::new(false);
    let (enqueued, faults) = std::thread::scope(|scope| {
        let enqueuer = scope.spawn(|| enqueue_steadily(&env, rate, &stop));
        let schedule = timeline(load, &mut rng);
        let faults = Faults::new(&env, &server, &proxies, &mut workers, began).strike(schedule, &mut rng);
        stop.store(true, Ordering::SeqCst);
        (enqueuer.join().expect("the enqueuer"), faults)
    });
    let loaded = began.elapsed();

    let (drained, records) = drain(&env, &enqueued.ids);
    let drain = began.elapsed().saturating_sub(loaded);
    let idle = workers.idle();
    let account = Account::of(&env, &enqueued.ids, &workers, drained, records);
    let problems = problems(&idle, &account, &enqueued);

    let report = Report {
        settings: &settings,
        date: &date,
        redis_version: &redis_version,
        began_secs,
        loaded,
        drain,
        enqueued: &enqueued,
        account: &account,
        faults: &faults,
        series: &workers.series,
        idle: &idle,
        problems: &problems,
    };
    report.publish();
    if !problems.is_empty() {
        let kept = keep_evidence(env.root(), &format!("taskq-soak-{seed}"));
        panic!("soak failed (seed {seed}; worker logs and marks kept in {}):\n{problems:#?}", kept.display());
    }
}
