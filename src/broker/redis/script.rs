//! A Lua script and a call of it, as the client library's `Script` and
//! `ScriptInvocation` are, but with the SHA-1 that `EVALSHA` names computed
//! at build time (build.rs) instead of on each process's first call, and
//! the call written straight into the one command buffer it is sent from
//! (a worker makes about one call per job: a buffer per key and argument,
//! copied into the command after, was a third of a job's allocations).

use redis::{Cmd, RedisWrite, ToRedisArgs};

include!(concat!(env!("OUT_DIR"), "/script_hashes.rs"));

/// A script's text as sent to Redis, and its SHA-1.
pub(super) struct Script {
    code: &'static str,
    hash: &'static str,
}

impl Script {
    /// `code` is the text of `file` with `prelude` ("common" or "lib")
    /// prepended; a pair build.rs did not hash fails the build.
    pub(super) const fn new(code: &'static str, prelude: &str, file: &str) -> Script {
        let mut i = 0;
        while i < HASHES.len() {
            let (p, f, hash) = HASHES[i];
            if same(p, prelude) && same(f, file) {
                return Script { code, hash };
            }
            i += 1;
        }
        panic!("a script build.rs did not hash");
    }

    /// A call of this script on `keys` keys, to be added first, then its
    /// arguments.
    pub(super) fn prepare_invoke(&'static self, keys: usize) -> Call {
        // Argument slots for a queue script's (the head, 14 keys, the 4
        // common arguments and a take's 3); bytes for its keys and bounds
        // and a short outcome (an output tail grows it).
        let mut eval = Cmd::with_capacity(HEAD + keys + 7, 1024);
        eval.arg("EVALSHA").arg(self.hash).arg(keys);
        Call { script: self, keys, eval }
    }
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// A call of a script: `EVALSHA`, its hash, the number of keys, its keys
/// (KEYS) and arguments (ARGV), in order.
pub(super) struct Call {
    script: &'static Script,
    keys: usize,
    eval: Cmd,
}

/// `EVALSHA`, the hash and the number of keys.
const HEAD: usize = 3;

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The arguments may carry a job's secrets: only how many there are.
        f.debug_struct("Call")
            .field("hash", &self.script.hash)
            .field("keys", &self.keys)
            .field("args", &self.args())
            .finish_non_exhaustive()
    }
}

impl Call {
    /// How many arguments (beyond the keys) were added so far.
    fn args(&self) -> usize {
        self.eval.args_iter().len().saturating_sub(HEAD + self.keys)
    }

    /// Whether every key declared was added.
    fn keys_added(&self) -> bool {
        self.eval.args_iter().len() >= HEAD + self.keys
    }

    /// Adds a key, written as `parts` in a row (no string is made for it).
    pub(super) fn key(&mut self, parts: std::fmt::Arguments<'_>) -> &mut Call {
        debug_assert!(!self.keys_added(), "a key added after the arguments");
        self.eval.write_arg_fmt(parts);
        self
    }

    pub(super) fn arg<T: ToRedisArgs>(&mut self, arg: T) -> &mut Call {
        debug_assert!(self.keys_added(), "an argument added before the keys");
        arg.write_redis_args(&mut self.eval);
        self
    }

    /// Adds `value` as one argument in JSON, written into the command as
    /// it is serialized.
    pub(super) fn arg_json<T: serde::Serialize>(&mut self, value: &T) -> Result<&mut Call, serde_json::Error> {
        debug_assert!(self.keys_added(), "an argument added before the keys");
        serde_json::to_writer(self.eval.writer_for_next_arg(), value)?;
        Ok(self)
    }

    /// The SHA-1 this build gave the script.
    pub(super) fn hash(&self) -> &'static str {
        self.script.hash
    }

    /// `EVALSHA` of the script on the keys and arguments.
    pub(super) fn eval(&self) -> &Cmd {
        debug_assert!(self.keys_added(), "fewer keys added than declared");
        &self.eval
    }

    /// `SCRIPT LOAD` of the script: for a server that answered `NOSCRIPT`.
    pub(super) fn load(&self) -> Cmd {
        let mut cmd = redis::cmd("SCRIPT");
        cmd.arg("LOAD").arg(self.script.code);
        cmd
    }
}

#[cfg(test)]
mod tests {
    use super::super::SCRIPTS;

    // (A wrong hash would also fail every test against a real Redis: its
    // `SCRIPT LOAD` answers another hash, which `Link::invoke` reports as
    // an internal error.)
    #[test]
    fn a_script_carries_the_sha1_of_the_text_it_sends() {
        for script in [&SCRIPTS.enqueue, &SCRIPTS.finish, &SCRIPTS.heartbeat, &SCRIPTS.runs] {
            assert_eq!(script.hash, redis::Script::new(script.code).get_hash());
        }
    }
}
