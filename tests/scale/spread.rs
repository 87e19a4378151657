//! A namespace's queues spread over a cluster's masters (one slot per
//! queue): a worker serving queues on every master runs each queue's jobs,
//! and what spans queues works across masters: reads by id, `list`, unique
//! keys, hook jobs to a queue on another master, the failed set's bound.

use std::collections::BTreeSet;

use crate::common::{Env, SOON, wait_until};

#[test]
fn queues_on_every_master_serve_one_namespace() {
    let cluster = crate::shared::cluster();
    let env0 = Env::with_broker(&cluster.url());
    // One queue on each master, found by the slots their names hash to.
    let slot_of = |q: &str| -> u16 {
        cluster
            .cmd_on(cluster.ports()[0], &["CLUSTER", "KEYSLOT", &format!("{{{}/{q}}}", env0.ns)])
            .parse()
            .expect("slot")
    };
    let mut masters = BTreeSet::new();
    let mut queues = Vec::new();
    for q in (0..100).map(|i| format!("q{i}")) {
        if masters.insert(cluster.master_of_slot(slot_of(&q))) {
            queues.push(q);
        }
    }
    assert_eq!(queues.len(), 3, "three masters, a queue on each");
    let (a, b, c) = (&queues[0], &queues[1], &queues[2]);
    let env = env0.jobs(&format!(
        r#"
[taskq]
failed_max = 1
[jobs.work]
command = "echo $1 >> @DIR@/ran"
queue = "{a}"
[jobs.fails]
command = "exit 3"
queue = "{b}"
on_failure = "alert"
[jobs.alert]
command = "echo alert >> @DIR@/ran"
queue = "{c}"
[jobs.solo]
command = "echo solo >> @DIR@/ran"
queue = "{c}"
max_concurrent = 1
"#
    ));
    let ids = [
        env.enqueue(&["work", "one"]),
        env.enqueue(&["work", "two", "--queue", b]),
        env.enqueue(&["work", "three", "--queue", c, "--key", "k3"]),
        env.enqueue(&["solo"]),
        env.enqueue(&["fails", "x"]),
        env.enqueue(&["fails", "y"]),
    ];
    assert_eq!(env.enqueue(&["work", "again", "--key", "k3"]), ids[2], "a unique key spans queues");
    let _worker = env.spawn(&["run", "-c", "1", "-Q", &format!("{a},{b},{c}")]);
    wait_until(SOON, "every job to run, and the two hooks", || env.lines("ran").len() == 6);
    let mut ran = env.lines("ran");
    ran.sort();
    assert_eq!(ran, ["alert", "alert", "one", "solo", "three", "two"]);
    for id in &ids[..4] {
        assert_eq!(env.state(id), "succeeded", "status finds {id} whatever its master");
    }
    wait_until(SOON, "the failed set's bound of one", || {
        let failed = env.run(&["list", "--state", "failed", "--json"]).success().get_output().stdout.clone();
        String::from_utf8_lossy(&failed).lines().count() == 1
    });
    // six enqueued and two hooks, less the failed job the bound dropped
    let listed = env.run(&["list", "--json", "--limit", "100"]).success().get_output().stdout.clone();
    assert_eq!(String::from_utf8_lossy(&listed).lines().count(), 7, "list reads every queue");
}
