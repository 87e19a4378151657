//! Workflow runs (src/broker/runs.rs): a step moves on once each of its ids
//! succeeded, a job's outcome reaches its run in the same step as it is
//! recorded, and every call is safe to repeat.

use std::collections::BTreeMap;
use std::time::Duration;

use taskq::broker::{Broker, Finish, NewRun, RunRecord, RunState, StepReport};
use taskq::config::{Member, Step, WorkflowDef};
use taskq::job::{JobId, JobState, NewJob, WorkflowStep};
use taskq::names::JobName;

use super::cases::{LEASE, enqueue, job, result, succeeded, take};
use super::conformance;

fn name(n: &str) -> JobName {
    JobName::new(n).unwrap()
}

/// A run of three steps: `a`, then `b` and `c` at once, then `d`.
pub(super) fn new_run() -> NewRun {
    let def = WorkflowDef {
        name: name("pipeline"),
        steps: vec![
            Step::Job(name("a")),
            Step::Group(vec![Member::Job(name("b")), Member::Job(name("c"))]),
            Step::Job(name("d")),
        ],
        on_failure: None,
    };
    NewRun {
        id: JobId::new(),
        params: BTreeMap::from([("day".to_string(), "monday".to_string())]),
        def,
        parent: None,
        ttl: Duration::from_secs(60),
        first: None,
        scheduled: false,
    }
}

/// A job of step `step` of `run`.
fn step_job(run: &NewRun, step: u32, job_name: &str) -> NewJob {
    let mut j = job(job_name, "default");
    j.id = JobId::derived(run.id, &format!("{step}/{job_name}"));
    j.workflow = Some(WorkflowStep { run: run.id, workflow: run.def.name.clone(), step });
    j
}

async fn run_of(broker: &dyn Broker, id: JobId) -> RunRecord {
    broker.get_runs(&[id]).await.unwrap().pop().unwrap().expect("the run exists")
}

/// Takes the next job and ends it as `finish` says.
async fn work(broker: &dyn Broker, finish: Finish) -> JobId {
    let lease = take(broker, &["default"], "w1", LEASE).await.expect("a job to take");
    let done = broker.finish(&lease.token(), finish, None).await.unwrap();
    assert!(done.recorded);
    lease.job.id
}

fn report(run: &NewRun, step: u32, id: JobId, state: JobState) -> StepReport {
    StepReport {
        run: run.id,
        step,
        id,
        job: name("x"),
        state,
        params: BTreeMap::new(),
        output: format!("out of {id}\n"),
        truncated: false,
        exit_code: None,
    }
}

conformance!(a_run_moves_on_as_its_steps_jobs_succeed, |broker, env| {
    let run = new_run();
    assert!(broker.start_run(&run).await.unwrap());
    assert!(!broker.start_run(&run).await.unwrap(), "a second start of the same id is refused");
    let rec = run_of(broker.as_ref(), run.id).await;
    assert_eq!((rec.state, rec.step, rec.launched.clone()), (RunState::Running, 0, vec![None, None, None]));
    assert_eq!(rec.run, run, "the run is kept as started, its workflow's copy included");

    let a = step_job(&run, 0, "a");
    enqueue(broker.as_ref(), &a).await;
    broker.launched(run.id, 0, &[a.id]).await.unwrap();
    work(broker.as_ref(), succeeded()).await;
    let rec = run_of(broker.as_ref(), run.id).await;
    assert_eq!((rec.state, rec.step), (RunState::Running, 1), "step 0's one job succeeded: on to step 1");
    let results = broker.step_results(run.id, 0).await.unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!((results[0].id, results[0].job.as_str()), (a.id, "a"));
    assert_eq!(results[0].output, "tail of output\n");
    assert!(results[0].truncated, "1000 bytes written, the tail kept: a map cannot read it");
    assert_eq!(results[0].params, a.params);

    let (b, c) = (step_job(&run, 1, "b"), step_job(&run, 1, "c"));
    broker.enqueue(&[b.clone(), c.clone()]).await.unwrap();
    broker.launched(run.id, 1, &[b.id, c.id]).await.unwrap();
    work(broker.as_ref(), succeeded()).await;
    assert_eq!(run_of(broker.as_ref(), run.id).await.step, 1, "one of two: the step is not over");
    work(broker.as_ref(), succeeded()).await;
    let rec = run_of(broker.as_ref(), run.id).await;
    assert_eq!(rec.step, 2);
    assert_eq!(rec.done, vec![1, 2, 0]);
    let ids: Vec<JobId> = broker.step_results(run.id, 1).await.unwrap().iter().map(|r| r.id).collect();
    assert_eq!(ids, [b.id, c.id], "results in launch order, whatever order they ended in");

    let d = step_job(&run, 2, "d");
    enqueue(broker.as_ref(), &d).await;
    broker.launched(run.id, 2, &[d.id]).await.unwrap();
    work(broker.as_ref(), succeeded()).await;
    let rec = run_of(broker.as_ref(), run.id).await;
    assert_eq!((rec.state, rec.step), (RunState::Succeeded, 3));
    assert!(rec.finished_at.is_some() && !rec.settled);
    assert_eq!((0..3).map(|s| rec.step_state(s)).collect::<Vec<_>>(), ["succeeded"; 3]);
});

