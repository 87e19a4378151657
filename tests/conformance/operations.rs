//! The cases of the broker contract beyond a job's run: uniqueness and
//! expiry, listing and waking, an operator's revoke, retry and purge,
//! hooks, worker heartbeats and schedule ticks.

use std::time::Duration;

use jiff::Timestamp;
use taskq::broker::{Finish, Fire, Fired, LeaseLoss, LeaseToken, ListFilter, Purge, Retried, Revoke};
use taskq::job::{Delay, JobId, JobState, NewJob, Trigger, UniqueKey};
use taskq::names::{JobName, QueueName};

use super::cases::{LEASE, at, enqueue, get, grant, job, q, result, state, succeeded, take};
use super::conformance;

conformance!(a_unique_key_makes_enqueue_idempotent, |broker, env| {
    let keyed = |key: &str| {
        let mut j = job("once", "default");
        j.unique = Some(UniqueKey { key: key.into(), window: Duration::from_secs(3600) });
        j
    };
    let batch = [keyed("k1"), keyed("k1"), keyed("k2")];
    let r = broker.enqueue(&batch).await.unwrap();
    assert_eq!((r[0].id, r[0].duplicate), (batch[0].id, false));
    assert_eq!((r[1].id, r[1].duplicate), (batch[0].id, true), "a duplicate returns the first job's id");
    assert_eq!((r[2].id, r[2].duplicate), (batch[2].id, false));
    assert!(get(broker.as_ref(), batch[1].id).await.is_none(), "nothing is stored for a duplicate");
    // Held whatever the first job's state.
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    assert!(broker.finish(&lease.token(), succeeded(), None).await.unwrap().recorded);
    let again = broker.enqueue(&[keyed("k1")]).await.unwrap();
    assert_eq!((again[0].id, again[0].duplicate), (batch[0].id, true));
});

conformance!(a_job_not_started_before_it_expires_never_runs, |broker, env| {
    let mut j = job("stale", "default");
    j.expires = Some(Duration::from_secs(60));
    let id = enqueue(broker.as_ref(), &j).await;
    let fresh = enqueue(broker.as_ref(), &job("fresh", "default")).await;
    env.advance(61);
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    assert_eq!(lease.job.id, fresh, "the expired job is skipped");
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!((rec.state, rec.attempts), (JobState::Expired, 0));
    assert!(rec.error.as_deref().unwrap().starts_with("expired"));
});

conformance!(expiry_counts_from_the_end_of_the_delay, |broker, env| {
    let mut j = job("later", "default");
    j.delay = Some(Delay::For(Duration::from_secs(100)));
    j.expires = Some(Duration::from_secs(60));
    let id = enqueue(broker.as_ref(), &j).await;
    let rec = get(broker.as_ref(), id).await.unwrap();
    assert_eq!(rec.expires_at.unwrap().duration_since(rec.due_at.unwrap()).as_secs(), 60);
    env.advance(130);
    broker.forward_due().await.unwrap();
    assert_eq!(take(broker.as_ref(), &["default"], "w", LEASE).await.map(|l| l.job.id), Some(id), "due 30 s ago");
});

conformance!(list_is_newest_first_and_filtered, |broker, env| {
    let mut ids = Vec::new();
    for (name, queue) in [("a", "q1"), ("b", "q2"), ("a", "q2")] {
        ids.push(enqueue(broker.as_ref(), &job(name, queue)).await);
        env.advance(1);
    }
    let all = broker.list(&ListFilter { limit: 50, ..ListFilter::default() }).await.unwrap();
    assert_eq!(all.iter().map(|r| r.job.id).collect::<Vec<_>>(), [ids[2], ids[1], ids[0]]);
    let by_job =
        broker.list(&ListFilter { job: Some(JobName::new("a").unwrap()), limit: 50, ..ListFilter::default() }).await;
    assert_eq!(by_job.unwrap().iter().map(|r| r.job.id).collect::<Vec<_>>(), [ids[2], ids[0]]);
    let by_queue = broker
        .list(&ListFilter { queue: Some(QueueName::new("q2").unwrap()), limit: 1, ..ListFilter::default() })
        .await
        .unwrap();
    assert_eq!(by_queue.iter().map(|r| r.job.id).collect::<Vec<_>>(), [ids[2]]);
    let running =
        broker.list(&ListFilter { state: Some(JobState::Running), limit: 50, ..ListFilter::default() }).await.unwrap();
    assert!(running.is_empty());
});

