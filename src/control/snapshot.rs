//! What `inspect`, `top` and the dashboard's overview show: one read of
//! queues, workers, per-job statistics, schedules and workflow runs.

use std::collections::BTreeMap;

use crate::beat::entries;
use crate::beat::health::alerts;
use crate::broker::{Broker, RunState};
use crate::config::Config;
use crate::views::{InspectView, JobStatsView, QueueView, ScheduleView, WorkerView, WorkflowRunsView};

/// Everything `inspect` shows, read now.
pub async fn snapshot(config: &Config, broker: &dyn Broker) -> anyhow::Result<InspectView> {
    let now = broker.time().await?;
    let mut queues = Vec::new();
    for q in config.queues() {
        queues.push((q.to_string(), broker.count_ready(std::slice::from_ref(&q)).await?));
    }
    let workers = broker.workers().await?;
    let states = broker.schedules().await?;
    let paused: Vec<String> = broker.paused().await?.into_iter().map(|(e, _)| e).collect();
    let defs = broker.definitions().await?;
    let counts = broker.count_runs().await?;
    let mut workflows: Vec<WorkflowRunsView> = config
        .workflows
        .iter()
        .map(|w| WorkflowRunsView { name: w.name.to_string(), ..WorkflowRunsView::default() })
        .collect();
    for (name, state, n) in counts {
        let at = workflows.iter().position(|w| w.name == name.as_str()).unwrap_or_else(|| {
            workflows.push(WorkflowRunsView { name: name.to_string(), ..WorkflowRunsView::default() });
            workflows.len() - 1
        });
        let w = &mut workflows[at];
        match state {
            RunState::Running => w.running += n,
            RunState::Succeeded => w.succeeded += n,
            RunState::Failed => w.failed += n,
            RunState::Revoked => w.revoked += n,
        }
    }
    let mut running: BTreeMap<&str, usize> = BTreeMap::new();
    for r in workers.iter().flat_map(|w| &w.running) {
        *running.entry(r.job.as_str()).or_default() += 1;
    }
    let stats = broker.job_stats().await?;
    // The jobs with something to show: running, or ended within 24 h.
    let mut names: Vec<&str> = stats.iter().map(|s| s.job.as_str()).chain(running.keys().copied()).collect();
    names.sort_unstable();
    names.dedup();
    let jobs = names
        .iter()
        .map(|name| {
            let s = stats.iter().find(|s| s.job == *name);
            let queue = config.jobs.get(name).map(|d| d.queue.to_string());
            JobStatsView::new(name, queue, s, running.get(name).copied().unwrap_or(0))
        })
        .collect();
    Ok(InspectView {
        queues: queues.into_iter().map(|(name, ready)| QueueView { name, ready }).collect(),
        workers: workers.iter().map(WorkerView::from).collect(),
        jobs,
        schedules: entries(config)
            .iter()
            .map(|e| {
                let state = states.iter().find(|s| s.entry == e.name());
                let next = e.schedule.next_after(now, e.tz());
                let is_paused = paused.iter().any(|p| p == e.name());
                // Paused on purpose: no run is due, so none is missing.
                let mut alerts: Vec<String> = if is_paused {
                    Vec::new()
                } else {
                    alerts(state, &e.schedule, e.tz(), now).iter().map(ToString::to_string).collect()
                };
                alerts.extend(crate::beat::agree::disagreement(e.name(), &defs));
                ScheduleView { paused: is_paused, ..ScheduleView::new(e, state, next.as_ref(), alerts) }
            })
            .collect(),
        workflows,
    })
}
