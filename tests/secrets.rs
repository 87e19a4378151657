//! The secret-leak test: one run of every command, with a known secret in a
//! `${VAR}` the jobs use (in URLs, headers, JSON bodies and `env`) and
//! another as the broker's password, through successes, failures, HTTP
//! errors, connect errors, redirect loops and broker errors, at the most
//! verbose logging in both formats. Neither secret may appear in anything
//! taskq prints, logs or serves.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::env::Proc;
use crate::common::redis::free_port;
use crate::common::{Env, HttpServer, RedisServer, wait_until};

const TOKEN: &str = "tok-9f8e7d6c5b4a3";
const PASSWORD: &str = "pw-1a2b3c4d5e6f7";
/// Given as a password the server does not accept: must not be echoed either.
const WRONG: &str = "pw-wrong-0a9b8c7d";

/// Everything one invocation showed: stdout and stderr.
struct Seen {
    what: String,
    text: String,
}

/// Runs `taskq ARGS...` with the secret in its environment; any exit code.
fn run(env: &Env, seen: &mut Vec<Seen>, args: &[&str]) -> (Option<i32>, String) {
    run_with(env, seen, args, &[])
}

fn run_with(env: &Env, seen: &mut Vec<Seen>, args: &[&str], vars: &[(&str, &str)]) -> (Option<i32>, String) {
    let mut cmd = env.command();
    cmd.env("TOKEN", TOKEN).envs(vars.iter().copied()).args(args);
    let out = assert_cmd::Command::from_std(cmd).timeout(Duration::from_secs(60)).output().expect("run taskq");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let text = format!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    seen.push(Seen { what: format!("{vars:?} {args:?}"), text });
    (out.status.code(), stdout)
}

/// `run` under each of the verbose, verbose-JSON and plain log settings,
/// and with every library's trace logs on (`TASKQ_LOG=trace`).
fn run_every_way(env: &Env, seen: &mut Vec<Seen>, args: &[&str]) {
    for extra in [&["-vvv"][..], &["-vvv", "--log-format", "json"], &[]] {
        run(env, seen, &[extra, args].concat());
    }
    run_with(env, seen, args, &[("TASKQ_LOG", "trace")]);
}

fn spawn(env: &Env, args: &[&str]) -> Proc {
    env.spawn_with(args, &[("TOKEN", TOKEN)])
}

fn metrics(addr: &str) -> String {
    let Ok(mut stream) = TcpStream::connect(addr) else { return String::new() };
    let _ = stream.write_all(b"GET /metrics HTTP/1.0\r\nHost: taskq\r\n\r\n");
    let mut body = String::new();
    let _ = stream.read_to_string(&mut body);
    body
}

fn assert_no_secret(seen: &[Seen]) {
    if let Ok(path) = std::env::var("TASKQ_SECRETS_DUMP") {
        let all: Vec<String> = seen.iter().map(|s| format!("=== {}\n{}", s.what, s.text)).collect();
        let _ = std::fs::write(path, all.join("\n"));
    }
    for s in seen {
        for secret in [TOKEN, PASSWORD, WRONG] {
            assert!(!s.text.contains(secret), "{} showed the secret {secret:?}:\n{}", s.what, s.text);
        }
    }
}

