//! The reaper: a companion process that kills a dead worker's jobs.
//!
//! A job's shell dies with a SIGKILLed worker (its parent-death signal), but
//! the kernel clears that setting on fork, so whatever the shell started
//! (pipelines, `cmd; cmd`, background processes) would run on, reparented to
//! init, beside the run another worker is handed after the lease lapses. A
//! child subreaper cannot help either: it is the worker itself, and dead. So
//! each worker starts one companion, `taskq __reap`, reading a pipe only the
//! worker holds open. Each job's process registers its group there itself,
//! before it execs (`spawn.rs`); the worker unregisters the group once it is
//! empty (`shell.rs`). When the pipe reports end of file the worker is gone,
//! however it died, and the companion kills every group still registered.
//!
//! This file holds both sides: [`run`] is the companion, [`Reaper`] the
//! worker's handle on it, which replaces a companion that died and registers
//! the running jobs with the new one.

use std::collections::HashSet;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};

/// Bytes in a record: small enough that the writes of concurrent jobs sharing
/// the pipe never interleave (a pipe write of at most `PIPE_BUF` is atomic).
pub(super) const RECORD_LEN: usize = 5;

/// After each read the companion pauses this long, so that a busy worker's
/// records arrive in batches instead of waking it twice per job (the pipe
/// holds thousands meanwhile). It bounds how late end of file is seen too.
const BATCH_PAUSE: Duration = Duration::from_millis(20);

/// A companion that died sooner than this after its start is replaced only
/// this long after that start, so one that cannot run is not restarted in a
/// tight loop.
const RESTART_DELAY: Duration = Duration::from_secs(1);

/// What the worker tells the companion about one job's process group (whose
/// id is the pid of the job's main process, its leader).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Record {
    Started(i32),
    Ended(i32),
}

impl Record {
    /// One byte saying which, then the group id in native byte order (both
    /// ends are the same binary on the same host).
    pub(super) fn encode(self) -> [u8; RECORD_LEN] {
        let (tag, group) = match self {
            Record::Started(g) => (b'+', g),
            Record::Ended(g) => (b'-', g),
        };
        let id = group.to_ne_bytes();
        [tag, id[0], id[1], id[2], id[3]]
    }

    /// `None` for anything the worker does not write. Group ids 0 and 1 are
    /// refused above all: `kill(-1, ..)` would signal every process the
    /// companion may signal, and `kill(0, ..)` its own group, the worker's.
    fn decode(bytes: &[u8]) -> Option<Record> {
        let &[tag, a, b, c, d] = bytes else { return None };
        let group = i32::from_ne_bytes([a, b, c, d]);
        if group <= 1 {
            return None;
        }
        match tag {
            b'+' => Some(Record::Started(group)),
            b'-' => Some(Record::Ended(group)),
            _ => None,
        }
    }
}

/// The groups a companion would kill now: those started and not ended.
#[derive(Debug, Default)]
struct Live(HashSet<i32>);

impl Live {
    /// Applies the whole records at the start of `bytes`; returns how many
    /// bytes they took (a read may end in the middle of a record).
    fn feed(&mut self, bytes: &[u8]) -> usize {
        let records = bytes.chunks_exact(RECORD_LEN);
        let used = bytes.len() - records.remainder().len();
        for record in records {
            match Record::decode(record) {
                Some(Record::Started(g)) => {
                    self.0.insert(g);
                }
                Some(Record::Ended(g)) => {
                    self.0.remove(&g);
                }
                None => {}
            }
        }
        used
    }
}

