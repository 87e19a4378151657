//! A private redis-server for one test, on a free loopback port, stopped
//! when dropped (also when the test panics), and the faults a test can
//! play on it: a crash and restart on the same data, a password flip,
//! MISCONF, killed clients, and a user without channel rights. Network
//! faults between client and server belong to `proxy.rs`. The cluster,
//! sentinel and TLS helpers build on `try_start`, `on_a_free_port` and `wait_for`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

// By path, not `mod resp;`: the queue benchmark includes this file by path
// and must find its neighbour too. For the same reason nothing here uses `super`.
#[path = "resp.rs"]
pub(crate) mod resp;

use resp::RedisConn;

/// A redis-server child process with its own data dir.
pub(crate) struct RedisServer {
    /// The loopback port it listens on, kept across `restart`.
    pub port: u16,
    /// Arguments after the common ones; `start_again` passes them again.
    extra: Vec<String>,
    /// A config file in `dir`, passed first (sentinels need one to rewrite).
    conf: Option<PathBuf>,
    /// Replaced by `start_again`; killed by `stop` and on drop.
    child: Mutex<Child>,
    /// The default user's password as the server has it now, for `cmd`:
    /// set from `--requirepass` at start, then by `set_password`.
    password: Mutex<Option<String>>,
    /// The server's `--dir`: RDB, AOF, and the MISCONF trap.
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a throwaway server (no RDB, no AOF) on a free port.
    pub(crate) fn start() -> RedisServer {
        Self::start_with(&[])
    }

    /// Starts a server that keeps every write across a crash: AOF on, fsynced
    /// on each write (`appendfsync always`), so `restart` finds the data again.
    pub(crate) fn start_durable() -> RedisServer {
        Self::start_with(&["--appendonly", "yes", "--appendfsync", "always"])
    }

    /// Starts a server on `port` (which must be free).
    pub(crate) fn start_on(port: u16) -> RedisServer {
        Self::try_start(port, None, &[]).unwrap_or_else(|| panic!("could not start redis-server on port {port}"))
    }

    /// Starts a server with extra `redis-server` arguments (e.g. a password).
    pub(crate) fn start_with(extra: &[&str]) -> RedisServer {
        on_a_free_port(|port| Self::try_start(port, None, extra))
    }

    /// Starts a server whose config file says `conf` (written to its dir
    /// and passed first, as `redis-server <file> --sentinel` needs), then `extra`.
    pub(crate) fn start_with_conf(conf: &str, extra: &[&str]) -> RedisServer {
        on_a_free_port(|port| Self::try_start(port, Some(conf), extra))
    }

    /// Starts a server on `port` with an optional config file's text and
    /// extra arguments; `None` if it exits first (a port taken, here or in `extra`).
    pub(crate) fn try_start(port: u16, conf: Option<&str>, extra: &[&str]) -> Option<RedisServer> {
        let dir = tempfile::tempdir().expect("temp dir");
        let conf = conf.map(|text| {
            let path = dir.path().join("redis.conf");
            std::fs::write(&path, text).expect("write redis.conf");
            path
        });
        let extra: Vec<String> = extra.iter().map(ToString::to_string).collect();
        let password = startup_password(&extra);
        let child = spawn(port, dir.path(), conf.as_deref(), &extra, password.as_deref())?;
        Some(RedisServer { port, extra, conf, child: Mutex::new(child), password: Mutex::new(password), dir })
    }

    /// `redis://127.0.0.1:PORT/0`.
    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// `redis://user:password@127.0.0.1:PORT/0`; an empty `user` means the default user.
    pub(crate) fn url_as(&self, user: &str, password: &str) -> String {
        format!("redis://{user}:{password}@127.0.0.1:{}/0", self.port)
    }

    /// `redis-benchmark -t TEST` against this server, 100,000 requests: its
    /// summary line ("SET: 104166.67 requests per second, ..."), for the
    /// benchmarks' machine limits; empty if redis-benchmark is missing.
    pub(crate) fn benchmark(&self, test: &str) -> String {
        let out = Command::new("redis-benchmark")
            .args(["-p", &self.port.to_string(), "-q", "-n", "100000", "-t", test])
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default();
        out.split(['\r', '\n']).rfind(|l| l.contains("per second")).unwrap_or_default().trim().to_string()
    }

