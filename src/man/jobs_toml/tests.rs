//! taskq.toml(5) held to the parser: every key the parser accepts is on the
//! page, under its table's heading; every key on the page is one the parser
//! accepts; and the page's examples are TOML the parser takes.

use std::path::Path;

use super::keys::{PARAM_TYPES, TABLES};
use super::{EXAMPLE, PARAMS_EXAMPLE, heading, render};
use crate::config::Config;
use crate::config::keys::{KeySection, documented_sections, table};

/// Keys the page may document ahead of the parser, while both are changed
/// on separate branches. Drop each from here once the parser has it.
const PENDING: &[(&str, &str)] = &[];

fn page() -> String {
    String::from_utf8(render()).expect("the page is UTF-8")
}

/// The page's text under the heading `title` (`.SH` or `.SS`), up to the
/// next heading.
fn section(page: &str, title: &str) -> Option<String> {
    let is_heading = |line: &str| line.starts_with(".SH ") || line.starts_with(".SS ");
    let titled = |line: &str| is_heading(line) && line[4..].trim_matches('"') == title;
    let mut lines = page.lines().skip_while(|l| !titled(l));
    lines.next()?;
    Some(lines.take_while(|l| !is_heading(l)).collect::<Vec<_>>().join("\n"))
}

fn bold(key: &str) -> String {
    format!("\\fB{}\\fR", key.replace('-', "\\-"))
}

/// Whether `key` of table `s` is on the page: as a tagged item under its
/// table's heading, in the list of `[defaults]`, or (a table itself) as a
/// heading.
fn on_page(page: &str, s: &KeySection, key: &str) -> bool {
    if s.table == table::TOP {
        return page.lines().any(|l| l.starts_with(".SH ") && l.contains(&format!("[{key}")));
    }
    let Some(text) = section(page, heading(s.table)) else { return false };
    if s.table == table::DEFAULTS {
        return text.lines().any(|l| l.starts_with("Accepted here:") && l.contains(&bold(key)));
    }
    text.contains(&format!(".TP\n{}", bold(key)))
}

