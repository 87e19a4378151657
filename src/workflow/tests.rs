//! What a step launches, and what a `map` reads.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Launch, StepResult, check_params, launch, map_items, prev_outputs};
use crate::config::Config;
use crate::job::JobId;
use crate::names::JobName;

const CONFIG: &str = r#"
[jobs.list-orders]
command = "echo 1; echo 2"
[jobs.validate]
command = "echo {{order}} {{region}}"
params = { order = { pattern = "[0-9]+" }, region = { default = "eu" } }
[jobs.charge]
command = "echo {{batch}}"
params = { batch = {} }
[jobs.notify]
command = "true"
unique_for = "1h"
[jobs.count]
command = "echo {{n}}"
params = { n = { type = "int", default = 1 } }
[workflows.refresh]
steps = ["notify"]
[workflows.bulk]
steps = ["list-orders", { map = "validate", param = "order", max_items = 3 }, "charge", { group = ["notify", { workflow = "refresh" }] }, "count"]
"#;

fn config() -> Config {
    Config::parse(Path::new("jobs.toml"), CONFIG).unwrap_or_else(|e| panic!("{e:?}"))
}

fn result(job: &str, output: &str) -> StepResult {
    StepResult {
        job: JobName::new(job).unwrap(),
        id: JobId::new(),
        params: BTreeMap::new(),
        output: output.into(),
        truncated: false,
    }
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_string(), (*v).to_string())).collect()
}

#[test]
fn a_map_runs_over_lines_or_a_json_arrays_items_within_its_bound() {
    assert_eq!(map_items(&[result("a", "1\n\n 2\r\n"), result("b", "3")], 10).unwrap(), ["1", "2", "3"]);
    assert_eq!(
        map_items(&[result("a", " [\"x y\", 7, {\"k\": 1}, null, \" \"]\n")], 10).unwrap(),
        ["x y", "7", "{\"k\":1}"]
    );
    assert!(map_items(&[result("a", "\n \n")], 10).unwrap().is_empty(), "no items: nothing to launch");
    let cut = StepResult { truncated: true, ..result("list-orders", "12\n13\n") };
    let err = map_items(&[cut], 10).unwrap_err();
    assert!(err.contains("so a map cannot read all of it"), "{err}");
    assert_eq!(
        map_items(&[result("a", "[not json\n")], 10).unwrap(),
        ["[not json"],
        "a line that only looks like an array"
    );
    let err = map_items(&[result("a", "1\n2\n3\n4\n")], 3).unwrap_err();
    assert!(err.contains("4 items, more than this map's max_items (3)"), "{err}");
}

#[test]
fn each_step_launches_its_jobs_with_ids_derived_from_the_run() {
    let config = config();
    let wf = config.workflow("bulk").unwrap();
    let run = JobId::new();
    let given = params(&[("batch", "b-7"), ("region", "us"), ("unused", "x")]);
    let prev = [result("list-orders", "11\n12\n")];
    let mapped = launch(&config, wf, run, 1, &given, &prev).unwrap();
    assert_eq!(mapped.len(), 2);
    let Launch::Job(first) = &mapped[0] else { panic!("a job") };
    assert_eq!(first.job.as_str(), "validate");
    assert_eq!(first.params, params(&[("order", "11"), ("region", "us")]), "its own parameters only, and the item");
    let tag = first.workflow.as_ref().expect("tagged");
    assert_eq!((tag.run, tag.workflow.as_str(), tag.step), (run, "bulk", 1));
    assert_eq!(launch(&config, wf, run, 1, &given, &prev).unwrap(), mapped, "launched again: the same ids");
    assert_ne!(mapped[0].id(), mapped[1].id());
    assert_ne!(launch(&config, wf, JobId::new(), 1, &given, &prev).unwrap()[0].id(), mapped[0].id(), "another run");

    let group = launch(&config, wf, run, 3, &given, &[]).unwrap();
    let Launch::Job(notify) = &group[0] else { panic!("a job") };
    assert_eq!((notify.job.as_str(), notify.unique.is_none()), ("notify", true), "its id, not a unique key, dedups");
    assert!(
        matches!(&group[1], Launch::Run { workflow, params, .. } if workflow.as_str() == "refresh" && *params == given)
    );
    assert!(launch(&config, wf, run, 5, &given, &[]).unwrap_err().contains("has no step 6"));
}

#[test]
fn a_map_item_that_breaks_the_parameters_rule_fails_the_step() {
    let config = config();
    let wf = config.workflow("bulk").unwrap();
    let err = launch(&config, wf, JobId::new(), 1, &BTreeMap::new(), &[result("list-orders", "12\n1; rm -rf /\n")])
        .unwrap_err();
    assert!(err.starts_with("job \"validate\": "), "{err}");
}

#[test]
fn a_parameter_a_step_needs_is_asked_for_at_enqueue_naming_the_step() {
    let config = config();
    let wf = config.workflow("bulk").unwrap();
    let err = check_params(&config, wf, &BTreeMap::new()).unwrap_err();
    assert_eq!(
        err,
        "workflow \"bulk\", step 3 (charge): job \"charge\" needs parameter \"batch\": pass -p batch=VALUE"
    );
    assert!(check_params(&config, wf, &params(&[("batch", "b")])).is_ok(), "map's own parameter comes from its items");
    let err = check_params(&config, wf, &params(&[("batch", "b"), ("n", "many")])).unwrap_err();
    assert!(err.starts_with("workflow \"bulk\", step 5 (count): job \"count\": "), "values checked at enqueue: {err}");
    let err = check_params(&config, wf, &params(&[("batch", "b"), ("order", "1")])).unwrap_err();
    assert_eq!(err, "workflow \"bulk\" has no step whose job takes parameter \"order\": drop -p order");
    let err = check_params(&config, wf, &params(&[("batch", "b"), ("typo", "1")])).unwrap_err();
    assert!(err.contains("parameter \"typo\""), "{err}");
}

#[test]
fn the_previous_steps_results_are_json_lines() {
    let r = result("list-orders", "1\n2\n");
    let text = prev_outputs(&[r.clone(), r.clone()]);
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["job"], "list-orders");
    assert_eq!(lines[0]["id"], r.id.to_string());
    assert_eq!(lines[0]["output"], "1\n2\n");
    assert_eq!(lines[0]["params"], serde_json::json!({}));
}

#[test]
fn a_derived_id_is_a_uuidv7_of_its_runs_instant() {
    let run = JobId::new();
    let a = JobId::derived(run, "0/0/0");
    assert_eq!(a, JobId::derived(run, "0/0/0"));
    assert_ne!(a, JobId::derived(run, "0/0/1"));
    let (text, parent) = (a.to_string(), run.to_string());
    assert_eq!(&text[..13], &parent[..13], "the run's instant: {text} of {parent}");
    assert_eq!(&text[14..15], "7", "version 7: {text}");
    assert!(matches!(&text[19..20], "8" | "9" | "a" | "b"), "RFC 9562 variant: {text}");
}
