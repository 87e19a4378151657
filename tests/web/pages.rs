//! The dashboard's pages as a browser without JavaScript reads them, the
//! headers that guard them, and what keeps another site from acting
//! through a signed-in browser: the forms' tokens and the origin checks.

use super::{APP, BOARD, Reply, request, serve, users};
use crate::common::{Env, SOON, wait_until};

/// The token the page's forms carry.
fn token(page: &Reply) -> String {
    let at = page.text.find("name=\"csrf\" value=\"").expect("a form with a token") + "name=\"csrf\" value=\"".len();
    page.text[at..at + 64].to_string()
}

const FORM: &str = "application/x-www-form-urlencoded";

#[test]
fn each_page_reads_without_javascript_under_a_strict_policy() {
    let env = Env::sqlite().jobs(
        "[jobs.greet]\ncommand = \"echo hello-from-greet; echo token=$TOKEN\"\nenv = { TOKEN = \"${SECRET}\" }\n\
         [jobs.fail]\ncommand = \"echo broken >&2; exit 3\"\n[jobs.tick]\ncommand = \"true\"\nevery = \"1h\"\n",
    );
    let auth = users(&env);
    let web = serve(&env, &["--auth-file", &auth]);
    let ok = env.enqueue(&["greet", "--", "some-arg"]);
    let bad = env.enqueue(&["fail"]);
    let mut worker = env.spawn_with(&["run", "--burst"], &[("SECRET", "hunter2")]);
    assert!(worker.wait_timeout(SOON).is_some_and(|s| s.success()), "{}", worker.stderr());
    let page = |path: &str| request("GET", &format!("{}{path}", web.base), BOARD, &[], None);
    for (path, shows) in [
        ("/", vec!["Overview", "greet", "fail", "1</span> failed", "default", "<svg class=\"chart\""]),
        ("/jobs", vec![ok.as_str(), bad.as_str(), "succeeded", "failed"]),
        ("/jobs?state=failed", vec![bad.as_str()]),
        (&format!("/jobs/{ok}"), vec!["hello-from-greet", "some-arg", "Exit code", "succeeded"]),
        (&format!("/jobs/{bad}"), vec!["broken", "exited with code 3", "Retry"]),
        ("/failed", vec![bad.as_str(), "exited with code 3", "Retry all 1"]),
        ("/failed/purge", vec!["This deletes <strong>1 failed job"]),
        ("/schedules", vec!["tick", "every 1h", "Pause", "Trigger now"]),
        ("/workers", vec!["No live workers"]),
    ] {
        let reply = page(path);
        assert_eq!(reply.status, 200, "{path}: {}", reply.text);
        assert_eq!(reply.header("content-type"), "text/html; charset=utf-8", "{path}");
        for text in shows {
            assert!(reply.text.contains(text), "{path} shows {text:?}:\n{}", reply.text);
        }
        // The job's own output may print a secret; the pages add none: the
        // job's env and the worker's values are never rendered.
        let without_output = reply.text.replace("token=hunter2", "");
        assert!(!without_output.contains("hunter2") && !without_output.contains("${SECRET}"), "{path}");
        let csp = reply.header("content-security-policy");
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert!(
            !reply.text.contains("<script>") && !reply.text.contains(" style="),
            "no inline script or style: {path}"
        );
        assert_eq!(reply.header("x-frame-options"), "DENY");
        assert_eq!(reply.header("x-content-type-options"), "nosniff");
    }
    // A viewer's buttons are there, disabled.
    assert!(page("/failed").text.contains("type=\"submit\" disabled"), "a viewer's buttons are disabled");
    // Searching the first characters of an id lists the jobs they start
    // (or opens the one); a whole id opens the job.
    let prefix = page(&format!("/jobs?id={}", &ok[..8]));
    assert!(prefix.text.contains(&ok) || prefix.header("location") == format!("/jobs/{ok}"), "{}", prefix.text);
    let found = page(&format!("/jobs?id={ok}"));
    assert_eq!((found.status, found.header("location")), (303, format!("/jobs/{ok}").as_str()));
    // Unknown ids are a page saying so.
    let missing = page("/jobs/01a22854-91cd-7088-9204-f92a5fffb90c");
    assert_eq!(missing.status, 404);
    assert!(missing.text.contains("unknown job id 01a22854-91cd-7088-9204-f92a5fffb90c"), "{}", missing.text);
    // The pages need a login; their stylesheet and script do not.
    assert_eq!(request("GET", &format!("{}/", web.base), None, &[], None).status, 401);
    for asset in ["/static/app.css", "/static/app.js"] {
        let reply = request("GET", &format!("{}{asset}", web.base), None, &[], None);
        assert_eq!(reply.status, 200, "{asset}");
        assert!(!reply.text.is_empty());
    }
}

