//! A private redis-server for one test, on a free loopback port, stopped
//! when dropped (also when the test panics).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub(crate) struct RedisServer {
    child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub(crate) fn start() -> RedisServer {
        Self::start_with(&[])
    }

    /// Starts a server on `port` (which must be free).
    pub(crate) fn start_on(port: u16) -> RedisServer {
        Self::try_start(port, &[]).unwrap_or_else(|| panic!("could not start redis-server on port {port}"))
    }

    /// Starts a server with extra `redis-server` arguments (e.g. a password).
    pub(crate) fn start_with(extra: &[&str]) -> RedisServer {
        for _ in 0..20 {
            if let Some(server) = Self::try_start(free_port(), extra) {
                return server;
            }
        }
        panic!("could not start redis-server on a free port");
    }

    fn try_start(port: u16, extra: &[&str]) -> Option<RedisServer> {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
            .args(["--dir", dir.path().to_str().expect("utf-8 temp dir")])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server must be installed for the Redis tests (apt-get install redis-server)");
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break; // port taken meanwhile: try another
            }
            if ping(port) {
                return Some(RedisServer { child, port, _dir: dir });
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        let _ = child.wait();
        None
    }

    pub(crate) fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/0", self.port)
    }

    /// Stops the server now (for outage tests).
    pub(crate) fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).expect("a free port")
}

/// Whether the server answers (any answer: +PONG, or -NOAUTH with a password).
fn ping(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else { return false };
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = [0u8; 64];
    s.write_all(b"PING\r\n").is_ok() && s.read(&mut buf).is_ok_and(|n| n > 0)
}
