//! Network partitions between a worker and Redis, made with the proxy: a
//! worker that cannot renew its lease stops its job before the lease can
//! lapse, so the job never runs on two workers at once, and a short cut
//! costs nothing.

use std::time::Duration;

use super::chaos::exclusive;
use crate::common::{Env, Proxy, RedisServer, SOON, alive, wait_until};

/// A job that must never run twice at once: a second run finds the lock
/// held (flock dies with its holder, however it dies) and says so.
const EXCLUSIVE: &str = r#"
[jobs.exclusive]
command = "exec 9>@DIR@/lock; flock -n 9 || echo overlap >> @DIR@/overlaps; echo $$ >> @DIR@/starts; sleep 6; echo done >> @DIR@/ends"
max_concurrent = 1
kill_after = "5s"
"#;

// See: the faults issue, item 1 (a partitioned worker kept running its job
// while another worker recovered the lease and ran it too).
#[test]
fn a_partitioned_worker_stops_its_job_before_another_can_take_it() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.port);
    let env = Env::with_broker(&server.url()).jobs(EXCLUSIVE);
    let cut_off = env.spawn_with(&["run", "--lease", "3s"], &[("TASKQ_BROKER", &proxy.url())]);
    let id = env.enqueue(&["exclusive"]);
    wait_until(SOON, "the first run to start", || env.lines("starts").len() == 1);

    proxy.pause();
    let other = env.spawn(&["run", "--lease", "3s"]);
    wait_until(Duration::from_secs(20), "the job to run again on the reachable worker", || {
        env.lines("starts").len() == 2
    });
    assert!(
        cut_off.stderr().contains("stopping the job before it lapses"),
        "the cut-off worker stopped its run itself:\n{}",
        cut_off.stderr()
    );
    wait_until(SOON, "the second run to finish", || env.state(&id) == "succeeded");
    proxy.resume();
    assert_eq!(env.read("overlaps"), "", "two runs of a max_concurrent = 1 job overlapped");
    assert_eq!(env.lines("ends").len(), 1, "the stopped run did not finish");
    assert_eq!(env.status(&id)["attempts"], 2);
    drop(other);
}

#[test]
fn a_cut_of_two_thirds_of_the_lease_costs_the_worker_nothing() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.port);
    let env = Env::with_broker(&server.url())
        .jobs("[jobs.long]\ncommand = \"echo $$ >> @DIR@/starts; sleep 24; echo done >> @DIR@/ends\"\n");
    let worker = env.spawn_with(&["run", "--lease", "30s"], &[("TASKQ_BROKER", &proxy.url())]);
    let id = env.enqueue(&["long"]);
    wait_until(SOON, "the run to start", || env.lines("starts").len() == 1);
    // Another worker, ready to take the job should its lease lapse.
    let _other = env.spawn(&["run", "--lease", "30s"]);
    // A hard cut of 21 s: renewals fail at once and are retried every
    // second; the job is stopped only if no renewal gets through within
    // its lease less a short grace and margin (25.5 s).
    proxy.refuse();
    std::thread::sleep(Duration::from_secs(21));
    proxy.accept_again();
    wait_until(Duration::from_secs(30), "the run to finish", || env.state(&id) == "succeeded");
    assert_eq!(env.lines("starts").len(), 1, "the job ran once:\n{}", worker.stderr());
    assert_eq!(env.status(&id)["attempts"], 1);
    assert!(worker.stderr().contains("cannot renew leases"), "the cut was felt:\n{}", worker.stderr());
    assert!(worker.stderr().contains("lease renewal works again"), "{}", worker.stderr());
}

#[test]
fn a_worker_survives_a_blip_and_a_partition_and_carries_on() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.port);
    let env = Env::with_broker(&server.url()).jobs("[jobs.mark]\ncommand = \"echo $1 >> @DIR@/marks\"\n");
    let mut worker = env.spawn_with(&["run", "-c", "2"], &[("TASKQ_BROKER", &proxy.url())]);
    env.enqueue(&["mark", "before"]);
    wait_until(SOON, "the first job", || env.lines("marks") == ["before"]);

    proxy.drop_all();
    let after_blip = env.enqueue(&["mark", "after-blip"]);
    wait_until(SOON, "a job after a blip", || env.lines("marks").len() == 2);
    // Its outcome recorded too: the cut below must meet an idle worker
    // looking for work, not a slot still recording (which logs otherwise).
    wait_until(SOON, "the job's outcome recorded", || env.state(&after_blip) == "succeeded");

    proxy.refuse();
    env.enqueue(&["mark", "during"]);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(env.lines("marks").len(), 2, "nothing runs while the worker is cut off");
    assert!(worker.child.try_wait().unwrap().is_none(), "the worker is still alive:\n{}", worker.stderr());
    proxy.accept_again();
    wait_until(SOON, "the job queued during the partition", || env.lines("marks").len() == 3);
    assert!(worker.stderr().contains("broker reachable again"), "{}", worker.stderr());
}

// Found by the soak too (tests/faults/soak/, seed 1795916497884519076):
// the lease loop's once-a-second calls (revoked jobs, live output) waited
// out the Redis client's 10 s response timeout on a silent network, past a
// 5 s lease. Every call of that loop is now bounded by the earliest stop.
#[test]
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
