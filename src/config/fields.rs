//! Reading a job table or `[defaults]` into `Fields`: each key's type and
//! form checked, nothing merged yet (`resolve.rs` does that).

use std::collections::BTreeMap;
use std::time::Duration;

use toml::de::{DeTable, DeValue};

use super::def::{CatchUp, HttpAction};
use super::error::Diagnostics;
use super::http::http;
use super::params::ParamRule;
use super::raw::{self, Span, Table, Value};
use super::template::{Syntax, Template};
use crate::names::QueueName;
use crate::schedule::Schedule;
use crate::time::Zone;

pub(super) const JOB_KEYS: &[&str] = &[
    "command",
    "http",
    "shell",
    "workdir",
    "user",
    "group",
    "env",
    "queue",
    "timeout",
    "kill_after",
    "retries",
    "retry_delay",
    "retry_delay_max",
    "retry_jitter",
    "retry_on_exit",
    "unique_for",
    "expires",
    "on_failure",
    "on_success",
    "success_status",
    "success_exit",
    "schedule",
    "every",
    "timezone",
    "params",
    "max_concurrent",
    "catch_up",
    "result_ttl",
    "ignore_result",
    "max_redeliveries",
];
/// Keys that only make sense per job.
pub(super) const JOB_ONLY_KEYS: &[&str] = &["command", "http", "schedule", "every", "params"];

pub(super) type Field<T> = Option<(T, Span)>;

/// A job table or `[defaults]`, each key type-checked but nothing merged.
#[derive(Default, Clone)]
pub(super) struct Fields {
    /// The table has a `command` or `http` key, valid or not.
    pub(super) names_action: bool,
    pub(super) command: Field<Template>,
    pub(super) http: Field<HttpAction>,
    pub(super) shell: Field<String>,
    pub(super) workdir: Field<String>,
    pub(super) user: Field<String>,
    pub(super) group: Field<String>,
    pub(super) env: Option<BTreeMap<String, (Template, Span)>>,
    pub(super) queue: Field<QueueName>,
    pub(super) timeout: Field<Duration>,
    pub(super) kill_after: Field<Duration>,
    pub(super) retries: Field<u32>,
    pub(super) retry_delay: Field<Duration>,
    pub(super) retry_delay_max: Field<Duration>,
    pub(super) retry_jitter: Field<bool>,
    pub(super) retry_on_exit: Field<Vec<i32>>,
    pub(super) unique_for: Field<Duration>,
    pub(super) expires: Field<Duration>,
    pub(super) on_failure: Field<Hook>,
    pub(super) on_success: Field<Hook>,
    pub(super) success_status: Field<Vec<u16>>,
    pub(super) success_exit: Field<Vec<i32>>,
    pub(super) schedule: Field<Schedule>,
    pub(super) every: Field<Duration>,
    pub(super) timezone: Field<Zone>,
    pub(super) params: Option<BTreeMap<String, (ParamRule, Span)>>,
    pub(super) max_concurrent: Field<u32>,
    pub(super) catch_up: Field<CatchUp>,
    pub(super) result_ttl: Field<Duration>,
    pub(super) ignore_result: Field<bool>,
    pub(super) max_redeliveries: Field<u32>,
}

/// What `on_failure` or `on_success` says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Hook {
    /// Enqueue this job (a name not checked yet).
    Job(String),
    /// `false`: no hook, whatever `[defaults]` says.
    Off,
}

impl Hook {
    pub(super) fn job(&self) -> Option<&str> {
        match self {
            Hook::Job(name) => Some(name),
            Hook::Off => None,
        }
    }
}

