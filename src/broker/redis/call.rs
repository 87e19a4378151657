//! Calling the scripts: the arguments every script takes first, the bounds
//! on what one call may do, and the loop that drains a backlog one bounded
//! call at a time. A script runs alone on the server (no other command runs
//! meanwhile), so none may walk a backlog of unknown size in one go.

use std::sync::LazyLock;

use redis::FromRedisValue;

use super::RedisBroker;
use super::fields::ms;
use super::script::{Call, Script};
use crate::broker::BrokerError;
use crate::broker::keys::QUEUE_KEYS;
use crate::job::{DEFAULT_MAX_REDELIVERIES, DEFAULT_RESULT_TTL};

// The bounds on one call, each keeping it near a millisecond of the
// server's time; the times given are of a full call, measured on the
// development machine (redis-server 7.0).

/// Queue entries one take looks at before it answers 'more' (dequeue.lua,
/// finish.lua). A take normally needs one; only expired, revoked or waiting
/// jobs at the head of a queue make it step on. 200 such steps take 0.5 ms,
/// and a second call is rarely needed.
pub(super) const TAKE_STEPS: u32 = 200;

/// Entries of a job's waiting line (in `{ns/q}:blocked`) one freed
/// concurrency slot pops at most (`unblock` in lib.lua). The first pop
/// usually finds a queued job; the bound matters only behind a pile of
/// stale entries (1000 take 1.2 ms), and the next freed slot carries on.
pub(super) const UNBLOCK_STEPS: u32 = 1000;

/// Jobs forward.lua and recover.lua move per call: several writes and a
/// wake-up each; 100 take 0.35 ms (asynq's forwardCmd uses the same
/// bound). `forward_due` calls again while due jobs remain; recovery takes
/// the rest in the next maintenance round, a second later.
pub(super) const MOVE_BATCH: u32 = 100;

/// Jobs purge.lua and purge_results.lua delete, and retry_failed.lua
/// requeues ("all"), per call: a few writes each, so a larger batch saves
/// round trips (a million results are a thousand calls); 1000 take 1 to
/// 1.5 ms. A full batch: call again.
pub(super) const BULK_BATCH: u64 = 1000;

/// Failed jobs one newly failed job may push out of the bounded failed set
/// (`add_failed` in lib.lua; each is a hash deleted). Normally it is one;
/// after the bounds were lowered the excess goes 100 per failure, so no
/// worker's `finish` stalls on deleting thousands at once.
pub(super) const FAILED_DROP_BATCH: u32 = 100;

/// ARGV[3] of every script: the bounds above and the defaults for a job record
/// that lacks its own (`ttl`, `maxred`), as JSON `lib.lua` decodes. Made once.
static BOUNDS: LazyLock<String> = LazyLock::new(|| {
    serde_json::json!({
        "take_steps": TAKE_STEPS,
        "unblock_steps": UNBLOCK_STEPS,
        "move_batch": MOVE_BATCH,
        "bulk_batch": BULK_BATCH,
        "failed_drop_batch": FAILED_DROP_BATCH,
        "result_ttl": ms(DEFAULT_RESULT_TTL),
        "max_redeliveries": DEFAULT_MAX_REDELIVERIES,
    })
    .to_string()
});

impl RedisBroker {
    /// A call of a queue's `script` (common.lua and lib.lua prepended) with
    /// what each takes first: every key of the queue (KEYS, in the order
    /// lib.lua names them), the wake-up channel, the clock shift, the
    /// bounds and the queue's name. The caller adds the rest.
    pub(super) fn script(&self, script: &'static Script, queue: &str) -> Call {
        let mut call = script.prepare_invoke(QUEUE_KEYS.len());
        let keys = self.keys.queue(queue);
        for name in QUEUE_KEYS {
            call.key(format_args!("{}{name}", keys.prefix()));
        }
        call.arg(self.keys.wake()).arg(self.shift()).arg(BOUNDS.as_str()).arg(queue);
        call
    }

    /// A call of a namespace's `script` (common.lua prepended) on `keys`,
    /// with the clock shift first; the caller adds the rest.
    pub(super) fn ns_script(&self, script: &'static Script, keys: &[String]) -> Call {
        let mut call = script.prepare_invoke(keys.len());
        for key in keys {
            call.key(format_args!("{key}"));
        }
        call.arg(self.shift());
        call
    }

    /// Makes `call` again while `more` says the reply shows the script
    /// stopped at its bound; `more` also keeps what each reply brings.
    pub(super) async fn drain<T: FromRedisValue>(
        &self,
        call: &Call,
        mut more: impl FnMut(T) -> Result<bool, BrokerError>,
    ) -> Result<(), BrokerError> {
        while more(self.link.invoke(call).await?)? {}
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The names the scripts read as `bound.<name>` (comments included).
    fn read_by_scripts() -> BTreeSet<String> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src/broker/redis/scripts");
        let mut names = BTreeSet::new();
        for entry in std::fs::read_dir(dir).expect("the scripts' folder") {
            let text = std::fs::read_to_string(entry.expect("an entry").path()).expect("a script");
            for (i, _) in text.match_indices("bound.") {
                let rest = &text[i + "bound.".len()..];
                let end = rest.find(|c: char| !(c.is_ascii_lowercase() || c == '_')).unwrap_or(rest.len());
                if end > 0 {
                    names.insert(rest[..end].to_string());
                }
            }
        }
        names
    }

    #[test]
    fn every_bound_a_script_reads_is_passed_and_every_one_passed_is_read() {
        let passed: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&super::BOUNDS).unwrap();
        let passed: BTreeSet<String> = passed.keys().cloned().collect();
        assert_eq!(read_by_scripts(), passed);
    }
}
