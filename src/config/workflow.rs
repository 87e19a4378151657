//! `[workflows.NAME]`: steps run one after another, each a job, a group of
//! jobs (and workflows) run at once, a `map` of one job over the lines of
//! the previous step's output, or a whole workflow (SPEC §7). Read after
//! the jobs, as every step names them; every mistake is reported at its
//! place: an unknown job or workflow, an empty group, a `map` whose job
//! takes no such parameter, workflows that include each other.

use std::collections::{BTreeMap, BTreeSet};

use toml::de::{DeTable, DeValue};

use super::def::{JobDef, Settings};
use super::error::Diagnostics;
use super::fields::hook;
use super::raw::{self, Span, Table, Value};
use super::suggest::did_you_mean;
use crate::flow::{Member, Step, WorkflowDef};
use crate::names::JobName;
use crate::schedule::Schedule;
use crate::time::Zone;

/// The keys of a `[workflows.NAME]` table.
pub(super) const WORKFLOW_KEYS: &[&str] = &["steps", "on_failure", "schedule", "every", "timezone"];
/// The keys of each kind of step table: `{ group = [...] }`, `{ map = JOB,
/// param = NAME }`, `{ workflow = NAME }`. Each kind's first key names it.
pub(super) const GROUP_STEP_KEYS: &[&str] = &["group"];
pub(super) const MAP_STEP_KEYS: &[&str] = &["map", "param", "max_items"];
pub(super) const WORKFLOW_STEP_KEYS: &[&str] = &["workflow"];
const STEP_KINDS: [&str; 3] = [GROUP_STEP_KEYS[0], MAP_STEP_KEYS[0], WORKFLOW_STEP_KEYS[0]];

/// A `map` step's default bound on how many runs one output may make.
pub const DEFAULT_MAX_ITEMS: u32 = 10_000;

/// A workflow's table, read but not yet checked against the others.
struct Raw<'t, 'i> {
    name: JobName,
    span: Span,
    table: &'t DeTable<'i>,
}

/// Reads `[workflows]`: every workflow checked against `jobs` and the other
/// workflows.
/// Also returns the job beat fires for each tick of each scheduled one
/// (`JobDef::workflow_tick`).
pub(super) fn read(
    diag: &mut Diagnostics<'_>,
    value: &Value<'_>,
    jobs: &[JobDef],
    settings: &Settings,
) -> (Vec<WorkflowDef>, Vec<JobDef>) {
    let DeValue::Table(all) = value.get_ref() else {
        diag.error(&value.span(), "\"workflows\" must be a table: write [workflows.NAME] sections");
        return (Vec::new(), Vec::new());
    };
    let mut raws = Vec::new();
    for (key, value) in all {
        let name = match JobName::new(key.get_ref()) {
            Ok(n) => n,
            Err(e) => {
                // a workflow is named by the rules of a job's name
                diag.error(&key.span(), e.replacen("job name", "workflow name", 1));
                continue;
            }
        };
        let DeValue::Table(table) = value.get_ref() else {
            diag.error(&value.span(), format!("workflow \"{name}\" must be a table: write [workflows.{name}]"));
            continue;
        };
        if jobs.iter().any(|j| j.name == name) {
            diag.error(
                &key.span(),
                format!(
                    "\"{name}\" is both a job and a workflow: `taskq enqueue {name}` must name one; rename one of them"
                ),
            );
            continue;
        }
        raws.push(Raw { name, span: key.span(), table });
    }
    let names: BTreeSet<&str> = raws.iter().map(|r| r.name.as_str()).collect();
    let known = Known { jobs, workflows: &names };
    let (mut out, mut ticks) = (Vec::new(), Vec::new());
    let mut scheduled = Vec::new();
    for raw in &raws {
        if let Some((def, schedule)) = read_one(diag, raw, &known) {
            if let Some((schedule, zone)) = schedule {
                scheduled.push((def.name.clone(), raw.span.clone()));
                let mut tick = JobDef::workflow_tick(&def, settings, schedule);
                if let Some(zone) = zone {
                    tick.timezone = zone;
                }
                ticks.push(tick);
            }
            out.push(def);
        }
    }
    if let Some((name, span, mut cycle)) = find_cycle(&out, &raws) {
        // a long chain told by its ends
        if cycle.len() > 8 {
            let more = format!("… {} more …", cycle.len() - 6);
            cycle.splice(3..cycle.len() - 3, [more]);
        }
        diag.error(&span, format!("workflow \"{name}\" includes itself: {}", cycle.join(" → ")));
        return (out, ticks);
    }
    for (name, span) in scheduled {
        if let Some(why) = out.iter().find(|w| w.name == name).and_then(|w| needs_params(w, &out, jobs)) {
            diag.error(&span, format!("scheduled workflow \"{name}\": {why}"));
        }
    }
    (out, ticks)
}

