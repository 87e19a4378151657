//! `taskq run` end to end, with the real binary: jobs run and leave results,
//! leases keep long jobs with their worker, lost workers' jobs come back,
//! shutdown requeues, and many jobs are run exactly once each.

use std::collections::HashSet;
use std::time::Duration;

use rustix::process::Signal;

use crate::both;
use crate::common::{Env, SOON, alive, reaper_of, wait_until};

both!(a_worker_runs_jobs_and_status_shows_the_result, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.hello]
command = "echo hello {{name}} $1 >> @DIR@/out; echo printed; echo oops >&2"

[jobs.broken]
command = "echo about to fail; exit 4"
"#,
    );
    let ok = env.enqueue(&["hello", "arg", "-p", "name=Ann"]);
    let bad = env.enqueue(&["broken"]);
    env.run(&["run", "--burst", "-c", "2"]).success();
    assert_eq!(env.read("out"), "hello Ann arg\n");
    let s = env.status(&ok);
    assert_eq!(s["state"], "succeeded");
    assert_eq!(s["attempts"], 1);
    assert_eq!(s["exit_code"], 0);
    // stdout and stderr are separate pipes: their relative order is not defined.
    let mut lines: Vec<&str> = s["output"].as_str().unwrap().lines().collect();
    lines.sort_unstable();
    assert_eq!(lines, ["oops", "printed"]);
    assert!(s["worker"].as_str().unwrap().contains(':'));
    let started: jiff::Timestamp = s["started_at"].as_str().unwrap().parse().unwrap();
    let finished: jiff::Timestamp = s["finished_at"].as_str().unwrap().parse().unwrap();
    assert!(started <= finished);
    assert_eq!(s["duration_ms"].as_i64(), Some(finished.as_millisecond() - started.as_millisecond()));
    let b = env.status(&bad);
    assert_eq!((b["state"].as_str(), b["exit_code"].as_i64()), (Some("failed"), Some(4)));
    assert_eq!(b["error"], "exited with code 4");
    assert_eq!(b["output"], "about to fail\n");
});

both!(enqueue_wait_exits_with_the_jobs_outcome, |backend| {
    let env = Env::new(backend).jobs("[jobs.ok]\ncommand = \"true\"\n[jobs.bad]\ncommand = \"exit 9\"\n");
    let _worker = env.spawn(&["run", "-c", "2"]);
    env.run(&["enqueue", "ok", "--wait", "--timeout", "30s"]).success();
    env.run(&["enqueue", "bad", "--wait", "--timeout", "30s"])
        .code(1)
        .stderr(predicates::str::contains("failed: exited with code 9"));
    let id = env.enqueue(&["ok"]);
    env.run(&["wait", &id, "--timeout", "30s", "--json"])
        .success()
        .stdout(predicates::str::contains("\"state\":\"succeeded\""));
});

both!(a_sigkilled_workers_job_is_finished_by_another_worker, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.fragile]
command = "if [ \"$TASKQ_ATTEMPT\" = 1 ]; then echo $$ > @DIR@/first; exec sleep 300; fi; echo $TASKQ_ATTEMPT >> @DIR@/done"
"#,
    );
    let id = env.enqueue(&["fragile"]);
    let victim = env.spawn(&["run", "--lease", "2s"]);
    wait_until(SOON, "the first attempt started", || !env.read("first").trim().is_empty());
    let job_pid: i32 = env.read("first").trim().parse().unwrap();
    victim.signal(Signal::KILL);
    wait_until(SOON, "the job died with its worker", || !alive(job_pid));
    assert_eq!(env.state(&id), "running", "the broker still holds the lost worker's lease");

    let _rescuer = env.spawn(&["run", "--lease", "2s"]);
    wait_until(SOON, "the job succeeded on the second worker", || env.state(&id) == "succeeded");
    assert_eq!(env.status(&id)["attempts"], 2);
    assert_eq!(env.lines("done"), ["2"]);
});

/// Jobs whose shells start more processes, each recording every pid it
/// starts in a file named after it: a pipeline, a sequence, and a background
/// process detached from the shell (reparented to init, still in the group).
const FORKING_JOBS: &str = r#"
[jobs.quick]
command = "true"

[jobs.pipeline]
command = "echo $$ >> @DIR@/pipeline; sh -c 'echo $$ >> @DIR@/pipeline; exec sleep 300' | sh -c 'echo $$ >> @DIR@/pipeline; exec cat'"

