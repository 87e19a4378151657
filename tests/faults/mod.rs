//! Network and Redis faults. The fault suite drives the binary through a
//! `Proxy` and a `RedisServer` it breaks on purpose; these modules first
//! prove that the faults themselves are what they claim to be.
//!
//! - `proxy`: forwarding, pause and resume, reset connections, partition
//! - `redis`: restart on the same data, password flip, MISCONF, killed clients, ACL
//! - `partition`: a worker cut off by a silent network while others work on
//! - `storm`: 2,000 jobs while workers are SIGKILLed and restarted at random
//! - `soak`: minutes of steady load with kills, a Redis crash and a
//!   partition (`#[ignore]`d: `scripts/soak` runs it)
//! - `chaos`: what the storm and the soak share

mod chaos;
mod partition;
mod proxy;
mod redis;
mod soak;
mod storm;
