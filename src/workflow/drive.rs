//! Moving a run along: the part that needs the config. The broker records
//! each transition atomically (broker/runs.rs); what follows one — launching
//! the next step, enqueueing `on_failure`, cancelling what remains, telling
//! a parent run — is done here by whoever saw it happen (the worker that
//! finished the step's last job, `enqueue`, `revoke`), and again by
//! maintenance for a run nobody touched for a while (its caller lost). Each
//! of those is safe to repeat: ids are derived from the run, the broker
//! records a step's ids once and a member's outcome once.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use super::{Launch, StepResult, launch};
use crate::broker::{Broker, BrokerError, NewRun, RunRecord, RunState, StepReport};
use crate::config::{Config, WorkflowDef};
use crate::job::{DEFAULT_RESULT_TTL, JobId, JobRecord, JobState, NewJob, Trigger, WorkflowStep};

/// How long a run's record is kept after it ended, by the config's
/// `[taskq] result_ttl`.
pub fn run_ttl(config: &Config) -> std::time::Duration {
    config.settings.result_ttl.unwrap_or(DEFAULT_RESULT_TTL)
}

/// Starts a run of `wf` with `params` under `id` (a nested run: as member
/// of `parent`), and launches its first step. False: the run existed.
pub async fn start(
    broker: &dyn Broker,
    config: &Config,
    wf: &WorkflowDef,
    id: JobId,
    params: BTreeMap<String, String>,
    parent: Option<WorkflowStep>,
) -> Result<bool, BrokerError> {
    let run = NewRun { id, params, def: wf.clone(), parent, ttl: run_ttl(config), first: None };
    let added = broker.start_run(&run).await?;
    follow_up(broker, config, id, false).await?;
    Ok(added)
}

/// Does what run `id`'s state asks for next, until nothing is left to do
/// now. With `reconcile` (maintenance), also reports the current step's
/// jobs that ended without their outcome reaching the run (expired, revoked
/// while queued, failed as worker lost).
pub fn follow_up<'a>(
    broker: &'a dyn Broker,
    config: &'a Config,
    id: JobId,
    reconcile: bool,
) -> Pin<Box<dyn Future<Output = Result<(), BrokerError>> + Send + 'a>> {
    Box::pin(async move {
        // Bounded: each round records a step or settles the run.
        for _ in 0..10_000 {
            let Some(run) = broker.get_runs(&[id]).await?.pop().flatten() else { return Ok(()) };
            match run.state {
                RunState::Running => {
                    let s = run.step;
                    if run.launched.get(s as usize).is_some_and(Option::is_some) {
                        if reconcile {
                            catch_up(broker, config, &run).await?;
                        }
                        return Ok(());
                    }
                    launch_step(broker, config, &run).await?;
                }
                _ if run.settled => return Ok(()),
                _ => {
                    end(broker, config, &run).await?;
                    broker.settle_run(id).await?;
                    return Ok(());
                }
            }
        }
        Ok(())
    })
}

/// Launches the run's current step: its jobs enqueued and its nested runs
/// started, then their ids recorded. A step that cannot launch (a `map`
/// over too many items, a job missing from this config) fails the run.
async fn launch_step(broker: &dyn Broker, config: &Config, run: &RunRecord) -> Result<(), BrokerError> {
    let (id, s) = (run.run.id, run.step);
    let prev = if s == 0 { Vec::new() } else { broker.step_results(id, s - 1).await? };
    let launches = match launch(config, &run.run.def, id, s, &run.run.params, &prev) {
        Ok(l) => l,
        Err(why) => {
            tracing::error!(run = %id, step = s + 1, error = %why, "workflow step cannot start; the run fails");
            return broker.advance(&launch_failure(run, why)).await;
        }
    };
    let jobs: Vec<NewJob> = launches
        .iter()
        .filter_map(|l| match l {
            Launch::Job(job) => Some((**job).clone()),
            Launch::Run { .. } => None,
        })
        .collect();
    for chunk in jobs.chunks(500) {
        broker.enqueue(chunk).await?;
    }
    for l in &launches {
        if let Launch::Run { id: child, workflow, params } = l {
            let Some(wf) = config.workflow(workflow.as_str()) else {
                let why = format!("workflow \"{workflow}\" is not in this config ({})", config.path.display());
                return broker.advance(&launch_failure(run, why)).await;
            };
            let parent = WorkflowStep { run: id, workflow: run.run.def.name.clone(), step: s };
            let child_run = NewRun {
                id: *child,
                params: params.clone(),
                def: wf.clone(),
                parent: Some(parent),
                ttl: run.run.ttl,
                first: None,
            };
            broker.start_run(&child_run).await?;
            follow_up(broker, config, *child, false).await?;
        }
    }
    let ids: Vec<JobId> = launches.iter().map(Launch::id).collect();
    broker.launched(id, s, &ids).await
}