[jobs.sequence]
command = "echo $$ >> @DIR@/sequence; (sleep 302 & echo $! >> @DIR@/sequence); sh -c 'echo $$ >> @DIR@/sequence; exec sleep 301'; echo after"
"#;

/// The pids a job wrote to `file`.
fn pids(env: &Env, file: &str) -> Vec<i32> {
    env.lines(file).iter().filter_map(|l| l.trim().parse().ok()).collect()
}

/// Waits until both forking jobs run all their processes; returns their pids.
fn forking_jobs_running(env: &Env) -> Vec<i32> {
    wait_until(SOON, "the pipeline runs its three processes", || pids(env, "pipeline").len() == 3);
    wait_until(SOON, "the sequence runs its three processes", || pids(env, "sequence").len() == 3);
    let all: Vec<i32> = pids(env, "pipeline").into_iter().chain(pids(env, "sequence")).collect();
    assert!(all.iter().all(|&p| alive(p)), "every process of the jobs runs: {all:?}");
    all
}

// See: SPEC §4, "A dead worker's jobs die with it". The kernel clears the
// parent-death signal on fork, so only the job's shell used to die.
both!(a_sigkilled_workers_jobs_die_with_every_process_they_started, |backend| {
    let env = Env::new(backend).jobs(FORKING_JOBS);
    let worker = env.spawn(&["run", "-c", "3"]);
    let quick = env.enqueue(&["quick"]);
    wait_until(SOON, "the quick job succeeded", || env.state(&quick) == "succeeded");
    env.enqueue(&["pipeline"]);
    env.enqueue(&["sequence"]);
    let all = forking_jobs_running(&env);

    worker.signal(Signal::KILL);
    wait_until(Duration::from_secs(2), "every process of the jobs is gone", || !all.iter().any(|&p| alive(p)));
    // The quick job ended normally and unregistered: two jobs were killed, not three.
    wait_until(SOON, "the reaper reports what it killed", || worker.stderr().contains("jobs=2"));
    assert!(!env.read("sequence").contains("after"));
});

// The redelivered run starts only after the lease lapses (2s), so a run of
// the first attempt still going then would be an overlap. The lock is held by
// an inherited descriptor: it lasts as long as any process of a run does.
both!(a_sigkilled_workers_job_never_overlaps_its_redelivered_run, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.exclusive]
command = """
exec 9>>@DIR@/lock
flock -n 9 || { echo overlap >> @DIR@/overlaps; exit 1; }
echo $TASKQ_ATTEMPT >> @DIR@/attempts
if [ "$TASKQ_ATTEMPT" = 1 ]; then sh -c 'echo $$ > @DIR@/first; exec sleep 300' | cat; fi
"""
"#,
    );
    let id = env.enqueue(&["exclusive"]);
    let victim = env.spawn(&["run", "--lease", "2s"]);
    wait_until(SOON, "the first attempt runs its pipeline", || !env.read("first").trim().is_empty());
    victim.signal(Signal::KILL);
    let _rescuer = env.spawn(&["run", "--lease", "2s"]);
    wait_until(SOON, "the job finished on the second worker", || {
        matches!(env.state(&id).as_str(), "succeeded" | "failed")
    });
    assert_eq!(env.read("overlaps"), "", "the two runs overlapped");
    assert_eq!(env.lines("attempts"), ["1", "2"]);
    let s = env.status(&id);
    assert_eq!((s["state"].as_str(), s["attempts"].as_i64()), (Some("succeeded"), Some(2)));
});

both!(a_stopped_worker_leaves_no_reaper_and_kills_nothing, |backend| {
    let env = Env::new(backend).jobs("[jobs.quick]\ncommand = \"true\"\n");
    // A burst worker's reaper writes on the same stderr: `run` returning at
    // all means the reaper exited with it.
    let id = env.enqueue(&["quick"]);
    let burst = env.run(&["run", "--burst"]).success();
    let log = String::from_utf8_lossy(&burst.get_output().stderr).to_string();
    assert!(!log.contains("the worker is gone"), "{log}");
    assert_eq!(env.state(&id), "succeeded");

    let mut worker = env.spawn(&["run"]);
    let id = env.enqueue(&["quick"]);
    wait_until(SOON, "the job succeeded", || env.state(&id) == "succeeded");
    let reaper = reaper_of(worker.pid()).expect("a running worker has a reaper");
    worker.signal(Signal::TERM);
    let status = worker.wait_timeout(SOON).expect("the worker stopped");
    assert!(status.success(), "{}", worker.stderr());
    wait_until(SOON, "the reaper exited with its worker", || !alive(reaper));
    assert!(!worker.stderr().contains("the worker is gone"), "{}", worker.stderr());
});

