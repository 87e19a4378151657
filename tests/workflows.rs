//! Workflows with real workers on both brokers (SPEC §7): chains pass
//! outputs on, groups run at once and their chord waits for all of them,
//! `map` fans out over a step's output, a failure stops the run and calls
//! `on_failure` once, `revoke` cancels what remains, `--batch --then` is an
//! ad-hoc chord.

use std::collections::BTreeSet;

use crate::both;
use crate::common::{Backend, Env, SOON, wait_until};

/// A new run of `def`, as `enqueue` would store it, for tests that leave
/// the state a crash or a race leaves by calling the broker themselves.
fn a_run_of(def: taskq::config::WorkflowDef) -> taskq::broker::NewRun {
    taskq::broker::NewRun {
        id: taskq::job::JobId::new(),
        params: std::collections::BTreeMap::new(),
        def,
        parent: None,
        ttl: std::time::Duration::from_secs(600),
        first: None,
        scheduled: false,
    }
}

fn run_state(env: &Env, id: &str) -> String {
    env.state(id)
}

/// Waits for the run to end; returns its final state.
fn wait_run(env: &Env, id: &str) -> serde_json::Value {
    wait_until(SOON, "the workflow run to end", || run_state(env, id) != "running");
    env.status(id)
}

both!(a_chain_runs_in_order_and_passes_outputs_on, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.validate]
command = "echo order-{{ order }}; echo 'warning: slow' >&2; echo validate >> @DIR@/order"
params.order = {}
[jobs.charge]
command = "echo charge >> @DIR@/order; cp $TASKQ_PREV_OUTPUTS @DIR@/charge.in; echo charged"
[jobs.confirm]
command = "echo confirm >> @DIR@/order; cp $TASKQ_PREV_OUTPUTS @DIR@/confirm.in; echo run=$TASKQ_WORKFLOW_ID"
[workflows.checkout]
steps = ["validate", "charge", "confirm"]
"#,
    );
    let id = env.enqueue(&["checkout", "-p", "order=42"]);
    assert_eq!(run_state(&env, &id), "running", "enqueued: its first step is queued");
    let _worker = env.spawn(&["run", "-c", "4"]);
    let run = wait_run(&env, &id);
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(env.lines("order"), ["validate", "charge", "confirm"]);
    let charge_in: serde_json::Value = serde_json::from_str(env.read("charge.in").trim()).expect("one JSON line");
    assert_eq!(charge_in["job"], "validate");
    assert_eq!(charge_in["output"], "order-42\n", "stdout alone: stderr is not a result");
    assert_eq!(charge_in["params"]["order"], "42");
    assert_eq!(charge_in["id"], run["steps"][0]["jobs"][0]);
    let confirm_in: serde_json::Value = serde_json::from_str(env.read("confirm.in").trim()).expect("one JSON line");
    assert_eq!((confirm_in["job"].as_str(), confirm_in["output"].as_str()), (Some("charge"), Some("charged\n")));
    let steps = run["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 3);
    for (i, step) in steps.iter().enumerate() {
        assert_eq!((step["step"].as_u64(), step["state"].as_str()), (Some(i as u64 + 1), Some("succeeded")));
        let job = step["jobs"][0].as_str().expect("a job id");
        let record = env.status(job);
        assert_eq!(record["state"], "succeeded");
        assert_eq!(record["run"], serde_json::json!({"id": id, "workflow": "checkout", "step": i + 1}));
    }
    // The last step saw the run's id.
    let last = steps[2]["jobs"][0].as_str().unwrap().to_string();
    let out = env.run(&["logs", &last]).success().get_output().stdout.clone();
    assert_eq!(String::from_utf8_lossy(&out).trim(), format!("run={id}"));
    // A run has no output of its own: logs says where to look.
    let out = env.run(&["logs", &id]).failure().code(2).get_output().stderr.clone();
    assert!(String::from_utf8_lossy(&out).contains(&format!("taskq status {id}")), "{}", String::from_utf8_lossy(&out));
});

