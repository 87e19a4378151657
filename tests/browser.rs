//! The dashboard in a real browser: headless Chromium, driven through
//! chromedriver (tests/common/browser.rs), against the real `taskq web`
//! with an auth file and real workers. Each test asserts what a person
//! sees on the page, and that no page it visits shows an error in the
//! console (a Content-Security-Policy violation counts as one).
//!
//! `scripts/screenshots` runs the one ignored test here, which writes the
//! README's pictures of the dashboard to docs/screenshots/.

use std::path::PathBuf;

use serde_json::Value;

use crate::common::browser::Browser;
use crate::common::env::Proc;
use crate::common::{Env, SOON, wait_until};

/// A running `taskq web` and where it listens.
struct Server {
    _proc: Proc,
    base: String,
}

/// Starts `taskq web` on a free loopback port with the users of `users`,
/// and waits until it says where it serves the dashboard.
fn serve(env: &Env) -> Server {
    let auth = users(env);
    let proc = env.spawn(&["web", "--listen", "127.0.0.1:0", "--auth-file", &auth]);
    let mut base = String::new();
    wait_until(SOON, "taskq web serving the dashboard", || {
        let log = proc.stderr();
        let Some(at) = log.find("serving the dashboard at http://") else { return false };
        let address = &log[at + "serving the dashboard at ".len()..];
        match address.find("/ ") {
            Some(end) => {
                base = address[..end].to_string();
                true
            }
            None => false,
        }
    });
    Server { _proc: proc, base }
}

/// Writes an auth file of an operator `app` (password `s3cret`) and a
/// viewer `board` (password `look`), hashed by `taskq web hash-password`.
fn users(env: &Env) -> String {
    let hash = |password: &str| {
        let out = env.run_with_input(&["web", "hash-password"], &format!("{password}\n")).success();
        String::from_utf8_lossy(&out.get_output().stdout).trim().to_string()
    };
    env.write("web-users", &format!("app operator {}\nboard viewer {}\n", hash("s3cret"), hash("look")));
    env.path("web-users").display().to_string()
}

/// The state badge on a job's page.
const BADGE: &str = "table.fields .state";

/// A job's row in a table of jobs, for XPath searches.
fn row(id: &str) -> String {
    format!("//tr[@data-id='{id}']")
}

/// A schedule's row on /schedules.
fn schedule_row(name: &str) -> String {
    format!("//tr[@data-schedule='{name}']")
}

