//! Faults, with real processes: the network cut between a worker and Redis
//! (a `Proxy` the tests pause and cut), Redis restarted or refusing work, a
//! full disk under SQLite, stdout closed under `enqueue`, and hosts whose
//! clocks disagree. The first two modules prove that the faults themselves
//! are what they claim to be.
//!
//! - `proxy`: forwarding, pause and resume, reset connections, partition
//! - `redis`: restart on the same data, password flip, MISCONF, killed clients, ACL
//! - `partition`: a cut-off worker stops its job before another can take it
//! - `restart`: Redis restarts lose no job and no tick
//! - `refusals`: MISCONF, a changed password, an ACL user without channels
//! - `disk`: SQLite on a full disk
//! - `output`: exit 74 when ids cannot be printed
//! - `clock`: skewed hosts (libfaketime)

mod proxy;
mod redis;

mod clock;
mod disk;
mod output;
mod partition;
mod refusals;
mod restart;
