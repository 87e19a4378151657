//! Starting a shell job's process as `posix_spawn` does it — `clone` with
//! `CLONE_VM | CLONE_VFORK`, the child on a stack of its own until it execs —
//! so a busy worker's memory is neither copied nor made copy-on-write (a
//! `fork` of the worker cost more CPU than a job running `true`), plus what
//! `posix_spawn` cannot do: the parent-death signal that takes the job down
//! with a SIGKILLed worker, and the job's registration with the worker's
//! reaper (`reaper.rs`), written by the child before it execs: a worker that
//! dies before that write takes the child with it (the parent-death signal),
//! one that dies after it leaves the reaper knowing the job's group. Exits
//! are awaited through a pidfd.
//!
//! The child shares the worker's memory until `execve`, so between `clone`
//! and `execve` it makes system calls only: no allocation, no locks, no
//! unwinding. Everything it needs is prepared before the clone.
//!
//! Linux only (`clone`, `PR_SET_PDEATHSIG`, pidfds), as taskq's workers are.
//! The parent-death signal follows the *thread* that cloned, not the
//! process: jobs are spawned on the async runtime's own threads, which live
//! as long as the worker, never from `spawn_blocking`, whose idle threads
//! exit and would take their jobs with them. Measured beside
//! `std::process::Command` in BENCHMARKS.md (benches/spawn.rs): as fast as
//! its posix_spawn path, which cannot set the parent-death signal, and far
//! faster than its `pre_exec` path, which forks.

