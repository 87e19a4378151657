//! One slot's work: run a leased job, record its outcome under the lease
//! (taking the slot's next job in the same broker call), and carry on with
//! that job until the broker hands over none.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;
use tokio_util::task::TaskTracker;

use super::{RETRY_FIRST, RETRY_MAX, Running, Shared, StopReason, ended, hooks, lock, retry};
use crate::backoff::Backoff;
use crate::broker::{AttemptResult, Finish, Lease, LeaseToken, Take};
use crate::exec::output::{LiveOutput, OutputSink, Prefixed};
use crate::exec::{Attempt, Kill};
use crate::workflow::drive::Check;

/// Starts a slot's task: it runs the job, and then each next job the broker
/// hands over when the outcome is recorded, until there is none. `sent` is
/// when the call that granted the lease was sent.
pub(super) fn start(
    shared: &Arc<Shared>,
    lease: Lease,
    sent: Instant,
    permit: OwnedSemaphorePermit,
    tracker: &TaskTracker,
) {
    let shared = shared.clone();
    tracker.spawn(async move {
        let mut current = Some((lease, sent));
        while let Some((lease, sent)) = current.take() {
            current = run_one(&shared, lease, sent).await;
        }
        drop(permit);
        shared.local_wake.notify_one();
    });
}

/// Runs one leased job until its outcome is recorded; returns the slot's
/// next job if the broker handed one over, with when it was asked for.
async fn run_one(shared: &Shared, lease: Lease, sent: Instant) -> Option<(Lease, Instant)> {
    let kill = Kill::new();
    let reason = Arc::new(OnceLock::new());
    let finishing = Arc::new(AtomicBool::new(false));
    let token = lease.token();
    let echo: Option<Box<dyn OutputSink>> =
        shared.opts.job_output.then(|| Box::new(Prefixed::new(format!("{} ", lease.job.id))) as Box<dyn OutputSink>);
    let output = Arc::new(LiveOutput::new(echo));
    let kill_after = shared.config().jobs.get(lease.job.job.as_str()).map(|d| d.kill_after).unwrap_or_default();
    lock(&shared.running).insert(
        token.clone(),
        Running {
            job: lease.job.job.to_string(),
            kill: kill.clone(),
            reason: reason.clone(),
            finishing: finishing.clone(),
            output: output.clone(),
            deadline: sent + shared.opts.lease,
            grace: kill_after.min(shared.opts.lease / 10),
            since: Instant::now(),
        },
    );
    load(shared);
    let began = Instant::now();
    let finish = execute(shared, &lease, &kill, &reason, output.as_ref()).await;
    // A scheduled workflow's tick is recorded as ended when it began: its
    // run's own outcome, stamped on the schedule when the run ends, is then
    // always the later one, however fast the run fails.
    let ended = if shared.config().workflow(lease.job.job.as_str()).is_some() { began } else { Instant::now() };
    finishing.store(true, Ordering::SeqCst);
    // A worker that is stopping takes no more jobs.
    let selection = shared.queues();
    let order = selection.order();
    let grant = shared.grant();
    let take = (!shared.shutdown.graceful().is_cancelled()).then_some(Take {
        queues: &order,
        worker: &shared.id,
        lease: shared.opts.lease,
        grant: &grant,
    });
    let next = match finish {
        Some(finish) => {
            let ended_as = ended::Ended::of(&finish);
            let (recorded, next) = record(shared, &token, finish, ended, take).await;
            if recorded != Recorded::No {
                ended::observe(&lease.job, ended_as);
                if let (Recorded::RunMoved, Some(step)) = (recorded, &lease.job.workflow) {
                    // Its outcome reached the run with it: launch what follows.
                    // Not done now, maintenance does it later.
                    if let Err(e) =
                        crate::workflow::drive::follow_up(&*shared.broker, &shared.config(), step.run, Check::Run).await
                    {
                        tracing::warn!(run = %step.run, error = %e, "workflow left for maintenance to move on");
                    }
                }
            }
            next
        }
        // Nothing to record: the slot goes back to the fetch loop.
        None => None,
    };
    lock(&shared.running).remove(&token);
    load(shared);
    next
}

