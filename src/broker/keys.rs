//! Redis key names: the one place they are spelled out
//! (docs/cluster-layout.md has the design and what spans slots).
//!
//! Each queue has its own hash tag, `{ns/queue}` (a name cannot hold `/`),
//! so a cluster spreads a namespace's queues over its masters; everything a
//! job's transition touches is in its queue's slot, so every script runs in
//! one slot and is given every key it touches in KEYS:
//!
//! | key                    | type   | holds                                          |
//! |------------------------|--------|------------------------------------------------|
//! | `{ns/q}:pending`       | LIST   | queued ids; LPUSH to enqueue, RPOP to take     |
//! | `{ns/q}:jobs`          | HASH   | per job id: its fields (request, state, attempts, result), packed |
//! | `{ns/q}:grants`        | HASH   | per grant of a run under way, the id it took   |
//! | `{ns/q}:entries`       | HASH   | beat: per entry whose job runs on q, its state, packed |
//! | `{ns/q}:index`         | ZSET   | every live id by enqueue time (ms), for list   |
//! | `{ns/q}:done`          | ZSET   | finished ids by result expiry (ms)             |
//! | `{ns/q}:delayed`       | ZSET   | scheduled and retrying ids by due time (ms)    |
//! | `{ns/q}:leases`        | ZSET   | running ids by lease expiry (ms)               |
//! | `{ns/q}:failed`        | ZSET   | failed ids by failure time (ms)                |
//! | `{ns/q}:running`       | HASH   | per limited job name, its runs and their lease expiry, packed |
//! | `{ns/q}:blocked`       | ZSET   | `<job>\0<seq>`: ids waiting for a slot (score 0, FIFO per job by lex) |
//! | `{ns/q}:outbox`        | LIST   | hook jobs an outcome triggered, to enqueue on their own queue |
//! | `{ns/q}:known`         | STRING | set once the queue is in `{ns}:queues`         |
//! | `{ns/q}:stats`         | HASH   | per job, a ring of minute and hour buckets of its statistics, packed |
//! | `{ns}:queues`          | SET    | every queue name used                          |
//! | `{ns}:unique:<key>`    | STRING | who holds an idempotency key (PX window)       |
//! | `{ns}:workers`         | ZSET   | live worker ids by last heartbeat (ms)         |
//! | `{ns}:worker:<id>`     | STRING | a worker's last heartbeat (JSON, PX ttl)       |
//! | `{ns}:layout`          | STRING | the key layout's version (layout.rs)           |
//! | `{ns}:wake`            | pubsub | a queue name, published when it gains a job    |
//! | `{ns/_runs}:…`         |        | workflow runs, in one slot (`_` cannot start a queue's name): `RUN_KEYS`, runs.lua says what each holds |

/// The keys of one namespace: its own (`{ns}:…`) and its queues'.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    ns: String,
    prefix: String,
}

impl Keys {
    pub(super) fn new(ns: &str) -> Keys {
        Keys { ns: ns.to_string(), prefix: format!("{{{ns}}}:") }
    }

    /// The namespace's own prefix, `{ns}:`.
    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The keys of queue `q`.
    pub(super) fn queue(&self, q: &str) -> QueueKeys {
        QueueKeys { prefix: format!("{{{}/{q}}}:", self.ns) }
    }

    pub(super) fn layout(&self) -> String {
        format!("{}layout", self.prefix)
    }

    pub(super) fn queues(&self) -> String {
        format!("{}queues", self.prefix)
    }

    pub(super) fn unique(&self, key: &str) -> String {
        format!("{}unique:{key}", self.prefix)
    }

    pub(super) fn definitions(&self) -> String {
        format!("{}definitions", self.prefix)
    }

    pub(super) fn paused(&self) -> String {
        format!("{}paused", self.prefix)
    }

    pub(super) fn workers(&self) -> String {
        format!("{}workers", self.prefix)
    }

    pub(super) fn worker(&self, id: &str) -> String {
        format!("{}worker:{id}", self.prefix)
    }

    /// The keys of the namespace's workflow runs, in the order of
    /// `RUN_KEYS` (runs.lua's KEYS).
    pub(super) fn runs(&self) -> Vec<String> {
        RUN_KEYS.iter().map(|name| format!("{{{}/_runs}}:{name}", self.ns)).collect()
    }

    pub(super) fn wake(&self) -> String {
        format!("{}wake", self.prefix)
    }

    // The layout before version 3 (layout.rs moves it): every key under
    // `{ns}:`, the per-queue sets shared by the namespace.

    pub(super) fn old(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    pub(super) fn old_pending(&self, queue: &str) -> String {
        format!("{}pending:{queue}", self.prefix)
    }
}

/// The keys of one queue, all in its slot.
#[derive(Debug, Clone)]
pub(super) struct QueueKeys {
    prefix: String,
}

/// The keys every queue script is given, in this order: lib.lua names them
/// (KEYS[1..]) the same way.
pub(super) const QUEUE_KEYS: [&str; 14] = [
    "pending", "jobs", "grants", "entries", "index", "done", "delayed", "leases", "failed", "running", "blocked",
    "outbox", "known", "stats",
];

/// The keys of the namespace's workflow runs, as runs.lua names them.
pub(super) const RUN_KEYS: [&str; 7] = ["runs", "heads", "steps", "members", "open", "index", "expiry"];

impl QueueKeys {
    pub(super) fn key(&self, name: &str) -> String {
        debug_assert!(QUEUE_KEYS.contains(&name), "{name} is not a queue key");
        format!("{}{name}", self.prefix)
    }

    /// What each key of the queue starts with: `{ns/queue}:`.
    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }
}

#[cfg(test)]
mod tests {
    use super::Keys;

    #[test]
    fn each_queue_has_its_own_hash_tag_and_the_namespace_one() {
        let k = Keys::new("app");
        assert_eq!(k.queue("mail").key("pending"), "{app/mail}:pending");
        assert_eq!(k.queue("mail").prefix(), "{app/mail}:");
        assert_eq!(k.workers(), "{app}:workers");
        assert_eq!(k.unique("k1"), "{app}:unique:k1");
        assert_eq!(k.wake(), "{app}:wake");
    }
}
