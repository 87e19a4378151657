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
use crate::config::{Config, Member, Step, WorkflowDef};
use crate::job::{DEFAULT_RESULT_TTL, JobId, JobRecord, JobState, NewJob, Trigger, WorkflowStep};
use crate::names::QueueName;

/// The futures of the calls that recurse (nested runs).
type Boxed<'a, T> = Pin<Box<dyn Future<Output = Result<T, BrokerError>> + Send + 'a>>;

/// How long a run's record is kept after it ended, by the config's
/// `[taskq] result_ttl`.
pub fn run_ttl(config: &Config) -> std::time::Duration {
    config.settings.result_ttl.unwrap_or(DEFAULT_RESULT_TTL)
}

/// How a run starts.
#[derive(Debug, Clone, Default)]
pub struct Start {
    pub params: BTreeMap<String, String>,
    /// A nested run: the run and step it is a member of.
    pub parent: Option<WorkflowStep>,
    /// Started for a tick of the workflow's schedule.
    pub scheduled: bool,
}

/// Starts a run of `wf` under `id` and launches its first step. False:
/// the run existed.
pub async fn start(
    broker: &dyn Broker,
    config: &Config,
    wf: &WorkflowDef,
    id: JobId,
    how: Start,
) -> Result<bool, BrokerError> {
    let added = store(broker, config, wf, id, how).await?;
    follow_up(broker, config, id, Check::Run).await?;
    Ok(added)
}

/// Stores a run of `wf` under `id`, launching nothing yet (`follow_up`
/// does, or maintenance). False: the run existed.
pub async fn store(
    broker: &dyn Broker,
    config: &Config,
    wf: &WorkflowDef,
    id: JobId,
    how: Start,
) -> Result<bool, BrokerError> {
    let run = NewRun {
        id,
        params: how.params,
        def: wf.clone(),
        parent: how.parent,
        ttl: run_ttl(config),
        first: None,
        scheduled: how.scheduled,
    };
    broker.start_run(&run).await
}

/// How far `follow_up` looks at the current step's jobs themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Not at all: the run's state says what is due.
    Run,
    /// Also reports the jobs that ended without their outcome reaching the
    /// run (expired, revoked while queued, failed as worker lost).
    Jobs,
    /// Also fails the run for a job that is gone (never enqueued, or
    /// purged): only for a run no one touched for a while, as a step's ids
    /// may be recorded just before its jobs go in (`--batch --then`).
    Idle,
}

/// Does what run `id`'s state asks for next, until nothing is left to do
/// now; `check` says how far it looks at the current step's jobs.
pub fn follow_up<'a>(broker: &'a dyn Broker, config: &'a Config, id: JobId, check: Check) -> Boxed<'a, ()> {
    Box::pin(async move {
        let mut check = check;
        // Bounded: each round records a step or settles the run.
        for _ in 0..10_000 {
            let Some(run) = broker.get_runs(&[id]).await?.pop().flatten() else { return Ok(()) };
            match run.state {
                RunState::Running => {
                    let s = run.step;
                    if run.launched.get(s as usize).is_some_and(Option::is_some) {
                        // Once: what it reports is acted on in the next round.
                        if check != Check::Run && catch_up(broker, config, &run, check).await? {
                            check = Check::Run;
                            continue;
                        }
                        return Ok(());
                    }
                    if !launch_step(broker, config, &run).await? {
                        return Ok(());
                    }
                }
                _ if run.settled => return Ok(()),
                _ => {
                    if end(broker, config, &run).await? {
                        broker.settle_run(id).await?;
                    }
                    return Ok(());
                }
            }
        }
        Ok(())
    })
}

/// Launches the run's current step: its jobs enqueued and its nested runs
/// started, then their ids recorded. A step that cannot launch (a `map`
/// over too many items or over an output cut short) fails the run. One
/// whose jobs this config lacks is left to a worker that has them (false:
/// nothing done).
async fn launch_step(broker: &dyn Broker, config: &Config, run: &RunRecord) -> Result<bool, BrokerError> {
    let (id, s) = (run.run.id, run.step);
    if let Some(missing) = missing_here(config, &run.run.def, s) {
        tracing::error!(
            run = %id, step = s + 1, missing = %missing, config = %config.path.display(),
            "this worker's config lacks a job or workflow of the step; left for a worker whose config has it"
        );
        return Ok(false);
    }
    let prev = if s == 0 { Vec::new() } else { broker.step_results(id, s - 1).await? };
    let launches = match launch(config, &run.run.def, id, s, &run.run.params, &prev) {
        Ok(l) => l,
        Err(why) => {
            tracing::error!(run = %id, step = s + 1, error = %why, "workflow step cannot start; the run fails");
            broker.advance(&launch_failure(run, why)).await?;
            return Ok(true);
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
            let Some(wf) = config.workflow(workflow.as_str()) else { continue };
            let parent = WorkflowStep { run: id, workflow: run.run.def.name.clone(), step: s };
            let child_run = NewRun {
                scheduled: false,
                id: *child,
                params: params.clone(),
                def: wf.clone(),
                parent: Some(parent),
                ttl: run.run.ttl,
                first: None,
            };
            broker.start_run(&child_run).await?;
            follow_up(broker, config, *child, Check::Run).await?;
        }
    }
    let ids: Vec<JobId> = launches.iter().map(Launch::id).collect();
    broker.launched(id, s, &ids).await?;
    // Stopped meanwhile (revoked): what was just launched is cancelled here,
    // as the revoke's own cancelling may have come before it was recorded.
    if let Some(after) = broker.get_runs(&[id]).await?.pop().flatten()
        && after.state.is_final()
    {
        cancel_rest(broker, config, &after, false).await?;
    }
    Ok(true)
}