/// A hook key: a job's name, or `false` for none. An empty name and `true`
/// are refused with the way to say "none", as users reach for them first.
pub(super) fn hook(diag: &mut Diagnostics<'_>, key: &str, v: &Value<'_>) -> Option<Hook> {
    match v.get_ref() {
        DeValue::String(name) if name.is_empty() => {
            diag.error(&v.span(), format!("\"{key}\" is empty: name a job, or write {key} = false for no hook"));
            None
        }
        DeValue::String(name) => Some(Hook::Job(name.to_string())),
        DeValue::Boolean(false) => Some(Hook::Off),
        DeValue::Boolean(true) => {
            diag.error(
                &v.span(),
                format!("\"{key}\" = true names no job: name a job, or write {key} = false for no hook"),
            );
            None
        }
        _ => {
            raw::wrong_type(diag, key, v, "a job's name or false");
            None
        }
    }
}

pub(super) fn timezone(diag: &mut Diagnostics<'_>, v: &Value<'_>) -> Option<Zone> {
    let name = raw::string(diag, "timezone", v)?;
    Zone::named(&name).map_err(|e| diag.error(&v.span(), e)).ok()
}

pub(super) fn positive_duration(diag: &mut Diagnostics<'_>, key: &str, v: &Value<'_>) -> Option<Duration> {
    let d = raw::duration(diag, key, v)?;
    if d.is_zero() {
        diag.error(&v.span(), format!("\"{key}\" must be longer than 0s"));
        return None;
    }
    Some(d)
}

pub(super) fn template(diag: &mut Diagnostics<'_>, key: &str, v: &Value<'_>, syntax: Syntax) -> Option<Template> {
    let text = raw::string(diag, key, v)?;
    Template::parse(&text, syntax).map_err(|e| diag.error(&v.span(), format!("\"{key}\": {e}"))).ok()
}

fn exit_codes(diag: &mut Diagnostics<'_>, key: &str, v: &Value<'_>) -> Option<Vec<i32>> {
    raw::integer_list(diag, key, v, 0..=255).map(|l| l.into_iter().map(|n| n as i32).collect())
}

