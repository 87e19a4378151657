//! Shell jobs through `taskq exec`: what the job sees, how it ends, and
//! that nothing it started outlives it.

use std::time::Duration;

use predicates::prelude::*;

use crate::common::{Env, alive, wait_until};

fn pids(env: &Env, file: &str) -> Vec<i32> {
    env.lines(file).iter().filter_map(|l| l.trim().parse().ok()).collect()
}

#[test]
fn exit_codes_pass_through() {
    let env = Env::sqlite().jobs("[jobs.seven]\ncommand = \"echo out; echo err >&2; exit 7\"\n[jobs.ok3]\ncommand = \"exit 3\"\nsuccess_exit = [0, 3]\n[jobs.sig]\ncommand = \"kill -TERM $$\"\n");
    env.run(&["exec", "seven"]).code(7).stdout("out\n").stderr("err\nerror: job \"seven\" exited with code 7\n");
    env.run(&["exec", "ok3"]).code(3).stderr("");
    env.run(&["exec", "sig"]).code(128 + 15).stderr(predicate::str::contains("killed by signal 15"));
}

#[test]
fn the_job_sees_its_args_params_and_taskq_variables() {
    let env = Env::sqlite().jobs(
        r#"
[jobs.show]
command = "echo name=$TASKQ_JOB_NAME attempt=$TASKQ_ATTEMPT queue=$TASKQ_QUEUE id=$TASKQ_JOB_ID args=$1,$2 p={{p}} zero=$0"
queue = "q1"
"#,
    );
    let out = env.run(&["exec", "show", "a b", "c", "-p", "p=v w"]).success().get_output().stdout.clone();
    let out = String::from_utf8(out).unwrap();
    assert!(out.starts_with("name=show attempt=1 queue=q1 id="), "{out}");
    assert!(out.ends_with(" args=a b,c p=v w zero=show\n"), "{out}");
    let id = out.split("id=").nth(1).unwrap().split_whitespace().next().unwrap();
    let uuid = uuid::Uuid::parse_str(id).unwrap();
    assert_eq!(uuid.get_version_num(), 7, "TASKQ_JOB_ID is a UUIDv7");
}

#[test]
fn parameter_values_cannot_inject_shell_syntax() {
    let env = Env::sqlite().jobs(
        r#"
[jobs.echo]
command = "echo {{x}} > @DIR@/plain; echo \"[{{x}}]\" > @DIR@/double; echo '<{{x}}>' > @DIR@/single"
"#,
    );
    env.write("victim", "still here");
    for value in
        ["'; rm -f @DIR@/victim; echo '", "\"; rm -f @DIR@/victim; \"", "$HOME * ~ \\$x", "a\nb; rm -f @DIR@/victim"]
    {
        let value = value.replace("@DIR@", &env.root().display().to_string());
        env.run(&["exec", "echo", "-p", &format!("x={value}")]).success();
        assert_eq!(env.read("victim"), "still here", "value {value:?} ran as shell code");
        assert_eq!(env.read("plain"), format!("{value}\n"));
        assert_eq!(env.read("double"), format!("[{value}]\n"));
        assert_eq!(env.read("single"), format!("<{value}>\n"));
    }
    // Substitution syntax is refused outright for shell jobs (docs/security.md).
    for value in ["$(rm -f @DIR@/victim)", "`rm -f @DIR@/victim`"] {
        let value = value.replace("@DIR@", &env.root().display().to_string());
        env.run(&["exec", "echo", "-p", &format!("x={value}")]).code(2);
        assert_eq!(env.read("victim"), "still here", "value {value:?} ran as shell code");
    }
}

