//! Turns the parsed TOML tree into `Settings`, `JobDef`s and `WorkflowDef`s
//! (workflow.rs), reporting every
//! problem at its place. Reading is in two steps: each table's keys become
//! `Fields` (fields.rs: types checked), then `[defaults]` and a job's fields
//! are merged and checked against each other (resolve.rs).

use std::path::Path;

use toml::de::{DeTable, DeValue};

use super::def::Settings;
use super::error::{ConfigError, Diagnostics, Location};
use super::fields::{Fields, positive_duration, read_fields, timezone};
use super::raw::{self, Table, Value};
use super::resolve::{hook_of, resolve};
use super::{Config, JobSet};
use crate::names::JobName;

/// The tables of a jobs file.
pub(super) const TOP_KEYS: &[&str] = &["taskq", "defaults", "jobs", "workflows"];
/// The keys of `[taskq]`.
pub(super) const TASKQ_KEYS: &[&str] =
    &["broker", "namespace", "timezone", "result_ttl", "lease", "failed_max", "failed_ttl"];

/// Parses and validates a whole config file.
pub(crate) fn parse(path: &Path, source: &str) -> Result<Config, Vec<ConfigError>> {
    let (doc, syntax_errors) = DeTable::parse_recoverable(source);
    if !syntax_errors.is_empty() {
        return Err(syntax_errors
            .iter()
            .map(|e| {
                let what = format!("invalid TOML: {}", e.message().trim_end_matches('\n').replace('\n', "; "));
                match e.span() {
                    Some(s) => ConfigError { location: Some(Location::at(path, source, s.start)), message: what },
                    // Some errors (nesting too deep) have no place: name the file at least.
                    None => ConfigError { location: None, message: format!("{}: {what}", path.display()) },
                }
            })
            .collect());
    }
    let mut diag = Diagnostics::new(path, source);
    let top = Table { table: doc.get_ref() };
    top.check_keys(&mut diag, TOP_KEYS, &[]);

    let settings = match top.get("taskq") {
        Some(v) => read_settings(&mut diag, v),
        None => Settings::default(),
    };
    let defaults = match top.get("defaults") {
        Some(v) => {
            if let DeValue::Table(t) = v.get_ref() {
                read_fields(&mut diag, t, true)
            } else {
                diag.error(&v.span(), "\"defaults\" must be a table: write [defaults]");
                Fields::default()
            }
        }
        None => Fields::default(),
    };
    let mut raw_jobs = Vec::new();
    if let Some(jobs) = top.get("jobs") {
        match jobs.get_ref() {
            DeValue::Table(t) => {
                for (key, value) in t {
                    let name = match JobName::new(key.get_ref()) {
                        Ok(n) => n,
                        Err(e) => {
                            diag.error(&key.span(), e);
                            continue;
                        }
                    };
                    let DeValue::Table(job) = value.get_ref() else {
                        diag.error(&value.span(), format!("job \"{name}\" must be a table: write [jobs.{name}]"));
                        continue;
                    };
                    raw_jobs.push((name, key.span(), read_fields(&mut diag, job, false)));
                }
            }
            _ => diag.error(&jobs.span(), "\"jobs\" must be a table: write [jobs.NAME] sections"),
        }
    }

    let names: Vec<&str> = raw_jobs.iter().map(|(n, _, _)| n.as_str()).collect();
    let mut jobs = Vec::new();
    for (name, span, fields) in &raw_jobs {
        if let Some(def) = resolve(&mut diag, name, span, fields, &defaults, &settings, &names) {
            jobs.push(def);
        }
    }
    // A hook job runs with its parameters' defaults only.
    for (name, _, fields) in &raw_jobs {
        let hooks = [
            ("on_failure", hook_of(name, fields.on_failure.as_ref(), defaults.on_failure.as_ref())),
            ("on_success", hook_of(name, fields.on_success.as_ref(), defaults.on_success.as_ref())),
        ];
        for (key, hook) in hooks {
            let Some((target, span)) = hook else { continue };
            let Some(def) = jobs.iter().find(|j| j.name.as_str() == target) else { continue };
            if let Some(param) = def.param_names.iter().find(|p| !def.params.contains_key(*p)) {
                diag.error(
                    span,
                    format!(
                        "\"{key}\" names job \"{target}\", whose parameter \"{param}\" has no default: a hook job runs with its params defaults only"
                    ),
                );
            }
        }
    }
    let (workflows, workflow_ticks) = match top.get("workflows") {
        Some(v) => super::workflow::read(&mut diag, v, &jobs, &settings),
        None => (Vec::new(), Vec::new()),
    };
    if diag.has_errors() {
        return Err(diag.into_errors());
    }
    Ok(Config { path: path.to_path_buf(), settings, jobs: JobSet::new(jobs), workflows, workflow_ticks })
}

fn read_settings(diag: &mut Diagnostics<'_>, value: &Value<'_>) -> Settings {
    let DeValue::Table(t) = value.get_ref() else {
        diag.error(&value.span(), "\"taskq\" must be a table: write [taskq]");
        return Settings::default();
    };
    let table = Table { table: t };
    table.check_keys(diag, TASKQ_KEYS, &[]);
    let mut s = Settings::default();
    for (key, v) in t {
        match key.get_ref().as_ref() {
            "broker" => s.broker = raw::string(diag, "broker", v),
            "namespace" => {
                s.namespace =
                    raw::string(diag, "namespace", v).and_then(|ns| match crate::names::Namespace::new(&ns) {
                        Ok(ns) => Some(ns),
                        Err(e) => {
                            diag.error(&v.span(), e);
                            None
                        }
                    });
            }
            "timezone" => s.timezone = timezone(diag, v),
            "result_ttl" => s.result_ttl = positive_duration(diag, "result_ttl", v),
            "lease" => s.lease = positive_duration(diag, "lease", v),
            "failed_max" => {
                s.failed_max = raw::integer(diag, "failed_max", v, 1..=i64::from(u32::MAX)).map(|n| n as u64);
            }
            "failed_ttl" => s.failed_ttl = positive_duration(diag, "failed_ttl", v),
            _ => {}
        }
    }
    s
}
