//! Ids found from their first characters (`find_ids`): jobs on every queue
//! and workflow runs, none whose result expired.

use std::time::Duration;

use taskq::broker::Finish;
use taskq::job::{IdArg, IdPrefix, JobId};

use super::cases::{LEASE, enqueue, job, result, take};
use super::conformance;
use super::runs::new_run;

fn id(text: &str) -> JobId {
    text.parse().unwrap()
}

fn prefix(text: &str) -> IdPrefix {
    match text.parse::<IdArg>() {
        Ok(IdArg::Prefix(p)) => p,
        other => panic!("{text}: {other:?}"),
    }
}

// See: issue 13 item 7 (ids could not be shortened).
conformance!(ids_are_found_by_their_first_characters_on_every_queue_and_among_runs, |broker, env| {
    let (a, b, c) = (
        id("0190aaaa-0000-7000-8000-000000000010"),
        id("0190aaaa-0000-7000-8000-000000000020"),
        id("0190bbbb-0000-7000-8000-000000000003"),
    );
    for (id, queue) in [(a, "q1"), (b, "q2"), (c, "q1")] {
        let mut j = job("report", queue);
        j.id = id;
        enqueue(broker.as_ref(), &j).await;
    }
    let mut run = new_run();
    run.id = id("0190cccc-0000-7000-8000-000000000004");
    assert!(broker.start_run(&run).await.unwrap());

    let find = |text: &'static str, limit: usize| {
        let broker = broker.clone();
        async move {
            let mut found = broker.find_ids(&prefix(text), limit).await.unwrap();
            found.sort();
            found
        }
    };
    assert_eq!(find("0190aaaa", 10).await, [a, b], "across queues");
    assert_eq!(find("0190AAAA0000", 10).await, [a, b], "hyphens and case do not matter");
    assert_eq!(find("0190aaaa", 1).await.len(), 1, "at most the limit");
    assert_eq!(find("0190aaaa-0000-7000-8000-0000000000", 10).await, [a, b]);
    assert_eq!(find("0190aaaa-0000-7000-8000-00000000002", 10).await, [b], "31 of 32 characters");
    assert_eq!(find("0190bbbb", 10).await, [c]);
    assert_eq!(find("0190cccc", 10).await, [run.id], "a workflow run's id");

    // A finished job whose result outlived its ttl is gone, swept or not.
    let lease = take(broker.as_ref(), &["q1"], "w", LEASE).await.expect("a job");
    assert_eq!(lease.job.id, a, "the oldest of q1 first");
    let done =
        Finish::Succeeded { result: result(None), ttl: Duration::from_secs(10), ignore_result: false, hook: None };
    assert!(broker.finish(&lease.token(), done, None).await.unwrap().recorded);
    assert_eq!(find("0190aaaa", 10).await, [a, b], "kept for its ttl");
    env.advance(11);
    assert_eq!(find("0190aaaa", 10).await, [b]);
    assert!(find("0190dddd", 10).await.is_empty());
});