#[test]
fn no_secret_reaches_any_output() {
    let http = HttpServer::start();
    let redis = RedisServer::start_with(&["--requirepass", PASSWORD]);
    let env = Env::with_broker(&redis.url_as("", PASSWORD)).jobs(&format!(
        r#"
[jobs.call]
params = {{ n = {{ type = "int", default = 1 }} }}
[jobs.call.http]
method = "POST"
url = "{base}/ok?key=${{TOKEN}}&n={{{{n}}}}"
headers = {{ X-Api-Key = "${{TOKEN}}", Authorization = "Bearer ${{TOKEN}}" }}
json = {{ token = "${{TOKEN}}", n = "{{{{n}}}}" }}

[jobs.server-error]
http = {{ method = "GET", url = "{base}/status/500?key=${{TOKEN}}", headers = {{ X-Api-Key = "${{TOKEN}}" }} }}

[jobs.refused]
http = {{ method = "GET", url = "http://127.0.0.1:{closed}/x?key=${{TOKEN}}", headers = {{ X-Api-Key = "${{TOKEN}}" }} }}

[jobs.loop]
http = {{ method = "GET", url = "{base}/redirect/302?key=${{TOKEN}}", headers = {{ X-Api-Key = "${{TOKEN}}" }} }}

[jobs.shell-fails]
command = "echo working; exit 3"
env = {{ T = "${{TOKEN}}" }}

[jobs.slow]
command = "sleep 30"
env = {{ T = "${{TOKEN}}" }}

[jobs.tick]
command = "true"
env = {{ T = "${{TOKEN}}" }}
every = "1s"
"#,
        base = http.base,
        closed = free_port(),
    ));
    let jobs = ["call", "server-error", "refused", "loop", "shell-fails"];
    let mut seen = Vec::new();

    for help in [&["--help"][..], &["-h"], &["list", "--help"], &["enqueue", "-h"]] {
        run(&env, &mut seen, help);
    }
    run_every_way(&env, &mut seen, &["check"]);
    run(&env, &mut seen, &["check", "--json"]);
    for job in jobs {
        run_every_way(&env, &mut seen, &["exec", job]);
    }
    run(&env, &mut seen, &["beat", "--dry-run"]);

    let metrics_addr = format!("127.0.0.1:{}", free_port());
    let worker = spawn(&env, &["-vvv", "--log-format", "json", "run", "-c", "2", "--metrics", &metrics_addr]);
    let plain_worker = env.spawn_with(&["run", "-c", "1"], &[("TOKEN", TOKEN), ("TASKQ_LOG", "trace")]);
    let beat = env.spawn_with(&["beat"], &[("TOKEN", TOKEN), ("TASKQ_LOG", "trace")]);

    let (code, _) = run(&env, &mut seen, &["-vvv", "enqueue", "call", "-p", "n=2", "--wait", "--timeout", "30s"]);
    assert_eq!(code, Some(0), "the HTTP job with the secret should succeed: {}", seen.last().unwrap().text);
    let sent = http.requests().into_iter().find(|r| r.target.starts_with("/ok")).expect("the call reached the server");
    assert_eq!(sent.headers.get("x-api-key").map(String::as_str), Some(TOKEN), "the secret was in play");

    let mut ids = Vec::new();
    for job in jobs {
        let (_, stdout) = run(&env, &mut seen, &["enqueue", job, "--json"]);
        let json: serde_json::Value = serde_json::from_str(&stdout).expect("enqueue --json");
        ids.push(json["id"].as_str().expect("an id").to_string());
    }
    for id in &ids {
        run(&env, &mut seen, &["-vvv", "wait", id, "--timeout", "30s"]);
        run(&env, &mut seen, &["wait", "--json", id, "--timeout", "30s"]);
        run(&env, &mut seen, &["status", id]);
        run(&env, &mut seen, &["status", "--json", id]);
        run(&env, &mut seen, &["logs", id]);
    }
    let (_, slow) = run(&env, &mut seen, &["enqueue", "slow"]);
    let slow = slow.trim().to_string();
    wait_until(Duration::from_secs(20), "the slow job to start", || env.state(&slow) == "running");
    run_every_way(&env, &mut seen, &["revoke", "--terminate", &slow]);
    wait_until(Duration::from_secs(20), "the beat's tick to run", || {
        let (_, out) = run(&env, &mut Vec::new(), &["history", "tick", "--json"]);
        out.contains("succeeded")
    });
    for job in jobs.iter().chain(&["tick", "slow"]) {
        run(&env, &mut seen, &["history", job]);
        run(&env, &mut seen, &["history", "--json", job]);
    }
    for args in [&["list"][..], &["list", "--json"], &["inspect"], &["inspect", "--json"], &["top"]] {
        run_every_way(&env, &mut seen, args);
    }
    let body = metrics(&metrics_addr);
    assert!(body.contains("taskq_"), "the metrics endpoint answered: {body:?}");
    seen.push(Seen { what: "GET /metrics".into(), text: body });
    run_every_way(&env, &mut seen, &["retry", "--all-failed"]);
    run(&env, &mut seen, &["retry", &ids[1]]);
    run_every_way(&env, &mut seen, &["purge", "--failed", "--yes"]);
    run(&env, &mut seen, &["purge", "--queue", "default", "--yes"]);
    env.write("crontab", "TOKEN=x\n* * * * * curl -H \"X: $TOKEN\" http://example.com/\n");
    run(&env, &mut seen, &["import-crontab", "crontab"]);
    run(&env, &mut seen, &["completions", "bash"]);

    // Broker errors: refused, a wrong password, a malformed URL, each by
    // TASKQ_BROKER and by --broker.
    let port = redis.url().split(':').nth(2).and_then(|p| p.split('/').next()).expect("port").to_string();
    let down = format!("redis://:{PASSWORD}@127.0.0.1:{}/0", free_port());
    let wrong = format!("redis://:{WRONG}@127.0.0.1:{port}/0");
    let malformed = format!("redis://:{PASSWORD}@127.0.0.1:{port}x/0");
    let user = format!("redis://admin:{PASSWORD}@127.0.0.1:{port}/0");
    let sqlite_userinfo = format!("sqlite://u:{PASSWORD}@/x.db");
    let no_scheme = format!("redis//u:{PASSWORD}@127.0.0.1:{port}/0");
    for url in [&down, &wrong, &malformed, &user, &sqlite_userinfo, &no_scheme] {
        let other = Env::with_broker(url).jobs(&env.read("jobs.toml"));
        for args in [&["enqueue", "call"][..], &["status", &ids[0]], &["inspect", "--json"], &["run", "--burst"]] {
            run_every_way(&other, &mut seen, args);
        }
        let flagged = Env::with_broker("sqlite:///nonexistent/never.db").jobs(&env.read("jobs.toml"));
        run_every_way(&flagged, &mut seen, &["--broker", url, "list"]);
    }

    for (name, mut proc) in [("worker", worker), ("plain worker", plain_worker), ("beat", beat)] {
        proc.signal(rustix::process::Signal::TERM);
        let _ = proc.wait_timeout(Duration::from_secs(40));
        seen.push(Seen { what: name.into(), text: format!("{}{}", proc.stdout(), proc.stderr()) });
    }
    assert!(seen.len() > 150, "{} invocations", seen.len());
    assert_no_secret(&seen);
}

