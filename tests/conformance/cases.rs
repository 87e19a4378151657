//! The cases of the broker contract.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};
use taskq::broker::{AttemptResult, Broker, Finish, Lease, LeaseLoss, LeaseToken, ListFilter, OutputUpdate, Take};
use taskq::job::{BrokerPolicy, Delay, JobId, JobRecord, JobState, NewJob, WorkflowStep};
use taskq::names::{JobName, QueueName};

use super::conformance;
use crate::common::wait_until_async;

pub(crate) const LEASE: Duration = Duration::from_secs(30);

pub(crate) fn job(name: &str, queue: &str) -> NewJob {
    NewJob {
        id: JobId::new(),
        job: JobName::new(name).unwrap(),
        args: vec!["a1".into()],
        params: BTreeMap::from([("p".to_string(), "v".to_string())]),
        queue: QueueName::new(queue).unwrap(),
        delay: None,
        expires: None,
        unique: None,
        scheduled_at: None,
        trigger: None,
        workflow: None,
        policy: BrokerPolicy::default(),
    }
}

pub(super) fn q(names: &[&str]) -> Vec<QueueName> {
    names.iter().map(|n| QueueName::new(n).unwrap()).collect()
}

pub(super) fn at(t: Timestamp, secs: i64) -> Timestamp {
    t + SignedDuration::from_secs(secs)
}

/// A grant no take has used yet.
pub(super) fn grant() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!("g{}", NEXT.fetch_add(1, Ordering::SeqCst))
}

/// Takes from `queues` for `worker` under a fresh grant.
pub(crate) async fn take(broker: &dyn Broker, queues: &[&str], worker: &str, lease: Duration) -> Option<Lease> {
    let (queues, grant) = (q(queues), grant());
    broker.dequeue(&Take { queues: &queues, worker, lease, grant: &grant }).await.unwrap()
}

pub(super) async fn get(broker: &dyn Broker, id: JobId) -> Option<JobRecord> {
    broker.get(&[id]).await.unwrap().pop().unwrap()
}

pub(crate) async fn state(broker: &dyn Broker, id: JobId) -> JobState {
    get(broker, id).await.expect("job exists").state
}

pub(super) async fn enqueue(broker: &dyn Broker, j: &NewJob) -> JobId {
    let r = broker.enqueue(std::slice::from_ref(j)).await.unwrap();
    assert!(!r[0].duplicate);
    r[0].id
}

pub(crate) fn succeeded() -> Finish {
    Finish::Succeeded { result: result(None), ttl: Duration::from_secs(60), ignore_result: false, hook: None }
}

pub(super) fn result(error: Option<&str>) -> AttemptResult {
    AttemptResult {
        duration: Some(Duration::from_millis(1500)),
        ended_ago: Duration::ZERO,
        exit_code: Some(i32::from(error.is_some())),
        http_status: None,
        error: error.map(str::to_string),
        output: "tail of output\n".into(),
        output_total: 1000,
        stdout: None,
    }
}

conformance!(an_enqueue_by_a_known_id_leaves_the_job_as_it_is, |broker, env| {
    let j = job("report", "default");
    enqueue(broker.as_ref(), &j).await;
    let lease = take(broker.as_ref(), &["default"], "w1", LEASE).await.expect("taken");
    let mut again = j.clone();
    again.args = vec!["other".into()];
    let out = broker.enqueue(&[again]).await.unwrap();
    assert_eq!((out[0].id, out[0].duplicate), (j.id, false));
    let rec = get(broker.as_ref(), j.id).await.expect("the job");
    assert_eq!((rec.state, rec.job.args.clone()), (JobState::Running, vec!["a1".to_string()]), "untouched");
    assert_eq!(broker.count_ready(&q(&["default"])).await.unwrap(), 0, "not queued a second time");
    broker.finish(&lease.token(), succeeded(), None).await.unwrap();
    assert!(take(broker.as_ref(), &["default"], "w1", LEASE).await.is_none());
});

