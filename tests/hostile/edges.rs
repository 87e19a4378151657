//! Values at the edges of what a job can be given: URL path segments,
//! headers, the kernel's limits; configs, schedules and arguments that are
//! huge, malformed or out of place.

use predicates::prelude::*;

use crate::common::Env;

// See: the hostile-input issue, item 2 (`..` filling a path segment sent
// `DELETE /api/`).
#[test]
fn a_dot_segment_value_in_a_url_path_is_refused() {
    let env = Env::sqlite().jobs(
        "[jobs.del]\nhttp = { method = \"DELETE\", url = \"http://127.0.0.1:9/api/tenants/{{t}}/items/{{i}}\" }\n",
    );
    for (t, i) in [("..", "1"), ("1", "."), ("..", "..")] {
        env.run(&["enqueue", "del", "-p", &format!("t={t}"), "-p", &format!("i={i}")])
            .code(2)
            .stderr(predicates::str::contains("fills a whole path segment of the URL"));
    }
    env.run(&["enqueue", "del", "-p", "t=...", "-p", "i=a..b"]).success();
    // A default that does it would fail every run: a config error instead.
    let defaulted = Env::sqlite().jobs(
        "[jobs.del]\nhttp = { method = \"GET\", url = \"http://127.0.0.1:9/x/{{p}}/y\" }\nparams = { p = \"..\" }\nschedule = \"* * * * *\"\n",
    );
    defaulted.run(&["check"]).code(78).stderr(predicates::str::contains(
        "the default of parameter \"p\" cannot be used: it fills a whole path segment of the URL",
    ));
}

// See: the hostile-input issue, item 6 (a NUL byte, or a value over the
// OS's limit, was accepted and failed the job later).
#[test]
fn values_no_process_can_be_given_are_refused_at_enqueue() {
    let env = Env::sqlite().jobs("[jobs.echo]\ncommand = \"echo {{x}}\"\n");
    // Too long for one argument of this command line, so it comes by --batch.
    let huge = format!("{{\"job\":\"echo\",\"params\":{{\"x\":\"{}\"}}}}\n", "y".repeat(200 * 1024));
    env.run_with_input(&["enqueue", "--batch", "-"], &huge)
        .code(65)
        .stderr(predicates::str::contains("the OS passes at most 128 KiB"));
    env.run_with_input(
        &["enqueue", "--batch", "-"],
        "{\"job\":\"echo\",\"params\":{\"x\":\"a\\u0000b\"}}\n{\"job\":\"echo\",\"params\":{\"x\":\"fine\"}}\n",
    )
    .code(65)
    .stderr(predicates::str::contains("line 1:").and(predicates::str::contains("NUL byte")));
    env.run(&["list"]).success().stdout(predicates::str::contains("echo").count(1));
    // A default no run could use is a config error, not a failure at every tick.
    let nul =
        Env::sqlite().jobs("[jobs.s]\ncommand = \"echo {{a}}\"\nevery = \"1m\"\nparams = { a = \"x\\u0000y\" }\n");
    nul.run(&["check"])
        .code(78)
        .stderr(predicates::str::contains("the default of parameter \"a\" cannot be used: it holds a NUL byte"));
    let huge = format!("[jobs.s]\ncommand = \"echo {{{{a}}}}\"\nparams = {{ a = \"{}\" }}\n", "y".repeat(200 * 1024));
    let huge = Env::sqlite().jobs(&huge);
    huge.run(&["check"]).code(78).stderr(predicates::str::contains("the OS passes at most 128 KiB"));
}

