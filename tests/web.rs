//! `taskq web` with the real binary and a real HTTP client: jobs enqueued
//! over HTTP run on a worker, each role's allowed and refused requests, bad
//! input answered 400 with the command line's message, and the server's
//! own refusals to start; the operator's actions (actions.rs), the pages
//! without JavaScript and what guards them (pages.rs), and the event
//! streams and the OpenAPI document (events.rs).

mod actions;
mod events;
mod pages;
mod server;

use std::time::Duration;

use serde_json::{Value, json};

use crate::both;
use crate::common::env::Proc;
use crate::common::{Env, SOON, wait_until};

/// A running `taskq web` and where it listens.
struct Server {
    proc: Proc,
    base: String,
}

/// Starts `taskq web` on a free loopback port with `extra` flags, and waits
/// until it says where it listens.
fn serve(env: &Env, extra: &[&str]) -> Server {
    let mut args = vec!["web", "--listen", "127.0.0.1:0"];
    args.extend_from_slice(extra);
    let proc = env.spawn(&args);
    let mut base = String::new();
    wait_until(SOON, "taskq web listening", || {
        let log = proc.stderr();
        let Some(at) = log.find("serving the dashboard at ") else { return false };
        let rest = &log[at + "serving the dashboard at ".len()..];
        let Some(scheme) = rest.find("://") else { return false };
        if let Some(end) = rest[scheme + 3..].find('/') {
            base = rest[..scheme + 3 + end].to_string();
            return true;
        }
        false
    });
    Server { proc, base }
}

/// Writes an auth file of an operator `app` (password `s3cret`) and a
/// viewer `board` (password `look`), hashed by `taskq web hash-password`.
fn users(env: &Env) -> String {
    let hash = |password: &str| {
        let out = env.run_with_input(&["web", "hash-password"], &format!("{password}\n")).success();
        String::from_utf8_lossy(&out.get_output().stdout).trim().to_string()
    };
    let (app, board) = (hash("s3cret"), hash("look"));
    assert!(app.starts_with("$argon2id$"), "{app}");
    env.write("web-users", &format!("# the API's users\napp operator {app}\nboard viewer {board}\n"));
    env.path("web-users").display().to_string()
}

/// One request: its status, `WWW-Authenticate` header and JSON body.
fn call(method: &str, url: &str, auth: Option<(&str, &str)>, body: Option<&str>) -> (u16, Option<String>, Value) {
    taskq::tls::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::new();
        let mut request = client.request(method.parse().expect("method"), url).timeout(Duration::from_secs(30));
        if let Some((user, password)) = auth {
            request = request.basic_auth(user, Some(password));
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        let response = request.send().await.expect("the server answers");
        let status = response.status().as_u16();
        let challenge = response.headers().get("www-authenticate").map(|h| h.to_str().unwrap_or_default().to_string());
        let text = response.text().await.expect("a body");
        (status, challenge, serde_json::from_str(&text).unwrap_or(Value::String(text)))
    })
}

/// A reply as a browser or a client sees it.
struct Reply {
    status: u16,
    headers: reqwest::header::HeaderMap,
    text: String,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|h| h.to_str().ok()).unwrap_or_default()
    }

    fn json(&self) -> Value {
        serde_json::from_str(&self.text).unwrap_or(Value::String(self.text.clone()))
    }
}

/// One request with extra headers and a body of a content type, redirects
/// not followed (a form's 303 is what the test sees).
fn request(
    method: &str,
    url: &str,
    auth: Option<(&str, &str)>,
    headers: &[(&str, &str)],
    body: Option<(&str, &str)>,
) -> Reply {
    taskq::tls::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client");
        let mut request = client.request(method.parse().expect("method"), url).timeout(Duration::from_secs(30));
        if let Some((user, password)) = auth {
            request = request.basic_auth(user, Some(password));
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        if let Some((kind, body)) = body {
            request = request.header("content-type", kind).body(body.to_string());
        }
        let response = request.send().await.expect("the server answers");
        let (status, headers) = (response.status().as_u16(), response.headers().clone());
        Reply { status, headers, text: response.text().await.expect("a body") }
    })
}

const APP: Option<(&str, &str)> = Some(("app", "s3cret"));
const BOARD: Option<(&str, &str)> = Some(("board", "look"));

