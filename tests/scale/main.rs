//! The scale-out tests: taskq on a Redis Cluster, under Sentinel and over
//! TLS. A test binary of its own (see Cargo.toml): one cluster, one
//! Sentinel set and one TLS server serve all its conformance cases
//! (`shared.rs`), so they start once per run. `scripts/test` runs it with the
//! rest (about 20 s); `cargo test --test scale` runs it alone.
//!
//! - `harness`: the cluster, sentinel and TLS helpers themselves (tests/common)
//! - `conformance`: the broker contract on each of them
//! - `failover`: a master killed during a run of 2,000 jobs, on a cluster and under Sentinel; a resharding
//! - `mistakes`: a URL at the wrong kind of server
//! - `spread`: one namespace's queues on every master of a cluster
//! - `tls`: a worker and beat over TLS as the least-privileged user; wrong TLS settings

// Shared with the main test binary, whose helpers this one mostly leaves unused.
#[path = "../common/mod.rs"]
#[allow(unused_imports)]
mod common;

mod conformance;
mod failover;
mod harness;
mod mistakes;
mod shared;
mod spread;
mod tls;
