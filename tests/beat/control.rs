//! `taskq schedule`: pause and resume kept in the broker and obeyed by a
//! running beat within a second, across its restart; `trigger` runs once,
//! outside the schedule.

use predicates::prelude::*;
use rustix::process::Signal;

use crate::both;
use crate::common::{Env, SOON, wait_until};

/// The entry's (fired, skipped, last skip) as inspect reports them.
fn counts(env: &Env) -> (u64, u64, String) {
    let out = env.run(&["inspect", "--json"]).success().get_output().stdout.clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("inspect --json");
    let s = &doc["schedules"][0];
    (s["fired"].as_u64().unwrap_or(0), s["skipped"].as_u64().unwrap_or(0), s["last_skip"].as_str().unwrap_or("").into())
}

both!(a_paused_schedule_stops_firing_until_resumed_across_beat_restarts, |backend| {
    let env = Env::new(backend).jobs(
        "[jobs.tick]\ncommand = \"echo \\\"[$TASKQ_SCHEDULED_AT]\\\"\"\nevery = \"1s\"\n\
         [jobs.plain]\ncommand = \"true\"\n",
    );
    let mut beat = env.spawn(&["beat"]);
    wait_until(SOON, "a first fire", || counts(&env).0 >= 1);

    env.run(&["schedule", "pause", "tick"]).success().stdout(predicate::str::starts_with("paused tick"));
    let (fired, skipped, _) = counts(&env);
    env.run(&["schedule", "pause", "tick"]).success().stdout("tick was already paused\n");
    wait_until(SOON, "two ticks skipped as paused", || {
        let (_, s, why) = counts(&env);
        s >= skipped + 2 && why == "paused"
    });
    // A tick already under way as the pause was stored may still fire; none after.
    let after = counts(&env).0;
    assert!(after <= fired + 1, "fired {after} after the pause at {fired}");

    // A restarted beat finds the pause in the broker.
    beat.signal(Signal::TERM);
    assert!(beat.wait_timeout(SOON).is_some_and(|s| s.success()), "{}", beat.stderr());
    let _beat = env.spawn(&["beat"]);
    let (_, skipped, _) = counts(&env);
    wait_until(SOON, "the restarted beat to skip two more", || counts(&env).1 >= skipped + 2);
    assert_eq!(counts(&env).0, after, "no fire while paused");

    let out = env.run(&["schedule", "list", "--json"]).success().get_output().stdout.clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("schedule list --json");
    assert_eq!(doc["schedules"][0]["name"], "tick");
    assert_eq!(doc["schedules"][0]["paused"], true);
    assert!(doc["schedules"][0]["paused_since"].is_string());
    env.run(&["schedule", "list"])
        .success()
        .stdout(predicate::str::is_match(r"\ntick +every 1s +paused since ").unwrap());
    env.run(&["inspect"]).success().stdout(predicate::str::contains("paused"));
    let out = env.run(&["inspect", "--json"]).success().get_output().stdout.clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("inspect --json");
    assert_eq!(doc["schedules"][0]["alerts"], serde_json::json!([]), "paused on purpose: no run is missing");
    env.run(&["check"]).success().stdout(predicate::str::contains("  paused (taskq schedule resume tick"));
    let out = env.run(&["check", "--json"]).success().get_output().stdout.clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("check --json");
    assert_eq!(doc["jobs"][0]["paused"], true, "{doc}");

    env.run(&["schedule", "resume", "tick"]).success().stdout(predicate::str::starts_with("resumed tick"));
    wait_until(SOON, "fires again", || counts(&env).0 >= after + 2);
    env.run(&["schedule", "resume", "tick"]).success().stdout("tick was not paused\n");

    // Trigger: one run now, without TASKQ_SCHEDULED_AT.
    let id = String::from_utf8(env.run(&["schedule", "trigger", "tick"]).success().get_output().stdout.clone())
        .expect("utf-8")
        .trim()
        .to_string();
    env.run(&["run", "--burst"]).success();
    let status = env.status(&id);
    assert_eq!(status["state"], "succeeded", "{status}");
    assert_eq!(status["scheduled_at"], serde_json::Value::Null);
    assert_eq!(status["output"], "[]\n", "{status}");

    env.run(&["schedule", "pause", "tik"]).code(2).stderr("error: unknown schedule \"tik\" (did you mean \"tick\"?)\n");
    env.run(&["schedule", "trigger", "plain"])
        .code(2)
        .stderr(predicate::str::starts_with("error: \"plain\" has no schedule"));
});
