//! Merging a job's `Fields` over `[defaults]` into a `JobDef`, and the
//! checks that need both or several keys at once.

use std::collections::{BTreeMap, BTreeSet};

use super::ParamError;
use super::contexts::arithmetic_params;
use super::def::{
    Action, DEFAULT_KILL_AFTER, DEFAULT_MAX_REDELIVERIES, DEFAULT_RESULT_TTL, DEFAULT_RETRY_DELAY,
    DEFAULT_RETRY_DELAY_MAX, DEFAULT_SHELL, HttpAction, HttpBody, JobDef, RetryPolicy, RunAs, Settings, ShellAction,
};
use super::error::Diagnostics;
use super::evaluated::evaluated_params;
use super::fields::{Field, Fields, Hook};
use super::params::{ParamType, check_anywhere};
use super::raw::Span;
use super::suggest::did_you_mean;
use super::template::{Template, collect_params, param_var};
use crate::names::{JobName, QueueName};
use crate::schedule::Schedule;
use crate::time::Zone;

/// The first of the job's value and the default's.
/// `user` and `group`, the job's own over `[defaults]`'s. A group alone
/// is refused: cron knows no such thing, and it would run the job as the
/// worker's user in another group, which is rarely what was meant.
fn run_as(diag: &mut Diagnostics<'_>, name: &JobName, f: &Fields, d: &Fields) -> Option<RunAs> {
    let user = f.user.as_ref().or(d.user.as_ref());
    let group = f.group.as_ref().or(d.group.as_ref());
    match (user, group) {
        (Some((user, _)), group) => Some(RunAs { user: user.clone(), group: group.map(|(g, _)| g.clone()) }),
        (None, Some((_, span))) => {
            diag.error(span, format!("\"group\" of \"{name}\" needs a \"user\" to run as: add user = \"NAME\""));
            None
        }
        (None, None) => None,
    }
}

fn pick<T: Clone>(job: Option<&(T, Span)>, defaults: Option<&(T, Span)>) -> Option<T> {
    job.or(defaults).map(|(v, _)| v.clone())
}

