//! Hostile input: what an attacker or a careless user can put in a
//! parameter, an argument, a job's output or a broker URL, and what taskq
//! makes of it. `shell`: values under real shells, typed parameters;
//! `edges`: URLs, headers, limits, configs, schedules and arguments.

mod edges;
mod shell;

use crate::common::Env;

/// Control characters a terminal would obey.
fn obeys_terminal(text: &str) -> bool {
    text.chars().any(|c| (c.is_control() && c != '\n' && c != '\t') || ('\u{202a}'..='\u{202e}').contains(&c))
}

// See: the hostile-input issue, item 5 (status, list, logs and history
// printed parameters and output raw: a title set, the screen cleared, a
// line forged).
#[test]
fn text_output_shows_control_characters_instead_of_obeying_them() {
    let env = Env::sqlite().jobs(
        r"
[jobs.echo]
command = '''true {{x}}; printf '\033[2J\r\nfake: done\n' '''
",
    );
    let hostile = "x=\u{1b}]0;TITLE\u{7}\u{1b}[2J...\r\nfake: line\u{202e}";
    let id = env.enqueue(&["echo", "arg\u{1b}[31m", "-p", hostile]);
    env.run(&["run", "--burst"]).success();
    for args in [&["status", &id][..], &["list"], &["logs", &id], &["history", "echo"]] {
        let out = env.run(args).success().get_output().stdout.clone();
        let text = String::from_utf8_lossy(&out);
        assert!(!obeys_terminal(&text), "{args:?} printed raw control characters:\n{text:?}");
    }
    let status = String::from_utf8_lossy(&env.run(&["status", &id]).success().get_output().stdout).to_string();
    assert!(status.contains("param:     x=\\e]0;TITLE\\x07\\e[2J...\\r\\nfake: line\\u{202e}"), "{status}");
    assert!(status.contains("args:      'arg\\e[31m'"), "{status}");
    let logs = String::from_utf8_lossy(&env.run(&["logs", &id]).success().get_output().stdout).to_string();
    assert!(logs.contains("\\e[2J\\r\nfake: done"), "{logs:?}");
    // --json carries them verbatim, for scripts.
    let json = env.status(&id);
    assert_eq!(json["params"]["x"].as_str().unwrap(), &hostile[2..]);
}

// See: the hostile-input issue, item 10 (a queue name or an HTTP method
// holding a newline printed an error over two lines).
#[test]
fn an_error_quoting_a_value_stays_on_one_line() {
    let env = Env::sqlite().jobs("[jobs.j]\ncommand = \"true\"\n");
    let out = env.run(&["enqueue", "j", "--queue", "a\nb\u{1b}[2J"]).code(2).get_output().stderr.clone();
    let err = String::from_utf8_lossy(&out);
    assert_eq!(err.lines().count(), 1, "{err:?}");
    assert!(!obeys_terminal(&err) && err.contains("a\\nb\\e[2J"), "{err:?}");
    let env = Env::sqlite().jobs("[jobs.h]\nhttp = { method = \"GE\\nT\", url = \"http://localhost/\" }\n");
    let out = env.run(&["check"]).code(78).get_output().stderr.clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.lines().all(|l| l.starts_with("error: ")), "{err:?}");
    assert!(err.contains("GE\\nT"), "{err:?}");
}
