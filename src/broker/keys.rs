//! Redis key names: the one place they are spelled out. Every key of a
//! namespace shares the hash tag `{ns}`, so any script may touch any of them
//! and the layout works unchanged on Redis Cluster (one slot per namespace:
//! cross-queue atomicity, for uniqueness and concurrency limits, over
//! spreading one namespace across shards; scale out with namespaces).
//!
//! The Lua scripts build the same names from the prefix, as listed here:
//!
//! | key                     | type   | holds                                         |
//! |-------------------------|--------|-----------------------------------------------|
//! | `{ns}:jobs`             | HASH   | per job id: its fields (request, state, attempts, lost, result), packed |
//! | `{ns}:pending:<queue>`  | LIST   | queued ids; LPUSH to enqueue, RPOP to take    |
//! | `{ns}:delayed`          | ZSET   | scheduled and retrying ids by due time (ms)   |
//! | `{ns}:leases`           | ZSET   | running ids by lease expiry (ms)              |
//! | `{ns}:failed`           | ZSET   | failed ids by failure time (ms)               |
//! | `{ns}:index`            | ZSET   | every live id by enqueue time (ms), for list  |
//! | `{ns}:done`             | ZSET   | finished ids by result expiry (ms)            |
//! | `{ns}:unique:<key>`     | STRING | the id holding an idempotency key (PX window) |
//! | `{ns}:queues`           | SET    | queue names seen                              |
//! | `{ns}:conc:<job>`       | ZSET   | running ids of a limited job, by lease expiry |
//! | `{ns}:blocked:<job>`    | LIST   | queued ids waiting for a concurrency slot     |
//! | `{ns}:limited`          | SET    | job names that have had jobs waiting for slots|
//! | `{ns}:grants`           | HASH   | per grant of a run under way, the id it took  |
//! | `{ns}:entries`          | HASH   | beat: per entry, last tick, spec, counts, packed |
//! | `{ns}:workers`          | ZSET   | live worker ids by last heartbeat (ms)        |
//! | `{ns}:worker:<id>`      | STRING | a worker's last heartbeat (JSON, PX ttl)      |
//! | `{ns}:layout`           | STRING | the key layout's version (layout.rs)          |
//! | `{ns}:wake`             | pubsub | a queue name, published when it gains a job   |

/// The key prefix of namespace `ns`: `{ns}:`.
pub(super) fn prefix(ns: &str) -> String {
    format!("{{{ns}}}:")
}

/// The keys of one namespace.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    prefix: String,
}

impl Keys {
    pub(super) fn new(ns: &str) -> Keys {
        Keys { prefix: prefix(ns) }
    }

    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(super) fn layout(&self) -> String {
        format!("{}layout", self.prefix)
    }

    pub(super) fn grants(&self) -> String {
        format!("{}grants", self.prefix)
    }

    pub(super) fn jobs(&self) -> String {
        format!("{}jobs", self.prefix)
    }

    pub(super) fn pending(&self, queue: &str) -> String {
        format!("{}pending:{queue}", self.prefix)
    }

    pub(super) fn delayed(&self) -> String {
        format!("{}delayed", self.prefix)
    }

    pub(super) fn leases(&self) -> String {
        format!("{}leases", self.prefix)
    }

    pub(super) fn failed(&self) -> String {
        format!("{}failed", self.prefix)
    }

    pub(super) fn index(&self) -> String {
        format!("{}index", self.prefix)
    }

    pub(super) fn done(&self) -> String {
        format!("{}done", self.prefix)
    }

    pub(super) fn blocked(&self, job: &str) -> String {
        format!("{}blocked:{job}", self.prefix)
    }

    pub(super) fn queues(&self) -> String {
        format!("{}queues", self.prefix)
    }

    pub(super) fn limited(&self) -> String {
        format!("{}limited", self.prefix)
    }

    pub(super) fn entries(&self) -> String {
        format!("{}entries", self.prefix)
    }

    /// The set of the layout before version 2 (`layout.rs` converts it).
    pub(super) fn old_schedules(&self) -> String {
        format!("{}schedules", self.prefix)
    }

    pub(super) fn workers(&self) -> String {
        format!("{}workers", self.prefix)
    }

    pub(super) fn worker(&self, id: &str) -> String {
        format!("{}worker:{id}", self.prefix)
    }

    pub(super) fn wake(&self) -> String {
        format!("{}wake", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::Keys;

    #[test]
    fn keys_share_the_namespace_hash_tag() {
        let k = Keys::new("app");
        assert_eq!(k.pending("mail"), "{app}:pending:mail");
        assert_eq!(k.jobs(), "{app}:jobs");
        assert_eq!(k.leases(), "{app}:leases");
        assert_eq!(k.wake(), "{app}:wake");
    }
}