/// `taskq schedule list --json`'s `paused` for schedule `name`.
fn paused(env: &Env, name: &str) -> Value {
    let out = env.run(&["schedule", "list", "--json"]).success().get_output().stdout.clone();
    let list: Value = serde_json::from_slice(&out).expect("schedule list --json prints JSON");
    let schedules = list["schedules"].as_array().expect("a list of schedules");
    let entry = schedules.iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("no {name} in {list}"));
    entry["paused"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operator_logs_in_and_sees_the_overview_and_every_page() {
    let env = Env::sqlite().jobs("[jobs.greet]\ncommand = \"echo hello\"\n");
    for _ in 0..2 {
        env.enqueue(&["greet"]);
    }
    env.run(&["run", "--burst"]).success();
    env.enqueue(&["greet"]);
    let web = serve(&env);
    let browser = Browser::start(&web.base).await;

    browser.login("app", "s3cret").await;
    browser.wait_for("h1", "Overview").await;
    browser.wait_for("header .who", "app · operator").await;
    browser.wait_for("a.card[href='/jobs?state=queued']", "1 queued").await;
    browser.wait_for("a.card[href='/failed']", "0 failed").await;
    let jobs = browser.wait_text("main", "the jobs that ran", |t| t.contains("greet")).await;
    assert!(jobs.contains("No live workers"), "{jobs}");

    for (link, title, path) in [
        ("Jobs", "Jobs", "/jobs"),
        ("Failed", "Failed", "/failed"),
        ("Schedules", "Schedules", "/schedules"),
        ("Workers", "Workers", "/workers"),
        ("Workflows", "Workflows", "/workflows"),
        ("Overview", "Overview", "/"),
    ] {
        browser.follow_nav(link).await;
        browser.wait_for("h1", title).await;
        assert_eq!(browser.path().await, path);
        browser.wait_for("header nav a[aria-current='page']", link).await;
        browser.wait_for("header .who", "app · operator").await;
    }
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_page_follows_its_job_from_queued_to_succeeded_without_a_reload() {
    // The job prints a line, then holds on until the test lets it finish.
    let env = Env::sqlite().jobs(
        "[jobs.report]\ncommand = \"echo 'step 1: reading'; while [ ! -e @DIR@/go ]; do sleep 0.05; done; \
         echo 'step 2: written'\"\n",
    );
    let id = env.enqueue(&["report"]);
    let web = serve(&env);
    let browser = Browser::start(&web.base).await;
    browser.login("app", "s3cret").await;
    browser.visit(&format!("/jobs/{id}")).await;
    browser.wait_for(BADGE, "queued").await;
    browser.mark_page().await;

    let _worker = env.spawn(&["run"]);
    browser.wait_for(BADGE, "running").await;
    browser.wait_text("#output", "the job's first line, live", |t| t.contains("step 1: reading")).await;
    assert!(browser.text("#output").await.ok().flatten().is_some_and(|t| !t.contains("step 2")));

    env.write("go", "");
    let output = browser.wait_text("#output", "the job's last line, live", |t| t.contains("step 2: written")).await;
    assert_eq!(output, "step 1: reading step 2: written");
    browser.wait_for(BADGE, "succeeded").await;
    browser.wait_text("table.fields", "the exit code", |t| t.contains("Exit code 0")).await;
    browser.assert_same_page().await;
    assert_eq!(env.state(&id), "succeeded");
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_job_is_retried_by_its_button_and_then_succeeds() {
    let env = Env::sqlite().jobs(
        "[jobs.import]\ncommand = \"test -e @DIR@/fixed || { echo 'input file missing' >&2; exit 3; }; \
         echo imported\"\n",
    );
    let id = env.enqueue(&["import"]);
    env.run(&["run", "--burst"]).success();
    assert_eq!(env.state(&id), "failed");
    let web = serve(&env);
    let browser = Browser::start(&web.base).await;
    browser.login("app", "s3cret").await;
    browser.wait_for("a.card[href='/failed']", "1 failed").await;

    browser.visit("/failed").await;
    let failed = format!("tr[data-id='{id}']");
    browser.wait_for(&format!("{failed} td.error"), "exited with code 3").await;
    browser.press(&row(&id), "Retry").await;
    browser.wait_for("p.notice", &format!("requeued {id}")).await;
    assert!(browser.path().await.starts_with(&format!("/jobs/{id}?notice=")), "{}", browser.path().await);
    browser.wait_for(BADGE, "queued").await;
    assert_eq!(env.state(&id), "queued");

    env.write("fixed", "");
    let _worker = env.spawn(&["run"]);
    browser.wait_for(BADGE, "succeeded").await;
    browser.wait_for("#output", "imported").await;
    browser.visit("/failed").await;
    browser.wait_for("main p.empty", "No failed jobs.").await;
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_schedule_paused_by_its_button_is_paused_for_the_command_line_too() {
    let env = Env::sqlite().jobs("[jobs.nightly-backup]\ncommand = \"true\"\nschedule = \"30 2 * * *\"\n");
    let web = serve(&env);
    let browser = Browser::start(&web.base).await;
    browser.login("app", "s3cret").await;
    browser.visit("/schedules").await;
    let state = "tr[data-schedule='nightly-backup'] .state";
    browser.wait_for(state, "active").await;
    assert_eq!(paused(&env, "nightly-backup"), Value::Bool(false));

    browser.press(&schedule_row("nightly-backup"), "Pause").await;
    browser
        .wait_for(
            "p.notice",
            "paused nightly-backup: every beat skips its ticks until `taskq schedule resume nightly-backup`",
        )
        .await;
    browser.wait_for(state, "paused").await;
    let buttons = browser.buttons(&schedule_row("nightly-backup")).await;
    assert_eq!(buttons, [("Resume".to_string(), true), ("Trigger now".to_string(), true)]);
    assert_eq!(paused(&env, "nightly-backup"), Value::Bool(true), "the command line sees the pause");

    browser.press(&schedule_row("nightly-backup"), "Resume").await;
    browser.wait_for("p.notice", "resumed nightly-backup: it fires again from its next tick").await;
    browser.wait_for(state, "active").await;
    assert_eq!(paused(&env, "nightly-backup"), Value::Bool(false));
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_sees_every_button_disabled() {
    let env = Env::sqlite().jobs(
        "[jobs.import]\ncommand = \"exit 3\"\n[jobs.nightly-backup]\ncommand = \"true\"\nschedule = \"30 2 * * *\"\n",
    );
    let id = env.enqueue(&["import"]);
    env.run(&["run", "--burst"]).success();
    let web = serve(&env);
    let browser = Browser::start(&web.base).await;
    browser.login("board", "look").await;
    browser.wait_for("header .who", "board · viewer").await;

    let disabled = |labels: &[&str]| labels.iter().map(|l| ((*l).to_string(), false)).collect::<Vec<_>>();
    browser.visit("/failed").await;
    browser.wait_for(&format!("tr[data-id='{id}'] td.error"), "exited with code 3").await;
    assert_eq!(browser.buttons("//main").await, disabled(&["Retry all 1", "Retry"]));
    browser.visit("/failed/purge").await;
    assert_eq!(browser.buttons("//main").await, disabled(&["Delete 1"]));
    browser.visit(&format!("/jobs/{id}")).await;
    browser.wait_for(BADGE, "failed").await;
    assert_eq!(browser.buttons("//main").await, disabled(&["Retry"]));
    browser.visit("/schedules").await;
    browser.wait_for("tr[data-schedule='nightly-backup'] .state", "active").await;
    assert_eq!(browser.buttons("//main").await, disabled(&["Pause", "Trigger now"]));
    assert_eq!(env.state(&id), "failed");
    browser.close().await;
}

/// Where the screenshots go: `$TASKQ_SCREENSHOTS`, or docs/screenshots/.
fn screenshot_dir() -> PathBuf {
    std::env::var_os("TASKQ_SCREENSHOTS")
        .map_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots"), PathBuf::from)
}

/// The pictures of the README: the overview and a running job's page with
/// its output (the whole page, to show the output), light and dark, at a
/// desktop's width, of a small but busy
/// deployment (jobs that succeeded, one that failed, one running, a schedule).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes docs/screenshots/: scripts/screenshots runs it"]
async fn screenshots_of_the_dashboard() {
    let env = Env::redis().jobs(
        r#"[jobs.send-welcome-email]
command = "sleep 0.2; echo sent welcome mail to user {{user_id}}"
params = { user_id = { type = "int" } }
queue = "mail"

[jobs.sync-inventory]
command = "sleep 0.6; echo synced 42 items"

[jobs.import-orders]
command = "echo 'reading orders.csv'; echo 'orders.csv: line 118: bad date \"31/02\"' >&2; exit 65"

[jobs.resize-images]
command = '''
for n in 1 2 3 4 5 6; do echo "resized batch $n of 12 (250 images)"; done
while [ ! -e @DIR@/go ]; do sleep 0.1; done
'''

[jobs.nightly-backup]
command = "sleep 1.2; echo backup done"
schedule = "30 2 * * *"
"#,
    );
    for user in 1..=6 {
        env.enqueue(&["send-welcome-email", "-p", &format!("user_id={user}")]);
    }
    for _ in 0..3 {
        env.enqueue(&["sync-inventory"]);
    }
    env.enqueue(&["nightly-backup"]);
    let failed = env.enqueue(&["import-orders"]);
    env.run(&["run", "--burst"]).success();
    assert_eq!(env.state(&failed), "failed");
    let running = env.enqueue(&["resize-images"]);
    // Served by no worker here: they show as queued.
    for user in 7..=9 {
        env.enqueue(&["send-welcome-email", "-p", &format!("user_id={user}")]);
    }
    let _worker = env.spawn(&["run", "--queues", "default", "--concurrency", "4"]);
    wait_until(SOON, "the running job's output", || {
        env.status(&running)["output"].as_str().is_some_and(|o| o.contains("6 of 12"))
    });
    let web = serve(&env);
    let browser = Browser::start(&web.base).await;
    browser.login("app", "s3cret").await;

    let dir = screenshot_dir();
    std::fs::create_dir_all(&dir).expect("the screenshot dir");
    for dark in [false, true] {
        let scheme = if dark { "dark" } else { "light" };
        browser.desktop(dark).await;
        browser.visit("/").await;
        browser.wait_for("a.card[href='/jobs?state=running']", "1 running").await;
        browser.wait_text("main", "the worker", |t| t.contains("resize-images")).await;
        browser.desktop(dark).await;
        browser.screenshot(&dir.join(format!("overview-{scheme}.png")), false).await;

        browser.visit(&format!("/jobs/{running}")).await;
        browser.wait_for(BADGE, "running").await;
        browser.wait_text("#output", "the job's output", |t| t.contains("batch 6 of 12")).await;
        browser.desktop(dark).await;
        browser.screenshot(&dir.join(format!("job-{scheme}.png")), true).await;
    }
    browser.close().await;
    env.write("go", "");
}
