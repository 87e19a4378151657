//! On Redis each queue is its own slot; what spans queues goes in steps
//! that a crash may cut (docs/cluster-layout.md). These tests leave the
//! state such a crash leaves, by hand, and check that taskq carries on.

use crate::common::{Env, RedisConn, SOON, wait_until};

/// The broker's clock, in ms.
fn now_ms(redis: &mut RedisConn) -> i64 {
    redis
        .call(&["EVAL", "local t = redis.call('TIME') return t[1] * 1000 + math.floor(t[2] / 1000)", "0"])
        .expect("time")
        .parse()
        .expect("ms")
}

const JOBS: &str = "[jobs.report]\ncommand = \"echo $TASKQ_JOB_ID >> @DIR@/ran\"\n";

/// An enqueue that died between claiming its unique key and putting its
/// job in leaves a pending claim and no job: a later enqueue with the key
/// takes the claim over once its grace is past, instead of answering with
/// the id of a job that does not exist (SPEC §4: an enqueue that exits 0
/// has its job in the broker).
#[test]
fn a_unique_key_claimed_by_an_enqueue_that_died_is_taken_over() {
    let env = Env::redis().jobs(JOBS);
    let mut redis = env.redis_conn();
    let key = format!("{{{}}}:unique:key:nightly-report", env.ns);
    let long_ago = (now_ms(&mut redis) - 60_000).to_string();
    let dead = "01930000-0000-7000-8000-000000000001";
    let claim = format!("p {long_ago} {dead} default");
    assert_eq!(redis.call(&["SET", &key, &claim, "PX", "3600000"]).expect("set"), "OK");

    let id = env.enqueue(&["report", "--key", "nightly-report"]);
    assert_ne!(id, dead, "the dead enqueue's id is not handed out");
    let again = env.enqueue(&["report", "--key", "nightly-report"]);
    assert_eq!(again, id, "the key is held by the new job now");
    let held = redis.call(&["GET", &key]).expect("get");
    assert!(held.starts_with("c ") && held.contains(&id), "confirmed for its window: {held}");
    let _worker = env.spawn(&["run"]);
    wait_until(SOON, "the job to run once", || env.lines("ran") == [id.clone()]);
}

/// An enqueue that died after putting its job in, before confirming its
/// claim: the job is there, so a later enqueue is its duplicate.
#[test]
fn a_pending_claim_whose_job_went_in_makes_a_duplicate() {
    let env = Env::redis().jobs(JOBS);
    let first = env.enqueue(&["report"]);
    let mut redis = env.redis_conn();
    let key = format!("{{{}}}:unique:key:weekly", env.ns);
    let claim = format!("p {} {first} default", now_ms(&mut redis) - 60_000);
    assert_eq!(redis.call(&["SET", &key, &claim, "PX", "3600000"]).expect("set"), "OK");
    let out = env.run(&["enqueue", "report", "--key", "weekly", "--json"]).success().get_output().stdout.clone();
    let out: serde_json::Value = serde_json::from_slice(&out).expect("json");
    assert_eq!((out["id"].as_str(), out["duplicate"].as_bool()), (Some(first.as_str()), Some(true)));
}

/// A hook job is put in its job's queue's outbox in the step that records
/// the outcome, then enqueued on its own queue; one a lost worker left in
/// the outbox is enqueued by any worker's maintenance once it is older than
/// a few seconds.
#[test]
fn a_hook_job_left_in_an_outbox_is_enqueued_by_maintenance() {
    let env = Env::redis().jobs(
        "[jobs.alert]\ncommand = \"echo $1 >> @DIR@/alerts\"\nqueue = \"alerts\"\n[jobs.idle]\ncommand = \"true\"\n",
    );
    // Written as the worker that recorded the outcome would have: the hook
    // job's id and request fields.
    let hook = "01930000-0000-7000-8000-0000000000aa";
    let entry = serde_json::json!({
        "id": hook,
        "fields": {"job": "alert", "queue": "alerts", "args": "[\"left behind\"]", "maxred": "3", "ttl": "86400000"}
    })
    .to_string();
    env.enqueue(&["idle"]); // the queue exists
    let mut redis = env.redis_conn();
    let outbox = format!("{{{}/default}}:outbox", env.ns);
    // stamped a minute ago: its worker had its chance
    let entry = format!("{} {entry}", now_ms(&mut redis) - 60_000);
    assert_eq!(redis.call(&["RPUSH", &outbox, &entry]).expect("rpush"), "1");
    let _worker = env.spawn(&["run", "-Q", "default,alerts"]);
    wait_until(SOON, "the hook job to run", || env.lines("alerts") == ["left behind"]);
    assert_eq!(env.state(hook), "succeeded");
    assert_eq!(redis.call(&["LLEN", &outbox]).expect("llen"), "0", "the outbox is emptied");
}

/// A workflow step job's outcome goes to its run through its queue's outbox
/// (the run lives in a slot of its own): one a lost worker left there is
/// applied by maintenance, and the run moves on to its next step.
#[test]
fn a_step_outcome_left_in_an_outbox_moves_its_run_on() {
    let env = Env::redis().jobs(
        "[jobs.extract]\ncommand = \"true\"\n[jobs.load]\ncommand = \"cp $TASKQ_PREV_OUTPUTS @DIR@/load.in\"\n[workflows.etl]\nsteps = [\"extract\", \"load\"]\n",
    );
    let run = env.enqueue(&["etl"]);
    let extract = env.status(&run)["steps"][0]["jobs"][0].as_str().expect("step 1's job").to_string();
    // As if a worker ran it, recorded it, and died before the run heard:
    // the job is gone from the queue, its outcome waits in the outbox.
    env.run(&["purge", "--queue", "default", "--yes"]).success();
    let report = serde_json::json!({
        "run": run, "step": 0, "id": extract, "job": "extract", "state": "succeeded",
        "output": "rows: 42\n", "truncated": false,
    });
    let mut redis = env.redis_conn();
    let outbox = format!("{{{}/default}}:outbox", env.ns);
    let entry = format!("{} @{report}", now_ms(&mut redis) - 60_000);
    assert_eq!(redis.call(&["RPUSH", &outbox, &entry]).expect("rpush"), "1");
    let _worker = env.spawn(&["run"]);
    wait_until(SOON, "the run to finish", || env.state(&run) == "succeeded");
    let load_in: serde_json::Value = serde_json::from_str(env.read("load.in").trim()).expect("one result");
    assert_eq!((load_in["id"].as_str(), load_in["output"].as_str()), (Some(extract.as_str()), Some("rows: 42\n")));
    assert_eq!(redis.call(&["LLEN", &outbox]).expect("llen"), "0", "the outbox is emptied");
}