conformance!(a_members_outcome_counts_once_however_often_it_is_reported, |broker, env| {
    let run = new_run();
    broker.start_run(&run).await.unwrap();
    let (x, y) = (JobId::new(), JobId::new());
    // Reported before the step's ids are recorded (the job ran faster than
    // its launcher): it still counts once they are.
    broker.advance(&report(&run, 0, x, JobState::Succeeded)).await.unwrap();
    broker.advance(&report(&run, 0, x, JobState::Succeeded)).await.unwrap();
    broker.launched(run.id, 0, &[x, y]).await.unwrap();
    let rec = run_of(broker.as_ref(), run.id).await;
    assert_eq!((rec.step, rec.done[0]), (0, 1), "x counted once: y is still to come");
    // A second launch of the step keeps the first one's ids.
    broker.launched(run.id, 0, &[JobId::new()]).await.unwrap();
    assert_eq!(run_of(broker.as_ref(), run.id).await.ids(0), [x, y]);
    // A launch of a step the run is not at is ignored.
    broker.launched(run.id, 2, &[JobId::new()]).await.unwrap();
    assert_eq!(run_of(broker.as_ref(), run.id).await.launched[2], None);
    broker.advance(&report(&run, 0, y, JobState::Succeeded)).await.unwrap();
    assert_eq!(run_of(broker.as_ref(), run.id).await.step, 1);
    // A report for a run the broker does not know is dropped.
    let mut stray = report(&run, 0, JobId::new(), JobState::Succeeded);
    stray.run = JobId::new();
    broker.advance(&stray).await.unwrap();
    assert!(broker.get_runs(&[stray.run]).await.unwrap()[0].is_none());
});

conformance!(an_empty_step_is_over_at_once_and_first_ids_come_with_the_start, |broker, env| {
    let mut run = new_run();
    let a = step_job(&run, 0, "a");
    run.first = Some(vec![a.id]);
    broker.start_run(&run).await.unwrap();
    assert_eq!(run_of(broker.as_ref(), run.id).await.ids(0), [a.id], "step 0 launched by the start itself");
    enqueue(broker.as_ref(), &a).await;
    work(broker.as_ref(), succeeded()).await;
    // A map over no items launches nothing: over as soon as recorded.
    broker.launched(run.id, 1, &[]).await.unwrap();
    let rec = run_of(broker.as_ref(), run.id).await;
    assert_eq!((rec.step, rec.launched[1].clone()), (2, Some(vec![])));
});

conformance!(a_failed_job_fails_its_run_once_with_its_cause, |broker, env| {
    let run = new_run();
    broker.start_run(&run).await.unwrap();
    let a = step_job(&run, 0, "a");
    enqueue(broker.as_ref(), &a).await;
    broker.launched(run.id, 0, &[a.id]).await.unwrap();
    // A retry is not an outcome: the run waits.
    let retry = Finish::Retry { result: result(Some("exited with code 1")), delay: Duration::ZERO };
    work(broker.as_ref(), retry).await;
    assert_eq!(run_of(broker.as_ref(), run.id).await.state, RunState::Running);
    env.advance(1);
    broker.forward_due().await.unwrap();
    work(broker.as_ref(), Finish::Failed { result: result(Some("exited with code 1")), hook: None }).await;
    let rec = run_of(broker.as_ref(), run.id).await;
    assert_eq!(rec.state, RunState::Failed);
    let cause = rec.cause.clone().expect("the failed job is kept as the cause");
    assert_eq!((cause.id, cause.step, cause.state, cause.exit_code), (a.id, 0, JobState::Failed, Some(1)));
    assert_eq!(rec.step_state(0), "failed");
    assert_eq!(rec.step_state(1), "cancelled");
    // Later outcomes change nothing; a revoke finds it over.
    broker.advance(&report(&run, 0, JobId::new(), JobState::Failed)).await.unwrap();
    assert_eq!(run_of(broker.as_ref(), run.id).await.cause, Some(cause));
    let after = broker.revoke_run(run.id).await.unwrap().unwrap();
    assert_eq!(after.state, RunState::Failed);
    assert_eq!(broker.revoke_run(JobId::new()).await.unwrap(), None);
});

