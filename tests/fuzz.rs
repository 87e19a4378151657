//! Property-based fuzzing of the parsers (the checks live in
//! `taskq::fuzzing`, shared with the coverage-guided targets in fuzz/): each
//! target gets random bytes and inputs built from its own grammar, where the
//! interesting cases are. A short run here; a long one with
//! `TASKQ_FUZZ_CASES=200000 cargo test --release --test taskq fuzz::`
//! (docs/security.md).
//!
//! The shell target runs real shells: a parameter value, whatever it holds,
//! reaches the command as exactly that value under dash, bash and zsh.

use proptest::prelude::*;
use proptest::test_runner::Config;

use crate::common::Env;

fn cases(default: u32) -> Config {
    let scale: f64 =
        std::env::var("TASKQ_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).map_or(1.0, |n: f64| n / 256.0);
    Config {
        cases: ((f64::from(default) * scale) as u32).max(1),
        // Failures become named regression tests instead of files in the tree.
        failure_persistence: None,
        ..Config::default()
    }
}

/// Text that tends to matter to these parsers.
fn pieces(set: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(set), 0..12).prop_map(|v| v.concat())
}

const TOML_BITS: &[&str] = &[
    "[jobs.a]\n",
    "[jobs.b]\n",
    "[defaults]\n",
    "[taskq]\n",
    "[jobs.a.http]\n",
    "command = ",
    "schedule = ",
    "every = ",
    "params = ",
    "timezone = ",
    "http = ",
    "url = ",
    "retries = ",
    "timeout = ",
    "shell = ",
    "env = ",
    "queue = ",
    "\"echo {{x}}\"",
    "\"$(( {{n}} + 1 ))\"",
    "\"@daily\"",
    "\"*/5 * * * *\"",
    "\"0 0 30 2 *\"",
    "\"1s\"",
    "\"999999999d\"",
    "{ x = \"1\" }",
    "{ n = { type = \"int\" } }",
    "{ n = { type = \"int\", default = \"x\" } }",
    "{ p = { pattern = \"(\" } }",
    "{ p = { pattern = \"a|b\", default = \"a\" } }",
    "\"Europe/Berlin\"",
    "\"Mars/X\"",
    "\"http://h/{{x}}\"",
    "\"/bin/bash\"",
    "3",
    "-1",
    "1e400",
    "[1, 2]",
    "\"\\u0000\"",
    "\"\\u001b[2J\"",
    "'''",
    "\"",
    "{",
    "}",
    "=",
    ".",
    "\n",
    " ",
    "#",
    "\u{feff}",
    "é",
];

const CRON_BITS: &[&str] = &[
    "*", "0", "1", "5", "7", "12", "23", "29", "30", "31", "59", "60", "99", "-", "/", ",", " ", "  ", "L", "W", "#",
    "?", "MON", "sun", "JAN", "dec", "@daily", "@hourly", "@reboot", "@", "LW", "5L", "2#3", "*/0", "1-0", "\t", "\n",
];

const CRON_FIELD_BITS: &[&str] = &[
    "*", "*", "*", "0", "1", "2", "5", "7", "12", "23", "29", "30", "31", "59", "60", "-", "/", ",", "L", "W", "#",
    "?", "MON", "fri", "JAN", "feb", "LW", "5L", "*/0", "*/7",
];

const TEMPLATE_BITS: &[&str] =
    &["{{", "}}", "{", "}", "${", "$", "x", "n", "user", "'", "\"", "\\", " ", "é", "{{x}}", "${HOME}", "{{ x }}", "-"];

const VALUE_BITS: &[&str] = &[
    "$(touch PWNED)",
    "`touch PWNED`",
    "'",
    "\"",
    "\\",
    ";",
    "&&",
    "|",
    "\n",
    "\r",
    "$HOME",
    "${x}",
    "a[$(touch PWNED)]",
    "*",
    "?",
    "~",
    "-n",
    "--",
    " ",
    "\t",
    "..",
    ".",
    "/",
    "%",
    "é",
    "\u{202e}",
    "\u{1b}[2J",
    "$((1+1))",
    "!",
    "#",
];

const CRONTAB_BITS: &[&str] = &[
    "0 3 * * * ",
    "*/5 * * * * ",
    "@daily ",
    "@reboot ",
    "MAILTO=a@b\n",
    "SHELL=/bin/bash\n",
    "CRON_TZ=Europe/Berlin\n",
    "CRON_TZ=Mars/X\n",
    "PATH=\"/bin\"\n",
    "root ",
    "echo hi",
    "date +%F",
    "date +\\%F",
    "'",
    "\"",
    "#",
    "# note\n",
    "[x]",
    "\\",
    " ",
    "\n",
    "=",
    "{{x}}",
    "${X}",
    "é",
    "\u{1b}",
    "'''",
    "\"\"\"",
];

/// Shell syntax and programs the crontab importer's job-name heuristic reads.
const COMMAND_BITS: &[&str] = &[
    "cd /srv/app && ",
    "flock -n /tmp/l ",
    "sudo -u www-data ",
    "timeout 5m ",
    "env ",
    "sh -c '",
    "bash -lc \"",
    "python3 ",
    "php ",
    "/var/www/artisan ",
    "schedule:run",
    "find /var/log/app -mtime +7 ",
    "-delete",
    "curl -fsS ",
    "https://u:p@[::1]:8/ping/",
    "https://hc.example.com/",
    "pg_dump app",
    " | gzip > /x",
    "$(date +\\%F)",
    "`id`",
    "${X:-",
    "$((",
    ")",
    "(",
    "'",
    "\"",
    "\\",
    " ",
    ";",
    "&&",
    "||",
    "&",
    "|",
    ">",
    "2>&1",
    "<<<",
    "-",
    "--",
    "-c",
    "=",
    "A=b ",
    "/",
    ".",
    "..",
    "é",
    "\u{1b}",
    "\u{202e}",
    "x",
    "9",
    "eb095278f28d448d87fb",
    "very-long-segment-of-a-job-name-",
];

