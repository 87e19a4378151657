//! Enqueueing and reading jobs with the real binary, on both backends.

use predicates::prelude::*;

use crate::both;
use crate::common::{Backend, Env, SOON};

const JOBS: &str = r#"
[jobs.greet]
command = "echo hello {{name}} $1"
queue = "mail"

[jobs.once]
command = "true"
unique_for = "1h"
"#;

both!(enqueue_prints_an_id_and_the_job_is_durable, |backend| {
    let env = Env::new(backend).jobs(JOBS);
    let id = env.enqueue(&["greet", "arg1", "-p", "name=Ann"]);
    assert_eq!(uuid::Uuid::parse_str(&id).unwrap().get_version_num(), 7);
    let s = env.status(&id);
    assert_eq!(s["state"], "queued");
    assert_eq!(s["job"], "greet");
    assert_eq!(s["queue"], "mail");
    assert_eq!(s["attempts"], 0);
    assert_eq!(s["args"], serde_json::json!(["arg1"]));
    assert_eq!(s["params"], serde_json::json!({ "name": "Ann" }));
    for key in ["started_at", "finished_at", "exit_code", "http_status", "worker", "error", "output", "scheduled_at"] {
        assert!(s[key].is_null(), "{key} is null before the job runs");
    }
    assert!(s["enqueued_at"].as_str().unwrap().parse::<jiff::Timestamp>().is_ok());

    let other = env.enqueue(&["greet", "-p", "name=Bo", "--queue", "urgent"]);
    assert_eq!(env.status(&other)["queue"], "urgent");
    env.run(&["status", &id]).success().stdout(predicate::str::starts_with(format!("{id}  greet  queued\n")));
});

both!(delayed_jobs_are_scheduled, |backend| {
    let env = Env::new(backend).jobs(JOBS);
    let before = jiff::Timestamp::now();
    let id = env.enqueue(&["greet", "-p", "name=x", "--delay", "1h"]);
    let s = env.status(&id);
    assert_eq!(s["state"], "scheduled");
    let due: jiff::Timestamp = s["due_at"].as_str().unwrap().parse().unwrap();
    let delay = due.as_second() - before.as_second();
    assert!((3599..=3601).contains(&delay), "due in {delay}s");
    let at = env.enqueue(&["greet", "-p", "name=x", "--at", "2099-01-01T00:00:00Z"]);
    assert_eq!(env.status(&at)["due_at"], "2099-01-01T00:00:00.000Z");
    env.run(&["enqueue", "greet", "-p", "name=x", "--at", "someday"])
        .code(2)
        .stderr(predicate::str::starts_with("error: invalid --at \"someday\""));
});

both!(a_key_makes_enqueue_idempotent, |backend| {
    let env = Env::new(backend).jobs(JOBS);
    let out = |args: &[&str]| -> serde_json::Value {
        let mut full = vec!["enqueue", "--json"];
        full.extend_from_slice(args);
        serde_json::from_slice(&env.run(&full).success().get_output().stdout).unwrap()
    };
    let first = out(&["greet", "-p", "name=a", "--key", "order-42"]);
    assert_eq!(first["duplicate"], false);
    let second = out(&["greet", "-p", "name=b", "--key", "order-42"]);
    assert_eq!(second, serde_json::json!({ "id": first["id"], "duplicate": true }));
    // unique_for on the job: same args and params are one job, whatever the queue.
    let a = env.enqueue(&["once", "x"]);
    assert_eq!(env.enqueue(&["once", "x", "--queue", "other"]), a);
    assert_ne!(env.enqueue(&["once", "y"]), a);
});