use std::ffi::{CString, OsStr, OsString, c_char, c_int, c_void};
use std::io;
use std::os::fd::{AsFd, AsRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
#[cfg(target_arch = "x86_64")]
use std::sync::atomic::{AtomicU8, Ordering};

use rustix::process::{Pid, Signal, WaitId, WaitIdOptions};
use tokio::io::unix::AsyncFd;

use super::reaper::{RECORD_LEN, Record, write_record};

/// Stack of the child between clone and exec: system calls only.
const CHILD_STACK: usize = 64 * 1024;

/// The child's stack is made of these, so that it is 16-byte aligned.
#[derive(Clone, Copy)]
#[repr(C, align(16))]
struct StackUnit([u8; 16]);

/// What to run.
pub(super) struct Spawn {
    /// The program: a path, or a name looked up in `$PATH`.
    pub program: OsString,
    /// `argv`, the program name first.
    pub args: Vec<OsString>,
    /// The whole environment.
    pub env: Vec<(OsString, OsString)>,
    pub cwd: Option<PathBuf>,
    /// The reaper's pipe, on which the child registers its process group
    /// before it execs; `None` when nothing reaps (`taskq exec`).
    pub reaper: Option<RawFd>,
    /// Another account to run as (`identity.rs`): its uid, gid and
    /// supplementary groups; `None`: the worker's own.
    pub credentials: Option<Credentials>,
}

/// The ids a job's process takes before it execs.
pub(super) struct Credentials {
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    pub groups: Vec<libc::gid_t>,
}

/// What the child was doing between clone and exec.
#[derive(Clone, Copy)]
#[repr(i32)]
enum Step {
    Setup,
    /// Taking another user's ids.
    Ids,
    /// Entering the working directory.
    Workdir,
    Exec,
}

/// A start that failed before exec, in a step of its own: the message says
/// which (the job's shell itself was fine).
#[derive(Debug)]
pub(super) struct StepFailed(String);

impl std::fmt::Display for StepFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for StepFailed {}

/// How a process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ExitStatus {
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

/// A running child: its own process group's leader.
pub(super) struct Child {
    pub pid: Pid,
    pidfd: AsyncFd<OwnedFd>,
    pub stdout: Option<OwnedFd>,
    pub stderr: Option<OwnedFd>,
    /// Whether the child wrote its registration on the reaper's pipe.
    pub registered: bool,
    reaped: bool,
}

/// Pointers into memory the parent keeps alive while the child runs on it.
#[repr(C)]
struct ChildArgs {
    program: *const c_char,
    argv: *const *const c_char,
    envp: *const *const c_char,
    /// Null: stay in the worker's directory.
    cwd: *const c_char,
    stdin: RawFd,
    stdout: RawFd,
    stderr: RawFd,
    /// Write end of a close-on-exec pipe: the errno of a failed start.
    report: RawFd,
    /// The worker's process id.
    parent: libc::pid_t,
    mask: libc::sigset_t,
    /// The reaper's pipe (close-on-exec, non-blocking), or -1.
    reaper: RawFd,
    /// Set by the child once its registration is written.
    registered: bool,
    /// What the child was doing when it failed (`Step`), for the error.
    step: c_int,
    /// Whether the clone reset the worker's signal handlers already
    /// (`clone3` with `CLONE_CLEAR_SIGHAND`).
    handlers_cleared: bool,
    /// Whether to take `uid`, `gid` and `groups` (`ngroups` of them).
    switch: bool,
    uid: libc::uid_t,
    gid: libc::gid_t,
    groups: *const libc::gid_t,
    ngroups: usize,
}

/// Reports `errno` to the parent and exits.
///
/// SAFETY: called only in the child, where `a` points at the parent's
/// `ChildArgs`; makes system calls only.
unsafe fn fail(a: &ChildArgs) -> c_int {
    unsafe {
        let errno = *libc::__errno_location();
        libc::write(a.report, (&raw const errno).cast::<c_void>(), std::mem::size_of::<c_int>());
        libc::_exit(127)
    }
}

/// The child, from clone to exec.
extern "C" fn child_main(arg: *mut c_void) -> c_int {
    // SAFETY: `arg` is the `ChildArgs` the parent built and keeps alive until
    // this child execs or exits (CLONE_VFORK suspends it until then), and
    // reads only `registered`, after that. Only system calls follow.
    unsafe {
        let a = &mut *arg.cast::<ChildArgs>();
        // The worker's signal handlers must not run in here: back to defaults
        // (exec would reset them, but a signal may arrive before it).
        // SIGPIPE too, which the Rust runtime ignores and exec would keep
        // ignored: `yes | head -1` in a job must end quietly, as in a shell.
        let mut default: libc::sigaction = std::mem::zeroed();
        default.sa_sigaction = libc::SIG_DFL;
        if a.handlers_cleared {
            libc::sigaction(libc::SIGPIPE, &raw const default, std::ptr::null_mut());
        } else {
            for sig in 1..65 {
                let mut old: libc::sigaction = std::mem::zeroed();
                if libc::sigaction(sig, std::ptr::null(), &raw mut old) == 0
                    && (old.sa_sigaction != libc::SIG_IGN || sig == libc::SIGPIPE)
                    && old.sa_sigaction != libc::SIG_DFL
                {
                    libc::sigaction(sig, &raw const default, std::ptr::null_mut());
                }
            }
        }
        // prctl is variadic: the signal must be passed at the width the
        // kernel reads (unsigned long), not as a bare int.
        // Another user's ids, by raw system calls: libc's setuid would signal
        // every thread of the worker, whose memory this child shares. Before
        // the parent-death signal, which a change of ids clears. Groups
        // first, while still allowed to set them.
        a.step = Step::Ids as c_int;
        if a.switch
            && (libc::syscall(libc::SYS_setgroups, a.ngroups, a.groups) != 0
                || libc::syscall(libc::SYS_setgid, a.gid) != 0
                || libc::syscall(libc::SYS_setuid, a.uid) != 0)
        {
            return fail(a);
        }
        if libc::setpgid(0, 0) != 0
            || libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL as libc::c_ulong, 0 as libc::c_ulong) != 0
        {
            return fail(a);
        }
        // The worker died before the line above: nobody would send the signal.
        if libc::getppid() != a.parent {
            libc::_exit(127);
        }
        // From here on the worker's death no longer kills whatever this
        // process forks, so the reaper must know the group first. Its pid is
        // its group's id. A failed write (the reaper died, or its pipe is
        // full) is the parent's to make up for.
        if a.reaper >= 0 {
            let record = Record::Started(libc::getpid()).encode();
            a.registered = libc::write(a.reaper, record.as_ptr().cast::<c_void>(), RECORD_LEN) == RECORD_LEN as isize;
        }
        if libc::dup2(a.stdin, 0) < 0 || libc::dup2(a.stdout, 1) < 0 || libc::dup2(a.stderr, 2) < 0 {
            return fail(a);
        }
        a.step = Step::Workdir as c_int;
        if !a.cwd.is_null() && libc::chdir(a.cwd) != 0 {
            return fail(a);
        }
        a.step = Step::Exec as c_int;
        libc::sigprocmask(libc::SIG_SETMASK, &raw const a.mask, std::ptr::null_mut());
        libc::execve(a.program, a.argv, a.envp);
        fail(a)
    }
}

