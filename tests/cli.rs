//! The command line: config discovery and errors, `check`, usage errors,
//! and the committed completions and man pages.

use predicates::prelude::*;

use crate::common::Env;

const VALID: &str = r#"
[taskq]
timezone = "Europe/Berlin"

[jobs.backup]
command = "echo backing up"
schedule = "30 2 * * *"

[jobs.ping]
http = { url = "http://127.0.0.1:9/ping" }
every = "5m"
queue = "net"
"#;

#[test]
fn check_lists_jobs_and_next_fires() {
    let env = Env::sqlite().jobs(VALID);
    env.run(&["check"])
        .success()
        .stdout(predicate::str::contains("2 jobs, 2 scheduled"))
        .stdout(predicate::str::contains("backup  shell  default"))
        .stdout(predicate::str::contains("30 2 * * * (Europe/Berlin)"))
        .stdout(predicate::str::is_match(r"next: \d{4}-\d\d-\d\dT02:30:00\+0[12]:00, ").unwrap());
}

#[test]
fn check_lists_workflows_and_commands_that_take_a_job_refuse_one() {
    let env = Env::sqlite().jobs(&format!(
        "{VALID}
[jobs.merge]
command = \"true\"
[workflows.nightly-report]
steps = [{{ group = [\"backup\", \"ping\"] }}, \"merge\"]
on_failure = \"merge\"
"
    ));
    env.run(&["check"])
        .success()
        .stdout(predicate::str::contains("3 jobs, 2 scheduled, 1 workflow"))
        .stdout(predicate::str::contains("workflow nightly-report: {backup, ping} → merge (on failure: merge)"));
    let out = env.run(&["check", "--json"]).success().get_output().stdout.clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        doc["workflows"],
        serde_json::json!([{
            "name": "nightly-report",
            "steps": [{"group": [{"job": "backup"}, {"job": "ping"}]}, {"job": "merge"}],
            "on_failure": "merge",
            "schedule": null,
            "timezone": null,
            "next": [],
        }])
    );
    env.run(&["exec", "nightly-report"])
        .code(2)
        .stderr("error: \"nightly-report\" is a workflow, not a job: this takes a job\n");
}

#[test]
fn check_json_has_rfc3339_fires_in_the_schedule_zone() {
    let env = Env::sqlite().jobs(VALID);
    let out = env.run(&["check", "--json"]).success().get_output().stdout.clone();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let jobs = doc["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 2);
    assert_eq!(jobs[0]["name"], "backup");
    assert_eq!(jobs[0]["kind"], "shell");
    let next: Vec<&str> = jobs[0]["next"].as_array().unwrap().iter().map(|v| v.as_str().unwrap()).collect();
    assert_eq!(next.len(), 3);
    for t in &next {
        assert!(t.ends_with(":30:00+01:00") || t.ends_with(":30:00+02:00"), "{t}");
        assert!(t.parse::<jiff::Timestamp>().is_ok(), "{t} is RFC 3339");
    }
    assert_eq!(jobs[1]["kind"], "http");
    assert_eq!(jobs[1]["queue"], "net");
    let every: Vec<jiff::Timestamp> =
        jobs[1]["next"].as_array().unwrap().iter().map(|v| v.as_str().unwrap().parse().unwrap()).collect();
    assert_eq!(every[1].as_second() - every[0].as_second(), 300);
    assert_eq!(every[0].as_second() % 300, 0);
}

#[test]
fn check_reports_every_error_with_its_place_and_exits_78() {
    let env =
        Env::sqlite().jobs("[jobs.a]\ncommand = \"x\"\nretires = 3\n\n[jobs.b]\ncommand = \"y\"\ntimeout = \"soon\"\n");
    let out = env.run(&["check"]).code(78).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert_eq!(lines[0], r#"error: jobs.toml:3:1: unknown key "retires" (did you mean "retries"?)"#);
    assert!(lines[1].starts_with(r#"error: jobs.toml:7:11: "timeout": invalid duration "soon""#), "{}", lines[1]);
    assert!(out.stdout.is_empty());
}

#[test]
fn the_example_config_checks() {
    let env = Env::sqlite();
    let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("jobs.example.toml");
    let example = example.to_str().unwrap();
    env.run(&["-f", example, "check"]).success().stdout(predicate::str::contains("nightly-backup"));
    // Its typed parameters hold.
    env.run(&["-f", example, "enqueue", "send-welcome-email", "-p", "user_id=42"]).success();
    env.run(&["-f", example, "enqueue", "send-welcome-email", "-p", "user_id=42;id"])
        .code(2)
        .stderr(predicate::str::contains("it must be an integer (type int)"));
    env.run(&["-f", example, "exec", "rotate-logs", "-p", "keep=a[$(id)]"])
        .code(2)
        .stderr(predicate::str::contains("it must be an integer (type int)"));
}

#[test]
fn no_config_is_exit_78_naming_where_it_looked() {
    let env = Env::sqlite();
    env.run(&["check"])
        .code(78)
        .stderr(predicate::str::starts_with("error: no config found (looked for jobs.toml, "))
        .stderr(predicate::str::contains("/etc/taskq/jobs.toml"));
    env.run(&["-f", "missing.toml", "check"])
        .code(78)
        .stderr(predicate::str::contains("cannot read config missing.toml"));
}

#[test]
fn config_is_found_by_env_var_and_in_the_user_config_dir() {
    let env = Env::sqlite();
    env.write("custom.toml", "[jobs.a]\ncommand = \"true\"\n");
    let mut cmd = env.command();
    cmd.env("TASKQ_CONFIG", env.path("custom.toml")).arg("check");
    assert_cmd::Command::from_std(cmd).assert().success().stdout(predicate::str::contains("custom.toml: 1 jobs"));

    std::fs::create_dir_all(env.path(".config/taskq")).unwrap();
    env.write(".config/taskq/jobs.toml", "[jobs.b]\ncommand = \"true\"\n");
    env.run(&["check"]).success().stdout(predicate::str::contains(".config/taskq/jobs.toml: 1 jobs"));
}

#[test]
fn usage_errors_exit_2() {
    let env = Env::sqlite().jobs("[jobs.backup]\ncommand = \"echo {{target}}\"\n");
    env.run(&["exec", "bakup"])
        .code(2)
        .stderr(r#"error: unknown job "bakup" (did you mean "backup"?)"#.to_string() + "\n");
    env.run(&["exec", "backup"])
        .code(2)
        .stderr("error: job \"backup\" needs parameter \"target\": pass -p target=VALUE\n");
    env.run(&["exec", "backup", "-p", "target=x", "-p", "tagret=y"])
        .code(2)
        .stderr("error: job \"backup\" has no parameter \"tagret\" (its parameters: target)\n");
    env.run(&["exec", "backup", "-p", "target"])
        .code(2)
        .stderr("error: invalid parameter \"target\": write it as NAME=VALUE\n");
    env.run(&["enqueue", "backup", "-p", "target=x", "--delay", "soon"])
        .code(2)
        .stderr(predicate::str::starts_with("error: invalid --delay \"soon\""));
    env.run(&["enqueue", "backup", "-p", "target=x", "--queue", "a b"])
        .code(2)
        .stderr(predicate::str::starts_with("error: --queue: invalid queue name \"a b\""));
    env.run(&["status", "not-an-id"])
        .code(2)
        .stderr(predicate::str::starts_with("error: invalid job id \"not-an-id\""));
    env.run(&["run", "-Q", "a:1,b"]).code(2).stderr(predicate::str::contains("give every queue a weight"));
    env.run(&["frobnicate"]).code(2);
    // One line naming the subcommands, whichever way clap reports it.
    let out = env.run(&["schedule"]).code(2).get_output().stderr.clone();
    let line = String::from_utf8(out).unwrap();
    assert!(line.lines().count() == 1 && line.contains("list, pause, resume, trigger"), "{line}");
}

#[test]
fn bad_broker_urls_are_usage_errors_and_passwords_stay_hidden() {
    let env = Env::sqlite().jobs("[jobs.a]\ncommand = \"true\"\n");
    env.run(&["--broker", "amqp://u:hunter2@h", "enqueue", "a"])
        .code(2)
        .stderr(predicate::str::contains("unsupported broker URL \"amqp://u:***@h\""))
        .stderr(predicate::str::contains("hunter2").not());
}

#[test]
fn an_unreachable_broker_is_exit_69_with_the_password_redacted() {
    let port = crate::common::redis::free_port();
    let env = Env::sqlite().jobs("[jobs.a]\ncommand = \"true\"\n");
    let url = format!("redis://app:hunter2@127.0.0.1:{port}/0");
    env.run(&["--broker", &url, "enqueue", "a"])
        .code(69)
        .stderr(predicate::str::starts_with(format!(
            "error: cannot reach the broker at redis://app:***@127.0.0.1:{port}/0: "
        )))
        .stderr(predicate::str::contains("is redis-server running?"))
        .stderr(predicate::str::contains("hunter2").not());
    env.run(&["--broker", &url, "run", "--burst"]).code(69);
}

#[test]
fn a_file_that_is_not_a_taskq_database_is_exit_69() {
    let env = Env::sqlite().jobs("[jobs.a]\ncommand = \"true\"\n");
    env.write("junk.db", "this is not sqlite, just text that is long enough to look like a header............");
    let url = format!("sqlite://{}", env.path("junk.db").display());
    env.run(&["--broker", &url, "enqueue", "a"])
        .code(69)
        .stderr(predicate::str::contains("is not a usable taskq database"));
}

#[test]
fn completions_and_man_pages_are_current() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bless = std::env::var_os("TASKQ_BLESS").is_some();
    let mut stale = Vec::new();
    let mut check = |path: std::path::PathBuf, fresh: Vec<u8>| {
        if bless {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &fresh).unwrap();
        } else if std::fs::read(&path).ok().as_deref() != Some(fresh.as_slice()) {
            stale.push(path.display().to_string());
        }
    };
    for (shell, file) in [
        (clap_complete::Shell::Bash, "taskq.bash"),
        (clap_complete::Shell::Zsh, "_taskq"),
        (clap_complete::Shell::Fish, "taskq.fish"),
    ] {
        let mut out = Vec::new();
        taskq::commands::completions(shell, &mut out).unwrap();
        check(root.join("completions").join(file), out);
    }
    for (name, page) in taskq::commands::man_pages().unwrap() {
        check(root.join("man").join(name), page);
    }
    assert!(
        stale.is_empty(),
        "stale generated files (regenerate with TASKQ_BLESS=1 cargo test completions): {stale:?}"
    );
}

#[test]
fn completions_and_man_print() {
    let env = Env::sqlite();
    env.run(&["completions", "bash"]).success().stdout(predicate::str::contains("-F _clap_complete_taskq taskq"));
    env.run(&["man"]).success().stdout(predicate::str::contains(".TH taskq"));
}

#[test]
fn the_internal_reaper_command_is_in_no_help_completion_or_man_page() {
    let env = Env::sqlite();
    env.run(&["--help"]).success().stdout(predicate::str::contains("__reap").not());
    for shell in ["bash", "zsh", "fish"] {
        env.run(&["completions", shell]).success().stdout(predicate::str::contains("__reap").not());
    }
    for (name, page) in taskq::commands::man_pages().unwrap() {
        assert!(!name.contains("reap") && !String::from_utf8_lossy(&page).contains("__reap"), "{name}");
    }
}

#[test]
fn reading_commands_ignore_an_invalid_config_when_the_broker_is_given() {
    let env = Env::sqlite().jobs("[jobs.a]\ncommand = 5\n");
    env.run(&["list"]).success().stderr(predicate::str::contains("ignoring the invalid config (jobs.toml:2:11: "));
    let mut cmd = env.command();
    cmd.env_remove("TASKQ_BROKER").arg("list");
    assert_cmd::Command::from_std(cmd).assert().code(78);
}

// See: the hostile-input issue, item 8 (completions panicked on a closed
// pipe or a full disk).
#[test]
fn completions_and_man_pages_meet_a_closed_or_full_stdout_without_panicking() {
    let env = Env::sqlite();
    let taskq = env!("CARGO_BIN_EXE_taskq");
    let out = env
        .command_for(
            "bash",
            &["-c", &format!("{taskq} completions bash | head -c 10 >/dev/null; echo ${{PIPESTATUS[0]}}")],
        )
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0", "a closed pipe ends quietly: {out:?}");
    for args in [&["completions", "fish"][..], &["man"]] {
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let out = env.command().args(args).stdout(full).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{args:?}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("error: cannot write") && stderr.contains("No space left on device"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
    }
}

/// `check` reads which schedules are paused from the broker, but never
/// creates a SQLite file, nor migrates one an older taskq wrote.
#[test]
fn check_leaves_a_sqlite_file_it_did_not_find_alone() {
    let env = Env::sqlite().jobs("[jobs.tick]\ncommand = \"true\"\nevery = \"1m\"\n");
    let db = env.path("taskq.db");
    let _ = std::fs::remove_file(&db);
    env.run(&["check"]).success().stdout(predicate::str::contains("next: "));
    assert!(!db.exists(), "check created {}", db.display());
}

/// A bad value from the environment is named by its variable, not by a
/// flag the user never typed.
#[test]
fn a_bad_value_from_the_environment_names_the_variable() {
    let env = Env::sqlite().jobs("[jobs.a]\ncommand = \"true\"\n");
    let mut cmd = env.command();
    cmd.args(["list"]).env("TASKQ_NAMESPACE", "bad ns");
    assert_cmd::Command::from_std(cmd).assert().code(2).stderr(
        "error: $TASKQ_NAMESPACE: invalid namespace name \"bad ns\": use letters, digits, '_', '.' and '-', starting with a letter or digit\n",
    );
    env.run(&["--namespace", "bad ns", "list"])
        .code(2)
        .stderr(predicates::str::starts_with("error: --namespace: invalid"));
}
