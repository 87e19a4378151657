//! Job policies with real workers: retries and backoff, the failed set,
//! uniqueness, expiry, concurrency limits, revoke, poison jobs and hooks.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use predicates::prelude::*;

use crate::both;
use crate::common::{Env, HttpServer, SOON, alive, wait_until};

fn millis(v: &serde_json::Value) -> i64 {
    v.as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map(jiff::Timestamp::as_millisecond)
        .expect("a timestamp")
}

both!(a_job_failing_twice_then_succeeding_backs_off_within_bounds, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.flaky]
command = "date +%s%N >> @DIR@/starts; [ $(wc -l < @DIR@/starts) -ge 3 ]"
retries = 3
retry_delay = "1s"
retry_delay_max = "1500ms"
"#,
    );
    let id = env.enqueue(&["flaky"]);
    let _worker = env.spawn(&["run"]);
    // Each retry waits in state retrying, due exactly one backoff after the failure.
    for expected in [1000, 1500] {
        wait_until(SOON, "the job waiting for its retry", || {
            let s = env.status(&id);
            s["state"] == "retrying" && s["attempts"].as_i64() == Some(if expected == 1000 { 1 } else { 2 })
        });
        let s = env.status(&id);
        assert_eq!(millis(&s["due_at"]) - millis(&s["finished_at"]), expected, "{s}");
    }
    wait_until(SOON, "the job succeeded", || env.state(&id) == "succeeded");
    assert_eq!(env.status(&id)["attempts"], 3);
    let starts: Vec<i64> = env.lines("starts").iter().map(|l| l.parse::<i64>().unwrap() / 1_000_000).collect();
    assert_eq!(starts.len(), 3);
    assert!(starts[1] - starts[0] >= 1000, "first retry after {} ms", starts[1] - starts[0]);
    assert!(starts[2] - starts[1] >= 1500, "second retry after {} ms", starts[2] - starts[1]);
});

#[test]
fn retry_on_exit_limits_which_failures_are_retried() {
    let env = Env::sqlite().jobs(
        r#"
[jobs.temp]
command = "echo x >> @DIR@/temp; [ $(wc -l < @DIR@/temp) -ge 2 ] || exit 75"
retries = 2
retry_delay = "100ms"
retry_on_exit = [75]

[jobs.perm]
command = "echo x >> @DIR@/perm; exit 3"
retries = 2
retry_delay = "100ms"
retry_on_exit = [75]
"#,
    );
    let temp = env.enqueue(&["temp"]);
    let perm = env.enqueue(&["perm"]);
    let _worker = env.spawn(&["run"]);
    wait_until(SOON, "both jobs ended", || env.state(&temp) == "succeeded" && env.state(&perm) == "failed");
    assert_eq!(env.status(&temp)["attempts"], 2, "exit 75 is retried");
    assert_eq!(env.status(&perm)["attempts"], 1, "exit 3 is not");
    assert_eq!(env.lines("perm").len(), 1);
}

#[test]
fn an_http_retry_after_replaces_the_backoff() {
    let server = HttpServer::start();
    let env = Env::redis().jobs(&format!(
        "[jobs.call]\nhttp = {{ url = \"{}\" }}\nretries = 2\nretry_delay = \"1h\"\n",
        server.url("/busy/1/2")
    ));
    let id = env.enqueue(&["call"]);
    let _worker = env.spawn(&["run"]);
    wait_until(SOON, "the call succeeded", || env.state(&id) == "succeeded");
    let calls = server.requests();
    assert_eq!(calls.len(), 2);
    let waited = calls[1].at.duration_since(calls[0].at);
    assert!(
        waited >= Duration::from_secs(2) && waited < Duration::from_secs(5),
        "waited {waited:?} instead of the 1h backoff"
    );
    assert_eq!(env.status(&id)["http_status"], 200);
}