conformance!(enqueue_take_and_succeed, |broker, env| {
    let j = job("hello", "default");
    let before = broker.time().await.unwrap();
    let id = enqueue(broker.as_ref(), &j).await;
    assert_eq!(id, j.id);
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.attempts), (JobState::Queued, 0));
    assert_eq!(rec.job, j, "the stored request is what was enqueued");
    assert!(rec.enqueued_at >= at(before, -1) && rec.enqueued_at <= at(before, 5), "stamped by the broker");

    let lease = take(broker.as_ref(), &["default"], "w1", LEASE).await.expect("a job");
    assert_eq!((lease.job.id, lease.attempt, lease.worker.as_str()), (id, 1, "w1"));
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.attempts, rec.worker.as_deref()), (JobState::Running, 1, Some("w1")));
    assert!(rec.started_at.is_some());
    assert!(
        take(broker.as_ref(), &["default"], "w2", LEASE).await.is_none(),
        "a running job is never handed out twice"
    );

    assert!(broker.finish(&lease.token(), succeeded(), None).await.unwrap().recorded);
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.attempts, rec.exit_code), (JobState::Succeeded, 1, Some(0)));
    assert_eq!(rec.output.as_deref(), Some("tail of output\n"));
    assert_eq!(rec.output_total, 1000, "the count of all bytes written is kept with the tail");
    let (started, finished) = (rec.started_at.unwrap(), rec.finished_at.unwrap());
    assert_eq!(finished.duration_since(started).as_millis(), 1500, "the run's own duration");
    assert_eq!(broker.count_ready(&q(&["default"])).await.unwrap(), 0);
});

// The outcome and its hook job travel to the broker encoded (finish.lua
// takes them as JSON): every character comes back as it was sent.
conformance!(an_outcome_and_its_hook_job_are_stored_verbatim, |broker, env| {
    let odd = "\"quoted\" \\ back\\slash \u{0} \u{1b}[2J\r\n\t é 😀 \u{202e} {\"json\":[1]}";
    let id = enqueue(broker.as_ref(), &job("x", "default")).await;
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    let mut hook = job("on_failure", "hooks");
    hook.args = vec![odd.into(), String::new()];
    hook.params.insert("p".into(), odd.into());
    // as a workflow's step job carries its run
    hook.workflow =
        Some(WorkflowStep { run: JobId::new(), workflow: JobName::new("nightly-report").unwrap(), step: 2 });
    let result = AttemptResult { exit_code: Some(-9), http_status: Some(503), output: odd.into(), ..result(Some(odd)) };
    let fail = Finish::Failed { result, hook: Some(hook.clone()) };
    assert!(broker.finish(&lease.token(), fail, None).await.unwrap().recorded);
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.exit_code, rec.http_status), (JobState::Failed, Some(-9), Some(503)));
    assert_eq!((rec.error.as_deref(), rec.output.as_deref()), (Some(odd), Some(odd)));
    assert_eq!(get(broker.as_ref(), hook.id).await.expect("the hook job").job, hook);
});

conformance!(running_output_is_published_only_by_the_lease_holder, |broker, env| {
    let id = enqueue(broker.as_ref(), &job("x", "default")).await;
    let lease = take(broker.as_ref(), &["default"], "w1", LEASE).await.expect("a job");
    let update = |token: LeaseToken, output: &str, total| OutputUpdate { token, output: output.into(), total };
    broker.update_output(&[update(lease.token(), "so far\n", 7)]).await.unwrap();
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.output.as_deref(), rec.output_total), (JobState::Running, Some("so far\n"), 7));

    let stale = LeaseToken { grant: grant(), ..lease.token() };
    broker.update_output(&[update(stale, "intruder\n", 99)]).await.unwrap();
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!(rec.output.as_deref(), Some("so far\n"), "a lost lease cannot overwrite the output");

    broker.finish(&lease.token(), succeeded(), None).await.unwrap();
    broker.update_output(&[update(lease.token(), "late\n", 5)]).await.unwrap();
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!(rec.output.as_deref(), Some("tail of output\n"), "a finished job's output is final");
});