proptest! {
    #![proptest_config(cases(256))]

    #[test]
    fn config_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        taskq::fuzzing::config(&bytes);
    }

    #[test]
    fn config_from_toml_pieces(text in pieces(TOML_BITS)) {
        taskq::fuzzing::config(text.as_bytes());
    }

    #[test]
    fn cron_any_text(text in ".{0,40}") {
        taskq::fuzzing::cron(&text);
    }

    #[test]
    fn cron_from_pieces(text in pieces(CRON_BITS)) {
        taskq::fuzzing::cron(&text);
    }

    #[test]
    fn cron_from_fields(fields in prop::collection::vec(
        prop::collection::vec(prop::sample::select(CRON_FIELD_BITS), 1..5).prop_map(|v| v.concat()),
        5..=6,
    )) {
        taskq::fuzzing::cron(&fields.join(" "));
    }

    #[test]
    fn template_from_pieces(text in pieces(TEMPLATE_BITS), value in pieces(VALUE_BITS)) {
        taskq::fuzzing::template(&text, &value);
    }

    #[test]
    fn batch_line_any_bytes(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        taskq::fuzzing::batch_line(&bytes);
    }

    #[test]
    fn batch_line_from_json(
        job in prop::sample::select(&["deploy", "call", "nope"][..]),
        params in prop::collection::btree_map(
            prop::sample::select(&["env", "n", "note", "id", "q", "zz"][..]),
            prop_oneof![pieces(VALUE_BITS), "-?[0-9]{0,3}", Just("production".to_string()), ".*"],
            0..4,
        ),
        args in prop::collection::vec(pieces(VALUE_BITS), 0..3),
    ) {
        let line = serde_json::json!({ "job": job, "params": params, "args": args }).to_string();
        taskq::fuzzing::batch_line(line.as_bytes());
    }

    #[test]
    fn crontab_from_lines(text in pieces(CRONTAB_BITS)) {
        taskq::fuzzing::crontab(&text);
    }

    // Each command twice, so that the second name must differ from the first.
    #[test]
    fn crontab_names_any_command(command in pieces(COMMAND_BITS), text in ".{0,60}") {
        for command in [command, text] {
            taskq::fuzzing::crontab(&format!("0 3 * * * {command}\n0 4 * * * {command}\n@daily root {command}\n"));
        }
    }
}

/// Commands with `{{x}}` in each quoting context, and what they print
/// around the value (`None`: only that nothing from the value ran; inside a
/// nested `$(...)` the value may be split into words, never run).
const CONTEXTS: &[(&str, Option<(&str, &str)>)] = &[
    ("printf '[%s]' {{x}}", Some(("[", "]"))),
    ("printf '[%s]' \"a{{x}}b\"", Some(("[a", "b]"))),
    ("printf '[%s]' 'a{{x}}b'", Some(("[a", "b]"))),
    ("printf '[%s]' a{{x}}b", Some(("[a", "b]"))),
    ("printf '[%s]' \"${UNSET_VAR:-{{x}}}\"", Some(("[", "]"))),
    ("printf '[%s]' ${UNSET_VAR:-{{x}}}", Some(("[", "]"))),
    ("x={{x}}; printf '[%s]' \"$x\"", Some(("[", "]"))),
    ("printf '[%s]' \"$(printf %s {{x}})\"", None),
    ("printf '[%s]' `printf %s {{x}}`", None),
];

proptest! {
    #![proptest_config(cases(24))]

    // A value is data under dash, bash and zsh in every quoting context: the
    // command prints exactly the value and nothing else ran.
    #[test]
    fn a_value_is_only_ever_a_value_under_real_shells(
        value in pieces(VALUE_BITS).prop_filter("no NUL: refused at enqueue", |v| !v.contains('\0')),
        context in prop::sample::select(CONTEXTS),
    ) {
        let (command, printed) = context;
        for shell in ["/bin/sh", "/bin/bash", "/bin/zsh"] {
            let env = Env::sqlite().jobs(&format!("[jobs.j]\nshell = \"{shell}\"\ncommand = \'\'\'{command}\'\'\'\n"));
            let out = env.run(&["exec", "j", "-p", &format!("x={value}")]).get_output().clone();
            prop_assert!(!env.path("PWNED").exists(), "{} ran code from the value {:?} in {}", shell, value, command);
            // Refused for shell jobs: what bash would run as a subscript.
            let refused = out.status.code() == Some(2) && String::from_utf8_lossy(&out.stderr).contains("whatever the quoting");
            let substitution = value.contains("$(") || value.contains("${") || value.contains('`');
            prop_assert_eq!(refused, substitution, "refused or not: {:?}", value);
            if let Some((before, after)) = printed.filter(|_| !refused) {
                let stdout = String::from_utf8_lossy(&out.stdout);
                prop_assert_eq!(stdout.as_ref(), format!("{before}{value}{after}"), "{} ran {}", shell, command);
            }
        }
    }
}