#[test]
fn a_form_acts_only_with_its_users_token_and_from_this_site() {
    let env = Env::sqlite().jobs("[jobs.fail]\ncommand = \"exit 3\"\n");
    let auth = users(&env);
    let web = serve(&env, &["--auth-file", &auth]);
    let id = env.enqueue(&["fail"]);
    env.run(&["run", "--burst"]).success();
    let url = |path: &str| format!("{}{path}", web.base);
    let own = token(&request("GET", &url("/failed"), APP, &[], None));
    let viewers = token(&request("GET", &url("/failed"), BOARD, &[], None));
    let retry = url(&format!("/jobs/{id}/retry"));

    // No token, another user's token, a token of another site's making.
    for body in [String::new(), format!("csrf={viewers}"), format!("csrf={}", "0".repeat(64))] {
        let reply = request("POST", &retry, APP, &[], Some((FORM, &body)));
        assert_eq!(reply.status, 403, "{body}: {}", reply.text);
        assert!(reply.text.contains("the form's token is missing or stale"), "{}", reply.text);
    }
    // The browser says another site sent it: refused before the token counts.
    for header in [("origin", "http://attacker.example"), ("sec-fetch-site", "cross-site"), ("origin", "null")] {
        let reply = request("POST", &retry, APP, &[header], Some((FORM, &format!("csrf={own}"))));
        assert_eq!(reply.status, 403, "{header:?}");
        assert!(reply.text.contains("cross-site request refused"), "{}", reply.text);
        // The JSON API too: a browser sends its saved login cross-site.
        let api = request("POST", &url(&format!("/api/v1/jobs/{id}/retry")), APP, &[header], None);
        assert_eq!(api.status, 403, "API {header:?}");
    }
    assert_eq!(env.state(&id), "failed", "nothing was retried");
    // A viewer's own token does not make a viewer an operator.
    let reply = request("POST", &retry, BOARD, &[], Some((FORM, &format!("csrf={viewers}"))));
    assert_eq!(reply.status, 403);
    assert!(reply.text.contains("retrying needs the operator role"), "{}", reply.text);

    // From the page itself: done, and back to the job with a notice.
    let host = web.base.trim_start_matches("http://").to_string();
    let origin = format!("http://{host}");
    let same = [("origin", origin.as_str()), ("sec-fetch-site", "same-origin")];
    let reply = request("POST", &retry, APP, &same, Some((FORM, &format!("csrf={own}"))));
    assert_eq!(reply.status, 303, "{}", reply.text);
    let back = reply.header("location").to_string();
    assert!(back.starts_with(&format!("/jobs/{id}?notice=")), "{back}");
    assert_eq!(env.state(&id), "queued");
    let shown = request("GET", &url(&back), APP, &[], None);
    assert!(shown.text.contains(&format!("<p class=\"notice\" role=\"status\">requeued {id}</p>")), "{}", shown.text);
    // A notice this server did not sign is not shown.
    let forged = request("GET", &url(&format!("/jobs/{id}?notice=call+us&sig={own}")), APP, &[], None);
    assert!(!forged.text.contains("call us"), "a forged notice is not shown");

    // Purge asks on a page of its own; the form there deletes.
    env.run(&["run", "--burst"]).success();
    let confirm = request("GET", &url("/failed/purge"), APP, &[], None);
    assert!(confirm.text.contains("Delete 1"), "{}", confirm.text);
    let reply = request("POST", &url("/failed/purge"), APP, &same, Some((FORM, &format!("csrf={}", token(&confirm)))));
    assert_eq!(reply.status, 303);
    env.run(&["list", "--state", "failed"]).success().stdout("");
}

#[test]
fn schedules_are_paused_from_their_page_and_the_server_takes_an_edited_config_on_sighup() {
    let env = Env::sqlite().jobs("[jobs.tick]\ncommand = \"true\"\nevery = \"1h\"\n");
    let server = serve(&env, &["--no-auth"]);
    let url = |path: &str| format!("{}{path}", server.base);
    let page = request("GET", &url("/schedules"), None, &[], None);
    let reply =
        request("POST", &url("/schedules/tick/pause"), None, &[], Some((FORM, &format!("csrf={}", token(&page)))));
    assert_eq!(reply.status, 303, "{}", reply.text);
    let shown = request("GET", &url(reply.header("location")), None, &[], None);
    assert!(shown.text.contains("paused tick: every beat skips its ticks"), "{}", shown.text);
    assert!(shown.text.contains("<span class=\"state paused\">paused</span>"), "{}", shown.text);
    assert!(shown.text.contains("Resume"), "{}", shown.text);

    // An edited jobs.toml, then SIGHUP: the new schedule is on the page.
    env.write(
        "jobs.toml",
        "[jobs.tick]\ncommand = \"true\"\nevery = \"1h\"\n[jobs.tock]\ncommand = \"true\"\nevery = \"2h\"\n",
    );
    server.proc.signal(rustix::process::Signal::HUP);
    wait_until(SOON, "the reload", || server.proc.stderr().contains("config reloaded"));
    assert!(request("GET", &url("/schedules"), None, &[], None).text.contains("every 2h"));
    env.write("jobs.toml", "[jobs.tick]\ncommand = 7\n");
    server.proc.signal(rustix::process::Signal::HUP);
    wait_until(SOON, "the bad file reported", || {
        server.proc.stderr().contains("reload failed: keeping the running config")
    });
    assert!(request("GET", &url("/schedules"), None, &[], None).text.contains("every 2h"), "the running config kept");
}

#[test]
fn a_jobs_page_and_status_show_its_attempts_before_the_last() {
    let env =
        Env::sqlite().jobs("[jobs.flaky]\ncommand = \"echo try >&2; exit 3\"\nretries = 1\nretry_delay = \"0s\"\n");
    let web = serve(&env, &["--no-auth"]);
    let id = env.enqueue(&["flaky"]);
    let _worker = env.spawn(&["run"]);
    wait_until(SOON, "both attempts", || env.state(&id) == "failed");
    let page = request("GET", &format!("{}/jobs/{id}", web.base), None, &[], None);
    assert!(page.text.contains("<h2>Attempts</h2>"), "{}", page.text);
    assert!(page.text.contains("<span class=\"state retried\">retried</span>"), "{}", page.text);
    let status = env.run(&["status", &id]).success();
    let text = String::from_utf8_lossy(&status.get_output().stdout).to_string();
    assert!(text.contains("  attempt 1: retried "), "{text}");
    assert!(text.contains("exit code 3"), "{text}");
    let json = env.status(&id);
    assert_eq!(json["history"][0]["outcome"], "retried", "{json}");
    assert_eq!(json["history"].as_array().map(Vec::len), Some(1), "{json}");
}