both!(batch_enqueues_good_lines_and_reports_bad_ones, |backend| {
    let env = Env::new(backend).jobs(JOBS);
    let input = [
        r#"{"job": "greet", "args": ["1"], "params": {"name": "a"}}"#,
        r#"{"job": "greet", "params": {"name": "b"}, "queue": "bulk"}"#,
        r"not json",
        "",
        r#"{"job": "gret", "params": {"name": "c"}}"#,
        r#"{"job": "greet"}"#,
        r#"{"job": "greet", "params": {"name": "d"}, "extra": 1}"#,
        r#"{"job": "greet", "params": {"name": "e"}}"#,
    ]
    .join("\n");
    let out = env.run_with_input(&["enqueue", "--batch", "-"], &input).code(65).get_output().clone();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(lines[0].starts_with("error: line 3: invalid JSON line: "), "{stderr}");
    assert_eq!(lines[1], r#"error: line 5: unknown job "gret" (did you mean "greet"?)"#);
    assert_eq!(lines[2], r#"error: line 6: job "greet" needs parameter "name": pass -p name=VALUE"#);
    assert!(lines[3].starts_with("error: line 7: invalid JSON line: unknown field `extra`"), "{stderr}");
    assert_eq!(lines[4], "error: 4 of 7 lines rejected; the other 3 were enqueued");
    let ids: Vec<String> = String::from_utf8(out.stdout).unwrap().lines().map(str::to_string).collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(env.status(&ids[1])["queue"], "bulk");
    let listed = env.run(&["list", "--json"]).success().get_output().stdout.clone();
    assert_eq!(String::from_utf8(listed).unwrap().lines().count(), 3);

    env.write("batch.jsonl", "{\"job\": \"greet\", \"params\": {\"name\": \"f\"}}\n");
    env.run(&["enqueue", "--batch", "batch.jsonl"])
        .success()
        .stdout(predicate::str::is_match("^[0-9a-f-]{36}\n$").unwrap());
    env.run(&["enqueue", "--batch", "nope.jsonl"])
        .code(2)
        .stderr(predicate::str::starts_with("error: cannot read --batch nope.jsonl"));
});

both!(status_wait_and_list_report_unknown_ids_and_timeouts, |backend| {
    let env = Env::new(backend).jobs(JOBS);
    let id = env.enqueue(&["greet", "-p", "name=a"]);
    let unknown = "01a20000-0000-7000-8000-000000000000";
    env.run(&["status", unknown])
        .code(2)
        .stderr(format!("error: unknown job id {unknown}: not in this broker and namespace (or its result expired)\n"));
    env.run(&["status", "--json", &id, unknown]).code(2).stdout(predicate::str::contains(&id));
    env.run(&["wait", &id, "--timeout", "200ms"])
        .code(75)
        .stderr("error: --timeout reached with 1 of 1 jobs not finished\n");
    env.run(&["wait", unknown, "--timeout", "1s"]).code(2);
    env.run(&["list", "--state", "queued"]).success().stdout(predicate::str::contains(&id));
    env.run(&["list", "--state", "running"]).success().stdout("").stderr("no jobs\n");
    env.run(&["list", "--state", "done"]).code(2).stderr(predicate::str::contains("unknown state \"done\""));
});

// See: issue 13 item 7 (ids could not be shortened).
both!(every_command_taking_ids_takes_a_unique_prefix_of_eight_or_more, |backend| {
    let env = Env::new(backend).jobs(
        r#"
[jobs.ok]
command = "echo fine"
[jobs.bad]
command = "exit 1"
[workflows.flow]
steps = ["ok"]
"#,
    );
    // Ids made within the same 65 s share their first 8 characters; an
    // enqueue that crossed into the next 65 s is followed by one more.
    let (mut first, mut second) = (env.enqueue(&["ok"]), env.enqueue(&["ok"]));
    while first[..8] != second[..8] {
        (first, second) = (second, env.enqueue(&["ok"]));
    }
    let shared = &first[..8];
    let out = env.run(&["status", shared]).code(2).get_output().stderr.clone();
    let err = String::from_utf8_lossy(&out);
    assert!(err.starts_with(&format!("error: job id \"{shared}\" is ambiguous: ")), "{err}");
    assert!(err.contains(&first) && err.contains(&second) && err.ends_with("; give more of the id\n"), "{err}");
    env.run(&["wait", &first[..7]]).code(2).stderr(format!(
        "error: job id \"{}\" is too short: give at least its first 8 characters, or the whole id\n",
        &first[..7]
    ));
    env.run(&["logs", "ffffffff"])
        .code(2)
        .stderr("error: unknown job id ffffffff: not in this broker and namespace (or its result expired)\n");

    // 28 characters reach into an id's random bits: unique.
    let short = |id: &str| id[..28].to_string();
    env.run(&["status", &short(&first)]).success().stdout(predicate::str::starts_with(format!("{first}  ok  queued")));
    env.run(&["revoke", &short(&second)]).success().stdout(format!("revoked {second}\n"));
    let bad = env.enqueue(&["bad"]);
    let run = env.enqueue(&["flow"]);
    env.run(&["run", "--burst"]).success();
    env.run(&["wait", &short(&first), &short(&run)]).success();
    env.run(&["logs", &short(&first)]).success().stdout("fine\n");
    env.run(&["status", &short(&run)]).success().stdout(predicate::str::contains(&run));
    env.run(&["retry", &short(&bad)]).success().stdout(format!("requeued {bad}\n"));
});

#[test]
fn enqueue_of_an_unknown_job_names_the_near_one() {
    let env = Env::sqlite().jobs(JOBS);
    env.run(&["enqueue", "gret"]).code(2).stderr("error: unknown job \"gret\" (did you mean \"greet\"?)\n");
    env.run(&["enqueue", "greet"])
        .code(2)
        .stderr("error: job \"greet\" needs parameter \"name\": pass -p name=VALUE\n");
}

#[test]
fn wait_is_refused_for_jobs_that_ignore_their_result() {
    let env = Env::sqlite().jobs("[jobs.fire]\ncommand = \"true\"\nignore_result = true\n");
    env.run(&["enqueue", "fire", "--wait"]).code(2).stderr(predicate::str::contains("ignore_result = true"));
    let _ = Backend::Sqlite;
}

// See: issue 13 item 7 (`wait` and `status` on a succeeded ignore_result
// job said "unknown job id", as for an id never seen).
both!(a_succeeded_ignore_result_job_is_told_from_an_unknown_id, |backend| {
    let env = Env::new(backend).jobs("[jobs.fire]\ncommand = \"echo hi\"\nignore_result = true\n");
    let id = env.enqueue(&["fire"]);
    // Waiting across the deletion of the record, as well as after it.
    let mut waiter = env.spawn(&["wait", &id, "--timeout", "30s"]);
    env.run(&["run", "--burst"]).success();
    let line = format!("{id}  fire  succeeded (record not kept: ignore_result)\n");
    assert!(waiter.wait_timeout(SOON).is_some_and(|s| s.success()), "{}", waiter.stderr());
    assert_eq!(waiter.stdout(), line);
    env.run(&["wait", &id]).success().stdout(line.clone());
    env.run(&["status", &id]).success().stdout(predicate::str::starts_with(format!(
        "{line}  its record is unknown: ignore_result = true deleted it when it finished\n  finished:  "
    )));
    let s = env.status(&id);
    assert_eq!((&s["state"], &s["job"], &s["ignore_result"]), (&"succeeded".into(), &"fire".into(), &true.into()));
    assert!(s["attempts"].is_null() && s["output"].is_null() && s["finished_at"].is_string(), "{s}");
    env.run(&["status", &id[..28]]).success().stdout(predicate::str::starts_with(line.clone()));
    env.run(&["logs", &id]).success().stdout("").stderr(predicate::str::contains("its output was not kept"));
    // Known, and ended: nothing to revoke or retry (exit 1, as for any
    // ended job), not an unknown id (exit 2).
    env.run(&["revoke", &id]).code(1).stderr(predicate::str::contains("has already succeeded"));
    env.run(&["retry", &id]).code(1).stderr(predicate::str::contains("succeeded (its record is not kept"));
    let never = "01a20000-0000-7000-8000-000000000000";
    env.run(&["wait", never])
        .code(2)
        .stderr(format!("error: unknown job id {never}: not in this broker and namespace (or its result expired)\n"));
});

/// Regression: a worker and an `enqueue` creating the same new `SQLite` file
/// at once failed with "database is locked" (switching a new file to WAL
/// returns `SQLITE_BUSY` at once, without the busy handler); about one round
/// in forty failed.
#[test]
fn a_new_sqlite_file_can_be_created_by_many_processes_at_once() {
    for round in 0..30 {
        let env = Env::sqlite().jobs("[jobs.a]\ncommand = \"true\"\n");
        let worker = env.spawn(&["run", "-c", "2"]);
        let children: Vec<_> = (0..4)
            .map(|_| {
                let mut cmd = env.command();
                cmd.args(["enqueue", "a"]).stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped());
                cmd.spawn().unwrap()
            })
            .collect();
        for child in children {
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "round {round}: {}", String::from_utf8_lossy(&out.stderr));
        }
        assert!(!worker.stderr().contains("unavailable"), "round {round}: {}", worker.stderr());
    }
}

