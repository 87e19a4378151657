//! What an id finds: the ids that start with some characters (`find_ids`),
//! on every queue and among workflow runs, none whose result expired; and
//! the tombstone an `ignore_result` job leaves for its result ttl.

use std::time::Duration;

use taskq::broker::{Finish, ListFilter, Retried, Revoke};
use taskq::job::{IdArg, IdPrefix, JobId};

use super::cases::{LEASE, enqueue, get, job, result, succeeded, take};
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

// See: issue 13 item 7 (a succeeded ignore_result job could not be told
// from an id never seen).
conformance!(an_ignore_result_job_leaves_a_tombstone_for_its_result_ttl, |broker, env| {
    let ping = enqueue(broker.as_ref(), &job("ping", "default")).await;
    let kept = enqueue(broker.as_ref(), &job("kept", "default")).await;
    let before = broker.time().await.unwrap();
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.expect("a job");
    assert_eq!(lease.job.id, ping);
    let done =
        Finish::Succeeded { result: result(None), ttl: Duration::from_secs(60), ignore_result: true, hook: None };
    assert!(broker.finish(&lease.token(), done, None).await.unwrap().recorded);
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.expect("a job");
    assert!(broker.finish(&lease.token(), succeeded(), None).await.unwrap().recorded);

    assert!(get(broker.as_ref(), ping).await.is_none(), "the record is deleted");
    let never = JobId::new();
    let found = broker.tombstones(&[ping, kept, never]).await.unwrap();
    let tomb = found[0].clone().expect("a tombstone");
    assert_eq!((tomb.id, tomb.job.as_str()), (ping, "ping"));
    assert!(tomb.finished_at >= before - jiff::SignedDuration::from_secs(1), "{tomb:?}");
    assert_eq!((&found[1], &found[2]), (&None, &None), "a kept record or an unknown id has none");
    let listed = broker.list(&ListFilter { limit: 50, ..ListFilter::default() }).await.unwrap();
    assert_eq!(listed.iter().map(|r| r.job.id).collect::<Vec<_>>(), [kept], "not listed");
    let text = ping.to_string();
    assert_eq!(broker.find_ids(&prefix(&text[..28]), 10).await.unwrap(), [ping], "found by a prefix");
    // Nothing to revoke or retry: as for an unknown id.
    assert_eq!(broker.revoke(ping, false).await.unwrap(), Revoke::Unknown);
    assert_eq!(broker.retry_failed(Some(&[ping])).await.unwrap(), [(ping, Retried::Unknown)]);

    env.advance(61);
    assert_eq!(broker.tombstones(&[ping]).await.unwrap(), [None], "gone with its ttl, swept or not");
    broker.purge_expired_results().await.unwrap();
    assert_eq!(broker.tombstones(&[ping]).await.unwrap(), [None]);
    assert!(broker.find_ids(&prefix(&text[..28]), 10).await.unwrap().is_empty());
});
