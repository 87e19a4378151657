//! The connections themselves: HTTPS with `--tls-cert` and `--tls-key`,
//! their refusals, and a client too slow with its headers cut off.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use super::serve;
use crate::common::Env;
use crate::common::tls::Certs;
use crate::common::tmux::Tmux;
use crate::common::{SOON, wait_until};

#[test]
fn https_serves_with_the_given_certificate_and_bad_files_are_refused() {
    let env = Env::sqlite().jobs("[jobs.a]\ncommand = \"true\"\n");
    let certs = Certs::make();
    let (cert, key) = (certs.server_cert().display().to_string(), certs.server_key().display().to_string());
    let web = serve(&env, &["--no-auth", "--tls-cert", &cert, "--tls-key", &key]);
    assert!(web.base.starts_with("https://127.0.0.1:"), "{}", web.base);
    taskq::tls::install_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
    let ca = std::fs::read(certs.ca()).expect("the CA");
    let (status, plain) = runtime.block_on(async {
        let client = reqwest::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(&ca).expect("a PEM CA"))
            .build()
            .expect("client");
        let status = client.get(format!("{}/api/v1/queues", web.base)).send().await.expect("answers").status();
        // Plain HTTP to the TLS port is told to use https.
        let plain =
            reqwest::get(web.base.replacen("https://", "http://", 1) + "/api/v1/queues").await.expect("answers");
        (status.as_u16(), (plain.status().as_u16(), plain.text().await.unwrap_or_default()))
    });
    assert_eq!(status, 200);
    assert_eq!(plain, (400, "this address serves HTTPS: use https://\n".to_string()));

    env.run(&["web", "--no-auth", "--listen", "127.0.0.1:0", "--tls-cert", &key, "--tls-key", &key])
        .code(78)
        .stderr(predicates::str::contains("no PEM certificate in it"));
    env.run(&["web", "--no-auth", "--listen", "127.0.0.1:0", "--tls-cert", &cert, "--tls-key", &cert])
        .code(78)
        .stderr(predicates::str::contains("--tls-key"));
    env.run(&["web", "--no-auth", "--tls-cert", &cert]).code(2).stderr(predicates::str::contains("--tls-key"));
}

#[test]
fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let env = Env::sqlite().jobs("[jobs.a]\ncommand = \"true\"\n");
    let web = serve(&env, &["--no-auth"]);
    let addr = web.base.trim_start_matches("http://").to_string();
    let mut slow = std::net::TcpStream::connect(&addr).expect("connects");
    slow.write_all(b"GET /api/v1/queues HTTP/1.1\r\nHost: localhost\r\n").expect("half a request");
    slow.set_read_timeout(Some(Duration::from_secs(30))).expect("a read timeout");
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = slow.read_to_end(&mut answer);
    assert!(read.is_ok(), "closed by the server, not by the test's own timeout: {read:?}");
    assert!(started.elapsed() < Duration::from_secs(25), "{:?}", started.elapsed());
    assert!(!String::from_utf8_lossy(&answer).contains("200 OK"), "{}", String::from_utf8_lossy(&answer));
    // The server still answers others.
    let mut other = std::net::TcpStream::connect(&addr).expect("connects");
    other.write_all(b"GET /api/v1/queues HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").expect("a request");
    let mut reply = String::new();
    other.read_to_string(&mut reply).expect("an answer");
    assert!(reply.starts_with("HTTP/1.1 200"), "{reply}");
}

#[test]
fn a_password_typed_for_its_hash_is_not_shown() {
    let env = Env::sqlite();
    let tmux = Tmux::new(&env, "password");
    let bin = env!("CARGO_BIN_EXE_taskq");
    let shell = format!("'{bin}' web hash-password; echo \"exited $?\"; sleep 60");
    let started = tmux.cmd(&["new-session", "-d", "-s", "pw", "-x", "150", "-y", "10", "sh", "-c", &shell]);
    assert!(started.status.success(), "{}", String::from_utf8_lossy(&started.stderr));
    wait_until(SOON, "the prompt", || tmux.screen("pw").contains("password (not shown):"));
    tmux.cmd(&["send-keys", "-t", "pw", "-l", "sekrit-99"]);
    tmux.cmd(&["send-keys", "-t", "pw", "Enter"]);
    let mut screen = String::new();
    wait_until(SOON, "the hash", || {
        screen = tmux.screen("pw");
        screen.contains("exited 0")
    });
    assert!(screen.contains("$argon2id$"), "{screen}");
    assert!(!screen.contains("sekrit-99"), "the password was echoed:\n{screen}");
}