/// Whether `clone3` with `CLONE_CLEAR_SIGHAND` works here: unknown (0),
/// yes (1), no (2: a kernel before 5.5, or a seccomp filter that refuses
/// it, as container runtimes' default ones do).
#[cfg(target_arch = "x86_64")]
static CLONE3: AtomicU8 = AtomicU8::new(0);

/// `clone3`'s flag (Linux 5.5) that gives the child default dispositions for
/// every signal the parent handles.
#[cfg(target_arch = "x86_64")]
const CLONE_CLEAR_SIGHAND: u64 = 0x1_0000_0000;

/// Clones the child that runs `child_main(args)` on the stack from `low` to
/// `top`, this thread waiting until it execs or exits; its pid, or -1 and
/// the error. Where it can, by `clone3` clearing the signal handlers in the
/// same call: the child then need not look at each of the 64 signals,
/// 65 to 70 system calls made while this runtime thread waits (measured in
/// BENCHMARKS.md).
///
/// SAFETY: as for `clone`: `args`, and the stack, outlive the child's use
/// of them (CLONE_VFORK), and all signals are blocked in this thread.
unsafe fn clone_vfork(args: &mut ChildArgs, low: *mut c_void, top: *mut c_void) -> (c_int, io::Error) {
    #[cfg(target_arch = "x86_64")]
    if CLONE3.load(Ordering::Relaxed) != 2 {
        args.handlers_cleared = true;
        let size = top as usize - low as usize;
        // SAFETY: as this function's.
        let ret = unsafe { clone3_vfork((&raw mut *args).cast::<c_void>(), low, size) };
        if ret >= 0 {
            CLONE3.store(1, Ordering::Relaxed);
            return (ret as c_int, io::Error::from_raw_os_error(0));
        }
        let errno = -ret as c_int;
        if CLONE3.load(Ordering::Relaxed) == 1 || !matches!(errno, libc::ENOSYS | libc::EINVAL | libc::EPERM) {
            return (-1, io::Error::from_raw_os_error(errno));
        }
        CLONE3.store(2, Ordering::Relaxed);
        args.handlers_cleared = false;
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = low;
    // SAFETY: as this function's.
    let pid = unsafe {
        libc::clone(
            child_main,
            top,
            libc::CLONE_VM | libc::CLONE_VFORK | libc::SIGCHLD,
            (&raw mut *args).cast::<c_void>(),
        )
    };
    (pid, io::Error::last_os_error())
}

/// `clone3(CLONE_VM | CLONE_VFORK | CLONE_CLEAR_SIGHAND)` by a raw system
/// call (libc has no wrapper): the child starts on the new stack at the
/// instruction after the call, so it is sent straight into `child_main` by
/// hand, and exits with its return value (it returns only on failure, and
/// `fail` exits first). The parent gets the pid, or -errno.
///
/// SAFETY: as for `clone_vfork`; `low..low + size` is the child's stack,
/// its top 16-byte aligned (the call then leaves it as the ABI wants).
#[cfg(target_arch = "x86_64")]
unsafe fn clone3_vfork(arg: *mut c_void, low: *mut c_void, size: usize) -> libc::c_long {
    // SAFETY: clone_args is plain integers.
    let mut cl: libc::clone_args = unsafe { std::mem::zeroed() };
    cl.flags = (libc::CLONE_VM | libc::CLONE_VFORK) as u64 | CLONE_CLEAR_SIGHAND;
    cl.exit_signal = libc::SIGCHLD as u64;
    cl.stack = low as u64;
    cl.stack_size = size as u64;
    let ret: libc::c_long;
    // SAFETY: the system call leaves all registers but rax, rcx and r11 as
    // they were, in the parent and in the child; the child runs only on its
    // own stack and never comes back here.
    unsafe {
        std::arch::asm!(
            "syscall",
            "test rax, rax",
            "jnz 2f",
            "xor ebp, ebp",
            "mov rdi, r13",
            "call r12",
            "mov edi, eax",
            "mov eax, {exit}",
            "syscall",
            "ud2",
            "2:",
            exit = const libc::SYS_exit,
            inlateout("rax") libc::SYS_clone3 => ret,
            in("rdi") &raw const cl,
            in("rsi") std::mem::size_of::<libc::clone_args>(),
            in("r12") child_main as extern "C" fn(*mut c_void) -> c_int,
            in("r13") arg,
            lateout("rcx") _,
            lateout("r11") _,
        );
    }
    ret
}

fn cstring(s: &OsStr) -> io::Result<CString> {
    CString::new(s.as_bytes())
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "an argument or variable contains a NUL byte"))
}