fn load(shared: &Shared) {
    crate::metrics::worker_load(lock(&shared.running).len(), shared.opts.concurrency);
}

/// Runs one attempt; `None` when the lease was lost and nothing is to be recorded.
async fn execute(
    shared: &Shared,
    lease: &Lease,
    kill: &Kill,
    reason: &OnceLock<StopReason>,
    output: &LiveOutput,
) -> Option<Finish> {
    let job = &lease.job;
    if let Some(wf) = shared.config().workflow(job.job.as_str()) {
        return Some(start_scheduled(shared, lease, wf).await);
    }
    // A step job of a run that ended (revoked, or failed by another step)
    // is not run: the run's cancelling may not have reached it yet.
    if let Some(step) = &job.workflow
        && let Some(state) = shared.run_ended(step.run).await
    {
        tracing::info!(job.id = %job.id, run = %step.run, "not run: its workflow run is {state}");
        let result = AttemptResult {
            error: Some(format!("not run: its workflow run {} is {state}", step.run)),
            ..AttemptResult::default()
        };
        let ttl = shared.config().jobs.get(job.job.as_str()).map_or(crate::job::DEFAULT_RESULT_TTL, |d| d.result_ttl);
        return Some(Finish::Revoked { result, ttl });
    }
    let mut config = shared.config();
    if config.jobs.get(job.job.as_str()).is_none() && shared.reload_if_changed() {
        config = shared.config();
    }
    let Some(def) = config.jobs.get(job.job.as_str()) else {
        return Some(unknown_job(&config, lease));
    };
    let params = match def.resolve_run(&job.args, &job.params) {
        Ok(p) => p,
        Err(e) => {
            tracing::error!(job.id = %job.id, job.name = %job.job, error = %e, "cannot run job");
            let result = AttemptResult { error: Some(e.to_string()), ..AttemptResult::default() };
            return Some(hooks::attach(shared, def, lease, Finish::Failed { result, hook: None }));
        }
    };
    // A workflow step's job reads the step before's results from a file
    // (empty for a first step).
    let prev = match &job.workflow {
        Some(step) => match shared.prev_outputs(step).await {
            Ok(text) => Some(text),
            Err(e) => {
                tracing::warn!(job.id = %job.id, error = %e, "cannot read the previous step's results; requeued");
                return Some(Finish::Requeue);
            }
        },
        _ => None,
    };
    // A hook job reads its trigger's output tail from a file of its own.
    let trigger = match hooks::TriggerFile::write(job, prev.as_deref()) {
        Ok(t) => t,
        Err(e) => {
            let result = AttemptResult { error: Some(e), ..AttemptResult::default() };
            return Some(Finish::Failed { result, hook: None });
        }
    };
    let attempt = Attempt {
        def,
        id: job.id,
        args: &job.args,
        params: &params,
        number: lease.attempt,
        queue: &job.queue,
        scheduled_at: job.scheduled_at.as_deref(),
        workflow_run: job.workflow.as_ref().map(|w| w.run),
        extra_env: trigger.env(),
    };
    tracing::info!(job.id = %job.id, job.name = %job.job, attempt = lease.attempt, "job started");
    let outcome = shared.executor.run(&attempt, output, kill).await;
    drop(trigger);
    match reason.get() {
        Some(StopReason::Shutdown) => {
            tracing::warn!(job.id = %job.id, job.name = %job.job, "job stopped by shutdown; requeued");
            Some(Finish::Requeue)
        }
        Some(StopReason::LeaseExpiring) => {
            tracing::warn!(
                job.id = %job.id, job.name = %job.job,
                "job stopped: its lease could not be renewed; it runs again once the broker is back"
            );
            Some(Finish::Requeue)
        }
        Some(StopReason::LeaseLost) => {
            tracing::warn!(
                job.id = %job.id, job.name = %job.job,
                "lease lost; the job was handed to another worker and this run's result is discarded"
            );
            None
        }
        Some(StopReason::Revoked) => {
            tracing::warn!(job.id = %job.id, job.name = %job.job, "job terminated: revoked");
            let mut result = retry::result_of(&outcome);
            result.error = Some("revoked: terminated by revoke --terminate".into());
            Some(Finish::Revoked { result, ttl: def.result_ttl })
        }
        None => {
            let mut finish = retry::decide(def, lease.attempt, &outcome);
            let of_a_run = job.workflow.is_some()
                || job.trigger.as_ref().is_some_and(|t| shared.config().workflow(t.job.as_str()).is_some());
            if let (Finish::Succeeded { ignore_result, .. }, true) = (&mut finish, of_a_run) {
                // A workflow's step job, or its on_failure, keeps its record:
                // enqueueing it again (two workers at once, or a follow-up
                // after a crash) then finds it and leaves it be, where a
                // deleted one would run again.
                *ignore_result = false;
            }
            let duration = humantime::format_duration(Duration::from_millis(outcome.duration().as_millis() as u64));
            let error = outcome.error.as_deref().unwrap_or("");
            match &finish {
                Finish::Succeeded { .. } => {
                    tracing::info!(job.id = %job.id, job.name = %job.job, %duration, "job succeeded");
                }
                Finish::Retry { delay, .. } => {
                    let retry_in = humantime::format_duration(Duration::from_secs(delay.as_secs()));
                    tracing::warn!(job.id = %job.id, job.name = %job.job, error, %retry_in, "job failed; will retry");
                }
                _ => tracing::warn!(job.id = %job.id, job.name = %job.job, error, "job failed"),
            }
            Some(hooks::attach(shared, def, lease, finish))
        }
    }
}

