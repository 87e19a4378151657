//! Queue benchmarks (SPEC §8), measured against the machine's own limits in
//! the same run. Not a test: run with `cargo bench --bench queue` and paste
//! the printed tables into BENCHMARKS.md.
//!
//! Measures, on a private redis-server and on a `SQLite` file:
//! - the whole `taskq enqueue` process, one job, from a shell (median, p90)
//! - `enqueue --batch` throughput
//! - worker throughput on jobs running `true`, `-c 2`, against `xargs -P 2`
//! - enqueue → start latency with an idle worker (p50, p99), enqueued by
//!   this process through the library, and through `taskq web`'s HTTP API
//! - worker throughput on HTTP jobs against a local keep-alive server
//!   (nginx, if installed), Redis only
//! - idle worker memory, and Redis memory per queued job
//!
//! and, as the machine's limits: redis-benchmark, `xargs -P 2 -n 1 true`,
//! and `wrk` against the same nginx (if installed).

#[path = "../tests/common/redis.rs"]
#[allow(dead_code)]
mod redis_server;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use redis_server::RedisServer;

const BIN: &str = env!("CARGO_BIN_EXE_taskq");
const JOBS: &str = "[jobs.noop]\ncommand = \"true\"\n";

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let scale = if quick { 10 } else { 1 };
    let redis = RedisServer::start();
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("jobs.toml"), JOBS).expect("jobs.toml");
    let sqlite = format!("sqlite://{}/bench.db", dir.path().display());

    println!("## Machine limits\n");
    let xargs_rate = xargs_true(4000 / scale);
    println!("- `xargs -P 2 -n 1 true`: {xargs_rate:.0} processes/s");
    match redis_benchmark(redis.port) {
        Some(lines) => {
            for l in lines {
                println!("- redis-benchmark {l}");
            }
        }
        None => println!("- redis-benchmark: not installed"),
    }
    let ping = redis_cli_latency(redis.port);
    println!("- one `redis-cli PING` process (spawn + round trip), median: {ping:.2} ms");
    let idle = idle_round_trip(redis.port);
    println!("- one `PING` round trip to a Redis idle for 20 ms (two wake-ups), median: {idle:.3} ms");
    let spawn = spawn_latency();
    println!("- one `/bin/true` process from a shell-less spawn, median: {spawn:.2} ms");
    let nginx = Nginx::start(dir.path());
    match nginx.as_ref().map(Nginx::wrk) {
        Some(Some(rate)) => println!("- `wrk -t1 -c64` against nginx's `/ok`: {rate:.0} requests/s\n"),
        Some(None) => println!("- wrk: not installed (apt-get install wrk)\n"),
        None => println!("- nginx: not installed (apt-get install nginx-light): no HTTP-job row\n"),
    }

    println!("## taskq\n");
    println!("| measure | Redis | SQLite | target |");
    println!("|---|---|---|---|");
    let backends = [("redis", redis.url()), ("sqlite", sqlite.clone())];
    let mut rows: Vec<(String, Vec<String>, String)> = Vec::new();

    let lat: Vec<(f64, f64)> =
        backends.iter().map(|(ns, url)| enqueue_process_latency(dir.path(), url, ns, 200 / scale)).collect();
    rows.push((
        "`taskq enqueue` whole process, median (p90)".into(),
        lat.iter().map(|(m, p)| format!("{m:.2} ms ({p:.2} ms)")).collect(),
        "median < 2 ms (Redis)".into(),
    ));
    let batch: Vec<f64> = backends
        .iter()
        .map(|(ns, url)| {
            batch_rate(dir.path(), url, &format!("{ns}-batch"), if ns == &"redis" { 200_000 } else { 100_000 } / scale)
        })
        .collect();
    rows.push((
        "`enqueue --batch`".into(),
        batch.iter().map(|r| format!("{r:.0} jobs/s")).collect(),
        "≥ 100,000/s Redis; ≥ 20,000/s SQLite".into(),
    ));
    let worker: Vec<f64> =
        backends.iter().map(|(ns, url)| worker_rate(dir.path(), url, &format!("{ns}-worker"), 4000 / scale)).collect();
    rows.push((
        "worker, `true` jobs, `-c 2`".into(),
        worker.iter().map(|r| format!("{r:.0} jobs/s = {:.0}% of xargs", 100.0 * r / xargs_rate)).collect(),
        "≥ 90% of `xargs -P 2`".into(),
    ));
    if let Some(nginx) = &nginx {
        let (ns, url) = &backends[0];
        for c in [64, 256] {
            let rate = http_rate(dir.path(), url, &format!("{ns}-http-{c}"), nginx, 100_000 / scale, c);
            rows.push((
                format!("worker, HTTP jobs (GET, `ignore_result`), `-c {c}`"),
                vec![format!("{rate:.0} jobs/s"), "-".into()],
                "≥ 20,000/s".into(),
            ));
        }
    }
    let start: Vec<(f64, f64, u64)> = backends
        .iter()
        .map(|(ns, url)| start_latency(dir.path(), url, &format!("{ns}-latency"), 200 / scale))
        .collect();
    rows.push((
        "enqueue → start, idle worker, p50 / p99".into(),
        start.iter().map(|(p50, p99, _)| format!("{p50:.2} ms / {p99:.2} ms")).collect(),
        "Redis p50 < 1 ms, p99 < 5 ms; SQLite p99 < 250 ms".into(),
    ));
    let api: Vec<(f64, f64)> = backends
        .iter()
        .map(|(ns, url)| api_start_latency(dir.path(), url, &format!("{ns}-api"), 200 / scale))
        .collect();
    rows.push((
        "enqueue (`POST /api/v1/jobs`) → start, idle worker, p50 / p99".into(),
        api.iter().map(|(p50, p99)| format!("{p50:.2} ms / {p99:.2} ms")).collect(),
        "Redis p50 < 1 ms".into(),
    ));
    rows.push((
        "idle worker RSS".into(),
        start.iter().map(|(_, _, rss)| format!("{:.1} MB", *rss as f64 / 1024.0)).collect(),
        "< 20 MB".into(),
    ));
    let delays: Vec<(f64, f64)> =
        backends.iter().map(|(ns, url)| beat_delay(dir.path(), url, &format!("{ns}-beat"), 30 / scale)).collect();
    rows.push((
        "beat firing delay, p50 / p99".into(),
        delays.iter().map(|(p50, p99)| format!("{p50:.1} ms / {p99:.1} ms")).collect(),
        "p99 < 50 ms".into(),
    ));
    let per_job = redis_bytes_per_job(dir.path(), &redis, 100_000 / scale);
    rows.push(("Redis memory per queued job".into(), vec![format!("{per_job:.0} B"), "-".into()], "< 1 KiB".into()));
    for (name, values, target) in rows {
        println!("| {name} | {} | {target} |", values.join(" | "));
    }
}