both!(a_groups_jobs_run_at_once_and_the_chord_waits_for_all_five, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.e1]
command = "date +%s%N >> @DIR@/starts; sleep 1; echo e1; date +%s%N >> @DIR@/ends"
[jobs.e2]
command = "date +%s%N >> @DIR@/starts; sleep 1; echo e2; date +%s%N >> @DIR@/ends"
[jobs.e3]
command = "date +%s%N >> @DIR@/starts; sleep 1; echo e3; date +%s%N >> @DIR@/ends"
[jobs.e4]
command = "date +%s%N >> @DIR@/starts; sleep 1; echo e4; date +%s%N >> @DIR@/ends"
[jobs.e5]
command = "date +%s%N >> @DIR@/starts; sleep 1; echo e5; date +%s%N >> @DIR@/ends"
[jobs.merge]
command = "date +%s%N > @DIR@/merge.start; cp $TASKQ_PREV_OUTPUTS @DIR@/merge.in"
[workflows.report]
steps = [{ group = ["e1", "e2", "e3", "e4", "e5"] }, "merge"]
"#,
    );
    let id = env.enqueue(&["report"]);
    let _a = env.spawn(&["run", "-c", "3"]);
    let _b = env.spawn(&["run", "-c", "3"]);
    let run = wait_run(&env, &id);
    assert_eq!(run["state"], "succeeded", "{run}");
    let num = |name: &str| -> Vec<u128> { env.lines(name).iter().map(|l| l.parse().expect("ns")).collect() };
    let (starts, ends) = (num("starts"), num("ends"));
    assert_eq!((starts.len(), ends.len()), (5, 5));
    let (last_start, first_end) = (starts.iter().max().unwrap(), ends.iter().min().unwrap());
    assert!(last_start < first_end, "all five ran at the same time: {starts:?} {ends:?}");
    let merge_start: u128 = env.read("merge.start").trim().parse().expect("ns");
    assert!(merge_start >= *ends.iter().max().unwrap(), "the chord started after the last member ended");
    let results: Vec<serde_json::Value> =
        env.lines("merge.in").iter().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    let jobs: BTreeSet<&str> = results.iter().filter_map(|r| r["job"].as_str()).collect();
    assert_eq!(jobs, BTreeSet::from(["e1", "e2", "e3", "e4", "e5"]), "five results, one per member");
    for r in &results {
        assert_eq!(r["output"].as_str(), Some(format!("{}\n", r["job"].as_str().unwrap()).as_str()));
    }
});

both!(a_map_runs_its_job_per_line_and_the_next_step_once, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.list]
command = "seq 1 100; echo 'warning: 100 is a lot' >&2"
[jobs.validate]
command = "echo {{ n }} >> @DIR@/validated; echo ok-{{ n }}"
params.n = {}
[jobs.total]
command = "wc -l < $TASKQ_PREV_OUTPUTS >> @DIR@/total"
[workflows.bulk]
steps = ["list", { map = "validate", param = "n" }, "total"]
"#,
    );
    let id = env.enqueue(&["bulk"]);
    let _a = env.spawn(&["run", "-c", "8"]);
    let _b = env.spawn(&["run", "-c", "8"]);
    let run = wait_run(&env, &id);
    assert_eq!(run["state"], "succeeded", "{}", run["error"]);
    let validated = env.lines("validated");
    assert_eq!(validated.len(), 100, "one run per line, none twice");
    let distinct: BTreeSet<u32> = validated.iter().map(|l| l.parse().expect("number")).collect();
    assert_eq!(distinct, (1..=100).collect());
    assert_eq!(env.lines("total"), ["100"], "the next step ran once, with 100 results");
    assert_eq!(run["steps"][1]["jobs"].as_array().map(Vec::len), Some(100));
    assert_eq!(run["steps"][1]["succeeded"], 100);
});