both!(a_job_enqueued_over_http_runs_on_a_worker_and_its_result_is_read_back, |backend| {
    let env = Env::new(backend)
        .jobs("[jobs.greet]\ncommand = \"echo hello {{name}} $1\"\nparams = { name = { type = \"word\" } }\n");
    let auth = users(&env);
    let web = serve(&env, &["--auth-file", &auth]);
    let body = json!({ "job": "greet", "args": ["there"], "params": { "name": "ann" } }).to_string();
    let (status, _, created) = call("POST", &format!("{}/api/v1/jobs", web.base), APP, Some(&body));
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["duplicate"], false);
    let id = created["id"].as_str().expect("an id").to_string();
    assert_eq!(env.state(&id), "queued", "the CLI sees the job the API enqueued");

    env.run(&["run", "--burst"]).success();
    let (status, _, job) = call("GET", &format!("{}/api/v1/jobs/{id}", web.base), BOARD, None);
    assert_eq!(status, 200, "{job}");
    assert_eq!((job["state"].as_str(), job["output"].as_str()), (Some("succeeded"), Some("hello ann there\n")));
    assert_eq!(job, env.status(&id), "the API's job is what status --json prints");
    let (status, _, by_prefix) = call("GET", &format!("{}/api/v1/jobs/{}", web.base, &id[..13]), BOARD, None);
    assert_eq!((status, &by_prefix), (200, &job), "its first characters name it, as on the command line");

    let (status, _, list) = call("GET", &format!("{}/api/v1/jobs?state=succeeded&job=greet", web.base), BOARD, None);
    assert_eq!(status, 200, "{list}");
    assert_eq!(list.as_array().map(|l| l.iter().map(|j| j["id"].clone()).collect::<Vec<_>>()), Some(vec![json!(id)]));

    // An idempotency key held by an earlier job answers that job's id, 200.
    let keyed = json!({ "job": "greet", "params": { "name": "bo" }, "key": "order-7" }).to_string();
    let (first, _, one) = call("POST", &format!("{}/api/v1/jobs", web.base), APP, Some(&keyed));
    let (again, _, two) = call("POST", &format!("{}/api/v1/jobs", web.base), APP, Some(&keyed));
    assert_eq!((first, again), (201, 200));
    assert_eq!((one["id"].clone(), two["duplicate"].clone()), (two["id"].clone(), json!(true)));
});

#[test]
fn each_role_is_let_in_or_refused_as_it_should_be() {
    let env = Env::sqlite().jobs("[jobs.a]\ncommand = \"true\"\n");
    let auth = users(&env);
    let web = serve(&env, &["--auth-file", &auth]);
    let jobs = format!("{}/api/v1/jobs", web.base);
    let body = Some(r#"{"job": "a"}"#);
    for who in [None, Some(("app", "wrong")), Some(("nobody", "s3cret"))] {
        let (status, challenge, error) = call("GET", &jobs, who, None);
        assert_eq!(status, 401, "{who:?}: {error}");
        assert_eq!(challenge.as_deref(), Some("Basic realm=\"taskq\""));
        assert!(error["error"].as_str().unwrap_or_default().starts_with("authentication required"), "{error}");
        assert_eq!(call("POST", &jobs, who, body).0, 401);
    }
    assert_eq!(call("GET", &jobs, BOARD, None).0, 200, "a viewer reads");
    let (status, _, error) = call("POST", &jobs, BOARD, body);
    assert_eq!((status, error["error"].as_str()), (403, Some("enqueueing needs the operator role")));
    assert_eq!(call("POST", &jobs, APP, body).0, 201, "an operator enqueues");
    // A bearer token is a user and its secret.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let status = runtime.block_on(async {
        taskq::tls::install_crypto_provider();
        reqwest::Client::new().get(&jobs).bearer_auth("board:look").send().await.expect("answers").status().as_u16()
    });
    assert_eq!(status, 200);
}

