//! Hosts whose clocks disagree (libfaketime shifts one process's clock):
//! the broker's clock alone decides leases, due times and ticks, so a skewed
//! worker neither steals a live job nor misses a dead one, a skewed enqueue
//! cannot make a delayed job due early, and skewed beats fire a tick at one
//! real instant, once. `inspect` shows the skewed host.

use std::collections::BTreeMap;
use std::time::Duration;

use jiff::Timestamp;
use rustix::process::Signal;

use crate::common::{Env, RedisServer, SOON, wait_until};

const EXCLUSIVE: &str = r#"
[jobs.exclusive]
command = "exec 9>@DIR@/lock; flock -n 9 || echo overlap >> @DIR@/overlaps; echo $$ >> @DIR@/starts; sleep 8; echo done >> @DIR@/ends"
"#;

fn redis_env(jobs: &str) -> (RedisServer, Env) {
    let server = RedisServer::start();
    let env = Env::with_broker(&server.url()).jobs(jobs);
    (server, env)
}

// See: the clock issue (a worker two minutes ahead took a job a healthy
// worker was running and started it again).
#[test]
fn a_worker_two_minutes_ahead_never_takes_a_live_job() {
    let (_server, env) = redis_env(EXCLUSIVE);
    let _healthy = env.spawn(&["run", "--lease", "3s"]);
    let id = env.enqueue(&["exclusive"]);
    wait_until(SOON, "the healthy worker to start the job", || env.lines("starts").len() == 1);
    let ahead = env.spawn_command(env.skewed("+120s", &["run", "--lease", "3s"]));
    wait_until(Duration::from_secs(30), "the job to finish on the healthy worker", || env.state(&id) == "succeeded");
    assert_eq!(env.lines("starts").len(), 1, "the job ran once");
    assert_eq!(env.read("overlaps"), "");
    assert_eq!(env.status(&id)["attempts"], 1);
    assert!(!ahead.stderr().contains("job started"), "{}", ahead.stderr());
}

#[test]
fn a_worker_two_minutes_behind_recovers_a_dead_workers_job_on_time() {
    let (_server, env) = redis_env(EXCLUSIVE);
    let dead = env.spawn(&["run", "--lease", "2s"]);
    let id = env.enqueue(&["exclusive"]);
    wait_until(SOON, "the job to start", || env.lines("starts").len() == 1);
    dead.signal(Signal::KILL);
    let _behind = env.spawn_command(env.skewed("-120s", &["run", "--lease", "2s"]));
    // The lease lapses 2 s after the kill by the broker's clock; the worker
    // behind notices within its next rounds, not two minutes later.
    wait_until(Duration::from_secs(15), "the job to run again", || env.lines("starts").len() == 2);
    wait_until(Duration::from_secs(20), "the second run to finish", || env.state(&id) == "succeeded");
    assert_eq!(env.read("overlaps"), "");
}

#[test]
fn a_delay_from_a_host_two_minutes_behind_counts_on_the_brokers_clock() {
    let (server, env) = redis_env("[jobs.later]\ncommand = \"true\"\n");
    let before = redis_time(&server);
    let out = env.skewed("-120s", &["enqueue", "later", "--delay", "30s"]).output().expect("taskq");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let _worker = env.spawn(&["run"]);
    let s = env.status(&id);
    assert_eq!(s["state"], "scheduled", "{s}");
    let due: Timestamp = s["due_at"].as_str().unwrap().parse().unwrap();
    let enqueued: Timestamp = s["enqueued_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(due.duration_since(enqueued).as_secs(), 30, "{s}");
    let from_now = due.duration_since(before).as_secs_f64();
    assert!((29.0..35.0).contains(&from_now), "due {from_now:.1}s after the broker's now: {s}");
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(env.state(&id), "scheduled", "not run early");
}

#[test]
fn beats_on_skewed_hosts_fire_each_tick_once_at_the_brokers_instant() {
    let (_server, env) = redis_env("[jobs.tick]\ncommand = \"true\"\nevery = \"1s\"\n");
    let _on_time = env.spawn(&["beat"]);
    let _ahead = env.spawn_command(env.skewed("+5s", &["beat"]));
    let ticks = || -> BTreeMap<String, Vec<(Timestamp, Timestamp)>> {
        let out =
            env.run(&["list", "--job", "tick", "--limit", "1000", "--json"]).success().get_output().stdout.clone();
        let mut by_tick: BTreeMap<String, Vec<(Timestamp, Timestamp)>> = BTreeMap::new();
        for line in String::from_utf8_lossy(&out).lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSON line");
            let tick = v["scheduled_at"].as_str().unwrap().to_string();
            let enqueued: Timestamp = v["enqueued_at"].as_str().unwrap().parse().unwrap();
            by_tick.entry(tick.clone()).or_default().push((tick.parse().unwrap(), enqueued));
        }
        by_tick
    };
    wait_until(Duration::from_secs(30), "ten ticks from both beats", || ticks().len() >= 10);
    let ticks = ticks();
    let doubles: Vec<&String> = ticks.iter().filter(|(_, runs)| runs.len() > 1).map(|(t, _)| t).collect();
    assert!(doubles.is_empty(), "ticks fired twice: {doubles:?}");
    let mut delays: Vec<i64> =
        ticks.values().map(|runs| runs[0].1.as_millisecond() - runs[0].0.as_millisecond()).collect();
    delays.sort_unstable();
    assert!(delays.iter().all(|d| (0..1000).contains(d)), "fired before its tick or a second late: {delays:?}");
    let median = delays[delays.len() / 2];
    assert!(median < 50, "fired {median} ms after the tick (median), by the broker's clock: {delays:?}");
}