#[test]
fn a_killed_reaper_is_replaced_and_the_running_jobs_registered_again() {
    let env = Env::sqlite().jobs(FORKING_JOBS);
    let worker = env.spawn(&["run", "-c", "2"]);
    env.enqueue(&["pipeline"]);
    env.enqueue(&["sequence"]);
    let all = forking_jobs_running(&env);
    let first = reaper_of(worker.pid()).expect("a running worker has a reaper");
    rustix::process::kill_process(rustix::process::Pid::from_raw(first).unwrap(), Signal::KILL).unwrap();
    wait_until(SOON, "a new reaper took over", || worker.stderr().contains("a new job reaper took over"));
    assert!(worker.stderr().contains("jobs=2"), "{}", worker.stderr());
    assert_ne!(reaper_of(worker.pid()), Some(first));

    worker.signal(Signal::KILL);
    wait_until(Duration::from_secs(2), "every process of the jobs is gone", || !all.iter().any(|&p| alive(p)));
}

both!(a_sigtermed_workers_job_goes_back_to_its_queue_at_once, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.long]
command = "if [ -e @DIR@/started ]; then echo second run; exit 0; fi; touch @DIR@/started; exec sleep 300"
kill_after = "2s"
"#,
    );
    let id = env.enqueue(&["long"]);
    let mut worker = env.spawn(&["run", "--lease", "10m", "--shutdown-timeout", "300ms"]);
    wait_until(SOON, "the job started", || env.path("started").exists());
    worker.signal(Signal::TERM);
    let status = worker.wait_timeout(SOON).expect("the worker stopped");
    assert!(status.success(), "{status:?}: {}", worker.stderr());
    let s = env.status(&id);
    assert_eq!(
        (s["state"].as_str(), s["attempts"].as_i64()),
        (Some("queued"), Some(0)),
        "requeued without waiting for the 10m lease, attempt not counted"
    );
    assert!(worker.stderr().contains("requeued"), "{}", worker.stderr());

    env.run(&["run", "--burst"]).success();
    let s = env.status(&id);
    assert_eq!((s["state"].as_str(), s["attempts"].as_i64()), (Some("succeeded"), Some(1)));
    assert_eq!(s["output"], "second run\n");
});

both!(a_second_signal_stops_at_once_and_requeues, |backend| {
    let env = Env::new(backend).jobs("[jobs.long]\ncommand = \"touch @DIR@/started; exec sleep 300\"\n");
    let id = env.enqueue(&["long"]);
    let mut worker = env.spawn(&["run", "--lease", "10m", "--shutdown-timeout", "10m"]);
    wait_until(SOON, "the job started", || env.path("started").exists());
    worker.signal(Signal::TERM);
    wait_until(SOON, "the worker waits for its job", || worker.stderr().contains("waiting for running jobs to finish"));
    assert_eq!(env.state(&id), "running", "the first signal lets the job run on");
    worker.signal(Signal::INT);
    let status = worker.wait_timeout(SOON).expect("the second signal stops the worker at once");
    assert!(status.success(), "{}", worker.stderr());
    let s = env.status(&id);
    assert_eq!((s["state"].as_str(), s["attempts"].as_i64()), (Some("queued"), Some(0)));
});

both!(inspect_shows_live_workers_and_what_they_run, |backend| {
    let env = Env::new(backend).jobs("[jobs.slow]\ncommand = \"touch @DIR@/started; sleep 30\"\n");
    let mut worker = env.spawn(&["run", "-c", "3", "--shutdown-timeout", "1s"]);
    let id = env.enqueue(&["slow"]);
    let inspect = || -> serde_json::Value {
        serde_json::from_slice(&env.run(&["inspect", "--json"]).success().get_output().stdout).unwrap()
    };
    wait_until(SOON, "the worker reports the job it runs", || {
        inspect()["workers"][0]["running"][0]["id"].as_str() == Some(id.as_str())
    });
    let w = inspect()["workers"][0].clone();
    assert_eq!((w["concurrency"].as_i64(), w["running"][0]["job"].as_str()), (Some(3), Some("slow")));
    assert_eq!(w["pid"].as_i64(), Some(i64::from(worker.pid())));
    worker.signal(Signal::TERM);
    worker.wait_timeout(SOON).expect("the worker stopped");
    assert_eq!(inspect()["workers"], serde_json::json!([]), "a stopped worker leaves the registry");
});

