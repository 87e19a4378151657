//! Operating taskq: a job's history, its logs (followed live), and the
//! cli's remaining stubs.

use predicates::prelude::*;

use crate::both;
use crate::common::{Env, SOON, wait_until};

both!(history_lists_a_jobs_recent_runs, |backend| {
    let env = Env::new(backend)
        .jobs("[jobs.nightly]\ncommand = \"[ \\\"$1\\\" != bad ]\"\n[jobs.other]\ncommand = \"true\"\n");
    let runs = [env.enqueue(&["nightly", "ok"]), env.enqueue(&["nightly", "bad"]), env.enqueue(&["nightly", "ok"])];
    env.enqueue(&["other"]);
    env.run(&["run", "--burst"]).success();
    let out = env.run(&["history", "nightly", "--json"]).success().get_output().stdout.clone();
    let listed: Vec<serde_json::Value> =
        String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let ids: Vec<&str> = listed.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(ids, [runs[2].as_str(), runs[1].as_str(), runs[0].as_str()], "newest first, this job only");
    assert_eq!(listed[1]["state"], "failed");
    env.run(&["history", "nightly", "--limit", "1"])
        .success()
        .stdout(predicate::str::contains("succeeded (exit 0)"))
        .stdout(predicate::str::contains(&runs[2]))
        .stdout(predicate::str::contains(&runs[0]).not());
    env.run(&["history", "nightlly"]).code(2).stderr("error: unknown job \"nightlly\" (did you mean \"nightly\"?)\n");
    env.write("jobs.toml", "[jobs.nightly]\ncommand = \"true\"\n[jobs.fresh]\ncommand = \"true\"\n");
    env.run(&["history", "fresh"]).success().stdout("").stderr(predicate::str::starts_with("no runs of \"fresh\""));
});

both!(logs_follow_a_running_job_live, |backend| {
    let env = Env::new(backend)
        .jobs("[jobs.talk]\ncommand = \"echo first; while [ ! -e @DIR@/go ]; do sleep 0.05; done; echo second\"\n");
    let _worker = env.spawn(&["run"]);
    let id = env.enqueue(&["talk"]);
    let follower = env.spawn(&["logs", &id, "-f"]);
    wait_until(SOON, "the first line shown while the job still runs", || follower.stdout() == "first\n");
    assert_eq!(env.state(&id), "running");
    env.write("go", "");
    let mut follower = follower;
    let status = follower.wait_timeout(SOON).expect("logs -F ends with the job");
    assert!(status.success(), "{}", follower.stderr());
    assert_eq!(follower.stdout(), "first\nsecond\n", "each line once, in order");
    env.run(&["logs", &id]).success().stdout("first\nsecond\n");
    env.run(&["logs", "01a20000-0000-7000-8000-000000000000"]).code(2);
});

#[test]
fn logs_say_when_early_output_was_not_kept() {
    let env =
        Env::sqlite().jobs("[jobs.loud]\ncommand = \"head -c 100000 /dev/zero | tr '\\\\0' a; echo; echo end\"\n");
    let id = env.enqueue(&["loud"]);
    env.run(&["run", "--burst"]).success();
    let out = env.run(&["logs", &id]).success().get_output().clone();
    assert_eq!(out.stdout.len(), 64 * 1024);
    assert!(out.stdout.ends_with(b"aaa\nend\n"));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        format!("[{} earlier bytes were not kept]\n", 100_005 - 64 * 1024)
    );
}