conformance!(queues_are_fifo_and_taken_in_the_given_order, |broker, env| {
    let a1 = enqueue(broker.as_ref(), &job("x", "a")).await;
    let a2 = enqueue(broker.as_ref(), &job("x", "a")).await;
    let b1 = enqueue(broker.as_ref(), &job("x", "b")).await;
    assert_eq!(broker.count_ready(&q(&["a", "b"])).await.unwrap(), 3);
    let mut got = Vec::new();
    while let Some(l) = take(broker.as_ref(), &["b", "a"], "w", LEASE).await {
        got.push(l.job.id);
    }
    assert_eq!(got, [b1, a1, a2]);
    assert!(take(broker.as_ref(), &["c"], "w", LEASE).await.is_none());
});

conformance!(a_delayed_job_waits_until_due_by_the_brokers_clock, |broker, env| {
    let now = broker.time().await.unwrap();
    let mut j = job("later", "default");
    j.delay = Some(Delay::For(Duration::from_secs(3600)));
    let id = enqueue(broker.as_ref(), &j).await;
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!(rec.state, JobState::Scheduled);
    let due = rec.due_at.expect("a due time");
    assert!(due >= at(now, 3600) && due <= at(now, 3605), "an hour after the broker stored it: {due}");
    assert!(take(broker.as_ref(), &["default"], "w", LEASE).await.is_none());
    let fwd = broker.forward_due().await.unwrap();
    assert_eq!((fwd.moved, fwd.next_due), (0, Some(due)));
    assert_eq!(broker.count_ready(&q(&["default"])).await.unwrap(), 0);

    env.advance(3599);
    broker.forward_due().await.unwrap();
    assert!(take(broker.as_ref(), &["default"], "w", LEASE).await.is_none(), "not a moment early");
    env.advance(10);
    assert_eq!(broker.count_ready(&q(&["default"])).await.unwrap(), 1);
    assert_eq!(broker.forward_due().await.unwrap().moved, 1);
    assert_eq!(state(broker.as_ref(), id).await, JobState::Queued);
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.expect("due now");
    assert_eq!(lease.job.id, id);

    // An instant (`--at`) is kept as given; one in the past is due at once.
    let mut at_job = job("at", "default");
    at_job.delay = Some(Delay::Until(at(broker.time().await.unwrap(), 60)));
    let at_id = enqueue(broker.as_ref(), &at_job).await;
    assert_eq!(
        get(broker.as_ref(), at_id).await.unwrap().due_at,
        at_job.delay.map(|d| match d {
            Delay::Until(t) => taskq::time::truncate_ms(t),
            Delay::For(_) => unreachable!(),
        })
    );
    let mut past = job("past", "default");
    past.delay = Some(Delay::Until(at(broker.time().await.unwrap(), -60)));
    let past_id = enqueue(broker.as_ref(), &past).await;
    assert_eq!(state(broker.as_ref(), past_id).await, JobState::Queued);
});

conformance!(a_renewed_lease_is_never_redelivered, |broker, env| {
    let id = enqueue(broker.as_ref(), &job("long", "default")).await;
    let lease = take(broker.as_ref(), &["default"], "w1", Duration::from_secs(10)).await.unwrap();
    // Renewed every few seconds for an hour: never recovered.
    for step in 1..=1200 {
        env.advance(3);
        assert!(broker.extend_leases(&[lease.token()], Duration::from_secs(10)).await.unwrap().is_empty());
        if step % 100 == 0 {
            env.advance(5);
            assert!(broker.recover_expired().await.unwrap().jobs.is_empty());
        }
    }
    assert_eq!(state(broker.as_ref(), id).await, JobState::Running);
    assert!(take(broker.as_ref(), &["default"], "w2", LEASE).await.is_none());
});