both!(a_failing_member_stops_the_run_and_calls_on_failure_once, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.fine]
command = "echo fine >> @DIR@/ran"
[jobs.flaky]
command = "echo attempt >> @DIR@/flaky; echo broken >&2; exit 3"
retries = 1
retry_delay = "1s"
[jobs.after]
command = "echo after >> @DIR@/ran"
[jobs.alert]
command = "echo $TASKQ_TRIGGER_ID $TASKQ_TRIGGER_JOB $TASKQ_TRIGGER_STATE $TASKQ_TRIGGER_EXIT $(cat $TASKQ_TRIGGER_OUTPUT) >> @DIR@/alerts"
[workflows.nightly]
steps = [{ group = ["fine", "flaky"] }, "after"]
on_failure = "alert"
"#,
    );
    let id = env.enqueue(&["nightly"]);
    let _worker = env.spawn(&["run", "-c", "2"]);
    let run = wait_run(&env, &id);
    assert_eq!(run["state"], "failed");
    let error = run["error"].as_str().unwrap_or_default();
    assert!(error.contains("flaky") && error.contains("exit code 3"), "{error}");
    wait_until(SOON, "on_failure to run", || env.lines("alerts").len() == 1);
    assert_eq!(env.lines("alerts"), [format!("{id} nightly failed 3 broken")], "with the job's stderr");
    assert_eq!(env.lines("flaky").len(), 2, "the member's retry came first");
    assert_eq!(run["steps"][0]["state"], "failed");
    assert_eq!(run["steps"][1]["state"], "cancelled");
    // Give a wrongly launched next step the time to show up.
    let out = env.run(&["wait", "--json", &id]).failure().get_output().stdout.clone();
    assert!(String::from_utf8_lossy(&out).contains("\"failed\""));
    assert!(!env.lines("ran").contains(&"after".to_string()), "the step after the failure never started");
    assert_eq!(env.lines("alerts").len(), 1, "on_failure once");
    // Retrying the failed member runs it alone, and says so.
    let flaky = run["steps"][0]["jobs"][1].as_str().unwrap().to_string();
    let out = env.run(&["retry", &flaky]).success().get_output().stderr.clone();
    assert!(String::from_utf8_lossy(&out).contains("does not resume"), "{}", String::from_utf8_lossy(&out));
});

both!(revoking_a_running_workflow_cancels_what_remains, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.long]
command = "echo started >> @DIR@/long; sleep 2"
[jobs.queued]
command = "echo ran >> @DIR@/queued"
queue = "later"
[jobs.after]
command = "echo ran >> @DIR@/after"
[workflows.big]
steps = [{ group = ["long", "queued"] }, "after"]
"#,
    );
    let id = env.enqueue(&["big"]);
    let run = env.status(&id);
    let queued = run["steps"][0]["jobs"][1].as_str().expect("the second member's id").to_string();
    // The other member waits on a queue no worker serves yet.
    let _worker = env.spawn(&["run", "-c", "1", "--queues", "default"]);
    wait_until(SOON, "the long member to start", || env.lines("long").len() == 1);
    let out = env.run(&["revoke", &id]).success().get_output().stdout.clone();
    assert!(String::from_utf8_lossy(&out).contains("revoked workflow run"));
    let run = env.status(&id);
    assert_eq!(run["state"], "revoked");
    assert_eq!(env.state(&queued), "revoked", "the member not started is cancelled");
    env.run(&["revoke", &id]).failure().code(1);
    let long = run["steps"][0]["jobs"][0].as_str().unwrap().to_string();
    wait_until(SOON, "the running member to finish", || env.state(&long) == "succeeded");
    env.run(&["run", "--burst", "--queues", "default,later"]).success();
    assert!(env.lines("queued").is_empty() && env.lines("after").is_empty(), "nothing after the revoke ran");
    assert_eq!(env.status(&id)["steps"][1]["state"], "cancelled");
});

