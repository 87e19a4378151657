//! HTTP jobs against a real local server: rendering, success by status,
//! and which failures are retryable.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use predicates::prelude::*;
use taskq::config::Config;
use taskq::exec::output::Discard;
use taskq::exec::{Attempt, Executor};
use taskq::job::{JobId, Outcome, RunStatus};

use crate::common::{Env, HttpServer};

/// Runs job `name` of `toml` once through the executor.
async fn attempt(toml: &str, name: &str, params: &[(&str, &str)]) -> Outcome {
    let config = Config::parse(Path::new("jobs.toml"), toml).unwrap_or_else(|e| panic!("{e:?}"));
    let def = config.job(name).unwrap();
    let given: BTreeMap<String, String> = params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let params = def.resolve_params(&given).unwrap();
    let attempt = Attempt {
        def,
        id: JobId::new(),
        args: &[],
        params: &params,
        number: 1,
        queue: &def.queue,
        scheduled_at: None,
        workflow_run: None,
        extra_env: &BTreeMap::new(),
    };
    // The `${VAR}`s these jobs read, without touching the process's
    // environment that other test threads read.
    let vars = |name: &str| (name == "TASKQ_TEST_TOKEN").then(|| "s3cret".to_string());
    let executor = Executor::new().with_vars(std::sync::Arc::new(vars));
    executor.run(&attempt, &Discard, &taskq::exec::Kill::new()).await
}

fn job(url: &str, extra: &str) -> String {
    format!("[jobs.call]\nhttp = {{ url = \"{url}\" }}\n{extra}\n")
}

#[tokio::test]
async fn success_is_any_2xx_or_the_listed_statuses() {
    let server = HttpServer::start();
    let ok = attempt(&job(&server.url("/ok"), ""), "call", &[]).await;
    assert_eq!((ok.status, ok.http_status()), (RunStatus::Succeeded, Some(200)));
    assert_eq!(ok.output, b"ok");
    let created = attempt(&job(&server.url("/status/201"), ""), "call", &[]).await;
    assert_eq!(created.status, RunStatus::Succeeded);
    let strict = attempt(&job(&server.url("/status/200"), "success_status = [204]"), "call", &[]).await;
    assert_eq!((strict.status, strict.retryable), (RunStatus::Failed, false));
    let listed = attempt(&job(&server.url("/status/404"), "success_status = [404]"), "call", &[]).await;
    assert_eq!(listed.status, RunStatus::Succeeded);
}

#[tokio::test]
async fn retryable_failures_are_connect_errors_timeouts_408_429_and_5xx() {
    let server = HttpServer::start();
    for (code, retryable) in
        [(400, false), (404, false), (408, true), (429, true), (500, true), (503, true), (301, false)]
    {
        let out = attempt(&job(&server.url(&format!("/status/{code}")), ""), "call", &[]).await;
        assert_eq!(out.status, RunStatus::Failed, "status {code}");
        assert_eq!(out.http_status(), Some(code), "status {code}");
        assert_eq!(out.retryable, retryable, "status {code}");
        assert!(out.error.as_deref().unwrap().starts_with(&format!("HTTP status {code}")), "{:?}", out.error);
    }
    let port = crate::common::redis::free_port();
    let refused = attempt(&job(&format!("http://127.0.0.1:{port}/x"), ""), "call", &[]).await;
    assert_eq!((refused.status, refused.retryable, refused.http_status()), (RunStatus::Failed, true, None));
    assert!(refused.error.as_deref().unwrap().starts_with("connection failed"), "{:?}", refused.error);

    let slow = attempt(&job(&server.url("/slow/5000"), "timeout = \"300ms\""), "call", &[]).await;
    assert_eq!((slow.status, slow.retryable), (RunStatus::TimedOut, true));
    assert!(slow.duration() < Duration::from_secs(3));
}

