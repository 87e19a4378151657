//! The cases of the broker contract.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use taskq::broker::{
    AttemptResult, Broker, Finish, Fire, Fired, LeaseLoss, LeaseToken, ListFilter, OutputUpdate, Purge, Retried,
    Revoke, Take,
};
use taskq::job::{BrokerPolicy, JobId, JobRecord, JobState, NewJob, Trigger, UniqueKey};
use taskq::names::{JobName, QueueName};

use super::conformance;
use crate::common::wait_until_async;

const LEASE: Duration = Duration::from_secs(30);

fn job(name: &str, queue: &str) -> NewJob {
    NewJob {
        id: JobId::new(),
        job: JobName::new(name).unwrap(),
        args: vec!["a1".into()],
        params: BTreeMap::from([("p".to_string(), "v".to_string())]),
        queue: QueueName::new(queue).unwrap(),
        enqueued_at: taskq::time::truncate_ms(Timestamp::now()),
        run_at: None,
        expires_at: None,
        unique: None,
        scheduled_at: None,
        trigger: None,
        policy: BrokerPolicy::default(),
    }
}

fn q(names: &[&str]) -> Vec<QueueName> {
    names.iter().map(|n| QueueName::new(n).unwrap()).collect()
}

fn at(t: Timestamp, secs: i64) -> Timestamp {
    t + SignedDuration::from_secs(secs)
}

async fn get(broker: &dyn Broker, id: JobId) -> Option<JobRecord> {
    broker.get(&[id], Timestamp::now()).await.unwrap().pop().unwrap()
}

async fn state(broker: &dyn Broker, id: JobId) -> JobState {
    get(broker, id).await.expect("job exists").state
}

async fn enqueue(broker: &dyn Broker, j: &NewJob) -> JobId {
    let r = broker.enqueue(std::slice::from_ref(j), Timestamp::now()).await.unwrap();
    assert!(!r[0].duplicate);
    r[0].id
}

fn result(error: Option<&str>) -> AttemptResult {
    AttemptResult {
        started_at: Some(Timestamp::now()),
        finished_at: Some(Timestamp::now()),
        exit_code: Some(i32::from(error.is_some())),
        http_status: None,
        error: error.map(str::to_string),
        output: "tail of output\n".into(),
        output_total: 1000,
    }
}

conformance!(enqueue_take_and_succeed, |broker, env| {
    let j = job("hello", "default");
    let id = enqueue(broker.as_ref(), &j).await;
    assert_eq!(id, j.id);
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.attempts), (JobState::Queued, 0));
    assert_eq!(rec.job, j, "the stored request is what was enqueued");

    let now = Timestamp::now();
    let lease = broker.dequeue(&q(&["default"]), "w1", LEASE, now).await.unwrap().expect("a job");
    assert_eq!((lease.job.id, lease.attempt, lease.worker.as_str()), (id, 1, "w1"));
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.attempts, rec.worker.as_deref()), (JobState::Running, 1, Some("w1")));
    assert!(rec.started_at.is_some());
    assert!(
        broker.dequeue(&q(&["default"]), "w2", LEASE, now).await.unwrap().is_none(),
        "a running job is never handed out twice"
    );

    let done =
        Finish::Succeeded { result: result(None), ttl: Duration::from_secs(3600), ignore_result: false, hook: None };
    assert!(broker.finish(&lease.token(), done, None, Timestamp::now()).await.unwrap().recorded);
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.attempts, rec.exit_code), (JobState::Succeeded, 1, Some(0)));
    assert_eq!(rec.output.as_deref(), Some("tail of output\n"));
    assert_eq!(rec.output_total, 1000, "the count of all bytes written is kept with the tail");
    assert!(rec.finished_at.is_some());
    assert_eq!(broker.count_ready(&q(&["default"]), Timestamp::now()).await.unwrap(), 0);
});

conformance!(running_output_is_published_only_by_the_lease_holder, |broker, env| {
    let id = enqueue(broker.as_ref(), &job("x", "default")).await;
    let lease = broker.dequeue(&q(&["default"]), "w1", LEASE, Timestamp::now()).await.unwrap().expect("a job");
    let update = |token: LeaseToken, output: &str, total| OutputUpdate { token, output: output.into(), total };
    broker.update_output(&[update(lease.token(), "so far\n", 7)]).await.unwrap();
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.output.as_deref(), rec.output_total), (JobState::Running, Some("so far\n"), 7));

    let mut stale = lease.token();
    stale.attempt += 1;
    broker.update_output(&[update(stale, "intruder\n", 99)]).await.unwrap();
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!(rec.output.as_deref(), Some("so far\n"), "a lost lease cannot overwrite the output");

    let done =
        Finish::Succeeded { result: result(None), ttl: Duration::from_secs(3600), ignore_result: false, hook: None };
    broker.finish(&lease.token(), done, None, Timestamp::now()).await.unwrap();
    broker.update_output(&[update(lease.token(), "late\n", 5)]).await.unwrap();
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!(rec.output.as_deref(), Some("tail of output\n"), "a finished job's output is final");
});