both!(a_batch_then_runs_its_callback_once_after_every_job, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.resize]
command = "echo {{ img }} >> @DIR@/resized; echo done-{{ img }}"
params.img = {}
[jobs.publish]
command = "wc -l < $TASKQ_PREV_OUTPUTS >> @DIR@/published"
"#,
    );
    let batch: String = (1..=20).map(|i| format!("{{\"job\":\"resize\",\"params\":{{\"img\":\"{i}\"}}}}\n")).collect();
    env.write("batch.jsonl", &batch);
    let out =
        env.run(&["enqueue", "--batch", &env.path("batch.jsonl").display().to_string(), "--then", "publish"]).success();
    let output = out.get_output();
    let ids = String::from_utf8_lossy(&output.stdout).lines().count();
    assert_eq!(ids, 20, "the batch's ids, as --batch prints them");
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let run = stderr.split_whitespace().nth(1).expect("the run's id on stderr").trim_end_matches(':').to_string();
    let _a = env.spawn(&["run", "-c", "4"]);
    let _b = env.spawn(&["run", "-c", "4"]);
    let state = wait_run(&env, &run);
    assert_eq!(state["state"], "succeeded");
    assert_eq!(env.lines("resized").len(), 20);
    wait_until(SOON, "the callback", || !env.lines("published").is_empty());
    assert_eq!(env.lines("published"), ["20"], "once, with twenty results");

    // One bad line: nothing goes in.
    env.write("bad.jsonl", "{\"job\":\"resize\",\"params\":{\"img\":\"a\"}}\n{\"job\":\"nope\"}\n");
    let before = env.lines("resized").len();
    let out = env.run(&["enqueue", "--batch", &env.path("bad.jsonl").display().to_string(), "--then", "publish"]);
    let out = out.failure().code(65);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("line 2") && stderr.contains("nothing was enqueued"), "{stderr}");
    env.run(&["run", "--burst"]).success();
    assert_eq!(env.lines("resized").len(), before);
    // --wait waits for the callback, and exits with the run's outcome.
    env.write("one.jsonl", "{\"job\":\"resize\",\"params\":{\"img\":\"w\"}}\n");
    let one = env.path("one.jsonl").display().to_string();
    let _c = env.spawn(&["run", "-c", "2"]);
    env.run(&["enqueue", "--batch", &one, "--then", "publish", "--wait", "--timeout", "15s"]).success();
    assert_eq!(env.lines("published"), ["20", "1"], "the callback ran before --wait returned");
    env.run(&["enqueue", "--batch", &one, "--wait"]).failure().code(2);
    // An unknown callback is a usage error.
    env.run(&["enqueue", "--batch", &env.path("batch.jsonl").display().to_string(), "--then", "nope"])
        .failure()
        .code(2);
});

#[test]
fn bad_workflow_enqueues_are_refused_with_the_fix() {
    let env = Env::new(Backend::Sqlite).jobs(
        r#"
[jobs.step]
command = "echo {{ day }}"
params.day = { pattern = "^[a-z]+$" }
[workflows.weekly]
steps = ["step"]
"#,
    );
    let cases: &[(&[&str], &str)] = &[
        (&["enqueue", "weekly"], "pass -p day=VALUE"),
        (&["enqueue", "weekly", "-p", "day=Mon1"], "day"),
        (&["enqueue", "weekly", "-p", "day=mon", "-p", "other=1"], "drop -p other"),
        (&["enqueue", "weekly", "-p", "day=mon", "--queue", "q"], "--queue"),
        (&["enqueue", "weekly", "-p", "day=mon", "--delay", "5s"], "--delay"),
        (&["enqueue", "weekly", "-p", "day=mon", "--key", "k"], "--key"),
        (&["enqueue", "weekly", "extra"], "positional"),
        (&["enqueue", "weekli"], "unknown job or workflow \"weekli\" (did you mean \"weekly\"?)"),
        (&["enqueue", "step", "-p", "day=mon", "--then", "step"], "pass --batch FILE too"),
    ];
    for (args, says) in cases {
        let out = env.run(args).failure().code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: one line: {stderr}");
    }
    assert_eq!(String::from_utf8_lossy(&env.run(&["list", "--json"]).success().get_output().stdout), "");
}

both!(a_scheduled_workflow_fires_once_per_tick_through_beat, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.extract]
command = "echo $TASKQ_WORKFLOW_ID >> @DIR@/extracted"
[jobs.load]
command = "echo $TASKQ_WORKFLOW_ID >> @DIR@/loaded"
[workflows.etl]
steps = ["extract", "load"]
every = "1s"
"#,
    );
    let out = env.run(&["check"]).success().get_output().stdout.clone();
    assert!(String::from_utf8_lossy(&out).contains("schedule: every 1s"), "check lists the schedule and next fires");
    // Two beats: each tick still starts one run.
    let mut a = env.spawn(&["run", "--beat", "-c", "2"]);
    let mut b = env.spawn(&["run", "--beat", "-c", "2"]);
    wait_until(SOON, "three runs to finish", || env.lines("loaded").len() >= 3);
    for worker in [&mut a, &mut b] {
        worker.signal(rustix::process::Signal::TERM);
        worker.wait_timeout(SOON).expect("the worker stops");
    }
    let out = env.run(&["list", "--json", "--limit", "1000"]).success().get_output().stdout.clone();
    let items: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out).lines().map(|l| serde_json::from_str(l).expect("JSON line")).collect();
    let ticks = items.iter().filter(|i| i["job"] == "etl" && i["queue"] == "default").count();
    let runs: Vec<&serde_json::Value> = items.iter().filter(|i| i["workflow"] == "etl").collect();
    assert_eq!(runs.len(), ticks, "one run per tick fired");
    let loaded = env.lines("loaded");
    let distinct: BTreeSet<&String> = loaded.iter().collect();
    assert_eq!(distinct.len(), loaded.len(), "each run's last step ran once");
    let extracted = env.lines("extracted");
    assert!(loaded.iter().all(|id| extracted.contains(id)), "each run ran its steps in order");
    for run in runs.iter().filter(|r| r["state"] == "succeeded") {
        assert!(loaded.contains(&run["id"].as_str().unwrap().to_string()));
    }
});

