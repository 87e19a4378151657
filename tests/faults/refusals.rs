//! Redis refusing what taskq asks (a failed save, a changed password, an ACL
//! user without channel rights): a worker or beat waits it out and carries
//! on once it passes, never exits, never spins; one-shot commands exit 69.

use std::time::Duration;

use crate::common::redis::command_calls;
use crate::common::{Env, RedisConn, RedisServer, SOON, poll_until, wait_until};

fn stat(server: &RedisServer, name: &str) -> u64 {
    let info = server.cmd(&["INFO", "stats"]);
    let value = info.lines().find_map(|l| l.strip_prefix(&format!("{name}:")));
    value.and_then(|v| v.trim().parse().ok()).unwrap_or_else(|| panic!("INFO stats has {name}"))
}

// See: the faults issue, item 3 (MISCONF ended the worker; under
// `run --beat` the worker half stopped while beat kept firing).
#[test]
fn a_redis_that_cannot_save_is_waited_out_by_a_worker_and_its_beat() {
    let server = RedisServer::start();
    let env = Env::with_broker(&server.url()).jobs(
        "[jobs.mark]\ncommand = \"echo $1 >> @DIR@/marks\"\n[jobs.tick]\ncommand = \"echo t >> @DIR@/ticks\"\nevery = \"1s\"\n",
    );
    let mut worker = env.spawn(&["run", "--beat"]);
    wait_until(SOON, "the first ticks", || env.lines("ticks").len() >= 2);
    server.misconf();
    env.run(&["enqueue", "mark", "refused"])
        .code(69)
        .stderr(predicates::str::contains("Redis cannot save to disk and refuses writes"));
    // Several failed rounds of every loop: the process stays, whole.
    std::thread::sleep(Duration::from_secs(3));
    assert!(worker.child.try_wait().unwrap().is_none(), "the worker exited:\n{}", worker.stderr());
    assert!(!worker.stderr().contains("internal error"), "{}", worker.stderr());
    server.clear_misconf();
    let ticks = env.lines("ticks").len();
    env.enqueue(&["mark", "after"]);
    wait_until(SOON, "a job after the refusal ended", || env.lines("marks") == ["after"]);
    wait_until(SOON, "beat to fire again", || env.lines("ticks").len() > ticks + 1);
}

// See: the faults issue, item 4 (after a password change and back, the
// worker logged AuthenticationFailed forever).
#[test]
fn a_worker_recovers_when_a_changed_password_is_restored() {
    let server = RedisServer::start_with(&["--requirepass", "first"]);
    let env = Env::with_broker(&server.url_as("", "first")).jobs("[jobs.mark]\ncommand = \"echo $1 >> @DIR@/marks\"\n");
    let mut worker = env.spawn(&["run"]);
    env.enqueue(&["mark", "one"]);
    wait_until(SOON, "the first job", || env.lines("marks") == ["one"]);

    server.set_password(Some("second"));
    server.kill_clients();
    env.run(&["enqueue", "mark", "refused"])
        .code(69)
        .stderr(predicates::str::contains("check the user and password in the broker URL"));
    wait_until(SOON, "the worker to meet the refusal", || worker.stderr().contains("broker unavailable"));
    server.set_password(Some("first"));
    env.enqueue(&["mark", "two"]);
    wait_until(SOON, "a job after the password came back", || env.lines("marks") == ["one", "two"]);
    assert!(worker.child.try_wait().unwrap().is_none(), "{}", worker.stderr());
}

// See: the faults issue, item 5 (an ACL user without channel rights made the
// worker spin at 5,000 commands a second, and enqueue failed after storing).
#[test]
fn a_user_without_channel_rights_works_by_polling_without_spinning() {
    let server = RedisServer::start();
    let url = server.add_user_without_channels("taskq", "secret");
    let env = Env::with_broker(&url).jobs("[jobs.mark]\ncommand = \"echo $1 >> @DIR@/marks\"\n");
    let id = env.enqueue(&["mark", "one"]);
    assert_eq!(env.lines("marks").len(), 0);
    let worker = env.spawn(&["run"]);
    wait_until(SOON, "the job to run, found by polling", || env.lines("marks") == ["one"]);
    assert_eq!(env.state(&id), "succeeded");
    let (commands, connections) =
        (stat(&server, "total_commands_processed"), stat(&server, "total_connections_received"));
    std::thread::sleep(Duration::from_secs(3));
    let commands = stat(&server, "total_commands_processed") - commands;
    let connections = stat(&server, "total_connections_received") - connections;
    assert!(commands < 300, "an idle worker sent {commands} commands in 3 s");
    assert!(connections < 10, "an idle worker opened {connections} connections in 3 s");
    assert!(worker.stderr().matches("cannot subscribe").count() <= 1, "{}", worker.stderr());
    env.run(&["list", "--job", "mark"]).success().stdout(predicates::str::contains(&id));
}