/// Regression: `taskq list | head -1` panicked when head closed the pipe
/// ("failed printing to stdout"); it must end quietly, as `cat` does.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    let env = Env::sqlite().jobs("[jobs.a]\ncommand = \"true\"\n");
    let lines: String = (0..3000).map(|_| "{\"job\":\"a\"}\n").collect();
    env.run_with_input(&["enqueue", "--batch", "-"], &lines).success();
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c").arg(format!("'{}' list --limit 5000 | head -1 > /dev/null", env!("CARGO_BIN_EXE_taskq")));
    for (k, v) in env.command().get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.current_dir(env.root());
    assert_cmd::Command::from_std(cmd).assert().success().stderr("");
}

/// A database written by taskq's first schema version (tests/data/schema-v1.sql),
/// with a queued and a failed job as that version stored them.
fn write_v1_database(path: &std::path::Path, ns: &str) -> (String, String) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch("PRAGMA journal_mode = WAL;").unwrap();
    conn.execute_batch(include_str!("data/schema-v1.sql")).unwrap();
    conn.execute("INSERT INTO taskq_meta (key, value) VALUES ('schema_version', '1')", []).unwrap();
    let (queued, failed) = (taskq::job::JobId::new().to_string(), taskq::job::JobId::new().to_string());
    for (id, state) in [(&queued, "queued"), (&failed, "failed")] {
        let payload = format!(
            r#"{{"id":"{id}","job":"mark","args":["{state}"],"queue":"default","enqueued_at":"2026-11-20T10:00:00Z","policy":{{"max_redeliveries":3,"result_ttl":86400000}}}}"#
        );
        conn.execute(
            "INSERT INTO jobs (ns, id, job, queue, state, payload, attempts, enqueued_at, ready_at, max_redeliveries, result_ttl, finished_at)
             VALUES (?1, ?2, 'mark', 'default', ?3, ?4, ?5, 1795168800000, 1795168800000, 3, 86400000, ?6)",
            rusqlite::params![ns, id, state, payload, i32::from(state == "failed"), (state == "failed").then_some(1_795_168_900_000_i64)],
        )
        .unwrap();
    }
    (queued, failed)
}

