//! `Env`: one test's world. A temp dir holding jobs.toml, a broker (`SQLite` in
//! the dir, or a Redis URL), a namespace of its own, and helpers to run the
//! real binary there, in the foreground or in the background.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use assert_cmd::assert::Assert;

use super::redis::RedisServer;
use super::redis::resp::RedisConn;

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub(crate) struct Env {
    pub dir: tempfile::TempDir,
    pub broker: String,
    pub ns: String,
    /// Added to the broker's clock by every library connection of this env
    /// (`connect`): lets conformance cases move broker time on.
    pub clock: taskq::broker::ClockShift,
    /// The env's own Redis server (`Env::redis`), alive as long as the env.
    redis: Option<Arc<RedisServer>>,
}

/// Which backend an env uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Redis,
}

impl Env {
    /// An env on the embedded `SQLite` broker, in its own temp dir.
    pub(crate) fn sqlite() -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        let broker = format!("sqlite://{}/taskq.db", dir.path().display());
        Env { dir, broker, ns: namespace(), clock: taskq::broker::ClockShift::default(), redis: None }
    }

    /// An env on a private Redis server of its own.
    pub(crate) fn redis() -> Env {
        let server = Arc::new(RedisServer::start());
        let dir = tempfile::tempdir().expect("temp dir");
        Env {
            dir,
            broker: server.url(),
            ns: namespace(),
            clock: taskq::broker::ClockShift::default(),
            redis: Some(server),
        }
    }

    /// A raw connection to the env's own Redis server, for set-up and
    /// inspection behind taskq's back.
    pub(crate) fn redis_conn(&self) -> RedisConn {
        let server = self.redis.as_ref().expect("an env on a Redis of its own (Env::redis)");
        RedisConn::connect(server.port).expect("connect to the env's Redis")
    }

    /// An env on a broker URL of the test's choosing (one not running yet, say).
    pub(crate) fn with_broker(url: &str) -> Env {
        let dir = tempfile::tempdir().expect("temp dir");
        Env { dir, broker: url.to_string(), ns: namespace(), clock: taskq::broker::ClockShift::default(), redis: None }
    }

    pub(crate) fn new(backend: Backend) -> Env {
        match backend {
            Backend::Sqlite => Env::sqlite(),
            Backend::Redis => Env::redis(),
        }
    }

    /// Writes jobs.toml; `@DIR@` in it becomes the env's directory.
    pub(crate) fn jobs(self, toml: &str) -> Env {
        self.write("jobs.toml", toml);
        self
    }

    pub(crate) fn write(&self, name: &str, contents: &str) {
        let text = contents.replace("@DIR@", &self.dir.path().display().to_string());
        std::fs::write(self.path(name), text).expect("write file");
    }

    pub(crate) fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The contents of a file in the env's dir ("" when missing).
    pub(crate) fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap_or_default()
    }

    /// Lines of a file in the env's dir.
    pub(crate) fn lines(&self, name: &str) -> Vec<String> {
        self.read(name).lines().map(str::to_string).collect()
    }

    /// The binary, set up to run in this env.
    pub(crate) fn command(&self) -> Command {
        let mut cmd =
            Command::new(std::env::var_os("TASKQ_BENCH_BIN").unwrap_or_else(|| env!("CARGO_BIN_EXE_taskq").into()));
        cmd.current_dir(self.dir.path());
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("TASKQ_") || key.to_string_lossy().starts_with("XDG_") {
                cmd.env_remove(key);
            }
        }
        cmd.env("HOME", self.dir.path())
            .env("TASKQ_BROKER", &self.broker)
            .env("TASKQ_NAMESPACE", &self.ns)
            .env("NO_COLOR", "1");
        cmd
    }

    /// Another program, in the env's dir with the env's broker settings.
    pub(crate) fn command_for(&self, program: &str, args: &[&str]) -> Command {
        let mut cmd = Command::new(program);
        cmd.args(args).current_dir(self.dir.path()).env("TASKQ_BROKER", &self.broker).env("TASKQ_NAMESPACE", &self.ns);
        cmd
    }

    /// Runs `taskq ARGS...` to completion.
    pub(crate) fn run(&self, args: &[&str]) -> Assert {
        let mut cmd = self.command();
        cmd.args(args);
        assert_cmd::Command::from_std(cmd).timeout(Duration::from_secs(60)).assert()
    }

    /// Runs `taskq ARGS...` with `input` on stdin.
    pub(crate) fn run_with_input(&self, args: &[&str], input: &str) -> Assert {
        let mut cmd = self.command();
        cmd.args(args);
        assert_cmd::Command::from_std(cmd).timeout(Duration::from_secs(60)).write_stdin(input.to_string()).assert()
    }

    /// `taskq enqueue ARGS...`, returning the printed id.
    pub(crate) fn enqueue(&self, args: &[&str]) -> String {
        let mut full = vec!["enqueue"];
        full.extend_from_slice(args);
        let out = self.run(&full).success().get_output().stdout.clone();
        String::from_utf8(out).expect("utf-8 id").trim().to_string()
    }

    /// `taskq status --json ID` as JSON.
    pub(crate) fn status(&self, id: &str) -> serde_json::Value {
        let out = self.run(&["status", "--json", id]).success().get_output().stdout.clone();
        serde_json::from_slice(&out).unwrap_or_else(|e| panic!("status --json: {e}: {}", String::from_utf8_lossy(&out)))
    }

    /// A job's state, by `taskq status`.
    pub(crate) fn state(&self, id: &str) -> String {
        self.status(id)["state"].as_str().unwrap_or_default().to_string()
    }

    /// Starts `taskq ARGS...` in the background; stderr goes to a log file.
    pub(crate) fn spawn(&self, args: &[&str]) -> Proc {
        self.spawn_with(args, &[])
    }

    /// [`Env::spawn`] with more environment variables.
    pub(crate) fn spawn_with(&self, args: &[&str], vars: &[(&str, &str)]) -> Proc {
        let mut cmd = self.command();
        cmd.envs(vars.iter().copied());
        cmd.args(args);
        self.spawn_command(cmd)
    }

    /// `taskq ARGS...` on a host whose clock is `offset` off (`+120s`,
    /// `-120s`), through libfaketime (Debian's faketime package) preloaded
    /// into taskq itself: the `faketime` wrapper forks, and killing it would
    /// leave taskq running.
    pub(crate) fn skewed(&self, offset: &str, args: &[&str]) -> Command {
        let mut cmd = self.command();
        cmd.args(args).env("LD_PRELOAD", libfaketime()).env("FAKETIME", offset).env("FAKETIME_DONT_RESET", "1");
        cmd
    }

    /// Starts a prepared command in the background; stderr goes to a log file.
    pub(crate) fn spawn_command(&self, mut cmd: Command) -> Proc {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let log = self.path(&format!("proc-{n}.log"));
        let out = self.path(&format!("proc-{n}.out"));
        cmd.stdin(Stdio::null())
            .stdout(std::fs::File::create(&out).expect("stdout file"))
            .stderr(std::fs::File::create(&log).expect("log file"));
        let child = cmd.spawn().expect("spawn taskq");
        Proc { child, log, out }
    }

    /// A library connection to the env's broker, on the env's clock.
    pub(crate) async fn connect(&self) -> Arc<dyn taskq::broker::Broker> {
        self.connect_with(taskq::broker::Retention::default()).await
    }

    /// A library connection keeping the failed set within `retention`.
    pub(crate) async fn connect_with(&self, retention: taskq::broker::Retention) -> Arc<dyn taskq::broker::Broker> {
        let url = taskq::broker::BrokerUrl::parse(&self.broker).expect("broker url");
        let options = taskq::broker::Options { retention, shift: self.clock.clone() };
        let ns = taskq::names::Namespace::new(&self.ns).expect("namespace");
        taskq::broker::connect_with(&url, &ns, options).await.expect("connect to broker")
    }

    /// Moves the broker's clock (for this env's library connections) on.
    pub(crate) fn advance(&self, secs: u64) {
        self.clock.advance(Duration::from_secs(secs));
    }

    pub(crate) fn root(&self) -> &Path {
        self.dir.path()
    }
}