conformance!(queues_are_fifo_and_taken_in_the_given_order, |broker, env| {
    let a1 = enqueue(broker.as_ref(), &job("x", "a")).await;
    let a2 = enqueue(broker.as_ref(), &job("x", "a")).await;
    let b1 = enqueue(broker.as_ref(), &job("x", "b")).await;
    assert_eq!(broker.count_ready(&q(&["a", "b"]), Timestamp::now()).await.unwrap(), 3);
    let now = Timestamp::now();
    let order = q(&["b", "a"]);
    let mut got = Vec::new();
    while let Some(l) = broker.dequeue(&order, "w", LEASE, now).await.unwrap() {
        got.push(l.job.id);
    }
    assert_eq!(got, [b1, a1, a2]);
    assert!(broker.dequeue(&q(&["c"]), "w", LEASE, now).await.unwrap().is_none());
});

conformance!(a_delayed_job_waits_until_due, |broker, env| {
    let now = Timestamp::now();
    let mut j = job("later", "default");
    j.run_at = Some(at(now, 3600));
    let id = enqueue(broker.as_ref(), &j).await;
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!(rec.state, JobState::Scheduled);
    assert_eq!(rec.due_at.map(jiff::Timestamp::as_millisecond), Some(at(now, 3600).as_millisecond()));
    assert!(broker.dequeue(&q(&["default"]), "w", LEASE, now).await.unwrap().is_none());
    let fwd = broker.forward_due(now).await.unwrap();
    assert_eq!(fwd.moved, 0);
    assert_eq!(fwd.next_due.map(jiff::Timestamp::as_millisecond), Some(at(now, 3600).as_millisecond()));
    assert_eq!(broker.count_ready(&q(&["default"]), now).await.unwrap(), 0);

    let later = at(now, 3601);
    assert_eq!(broker.count_ready(&q(&["default"]), later).await.unwrap(), 1);
    assert_eq!(broker.forward_due(later).await.unwrap().moved, 1);
    assert_eq!(state(broker.as_ref(), id).await, JobState::Queued);
    let lease = broker.dequeue(&q(&["default"]), "w", LEASE, later).await.unwrap().expect("due now");
    assert_eq!(lease.job.id, id);
});

conformance!(a_renewed_lease_is_never_redelivered, |broker, env| {
    let id = enqueue(broker.as_ref(), &job("long", "default")).await;
    let t0 = Timestamp::now();
    let lease = broker.dequeue(&q(&["default"]), "w1", Duration::from_secs(10), t0).await.unwrap().unwrap();
    // Renewed every few seconds for an hour: never recovered.
    for step in 1..=1200 {
        let t = at(t0, step * 3);
        assert!(broker.extend_leases(&[lease.token()], Duration::from_secs(10), t).await.unwrap().is_empty());
        if step % 100 == 0 {
            assert!(broker.recover_expired(at(t, 5)).await.unwrap().is_empty());
        }
    }
    assert_eq!(state(broker.as_ref(), id).await, JobState::Running);
    assert!(broker.dequeue(&q(&["default"]), "w2", LEASE, at(t0, 3605)).await.unwrap().is_none());
});

conformance!(a_lapsed_lease_redelivers_counting_the_attempt, |broker, env| {
    let id = enqueue(broker.as_ref(), &job("lost", "default")).await;
    let t0 = Timestamp::now();
    let first = broker.dequeue(&q(&["default"]), "w1", Duration::from_secs(1), t0).await.unwrap().unwrap();
    assert!(broker.recover_expired(t0).await.unwrap().is_empty(), "not before the lease lapses");
    let recovered = broker.recover_expired(at(t0, 2)).await.unwrap();
    assert_eq!(recovered.len(), 1);
    assert_eq!((recovered[0].id, recovered[0].state), (id, JobState::Queued));
    assert_eq!(state(broker.as_ref(), id).await, JobState::Queued);

    let second = broker.dequeue(&q(&["default"]), "w2", LEASE, at(t0, 2)).await.unwrap().unwrap();
    assert_eq!(second.attempt, 2);
    // The lost worker can neither renew nor record.
    assert_eq!(broker.extend_leases(&[first.token()], LEASE, at(t0, 3)).await.unwrap(), [(id, LeaseLoss::Lost)]);
    let stale =
        Finish::Succeeded { result: result(None), ttl: Duration::from_secs(60), ignore_result: false, hook: None };
    assert!(!broker.finish(&first.token(), stale, None, at(t0, 3)).await.unwrap().recorded);
    assert_eq!(state(broker.as_ref(), id).await, JobState::Running);
    let done =
        Finish::Succeeded { result: result(None), ttl: Duration::from_secs(60), ignore_result: false, hook: None };
    assert!(broker.finish(&second.token(), done, None, at(t0, 4)).await.unwrap().recorded);
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.attempts, rec.worker.as_deref()), (JobState::Succeeded, 2, Some("w2")));
});