/// `program` as a path to exec: as given when it has a slash, else the first
/// match in `$PATH` (resolved here: the child may not allocate).
fn resolve(program: &OsStr, env: &[(OsString, OsString)]) -> io::Result<PathBuf> {
    if program.as_bytes().contains(&b'/') {
        return Ok(PathBuf::from(program));
    }
    let path = env.iter().find(|(k, _)| k == "PATH").map_or_else(|| "/usr/bin:/bin".into(), |(_, v)| v.clone());
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "not found in $PATH"))
}

fn is_executable(path: &Path) -> bool {
    rustix::fs::access(path, rustix::fs::Access::EXEC_OK).is_ok() && path.is_file()
}

/// Starts `spec` as the leader of a new process group, stdin `/dev/null`,
/// stdout and stderr piped, with SIGKILL as its parent-death signal,
/// registered with the reaper if `spec.reaper` says where.
pub(super) fn spawn(spec: &Spawn) -> io::Result<Child> {
    let program = cstring(resolve(&spec.program, &spec.env)?.as_os_str())?;
    let args = spec.args.iter().map(|a| cstring(a)).collect::<io::Result<Vec<_>>>()?;
    let env = spec
        .env
        .iter()
        .map(|(k, v)| {
            let mut pair = k.clone();
            pair.push("=");
            pair.push(v);
            cstring(&pair)
        })
        .collect::<io::Result<Vec<_>>>()?;
    let cwd = spec.cwd.as_ref().map(|c| cstring(c.as_os_str())).transpose()?;
    let argv: Vec<*const c_char> = args.iter().map(|a| a.as_ptr()).chain(std::iter::once(std::ptr::null())).collect();
    let envp: Vec<*const c_char> = env.iter().map(|e| e.as_ptr()).chain(std::iter::once(std::ptr::null())).collect();

    let stdin = std::fs::File::open("/dev/null")?;
    let (out_read, out_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let (err_read, err_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;
    let (report_read, report_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)?;

    // In 16-byte units, so one past its end is 16-byte aligned as the ABI
    // wants a stack's top: the stack grows down from there.
    let mut stack = vec![StackUnit([0; 16]); CHILD_STACK / 16];
    let range = stack.as_mut_ptr_range();
    let (low, top) = (range.start.cast::<c_void>(), range.end.cast::<c_void>());

    // SAFETY: plain libc calls on valid, initialised memory. All signals stay
    // blocked in this thread across the clone (as posix_spawn does), so none
    // is handled in the child before it resets the handlers; the child
    // restores this mask right before exec. CLONE_VFORK keeps this thread,
    // and so `args`, `argv`, `envp` and `stack`, waiting until the child has
    // exec'd or exited; the child's one write to `args` (`registered`) is
    // done by then.
    let (pid, registered, step) = unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut mask: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&raw mut all);
        libc::pthread_sigmask(libc::SIG_SETMASK, &raw const all, &raw mut mask);
        let mut args = ChildArgs {
            program: program.as_ptr(),
            argv: argv.as_ptr(),
            envp: envp.as_ptr(),
            cwd: cwd.as_ref().map_or(std::ptr::null(), |c| c.as_ptr()),
            stdin: stdin.as_raw_fd(),
            stdout: out_write.as_raw_fd(),
            stderr: err_write.as_raw_fd(),
            report: report_write.as_raw_fd(),
            parent: libc::getpid(),
            mask,
            reaper: spec.reaper.unwrap_or(-1),
            registered: false,
            step: Step::Setup as c_int,
            handlers_cleared: false,
            switch: spec.credentials.is_some(),
            uid: spec.credentials.as_ref().map_or(0, |c| c.uid),
            gid: spec.credentials.as_ref().map_or(0, |c| c.gid),
            groups: spec.credentials.as_ref().map_or(std::ptr::null(), |c| c.groups.as_ptr()),
            ngroups: spec.credentials.as_ref().map_or(0, |c| c.groups.len()),
        };
        let (pid, error) = clone_vfork(&mut args, low, top);
        libc::pthread_sigmask(libc::SIG_SETMASK, &raw const mask, std::ptr::null_mut());
        if pid < 0 {
            return Err(error);
        }
        (pid, args.registered, args.step)
    };
    drop((stack, out_write, err_write, report_write, stdin));
    let pid = Pid::from_raw(pid).ok_or_else(|| io::Error::other("clone returned pid 0 in the parent"))?;
    // A child that registered but never ran the job: no caller will know its
    // group to unregister it. Unregistered before it is reaped, while its id
    // cannot belong to anyone else.
    let abandon = || {
        if let (Some(fd), true) = (spec.reaper, registered) {
            write_record(fd, Record::Ended(pid.as_raw_nonzero().get()));
        }
        let _ = rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty());
    };

    let mut errno = [0u8; 4];
    let reported = rustix::io::read(&report_read, &mut errno).unwrap_or(0);
    if reported == errno.len() {
        abandon();
        let error = io::Error::from_raw_os_error(i32::from_ne_bytes(errno));
        let what = if step == Step::Ids as c_int {
            Some("cannot take the job's user's ids".to_string())
        } else if step == Step::Workdir as c_int {
            spec.cwd.as_ref().map(|dir| format!("cannot enter the working directory {}", dir.display()))
        } else {
            None
        };
        return Err(match what {
            Some(what) => io::Error::new(error.kind(), StepFailed(format!("{what}: {error}"))),
            None => error,
        });
    }
    let pidfd = match rustix::process::pidfd_open(pid, rustix::process::PidfdFlags::NONBLOCK)
        .map_err(io::Error::from)
        // SAFETY: an OwnedFd's descriptor is valid and stays the same until it
        // is dropped, and the AsyncFd owns it.
        .and_then(|fd| {
            unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
                .map_err(std::convert::Into::into)
        }) {
        Ok(fd) => fd,
        Err(e) => {
            // It may have forked already: the whole group goes.
            let _ = rustix::process::kill_process_group(pid, Signal::KILL);
            abandon();
            return Err(e);
        }
    };
    Ok(Child { pid, pidfd, stdout: Some(out_read), stderr: Some(err_read), registered, reaped: false })
}

