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

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::chaos::{Rng, cpu_time, exclusive, jobs_toml, keep_evidence, now_secs, runs, status_kb};
use crate::common::env::Proc;
use crate::common::{Env, Proxy, RedisServer, poll_until};

const WORKERS: usize = 3;
const WORKER_ARGS: [&str; 5] = ["run", "-c", "4", "--lease", "5s"];
/// The worker never killed: its memory series spans the whole run.
const WITNESS: usize = 0;
const KILL_EVERY: (Duration, Duration) = (Duration::from_secs(20), Duration::from_secs(40));
const SAMPLE_EVERY: Duration = Duration::from_secs(30);
const REDIS_DOWN: Duration = Duration::from_secs(2);
const PARTITION: Duration = Duration::from_secs(10);
/// The enqueuer sends what is due every tick, in one `enqueue --batch`.
const TICK: Duration = Duration::from_millis(200);
/// Ample: a few seconds of work, plus leases lapsing after a kill.
const DRAIN: Duration = Duration::from_secs(300);
/// Largest RSS growth allowed to a worker never killed.
const RSS_GROWTH_MAX: f64 = 0.20;
/// Most CPU an idle worker may use.
const IDLE_CPU_MAX: f64 = 0.20;

/// The chaos jobs and `slow`, longer than a lease: the partition outlasts
/// its lease, so its worker must stop it before the lease lapses, or its
/// next run would overlap it.
fn soak_jobs() -> String {
    jobs_toml(&format!("\n[jobs.slow]\nmax_concurrent = 1\ncommand = '''{}'''\n", exclusive("slow", "8")))
}

/// The other jobs, and how many of each are enqueued a second.
const EVERY_SECOND: [(&str, f64); 2] = [("exclusive", 1.0), ("slow", 0.1)];

fn setting<T: std::str::FromStr>(var: &str, default: T) -> T {
    match std::env::var(var) {
        Ok(v) => v.trim().parse().unwrap_or_else(|_| panic!("{var}={v:?} is not a valid value")),
        Err(_) => default,
    }
}

/// What the storm of faults does, at an offset from the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    Sample,
    Kill,
    RedisStop,
    RedisStart,
    Pause,
    Resume,
}

/// The faults and samples of a run of `load`, in time order.
fn timeline(load: Duration, rng: &mut Rng) -> Vec<(Duration, Event)> {
    let mut events: Vec<(Duration, Event)> = Vec::new();
    let mut at = SAMPLE_EVERY;
    while at <= load {
        events.push((at, Event::Sample));
        at += SAMPLE_EVERY;
    }
    let mut at = rng.between(KILL_EVERY.0, KILL_EVERY.1);
    while at + Duration::from_secs(10) < load {
        events.push((at, Event::Kill));
        at += rng.between(KILL_EVERY.0, KILL_EVERY.1);
    }
    let crash = load * 35 / 100;
    events.extend([(crash, Event::RedisStop), (crash + REDIS_DOWN, Event::RedisStart)]);
    let partition = load * 65 / 100;
    // A pause may wait for a slow run first: the resume counts from the pause.
    events.extend([(partition, Event::Pause), (partition + PARTITION, Event::Resume)]);
    events.sort();
    events
}

/// One worker process's life: a restarted worker starts a new series.
struct Series {
    slot: usize,
    pid: i32,
    started: Duration,
    killed: Option<Duration>,
    /// (offset, VmRSS in kB)
    rss: Vec<(Duration, u64)>,
}

/// What the enqueuer did.
#[derive(Default)]
struct Enqueued {
    ids: Vec<String>,
    /// `enqueue` calls that failed (and were tried again, as a script would).
    failed_calls: usize,
    first_failure: Option<String>,
    /// Jobs given up on after failing for `GIVE_UP`.
    given_up: usize,
    calls: usize,
    slowest: Duration,
}

/// How long the enqueuer tries one batch again before giving up on it.
const GIVE_UP: Duration = Duration::from_secs(60);

