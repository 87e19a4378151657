//! Turns the parsed TOML tree into `Settings` and `JobDef`s, reporting every
//! problem at its place. Reading is in two steps: each table's keys become
//! `Fields` (types checked), then `[defaults]` and a job's fields are merged
//! and checked against each other.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::Duration;

use toml::de::{DeTable, DeValue};

use super::def::*;
use super::error::{ConfigError, Diagnostics, Location};
use super::raw::{self, Span, Table, Value};
use super::suggest::did_you_mean;
use super::template::{Syntax, Template, collect_params};
use super::{Config, JobSet};
use crate::beat::schedule::Schedule;
use crate::names::{JobName, QueueName};
use crate::time::Zone;

const TOP_KEYS: &[&str] = &["taskq", "defaults", "jobs"];
const TASKQ_KEYS: &[&str] = &["broker", "namespace", "timezone", "result_ttl", "lease"];
const HTTP_KEYS: &[&str] = &["method", "url", "headers", "json", "body"];
const JOB_KEYS: &[&str] = &[
    "command",
    "http",
    "shell",
    "workdir",
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
const JOB_ONLY_KEYS: &[&str] = &["command", "http", "schedule", "every", "params"];

type Field<T> = Option<(T, Span)>;

/// A job table or `[defaults]`, each key type-checked but nothing merged.
#[derive(Default, Clone)]
struct Fields {
    /// The table has a `command` or `http` key, valid or not.
    names_action: bool,
    command: Field<Template>,
    http: Field<HttpAction>,
    shell: Field<String>,
    workdir: Field<String>,
    env: Option<BTreeMap<String, (Template, Span)>>,
    queue: Field<QueueName>,
    timeout: Field<Duration>,
    kill_after: Field<Duration>,
    retries: Field<u32>,
    retry_delay: Field<Duration>,
    retry_delay_max: Field<Duration>,
    retry_jitter: Field<bool>,
    retry_on_exit: Field<Vec<i32>>,
    unique_for: Field<Duration>,
    expires: Field<Duration>,
    on_failure: Field<String>,
    on_success: Field<String>,
    success_status: Field<Vec<u16>>,
    success_exit: Field<Vec<i32>>,
    schedule: Field<Schedule>,
    every: Field<Duration>,
    timezone: Field<Zone>,
    params: Option<BTreeMap<String, (String, Span)>>,
    max_concurrent: Field<u32>,
    catch_up: Field<CatchUp>,
    result_ttl: Field<Duration>,
    ignore_result: Field<bool>,
    max_redeliveries: Field<u32>,
}

/// Parses and validates a whole config file.
pub(crate) fn parse(path: &Path, source: &str) -> Result<Config, Vec<ConfigError>> {
    let (doc, syntax_errors) = DeTable::parse_recoverable(source);
    if !syntax_errors.is_empty() {
        return Err(syntax_errors
            .iter()
            .map(|e| ConfigError {
                location: e.span().map(|s| Location::at(path, source, s.start)),
                message: format!("invalid TOML: {}", e.message().trim_end_matches('\n').replace('\n', "; ")),
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
        Some(v) => match v.get_ref() {
            DeValue::Table(t) => read_fields(&mut diag, t, true),
            _ => {
                diag.error(&v.span(), "\"defaults\" must be a table: write [defaults]");
                Fields::default()
            }
        },
        None => Fields::default(),
    };
    let mut raw_jobs = Vec::new();
    if let Some(jobs) = top.get("jobs") {
        match jobs.get_ref() {
            DeValue::Table(t) => {
                for (key, value) in t.iter() {
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
    for (_, _, fields) in &raw_jobs {
        let hooks = [
            ("on_failure", fields.on_failure.as_ref().or(defaults.on_failure.as_ref())),
            ("on_success", fields.on_success.as_ref().or(defaults.on_success.as_ref())),
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
    if diag.has_errors() {
        return Err(diag.into_errors());
    }
    Ok(Config { path: path.to_path_buf(), settings, jobs: JobSet::new(jobs) })
}

fn read_settings(diag: &mut Diagnostics<'_>, value: &Value<'_>) -> Settings {
    let DeValue::Table(t) = value.get_ref() else {
        diag.error(&value.span(), "\"taskq\" must be a table: write [taskq]");
        return Settings::default();
    };
    let table = Table { table: t };
    table.check_keys(diag, TASKQ_KEYS, &[]);
    let mut s = Settings::default();
    for (key, v) in t.iter() {
        match key.get_ref().as_ref() {
            "broker" => s.broker = raw::string(diag, "broker", v),
            "namespace" => {
                s.namespace =
                    raw::string(diag, "namespace", v).and_then(|ns| match crate::broker::validate_namespace(&ns) {
                        Ok(()) => Some(ns),
                        Err(e) => {
                            diag.error(&v.span(), e);
                            None
                        }
                    });
            }
            "timezone" => s.timezone = timezone(diag, v),
            "result_ttl" => s.result_ttl = positive_duration(diag, "result_ttl", v),
            "lease" => s.lease = positive_duration(diag, "lease", v),
            _ => {}
        }
    }
    s
}

fn timezone(diag: &mut Diagnostics<'_>, v: &Value<'_>) -> Option<Zone> {
    let name = raw::string(diag, "timezone", v)?;
    Zone::named(&name).map_err(|e| diag.error(&v.span(), e)).ok()
}

fn positive_duration(diag: &mut Diagnostics<'_>, key: &str, v: &Value<'_>) -> Option<Duration> {
    let d = raw::duration(diag, key, v)?;
    if d.is_zero() {
        diag.error(&v.span(), format!("\"{key}\" must be longer than 0s"));
        return None;
    }
    Some(d)
}

fn template(diag: &mut Diagnostics<'_>, key: &str, v: &Value<'_>, syntax: Syntax) -> Option<Template> {
    let text = raw::string(diag, key, v)?;
    Template::parse(&text, syntax).map_err(|e| diag.error(&v.span(), format!("\"{key}\": {e}"))).ok()
}

fn exit_codes(diag: &mut Diagnostics<'_>, key: &str, v: &Value<'_>) -> Option<Vec<i32>> {
    raw::integer_list(diag, key, v, 0..=255).map(|l| l.into_iter().map(|n| n as i32).collect())
}

fn read_fields(diag: &mut Diagnostics<'_>, t: &DeTable<'_>, in_defaults: bool) -> Fields {
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
    for (key, v) in t.iter() {
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
            "env" => f.env = env(diag, v),
            "queue" => {
                f.queue = at(
                    &span,
                    raw::string(diag, k, v).and_then(|q| QueueName::new(&q).map_err(|e| diag.error(&span, e)).ok()),
                )
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
                )
            }
            "unique_for" => f.unique_for = at(&span, positive_duration(diag, k, v)),
            "expires" => f.expires = at(&span, positive_duration(diag, k, v)),
            "on_failure" => f.on_failure = at(&span, raw::string(diag, k, v)),
            "on_success" => f.on_success = at(&span, raw::string(diag, k, v)),
            "schedule" => {
                f.schedule = at(
                    &span,
                    raw::string(diag, k, v).and_then(|s| Schedule::cron(&s).map_err(|e| diag.error(&span, e)).ok()),
                )
            }
            "every" => {
                f.every = at(
                    &span,
                    raw::duration(diag, k, v).and_then(|d| {
                        if d < Duration::from_secs(1) {
                            diag.error(&span, "\"every\" must be at least 1s");
                            None
                        } else {
                            Some(d)
                        }
                    }),
                )
            }
            "timezone" => f.timezone = at(&span, timezone(diag, v)),
            "params" => f.params = raw::string_table(diag, k, v),
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
                )
            }
            "result_ttl" => f.result_ttl = at(&span, positive_duration(diag, k, v)),
            "ignore_result" => f.ignore_result = at(&span, raw::boolean(diag, k, v)),
            "max_redeliveries" => {
                f.max_redeliveries = at(&span, raw::integer(diag, k, v, 0..=10_000).map(|n| n as u32))
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

fn http(diag: &mut Diagnostics<'_>, v: &Value<'_>) -> Option<HttpAction> {
    let DeValue::Table(t) = v.get_ref() else {
        diag.error(&v.span(), "\"http\" must be a table with at least a url: http = { url = \"https://...\" }");
        return None;
    };
    let table = Table { table: t };
    table.check_keys(diag, HTTP_KEYS, &[]);
    let mut ok = true;
    let method = match table.get("method") {
        None => reqwest::Method::GET,
        Some(m) => {
            let text = raw::string(diag, "method", m)?.to_ascii_uppercase();
            match reqwest::Method::from_bytes(text.as_bytes()) {
                Ok(m) if text.bytes().all(|b| b.is_ascii_alphabetic()) => m,
                _ => {
                    diag.error(
                        &m.span(),
                        format!("invalid HTTP method \"{text}\": use GET, POST, PUT, PATCH, DELETE or HEAD"),
                    );
                    ok = false;
                    reqwest::Method::GET
                }
            }
        }
    };
    let url = match table.get("url") {
        None => {
            diag.error(&v.span(), "\"http\" needs a \"url\"");
            None
        }
        Some(u) => template(diag, "url", u, Syntax::ParamsAndEnv).filter(|t| {
            let scheme_ok = t.literal_prefix().is_none_or(|p| {
                let p = p.to_ascii_lowercase();
                p.starts_with("http://")
                    || p.starts_with("https://")
                    || "https://".starts_with(&p)
                    || "http://".starts_with(&p)
            });
            if !scheme_ok {
                diag.error(&u.span(), "\"url\" must start with http:// or https://");
            }
            scheme_ok
        }),
    };
    let mut headers = Vec::new();
    if let Some(h) = table.get("headers")
        && let Some(map) = raw::string_table(diag, "headers", h)
    {
        for (name, (value, span)) in map {
            let Ok(header) = reqwest::header::HeaderName::from_bytes(name.as_bytes()) else {
                diag.error(&span, format!("invalid header name \"{name}\""));
                ok = false;
                continue;
            };
            match Template::parse(&value, Syntax::ParamsAndEnv) {
                Ok(t) => headers.push((header, t)),
                Err(e) => {
                    diag.error(&span, format!("\"headers.{name}\": {e}"));
                    ok = false;
                }
            }
        }
    }
    let body = match (table.get("json"), table.get("body")) {
        (Some(_), Some(b)) => {
            diag.error(&b.span(), "\"http\" has both \"json\" and \"body\": keep one");
            ok = false;
            HttpBody::None
        }
        (Some(j), None) => match raw::json(diag, j) {
            Some(value) => match json_templates(&value) {
                Ok(_) => HttpBody::Json(value),
                Err(e) => {
                    diag.error(&j.span(), format!("\"json\": {e}"));
                    ok = false;
                    HttpBody::None
                }
            },
            None => {
                ok = false;
                HttpBody::None
            }
        },
        (None, Some(b)) => match template(diag, "body", b, Syntax::ParamsAndEnv) {
            Some(t) => HttpBody::Raw(t),
            None => {
                ok = false;
                HttpBody::None
            }
        },
        (None, None) => HttpBody::None,
    };
    let url = url?;
    ok.then_some(HttpAction { method, url, headers, body })
}

/// Every template among a JSON document's strings.
pub(crate) fn json_templates(value: &serde_json::Value) -> Result<Vec<Template>, String> {
    let mut out = Vec::new();
    fn walk(v: &serde_json::Value, out: &mut Vec<Template>) -> Result<(), String> {
        match v {
            serde_json::Value::String(s) => out.push(Template::parse(s, Syntax::ParamsAndEnv)?),
            serde_json::Value::Array(items) => items.iter().try_for_each(|i| walk(i, out))?,
            serde_json::Value::Object(map) => map.values().try_for_each(|i| walk(i, out))?,
            _ => {}
        }
        Ok(())
    }
    walk(value, &mut out)?;
    Ok(out)
}

/// A value with the span it was read from.
fn at<T>(span: &Span, value: Option<T>) -> Field<T> {
    value.map(|v| (v, span.clone()))
}

/// The first of the job's value and the default's.
fn pick<T: Clone>(job: &Field<T>, defaults: &Field<T>) -> Option<T> {
    job.as_ref().or(defaults.as_ref()).map(|(v, _)| v.clone())
}

/// Merges a job's fields over `[defaults]` and checks them against each other.
fn resolve(
    diag: &mut Diagnostics<'_>,
    name: &JobName,
    name_span: &Span,
    f: &Fields,
    d: &Fields,
    settings: &Settings,
    all_names: &[&str],
) -> Option<JobDef> {
    let action = match (&f.command, &f.http) {
        (Some((command, _)), None) => {
            let shell = pick(&f.shell, &d.shell).unwrap_or_else(|| DEFAULT_SHELL.to_string());
            Some(Action::Shell { shell, command: command.clone() })
        }
        (None, Some((http, _))) => Some(Action::Http(http.clone())),
        (Some(_), Some((_, span))) => {
            diag.error(span, format!("job \"{name}\" has both \"command\" and \"http\": a job runs one of them"));
            None
        }
        (None, None) => {
            // An invalid command or http was reported where it stands.
            if !f.names_action {
                diag.error(name_span, format!("job \"{name}\" needs a \"command\" or an \"http\" table"));
            }
            None
        }
    };
    let is_http = matches!(action, Some(Action::Http(_))) || f.http.is_some();
    // Keys of the other kind are errors on the job itself, ignored from [defaults].
    let shell_only: [(&str, Option<&Span>); 4] = [
        ("shell", f.shell.as_ref().map(|x| &x.1)),
        ("workdir", f.workdir.as_ref().map(|x| &x.1)),
        ("retry_on_exit", f.retry_on_exit.as_ref().map(|x| &x.1)),
        ("success_exit", f.success_exit.as_ref().map(|x| &x.1)),
    ];
    for (key, span) in shell_only {
        if let (true, Some(span)) = (is_http, span) {
            diag.error(span, format!("\"{key}\" applies to shell jobs; \"{name}\" is an HTTP job"));
        }
    }
    if let (false, Some((_, span))) = (is_http, &f.success_status) {
        diag.error(
            span,
            format!("\"success_status\" applies to HTTP jobs; \"{name}\" is a shell job (use success_exit)"),
        );
    }
    if let (true, Some(env)) = (is_http, &f.env)
        && let Some((_, (_, span))) = env.iter().next()
    {
        diag.error(
            span,
            format!("\"env\" applies to shell jobs; use ${{VAR}} in the URL, headers or body of \"{name}\""),
        );
    }

    let mut env: BTreeMap<String, Template> = BTreeMap::new();
    if !is_http {
        for source in [&d.env, &f.env].into_iter().flatten() {
            env.extend(source.iter().map(|(k, (t, _))| (k.clone(), t.clone())));
        }
    }

    let mut param_names = BTreeSet::new();
    match &action {
        Some(Action::Shell { command, .. }) => collect_params(command, &mut param_names),
        Some(Action::Http(h)) => {
            collect_params(&h.url, &mut param_names);
            h.headers.iter().for_each(|(_, t)| collect_params(t, &mut param_names));
            match &h.body {
                HttpBody::Raw(t) => collect_params(t, &mut param_names),
                HttpBody::Json(j) => {
                    for t in json_templates(j).unwrap_or_default() {
                        collect_params(&t, &mut param_names);
                    }
                }
                HttpBody::None => {}
            }
        }
        None => {}
    }
    let mut params = BTreeMap::new();
    for (p, (value, span)) in f.params.iter().flatten() {
        if !param_names.contains(p) {
            diag.error(span, format!("parameter \"{p}\" has a default but no template of \"{name}\" uses {{{{{p}}}}}"));
        }
        params.insert(p.clone(), value.clone());
    }

    let schedule = match (&f.schedule, &f.every) {
        (Some(_), Some((_, span))) => {
            diag.error(span, format!("job \"{name}\" has both \"schedule\" and \"every\": keep one"));
            None
        }
        (Some((s, _)), None) => Some(s.clone()),
        (None, Some((every, _))) => Some(Schedule::Every(*every)),
        (None, None) => None,
    };
    let schedule_span = f.schedule.as_ref().map(|x| &x.1).or(f.every.as_ref().map(|x| &x.1));
    if let Some(span) = schedule_span {
        for p in param_names.iter().filter(|p| !params.contains_key(*p)) {
            diag.error(
                span,
                format!("scheduled job \"{name}\" uses {{{{{p}}}}} without a default: add {p} to its params"),
            );
        }
    }

    let mut hook = |field: &Field<String>, key: &str| -> Option<JobName> {
        let (target, span) = field.as_ref().or(match key {
            "on_failure" => d.on_failure.as_ref(),
            _ => d.on_success.as_ref(),
        })?;
        if target == name.as_str() {
            diag.error(span, format!("\"{key}\" of \"{name}\" names the job itself"));
            return None;
        }
        if !all_names.contains(&target.as_str()) {
            let hint = did_you_mean(target, all_names.iter().copied())
                .map(|s| format!(" (did you mean \"{s}\"?)"))
                .unwrap_or_default();
            diag.error(span, format!("\"{key}\" names unknown job \"{target}\"{hint}"));
            return None;
        }
        JobName::new(target).ok()
    };
    let on_failure = hook(&f.on_failure, "on_failure");
    let on_success = hook(&f.on_success, "on_success");

    let retry = RetryPolicy {
        retries: pick(&f.retries, &d.retries).unwrap_or(0),
        delay: pick(&f.retry_delay, &d.retry_delay).unwrap_or(DEFAULT_RETRY_DELAY),
        delay_max: pick(&f.retry_delay_max, &d.retry_delay_max).unwrap_or(DEFAULT_RETRY_DELAY_MAX),
        jitter: pick(&f.retry_jitter, &d.retry_jitter).unwrap_or(false),
        on_exit: if is_http { None } else { pick(&f.retry_on_exit, &d.retry_on_exit) },
    };
    if retry.delay_max < retry.delay
        && let Some((_, span)) = f.retry_delay_max.as_ref().or(d.retry_delay_max.as_ref())
    {
        diag.error(span, "\"retry_delay_max\" is shorter than \"retry_delay\"");
    }

    Some(JobDef {
        name: name.clone(),
        action: action?,
        workdir: if is_http { None } else { pick(&f.workdir, &d.workdir).map(Into::into) },
        env,
        queue: pick(&f.queue, &d.queue).unwrap_or_else(QueueName::default_queue),
        timeout: pick(&f.timeout, &d.timeout),
        kill_after: pick(&f.kill_after, &d.kill_after).unwrap_or(DEFAULT_KILL_AFTER),
        retry,
        success_exit: if is_http { vec![0] } else { pick(&f.success_exit, &d.success_exit).unwrap_or_else(|| vec![0]) },
        success_status: if is_http { pick(&f.success_status, &d.success_status) } else { None },
        unique_for: pick(&f.unique_for, &d.unique_for),
        expires: pick(&f.expires, &d.expires),
        on_failure,
        on_success,
        schedule,
        timezone: pick(&f.timezone, &d.timezone).or_else(|| settings.timezone.clone()).unwrap_or_else(Zone::system),
        params,
        param_names,
        max_concurrent: pick(&f.max_concurrent, &d.max_concurrent),
        catch_up: pick(&f.catch_up, &d.catch_up).unwrap_or_default(),
        result_ttl: pick(&f.result_ttl, &d.result_ttl).or(settings.result_ttl).unwrap_or(DEFAULT_RESULT_TTL),
        ignore_result: pick(&f.ignore_result, &d.ignore_result).unwrap_or(false),
        max_redeliveries: pick(&f.max_redeliveries, &d.max_redeliveries).unwrap_or(DEFAULT_MAX_REDELIVERIES),
    })
}