both!(a_long_job_stays_with_its_living_worker, |backend| {
    let env = Env::new(backend).jobs("[jobs.slow]\ncommand = \"echo run >> @DIR@/runs; sleep 4\"\n");
    let id = env.enqueue(&["slow"]);
    // A lease far shorter than the job: renewal must keep it.
    let _a = env.spawn(&["run", "--lease", "1s"]);
    let _b = env.spawn(&["run", "--lease", "1s"]);
    wait_until(Duration::from_secs(30), "the slow job finished", || env.state(&id) == "succeeded");
    assert_eq!(env.lines("runs"), ["run"], "never handed to a second worker");
    assert_eq!(env.status(&id)["attempts"], 1);
});

both!(ten_thousand_jobs_two_workers_none_lost_none_twice, |backend| {
    let env = Env::new(backend).jobs("[jobs.mark]\ncommand = \"echo $1 >> @DIR@/marks\"\n");
    let lines: String = (0..10_000).map(|i| format!("{{\"job\":\"mark\",\"args\":[\"{i}\"]}}\n")).collect();
    env.run_with_input(&["enqueue", "--batch", "-"], &lines).success();
    let mut a = env.spawn(&["run", "--burst", "-c", "4"]);
    let mut b = env.spawn(&["run", "--burst", "-c", "4"]);
    for w in [&mut a, &mut b] {
        let status = w.wait_timeout(Duration::from_secs(240)).expect("the worker drained the queue");
        assert!(status.success(), "{}", w.stderr());
    }
    let marks = env.lines("marks");
    let unique: HashSet<&String> = marks.iter().collect();
    assert_eq!(unique.len(), 10_000, "no job lost");
    assert_eq!(marks.len(), 10_000, "no job run twice");
    env.run(&["list", "--state", "failed"]).success().stdout("");
});

both!(a_worker_serves_only_its_queues, |backend| {
    let env = Env::new(backend)
        .jobs("[jobs.a]\ncommand = \"true\"\nqueue = \"alpha\"\n[jobs.b]\ncommand = \"true\"\nqueue = \"beta\"\n");
    let a = env.enqueue(&["a"]);
    let b = env.enqueue(&["b"]);
    env.run(&["run", "--burst", "-Q", "beta"]).success();
    assert_eq!((env.state(&a).as_str(), env.state(&b).as_str()), ("queued", "succeeded"));
    // Without -Q: every queue jobs.toml names.
    env.run(&["run", "--burst"]).success();
    assert_eq!(env.state(&a), "succeeded");
});

// A job this worker's config lacks may be on its way (a rolling deploy):
// it is retried with backoff, up to 10 minutes, not failed at once.
both!(a_job_the_worker_does_not_know_is_retried_as_unknown, |backend| {
    let env = Env::new(backend).jobs("[jobs.new-job]\ncommand = \"true\"\n");
    env.write("old.toml", "[jobs.other]\ncommand = \"true\"\n");
    let id = env.enqueue(&["new-job"]);
    env.run(&["-f", "old.toml", "run", "--burst"]).success();
    let s = env.status(&id);
    assert_eq!(s["state"], "retrying");
    assert!(
        s["error"].as_str().unwrap().starts_with("unknown job: this worker's config (old.toml) has no job \"new-job\""),
        "{s}"
    );
});

// SIGHUP reloads a worker's jobs.toml: a job added runs, an edited command
// runs as edited; an invalid file is reported and the running config kept.
both!(sighup_reloads_a_workers_config, |backend| {
    let env = Env::new(backend).jobs("[jobs.greet]\ncommand = \"echo old >> @DIR@/out\"\n");
    let worker = env.spawn(&["run", "-c", "1"]);
    let first = env.enqueue(&["greet"]);
    wait_until(SOON, "the first run", || env.state(&first) == "succeeded");
    let dir = env.root().display().to_string();
    // The added job is on a queue of its own: a worker without -Q serves
    // the config's queues, the new one too once reloaded.
    let edited = format!(
        "[jobs.greet]\ncommand = \"echo new >> {dir}/out\"\n[jobs.added]\ncommand = \"echo added >> {dir}/out\"\nqueue = \"fresh\"\n"
    );
    env.write("jobs.toml", "[jobs.greet]\ncommand = 7\n");
    worker.signal(rustix::process::Signal::HUP);
    wait_until(SOON, "the bad file reported", || worker.stderr().contains("reload failed: keeping the running config"));
    env.write("jobs.toml", &edited);
    worker.signal(rustix::process::Signal::HUP);
    wait_until(SOON, "the reload", || worker.stderr().contains("config reloaded"));
    let (again, added) = (env.enqueue(&["greet"]), env.enqueue(&["added"]));
    wait_until(SOON, "both runs", || env.state(&again) == "succeeded" && env.state(&added) == "succeeded");
    // Two queues with equal weights: either of the two may run first.
    let mut lines = env.lines("out");
    lines[1..].sort();
    assert_eq!(lines, ["old", "added", "new"]);
});