#[test]
fn inspect_shows_a_host_whose_clock_is_off() {
    let (_server, env) = redis_env("[jobs.j]\ncommand = \"true\"\n");
    let fine = env.spawn(&["run"]);
    let off = env.spawn_command(env.skewed("+120s", &["run"]));
    let workers = || -> Vec<serde_json::Value> {
        let out = env.run(&["inspect", "--json"]).success().get_output().stdout.clone();
        let doc: serde_json::Value = serde_json::from_slice(&out).expect("inspect --json");
        doc["workers"].as_array().cloned().unwrap_or_default()
    };
    wait_until(SOON, "both workers to report", || workers().len() == 2);
    let mut offsets: Vec<(i64, bool)> =
        workers().iter().map(|w| (w["clock_offset_ms"].as_i64().unwrap(), w["clock_ok"].as_bool().unwrap())).collect();
    offsets.sort_unstable();
    assert!(offsets[0].0.abs() < 1000 && offsets[0].1, "{offsets:?}");
    assert!((119_000..121_000).contains(&offsets[1].0) && !offsets[1].1, "{offsets:?}");
    // The text view shows the offset the broker measured (119.999 s or so).
    let text = String::from_utf8_lossy(&env.run(&["inspect"]).success().get_output().stdout).to_string();
    assert!(text.lines().any(|l| (l.contains("+119.") || l.contains("+120.")) && l.contains("s OFF")), "{text}");
    let warned = || off.stderr().matches("this host's clock is off the broker's").count();
    wait_until(SOON, "the skewed worker to say so", || warned() == 1);
    assert_eq!(fine.stderr().matches("clock is off").count(), 0, "{}", fine.stderr());
}

/// Redis's own clock.
fn redis_time(server: &RedisServer) -> Timestamp {
    let reply = server.cmd(&["TIME"]);
    let mut parts = reply.lines().map(|l| l.trim().parse::<i64>().expect("TIME"));
    let (secs, micros) = (parts.next().unwrap(), parts.next().unwrap());
    Timestamp::from_microsecond(secs * 1_000_000 + micros).unwrap()
}

#[test]
fn the_metrics_export_how_far_the_host_is_off() {
    let (_server, env) = redis_env("[jobs.j]\ncommand = \"true\"\n");
    let port = crate::common::redis::free_port();
    let _off = env.spawn_command(env.skewed("+120s", &["run", "--metrics", &format!("127.0.0.1:{port}")]));
    let offset = || -> Option<f64> {
        let body = crate::ops::scrape(port);
        body.lines().find_map(|l| l.strip_prefix("taskq_clock_offset_seconds ")).and_then(|v| v.trim().parse().ok())
    };
    wait_until(SOON, "the clock offset in the metrics", || offset().is_some());
    let seconds = offset().unwrap();
    assert!((119.0..121.0).contains(&seconds), "taskq_clock_offset_seconds {seconds}");
}