conformance!(a_revoked_run_records_what_ends_but_does_not_move_on, |broker, env| {
    let run = new_run();
    broker.start_run(&run).await.unwrap();
    let a = step_job(&run, 0, "a");
    enqueue(broker.as_ref(), &a).await;
    broker.launched(run.id, 0, &[a.id]).await.unwrap();
    assert_eq!(broker.run_state(run.id).await.unwrap(), Some(RunState::Running));
    let rec = broker.revoke_run(run.id).await.unwrap().unwrap();
    assert_eq!((rec.state, rec.step_state(0)), (RunState::Revoked, "revoked"));
    assert_eq!(broker.run_state(run.id).await.unwrap(), Some(RunState::Revoked));
    assert_eq!(broker.run_state(JobId::new()).await.unwrap(), None);
    work(broker.as_ref(), succeeded()).await;
    let rec = run_of(broker.as_ref(), run.id).await;
    assert_eq!((rec.state, rec.step, rec.done[0]), (RunState::Revoked, 0, 1));
    broker.launched(run.id, 1, &[JobId::new()]).await.unwrap();
    assert_eq!(run_of(broker.as_ref(), run.id).await.launched[1], None, "nothing launches in a revoked run");
});

conformance!(open_runs_are_followed_up_until_settled_then_kept_for_their_ttl, |broker, env| {
    let run = new_run();
    broker.start_run(&run).await.unwrap();
    assert_eq!(broker.open_runs(Duration::from_secs(10), 10).await.unwrap(), [] as [JobId; 0], "touched just now");
    env.advance(11);
    // Started again (its starter still at work): touched, left be.
    assert!(!broker.start_run(&run).await.unwrap());
    assert_eq!(broker.open_runs(Duration::from_secs(10), 10).await.unwrap(), [] as [JobId; 0]);
    env.advance(11);
    assert_eq!(broker.open_runs(Duration::from_secs(10), 10).await.unwrap(), [run.id]);
    assert_eq!(
        broker.open_runs(Duration::from_secs(10), 10).await.unwrap(),
        [] as [JobId; 0],
        "one caller takes each idle run"
    );
    broker.settle_run(run.id).await.unwrap();
    assert!(!run_of(broker.as_ref(), run.id).await.settled, "a running run has follow-ups to come");
    broker.revoke_run(run.id).await.unwrap();
    broker.settle_run(run.id).await.unwrap();
    assert!(run_of(broker.as_ref(), run.id).await.settled);
    env.advance(11);
    assert_eq!(broker.open_runs(Duration::from_secs(10), 10).await.unwrap(), [] as [JobId; 0]);
    let listed: Vec<JobId> = broker.list_runs(None, 10).await.unwrap().iter().map(|r| r.run.id).collect();
    assert_eq!(listed, [run.id]);
    env.advance(61);
    broker.purge_expired_results().await.unwrap();
    assert!(broker.get_runs(&[run.id]).await.unwrap()[0].is_none(), "deleted after its ttl");
    assert!(broker.list_runs(None, 10).await.unwrap().is_empty());
});

conformance!(runs_list_newest_first, |broker, env| {
    let (first, second) = (new_run(), new_run());
    broker.start_run(&first).await.unwrap();
    env.advance(1);
    broker.start_run(&second).await.unwrap();
    let listed: Vec<JobId> = broker.list_runs(None, 10).await.unwrap().iter().map(|r| r.run.id).collect();
    assert_eq!(listed, [second.id, first.id]);
    assert_eq!(broker.list_runs(None, 1).await.unwrap().len(), 1);
    let mut other = new_run();
    other.def.name = name("other");
    broker.start_run(&other).await.unwrap();
    let only: Vec<JobId> =
        broker.list_runs(Some(&name("pipeline")), 10).await.unwrap().iter().map(|r| r.run.id).collect();
    assert_eq!(only, [second.id, first.id], "by workflow");
});

conformance!(a_step_launched_as_its_run_is_revoked_is_still_recorded, |broker, env| {
    let run = new_run();
    broker.start_run(&run).await.unwrap();
    // The revoke comes while the step's jobs are being enqueued: their ids
    // must still be known, so that they are cancelled.
    broker.revoke_run(run.id).await.unwrap();
    let a = step_job(&run, 0, "a");
    broker.launched(run.id, 0, &[a.id]).await.unwrap();
    let rec = run_of(broker.as_ref(), run.id).await;
    assert_eq!((rec.state, rec.ids(0)), (RunState::Revoked, &[a.id][..]));
    broker.advance(&report(&run, 0, a.id, JobState::Succeeded)).await.unwrap();
    assert_eq!(run_of(broker.as_ref(), run.id).await.step, 0, "a revoked run does not move on");
});