// Workers SIGKILLed again and again while a run is under way: every step
// still starts once (its jobs' ids are the run's own), the run completes,
// and only a job that was running when its worker died runs again.
both!(killed_workers_leave_each_step_started_once, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.list]
command = "echo start $TASKQ_JOB_ID >> @DIR@/log; seq 1 12; sleep 0.2; echo end $TASKQ_JOB_ID >> @DIR@/log"
[jobs.item]
command = "echo start $TASKQ_JOB_ID {{ n }} >> @DIR@/log; sleep 0.3; echo end $TASKQ_JOB_ID >> @DIR@/log"
params.n = {}
[jobs.sum]
command = "echo start $TASKQ_JOB_ID >> @DIR@/log; sleep 0.2; echo end $TASKQ_JOB_ID >> @DIR@/log"
[workflows.pipeline]
steps = ["list", { map = "item", param = "n" }, "sum", { group = ["item2", "item3"] }]
[jobs.item2]
command = "echo start $TASKQ_JOB_ID >> @DIR@/log; sleep 0.3; echo end $TASKQ_JOB_ID >> @DIR@/log"
[jobs.item3]
command = "echo start $TASKQ_JOB_ID >> @DIR@/log; sleep 0.3; echo end $TASKQ_JOB_ID >> @DIR@/log"
"#,
    );
    let id = env.enqueue(&["pipeline"]);
    let spawn = || env.spawn(&["run", "-c", "3", "--lease", "2s"]);
    let mut workers = [spawn(), spawn()];
    let mut kills = 0;
    // Fault injection at a steady beat while the run is under way.
    for round in 0..8 {
        std::thread::sleep(std::time::Duration::from_millis(600));
        if run_state(&env, &id) != "running" {
            break;
        }
        let victim = round % workers.len();
        workers[victim].signal(rustix::process::Signal::KILL);
        workers[victim].wait_timeout(SOON).expect("killed");
        kills += 1;
        workers[victim] = spawn();
    }
    assert!(kills >= 2, "the run outlived at least two kills ({kills})");
    wait_until(std::time::Duration::from_secs(90), "the run to end", || run_state(&env, &id) != "running");
    let run = env.status(&id);
    assert_eq!(run["state"], "succeeded", "{run}");
    let log = env.lines("log");
    let starts: Vec<&str> =
        log.iter().filter_map(|l| l.strip_prefix("start ")).filter_map(|l| l.split(' ').next()).collect();
    let ends: BTreeSet<&str> = log.iter().filter_map(|l| l.strip_prefix("end ")).collect();
    let launched: BTreeSet<String> = run["steps"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["jobs"].as_array().unwrap().iter().map(|j| j.as_str().unwrap().to_string()))
        .collect();
    assert_eq!(launched.len(), 1 + 12 + 1 + 2, "each step launched its jobs once");
    let ran: BTreeSet<String> = starts.iter().map(ToString::to_string).collect();
    assert_eq!(ran, launched, "exactly the run's jobs ran: no step started twice");
    assert!(launched.iter().all(|j| ends.contains(j.as_str())), "each job ran to its end");
    // A job runs again only if its worker was killed while it ran: at most
    // three per kill (three slots).
    let again = starts.len() - ran.len();
    assert!(again <= kills * 3, "{again} repeated runs for {kills} kills");
    eprintln!("{kills} kills, {again} jobs run again");
    for step in run["steps"].as_array().unwrap() {
        assert_eq!(step["state"], "succeeded");
    }
});