conformance!(a_job_that_loses_its_worker_too_often_fails, |broker, env| {
    let mut j = job("poison", "default");
    j.policy.max_redeliveries = 2;
    let id = enqueue(broker.as_ref(), &j).await;
    let mut t = Timestamp::now();
    for round in 1..=2 {
        let lease =
            broker.dequeue(&q(&["default"]), "w", Duration::from_secs(1), t).await.unwrap().expect("redelivered");
        assert_eq!(lease.attempt, round);
        t = at(t, 2);
        let r = broker.recover_expired(t).await.unwrap();
        let expect = if round == 2 { JobState::Failed } else { JobState::Queued };
        assert_eq!(r[0].state, expect);
    }
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!(rec.state, JobState::Failed);
    assert!(rec.error.as_deref().unwrap().starts_with("worker lost"), "{:?}", rec.error);
    assert!(broker.dequeue(&q(&["default"]), "w", LEASE, t).await.unwrap().is_none());
    let failed = broker
        .list(&ListFilter { state: Some(JobState::Failed), limit: 10, ..ListFilter::default() }, t)
        .await
        .unwrap();
    assert_eq!(failed.iter().map(|r| r.job.id).collect::<Vec<_>>(), [id]);
});

conformance!(a_retry_waits_for_its_time_then_runs_again, |broker, env| {
    let id = enqueue(broker.as_ref(), &job("flaky", "default")).await;
    let t0 = Timestamp::now();
    let lease = broker.dequeue(&q(&["default"]), "w", LEASE, t0).await.unwrap().unwrap();
    let retry = Finish::Retry { result: result(Some("exited with code 1")), at: at(t0, 10) };
    assert!(broker.finish(&lease.token(), retry, None, t0).await.unwrap().recorded);
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.attempts), (JobState::Retrying, 1));
    assert_eq!(rec.due_at.map(jiff::Timestamp::as_millisecond), Some(at(t0, 10).as_millisecond()));
    assert_eq!(rec.error.as_deref(), Some("exited with code 1"));
    broker.forward_due(at(t0, 5)).await.unwrap();
    assert!(broker.dequeue(&q(&["default"]), "w", LEASE, at(t0, 5)).await.unwrap().is_none(), "not before its time");
    assert_eq!(broker.forward_due(at(t0, 11)).await.unwrap().moved, 1);
    let again = broker.dequeue(&q(&["default"]), "w", LEASE, at(t0, 11)).await.unwrap().unwrap();
    assert_eq!(again.attempt, 2);
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.error), (JobState::Running, None), "a new attempt starts clean");
    let failed = Finish::Failed { result: result(Some("exited with code 1")), hook: None };
    assert!(broker.finish(&again.token(), failed, None, at(t0, 12)).await.unwrap().recorded);
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.attempts), (JobState::Failed, 2));
    assert_eq!(rec.output.as_deref(), Some("tail of output\n"), "the failed set keeps the last output");
});

conformance!(a_requeue_goes_first_and_does_not_count, |broker, env| {
    let first = enqueue(broker.as_ref(), &job("a", "default")).await;
    let now = Timestamp::now();
    let lease = broker.dequeue(&q(&["default"]), "w", LEASE, now).await.unwrap().unwrap();
    let second = enqueue(broker.as_ref(), &job("b", "default")).await;
    assert!(broker.finish(&lease.token(), Finish::Requeue, None, now).await.unwrap().recorded);
    let rec = get(broker.as_ref(), first).await.unwrap();
    assert_eq!((rec.state, rec.attempts), (JobState::Queued, 0));
    let again = broker.dequeue(&q(&["default"]), "w", LEASE, now).await.unwrap().unwrap();
    assert_eq!((again.job.id, again.attempt), (first, 1));
    assert_eq!(broker.dequeue(&q(&["default"]), "w", LEASE, now).await.unwrap().unwrap().job.id, second);
});