/// A job or workflow step `s` names that `config` lacks, if any.
fn missing_here(config: &Config, wf: &WorkflowDef, s: u32) -> Option<String> {
    let (jobs, workflows): (Vec<&crate::names::JobName>, Vec<&crate::names::JobName>) =
        match wf.steps.get(s as usize)? {
            Step::Job(j) | Step::Map { job: j, .. } => (vec![j], vec![]),
            Step::Workflow(w) => (vec![], vec![w]),
            Step::Group(members) => (
                members.iter().filter_map(|m| if let Member::Job(j) = m { Some(j) } else { None }).collect(),
                members.iter().filter_map(|m| if let Member::Workflow(w) = m { Some(w) } else { None }).collect(),
            ),
        };
    let job = jobs.into_iter().find(|j| config.jobs.get(j.as_str()).is_none()).map(|j| format!("job {j}"));
    job.or_else(|| {
        workflows.into_iter().find(|w| config.workflow(w.as_str()).is_none()).map(|w| format!("workflow {w}"))
    })
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
/// False when this config lacks the `on_failure` job: the run is left,
/// not settled, for a process whose config has it.
async fn end(broker: &dyn Broker, config: &Config, run: &RunRecord) -> Result<bool, BrokerError> {
    let id = run.run.id;
    if run.state == RunState::Failed
        && let Some(name) = &run.run.def.on_failure
    {
        if config.jobs.get(name.as_str()).is_none() {
            tracing::warn!(
                run = %id, hook = %name, config = %config.path.display(),
                "on_failure job not in this config; the failed run is left for a worker whose config has it"
            );
            return Ok(false);
        }
        match config.jobs.get(name.as_str()).map(|d| d.new_job(Vec::new(), BTreeMap::new())) {
            Some(Ok(mut hook)) => {
                let cause = run.cause.as_ref();
                // The failing job's whole output tail (stderr too, where its
                // error usually is), as a job's own on_failure gets it; the
                // step result kept only its stdout.
                let output = match cause {
                    Some(c) => match broker.get(&[c.id]).await?.pop().flatten().and_then(|r| r.output) {
                        Some(out) => out,
                        None => c.output.clone(),
                    },
                    None => String::new(),
                };
                hook.id = JobId::derived(id, "on_failure");
                hook.trigger = Some(Trigger {
                    id,
                    job: run.run.def.name.clone(),
                    state: JobState::Failed,
                    exit_code: cause.and_then(|c| c.exit_code),
                    output,
                });
                broker.enqueue(&[hook]).await?;
            }
            Some(Err(e)) => {
                tracing::error!(run = %id, hook = %name, error = %e, "cannot build on_failure; not enqueued");
            }
            None => {}
        }
    }
    if matches!(run.state, RunState::Failed | RunState::Revoked) {
        cancel_rest(broker, config, run, false).await?;
    }
    if run.run.scheduled && matches!(run.state, RunState::Succeeded | RunState::Failed) {
        // The schedule's last success or failure is its runs', as for a job
        // (inspect's alerts, the metrics' dead man's switch).
        let entry = run.run.def.name.as_str();
        broker.schedule_outcome(entry, &QueueName::default_queue(), run.state == RunState::Succeeded).await?;
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
                // one output after another, each ending its last line
                None => results
                    .iter()
                    .filter(|r| !r.output.is_empty())
                    .map(|r| if r.output.ends_with('\n') { r.output.clone() } else { format!("{}\n", r.output) })
                    .collect(),
            },
            truncated: results.iter().any(|r| r.truncated),
            exit_code: cause.and_then(|c| c.exit_code),
        };
        // A parent that had ended already (it cancelled this one) is its
        // ender's to follow up.
        let running = |p: &RunRecord| p.state == RunState::Running;
        let parent_running = broker.get_runs(&[parent.run]).await?.pop().flatten().is_some_and(|p| running(&p));
        broker.advance(&report).await?;
        if parent_running {
            follow_up(broker, config, parent.run, Check::Run).await?;
        }
    }
    Ok(true)
}