conformance!(an_idle_waiter_wakes_when_a_job_arrives, |broker, env| {
    let waiter = env.connect().await;
    // Prime the waiter: it has looked and found nothing.
    assert!(take(waiter.as_ref(), &["default"], "w", LEASE).await.is_none());
    // And it is subscribed before the job arrives.
    waiter.wait_for_jobs(&q(&["default"]), Duration::from_millis(200)).await.unwrap();
    assert!(take(waiter.as_ref(), &["default"], "w", LEASE).await.is_none());
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
        broker.enqueue(&jobs).await.unwrap().into_iter().map(|e| e.id).collect()
    };
    drop(broker);
    let other = env.connect().await;
    let records = other.get(&ids).await.unwrap();
    assert!(records.iter().all(|r| r.as_ref().is_some_and(|r| r.state == JobState::Queued)));
    assert_eq!(other.count_ready(&q(&["a", "b"])).await.unwrap(), 50);
});

conformance!(revoke_cancels_what_has_not_started_and_terminates_on_request, |broker, env| {
    let queued = enqueue(broker.as_ref(), &job("a", "default")).await;
    let mut later = job("b", "default");
    later.delay = Some(Delay::For(Duration::from_secs(3600)));
    let scheduled = enqueue(broker.as_ref(), &later).await;
    assert_eq!(broker.revoke(queued, false).await.unwrap(), Revoke::Revoked);
    assert_eq!(broker.revoke(scheduled, false).await.unwrap(), Revoke::Revoked);
    for id in [queued, scheduled] {
        let rec = get(broker.as_ref(), id).await.unwrap();
        assert_eq!((rec.state, rec.due_at), (JobState::Revoked, None));
    }
    env.advance(7200);
    broker.forward_due().await.unwrap();
    assert!(take(broker.as_ref(), &["default"], "w", LEASE).await.is_none(), "never runs");
    assert_eq!(broker.revoke(queued, false).await.unwrap(), Revoke::Final(JobState::Revoked));
    assert_eq!(broker.revoke(JobId::new(), false).await.unwrap(), Revoke::Unknown);

    let running = enqueue(broker.as_ref(), &job("c", "default")).await;
    let lease = take(broker.as_ref(), &["default"], "w1", LEASE).await.unwrap();
    assert_eq!(broker.revoke(running, false).await.unwrap(), Revoke::Running { worker: "w1".into() });
    assert!(broker.revoked(&[lease.token()]).await.unwrap().is_empty());
    assert_eq!(broker.revoke(running, true).await.unwrap(), Revoke::Terminating { worker: "w1".into() });
    let not_running = LeaseToken { id: queued, ..lease.token() };
    assert_eq!(broker.revoked(&[lease.token(), not_running]).await.unwrap(), [running]);
    assert_eq!(broker.extend_leases(&[lease.token()], LEASE).await.unwrap(), [(lease.token(), LeaseLoss::Revoked)]);
    let killed = Finish::Revoked { result: result(Some("revoked")), ttl: Duration::from_secs(60) };
    assert!(broker.finish(&lease.token(), killed, None).await.unwrap().recorded);
    assert_eq!(state(broker.as_ref(), running).await, JobState::Revoked);

    // A worker lost while asked to terminate: the job is revoked, not redelivered.
    let orphan = enqueue(broker.as_ref(), &job("d", "default")).await;
    take(broker.as_ref(), &["default"], "w2", Duration::from_secs(1)).await.unwrap();
    broker.revoke(orphan, true).await.unwrap();
    env.advance(2);
    let r = broker.recover_expired().await.unwrap().jobs;
    assert_eq!(r[0].state, JobState::Revoked);
    assert_eq!(state(broker.as_ref(), orphan).await, JobState::Revoked);
});