conformance!(finishing_can_take_the_next_job_in_the_same_step, |broker, env| {
    let first = enqueue(broker.as_ref(), &job("a", "low")).await;
    let second = enqueue(broker.as_ref(), &job("b", "high")).await;
    let third = enqueue(broker.as_ref(), &job("c", "low")).await;
    let now = Timestamp::now();
    let lease = broker.dequeue(&q(&["low"]), "w", LEASE, now).await.unwrap().unwrap();
    assert_eq!(lease.job.id, first);
    let order = q(&["high", "low"]);
    let take = Take { queues: &order, worker: "w", lease: LEASE };
    let done =
        Finish::Succeeded { result: result(None), ttl: Duration::from_secs(60), ignore_result: false, hook: None };
    let finished = broker.finish(&lease.token(), done, Some(take), now).await.unwrap();
    assert!(finished.recorded);
    let next = finished.next.expect("the next job, in queue order");
    assert_eq!((next.job.id, next.attempt, next.worker.as_str()), (second, 1, "w"));
    assert_eq!(state(broker.as_ref(), first).await, JobState::Succeeded);
    assert_eq!(state(broker.as_ref(), second).await, JobState::Running);
    // A lost lease records nothing, but the freed slot still gets work.
    let stale = lease.token();
    let again = Finish::Failed { result: result(Some("late")), hook: None };
    let finished = broker.finish(&stale, again, Some(take), now).await.unwrap();
    assert!(!finished.recorded);
    assert_eq!(finished.next.map(|l| l.job.id), Some(third));
    assert_eq!(state(broker.as_ref(), first).await, JobState::Succeeded, "the late result changed nothing");
    let empty = broker.finish(&next.token(), Finish::Requeue, Some(take), now).await.unwrap();
    assert!(empty.recorded);
    assert_eq!(empty.next.map(|l| l.job.id), Some(second), "a requeued job is first in line again");
});

conformance!(results_are_kept_for_their_ttl, |broker, env| {
    let keep = enqueue(broker.as_ref(), &job("keep", "default")).await;
    let short = enqueue(broker.as_ref(), &job("short", "default")).await;
    let ignored = enqueue(broker.as_ref(), &job("ignored", "default")).await;
    let now = Timestamp::now();
    for (ttl, ignore) in [(3600, false), (1, false), (3600, true)] {
        let lease = broker.dequeue(&q(&["default"]), "w", LEASE, now).await.unwrap().unwrap();
        let done = Finish::Succeeded {
            result: result(None),
            ttl: Duration::from_millis(ttl * 300),
            ignore_result: ignore,
            hook: None,
        };
        assert!(broker.finish(&lease.token(), done, None, Timestamp::now()).await.unwrap().recorded);
    }
    assert!(get(broker.as_ref(), ignored).await.is_none(), "ignore_result deletes the record");
    wait_until_async(Duration::from_secs(10), "the short-lived result to expire", || async {
        broker.get(&[short], Timestamp::now()).await.unwrap()[0].is_none()
    })
    .await;
    broker.purge_expired_results(Timestamp::now()).await.unwrap();
    let all = broker.list(&ListFilter { limit: 10, ..ListFilter::default() }, Timestamp::now()).await.unwrap();
    assert_eq!(all.iter().map(|r| r.job.id).collect::<Vec<_>>(), [keep]);
});