#[test]
fn every_key_the_parser_accepts_is_on_the_page() {
    let page = page();
    let mut missing = Vec::new();
    for s in documented_sections() {
        for key in &s.keys {
            if !on_page(&page, &s, key) {
                missing.push(format!("{} {key}", s.table));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "keys the parser accepts that taskq.toml(5) does not document (add them to src/man/jobs_toml/keys.rs): {missing:?}"
    );
}

#[test]
fn every_key_on_the_page_is_one_the_parser_accepts() {
    let sections = documented_sections();
    let accepted = |id: &str| sections.iter().find(|s| s.table == id).map(|s| s.keys.clone()).unwrap_or_default();
    let mut unknown = Vec::new();
    for t in TABLES {
        for k in t.keys {
            let pending = PENDING.contains(&(t.id, k.name));
            if accepted(t.id).contains(&k.name) == pending {
                let why = if pending { "now accepted: drop it from PENDING" } else { "not accepted" };
                unknown.push(format!("{} {}: {why}", t.id, k.name));
            }
        }
    }
    for (name, _) in PARAM_TYPES {
        if !accepted(table::PARAM_TYPES).contains(name) {
            unknown.push(format!("params type {name}: not accepted"));
        }
    }
    assert!(unknown.is_empty(), "{unknown:?}");
}

#[test]
fn the_examples_are_valid_jobs_files() {
    for example in [EXAMPLE, PARAMS_EXAMPLE] {
        if let Err(e) = Config::parse(Path::new("jobs.toml"), example) {
            panic!("{}", e.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"));
        }
    }
}

/// Jobs and a workflow the keys' examples name.
const NAMED: &str = r#"
[jobs.alert-oncall]
command = "true"
[jobs.publish-report]
command = "true"
[jobs.export-orders]
command = "true"
[jobs.export-users]
command = "true"
[jobs.upload-report]
command = "true"
[jobs.validate-order]
command = "echo {{order_id}}"
[jobs.resize]
command = "echo {{path}}"
[workflows.refresh-stats]
steps = ["export-orders"]
"#;

/// A jobs file around key `key`'s example, `example`, of table `id`.
fn around(id: &str, key: &str, example: &str) -> String {
    match id {
        table::TASKQ => format!("[taskq]\n{example}\n"),
        table::JOB => {
            let action = match key {
                "command" | "http" => "",
                "success_status" => "http = { url = \"https://example.com/\" }\n",
                "params" => "command = \"prune --keep {{keep}}\"\n",
                _ => "command = \"true\"\n",
            };
            format!("{NAMED}[jobs.example]\n{action}{example}\n")
        }
        table::HTTP => {
            let url = if key == "url" { "" } else { "url = \"https://example.com/\"\n" };
            format!("[jobs.example.http]\n{url}{example}\n")
        }
        table::PARAM_RULE => {
            format!("[jobs.example]\ncommand = \"echo {{{{n}}}}\"\nparams = {{ n = {{ {example} }} }}\n")
        }
        table::WORKFLOW => {
            let steps = if key == "steps" { "" } else { "steps = [\"export-orders\"]\n" };
            format!("{NAMED}[workflows.example]\n{steps}{example}\n")
        }
        _ => format!("{NAMED}[workflows.example]\nsteps = [\"export-orders\", {example}]\n"),
    }
}

#[test]
fn each_keys_example_is_one_the_parser_takes() {
    let mut refused = Vec::new();
    for t in TABLES {
        for k in t.keys.iter().filter(|k| !PENDING.contains(&(t.id, k.name))) {
            let file = around(t.id, k.name, k.example);
            if let Err(e) = Config::parse(Path::new("jobs.toml"), &file) {
                refused.push(format!(
                    "{} {}: {}",
                    t.id,
                    k.name,
                    e.iter().next().map(ToString::to_string).unwrap_or_default()
                ));
            }
        }
    }
    assert!(refused.is_empty(), "{refused:#?}");
}

#[test]
fn the_page_names_itself_as_the_jobs_file() {
    let page = page();
    assert!(page.contains(".TH taskq.toml 5 \"\""), "{}", &page[..200]);
    assert_eq!(section(&page, "NAME").as_deref(), Some("taskq.toml \\- taskq\\*(Aqs job definitions file, jobs.toml"));
}

/// A key's documented default, without its backticks.
fn default_of(table: &str, key: &str) -> String {
    TABLES
        .iter()
        .find(|t| t.id == table)
        .and_then(|t| t.keys.iter().find(|k| k.name == key))
        .map_or_else(|| panic!("{table} {key} is not on the page"), |k| k.default.trim_matches('`').to_string())
}

fn duration_of(table: &str, key: &str) -> std::time::Duration {
    let text = default_of(table, key);
    humantime::parse_duration(&text)
        .unwrap_or_else(|e| panic!("{table} {key}: default {text:?} is not a duration: {e}"))
}

#[test]
fn the_defaults_on_the_page_are_the_ones_the_code_applies() {
    use crate::config::{
        DEFAULT_KILL_AFTER, DEFAULT_LEASE, DEFAULT_MAX_ITEMS, DEFAULT_MAX_REDELIVERIES, DEFAULT_RESULT_TTL,
        DEFAULT_RETRY_DELAY, DEFAULT_RETRY_DELAY_MAX, DEFAULT_SHELL,
    };
    let retention = crate::broker::Retention::default();
    assert_eq!(duration_of(table::TASKQ, "result_ttl"), DEFAULT_RESULT_TTL);
    assert_eq!(duration_of(table::TASKQ, "lease"), DEFAULT_LEASE);
    assert_eq!(duration_of(table::TASKQ, "failed_ttl"), retention.failed_ttl);
    assert_eq!(default_of(table::TASKQ, "failed_max"), retention.failed_max.to_string());
    assert_eq!(default_of(table::TASKQ, "namespace"), crate::names::Namespace::default_namespace().to_string());
    assert_eq!(duration_of(table::JOB, "kill_after"), DEFAULT_KILL_AFTER);
    assert_eq!(duration_of(table::JOB, "retry_delay"), DEFAULT_RETRY_DELAY);
    assert_eq!(duration_of(table::JOB, "retry_delay_max"), DEFAULT_RETRY_DELAY_MAX);
    assert_eq!(default_of(table::JOB, "shell"), DEFAULT_SHELL);
    assert_eq!(default_of(table::JOB, "max_redeliveries"), DEFAULT_MAX_REDELIVERIES.to_string());
    assert_eq!(default_of(table::JOB, "queue"), crate::names::QueueName::default_queue().to_string());
    assert_eq!(default_of(table::MAP_STEP, "max_items"), DEFAULT_MAX_ITEMS.to_string());
}
