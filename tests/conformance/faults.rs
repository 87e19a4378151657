//! The contract's answers to faults: replies lost in transit, jobs put back
//! by a shutdown, concurrency limits that must never strand a job, and a
//! failed set that stays bounded.

use std::time::Duration;

use taskq::broker::{Finish, Retention, Take};
use taskq::job::{JobState, NewJob};

use super::cases::{LEASE, at, enqueue, get, grant, job, q, result, state, succeeded, take};
use super::conformance;
use super::operations::fire;

fn limited(n: u32) -> NewJob {
    let mut j = job("exclusive", "default");
    j.policy.max_concurrent = Some(n);
    j
}

conformance!(a_take_asked_again_after_a_lost_reply_hands_over_the_same_job, |broker, env| {
    let first = enqueue(broker.as_ref(), &job("a", "default")).await;
    let second = enqueue(broker.as_ref(), &job("b", "default")).await;
    let queues = q(&["default"]);
    let g = grant();
    let t = Take { queues: &queues, worker: "w", lease: LEASE, grant: &g };
    let lease = broker.dequeue(&t).await.unwrap().expect("a job");
    assert_eq!(lease.job.id, first);
    // The reply was lost; the worker asks again under the same grant.
    let again = broker.dequeue(&t).await.unwrap().expect("the same job");
    assert_eq!((again.job.id, again.attempt), (first, 1), "not a second job, not a second attempt");
    assert_eq!(get(broker.as_ref(), second).await.unwrap().state, JobState::Queued);
    // Once that run has ended, its grant takes afresh.
    broker.finish(&lease.token(), succeeded(), None).await.unwrap();
    assert_eq!(broker.dequeue(&t).await.unwrap().map(|l| l.job.id), Some(second));
});

conformance!(a_take_asked_again_counts_the_lease_from_then, |broker, env| {
    let id = enqueue(broker.as_ref(), &job("a", "default")).await;
    let queues = q(&["default"]);
    let g = grant();
    let t = Take { queues: &queues, worker: "w", lease: Duration::from_secs(10), grant: &g };
    broker.dequeue(&t).await.unwrap().expect("a job");
    env.advance(8);
    let again = broker.dequeue(&t).await.unwrap().expect("the same job");
    env.advance(8);
    assert!(broker.recover_expired().await.unwrap().jobs.is_empty(), "the lease runs from the second answer");
    assert!(broker.extend_leases(&[again.token()], LEASE).await.unwrap().is_empty());
    assert_eq!(state(broker.as_ref(), id).await, JobState::Running);
});

conformance!(a_run_given_back_and_taken_again_has_a_token_of_its_own, |broker, env| {
    let id = enqueue(broker.as_ref(), &job("a", "default")).await;
    let first = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    assert!(broker.finish(&first.token(), Finish::Requeue, None).await.unwrap().recorded);
    let second = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    // Same job, same worker, same attempt number (a requeue gives it back):
    // only the grant tells the runs apart.
    assert_eq!((second.job.id, second.worker.as_str(), second.attempt), (id, "w", first.attempt));
    assert_ne!(second.token(), first.token());
    // The first run's retried requeue (its reply lost) touches the second
    // run not at all: to it, the job is another run's now.
    assert!(!broker.finish(&first.token(), Finish::Requeue, None).await.unwrap().recorded);
    assert_eq!(state(broker.as_ref(), id).await, JobState::Running);
    assert!(broker.extend_leases(&[second.token()], LEASE).await.unwrap().is_empty());
    assert!(!broker.extend_leases(&[first.token()], LEASE).await.unwrap().is_empty(), "the first run's lease is gone");
});

conformance!(a_lapsed_lease_is_not_revived_by_a_late_renewal, |broker, env| {
    let id = enqueue(broker.as_ref(), &job("a", "default")).await;
    let lease = take(broker.as_ref(), &["default"], "w", Duration::from_secs(5)).await.unwrap();
    env.advance(6);
    // No one recovered it yet, but its lease lapsed: the stalled worker must stop.
    assert_eq!(
        broker.extend_leases(&[lease.token()], LEASE).await.unwrap(),
        [(lease.token(), taskq::broker::LeaseLoss::Lost)]
    );
    assert_eq!(broker.recover_expired().await.unwrap().jobs.len(), 1);
    assert_eq!(state(broker.as_ref(), id).await, JobState::Queued);
});

