//! Jobs as another user (`user`, `group`), as the user field of a cron.d
//! line: a worker running as root runs them as that user, with its groups
//! and HOME; one that is not root refuses them. Switching users needs root:
//! these tests say so and do nothing when run by another user (CI runs as
//! root).

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::process::CommandExt;

use crate::both;
use crate::common::{Env, SOON, wait_until};

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

/// `id -u NAME`, `id -g NAME`.
fn ids_of(name: &str) -> (u32, u32) {
    let id = |flag: &str| -> u32 {
        let out = std::process::Command::new("id").args([flag, name]).output().expect("run id");
        String::from_utf8_lossy(&out.stdout).trim().parse().expect("a numeric id")
    };
    (id("-u"), id("-g"))
}

/// Lets other users into the env's dir, and gives them `out/` to write in.
fn open_to_others(env: &Env) {
    std::fs::set_permissions(env.dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod dir");
    std::fs::create_dir(env.path("out")).expect("mkdir out");
    std::fs::set_permissions(env.path("out"), std::fs::Permissions::from_mode(0o777)).expect("chmod out");
}

both!(a_root_worker_runs_a_job_as_its_user_with_that_users_groups_and_home, |backend| {
    if !is_root() {
        eprintln!("skipped: switching users needs root");
        return;
    }
    let env = Env::new(backend).jobs(
        r#"
[jobs.as-nobody]
command = "touch @DIR@/out/made; echo \"$(id -u) $(id -g) $(id -G) $HOME $USER $LOGNAME $SHELL $(pwd)\" > @DIR@/out/who; echo \"${SECRET_TOKEN:-none} ${TASKQ_BROKER:-none} ${GRANTED:-none}\" > @DIR@/out/secrets"
user = "nobody"
env = { GRANTED = "${SECRET_TOKEN}" }

[jobs.as-daemon-in-nogroup]
command = "id -g > @DIR@/out/gid; id -G > @DIR@/out/groups"
user = "daemon"
group = "nogroup"

[jobs.fails]
command = "echo secret-free output; exit 3"
on_failure = "alert"

[jobs.alert]
command = "cat \"$TASKQ_TRIGGER_OUTPUT\" > @DIR@/out/alert"
user = "nobody"
"#,
    );
    open_to_others(&env);
    let (nobody, nogroup) = ids_of("nobody");
    let id = env.enqueue(&["as-nobody"]);
    env.enqueue(&["as-daemon-in-nogroup"]);
    env.enqueue(&["fails"]);
    let mut worker = env.command();
    worker.args(["run", "--burst", "-c", "2"]).env("SECRET_TOKEN", "s3cret");
    assert_cmd::Command::from_std(worker).timeout(std::time::Duration::from_secs(60)).assert().success();
    assert_eq!(env.state(&id), "succeeded", "{}", env.status(&id));
    // The worker's environment (the broker's URL, every job's secrets) stays
    // the worker's: the job gets what its `env` names.
    assert_eq!(env.read("out/secrets").trim(), "none none s3cret");
    let made = std::fs::metadata(env.path("out/made")).expect("the job made its file");
    assert_eq!((made.uid(), made.gid()), (nobody, nogroup), "the file is nobody's");
    // The passwd entry's home, and no supplementary group of root's.
    let home = String::from_utf8(
        std::process::Command::new("sh")
            .args(["-c", "getent passwd nobody | cut -d: -f6"])
            .output()
            .expect("getent")
            .stdout,
    )
    .expect("utf-8");
    assert_eq!(
        env.read("out/who").trim(),
        format!("{nobody} {nogroup} {nogroup} {} nobody nobody /bin/sh /", home.trim()),
        "no home to start in (/nonexistent): the job starts in /"
    );
    assert_eq!(env.read("out/gid").trim(), nogroup.to_string(), "group = \"nogroup\" is the primary group");
    let (_, daemon_gid) = ids_of("daemon");
    assert_eq!(
        env.read("out/groups").split_whitespace().collect::<Vec<_>>(),
        [nogroup.to_string(), daemon_gid.to_string()],
        "the user's own group stays among its groups, as sudo -u daemon -g nogroup has it"
    );
    // The hook running as nobody reads the trigger's output the root worker wrote.
    wait_until(SOON, "the alert ran", || !env.read("out/alert").is_empty());
    assert_eq!(env.read("out/alert"), "secret-free output\n");
});

#[test]
fn a_worker_that_is_not_root_says_so_at_start_and_fails_such_jobs_runs_only() {
    if !is_root() {
        eprintln!("skipped: starting a worker as another user needs root");
        return;
    }
    let env =
        Env::sqlite().jobs("[jobs.report]\ncommand = \"true\"\nuser = \"daemon\"\n[jobs.plain]\ncommand = \"true\"\n");
    open_to_others(&env);
    std::fs::set_permissions(env.path("jobs.toml"), std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let (nobody, nogroup) = ids_of("nobody");
    let own_broker = format!("sqlite://{}/taskq.db", env.path("out").display());
    let as_nobody = |args: &[&str]| {
        let mut cmd = env.command();
        cmd.args(args).uid(nobody).gid(nogroup).env("HOME", env.path("out")).env("TASKQ_BROKER", &own_broker);
        assert_cmd::Command::from_std(cmd).timeout(std::time::Duration::from_secs(60)).assert()
    };
    let id_of = |assert: assert_cmd::assert::Assert| {
        String::from_utf8_lossy(&assert.success().get_output().stdout).trim().to_string()
    };
    let report = id_of(as_nobody(&["enqueue", "report"]));
    let plain = id_of(as_nobody(&["enqueue", "plain"]));
    as_nobody(&["run", "--burst"]).success().stderr(predicates::str::contains(
        "job \"report\": the job runs as user \"daemon\": only a worker running as root can switch users, and this one runs as \"nobody\"",
    ));
    let state = |id: &str| {
        let out = as_nobody(&["status", "--json", id]).success().get_output().stdout.clone();
        serde_json::from_slice::<serde_json::Value>(&out).expect("status JSON")
    };
    assert_eq!(state(&plain)["state"], "succeeded", "the other jobs run");
    let failed = state(&report);
    assert_eq!((failed["state"].as_str(), failed["attempts"].as_u64()), (Some("failed"), Some(1)), "{failed}");
    assert!(failed["error"].as_str().unwrap_or_default().contains("only a worker running as root"), "{failed}");
}

#[test]
fn a_user_missing_on_the_host_fails_that_jobs_runs_and_check_warns() {
    let env = Env::sqlite().jobs(
        "[jobs.report]\ncommand = \"true\"\nuser = \"no-such-user-here\"\nretries = 3\n[jobs.plain]\ncommand = \"true\"\n",
    );
    env.run(&["check"]).success().stderr(predicates::str::contains(
        "warning: job \"report\": user \"no-such-user-here\" does not exist on this host",
    ));
    let report = env.enqueue(&["report"]);
    let plain = env.enqueue(&["plain"]);
    env.run(&["run", "--burst"])
        .success()
        .stderr(predicates::str::contains("job \"report\": user \"no-such-user-here\" does not exist on this host"));
    assert_eq!(env.state(&plain), "succeeded", "one job's missing user stops no other");
    let status = env.status(&report);
    assert_eq!(status["state"], "failed");
    assert_eq!(status["attempts"], 1, "not retried: another try cannot find the user either");
    assert!(status["error"].as_str().unwrap_or_default().contains("does not exist on this host"), "{status}");
}

#[test]
fn user_and_group_are_checked_in_the_config() {
    let env = Env::sqlite();
    for (toml, error) in [
        (
            "[jobs.a]\ncommand = \"true\"\ngroup = \"adm\"\n",
            "jobs.toml:3:9: \"group\" of \"a\" needs a \"user\" to run as",
        ),
        (
            "[jobs.a]\nhttp = { url = \"http://127.0.0.1:1/\" }\nuser = \"www-data\"\n",
            "\"user\" applies to shell jobs; \"a\" is an HTTP job",
        ),
        ("[jobs.a]\ncommand = \"true\"\nuser = \"\"\n", "\"user\": \"\" is not a user name"),
        ("[jobs.a]\ncommand = \"true\"\nuser = \"root; rm\"\n", "\"user\": \"root; rm\" is not a user name"),
        ("[jobs.a]\ncommand = \"true\"\nuser = 0\n", "\"user\" must be a string"),
    ] {
        env.write("jobs.toml", toml);
        env.run(&["check"]).code(78).stderr(predicates::str::contains(error));
    }
    // From [defaults], as a cron.d file of one user's lines; `check` says
    // what such jobs need of the worker, or warns if it cannot be had here.
    env.write("jobs.toml", "[defaults]\nuser = \"nobody\"\n[jobs.a]\ncommand = \"true\"\n");
    let needs = if is_root() {
        "note: a names a user the packaged units' worker (user taskq) cannot switch to"
    } else {
        "warning: job \"a\""
    };
    env.run(&["check"]).success().stderr(predicates::str::contains(needs));
}

#[test]
fn a_workdir_the_user_cannot_enter_is_named_as_the_reason() {
    if !is_root() {
        eprintln!("skipped: switching users needs root");
        return;
    }
    let env =
        Env::sqlite().jobs("[jobs.locked-out]\ncommand = \"true\"\nuser = \"nobody\"\nworkdir = \"@DIR@/private\"\n");
    std::fs::create_dir(env.path("private")).expect("mkdir");
    std::fs::set_permissions(env.path("private"), std::fs::Permissions::from_mode(0o700)).expect("chmod");
    env.run(&["exec", "locked-out"]).code(1).stderr(predicates::str::contains(format!(
        "cannot enter the working directory {}: Permission denied",
        env.path("private").display()
    )));
}
