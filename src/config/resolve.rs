//! Merging a job's `Fields` over `[defaults]` into a `JobDef`, and the
//! checks that need both or several keys at once.

use std::collections::{BTreeMap, BTreeSet};

use super::def::*;
use super::error::Diagnostics;
use super::fields::{Field, Fields};
use super::http::json_templates;
use super::raw::Span;
use super::suggest::did_you_mean;
use super::template::{Template, collect_params};
use crate::beat::schedule::Schedule;
use crate::names::{JobName, QueueName};
use crate::time::Zone;

/// The first of the job's value and the default's.
fn pick<T: Clone>(job: &Field<T>, defaults: &Field<T>) -> Option<T> {
    job.as_ref().or(defaults.as_ref()).map(|(v, _)| v.clone())
}

/// Merges a job's fields over `[defaults]` and checks them against each other.
pub(super) fn resolve(
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