conformance!(a_finish_asked_again_after_a_lost_reply_is_recorded_once, |broker, env| {
    let id = enqueue(broker.as_ref(), &job("a", "default")).await;
    let next = enqueue(broker.as_ref(), &job("b", "default")).await;
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    let queues = q(&["default"]);
    let g = grant();
    let t = Take { queues: &queues, worker: "w", lease: LEASE, grant: &g };
    let mut hook = job("alert", "ops");
    hook.trigger = None;
    let fail = Finish::Failed { result: result(Some("x")), hook: Some(hook.clone()) };
    let done = broker.finish(&lease.token(), fail.clone(), Some(t)).await.unwrap();
    assert!(done.recorded);
    assert_eq!(done.next.as_ref().map(|l| l.job.id), Some(next));
    // The reply was lost: the same call again.
    let again = broker.finish(&lease.token(), fail, Some(t)).await.unwrap();
    assert!(again.recorded, "the outcome is reported recorded, not the lease lost");
    assert_eq!(again.next.map(|l| (l.job.id, l.attempt)), Some((next, 1)), "the same next job");
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.attempts), (JobState::Failed, 1));
    assert_eq!(broker.count_ready(&q(&["ops"])).await.unwrap(), 1, "the hook is enqueued once");
});

conformance!(a_job_put_back_by_a_shutdown_never_expires, |broker, env| {
    let mut j = job("nightly", "default");
    j.expires = Some(Duration::from_secs(60));
    let id = enqueue(broker.as_ref(), &j).await;
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    env.advance(120);
    assert!(broker.finish(&lease.token(), Finish::Requeue, None).await.unwrap().recorded);
    assert_eq!(get(broker.as_ref(), id).await.unwrap().attempts, 0, "the attempt is given back");
    let again = take(broker.as_ref(), &["default"], "w2", LEASE).await.expect("it started once: it runs");
    assert_eq!(again.job.id, id);
});

conformance!(a_limited_job_waits_for_a_free_slot, |broker, env| {
    let one = enqueue(broker.as_ref(), &limited(1)).await;
    let two = enqueue(broker.as_ref(), &limited(1)).await;
    let other = enqueue(broker.as_ref(), &job("free", "default")).await;
    let three = enqueue(broker.as_ref(), &limited(1)).await;
    let a = take(broker.as_ref(), &["default"], "w1", Duration::from_secs(10)).await.unwrap();
    assert_eq!(a.job.id, one);
    let b = take(broker.as_ref(), &["default"], "w2", LEASE).await.unwrap();
    assert_eq!(b.job.id, other, "the limited job waits; the next one runs");
    assert!(take(broker.as_ref(), &["default"], "w3", LEASE).await.is_none());
    assert_eq!(state(broker.as_ref(), two).await, JobState::Queued, "waiting, not dropped");
    assert_eq!(broker.count_ready(&q(&["default"])).await.unwrap(), 2, "waiting jobs are work for a burst run");
    // A renewed lease keeps the slot.
    env.advance(8);
    assert!(broker.extend_leases(&[a.token()], Duration::from_secs(10)).await.unwrap().is_empty());
    env.advance(4);
    assert!(take(broker.as_ref(), &["default"], "w3", LEASE).await.is_none());
    // Ending the run frees the slot for the oldest waiting job.
    assert!(broker.finish(&a.token(), succeeded(), None).await.unwrap().recorded);
    let c = take(broker.as_ref(), &["default"], "w3", Duration::from_secs(1)).await.unwrap();
    assert_eq!(c.job.id, two);
    // A lapsed lease frees its slot too.
    env.advance(2);
    broker.recover_expired().await.unwrap();
    let mut got = Vec::new();
    while let Some(l) = take(broker.as_ref(), &["default"], "w4", LEASE).await {
        got.push(l.job.id);
    }
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0] == two || got[0] == three);
});

// See: the faults issue, item 7 (a waiting job that expired consumed the
// freed slot and the one behind it waited forever).
conformance!(a_waiting_job_that_expires_does_not_strand_the_next, |broker, env| {
    let a = enqueue(broker.as_ref(), &limited(1)).await;
    let mut b_job = limited(1);
    b_job.expires = Some(Duration::from_secs(1));
    let b = enqueue(broker.as_ref(), &b_job).await;
    let c = enqueue(broker.as_ref(), &limited(1)).await;
    let running = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    assert_eq!(running.job.id, a);
    assert!(take(broker.as_ref(), &["default"], "w", LEASE).await.is_none(), "b and c wait");
    env.advance(5);
    broker.finish(&running.token(), succeeded(), None).await.unwrap();
    let next = take(broker.as_ref(), &["default"], "w", LEASE).await.expect("c runs: b expired, its turn passes on");
    assert_eq!(next.job.id, c);
    assert_eq!(state(broker.as_ref(), b).await, JobState::Expired);
});

