//! Striking the faults of a schedule on time: SIGKILLs, the Redis crash and
//! the partition, each logged for the report. The schedule is `schedule`'s;
//! replacing a killed worker is `workers`'.

use std::time::{Duration, Instant};

use super::schedule::Event;
use super::workers::Workers;
use super::{PARTITION, WITNESS, WORKERS, sleep_until};
use crate::common::{Env, Proxy, RedisServer, poll_until};
use crate::faults::chaos::Rng;

/// What the faults act on, and what they did so far.
pub(super) struct Faults<'a, 'w> {
    env: &'a Env,
    server: &'a RedisServer,
    proxies: &'a [Proxy],
    workers: &'w mut Workers<'a>,
    began: Instant,
    /// (offset, what was done), for the report.
    log: Vec<(Duration, String)>,
    redis_stopped: Instant,
    paused_at: Instant,
    /// The slot whose proxy the partition paused.
    cut_off: usize,
}

impl<'a, 'w> Faults<'a, 'w> {
    pub(super) fn new(
        env: &'a Env,
        server: &'a RedisServer,
        proxies: &'a [Proxy],
        workers: &'w mut Workers<'a>,
        began: Instant,
    ) -> Faults<'a, 'w> {
        Faults {
            env,
            server,
            proxies,
            workers,
            began,
            log: Vec::new(),
            redis_stopped: began,
            paused_at: began,
            cut_off: 0,
        }
    }

    /// Strikes each fault of `schedule` at its offset from the start, and
    /// returns what was done when.
    pub(super) fn strike(mut self, schedule: Vec<(Duration, Event)>, rng: &mut Rng) -> Vec<(Duration, String)> {
        for (at, event) in schedule {
            // Pacing the faults, not waiting for anything.
            sleep_until(self.began + at);
            let now = self.began.elapsed();
            match event {
                Event::Sample => self.workers.sample_rss(now),
                Event::Kill => self.kill_a_worker(now, rng),
                Event::RedisStop => self.crash_redis(now),
                Event::RedisStart => self.restart_redis(now),
                Event::Pause => self.cut_off_a_slow_run(),
                Event::Resume => self.end_the_partition(),
            }
        }
        self.log
    }

    /// SIGKILLs a random worker other than the witness; it restarts at once.
    fn kill_a_worker(&mut self, now: Duration, rng: &mut Rng) {
        let slot = loop {
            let slot = rng.below(WORKERS);
            if slot != WITNESS {
                break slot;
            }
        };
        let (old, fresh) = self.workers.kill_and_restart(slot, now);
        self.log.push((now, format!("SIGKILL worker {slot} (pid {old}); restarted as pid {fresh}")));
    }

    fn crash_redis(&mut self, now: Duration) {
        self.server.stop();
        self.redis_stopped = Instant::now();
        self.log.push((now, "Redis killed (SIGKILL)".into()));
    }

    fn restart_redis(&mut self, now: Duration) {
        self.server.start_again();
        self.log.push((now, format!("Redis started again on its AOF, down {:.1?}", self.redis_stopped.elapsed())));
    }

    /// Cuts off the worker that just started a slow run, so that the run
    /// outlasts its lease; any worker if none starts within 30 s.
    fn cut_off_a_slow_run(&mut self) {
        let mut running = None;
        poll_until(Duration::from_secs(30), || {
            running = worker_of_a_fresh_slow_run(self.env).and_then(|pid| self.workers.slot_of(pid));
            running.is_some()
        });
        self.cut_off = running.unwrap_or(WITNESS);
        self.proxies[self.cut_off].pause();
        self.paused_at = Instant::now();
        let what = match running {
            Some(_) => "1 s at most into a run of the slow job",
            None => "(no slow run was starting: a partition without one)",
        };
        let (slot, pid) = (self.cut_off, self.workers.pid(self.cut_off));
        // Logged when it happened: finding the slow run took a while.
        self.log.push((self.began.elapsed(), format!("worker {slot} (pid {pid}) cut off (its proxy paused) {what}")));
    }

    fn end_the_partition(&mut self) {
        // However late the pause came, the partition lasts its full length.
        sleep_until(self.paused_at + PARTITION);
        self.proxies[self.cut_off].resume();
        let back = format!("worker {} back after {:.1?} (its proxy resumed)", self.cut_off, self.paused_at.elapsed());
        self.log.push((self.began.elapsed(), back));
    }
}

/// The worker running the slow job, if a run of it took its lock less
/// than a second ago (so most of its 8 s are still ahead).
fn worker_of_a_fresh_slow_run(env: &Env) -> Option<i32> {
    let taken = std::fs::metadata(env.path("slow.lock")).and_then(|m| m.modified()).ok()?;
    if taken.elapsed().ok()? > Duration::from_secs(1) {
        return None;
    }
    let holder: i32 = env.read("slow.lock").trim().parse().ok()?;
    let stat = std::fs::read_to_string(format!("/proc/{holder}/stat")).ok()?;
    let parent = stat.rsplit(')').next()?.split_whitespace().nth(1)?.parse().ok()?;
    crate::common::alive(holder).then_some(parent)
}
