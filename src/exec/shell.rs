//! Shell jobs: `SHELL -c COMMAND JOBNAME ARGS...` as the leader of its own
//! process group, so timeouts and cleanup reach everything it started (as
//! systemd's control-group kill does). The job dies with a SIGKILLed worker
//! (its own process by PDEATHSIG, the rest of its group by the reaper, with
//! which it stays registered until the group is empty), so a lost worker
//! never leaves a run going on beside the redelivered one.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::fd::OwnedFd;
use std::sync::Mutex;
use std::time::Duration;

use jiff::Timestamp;
use rustix::process::{Pid, Signal};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::unix::pipe;
use tokio::time::Instant;

use super::identity::Identity;
use super::output::{OUTPUT_TAIL_BYTES, OutputSink, STEP_OUTPUT_BYTES, Stream, Tail};
use super::reaper::Reaper;
use super::spawn::{Child, Credentials, ExitStatus, Spawn, StepFailed, spawn};
use super::{Attempt, Kill};
use crate::config::ShellAction;
use crate::config::template::{param_var, verbatim};
use crate::job::{Detail, Outcome, RunStatus};

/// How long output may keep arriving after the job's group is gone (from a
/// process that left the group with setsid) before reading stops.
const DRAIN_GRACE: Duration = Duration::from_secs(2);

/// How often to look whether a signalled process group is empty yet.
const GROUP_POLL: Duration = Duration::from_millis(20);