conformance!(failed_jobs_can_be_retried_and_purged, |broker, env| {
    let mut failed = Vec::new();
    for name in ["f1", "f2", "f3"] {
        let id = enqueue(broker.as_ref(), &job(name, "default")).await;
        let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
        let fail = Finish::Failed { result: result(Some("exited with code 1")), hook: None };
        broker.finish(&lease.token(), fail, None).await.unwrap();
        failed.push(id);
    }
    let ok = enqueue(broker.as_ref(), &job("ok", "default")).await;
    let retried = broker.retry_failed(Some(&[failed[0], ok, JobId::new()])).await.unwrap();
    assert_eq!(retried[0], (failed[0], Retried::Requeued));
    assert_eq!(retried[1], (ok, Retried::NotFailed(JobState::Queued)), "a queued job is left alone");
    assert_eq!(retried[2].1, Retried::Unknown);
    let rec = get(broker.as_ref(), failed[0]).await.unwrap();
    assert_eq!((rec.state, rec.attempts), (JobState::Queued, 0));
    assert_eq!(rec.error.as_deref(), Some("exited with code 1"), "the last error stays until the next run");

    assert_eq!(broker.count(&Purge::Failed).await.unwrap(), 2);
    assert_eq!(broker.count(&Purge::Queue(QueueName::new("default").unwrap())).await.unwrap(), 2);
    assert_eq!(broker.purge(&Purge::Failed).await.unwrap(), 2);
    assert!(get(broker.as_ref(), failed[1]).await.is_none());
    assert_eq!(broker.purge(&Purge::Queue(QueueName::new("default").unwrap())).await.unwrap(), 2);
    assert!(get(broker.as_ref(), ok).await.is_none());
    assert!(take(broker.as_ref(), &["default"], "w", LEASE).await.is_none());

    let again = enqueue(broker.as_ref(), &job("g", "default")).await;
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    broker.finish(&lease.token(), Finish::Failed { result: result(Some("x")), hook: None }, None).await.unwrap();
    let all = broker.retry_failed(None).await.unwrap();
    assert_eq!(all, [(again, Retried::Requeued)]);
    assert_eq!(take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap().attempt, 1);
});

conformance!(a_hook_is_enqueued_with_the_outcome_or_not_at_all, |broker, env| {
    let id = enqueue(broker.as_ref(), &job("main", "default")).await;
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    let mut hook = job("alert", "ops");
    hook.trigger = Some(Trigger {
        id,
        job: lease.job.job.clone(),
        state: JobState::Failed,
        exit_code: Some(3),
        output: "boom\n".into(),
    });
    // A worker that lost its lease records nothing: no hook either.
    let stale = LeaseToken { grant: grant(), ..lease.token() };
    let late = Finish::Failed { result: result(Some("exited with code 3")), hook: Some(hook.clone()) };
    assert!(!broker.finish(&stale, late, None).await.unwrap().recorded);
    assert!(get(broker.as_ref(), hook.id).await.is_none());

    let fail = Finish::Failed { result: result(Some("exited with code 3")), hook: Some(hook.clone()) };
    assert!(broker.finish(&lease.token(), fail, None).await.unwrap().recorded);
    let rec = get(broker.as_ref(), hook.id).await.expect("the hook was enqueued");
    assert_eq!(rec.state, JobState::Queued);
    assert_eq!(rec.job.trigger, hook.trigger);
    let taken = take(broker.as_ref(), &["ops"], "w", LEASE).await.unwrap();
    assert_eq!(taken.job.trigger.unwrap().output, "boom\n");
});

conformance!(workers_register_by_heartbeat_and_expire_when_silent, |broker, env| {
    let job = JobId::new();
    let info = |id: &str| taskq::broker::WorkerInfo {
        id: id.into(),
        host: "h".into(),
        pid: 1,
        queues: vec!["default".into()],
        concurrency: 2,
        beat: false,
        started_at: taskq::time::truncate_ms(Timestamp::now()),
        seen_at: Timestamp::UNIX_EPOCH,
        clock_offset_ms: -120_000,
        running: vec![taskq::broker::RunningJob { id: job, job: "j".into(), attempt: 1, started_at: None }],
    };
    let seen = broker.heartbeat(&info("w1")).await.unwrap();
    broker.heartbeat(&info("w2")).await.unwrap();
    let live = broker.workers().await.unwrap();
    assert_eq!(live.iter().map(|w| w.id.as_str()).collect::<Vec<_>>(), ["w1", "w2"]);
    assert_eq!(live[0].running, info("w1").running);
    assert_eq!((live[0].concurrency, live[0].queues.clone()), (2, vec!["default".to_string()]));
    assert_eq!(live[0].clock_offset_ms, -120_000, "the host's clock offset is reported");
    assert_eq!(live[0].seen_at, seen, "seen by the broker's clock");
    broker.forget_worker("w2").await.unwrap();
    assert_eq!(broker.workers().await.unwrap().len(), 1);
    env.advance(31);
    assert!(broker.workers().await.unwrap().is_empty(), "a silent worker is gone after its ttl");
});