    /// The server's data directory.
    pub(crate) fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Stops the server now, as a crash would (SIGKILL): for outage tests.
    pub(crate) fn stop(&self) {
        let mut child = lock(&self.child);
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Whether the server process is running (not yet stopped or crashed).
    pub(crate) fn running(&self) -> bool {
        matches!(lock(&self.child).try_wait(), Ok(None))
    }

    /// After `stop`: starts the server again on the same port and data dir,
    /// with the startup arguments (settings made at run time, such as
    /// `set_password` or users, are gone), and returns once it has loaded its data.
    pub(crate) fn start_again(&self) {
        let mut child = lock(&self.child);
        assert!(matches!(child.try_wait(), Ok(Some(_))), "start_again needs a stopped server");
        let password = startup_password(&self.extra);
        *child = spawn(self.port, self.dir(), self.conf.as_deref(), &self.extra, password.as_deref())
            .unwrap_or_else(|| panic!("could not restart redis-server on port {} (taken meanwhile?)", self.port));
        *lock(&self.password) = password;
    }

    /// A crash and a restart: `stop` then `start_again`.
    pub(crate) fn restart(&self) {
        self.stop();
        self.start_again();
    }

    /// Sends one command as the default user (with the current password)
    /// and returns the reply as text (see `RedisConn::reply`); panics if the server cannot be reached.
    pub(crate) fn cmd(&self, args: &[&str]) -> String {
        self.try_cmd(args).unwrap_or_else(|e| panic!("{e}"))
    }

    /// `cmd` that returns a failure to connect or read, described, instead
    /// of panicking: for polling a server that may drop connections (as
    /// sentinels make a promoted replica do).
    pub(crate) fn try_cmd(&self, args: &[&str]) -> Result<String, String> {
        let password = lock(&self.password).clone();
        let conn = match &password {
            Some(password) => RedisConn::connect_as(self.port, None, password),
            None => RedisConn::connect(self.port),
        };
        conn.and_then(|mut conn| conn.call(args)).map_err(|e| format!("redis {args:?} on port {}: {e}", self.port))
    }

    /// Sends one command as `user`; the reply as text (`-NOPERM ...` for a denied one).
    pub(crate) fn cmd_as(&self, user: &str, password: &str, args: &[&str]) -> String {
        RedisConn::connect_as(self.port, Some(user), password)
            .and_then(|mut conn| conn.call(args))
            .unwrap_or_else(|e| panic!("redis {args:?} as {user:?}: {e}"))
    }

    /// Sets (or with `None` removes) the default user's password with
    /// `CONFIG SET requirepass`. Connections already open stay
    /// authenticated; `kill_clients` makes them reconnect and meet it.
    pub(crate) fn set_password(&self, password: Option<&str>) {
        assert_eq!(self.cmd(&["CONFIG", "SET", "requirepass", password.unwrap_or("")]), "OK");
        *lock(&self.password) = password.map(ToString::to_string);
    }

    /// Closes every client connection but the helper's own (`CLIENT KILL
    /// TYPE normal`, then `TYPE pubsub` for subscribers); returns how many,
    /// which may count helper connections closed but not yet reaped.
    pub(crate) fn kill_clients(&self) -> usize {
        ["normal", "pubsub"]
            .iter()
            .map(|kind| {
                self.cmd(&["CLIENT", "KILL", "TYPE", kind]).parse::<usize>().expect("a count of killed clients")
            })
            .sum()
    }

    /// Makes the server refuse writes with `-MISCONF` (reads still work), as
    /// when its disk fails. Redis does so after a failed BGSAVE when it has
    /// a save point and `stop-writes-on-bgsave-error yes` (the default). The
    /// save fails because a directory named `dump.rdb` blocks the final
    /// rename, which holds even for root (a read-only dir does not, and
    /// `CONFIG SET dir` is a protected config in Redis 7).
    pub(crate) fn misconf(&self) {
        std::fs::create_dir(self.dir().join("dump.rdb")).expect("a directory where the RDB file goes");
        self.save_and_wait("err");
    }

    /// Ends `misconf`: the next BGSAVE succeeds, so writes are accepted again.
    pub(crate) fn clear_misconf(&self) {
        std::fs::remove_dir(self.dir().join("dump.rdb")).expect("the directory misconf made");
        self.save_and_wait("ok");
        assert_eq!(self.cmd(&["CONFIG", "SET", "save", ""]), "OK");
    }

    fn save_and_wait(&self, status: &str) {
        assert_eq!(self.cmd(&["CONFIG", "SET", "save", "86400 1", "stop-writes-on-bgsave-error", "yes"]), "OK");
        // SCHEDULE: wait for an AOF rewrite in progress instead of failing.
        let reply = self.cmd(&["BGSAVE", "SCHEDULE"]);
        assert!(reply.starts_with("Background saving"), "BGSAVE: {reply}");
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let info = self.cmd(&["INFO", "persistence"]);
            if info.contains("rdb_bgsave_in_progress:0") && info.contains(&format!("rdb_last_bgsave_status:{status}")) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for BGSAVE to end with status {status}:\n{info}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Adds `user` with `password`, all keys and commands but no pub/sub
    /// channel (`ACL SETUSER ... resetchannels`): PUBLISH and SUBSCRIBE get
    /// `-NOPERM`. Returns the URL to connect as that user.
    pub(crate) fn add_user_without_channels(&self, user: &str, password: &str) -> String {
        let pass = format!(">{password}");
        assert_eq!(self.cmd(&["ACL", "SETUSER", user, "reset", "on", &pass, "~*", "+@all", "resetchannels"]), "OK");
        self.url_as(user, password)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Runs redis-server on `port` with `dir` (and `conf` first, if any) and
/// waits until it serves; `None` if it exits first (port taken).
fn spawn(port: u16, dir: &Path, conf: Option<&Path>, extra: &[String], password: Option<&str>) -> Option<Child> {
    let mut child = Command::new("redis-server")
        .args(conf)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
        .args(["--dir", dir.to_str().expect("utf-8 temp dir")])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server must be installed for the Redis tests (apt-get install redis-server)");
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return None;
        }
        if serves(port, child.id(), password) {
            return Some(child);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// The value of `--requirepass` among redis-server arguments.
fn startup_password(extra: &[String]) -> Option<String> {
    extra.iter().skip_while(|arg| *arg != "--requirepass").nth(1).cloned()
}

/// The first `Some` that `attempt` gives on a free port, of 20 tries: each
/// port was free when picked, but another process may take it meanwhile.
pub(crate) fn on_a_free_port<T>(mut attempt: impl FnMut(u16) -> Option<T>) -> T {
    (0..20).find_map(|_| attempt(free_port())).unwrap_or_else(|| panic!("could not start redis-server on a free port"))
}

/// Polls `check` until it gives `Ok`; after `timeout`, panics naming `what`
/// and the last reason `check` gave, so a failure shows the state it stuck in.
pub(crate) fn wait_for(timeout: Duration, what: &str, mut check: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + timeout;
    loop {
        match check() {
            Ok(()) => return,
            Err(why) => assert!(Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}: {why}"),
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// How many times the server has run `command` (`INFO commandstats`'s
/// `calls`; Redis 7 counts a subcommand apart, as `script|load`), if at all.
pub(crate) fn command_calls(info: &str, command: &str) -> Option<u64> {
    let line = info.lines().find_map(|l| l.strip_prefix("cmdstat_")?.strip_prefix(command)?.strip_prefix(':'))?;
    line.split(',').find_map(|kv| kv.strip_prefix("calls=")?.parse().ok())
}

/// A loopback port free right now (another process may take it before use).
pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Whether the server answers PING with its data loaded (not `-LOADING`)
/// and is process `pid`: not another one holding the port this one found
/// taken, which it is about to exit for. `-NOAUTH` counts: a server started
/// with a password we were not told (its pid unchecked).
fn serves(port: u16, pid: u32, password: Option<&str>) -> bool {
    let conn = match password {
        Some(password) => RedisConn::connect_as(port, None, password),
        None => RedisConn::connect(port),
    };
    conn.and_then(|mut conn| {
        let pong = conn.call(&["PING"])?;
        if pong != "PONG" {
            return Ok(pong.starts_with("-NOAUTH"));
        }
        let info = conn.call(&["INFO", "server"])?;
        Ok(info.lines().any(|line| line == format!("process_id:{pid}")))
    })
    .unwrap_or(false)
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The least-privilege Redis user docs/security.md gives, named `user`,
/// for namespace `ns`: the `ACL SETUSER` command's words.
pub(crate) fn documented_acl(user: &str, ns: &str, password: &str) -> Vec<String> {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/security.md"))
        .expect("docs/security.md");
    let line = doc.lines().find(|l| l.starts_with("ACL SETUSER taskq ")).expect("the ACL line in docs/security.md");
    let line = line.replacen("ACL SETUSER taskq ", &format!("ACL SETUSER {user} "), 1);
    line.replace("{taskq}", &format!("{{{ns}}}"))
        .replace("{taskq/", &format!("{{{ns}/"))
        .replace("CHANGE-ME", password)
        .split_whitespace()
        .map(String::from)
        .collect()
}
