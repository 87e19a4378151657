//! The standard output when it was closed. Rust's runtime fills a closed
//! standard descriptor with /dev/null before `main` (so no file or socket
//! opened later takes its number), and writing there succeeds: `taskq
//! enqueue job >&-` would exit 0 with the job's id lost. So whether fd 1 is
//! open is looked at before the runtime starts, from the C runtime's
//! initialisers (`.init_array`, Linux's, as taskq is Linux-only); a closed
//! one makes writing through [`stdout`] fail as writing to a full disk does
//! (exit 74 for `enqueue`, SPEC §2). A stdout that is /dev/null, opened by a
//! shell's `>/dev/null`, systemd's `StandardOutput=null`, or read-write by
//! Python's `subprocess.DEVNULL` and Go's `exec.Cmd`, is open: output asked
//! to be discarded is discarded.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Runs before Rust's runtime, while a closed fd 1 still is closed.
#[used]
#[unsafe(link_section = ".init_array")]
static PROBE_STDOUT: extern "C" fn() = probe_stdout;

extern "C" fn probe_stdout() {
    // SAFETY: F_GETFD only asks whether the descriptor is open.
    let closed = unsafe { libc::fcntl(1, libc::F_GETFD) } == -1;
    STDOUT_CLOSED.store(closed, Ordering::Relaxed);
}

/// Call first thing in `main`: it keeps the probe above in the binary (an
/// initialiser nothing refers to may be left out by the linker).
pub fn guard() {
    std::hint::black_box(&PROBE_STDOUT);
}

/// Stdout, or an error saying it is closed.
pub fn stdout() -> Stdout {
    Stdout { inner: io::stdout().lock() }
}

pub struct Stdout {
    inner: io::StdoutLock<'static>,
}

fn closed() -> io::Result<()> {
    if STDOUT_CLOSED.load(Ordering::Relaxed) {
        return Err(io::Error::new(io::ErrorKind::NotConnected, "stdout is closed"));
    }
    Ok(())
}

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        closed()?;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        closed()?;
        self.inner.flush()
    }
}