// docs/security.md: workers, beat and every command need no more than the
// documented user: Redis denies it nothing (its ACL LOG stays empty).
#[test]
fn the_documented_least_privilege_user_is_enough() {
    let redis = RedisServer::start();
    let probe = Env::with_broker("redis://unused");
    let acl = crate::common::redis::documented_acl("taskq", &probe.ns, "pw");
    let acl: Vec<&str> = acl.iter().map(String::as_str).collect();
    assert_eq!(redis.cmd(&acl), "OK");
    // Another namespace's keys are out of its reach.
    assert!(redis.cmd_as("taskq", "pw", &["GET", "{other}:x"]).starts_with("-NOPERM"));
    assert!(redis.cmd_as("taskq", "pw", &["FLUSHALL"]).starts_with("-NOPERM"));
    assert_eq!(redis.cmd(&["ACL", "LOG", "RESET"]), "OK");

    let mut env = Env::with_broker(&redis.url_as("taskq", "pw")).jobs(
        r#"
[jobs.ok]
command = "echo ok"
[jobs.once]
command = "echo once"
max_concurrent = 1
unique_for = "1h"
[jobs.flaky]
command = "exit 1"
retries = 1
retry_delay = "100ms"
on_failure = "ok"
[jobs.slow]
command = "sleep 30"
[jobs.tick]
command = "true"
every = "1s"
"#,
    );
    env.ns = probe.ns.clone();
    let ok = env.enqueue(&["ok"]);
    env.enqueue(&["once", "--key", "k"]);
    env.enqueue(&["once", "--key", "k"]);
    env.enqueue(&["ok", "--delay", "1s"]);
    env.enqueue(&["ok", "--expires", "1h"]);
    let flaky = env.enqueue(&["flaky"]);
    env.run_with_input(&["enqueue", "--batch", "-"], "{\"job\":\"ok\"}\n").success();
    env.run(&["run", "--burst", "-c", "2"]).success();
    let worker = env.spawn(&["run", "--beat", "-c", "2"]);
    env.run(&["enqueue", "ok", "--wait", "--timeout", "30s"]).success();
    wait_until(Duration::from_secs(20), "the flaky job to fail for good", || env.state(&flaky) == "failed");
    wait_until(Duration::from_secs(20), "the beat's tick to run", || {
        env.run(&["history", "tick", "--json"]).get_output().stdout.windows(9).any(|w| w == b"succeeded")
    });
    let slow = env.enqueue(&["slow"]);
    wait_until(Duration::from_secs(20), "the slow job to start", || env.state(&slow) == "running");
    env.run(&["revoke", "--terminate", &slow]).success();
    for args in [
        &["status", &ok][..],
        // A prefix of an id is completed by scanning each queue's records.
        &["status", &ok[..28]],
        &["wait", &ok],
        &["logs", &ok],
        &["history", "ok"],
        &["list"],
        &["inspect"],
        &["inspect", "--json"],
        &["retry", "--all-failed"],
        &["purge", "--failed", "--yes"],
        &["purge", "--queue", "default", "--yes"],
    ] {
        env.run(args).success();
    }
    let mut worker = worker;
    worker.signal(rustix::process::Signal::TERM);
    assert!(worker.wait_timeout(Duration::from_secs(30)).is_some_and(|s| s.success()), "{}", worker.stderr());
    assert_eq!(redis.cmd(&["ACL", "LOG"]), "", "Redis denied the documented user something");
    assert!(!worker.stderr().contains("NOPERM"), "{}", worker.stderr());
}