#[test]
fn bad_requests_are_answered_400_with_the_command_lines_message() {
    let env = Env::sqlite().jobs("[jobs.greet]\ncommand = \"echo {{n}}\"\nparams = { n = { type = \"int\" } }\n");
    let web = serve(&env, &["--no-auth"]);
    let jobs = format!("{}/api/v1/jobs", web.base);
    let cli = |args: &[&str]| {
        let out = env.run(args).code(2);
        String::from_utf8_lossy(&out.get_output().stderr).trim().trim_start_matches("error: ").to_string()
    };
    for (body, same_as) in [
        (r#"{"job": "nope"}"#, cli(&["enqueue", "nope"])),
        (r#"{"job": "greet", "params": {"n": "x"}}"#, cli(&["enqueue", "greet", "-p", "n=x"])),
        (r#"{"job": "greet"}"#, cli(&["enqueue", "greet"])),
        (r#"{"job": "greet", "params": {"n": 1, "m": 2}}"#, cli(&["enqueue", "greet", "-p", "n=1", "-p", "m=2"])),
    ] {
        let (status, _, error) = call("POST", &jobs, None, Some(body));
        assert_eq!((status, error["error"].as_str()), (400, Some(same_as.as_str())), "{body}");
    }
    for (body, says) in [
        (r#"{"job": "greet", "params": {"n": 1}, "delay": "soon"}"#, "\"delay\": invalid duration \"soon\""),
        (r#"{"job": "greet", "params": {"n": 1}, "delay": "1s", "at": "2030-01-01T00:00:00Z"}"#, "not both"),
        (r#"{"job": "greet", "params": {"n": 1}, "retries": 3}"#, "unknown field `retries`"),
        (r#"{"job": "greet", "params": {"n": [1]}}"#, "parameter \"n\" must be a string, a number or a boolean"),
        (r#"{"job": "greet""#, "EOF"),
    ] {
        let (status, _, error) = call("POST", &jobs, None, Some(body));
        assert_eq!(status, 400, "{body}: {error}");
        assert!(error["error"].as_str().unwrap_or_default().contains(says), "{body}: {error}");
    }
    let (status, _, error) = call("GET", &format!("{jobs}/not-an-id"), None, None);
    assert_eq!(status, 400, "{error}");
    let unknown = "01a22854-91cd-7088-9204-f92a5fffb90c";
    let (status, _, error) = call("GET", &format!("{jobs}/{unknown}"), None, None);
    assert_eq!((status, error["error"].as_str()), (404, Some(cli(&["status", unknown]).as_str())));
    let (status, _, error) = call("GET", &format!("{jobs}?state=done"), None, None);
    assert_eq!(status, 400, "{error}");
    assert!(error["error"].as_str().unwrap_or_default().contains("unknown state \"done\""), "{error}");
}

#[test]
fn the_server_refuses_to_start_without_a_way_to_authenticate() {
    let env = Env::sqlite().jobs("[jobs.a]\ncommand = \"true\"\n");
    env.run(&["web"]).code(2).stderr(predicates::str::contains("taskq web needs --auth-file FILE"));
    env.run(&["web", "--no-auth", "--listen", "0.0.0.0:0"])
        .code(2)
        .stderr(predicates::str::contains("--no-auth is only allowed on a loopback address, not 0.0.0.0:0"));
    env.write("bad-users", "app admin $argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA\n");
    env.run(&["web", "--auth-file", &env.path("bad-users").display().to_string()])
        .code(78)
        .stderr(predicates::str::contains("bad-users:1: unknown role \"admin\": use viewer or operator"));
    env.run_with_input(&["web", "hash-password"], "").code(2).stderr(predicates::str::contains("no password on stdin"));
}

#[test]
fn failed_logins_are_limited_per_client() {
    let env = Env::sqlite().jobs("[jobs.a]\ncommand = \"true\"\n");
    let auth = users(&env);
    let web = serve(&env, &["--auth-file", &auth]);
    let jobs = format!("{}/api/v1/jobs", web.base);
    // Right passwords sent all at once (an application's workers) are all
    // let in: only failures count.
    let parallel: Vec<u16> = std::thread::scope(|scope| {
        let calls: Vec<_> = (0..12).map(|_| scope.spawn(|| call("GET", &jobs, APP, None).0)).collect();
        calls.into_iter().map(|c| c.join().expect("a call")).collect()
    });
    assert!(parallel.iter().all(|s| *s == 200), "{parallel:?}");
    for _ in 0..10 {
        assert_eq!(call("GET", &jobs, Some(("board", "guess")), None).0, 401);
    }
    let (status, _, error) = call("GET", &jobs, BOARD, None);
    assert_eq!(status, 429, "{error}");
    assert!(
        error["error"].as_str().unwrap_or_default().starts_with("too many failed logins as \"board\" from 127.0.0.1"),
        "{error}"
    );
    // Blocked means blocked: the right password learns nothing either, so
    // guesses cannot go on at the speed of a cache.
    assert_eq!(call("GET", &jobs, Some(("board", "look")), None).0, 429);
    // Guesses at one user do not lock the others out.
    assert_eq!(call("GET", &jobs, APP, None).0, 200);
}

#[test]
fn sighup_reads_the_auth_file_again() {
    let env = Env::sqlite().jobs("[jobs.a]\ncommand = \"true\"\n");
    let auth = users(&env);
    let web = serve(&env, &["--auth-file", &auth]);
    let jobs = format!("{}/api/v1/jobs", web.base);
    assert_eq!(call("GET", &jobs, APP, None).0, 200);
    // "app" removed, "ops" added.
    let out = env.run_with_input(&["web", "hash-password"], "opspw\n").success();
    let hash = String::from_utf8_lossy(&out.get_output().stdout).trim().to_string();
    let kept: String =
        env.read("web-users").lines().filter(|l| !l.starts_with("app ")).map(|l| format!("{l}\n")).collect();
    env.write("web-users", &format!("{kept}ops operator {hash}\n"));
    web.proc.signal(rustix::process::Signal::HUP);
    wait_until(SOON, "the reload", || web.proc.stderr().contains("auth file reloaded"));
    assert_eq!(call("GET", &jobs, Some(("ops", "opspw")), None).0, 200, "an added user is let in");
    assert_eq!(call("GET", &jobs, APP, None).0, 401, "a removed user is not, even one let in before");
    env.write("web-users", "broken\n");
    web.proc.signal(rustix::process::Signal::HUP);
    wait_until(SOON, "the bad file reported", || web.proc.stderr().contains("keeping the users read before"));
    assert_eq!(call("GET", &jobs, Some(("ops", "opspw")), None).0, 200);
}

#[test]
fn headers_naming_no_user_cost_no_try_and_no_auth_answers_loopback_names_only() {
    let env = Env::sqlite().jobs("[jobs.a]\ncommand = \"true\"\n");
    let auth = users(&env);
    let web = serve(&env, &["--auth-file", &auth]);
    let jobs = format!("{}/api/v1/jobs", web.base);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    taskq::tls::install_crypto_provider();
    let junk = |url: &str, header: (&str, &str)| {
        runtime.block_on(async {
            let response = reqwest::Client::new().get(url).header(header.0, header.1).send().await.expect("answers");
            response.status().as_u16()
        })
    };
    for _ in 0..20 {
        assert_eq!(junk(&jobs, ("authorization", "x")), 401);
    }
    assert_eq!(call("GET", &jobs, APP, None).0, 200, "junk headers used up no try of the address");

    let open = serve(&env, &["--no-auth"]);
    let open_jobs = format!("{}/api/v1/jobs", open.base);
    assert_eq!(call("GET", &open_jobs, None, None).0, 200);
    assert_eq!(junk(&open_jobs, ("host", "attacker.example:5555")), 421, "a rebound name is refused");
    assert_eq!(junk(&open_jobs, ("host", "localhost:5555")), 200);
}

#[test]
fn a_job_whose_record_is_not_kept_reads_as_succeeded_and_unique_for_needs_a_key() {
    let env = Env::sqlite().jobs("[jobs.quiet]\ncommand = \"true\"\nignore_result = true\n");
    let web = serve(&env, &["--no-auth"]);
    let jobs = format!("{}/api/v1/jobs", web.base);
    let (status, _, created) = call("POST", &jobs, None, Some(r#"{"job": "quiet"}"#));
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().expect("an id").to_string();
    env.run(&["run", "--burst"]).success();
    let (status, _, job) = call("GET", &format!("{jobs}/{id}"), None, None);
    assert_eq!((status, job["state"].as_str()), (200, Some("succeeded")), "{job}");
    let (status, _, error) = call("POST", &jobs, None, Some(r#"{"job": "quiet", "unique_for": "10m"}"#));
    assert_eq!(status, 400, "{error}");
    assert!(error["error"].as_str().unwrap_or_default().contains("give a key too"), "{error}");
}