conformance!(a_lapsed_lease_redelivers_counting_the_attempt, |broker, env| {
    let id = enqueue(broker.as_ref(), &job("lost", "default")).await;
    let first = take(broker.as_ref(), &["default"], "w1", Duration::from_secs(1)).await.unwrap();
    assert!(broker.recover_expired().await.unwrap().jobs.is_empty(), "not before the lease lapses");
    env.advance(2);
    let recovered = broker.recover_expired().await.unwrap().jobs;
    assert_eq!(recovered.len(), 1);
    assert_eq!((recovered[0].id, recovered[0].state), (id, JobState::Queued));
    assert_eq!(state(broker.as_ref(), id).await, JobState::Queued);

    let second = take(broker.as_ref(), &["default"], "w2", LEASE).await.unwrap();
    assert_eq!(second.attempt, 2);
    // The lost worker can neither renew nor record.
    assert_eq!(broker.extend_leases(&[first.token()], LEASE).await.unwrap(), [(first.token(), LeaseLoss::Lost)]);
    assert!(!broker.finish(&first.token(), succeeded(), None).await.unwrap().recorded);
    assert_eq!(state(broker.as_ref(), id).await, JobState::Running);
    assert!(broker.finish(&second.token(), succeeded(), None).await.unwrap().recorded);
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.attempts, rec.worker.as_deref()), (JobState::Succeeded, 2, Some("w2")));
});

conformance!(a_job_that_loses_its_worker_too_often_fails, |broker, env| {
    let mut j = job("poison", "default");
    j.policy.max_redeliveries = 2;
    let id = enqueue(broker.as_ref(), &j).await;
    for round in 1..=2 {
        let lease = take(broker.as_ref(), &["default"], "w", Duration::from_secs(1)).await.expect("redelivered");
        assert_eq!(lease.attempt, round);
        env.advance(2);
        let r = broker.recover_expired().await.unwrap().jobs;
        let expect = if round == 2 { JobState::Failed } else { JobState::Queued };
        assert_eq!(r[0].state, expect);
    }
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!(rec.state, JobState::Failed);
    assert!(rec.error.as_deref().unwrap().starts_with("worker lost"), "{:?}", rec.error);
    assert!(take(broker.as_ref(), &["default"], "w", LEASE).await.is_none());
    let failed =
        broker.list(&ListFilter { state: Some(JobState::Failed), limit: 10, ..ListFilter::default() }).await.unwrap();
    assert_eq!(failed.iter().map(|r| r.job.id).collect::<Vec<_>>(), [id]);
});

conformance!(a_retry_waits_for_its_time_then_runs_again, |broker, env| {
    let id = enqueue(broker.as_ref(), &job("flaky", "default")).await;
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    let before = broker.time().await.unwrap();
    let retry = Finish::Retry { result: result(Some("exited with code 1")), delay: Duration::from_secs(10) };
    assert!(broker.finish(&lease.token(), retry, None).await.unwrap().recorded);
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.attempts), (JobState::Retrying, 1));
    let due = rec.due_at.unwrap();
    assert!(due >= at(before, 10) && due <= at(before, 12), "{due}");
    assert_eq!(rec.error.as_deref(), Some("exited with code 1"));
    env.advance(5);
    broker.forward_due().await.unwrap();
    assert!(take(broker.as_ref(), &["default"], "w", LEASE).await.is_none(), "not before its time");
    env.advance(8);
    assert_eq!(broker.forward_due().await.unwrap().moved, 1);
    let again = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    assert_eq!(again.attempt, 2);
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.error), (JobState::Running, None), "a new attempt starts clean");
    let failed = Finish::Failed { result: result(Some("exited with code 1")), hook: None };
    assert!(broker.finish(&again.token(), failed, None).await.unwrap().recorded);
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.attempts), (JobState::Failed, 2));
    assert_eq!(rec.output.as_deref(), Some("tail of output\n"), "the failed set keeps the last output");
});

