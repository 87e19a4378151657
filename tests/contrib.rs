//! The service definitions in contrib/: every command line they run parses
//! with taskq's own CLI, the systemd units keep their sandbox, the worker
//! template stays the worker unit but for its queues, and the stop timeouts
//! leave room for the worker's drain. `scripts/verify-units` checks the units
//! with systemd itself (in CI); this needs no systemd.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use taskq::cli::{Cli, Command};
use taskq::config::SYSTEM_CONFIG;

/// An INI file read loosely: section name to its keys, each key to every
/// value given it, in order (systemd allows a key more than once).
type Ini = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn contrib(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("contrib").join(rel)
}

fn read_ini(path: &Path) -> Ini {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut ini = Ini::new();
    let mut section = String::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        assert!(!line.ends_with('\\'), "{}:{}: no continued lines, please", path.display(), n + 1);
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            ini.entry(section.clone()).or_default();
            continue;
        }
        let (key, value) =
            line.split_once('=').unwrap_or_else(|| panic!("{}:{}: not key=value: {line}", path.display(), n + 1));
        assert!(!section.is_empty(), "{}:{}: a key before any section", path.display(), n + 1);
        ini.entry(section.clone())
            .or_default()
            .entry(key.trim().to_string())
            .or_default()
            .push(value.trim().to_string());
    }
    ini
}

fn units() -> Vec<(String, Ini)> {
    let mut units: Vec<(String, Ini)> = std::fs::read_dir(contrib("systemd"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "service"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), read_ini(&p)))
        .collect();
    units.sort_by(|a, b| a.0.cmp(&b.0));
    let names: Vec<&str> = units.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["taskq-beat.service", "taskq-web.service", "taskq-worker.service", "taskq-worker@.service"]);
    units
}

/// The one value of `key` in [Service].
fn service<'a>(name: &str, unit: &'a Ini, key: &str) -> &'a str {
    match unit["Service"].get(key).map(Vec::as_slice) {
        Some([value]) => value,
        other => panic!("{name}: [Service] {key}= should be set once, is {other:?}"),
    }
}

/// A command line as taskq parses it; `%I` (a template's queues) replaced.
fn parse(what: &str, command: &str, instance: &str) -> Result<Cli, String> {
    let args = command.replace("%I", instance);
    let args: Vec<&str> = args.split_whitespace().collect();
    assert_eq!(args[0], "/usr/bin/taskq", "{what}: runs {}, not the packaged /usr/bin/taskq", args[0]);
    Cli::try_parse_from(&args).map_err(|e| format!("{what}: `{command}` (with %I = {instance}): {e}"))
}

fn shutdown_timeout(cli: &Cli) -> Duration {
    match &cli.command {
        Command::Run(run) => run.shutdown_timeout,
        other => panic!("not a worker: {other:?}"),
    }
}

fn seconds(text: &str) -> Duration {
    humantime::parse_duration(text)
        .or_else(|_| text.parse::<u64>().map(Duration::from_secs))
        .unwrap_or_else(|e| panic!("not a duration: {text}: {e}"))
}

