//! What `WAIT` would cost (SPEC §3, Sentinel): a write acknowledged by a
//! master can be lost in a failover if no replica had it yet. Waiting for a
//! replica's acknowledgement after each write closes that window; this
//! measures the price on a master and one replica on loopback: a script
//! call like taskq's enqueue (one LPUSH) alone, and followed by
//! `WAIT 1 1000` in the same round trip, one client and eight at once.
//!
//! Not a test: `cargo bench --bench replication`; paste the table into BENCHMARKS.md.

#[path = "../tests/common/redis.rs"]
#[allow(dead_code)]
mod redis_server;

use std::time::{Duration, Instant};

use redis_server::RedisServer;

const WRITES: usize = 5000;
const SCRIPT: &str = "redis.call('LPUSH', KEYS[1], ARGV[1]) return 1";

fn write(conn: &mut redis::Connection, wait: bool) {
    let mut pipe = redis::pipe();
    pipe.cmd("EVAL").arg(SCRIPT).arg(1).arg("{bench}:q").arg("job");
    if wait {
        pipe.cmd("WAIT").arg(1).arg(1000);
    }
    let replies: Vec<i64> = pipe.query(conn).expect("write");
    if wait {
        assert_eq!(replies[1], 1, "the replica acknowledged");
    }
}

/// Median latency of one write, one client.
fn latency(url: &str, wait: bool) -> Duration {
    let mut conn = redis::Client::open(url).expect("client").get_connection().expect("connect");
    let mut times: Vec<Duration> = (0..WRITES)
        .map(|_| {
            let t = Instant::now();
            write(&mut conn, wait);
            t.elapsed()
        })
        .collect();
    times.sort();
    times[times.len() / 2]
}

/// Writes per second with `clients` at once.
fn throughput(url: &str, wait: bool, clients: usize) -> f64 {
    let start = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                let mut conn = redis::Client::open(url).expect("client").get_connection().expect("connect");
                for _ in 0..WRITES / clients {
                    write(&mut conn, wait);
                }
            });
        }
    });
    WRITES as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let master = RedisServer::start_with(&["--repl-diskless-sync-delay", "0"]);
    let of = master.port.to_string();
    let _replica = RedisServer::start_with(&["--replicaof", "127.0.0.1", &of]);
    let url = format!("redis://127.0.0.1:{}/0", master.port);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !master.cmd(&["INFO", "replication"]).contains("connected_slaves:1") {
        assert!(Instant::now() < deadline, "the replica did not connect");
        std::thread::sleep(Duration::from_millis(50));
    }
    let ping = master.benchmark("ping");
    println!("Machine: redis-benchmark {ping}\n");
    println!("| | one client, median | 8 clients, writes/s |");
    println!("|---|---|---|");
    let (plain, waited) = (latency(&url, false), latency(&url, true));
    let (plain_8, waited_8) = (throughput(&url, false, 8), throughput(&url, true, 8));
    println!("| a script write | {:.0} µs | {plain_8:.0} |", plain.as_secs_f64() * 1e6);
    println!("| the write + `WAIT 1 1000` | {:.0} µs | {waited_8:.0} |", waited.as_secs_f64() * 1e6);
    println!("| ratio | {:.2}× | {:.2}× |", waited.as_secs_f64() / plain.as_secs_f64(), plain_8 / waited_8);
}
