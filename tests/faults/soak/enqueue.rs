//! The steady load: jobs enqueued at a set rate through the real CLI, a
//! batch a tick, and sent again when the broker refuses them, as a careful
//! script would. What became of them is `account`'s business.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::sleep_until;
use crate::common::Env;

/// The enqueuer sends what is due every tick, in one `enqueue --batch`.
const TICK: Duration = Duration::from_millis(200);
/// The other jobs, and how many of each are enqueued a second.
const EVERY_SECOND: [(&str, f64); 2] = [("exclusive", 1.0), ("slow", 0.1)];
/// How long the enqueuer tries one batch again before giving up on it.
pub(super) const GIVE_UP: Duration = Duration::from_secs(60);

/// What the enqueuer did.
#[derive(Default)]
pub(super) struct Enqueued {
    pub(super) ids: Vec<String>,
    /// `enqueue` calls that failed (and were tried again, as a script would).
    pub(super) failed_calls: usize,
    pub(super) first_failure: Option<String>,
    /// Jobs given up on after failing for `GIVE_UP`.
    pub(super) given_up: usize,
    pub(super) calls: usize,
    pub(super) slowest: Duration,
}

/// One job's pace: its name, how many a second, and how many sent so far.
struct Pace<'a> {
    job: &'a str,
    per_second: f64,
    sent: usize,
}

/// Enqueues `rate` short jobs a second, and the `max_concurrent = 1` jobs
/// as `EVERY_SECOND` says, until `stop`. A batch the broker refused (exit 69) is sent
/// again, as a careful script would; a call held up by an outage sends
/// what fell due meanwhile in the next one, so the average rate holds.
pub(super) fn enqueue_steadily(env: &Env, rate: f64, stop: &AtomicBool) -> Enqueued {
    let began = Instant::now();
    let mut done = Enqueued::default();
    let mut paces = vec![Pace { job: "mark", per_second: rate, sent: 0 }];
    paces.extend(EVERY_SECOND.iter().map(|&(job, per_second)| Pace { job, per_second, sent: 0 }));
    let mut tick = 0u32;
    while !stop.load(Ordering::SeqCst) {
        let (lines, count) = fallen_due(&mut paces, began.elapsed().as_secs_f64());
        if count > 0 {
            enqueue_batch(env, &lines, count, &mut done);
        }
        tick += 1;
        // Pacing the load, not waiting for anything.
        sleep_until(began + TICK * tick);
    }
    done
}

/// The jobs that fell due by `elapsed` seconds and were not sent yet, as
/// `enqueue --batch` lines, and how many; counts them as sent.
fn fallen_due(paces: &mut [Pace], elapsed: f64) -> (String, usize) {
    let mut lines = String::new();
    let mut count = 0;
    for pace in paces {
        // The first of each goes at once.
        let due = (pace.per_second * elapsed) as usize + 1;
        for _ in pace.sent..due {
            lines.push_str(&format!("{{\"job\":\"{}\"}}\n", pace.job));
        }
        count += due - pace.sent;
        pace.sent = due;
    }
    (lines, count)
}

/// Sends one batch of `count` jobs until it is taken or `GIVE_UP` passes.
fn enqueue_batch(env: &Env, lines: &str, count: usize, done: &mut Enqueued) {
    let first = Instant::now();
    loop {
        let mut cmd = env.command();
        cmd.args(["enqueue", "--batch", "-"]);
        let sent = Instant::now();
        let out = assert_cmd::Command::from_std(cmd).timeout(Duration::from_secs(120)).write_stdin(lines).output();
        done.slowest = done.slowest.max(sent.elapsed());
        done.calls += 1;
        let why = match out {
            Ok(out) if out.status.success() => {
                done.ids.extend(String::from_utf8_lossy(&out.stdout).lines().map(str::to_string));
                return;
            }
            Ok(out) => format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr).trim()),
            Err(e) => e.to_string(),
        };
        done.failed_calls += 1;
        done.first_failure.get_or_insert(why);
        if first.elapsed() > GIVE_UP {
            done.given_up += count;
            return;
        }
        // Pacing the retries of a script, not waiting for anything.
        std::thread::sleep(Duration::from_millis(200));
    }
}
