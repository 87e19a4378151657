//! Faults, with real processes: the network cut between a worker and Redis
//! (a `Proxy` the tests pause and cut), Redis restarted or refusing work, a
//! full disk under SQLite, stdout closed under `enqueue`, and hosts whose
//! clocks disagree. The first two modules prove that the faults themselves
//! are what they claim to be.
//!
//! - `proxy`: forwarding, pause and resume, reset connections, partition
//! - `redis`: restart on the same data, password flip, MISCONF, killed clients, ACL
//! - `partition`: a cut-off worker stops its job before another can take it,
//!   on a reset and on a silent network
//! - `restart`: Redis restarts lose no job and no tick
//! - `refusals`: MISCONF, a changed password, an ACL user without channels
//! - `disk`: SQLite on a full disk
//! - `output`: exit 74 when ids cannot be printed
//! - `clock`: skewed hosts (libfaketime)
//! - `storm`: 2,000 jobs while workers are SIGKILLed and restarted at random
//! - `soak`: minutes of steady load with kills, a Redis crash and a
//!   partition (`#[ignore]`d: `scripts/soak` runs it)
//! - `chaos`: what the storm and the soak share
//! - `batch`: a busy Redis queue's finishes in one call keep their own
//!   errors, and none is lost when a call stops at its bound

mod proxy;
mod redis;

mod batch;
mod chaos;
mod clock;
mod disk;
mod output;
mod partition;
mod refusals;
mod restart;
mod soak;
mod storm;
