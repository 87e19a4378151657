//! Beat on simulated time: the real scheduler and the real SQLite broker, in
//! this process, on a clock that follows tokio's paused clock. Hours and
//! days of ticks (a day of DST change, a beat down for hours) run in
//! milliseconds, and every instant is exact, so the assertions are too.
//!
//! SQLite only: a paused runtime moves its clock on whenever every task
//! waits, and a task waiting on a network reply (Redis) counts as waiting,
//! so the clock would jump while a reply is on its way. SQLite's calls run
//! on the blocking pool, which holds the clock still. The Redis side of
//! firing a tick is the broker contract's (tests/conformance), and beat on
//! Redis runs end to end in real time (`super`).

use std::sync::Arc;
use std::time::Duration;

use jiff::{Timestamp, ToSpan};
use taskq::beat::Beat;
use taskq::broker::{Broker, ClockShift, ListFilter, ScheduleState};
use taskq::clock::BrokerClock;
use taskq::config::Config;
use taskq::shutdown::Shutdown;

use crate::common::Env;

/// An env whose library connections read a simulated clock starting at `start`.
fn env_at(jobs: &str, start: &str) -> Env {
    let mut env = Env::sqlite().jobs(jobs);
    env.clock = ClockShift::following_tokio(start.parse().expect("start instant"));
    env
}

/// Runs a beat over the env's jobs.toml for `span` of simulated time, then
/// stops it as SIGTERM would.
async fn run_beat(env: &Env, broker: &Arc<dyn Broker>, span: Duration) {
    let config = Config::load(&env.path("jobs.toml")).expect("valid jobs.toml");
    let clock = BrokerClock::on_host_clock(broker.clone(), env.clock.clone());
    let shutdown = Shutdown::new();
    let beat = tokio::spawn(Beat::new(broker.clone(), config, clock).run(shutdown.clone()));
    tokio::time::sleep(span).await;
    shutdown.request();
    beat.await.expect("beat did not panic").expect("beat stopped cleanly");
}

/// The scheduled instants of the runs enqueued, oldest first, each with
/// how long after its instant it was enqueued.
async fn runs(broker: &Arc<dyn Broker>) -> Vec<(Timestamp, Duration)> {
    let filter = ListFilter { limit: 100_000, ..ListFilter::default() };
    let mut runs: Vec<(Timestamp, Duration)> = broker
        .list(&filter)
        .await
        .expect("list")
        .into_iter()
        .map(|r| {
            let tick: Timestamp = r.job.scheduled_at.as_deref().expect("a scheduled run").parse().expect("RFC 3339");
            let late = r.enqueued_at.duration_since(tick);
            assert!(!late.is_negative(), "a run for {tick} was enqueued early, at {}", r.enqueued_at);
            (tick, late.unsigned_abs())
        })
        .collect();
    runs.sort();
    runs
}

async fn ticks(broker: &Arc<dyn Broker>) -> Vec<Timestamp> {
    runs(broker).await.into_iter().map(|(tick, _)| tick).collect()
}

async fn state(broker: &Arc<dyn Broker>) -> ScheduleState {
    broker.schedules().await.expect("schedules").into_iter().next().expect("the entry's state")
}

/// `count` instants `step` apart from `first`.
fn series(first: &str, step: jiff::Span, count: i64) -> Vec<Timestamp> {
    let first: Timestamp = first.parse().expect("instant");
    (0..count).map(|i| first.checked_add(step * i).expect("in range")).collect()
}

fn instants(list: &[&str]) -> Vec<Timestamp> {
    list.iter().map(|t| t.parse().expect("instant")).collect()
}

const EVERY_MINUTE: &str = "[jobs.tick]\ncommand = \"true\"\nevery = \"1m\"\n";

#[tokio::test(start_paused = true)]
async fn every_tick_of_three_hours_fires_once_at_its_instant() {
    let env = env_at(EVERY_MINUTE, "2026-03-28T11:59:30Z");
    let broker = env.connect().await;
    run_beat(&env, &broker, Duration::from_secs(3 * 3600)).await;
    let runs = runs(&broker).await;
    let ticks: Vec<Timestamp> = runs.iter().map(|(t, _)| *t).collect();
    assert_eq!(ticks, series("2026-03-28T12:00:00Z", 1.minute(), 180));
    // SPEC §5: within 50 ms of the instant.
    let latest = runs.iter().map(|(_, late)| *late).max().expect("runs");
    assert!(latest <= Duration::from_millis(50), "a tick fired {latest:?} late");
    assert_eq!(state(&broker).await.fired, 180);
}

