//! Workflows with real workers on both brokers (SPEC §7): chains pass
//! outputs on, groups run at once and their chord waits for all of them,
//! `map` fans out over a step's output, a failure stops the run and calls
//! `on_failure` once, `revoke` cancels what remains, `--batch --then` is an
//! ad-hoc chord.

use std::collections::BTreeSet;

use crate::both;
use crate::common::{Backend, Env, SOON, wait_until};

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
command = "echo order-{{ order }}; echo validate >> @DIR@/order"
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
    assert_eq!(charge_in["output"], "order-42\n");
    assert_eq!(charge_in["params"]["order"], "42");
    assert_eq!(charge_in["id"], run["steps"][0]["jobs"][0]);
    let confirm_in: serde_json::Value = serde_json::from_str(env.read("confirm.in").trim()).expect("one JSON line");
    assert_eq!((confirm_in["job"].as_str(), confirm_in["output"].as_str()), (Some("charge"), Some("charged\n")));
    let steps = run["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 3);
    for (i, step) in steps.iter().enumerate() {
        assert_eq!((step["step"].as_u64(), step["state"].as_str()), (Some(i as u64 + 1), Some("succeeded")));
        let job = step["jobs"][0].as_str().expect("a job id");
        assert_eq!(env.state(job), "succeeded");
    }
    // The last step saw the run's id.
    let last = steps[2]["jobs"][0].as_str().unwrap().to_string();
    let out = env.run(&["logs", &last]).success().get_output().stdout.clone();
    assert_eq!(String::from_utf8_lossy(&out).trim(), format!("run={id}"));
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
command = "seq 1 100"
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
command = "echo attempt >> @DIR@/flaky; echo broken; exit 3"
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
    assert_eq!(env.lines("alerts"), [format!("{id} nightly failed 3 broken")]);
    assert_eq!(env.lines("flaky").len(), 2, "the member's retry came first");
    assert_eq!(run["steps"][0]["state"], "failed");
    assert_eq!(run["steps"][1]["state"], "cancelled");
    // Give a wrongly launched next step the time to show up.
    let out = env.run(&["wait", "--json", &id]).failure().get_output().stdout.clone();
    assert!(String::from_utf8_lossy(&out).contains("\"failed\""));
    assert!(!env.lines("ran").contains(&"after".to_string()), "the step after the failure never started");
    assert_eq!(env.lines("alerts").len(), 1, "on_failure once");
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
    ];
    for (args, says) in cases {
        let out = env.run(args).failure().code(2);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(stderr.contains(says), "{args:?}: {stderr}");
        assert_eq!(stderr.trim().lines().count(), 1, "{args:?}: one line: {stderr}");
    }
    assert_eq!(String::from_utf8_lossy(&env.run(&["list", "--json"]).success().get_output().stdout), "");
}