both!(the_failed_set_can_be_listed_retried_and_purged, |backend| {
    let env =
        Env::new(backend).jobs("[jobs.fix-me]\ncommand = \"test -e @DIR@/fixed\"\n[jobs.fine]\ncommand = \"true\"\n");
    let broken = env.enqueue(&["fix-me"]);
    let fine = env.enqueue(&["fine"]);
    env.run(&["run", "--burst"]).success();
    assert_eq!(env.state(&broken), "failed");
    env.run(&["list", "--state", "failed"]).success().stdout(predicate::str::contains(&broken));
    env.run(&["retry", &fine])
        .code(1)
        .stderr(format!("error: job {fine} is succeeded, not failed; only failed jobs can be retried\n"));
    env.run(&["retry", "01a20000-0000-7000-8000-000000000000"]).code(2);
    let queued = env.enqueue(&["fine", "--delay", "1h"]);
    env.run(&["retry", &queued])
        .code(1)
        .stderr(format!("error: job {queued} is scheduled, not failed; only failed jobs can be retried\n"));

    env.write("fixed", "");
    env.run(&["retry", &broken]).success().stdout(format!("requeued {broken}\n"));
    assert_eq!((env.state(&broken).as_str(), env.status(&broken)["attempts"].as_i64()), ("queued", Some(0)));
    env.run(&["run", "--burst"]).success();
    assert_eq!(env.state(&broken), "succeeded");

    std::fs::remove_file(env.path("fixed")).unwrap();
    let a = env.enqueue(&["fix-me"]);
    let b = env.enqueue(&["fix-me"]);
    env.run(&["run", "--burst"]).success();
    env.run(&["purge", "--failed"])
        .code(2)
        .stderr("error: refusing to delete 2 failed jobs without confirmation: pass --yes\n");
    assert_eq!(env.state(&a), "failed", "nothing deleted without confirmation");
    env.run(&["retry", "--all-failed"])
        .success()
        .stdout(predicate::str::contains(&a).and(predicate::str::contains(&b)));
    env.run(&["run", "--burst"]).success();
    env.run(&["purge", "--failed", "--yes"]).success().stdout("deleted 2 jobs\n");
    env.run(&["status", &a]).code(2);
    env.run(&["purge", "--failed", "--yes"]).success().stderr("nothing to purge: 0 failed jobs\n");
});

both!(purge_empties_a_queue, |backend| {
    let env = Env::new(backend).jobs("[jobs.a]\ncommand = \"true\"\nqueue = \"bulk\"\n[jobs.b]\ncommand = \"true\"\n");
    for _ in 0..3 {
        env.enqueue(&["a"]);
    }
    let keep = env.enqueue(&["b"]);
    env.run(&["purge", "--queue", "bulk", "--yes"]).success().stdout("deleted 3 jobs\n");
    env.run(&["purge"]).code(2).stderr("error: say what to purge: --queue QUEUE or --failed\n");
    assert_eq!(env.state(&keep), "queued");
    env.run(&["run", "--burst"]).success();
    assert_eq!(env.state(&keep), "succeeded");
});

both!(two_enqueues_with_the_same_key_give_one_run, |backend| {
    let env = Env::new(backend).jobs("[jobs.pay]\ncommand = \"echo $1 >> @DIR@/paid\"\n");
    let first = env.enqueue(&["pay", "order-1", "--key", "order-1"]);
    let second = env.enqueue(&["pay", "order-1", "--key", "order-1"]);
    assert_eq!(first, second);
    env.run(&["run", "--burst"]).success();
    assert_eq!(env.lines("paid"), ["order-1"]);
});

both!(an_expired_job_never_runs, |backend| {
    let env = Env::new(backend).jobs("[jobs.stale]\ncommand = \"echo $TASKQ_JOB_ID >> @DIR@/ran\"\n");
    let enqueued = Instant::now();
    let id = env.enqueue(&["stale", "--expires", "300ms"]);
    let fresh = env.enqueue(&["stale", "--expires", "1h"]);
    wait_until(SOON, "the expiry passed", || enqueued.elapsed() > Duration::from_millis(400));
    env.run(&["run", "--burst"]).success();
    let s = env.status(&id);
    assert_eq!((s["state"].as_str(), s["attempts"].as_i64()), (Some("expired"), Some(0)));
    assert_eq!(env.state(&fresh), "succeeded");
    assert_eq!(env.lines("ran"), [fresh], "only the fresh job ran");
});