/// Enqueues `rate` short jobs a second, and the `max_concurrent = 1` jobs
/// as `EVERY_SECOND` says, until `stop`. A batch the broker refused (exit 69) is sent
/// again, as a careful script would; a call held up by an outage sends
/// what fell due meanwhile in the next one, so the average rate holds.
fn enqueue_steadily(env: &Env, rate: f64, stop: &AtomicBool) -> Enqueued {
    let began = Instant::now();
    let mut done = Enqueued::default();
    // Jobs sent so far, by name: the marks at `rate`, the others as `EVERY_SECOND` says.
    let mut sent: Vec<(&str, f64, usize)> = vec![("mark", rate, 0)];
    sent.extend(EVERY_SECOND.iter().map(|&(job, per_second)| (job, per_second, 0)));
    let mut tick = 0u32;
    while !stop.load(Ordering::SeqCst) {
        let elapsed = began.elapsed().as_secs_f64();
        let mut lines = String::new();
        let mut count = 0;
        for (job, per_second, so_far) in &mut sent {
            // The first of each goes at once.
            let due = (*per_second * elapsed) as usize + 1;
            for _ in *so_far..due {
                lines.push_str(&format!("{{\"job\":\"{job}\"}}\n"));
            }
            count += due - *so_far;
            *so_far = due;
        }
        if count > 0 {
            enqueue_batch(env, &lines, count, &mut done);
        }
        tick += 1;
        // Pacing the load, not waiting for anything.
        if let Some(pause) = (began + TICK * tick).checked_duration_since(Instant::now()) {
            std::thread::sleep(pause);
        }
    }
    done
}

/// Sends one batch of `count` jobs until it is taken or `GIVE_UP` passes.
fn enqueue_batch(env: &Env, lines: &str, count: usize, done: &mut Enqueued) {
    let first = Instant::now();
    loop {
        let mut cmd = env.command();
        cmd.args(["enqueue", "--batch", "-"]);
        let sent = Instant::now();
        let out = assert_cmd::Command::from_std(cmd).timeout(Duration::from_secs(120)).write_stdin(lines).output();
        done.slowest = done.slowest.max(sent.elapsed());
        done.calls += 1;
        let why = match out {
            Ok(out) if out.status.success() => {
                done.ids.extend(String::from_utf8_lossy(&out.stdout).lines().map(str::to_string));
                return;
            }
            Ok(out) => format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()),
            Err(e) => e.to_string(),
        };
        done.failed_calls += 1;
        done.first_failure.get_or_insert(why);
        if first.elapsed() > GIVE_UP {
            done.given_up += count;
            return;
        }
        // Pacing the retries of a script, not waiting for anything.
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The worker running the slow job, if a run of it took its lock less
/// than a second ago (so most of its 8 s are still ahead).
fn worker_of_a_fresh_slow_run(env: &Env) -> Option<i32> {
    let taken = std::fs::metadata(env.path("slow.lock")).and_then(|m| m.modified()).ok()?;
    if taken.elapsed().ok()? > Duration::from_secs(1) {
        return None;
    }
    let holder: i32 = env.read("slow.lock").trim().parse().ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{holder}/stat")).ok()?;
    let parent = stat.rsplit(')').next()?.split_whitespace().nth(1)?.parse().ok()?;
    crate::common::alive(holder).then_some(parent)
}

/// Job id -> (state, attempts, error) of every job, from `taskq list`.
fn records(env: &Env) -> HashMap<String, (String, i64, String)> {
    let out = env.run(&["list", "--limit", "10000000", "--json"]).success().get_output().stdout.clone();
    String::from_utf8_lossy(&out)
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            let text = |k: &str| v[k].as_str().unwrap_or_default().to_string();
            (text("id"), (text("state"), v["attempts"].as_i64().unwrap_or(0), text("error")))
        })
        .collect()
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

fn mmss(d: Duration) -> String {
    format!("{}:{:02}", d.as_secs() / 60, d.as_secs() % 60)
}

fn mean(values: &[u64]) -> f64 {
    values.iter().sum::<u64>() as f64 / values.len().max(1) as f64
}

/// Mean RSS early and late in a series: its first sample (start-up) left
/// out, the first and the last third of the rest. `None` if too short.
fn early_late(series: &Series) -> Option<(f64, f64)> {
    let rss: Vec<u64> = series.rss.iter().skip(1).map(|&(_, kb)| kb).collect();
    let third = rss.len() / 3;
    (third >= 2).then(|| (mean(&rss[..third]), mean(&rss[rss.len() - third..])))
}

fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo.lines().find_map(|l| l.strip_prefix("model name")?.split(':').nth(1)).unwrap_or("?").trim();
    let memory = status_kb_in("/proc/meminfo", "MemTotal").map_or(String::from("?"), |kb| format!("{} GiB", kb >> 20));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cores} cores ({model}), {memory} RAM, Linux {}", kernel.trim())
}