pub(super) fn fire<'a>(
    entry: &'a str,
    tick: Timestamp,
    run: Option<&'a NewJob>,
    max_concurrent: Option<u32>,
) -> Fire<'a> {
    static DEFAULT: std::sync::LazyLock<QueueName> = std::sync::LazyLock::new(QueueName::default_queue);
    Fire {
        entry,
        queue: run.map_or(&DEFAULT, |r| &r.queue),
        spec: "every 1m",
        tick,
        missed: 0,
        run,
        max_concurrent,
        keep_until: at(tick, 86_400),
        paused: false,
    }
}

conformance!(a_tick_fires_once_however_many_beats_ask, |broker, env| {
    let tick = taskq::time::truncate_ms(broker.time().await.unwrap());
    let mut run = job("backup", "default");
    run.policy.max_concurrent = Some(1);
    let fired = broker.fire(&fire("backup", tick, Some(&run), None)).await.unwrap();
    assert_eq!(fired, Fired::Enqueued(run.id));
    let again = job("backup", "default");
    assert_eq!(broker.fire(&fire("backup", tick, Some(&again), None)).await.unwrap(), Fired::Already);
    assert!(get(broker.as_ref(), again.id).await.is_none(), "the second beat's run is not enqueued");
    assert_eq!(
        broker.fire(&fire("backup", at(tick, -60), Some(&again), None)).await.unwrap(),
        Fired::Already,
        "an earlier tick never fires after a later one"
    );

    // With max_concurrent = 1 and the run active, the next tick is skipped.
    take(broker.as_ref(), &["default"], "w1", Duration::from_secs(3600)).await.expect("the run");
    env.advance(60);
    let next = job("backup", "default");
    let fired = broker.fire(&fire("backup", at(tick, 60), Some(&next), Some(1))).await.unwrap();
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

conformance!(missed_ticks_a_fire_reports_are_counted_as_skipped, |broker, _env| {
    let tick = taskq::time::truncate_ms(broker.time().await.unwrap());
    // catch_up = "skip" after an outage: the latest missed tick is recorded
    // without a run, and the ones before it are counted.
    let recorded = Fire { missed: 4, ..fire("nightly", at(tick, -120), None, None) };
    assert_eq!(broker.fire(&recorded).await.unwrap(), Fired::Recorded);
    // catch_up = "once": the latest runs, the others are counted.
    let run = job("nightly", "default");
    assert_eq!(
        broker.fire(&Fire { missed: 2, ..fire("nightly", at(tick, -60), Some(&run), None) }).await.unwrap(),
        Fired::Enqueued(run.id)
    );
    let s = &broker.schedules().await.unwrap()[0];
    assert_eq!((s.last_tick, s.last_job, s.fired, s.skipped), (at(tick, -60), Some(run.id), 1, 6));
    assert_eq!(s.last_skip.as_deref(), Some("no beat ran at the time"));
});

conformance!(a_tick_asked_for_before_its_instant_is_refused, |broker, env| {
    let now = taskq::time::truncate_ms(broker.time().await.unwrap());
    let run = job("soon", "default");
    assert_eq!(broker.fire(&fire("soon", at(now, 10), Some(&run), None)).await.unwrap(), Fired::Early);
    assert!(broker.schedules().await.unwrap().is_empty(), "nothing claimed");
    assert!(get(broker.as_ref(), run.id).await.is_none());
    env.advance(10);
    assert_eq!(broker.fire(&fire("soon", at(now, 10), Some(&run), None)).await.unwrap(), Fired::Enqueued(run.id));
});

conformance!(a_scheduled_runs_outcome_is_stamped_on_its_entry_as_it_is_recorded, |broker, env| {
    let tick = taskq::time::truncate_ms(broker.time().await.unwrap());
    let scheduled = |name: &str| {
        let mut j = job(name, "default");
        j.scheduled_at = Some(tick.to_string());
        j
    };
    // An entry no beat ever handled is not created by a run's outcome.
    enqueue(broker.as_ref(), &scheduled("orphan")).await;
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    broker.finish(&lease.token(), succeeded(), None).await.unwrap();
    assert!(broker.schedules().await.unwrap().is_empty());

    let run = scheduled("backup");
    broker.fire(&fire("backup", tick, Some(&run), None)).await.unwrap();
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    broker.finish(&lease.token(), succeeded(), None).await.unwrap();
    let s = broker.schedules().await.unwrap().pop().expect("the entry");
    let ok = s.last_success.expect("stamped with the outcome");
    assert_eq!(s.last_failure, None);

    env.advance(70);
    let second = scheduled("backup");
    broker.fire(&fire("backup", at(tick, 60), Some(&second), None)).await.unwrap();
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    broker.finish(&lease.token(), Finish::Failed { result: result(Some("x")), hook: None }, None).await.unwrap();
    let s = broker.schedules().await.unwrap().pop().expect("the entry");
    assert_eq!(s.last_success, Some(ok));
    assert!(s.last_failure.is_some_and(|f| f > ok));
    // A plain (unscheduled) run of the same job leaves the entry alone.
    enqueue(broker.as_ref(), &job("backup", "default")).await;
    let lease = take(broker.as_ref(), &["default"], "w", LEASE).await.unwrap();
    broker.finish(&lease.token(), succeeded(), None).await.unwrap();
    assert_eq!(broker.schedules().await.unwrap().pop().unwrap().last_success, Some(ok));
});

conformance!(a_paused_entry_records_its_ticks_as_skipped, |broker, env| {
    assert!(broker.paused().await.unwrap().is_empty());
    assert!(broker.pause("nightly", true).await.unwrap());
    assert!(!broker.pause("nightly", true).await.unwrap(), "already paused");
    let paused = broker.paused().await.unwrap();
    assert_eq!(paused.iter().map(|(e, _)| e.as_str()).collect::<Vec<_>>(), ["nightly"]);

    let tick = taskq::time::truncate_ms(broker.time().await.unwrap());
    let run = job("nightly", "default");
    let skipped = Fire { paused: true, missed: 2, ..fire("nightly", tick, Some(&run), None) };
    assert_eq!(broker.fire(&skipped).await.unwrap(), Fired::Paused);
    assert!(get(broker.as_ref(), run.id).await.is_none(), "no run while paused");
    let s = broker.schedules().await.unwrap().pop().expect("the entry's state");
    assert_eq!((s.last_tick, s.fired, s.skipped, s.last_skip.as_deref()), (tick, 0, 3, Some("paused")));
    assert_eq!(broker.fire(&skipped).await.unwrap(), Fired::Already, "a paused tick is handled once too");

    assert!(broker.pause("nightly", false).await.unwrap());
    assert!(!broker.pause("nightly", false).await.unwrap());
    assert!(broker.paused().await.unwrap().is_empty());
    let next = at(tick, 60);
    env.advance(60);
    assert_eq!(broker.fire(&fire("nightly", next, Some(&run), None)).await.unwrap(), Fired::Enqueued(run.id));
});

conformance!(beats_register_their_definitions_until_they_lapse, |broker, env| {
    use std::time::Duration;
    let defs = |entries: &[(&str, &str)]| -> Vec<(String, String)> {
        entries.iter().map(|(e, s)| (e.to_string(), s.to_string())).collect()
    };
    let ttl = Duration::from_secs(90);
    let live = broker.define("a", &defs(&[("tick", "every 2s"), ("nightly", "0 3 * * * (UTC)")]), ttl).await.unwrap();
    assert_eq!(live.len(), 2);
    let first_since = live.iter().find(|d| d.entry == "tick").unwrap().since;
    env.advance(5);
    let live = broker.define("b", &defs(&[("tick", "1/2 * * * * * (UTC)")]), ttl).await.unwrap();
    let tick: Vec<(&str, &str)> =
        live.iter().filter(|d| d.entry == "tick").map(|d| (d.beat.as_str(), d.spec.as_str())).collect();
    assert_eq!(tick, [("a", "every 2s"), ("b", "1/2 * * * * * (UTC)")]);
    // Renewed, a definition keeps its since; one a beat no longer holds goes.
    let live = broker.define("a", &defs(&[("tick", "every 2s")]), ttl).await.unwrap();
    let a: Vec<_> = live.iter().filter(|d| d.beat == "a").collect();
    assert_eq!(a.len(), 1);
    assert_eq!((a[0].entry.as_str(), a[0].since), ("tick", first_since));
    // Withdrawn, and lapsed.
    broker.define("b", &[], ttl).await.unwrap();
    assert_eq!(broker.definitions().await.unwrap().iter().map(|d| d.beat.as_str()).collect::<Vec<_>>(), ["a"]);
    env.advance(91);
    assert!(broker.definitions().await.unwrap().is_empty(), "a definition not renewed lapses");
});