conformance!(a_record_keeps_its_attempts_before_the_last, |broker, env| {
    let id = enqueue(broker.as_ref(), &job("flaky", "default")).await;
    assert!(get(broker.as_ref(), id).await.unwrap().history.is_empty());
    // Attempt 1 is lost with its worker; attempt 2 fails and is retried;
    // attempt 3 fails for good.
    take(broker.as_ref(), &["default"], "w1", Duration::from_secs(1)).await.expect("a lease");
    env.advance(2);
    assert_eq!(broker.recover_expired().await.unwrap().jobs[0].state, JobState::Queued);
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!(rec.history.len(), 1, "put back in line, its lost attempt is kept: {:?}", rec.history);
    let second = take(broker.as_ref(), &["default"], "w2", LEASE).await.expect("redelivered");
    let mut failing = result(Some("exited with code 3"));
    failing.exit_code = Some(3);
    let retry = Finish::Retry { result: failing.clone(), delay: Duration::ZERO };
    assert!(broker.finish(&second.token(), retry, None).await.unwrap().recorded);
    broker.forward_due().await.unwrap();
    let third = take(broker.as_ref(), &["default"], "w3", LEASE).await.expect("retried");
    assert_eq!(third.attempt, 3);
    let failed = Finish::Failed { result: result(Some("exited with code 1")), hook: None };
    assert!(broker.finish(&third.token(), failed, None).await.unwrap().recorded);
    let rec = get(broker.as_ref(), id).await.unwrap();
    let seen: Vec<String> = rec
        .history
        .iter()
        .map(|a| format!("{} {} {:?} {:?} {:?}", a.attempt, a.outcome, a.worker, a.exit_code, a.error))
        .collect();
    assert_eq!(
        seen,
        [
            "1 lost Some(\"w1\") None Some(\"its worker stopped renewing the lease\")",
            "2 retried Some(\"w2\") Some(3) Some(\"exited with code 3\")",
        ]
    );
    let retried = &rec.history[1];
    assert!(retried.started_at.is_some() && retried.finished_at >= retried.started_at, "{retried:?}");
    assert_eq!((rec.attempts, rec.worker.as_deref()), (3, Some("w3")), "the last attempt is the record's own");
    // Retried by hand: its last failure joins the history as the job's
    // attempts count from 1 again.
    broker.retry_failed(Some(&[id])).await.unwrap();
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.attempts), (JobState::Queued, 0));
    let last = rec.history.last().expect("a history");
    assert_eq!(
        (rec.history.len(), last.attempt, last.outcome.as_str(), last.worker.as_deref(), last.exit_code),
        (3, 3, "failed", Some("w3"), Some(1))
    );
});

conformance!(a_retry_is_due_one_backoff_after_the_attempt_ended, |broker, env| {
    let id = enqueue(broker.as_ref(), &job("late-report", "default")).await;
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    let before = broker.time().await.unwrap();
    // Recorded 8 s after it ended (the broker was out of reach meanwhile).
    let mut late = result(Some("exited with code 1"));
    late.ended_ago = Duration::from_secs(8);
    let retry = Finish::Retry { result: late, delay: Duration::from_secs(10) };
    assert!(broker.finish(&lease.token(), retry, None).await.unwrap().recorded);
    let rec = get(broker.as_ref(), id).await.unwrap();
    let (due, finished) = (rec.due_at.unwrap(), rec.finished_at.unwrap());
    assert!(finished >= at(before, -9) && finished <= at(before, -7), "ended 8 s ago: {finished}");
    assert_eq!(due.duration_since(finished).as_secs(), 10);
});

conformance!(a_requeue_goes_first_and_does_not_count, |broker, env| {
    let first = enqueue(broker.as_ref(), &job("a", "default")).await;
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    let second = enqueue(broker.as_ref(), &job("b", "default")).await;
    assert!(broker.finish(&lease.token(), Finish::Requeue, None).await.unwrap().recorded);
    let rec = get(broker.as_ref(), first).await.unwrap();
    assert_eq!((rec.state, rec.attempts), (JobState::Queued, 0));
    let again = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    assert_eq!((again.job.id, again.attempt), (first, 1));
    assert_eq!(take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap().job.id, second);
});

