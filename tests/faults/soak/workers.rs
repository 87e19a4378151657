//! The workers: one a slot, each reaching Redis through the slot's proxy.
//! A killed worker is replaced in its slot at once; each process's memory
//! is a series of its own. When to kill one is `schedule`'s business.

use std::process::ExitStatus;
use std::time::{Duration, Instant};

use rustix::process::Signal;

use super::WORKERS;
use crate::common::env::Proc;
use crate::common::{Env, Proxy};
use crate::faults::chaos::{cpu_time, now_secs, status_kb};

const WORKER_ARGS: [&str; 5] = ["run", "-c", "4", "--lease", "5s"];

/// One worker process's life: a restarted worker starts a new series.
pub(super) struct Series {
    pub(super) slot: usize,
    pub(super) pid: i32,
    pub(super) started: Duration,
    pub(super) killed: Option<Duration>,
    /// (offset, VmRSS in kB)
    pub(super) rss: Vec<(Duration, u64)>,
}

/// How a never-killed worker's memory moved: mean RSS in kB early and late.
pub(super) struct Growth {
    pub(super) pid: i32,
    pub(super) early: f64,
    pub(super) late: f64,
    /// `late / early - 1`
    pub(super) by: f64,
}

impl Series {
    /// Mean RSS early and late in the series: its first sample (start-up)
    /// left out, the first and the last third of the rest. `None` if too short.
    pub(super) fn growth(&self) -> Option<Growth> {
        let rss: Vec<u64> = self.rss.iter().skip(1).map(|&(_, kb)| kb).collect();
        let third = rss.len() / 3;
        (third >= 2).then(|| {
            let (early, late) = (mean(&rss[..third]), mean(&rss[rss.len() - third..]));
            Growth { pid: self.pid, early, late, by: late / early - 1.0 }
        })
    }
}

fn mean(values: &[u64]) -> f64 {
    values.iter().sum::<u64>() as f64 / values.len().max(1) as f64
}

/// A live worker measured after the drain.
pub(super) struct Idle {
    pub(super) pid: i32,
    /// The share of a core it used over 2 s with nothing to do (NaN if unreadable).
    pub(super) share: f64,
    /// Set if it exited, though never killed.
    pub(super) exited: Option<ExitStatus>,
}

/// The workers of every slot, and what became of those killed.
pub(super) struct Workers<'a> {
    env: &'a Env,
    proxies: &'a [Proxy],
    /// Workers killed (and reaped), held to the end of the test like the live ones.
    dead: Vec<Proc>,
    /// The live worker of each slot, and the index of its series.
    live: Vec<(Proc, usize)>,
    /// Every worker process's memory, in the order they started.
    pub(super) series: Vec<Series>,
    /// (pid, time killed): pids are reused over minutes, so a kill is also matched by time.
    pub(super) kills: Vec<(i32, f64)>,
}

impl<'a> Workers<'a> {
    /// Starts a worker in every slot.
    pub(super) fn start(env: &'a Env, proxies: &'a [Proxy]) -> Workers<'a> {
        let mut workers =
            Workers { env, proxies, dead: Vec::new(), live: Vec::new(), series: Vec::new(), kills: Vec::new() };
        for slot in 0..WORKERS {
            let worker = workers.spawn(slot, Duration::ZERO);
            workers.live.push(worker);
        }
        workers
    }

    /// Starts a worker in `slot`, `started` into the run, with a series of
    /// its own; returns it with the index of its series.
    fn spawn(&mut self, slot: usize, started: Duration) -> (Proc, usize) {
        let proc = self.env.spawn_with(&WORKER_ARGS, &[("TASKQ_BROKER", &self.proxies[slot].url())]);
        self.series.push(Series { slot, pid: proc.pid(), started, killed: None, rss: Vec::new() });
        (proc, self.series.len() - 1)
    }

    /// The pid of the worker in `slot`.
    pub(super) fn pid(&self, slot: usize) -> i32 {
        self.live[slot].0.pid()
    }

    /// The slot of the live worker `pid`, if it is one.
    pub(super) fn slot_of(&self, pid: i32) -> Option<usize> {
        self.live.iter().position(|(p, _)| p.pid() == pid)
    }

    /// Adds each live worker's RSS to its series.
    pub(super) fn sample_rss(&mut self, now: Duration) {
        for (proc, s) in &self.live {
            if let Some(kb) = status_kb(proc.pid(), "VmRSS") {
                self.series[*s].rss.push((now, kb));
            }
        }
    }

    /// SIGKILLs the worker in `slot` and starts another in its place at
    /// once; returns the old pid and the new.
    pub(super) fn kill_and_restart(&mut self, slot: usize, now: Duration) -> (i32, i32) {
        let (victim, s) = &self.live[slot];
        let (old, s) = (victim.pid(), *s);
        self.kills.push((old, now_secs()));
        victim.signal(Signal::KILL);
        self.series[s].killed = Some(now);
        let fresh = self.spawn(slot, now);
        let (mut killed, _) = std::mem::replace(&mut self.live[slot], fresh);
        killed.wait_timeout(Duration::from_secs(15)).expect("a SIGKILLed worker exits");
        self.dead.push(killed);
        (old, self.pid(slot))
    }

    /// Measures how much CPU each live worker uses over 2 s with nothing to
    /// do, and whether it is still running.
    pub(super) fn idle(&mut self) -> Vec<Idle> {
        let before: Vec<_> = self.live.iter().map(|(p, _)| cpu_time(p.pid())).collect();
        let measured = Instant::now();
        std::thread::sleep(Duration::from_secs(2));
        let mut idle = Vec::new();
        for ((proc, _), before) in self.live.iter_mut().zip(before) {
            let share = match (before, cpu_time(proc.pid())) {
                (Some(b), Some(a)) => a.saturating_sub(b).as_secs_f64() / measured.elapsed().as_secs_f64(),
                _ => f64::NAN,
            };
            let exited = proc.child.try_wait().ok().flatten();
            idle.push(Idle { pid: proc.pid(), share, exited });
        }
        idle
    }
}