/// A parameter without a default that a job of `wf` (or of the workflows
/// it includes) needs, which no scheduled run could give (a `map`'s own
/// parameter comes from its items): said with the step and the fix.
fn needs_params(wf: &WorkflowDef, all: &[WorkflowDef], jobs: &[JobDef]) -> Option<String> {
    let mut todo = vec![wf];
    let mut seen = BTreeSet::new();
    while let Some(w) = todo.pop() {
        if !seen.insert(w.name.as_str()) {
            continue;
        }
        for (i, step) in w.steps.iter().enumerate() {
            let (names, mapped): (Vec<&JobName>, Option<&str>) = match step {
                Step::Job(j) => (vec![j], None),
                Step::Map { job, param, .. } => (vec![job], Some(param.as_str())),
                Step::Workflow(inner) => {
                    todo.extend(all.iter().filter(|x| x.name == *inner));
                    (vec![], None)
                }
                Step::Group(members) => (
                    members
                        .iter()
                        .filter_map(|m| match m {
                            Member::Job(j) => Some(j),
                            Member::Workflow(inner) => {
                                todo.extend(all.iter().filter(|x| x.name == *inner));
                                None
                            }
                        })
                        .collect(),
                    None,
                ),
            };
            for name in names {
                let Some(def) = jobs.iter().find(|j| j.name == *name) else { continue };
                if let Some(p) =
                    def.param_names.iter().find(|p| !def.params.contains_key(*p) && Some(p.as_str()) != mapped)
                {
                    return Some(format!(
                        "step {} of \"{}\" runs job \"{name}\", whose parameter \"{p}\" has no default: a scheduled run gets defaults only; add one to its params",
                        i + 1,
                        w.name
                    ));
                }
            }
        }
    }
    None
}

/// The names a step may use.
struct Known<'a> {
    jobs: &'a [JobDef],
    workflows: &'a BTreeSet<&'a str>,
}

impl Known<'_> {
    /// A job's name where `what` (a step, a group member, `on_failure`,
    /// `map`) needs one; a workflow's name there is told apart.
    fn job(&self, diag: &mut Diagnostics<'_>, value: &Value<'_>, what: &str) -> Option<JobName> {
        let name = raw::string(diag, what, value)?;
        if let Some(def) = self.jobs.iter().find(|j| j.name.as_str() == name) {
            return Some(def.name.clone());
        }
        if self.workflows.contains(name.as_str()) {
            let fix = if what == "a step" || what == "a group member" {
                format!("write {{ workflow = \"{name}\" }}")
            } else {
                format!("{what} takes a job")
            };
            diag.error(&value.span(), format!("\"{name}\" is a workflow: {fix}"));
            return None;
        }
        let hint = did_you_mean(&name, self.jobs.iter().map(|j| j.name.as_str()))
            .map(|s| format!(" (did you mean \"{s}\"?)"))
            .unwrap_or_default();
        diag.error(&value.span(), format!("{what} names an unknown job \"{name}\"{hint}"));
        None
    }

    fn workflow(&self, diag: &mut Diagnostics<'_>, value: &Value<'_>) -> Option<JobName> {
        let name = raw::string(diag, "workflow", value)?;
        if self.workflows.contains(name.as_str()) {
            return JobName::new(&name).ok();
        }
        if self.jobs.iter().any(|j| j.name.as_str() == name) {
            diag.error(&value.span(), format!("\"{name}\" is a job: write \"{name}\" as the step"));
            return None;
        }
        let hint = did_you_mean(&name, self.workflows.iter().copied())
            .map(|s| format!(" (did you mean \"{s}\"?)"))
            .unwrap_or_default();
        diag.error(&value.span(), format!("\"workflow\" names an unknown workflow \"{name}\"{hint}"));
        None
    }
}

/// A workflow's schedule and its zone, if it has them.
type WhenFired = Option<(Schedule, Option<Zone>)>;

