//! Shell completion with the real shells: each test sources what `taskq
//! completions SHELL` prints, fills in the line as the shell would at a TAB,
//! and calls the registered function, which calls the built binary (on
//! PATH, as `taskq`). The candidates must come from the config in effect and
//! its broker, and nothing may reach the terminal's stderr.

use std::path::Path;
use std::process::Command;

use crate::common::Env;

const JOBS: &str = r#"
[jobs.backup]
command = "pg_dump app | gzip > /backups/{{day}}.sql.gz"
params = { day = "today" }
schedule = "30 2 * * *"

[jobs.bake]
command = "make bake"
queue = "ovens"

[jobs.ping]
http = { url = "http://127.0.0.1:9/ping" }

[workflows.nightly]
steps = ["bake", "ping"]
"#;

/// What a completion printed: the candidates, one per line, and stderr.
#[derive(Debug)]
struct Completed {
    candidates: Vec<String>,
    stderr: String,
}

impl Completed {
    /// The candidates without options (`--queue`, `-p`).
    fn values(&self) -> Vec<&str> {
        self.candidates.iter().map(String::as_str).filter(|c| !c.starts_with('-')).collect()
    }
}

/// A shell in the env's dir, with the built taskq first on PATH and none
/// of the test process's taskq settings (nor its home's config).
fn shell(env: &Env, program: &str) -> Command {
    let bin = Path::new(env!("CARGO_BIN_EXE_taskq")).parent().expect("the binary's dir").to_path_buf();
    let path = std::env::var_os("PATH").unwrap_or_default();
    let mut dirs = vec![bin];
    dirs.extend(std::env::split_paths(&path));
    let mut cmd = Command::new(program);
    for (key, _) in std::env::vars_os() {
        let key = key.to_string_lossy().to_string();
        if key.starts_with("TASKQ_") || key.starts_with("XDG_") || key == "COMPLETE" {
            cmd.env_remove(key);
        }
    }
    cmd.current_dir(env.dir.path()).env("HOME", env.dir.path()).env("PATH", std::env::join_paths(dirs).expect("PATH"));
    cmd
}

fn run(mut cmd: Command) -> Completed {
    let out = cmd.output().expect("run the shell");
    assert!(out.status.success(), "the shell failed: {out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    Completed {
        candidates: stdout.lines().filter(|l| !l.is_empty()).map(str::to_string).collect(),
        stderr: String::from_utf8_lossy(&out.stderr).to_string(),
    }
}