conformance!(finishing_can_take_the_next_job_in_the_same_step, |broker, env| {
    let first = enqueue(broker.as_ref(), &job("a", "low")).await;
    let second = enqueue(broker.as_ref(), &job("b", "high")).await;
    let third = enqueue(broker.as_ref(), &job("c", "low")).await;
    let lease = take(broker.as_ref(), &["low"], "w", LEASE).await.unwrap();
    assert_eq!(lease.job.id, first);
    let order = q(&["high", "low"]);
    let g = grant();
    let next_take = Take { queues: &order, worker: "w", lease: LEASE, grant: &g };
    let finished = broker.finish(&lease.token(), succeeded(), Some(next_take)).await.unwrap();
    assert!(finished.recorded);
    let next = finished.next.expect("the next job, in queue order");
    assert_eq!((next.job.id, next.attempt, next.worker.as_str()), (second, 1, "w"));
    assert_eq!(state(broker.as_ref(), first).await, JobState::Succeeded);
    assert_eq!(state(broker.as_ref(), second).await, JobState::Running);
    // A lost lease records nothing, but the freed slot still gets work.
    let stale = LeaseToken { grant: grant(), ..lease.token() };
    let again = Finish::Failed { result: result(Some("late")), hook: None };
    let g = grant();
    let finished = broker.finish(&stale, again, Some(Take { grant: &g, ..next_take })).await.unwrap();
    assert!(!finished.recorded);
    assert_eq!(finished.next.map(|l| l.job.id), Some(third));
    assert_eq!(state(broker.as_ref(), first).await, JobState::Succeeded, "the late result changed nothing");
    let g = grant();
    let empty = broker.finish(&next.token(), Finish::Requeue, Some(Take { grant: &g, ..next_take })).await.unwrap();
    assert!(empty.recorded);
    assert_eq!(empty.next.map(|l| l.job.id), Some(second), "a requeued job is first in line again");
});

// Many slots of one worker finishing at once (one connection, as a worker
// with `-c 24` has): each outcome is recorded as it would be alone, a lost
// lease among them changes nothing, and each slot's next job is leased to
// that slot's take, never another's, nor one job to two.
conformance!(many_slots_finishing_at_once_each_get_their_own_outcome_and_next_job, |broker, env| {
    let first: Vec<NewJob> = (0..24).map(|i| job(&format!("j{i}"), "default")).collect();
    broker.enqueue(&first).await.unwrap();
    let rest: Vec<NewJob> = (0..16).map(|_| job("rest", "default")).collect();
    broker.enqueue(&rest).await.unwrap();
    let mut leases = Vec::new();
    for i in 0..24 {
        leases.push(take(broker.as_ref(), &["default"], &format!("w{i}"), LEASE).await.unwrap());
    }
    let queues = q(&["default"]);
    let grants: Vec<String> = (0..24).map(|_| grant()).collect();
    let finishes = leases.iter().enumerate().map(|(i, lease)| {
        let (queues, grants) = (&queues, &grants);
        let broker = broker.as_ref();
        async move {
            let worker = format!("w{i}");
            let (token, finish) = match i % 4 {
                0 => (lease.token(), succeeded()),
                1 => (lease.token(), Finish::Failed { result: result(Some(&format!("failure {i}"))), hook: None }),
                2 => (lease.token(), Finish::Retry { result: result(Some("again")), delay: Duration::from_secs(3600) }),
                // a lease this slot lost: nothing is recorded
                _ => (LeaseToken { grant: grant(), ..lease.token() }, succeeded()),
            };
            let next = Take { queues, worker: &worker, lease: LEASE, grant: &grants[i] };
            broker.finish(&token, finish, Some(next)).await.unwrap()
        }
    });
    let done = futures_util::future::join_all(finishes).await;
    let mut handed = HashSet::new();
    for (i, (finished, lease)) in done.iter().zip(&leases).enumerate() {
        assert_eq!(finished.recorded, i % 4 != 3, "slot {i}'s outcome");
        if let Some(next) = &finished.next {
            assert_eq!((next.worker.as_str(), next.grant.as_str()), (format!("w{i}").as_str(), grants[i].as_str()));
            assert!(rest.iter().any(|j| j.id == next.job.id), "slot {i} got a job of the rest");
            assert!(handed.insert(next.job.id), "{} handed to two slots", next.job.id);
            let rec = get(broker.as_ref(), next.job.id).await.unwrap();
            assert_eq!((rec.state, rec.worker.as_deref()), (JobState::Running, Some(format!("w{i}").as_str())));
        }
        let rec = get(broker.as_ref(), lease.job.id).await.unwrap();
        let (state, error) = match i % 4 {
            0 => (JobState::Succeeded, None),
            1 => (JobState::Failed, Some(format!("failure {i}"))),
            2 => (JobState::Retrying, Some("again".to_string())),
            _ => (JobState::Running, None),
        };
        assert_eq!((rec.state, rec.error.clone()), (state, error), "slot {i}'s job");
    }
    assert_eq!(handed.len(), 16, "every job left went to a slot");
    let _ = env;
});

