//! A worker cut off from Redis by a silent network (its proxy paused: the
//! connection stays open, nothing arrives) while the other workers reach
//! Redis: SPEC §4, "At most one live run": the cut-off worker must stop its
//! job before the lease lapses, since another worker is then handed it.

use std::time::Duration;

use super::chaos::exclusive;
use crate::common::{Env, Proxy, RedisServer, SOON, alive, wait_until};

/// Found by the soak (tests/faults/soak.rs, seed 1795916497884519076): the
/// worker's lease loop also asks the broker, once a second, for revoked jobs
/// and publishes live output, and those calls are not bounded by the running
/// jobs' deadlines. On a silent network the first of them waits for the
/// Redis client's 10 s response timeout, the loop neither renews nor stops
/// anything meanwhile, the 5 s lease lapses, and a second worker runs the
/// `max_concurrent = 1` job beside the first run. A reset connection fails
/// at once and is handled; only silence shows it. Default leases (30 s)
/// outlast the 10 s wait; leases up to about 15 s do not.
#[test]
#[ignore = "known bug: a silent network stalls the lease loop past a short lease (see the comment)"]
fn a_worker_cut_off_by_a_silent_network_stops_its_job_before_the_lease_lapses() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.port);
    let env = Env::with_broker(&server.url()).jobs(&format!(
        "[defaults]\nshell = \"/bin/bash\"\n[jobs.slow]\nmax_concurrent = 1\ncommand = '''{}'''\n",
        exclusive("slow", "8")
    ));
    let id = env.enqueue(&["slow"]);
    let _cut_off = env.spawn_with(&["run", "--lease", "5s"], &[("TASKQ_BROKER", &proxy.url())]);
    let holder = || env.read("slow.lock").trim().parse::<i32>().ok().filter(|&pid| alive(pid));
    wait_until(SOON, "the first run holds its lock", || holder().is_some());
    let first = holder().expect("a holder");

    proxy.pause();
    let _other = env.spawn(&["run", "--lease", "5s"]);
    wait_until(Duration::from_secs(30), "the job succeeded on the other worker", || env.state(&id) == "succeeded");
    let overlaps = env.read("overlaps");
    let first_alive = alive(first);
    proxy.resume();
    assert_eq!(overlaps, "", "the second run met the first, still running (first run alive now: {first_alive})");
}
