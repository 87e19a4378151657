//! taskq end to end over TLS (a client certificate, the CA from the URL)
//! as the least-privilege ACL user, and what a user sees when the TLS
//! settings are wrong.

use std::time::Duration;

use predicates::prelude::*;

use crate::common::{Env, wait_until};

#[test]
fn a_worker_and_beat_run_over_tls_as_the_least_privileged_user() {
    let env = crate::conformance::on_tls_as_least_privileged_user().jobs(
        r#"
[jobs.work]
command = "echo $TASKQ_JOB_ID >> @DIR@/runs"
max_concurrent = 2
unique_for = "1h"

[jobs.tick]
command = "echo tick >> @DIR@/ticks"
every = "1s"
"#,
    );
    let ids: Vec<String> = (0..20).map(|i| env.enqueue(&["work", &format!("n{i}")])).collect();
    let beat = env.spawn(&["beat"]);
    env.run(&["run", "--burst", "-c", "4"]).success();
    let runs = env.lines("runs");
    assert!(ids.iter().all(|id| runs.contains(id)), "every job ran: {runs:?}");
    let fired =
        || String::from_utf8_lossy(&env.run(&["list", "--job", "tick", "--json"]).get_output().stdout).lines().count();
    wait_until(Duration::from_secs(15), "two ticks fired", || fired() >= 2);
    assert!(beat.stderr().contains("fired"), "{}", beat.stderr());
    env.run(&["inspect"]).success();
}

#[test]
fn wrong_tls_settings_are_named() {
    let tls = crate::shared::tls();
    // The server's certificate is signed by a CA the system does not know.
    let system_roots = format!("rediss://127.0.0.1:{}/0", tls.tls_port());
    Env::with_broker(&system_roots)
        .run(&["list"])
        .code(69)
        .stderr(predicate::str::contains("the server's certificate is not signed by the CA in ca="));
    Env::with_broker(&tls.url())
        .run(&["list"])
        .code(69)
        .stderr(predicate::str::contains("the server asks for a client certificate: add cert= and key="));
    let key = tls.certs().client_key().display().to_string();
    let not_a_ca = format!("rediss://127.0.0.1:{}/0?ca={key}", tls.tls_port());
    Env::with_broker(&not_a_ca)
        .run(&["list"])
        .code(69)
        .stderr(predicate::str::contains(format!("the CA file (ca=) {key} holds no PEM certificate")));
    let missing = tls.url().replace("ca=", "ca=/nonexistent");
    Env::with_broker(&missing)
        .run(&["list"])
        .code(69)
        .stderr(predicate::str::contains("cannot read the CA file (ca=) /nonexistent"));
    let half = format!("{}&cert=/etc/hostname", tls.url());
    Env::with_broker(&half).run(&["list"]).code(2).stderr(predicate::str::contains("needs both cert= and key="));
}
