//! Running a workflow (SPEC §7, docs/workflows.md), the part both brokers
//! share: what a step launches, with ids derived from the run so that
//! launching a step again makes nothing new; the items a `map` step fans
//! out over; and the previous step's results as its jobs read them
//! (`TASKQ_PREV_OUTPUTS`). `drive` moves runs along on a broker.

use std::collections::BTreeMap;

use crate::config::{Config, Member, Step, WorkflowDef};
pub use crate::flow::StepResult;
use crate::job::{JobId, NewJob, WorkflowStep};
use crate::names::JobName;

/// What launching a step makes.
#[derive(Debug, Clone, PartialEq)]
pub enum Launch {
    Job(Box<NewJob>),
    /// A nested workflow's run, counted as one job of the step; it gets
    /// the parameters the outer run was given.
    Run {
        id: JobId,
        workflow: JobName,
        params: BTreeMap<String, String>,
    },
}

impl Launch {
    pub fn id(&self) -> JobId {
        match self {
            Launch::Job(job) => job.id,
            Launch::Run { id, .. } => *id,
        }
    }
}

/// The previous step's results, one JSON object per line.
pub fn prev_outputs(results: &[StepResult]) -> String {
    results.iter().filter_map(|r| serde_json::to_string(r).ok()).map(|line| line + "\n").collect()
}

/// The items a `map` step runs its job over: each line of the previous
/// step's outputs, or each item of an output that is a JSON array (strings
/// as they are, other values as JSON), trimmed, the empty ones (and JSON
/// nulls) left out. An output cut to its tail, or more than `max` items,
/// is an error saying which. No items: the step launches nothing and is
/// over at once.
pub fn map_items(results: &[StepResult], max: u32) -> Result<Vec<String>, String> {
    let mut items = Vec::new();
    for r in results {
        if r.truncated {
            return Err(format!(
                "the output of {} ({}) was longer than the 1 MiB a step keeps (64 KiB for an HTTP body), so a map cannot read all of it: print fewer or shorter items",
                r.job, r.id
            ));
        }
        let text = r.output.trim();
        match serde_json::from_str::<Vec<serde_json::Value>>(text) {
            Ok(array) if text.starts_with('[') => items.extend(array.into_iter().filter_map(|v| match v {
                serde_json::Value::Null => None,
                serde_json::Value::String(s) => Some(s.trim().to_string()),
                other => Some(other.to_string()),
            })),
            _ => items.extend(r.output.lines().map(|l| l.trim().to_string())),
        }
    }
    items.retain(|i| !i.is_empty());
    if items.len() > max as usize {
        return Err(format!(
            "the previous step's output holds {} items, more than this map's max_items ({max}): raise max_items or print fewer",
            items.len()
        ));
    }
    Ok(items)
}

/// Whether `given` suits every job the workflow may run: each parameter a
/// job needs without a default is given (a `map` step's own parameter comes
/// from its items), each value given fits the rules of every job that
/// declares it, and no name is given that no job declares. An error names
/// the step, the job and the parameter.
pub fn check_params(config: &Config, wf: &WorkflowDef, given: &BTreeMap<String, String>) -> Result<(), String> {
    let mut seen = Vec::new();
    let mut declared = std::collections::BTreeSet::new();
    check_params_in(config, wf, given, &mut seen, &mut declared)?;
    if let Some(name) = given.keys().find(|k| !declared.contains(k.as_str())) {
        return Err(format!(
            "workflow \"{}\" has no step whose job takes parameter \"{name}\": drop -p {name}",
            wf.name
        ));
    }
    Ok(())
}

