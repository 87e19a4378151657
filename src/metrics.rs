//! `--metrics ADDR` on `run` and `beat`: Prometheus text format over HTTP.
//!
//! What happens in this process (jobs finished by outcome, their durations,
//! running jobs) is counted as it happens; what the broker holds for everyone
//! (queue depths, the failed set, schedules and their last success) is
//! sampled every few seconds. Without `--metrics` no recorder is installed
//! and every call here is a no-op.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;
use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};
use tokio_util::sync::CancellationToken;

use crate::broker::{Broker, Purge};
use crate::error::UsageError;
use crate::names::QueueName;

/// How often the broker-wide values are sampled.
const SAMPLE_EVERY: Duration = Duration::from_secs(5);

/// Job durations, in seconds: from a quick HTTP call to a long batch job.
const DURATION_BUCKETS: [f64; 14] =
    [0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 1800.0, 7200.0];

/// How late beat enqueues a tick's run, in seconds: SPEC §5 promises 50 ms.
const DELAY_BUCKETS: [f64; 10] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0, 60.0, 3600.0];

/// How an attempt ended, as the `outcome` label says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    Succeeded,
    Failed,
    /// Failed, to run again.
    Retried,
    Revoked,
    /// Stopped by a shutdown and put back, not counted as an attempt.
    Requeued,
}

impl Ending {
    fn as_str(self) -> &'static str {
        match self {
            Ending::Succeeded => "succeeded",
            Ending::Failed => "failed",
            Ending::Retried => "retried",
            Ending::Revoked => "revoked",
            Ending::Requeued => "requeued",
        }
    }
}

/// Starts serving `--metrics ADDR`.
pub(crate) fn serve(socket: SocketAddr) -> anyhow::Result<()> {
    PrometheusBuilder::new()
        .with_http_listener(socket)
        .set_buckets_for_metric(Matcher::Full("taskq_job_duration_seconds".into()), &DURATION_BUCKETS)
        .and_then(|b| b.set_buckets_for_metric(Matcher::Full("taskq_beat_fire_delay_seconds".into()), &DELAY_BUCKETS))
        .and_then(PrometheusBuilder::install)
        .map_err(|e| UsageError(format!("cannot serve metrics on {socket}: {e}; choose another --metrics address")))?;
    describe();
    Ok(())
}

fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!("taskq_jobs_finished_total", "Attempts this process finished, by job and outcome");
    describe_histogram!("taskq_job_duration_seconds", Unit::Seconds, "How long attempts ran, by job");
    describe_gauge!("taskq_jobs_running", "Jobs this worker is running");
    describe_gauge!("taskq_worker_slots", "Jobs this worker can run at once (-c)");
    describe_counter!(
        "taskq_leases_lapsed_total",
        "Jobs whose worker was lost, found by this process, by what became of them"
    );
    describe_gauge!("taskq_queue_depth", "Jobs waiting on a queue (broker-wide)");
    describe_gauge!("taskq_failed_jobs", "Jobs in the failed set (broker-wide)");
    describe_gauge!(
        "taskq_workflow_runs",
        "Workflow runs the broker holds, by workflow and state (ended ones until their result_ttl; broker-wide)"
    );
    describe_gauge!("taskq_schedule_last_tick_timestamp_seconds", Unit::Seconds, "The last tick beat handled");
    describe_gauge!("taskq_schedule_paused", "1 while a schedule is paused (taskq schedule pause), else 0");
    describe_gauge!(
        "taskq_schedule_last_success_timestamp_seconds",
        Unit::Seconds,
        "When a scheduled run last succeeded, 0 if none ever did: alert when it is too old"
    );
    describe_gauge!("taskq_schedule_last_failure_timestamp_seconds", Unit::Seconds, "When a scheduled run last failed");
    describe_counter!("taskq_schedule_fired_total", "Runs beat enqueued for a schedule");
    describe_counter!(
        "taskq_schedule_skipped_total",
        "Ticks of a schedule skipped (missed, or the previous run active)"
    );
    describe_gauge!(
        "taskq_clock_offset_seconds",
        Unit::Seconds,
        "How far this host's clock is from the broker's (host minus broker)"
    );
    describe_counter!(
        "taskq_failed_set_dropped_total",
        "Failed jobs deleted to keep the failed set within failed_max and failed_ttl"
    );
    describe_counter!("taskq_retries_total", "Attempts this process ran that failed and will run again, by job");
    describe_counter!(
        "taskq_jobs_expired_total",
        "Jobs not started before their expiry (broker-wide, counted from this process's start)"
    );
    describe_counter!("taskq_beat_fires_total", "Runs this beat enqueued, by schedule");
    describe_counter!("taskq_beat_skipped_total", "Ticks this beat recorded as skipped, by schedule and reason");
    describe_histogram!(
        "taskq_beat_fire_delay_seconds",
        Unit::Seconds,
        "How long after its tick (by the broker's clock) this beat enqueued a run"
    );
    describe_gauge!("taskq_job_endings", "Attempts ended per job and ending over a window (1h, 24h; broker-wide)");
    describe_gauge!(
        "taskq_job_duration_mean_seconds",
        Unit::Seconds,
        "Mean run time of a job's attempts over a window (1h, 24h; broker-wide)"
    );
    describe_gauge!(
        "taskq_job_duration_p95_seconds",
        Unit::Seconds,
        "95th percentile run time of a job's attempts over a window (1h, 24h; broker-wide)"
    );
    describe_counter!("taskq_broker_errors_total", "Broker calls that failed and were retried, by what was tried");
}