/// How long a job whose name this worker's config lacks is retried before
/// it fails as unknown: a rolling deploy's time to reach every worker.
const UNKNOWN_FOR: Duration = Duration::from_secs(600);

/// A job whose name `config` lacks (jobs.toml re-read already if it had
/// changed): retried with backoff while younger than `UNKNOWN_FOR` by its
/// attempts (a deploy may not have reached this host yet), then failed.
fn unknown_job(config: &crate::config::Config, lease: &Lease) -> Finish {
    let job = &lease.job;
    let error = format!("unknown job: this worker's config ({}) has no job \"{}\"", config.path.display(), job.job);
    let delay =
        |attempt: u32| Duration::from_secs(5u64.saturating_mul(1 << attempt.saturating_sub(1).min(20)).min(120));
    let waited: Duration = (1..lease.attempt).map(delay).sum();
    let next = delay(lease.attempt);
    let result = AttemptResult { error: Some(error), ..AttemptResult::default() };
    if waited + next <= UNKNOWN_FOR {
        tracing::warn!(
            job.id = %job.id, job.name = %job.job, retry_in = %humantime::format_duration(next),
            "unknown job: not in this worker's config; retried until a deploy brings it (up to 10 min)"
        );
        return Finish::Retry { result, delay: next };
    }
    tracing::error!(job.id = %job.id, job.name = %job.job, "unknown job: not in this worker's config after 10 min; failed");
    Finish::Failed { result, hook: None }
}

/// A scheduled workflow's tick, fired by beat as a job: starts the run,
/// under an id derived from the job's, so a second attempt (a lost worker)
/// finds the run started. Its output names the run.
async fn start_scheduled(shared: &Shared, lease: &Lease, wf: &crate::config::WorkflowDef) -> Finish {
    let job = &lease.job;
    let run = crate::job::JobId::derived(job.id, "run");
    let config = &shared.config();
    let start = crate::workflow::drive::Start { params: job.params.clone(), parent: None, scheduled: true };
    match crate::workflow::drive::start(&*shared.broker, config, wf, run, start).await {
        Ok(_) => {
            tracing::info!(job.id = %job.id, workflow = %wf.name, run = %run, "workflow run started");
            let output = format!("started workflow run {run}\n");
            let result = AttemptResult {
                duration: Some(Duration::ZERO),
                output_total: output.len() as u64,
                output,
                ..AttemptResult::default()
            };
            let ttl = crate::workflow::drive::run_ttl(config);
            Finish::Succeeded { result, ttl, ignore_result: false, hook: None }
        }
        Err(e) => {
            tracing::warn!(job.id = %job.id, workflow = %wf.name, error = %e, "cannot start the workflow run yet; requeued");
            Finish::Requeue
        }
    }
}