fn read_one(diag: &mut Diagnostics<'_>, raw: &Raw<'_, '_>, known: &Known<'_>) -> Option<(WorkflowDef, WhenFired)> {
    let table = Table { table: raw.table };
    table.check_keys(diag, WORKFLOW_KEYS, &[]);
    let when = read_schedule(diag, raw, &table);
    let on_failure = table.get("on_failure").and_then(|v| {
        // `false` is accepted as on a job, though a workflow inherits no hook to switch off.
        hook(diag, "on_failure", v)?.job()?;
        let job = known.job(diag, v, "\"on_failure\"")?;
        let def = known.jobs.iter().find(|j| j.name == job)?;
        if let Some(param) = def.param_names.iter().find(|p| !def.params.contains_key(*p)) {
            diag.error(
                &v.span(),
                format!("\"on_failure\" names job \"{job}\", whose parameter \"{param}\" has no default: a hook job runs with its params defaults only"),
            );
            return None;
        }
        Some(job)
    });
    let Some(steps) = table.get("steps") else {
        diag.error(&raw.span, format!("workflow \"{}\" has no \"steps\": list its jobs in order", raw.name));
        return None;
    };
    let DeValue::Array(items) = steps.get_ref() else {
        raw::wrong_type(diag, "steps", steps, "an array of steps");
        return None;
    };
    if items.is_empty() {
        diag.error(&steps.span(), format!("workflow \"{}\" has no steps: list its jobs in order", raw.name));
        return None;
    }
    let errors_before = diag.error_count();
    let steps: Vec<Step> = items.iter().filter_map(|item| read_step(diag, item, known)).collect();
    if let (Some(Step::Map { .. }), Some(first)) = (steps.first(), items.first()) {
        diag.error(
            &first.span(),
            "a map step runs over the output of the step before it: put a step that prints the items first",
        );
    }
    (diag.error_count() == errors_before).then(|| (WorkflowDef { name: raw.name.clone(), steps, on_failure }, when))
}

/// `schedule` (cron) or `every`, and `timezone`, as a job has them.
fn read_schedule(diag: &mut Diagnostics<'_>, raw: &Raw<'_, '_>, table: &Table<'_, '_>) -> WhenFired {
    let cron = table.get("schedule").and_then(|v| {
        let text = raw::string(diag, "schedule", v)?;
        Schedule::cron(&text).map_err(|e| diag.error(&v.span(), e)).ok()
    });
    let every = table.get("every").and_then(|v| {
        let d = raw::duration(diag, "every", v)?;
        if d < std::time::Duration::from_secs(1) {
            diag.error(&v.span(), "\"every\" must be at least 1s");
            return None;
        }
        Schedule::every(d).map_err(|e| diag.error(&v.span(), e)).ok()
    });
    let zone = table.get("timezone").and_then(|v| super::fields::timezone(diag, v));
    match (cron, every) {
        (Some(_), Some(_)) => {
            let span = table.get("every").map_or(raw.span.clone(), toml::Spanned::span);
            diag.error(&span, format!("workflow \"{}\" has both \"schedule\" and \"every\": keep one", raw.name));
            None
        }
        (Some(s), None) | (None, Some(s)) => Some((s, zone)),
        (None, None) => None,
    }
}

fn read_step(diag: &mut Diagnostics<'_>, item: &Value<'_>, known: &Known<'_>) -> Option<Step> {
    match item.get_ref() {
        DeValue::String(_) => known.job(diag, item, "a step").map(Step::Job),
        DeValue::Table(t) => {
            let table = Table { table: t };
            let kinds = STEP_KINDS.iter().filter(|k| table.get(k).is_some()).count();
            if kinds > 1 {
                diag.error(
                    &item.span(),
                    "a step is one of { group = ... }, { map = ... } or { workflow = ... }: split it in steps",
                );
                None
            } else if let Some(group) = table.get("group") {
                table.check_keys(diag, GROUP_STEP_KEYS, &[]);
                read_group(diag, group, known).map(Step::Group)
            } else if let Some(job) = table.get("map") {
                table.check_keys(diag, MAP_STEP_KEYS, &[]);
                read_map(diag, item, &table, job, known)
            } else if let Some(w) = table.get("workflow") {
                table.check_keys(diag, WORKFLOW_STEP_KEYS, &[]);
                known.workflow(diag, w).map(Step::Workflow)
            } else {
                let before = diag.error_count();
                table.check_keys(diag, &STEP_KINDS, &[]);
                if diag.error_count() == before {
                    diag.error(
                        &item.span(),
                        "a step table needs \"group\", \"map\" or \"workflow\": e.g. { group = [\"a\", \"b\"] }",
                    );
                }
                None
            }
        }
        _ => {
            raw::wrong_type(
                diag,
                "a step",
                item,
                "a job name or a table ({ group = [...] }, { map = ... }, { workflow = ... })",
            );
            None
        }
    }
}

