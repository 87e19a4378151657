//! `RedisConn`: a raw, synchronous RESP2 connection for test set-up and fault
//! injection. It bypasses the redis crate so a test sees exactly what the
//! server (or the proxy in front of it) says, and when it says nothing.

use std::io::{self, BufRead, BufReader, ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

/// How long a reply may take before `reply` gives up, unless `set_timeout` says otherwise.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// One connection to a Redis port.
pub(crate) struct RedisConn {
    reader: BufReader<TcpStream>,
}

impl RedisConn {
    /// Connects to `127.0.0.1:port` (a server or a `Proxy`).
    pub(crate) fn connect(port: u16) -> io::Result<RedisConn> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(REPLY_TIMEOUT))?;
        Ok(RedisConn { reader: BufReader::new(stream) })
    }

    /// Connects and authenticates (`AUTH user password`, or `AUTH password` without a user).
    pub(crate) fn connect_as(port: u16, user: Option<&str>, password: &str) -> io::Result<RedisConn> {
        let mut conn = RedisConn::connect(port)?;
        let reply = match user {
            Some(user) => conn.call(&["AUTH", user, password])?,
            None => conn.call(&["AUTH", password])?,
        };
        if reply == "OK" { Ok(conn) } else { Err(io::Error::new(ErrorKind::PermissionDenied, reply)) }
    }

    /// How long `reply` waits; a reply that takes longer is a `WouldBlock` or `TimedOut` error.
    pub(crate) fn set_timeout(&self, timeout: Duration) {
        self.reader.get_ref().set_read_timeout(Some(timeout)).expect("a non-zero timeout");
    }

    /// Sends one command without waiting for its reply.
    pub(crate) fn send(&mut self, args: &[&str]) -> io::Result<()> {
        let mut frame = format!("*{}\r\n", args.len()).into_bytes();
        for arg in args {
            frame.extend_from_slice(format!("${}\r\n", arg.len()).as_bytes());
            frame.extend_from_slice(arg.as_bytes());
            frame.extend_from_slice(b"\r\n");
        }
        self.reader.get_mut().write_all(&frame)
    }

    /// Reads the next reply as text: `+OK` is `OK`; an error keeps its dash
    /// (`-MISCONF ...`) so it never passes for data; `:3` is `3`; a bulk
    /// string is its text; nil is `(nil)`; an array is its elements, one per line.
    /// A closed connection is an `UnexpectedEof` error.
    pub(crate) fn reply(&mut self) -> io::Result<String> {
        let line = self.line()?;
        let (kind, rest) = line.split_at(1);
        match kind {
            "+" | ":" => Ok(rest.to_string()),
            "-" => Ok(line),
            "$" | "*" if rest == "-1" => Ok("(nil)".to_string()),
            "$" => {
                let mut bulk = vec![0; length(rest)? + 2];
                self.reader.read_exact(&mut bulk)?;
                bulk.truncate(bulk.len() - 2);
                Ok(String::from_utf8_lossy(&bulk).into_owned())
            }
            "*" => Ok((0..length(rest)?).map(|_| self.reply()).collect::<io::Result<Vec<_>>>()?.join("\n")),
            _ => Err(io::Error::new(ErrorKind::InvalidData, format!("not RESP2: {line:?}"))),
        }
    }

    /// Sends one command and reads its reply.
    pub(crate) fn call(&mut self, args: &[&str]) -> io::Result<String> {
        self.send(args)?;
        self.reply()
    }

    /// One CRLF-terminated line, without the CRLF.
    fn line(&mut self) -> io::Result<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line)? == 0 {
            return Err(ErrorKind::UnexpectedEof.into());
        }
        match line.strip_suffix("\r\n") {
            Some(line) if !line.is_empty() => Ok(line.to_string()),
            _ => Err(io::Error::new(ErrorKind::InvalidData, format!("not a RESP line: {line:?}"))),
        }
    }
}

fn length(text: &str) -> io::Result<usize> {
    text.parse().map_err(|_| io::Error::new(ErrorKind::InvalidData, format!("not a RESP length: {text:?}")))
}