#[test]
fn workdir_env_and_worker_variables() {
    let env = Env::sqlite().jobs(
        r#"
[defaults]
env = { A = "from-defaults", B = "from-defaults" }

[jobs.where]
command = "pwd; echo $A $B $C; cat; echo stdin-done"
workdir = "@DIR@/sub"
env = { B = "from-job", C = "${SECRET}-x" }

[jobs.nowhere]
command = "true"
workdir = "@DIR@/missing"
"#,
    );
    std::fs::create_dir(env.path("sub")).unwrap();
    let mut cmd = env.command();
    cmd.env("SECRET", "s3").args(["exec", "where"]);
    let expected =
        format!("{}/sub\nfrom-defaults from-job s3-x\nstdin-done\n", env.root().canonicalize().unwrap().display());
    assert_cmd::Command::from_std(cmd).timeout(Duration::from_secs(20)).assert().success().stdout(expected);

    env.run(&["exec", "where"]).code(1).stderr(
        "error: job \"where\" failed: env.C: environment variable \"SECRET\" is not set in the worker's environment; set it for the worker or remove ${SECRET} from the job\n",
    );
    env.run(&["exec", "nowhere"])
        .code(1)
        .stderr(predicate::str::contains("/missing does not exist or is not a directory"));
}

#[test]
fn a_timeout_kills_the_whole_process_tree() {
    let env = Env::sqlite().jobs(
        r#"
[jobs.tree]
command = "sleep 300 & echo $! >> @DIR@/pids; (sleep 300 & echo $! >> @DIR@/pids; wait) & echo $$ >> @DIR@/pids; wait"
timeout = "1s"
kill_after = "1s"

[jobs.stubborn]
command = "trap '' TERM; echo $$ > @DIR@/stubborn; while true; do sleep 0.1; done"
timeout = "1s"
kill_after = "1s"
"#,
    );
    let started = std::time::Instant::now();
    env.run(&["exec", "tree"]).code(124).stderr("error: job \"tree\" timed out after 1s\n");
    assert!(started.elapsed() < Duration::from_secs(10));
    let tree = pids(&env, "pids");
    assert_eq!(tree.len(), 3, "{tree:?}");
    wait_until(Duration::from_secs(5), "every process of the job gone", || tree.iter().all(|p| !alive(*p)));

    // A job ignoring SIGTERM gets SIGKILL kill_after later.
    env.run(&["exec", "stubborn"]).code(124);
    let pid = pids(&env, "stubborn")[0];
    wait_until(Duration::from_secs(5), "the stubborn job gone", || !alive(pid));
}

#[test]
fn processes_left_behind_are_cleaned_up_when_the_job_ends() {
    let env = Env::sqlite().jobs(
        r#"
[jobs.leaver]
command = "sleep 300 & echo $! > @DIR@/pid; echo main done"
kill_after = "1s"
"#,
    );
    env.run(&["exec", "leaver"]).success().stdout("main done\n");
    let pid = pids(&env, "pid")[0];
    wait_until(Duration::from_secs(5), "the background sleeper gone", || !alive(pid));
}

/// A closed terminal hangs `exec` up; the job, in a process group of its
/// own, gets no hangup, so `exec` stops it as on Ctrl-C rather than leave
/// it running.
#[test]
fn a_hangup_stops_the_job_with_exec() {
    let env = Env::sqlite().jobs(
        r#"
[jobs.long]
command = "sleep 300 & echo $! >> @DIR@/pids; echo $$ >> @DIR@/pids; wait"
kill_after = "1s"
"#,
    );
    let mut exec = env.spawn(&["exec", "long"]);
    wait_until(Duration::from_secs(10), "the job started", || pids(&env, "pids").len() == 2);
    exec.signal(rustix::process::Signal::HUP);
    let status = exec.wait_timeout(Duration::from_secs(10)).expect("exec ended on SIGHUP");
    assert!(!status.success(), "{status:?}");
    let tree = pids(&env, "pids");
    wait_until(Duration::from_secs(5), "every process of the job gone", || tree.iter().all(|p| !alive(*p)));
}

#[test]
fn a_missing_shell_cannot_start() {
    let env = Env::sqlite().jobs("[jobs.a]\ncommand = \"true\"\nshell = \"/nonexistent/sh\"\n");
    env.run(&["exec", "a"])
        .code(1)
        .stderr(predicate::str::starts_with("error: job \"a\" failed: cannot start /nonexistent/sh: "));
}

#[test]
fn a_pipeline_whose_reader_ends_early_ends_quietly() {
    let env = Env::sqlite().jobs("[jobs.pipe]\ncommand = \"yes | head -1\"\n");
    env.run(&["exec", "pipe"]).success().stdout("y\n").stderr("");
}