#[test]
fn a_database_of_the_first_schema_is_migrated_in_place_and_its_jobs_run() {
    let env = Env::sqlite().jobs("[jobs.mark]\ncommand = \"echo $1 >> @DIR@/marks\"\n");
    let (queued, failed) = write_v1_database(&env.path("taskq.db"), &env.ns);
    let s = env.status(&queued);
    assert_eq!((s["state"].as_str(), s["enqueued_at"].as_str()), (Some("queued"), Some("2026-11-20T10:00:00.000Z")));
    env.run(&["run", "--burst"]).success();
    assert_eq!(env.lines("marks"), ["queued"]);
    env.run(&["retry", &failed]).success();
    env.run(&["run", "--burst"]).success();
    assert_eq!(env.lines("marks"), ["queued", "failed"]);
    assert_eq!(env.state(&failed), "succeeded");
}

/// The names of a SQLite file's indexes on `jobs`.
fn job_indexes(path: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut stmt =
        conn.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'jobs' AND sql IS NOT NULL ORDER BY name").unwrap();
    stmt.query_map([], |r| r.get(0)).unwrap().collect::<Result<_, _>>().unwrap()
}

/// Its indexes now, by name.
const INDEXES_NOW: [&str; 9] = [
    "jobs_enqueued",
    "jobs_failed",
    "jobs_grant",
    "jobs_job_enqueued",
    "jobs_queued",
    "jobs_result_expiry",
    "jobs_running",
    "jobs_state_enqueued",
    "jobs_waiting",
];

