//! A job's output: the last `OUTPUT_TAIL_BYTES` kept in constant memory for
//! the result, and a sink that shows it live (on the terminal for `exec`, as
//! id-prefixed lines for `run --job-output`).

use std::collections::VecDeque;
use std::io::Write;
use std::sync::Mutex;

/// How much of a job's output the result keeps.
pub const OUTPUT_TAIL_BYTES: usize = 64 * 1024;

/// How much of a workflow step's job's stdout its run keeps for the next
/// step: room for a `map` over thousands of ids.
pub const STEP_OUTPUT_BYTES: usize = 1024 * 1024;

/// The last `capacity` bytes written, however many were.
#[derive(Debug)]
pub struct Tail {
    buf: VecDeque<u8>,
    capacity: usize,
    /// Every byte ever pushed, counted.
    total: u64,
}

impl Tail {
    pub fn new(capacity: usize) -> Tail {
        // Grown as output comes: most jobs write little or nothing, and an
        // allocation of kilobytes per job costs glibc's malloc a sweep of
        // its small free chunks each time.
        Tail { buf: VecDeque::new(), capacity, total: 0 }
    }

    /// How many bytes were pushed in all (the tail keeps the last of them).
    pub fn total(&self) -> u64 {
        self.total
    }

    /// A copy of the bytes kept.
    pub fn to_vec(&self) -> Vec<u8> {
        self.buf.iter().copied().collect()
    }

    pub fn push(&mut self, data: &[u8]) {
        self.total += data.len() as u64;
        let data = &data[data.len().saturating_sub(self.capacity)..];
        let overflow = (self.buf.len() + data.len()).saturating_sub(self.capacity);
        self.buf.drain(..overflow);
        self.buf.extend(data);
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf.into()
    }
}

/// Which stream of the job a chunk came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

/// Where a job's output goes as it is produced, besides the tail.
pub trait OutputSink: Send + Sync {
    fn write(&self, stream: Stream, data: &[u8]);
    /// Called once when the job has finished writing.
    fn finish(&self) {}
}

/// Drops live output (the tail still keeps it).
pub struct Discard;

impl OutputSink for Discard {
    fn write(&self, _: Stream, _: &[u8]) {}
}

/// Passes output to this process's own stdout and stderr (`taskq exec`).
pub struct Passthrough;

impl OutputSink for Passthrough {
    fn write(&self, stream: Stream, data: &[u8]) {
        // A closed terminal or pipe must not fail the job: ignore write errors.
        let _ = match stream {
            Stream::Stdout => std::io::stdout().lock().write_all(data).and_then(|()| std::io::stdout().flush()),
            Stream::Stderr => std::io::stderr().lock().write_all(data),
        };
    }
}

/// A running job's output as the worker publishes it for `taskq logs -F`:
/// its own tail, marked when it changed, and optionally echoed on.
pub struct LiveOutput {
    /// std Mutex: held only to push or copy bytes.
    tail: Mutex<(Tail, bool)>,
    echo: Option<Box<dyn OutputSink>>,
}

impl LiveOutput {
    pub fn new(echo: Option<Box<dyn OutputSink>>) -> LiveOutput {
        LiveOutput { tail: Mutex::new((Tail::new(OUTPUT_TAIL_BYTES), false)), echo }
    }

    /// The tail and the total written, if anything was written since the last call.
    pub fn changed(&self) -> Option<(Vec<u8>, u64)> {
        let mut guard = self.tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (tail, dirty) = &mut *guard;
        std::mem::take(dirty).then(|| (tail.to_vec(), tail.total()))
    }
}

impl OutputSink for LiveOutput {
    fn write(&self, stream: Stream, data: &[u8]) {
        {
            let mut guard = self.tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            guard.0.push(data);
            guard.1 = true;
        }
        if let Some(echo) = &self.echo {
            echo.write(stream, data);
        }
    }

    fn finish(&self) {
        if let Some(echo) = &self.echo {
            echo.finish();
        }
    }
}

/// Writes complete lines to stderr, each prefixed (`run --job-output`).
pub struct Prefixed {
    prefix: String,
    /// Partial last lines per stream; std Mutex: held only to append and split.
    partial: Mutex<[Vec<u8>; 2]>,
}

impl Prefixed {
    pub fn new(prefix: String) -> Prefixed {
        Prefixed { prefix, partial: Mutex::new([Vec::new(), Vec::new()]) }
    }

    fn emit(&self, line: &[u8]) {
        // Shown, not obeyed: the job's output must not drive the terminal.
        let line = String::from_utf8_lossy(line);
        let mut err = std::io::stderr().lock();
        let _ = err
            .write_all(self.prefix.as_bytes())
            .and_then(|()| err.write_all(crate::text::one_line(&line).as_bytes()))
            .and_then(|()| err.write_all(b"\n"));
    }
}

impl OutputSink for Prefixed {
    fn write(&self, stream: Stream, data: &[u8]) {
        let mut partial = self.partial.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let buf = &mut partial[stream as usize];
        buf.extend_from_slice(data);
        while let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = buf.drain(..=nl).collect();
            self.emit(&line[..line.len() - 1]);
        }
        // A job printing without newlines must not grow this buffer forever.
        if buf.len() > OUTPUT_TAIL_BYTES {
            let line: Vec<u8> = std::mem::take(buf);
            self.emit(&line);
        }
    }

    fn finish(&self) {
        let mut partial = self.partial.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        for buf in partial.iter_mut() {
            if !buf.is_empty() {
                let line = std::mem::take(buf);
                self.emit(&line);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Tail;

    #[test]
    fn tail_keeps_only_the_last_bytes() {
        let mut t = Tail::new(4);
        t.push(b"ab");
        t.push(b"cde");
        assert_eq!(t.into_bytes(), b"bcde");
        let mut t = Tail::new(4);
        t.push(b"0123456789");
        assert_eq!(t.total(), 10);
        assert_eq!(t.into_bytes(), b"6789");
    }
}