impl Child {
    /// Waits for the process to exit and reaps it.
    pub(super) async fn wait(&mut self) -> io::Result<ExitStatus> {
        loop {
            let mut ready = self.pidfd.readable().await?;
            let status = rustix::process::waitid(
                WaitId::PidFd(self.pidfd.get_ref().as_fd()),
                WaitIdOptions::EXITED | WaitIdOptions::NOHANG,
            )?;
            match status {
                Some(status) => {
                    self.reaped = true;
                    return Ok(ExitStatus { code: status.exit_status(), signal: status.terminating_signal() });
                }
                None => ready.clear_ready(),
            }
        }
    }

    /// Sends SIGKILL to the process itself.
    pub(super) fn kill(&self) {
        let _ = rustix::process::kill_process(self.pid, Signal::KILL);
    }
}

impl Drop for Child {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        // Not waited for (the task was dropped): kill the group and reap the
        // leader in the background, so no zombie is left.
        let _ = rustix::process::kill_process_group(self.pid, Signal::KILL);
        let pid = self.pid;
        std::thread::spawn(move || rustix::process::waitpid(Some(pid), rustix::process::WaitOptions::empty()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(script: &str) -> Spawn {
        Spawn {
            program: "sh".into(),
            args: vec!["sh".into(), "-c".into(), script.into()],
            env: std::env::vars_os().collect(),
            cwd: None,
            reaper: None,
            credentials: None,
        }
    }

    #[tokio::test]
    async fn a_child_runs_and_reports_its_exit() {
        let mut child = spawn(&spec("exit 3")).unwrap();
        assert_eq!(child.wait().await.unwrap(), ExitStatus { code: Some(3), signal: None });
        let mut killed = spawn(&spec("kill -9 $$")).unwrap();
        assert_eq!(killed.wait().await.unwrap(), ExitStatus { code: None, signal: Some(9) });
    }

    #[tokio::test]
    async fn a_child_leads_its_own_process_group() {
        let mut child = spawn(&spec("cut -d' ' -f5 /proc/$$/stat")).unwrap();
        let out = child.stdout.take().unwrap();
        child.wait().await.unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(out), &mut text).unwrap();
        assert_eq!(text.split_whitespace().next().unwrap(), child.pid.as_raw_nonzero().to_string());
    }

    /// The signals a job ignores, as `/proc/self/status` shows them.
    async fn ignored_signals() -> u64 {
        let mut child = spawn(&spec("exec cat /proc/self/status")).unwrap();
        let out = child.stdout.take().unwrap();
        child.wait().await.unwrap();
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::fs::File::from(out), &mut text).unwrap();
        let line = text.lines().find(|l| l.starts_with("SigIgn:")).unwrap();
        u64::from_str_radix(line.split_whitespace().nth(1).unwrap(), 16).unwrap()
    }

