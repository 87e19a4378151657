//! Beat end to end: exactly one run per tick across beats, surviving beats,
//! restarts, catch-up, reload, and crontab import; `simulated` runs beat
//! over days of simulated time.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use predicates::prelude::*;
use rustix::process::Signal;

use crate::both;
use crate::common::{Env, SOON, wait_until};

mod agree;
mod control;
mod crontab;
mod simulated;

const EVERY_SECOND: &str = r#"
[jobs.tick]
command = "true"
schedule = "*/1 * * * * *"
timezone = "Europe/Berlin"
"#;

/// The scheduled instants of the runs enqueued so far, as whole seconds.
fn ticks(env: &Env) -> Vec<i64> {
    let out = env.run(&["list", "--json", "--limit", "100000"]).success().get_output().stdout.clone();
    let mut ticks: Vec<i64> = String::from_utf8(out)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["scheduled_at"].as_str().map(str::to_string))
        .map(|t| t.parse::<jiff::Timestamp>().expect("RFC 3339 with offset").as_second())
        .collect();
    ticks.sort_unstable();
    ticks
}

/// Missing seconds between the first and last tick.
fn gaps(ticks: &[i64]) -> i64 {
    ticks.windows(2).map(|w| w[1] - w[0] - 1).sum()
}

fn wait_for(d: Duration) {
    let start = Instant::now();
    wait_until(d + SOON, "time to pass", || start.elapsed() >= d);
}

fn inspect(env: &Env) -> serde_json::Value {
    serde_json::from_slice(&env.run(&["inspect", "--json"]).success().get_output().stdout).unwrap()
}

both!(two_beats_fire_each_tick_exactly_once, |backend| {
    let env = Env::new(backend).jobs(EVERY_SECOND);
    let a = env.spawn(&["beat"]);
    let b = env.spawn(&["beat"]);
    wait_until(SOON, "seven ticks fired", || ticks(&env).len() >= 7);
    drop((a, b));
    let ticks = ticks(&env);
    let distinct: BTreeSet<i64> = ticks.iter().copied().collect();
    assert_eq!(distinct.len(), ticks.len(), "a tick fired twice: {ticks:?}");
    assert_eq!(gaps(&ticks), 0, "a tick was lost: {ticks:?}");
    // Each second once, none ahead of its time (EARLY_TICK is 250 ms).
    let now = jiff::Timestamp::now().as_second();
    assert!(ticks.last().is_some_and(|&last| last <= now), "a tick fired before its second: {ticks:?} at {now}");
    let scheduled = env.run(&["list", "--json", "--limit", "1"]).success().get_output().stdout.clone();
    let at =
        serde_json::from_slice::<serde_json::Value>(&scheduled).unwrap()["scheduled_at"].as_str().unwrap().to_string();
    assert!(at.ends_with("+01:00") || at.ends_with("+02:00"), "TASKQ_SCHEDULED_AT carries the zone's offset: {at}");
});

both!(the_schedule_keeps_firing_when_one_beat_stops_and_a_restart_does_not_double, |backend| {
    let env = Env::new(backend).jobs(EVERY_SECOND);
    let a = env.spawn(&["beat"]);
    let b = env.spawn(&["beat"]);
    wait_until(SOON, "two ticks fired", || ticks(&env).len() >= 2);
    a.signal(Signal::KILL);
    let n = ticks(&env).len();
    wait_until(SOON, "three more ticks from the survivor", || ticks(&env).len() >= n + 3);
    drop(b);
    let restarted = env.spawn(&["beat"]);
    let n = ticks(&env).len();
    wait_until(SOON, "two more ticks after the restart", || ticks(&env).len() >= n + 2);
    drop(restarted);
    let ticks = ticks(&env);
    let distinct: BTreeSet<i64> = ticks.iter().copied().collect();
    assert_eq!(distinct.len(), ticks.len(), "a tick fired twice: {ticks:?}");
    assert!(gaps(&ticks) <= 1, "ticks lost around the restart: {ticks:?}");
    drop(a);
});