// An enqueue that died after storing its run, before launching the first
// step: maintenance finds the run idle and launches it.
both!(a_run_its_starter_left_unlaunched_is_launched_by_maintenance, |backend| {
    let env = Env::new(backend).jobs(
        "[jobs.first]\ncommand = \"echo first >> @DIR@/ran\"\n[jobs.second]\ncommand = \"echo second >> @DIR@/ran\"\n[workflows.pair]\nsteps = [\"first\", \"second\"]\n",
    );
    let config = taskq::config::Config::load(&env.path("jobs.toml")).expect("config");
    let run = a_run_of(config.workflow("pair").expect("workflow").clone());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async { env.connect().await.start_run(&run).await.expect("start") });
    let id = run.id.to_string();
    assert_eq!(env.status(&id)["steps"][0]["state"], "pending");
    let _worker = env.spawn(&["run"]);
    wait_until(std::time::Duration::from_secs(40), "maintenance to carry the run through", || {
        env.state(&id) == "succeeded"
    });
    assert_eq!(env.lines("ran"), ["first", "second"]);
});

// A step job that ends outside a worker's finish (revoked while queued, or
// expired) still fails its run, and a burst worker moves the run on before
// it stops.
both!(a_step_job_revoked_or_expired_while_queued_fails_its_run, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.first]
command = "true"
[jobs.quick]
command = "true"
expires = "1s"
[jobs.alert]
command = "echo $TASKQ_TRIGGER_ID >> @DIR@/alerts"
[workflows.revoked]
steps = ["first"]
on_failure = "alert"
[workflows.expiring]
steps = ["quick"]
on_failure = "alert"
"#,
    );
    let revoked = env.enqueue(&["revoked"]);
    let job = env.status(&revoked)["steps"][0]["jobs"][0].as_str().unwrap().to_string();
    env.run(&["revoke", &job]).success();
    assert_eq!(env.state(&revoked), "failed", "the revoke tells the run at once");

    let enqueued = std::time::Instant::now();
    let expiring = env.enqueue(&["expiring"]);
    let job = env.status(&expiring)["steps"][0]["jobs"][0].as_str().unwrap().to_string();
    wait_until(SOON, "the job's expiry to pass", || enqueued.elapsed() > std::time::Duration::from_millis(1200));
    env.run(&["run", "--burst"]).success();
    assert_eq!(env.state(&job), "expired");
    assert_eq!(env.state(&expiring), "failed", "the burst worker moved the run on before stopping");
    let error = env.status(&expiring)["error"].as_str().unwrap_or_default().to_string();
    assert!(error.contains("expired"), "{error}");
    env.run(&["run", "--burst"]).success();
    let mut alerts = env.lines("alerts");
    alerts.sort();
    let mut want = vec![revoked, expiring];
    want.sort();
    assert_eq!(alerts, want, "on_failure once for each");
});

// A nested workflow is one member of its parent's step: its first step
// reads what the parent's step reads, and the parent's next step reads its
// last step's outputs, one per line.
both!(a_nested_workflow_passes_outputs_in_and_out, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.list]
command = "echo a; echo b"
[jobs.inner-first]
command = "cp $TASKQ_PREV_OUTPUTS @DIR@/inner.in; printf x"
[jobs.inner-second]
command = "printf y"
[jobs.inner-third]
command = "printf z"
[jobs.after]
command = "cp $TASKQ_PREV_OUTPUTS @DIR@/after.in"
[jobs.first-of-all]
command = "cat $TASKQ_PREV_OUTPUTS > @DIR@/first.in; echo first"
[workflows.inner]
steps = ["inner-first", { group = ["inner-second", "inner-third"] }]
[workflows.outer]
steps = ["first-of-all", "list", { workflow = "inner" }, "after"]
"#,
    );
    let id = env.enqueue(&["outer"]);
    let _worker = env.spawn(&["run", "-c", "2"]);
    let run = wait_run(&env, &id);
    assert_eq!(run["state"], "succeeded", "{run}");
    assert_eq!(env.read("first.in"), "", "a first step reads an empty file");
    let inner_in: serde_json::Value = serde_json::from_str(env.read("inner.in").trim()).expect("one line");
    assert_eq!((inner_in["job"].as_str(), inner_in["output"].as_str()), (Some("list"), Some("a\nb\n")));
    let after_in: serde_json::Value = serde_json::from_str(env.read("after.in").trim()).expect("one line");
    assert_eq!(after_in["job"], "inner");
    assert_eq!(after_in["output"], "y\nz\n", "the nested run's last step's outputs, a line each");
    let child = run["steps"][2]["jobs"][0].as_str().unwrap().to_string();
    let nested = env.status(&child);
    assert_eq!((nested["workflow"].as_str(), nested["state"].as_str()), (Some("inner"), Some("succeeded")));
});