/// How far this host's clock is from the broker's.
pub(crate) fn clock_offset(skew: jiff::SignedDuration) {
    gauge!("taskq_clock_offset_seconds").set(skew.as_secs_f64());
}

/// Failed jobs deleted to keep the failed set bounded.
pub(crate) fn failed_dropped(n: u64) {
    if n > 0 {
        counter!("taskq_failed_set_dropped_total").increment(n);
    }
}

/// A broker call failed and will be retried.
pub(crate) fn broker_error(what: &'static str) {
    counter!("taskq_broker_errors_total", "call" => what).increment(1);
}

/// An attempt this process ran ended.
pub(crate) fn job_ended(job: &str, outcome: Ending, took: Option<Duration>) {
    counter!("taskq_jobs_finished_total", "job" => job.to_string(), "outcome" => outcome.as_str()).increment(1);
    if outcome == Ending::Retried {
        counter!("taskq_retries_total", "job" => job.to_string()).increment(1);
    }
    if let Some(took) = took {
        histogram!("taskq_job_duration_seconds", "job" => job.to_string()).record(took.as_secs_f64());
    }
}

/// Beat enqueued a run of `schedule` `delay` after its tick.
pub(crate) fn beat_fired(schedule: &str, delay: Duration) {
    counter!("taskq_beat_fires_total", "schedule" => schedule.to_string()).increment(1);
    histogram!("taskq_beat_fire_delay_seconds").record(delay.as_secs_f64());
}

/// Beat recorded `n` ticks of `schedule` as skipped: `reason` is "missed"
/// (no beat ran), "active" (the previous run still active) or "paused".
pub(crate) fn beat_skipped(schedule: &str, reason: &'static str, n: u64) {
    if n > 0 {
        counter!("taskq_beat_skipped_total", "schedule" => schedule.to_string(), "reason" => reason).increment(n);
    }
}

/// This worker's slots and how many are busy.
pub(crate) fn worker_load(running: usize, slots: usize) {
    gauge!("taskq_jobs_running").set(running as f64);
    gauge!("taskq_worker_slots").set(slots as f64);
}

/// A job whose lease lapsed was found by this process and ended `state`.
pub(crate) fn lease_lapsed(state: crate::job::JobState) {
    counter!("taskq_leases_lapsed_total", "outcome" => state.as_str()).increment(1);
}

/// Samples what the broker holds for everyone until `stop`: the depth of
/// `queues`, the failed set, the per-job statistics and the schedules,
/// those the broker has a state of and those named in `schedules` (the
/// config's).
pub(crate) async fn sample(
    broker: Arc<dyn Broker>,
    queues: Vec<QueueName>,
    schedules: Vec<String>,
    stop: CancellationToken,
) {
    let mut expired = ExpiredCount::default();
    loop {
        if let Err(e) = sample_stats(broker.as_ref(), &mut expired).await {
            tracing::debug!(error = %e, "cannot read the job statistics for metrics");
        }
        if let Err(e) = sample_once(broker.as_ref(), &queues, &schedules).await {
            tracing::debug!(error = %e, "cannot sample the broker for metrics");
        }
        tokio::select! {
            () = tokio::time::sleep(SAMPLE_EVERY) => {}
            () = stop.cancelled() => return,
        }
    }
}