fn read_group(diag: &mut Diagnostics<'_>, group: &Value<'_>, known: &Known<'_>) -> Option<Vec<Member>> {
    let DeValue::Array(items) = group.get_ref() else {
        raw::wrong_type(diag, "group", group, "an array of jobs and { workflow = ... }");
        return None;
    };
    if items.is_empty() {
        diag.error(&group.span(), "an empty group runs nothing: name its jobs, or drop the step");
        return None;
    }
    let mut members = Vec::new();
    let mut ok = true;
    for item in items {
        let member = match item.get_ref() {
            DeValue::Table(t) => match t.get("workflow") {
                Some(w) if t.len() == 1 => known.workflow(diag, w).map(Member::Workflow),
                _ => {
                    diag.error(&item.span(), "a group holds job names and { workflow = \"NAME\" } only");
                    None
                }
            },
            _ => known.job(diag, item, "a group member").map(Member::Job),
        };
        match member {
            Some(m) => members.push(m),
            None => ok = false,
        }
    }
    ok.then_some(members)
}

fn read_map(
    diag: &mut Diagnostics<'_>,
    item: &Value<'_>,
    table: &Table<'_, '_>,
    job: &Value<'_>,
    known: &Known<'_>,
) -> Option<Step> {
    let job = known.job(diag, job, "\"map\"")?;
    let Some(param) = table.get("param") else {
        diag.error(&item.span(), format!("a map step needs \"param\": the parameter of \"{job}\" each line fills"));
        return None;
    };
    let param_name = raw::string(diag, "param", param)?;
    let def = known.jobs.iter().find(|j| j.name == job)?;
    if !def.param_names.contains(&param_name) {
        let takes = if def.param_names.is_empty() {
            "it takes none".to_string()
        } else {
            format!("its parameters: {}", def.param_names.iter().cloned().collect::<Vec<_>>().join(", "))
        };
        diag.error(&param.span(), format!("job \"{job}\" has no parameter \"{param_name}\" to map over ({takes})"));
        return None;
    }
    let max_items = match table.get("max_items") {
        Some(v) => u32::try_from(raw::integer(diag, "max_items", v, 1..=1_000_000)?).ok()?,
        None => DEFAULT_MAX_ITEMS,
    };
    Some(Step::Map { job, param: param_name, max_items })
}

/// The first workflow that includes itself, through its steps or groups:
/// its name, place and the chain of names.
fn find_cycle(defs: &[WorkflowDef], raws: &[Raw<'_, '_>]) -> Option<(String, Span, Vec<String>)> {
    let uses: BTreeMap<&str, Vec<&str>> = defs
        .iter()
        .map(|d| {
            let mut used = Vec::new();
            for step in &d.steps {
                match step {
                    Step::Workflow(w) => used.push(w.as_str()),
                    Step::Group(members) => used.extend(members.iter().filter_map(|m| match m {
                        Member::Workflow(w) => Some(w.as_str()),
                        Member::Job(_) => None,
                    })),
                    Step::Job(_) | Step::Map { .. } => {}
                }
            }
            (d.name.as_str(), used)
        })
        .collect();
    // One depth-first pass, with a stack of its own (a file may nest
    // workflows tens of thousands deep): each workflow is entered once,
    // so a long or diamond-shaped nesting costs its size.
    let mut done: BTreeSet<&str> = BTreeSet::new();
    for d in defs {
        let mut path: Vec<(&str, usize)> = vec![(d.name.as_str(), 0)];
        while let Some((at, next)) = path.last().copied() {
            if done.contains(at) {
                path.pop();
                continue;
            }
            let Some(child) = uses.get(at).and_then(|u| u.get(next)).copied() else {
                done.insert(at);
                path.pop();
                continue;
            };
            if let Some(last) = path.last_mut() {
                last.1 += 1;
            }
            if let Some(from) = path.iter().position(|(p, _)| *p == child) {
                let mut cycle: Vec<String> = path[from..].iter().map(|(p, _)| (*p).to_string()).collect();
                cycle.push(child.to_string());
                let span = raws.iter().find(|r| r.name.as_str() == cycle[0]).map_or(0..0, |r| r.span.clone());
                return Some((cycle[0].clone(), span, cycle));
            }
            if !done.contains(child) {
                path.push((child, 0));
            }
        }
    }
    None
}