fn taskq(dir: &Path, broker: &str, ns: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir).env("TASKQ_BROKER", broker).env("TASKQ_NAMESPACE", ns).env_remove("TASKQ_LOG");
    cmd
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn sorted(mut v: Vec<f64>) -> Vec<f64> {
    v.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    v
}

fn xargs_true(n: usize) -> f64 {
    let start = Instant::now();
    let mut child =
        Command::new("xargs").args(["-P", "2", "-n", "1", "true"]).stdin(Stdio::piped()).spawn().expect("xargs");
    let input: String = (0..n).map(|i| format!("{i}\n")).collect();
    child.stdin.take().expect("stdin").write_all(input.as_bytes()).expect("write");
    child.wait().expect("xargs ran");
    n as f64 / start.elapsed().as_secs_f64()
}

fn redis_benchmark(port: u16) -> Option<Vec<String>> {
    let out = Command::new("redis-benchmark")
        .args(["-p", &port.to_string(), "-q", "-n", "100000", "-t", "ping,set,lpush,rpop"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    Some(text.split(['\r', '\n']).filter(|l| l.contains("requests per second")).map(|l| l.trim().to_string()).collect())
}

fn redis_cli_latency(port: u16) -> f64 {
    let times: Vec<f64> = (0..50)
        .map(|_| {
            let t = Instant::now();
            let _ = Command::new("redis-cli").args(["-p", &port.to_string(), "PING"]).stdout(Stdio::null()).status();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    percentile(&sorted(times), 0.5)
}

/// One `PING` round trip on a kept connection to a Redis left idle for
/// 20 ms before each, as a job's hand-offs find the processes they wake:
/// the cost of waking sleeping processes here (two per round trip), of
/// which enqueue → start takes several. Median, ms.
fn idle_round_trip(port: u16) -> f64 {
    use std::io::Read;
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect to redis");
    conn.set_nodelay(true).expect("nodelay");
    let mut reply = [0u8; 7];
    let times: Vec<f64> = (0..100)
        .map(|_| {
            std::thread::sleep(Duration::from_millis(20));
            let t = Instant::now();
            conn.write_all(b"PING\r\n").expect("PING");
            conn.read_exact(&mut reply).expect("+PONG");
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    percentile(&sorted(times), 0.5)
}

fn spawn_latency() -> f64 {
    let times: Vec<f64> = (0..100)
        .map(|_| {
            let t = Instant::now();
            let _ = Command::new("true").status();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    percentile(&sorted(times), 0.5)
}

fn enqueue_process_latency(dir: &Path, broker: &str, ns: &str, n: usize) -> (f64, f64) {
    // Warm the file cache and (for SQLite) create the database first.
    taskq(dir, broker, ns).args(["enqueue", "noop"]).output().expect("enqueue");
    let times: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            let out = taskq(dir, broker, ns).args(["enqueue", "noop"]).output().expect("enqueue");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    let s = sorted(times);
    (percentile(&s, 0.5), percentile(&s, 0.9))
}

fn batch_rate(dir: &Path, broker: &str, ns: &str, n: usize) -> f64 {
    let file = dir.join(format!("{ns}.jsonl"));
    let lines: String = (0..n).map(|i| format!("{{\"job\":\"noop\",\"args\":[\"{i}\"]}}\n")).collect();
    std::fs::write(&file, lines).expect("batch file");
    let t = Instant::now();
    let out =
        taskq(dir, broker, ns).args(["enqueue", "--batch"]).arg(&file).stdout(Stdio::null()).output().expect("batch");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    n as f64 / t.elapsed().as_secs_f64()
}

fn worker_rate(dir: &Path, broker: &str, ns: &str, n: usize) -> f64 {
    let file = dir.join(format!("{ns}.jsonl"));
    std::fs::write(&file, "{\"job\":\"noop\"}\n".repeat(n)).expect("batch file");
    let out =
        taskq(dir, broker, ns).args(["enqueue", "--batch"]).arg(&file).stdout(Stdio::null()).output().expect("batch");
    assert!(out.status.success());
    let t = Instant::now();
    let out = taskq(dir, broker, ns).args(["-q", "run", "--burst", "-c", "2"]).output().expect("worker");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    n as f64 / t.elapsed().as_secs_f64()
}

/// An idle `run -c 1` worker logging JSON, and its log lines as they arrive,
/// each with the instant it was read; returns once it says it started.
fn logging_worker(dir: &Path, broker: &str, ns: &str) -> (std::process::Child, WorkerLog) {
    let mut worker = taskq(dir, broker, ns)
        .args(["run", "-c", "1", "--log-format", "json"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("worker");
    let (tx, rx) = mpsc::channel::<(String, Instant)>();
    let stderr = worker.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = tx.send((line, Instant::now()));
        }
    });
    let log = WorkerLog(rx);
    log.wait_for("worker started");
    (worker, log)
}

struct WorkerLog(mpsc::Receiver<(String, Instant)>);

impl WorkerLog {
    /// When the next line holding `needle` arrived.
    fn wait_for(&self, needle: &str) -> Instant {
        loop {
            let (line, at) = self.0.recv_timeout(Duration::from_secs(30)).expect("worker log line");
            if line.contains(needle) {
                return at;
            }
        }
    }
}

/// Enqueues one job at a time to an idle worker and times, in this process,
/// from just before the enqueue call to the moment the worker's "job started"
/// log line arrives. Returns p50, p99 (ms) and the idle worker's RSS (kB).
fn start_latency(dir: &Path, broker: &str, ns: &str, n: usize) -> (f64, f64, u64) {
    let (mut worker, log) = logging_worker(dir, broker, ns);
    std::thread::sleep(Duration::from_millis(500));
    let rss = rss_kb(worker.id());
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let url = taskq::broker::BrokerUrl::parse(broker).expect("url");
    let ns = taskq::names::Namespace::new(ns).expect("namespace");
    let client = rt.block_on(taskq::broker::connect(&url, &ns)).expect("connect");
    let config = taskq::config::Config::parse(Path::new("jobs.toml"), JOBS).expect("config");
    let def = config.job("noop").expect("noop");
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let job = def.new_job(Vec::new(), std::collections::BTreeMap::new()).expect("job");
        let id = job.id.to_string();
        let t = Instant::now();
        rt.block_on(client.enqueue(&[job])).expect("enqueue");
        let started = log.wait_for(&format!("\"job.id\":\"{id}\""));
        times.push(started.duration_since(t).as_secs_f64() * 1000.0);
        // Let the worker finish and go idle again.
        std::thread::sleep(Duration::from_millis(30));
    }
    let _ = worker.kill();
    let _ = worker.wait();
    let s = sorted(times);
    (percentile(&s, 0.5), percentile(&s, 0.99), rss)
}

/// Runs a beat on an every-second schedule for `ticks` ticks after it is
/// ready; the delay of each is its "fired" log line's time (after the run is
/// enqueued) minus the tick's instant.
fn beat_delay(dir: &Path, broker: &str, ns: &str, ticks: usize) -> (f64, f64) {
    std::fs::write(
        dir.join("beat.toml"),
        "[jobs.tick]\ncommand = \"true\"\nschedule = \"* * * * * *\"\ntimezone = \"UTC\"\n",
    )
    .expect("beat.toml");
    let mut beat = taskq(dir, broker, ns)
        .args(["-f", "beat.toml", "beat", "--log-format", "json"])
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("beat");
    let stderr = beat.stderr.take().expect("stderr");
    let mut delays = Vec::new();
    let mut ready = None;
    for line in BufReader::new(stderr).lines().map_while(Result::ok) {
        let Ok(doc) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
        let logged: jiff::Timestamp = doc["timestamp"].as_str().and_then(|t| t.parse().ok()).expect("log time");
        if doc["fields"]["message"] == "beat started" {
            ready = Some(logged);
        }
        if doc["fields"]["message"] != "fired" {
            continue;
        }
        let tick: jiff::Timestamp = doc["fields"]["tick"].as_str().and_then(|t| t.parse().ok()).expect("tick");
        // A tick that fell while the beat was starting is fired at once
        // when it is ready: that is start-up time, not a firing delay.
        if ready.is_none_or(|ready| tick < ready) {
            continue;
        }
        delays.push(logged.duration_since(tick).as_secs_f64() * 1000.0);
        if delays.len() == ticks {
            break;
        }
    }
    let _ = beat.kill();
    let _ = beat.wait();
    let s = sorted(delays);
    (percentile(&s, 0.5), percentile(&s, 0.99))
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| l.strip_prefix("VmRSS:").map(|v| v.trim().trim_end_matches(" kB").to_string()))
        })
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn used_memory(port: u16) -> u64 {
    let out = Command::new("redis-cli").args(["-p", &port.to_string(), "INFO", "memory"]).output().expect("redis-cli");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .and_then(|v| v.trim().parse().ok())
        .expect("used_memory")
}

fn redis_bytes_per_job(dir: &Path, redis: &RedisServer, n: usize) -> f64 {
    let before = used_memory(redis.port);
    batch_rate(dir, &redis.url(), "memory", n);
    let after = used_memory(redis.port);
    (after.saturating_sub(before)) as f64 / n as f64
}

/// A private nginx on a free loopback port answering `GET /ok` with 200
/// "ok", keeping connections alive; killed on drop. `None` without nginx.
struct Nginx {
    child: std::process::Child,
    port: u16,
}

impl Nginx {
    fn start(dir: &Path) -> Option<Nginx> {
        let bin = ["/usr/sbin/nginx", "nginx"].into_iter().find(|b| Command::new(b).arg("-v").output().is_ok())?;
        let root = dir.join("nginx");
        std::fs::create_dir_all(&root).expect("nginx dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        let conf = format!(
            "daemon off; worker_processes 1; pid {root}/nginx.pid; error_log {root}/error.log;\n\
             events {{ worker_connections 4096; }}\n\
             http {{ access_log off; keepalive_requests 1000000; keepalive_timeout 600s;\n\
             client_body_temp_path {root}; proxy_temp_path {root}; fastcgi_temp_path {root};\n\
             uwsgi_temp_path {root}; scgi_temp_path {root};\n\
             server {{ listen 127.0.0.1:{port}; location /ok {{ return 200 \"ok\"; }} }} }}\n",
            root = root.display()
        );
        std::fs::write(root.join("nginx.conf"), conf).expect("nginx.conf");
        let child = Command::new(bin)
            .arg("-c")
            .arg(root.join("nginx.conf"))
            .arg("-p")
            .arg(&root)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "nginx did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(Nginx { child, port })
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/ok", self.port)
    }

    /// What `wrk` gets from it in 5 s, one thread, 64 connections.
    fn wrk(&self) -> Option<f64> {
        let out = Command::new("wrk").args(["-t1", "-c64", "-d5s", &self.url()]).output().ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("Requests/sec:"))
            .and_then(|v| v.trim().parse().ok())
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // nginx's master stops its worker on SIGTERM (kill() sends SIGKILL,
        // which would leave the worker running).
        let _ = Command::new("kill").arg(self.child.id().to_string()).status();
        let _ = self.child.wait();
    }
}

/// Drains `n` HTTP jobs (a GET of nginx's `/ok`, `ignore_result`) with one
/// `run --burst -c C`; jobs/s.
fn http_rate(dir: &Path, broker: &str, ns: &str, nginx: &Nginx, n: usize, c: usize) -> f64 {
    let config = dir.join(format!("{ns}.toml"));
    std::fs::write(
        &config,
        format!("[jobs.ping]\nhttp = {{ method = \"GET\", url = \"{}\" }}\nignore_result = true\n", nginx.url()),
    )
    .expect("http jobs.toml");
    let file = dir.join(format!("{ns}.jsonl"));
    std::fs::write(&file, "{\"job\":\"ping\"}\n".repeat(n)).expect("batch file");
    let out = taskq(dir, broker, ns)
        .arg("-f")
        .arg(&config)
        .args(["enqueue", "--batch"])
        .arg(&file)
        .stdout(Stdio::null())
        .output()
        .expect("batch");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let t = Instant::now();
    let out = taskq(dir, broker, ns)
        .arg("-f")
        .arg(&config)
        .args(["-q", "run", "--burst", "-c", &c.to_string()])
        .output()
        .expect("worker");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    n as f64 / t.elapsed().as_secs_f64()
}

/// As `start_latency`, with each job enqueued by `POST /api/v1/jobs` to a
/// `taskq web` (an operator from an auth file; one kept-alive connection).
fn api_start_latency(dir: &Path, broker: &str, ns: &str, n: usize) -> (f64, f64) {
    let mut hash = taskq(dir, broker, ns)
        .args(["web", "hash-password"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("hash-password");
    hash.stdin.take().expect("stdin").write_all(b"bench-password\n").expect("password");
    let out = hash.wait_with_output().expect("hash-password");
    assert!(out.status.success(), "hash-password failed");
    let users = dir.join(format!("{ns}-users"));
    std::fs::write(&users, format!("bench operator {}", String::from_utf8_lossy(&out.stdout).trim())).expect("users");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let mut web = taskq(dir, broker, ns)
        .args(["web", "--listen", &format!("127.0.0.1:{port}"), "--auth-file"])
        .arg(&users)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("web");
    let (mut worker, log) = logging_worker(dir, broker, ns);
    taskq::tls::install_crypto_provider();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let client = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/api/v1/jobs");
    let post = || {
        rt.block_on(async {
            let response = client
                .post(&url)
                .basic_auth("bench", Some("bench-password"))
                .header("content-type", "application/json")
                .body(r#"{"job": "noop"}"#)
                .send()
                .await?;
            response.error_for_status()?.text().await
        })
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    // The first answer also checks the password (argon2), which later
    // requests find remembered.
    let mut first = post();
    while first.is_err() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        first = post();
    }
    first.expect("taskq web answers");
    std::thread::sleep(Duration::from_millis(300));
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let body = post().expect("POST /api/v1/jobs");
        let doc: serde_json::Value = serde_json::from_str(&body).expect("json answer");
        let id = doc["id"].as_str().expect("id").to_string();
        let started = log.wait_for(&format!("\"job.id\":\"{id}\""));
        times.push(started.duration_since(t).as_secs_f64() * 1000.0);
        std::thread::sleep(Duration::from_millis(30));
    }
    for child in [&mut worker, &mut web] {
        let _ = child.kill();
        let _ = child.wait();
    }
    let s = sorted(times);
    (percentile(&s, 0.5), percentile(&s, 0.99))
}