pub(super) async fn run(
    action: &ShellAction,
    attempt: &Attempt<'_>,
    vars: &(dyn Fn(&str) -> Option<String> + Send + Sync),
    sink: &dyn OutputSink,
    kill: &Kill,
    reaper: Option<&Reaper>,
) -> Outcome {
    let def = attempt.def;
    let shell = action.shell.as_str();
    let script = action.command.render_shell();
    let worker_env = |name: &str| vars(name);
    let mut env = BTreeMap::new();
    for (name, value) in &action.env {
        match value.render(&BTreeMap::new(), verbatim, &worker_env) {
            Ok(v) => env.insert(name.clone(), v),
            Err(e) => return Outcome::not_started(format!("env.{name}: {e}")),
        };
    }
    if let Some(dir) = &action.workdir
        && !dir.is_dir()
    {
        return Outcome::not_started(format!("workdir {} does not exist or is not a directory", dir.display()));
    }

    let identity = match action.run_as.as_ref().map(|r| Identity::lookup(r).and_then(|id| id.assumable().map(|()| id)))
    {
        None => None,
        Some(Ok(id)) => Some(id).filter(|id| !id.is_current()),
        Some(Err(why)) => return Outcome::not_started(why),
    };

    let mut vars: BTreeMap<OsString, OsString> = match &identity {
        // Another user's job gets a login's environment, as cron gives one,
        // not the worker's: that holds the broker's URL and the secrets of
        // every job (/etc/taskq/env). What it needs, its `env` names.
        Some(id) => id.env(shell),
        None => std::env::vars_os().filter(|(k, _)| !crate::systemd::SERVICE_VARS.iter().any(|v| k == v)).collect(),
    };
    vars.extend(env.into_iter().map(|(k, v)| (k.into(), v.into())));
    let taskq_env = attempt.taskq_env();
    if let Some(id) = &identity
        && let Err(why) = id.give_files(&taskq_env)
    {
        return Outcome::not_started(why);
    }
    vars.extend(taskq_env.into_iter().map(|(k, v)| (k.into(), v.into())));
    vars.extend(attempt.params.iter().map(|(name, value)| (param_var(name).into(), value.into())));
    let mut args: Vec<OsString> = vec![shell.into(), "-c".into(), script.into(), def.name.as_str().into()];
    args.extend(attempt.args.iter().map(OsString::from));
    let ticket = reaper.map(Reaper::ticket);
    let spec = Spawn {
        program: shell.into(),
        args,
        env: vars.into_iter().collect(),
        cwd: action.workdir.clone().or_else(|| identity.as_ref().map(Identity::home_dir)),
        reaper: ticket.map(|t| t.fd),
        credentials: identity.map(|id| Credentials { uid: id.uid, gid: id.gid, groups: id.groups }),
    };

    let started_at = Timestamp::now();
    let mut child = match spawn(&spec) {
        Ok(c) => c,
        Err(e) if matches!(e.get_ref(), Some(inner) if inner.is::<StepFailed>()) => {
            return Outcome::not_started(e.to_string());
        }
        Err(e) => return Outcome::not_started(format!("cannot start {shell}: {e}")),
    };
    let registration = reaper.zip(ticket).map(|(r, t)| r.started(child.pid, t, child.registered));
    let group = child.pid;
    let tail = Mutex::new(Tail::new(OUTPUT_TAIL_BYTES));
    // A workflow's next step reads this job's stdout alone (a warning on
    // stderr is not one of its items).
    let stdout_tail = attempt.workflow_run.map(|_| Mutex::new(Tail::new(STEP_OUTPUT_BYTES)));

    let (status, ended) = {
        let receiver = |fd: Option<OwnedFd>| fd.and_then(|fd| pipe::Receiver::from_owned_fd(fd).ok());
        let (stdout, stderr) = (receiver(child.stdout.take()), receiver(child.stderr.take()));
        let readers = async {
            tokio::join!(
                read_into(stdout, Stream::Stdout, &tail, stdout_tail.as_ref(), sink),
                read_into(stderr, Stream::Stderr, &tail, None, sink)
            )
        };
        let supervise = async {
            let timeout = async {
                match def.timeout {
                    Some(t) => tokio::time::sleep(t).await,
                    None => std::future::pending().await,
                }
            };
            // One SIGKILL deadline per stop, for the main process and what is
            // left in its group alike; a stop that must end sooner (a lease
            // about to lapse) can only move it earlier.
            let kill_at = |grace| Instant::now() + grace;
            let (status, ended, deadline) = tokio::select! {
                status = child.wait() => (status, End::Exited, kill_at(kill.grace(def.kill_after))),
                () = timeout => {
                    let (status, deadline) = stop(&mut child, group, kill_at(def.kill_after), kill, def.kill_after).await;
                    (status, End::TimedOut, deadline)
                }
                () = kill.cancelled() => {
                    let grace = kill.grace(def.kill_after);
                    let (status, deadline) = stop(&mut child, group, kill_at(grace), kill, def.kill_after).await;
                    (status, End::Killed, deadline)
                }
            };
            // Whatever the job left running in its group goes too.
            clean_group(group, deadline, kill, def.kill_after).await;
            // Only now is there nothing left for the reaper to kill. (If this
            // future is dropped earlier, so is the registration, and the
            // child's drop kills the group.)
            drop(registration);
            (status, ended)
        };
        tokio::pin!(readers, supervise);
        let mut drained = false;
        let result = loop {
            tokio::select! {
                result = &mut supervise => break result,
                _ = &mut readers, if !drained => drained = true,
            }
        };
        if !drained {
            // Output from a process that escaped the group must not hold the job open forever.
            let _ = tokio::time::timeout(DRAIN_GRACE, &mut readers).await;
        }
        result
    };
    let finished_at = Timestamp::now();
    let tail = tail.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
    let output_total = tail.total();
    let mut outcome = outcome(action, attempt, status, ended, tail.into_bytes(), started_at, finished_at);
    outcome.output_total = output_total;
    outcome.stdout = stdout_tail.map(|t| {
        let t = t.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        let total = t.total();
        (t.into_bytes(), total)
    });
    outcome
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Exited,
    TimedOut,
    Killed,
}

