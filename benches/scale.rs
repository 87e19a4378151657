//! Scale-out (issue 11, SPEC §3): one Redis beside a 3-master cluster, with
//! the jobs spread over 3 and over 12 queues. Measures `enqueue --batch`
//! throughput and the drain rate of no-op HTTP jobs (a GET answered 200 by a
//! local server) by two workers, each `-c 32`, serving every queue; as the
//! machine's limit in the same run, `redis-benchmark` SET against one server.
//!
//! Not a test: `cargo bench --bench scale [-- --quick]`; paste the table
//! into BENCHMARKS.md. `TASKQ_BENCH_BIN=path` measures another taskq binary
//! (an earlier build, to compare). On a machine of few cores the cluster's six servers,
//! the workers and the HTTP server share them, so compare each figure with
//! the others of its run.

#[path = "../tests/common/mod.rs"]
#[allow(unused_imports, unreachable_pub)]
mod common;

use std::process::{Command, Stdio};
use std::time::Instant;

use common::cluster::RedisCluster;
use common::{Env, HttpServer, RedisServer};

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let jobs = if quick { 2_000 } else { 20_000 };
    let http = HttpServer::start();
    let single = RedisServer::start();
    let cluster = RedisCluster::start();
    let set = single.benchmark("set");
    println!("Machine: redis-benchmark {set}; {jobs} jobs per row\n");
    println!("| broker | queues | enqueue --batch, jobs/s | no-op HTTP jobs, 2 workers × 32, jobs/s |");
    println!("|---|---|---|---|");
    for (name, url) in [("one Redis", single.url()), ("3-master cluster", cluster.url())] {
        for queues in [3, 12] {
            let (enqueued, drained) = measure(&url, &http, queues, jobs);
            println!("| {name} | {queues} | {enqueued:.0} | {drained:.0} |");
        }
    }
}

/// Enqueues `jobs` over `queues` queues, then drains them with two workers.
fn measure(url: &str, http: &HttpServer, queues: usize, jobs: usize) -> (f64, f64) {
    let names: Vec<String> = (0..queues).map(|i| format!("q{i}")).collect();
    let toml: String = names
        .iter()
        .map(|q| {
            format!("[jobs.ping-{q}]\nhttp = {{ method = \"GET\", url = \"{}\" }}\nqueue = \"{q}\"\n", http.url("/ok"))
        })
        .collect();
    let env = Env::with_broker(url).jobs(&toml);
    let batch: String = (0..jobs).map(|i| format!("{{\"job\": \"ping-{}\"}}\n", names[i % queues])).collect();
    env.write("batch.jsonl", &batch);
    let t = Instant::now();
    env.run(&["enqueue", "--batch", "batch.jsonl"]).success();
    let enqueued = jobs as f64 / t.elapsed().as_secs_f64();

    let t = Instant::now();
    let workers: Vec<std::process::Child> = (0..2)
        .map(|_| {
            let mut cmd: Command = env.command();
            cmd.args(["-q", "run", "--burst", "-c", "32"]).stdout(Stdio::null()).stderr(Stdio::null());
            cmd.spawn().expect("worker")
        })
        .collect();
    for mut w in workers {
        assert!(w.wait().expect("worker").success(), "a worker failed");
    }
    let drained = jobs as f64 / t.elapsed().as_secs_f64();
    (enqueued, drained)
}