fn check_params_in<'c>(
    config: &'c Config,
    wf: &'c WorkflowDef,
    given: &BTreeMap<String, String>,
    seen: &mut Vec<&'c str>,
    declared: &mut std::collections::BTreeSet<&'c str>,
) -> Result<(), String> {
    if seen.contains(&wf.name.as_str()) {
        return Ok(());
    }
    seen.push(wf.name.as_str());
    for (i, step) in wf.steps.iter().enumerate() {
        let (jobs, workflows, mapped): (Vec<&JobName>, Vec<&JobName>, Option<&str>) = match step {
            Step::Job(j) => (vec![j], vec![], None),
            Step::Map { job, param, .. } => (vec![job], vec![], Some(param.as_str())),
            Step::Workflow(w) => (vec![], vec![w], None),
            Step::Group(members) => members.iter().fold((vec![], vec![], None), |(mut j, mut w, m), member| {
                match member {
                    Member::Job(name) => j.push(name),
                    Member::Workflow(name) => w.push(name),
                }
                (j, w, m)
            }),
        };
        let at = || format!("workflow \"{}\", step {} ({})", wf.name, i + 1, step.describe());
        for job in jobs {
            let Some(def) = config.jobs.get(job.as_str()) else { continue };
            declared.extend(def.param_names.iter().map(String::as_str).filter(|p| Some(*p) != mapped));
            let missing = def
                .param_names
                .iter()
                .find(|p| !def.params.contains_key(*p) && !given.contains_key(*p) && Some(p.as_str()) != mapped);
            if let Some(p) = missing {
                return Err(format!("{}: job \"{job}\" needs parameter \"{p}\": pass -p {p}=VALUE", at()));
            }
            // The values, by the job's own rules (a map's own parameter is
            // checked item by item when the step launches).
            if mapped.is_none() {
                let mine = given.iter().filter(|(k, _)| def.param_names.contains(*k));
                def.new_job(Vec::new(), mine.map(|(k, v)| (k.clone(), v.clone())).collect())
                    .map_err(|e| format!("{}: job \"{job}\": {e}", at()))?;
            }
        }
        for w in workflows {
            if let Some(inner) = config.workflow(w.as_str()) {
                check_params_in(config, inner, given, seen, declared)?;
            }
        }
    }
    Ok(())
}

/// What step `step` of run `run` (of workflow `wf`, enqueued with
/// `params`) launches, given the previous step's results: its jobs, each
/// with the parameters it declares, and its nested runs, all with derived
/// ids. The same call again gives the same ids.
pub fn launch(
    config: &Config,
    wf: &WorkflowDef,
    run: JobId,
    step: u32,
    params: &BTreeMap<String, String>,
    prev: &[StepResult],
) -> Result<Vec<Launch>, String> {
    let Some(s) = wf.steps.get(step as usize) else {
        return Err(format!("workflow \"{}\" has no step {}", wf.name, step + 1));
    };
    let tag = WorkflowStep { run, workflow: wf.name.clone(), step };
    let job = |name: &JobName, member: usize, item: usize, extra: Option<(&str, &str)>| -> Result<Launch, String> {
        let def = config.job(name.as_str()).map_err(|e| e.0)?;
        let mut given: BTreeMap<String, String> =
            params.iter().filter(|(k, _)| def.param_names.contains(*k)).map(|(k, v)| (k.clone(), v.clone())).collect();
        if let Some((k, v)) = extra {
            given.insert(k.to_string(), v.to_string());
        }
        let mut job = def.new_job(Vec::new(), given).map_err(|e| format!("job \"{name}\": {e}"))?;
        job.id = JobId::derived(run, &format!("{step}/{member}/{item}"));
        job.workflow = Some(tag.clone());
        // The derived id already makes launching again harmless; a unique
        // key could instead answer with another run's job, which this run
        // would wait for in vain.
        job.unique = None;
        Ok(Launch::Job(Box::new(job)))
    };
    let nested = |w: &JobName, member: usize| Launch::Run {
        id: JobId::derived(run, &format!("{step}/{member}/run")),
        workflow: w.clone(),
        params: params.clone(),
    };
    match s {
        Step::Job(name) => Ok(vec![job(name, 0, 0, None)?]),
        Step::Workflow(w) => Ok(vec![nested(w, 0)]),
        Step::Group(members) => members
            .iter()
            .enumerate()
            .map(|(m, member)| match member {
                Member::Job(name) => job(name, m, 0, None),
                Member::Workflow(w) => Ok(nested(w, m)),
            })
            .collect(),
        Step::Map { job: name, param, max_items } => map_items(prev, *max_items)?
            .iter()
            .enumerate()
            .map(|(i, item)| job(name, 0, i, Some((param.as_str(), item.as_str()))))
            .collect(),
    }
}

pub mod drive;

#[cfg(test)]
mod tests;
