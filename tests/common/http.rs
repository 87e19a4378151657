//! A small local HTTP server for HTTP job tests, recording every request.
//!
//! Routes: `/ok`; `/status/CODE[?retry_after=V]`; `/slow/MS`; `/echo` (the
//! request back as JSON); `/flaky/N` (503 for the first N calls, then 200);
//! `/busy/N/SECS` (503 with `Retry-After: SECS` for the first N calls, then
//! 200); `/redirect/CODE?to=URL` (CODE with `Location: URL`;
//! without `to`, to itself); `/big/BYTES`; `/ids/N` (a JSON array of N
//! strings, `"id-1"` on).

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

#[derive(Debug, Clone)]
pub(crate) struct Recorded {
    pub method: String,
    /// Path and query as sent.
    pub target: String,
    pub headers: HashMap<String, String>,
    pub body: String,
    /// When the request arrived.
    pub at: std::time::Instant,
}

#[derive(Default)]
struct State {
    requests: Mutex<Vec<Recorded>>,
    counters: Mutex<HashMap<String, u32>>,
}

pub(crate) struct HttpServer {
    pub base: String,
    state: Arc<State>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl HttpServer {
    pub(crate) fn start() -> HttpServer {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.set_nonblocking(true).expect("nonblocking");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(State::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let shared = state.clone();
        let thread = std::thread::spawn(move || {
            let rt =
                tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
                tokio::pin!(stopped);
                loop {
                    tokio::select! {
                        _ = &mut stopped => return,
                        accepted = listener.accept() => {
                            let Ok((stream, _)) = accepted else { continue };
                            let state = shared.clone();
                            tokio::spawn(async move {
                                let service = service_fn(move |req| handle(state.clone(), req));
                                let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                            });
                        }
                    }
                }
            });
        });
        HttpServer { base, state, stop: Some(stop), thread: Some(thread) }
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub(crate) fn requests(&self) -> Vec<Recorded> {
        self.state.requests.lock().expect("lock").clone()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let method = req.method().to_string();
    let target = req.uri().path_and_query().map(std::string::ToString::to_string).unwrap_or_default();
    let path = req.uri().path().to_string();
    let query = req.uri().query().unwrap_or("").to_string();
    let headers: HashMap<String, String> =
        req.headers().iter().map(|(k, v)| (k.as_str().to_string(), v.to_str().unwrap_or("").to_string())).collect();
    let body = req.into_body().collect().await.map(http_body_util::Collected::to_bytes).unwrap_or_default();
    let body = String::from_utf8_lossy(&body).into_owned();
    let recorded = Recorded {
        method: method.clone(),
        target: target.clone(),
        headers: headers.clone(),
        body: body.clone(),
        at: std::time::Instant::now(),
    };
    state.requests.lock().expect("lock").push(recorded);

    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let respond = |code: u16, body: String| {
        Response::builder().status(code).body(Full::new(Bytes::from(body))).expect("response")
    };
    let response = match parts.as_slice() {
        ["ok"] => respond(200, "ok".into()),
        ["status", code] => {
            let code: u16 = code.parse().unwrap_or(500);
            let mut r = respond(code, format!("status {code}"));
            if let Some(v) = query.strip_prefix("retry_after=") {
                r.headers_mut().insert("retry-after", v.replace("%20", " ").parse().expect("header"));
            }
            r
        }
        ["slow", ms] => {
            tokio::time::sleep(Duration::from_millis(ms.parse().unwrap_or(1000))).await;
            respond(200, "slow".into())
        }
        ["echo", ..] => {
            let doc = serde_json::json!({ "method": method, "target": target, "headers": headers, "body": body });
            respond(200, doc.to_string())
        }
        ["flaky", n] => {
            let mut counters = state.counters.lock().expect("lock");
            let count = counters.entry(path.clone()).or_insert(0);
            *count += 1;
            if *count <= n.parse().unwrap_or(1) {
                respond(503, "not yet".into())
            } else {
                respond(200, "finally".into())
            }
        }
        ["busy", n, secs] => {
            let mut counters = state.counters.lock().expect("lock");
            let count = counters.entry(path.clone()).or_insert(0);
            *count += 1;
            if *count <= n.parse().unwrap_or(1) {
                let mut r = respond(503, "busy".into());
                r.headers_mut().insert("retry-after", secs.parse().expect("header"));
                r
            } else {
                respond(200, "done".into())
            }
        }
        ["redirect", code] => {
            let mut r = respond(code.parse().unwrap_or(302), String::new());
            let to = query.strip_prefix("to=").unwrap_or(&target);
            r.headers_mut().insert("location", to.parse().expect("header"));
            r
        }
        ["big", bytes] => respond(200, "x".repeat(bytes.parse().unwrap_or(0))),
        ["ids", n] => {
            let n: u32 = n.parse().unwrap_or(0);
            respond(
                200,
                serde_json::to_string(&(1..=n).map(|i| format!("id-{i}")).collect::<Vec<_>>()).unwrap_or_default(),
            )
        }
        _ => respond(404, "no such route".into()),
    };
    Ok(response)
}