fn launch_failure(run: &RunRecord, why: String) -> StepReport {
    StepReport {
        run: run.run.id,
        step: run.step,
        id: JobId::derived(run.run.id, &format!("{}/launch", run.step)),
        job: run.run.def.name.clone(),
        state: JobState::Failed,
        params: BTreeMap::new(),
        output: why,
        truncated: false,
        exit_code: None,
    }
}

/// The follow-ups of a run that ended: on failure its `on_failure` and the
/// cancelling of what remains of its step; for a nested run, its outcome
/// reported to its parent.
async fn end(broker: &dyn Broker, config: &Config, run: &RunRecord) -> Result<(), BrokerError> {
    let id = run.run.id;
    if run.state == RunState::Failed
        && let Some(name) = &run.run.def.on_failure
    {
        match config.jobs.get(name.as_str()).map(|d| d.new_job(Vec::new(), BTreeMap::new())) {
            Some(Ok(mut hook)) => {
                let cause = run.cause.as_ref();
                hook.id = JobId::derived(id, "on_failure");
                hook.trigger = Some(Trigger {
                    id,
                    job: run.run.def.name.clone(),
                    state: JobState::Failed,
                    exit_code: cause.and_then(|c| c.exit_code),
                    output: cause.map(|c| c.output.clone()).unwrap_or_default(),
                });
                broker.enqueue(&[hook]).await?;
            }
            Some(Err(e)) => {
                tracing::error!(run = %id, hook = %name, error = %e, "cannot build on_failure; not enqueued");
            }
            None => tracing::error!(run = %id, hook = %name, "on_failure job not in this config; not enqueued"),
        }
    }
    if matches!(run.state, RunState::Failed | RunState::Revoked) {
        cancel_rest(broker, config, run).await?;
    }
    if let Some(parent) = &run.run.parent {
        let results = if run.state == RunState::Succeeded {
            let last = u32::try_from(run.run.def.steps.len()).unwrap_or(1).saturating_sub(1);
            broker.step_results(id, last).await?
        } else {
            Vec::new()
        };
        let cause = run.cause.as_ref();
        let report = StepReport {
            run: parent.run,
            step: parent.step,
            id,
            job: run.run.def.name.clone(),
            state: match run.state {
                RunState::Succeeded => JobState::Succeeded,
                RunState::Revoked => JobState::Revoked,
                _ => JobState::Failed,
            },
            params: run.run.params.clone(),
            output: match cause {
                Some(c) => c.output.clone(),
                None => results.iter().map(|r| r.output.as_str()).collect(),
            },
            truncated: results.iter().any(|r| r.truncated),
            exit_code: cause.and_then(|c| c.exit_code),
        };
        broker.advance(&report).await?;
        follow_up(broker, config, parent.run, false).await?;
    }
    Ok(())
}

/// Revokes what has not started of the run's current step, and stops its
/// nested runs; a running job is left to finish (`revoke --terminate` kills
/// those itself).
async fn cancel_rest(broker: &dyn Broker, config: &Config, run: &RunRecord) -> Result<(), BrokerError> {
    let ids = run.ids(run.step);
    if ids.is_empty() {
        return Ok(());
    }
    let records = broker.get(ids).await?;
    for (id, record) in ids.iter().zip(records) {
        match record {
            Some(r) if matches!(r.state, JobState::Queued | JobState::Scheduled | JobState::Retrying) => {
                broker.revoke(*id, false).await?;
            }
            Some(_) => {}
            None => {
                if let Some(Some(child)) = broker.get_runs(&[*id]).await?.pop()
                    && child.state == RunState::Running
                {
                    broker.revoke_run(*id).await?;
                    follow_up(broker, config, *id, false).await?;
                }
            }
        }
    }
    Ok(())
}