// A value filling a header goes verbatim; one holding a line break could
// never be sent (it cannot add a header either): refused at enqueue, not
// accepted to fail at run time.
#[test]
fn a_header_value_with_a_line_break_is_refused_at_enqueue() {
    let env = Env::sqlite().jobs(
        "[jobs.h]\nhttp = { method = \"GET\", url = \"http://127.0.0.1:9/\", headers = { X-Tenant = \"t-{{t}}\" } }\n",
    );
    env.run(&["enqueue", "h", "-p", "t=a\r\nX-Evil: 1"])
        .code(2)
        .stderr(predicates::str::contains("it fills the x-tenant header, where control characters are not allowed"));
    env.run(&["enqueue", "h", "-p", "t=a\tb \u{e9}"]).success();
    let defaulted = Env::sqlite().jobs(
        "[jobs.h]\nhttp = { method = \"GET\", url = \"http://127.0.0.1:9/\", headers = { X-Tenant = \"{{t}}\" } }\nparams = { t = \"a\\nb\" }\n",
    );
    defaulted.run(&["check"]).code(78).stderr(predicates::str::contains("it fills the x-tenant header"));
    env.run(&["list"]).success().stdout(predicates::str::contains(" h ").count(1));
}

// See: the hostile-input issue, item 7 (`-f /dev/zero` took gigabytes) and
// item 10 (a non-UTF-8 config had no position; a too-deep key no file).
#[test]
fn a_config_that_is_huge_not_utf8_or_too_deep_is_refused_with_its_place() {
    let env = Env::sqlite();
    let started = std::time::Instant::now();
    env.run(&["-f", "/dev/zero", "check"])
        .code(78)
        .stderr("error: config /dev/zero is over 4 MiB, far more than any jobs file: check that -f or $TASKQ_CONFIG names the right file\n");
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());
    std::fs::write(env.path("latin1.toml"), b"[jobs.a]\ncommand = \"echo caf\xe9\"\n").unwrap();
    env.run(&["-f", "latin1.toml", "check"])
        .code(78)
        .stderr("error: latin1.toml:2:20: byte 0xe9 is not UTF-8: save the file as UTF-8\n");
    env.write("deep.toml", &format!("x{} = 1\n", ".a".repeat(3000)));
    env.run(&["-f", "deep.toml", "check"])
        .code(78)
        .stderr(predicates::str::starts_with("error: deep.toml: invalid TOML"));
}

// See: the hostile-input issue, item 10 (`MON` in the minute field fired at
// minute 1; schedules that never fire passed with an empty `next:`).
#[test]
fn schedules_with_names_out_of_place_or_that_never_fire_are_config_errors() {
    let env = Env::sqlite().jobs(
        "[jobs.a]\ncommand = \"true\"\nschedule = \"MON * * * *\"\n\
         [jobs.b]\ncommand = \"true\"\nschedule = \"0 0 30 2 *\"\n\
         [jobs.c]\ncommand = \"true\"\nevery = \"99999999999999d\"\n\
         [jobs.d]\ncommand = \"true\"\nschedule = \"0 9 * JAN MON\"\n",
    );
    let out = env.run(&["check"]).code(78).get_output().stderr.clone();
    let err = String::from_utf8_lossy(&out);
    assert!(
        err.contains("jobs.toml:3:12: cron expression \"MON * * * *\": the minute field \"MON\" holds a name"),
        "{err}"
    );
    assert!(err.contains("jobs.toml:6:12: cron expression \"0 0 30 2 *\" never fires: no date matches it"), "{err}");
    assert!(err.contains("jobs.toml:9:9: \"every\" = ") && err.contains("never fires"), "{err}");
    assert_eq!(err.lines().count(), 3, "job d is fine: {err}");
}