/// The job a hook key of job `name` names, with the span it was read from:
/// the job's own value, else `[defaults]`'s; `false` means none. A default
/// naming the job itself does not apply to that job: the alert job every
/// other job reports to cannot report to itself (each of its failures would
/// enqueue it again).
pub(super) fn hook_of<'f>(
    name: &JobName,
    own: Option<&'f (Hook, Span)>,
    default: Option<&'f (Hook, Span)>,
) -> Option<(&'f str, &'f Span)> {
    match (own, default) {
        (Some((hook, span)), _) => hook.job().map(|job| (job, span)),
        (None, Some((Hook::Job(job), span))) if job != name.as_str() => Some((job.as_str(), span)),
        _ => None,
    }
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
            let shell = pick(f.shell.as_ref(), d.shell.as_ref()).unwrap_or_else(|| DEFAULT_SHELL.to_string());
            Some(Action::Shell(ShellAction {
                shell,
                command: command.clone(),
                workdir: None,
                run_as: None,
                env: BTreeMap::new(),
                success_exit: vec![0],
                retry_on_exit: None,
            }))
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
    let shell_only: [(&str, Option<&Span>); 6] = [
        ("shell", f.shell.as_ref().map(|x| &x.1)),
        ("workdir", f.workdir.as_ref().map(|x| &x.1)),
        ("user", f.user.as_ref().map(|x| &x.1)),
        ("group", f.group.as_ref().map(|x| &x.1)),
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
        Some(Action::Shell(shell)) => collect_params(&shell.command, &mut param_names),
        Some(Action::Http(h)) => {
            collect_params(&h.url, &mut param_names);
            h.headers.iter().for_each(|(_, t)| collect_params(t, &mut param_names));
            match &h.body {
                HttpBody::Raw(t) => collect_params(t, &mut param_names),
                HttpBody::Json(j) => {
                    for t in j.templates() {
                        collect_params(t, &mut param_names);
                    }
                }
                HttpBody::None => {}
            }
        }
        Some(Action::Workflow) | None => {}
    }
    let mut params = BTreeMap::new();
    let mut param_rules = BTreeMap::new();
    for (p, (rule, span)) in f.params.iter().flatten() {
        if !param_names.contains(p) {
            diag.error(span, format!("parameter \"{p}\" is declared but no template of \"{name}\" uses {{{{{p}}}}}"));
        }
        if let Some(default) = &rule.default {
            // What enqueue would refuse in a value, `check` refuses in a
            // default: a scheduled run would otherwise fail at every tick.
            let shell = matches!(action, Some(Action::Shell(_)));
            if let Some(why) = check_anywhere(default, shell, &format!("{}=", param_var(p))) {
                diag.error(span, format!("the default of parameter \"{p}\" cannot be used: {why}"));
            }
            params.insert(p.clone(), default.clone());
        }
        param_rules.insert(p.clone(), rule.clone());
    }
    if let (Some(Action::Shell(ShellAction { command, .. })), Some((_, span))) = (&action, &f.command) {
        for p in evaluated_params(command) {
            if param_rules.get(&p).is_none_or(|r| r.kind == ParamType::String && r.pattern.is_none()) {
                diag.error(
                    span,
                    format!(
                        "{{{{{p}}}}} stands in text run as code (a -c script, eval, ssh, a program fed to an \
                         interpreter, a command's name), where the value becomes code: pass it as an argument instead (sh -c 'echo \"$1\"' sh {{{{{p}}}}}), or give \
                         it a type or a pattern"
                    ),
                );
            }
        }
        for p in arithmetic_params(command) {
            if param_rules.get(&p).map(|r| r.kind).unwrap_or_default() != ParamType::Int {
                diag.error(
                    span,
                    format!(
                        "{{{{{p}}}}} stands in shell arithmetic ($(( )), (( )), [[ -eq ]], an array subscript, let), \
                         where bash evaluates a value as code whatever its quotes: give it type \"int\" \
                         (params = {{ {p} = {{ type = \"int\" }} }})"
                    ),
                );
            }
        }
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

    let mut hook = |own: &Field<Hook>, default: &Field<Hook>, key: &str| -> Option<JobName> {
        let (target, span) = hook_of(name, own.as_ref(), default.as_ref())?;
        if target == name.as_str() {
            diag.error(span, format!("\"{key}\" of \"{name}\" names the job itself"));
            return None;
        }
        if !all_names.contains(&target) {
            let hint = did_you_mean(target, all_names.iter().copied())
                .map(|s| format!(" (did you mean \"{s}\"?)"))
                .unwrap_or_default();
            diag.error(span, format!("\"{key}\" names unknown job \"{target}\"{hint}"));
            return None;
        }
        JobName::new(target).ok()
    };
    let on_failure = hook(&f.on_failure, &d.on_failure, "on_failure");
    let on_success = hook(&f.on_success, &d.on_success, "on_success");

    let retry = RetryPolicy {
        retries: pick(f.retries.as_ref(), d.retries.as_ref()).unwrap_or(0),
        delay: pick(f.retry_delay.as_ref(), d.retry_delay.as_ref()).unwrap_or(DEFAULT_RETRY_DELAY),
        delay_max: pick(f.retry_delay_max.as_ref(), d.retry_delay_max.as_ref()).unwrap_or(DEFAULT_RETRY_DELAY_MAX),
        jitter: pick(f.retry_jitter.as_ref(), d.retry_jitter.as_ref()).unwrap_or(false),
    };
    if retry.delay_max < retry.delay
        && let Some((_, span)) = f.retry_delay_max.as_ref().or(d.retry_delay_max.as_ref())
    {
        diag.error(span, "\"retry_delay_max\" is shorter than \"retry_delay\"");
    }

    // Each kind's own settings go into its action; the other kind's were
    // reported above (or, from [defaults], do not apply).
    let action = match action? {
        Action::Shell(shell) => Action::Shell(ShellAction {
            workdir: pick(f.workdir.as_ref(), d.workdir.as_ref()).map(Into::into),
            run_as: run_as(diag, name, f, d),
            env,
            success_exit: pick(f.success_exit.as_ref(), d.success_exit.as_ref()).unwrap_or_else(|| vec![0]),
            retry_on_exit: pick(f.retry_on_exit.as_ref(), d.retry_on_exit.as_ref()),
            ..shell
        }),
        Action::Http(http) => Action::Http(HttpAction {
            success_status: pick(f.success_status.as_ref(), d.success_status.as_ref()),
            ..http
        }),
        Action::Workflow => Action::Workflow,
    };
    let def = JobDef {
        name: name.clone(),
        action,
        queue: pick(f.queue.as_ref(), d.queue.as_ref()).unwrap_or_else(QueueName::default_queue),
        timeout: pick(f.timeout.as_ref(), d.timeout.as_ref()),
        kill_after: pick(f.kill_after.as_ref(), d.kill_after.as_ref()).unwrap_or(DEFAULT_KILL_AFTER),
        retry,
        unique_for: pick(f.unique_for.as_ref(), d.unique_for.as_ref()),
        expires: pick(f.expires.as_ref(), d.expires.as_ref()),
        on_failure,
        on_success,
        schedule,
        timezone: pick(f.timezone.as_ref(), d.timezone.as_ref())
            .or_else(|| settings.timezone.clone())
            .unwrap_or_else(Zone::system),
        params,
        param_rules,
        param_names,
        max_concurrent: pick(f.max_concurrent.as_ref(), d.max_concurrent.as_ref()),
        catch_up: pick(f.catch_up.as_ref(), d.catch_up.as_ref()).unwrap_or_default(),
        result_ttl: pick(f.result_ttl.as_ref(), d.result_ttl.as_ref())
            .or(settings.result_ttl)
            .unwrap_or(DEFAULT_RESULT_TTL),
        ignore_result: pick(f.ignore_result.as_ref(), d.ignore_result.as_ref()).unwrap_or(false),
        max_redeliveries: pick(f.max_redeliveries.as_ref(), d.max_redeliveries.as_ref())
            .unwrap_or(DEFAULT_MAX_REDELIVERIES),
    };
    // A default no run could send fails every scheduled run: say so now.
    if let Err(ParamError::Refused { name: param, why, .. }) = def.check_defaults()
        && let Some((_, span)) = f.params.as_ref().and_then(|p| p.get(param.split("}}").next().unwrap_or_default()))
    {
        diag.error(span, format!("the default of parameter \"{param}\" cannot be used: {why}"));
    }
    Some(def)
}