conformance!(concurrent_takers_never_get_the_same_job, |broker, env| {
    let jobs: Vec<NewJob> = (0..300).map(|_| job("many", "default")).collect();
    broker.enqueue(&jobs, Timestamp::now()).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..6 {
        // Separate connections, as separate workers have.
        let taker = env.connect().await;
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(l) =
                taker.dequeue(&q(&["default"]), &format!("w{w}"), LEASE, Timestamp::now()).await.unwrap()
            {
                got.push(l.job.id);
            }
            got
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let unique: HashSet<JobId> = all.iter().copied().collect();
    assert_eq!(all.len(), 300);
    assert_eq!(unique.len(), 300);
    let _ = broker;
});

conformance!(a_unique_key_makes_enqueue_idempotent, |broker, env| {
    let keyed = |key: &str| {
        let mut j = job("once", "default");
        j.unique = Some(UniqueKey { key: key.into(), window: Duration::from_secs(3600) });
        j
    };
    let batch = [keyed("k1"), keyed("k1"), keyed("k2")];
    let r = broker.enqueue(&batch, Timestamp::now()).await.unwrap();
    assert_eq!((r[0].id, r[0].duplicate), (batch[0].id, false));
    assert_eq!((r[1].id, r[1].duplicate), (batch[0].id, true), "a duplicate returns the first job's id");
    assert_eq!((r[2].id, r[2].duplicate), (batch[2].id, false));
    assert!(get(broker.as_ref(), batch[1].id).await.is_none(), "nothing is stored for a duplicate");
    // Held whatever the first job's state.
    let lease = broker.dequeue(&q(&["default"]), "w", LEASE, Timestamp::now()).await.unwrap().unwrap();
    let done =
        Finish::Succeeded { result: result(None), ttl: Duration::from_secs(60), ignore_result: false, hook: None };
    assert!(broker.finish(&lease.token(), done, None, Timestamp::now()).await.unwrap().recorded);
    let again = broker.enqueue(&[keyed("k1")], Timestamp::now()).await.unwrap();
    assert_eq!((again[0].id, again[0].duplicate), (batch[0].id, true));
});

conformance!(a_job_not_started_before_it_expires_never_runs, |broker, env| {
    let mut j = job("stale", "default");
    j.expires_at = Some(at(Timestamp::now(), 60));
    let id = enqueue(broker.as_ref(), &j).await;
    let fresh = enqueue(broker.as_ref(), &job("fresh", "default")).await;
    let later = at(Timestamp::now(), 61);
    let lease = broker.dequeue(&q(&["default"]), "w", LEASE, later).await.unwrap().unwrap();
    assert_eq!(lease.job.id, fresh, "the expired job is skipped");
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.attempts), (JobState::Expired, 0));
    assert!(rec.error.as_deref().unwrap().starts_with("expired"));
});