// See: the hostile-input issue, item 11.
#[test]
fn argument_edge_cases_get_one_clear_line() {
    use std::os::unix::ffi::OsStrExt;
    let env = Env::sqlite().jobs("[jobs.x]\ncommand = \"true\"\n");
    let mut cmd = env.command();
    cmd.args(["enqueue".as_ref(), "x".as_ref(), std::ffi::OsStr::from_bytes(b"caf\xe9")]);
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "error: argument 3 (\"caf\\xe9\") is not valid UTF-8: taskq takes job names, arguments and parameters as UTF-8 text\n"
    );
    // Binary input ends a batch instead of being read for ever.
    env.run(&["enqueue", "--batch", "/dev/zero"])
        .code(65)
        .stderr(predicates::str::contains("line 1: it holds a NUL byte: the input is not text"));
    // What came before binary goes in, and is counted.
    env.write("mixed", "{\"job\":\"x\"}\n{\"job\":\"x\"}\n\0\0\0");
    env.run(&["enqueue", "--batch", "mixed"]).code(65).stderr(
        predicates::str::contains("line 3: it holds a NUL byte")
            .and(predicates::str::contains("the 2 jobs before it were enqueued")),
    );
    // Usage errors are one line too: the problem, clap's tip, where help is.
    for (args, expected) in [
        (
            &["enqueue", "--batch", "f", "--json"][..],
            "error: the argument '--batch <FILE>' cannot be used with '--json' (see 'taskq enqueue --help')\n",
        ),
        (
            &["enqueue", "--queu", "q", "x"],
            "error: unexpected argument '--queu' found; tip: a similar argument exists: '--queue' (see 'taskq enqueue --help')\n",
        ),
        (
            &["status"],
            "error: the following required arguments were not provided: <ID>... (see 'taskq status --help')\n",
        ),
    ] {
        env.run(args).code(2).stderr(expected);
    }
    // Valid RFC 3339 at the end of time is taken; an offset past ±23:59 is not.
    let id = env.enqueue(&["x", "--at", "9999-12-31T23:59:59Z"]);
    assert_eq!(env.state(&id), "scheduled");
    env.run(&["enqueue", "x", "--at", "2027-01-01T00:00:00+25:00"])
        .code(2)
        .stderr(predicates::str::contains("the offset +25 is outside -23:59..+23:59"));
    // --batch lines carry their own options: one for a single job is refused
    // (--wait goes with --then only).
    for flag in [&["-p", "a=b"][..], &["--queue", "q"], &["--key", "k"]] {
        let mut args = vec!["enqueue", "--batch", "-"];
        args.extend(flag);
        env.run_with_input(&args, "{\"job\":\"x\"}\n").code(2).stderr(predicates::str::contains("cannot be used with"));
    }
    env.run_with_input(&["enqueue", "--batch", "-", "--wait"], "{\"job\":\"x\"}\n")
        .code(2)
        .stderr("error: --wait with --batch needs --then JOB: it waits for that job, run after the whole batch\n");
    // A BOM before the first line is not part of it.
    env.run_with_input(&["enqueue", "--batch", "-"], "\u{feff}{\"job\":\"x\"}\n{\"job\":\"x\"}\n")
        .success()
        .stdout(predicates::str::is_match("^([0-9a-f-]{36}\n){2}$").unwrap());
    // A line longer than any job's is refused, and the next line still read.
    let long = format!("{{\"job\":\"x\",\"args\":[\"{}\"]}}\n{{\"job\":\"x\"}}\n", "a".repeat(3 << 20));
    env.run_with_input(&["enqueue", "--batch", "-"], &long).code(65).stderr(
        predicates::str::contains("line 1: the line is over 2 MiB")
            .and(predicates::str::contains("the other 1 were enqueued")),
    );
}

// See: the hostile-input issue, item 11 (`TZ=Bogus/Zone` silently meant UTC).
#[test]
fn an_unknown_tz_is_warned_about() {
    let env = Env::sqlite().jobs("[jobs.x]\ncommand = \"true\"\nschedule = \"0 3 * * *\"\n");
    let mut cmd = env.command();
    cmd.args(["check"]).env("TZ", "Bogus/Zone");
    let out = cmd.output().unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.matches("TZ=\"Bogus/Zone\" names no time zone this host knows: using UTC").count(), 1, "{err}");
    let mut cmd = env.command();
    cmd.args(["check"]).env("TZ", "Europe/Berlin");
    assert!(cmd.output().unwrap().stderr.is_empty());
}

// See: the hostile-input issue, item 11 (an unconvertible `%` line was
// listed by number only).
#[test]
fn import_crontab_quotes_the_lines_it_cannot_convert() {
    let env = Env::sqlite();
    env.run_with_input(&["import-crontab", "-"], "0 3 * * * date +%F > /tmp/x\n* * *\n").code(65).stderr(
        predicates::str::contains("line 1: command \"date +%F > /tmp/x\": an unescaped %")
            .and(predicates::str::contains("line 2: \"* * *\": a schedule line needs 5 time fields")),
    );
}