both!(max_concurrent_holds_across_workers, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.exclusive]
command = "set -C; echo $$ > @DIR@/lock 2>/dev/null || { echo collision >> @DIR@/errors; exit 1; }; sleep 0.2; rm -f @DIR@/lock; echo $TASKQ_JOB_ID >> @DIR@/done"
max_concurrent = 1
"#,
    );
    let _workers: Vec<_> = (0..3).map(|_| env.spawn(&["run", "-c", "3"])).collect();
    let ids: Vec<String> = (0..10).map(|_| env.enqueue(&["exclusive"])).collect();
    wait_until(Duration::from_secs(60), "all ten runs finished, or two overlapped", || {
        env.lines("done").len() == 10 || !env.read("errors").is_empty()
    });
    assert_eq!(env.read("errors"), "", "two runs overlapped");
    let done: HashSet<String> = env.lines("done").into_iter().collect();
    assert_eq!(done, ids.into_iter().collect::<HashSet<_>>());
});

// See: the faults issue, item 7 (a waiting job that expired consumed the
// freed slot; the one behind it waited forever and `run --burst` exited
// while it waited).
both!(a_burst_run_waits_for_limited_jobs_and_none_is_stranded, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.exclusive]
command = "sleep 1; echo $1 >> @DIR@/done"
max_concurrent = 1
"#,
    );
    let a = env.enqueue(&["exclusive", "a"]);
    let b = env.enqueue(&["exclusive", "b", "--expires", "500ms"]);
    let c = env.enqueue(&["exclusive", "c"]);
    env.run(&["run", "--burst", "-c", "3"]).success();
    assert_eq!(env.lines("done"), ["a", "c"], "c ran after a, though b expired waiting");
    assert_eq!(
        (env.state(&a), env.state(&b), env.state(&c)),
        ("succeeded".into(), "expired".into(), "succeeded".into())
    );
});

both!(the_failed_set_keeps_failed_max_jobs_the_oldest_dropped_first, |backend| {
    let env = Env::new(backend).jobs("[taskq]\nfailed_max = 2\n[jobs.bad]\ncommand = \"exit 3\"\n");
    let ids: Vec<String> = (0..3).map(|i| env.enqueue(&["bad", &i.to_string()])).collect();
    env.run(&["run", "--burst", "-c", "1"]).success();
    let failed = env.run(&["list", "--state", "failed", "--json"]).success().get_output().stdout.clone();
    let failed: HashSet<String> = String::from_utf8_lossy(&failed)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(failed, ids[1..].iter().cloned().collect::<HashSet<_>>(), "the first to fail was dropped");
});

// Each queue keeps its own failed set (on Redis, in the queue's slot); the
// bound is the namespace's, kept across queues by maintenance.
both!(the_failed_bound_holds_across_queues, |backend| {
    let env = Env::new(backend).jobs(
        "[taskq]\nfailed_max = 2\n[jobs.bad]\ncommand = \"exit 3\"\n[jobs.worse]\ncommand = \"exit 4\"\nqueue = \"other\"\n",
    );
    let ids = [env.enqueue(&["bad", "1"]), env.enqueue(&["worse", "2"]), env.enqueue(&["bad", "3"])];
    let _worker = env.spawn(&["run", "-c", "1", "-Q", "default,other"]);
    let listed = |state: &[&str]| -> HashSet<String> {
        let out = env.run(&[&["list", "--json"], state].concat()).success().get_output().stdout.clone();
        String::from_utf8_lossy(&out)
            .lines()
            .filter_map(|l| Some(serde_json::from_str::<serde_json::Value>(l).ok()?["id"].as_str()?.to_string()))
            .collect()
    };
    // Every job failed, and one of the three was dropped.
    wait_until(SOON, "the failed set to keep two of three", || {
        let failed = listed(&["--state", "failed"]);
        failed.len() == 2 && listed(&[]) == failed
    });
    let kept = listed(&["--state", "failed"]);
    assert!(!kept.contains(&ids[0]) || !kept.contains(&ids[2]), "the bound holds over both queues: {kept:?}");
});

