//! Network and Redis faults. The fault suite drives the binary through a
//! `Proxy` and a `RedisServer` it breaks on purpose; these modules first
//! prove that the faults themselves are what they claim to be.
//!
//! - `proxy`: forwarding, pause and resume, reset connections, partition
//! - `redis`: restart on the same data, password flip, MISCONF, killed clients, ACL

mod proxy;
mod redis;
