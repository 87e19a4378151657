//! Config validation: every error class, with its line and column pinned.

use std::path::Path;

use super::Config;
use crate::names::JobName;

fn errors(src: &str) -> Vec<String> {
    match Config::parse(Path::new("jobs.toml"), src) {
        Ok(_) => panic!("expected errors for:\n{src}"),
        Err(e) => e.iter().map(std::string::ToString::to_string).collect(),
    }
}

fn ok(src: &str) -> Config {
    Config::parse(Path::new("jobs.toml"), src).unwrap_or_else(|e| panic!("{e:?}"))
}

#[test]
fn unknown_keys_are_placed_and_get_suggestions() {
    let src = "[jobs.backup]\ncommand = \"true\"\n  retires = 3\n";
    assert_eq!(errors(src), [r#"jobs.toml:3:3: unknown key "retires" (did you mean "retries"?)"#]);
    assert_eq!(errors("[taskq]\nbrokr = \"x\"\n"), [r#"jobs.toml:2:1: unknown key "brokr" (did you mean "broker"?)"#]);
    assert_eq!(errors("[job.x]\ncommand = \"true\"\n"), [r#"jobs.toml:1:2: unknown key "job" (did you mean "jobs"?)"#]);
    assert_eq!(
        errors("[jobs.x]\nhttp = { url = \"http://h\", metod = \"GET\" }\n"),
        [r#"jobs.toml:2:28: unknown key "metod" (did you mean "method"?)"#]
    );
}

#[test]
fn every_error_is_reported_not_just_the_first() {
    let src = "[jobs.a]\ncommand = \"true\"\ntimeout = \"soon\"\n\n[jobs.b]\nretries = -1\n";
    let got = errors(src);
    assert_eq!(got.len(), 3, "{got:#?}");
    assert!(got[0].starts_with("jobs.toml:3:11: \"timeout\": invalid duration \"soon\""), "{}", got[0]);
    assert_eq!(got[1], r#"jobs.toml:5:7: job "b" needs a "command" or an "http" table"#);
    assert_eq!(got[2], r#"jobs.toml:6:11: "retries" must be between 0 and 10000"#);
}

#[test]
fn syntax_errors_are_placed() {
    let got = errors("[jobs.a]\ncommand = \"true\n");
    assert!(got[0].starts_with("jobs.toml:2:"), "{got:?}");
    assert!(got[0].contains("invalid TOML"), "{got:?}");
}

#[test]
fn types_are_checked() {
    assert_eq!(errors("[jobs.a]\ncommand = 5\n"), [r#"jobs.toml:2:11: "command" must be a string, found integer"#]);
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\nretry_jitter = \"yes\"\n"),
        [r#"jobs.toml:3:16: "retry_jitter" must be true or false, found string"#]
    );
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\nretry_on_exit = [1, 300]\n"),
        [r#"jobs.toml:3:21: "retry_on_exit" must be between 0 and 255"#]
    );
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\ntimeout = 30\n"),
        [r#"jobs.toml:3:11: "timeout" must be a duration string such as "30s" or "1h30m", found integer"#]
    );
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\ntimeout = \"0s\"\n"),
        [r#"jobs.toml:3:11: "timeout" must be longer than 0s"#]
    );
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\ncatch_up = \"sometimes\"\n"),
        [r#"jobs.toml:3:12: "catch_up" must be "skip", "once" or "all", not "sometimes""#]
    );
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\nmax_concurrent = 0\n"),
        [r#"jobs.toml:3:18: "max_concurrent" must be between 1 and 1000000"#]
    );
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\nenv = { A = 1 }\n"),
        [r#"jobs.toml:3:13: "env.A" must be a string, found integer"#]
    );
}

#[test]
fn names_are_checked() {
    assert_eq!(
        errors("[jobs.\"bad name\"]\ncommand = \"x\"\n"),
        [
            r#"jobs.toml:1:7: invalid job name "bad name": use letters, digits, '_', '.' and '-', starting with a letter or digit"#
        ]
    );
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\nqueue = \"a b\"\n"),
        [
            r#"jobs.toml:3:9: invalid queue name "a b": use letters, digits, '_', '.' and '-', starting with a letter or digit"#
        ]
    );
}

#[test]
fn exactly_one_action() {
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\nhttp = { url = \"http://h\" }\n"),
        [r#"jobs.toml:3:8: job "a" has both "command" and "http": a job runs one of them"#]
    );
    assert_eq!(errors("[jobs.a]\nqueue = \"q\"\n"), [r#"jobs.toml:1:7: job "a" needs a "command" or an "http" table"#]);
}

#[test]
fn http_tables_are_checked() {
    assert_eq!(errors("[jobs.a]\nhttp = { method = \"GET\" }\n"), [r#"jobs.toml:2:8: "http" needs a "url""#]);
    assert_eq!(
        errors("[jobs.a]\nhttp = { url = \"ftp://h\" }\n"),
        [r#"jobs.toml:2:16: "url" must start with http:// or https://"#]
    );
    assert_eq!(
        errors("[jobs.a]\nhttp = { url = \"http://h\", method = \"GE T\" }\n"),
        [r#"jobs.toml:2:37: invalid HTTP method "GE T": use GET, POST, PUT, PATCH, DELETE or HEAD"#]
    );
    assert_eq!(
        errors("[jobs.a]\nhttp = { url = \"http://h\", json = {}, body = \"x\" }\n"),
        [r#"jobs.toml:2:46: "http" has both "json" and "body": keep one"#]
    );
    assert_eq!(
        errors("[jobs.a]\nhttp = { url = \"http://h\", headers = { \"a b\" = \"x\" } }\n"),
        [r#"jobs.toml:2:40: invalid header name "a b""#]
    );
    assert_eq!(
        errors("[jobs.a]\nhttp = { url = \"http://h\" }\nretry_on_exit = [1]\n"),
        [r#"jobs.toml:3:17: "retry_on_exit" applies to shell jobs; "a" is an HTTP job"#]
    );
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\nsuccess_status = [200]\n"),
        [r#"jobs.toml:3:18: "success_status" applies to HTTP jobs; "a" is a shell job (use success_exit)"#]
    );
    // ${VAR} and a template URL are fine; the scheme is checked when literal.
    ok("[jobs.a]\nhttp = { url = \"${BASE}/x/{{id}}\", json = { id = \"{{id}}\" } }\n");
}

#[test]
fn templates_and_params_are_checked() {
    assert_eq!(
        errors("[jobs.a]\ncommand = \"echo {{user\"\n"),
        [r#"jobs.toml:2:11: "command": unclosed "{{": add "}}" after the name"#]
    );
    assert_eq!(
        errors("[jobs.a]\ncommand = \"echo {{user}}\"\nparams = { usr = \"x\" }\n"),
        [r#"jobs.toml:3:12: parameter "usr" is declared but no template of "a" uses {{usr}}"#]
    );
    assert_eq!(
        errors("[jobs.a]\ncommand = \"echo {{user}}\"\nschedule = \"@daily\"\n"),
        [r#"jobs.toml:3:12: scheduled job "a" uses {{user}} without a default: add user to its params"#]
    );
    let config = ok("[jobs.a]\ncommand = \"echo {{user}} {{n}}\"\nparams = { n = \"1\" }\n");
    let job = config.job("a").unwrap();
    assert_eq!(job.param_names.iter().collect::<Vec<_>>(), ["n", "user"]);
}

#[test]
fn schedules_and_zones_are_checked() {
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\nschedule = \"* * *\"\n"),
        [
            r#"jobs.toml:3:12: cron expression "* * *" has 3 fields: use 5 (minute hour day month weekday) or 6 (seconds first)"#
        ]
    );
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\nschedule = \"@daily\"\nevery = \"5m\"\n"),
        [r#"jobs.toml:4:9: job "a" has both "schedule" and "every": keep one"#]
    );
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\nevery = \"500ms\"\n"),
        [r#"jobs.toml:3:9: "every" must be at least 1s"#]
    );
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\ntimezone = \"Mars/Olympus\"\n"),
        [r#"jobs.toml:3:12: unknown time zone "Mars/Olympus": use an IANA name such as "Europe/Berlin" or "UTC""#]
    );
}

#[test]
fn hooks_must_name_jobs() {
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\non_failure = \"alrt\"\n[jobs.alert]\ncommand = \"y\"\n"),
        [r#"jobs.toml:3:14: "on_failure" names unknown job "alrt" (did you mean "alert"?)"#]
    );
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\non_success = \"a\"\n"),
        [r#"jobs.toml:3:14: "on_success" of "a" names the job itself"#]
    );
}

// See: issue 13 item 7 (a hook set in [defaults] could not be switched off,
// and the config was refused if the hook job existed).
#[test]
fn a_default_hook_can_be_switched_off_and_never_hooks_the_job_it_names() {
    let config = ok("[defaults]
on_failure = \"alert\"
on_success = \"done\"
[jobs.a]
command = \"x\"
[jobs.quiet]
command = \"x\"
on_failure = false
on_success = false
[jobs.alert]
command = \"x\"
[jobs.done]
command = \"x\"
");
    let hooks = |name: &str| {
        let def = config.jobs.get(name).expect(name);
        (def.on_failure.as_ref().map(JobName::as_str), def.on_success.as_ref().map(JobName::as_str))
    };
    assert_eq!(hooks("a"), (Some("alert"), Some("done")));
    assert_eq!(hooks("quiet"), (None, None), "false overrides [defaults]");
    assert_eq!(hooks("alert"), (None, Some("done")), "the alert job does not alert itself");
    assert_eq!(hooks("done"), (Some("alert"), None));
    // In [defaults], false is the same as no key.
    let config = ok("[defaults]\non_failure = false\n[jobs.a]\ncommand = \"x\"\n");
    assert!(config.jobs.get("a").expect("a").on_failure.is_none());
}

#[test]
fn a_hook_that_names_no_job_says_how_to_write_none() {
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\non_failure = \"\"\n"),
        [r#"jobs.toml:3:14: "on_failure" is empty: name a job, or write on_failure = false for no hook"#]
    );
    assert_eq!(
        errors("[defaults]\non_success = true\n[jobs.a]\ncommand = \"x\"\n"),
        [r#"jobs.toml:2:14: "on_success" = true names no job: name a job, or write on_success = false for no hook"#]
    );
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\non_failure = 1\n"),
        [r#"jobs.toml:3:14: "on_failure" must be a job's name or false, found integer"#]
    );
}

#[test]
fn a_workflows_on_failure_may_be_false_but_not_true() {
    let config = ok(&format!("{WORKFLOW_JOBS}[workflows.w]\nsteps = [\"merge\"]\non_failure = false\n"));
    assert!(config.workflow("w").expect("w").on_failure.is_none());
    assert_eq!(
        errors(&format!("{WORKFLOW_JOBS}[workflows.w]\nsteps = [\"merge\"]\non_failure = true\n")),
        [r#"jobs.toml:12:14: "on_failure" = true names no job: name a job, or write on_failure = false for no hook"#]
    );
}

#[test]
fn hook_jobs_need_defaults_for_their_parameters() {
    assert_eq!(
        errors("[jobs.a]\ncommand = \"x\"\non_failure = \"alert\"\n[jobs.alert]\ncommand = \"notify {{channel}}\"\n"),
        [
            r#"jobs.toml:3:14: "on_failure" names job "alert", whose parameter "channel" has no default: a hook job runs with its params defaults only"#
        ]
    );
    ok(
        "[jobs.a]\ncommand = \"x\"\non_failure = \"alert\"\n[jobs.alert]\ncommand = \"notify {{channel}}\"\nparams = { channel = \"ops\" }\n",
    );
}

#[test]
fn defaults_are_inherited_and_restricted() {
    assert_eq!(
        errors("[defaults]\ncommand = \"x\"\n"),
        [r#"jobs.toml:2:1: key "command" is not allowed here: set it per job, in [jobs.NAME]"#]
    );
    let config = ok(
        "[defaults]\nqueue = \"low\"\nretries = 2\nenv = { A = \"1\", B = \"2\" }\n\n[jobs.a]\ncommand = \"x\"\nenv = { B = \"3\" }\n\n[jobs.b]\ncommand = \"y\"\nqueue = \"high\"\n",
    );
    let a = config.job("a").unwrap();
    assert_eq!((a.queue.as_str(), a.retry.retries), ("low", 2));
    let super::Action::Shell(shell) = &a.action else { panic!("a shell job") };
    assert_eq!(shell.env.keys().collect::<Vec<_>>(), ["A", "B"]);
    assert_eq!(config.job("b").unwrap().queue.as_str(), "high");
    let queues: Vec<String> = config.queues().iter().map(std::string::ToString::to_string).collect();
    assert_eq!(queues, ["default", "high", "low"]);
}

#[test]
fn unknown_jobs_get_suggestions() {
    let config = ok("[jobs.backup]\ncommand = \"x\"\n[jobs.report]\ncommand = \"y\"\n");
    assert_eq!(config.job("bakup").unwrap_err().0, r#"unknown job "bakup" (did you mean "backup"?)"#);
    assert_eq!(config.job("zzzzzz").unwrap_err().0, r#"unknown job "zzzzzz" (jobs: backup, report)"#);
}

#[test]
fn params_resolve_against_defaults() {
    use std::collections::BTreeMap;
    let config = ok("[jobs.a]\ncommand = \"echo {{x}} {{y}}\"\nparams = { y = \"dflt\" }\n");
    let job = config.job("a").unwrap();
    let given: BTreeMap<String, String> = [("x".to_string(), "1".to_string())].into();
    let resolved = job.resolve_params(&given).unwrap();
    assert_eq!(resolved["y"], "dflt");
    assert_eq!(
        job.resolve_params(&BTreeMap::new()).unwrap_err().to_string(),
        r#"job "a" needs parameter "x": pass -p x=VALUE"#
    );
    let extra: BTreeMap<String, String> = [("x".into(), "1".into()), ("z".into(), "2".into())].into();
    assert_eq!(
        job.resolve_params(&extra).unwrap_err().to_string(),
        r#"job "a" has no parameter "z" (its parameters: x, y)"#
    );
}

#[test]
fn the_example_config_is_valid() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs.example.toml");
    Config::load(&path).unwrap_or_else(|e| panic!("jobs.example.toml: {e:?}"));
}

#[test]
fn the_failed_sets_bounds_are_settings_with_defaults() {
    let c = ok("[taskq]\nfailed_max = 500\nfailed_ttl = \"30d\"\n[jobs.a]\ncommand = \"true\"\n");
    let r = c.settings.retention();
    assert_eq!((r.failed_max, r.failed_ttl.as_secs()), (500, 30 * 86_400));
    assert_eq!(ok("[jobs.a]\ncommand = \"true\"\n").settings.retention(), crate::broker::Retention::default());
    assert_eq!(
        errors("[taskq]\nfailed_max = 0\n"),
        [r#"jobs.toml:2:14: "failed_max" must be between 1 and 4294967295"#]
    );
}

const WORKFLOW_JOBS: &str = "\
[jobs.export]
command = \"true\"
[jobs.merge]
command = \"true\"
[jobs.validate]
command = \"echo {{order}}\"
params = { order = { pattern = \"[0-9]+\" } }
[jobs.alert]
command = \"true\"
";

#[test]
fn workflows_are_read_with_every_kind_of_step() {
    let config = ok(&format!(
        "{WORKFLOW_JOBS}
[workflows.nightly]
steps = [{{ group = [\"export\", {{ workflow = \"refresh\" }}] }}, \"merge\", {{ map = \"validate\", param = \"order\", max_items = 50 }}]
on_failure = \"alert\"
[workflows.refresh]
steps = [\"export\", {{ workflow = \"tail\" }}]
[workflows.tail]
steps = [\"merge\"]
"
    ));
    let nightly = config.workflow("nightly").expect("nightly");
    let described: Vec<String> = nightly.steps.iter().map(super::Step::describe).collect();
    assert_eq!(described, ["{export, workflow refresh}", "merge", "map(validate over order)"]);
    assert_eq!(nightly.on_failure.as_ref().map(crate::names::JobName::as_str), Some("alert"));
    assert!(matches!(nightly.steps[2], super::Step::Map { max_items: 50, .. }));
    assert_eq!(config.workflows.len(), 3);
    assert!(config.workflow_ticks.is_empty(), "none is scheduled");
}

#[test]
fn a_scheduled_workflow_is_fired_as_a_job_of_its_name() {
    let config = ok(&format!(
        "{WORKFLOW_JOBS}
[workflows.nightly]
steps = [\"export\", \"merge\"]
schedule = \"30 2 * * *\"
timezone = \"Europe/Berlin\"
[workflows.often]
steps = [\"merge\"]
every = \"10m\"
[workflows.manual]
steps = [\"merge\"]
"
    ));
    let ticks: Vec<(&str, String, String)> = config
        .workflow_ticks
        .iter()
        .map(|t| (t.name.as_str(), t.schedule.as_ref().unwrap().describe(), t.timezone.name()))
        .collect();
    assert_eq!(ticks[0], ("nightly", "30 2 * * *".to_string(), "Europe/Berlin".to_string()));
    assert_eq!((ticks[1].0, ticks[1].1.as_str()), ("often", "every 10m"));
    assert_eq!(ticks.len(), 2);
    assert!(matches!(config.workflow_ticks[0].action, super::Action::Workflow));
}

#[test]
fn a_scheduled_workflow_whose_step_needs_a_parameter_is_refused() {
    let got = errors(&format!(
        "{WORKFLOW_JOBS}
[workflows.inner]
steps = [\"merge\", {{ map = \"validate\", param = \"order\" }}, \"validate\"]
[workflows.nightly]
steps = [\"export\", {{ workflow = \"inner\" }}]
every = \"1h\"
"
    ));
    assert_eq!(
        got,
        [
            r#"jobs.toml:13:12: scheduled workflow "nightly": step 3 of "inner" runs job "validate", whose parameter "order" has no default: a scheduled run gets defaults only; add one to its params"#
        ]
    );
}

#[test]
fn a_workflows_mistakes_are_each_placed() {
    let got = errors(&format!(
        "{WORKFLOW_JOBS}
[workflows.a]
steps = [\"exprot\", {{ group = [] }}, {{ map = \"merge\", param = \"order\" }}, {{ workflow = \"nope\" }}, \"b\"]
[workflows.b]
steps = []
[workflows.c]
steps = [{{ map = \"validate\" }}, {{ grup = [\"merge\"] }}]
on_failure = \"validate\"
schedule = \"0 6 * * *\"
every = \"1h\"
[workflows.export]
steps = [\"merge\"]
"
    ));
    let want = [
        r#"jobs.toml:12:10: a step names an unknown job "exprot" (did you mean "export"?)"#,
        "jobs.toml:12:30: an empty group runs nothing: name its jobs, or drop the step",
        r#"jobs.toml:12:61: job "merge" has no parameter "order" to map over (it takes none)"#,
        r#"jobs.toml:12:85: "workflow" names an unknown workflow "nope""#,
        r#"jobs.toml:12:95: "b" is a workflow: write { workflow = "b" }"#,
        r#"jobs.toml:14:9: workflow "b" has no steps: list its jobs in order"#,
        r#"jobs.toml:16:10: a map step needs "param": the parameter of "validate" each line fills"#,
        r#"jobs.toml:16:34: unknown key "grup" (did you mean "group"?)"#,
        r#"jobs.toml:17:14: "on_failure" names job "validate", whose parameter "order" has no default: a hook job runs with its params defaults only"#,
        r#"jobs.toml:19:9: workflow "c" has both "schedule" and "every": keep one"#,
        r#"jobs.toml:20:12: "export" is both a job and a workflow: `taskq enqueue export` must name one; rename one of them"#,
    ];
    assert_eq!(got, want);
}

#[test]
fn workflows_that_include_each_other_are_refused() {
    let got = errors(&format!(
        "{WORKFLOW_JOBS}
[workflows.a]
steps = [\"export\", {{ workflow = \"b\" }}]
[workflows.b]
steps = [{{ group = [\"merge\", {{ workflow = \"a\" }}] }}]
"
    ));
    assert_eq!(got, [r#"jobs.toml:11:12: workflow "a" includes itself: a → b → a"#]);
}

#[test]
fn a_workflows_steps_are_told_apart_from_jobs_and_each_other() {
    let got = errors(&format!(
        "{WORKFLOW_JOBS}
[workflows.w]
steps = [{{ map = \"validate\", param = \"order\" }}, {{ workflow = \"merge\" }}, {{ group = [\"merge\"], workflow = \"w2\" }}]
on_failure = \"w2\"
[workflows.w2]
steps = [{{ group = [1] }}]
[workflows.\"bad name\"]
steps = [\"merge\"]
"
    ));
    assert_eq!(
        got,
        [
            "jobs.toml:12:10: a map step runs over the output of the step before it: put a step that prints the items first",
            r#"jobs.toml:12:62: "merge" is a job: write "merge" as the step"#,
            "jobs.toml:12:73: a step is one of { group = ... }, { map = ... } or { workflow = ... }: split it in steps",
            r#"jobs.toml:13:14: "w2" is a workflow: "on_failure" takes a job"#,
            r#"jobs.toml:15:21: "a group member" must be a string, found integer"#,
            r#"jobs.toml:16:12: invalid workflow name "bad name": use letters, digits, '_', '.' and '-', starting with a letter or digit"#,
        ]
    );
}

#[test]
fn deep_and_diamond_nesting_is_checked_at_once() {
    // 40 levels, each including both workflows of the next: 2^40 paths.
    let mut src = String::from("[jobs.a]\ncommand = \"true\"\n");
    for i in 0..40 {
        let next = if i == 39 {
            "\"a\"".to_string()
        } else {
            format!("{{ workflow = \"l{}x\" }}, {{ workflow = \"l{}y\" }}", i + 1, i + 1)
        };
        for side in ["x", "y"] {
            src.push_str(&format!("[workflows.l{i}{side}]\nsteps = [{{ group = [{next}] }}]\n"));
        }
    }
    assert_eq!(ok(&src).workflows.len(), 80);
    // A chain far deeper than a call stack would hold.
    let mut chain = String::from("[jobs.a]\ncommand = \"true\"\n");
    for i in 0..20_000 {
        chain.push_str(&format!("[workflows.c{i}]\nsteps = [{{ workflow = \"c{}\" }}]\n", i + 1));
    }
    chain.push_str("[workflows.c20000]\nsteps = [{ workflow = \"c0\" }]\n");
    let got = errors(&chain);
    assert_eq!(got.len(), 1);
    assert!(
        got[0].ends_with("workflow \"c0\" includes itself: c0 → c1 → c2 → … 19996 more … → c19999 → c20000 → c0"),
        "{}",
        got[0]
    );
}
