//! `on_success` and `on_failure`: the hook job a final outcome triggers is
//! built here and travels with the outcome into the broker, which enqueues
//! it in the same atomic step (a crash cannot record the one without the
//! other). A hook run gets `TASKQ_TRIGGER_*` and the trigger's output tail
//! in a file of its own, written on whichever host runs it.

use std::collections::BTreeMap;
use std::io::Write;

use super::Shared;
use crate::broker::{Finish, Lease};
use crate::config::JobDef;
use crate::job::{JobId, JobState, NewJob, Trigger};

/// Adds the hook `def` names for a final outcome to `finish`.
pub(super) fn attach(shared: &Shared, def: &JobDef, lease: &Lease, mut finish: Finish) -> Finish {
    let (state, hook_name, result, slot) = match &mut finish {
        Finish::Succeeded { result, hook, .. } => (JobState::Succeeded, &def.on_success, result, hook),
        Finish::Failed { result, hook } => (JobState::Failed, &def.on_failure, result, hook),
        _ => return finish,
    };
    let Some(name) = hook_name else { return finish };
    let trigger = Trigger {
        id: lease.job.id,
        job: lease.job.job.clone(),
        state,
        exit_code: result.exit_code,
        output: result.output.clone(),
    };
    *slot = build(shared, name.as_str(), trigger);
    finish
}

/// The hook job `name` for `trigger`, if this worker's config has it.
pub(super) fn build(shared: &Shared, name: &str, trigger: Trigger) -> Option<NewJob> {
    let config = shared.config();
    let Some(def) = config.jobs.get(name) else {
        tracing::error!(hook = name, "hook job not in this worker's config; not enqueued");
        return None;
    };
    match def.new_job(Vec::new(), BTreeMap::new()) {
        Ok(mut job) => {
            job.trigger = Some(trigger);
            Some(job)
        }
        Err(e) => {
            tracing::error!(hook = name, error = %e, "cannot build the hook job; not enqueued");
            None
        }
    }
}

/// The trigger's variables and output file for a hook run; the file is
/// removed when this is dropped.
pub(super) struct TriggerFile {
    env: BTreeMap<String, String>,
    files: Vec<tempfile::NamedTempFile>,
}

impl TriggerFile {
    /// Writes the trigger's output tail for `job`, if it is a hook job, to a
    /// new file only its owner can read (output may hold anything). The name
    /// is random and the file created exclusively: in a shared temp dir a
    /// name anyone can predict (the job's id is listed) could be planted
    /// first as a symlink or a file of another user's.
    /// With `prev` (a workflow step's job), the previous step's results go
    /// in a file of the same kind, named by `TASKQ_PREV_OUTPUTS`.
    pub(super) fn write(job: &NewJob, prev: Option<&str>) -> Result<TriggerFile, String> {
        let mut out = TriggerFile { env: BTreeMap::new(), files: Vec::new() };
        if let Some(prev) = prev {
            let path = out.file("taskq-prev-", prev, "the previous step's results")?;
            out.env.insert("TASKQ_PREV_OUTPUTS".to_string(), path);
        }
        let Some(trigger) = &job.trigger else { return Ok(out) };
        let path = out.file("taskq-trigger-", &trigger.output, "the trigger's output")?;
        out.env.extend([
            ("TASKQ_TRIGGER_ID".to_string(), trigger.id.to_string()),
            ("TASKQ_TRIGGER_JOB".to_string(), trigger.job.to_string()),
            ("TASKQ_TRIGGER_STATE".to_string(), trigger.state.to_string()),
            ("TASKQ_TRIGGER_EXIT".to_string(), trigger.exit_code.map(|c| c.to_string()).unwrap_or_default()),
            ("TASKQ_TRIGGER_OUTPUT".to_string(), path),
        ]);
        Ok(out)
    }

    /// A new private file holding `text`; returns its path.
    fn file(&mut self, prefix: &str, text: &str, what: &str) -> Result<String, String> {
        let cannot = |e: std::io::Error| format!("cannot write {what} to a temp file: {e}");
        let mut file = tempfile::Builder::new().prefix(prefix).suffix(".out").tempfile().map_err(cannot)?;
        file.write_all(text.as_bytes()).map_err(cannot)?;
        let path = file.path().display().to_string();
        self.files.push(file);
        Ok(path)
    }

    pub(super) fn env(&self) -> &BTreeMap<String, String> {
        &self.env
    }
}

/// A job the broker failed as a poison job ("worker lost") triggers its
/// `on_failure` too. No worker finished it, so the hook is enqueued by the
/// maintenance round that failed it, in a step of its own.
pub(super) async fn after_poison(shared: &Shared, id: JobId) {
    let record = match shared.broker.get(&[id]).await {
        Ok(mut records) => records.pop().flatten(),
        Err(e) => {
            tracing::error!(job.id = %id, error = %e, "cannot read the failed job; its on_failure is not enqueued");
            return;
        }
    };
    let Some(record) = record else { return };
    if let Err(e) = crate::workflow::drive::ended_elsewhere(&*shared.broker, &shared.config(), &record).await {
        tracing::warn!(job.id = %id, error = %e, "cannot report the failed job to its workflow run yet");
    }
    let config = shared.config();
    let Some(name) = config.jobs.get(record.job.job.as_str()).and_then(|d| d.on_failure.as_ref()) else {
        return;
    };
    let trigger = Trigger {
        id,
        job: record.job.job.clone(),
        state: JobState::Failed,
        exit_code: record.exit_code,
        output: record.output.unwrap_or_default(),
    };
    if let Some(hook) = build(shared, name.as_str(), trigger)
        && let Err(e) = shared.broker.enqueue(&[hook]).await
    {
        tracing::error!(job.id = %id, error = %e, "cannot enqueue on_failure of a job failed as worker lost");
    }
}