#[test]
fn a_first_schema_file_gets_the_partial_indexes() {
    let env = Env::sqlite().jobs("[jobs.mark]\ncommand = \"echo $1 >> @DIR@/marks\"\n");
    write_v1_database(&env.path("taskq.db"), &env.ns);
    env.run(&["run", "--burst"]).success();
    assert_eq!(job_indexes(&env.path("taskq.db")), INDEXES_NOW);
}

/// A schema 4 file made before the partial indexes (a job's state changes
/// touched four indexes over all rows) gets them in place of those four, in
/// one transaction, and every path that reads them works: the take, a
/// retry's due time, a scheduled job, a running count under
/// `max_concurrent`, a queue's purge.
#[test]
fn a_schema_4_file_of_full_indexes_gets_partial_ones_and_its_jobs_run() {
    let env = Env::sqlite().jobs(
        "[jobs.mark]\ncommand = \"echo $1 >> @DIR@/marks\"\nmax_concurrent = 1\n\
         [jobs.flaky]\ncommand = \"test -e @DIR@/again || { touch @DIR@/again; exit 1; }\"\nretries = 1\nretry_delay = \"1s\"\n",
    );
    let queued = env.enqueue(&["mark", "a"]);
    let db = env.path("taskq.db");
    with_full_indexes(&db);
    assert!(job_indexes(&db).contains(&"jobs_line".to_string()));
    let later = env.enqueue(&["--delay", "1s", "mark", "b"]);
    let flaky = env.enqueue(&["flaky"]);
    assert_eq!(job_indexes(&db), INDEXES_NOW, "the first command brought the indexes up to date");
    // The delayed job and the retry are due a second later: bursts until then.
    crate::common::wait_until(std::time::Duration::from_secs(30), "all three jobs to succeed", || {
        env.run(&["run", "--burst"]).success();
        [&queued, &later, &flaky].iter().all(|id| env.state(id) == "succeeded")
    });
    assert_eq!(env.lines("marks"), ["a", "b"]);
    env.enqueue(&["mark", "c"]);
    env.run(&["purge", "--queue", "default", "--yes"]).success();
    env.run(&["run", "--burst"]).success();
    assert_eq!(env.lines("marks"), ["a", "b"], "the purged job never ran");
}

/// Gives a file this version made the four full indexes of a schema 4
/// file made before the partial ones.
fn with_full_indexes(db: &std::path::Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute_batch(
        "DROP INDEX jobs_queued; DROP INDEX jobs_waiting; DROP INDEX jobs_running;
         CREATE INDEX jobs_line ON jobs (ns, queue, state, ready_at, id);
         CREATE INDEX jobs_due ON jobs (ns, state, ready_at);
         CREATE INDEX jobs_lease ON jobs (ns, state, lease_until);
         CREATE INDEX jobs_by_job ON jobs (ns, job, state);",
    )
    .unwrap();
}

