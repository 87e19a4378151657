//! The operator's actions through the API: retry, revoke (and kill),
//! purge, and schedules paused, resumed and triggered; each answered in
//! the command line's words, refused with the right status, and what a
//! viewer may not do.

use serde_json::{Value, json};

use super::{APP, BOARD, call, request, serve, users};
use crate::both;
use crate::common::{Env, SOON, wait_until};

both!(failed_jobs_are_retried_and_purged_and_jobs_revoked_through_the_api, |backend| {
    let env = Env::new(backend).jobs(
        "[jobs.fail]\ncommand = \"exit 3\"\n[jobs.a]\ncommand = \"true\"\n[jobs.slow]\ncommand = \"sleep 60\"\nqueue = \"slow\"\n",
    );
    let web = serve(&env, &["--no-auth"]);
    let api = format!("{}/api/v1", web.base);
    let failed = env.enqueue(&["fail"]);
    env.run(&["run", "--burst", "-Q", "default"]).success();
    assert_eq!(env.state(&failed), "failed");

    let (status, _, done) = call("POST", &format!("{api}/jobs/{failed}/retry"), None, None);
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["message"], format!("requeued {failed}"));
    assert_eq!(done["requeued"], json!([failed]));
    assert_eq!(env.state(&failed), "queued");
    let (status, _, error) = call("POST", &format!("{api}/jobs/{failed}/retry"), None, None);
    assert_eq!(status, 409, "a queued job is not retried: {error}");
    assert_eq!(error["error"], format!("job {failed} is queued, not failed; only failed jobs can be retried"));
    let unknown = "01a22854-91cd-7088-9204-f92a5fffb90c";
    let (status, _, error) = call("POST", &format!("{api}/jobs/{unknown}/retry"), None, None);
    assert_eq!(status, 404, "{error}");
    assert!(error["error"].as_str().unwrap_or_default().starts_with("unknown job id"), "{error}");
    assert_eq!(call("POST", &format!("{api}/jobs/nope/retry"), None, None).0, 400);

    // Failed again, then all failed jobs at once, then the failed set purged.
    env.run(&["run", "--burst", "-Q", "default"]).success();
    let (status, _, done) = call("POST", &format!("{api}/failed/retry"), None, None);
    assert_eq!((status, done["message"].as_str()), (200, Some("requeued 1 failed job")), "{done}");
    env.run(&["run", "--burst", "-Q", "default"]).success();
    let (status, _, done) = call("DELETE", &format!("{api}/failed"), None, None);
    assert_eq!((status, done["deleted"].as_u64()), (200, Some(1)), "{done}");
    env.run(&["list", "--state", "failed"]).success().stdout("");

    // Revoke: a queued job at once; again, refused as already revoked.
    let queued = env.enqueue(&["a"]);
    let (status, _, done) = call("POST", &format!("{api}/jobs/{queued}/revoke"), None, None);
    assert_eq!((status, done["message"].as_str()), (200, Some(format!("revoked {queued}").as_str())), "{done}");
    assert_eq!(env.state(&queued), "revoked");
    let (status, _, error) = call("POST", &format!("{api}/jobs/{queued}/revoke"), None, None);
    assert_eq!(status, 409, "{error}");
    assert!(error["error"].as_str().unwrap_or_default().contains("has already been revoked"), "{error}");

    // A running job: only with terminate, which its worker carries out.
    let slow = env.enqueue(&["slow"]);
    let _worker = env.spawn(&["run", "-Q", "slow"]);
    wait_until(SOON, "the slow job running", || env.state(&slow) == "running");
    let (status, _, error) = call("POST", &format!("{api}/jobs/{slow}/revoke"), None, None);
    assert_eq!(status, 409, "{error}");
    assert!(error["error"].as_str().unwrap_or_default().contains("pass --terminate to kill it"), "{error}");
    let (status, _, done) = call("POST", &format!("{api}/jobs/{slow}/revoke"), None, Some(r#"{"terminate": true}"#));
    assert_eq!(status, 202, "{done}");
    assert!(done["worker"].is_string(), "{done}");
    wait_until(SOON, "the slow job killed", || env.state(&slow) == "revoked");
    let (status, _, error) = call("POST", &format!("{api}/jobs/{slow}/revoke"), None, Some(r#"{"kill": 1}"#));
    assert_eq!(status, 400, "{error}");

    // The jobs queued on a queue.
    for _ in 0..3 {
        env.enqueue(&["a"]);
    }
    let (status, _, done) = call("DELETE", &format!("{api}/queues/default/jobs"), None, None);
    assert_eq!((status, done["deleted"].as_u64()), (200, Some(3)), "{done}");
    assert_eq!(call("DELETE", &format!("{api}/queues/no%20queue/jobs"), None, None).0, 400);
});

#[test]
fn schedules_are_paused_resumed_and_triggered_through_the_api() {
    let env = Env::sqlite().jobs("[jobs.tick]\ncommand = \"true\"\nevery = \"1h\"\n[jobs.plain]\ncommand = \"true\"\n");
    let web = serve(&env, &["--no-auth"]);
    let schedules = format!("{}/api/v1/schedules", web.base);
    let paused = || -> Value {
        let out = env.run(&["schedule", "list", "--json"]).success();
        let list: Value = serde_json::from_slice(&out.get_output().stdout).expect("JSON");
        list["schedules"][0]["paused"].clone()
    };
    let (status, _, done) = call("POST", &format!("{schedules}/tick/pause"), None, None);
    assert_eq!((status, done["changed"].as_bool()), (200, Some(true)), "{done}");
    assert!(done["message"].as_str().unwrap_or_default().starts_with("paused tick"), "{done}");
    assert_eq!(paused(), json!(true), "the command line sees the pause");
    let (_, _, list) = call("GET", &schedules, None, None);
    assert_eq!(list[0]["paused"], json!(true), "{list}");
    let (_, _, again) = call("POST", &format!("{schedules}/tick/pause"), None, None);
    assert_eq!((again["changed"].as_bool(), again["message"].as_str()), (Some(false), Some("tick was already paused")));
    let (status, _, _) = call("POST", &format!("{schedules}/tick/resume"), None, None);
    assert_eq!(status, 200);
    assert_eq!(paused(), json!(false));

    let (status, _, done) = call("POST", &format!("{schedules}/tick/trigger"), None, None);
    assert_eq!(status, 201, "{done}");
    assert_eq!(env.state(done["id"].as_str().expect("an id")), "queued");

    let (status, _, error) = call("POST", &format!("{schedules}/tik/pause"), None, None);
    assert_eq!((status, error["error"].as_str()), (400, Some("unknown schedule \"tik\" (did you mean \"tick\"?)")));
    let (status, _, error) = call("POST", &format!("{schedules}/plain/trigger"), None, None);
    assert_eq!(status, 400, "{error}");
    assert!(error["error"].as_str().unwrap_or_default().starts_with("\"plain\" has no schedule"), "{error}");
    assert_eq!(call("POST", &format!("{schedules}/tick/stop"), None, None).0, 404);
}

#[test]
fn a_viewer_reads_everything_and_changes_nothing() {
    let env =
        Env::sqlite().jobs("[jobs.fail]\ncommand = \"exit 1\"\n[jobs.tick]\ncommand = \"true\"\nevery = \"1h\"\n");
    let auth = users(&env);
    let web = serve(&env, &["--auth-file", &auth]);
    let api = format!("{}/api/v1", web.base);
    let id = env.enqueue(&["fail"]);
    env.run(&["run", "--burst"]).success();
    for path in ["/overview", "/queues", "/workers", "/schedules", "/jobs", &format!("/jobs/{id}"), "/openapi.json"] {
        let (status, _, body) = call("GET", &format!("{api}{path}"), BOARD, None);
        assert_eq!(status, 200, "{path}: {body}");
    }
    for (method, path, says) in [
        ("POST", format!("/jobs/{id}/retry"), "retrying needs the operator role"),
        ("POST", "/failed/retry".to_string(), "retrying needs the operator role"),
        ("POST", format!("/jobs/{id}/revoke"), "revoking needs the operator role"),
        ("DELETE", "/failed".to_string(), "purging needs the operator role"),
        ("DELETE", "/queues/default/jobs".to_string(), "purging needs the operator role"),
        ("POST", "/schedules/tick/pause".to_string(), "pausing a schedule needs the operator role"),
        ("POST", "/schedules/tick/trigger".to_string(), "triggering a schedule needs the operator role"),
    ] {
        let (status, _, error) = call(method, &format!("{api}{path}"), BOARD, None);
        assert_eq!((status, error["error"].as_str()), (403, Some(says)), "{method} {path}");
        assert_eq!(call(method, &format!("{api}{path}"), None, None).0, 401, "{method} {path} without a login");
    }
    assert_eq!(env.state(&id), "failed", "nothing changed");
    let (status, _, done) = call("POST", &format!("{api}/jobs/{id}/retry"), APP, None);
    assert_eq!(status, 200, "an operator may: {done}");
    // The overview is `inspect --json`'s.
    let reply = request("GET", &format!("{api}/overview"), BOARD, &[], None);
    let overview = reply.json();
    assert!(overview["queues"].is_array() && overview["schedules"][0]["name"] == "tick", "{overview}");
}

both!(a_workflow_started_through_the_api_runs_and_its_steps_are_shown, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.validate]
command = "echo order-{{ order }}"
params.order = { type = "int" }
[jobs.charge]
command = "echo charged"
[workflows.checkout]
steps = ["validate", "charge"]
"#,
    );
    let web = serve(&env, &["--no-auth"]);
    let api = format!("{}/api/v1", web.base);
    let (status, _, started) =
        call("POST", &format!("{api}/jobs"), None, Some(r#"{"job": "checkout", "params": {"order": 42}}"#));
    assert_eq!(status, 201, "{started}");
    assert_eq!(started["workflow"], "checkout");
    let run = started["id"].as_str().expect("the run's id").to_string();
    let status_of = |id: &str| {
        let out = env.run(&["status", "--json", id]).success();
        serde_json::from_slice::<Value>(&out.get_output().stdout).expect("JSON")
    };
    assert_eq!(status_of(&run)["state"], "running", "the command line sees the run");
    env.run(&["run", "--burst"]).success();
    wait_until(SOON, "the run to succeed", || status_of(&run)["state"] == "succeeded");
    let (status, _, read) = call("GET", &format!("{api}/jobs/{run}"), None, None);
    assert_eq!(status, 200, "{read}");
    assert_eq!(read, status_of(&run), "the API's run is what status --json prints");
    assert_eq!(read["steps"][1]["state"], "succeeded", "{read}");
    let (_, _, runs) = call("GET", &format!("{api}/runs?workflow=checkout"), None, None);
    assert_eq!(runs[0]["id"], json!(run), "{runs}");

    let page = request("GET", &format!("{}/jobs/{run}", web.base), None, &[], None);
    assert!(page.text.contains("validate") && page.text.contains("1 of 1 succeeded"), "{}", page.text);
    let list = request("GET", &format!("{}/workflows", web.base), None, &[], None);
    assert!(list.text.contains(&run), "{}", list.text);

    for (body, says) in [
        (
            r#"{"job": "checkout", "params": {"order": 1}, "args": ["x"]}"#,
            "\"checkout\" is a workflow: it takes no \"args\"",
        ),
        (r#"{"job": "checkout", "params": {"order": 1}, "queue": "q"}"#, "it takes no \"queue\""),
        (r#"{"job": "checkout"}"#, "order"),
        (r#"{"job": "checkout", "params": {"order": "x"}}"#, "order"),
    ] {
        let (status, _, error) = call("POST", &format!("{api}/jobs"), None, Some(body));
        assert_eq!(status, 400, "{body}: {error}");
        assert!(error["error"].as_str().unwrap_or_default().contains(says), "{body}: {error}");
    }
});