#[tokio::test]
async fn retry_after_is_read() {
    let server = HttpServer::start();
    let out = attempt(&job(&server.url("/status/503?retry_after=2"), ""), "call", &[]).await;
    assert_eq!(out.retry_after(), Some(Duration::from_secs(2)));
    let dated =
        attempt(&job(&server.url("/status/429?retry_after=Wed,%2021%20Oct%202015%2007:28:00%20GMT"), ""), "call", &[])
            .await;
    assert_eq!(dated.retry_after(), Some(Duration::ZERO));
}

#[tokio::test]
async fn requests_are_rendered_safely() {
    let server = HttpServer::start();
    let toml = format!(
        r#"
[jobs.call]
[jobs.call.http]
method = "post"
url = "{}/echo/{{{{sku}}}}?q={{{{sku}}}}"
headers = {{ Authorization = "Bearer ${{TASKQ_TEST_TOKEN}}", X-Sku = "{{{{sku}}}}" }}
json = {{ sku = "{{{{sku}}}}", n = 3, nested = {{ list = ["{{{{sku}}}}", true] }} }}
"#,
        server.base
    );
    let sku = "a/b c\"&=${TASKQ_TEST_TOKEN}";
    let out = attempt(&toml, "call", &[("sku", sku)]).await;
    assert_eq!(out.status, RunStatus::Succeeded, "{:?}", out.error);
    let req = server.requests().pop().unwrap();
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.target,
        "/echo/a%2Fb%20c%22%26%3D%24%7BTASKQ_TEST_TOKEN%7D?q=a%2Fb%20c%22%26%3D%24%7BTASKQ_TEST_TOKEN%7D"
    );
    assert_eq!(req.headers["authorization"], "Bearer s3cret");
    assert_eq!(req.headers["x-sku"], sku, "headers take values verbatim, never expanded");
    assert_eq!(req.headers["content-type"], "application/json");
    let body: serde_json::Value = serde_json::from_str(&req.body).unwrap();
    assert_eq!(body, serde_json::json!({ "sku": sku, "n": 3, "nested": { "list": [sku, true] } }));

    let raw = format!(
        "[jobs.call]\nhttp = {{ url = \"{}/echo\", method = \"PUT\", body = \"id={{{{id}}}}\" }}\n",
        server.base
    );
    attempt(&raw, "call", &[("id", "1 2")]).await;
    assert_eq!(server.requests().pop().unwrap().body, "id=1 2");
}

