//! `FiresRefused`: a `Broker` that refuses beat's `fire` while told to and
//! passes every other call on: writes refused while reads are served, as a
//! master demoted to a replica or a Redis out of memory does, without the
//! timing of a real fault.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use jiff::Timestamp;
use taskq::broker::{
    Broker, BrokerError, Enqueued, Finish, Finished, Fire, Fired, Forwarded, Lease, LeaseLoss, LeaseToken, ListFilter,
    NewRun, OutputUpdate, Purge, Recovery, Retried, Revoke, RunRecord, RunState, ScheduleState, StepReport, Take,
    Tombstone, WorkerInfo,
};
use taskq::flow::StepResult;
use taskq::job::{IdPrefix, JobId, JobRecord, NewJob};
use taskq::names::{JobName, QueueName};

pub(crate) struct FiresRefused {
    inner: Arc<dyn Broker>,
    refusing: AtomicBool,
}

impl FiresRefused {
    pub(crate) fn new(inner: Arc<dyn Broker>) -> Arc<FiresRefused> {
        Arc::new(FiresRefused { inner, refusing: AtomicBool::new(false) })
    }

    pub(crate) fn refuse(&self, refusing: bool) {
        self.refusing.store(refusing, Ordering::SeqCst);
    }
}

#[async_trait]
impl Broker for FiresRefused {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    async fn time(&self) -> Result<Timestamp, BrokerError> {
        self.inner.time().await
    }
    async fn fire(&self, fire: &Fire<'_>) -> Result<Fired, BrokerError> {
        if self.refusing.load(Ordering::SeqCst) {
            return Err(BrokerError::Unavailable {
                url: self.inner.describe(),
                reason: "writes refused".into(),
                hint: "a test refuses them",
            });
        }
        self.inner.fire(fire).await
    }
    async fn enqueue(&self, jobs: &[NewJob]) -> Result<Vec<Enqueued>, BrokerError> {
        self.inner.enqueue(jobs).await
    }
    async fn dequeue(&self, take: &Take<'_>) -> Result<Option<Lease>, BrokerError> {
        self.inner.dequeue(take).await
    }
    async fn wait_for_jobs(&self, queues: &[QueueName], timeout: Duration) -> Result<(), BrokerError> {
        self.inner.wait_for_jobs(queues, timeout).await
    }
    async fn extend_leases(
        &self,
        tokens: &[LeaseToken],
        lease: Duration,
    ) -> Result<Vec<(LeaseToken, LeaseLoss)>, BrokerError> {
        self.inner.extend_leases(tokens, lease).await
    }
    async fn revoked(&self, runs: &[LeaseToken]) -> Result<Vec<JobId>, BrokerError> {
        self.inner.revoked(runs).await
    }
    async fn revoke(&self, id: JobId, terminate: bool) -> Result<Revoke, BrokerError> {
        self.inner.revoke(id, terminate).await
    }
    async fn retry_failed(&self, ids: Option<&[JobId]>) -> Result<Vec<(JobId, Retried)>, BrokerError> {
        self.inner.retry_failed(ids).await
    }
    async fn count(&self, what: &Purge) -> Result<u64, BrokerError> {
        self.inner.count(what).await
    }
    async fn purge(&self, what: &Purge) -> Result<u64, BrokerError> {
        self.inner.purge(what).await
    }
    async fn finish(
        &self,
        token: &LeaseToken,
        finish: Finish,
        next: Option<Take<'_>>,
    ) -> Result<Finished, BrokerError> {
        self.inner.finish(token, finish, next).await
    }
    async fn update_output(&self, updates: &[OutputUpdate]) -> Result<(), BrokerError> {
        self.inner.update_output(updates).await
    }
    async fn forward_due(&self) -> Result<Forwarded, BrokerError> {
        self.inner.forward_due().await
    }
    async fn recover_expired(&self) -> Result<Recovery, BrokerError> {
        self.inner.recover_expired().await
    }
    async fn get(&self, ids: &[JobId]) -> Result<Vec<Option<JobRecord>>, BrokerError> {
        self.inner.get(ids).await
    }
    async fn tombstones(&self, ids: &[JobId]) -> Result<Vec<Option<Tombstone>>, BrokerError> {
        self.inner.tombstones(ids).await
    }
    async fn find_ids(&self, prefix: &IdPrefix, limit: usize) -> Result<Vec<JobId>, BrokerError> {
        self.inner.find_ids(prefix, limit).await
    }
    async fn list(&self, filter: &ListFilter) -> Result<Vec<JobRecord>, BrokerError> {
        self.inner.list(filter).await
    }
    async fn count_ready(&self, queues: &[QueueName]) -> Result<u64, BrokerError> {
        self.inner.count_ready(queues).await
    }
    async fn schedule_outcome(&self, entry: &str, queue: &QueueName, succeeded: bool) -> Result<(), BrokerError> {
        self.inner.schedule_outcome(entry, queue, succeeded).await
    }
    async fn schedules(&self) -> Result<Vec<ScheduleState>, BrokerError> {
        self.inner.schedules().await
    }
    async fn heartbeat(&self, info: &WorkerInfo) -> Result<Timestamp, BrokerError> {
        self.inner.heartbeat(info).await
    }
    async fn forget_worker(&self, id: &str) -> Result<(), BrokerError> {
        self.inner.forget_worker(id).await
    }
    async fn workers(&self) -> Result<Vec<WorkerInfo>, BrokerError> {
        self.inner.workers().await
    }
    async fn purge_expired_results(&self) -> Result<u64, BrokerError> {
        self.inner.purge_expired_results().await
    }
    async fn pause(&self, entry: &str, paused: bool) -> Result<bool, BrokerError> {
        self.inner.pause(entry, paused).await
    }
    async fn paused(&self) -> Result<Vec<(String, jiff::Timestamp)>, BrokerError> {
        self.inner.paused().await
    }
    async fn define(
        &self,
        beat: &str,
        defs: &[(String, String)],
        ttl: std::time::Duration,
    ) -> Result<Vec<taskq::broker::Definition>, BrokerError> {
        self.inner.define(beat, defs, ttl).await
    }
    async fn definitions(&self) -> Result<Vec<taskq::broker::Definition>, BrokerError> {
        self.inner.definitions().await
    }
    async fn job_stats(&self) -> Result<Vec<taskq::broker::stats::JobStats>, BrokerError> {
        self.inner.job_stats().await
    }
    async fn start_run(&self, run: &NewRun) -> Result<bool, BrokerError> {
        self.inner.start_run(run).await
    }
    async fn advance(&self, report: &StepReport) -> Result<(), BrokerError> {
        self.inner.advance(report).await
    }
    async fn launched(&self, run: JobId, step: u32, ids: &[JobId]) -> Result<(), BrokerError> {
        self.inner.launched(run, step, ids).await
    }
    async fn get_runs(&self, ids: &[JobId]) -> Result<Vec<Option<RunRecord>>, BrokerError> {
        self.inner.get_runs(ids).await
    }
    async fn run_state(&self, id: JobId) -> Result<Option<RunState>, BrokerError> {
        self.inner.run_state(id).await
    }
    async fn step_results(&self, run: JobId, step: u32) -> Result<Vec<StepResult>, BrokerError> {
        self.inner.step_results(run, step).await
    }
    async fn revoke_run(&self, id: JobId) -> Result<Option<RunRecord>, BrokerError> {
        self.inner.revoke_run(id).await
    }
    async fn settle_run(&self, id: JobId) -> Result<(), BrokerError> {
        self.inner.settle_run(id).await
    }
    async fn open_runs(&self, idle: Duration, limit: usize) -> Result<Vec<JobId>, BrokerError> {
        self.inner.open_runs(idle, limit).await
    }
    async fn count_runs(&self) -> Result<Vec<(JobName, RunState, u64)>, BrokerError> {
        self.inner.count_runs().await
    }
    async fn list_runs(&self, workflow: Option<&JobName>, limit: usize) -> Result<Vec<RunRecord>, BrokerError> {
        self.inner.list_runs(workflow, limit).await
    }
}