pub(super) fn read_fields(diag: &mut Diagnostics<'_>, t: &DeTable<'_>, in_defaults: bool) -> Fields {
    let table = Table { table: t };
    if in_defaults {
        let allowed: Vec<&str> = JOB_KEYS.iter().copied().filter(|k| !JOB_ONLY_KEYS.contains(k)).collect();
        let why = "set it per job, in [jobs.NAME]";
        let not_here: Vec<(&str, &str)> = JOB_ONLY_KEYS.iter().map(|k| (*k, why)).collect();
        table.check_keys(diag, &allowed, &not_here);
    } else {
        table.check_keys(diag, JOB_KEYS, &[]);
    }
    let mut f = Fields { names_action: t.contains_key("command") || t.contains_key("http"), ..Fields::default() };
    for (key, v) in t {
        let k = key.get_ref().as_ref();
        if in_defaults && JOB_ONLY_KEYS.contains(&k) {
            continue;
        }
        let span = v.span();
        match k {
            "command" => f.command = at(&span, template(diag, k, v, Syntax::Params)),
            "http" => f.http = at(&span, http(diag, v)),
            "shell" => f.shell = at(&span, raw::string(diag, k, v).filter(|s| !s.is_empty())),
            "workdir" => f.workdir = at(&span, raw::string(diag, k, v)),
            "user" | "group" => {
                let name = at(&span, account(diag, k, v));
                if k == "user" { f.user = name } else { f.group = name }
            }
            "env" => f.env = env(diag, v),
            "queue" => {
                f.queue = at(
                    &span,
                    raw::string(diag, k, v).and_then(|q| QueueName::new(&q).map_err(|e| diag.error(&span, e)).ok()),
                );
            }
            "timeout" => f.timeout = at(&span, positive_duration(diag, k, v)),
            "kill_after" => f.kill_after = at(&span, raw::duration(diag, k, v)),
            "retries" => f.retries = at(&span, raw::integer(diag, k, v, 0..=10_000).map(|n| n as u32)),
            "retry_delay" => f.retry_delay = at(&span, raw::duration(diag, k, v)),
            "retry_delay_max" => f.retry_delay_max = at(&span, raw::duration(diag, k, v)),
            "retry_jitter" => f.retry_jitter = at(&span, raw::boolean(diag, k, v)),
            "retry_on_exit" => f.retry_on_exit = at(&span, exit_codes(diag, k, v)),
            "success_exit" => f.success_exit = at(&span, exit_codes(diag, k, v)),
            "success_status" => {
                f.success_status = at(
                    &span,
                    raw::integer_list(diag, k, v, 100..=599).map(|l| l.into_iter().map(|n| n as u16).collect()),
                );
            }
            "unique_for" => f.unique_for = at(&span, positive_duration(diag, k, v)),
            "expires" => f.expires = at(&span, positive_duration(diag, k, v)),
            "on_failure" => f.on_failure = at(&span, hook(diag, k, v)),
            "on_success" => f.on_success = at(&span, hook(diag, k, v)),
            "schedule" => {
                f.schedule = at(
                    &span,
                    raw::string(diag, k, v).and_then(|s| Schedule::cron(&s).map_err(|e| diag.error(&span, e)).ok()),
                );
            }
            "every" => {
                f.every = at(
                    &span,
                    raw::duration(diag, k, v).and_then(|d| {
                        if d < Duration::from_secs(1) {
                            diag.error(&span, "\"every\" must be at least 1s");
                            None
                        } else {
                            Schedule::every(d).map_err(|e| diag.error(&span, e)).ok().map(|_| d)
                        }
                    }),
                );
            }
            "timezone" => f.timezone = at(&span, timezone(diag, v)),
            "params" => f.params = super::params::read(diag, v),
            "max_concurrent" => f.max_concurrent = at(&span, raw::integer(diag, k, v, 1..=1_000_000).map(|n| n as u32)),
            "catch_up" => {
                f.catch_up = at(
                    &span,
                    raw::string(diag, k, v).and_then(|s| match s.as_str() {
                        "skip" => Some(CatchUp::Skip),
                        "once" => Some(CatchUp::Once),
                        "all" => Some(CatchUp::All),
                        other => {
                            diag.error(
                                &span,
                                format!("\"catch_up\" must be \"skip\", \"once\" or \"all\", not \"{other}\""),
                            );
                            None
                        }
                    }),
                );
            }
            "result_ttl" => f.result_ttl = at(&span, positive_duration(diag, k, v)),
            "ignore_result" => f.ignore_result = at(&span, raw::boolean(diag, k, v)),
            "max_redeliveries" => {
                f.max_redeliveries = at(&span, raw::integer(diag, k, v, 0..=10_000).map(|n| n as u32));
            }
            _ => {}
        }
    }
    f
}

fn env(diag: &mut Diagnostics<'_>, v: &Value<'_>) -> Option<BTreeMap<String, (Template, Span)>> {
    let table = raw::string_table(diag, "env", v)?;
    let mut out = BTreeMap::new();
    for (name, (value, span)) in table {
        if name.is_empty() || name.contains('=') || name.contains('\0') {
            diag.error(&span, format!("invalid environment variable name \"{name}\""));
            continue;
        }
        match Template::parse(&value, Syntax::Env) {
            Ok(t) => {
                out.insert(name, (t, span));
            }
            Err(e) => diag.error(&span, format!("\"env.{name}\": {e}")),
        }
    }
    Some(out)
}

/// A user or group name as /etc/passwd and /etc/group spell them. Whether
/// it exists is the worker's host's business, looked up when a run starts.
fn account(diag: &mut Diagnostics<'_>, key: &str, v: &Value<'_>) -> Option<String> {
    let name = raw::string(diag, key, v)?;
    let valid = !name.is_empty()
        && name.len() <= 256
        && !name.starts_with('-')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-$@".contains(c));
    if !valid {
        diag.error(
            &v.span(),
            format!(
                "\"{key}\": \"{}\" is not a {key} name (letters, digits, '.', '_', '-', '@')",
                crate::text::one_line(&name)
            ),
        );
        return None;
    }
    Some(name)
}

/// A value with the span it was read from.
fn at<T>(span: &Span, value: Option<T>) -> Field<T> {
    value.map(|v| (v, span.clone()))
}