fn status_kb_in(file: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

#[test]
#[ignore = "minutes long: scripts/soak runs it"]
fn soak_steady_load_with_kills_a_redis_crash_and_a_partition() {
    let minutes: f64 = setting("TASKQ_SOAK_MINUTES", 10.0);
    let rate: f64 = setting("TASKQ_SOAK_RATE", 30.0);
    let (mut rng, seed) = Rng::from_env("TASKQ_SOAK_SEED");
    let load = Duration::from_secs_f64(minutes * 60.0);
    let date = jiff::Zoned::now().strftime("%Y-%m-%d %H:%M %Z").to_string();

    let server = RedisServer::start_durable();
    // One per worker slot, so that one worker can be cut off alone.
    let proxies: Vec<Proxy> = (0..WORKERS).map(|_| Proxy::start(server.port)).collect();
    let info = server.cmd(&["INFO", "server"]);
    let redis_version = info.lines().find_map(|l| l.strip_prefix("redis_version:")).unwrap_or("?").trim().to_string();
    let env = Env::with_broker(&server.url()).jobs(&soak_jobs());
    let spawn = |slot: usize| env.spawn_with(&WORKER_ARGS, &[("TASKQ_BROKER", &proxies[slot].url())]);

    let began = Instant::now();
    let began_secs = now_secs();
    let mut series: Vec<Series> = Vec::new();
    let mut workers: Vec<(Proc, usize)> = Vec::new();
    for slot in 0..WORKERS {
        let proc = spawn(slot);
        series.push(Series { slot, pid: proc.pid(), started: Duration::ZERO, killed: None, rss: Vec::new() });
        workers.push((proc, series.len() - 1));
    }
    let mut dead: Vec<Proc> = Vec::new();
    // (pid, time killed): pids are reused over minutes, so a kill is also matched by time.
    let mut kills: Vec<(i32, f64)> = Vec::new();
    let (mut redis_stopped, mut paused_at, mut cut_off) = (began, began, 0);
    let mut log: Vec<(Duration, String)> = Vec::new();
    let stop = AtomicBool::new(false);

    let enqueued = std::thread::scope(|scope| {
        let enqueuer = scope.spawn(|| enqueue_steadily(&env, rate, &stop));
        for (at, event) in timeline(load, &mut rng) {
            // Pacing the faults, not waiting for anything.
            if let Some(pause) = (began + at).checked_duration_since(Instant::now()) {
                std::thread::sleep(pause);
            }
            let now = began.elapsed();
            match event {
                Event::Sample => {
                    for (proc, s) in &workers {
                        if let Some(kb) = status_kb(proc.pid(), "VmRSS") {
                            series[*s].rss.push((now, kb));
                        }
                    }
                }
                Event::Kill => {
                    let slot = loop {
                        let slot = rng.below(WORKERS);
                        if slot != WITNESS {
                            break slot;
                        }
                    };
                    let (victim, s) = &mut workers[slot];
                    let old = victim.pid();
                    kills.push((old, now_secs()));
                    victim.signal(Signal::KILL);
                    series[*s].killed = Some(now);
                    let fresh = spawn(slot);
                    series.push(Series { slot, pid: fresh.pid(), started: now, killed: None, rss: Vec::new() });
                    let mut killed = std::mem::replace(victim, fresh);
                    *s = series.len() - 1;
                    killed.wait_timeout(Duration::from_secs(15)).expect("a SIGKILLed worker exits");
                    log.push((
                        now,
                        format!("SIGKILL worker {slot} (pid {old}); restarted as pid {}", workers[slot].0.pid()),
                    ));
                    dead.push(killed);
                }
                Event::RedisStop => {
                    server.stop();
                    redis_stopped = Instant::now();
                    log.push((now, "Redis killed (SIGKILL)".into()));
                }
                Event::RedisStart => {
                    server.start_again();
                    log.push((now, format!("Redis started again on its AOF, down {:.1?}", redis_stopped.elapsed())));
                }
                Event::Pause => {
                    // Cut off the worker that just started a slow run.
                    let mut running = None;
                    poll_until(Duration::from_secs(30), || {
                        running = worker_of_a_fresh_slow_run(&env)
                            .and_then(|pid| workers.iter().position(|(p, _)| p.pid() == pid));
                        running.is_some()
                    });
                    cut_off = running.unwrap_or(WITNESS);
                    proxies[cut_off].pause();
                    paused_at = Instant::now();
                    let what = match running {
                        Some(_) => "1 s at most into a run of the slow job",
                        None => "(no slow run was starting: a partition without one)",
                    };
                    let pid = workers[cut_off].0.pid();
                    log.push((
                        began.elapsed(),
                        format!("worker {cut_off} (pid {pid}) cut off (its proxy paused) {what}"),
                    ));
                }
                Event::Resume => {
                    if let Some(pause) = (paused_at + PARTITION).checked_duration_since(Instant::now()) {
                        std::thread::sleep(pause);
                    }
                    proxies[cut_off].resume();
                    log.push((
                        began.elapsed(),
                        format!("worker {cut_off} back after {:.1?} (its proxy resumed)", paused_at.elapsed()),
                    ));
                }
            }
        }
        stop.store(true, Ordering::SeqCst);
        enqueuer.join().expect("the enqueuer")
    });
    let loaded = began.elapsed();

    // Drain: every job has run to its end, and every one is recorded as succeeded.
    let ids: HashSet<&String> = enqueued.ids.iter().collect();
    let mut listed: Option<Instant> = None;
    let mut last = HashMap::new();
    let drained = poll_until(DRAIN, || {
        let runs = runs(&env);
        if !ids.iter().all(|id| runs.get(*id).is_some_and(|r| r.iter().any(|run| run.ended.is_some()))) {
            return false;
        }
        // Listing every job is heavy: at most every 2 s.
        if listed.is_some_and(|at| at.elapsed() < Duration::from_secs(2)) {
            return false;
        }
        listed = Some(Instant::now());
        last = records(&env);
        ids.iter().all(|id| last.get(*id).is_some_and(|(state, _, _)| state == "succeeded"))
    });
    let drain = began.elapsed().saturating_sub(loaded);
    let records = if drained { last } else { records(&env) };

    // Health: every live worker still runs, and idles quietly.
    let mut problems: Vec<String> = Vec::new();
    let mut idle = Vec::new();
    let before: Vec<_> = workers.iter().map(|(p, _)| cpu_time(p.pid())).collect();
    let measured = Instant::now();
    std::thread::sleep(Duration::from_secs(2));
    for ((proc, _), before) in workers.iter_mut().zip(before) {
        let share = match (before, cpu_time(proc.pid())) {
            (Some(b), Some(a)) => a.saturating_sub(b).as_secs_f64() / measured.elapsed().as_secs_f64(),
            _ => f64::NAN,
        };
        idle.push((proc.pid(), share));
        if share > IDLE_CPU_MAX {
            problems.push(format!("idle worker {} uses {:.0}% of a core", proc.pid(), share * 100.0));
        }
        if let Ok(Some(status)) = proc.child.try_wait() {
            problems.push(format!("worker {} exited ({status}) though never killed", proc.pid()));
        }
    }

    // The account.
    let runs = runs(&env);
    let succeeded = enqueued.ids.iter().filter(|id| records.get(*id).is_some_and(|r| r.0 == "succeeded")).count();
    let lost: Vec<&String> =
        enqueued.ids.iter().filter(|id| records.get(*id).is_none_or(|r| r.0 != "succeeded")).collect();
    let unknown = runs.keys().filter(|id| !ids.contains(id)).count();
    let overlaps = env.lines("overlaps");
    let mut duplicated = 0;
    let (mut cut_killed, mut cut_live, mut completed_killed, mut completed_live) = (0, 0, 0, Vec::new());
    for id in &enqueued.ids {
        let Some(job) = runs.get(id) else { continue };
        if job.len() > 1 {
            duplicated += 1;
        }
        for pair in job.windows(2) {
            let (run, next) = (&pair[0], &pair[1]);
            // Its worker's kill ended the run if it came before the next run
            // began (pids are reused: a kill of that pid before the run
            // started, or after the next one began, is another story).
            let killed =
                kills.iter().any(|&(pid, at)| pid == run.worker && at + 1.0 >= run.started && at <= next.started);
            match (run.ended, killed) {
                (None, true) => cut_killed += 1,
                (None, false) => cut_live += 1,
                (Some(_), true) => completed_killed += 1,
                (Some(end), false) => completed_live.push((id.clone(), end)),
            }
        }
    }
    let most_runs = runs.values().map(Vec::len).max().unwrap_or(0);
    if !lost.is_empty() {
        problems.push(format!("{} jobs lost", lost.len()));
    }
    if !overlaps.is_empty() {
        problems.push(format!("{} overlaps of the max_concurrent = 1 job", overlaps.len()));
    }
    let mut growth = Vec::new();
    for s in series.iter().filter(|s| s.killed.is_none()) {
        if let Some((early, late)) = early_late(s) {
            let g = late / early - 1.0;
            growth.push((s.pid, early, late, g));
            if g > RSS_GROWTH_MAX {
                problems.push(format!(
                    "worker {} grew its RSS by {:.0}% ({early:.0} kB -> {late:.0} kB)",
                    s.pid,
                    g * 100.0
                ));
            }
        }
    }

    // What the workers logged, by level and message.
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

    if enqueued.given_up > 0 {
        problems.push(format!("enqueue refused {} jobs for over {GIVE_UP:?}", enqueued.given_up));
    }
    let build = if cfg!(debug_assertions) { "debug" } else { "release" };
    let mut r = String::new();
    let verdict = if problems.is_empty() { "PASS" } else { "FAIL" };
    let revision = std::env::var("TASKQ_SOAK_REVISION").unwrap_or_else(|_| "unknown".into());
    let _ = writeln!(r, "# Soak test: {verdict}\n");
    let _ = writeln!(
        r,
        "Minutes of steady load on Redis with worker SIGKILLs, a Redis crash and a network partition, then an \
         account of every job (`tests/faults/soak.rs`). `scripts/soak [MINUTES]` runs it again and rewrites this \
         file. It fails if a job is lost, a `max_concurrent = 1` run overlaps another, a worker exits or spins, or \
         a worker never killed grows its RSS by more than {:.0}%.\n",
        RSS_GROWTH_MAX * 100.0
    );
    let _ = writeln!(r, "- Date: {date}");
    let _ = writeln!(r, "- Machine: {}", machine());
    let _ = writeln!(
        r,
        "- Command: `scripts/soak {minutes}` ({build} build; seed {seed}: `TASKQ_SOAK_SEED={seed}` replays the faults)"
    );
    let _ = writeln!(r, "- Revision: {revision}");
    let _ = writeln!(
        r,
        "- Broker: Redis {redis_version} (AOF, `appendfsync always`); each worker reaches it through a TCP proxy of its own"
    );
    let _ = writeln!(
        r,
        "- Load: {minutes} min of `mark` jobs at {rate}/s (bash: two appends 20 ms apart), one `exclusive` job a second \
         (`max_concurrent = 1`, 50 ms holding an O_EXCL-style lock file that catches overlaps) and one `slow` job every \
         10 s (the same, holding its own lock 8 s: longer than a lease); 3 workers `taskq run -c 4 --lease 5s`; \
         `max_redeliveries = 100`"
    );
    let _ = writeln!(
        r,
        "- Faults: a SIGKILL of a random worker (not worker {WITNESS}) every 20-40 s, restarted at once; \
         Redis SIGKILLed at 35% of the run and started again {REDIS_DOWN:?} later; at 65%, the worker that just \
         started a `slow` run cut off for {PARTITION:?} (its proxy paused: a silent network) while the others go on\n"
    );
    let _ = writeln!(r, "## Results\n");
    let _ = writeln!(r, "| enqueued | succeeded | duplicated | lost | overlaps |");
    let _ = writeln!(r, "|---:|---:|---:|---:|---:|");
    let _ =
        writeln!(r, "| {} | {succeeded} | {duplicated} | {} | {} |\n", enqueued.ids.len(), lost.len(), overlaps.len());
    let _ = writeln!(
        r,
        "- Load phase {}, drain {:.1?} after it ({})",
        mmss(loaded),
        drain,
        if drained { "complete" } else { "TIMED OUT" }
    );
    let _ = writeln!(
        r,
        "- Enqueue: {} `enqueue --batch` calls, the slowest {:.1?}; {} failed and were sent again{}; {} jobs given up on",
        enqueued.calls,
        enqueued.slowest,
        enqueued.failed_calls,
        enqueued.first_failure.as_deref().map_or(String::new(), |w| format!(" (the first: `{w}`)")),
        enqueued.given_up
    );
    let _ =
        writeln!(r, "- Jobs that ran but were never reported enqueued (an enqueue failed after storing): {unknown}");
    let _ = writeln!(
        r,
        "- Duplicated: {duplicated} jobs ran more than once (at most {most_runs} times). Of the runs followed by another: \
         {cut_killed} were cut short by a SIGKILL of their worker (no end mark), {cut_live} were stopped by a worker \
         still alive (its lease could not be renewed), {completed_killed} completed on a worker killed before it \
         recorded the outcome, {} completed on a worker never killed (the outcome not recorded across the Redis crash \
         or the partition)",
        completed_live.len()
    );
    for (id, end) in completed_live.iter().take(10) {
        let _ = writeln!(r, "  - `{id}` ended at {}", mmss(Duration::from_secs_f64((end - began_secs).max(0.0))));
    }
    for id in lost.iter().take(20) {
        let (state, attempts, error) = records.get(*id).cloned().unwrap_or_default();
        let _ = writeln!(r, "  - lost: `{id}`: state {state:?}, attempts {attempts}, error {error:?}");
    }
    // `ID overlaps HOLDER TIME`: a run of job ID found a live run (pid HOLDER) holding the lock.
    for line in overlaps.iter().take(10) {
        let f: Vec<&str> = line.split(' ').collect();
        if let [id, _, holder, time] = f[..] {
            let at = mmss(Duration::from_secs_f64((time.parse::<f64>().unwrap_or(0.0) - began_secs).max(0.0)));
            let worker = runs.values().flatten().find(|r| r.pid.to_string() == holder).map_or(0, |r| r.worker);
            let _ = writeln!(
                r,
                "  - overlap at {at}: a run of `{id}` found pid {holder} (run by worker pid {worker}) holding the lock"
            );
        }
    }
    let _ = writeln!(r, "\n## Faults\n");
    let _ = writeln!(r, "| at | what |\n|---|---|");
    for (at, what) in &log {
        let _ = writeln!(r, "| {} | {what} |", mmss(*at));
    }
    let _ = writeln!(r, "\n## Worker memory (VmRSS, MiB, every 30 s)\n");
    let _ = writeln!(
        r,
        "A restarted worker starts a new series. Growth compares the mean of the first and last thirds of a"
    );
    let _ = writeln!(
        r,
        "series (its first sample left out) for workers never killed; the limit is {:.0}%.\n",
        RSS_GROWTH_MAX * 100.0
    );
    let _ = writeln!(r, "| worker | pid | from | to | samples |\n|---|---:|---|---|---|");
    for s in &series {
        let to = s.killed.map_or_else(|| "end".to_string(), |k| format!("{} (killed)", mmss(k)));
        let samples: Vec<String> = s.rss.iter().map(|&(_, kb)| format!("{:.1}", kb as f64 / 1024.0)).collect();
        let _ = writeln!(r, "| {} | {} | {} | {to} | {} |", s.slot, s.pid, mmss(s.started), samples.join(" "));
    }
    let _ = writeln!(r);
    for (pid, early, late, g) in &growth {
        let _ = writeln!(
            r,
            "- pid {pid}: {:.1} MiB early, {:.1} MiB late: {:+.1}%",
            early / 1024.0,
            late / 1024.0,
            g * 100.0
        );
    }
    let _ = writeln!(r, "\n## Idle after the drain\n");
    for (pid, share) in &idle {
        let _ = writeln!(r, "- pid {pid}: {:.1}% of a core over 2 s", share * 100.0);
    }
    let _ = writeln!(r, "\n## What the workers logged (besides job started/succeeded)\n");
    let _ = writeln!(r, "| level | message | count |\n|---|---|---:|");
    for ((level, text), count) in &messages {
        let _ = writeln!(r, "| {level} | {} | {count} |", text.replace('|', "\\|"));
    }
    if !problems.is_empty() {
        let _ = writeln!(r, "\n## Problems\n");
        for p in &problems {
            let _ = writeln!(r, "- {p}");
        }
    }
    match std::env::var("TASKQ_SOAK_REPORT") {
        Ok(path) if !path.is_empty() => std::fs::write(&path, &r).unwrap_or_else(|e| panic!("writing {path}: {e}")),
        _ => println!("{r}"),
    }
    eprintln!(
        "soak: {verdict}: enqueued {}, succeeded {succeeded}, duplicated {duplicated}, lost {}, overlaps {}",
        enqueued.ids.len(),
        lost.len(),
        overlaps.len()
    );
    if !problems.is_empty() {
        let kept = keep_evidence(env.root(), &format!("taskq-soak-{seed}"));
        panic!("soak failed (seed {seed}; worker logs and marks kept in {}):\n{problems:#?}", kept.display());
    }
    drop(dead);
}