// See: the hostile-input issue, item 4 (on a 302 to another origin, an
// `X-Api-Key = "${TOKEN}"` went along).
#[tokio::test]
async fn the_jobs_headers_go_only_to_its_own_origin_across_redirects() {
    let (server, other) = (HttpServer::start(), HttpServer::start());
    let call = |url: String| {
        format!(
            "[jobs.call]\n[jobs.call.http]\nmethod = \"POST\"\nurl = \"{url}\"\njson = {{ a = 1 }}\n\
             headers = {{ X-Api-Key = \"${{TASKQ_TEST_TOKEN}}\", Authorization = \"Bearer ${{TASKQ_TEST_TOKEN}}\" }}\n"
        )
    };
    // 307 to another origin without a body: followed, the job's headers not sent.
    let get = call(server.url(&format!("/redirect/307?to={}/echo", other.base)))
        .replace("method = \"POST\"", "method = \"GET\"")
        .replace("json = { a = 1 }\n", "");
    let out = attempt(&get, "call", &[]).await;
    assert_eq!(out.status, RunStatus::Succeeded, "{:?}", out.error);
    let req = other.requests().pop().unwrap();
    assert_eq!(req.method.as_str(), "GET");
    assert!(!format!("{:?}", req.headers).contains("s3cret"), "{:?}", req.headers);
    // With a body (which can hold a secret too): not followed, not retried.
    let out = attempt(&call(server.url(&format!("/redirect/307?to={}/echo", other.base))), "call", &[]).await;
    assert_eq!((out.status, out.retryable), (RunStatus::Failed, false));
    assert!(out.error.as_deref().unwrap_or_default().contains("which would be sent the job's body"), "{:?}", out.error);
    assert_eq!(other.requests().len(), 1, "the body never left for the other origin");
    // 307 within the origin keeps method, body and headers.
    let out = attempt(&call(server.url("/redirect/307?to=/echo")), "call", &[]).await;
    assert_eq!(out.status, RunStatus::Succeeded, "{:?}", out.error);
    let req = server.requests().pop().unwrap();
    assert_eq!((req.method.as_str(), req.body.as_str()), ("POST", "{\"a\":1}"));
    assert_eq!(req.headers.get("content-type").map(String::as_str), Some("application/json"));
    assert_eq!(req.headers["x-api-key"], "s3cret");
    // The same origin keeps them; a 302 turns the POST into a GET without a body.
    let out = attempt(&call(server.url("/redirect/302?to=/echo")), "call", &[]).await;
    assert_eq!(out.status, RunStatus::Succeeded, "{:?}", out.error);
    let req = server.requests().pop().unwrap();
    assert_eq!((req.method.as_str(), req.body.as_str()), ("GET", ""));
    assert_eq!(req.headers["x-api-key"], "s3cret");
    // A loop, and a redirect away from HTTP, fail without retrying.
    let looped = attempt(&job(&server.url("/redirect/302"), ""), "call", &[]).await;
    assert_eq!((looped.status, looped.retryable), (RunStatus::Failed, false));
    assert_eq!(looped.error.as_deref(), Some("more than 10 redirects"));
    let file = attempt(&job(&server.url("/redirect/301?to=file:///etc/passwd"), ""), "call", &[]).await;
    assert_eq!((file.status, file.retryable), (RunStatus::Failed, false));
    assert!(file.error.as_deref().unwrap_or_default().contains("a file URL"), "{:?}", file.error);
}

#[tokio::test]
async fn an_unset_variable_fails_before_any_request() {
    let server = HttpServer::start();
    let toml = format!(
        "[jobs.call]\nhttp = {{ url = \"{}/ok\", headers = {{ A = \"${{TASKQ_TEST_UNSET}}\" }} }}\n",
        server.base
    );
    let out = attempt(&toml, "call", &[]).await;
    assert_eq!((out.status, out.retryable), (RunStatus::NotStarted, false));
    assert!(out.error.unwrap().contains("\"TASKQ_TEST_UNSET\" is not set"));
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_url_that_is_not_one_fails_before_any_request_literal_or_filled_in() {
    // A URL without a placeholder is parsed once, when the config is read;
    // one with a placeholder, for each run. A bad one of either kind does
    // not start, and says so the same way.
    for (url, params) in
        [("http://127.0.0.1:99999/x", vec![]), ("http://127.0.0.1:{{port}}/x", vec![("port", "99999")])]
    {
        let out = attempt(&job(url, ""), "call", &params).await;
        assert_eq!((out.status, out.retryable), (RunStatus::NotStarted, false), "{url}");
        let error = out.error.unwrap_or_default();
        assert!(error.contains("the job's url is not a valid URL once filled in"), "{url}: {error}");
    }
}

#[test]
fn exec_exits_with_the_http_outcome() {
    let server = HttpServer::start();
    let env = Env::sqlite().jobs(&format!(
        "[jobs.ok]\nhttp = {{ url = \"{0}/ok\" }}\n[jobs.missing]\nhttp = {{ url = \"{0}/status/404\" }}\n[jobs.slow]\nhttp = {{ url = \"{0}/slow/5000\" }}\ntimeout = \"300ms\"\n",
        server.base
    ));
    env.run(&["exec", "ok"]).success().stdout("ok");
    env.run(&["exec", "missing"]).code(1).stderr("error: job \"missing\" failed: HTTP status 404 Not Found\n");
    env.run(&["exec", "slow"]).code(124).stderr("error: job \"slow\" timed out after 300ms\n");
    env.run(&["exec", "ok", "-p", "x=1"])
        .code(2)
        .stderr(predicate::str::contains("has no parameter \"x\" (it takes none)"));
}
