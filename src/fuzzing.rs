//! Entry points for fuzzing the parsers that read what users and other
//! programs write: the config loader, cron expressions, templates, `--batch`
//! lines and the crontab importer. Each runs one input and panics when an
//! invariant breaks, so the same checks serve the property tests run in CI
//! (tests/fuzz.rs) and the coverage-guided targets in fuzz/ (docs/security.md).
//!
//! Beyond "does not panic", each checks what a user relies on: an error says
//! something; a schedule that loads fires, in order; accepted values fit
//! their rules; a crontab the importer converts is a config that loads.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::config::Config;
use crate::config::template::{Syntax, Template, url_encode, verbatim};
use crate::schedule::Schedule;

/// An error message says something. (It may quote the input, control
/// characters and all: every place that prints one escapes it, see text.rs.)
fn assert_message(what: &str, message: &str) {
    assert!(!message.trim().is_empty(), "{what}: an empty message");
}

/// The config loader on any bytes.
pub fn config(bytes: &[u8]) {
    let Ok(source) = std::str::from_utf8(bytes) else { return };
    match Config::parse(Path::new("fuzz.toml"), source) {
        Err(errors) => {
            for e in errors.iter() {
                assert_message("config error", &e.to_string());
            }
        }
        Ok(config) => {
            for def in &config.jobs {
                if let Some(schedule) = &def.schedule {
                    assert_fires(schedule, def.timezone.tz());
                }
                // Defaults fit their own rules: `check` refuses one that does not.
                for (name, rule) in &def.param_rules {
                    if let Some(default) = &rule.default {
                        assert_eq!(rule.check(default), None, "default of {name} passed check but fails its rule");
                    }
                }
            }
        }
    }
}

/// A cron expression: parsed or refused in one line; parsed means it fires,
/// in order, in UTC and across a DST zone.
pub fn cron(text: &str) {
    match Schedule::cron(text) {
        Err(e) => assert_message("cron error", &e),
        Ok(schedule) => {
            assert_fires(&schedule, &TimeZone::UTC);
            static BERLIN: LazyLock<TimeZone> =
                LazyLock::new(|| TimeZone::get("Europe/Berlin").unwrap_or(TimeZone::UTC));
            let _ = schedule.upcoming(Timestamp::now(), &BERLIN, 3);
        }
    }
}

fn assert_fires(schedule: &Schedule, tz: &TimeZone) {
    let now = Timestamp::now();
    let next = schedule.upcoming(now, tz, 3);
    assert!(!next.is_empty(), "{} loaded but never fires", schedule.describe());
    assert!(next.windows(2).all(|w| w[0].timestamp() < w[1].timestamp()), "fires out of order: {next:?}");
    assert!(next[0].timestamp() > now, "the next fire is not after now");
    if let Some(last) = schedule.last_at_or_before(next[0].timestamp(), tz) {
        assert!(last <= next[0].timestamp());
    }
}

/// A template with every parameter set to `value`: parses or says why in one
/// line, renders, and URL-encoded a value holds no character that could end
/// a path segment or a query part. (That a shell command cannot run a value
/// is checked with real shells, in tests/fuzz.rs.)
pub fn template(text: &str, value: &str) {
    for syntax in [Syntax::Params, Syntax::ParamsAndEnv] {
        let template = match Template::parse(text, syntax) {
            Ok(t) => t,
            Err(e) => {
                assert_message("template error", &e);
                continue;
            }
        };
        let params: BTreeMap<String, String> = template.params().map(|p| (p.to_string(), value.to_string())).collect();
        let env = |_: &str| Some(String::new());
        let raw = template.render(&params, verbatim, &env).expect("every parameter and variable is set");
        let encoded = template.render(&params, url_encode, &env).expect("every parameter and variable is set");
        if !params.is_empty() {
            assert!(raw.contains(value), "a value was not inserted verbatim");
            let encoded_value = url_encode(value);
            assert!(
                encoded_value.chars().all(|c| c.is_ascii_alphanumeric() || "-._~%".contains(c)),
                "URL-encoding left a delimiter: {encoded_value}"
            );
            assert!(encoded.contains(&*encoded_value));
        }
    }
}

/// A `--batch` line against a config with typed and untyped parameters:
/// refused in one line, or a job whose values fit every rule.
pub fn batch_line(bytes: &[u8]) {
    static CONFIG: LazyLock<Config> = LazyLock::new(|| {
        Config::parse(
            Path::new("fuzz.toml"),
            r#"
[jobs.deploy]
command = "echo {{env}} $(( {{n}} + 1 )) {{note}}"
params = { env = { default = "staging", pattern = "staging|production" }, n = { type = "int" }, note = "none" }
[jobs.call]
http = { method = "DELETE", url = "http://127.0.0.1:9/items/{{id}}?q={{q}}" }
params = { q = "" }
"#,
        )
        .expect("the fuzzing config loads")
    });
    match crate::commands::batch::parse(bytes, &CONFIG) {
        Err(e) => assert_message("batch line error", &e),
        Ok(job) => {
            let def = CONFIG.job(job.job.as_str()).expect("a known job");
            let resolved = def.resolve_params(&job.params).expect("an accepted line's values resolve at start");
            for (name, rule) in &def.param_rules {
                assert_eq!(rule.check(&resolved[name]), None, "accepted {name}={:?} against its rule", resolved[name]);
            }
            for value in job.args.iter().chain(resolved.values()) {
                assert!(!value.contains('\0'), "accepted a NUL byte");
            }
            if job.job.as_str() == "call" {
                assert!(!matches!(resolved["id"].as_str(), "." | ".."), "accepted a dot segment");
            }
        }
    }
}

/// The crontab importer, as a user's and as a system crontab: every problem
/// one line, every name a valid job name, short and given once, and what it
/// converts loads as a config.
pub fn crontab(text: &str) {
    for system in [false, true] {
        let converted = crate::crontab::convert(text, system);
        for p in &converted.problems {
            assert_message("crontab problem", &p.reason);
        }
        let mut seen = std::collections::HashSet::new();
        for name in &converted.names {
            assert!(crate::names::JobName::new(name).is_ok(), "import-crontab named a job {name:?}");
            assert!(name.len() <= crate::crontab::MAX_NAME_LEN, "import-crontab named a job {name:?}: too long");
            assert!(seen.insert(name), "import-crontab gave two jobs the name {name:?}");
        }
        if !converted.names.is_empty()
            && let Err(errors) = Config::parse(Path::new("imported.toml"), &converted.toml)
        {
            panic!("import-crontab wrote a config that does not load: {errors}\n{}", converted.toml);
        }
    }
}
