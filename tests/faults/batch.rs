//! On Redis, a busy queue's finishes share a script call (finishes.rs): two
//! calls under way, the finishes made meanwhile go together in the next.
//! What one of them meets stays its own, and a call that reached its bound
//! of steps leaves the rest to the next call without losing any.

use std::collections::HashSet;
use std::time::Duration;

use futures_util::future::join_all;
use taskq::broker::{Broker, Lease, LeaseToken, Take};
use taskq::job::{JobState, NewJob};
use taskq::names::QueueName;

use crate::common::{Env, RedisServer};
use crate::conformance::cases::{LEASE, state, succeeded, take};

/// A job of `name` on the queue "default".
fn job(name: &str) -> NewJob {
    crate::conformance::cases::job(name, "default")
}

/// Enqueues `n` jobs of `name` and takes them, one lease each.
async fn leased(broker: &dyn Broker, name: &str, n: usize) -> Vec<Lease> {
    broker.enqueue(&(0..n).map(|_| job(name)).collect::<Vec<_>>()).await.unwrap();
    let mut leases = Vec::new();
    for _ in 0..n {
        leases.push(take(broker, &["default"], "w", LEASE).await.expect("a job"));
    }
    leases
}

// Six finishes made at once: the first two go alone, the other four wait
// and then go in one call, where the second's record is damaged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_record_fails_its_own_finish_not_the_others_in_its_call() {
    let env = Env::redis();
    let broker = env.connect().await;
    let leases = leased(broker.as_ref(), "j", 6).await;
    let jobs = format!("{{{}/default}}:jobs", env.ns);
    let damaged = leases[3].job.id.to_string();
    env.redis_conn().call(&["HSET", &jobs, &damaged, "garbage"]).expect("hset");

    let tokens: Vec<LeaseToken> = leases.iter().map(Lease::token).collect();
    let done = join_all(tokens.iter().map(|t| broker.finish(t, succeeded(), None))).await;
    for (i, (done, lease)) in done.into_iter().zip(&leases).enumerate() {
        if i == 3 {
            let error = done.expect_err("the damaged record's finish fails");
            assert!(error.to_string().contains("finish"), "{error}");
        } else {
            assert!(done.expect("recorded").recorded, "finish {i}");
            assert_eq!(state(broker.as_ref(), lease.job.id).await, JobState::Succeeded, "job {i}");
        }
    }
}

// Six slots finish at once, each taking its next job from behind 2,000
// expired ones: a call stops once its takes have stepped past one take's
// bound (200), and the finishes it did not reach go in the next call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finishes_a_call_did_not_reach_go_in_the_next_and_each_gets_its_job() {
    let env = Env::redis();
    let broker = env.connect().await;
    let leases = leased(broker.as_ref(), "first", 6).await;
    let stale: Vec<NewJob> = (0..2000)
        .map(|_| {
            let mut j = job("stale");
            j.expires = Some(Duration::from_secs(1));
            j
        })
        .collect();
    broker.enqueue(&stale).await.unwrap();
    let fresh: Vec<NewJob> = (0..6).map(|_| job("fresh")).collect();
    broker.enqueue(&fresh).await.unwrap();
    env.advance(2);

    let queues = [QueueName::new("default").unwrap()];
    let tokens: Vec<LeaseToken> = leases.iter().map(Lease::token).collect();
    let grants: Vec<String> = (0..6).map(|i| format!("next-{i}")).collect();
    let done = join_all(tokens.iter().zip(&grants).map(|(t, grant)| {
        let next = Take { queues: &queues, worker: "w", lease: LEASE, grant };
        broker.finish(t, succeeded(), Some(next))
    }))
    .await;
    let mut handed = HashSet::new();
    for (i, (done, grant)) in done.into_iter().zip(&grants).enumerate() {
        let done = done.expect("recorded");
        assert!(done.recorded, "finish {i}");
        let next = done.next.expect("a fresh job for every slot");
        assert_eq!(next.grant, *grant, "slot {i}'s own take");
        assert!(fresh.iter().any(|j| j.id == next.job.id), "slot {i} got a fresh job");
        assert!(handed.insert(next.job.id), "{} handed to two slots", next.job.id);
    }
    for lease in &leases {
        assert_eq!(state(broker.as_ref(), lease.job.id).await, JobState::Succeeded);
    }
    assert_eq!(state(broker.as_ref(), stale[1999].id).await, JobState::Expired);
}

// A call carrying others given up midway (its worker's task dropped): the
// finishes it carried are told so and, sent again as a worker does, are
// recorded once; the call under way beside it is not disturbed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn finishes_a_given_up_call_carried_are_sent_again_and_recorded_once() {
    let env = Env::redis();
    let broker = env.connect().await;
    let leases = leased(broker.as_ref(), "j", 6).await;
    let tokens: Vec<LeaseToken> = leases.iter().map(Lease::token).collect();
    let mut finishes: Vec<_> = tokens.iter().map(|t| Some(Box::pin(broker.finish(t, succeeded(), None)))).collect();
    // The first two go alone; the other four wait.
    for f in finishes.iter_mut().flatten() {
        let _ = futures_util::poll!(f.as_mut());
    }
    // The first given up: the third leads the next call, with the last
    // three in it; given up once that call is sent.
    finishes[0] = None;
    let third = finishes[2].as_mut().expect("the third");
    assert!(futures_util::poll!(third.as_mut()).is_pending(), "its call under way");
    finishes[2] = None;
    for carried in &mut finishes[3..] {
        let carried = carried.take().expect("carried");
        let error = tokio::time::timeout(Duration::from_secs(10), carried).await.expect("told at once");
        let error = error.expect_err("its call was given up");
        assert!(error.to_string().contains("given up"), "{error}");
    }
    let second = finishes[1].take().expect("the second");
    assert!(tokio::time::timeout(Duration::from_secs(10), second).await.expect("in time").unwrap().recorded);
    for i in [0, 2, 3, 4, 5] {
        let again = broker.finish(&tokens[i], succeeded(), None);
        assert!(tokio::time::timeout(Duration::from_secs(10), again).await.expect("in time").unwrap().recorded);
    }
    for lease in &leases {
        let rec = broker.get(&[lease.job.id]).await.unwrap().pop().flatten().expect("the record");
        assert_eq!((rec.state, rec.attempts), (JobState::Succeeded, 1));
    }
}

// A command the server refuses inside a call (it cannot save: MISCONF)
// fails every finish the call carried as an outage, with the reason and
// its fix, as it fails a finish alone; sent again once the server saves,
// each is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_inside_a_call_fails_its_finishes_as_an_outage() {
    let server = RedisServer::start();
    let env = Env::with_broker(&server.url());
    let broker = env.connect().await;
    let leases = leased(broker.as_ref(), "j", 6).await;
    server.misconf();
    let tokens: Vec<LeaseToken> = leases.iter().map(Lease::token).collect();
    let done = join_all(tokens.iter().map(|t| broker.finish(t, succeeded(), None))).await;
    for (i, done) in done.into_iter().enumerate() {
        let error = done.expect_err("refused");
        assert!(error.is_unavailable() && error.to_string().contains("cannot save to disk"), "finish {i}: {error}");
    }
    server.clear_misconf();
    for (i, token) in tokens.iter().enumerate() {
        assert!(broker.finish(token, succeeded(), None).await.expect("recorded").recorded, "finish {i}");
    }
    for lease in &leases {
        assert_eq!(state(broker.as_ref(), lease.job.id).await, JobState::Succeeded);
    }
}