/// A unique namespace per env, so envs can share a Redis server.
fn namespace() -> String {
    format!("t{}-{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst))
}

/// A background taskq process, `SIGKILLed` when dropped.
pub(crate) struct Proc {
    pub child: Child,
    log: PathBuf,
    out: PathBuf,
}

impl Proc {
    pub(crate) fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub(crate) fn signal(&self, signal: rustix::process::Signal) {
        if let Some(pid) = rustix::process::Pid::from_raw(self.pid()) {
            let _ = rustix::process::kill_process(pid, signal);
        }
    }

    /// Waits for the process to exit, up to `timeout`.
    pub(crate) fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// What the process wrote on stderr so far.
    pub(crate) fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// What the process wrote on stdout so far.
    pub(crate) fn stdout(&self) -> String {
        std::fs::read_to_string(&self.out).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// libfaketime's thread-safe library, wherever the distribution put it.
fn libfaketime() -> PathBuf {
    let found = std::fs::read_dir("/usr/lib")
        .into_iter()
        .flatten()
        .flatten()
        .map(|arch| arch.path().join("faketime/libfaketimeMT.so.1"))
        .chain(std::iter::once(PathBuf::from("/usr/lib/faketime/libfaketimeMT.so.1")))
        .find(|p| p.is_file());
    found.expect("the clock-skew tests need libfaketime: apt-get install faketime")
}
