//! The standard output when it was closed. Rust's runtime fills a closed
//! standard descriptor with /dev/null before `main` (so no file or socket
//! opened later takes its number), and writing there succeeds: `taskq
//! enqueue job >&-` would exit 0 with the job's id lost. So a stdout that is
//! /dev/null opened for reading and writing, as only that filling does (a
//! shell's `>/dev/null` and systemd's `StandardOutput=null` open it for
//! writing), counts as closed: writing through [`stdout`] then fails as
//! writing to a full disk does (exit 74 for `enqueue`, SPEC §2).

use std::io::{self, Write};
use std::os::fd::BorrowedFd;
use std::sync::atomic::{AtomicBool, Ordering};

use rustix::fs::{FileType, OFlags};

static STDOUT_CLOSED: AtomicBool = AtomicBool::new(false);

/// Notes whether stdout was closed when the process started. Call first
/// thing in `main`.
pub fn guard() {
    // SAFETY: fd 1 stays open for the whole process (the runtime fills it).
    let out = unsafe { BorrowedFd::borrow_raw(1) };
    let closed = match (rustix::fs::fstat(out), rustix::fs::stat("/dev/null"), rustix::fs::fcntl_getfl(out)) {
        (Err(_), _, _) => true,
        (Ok(st), Ok(null), Ok(flags)) => {
            FileType::from_raw_mode(st.st_mode) == FileType::CharacterDevice
                && st.st_rdev == null.st_rdev
                && flags & OFlags::RWMODE == OFlags::RDWR
        }
        _ => false,
    };
    STDOUT_CLOSED.store(closed, Ordering::Relaxed);
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