// See: the faults issue, item 3 (NOREPLICAS and "max number of clients
// reached" took the same path out as MISCONF).
#[test]
fn refused_writes_and_a_full_client_table_are_waited_out() {
    let server = RedisServer::start();
    let env = Env::with_broker(&server.url()).jobs("[jobs.mark]\ncommand = \"echo $1 >> @DIR@/marks\"\n");
    let mut worker = env.spawn(&["run"]);
    let one = env.enqueue(&["mark", "one"]);
    wait_until(SOON, "the first job", || env.lines("marks") == ["one"]);
    // Each fault below must meet an idle worker looking for work, the one
    // that logs the outage, not a slot still recording an outcome.
    wait_until(SOON, "its outcome recorded", || env.state(&one) == "succeeded");

    // Writes refused with NOREPLICAS: as a master left without its replicas.
    assert_eq!(server.cmd(&["CONFIG", "SET", "min-replicas-to-write", "1"]), "OK");
    env.run(&["enqueue", "mark", "refused"]).code(69);
    wait_until(SOON, "the worker to meet the refusal", || worker.stderr().contains("NOREPLICAS"));
    assert_eq!(server.cmd(&["CONFIG", "SET", "min-replicas-to-write", "0"]), "OK");
    let two = env.enqueue(&["mark", "two"]);
    wait_until(SOON, "a job once writes are accepted", || env.lines("marks").len() == 2);
    wait_until(SOON, "its outcome recorded", || env.state(&two) == "succeeded");

    // No room for new clients: the worker's connections dropped, its
    // reconnects refused while this one holds the only place.
    let outages = worker.stderr().matches("broker unavailable").count();
    let mut admin = RedisConn::connect(server.port).unwrap();
    assert_eq!(admin.call(&["CONFIG", "SET", "maxclients", "1"]).unwrap(), "OK");
    for kind in ["normal", "pubsub"] {
        admin.call(&["CLIENT", "KILL", "TYPE", kind, "SKIPME", "yes"]).unwrap();
    }
    // Within the client's 10 s response timeout of a call caught by the kill, and a backoff.
    let refused =
        poll_until(Duration::from_secs(30), || worker.stderr().matches("broker unavailable").count() > outages);
    assert!(refused, "the worker was not refused:\n{}", worker.stderr());
    std::thread::sleep(Duration::from_secs(1));
    assert!(worker.child.try_wait().unwrap().is_none(), "the worker exited:\n{}", worker.stderr());
    assert_eq!(admin.call(&["CONFIG", "SET", "maxclients", "10000"]).unwrap(), "OK");
    env.enqueue(&["mark", "three"]);
    wait_until(SOON, "a job once clients are let in", || env.lines("marks").len() == 3);
    assert!(!worker.stderr().contains("internal error"), "{}", worker.stderr());
}

/// `SCRIPT` commands the server has answered (Redis 7 counts `SCRIPT LOAD`
/// apart, as `cmdstat_script|load`; 6.2 counts every `SCRIPT` together).
fn script_loads(server: &RedisServer) -> u64 {
    let info = server.cmd(&["INFO", "commandstats"]);
    command_calls(&info, "script|load").or_else(|| command_calls(&info, "script")).unwrap_or(0)
}

// Scripts are called by the hash taskq computed when it was built: a server
// without them (restarted, flushed, a new master) is sent them again.
#[test]
fn a_redis_that_forgot_the_scripts_is_sent_them_again() {
    let server = RedisServer::start();
    let env = Env::with_broker(&server.url()).jobs("[jobs.mark]\ncommand = \"echo $1 >> @DIR@/marks\"\n");
    let mut worker = env.spawn(&["run"]);
    env.enqueue(&["mark", "one"]);
    wait_until(SOON, "the first job", || env.lines("marks") == ["one"]);
    server.cmd(&["SCRIPT", "FLUSH"]);
    let loads = script_loads(&server);
    env.enqueue(&["mark", "two"]);
    wait_until(SOON, "a job after the flush", || env.lines("marks") == ["one", "two"]);
    assert!(script_loads(&server) >= loads + 2, "the enqueue's and the worker's scripts were sent again");
    assert!(worker.child.try_wait().unwrap().is_none(), "{}", worker.stderr());
    assert!(!worker.stderr().contains("NOSCRIPT"), "{}", worker.stderr());
}