/// `taskq __reap`: the companion. Reads records from stdin until end of file,
/// then SIGKILLs every group still registered and exits.
pub fn run() -> ExitCode {
    // A Ctrl-C reaches the whole foreground process group, this process
    // included: the worker then drains its jobs, and this process must
    // outlive it to cover the drain. SIGPIPE: stderr may be gone by then.
    for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
        // SAFETY: setting a disposition to SIG_IGN runs no code of ours.
        unsafe { libc::signal(signal, libc::SIG_IGN) };
    }
    let worker = rustix::process::getppid().map_or(0, |p| p.as_raw_nonzero().get());
    // Never a job's group, but never to be killed here whatever is read.
    let own_group = rustix::process::getpgrp().as_raw_nonzero().get();
    let mut live = Live::default();
    let mut input = std::io::stdin().lock();
    let mut buf = vec![0u8; 64 * 1024];
    let mut filled = 0;
    // End of file means that every write end is closed: the worker exited,
    // whichever way. (A read error on a pipe cannot happen; it is treated so.)
    loop {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => {
                filled += n;
                let used = live.feed(&buf[..filled]);
                buf.copy_within(used..filled, 0);
                filled -= used;
                std::thread::sleep(BATCH_PAUSE);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    let killed = live
        .0
        .iter()
        .filter(|&&g| g != own_group)
        .filter_map(|&g| Pid::from_raw(g))
        .filter(|&g| rustix::process::kill_process_group(g, Signal::KILL).is_ok())
        .count();
    if killed > 0 {
        tracing::warn!(
            worker_pid = worker,
            jobs = killed,
            "the worker is gone; killed the processes of its running jobs"
        );
    }
    ExitCode::SUCCESS
}

/// A worker's handle on its companion. Cheap on the hot path: a job's child
/// registers itself with one write, and the worker unregisters it with one.
#[derive(Debug)]
pub(super) struct Reaper {
    /// The write end of the companion's stdin, non-blocking (a stopped
    /// companion must not stall the worker) and close-on-exec (no job may
    /// hold it open). A new companion's pipe is `dup3`'d onto this same
    /// descriptor number, so a child being spawned can use the number
    /// without a lock: it writes to the old companion or to the new one.
    fd: OwnedFd,
    /// Bumped, under `state`'s lock, each time a new companion takes over.
    generation: AtomicU64,
    /// std Mutex: held for a few writes or to start a companion, never
    /// across .await.
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The groups of running jobs, to register with a new companion.
    /// Written by `started` and `ended`.
    groups: HashSet<i32>,
    /// Whether a full pipe was reported (a stopped companion): once.
    warned_full: bool,
}

/// What a job's child needs to register itself, taken before the spawn.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ticket {
    pub fd: RawFd,
    generation: u64,
}

/// A job's group, registered; unregistered when dropped, which must not
/// happen before the group is empty or killed.
pub(super) struct Registration<'a> {
    reaper: &'a Reaper,
    group: i32,
}

impl Drop for Registration<'_> {
    fn drop(&mut self) {
        self.reaper.ended(self.group);
    }
}

impl Reaper {
    /// Starts the companion, and a thread that replaces it if it dies while
    /// the worker lives.
    pub(super) fn start() -> std::io::Result<Arc<Reaper>> {
        let (child, fd) = spawn_companion()?;
        let reaper = Arc::new(Reaper { fd, generation: AtomicU64::new(0), state: Mutex::new(State::default()) });
        let weak = Arc::downgrade(&reaper);
        std::thread::Builder::new().name("taskq-reaper-watch".into()).spawn(move || watch(&weak, child))?;
        Ok(reaper)
    }

    /// Taken right before a job's process is spawned.
    pub(super) fn ticket(&self) -> Ticket {
        Ticket { fd: self.fd.as_raw_fd(), generation: self.generation.load(Ordering::SeqCst) }
    }