// revoke --terminate reaches the running jobs of nested runs too.
both!(revoke_terminate_kills_the_running_jobs_of_nested_runs, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.slow]
command = "echo started >> @DIR@/started; sleep 30; echo finished >> @DIR@/finished"
[workflows.inner]
steps = ["slow"]
[workflows.outer]
steps = [{ group = [{ workflow = "inner" }, "slow"] }]
"#,
    );
    let id = env.enqueue(&["outer"]);
    let _worker = env.spawn(&["run", "-c", "2"]);
    wait_until(SOON, "both slow jobs to start", || env.lines("started").len() == 2);
    let out = env.run(&["revoke", "--terminate", &id]).success().get_output().stdout.clone();
    assert!(
        String::from_utf8_lossy(&out).contains("2 running job(s) asked to be killed"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    let run = env.status(&id);
    let child = run["steps"][0]["jobs"][0].as_str().unwrap().to_string();
    wait_until(SOON, "the nested run's job to be killed", || {
        let inner = env.status(&child);
        let job = inner["steps"][0]["jobs"][0].as_str().unwrap_or_default().to_string();
        !job.is_empty() && env.state(&job) == "revoked"
    });
    assert_eq!(env.status(&child)["state"], "revoked");
    assert!(env.lines("finished").is_empty());
});

// A worker whose config lacks a step's job leaves the step to a worker
// whose config has it, instead of failing the run.
both!(a_step_this_workers_config_lacks_waits_for_one_that_has_it, |backend| {
    let env = Env::new(backend).jobs(
        "[jobs.first]\ncommand = \"true\"\n[jobs.second]\ncommand = \"echo done >> @DIR@/done\"\n[workflows.pair]\nsteps = [\"first\", \"second\"]\n",
    );
    env.write("small.toml", "[jobs.first]\ncommand = \"true\"\n");
    let id = env.enqueue(&["pair"]);
    let small = env.path("small.toml").display().to_string();
    let out = env.run(&["-f", &small, "run", "--burst"]).success().get_output().stderr.clone();
    let log = String::from_utf8_lossy(&out).to_string();
    assert!(log.contains("this worker's config lacks"), "{log}");
    assert_eq!(env.state(&id), "running", "not failed for one worker's config");
    env.run(&["run", "--burst"]).success();
    assert_eq!(env.state(&id), "succeeded");
    assert_eq!(env.lines("done"), ["done"]);
});

// A nested run that fails fails its parent at once, and each calls its own
// on_failure once.
both!(a_failing_nested_run_fails_its_parent_and_both_call_on_failure, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.boom]
command = "exit 4"
[jobs.never]
command = "echo ran >> @DIR@/never"
[jobs.alert]
command = "echo $TASKQ_TRIGGER_JOB $TASKQ_TRIGGER_EXIT >> @DIR@/alerts"
[workflows.inner]
steps = ["boom"]
on_failure = "alert"
[workflows.outer]
steps = [{ workflow = "inner" }, "never"]
on_failure = "alert"
"#,
    );
    let id = env.enqueue(&["outer"]);
    let _worker = env.spawn(&["run", "-c", "2"]);
    // Well before maintenance's 10 s round.
    wait_until(std::time::Duration::from_secs(5), "both on_failure hooks", || env.lines("alerts").len() == 2);
    let mut alerts = env.lines("alerts");
    alerts.sort();
    assert_eq!(alerts, ["inner 4", "outer 4"]);
    let run = env.status(&id);
    assert_eq!(run["state"], "failed");
    assert!(run["error"].as_str().unwrap_or_default().contains("inner"), "{}", run["error"]);
    assert!(env.lines("never").is_empty());
});