#[test]
fn the_systemd_units_run_commands_taskq_accepts_and_keep_their_sandbox() {
    let sandbox = [
        ("NoNewPrivileges", "yes"),
        ("CapabilityBoundingSet", ""),
        ("RestrictSUIDSGID", "yes"),
        ("ProtectSystem", "strict"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectKernelLogs", "yes"),
        ("ProtectControlGroups", "yes"),
        ("LockPersonality", "yes"),
        ("RestrictRealtime", "yes"),
        ("RestrictNamespaces", "yes"),
        ("SystemCallArchitectures", "native"),
        ("UMask", "0077"),
        ("User", "taskq"),
        ("StateDirectory", "taskq"),
        ("StateDirectoryMode", "0700"),
        ("Type", "notify"),
        ("ExecReload", "/bin/kill -HUP $MAINPID"),
    ];
    for (name, unit) in units() {
        for (key, want) in sandbox {
            assert_eq!(service(&name, &unit, key), want, "{name}: {key}=");
        }
        let home = service(&name, &unit, "ProtectHome");
        assert!(home == "yes" || home == "read-only", "{name}: ProtectHome={home}");
        assert!(!service(&name, &unit, "WatchdogSec").is_empty());

        // The broker is jobs.toml's, or /etc/taskq/env's: nothing in the unit
        // overrides them. With neither, the host's config queues in the
        // state directory, the one all units share.
        assert!(!unit["Service"].contains_key("Environment"), "{name}: Environment= would override jobs.toml");
        assert_eq!(service(&name, &unit, "EnvironmentFile"), "-/etc/taskq/env", "{name}");
        let exec = service(&name, &unit, "ExecStart");
        let cli = parse(&name, exec, "high,default").unwrap();
        assert_eq!(cli.global.config.as_deref(), Some(Path::new(SYSTEM_CONFIG)), "{name}");
        if name.starts_with("taskq-worker") {
            // SIGKILL waits for the drain, and for the jobs' kill_after.
            let stop = seconds(service(&name, &unit, "TimeoutStopSec"));
            assert!(stop > shutdown_timeout(&cli), "{name}: TimeoutStopSec={stop:?} leaves no room for the drain");
            assert_eq!(service(&name, &unit, "KillMode"), "mixed", "{name}");
        } else if name == "taskq-web.service" {
            let Command::Web(web) = &cli.command else { panic!("{name}: runs {:?}", cli.command) };
            assert!(web.listen.ip().is_loopback(), "{name}: for a proxy in front, as its header says");
            assert!(web.auth_file.is_some() && !web.no_auth, "{name}: users from an auth file");
        } else {
            assert!(matches!(cli.command, Command::Beat(_)), "{name}: runs {:?}", cli.command);
        }
    }
}

#[test]
fn the_worker_template_is_the_worker_unit_but_for_its_queues() {
    let units = units();
    let worker = &units[2].1;
    let template = &units[3].1;
    let without = |unit: &Ini| {
        let mut unit = unit.clone();
        unit.get_mut("Service").unwrap().remove("ExecStart");
        unit.get_mut("Unit").unwrap().remove("Description");
        unit
    };
    assert_eq!(without(worker), without(template), "taskq-worker@.service and taskq-worker.service differ");
    let exec = service("taskq-worker@.service", template, "ExecStart");
    assert_eq!(exec, service("taskq-worker.service", worker, "ExecStart").replace(" run ", " run -Q %I "));

    // What `systemd-escape --template` instances unescape to, as its header shows.
    for instance in ["default", "high,default", "high:6,default:3", "bulk-mail:1,default:3"] {
        let cli = parse("taskq-worker@.service", exec, instance).unwrap();
        let Command::Run(run) = cli.command else { panic!("not run") };
        assert!(run.queues.is_some(), "{instance}");
    }
    // A '-' in a name written by hand reads as '/': refused, as the header says.
    let refused = parse("taskq-worker@.service", exec, "bulk/mail").unwrap_err();
    assert!(refused.contains("invalid queue name"), "{refused}");
}

/// `KEY="value",KEY2="value"` as Supervisor writes an environment.
fn supervisor_env(text: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    let mut rest = text;
    while !rest.is_empty() {
        let (key, after) = rest.split_once("=\"").unwrap_or_else(|| panic!("environment= not KEY=\"value\": {rest}"));
        let (value, after) = after.split_once('"').unwrap();
        env.insert(key.to_string(), value.to_string());
        rest = after.strip_prefix(',').unwrap_or(after);
    }
    env
}

#[test]
fn the_supervisor_example_runs_commands_taskq_accepts_and_waits_for_the_drain() {
    let conf = read_ini(&contrib("supervisor/taskq.conf"));
    let sections: Vec<&str> = conf.keys().map(String::as_str).collect();
    assert_eq!(sections, ["program:taskq-beat", "program:taskq-worker"]);
    for (section, program) in &conf {
        let one = |key: &str| match program.get(key).map(Vec::as_slice) {
            Some([value]) => value.as_str(),
            other => panic!("[{section}] {key}= should be set once, is {other:?}"),
        };
        assert_eq!(one("user"), "taskq", "[{section}]");
        assert_eq!(one("stopsignal"), "TERM", "[{section}]");
        assert_eq!(one("autorestart"), "true", "[{section}]");
        assert_eq!(one("umask"), "077", "[{section}]");
        // The companion that kills a SIGKILLed worker's leftovers shares
        // its process group: a group kill would take it too.
        assert_eq!(one("killasgroup"), "false", "[{section}]");
        assert_eq!(one("stopasgroup"), "false", "[{section}]");
        let env = supervisor_env(one("environment"));
        assert!(!env.contains_key("TASKQ_BROKER"), "[{section}]: TASKQ_BROKER would override jobs.toml");
        assert_eq!(env["HOME"], "/var/lib/taskq", "[{section}]");

        let cli = parse(section, one("command"), "").unwrap();
        assert_eq!(cli.global.config.as_deref(), Some(Path::new(SYSTEM_CONFIG)), "[{section}]");
        if section == "program:taskq-worker" {
            let stop = seconds(one("stopwaitsecs"));
            assert!(stop > shutdown_timeout(&cli), "[{section}] stopwaitsecs={stop:?} leaves no room for the drain");
        } else {
            assert!(matches!(cli.command, Command::Beat(_)), "[{section}] runs {:?}", cli.command);
        }
    }
}

/// The metric names src/metrics.rs describes: what `--metrics` exports.
fn exported_metrics() -> std::collections::BTreeSet<String> {
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/metrics.rs")).unwrap();
    let names = described(&src, "describe_");
    assert!(names.len() >= 20, "the metrics' descriptions were not found: {names:?}");
    names
}

/// The first string literal after each `<prefix>counter!(`, `gauge!(` or `histogram!(`.
fn described(src: &str, prefix: &str) -> std::collections::BTreeSet<String> {
    let mut out = std::collections::BTreeSet::new();
    for kind in ["counter!(", "gauge!(", "histogram!("] {
        let needle = format!("{prefix}{kind}");
        for (at, _) in src.match_indices(&needle) {
            let rest = &src[at + needle.len()..];
            if let Some(start) = rest.find('"') {
                let name: String = rest[start + 1..].chars().take_while(|c| *c != '"').collect();
                out.insert(name);
            }
        }
    }
    out
}

#[test]
fn the_grafana_dashboard_parses_and_queries_only_exported_metrics() {
    let text = std::fs::read_to_string(contrib("grafana/taskq.json")).expect("contrib/grafana/taskq.json");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("the dashboard is JSON");
    assert!(doc["title"].is_string() && doc["uid"].is_string(), "an importable dashboard has a title and a uid");
    let exported = exported_metrics();
    let mut queried = std::collections::BTreeSet::new();
    let panels = doc["panels"].as_array().expect("panels");
    for p in panels {
        let targets = p["targets"].as_array().unwrap_or_else(|| panic!("panel {} has no queries", p["title"]));
        assert!(!targets.is_empty(), "panel {} has no queries", p["title"]);
        for t in targets {
            let expr = t["expr"].as_str().unwrap_or_else(|| panic!("a query of {} has no expr", p["title"]));
            let names: Vec<&str> = expr
                .match_indices("taskq_")
                .map(|(at, _)| {
                    let end = expr[at..]
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .map_or(expr.len(), |e| at + e);
                    &expr[at..end]
                })
                .collect();
            assert!(!names.is_empty(), "{expr} queries no taskq metric");
            for name in names {
                let base = ["_bucket", "_sum", "_count"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name);
                assert!(exported.contains(base), "{} queries {name}, which taskq does not export", p["title"]);
                queried.insert(base.to_string());
            }
        }
    }
    for needed in [
        "taskq_retries_total",
        "taskq_jobs_expired_total",
        "taskq_beat_fires_total",
        "taskq_beat_skipped_total",
        "taskq_beat_fire_delay_seconds",
        "taskq_failed_set_dropped_total",
        "taskq_job_endings",
        "taskq_job_duration_p95_seconds",
        "taskq_schedule_last_success_timestamp_seconds",
    ] {
        assert!(queried.contains(needed), "the dashboard does not show {needed}");
    }
}
