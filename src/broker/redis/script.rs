//! A Lua script and a call of it, as the client library's `Script` and
//! `ScriptInvocation` are, but with the SHA-1 that `EVALSHA` names computed
//! at build time (build.rs) instead of on each process's first call.

use redis::{Cmd, ToRedisArgs};

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

    /// A call of this script, its keys and arguments to be added.
    pub(super) fn prepare_invoke(&'static self) -> Call {
        Call { script: self, keys: Vec::new(), args: Vec::new() }
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

/// A call of a script: its keys (KEYS) and arguments (ARGV), in order.
pub(super) struct Call {
    script: &'static Script,
    keys: Vec<Vec<u8>>,
    args: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The arguments may carry a job's secrets: only how many there are.
        f.debug_struct("Call")
            .field("hash", &self.script.hash)
            .field("keys", &self.keys.len())
            .field("args", &self.args.len())
            .finish()
    }
}

impl Call {
    pub(super) fn key<T: ToRedisArgs>(&mut self, key: T) -> &mut Call {
        key.write_redis_args(&mut self.keys);
        self
    }

    pub(super) fn arg<T: ToRedisArgs>(&mut self, arg: T) -> &mut Call {
        arg.write_redis_args(&mut self.args);
        self
    }

    /// The SHA-1 this build gave the script.
    pub(super) fn hash(&self) -> &'static str {
        self.script.hash
    }

    /// `EVALSHA` of the script on the keys and arguments.
    pub(super) fn eval(&self) -> Cmd {
        let data = self.keys.iter().chain(&self.args).map(Vec::len).sum::<usize>() + self.script.hash.len() + 16;
        let mut cmd = Cmd::with_capacity(3 + self.keys.len() + self.args.len(), data);
        cmd.arg("EVALSHA").arg(self.script.hash).arg(self.keys.len()).arg(&self.keys[..]).arg(&self.args[..]);
        cmd
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