/// Runs a beat until it fired, stops it for `down`, runs it again until it
/// fired twice more; returns the ticks and the entry's inspect record.
/// (Every `catch_up` policy, and DST, run on simulated time in `simulated`;
/// this is the end-to-end case, binary and Redis.)
fn outage(env: &Env, down: Duration) -> (Vec<i64>, serde_json::Value) {
    let beat = env.spawn(&["beat"]);
    wait_until(SOON, "two ticks fired", || ticks(env).len() >= 2);
    drop(beat);
    wait_for(down);
    let before = ticks(env).len();
    let beat = env.spawn(&["beat"]);
    wait_until(SOON, "the beat fired again", || ticks(env).len() >= before + 2);
    drop(beat);
    (ticks(env), inspect(env)["schedules"][0].clone())
}

#[test]
fn catch_up_once_runs_the_latest_missed_tick_once() {
    let env = Env::redis().jobs(&format!("{EVERY_SECOND}catch_up = \"once\"\n"));
    let (ticks, entry) = outage(&env, Duration::from_secs(4));
    let skipped = entry["skipped"].as_i64().unwrap();
    assert!(skipped >= 1, "{entry}");
    assert_eq!(gaps(&ticks), skipped, "all but the latest missed tick were skipped: {ticks:?}");
    assert_eq!(entry["last_skip"], "no beat ran at the time");
}

#[test]
fn sighup_reloads_and_reconciles_by_name() {
    let env = Env::redis().jobs(EVERY_SECOND);
    let beat = env.spawn(&["beat"]);
    wait_until(SOON, "a tick fired", || !ticks(&env).is_empty());

    env.write("jobs.toml", "[jobs.tick]\ncommand = \"true\"\nschedule = \"nonsense\"\n");
    beat.signal(Signal::HUP);
    wait_until(SOON, "the bad reload reported", || beat.stderr().contains("reload failed: keeping the running config"));
    assert!(beat.stderr().contains("jobs.toml:3:12: cron expression \"nonsense\" has 1 fields"), "{}", beat.stderr());
    let n = ticks(&env).len();
    wait_until(SOON, "the old schedule still fires", || ticks(&env).len() >= n + 2);

    env.write("jobs.toml", "[jobs.tock]\ncommand = \"true\"\nevery = \"1s\"\n");
    beat.signal(Signal::HUP);
    wait_until(SOON, "the change reported", || beat.stderr().contains("config reloaded"));
    let log = beat.stderr();
    assert!(log.contains("reload: schedule removed") && log.contains("reload: schedule added"), "{log}");
    let reloaded = Instant::now();
    wait_until(SOON, "the new entry fired", || {
        env.run(&["list", "--json", "--job", "tock"]).get_output().stdout.contains(&b'\n')
    });
    wait_for(Duration::from_millis(1500));
    let old = env.run(&["list", "--json", "--job", "tick", "--limit", "1"]).success().get_output().stdout.clone();
    let last_old: serde_json::Value = serde_json::from_slice(&old).unwrap();
    let enqueued: jiff::Timestamp = last_old["enqueued_at"].as_str().unwrap().parse().unwrap();
    let reload_at = jiff::Timestamp::now() - jiff::SignedDuration::try_from(reloaded.elapsed()).unwrap();
    assert!(enqueued <= reload_at, "the removed entry fired after the reload");
    drop(beat);
}

#[test]
fn dry_run_shows_the_differences_and_changes_nothing() {
    let env = Env::sqlite().jobs(EVERY_SECOND);
    let beat = env.spawn(&["beat"]);
    wait_until(SOON, "a tick fired", || !ticks(&env).is_empty());
    drop(beat);
    env.write(
        "jobs.toml",
        "[jobs.tick]\ncommand = \"true\"\nschedule = \"0 * * * *\"\ntimezone = \"UTC\"\n[jobs.new]\ncommand = \"true\"\nevery = \"5m\"\n",
    );
    let before = ticks(&env).len();
    env.run(&["beat", "--dry-run"])
        .success()
        .stdout(predicate::str::contains(
            "tick: changed: */1 * * * * * (Europe/Berlin) -> 0 * * * * (UTC) (starts afresh: no catch-up)",
        ))
        .stdout(predicate::str::contains("new: new: every 5m"))
        .stdout(predicate::str::is_match(r"  next: \d{4}-\d\d-\d\dT\d\d:00:00\+00:00").unwrap());
    assert_eq!(ticks(&env).len(), before, "a dry run enqueues nothing");
}