/// bash's completion of `words` (the last one the word under the cursor, at
/// its end), through the function `complete -p taskq` names.
fn bash(env: &Env, words: &[&str], vars: &[(&str, &str)]) -> Completed {
    const SCRIPT: &str = r#"
source <(taskq completions bash) || exit 90
spec=$(complete -p taskq) || exit 91
fn=${spec##* -F }
fn=${fn%% *}
COMP_WORDS=("$@")
COMP_CWORD=$(( $# - 1 ))
COMP_LINE="$*"
COMP_POINT=${#COMP_LINE}
COMP_TYPE=9
"$fn" taskq "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
for candidate in "${COMPREPLY[@]}"; do printf '%s\n' "$candidate"; done
"#;
    let mut cmd = shell(env, "bash");
    cmd.args(["--norc", "--noprofile", "-c", SCRIPT, "bash"]).args(words).envs(vars.iter().copied());
    run(cmd)
}

#[test]
fn bash_completes_enqueue_with_the_jobs_and_workflows_of_jobs_toml() {
    let env = Env::sqlite().jobs(JOBS);
    let got = bash(&env, &["taskq", "enqueue", ""], &[]);
    assert_eq!(got.candidates, ["backup", "bake", "ping", "nightly"], "{got:?}");
    assert_eq!(got.stderr, "");
}

#[test]
fn bash_narrows_the_jobs_to_the_typed_prefix() {
    let env = Env::sqlite().jobs(JOBS);
    assert_eq!(bash(&env, &["taskq", "enqueue", "ba"], &[]).candidates, ["backup", "bake"]);
    assert_eq!(bash(&env, &["taskq", "-q", "enqueue", "pi"], &[]).candidates, ["ping"]);
    // Options still complete once a dash is typed: the global ones, then
    // the command's own.
    let options = bash(&env, &["taskq", "enqueue", "backup", "--qu"], &[]);
    assert_eq!(options.candidates, ["--quiet", "--queue"], "{options:?}");
}

#[test]
fn exec_history_and_schedule_offer_what_each_command_takes() {
    let env = Env::sqlite().jobs(JOBS);
    // exec runs a job, never a workflow.
    assert_eq!(bash(&env, &["taskq", "exec", ""], &[]).candidates, ["backup", "bake", "ping"]);
    assert_eq!(bash(&env, &["taskq", "history", "n"], &[]).candidates, ["nightly"]);
    assert_eq!(bash(&env, &["taskq", "schedule", "pause", ""], &[]).candidates, ["backup"]);
    assert_eq!(bash(&env, &["taskq", "schedule", "trigger", ""], &[]).candidates, ["backup"]);
    assert_eq!(bash(&env, &["taskq", "enqueue", "bake", "--queue", ""], &[]).candidates, ["default", "ovens"]);
    assert_eq!(bash(&env, &["taskq", "run", "-Q", "ovens,d"], &[]).candidates, ["ovens,default"]);
    assert_eq!(bash(&env, &["taskq", "list", "--state", "f"], &[]).candidates, ["failed"]);
}

#[test]
fn the_subcommands_offered_are_the_visible_ones() {
    let env = Env::sqlite().jobs(JOBS);
    let got = bash(&env, &["taskq", ""], &[]);
    assert!(got.candidates.iter().any(|c| c == "enqueue"), "{got:?}");
    assert!(got.candidates.iter().all(|c| !c.starts_with("__") && !c.starts_with('-')), "{got:?}");
    assert!(bash(&env, &["taskq", "__"], &[]).candidates.is_empty());
}

#[test]
fn a_config_named_on_the_line_is_the_one_completed_from() {
    let env = Env::sqlite().jobs(JOBS);
    env.write("other.toml", "[jobs.other-job]\ncommand = \"true\"\n[jobs.odd]\ncommand = \"true\"\nevery = \"5m\"\n");
    assert_eq!(bash(&env, &["taskq", "-f", "other.toml", "enqueue", ""], &[]).candidates, ["other-job", "odd"]);
    assert_eq!(bash(&env, &["taskq", "enqueue", "--config", "other.toml", "o"], &[]).candidates, ["other-job", "odd"]);
    // bash splits `--config=other.toml` at the `=`.
    assert_eq!(bash(&env, &["taskq", "--config", "=", "other.toml", "schedule", "pause", ""], &[]).candidates, ["odd"]);
    assert_eq!(
        bash(&env, &["taskq", "enqueue", ""], &[("TASKQ_CONFIG", "other.toml")]).candidates,
        ["other-job", "odd"]
    );
    // The flag wins over the environment, as when the line runs.
    let both = bash(&env, &["taskq", "-f", "jobs.toml", "exec", ""], &[("TASKQ_CONFIG", "other.toml")]);
    assert_eq!(both.candidates, ["backup", "bake", "ping"]);
}

#[test]
fn a_broken_or_missing_config_gives_nothing_and_says_nothing() {
    let env = Env::sqlite().jobs("[jobs.a]\ncommand = 5\n");
    for words in [
        &["taskq", "enqueue", ""][..],
        &["taskq", "schedule", "pause", ""],
        &["taskq", "-f", "missing.toml", "exec", ""],
        &["taskq", "status", ""],
        &["taskq", "enqueue", "--queue", ""],
        &["taskq", "--broker", "redis://127.0.0.1:1/0", "status", ""],
        &["taskq", "--namespace", "not a namespace", "status", ""],
    ] {
        let got = bash(&env, words, &[]);
        assert_eq!(got.values(), Vec::<&str>::new(), "{words:?}: {got:?}");
        assert_eq!(got.stderr, "", "{words:?}");
    }
    // A COMPLETE that names no shell is no completion request.
    let mut check = shell(&env, env!("CARGO_BIN_EXE_taskq"));
    let out = check.env("COMPLETE", "1").arg("check").output().expect("taskq check");
    assert_eq!(out.status.code(), Some(78), "{out:?}");
}

#[test]
fn status_offers_recent_ids_from_the_broker_newest_first() {
    let env = Env::sqlite();
    env.write("jobs.toml", &format!("[taskq]\nbroker = \"{}\"\nnamespace = \"{}\"\n{JOBS}", env.broker, env.ns));
    let first = env.enqueue(&["bake"]);
    let second = env.enqueue(&["ping"]);
    let got = bash(&env, &["taskq", "status", ""], &[]);
    assert_eq!(got.candidates, [second.clone(), first.clone()], "{got:?}");
    assert_eq!(got.stderr, "");
    assert_eq!(bash(&env, &["taskq", "wait", &first[..first.len() - 1]], &[]).candidates, [first.as_str()]);
    assert_eq!(bash(&env, &["taskq", "logs", ""], &[]).candidates, [second.clone(), first.clone()]);
    assert_eq!(bash(&env, &["taskq", "revoke", ""], &[]).candidates, [second.clone(), first.clone()]);
    assert_eq!(bash(&env, &["taskq", "retry", ""], &[]).values(), Vec::<&str>::new(), "nothing failed");
    // Another namespace on the line holds none of them.
    assert_eq!(bash(&env, &["taskq", "--namespace", "elsewhere", "status", ""], &[]).values(), Vec::<&str>::new());
}

#[test]
fn completing_ids_creates_no_broker_file_or_directory() {
    let env = Env::sqlite().jobs(&format!("[taskq]\nbroker = \"sqlite://@DIR@/none.db\"\n{JOBS}"));
    assert_eq!(bash(&env, &["taskq", "status", ""], &[]).values(), Vec::<&str>::new());
    assert!(!env.path("none.db").exists());
    // The default broker, in the home's data dir.
    let env = Env::sqlite().jobs(JOBS);
    assert_eq!(bash(&env, &["taskq", "status", ""], &[]).values(), Vec::<&str>::new());
    assert!(!env.path(".local").exists());
}

#[test]
fn the_scripts_are_what_complete_env_prints_naming_taskq_on_path() {
    let env = Env::sqlite();
    for shell_name in ["bash", "zsh", "fish"] {
        let printed = env.run(&["completions", shell_name]).success().get_output().stdout.clone();
        let mut cmd = shell(&env, env!("CARGO_BIN_EXE_taskq"));
        let registered = cmd.env("COMPLETE", shell_name).output().expect("COMPLETE=SHELL taskq").stdout;
        let printed = String::from_utf8(printed).expect("utf-8");
        let registered = String::from_utf8(registered).expect("utf-8");
        assert!(printed.starts_with(&registered), "{shell_name}:\n{printed}\n---\n{registered}");
        assert!(!printed.contains(env!("CARGO_BIN_EXE_taskq")), "{shell_name} names a path");
    }
}

/// zsh's completer, with `_describe` (which needs a real TAB) replaced by
/// one that prints the candidates it is given, `value:description`.
fn zsh(env: &Env, setup: &str, words: &[&str]) -> Completed {
    let script = format!(
        r#"{setup}
_describe() {{ print -rl -- "${{(@P)3}}" }}
words=("$@")
CURRENT=$#
{call}
"#,
        call = if setup.contains("compinit") { "_taskq" } else { "_clap_dynamic_completer_taskq" }
    );
    let mut cmd = shell(env, "zsh");
    cmd.args(["-f", "-c", &script, "zsh"]).args(words);
    run(cmd)
}

#[test]
fn zsh_completes_jobs_with_their_commands_sourced_or_autoloaded() {
    if which("zsh").is_none() {
        eprintln!("zsh is not installed: its completion is not tested");
        return;
    }
    let env = Env::sqlite().jobs(JOBS);
    let sourced = zsh(&env, "compdef() { : }\nsource <(taskq completions zsh)", &["taskq", "enqueue", "ba"]);
    assert_eq!(
        sourced.candidates,
        ["backup:pg_dump app | gzip > /backups/{{day}}.sql.gz", "bake:make bake"],
        "{sourced:?}"
    );
    assert_eq!(sourced.stderr, "");
    // As packages install it: `_taskq` in $fpath, autoloaded by compinit;
    // the first TAB completes.
    std::fs::create_dir(env.path("site-functions")).expect("mkdir");
    let script = env.run(&["completions", "zsh"]).success().get_output().stdout.clone();
    std::fs::write(env.path("site-functions/_taskq"), script).expect("write _taskq");
    let autoloaded = zsh(
        &env,
        "fpath=(./site-functions $fpath)\nautoload -Uz compinit\ncompinit -u -D",
        &["taskq", "schedule", "pause", ""],
    );
    assert_eq!(autoloaded.candidates.len(), 1, "{autoloaded:?}");
    assert!(autoloaded.candidates[0].starts_with("backup:30 2 * * * ("), "{autoloaded:?}");
    assert_eq!(autoloaded.stderr, "");
}

#[test]
fn fish_completes_jobs_if_installed() {
    if which("fish").is_none() {
        eprintln!("fish is not installed: its completion is not tested");
        return;
    }
    let env = Env::sqlite().jobs(JOBS);
    let mut cmd = shell(&env, "fish");
    cmd.args(["--no-config", "-c", "taskq completions fish | source; complete -C 'taskq enqueue ba'"]);
    let got = run(cmd);
    assert_eq!(
        got.candidates.iter().map(|c| c.split('\t').next().unwrap_or_default()).collect::<Vec<_>>(),
        ["backup", "bake"]
    );
    assert_eq!(got.stderr, "");
}

fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).map(|d| d.join(program)).find(|p| p.is_file())
}