/// A fixed-time entry (`30 2 * * *`) in Europe/Berlin: on the spring-forward
/// night 02:30 does not exist and the run comes at 03:00 CEST, the first
/// instant after the gap; on the fall-back night 02:30 comes twice and the
/// run comes once, in the first pass (CEST).
#[tokio::test(start_paused = true)]
async fn a_fixed_time_entry_fires_once_on_each_dst_night() {
    let jobs = "[jobs.backup]\ncommand = \"true\"\nschedule = \"30 2 * * *\"\ntimezone = \"Europe/Berlin\"\n";
    let env = env_at(jobs, "2026-03-27T12:00:00Z");
    let broker = env.connect().await;
    run_beat(&env, &broker, Duration::from_secs(3 * 86_400)).await;
    let want = instants(&["2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]);
    assert_eq!(ticks(&broker).await, want, "spring forward");

    let env = env_at(jobs, "2026-10-24T12:00:00Z");
    let broker = env.connect().await;
    run_beat(&env, &broker, Duration::from_secs(3 * 86_400)).await;
    let want = instants(&["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z", "2026-10-27T01:30:00Z"]);
    assert_eq!(ticks(&broker).await, want, "fall back");
}

/// An interval entry (`*/30 2 * * *`) follows real time: nothing in the
/// skipped hour, both passes of the repeated one.
#[tokio::test(start_paused = true)]
async fn an_interval_entry_follows_real_time_on_dst_nights() {
    let jobs = "[jobs.sweep]\ncommand = \"true\"\nschedule = \"*/30 2 * * *\"\ntimezone = \"Europe/Berlin\"\n";
    let env = env_at(jobs, "2026-03-28T12:00:00Z");
    let broker = env.connect().await;
    run_beat(&env, &broker, Duration::from_secs(2 * 86_400)).await;
    let want = instants(&["2026-03-30T00:00:00Z", "2026-03-30T00:30:00Z"]);
    assert_eq!(ticks(&broker).await, want, "spring forward: no 02:xx on the 29th");

    let env = env_at(jobs, "2026-10-24T12:00:00Z");
    let broker = env.connect().await;
    run_beat(&env, &broker, Duration::from_secs(86_400)).await;
    let want =
        instants(&["2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z", "2026-10-25T01:30:00Z"]);
    assert_eq!(ticks(&broker).await, want, "fall back: both passes of 02:xx");
}

/// Runs a beat for five minutes, none for `down`, then one for two minutes:
/// the ticks enqueued and the entry's state.
async fn outage(catch_up: &str, down: Duration) -> (Vec<Timestamp>, ScheduleState) {
    let env = env_at(&format!("{EVERY_MINUTE}catch_up = \"{catch_up}\"\n"), "2026-05-01T09:59:30Z");
    let broker = env.connect().await;
    run_beat(&env, &broker, Duration::from_secs(5 * 60)).await;
    tokio::time::sleep(down).await;
    run_beat(&env, &broker, Duration::from_secs(2 * 60)).await;
    (ticks(&broker).await, state(&broker).await)
}

/// Before the outage: 10:00 to 10:04. The beat stops at 10:04:30 and is
/// back at 10:14:30, so 10:05 to 10:14 fell while none ran; after it, 10:15
/// and 10:16 fire on time.
#[tokio::test(start_paused = true)]
async fn catch_up_decides_what_happens_to_the_ticks_missed_while_no_beat_ran() {
    let (before, after) =
        (series("2026-05-01T10:00:00Z", 1.minute(), 5), series("2026-05-01T10:15:00Z", 1.minute(), 2));
    let missed = series("2026-05-01T10:05:00Z", 1.minute(), 10);

    let (ticks, state) = outage("skip", Duration::from_secs(600)).await;
    assert_eq!(ticks, [before.clone(), after.clone()].concat(), "skip runs none of them");
    assert_eq!((state.fired, state.skipped), (7, 10));
    assert_eq!(state.last_skip.as_deref(), Some("no beat ran at the time"));

    let (ticks, state) = outage("once", Duration::from_secs(600)).await;
    assert_eq!(ticks, [before.clone(), vec![missed[9]], after.clone()].concat(), "once runs the latest");
    assert_eq!((state.fired, state.skipped), (8, 9));

    let (ticks, state) = outage("all", Duration::from_secs(600)).await;
    assert_eq!(ticks, [before, missed, after].concat(), "all runs each");
    assert_eq!((state.fired, state.skipped), (17, 0));
}

/// `all` runs at most 100 missed ticks, the latest, and records the rest as skipped.
#[tokio::test(start_paused = true)]
async fn catch_up_all_runs_at_most_a_hundred_missed_ticks() {
    let (ticks, state) = outage("all", Duration::from_secs(3 * 3600)).await;
    // 10:05 to 13:04 fell while no beat ran: 180 ticks, the latest 100 run.
    let want = [
        series("2026-05-01T10:00:00Z", 1.minute(), 5),
        series("2026-05-01T11:25:00Z", 1.minute(), 100),
        series("2026-05-01T13:05:00Z", 1.minute(), 2),
    ]
    .concat();
    assert_eq!(ticks, want);
    assert_eq!((state.fired, state.skipped), (107, 80));
}

/// Lines a tracing subscriber writes, kept for the test to count.
#[derive(Clone, Default)]
struct Logged(Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Logged {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("not poisoned").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logged {
    fn count(&self, message: &str) -> usize {
        String::from_utf8_lossy(&self.0.lock().expect("not poisoned")).matches(message).count()
    }
}

// See: issue 13 item 7 (beat logged "ticks were missed while no beat ran"
// at every retry through an outage, about once a second).
#[tokio::test(start_paused = true)]
async fn an_outage_is_logged_once_not_at_every_retry() {
    let env = env_at(&format!("{EVERY_MINUTE}catch_up = \"once\"\n"), "2026-05-01T09:59:30Z");
    let broker = env.connect().await;
    run_beat(&env, &broker, Duration::from_secs(5 * 60)).await;
    // No beat from 10:04:30 to 10:14:30: ten ticks missed.
    tokio::time::sleep(Duration::from_secs(600)).await;

    let logged = Logged::default();
    let writer = logged.clone();
    let subscriber = tracing_subscriber::fmt().with_writer(move || writer.clone()).with_ansi(false).finish();
    // This test's runtime has one thread: the beat's task logs on it.
    let _logging = tracing::subscriber::set_default(subscriber);
    let refused = crate::common::flaky::FiresRefused::new(broker.clone());
    let flaky: Arc<dyn Broker> = refused.clone();
    let config = Config::load(&env.path("jobs.toml")).expect("valid jobs.toml");
    let clock = BrokerClock::on_host_clock(flaky.clone(), env.clock.clone());
    let shutdown = Shutdown::new();
    let beat = tokio::spawn(Beat::new(flaky, config, clock).run(shutdown.clone()));
    // The beat resumes (reads are served) but cannot fire its catch-up run
    // for a minute of retries; later, a ticking beat cannot fire for three.
    refused.refuse(true);
    tokio::time::sleep(Duration::from_secs(60)).await;
    refused.refuse(false);
    tokio::time::sleep(Duration::from_secs(60)).await;
    refused.refuse(true);
    tokio::time::sleep(Duration::from_secs(180)).await;
    refused.refuse(false);
    tokio::time::sleep(Duration::from_secs(120)).await;
    shutdown.request();
    beat.await.expect("beat did not panic").expect("beat stopped cleanly");

    assert_eq!(logged.count("cannot fire schedules; retrying"), 2, "one per outage");
    assert_eq!(logged.count("firing schedules again"), 2);
    assert_eq!(logged.count("ticks were missed while no beat ran"), 1);
    assert_eq!(logged.count("firing ticks this beat was late for"), 1);
    // And every tick was handled: the missed ones by catch_up (the latest
    // runs), those of the second outage late.
    let want = [series("2026-05-01T10:00:00Z", 1.minute(), 5), series("2026-05-01T10:15:00Z", 1.minute(), 7)].concat();
    assert_eq!(ticks(&broker).await, want);
}
