//! A closed or full stdout under `enqueue`: the jobs are stored, so the
//! exit code must say so (74), and a batch never stops half-way.

use crate::common::Env;

// See: the faults issue, item 11 (`enqueue --batch FILE | head -1` exited 0
// having enqueued 4,000 of 50,000 lines).
#[test]
fn a_batch_whose_reader_goes_away_is_enqueued_whole_and_exits_74() {
    let env = Env::sqlite().jobs("[jobs.mark]\ncommand = \"true\"\n");
    let lines: String = (0..20_000).map(|i| format!("{{\"job\":\"mark\",\"args\":[\"{i}\"]}}\n")).collect();
    env.write("batch.jsonl", &lines);
    let taskq = env!("CARGO_BIN_EXE_taskq");
    let script = format!("{taskq} enqueue --batch batch.jsonl | head -1; echo \"exit ${{PIPESTATUS[0]}}\" >&2");
    let out = env.command_for("bash", &["-c", &script]).output().expect("bash");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("exit 74"), "{stderr}");
    assert!(stderr.contains("20000 jobs were enqueued, but their ids could not all be printed"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
    let listed = env.run(&["list", "--limit", "30000"]).success().get_output().stdout.clone();
    assert_eq!(String::from_utf8_lossy(&listed).lines().count(), 20_001, "every line is in (and a header)");
}

#[test]
fn an_enqueue_whose_id_cannot_be_printed_exits_74_naming_it() {
    let env = Env::sqlite().jobs("[jobs.mark]\ncommand = \"true\"\n");
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").expect("/dev/full");
    let out = env.command().args(["enqueue", "mark"]).stdout(full).output().expect("taskq");
    assert_eq!(out.status.code(), Some(74));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let id = stderr
        .split_whitespace()
        .find(|w| w.len() == 36 && w.contains('-'))
        .unwrap_or_else(|| panic!("the id is named: {stderr}"));
    assert!(stderr.contains("was enqueued, but its id could not be printed"), "{stderr}");
    assert_eq!(env.state(id), "queued", "the job was stored");
}

// Rust's stdout reports success on a closed descriptor, and the next file
// or socket opened would take its number: `enqueue >&-` exited 0 with the id
// lost.
#[test]
fn an_enqueue_with_stdout_closed_exits_74_naming_the_id() {
    let env = Env::redis().jobs("[jobs.mark]\ncommand = \"true\"\n");
    let taskq = env!("CARGO_BIN_EXE_taskq");
    let out = env.command_for("sh", &["-c", "exec \"$0\" enqueue mark >&-", taskq]).output().expect("sh");
    assert_eq!(out.status.code(), Some(74), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("was enqueued, but its id could not be printed: stdout is closed"), "{stderr}");
    let id = stderr.split_whitespace().find(|w| w.len() == 36 && w.contains('-')).expect("the id is named");
    assert_eq!(env.state(id), "queued", "the job was stored, and the Redis link was not written over");
    let out = env.command_for("sh", &["-c", "exec \"$0\" list >&-", taskq]).output().expect("sh");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("stdout is closed"));
    let out = env.command_for("sh", &["-c", "exec \"$0\" completions bash >&-", taskq]).output().expect("sh");
    assert_ne!(out.status.code(), Some(0), "{out:?}");
}

// Python's subprocess.DEVNULL and Go's exec.Cmd give a child /dev/null
// opened for reading and writing, as Rust's runtime fills a closed stdout:
// taskq took it for closed and exited 74, so a caller retried a job that was
// stored. Output asked to be discarded is discarded.
#[test]
fn an_enqueue_whose_stdout_is_dev_null_read_write_succeeds() {
    let env = Env::sqlite().jobs("[jobs.mark]\ncommand = \"true\"\n");
    let taskq = env!("CARGO_BIN_EXE_taskq");
    for redirect in ["1<>/dev/null", ">/dev/null"] {
        let script = format!("exec \"$0\" enqueue mark {redirect}");
        let out = env.command_for("sh", &["-c", &script, taskq]).output().expect("sh");
        assert_eq!(out.status.code(), Some(0), "{redirect}: {out:?}");
    }
    let listed = env.run(&["list", "--json"]).success().get_output().stdout.clone();
    assert_eq!(String::from_utf8_lossy(&listed).lines().count(), 2);
}