// Finishes given up midway (a worker's task dropped while its outcome was
// on the way, perhaps carrying others'): one waiting behind them still
// completes, and each given-up one, sent again, is recorded once.
conformance!(finishes_given_up_midway_leave_the_others_to_complete, |broker, env| {
    let jobs: Vec<NewJob> = (0..4).map(|_| job("j", "default")).collect();
    broker.enqueue(&jobs).await.unwrap();
    let mut leases = Vec::new();
    for i in 0..4 {
        leases.push(take(broker.as_ref(), &["default"], &format!("w{i}"), LEASE).await.unwrap());
    }
    let tokens: Vec<LeaseToken> = leases.iter().map(Lease::token).collect();
    let mut finishes: Vec<_> = tokens.iter().map(|t| Box::pin(broker.finish(t, succeeded(), None))).collect();
    // Each sent (or waiting to be): then the first three are given up.
    for f in &mut finishes {
        let _ = futures_util::poll!(f.as_mut());
    }
    let last = finishes.pop().expect("four");
    drop(finishes);
    let last = tokio::time::timeout(Duration::from_secs(10), last).await.expect("the last is not left waiting");
    assert!(last.unwrap().recorded);
    for token in &tokens[..3] {
        let again = broker.finish(token, succeeded(), None);
        assert!(tokio::time::timeout(Duration::from_secs(10), again).await.expect("in time").unwrap().recorded);
    }
    for lease in &leases {
        let rec = get(broker.as_ref(), lease.job.id).await.unwrap();
        assert_eq!((rec.state, rec.attempts), (JobState::Succeeded, 1));
    }
    let _ = env;
});

conformance!(results_are_kept_for_their_ttl, |broker, env| {
    let keep = enqueue(broker.as_ref(), &job("keep", "default")).await;
    let short = enqueue(broker.as_ref(), &job("short", "default")).await;
    let ignored = enqueue(broker.as_ref(), &job("ignored", "default")).await;
    for (ttl, ignore) in [(3600, false), (1, false), (3600, true)] {
        let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
        let done = Finish::Succeeded {
            result: result(None),
            ttl: Duration::from_millis(ttl * 300),
            ignore_result: ignore,
            hook: None,
        };
        assert!(broker.finish(&lease.token(), done, None).await.unwrap().recorded);
    }
    assert!(get(broker.as_ref(), ignored).await.is_none(), "ignore_result deletes the record");
    wait_until_async(Duration::from_secs(10), "the short-lived result to expire", || async {
        broker.get(&[short]).await.unwrap()[0].is_none()
    })
    .await;
    broker.purge_expired_results().await.unwrap();
    let all = broker.list(&ListFilter { limit: 10, ..ListFilter::default() }).await.unwrap();
    assert_eq!(all.iter().map(|r| r.job.id).collect::<Vec<_>>(), [keep]);
});

conformance!(concurrent_takers_never_get_the_same_job, |broker, env| {
    let jobs: Vec<NewJob> = (0..300).map(|_| job("many", "default")).collect();
    broker.enqueue(&jobs).await.unwrap();
    let mut tasks = Vec::new();
    for w in 0..6 {
        // Separate connections, as separate workers have.
        let taker = env.connect().await;
        tasks.push(tokio::spawn(async move {
            let mut got = Vec::new();
            while let Some(l) = take(taker.as_ref(), &["default"], &format!("w{w}"), LEASE).await {
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
