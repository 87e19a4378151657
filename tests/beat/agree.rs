//! Beats that disagree (SPEC §5): two definitions of one entry fire by one
//! of them only, logged and shown by inspect, and the other takes over when
//! the first beat stops; an entry without a zone goes to UTC when the beats'
//! hosts are in different zones.

use predicates::prelude::*;
use rustix::process::Signal;

use crate::both;
use crate::common::{Env, SOON, wait_until};

/// The instants (Unix seconds) of every scheduled run enqueued so far.
fn ticks(env: &Env) -> Vec<i64> {
    let out = env.run(&["list", "--json", "--limit", "1000"]).success().get_output().stdout.clone();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["scheduled_at"].as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok()))
        .map(jiff::Timestamp::as_second)
        .collect()
}

/// The seconds (of the minute) of every scheduled run enqueued so far.
fn seconds(env: &Env) -> Vec<u32> {
    ticks(env).into_iter().map(|t| t.rem_euclid(60) as u32).collect()
}

both!(two_definitions_of_one_entry_fire_by_one_beat_only, |backend| {
    let env = Env::new(backend).jobs("[jobs.tick]\ncommand = \"true\"\nevery = \"2s\"\n");
    env.write("odd.toml", "[jobs.tick]\ncommand = \"true\"\nschedule = \"1-59/2 * * * * *\"\ntimezone = \"UTC\"\n");
    let mut even = env.spawn(&["beat"]);
    wait_until(SOON, "the first beat to fire", || !seconds(&env).is_empty());
    let odd = env.spawn(&["-f", "odd.toml", "beat"]);
    wait_until(SOON, "the second beat to see the disagreement", || {
        odd.stderr().contains("beats define this schedule differently")
    });
    let before = seconds(&env).len();
    wait_until(SOON, "three more fires", || seconds(&env).len() >= before + 3);
    assert!(seconds(&env).iter().all(|s| s % 2 == 0), "only the first beat's ticks: {:?}", seconds(&env));
    env.run(&["inspect"]).success().stdout(predicate::str::contains("beats disagree: "));

    // The first beat goes: the second fires by its own definition.
    even.signal(Signal::TERM);
    assert!(even.wait_timeout(SOON).is_some_and(|s| s.success()), "{}", even.stderr());
    wait_until(SOON, "three of the second beat's ticks", || ticks(&env).iter().filter(|t| *t % 2 == 1).count() >= 3);
    assert!(odd.stderr().contains("fires this schedule by its own definition again"), "{}", odd.stderr());
    // No tick of the handover is lost: the second beat's ticks follow the
    // first's last one without a gap.
    let mut all = ticks(&env);
    all.sort_unstable();
    let last_even = all.iter().filter(|t| *t % 2 == 0).max().copied().unwrap_or_default();
    let odd_ticks: Vec<i64> = all.iter().filter(|t| *t % 2 == 1).copied().collect();
    assert!(odd_ticks[0] <= last_even + 3, "a gap after the first beat stopped: {all:?}");
    assert!(odd_ticks.windows(2).all(|w| w[1] - w[0] == 2), "a tick lost: {all:?}");
});

#[test]
fn an_entry_without_a_zone_goes_to_utc_when_the_beats_hosts_differ() {
    let env = Env::sqlite().jobs("[jobs.nightly]\ncommand = \"true\"\nschedule = \"0 3 * * *\"\n");
    let berlin = env.spawn_with(&["beat"], &[("TZ", "Europe/Berlin")]);
    let new_york = env.spawn_with(&["beat"], &[("TZ", "America/New_York")]);
    wait_until(SOON * 2, "both beats to evaluate it in UTC", || {
        [&berlin, &new_york].iter().all(|b| b.stderr().contains("evaluated in UTC"))
    });
    assert!(!berlin.stderr().contains("defines this schedule differently"), "{}", berlin.stderr());
    assert!(!new_york.stderr().contains("beats define this schedule differently"), "{}", new_york.stderr());
}