/// Reports the current step's jobs that ended without their outcome
/// reaching the run, and follows up its nested runs.
async fn catch_up(broker: &dyn Broker, config: &Config, run: &RunRecord) -> Result<(), BrokerError> {
    let ids = run.ids(run.step);
    for chunk in ids.chunks(500) {
        let records = broker.get(chunk).await?;
        for (id, record) in chunk.iter().zip(records) {
            match record {
                Some(r) if matches!(r.state, JobState::Failed | JobState::Expired | JobState::Revoked) => {
                    if let Some(report) = report_of(&r) {
                        broker.advance(&report).await?;
                    }
                }
                Some(_) => {}
                None => {
                    if broker.get_runs(&[*id]).await?.pop().flatten().is_some_and(|c| !c.settled) {
                        follow_up(broker, config, *id, true).await?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// What revoking a run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunRevoke {
    /// Stopped: what had not started is revoked; `terminating` running
    /// jobs were asked to be killed (`--terminate`), `left` were left to finish.
    Revoked {
        terminating: usize,
        left: usize,
    },
    /// It had already ended so.
    Final(RunState),
    Unknown,
}

/// `revoke RUN [--terminate]`: stops the run, revokes what has not started
/// of its current step (and its nested runs), and with `terminate` asks the
/// workers running its jobs to kill them.
pub async fn revoke(
    broker: &dyn Broker,
    config: &Config,
    id: JobId,
    terminate: bool,
) -> Result<RunRevoke, BrokerError> {
    let Some(before) = broker.get_runs(&[id]).await?.pop().flatten() else { return Ok(RunRevoke::Unknown) };
    // A run revoked before may still have jobs running: --terminate kills them.
    let again = before.state == RunState::Revoked && terminate;
    if before.state.is_final() && !again {
        return Ok(RunRevoke::Final(before.state));
    }
    let Some(run) = broker.revoke_run(id).await? else { return Ok(RunRevoke::Unknown) };
    if run.state != RunState::Revoked {
        return Ok(RunRevoke::Final(run.state));
    }
    let (mut terminating, mut left) = (0, 0);
    let ids = run.ids(run.step);
    for (job, record) in ids.iter().zip(broker.get(ids).await?) {
        if record.is_some_and(|r| r.state == JobState::Running) {
            if terminate {
                broker.revoke(*job, true).await?;
                terminating += 1;
            } else {
                left += 1;
            }
        }
    }
    if again && terminating == 0 {
        return Ok(RunRevoke::Final(RunState::Revoked));
    }
    follow_up(broker, config, id, false).await?;
    Ok(RunRevoke::Revoked { terminating, left })
}

/// A step job's final outcome as its run records it, from its record.
fn report_of(r: &JobRecord) -> Option<StepReport> {
    let step = r.job.workflow.as_ref()?;
    Some(StepReport {
        run: step.run,
        step: step.step,
        id: r.job.id,
        job: r.job.job.clone(),
        state: r.state,
        params: r.job.params.clone(),
        output: r.output.clone().unwrap_or_default(),
        truncated: r.output_total > r.output.as_ref().map_or(0, |o| o.len() as u64),
        exit_code: r.exit_code,
    })
}

/// A step job that ended outside a worker's `finish` (failed as worker
/// lost by maintenance): its outcome reported to its run, which is moved on.
pub async fn ended_elsewhere(broker: &dyn Broker, config: &Config, r: &JobRecord) -> Result<(), BrokerError> {
    let Some(report) = report_of(r) else { return Ok(()) };
    broker.advance(&report).await?;
    follow_up(broker, config, report.run, false).await
}

/// The results a step job reads in `TASKQ_PREV_OUTPUTS`: the step before
/// its own (none for the first step).
pub async fn prev_results(broker: &dyn Broker, step: &WorkflowStep) -> Result<Vec<StepResult>, BrokerError> {
    if step.step == 0 {
        return Ok(Vec::new());
    }
    broker.step_results(step.run, step.step - 1).await
}
