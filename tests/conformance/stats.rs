//! Per-job statistics: every way an attempt ends is counted for its job,
//! with run times, in windows of the last hour and the last 24 h.

use std::time::Duration;

use taskq::broker::stats::{JobStats, Tally};
use taskq::broker::{AttemptResult, Finish};

use super::cases::{LEASE, enqueue, job, result, take};
use super::conformance;

fn ran(ms: u64) -> AttemptResult {
    AttemptResult { duration: Some(Duration::from_millis(ms)), ..result(None) }
}

fn of<'a>(stats: &'a [JobStats], name: &str) -> &'a JobStats {
    stats.iter().find(|s| s.job == name).unwrap_or_else(|| panic!("no statistics for {name}: {stats:?}"))
}

conformance!(every_ending_is_counted_for_its_job_with_run_times, |broker, env| {
    let b = broker.as_ref();
    // 19 quick successes and one slow one, on two queues.
    for i in 0..20 {
        let queue = if i % 2 == 0 { "default" } else { "other" };
        enqueue(b, &job("fine", queue)).await;
        let lease = take(b, &[queue], "w", LEASE).await.expect("a job");
        let ms = if i == 0 { 4000 } else { 100 };
        let ok = Finish::Succeeded { result: ran(ms), ttl: LEASE, ignore_result: i == 1, hook: None };
        assert!(b.finish(&lease.token(), ok, None).await.unwrap().recorded);
    }
    // A retry, then a failure.
    enqueue(b, &job("flaky", "default")).await;
    let lease = take(b, &["default"], "w", LEASE).await.unwrap();
    let retry = Finish::Retry { result: ran(50), delay: Duration::ZERO };
    b.finish(&lease.token(), retry, None).await.unwrap();
    b.forward_due().await.unwrap();
    let lease = take(b, &["default"], "w", LEASE).await.unwrap();
    b.finish(&lease.token(), Finish::Failed { result: ran(50), hook: None }, None).await.unwrap();
    // A shutdown's requeue is no ending; a lost worker's job is.
    enqueue(b, &job("lost", "default")).await;
    let lease = take(b, &["default"], "w", LEASE).await.unwrap();
    b.finish(&lease.token(), Finish::Requeue, None).await.unwrap();
    take(b, &["default"], "w", Duration::from_secs(1)).await.expect("taken again");
    // One that expires before it starts.
    let mut stale = job("stale", "default");
    stale.expires = Some(Duration::from_secs(1));
    enqueue(b, &stale).await;
    env.advance(2);
    assert_eq!(b.recover_expired().await.unwrap().jobs.len(), 1);
    let lease = take(b, &["default"], "w", LEASE).await.expect("the lost job, first in line again");
    assert_eq!(lease.job.job.as_str(), "lost");
    b.finish(&lease.token(), Finish::Requeue, None).await.unwrap();
    take(b, &["default"], "w", LEASE).await.expect("the lost job");
    assert!(take(b, &["default"], "w", LEASE).await.is_none(), "the stale job expires as it is met");

    let stats = b.job_stats().await.unwrap();
    let names: Vec<&str> = stats.iter().map(|s| s.job.as_str()).collect();
    assert_eq!(names, ["fine", "flaky", "lost", "stale"]);
    let fine = of(&stats, "fine");
    for w in [&fine.hour, &fine.day] {
        assert_eq!(w.count(Tally::Succeeded), 20, "ignore_result runs count too");
        assert_eq!(w.count(Tally::Failed), 0);
        assert_eq!(w.mean(), Some(Duration::from_millis((19 * 100 + 4000) / 20)));
        let p95 = w.p95().expect("timed");
        assert!(
            p95 >= Duration::from_millis(100) && p95 <= Duration::from_millis(120),
            "{p95:?}: the tail, not the outlier"
        );
    }
    assert_eq!(fine.per_minute().iter().map(|m| m.0).sum::<u64>(), 20);
    let flaky = of(&stats, "flaky");
    assert_eq!((flaky.hour.count(Tally::Retried), flaky.hour.count(Tally::Failed)), (1, 1));
    assert_eq!(flaky.hour.timed, 2);
    assert_eq!(of(&stats, "lost").hour.count(Tally::Lost), 1);
    assert_eq!(of(&stats, "lost").hour.timed, 0);
    assert_eq!(of(&stats, "stale").day.count(Tally::Expired), 1);

    // An hour on, the last hour is empty and the day still holds them, also
    // once a new ending takes the ring's slot of their minute (60 minutes on).
    env.advance(3600);
    let stats = b.job_stats().await.unwrap();
    let fine = of(&stats, "fine");
    assert_eq!((fine.hour.count(Tally::Succeeded), fine.day.count(Tally::Succeeded)), (0, 20));
    enqueue(b, &job("fine", "default")).await;
    let lease = take(b, &["default"], "w", LEASE).await.expect("a job");
    let ok = Finish::Succeeded { result: ran(100), ttl: LEASE, ignore_result: false, hook: None };
    b.finish(&lease.token(), ok, None).await.unwrap();
    let stats = b.job_stats().await.unwrap();
    let fine = of(&stats, "fine");
    assert_eq!((fine.hour.count(Tally::Succeeded), fine.day.count(Tally::Succeeded)), (1, 21));
    assert_eq!(fine.day.timed, 21);
    assert_eq!(fine.day.total_ms, 19 * 100 + 4000 + 100, "run times are carried into the hour too");
    env.advance(24 * 3600);
    b.purge_expired_results().await.unwrap();
    assert!(b.job_stats().await.unwrap().is_empty(), "a day later, nothing");
});