conformance!(a_revoked_waiting_job_does_not_strand_the_next, |broker, env| {
    let a = enqueue(broker.as_ref(), &limited(1)).await;
    let b = enqueue(broker.as_ref(), &limited(1)).await;
    let c = enqueue(broker.as_ref(), &limited(1)).await;
    let running = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    assert_eq!(running.job.id, a);
    assert!(take(broker.as_ref(), &["default"], "w", LEASE).await.is_none());
    broker.finish(&running.token(), succeeded(), None).await.unwrap();
    // b was let back in line for the freed slot, then revoked before it ran.
    broker.revoke(b, false).await.unwrap();
    let next = take(broker.as_ref(), &["default"], "w", LEASE).await.expect("c runs");
    assert_eq!(next.job.id, c);
});

// See: the faults issue, item 8 (a plain job behind 1,000 waiting ones
// started only after seconds).
conformance!(jobs_waiting_for_a_slot_never_delay_a_ready_job, |broker, env| {
    let first = enqueue(broker.as_ref(), &limited(1)).await;
    let waiting: Vec<NewJob> = (0..1000).map(|_| limited(1)).collect();
    broker.enqueue(&waiting).await.unwrap();
    let plain = enqueue(broker.as_ref(), &job("plain", "default")).await;
    assert_eq!(take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap().job.id, first);
    let started = std::time::Instant::now();
    let next = take(broker.as_ref(), &["default"], "w", LEASE).await.expect("the plain job, in one take");
    assert_eq!(next.job.id, plain);
    assert!(started.elapsed() < Duration::from_secs(5));
});

conformance!(the_failed_set_keeps_at_most_failed_max_jobs, |broker, env| {
    drop(broker);
    let bounded = env.connect_with(Retention { failed_max: 3, failed_ttl: Duration::from_secs(3600) }).await;
    let mut ids = Vec::new();
    let mut dropped = 0;
    for i in 0..5 {
        let id = enqueue(bounded.as_ref(), &job(&format!("f{i}"), "default")).await;
        let lease = take(bounded.as_ref(), &["default"], "w", LEASE).await.unwrap();
        let fail = Finish::Failed { result: result(Some("x")), hook: None };
        dropped += bounded.finish(&lease.token(), fail, None).await.unwrap().dropped;
        ids.push(id);
        env.advance(1);
    }
    assert_eq!(dropped, 2, "each drop is counted");
    assert!(get(bounded.as_ref(), ids[0]).await.is_none(), "oldest dropped first");
    assert!(get(bounded.as_ref(), ids[1]).await.is_none());
    assert_eq!(bounded.count(&taskq::broker::Purge::Failed).await.unwrap(), 3);
    // And entries older than failed_ttl go.
    env.advance(3600);
    let id = enqueue(bounded.as_ref(), &job("late", "default")).await;
    let lease = take(bounded.as_ref(), &["default"], "w", LEASE).await.unwrap();
    let fail = Finish::Failed { result: result(Some("x")), hook: None };
    assert_eq!(bounded.finish(&lease.token(), fail, None).await.unwrap().dropped, 3);
    assert_eq!(bounded.count(&taskq::broker::Purge::Failed).await.unwrap(), 1);
    assert_eq!(state(bounded.as_ref(), id).await, JobState::Failed);
});

conformance!(a_removed_entrys_state_is_forgotten_after_its_keep_time, |broker, env| {
    let now = broker.time().await.unwrap();
    let mut f = fire("gone", taskq::time::truncate_ms(now), None, None);
    f.keep_until = at(now, 1);
    broker.fire(&f).await.unwrap();
    assert_eq!(broker.schedules().await.unwrap().len(), 1);
    crate::common::wait_until_async(Duration::from_secs(10), "the entry's state to be forgotten", || async {
        broker.purge_expired_results().await.unwrap();
        broker.schedules().await.unwrap().is_empty()
    })
    .await;
});

conformance!(a_take_goes_past_any_number_of_expired_jobs, |broker, env| {
    let stale: Vec<NewJob> = (0..250)
        .map(|_| {
            let mut j = job("stale", "default");
            j.expires = Some(Duration::from_secs(1));
            j
        })
        .collect();
    broker.enqueue(&stale).await.unwrap();
    let fresh = enqueue(broker.as_ref(), &job("fresh", "default")).await;
    env.advance(2);
    let taken = take(broker.as_ref(), &["default"], "w", LEASE).await.expect("the fresh job, in one take");
    assert_eq!(taken.job.id, fresh);
    assert_eq!(state(broker.as_ref(), stale[249].id).await, JobState::Expired);
});
