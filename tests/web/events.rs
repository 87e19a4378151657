//! The event streams (server-sent events) read as a browser's EventSource
//! reads them, and the OpenAPI document checked against the server.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use serde_json::Value;

use super::{call, request, serve};
use crate::common::{Env, SOON, wait_until};

/// A stream's events as `(event, data)`, read on a thread of its own until
/// the stream ends (or the server stops).
#[derive(Clone, Default)]
struct Events(Arc<Mutex<Vec<(String, String)>>>);

impl Events {
    fn listen(url: &str) -> Events {
        let events = Events::default();
        let (into, target) = (events.clone(), url.to_string());
        let (ready, opened) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            taskq::tls::install_crypto_provider();
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let response = reqwest::get(&target).await.expect("the stream opens");
                let _ = ready.send(response.status().as_u16());
                let mut body = response.bytes_stream();
                let (mut buffer, mut event, mut data) = (String::new(), String::new(), String::new());
                while let Some(Ok(chunk)) = body.next().await {
                    buffer.push_str(&String::from_utf8_lossy(&chunk));
                    while let Some(end) = buffer.find('\n') {
                        let line: String = buffer.drain(..=end).collect();
                        let line = line.trim_end_matches('\n');
                        if line.is_empty() {
                            if !data.is_empty() || !event.is_empty() {
                                into.0
                                    .lock()
                                    .expect("lock")
                                    .push((std::mem::take(&mut event), std::mem::take(&mut data)));
                            }
                        } else if let Some(v) = line.strip_prefix("event: ") {
                            event = v.to_string();
                        } else if let Some(v) = line.strip_prefix("data: ") {
                            data = v.to_string();
                        }
                    }
                }
                into.0.lock().expect("lock").push(("closed".into(), String::new()));
            });
        });
        let status = opened.recv_timeout(SOON).expect("the stream answers");
        assert_eq!(status, 200, "{url}");
        events
    }

    fn all(&self) -> Vec<(String, String)> {
        self.0.lock().expect("lock").clone()
    }
}

#[test]
fn job_state_changes_and_a_running_jobs_output_stream_to_the_browser() {
    let env = Env::sqlite().jobs(
        "[jobs.talk]\ncommand = \"echo one; while [ ! -f go ]; do sleep 0.05; done; echo two\"\nworkdir = \"@DIR@\"\n",
    );
    let web = serve(&env, &["--no-auth"]);
    let changes = Events::listen(&format!("{}/api/v1/events", web.base));
    let id = env.enqueue(&["talk"]);
    let output = Events::listen(&format!("{}/api/v1/jobs/{id}/output", web.base));
    let _worker = env.spawn(&["run"]);
    wait_until(SOON, "the first line", || output.all().iter().any(|(e, d)| e == "output" && d.contains("one")));
    assert!(!output.all().iter().any(|(e, _)| e == "end"), "still running: {:?}", output.all());
    env.write("go", "");
    wait_until(SOON, "the end", || output.all().iter().any(|(e, _)| e == "closed"));
    let seen = output.all();
    let text: String = seen
        .iter()
        .filter(|(e, _)| e == "output")
        .map(|(_, d)| serde_json::from_str::<String>(d).expect("a JSON string"))
        .collect();
    assert_eq!(text, "one\ntwo\n", "{seen:?}");
    let states: Vec<String> = seen
        .iter()
        .filter(|(e, _)| e == "state")
        .map(|(_, d)| serde_json::from_str::<Value>(d).expect("JSON")["state"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(states.last().map(String::as_str), Some("succeeded"), "{seen:?}");
    assert!(states.contains(&"running".to_string()), "{seen:?}");
    assert_eq!(seen.iter().rev().nth(1).map(|(e, d)| (e.as_str(), d.as_str())), Some(("end", "succeeded")));

    // Every change of the job, in order, to whoever listens.
    wait_until(SOON, "the job's changes", || {
        changes.all().iter().any(|(_, d)| d.contains(&id) && d.contains("\"succeeded\""))
    });
    let mine: Vec<String> = changes
        .all()
        .iter()
        .filter(|(e, d)| e == "job" && d.contains(&id))
        .map(|(_, d)| serde_json::from_str::<Value>(d).expect("JSON")["state"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(mine.last().map(String::as_str), Some("succeeded"), "{mine:?}");
    assert!(mine.iter().any(|s| s == "running"), "{mine:?}");
    let unknown = request(
        "GET",
        &format!("{}/api/v1/jobs/01a22854-91cd-7088-9204-f92a5fffb90c/output", web.base),
        None,
        &[],
        None,
    );
    assert_eq!(unknown.status, 404);
}

#[test]
fn every_path_of_the_openapi_document_answers_as_it_says() {
    let env = Env::sqlite().jobs("[jobs.a]\ncommand = \"true\"\n[jobs.tick]\ncommand = \"true\"\nevery = \"1h\"\n");
    let web = serve(&env, &["--no-auth"]);
    let id = env.enqueue(&["a"]);
    let (status, _, doc) = call("GET", &format!("{}/api/v1/openapi.json", web.base), None, None);
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().expect("paths");
    assert!(paths.len() >= 14, "{}", paths.len());
    // Reads first, then changes, so that the job is there to be read.
    let mut calls: Vec<(String, String, Value)> = Vec::new();
    for (path, ops) in paths {
        for (method, op) in ops.as_object().expect("operations") {
            calls.push((method.to_uppercase(), path.clone(), op.clone()));
        }
    }
    calls.sort_by_key(|(m, _, _)| (m != "GET", m == "DELETE"));
    for (method, path, op) in calls {
        let url = format!("{}{}", web.base, path)
            .replace("{id}", &id)
            .replace("{name}", "tick")
            .replace("{action}", "pause")
            .replace("{queue}", "default");
        let body = (method == "POST" && path == "/api/v1/jobs").then_some(r#"{"job": "a"}"#);
        let status = if path.ends_with("/events") || path.ends_with("/output") {
            // A stream: its status is all there is to check here.
            head_status(&url)
        } else {
            call(&method, &url, None, body).0
        };
        let documented = op["responses"].as_object().expect("responses");
        assert!(documented.contains_key(&status.to_string()), "{method} {path} answered {status}, not documented");
    }
}

/// The status of a request whose body is a stream not waited for.
fn head_status(url: &str) -> u16 {
    taskq::tls::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    runtime.block_on(async {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
        client.get(url).send().await.expect("answers").status().as_u16()
    })
}