/// Revokes what has not started of the run's current step, and stops its
/// nested runs; a running job is left to finish, or with `terminate` its
/// worker is asked to kill it (nested runs' too). Returns how many running
/// jobs were asked to be killed, and how many were left to finish.
fn cancel_rest<'a>(
    broker: &'a dyn Broker,
    config: &'a Config,
    run: &'a RunRecord,
    terminate: bool,
) -> Boxed<'a, (usize, usize)> {
    Box::pin(async move {
        let (mut killing, mut left) = (0, 0);
        let ids = run.ids(run.step);
        for chunk in ids.chunks(500) {
            let records = broker.get(chunk).await?;
            for (id, record) in chunk.iter().zip(records) {
                match record {
                    Some(r) if matches!(r.state, JobState::Queued | JobState::Scheduled | JobState::Retrying) => {
                        broker.revoke(*id, false).await?;
                    }
                    Some(r) if r.state == JobState::Running && terminate => {
                        broker.revoke(*id, true).await?;
                        killing += 1;
                    }
                    Some(r) if r.state == JobState::Running => left += 1,
                    Some(_) => {}
                    None => {
                        let Some(child) = broker.get_runs(&[*id]).await?.pop().flatten() else { continue };
                        // A nested run stopped here is followed up here; one
                        // that ended before is its ender's (or maintenance's).
                        let stopped = child.state == RunState::Running;
                        let child = if stopped { broker.revoke_run(*id).await? } else { Some(child) };
                        let Some(child) = child.filter(|c| c.state == RunState::Revoked) else { continue };
                        if stopped || terminate {
                            let (k, l) = cancel_rest(broker, config, &child, terminate).await?;
                            killing += k;
                            left += l;
                        }
                        if stopped {
                            follow_up(broker, config, *id, Check::Run).await?;
                        }
                    }
                }
            }
        }
        Ok((killing, left))
    })
}

/// Reports the current step's jobs that ended without their outcome
/// reaching the run (expired, revoked while queued, failed as worker lost,
/// or gone: never enqueued, by an enqueuer that died, or purged), and
/// follows up its nested runs; true if it reported any.
async fn catch_up(broker: &dyn Broker, config: &Config, run: &RunRecord, check: Check) -> Result<bool, BrokerError> {
    let ids = run.ids(run.step);
    let mut reported = false;
    let mut succeeded: Option<std::collections::HashSet<JobId>> = None;
    for chunk in ids.chunks(500) {
        let records = broker.get(chunk).await?;
        for (id, record) in chunk.iter().zip(records) {
            match record {
                Some(r) if matches!(r.state, JobState::Failed | JobState::Expired | JobState::Revoked) => {
                    if let Some(report) = report_of(&r) {
                        broker.advance(&report).await?;
                        reported = true;
                    }
                }
                Some(_) => {}
                None => {
                    if let Some(child) = broker.get_runs(&[*id]).await?.pop().flatten() {
                        if !child.settled {
                            follow_up(broker, config, *id, check).await?;
                        }
                        continue;
                    }
                    if check != Check::Idle {
                        continue;
                    }
                    // No job, no nested run: unless it succeeded (and its
                    // record expired since), it is gone and never reports.
                    if succeeded.is_none() {
                        let results = broker.step_results(run.run.id, run.step).await?;
                        succeeded = Some(results.iter().map(|r| r.id).collect());
                    }
                    if succeeded.as_ref().is_some_and(|s| !s.contains(id)) {
                        broker.advance(&gone(run, *id)).await?;
                        reported = true;
                    }
                }
            }
        }
    }
    Ok(reported)
}

/// The report of a member that is gone without an outcome.
fn gone(run: &RunRecord, id: JobId) -> StepReport {
    StepReport {
        run: run.run.id,
        step: run.step,
        id,
        job: run.run.def.name.clone(),
        state: JobState::Failed,
        params: BTreeMap::new(),
        output: format!(
            "job {id} of step {} is gone: it was never enqueued (its enqueuer stopped half-way) or was purged",
            run.step + 1
        ),
        truncated: false,
        exit_code: None,
    }
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
    let (terminating, left) = cancel_rest(broker, config, &run, terminate).await?;
    if again && terminating == 0 {
        return Ok(RunRevoke::Final(RunState::Revoked));
    }
    follow_up(broker, config, id, Check::Run).await?;
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
    follow_up(broker, config, report.run, Check::Run).await
}

/// The results a step job reads in `TASKQ_PREV_OUTPUTS`: the step before
/// its own; for a first step, none, or in a nested run what its parent's
/// step reads (as a nested chain gets its parent's previous result).
pub fn prev_results<'a>(broker: &'a dyn Broker, step: &'a WorkflowStep) -> Boxed<'a, Vec<StepResult>> {
    Box::pin(async move {
        if step.step > 0 {
            return broker.step_results(step.run, step.step - 1).await;
        }
        match broker.get_runs(&[step.run]).await?.pop().flatten().and_then(|r| r.run.parent) {
            Some(parent) => prev_results(broker, &parent).await,
            None => Ok(Vec::new()),
        }
    })
}