    /// SIGPIPE, which the Rust runtime ignores and exec would leave ignored,
    /// is at its default in a job, whichever way its process was cloned
    /// (`clone3` clearing the handlers, or the reset signal by signal where
    /// that is refused). (The handlers themselves exec resets; what the
    /// child clears is the window before it.)
    #[cfg(target_arch = "x86_64")]
    #[tokio::test]
    async fn a_child_gets_sigpipe_at_its_default() {
        let sigpipe = 1u64 << (libc::SIGPIPE - 1);
        for way in [0, 2] {
            CLONE3.store(way, Ordering::Relaxed);
            assert_eq!(ignored_signals().await & sigpipe, 0, "way {way}");
        }
        CLONE3.store(0, Ordering::Relaxed);
    }

    #[test]
    fn start_failures_are_reported() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let _guard = rt.enter();
        let mut missing = spec("true");
        missing.program = "/nonexistent/sh".into();
        assert_eq!(spawn(&missing).err().unwrap().kind(), io::ErrorKind::NotFound);
        let mut bad_dir = spec("true");
        bad_dir.cwd = Some("/nonexistent-dir".into());
        assert_eq!(spawn(&bad_dir).err().unwrap().kind(), io::ErrorKind::NotFound);
        let mut nul = spec("true");
        nul.args.push(OsString::from("a\0b"));
        assert_eq!(spawn(&nul).err().unwrap().kind(), io::ErrorKind::InvalidInput);
    }
}