// See: issue 13 item 7 (dry-run called an entry "new" while a beat ran it,
// until its first tick: the broker learnt of an entry only then).
both!(dry_run_sees_an_entry_a_running_beat_has_not_fired_yet_as_unchanged, |backend| {
    let env = Env::new(backend)
        .jobs("[jobs.yearly]\ncommand = \"true\"\nschedule = \"0 0 1 1 *\"\ntimezone = \"UTC\"\nqueue = \"reports\"\n");
    let dry_run =
        || String::from_utf8_lossy(&env.run(&["beat", "--dry-run"]).success().get_output().stdout).into_owned();
    assert!(dry_run().starts_with("yearly: new: 0 0 1 1 * (UTC)\n"), "{}", dry_run());
    let beat = env.spawn(&["beat"]);
    wait_until(SOON, "dry-run to see the entry the beat runs", || {
        dry_run().starts_with("yearly: unchanged, no tick yet (run by a beat since ")
    });
    drop(beat);
    let out = env.run(&["inspect", "--json"]).success().get_output().stdout.clone();
    let inspect: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let schedule = &inspect["schedules"][0];
    assert_eq!(
        (&schedule["name"], &schedule["last_tick"], &schedule["fired"]),
        (&"yearly".into(), &None::<String>.into(), &0.into())
    );
    assert!(ticks(&env).is_empty(), "nothing ran");
    // Kept after the beat stops: one restarted before the first tick resumes it.
    assert!(dry_run().starts_with("yearly: unchanged, no tick yet"), "{}", dry_run());
});

#[test]
fn scheduled_runs_expire_after_one_period_so_they_do_not_pile_up() {
    let env = Env::redis()
        .jobs("[jobs.tick]\ncommand = \"echo ran >> @DIR@/ran\"\nschedule = \"* * * * * *\"\ntimezone = \"UTC\"\n");
    let beat = env.spawn(&["beat"]);
    wait_until(SOON, "three runs queued with no worker", || ticks(&env).len() >= 3);
    drop(beat);
    let out = env.run(&["list", "--json", "--limit", "1"]).success().get_output().stdout.clone();
    let run: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let enqueued: jiff::Timestamp = run["enqueued_at"].as_str().unwrap().parse().unwrap();
    let expires: jiff::Timestamp = run["expires_at"].as_str().unwrap().parse().unwrap();
    assert_eq!(expires.as_millisecond() - enqueued.as_millisecond(), 1000, "one period of the schedule");
    wait_for(Duration::from_millis(1200));
    env.run(&["run", "--burst"]).success();
    assert_eq!(env.read("ran"), "", "stale runs expired instead of running");
    env.run(&["list", "--state", "expired", "--json"])
        .success()
        .stdout(predicate::str::contains("\"state\":\"expired\""));
}

both!(run_with_beat_is_a_whole_scheduler_in_one_process, |backend| {
    let env = Env::new(backend).jobs(
        "[jobs.stamp]\ncommand = \"echo $TASKQ_SCHEDULED_AT >> @DIR@/stamps\"\nschedule = \"* * * * * *\"\ntimezone = \"UTC\"\n",
    );
    let _one = env.spawn(&["run", "--beat", "-c", "2"]);
    wait_until(SOON, "scheduled runs ran", || env.lines("stamps").len() >= 3);
    let stamps = env.lines("stamps");
    assert!(stamps.iter().all(|s| s.ends_with("+00:00") && s.parse::<jiff::Timestamp>().is_ok()), "{stamps:?}");
});

both!(a_tick_finding_its_job_still_running_is_skipped_and_counted, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.slow]
command = "set -C; echo $$ > @DIR@/lock || { echo overlap >> @DIR@/errors; exit 1; }; sleep 2.5; rm -f @DIR@/lock; echo x >> @DIR@/done"
schedule = "* * * * * *"
timezone = "UTC"
max_concurrent = 1
"#,
    );
    let _worker = env.spawn(&["run", "--beat", "-c", "4"]);
    wait_until(Duration::from_secs(30), "two runs finished", || env.lines("done").len() >= 2);
    assert_eq!(env.read("errors"), "", "two runs overlapped");
    let entry = inspect(&env)["schedules"][0].clone();
    assert!(entry["skipped"].as_i64().unwrap() >= 1, "{entry}");
    assert_eq!(entry["last_skip"], "previous run still active");
});