// On a host without CA certificates (here: an empty SSL_CERT_FILE and no
// SSL_CERT_DIR) shell jobs run; a worker started with HTTP jobs stops at
// once, and one that gains HTTP jobs by a reload says so there, both with
// the cause.
#[test]
fn a_host_without_ca_certificates_fails_only_http_jobs_and_says_why() {
    let no_roots = [("SSL_CERT_FILE", "/dev/null"), ("SSL_CERT_DIR", "/nonexistent")];
    let cause = "cannot set up the HTTP client: builder error: unexpected error: No CA certificates were loaded";
    let env = Env::sqlite().jobs("[jobs.greet]\ncommand = \"echo hi >> @DIR@/out\"\n");
    let worker = env.spawn_with(&["run", "-c", "1"], &no_roots);
    let id = env.enqueue(&["greet"]);
    wait_until(SOON, "a shell job", || env.state(&id) == "succeeded");
    env.write("jobs.toml", "[jobs.greet]\ncommand = \"true\"\n[jobs.ping]\nhttp = { url = \"http://127.0.0.1:9/\" }\n");
    worker.signal(Signal::HUP);
    wait_until(SOON, "the reload to say why", || worker.stderr().contains(cause));
    assert!(alive(worker.pid()), "{}", worker.stderr());
    let again = env.enqueue(&["greet"]);
    wait_until(SOON, "a shell job after the reload", || env.state(&again) == "succeeded");

    let mut started = env.command();
    started.envs(no_roots).args(["run", "--burst"]);
    let out = assert_cmd::Command::from_std(started).timeout(Duration::from_secs(60)).assert().code(1);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains(cause), "{stderr}");
}

// A job this worker lacks, enqueued after jobs.toml changed on disk, makes
// the worker read it again: the job runs without a restart.
both!(a_new_job_in_a_changed_jobs_toml_is_picked_up, |backend| {
    let env = Env::new(backend).jobs("[jobs.a]\ncommand = \"true\"\n");
    let _worker = env.spawn(&["run", "-c", "1"]);
    let dir = env.root().display().to_string();
    env.write("jobs.toml", &format!("[jobs.a]\ncommand = \"true\"\n[jobs.b]\ncommand = \"echo b >> {dir}/out\"\n"));
    let id = env.enqueue(&["b"]);
    wait_until(SOON, "the new job to run", || env.state(&id) == "succeeded");
    assert_eq!(env.lines("out"), ["b"]);
});

both!(a_failing_job_is_retried_until_it_succeeds, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.flaky]
command = "echo x >> @DIR@/tries; [ $(wc -l < @DIR@/tries) -ge 3 ]"
retries = 3
retry_delay = "200ms"
"#,
    );
    let id = env.enqueue(&["flaky"]);
    let _worker = env.spawn(&["run"]);
    wait_until(SOON, "the flaky job succeeded", || env.state(&id) == "succeeded");
    assert_eq!(env.status(&id)["attempts"], 3);
    assert_eq!(env.lines("tries").len(), 3);
});