async fn sample_once(
    broker: &dyn Broker,
    queues: &[QueueName],
    schedules: &[String],
) -> Result<(), crate::broker::BrokerError> {
    for queue in queues {
        let depth = broker.count(&Purge::Queue(queue.clone())).await?;
        gauge!("taskq_queue_depth", "queue" => queue.to_string()).set(depth as f64);
    }
    gauge!("taskq_failed_jobs").set(broker.count(&Purge::Failed).await? as f64);
    for (workflow, state, n) in broker.count_runs().await? {
        gauge!("taskq_workflow_runs", "workflow" => workflow.to_string(), "state" => state.as_str()).set(n as f64);
    }
    let seconds = |t: Timestamp| t.as_millisecond() as f64 / 1000.0;
    let states = broker.schedules().await?;
    // The dead man's switch: 0 until a first success, so that an alert on
    // its age fires for a schedule that never succeeded, or never ran (no
    // state: no beat has taken it on), as well.
    for name in schedules.iter().filter(|name| !states.iter().any(|s| &s.entry == *name)) {
        gauge!("taskq_schedule_last_success_timestamp_seconds", "schedule" => name.clone()).set(0.0);
    }
    // Paused ones: 1, so that an alert can leave them out (`unless on
    // (schedule) taskq_schedule_paused == 1`).
    let paused = broker.paused().await?;
    for name in schedules.iter().chain(states.iter().map(|s| &s.entry)) {
        let is = paused.iter().any(|(e, _)| e == name);
        gauge!("taskq_schedule_paused", "schedule" => name.clone()).set(if is { 1.0 } else { 0.0 });
    }
    for s in states {
        let entry = s.entry.clone();
        if let Some(t) = s.ticked() {
            gauge!("taskq_schedule_last_tick_timestamp_seconds", "schedule" => entry.clone()).set(seconds(t));
        }
        gauge!("taskq_schedule_last_success_timestamp_seconds", "schedule" => entry.clone())
            .set(s.last_success.map_or(0.0, seconds));
        if let Some(t) = s.last_failure {
            gauge!("taskq_schedule_last_failure_timestamp_seconds", "schedule" => entry.clone()).set(seconds(t));
        }
        counter!("taskq_schedule_fired_total", "schedule" => entry.clone()).absolute(s.fired);
        counter!("taskq_schedule_skipped_total", "schedule" => entry).absolute(s.skipped);
    }
    Ok(())
}

/// `taskq_jobs_expired_total` from the broker's per-minute statistics:
/// what each minute gained since the last sample, from this process's
/// start, so the counter only grows.
#[derive(Default)]
struct ExpiredCount {
    /// Per minute of the window (Unix minute): the expiries counted.
    counted: BTreeMap<i64, u64>,
    started: bool,
    /// The jobs of the last sample: one that has since gone quiet for 24 h
    /// has its gauges set to nothing ended, not left at their last value.
    jobs: std::collections::BTreeSet<String>,
}

async fn sample_stats(broker: &dyn Broker, expired: &mut ExpiredCount) -> Result<(), crate::broker::BrokerError> {
    use crate::broker::stats::Tally;
    let stats = broker.job_stats().await?;
    let mut seen: BTreeMap<i64, u64> = BTreeMap::new();
    for s in &stats {
        // Each minute by the window the broker read: a minute placed by a
        // clock read before a minute's end would shift every count by one
        // and count each expiry again.
        for (i, m) in s.minutes.iter().enumerate() {
            *seen.entry(s.first_minute + i as i64).or_default() += m[Tally::Expired as usize];
        }
    }
    if expired.started {
        let newly: u64 =
            seen.iter().map(|(minute, n)| n.saturating_sub(expired.counted.get(minute).copied().unwrap_or(0))).sum();
        counter!("taskq_jobs_expired_total").increment(newly);
    } else {
        // What expired before this process started is not its to count.
        counter!("taskq_jobs_expired_total").increment(0);
        expired.started = true;
    }
    expired.counted = seen;
    let quiet = crate::broker::stats::Window::default();
    let gone: Vec<String> = expired.jobs.iter().filter(|j| !stats.iter().any(|s| &s.job == *j)).cloned().collect();
    let windows = stats
        .iter()
        .map(|s| (s.job.clone(), [("1h", &s.hour), ("24h", &s.day)]))
        .chain(gone.into_iter().map(|job| (job, [("1h", &quiet), ("24h", &quiet)])));
    for (job, pair) in windows {
        for (window, w) in pair {
            for t in Tally::ALL {
                gauge!("taskq_job_endings", "job" => job.clone(), "ending" => t.as_str(), "window" => window)
                    .set(w.count(t) as f64);
            }
            // No attempt in the window: no figure (NaN, a gap in a graph),
            // not the last one seen.
            let seconds = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64());
            gauge!("taskq_job_duration_mean_seconds", "job" => job.clone(), "window" => window).set(seconds(w.mean()));
            gauge!("taskq_job_duration_p95_seconds", "job" => job.clone(), "window" => window).set(seconds(w.p95()));
        }
    }
    expired.jobs = stats.iter().map(|s| s.job.clone()).collect();
    Ok(())
}