// An HTTP job's result is its body: a map fans out over a JSON array it
// returns, and the step after reads the bodies.
both!(an_http_steps_body_is_its_result, |backend| {
    let server = crate::common::HttpServer::start();
    let env = Env::new(backend).jobs(&format!(
        r#"
[jobs.fetch-ids]
http = {{ url = "{ids}" }}
[jobs.handle]
command = "echo {{{{ id }}}} >> @DIR@/handled; echo done-{{{{ id }}}}"
params.id = {{}}
[jobs.post]
http = {{ method = "POST", url = "{echo}", body = "x" }}
[jobs.last]
command = "cp $TASKQ_PREV_OUTPUTS @DIR@/last.in"
[workflows.api]
steps = ["fetch-ids", {{ map = "handle", param = "id" }}, "post", "last"]
"#,
        ids = server.url("/ids/3"),
        echo = server.url("/echo"),
    ));
    let id = env.enqueue(&["api"]);
    let _worker = env.spawn(&["run", "-c", "2"]);
    let run = wait_run(&env, &id);
    assert_eq!(run["state"], "succeeded", "{run}");
    let mut handled = env.lines("handled");
    handled.sort();
    assert_eq!(handled, ["id-1", "id-2", "id-3"], "one run per item of the body's JSON array");
    let last_in: serde_json::Value = serde_json::from_str(env.read("last.in").trim()).expect("one line");
    assert_eq!(last_in["job"], "post");
    let body: serde_json::Value = serde_json::from_str(last_in["output"].as_str().unwrap()).expect("the echo body");
    assert_eq!(body["method"], "POST", "the HTTP job's body is its result");
});

// A scheduled workflow's schedule shows its runs' outcomes, not the ticks':
// a run that fails flags the schedule in inspect, however fast it fails.
both!(a_scheduled_workflows_failing_runs_flag_its_schedule, |backend| {
    let env = Env::new(backend)
        .jobs("[jobs.boom]\ncommand = \"exit 1\"\n[workflows.nightly]\nsteps = [\"boom\"]\nevery = \"1s\"\n");
    let _worker = env.spawn(&["run", "--beat", "-c", "2"]);
    wait_until(SOON, "inspect to flag the failing schedule", || {
        let out = env.run(&["inspect", "--json"]).success().get_output().stdout.clone();
        let doc: serde_json::Value = serde_json::from_slice(&out).expect("inspect --json");
        let schedule = &doc["schedules"][0];
        schedule["name"] == "nightly"
            && schedule["alerts"].as_array().is_some_and(|a| a.iter().any(|x| x == "last run failed"))
            && doc["workflows"][0]["failed"].as_u64().is_some_and(|n| n >= 1)
    });
});

// A step job of a run that ended before the job started (its cancelling
// had not reached it) is not run.
both!(a_step_job_of_an_ended_run_is_not_run, |backend| {
    let env = Env::new(backend)
        .jobs("[jobs.first]\ncommand = \"echo ran >> @DIR@/ran\"\n[workflows.one]\nsteps = [\"first\"]\n");
    let config = taskq::config::Config::load(&env.path("jobs.toml")).expect("config");
    let def = config.workflow("one").expect("workflow").clone();
    let run = a_run_of(def.clone());
    let mut job = config.job("first").unwrap().new_job(Vec::new(), std::collections::BTreeMap::new()).unwrap();
    job.workflow = Some(taskq::job::WorkflowStep { run: run.id, workflow: def.name.clone(), step: 0 });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async {
        let broker = env.connect().await;
        broker.start_run(&run).await.expect("start");
        broker.enqueue(std::slice::from_ref(&job)).await.expect("enqueue");
        broker.launched(run.id, 0, &[job.id]).await.expect("launched");
        // Stopped, and nothing cancelled yet.
        broker.revoke_run(run.id).await.expect("revoke");
    });
    env.run(&["run", "--burst"]).success();
    assert!(env.lines("ran").is_empty(), "the job did not run");
    let record = env.status(&job.id.to_string());
    assert_eq!(record["state"], "revoked");
    assert!(record["error"].as_str().unwrap_or_default().contains("its workflow run"), "{record}");
});
