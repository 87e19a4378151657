//! Test support: real services (redis-server, an HTTP server), the real
//! binary in a temp dir, waiting with deadlines, and faults: a controllable
//! TCP proxy and Redis-side failures. For the scale suite (tests/scale), also
//! a Redis Cluster, a Sentinel set-up and a TLS redis-server, each with its
//! failover or refusal. `flaky`: a `Broker` that refuses beat's ticks on cue.
//! `browser`: chromedriver and headless Chromium for the dashboard's tests.

#![allow(dead_code)]

pub(crate) mod browser;
pub(crate) mod cluster;
pub(crate) mod env;
pub(crate) mod flaky;
pub(crate) mod http;
pub(crate) mod proxy;
pub(crate) mod redis;
pub(crate) mod sentinel;
pub(crate) mod tls;
pub(crate) mod tmux;
pub(crate) mod wait;

pub(crate) use env::{Backend, Env};
pub(crate) use http::HttpServer;
pub(crate) use proxy::Proxy;
pub(crate) use redis::RedisServer;
pub(crate) use redis::resp::RedisConn;
pub(crate) use wait::{poll_until, wait_until, wait_until_async};

/// Whether a process is alive (a zombie has already exited).
pub(crate) fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
}

/// The job reaper a worker started: its child running `taskq __reap`.
pub(crate) fn reaper_of(worker: i32) -> Option<i32> {
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|entry| {
        let pid: i32 = entry.file_name().to_str()?.parse().ok()?;
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let ppid: i32 = stat.rsplit(')').next()?.split_whitespace().nth(1)?.parse().ok()?;
        let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        (ppid == worker && cmdline.split(|&b| b == 0).any(|arg| arg == b"__reap") && alive(pid)).then_some(pid)
    })
}

/// Generous deadline for things that normally take milliseconds.
pub(crate) const SOON: std::time::Duration = std::time::Duration::from_secs(15);

/// Stamps a test body once per backend: `both!(name, |backend| { ... })`
/// gives `name::sqlite` and `name::redis`.
#[macro_export]
macro_rules! both {
    ($name:ident, |$backend:ident| $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            fn body($backend: $crate::common::Backend) $body

            #[test]
            fn sqlite() {
                body($crate::common::Backend::Sqlite)
            }

            #[test]
            fn redis() {
                body($crate::common::Backend::Redis)
            }
        }
    };
}

/// Stamps one case of the broker contract once per deployment:
/// `broker_case!(name, |broker, env| { ... }, sqlite => Env::sqlite(), ...)`
/// gives `name::sqlite` and so on, each with a fresh env and a connection to it.
#[macro_export]
macro_rules! broker_case {
    ($name:ident, |$broker:ident, $env:ident| $body:block, $($variant:ident => $make:expr),+) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn body($broker: std::sync::Arc<dyn taskq::broker::Broker>, $env: &$crate::common::Env) {
                let _ = $env;
                $body
            }

            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $variant() {
                    let env = $make;
                    body(env.connect().await, &env).await
                }
            )+
        }
    };
}