/// `check` reads a file only if it needs nothing done: one an older taskq
/// made is left as it is, indexes included (that taskq may still use it).
#[test]
fn check_leaves_an_older_files_indexes_alone() {
    let env = Env::sqlite().jobs("[jobs.nightly]\ncommand = \"true\"\nschedule = \"0 3 * * *\"\n");
    env.enqueue(&["nightly"]);
    let db = env.path("taskq.db");
    with_full_indexes(&db);
    let before = job_indexes(&db);
    env.run(&["check"]).success();
    assert_eq!(job_indexes(&db), before);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sqlite_file_gives_freed_pages_back() {
    let env = Env::sqlite();
    let broker = env.connect().await;
    let def =
        taskq::config::Config::parse(std::path::Path::new("jobs.toml"), "[jobs.big]\ncommand = \"true\"\n").unwrap();
    let job = def.job("big").unwrap();
    let jobs: Vec<_> = (0..20_000)
        .map(|i| job.new_job(vec!["x".repeat(200), i.to_string()], std::collections::BTreeMap::default()).unwrap())
        .collect();
    broker.enqueue(&jobs).await.unwrap();
    let pages = |what: &str| -> i64 {
        let conn = rusqlite::Connection::open(env.path("taskq.db")).unwrap();
        conn.query_row(&format!("PRAGMA {what}"), [], |r| r.get(0)).unwrap()
    };
    let full = pages("page_count");
    broker.purge(&taskq::broker::Purge::Queue(taskq::names::QueueName::new("default").unwrap())).await.unwrap();
    assert!(pages("freelist_count") > full / 2, "the deleted jobs' pages are free");
    crate::common::wait_until_async(std::time::Duration::from_secs(30), "the free pages to be given back", || async {
        broker.purge_expired_results().await.unwrap();
        pages("freelist_count") == 0
    })
    .await;
    assert!(pages("page_count") < full / 2, "the file shrank: {} of {full} pages", pages("page_count"));
}

// See: the hostile-input issue, item 3 (with umask 022 the default database
// was readable by every user: it holds parameters and output).
#[test]
fn the_embedded_broker_is_private_to_its_user() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::sqlite().jobs("[jobs.j]\ncommand = \"true\"\n");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let mut cmd =
        env.command_for("bash", &["-c", &format!("umask 022; exec {} enqueue j", env!("CARGO_BIN_EXE_taskq"))]);
    cmd.env("HOME", env.root()).env_remove("TASKQ_BROKER").env_remove("XDG_DATA_HOME");
    assert!(cmd.status().unwrap().success());
    let dir = env.root().join(".local/share/taskq");
    assert_eq!(mode(&dir), 0o700, "the data dir");
    assert_eq!(mode(&dir.join("taskq.db")), 0o600, "the database");
    for side in ["taskq.db-wal", "taskq.db-shm"] {
        if dir.join(side).exists() {
            assert_eq!(mode(&dir.join(side)), 0o600, "{side}");
        }
    }
    // A file and a data dir an earlier version left readable by others are made private.
    std::fs::set_permissions(dir.join("taskq.db"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let mut again = env.command_for(env!("CARGO_BIN_EXE_taskq"), &["enqueue", "j"]);
    again.env("HOME", env.root()).env_remove("TASKQ_BROKER").env_remove("XDG_DATA_HOME");
    assert!(again.status().unwrap().success());
    assert_eq!(mode(&dir.join("taskq.db")), 0o600);
    assert_eq!(mode(&dir), 0o700);
}

#[test]
fn a_sqlite_url_with_a_query_or_a_relative_path_is_refused() {
    let env = Env::sqlite().jobs("[jobs.j]\ncommand = \"true\"\n");
    env.run(&["--broker", "sqlite:///tmp/x.db?mode=ro", "enqueue", "j"])
        .code(2)
        .stderr(predicates::str::contains("unknown parameter \"mode\""));
    env.run(&["--broker", "sqlite://relative/x.db", "enqueue", "j"])
        .code(2)
        .stderr(predicates::str::contains("names a relative path (or a host, \"relative\"): write an absolute path"));
    assert!(!env.root().join("relative").exists(), "nothing was created");
    env.run(&["--broker", "sqlite:///tmp/x.db#frag", "enqueue", "j"])
        .code(2)
        .stderr(predicates::str::contains("write a '#' in a file name as %23"));
    let escaped = format!("sqlite://localhost{}/q%2Ddb", env.root().display());
    env.run(&["--broker", &escaped, "enqueue", "j"]).success();
    assert!(env.root().join("q-db").exists(), "percent-escapes decoded, localhost meaning this host");
    // A typo in a directory is not a new, empty queue somewhere.
    let typo = format!("sqlite://{}/nodir/x.db", env.root().display());
    env.run(&["--broker", &typo, "enqueue", "j"])
        .code(69)
        .stderr(predicates::str::contains("nodir does not exist; create it, or correct the path"));
    assert!(!env.root().join("nodir").exists());
}