// A limited job's runs are counted on its own queue (on Redis, in that
// queue's slot): putting one on another queue would split its count, so it
// is refused, by `enqueue --queue` and by a `--batch` line alike.
both!(a_limited_job_is_enqueued_on_its_own_queue_only, |backend| {
    let env = Env::new(backend).jobs("[jobs.exclusive]\ncommand = \"true\"\nmax_concurrent = 1\nqueue = \"locks\"\n");
    let out = env.run(&["enqueue", "exclusive", "--queue", "other"]).code(2).get_output().clone();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("job exclusive has max_concurrent = 1, which is kept on its own queue (locks)")
            && err.contains("jobs.toml"),
        "{err}"
    );
    env.enqueue(&["exclusive", "--queue", "locks"]);
    env.write("lines.jsonl", "{\"job\": \"exclusive\", \"queue\": \"other\"}\n{\"job\": \"exclusive\"}\n");
    let out = env.run(&["enqueue", "--batch", "lines.jsonl"]).failure().get_output().clone();
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1: job exclusive has max_concurrent = 1"));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1, "the good line went in");
    let listed = env.run(&["list", "--queue", "other", "--json"]).success().get_output().stdout.clone();
    assert!(listed.is_empty(), "nothing went to the other queue");
});

both!(revoke_cancels_a_queued_job_and_terminate_kills_a_running_tree, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.tree]
command = "sleep 300 & echo $! > @DIR@/child; echo $$ > @DIR@/main; wait"
[jobs.later]
command = "touch @DIR@/later-ran"
"#,
    );
    let later = env.enqueue(&["later", "--delay", "1h"]);
    env.run(&["revoke", &later]).success().stdout(format!("revoked {later}\n"));
    env.run(&["revoke", &later])
        .code(1)
        .stderr(format!("error: job {later} has already been revoked; there is nothing to revoke\n"));

    let id = env.enqueue(&["tree"]);
    let _worker = env.spawn(&["run"]);
    wait_until(SOON, "the job tree started", || !env.read("child").is_empty() && !env.read("main").is_empty());
    let child: i32 = env.read("child").trim().parse().unwrap();
    let main: i32 = env.read("main").trim().parse().unwrap();
    env.run(&["revoke", &id])
        .code(1)
        .stderr(predicate::str::starts_with(format!("error: job {id} is running on worker ")));
    assert!(alive(main) && alive(child), "revoke without --terminate leaves it running");
    env.run(&["revoke", &id, "--terminate"])
        .success()
        .stdout(predicate::str::starts_with(format!("revoked {id} (terminated")));
    assert_eq!(env.state(&id), "revoked");
    wait_until(SOON, "the whole tree is gone", || !alive(main) && !alive(child));
    assert!(!env.path("later-ran").exists());
});

both!(a_job_that_kills_its_worker_ends_in_the_failed_set, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.poison]
command = "kill -9 $PPID; sleep 60"
max_redeliveries = 2
on_failure = "alert"