fn outcome(
    action: &ShellAction,
    attempt: &Attempt<'_>,
    status: std::io::Result<ExitStatus>,
    ended: End,
    output: Vec<u8>,
    started_at: Timestamp,
    finished_at: Timestamp,
) -> Outcome {
    let def = attempt.def;
    let (exit_code, signal) = match &status {
        Ok(s) => (s.code, s.signal),
        Err(_) => (None, None),
    };
    let (run_status, error) = match (ended, &status) {
        (End::TimedOut, _) => {
            let limit = def.timeout.map(humantime::format_duration).map(|d| d.to_string()).unwrap_or_default();
            (RunStatus::TimedOut, Some(format!("timed out after {limit}")))
        }
        (End::Killed, _) => (RunStatus::Killed, Some("killed".to_string())),
        (End::Exited, Err(e)) => (RunStatus::Failed, Some(format!("lost track of the job's process: {e}"))),
        (End::Exited, Ok(_)) => match (exit_code, signal) {
            (Some(code), _) if action.success_exit.contains(&code) => (RunStatus::Succeeded, None),
            (Some(code), _) => (RunStatus::Failed, Some(format!("exited with code {code}"))),
            (None, Some(sig)) => (RunStatus::Failed, Some(format!("killed by signal {sig}"))),
            (None, None) => (RunStatus::Failed, Some("ended without an exit status".to_string())),
        },
    };
    let retryable = match (run_status, &action.retry_on_exit) {
        (RunStatus::TimedOut, _) | (RunStatus::Failed, None) => true,
        (RunStatus::Failed, Some(codes)) => exit_code.is_some_and(|c| codes.contains(&c)),
        _ => false,
    };
    Outcome {
        status: run_status,
        detail: Detail::Shell { exit_code, signal },
        retryable,
        error,
        output,
        output_total: 0,
        stdout: None,
        started_at,
        finished_at,
    }
}

/// Copies a pipe into the tail (and `also`, if given) and the live sink
/// until it closes.
async fn read_into(
    pipe: Option<impl AsyncRead + Unpin>,
    stream: Stream,
    tail: &Mutex<Tail>,
    also: Option<&Mutex<Tail>>,
    sink: &dyn OutputSink,
) {
    let Some(mut pipe) = pipe else { return };
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match pipe.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                // std Mutex: held only for the copy, never across .await.
                tail.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(&buf[..n]);
                if let Some(also) = also {
                    also.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(&buf[..n]);
                }
                sink.write(stream, &buf[..n]);
            }
        }
    }
}

/// SIGTERM to the job's group; SIGKILL at `kill_at`, or sooner if a stop
/// with a shorter grace comes meanwhile (a lease about to lapse during a
/// timeout's grace). Returns how the main process ended and when the
/// SIGKILL was due.
async fn stop(
    child: &mut Child,
    group: Pid,
    mut kill_at: Instant,
    kill: &Kill,
    kill_after: Duration,
) -> (std::io::Result<ExitStatus>, Instant) {
    let _ = rustix::process::kill_process_group(group, Signal::TERM);
    let mut watching = !kill.is_cancelled();
    loop {
        tokio::select! {
            status = child.wait() => return (status, kill_at),
            () = tokio::time::sleep_until(kill_at) => break,
            () = kill.cancelled(), if watching => {
                watching = false;
                kill_at = kill_at.min(Instant::now() + kill.grace(kill_after));
            }
        }
    }
    let _ = rustix::process::kill_process_group(group, Signal::KILL);
    child.kill();
    (child.wait().await, kill_at)
}

/// Ends whatever is left in the job's process group once its main process
/// has exited: SIGTERM, then SIGKILL at `kill_at` (or sooner, as in `stop`).
async fn clean_group(group: Pid, mut kill_at: Instant, kill: &Kill, kill_after: Duration) {
    let alive = || rustix::process::test_kill_process_group(group).is_ok();
    if !alive() {
        return;
    }
    let _ = rustix::process::kill_process_group(group, Signal::TERM);
    let mut watching = !kill.is_cancelled();
    while alive() && Instant::now() < kill_at {
        tokio::select! {
            () = tokio::time::sleep(GROUP_POLL) => {}
            () = kill.cancelled(), if watching => {
                watching = false;
                kill_at = kill_at.min(Instant::now() + kill.grace(kill_after));
            }
        }
    }
    if alive() {
        let _ = rustix::process::kill_process_group(group, Signal::KILL);
    }
}
