//! Test support: real services (redis-server, an HTTP server), the real
//! binary in a temp dir, waiting with deadlines, and faults: a controllable
//! TCP proxy and Redis-side failures.

#![allow(dead_code)]

pub(crate) mod env;
pub(crate) mod http;
pub(crate) mod proxy;
pub(crate) mod redis;
pub(crate) mod wait;

pub(crate) use env::{Backend, Env};
pub(crate) use http::HttpServer;
pub(crate) use proxy::Proxy;
pub(crate) use redis::RedisServer;
pub(crate) use redis::resp::RedisConn;
pub(crate) use wait::{wait_until, wait_until_async};

/// Whether a process is alive (a zombie has already exited).
pub(crate) fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat.rsplit(')').next().and_then(|rest| rest.split_whitespace().next()) != Some("Z"),
        Err(_) => false,
    }
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