    /// Records a job's group once its process runs. `child_wrote` says
    /// whether the child's own registration was written; if it was not, or
    /// went to a companion that has been replaced since, it is written here.
    pub(super) fn started(&self, group: Pid, ticket: Ticket, child_wrote: bool) -> Registration<'_> {
        let group = group.as_raw_nonzero().get();
        let mut state = self.lock();
        state.groups.insert(group);
        if !child_wrote || ticket.generation != self.generation.load(Ordering::SeqCst) {
            self.send(&mut state, Record::Started(group));
        }
        Registration { reaper: self, group }
    }

    fn ended(&self, group: i32) {
        let mut state = self.lock();
        state.groups.remove(&group);
        self.send(&mut state, Record::Ended(group));
    }

    /// Writes one record. A companion that died is not reported here: the
    /// watching thread replaces it and registers every group again.
    fn send(&self, state: &mut State, record: Record) {
        match rustix::io::write(&self.fd, &record.encode()) {
            Err(rustix::io::Errno::AGAIN) if !state.warned_full => {
                state.warned_full = true;
                tracing::warn!(
                    "the job reaper does not read its pipe (is it stopped?); \
                     jobs started now may outlive a SIGKILLed worker"
                );
            }
            _ => {}
        }
    }

    /// Starts a new companion in place of one that exited, and registers
    /// the running jobs' groups with it; returns it and how many there were.
    fn replace(&self) -> std::io::Result<(std::process::Child, usize)> {
        let mut state = self.lock();
        let (mut child, fd) = spawn_companion()?;
        // SAFETY: both descriptors are open and owned; `dup3` atomically
        // points `self.fd`'s number at the new pipe (closing the old one),
        // and keeps it close-on-exec.
        if unsafe { libc::dup3(fd.as_raw_fd(), self.fd.as_raw_fd(), libc::O_CLOEXEC) } < 0 {
            let error = std::io::Error::last_os_error();
            // Its pipe closed, the new companion exits at once; no zombie.
            drop(fd);
            let _ = child.wait();
            return Err(error);
        }
        drop(fd);
        self.generation.fetch_add(1, Ordering::SeqCst);
        state.warned_full = false;
        let groups: Vec<i32> = state.groups.iter().copied().collect();
        for &group in &groups {
            self.send(&mut state, Record::Started(group));
        }
        Ok((child, groups.len()))
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Runs `/proc/self/exe __reap` with its stdin on a new pipe; returns it
/// and the pipe's write end. `/proc/self/exe` is this very binary even when
/// a deploy has replaced the file on disk.
fn spawn_companion() -> std::io::Result<(std::process::Child, OwnedFd)> {
    let (read, write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let flags = rustix::fs::fcntl_getfl(&write)?;
    rustix::fs::fcntl_setfl(&write, flags | rustix::fs::OFlags::NONBLOCK)?;
    let mut command = Command::new("/proc/self/exe");
    command.arg0("taskq").arg("__reap").stdin(Stdio::from(read)).stdout(Stdio::null()).stderr(Stdio::inherit());
    for var in crate::systemd::SERVICE_VARS {
        command.env_remove(var);
    }
    let child = command.spawn()?;
    Ok((child, write))
}

/// The watching thread: waits for the companion to exit; while the worker
/// still holds its handle, that is a companion killed by someone, and
/// another takes its place. Once the handle is dropped (its pipe closed, so
/// the companion exited on end of file), the thread ends.
fn watch(reaper: &Weak<Reaper>, mut child: std::process::Child) {
    loop {
        let started = Instant::now();
        let status = child.wait();
        if reaper.strong_count() == 0 {
            return;
        }
        let status = status.map_or_else(|e| e.to_string(), |s| s.to_string());
        tracing::warn!(
            %status,
            "the job reaper exited; starting another so that a SIGKILLed worker still takes its jobs with it"
        );
        std::thread::sleep(RESTART_DELAY.saturating_sub(started.elapsed()));
        let mut failing = false;
        child = loop {
            let Some(handle) = reaper.upgrade() else { return };
            match handle.replace() {
                Ok((child, jobs)) => {
                    tracing::info!(jobs, "a new job reaper took over; running jobs registered with it");
                    break child;
                }
                Err(e) => {
                    if !failing {
                        tracing::error!(
                            error = %e,
                            "cannot start the job reaper; retrying (until it runs, a SIGKILLed worker leaves its jobs running)"
                        );
                        failing = true;
                    }
                }
            }
            drop(handle);
            std::thread::sleep(RESTART_DELAY);
        };
    }
}

/// Writes `record` on the pipe whose descriptor a child was given: for a
/// child that registered itself but failed to start the job, which the
/// worker never gets to unregister (see `spawn::spawn`).
pub(super) fn write_record(fd: RawFd, record: Record) {
    // SAFETY: `fd` is the reaper's descriptor, open for as long as the
    // executor that passed it lives; the write is best effort.
    let fd = unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) };
    let _ = rustix::io::write(fd.as_fd(), &record.encode());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_round_trip() {
        for record in [Record::Started(2), Record::Ended(4_194_304), Record::Started(i32::MAX)] {
            assert_eq!(Record::decode(&record.encode()), Some(record));
        }
    }

    #[test]
    fn records_that_would_signal_everything_are_refused() {
        for group in [1, 0, -1, -42, i32::MIN] {
            assert_eq!(Record::decode(&Record::Started(group).encode()), None, "group {group}");
        }
        let mut bad_tag = Record::Started(42).encode();
        bad_tag[0] = b'?';
        assert_eq!(Record::decode(&bad_tag), None);
    }

    #[test]
    fn only_groups_started_and_not_ended_are_live() {
        let mut live = Live::default();
        let mut bytes = Vec::new();
        for record in [Record::Started(10), Record::Started(11), Record::Ended(10), Record::Ended(99)] {
            bytes.extend(record.encode());
        }
        bytes.extend(b"?????");
        assert_eq!(live.feed(&bytes), bytes.len());
        assert_eq!(live.0, HashSet::from([11]));
    }

    #[test]
    fn a_record_split_between_reads_is_applied_once_whole() {
        let mut live = Live::default();
        let bytes = [Record::Started(7).encode(), Record::Started(8).encode()].concat();
        assert_eq!(live.feed(&bytes[..7]), 5, "the cut record waits for its rest");
        assert_eq!(live.0, HashSet::from([7]));
        assert_eq!(live.feed(&bytes[5..]), 5);
        assert_eq!(live.0, HashSet::from([7, 8]));
    }
}