[jobs.alert]
command = "echo $TASKQ_TRIGGER_JOB $TASKQ_TRIGGER_STATE >> @DIR@/alerts"
"#,
    );
    let id = env.enqueue(&["poison"]);
    let mut killed = 0;
    let mut survivor = None;
    for _ in 0..6 {
        let mut worker = env.spawn(&["run", "--lease", "1s"]);
        let deadline = Instant::now() + SOON;
        while Instant::now() < deadline
            && env.state(&id) != "failed"
            && worker.wait_timeout(Duration::from_millis(50)).is_none()
        {}
        if env.state(&id) == "failed" {
            survivor = Some(worker);
            break;
        }
        assert!(worker.wait_timeout(Duration::ZERO).is_some(), "the worker was killed by its job");
        killed += 1;
    }
    assert!(survivor.is_some(), "the job ended in the failed set");
    assert_eq!(killed, 2, "one worker per allowed loss");
    let s = env.status(&id);
    assert!(s["error"].as_str().unwrap().starts_with("worker lost"), "{s}");
    wait_until(SOON, "on_failure ran for the poison job", || env.lines("alerts") == ["poison failed"]);
});

both!(hooks_run_once_with_the_triggers_outcome, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.main]
command = "echo something bad happened; echo on stderr >&2; exit 3"
retries = 1
retry_delay = "100ms"
on_failure = "alert"

[jobs.good]
command = "echo all fine"
on_success = "alert"

[jobs.alert]
command = "echo $TASKQ_TRIGGER_JOB $TASKQ_TRIGGER_STATE $TASKQ_TRIGGER_EXIT $TASKQ_TRIGGER_ID >> @DIR@/alerts; sort $TASKQ_TRIGGER_OUTPUT >> @DIR@/alerts; echo $TASKQ_TRIGGER_OUTPUT $(stat -c %a $TASKQ_TRIGGER_OUTPUT) $TASKQ_JOB_ID > @DIR@/file"
queue = "ops"
"#,
    );
    let main = env.enqueue(&["main"]);
    let _worker = env.spawn(&["run"]);
    // `file` is the hook's last write.
    wait_until(SOON, "the alert ran", || env.lines("alerts").len() >= 3 && env.read("file").ends_with('\n'));
    assert_eq!(env.state(&main), "failed");
    assert_eq!(
        env.lines("alerts"),
        [format!("main failed 3 {main}"), "on stderr".into(), "something bad happened".into()]
    );
    let file = env.read("file");
    let [path, mode, hook_id] = file.split_whitespace().collect::<Vec<_>>()[..] else { panic!("{file:?}") };
    assert_eq!(mode, "600", "the output file is private: {file}");
    // The hook's id is listed while it waits: a name made from it could be
    // planted first (a symlink, a file of another user's) in a shared temp dir.
    assert!(!path.contains(hook_id) && !path.contains(&main), "the output file's name is not predictable: {file}");
    wait_until(SOON, "the output file to be removed after the hook runs", || !std::path::Path::new(path).exists());

    let good = env.enqueue(&["good"]);
    wait_until(SOON, "the success hook ran", || env.lines("alerts").len() >= 5);
    assert_eq!(env.lines("alerts")[3..], [format!("good succeeded 0 {good}"), "all fine".into()]);
});

// See: issue 13 item 7. `[defaults] on_failure` used to make the config
// invalid once the alert job it named existed ("names the job itself").
both!(a_default_on_failure_spares_the_alert_job_and_false_switches_it_off, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[defaults]
on_failure = "alert"

[jobs.main]
command = "exit 1"

[jobs.quiet]
command = "exit 1"
on_failure = false

[jobs.alert]
command = "echo $TASKQ_TRIGGER_JOB >> @DIR@/alerts; exit 1"
"#,
    );
    let quiet = env.enqueue(&["quiet"]);
    let main = env.enqueue(&["main"]);
    // The hook is enqueued with its trigger's outcome, so a burst worker runs
    // it, and would run any hook the failing alert enqueued in turn.
    env.run(&["run", "--burst"]).success();
    assert_eq!((env.state(&quiet), env.state(&main)), ("failed".to_string(), "failed".to_string()));
    assert_eq!(env.lines("alerts"), ["main"], "one alert, for main only; the failed alert raised none");
    let out = env.run(&["list", "--json"]).success().get_output().stdout.clone();
    let jobs: Vec<String> = String::from_utf8_lossy(&out)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["job"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(jobs, ["alert", "main", "quiet"], "newest first");
});