#[test]
fn a_job_printing_100_mb_keeps_the_worker_small() {
    let env = Env::sqlite()
        .jobs("[jobs.loud]\ncommand = \"head -c 100000000 /dev/zero | tr '\\\\0' x; echo; echo the end\"\n");
    let id = env.enqueue(&["loud"]);
    let worker = env.spawn(&["run", "-c", "1"]);
    wait_until(Duration::from_secs(60), "the loud job finished", || env.state(&id) == "succeeded");
    let status = std::fs::read_to_string(format!("/proc/{}/status", worker.pid())).unwrap();
    let peak_kb: u64 =
        status.lines().find_map(|l| l.strip_prefix("VmHWM:")).unwrap().trim().trim_end_matches(" kB").parse().unwrap();
    // Not a performance bound: a worker that held the output would have
    // needed more than the 100 MB printed; one keeping a 64 KiB tail, a
    // fraction of it.
    assert!(peak_kb * 1024 < 100_000_000 / 2, "worker peak RSS {peak_kb} kB after a job printed 100 MB");
    let output = env.status(&id)["output"].as_str().unwrap().to_string();
    assert_eq!(output.len(), 64 * 1024, "only the last 64 KiB are kept");
    assert!(output.ends_with("xxx\nthe end\n"));
}

#[test]
fn a_worker_waits_for_a_broker_that_is_not_up_yet() {
    let port = crate::common::redis::free_port();
    let env = Env::with_broker(&format!("redis://127.0.0.1:{port}/0")).jobs("[jobs.quick]\ncommand = \"true\"\n");
    let worker = env.spawn(&["run"]);
    wait_until(SOON, "the worker reports the broker unavailable", || worker.stderr().contains("broker unavailable"));
    let _server = crate::common::redis::RedisServer::start_on(port);
    let id = env.enqueue(&["quick"]);
    wait_until(SOON, "the job ran once the broker came up", || env.state(&id) == "succeeded");
    let log = worker.stderr();
    assert_eq!(log.matches("broker unavailable").count(), 1, "one line per state change:\n{log}");
    assert!(log.contains("broker reachable"), "{log}");
}

#[test]
fn finished_runs_leave_no_grant_behind_in_redis() {
    let server = crate::common::RedisServer::start();
    let env = Env::with_broker(&server.url()).jobs("[jobs.ok]\ncommand = \"true\"\n[jobs.bad]\ncommand = \"exit 1\"\n");
    for i in 0..20 {
        env.enqueue(&[if i % 2 == 0 { "ok" } else { "bad" }]);
    }
    env.run(&["run", "--burst", "-c", "2"]).success();
    let keys = server.cmd(&["KEYS", "*grant:*"]);
    assert_eq!(keys, "", "a take's key lives only while its run does");
}

// A job a workflow's step launched knows its run (SPEC §7).
both!(a_workflow_steps_job_sees_its_run_id, |backend| {
    let env = Env::new(backend).jobs(
        "[jobs.step]\ncommand = \"echo ${TASKQ_WORKFLOW_ID:-none} >> @DIR@/runs\"\n[jobs.alone]\ncommand = \"echo ${TASKQ_WORKFLOW_ID:-none} >> @DIR@/runs\"\n",
    );
    let config = taskq::config::Config::load(&env.path("jobs.toml")).expect("config");
    let run = taskq::job::JobId::new();
    let mut job = config.job("step").unwrap().new_job(Vec::new(), std::collections::BTreeMap::new()).unwrap();
    job.workflow =
        Some(taskq::job::WorkflowStep { run, workflow: taskq::names::JobName::new("pipeline").unwrap(), step: 0 });
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    rt.block_on(async { env.connect().await.enqueue(&[job]).await.expect("enqueue") });
    env.enqueue(&["alone"]);
    env.run(&["run", "--burst", "-c", "1"]).success();
    assert_eq!(env.lines("runs"), [run.to_string(), "none".to_string()]);
});

/// Without `-Q` the config's queues are served with equal weights: a busy
/// queue named first does not starve another (strict order by name would
/// run all 30 `a-bulk` jobs first; here `z-critical` waits behind 30 only
/// with odds of 2^-30).
#[test]
fn without_q_no_queue_of_the_config_waits_on_another() {
    let env = Env::sqlite().jobs(
        "[jobs.bulk]\ncommand = \"true\"\nqueue = \"a-bulk\"\n[jobs.urgent]\ncommand = \"true\"\nqueue = \"z-critical\"\n",
    );
    let bulk: Vec<String> = (0..30).map(|_| env.enqueue(&["bulk"])).collect();
    let urgent = env.enqueue(&["urgent"]);
    env.run(&["run", "--burst", "-c", "1"]).success();
    let finished = |id: &str| -> jiff::Timestamp {
        env.status(id)["finished_at"].as_str().expect("finished").parse().expect("a time")
    };
    let last_bulk = bulk.iter().map(|id| finished(id)).max().expect("30 jobs");
    assert!(finished(&urgent) < last_bulk, "the critical queue's job waited for the whole bulk queue");
}