/// Whether an outcome was recorded, and whether it moved a workflow run on
/// (completed its step or ended it: what follows is due).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Recorded {
    No,
    Yes,
    RunMoved,
}

/// Records an outcome (taking the slot's next job as `take` says), waiting
/// out a broker outage with the same grant until the worker gives up on
/// the broker (then the lease lapses and the job runs again elsewhere). A
/// burst worker does not wait: its run ends with the error.
async fn record(
    shared: &Shared,
    token: &LeaseToken,
    mut finish: Finish,
    ended: Instant,
    take: Option<Take<'_>>,
) -> (Recorded, Option<(Lease, Instant)>) {
    let mut backoff = Backoff::new(RETRY_FIRST, RETRY_MAX);
    loop {
        set_ended_ago(&mut finish, ended.elapsed());
        let sent = Instant::now();
        match shared.broker.finish(token, finish.clone(), take).await {
            Ok(done) => {
                if backoff.is_failing() {
                    tracing::info!(job.id = %token.id, "outcome recorded after all");
                }
                if !done.recorded {
                    tracing::warn!(
                        job.id = %token.id,
                        "lease lost before the outcome was recorded; another worker has the job now"
                    );
                }
                crate::metrics::failed_dropped(done.dropped);
                let recorded = match (done.recorded, done.run_moved) {
                    (false, _) => Recorded::No,
                    (true, false) => Recorded::Yes,
                    (true, true) => Recorded::RunMoved,
                };
                return (recorded, done.next.map(|l| (l, sent)));
            }
            Err(e) => {
                crate::metrics::broker_error("finish");
                if shared.opts.burst {
                    shared.fail(e);
                    return (Recorded::No, None);
                }
                if !backoff.is_failing() {
                    tracing::warn!(job.id = %token.id, error = %e, "cannot record the outcome yet; retrying");
                }
                if !shared.pause(backoff.pause()).await {
                    tracing::warn!(job.id = %token.id, "gave up recording the outcome; the job will run again");
                    return (Recorded::No, None);
                }
            }
        }
    }
}

/// How long ago the attempt ended, as the broker call reports it.
fn set_ended_ago(finish: &mut Finish, ago: Duration) {
    match finish {
        Finish::Succeeded { result, .. }
        | Finish::Failed { result, .. }
        | Finish::Retry { result, .. }
        | Finish::Revoked { result, .. } => result.ended_ago = ago,
        Finish::Requeue => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lease(attempt: u32) -> Lease {
        let config = crate::config::Config::parse(std::path::Path::new("old.toml"), "[jobs.x]\ncommand = \"true\"\n")
            .expect("config");
        let mut job = config.job("x").expect("x").new_job(Vec::new(), std::collections::BTreeMap::new()).expect("job");
        job.job = crate::names::JobName::new("new-job").expect("name");
        Lease { job, attempt, worker: "w".into(), grant: "g".into() }
    }

    #[test]
    fn an_unknown_job_is_retried_with_backoff_for_ten_minutes_then_fails() {
        let config = crate::config::Config::default();
        let mut waited = Duration::ZERO;
        let mut attempt = 1;
        loop {
            match unknown_job(&config, &lease(attempt)) {
                Finish::Retry { delay, result } => {
                    assert!(result.error.as_deref().unwrap_or_default().starts_with("unknown job:"));
                    assert!(delay >= Duration::from_secs(5) && delay <= Duration::from_secs(120), "{delay:?}");
                    waited += delay;
                    attempt += 1;
                }
                Finish::Failed { result, .. } => {
                    assert!(result.error.as_deref().unwrap_or_default().contains("has no job \"new-job\""));
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert!(waited <= UNKNOWN_FOR && waited + Duration::from_secs(120) > UNKNOWN_FOR, "{waited:?}");
        assert_eq!(attempt, 9, "5 s, 10 s, 20 s, 40 s, 80 s, then 120 s apart");
    }
}