conformance!(list_is_newest_first_and_filtered, |broker, env| {
    let mut ids = Vec::new();
    for (name, queue) in [("a", "q1"), ("b", "q2"), ("a", "q2")] {
        let mut j = job(name, queue);
        j.enqueued_at = Timestamp::now();
        ids.push(enqueue(broker.as_ref(), &j).await);
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let now = Timestamp::now();
    let all = broker.list(&ListFilter { limit: 50, ..ListFilter::default() }, now).await.unwrap();
    assert_eq!(all.iter().map(|r| r.job.id).collect::<Vec<_>>(), [ids[2], ids[1], ids[0]]);
    let by_job = broker
        .list(&ListFilter { job: Some(JobName::new("a").unwrap()), limit: 50, ..ListFilter::default() }, now)
        .await
        .unwrap();
    assert_eq!(by_job.iter().map(|r| r.job.id).collect::<Vec<_>>(), [ids[2], ids[0]]);
    let by_queue = broker
        .list(&ListFilter { queue: Some(QueueName::new("q2").unwrap()), limit: 1, ..ListFilter::default() }, now)
        .await
        .unwrap();
    assert_eq!(by_queue.iter().map(|r| r.job.id).collect::<Vec<_>>(), [ids[2]]);
    let running = broker
        .list(&ListFilter { state: Some(JobState::Running), limit: 50, ..ListFilter::default() }, now)
        .await
        .unwrap();
    assert!(running.is_empty());
});

conformance!(an_idle_waiter_wakes_when_a_job_arrives, |broker, env| {
    let waiter = env.connect().await;
    // Prime the waiter: it has looked and found nothing.
    assert!(waiter.dequeue(&q(&["default"]), "w", LEASE, Timestamp::now()).await.unwrap().is_none());
    let started = tokio::time::Instant::now();
    let wait =
        tokio::spawn(async move { waiter.wait_for_jobs(&q(&["default"]), Duration::from_secs(30)).await.unwrap() });
    tokio::time::sleep(Duration::from_millis(100)).await;
    enqueue(broker.as_ref(), &job("wake", "default")).await;
    tokio::time::timeout(Duration::from_secs(10), wait).await.expect("the waiter woke up").unwrap();
    assert!(started.elapsed() < Duration::from_secs(10));
});

conformance!(every_queued_job_survives_a_new_connection, |broker, env| {
    let ids: Vec<JobId> = {
        let jobs: Vec<NewJob> = (0..50).map(|i| job("durable", if i % 2 == 0 { "a" } else { "b" })).collect();
        broker.enqueue(&jobs, Timestamp::now()).await.unwrap().into_iter().map(|e| e.id).collect()
    };
    drop(broker);
    let other = env.connect().await;
    let records = other.get(&ids, Timestamp::now()).await.unwrap();
    assert!(records.iter().all(|r| r.as_ref().is_some_and(|r| r.state == JobState::Queued)));
    assert_eq!(other.count_ready(&q(&["a", "b"]), Timestamp::now()).await.unwrap(), 50);
});

conformance!(a_limited_job_waits_for_a_free_slot, |broker, env| {
    let limited = |n: u32| {
        let mut j = job("exclusive", "default");
        j.policy.max_concurrent = Some(n);
        j
    };
    let one = enqueue(broker.as_ref(), &limited(1)).await;
    let two = enqueue(broker.as_ref(), &limited(1)).await;
    let other = enqueue(broker.as_ref(), &job("free", "default")).await;
    let three = enqueue(broker.as_ref(), &limited(1)).await;
    let t0 = Timestamp::now();
    let a = broker.dequeue(&q(&["default"]), "w1", Duration::from_secs(10), t0).await.unwrap().unwrap();
    assert_eq!(a.job.id, one);
    let b = broker.dequeue(&q(&["default"]), "w2", LEASE, t0).await.unwrap().unwrap();
    assert_eq!(b.job.id, other, "the limited job waits; the next one runs");
    assert!(broker.dequeue(&q(&["default"]), "w3", LEASE, t0).await.unwrap().is_none());
    assert_eq!(broker.count_ready(&q(&["default"]), t0).await.unwrap(), 0, "waiting jobs are not ready");
    assert_eq!(state(broker.as_ref(), two).await, JobState::Queued, "waiting, not dropped");
    // A renewed lease keeps the slot.
    assert!(broker.extend_leases(&[a.token()], Duration::from_secs(10), at(t0, 8)).await.unwrap().is_empty());
    assert!(broker.dequeue(&q(&["default"]), "w3", LEASE, at(t0, 12)).await.unwrap().is_none());
    // Ending the run frees the slot for the oldest waiting job.
    let done =
        Finish::Succeeded { result: result(None), ttl: Duration::from_secs(60), ignore_result: false, hook: None };
    assert!(broker.finish(&a.token(), done, None, at(t0, 13)).await.unwrap().recorded);
    let c = broker.dequeue(&q(&["default"]), "w3", Duration::from_secs(1), at(t0, 13)).await.unwrap().unwrap();
    assert_eq!(c.job.id, two);
    // A lapsed lease frees its slot too.
    broker.recover_expired(at(t0, 15)).await.unwrap();
    let mut got = Vec::new();
    while let Some(l) = broker.dequeue(&q(&["default"]), "w4", LEASE, at(t0, 15)).await.unwrap() {
        got.push(l.job.id);
    }
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(got[0] == two || got[0] == three);
});

conformance!(revoke_cancels_what_has_not_started_and_terminates_on_request, |broker, env| {
    let now = Timestamp::now();
    let queued = enqueue(broker.as_ref(), &job("a", "default")).await;
    let mut later = job("b", "default");
    later.run_at = Some(at(now, 3600));
    let scheduled = enqueue(broker.as_ref(), &later).await;
    assert_eq!(broker.revoke(queued, false, now).await.unwrap(), Revoke::Revoked);
    assert_eq!(broker.revoke(scheduled, false, now).await.unwrap(), Revoke::Revoked);
    for id in [queued, scheduled] {
        let rec = get(broker.as_ref(), id).await.unwrap();
        assert_eq!((rec.state, rec.due_at), (JobState::Revoked, None));
    }
    broker.forward_due(at(now, 7200)).await.unwrap();
    assert!(broker.dequeue(&q(&["default"]), "w", LEASE, at(now, 7200)).await.unwrap().is_none(), "never runs");
    assert_eq!(broker.revoke(queued, false, now).await.unwrap(), Revoke::Final(JobState::Revoked));
    assert_eq!(broker.revoke(JobId::new(), false, now).await.unwrap(), Revoke::Unknown);

    let running = enqueue(broker.as_ref(), &job("c", "default")).await;
    let lease = broker.dequeue(&q(&["default"]), "w1", LEASE, now).await.unwrap().unwrap();
    assert_eq!(broker.revoke(running, false, now).await.unwrap(), Revoke::Running { worker: "w1".into() });
    assert!(broker.revoked(&[running]).await.unwrap().is_empty());
    assert_eq!(broker.revoke(running, true, now).await.unwrap(), Revoke::Terminating { worker: "w1".into() });
    assert_eq!(broker.revoked(&[running, queued]).await.unwrap(), [running]);
    assert_eq!(broker.extend_leases(&[lease.token()], LEASE, now).await.unwrap(), [(running, LeaseLoss::Revoked)]);
    let killed = Finish::Revoked { result: result(Some("revoked")), ttl: Duration::from_secs(60) };
    assert!(broker.finish(&lease.token(), killed, None, now).await.unwrap().recorded);
    assert_eq!(state(broker.as_ref(), running).await, JobState::Revoked);

    // A worker lost while asked to terminate: the job is revoked, not redelivered.
    let orphan = enqueue(broker.as_ref(), &job("d", "default")).await;
    broker.dequeue(&q(&["default"]), "w2", Duration::from_secs(1), now).await.unwrap().unwrap();
    broker.revoke(orphan, true, now).await.unwrap();
    let r = broker.recover_expired(at(now, 2)).await.unwrap();
    assert_eq!(r[0].state, JobState::Revoked);
    assert_eq!(state(broker.as_ref(), orphan).await, JobState::Revoked);
});

conformance!(failed_jobs_can_be_retried_and_purged, |broker, env| {
    let now = Timestamp::now();
    let mut failed = Vec::new();
    for name in ["f1", "f2", "f3"] {
        let id = enqueue(broker.as_ref(), &job(name, "default")).await;
        let lease = broker.dequeue(&q(&["default"]), "w", LEASE, now).await.unwrap().unwrap();
        let fail = Finish::Failed { result: result(Some("exited with code 1")), hook: None };
        broker.finish(&lease.token(), fail, None, now).await.unwrap();
        failed.push(id);
    }
    let ok = enqueue(broker.as_ref(), &job("ok", "default")).await;
    let retried = broker.retry_failed(Some(&[failed[0], ok, JobId::new()]), now).await.unwrap();
    assert_eq!(retried[0], (failed[0], Retried::Requeued));
    assert_eq!(retried[1], (ok, Retried::NotFailed(JobState::Queued)), "a queued job is left alone");
    assert_eq!(retried[2].1, Retried::Unknown);
    let rec = get(broker.as_ref(), failed[0]).await.unwrap();
    assert_eq!((rec.state, rec.attempts), (JobState::Queued, 0));
    assert_eq!(rec.error.as_deref(), Some("exited with code 1"), "the last error stays until the next run");

    assert_eq!(broker.count(&Purge::Failed, now).await.unwrap(), 2);
    assert_eq!(broker.count(&Purge::Queue(QueueName::new("default").unwrap()), now).await.unwrap(), 2);
    assert_eq!(broker.purge(&Purge::Failed, now).await.unwrap(), 2);
    assert!(get(broker.as_ref(), failed[1]).await.is_none());
    assert_eq!(broker.purge(&Purge::Queue(QueueName::new("default").unwrap()), now).await.unwrap(), 2);
    assert!(get(broker.as_ref(), ok).await.is_none());
    assert!(broker.dequeue(&q(&["default"]), "w", LEASE, now).await.unwrap().is_none());

    let again = enqueue(broker.as_ref(), &job("g", "default")).await;
    let lease = broker.dequeue(&q(&["default"]), "w", LEASE, now).await.unwrap().unwrap();
    broker.finish(&lease.token(), Finish::Failed { result: result(Some("x")), hook: None }, None, now).await.unwrap();
    let all = broker.retry_failed(None, now).await.unwrap();
    assert_eq!(all, [(again, Retried::Requeued)]);
    assert_eq!(broker.dequeue(&q(&["default"]), "w", LEASE, now).await.unwrap().unwrap().attempt, 1);
});

conformance!(a_hook_is_enqueued_with_the_outcome_or_not_at_all, |broker, env| {
    let now = Timestamp::now();
    let id = enqueue(broker.as_ref(), &job("main", "default")).await;
    let lease = broker.dequeue(&q(&["default"]), "w", LEASE, now).await.unwrap().unwrap();
    let mut hook = job("alert", "ops");
    hook.trigger = Some(Trigger {
        id,
        job: lease.job.job.clone(),
        state: JobState::Failed,
        exit_code: Some(3),
        output: "boom\n".into(),
    });
    // A worker that lost its lease records nothing: no hook either.
    let stale = taskq::broker::LeaseToken { attempt: 99, ..lease.token() };
    let late = Finish::Failed { result: result(Some("exited with code 3")), hook: Some(hook.clone()) };
    assert!(!broker.finish(&stale, late, None, now).await.unwrap().recorded);
    assert!(get(broker.as_ref(), hook.id).await.is_none());

    let fail = Finish::Failed { result: result(Some("exited with code 3")), hook: Some(hook.clone()) };
    assert!(broker.finish(&lease.token(), fail, None, now).await.unwrap().recorded);
    let rec = get(broker.as_ref(), hook.id).await.expect("the hook was enqueued");
    assert_eq!(rec.state, JobState::Queued);
    assert_eq!(rec.job.trigger, hook.trigger);
    let taken = broker.dequeue(&q(&["ops"]), "w", LEASE, now).await.unwrap().unwrap();
    assert_eq!(taken.job.trigger.unwrap().output, "boom\n");
});

conformance!(workers_register_by_heartbeat_and_expire_when_silent, |broker, env| {
    let now = Timestamp::now();
    let job = JobId::new();
    let info = |id: &str| taskq::broker::WorkerInfo {
        id: id.into(),
        host: "h".into(),
        pid: 1,
        queues: vec!["default".into()],
        concurrency: 2,
        beat: false,
        started_at: taskq::time::truncate_ms(now),
        seen_at: taskq::time::truncate_ms(now),
        running: vec![taskq::broker::RunningJob { id: job, job: "j".into(), attempt: 1 }],
    };
    broker.heartbeat(&info("w1"), Duration::from_secs(30), now).await.unwrap();
    broker.heartbeat(&info("w2"), Duration::from_secs(30), now).await.unwrap();
    let live = broker.workers(now).await.unwrap();
    assert_eq!(live.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(), ["w1", "w2"]);
    assert_eq!(live[0].running, info("w1").running);
    assert_eq!((live[0].concurrency, live[0].queues.clone()), (2, vec!["default".to_string()]));
    broker.forget_worker("w2").await.unwrap();
    assert_eq!(broker.workers(now).await.unwrap().len(), 1);
    assert!(broker.workers(at(now, 31)).await.unwrap().is_empty(), "a silent worker is gone after its ttl");
});

fn fire<'a>(entry: &'a str, tick: Timestamp, run: Option<&'a NewJob>, max_concurrent: Option<u32>) -> Fire<'a> {
    Fire { entry, spec: "every 1m", tick, missed: 0, run, max_concurrent }
}

conformance!(a_tick_fires_once_however_many_beats_ask, |broker, env| {
    let tick = taskq::time::truncate_ms(Timestamp::now());
    let mut run = job("backup", "default");
    run.policy.max_concurrent = Some(1);
    let fired = broker.fire(&fire("backup", tick, Some(&run), None), Timestamp::now()).await.unwrap();
    assert_eq!(fired, Fired::Enqueued(run.id));
    let again = job("backup", "default");
    assert_eq!(broker.fire(&fire("backup", tick, Some(&again), None), Timestamp::now()).await.unwrap(), Fired::Already);
    assert!(get(broker.as_ref(), again.id).await.is_none(), "the second beat's run is not enqueued");
    assert_eq!(
        broker.fire(&fire("backup", at(tick, -60), Some(&again), None), Timestamp::now()).await.unwrap(),
        Fired::Already,
        "an earlier tick never fires after a later one"
    );

    // With max_concurrent = 1 and the run active, the next tick is skipped.
    broker.dequeue(&q(&["default"]), "w1", LEASE, Timestamp::now()).await.unwrap().expect("the run");
    let next = job("backup", "default");
    let fired = broker.fire(&fire("backup", at(tick, 60), Some(&next), Some(1)), Timestamp::now()).await.unwrap();
    assert_eq!(fired, Fired::Skipped);
    let states = broker.schedules().await.unwrap();
    assert_eq!(states.len(), 1);
    let s = &states[0];
    assert_eq!(
        (s.entry.as_str(), s.last_tick, s.last_job, s.fired, s.skipped),
        ("backup", at(tick, 60), Some(run.id), 1, 1)
    );
    assert_eq!(s.last_skip.as_deref(), Some("previous run still active"));
});

conformance!(a_schedule_keeps_its_last_success_and_failure, |broker, env| {
    let tick = taskq::time::truncate_ms(Timestamp::now());
    broker.schedule_outcome("backup", true, tick).await.unwrap();
    assert!(broker.schedules().await.unwrap().is_empty(), "an entry beat never handled is not created");

    broker.fire(&fire("backup", tick, None, None), Timestamp::now()).await.unwrap();
    broker.schedule_outcome("backup", true, at(tick, 10)).await.unwrap();
    broker.schedule_outcome("backup", false, at(tick, 70)).await.unwrap();
    broker.schedule_outcome("backup", true, at(tick, 5)).await.unwrap();
    let s = broker.schedules().await.unwrap().pop().expect("the entry");
    assert_eq!(s.last_success, Some(at(tick, 10)), "an earlier outcome never replaces a later one");
    assert_eq!(s.last_failure, Some(at(tick, 70)));
});
