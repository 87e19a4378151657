//! The Markdown report (what `scripts/soak` writes to docs/soak.md) and the
//! one-line summary on stderr. It only writes up what the other parts found.

use std::fmt::Write as _;
use std::time::Duration;

use super::account::Account;
use super::enqueue::Enqueued;
use super::workers::{Idle, Series};
use super::{PARTITION, REDIS_DOWN, RSS_GROWTH_MAX, Settings, WITNESS};
use crate::common::RedisServer;

/// The version the server reports, for the report's setup.
pub(super) fn redis_version(server: &RedisServer) -> String {
    let info = server.cmd(&["INFO", "server"]);
    info.lines().find_map(|l| l.strip_prefix("redis_version:")).unwrap_or("?").trim().to_string()
}

/// Everything the report tells.
pub(super) struct Report<'a> {
    pub(super) settings: &'a Settings,
    /// When the run began, as the report shows it.
    pub(super) date: &'a str,
    pub(super) redis_version: &'a str,
    /// When the run began, in seconds since the epoch, as the marks show times.
    pub(super) began_secs: f64,
    /// How long the load lasted, and the drain after it.
    pub(super) loaded: Duration,
    pub(super) drain: Duration,
    pub(super) enqueued: &'a Enqueued,
    pub(super) account: &'a Account,
    /// (offset, what was done) for each fault.
    pub(super) faults: &'a [(Duration, String)],
    pub(super) series: &'a [Series],
    pub(super) idle: &'a [Idle],
    pub(super) problems: &'a [String],
}

// The text goes to a String: `writeln!` cannot fail, hence `let _`.
impl Report<'_> {
    /// Writes the report to `TASKQ_SOAK_REPORT` (stdout if unset or empty)
    /// and a summary line to stderr.
    pub(super) fn publish(&self) {
        let r = self.render();
        match std::env::var("TASKQ_SOAK_REPORT") {
            Ok(path) if !path.is_empty() => std::fs::write(&path, &r).unwrap_or_else(|e| panic!("writing {path}: {e}")),
            _ => println!("{r}"),
        }
        let a = self.account;
        eprintln!(
            "soak: {}: enqueued {}, succeeded {}, duplicated {}, lost {}, overlaps {}",
            self.verdict(),
            self.enqueued.ids.len(),
            a.succeeded,
            a.reruns.duplicated,
            a.lost.len(),
            a.overlaps.len()
        );
    }

    fn verdict(&self) -> &'static str {
        if self.problems.is_empty() { "PASS" } else { "FAIL" }
    }

    fn render(&self) -> String {
        let mut r = String::new();
        self.setup(&mut r);
        self.results(&mut r);
        self.reruns(&mut r);
        self.lost_and_overlaps(&mut r);
        self.faults(&mut r);
        self.memory(&mut r);
        self.idle(&mut r);
        self.logged(&mut r);
        self.problems(&mut r);
        r
    }

    /// The title, what the soak is, and how this run was set up.
    fn setup(&self, r: &mut String) {
        let Settings { minutes, rate, seed } = self.settings;
        let build = if cfg!(debug_assertions) { "debug" } else { "release" };
        let revision = std::env::var("TASKQ_SOAK_REVISION").unwrap_or_else(|_| "unknown".into());
        let _ = writeln!(r, "# Soak test: {}\n", self.verdict());
        let _ = writeln!(
            r,
            "Minutes of steady load on Redis with worker SIGKILLs, a Redis crash and a network partition, then an \
             account of every job (`tests/faults/soak/`). `scripts/soak [MINUTES]` runs it again and rewrites this \
             file. It fails if a job is lost, a `max_concurrent = 1` run overlaps another, a worker exits or spins, or \
             a worker never killed grows its RSS by more than {:.0}%.\n",
            RSS_GROWTH_MAX * 100.0
        );
        let _ = writeln!(r, "- Date: {}", self.date);
        let _ = writeln!(r, "- Machine: {}", machine());
        let _ = writeln!(
            r,
            "- Command: `scripts/soak {minutes}` ({build} build; seed {seed}: `TASKQ_SOAK_SEED={seed}` replays the faults)"
        );
        let _ = writeln!(r, "- Revision: {revision}");
        let _ = writeln!(
            r,
            "- Broker: Redis {} (AOF, `appendfsync always`); each worker reaches it through a TCP proxy of its own",
            self.redis_version
        );
        let _ = writeln!(
            r,
            "- Load: {minutes} min of `mark` jobs at {rate}/s (bash: two appends 20 ms apart), one `exclusive` job a second \
             (`max_concurrent = 1`, 50 ms holding an O_EXCL-style lock file that catches overlaps) and one `slow` job every \
             10 s (the same, holding its own lock 8 s: longer than a lease); 3 workers `taskq run -c 4 --lease 5s`; \
             `max_redeliveries = 100`"
        );
        let _ = writeln!(
            r,
            "- Faults: a SIGKILL of a random worker (not worker {WITNESS}) every 20-40 s, restarted at once; \
             Redis SIGKILLed at 35% of the run and started again {REDIS_DOWN:?} later; at 65%, the worker that just \
             started a `slow` run cut off for {PARTITION:?} (its proxy paused: a silent network) while the others go on\n"
        );
    }

    /// The counts, and how the load and the drain went.
    fn results(&self, r: &mut String) {
        let (a, e) = (self.account, self.enqueued);
        let _ = writeln!(r, "## Results\n");
        let _ = writeln!(r, "| enqueued | succeeded | duplicated | lost | overlaps |");
        let _ = writeln!(r, "|---:|---:|---:|---:|---:|");
        let _ = writeln!(
            r,
            "| {} | {} | {} | {} | {} |\n",
            e.ids.len(),
            a.succeeded,
            a.reruns.duplicated,
            a.lost.len(),
            a.overlaps.len()
        );
        let _ = writeln!(
            r,
            "- Load phase {}, drain {:.1?} after it ({})",
            mmss(self.loaded),
            self.drain,
            if a.drained { "complete" } else { "TIMED OUT" }
        );
        let _ = writeln!(
            r,
            "- Enqueue: {} `enqueue --batch` calls, the slowest {:.1?}; {} failed and were sent again{}; {} jobs given up on",
            e.calls,
            e.slowest,
            e.failed_calls,
            e.first_failure.as_deref().map_or(String::new(), |w| format!(" (the first: `{w}`)")),
            e.given_up
        );
        let _ = writeln!(
            r,
            "- Jobs that ran but were never reported enqueued (an enqueue failed after storing): {}",
            a.unknown
        );
    }

    /// Why jobs ran more than once, with the runs no kill explains.
    fn reruns(&self, r: &mut String) {
        let x = &self.account.reruns;
        let _ = writeln!(
            r,
            "- Duplicated: {} jobs ran more than once (at most {} times). Of the runs followed by another: \
             {} were cut short by a SIGKILL of their worker (no end mark), {} were stopped by a worker \
             still alive (its lease could not be renewed), {} completed on a worker killed before it \
             recorded the outcome, {} completed on a worker never killed (the outcome not recorded across the Redis crash \
             or the partition)",
            x.duplicated,
            x.most_runs,
            x.cut_killed,
            x.cut_live,
            x.completed_killed,
            x.completed_live.len()
        );
        for (id, end) in x.completed_live.iter().take(10) {
            let _ = writeln!(r, "  - `{id}` ended at {}", self.offset(*end));
        }
    }

    fn lost_and_overlaps(&self, r: &mut String) {
        let a = self.account;
        for id in a.lost.iter().take(20) {
            let record = a.records.get(id).cloned().unwrap_or_default();
            let _ = writeln!(
                r,
                "  - lost: `{id}`: state {:?}, attempts {}, error {:?}",
                record.state, record.attempts, record.error
            );
        }
        // `ID overlaps HOLDER TIME`: a run of job ID found a live run (pid HOLDER) holding the lock.
        for line in a.overlaps.iter().take(10) {
            let f: Vec<&str> = line.split(' ').collect();
            if let [id, _, holder, time] = f[..] {
                let at = self.offset(time.parse::<f64>().unwrap_or(0.0));
                let worker = a.runs.values().flatten().find(|r| r.pid.to_string() == holder).map_or(0, |r| r.worker);
                let _ = writeln!(
                    r,
                    "  - overlap at {at}: a run of `{id}` found pid {holder} (run by worker pid {worker}) holding the lock"
                );
            }
        }
    }

    fn faults(&self, r: &mut String) {
        let _ = writeln!(r, "\n## Faults\n");
        let _ = writeln!(r, "| at | what |\n|---|---|");
        for (at, what) in self.faults {
            let _ = writeln!(r, "| {} | {what} |", mmss(*at));
        }
    }

    fn memory(&self, r: &mut String) {
        let _ = writeln!(r, "\n## Worker memory (VmRSS, MiB, every 30 s)\n");
        let _ = writeln!(
            r,
            "A restarted worker starts a new series. Growth compares the mean of the first and last thirds of a"
        );
        let _ = writeln!(
            r,
            "series (its first sample left out) for workers never killed; the limit is {:.0}%.\n",
            RSS_GROWTH_MAX * 100.0
        );
        let _ = writeln!(r, "| worker | pid | from | to | samples |\n|---|---:|---|---|---|");
        for s in self.series {
            let to = s.killed.map_or_else(|| "end".to_string(), |k| format!("{} (killed)", mmss(k)));
            let samples: Vec<String> = s.rss.iter().map(|&(_, kb)| format!("{:.1}", kb as f64 / 1024.0)).collect();
            let _ = writeln!(r, "| {} | {} | {} | {to} | {} |", s.slot, s.pid, mmss(s.started), samples.join(" "));
        }
        let _ = writeln!(r);
        for g in &self.account.growth {
            let _ = writeln!(
                r,
                "- pid {}: {:.1} MiB early, {:.1} MiB late: {:+.1}%",
                g.pid,
                g.early / 1024.0,
                g.late / 1024.0,
                g.by * 100.0
            );
        }
    }

    fn idle(&self, r: &mut String) {
        let _ = writeln!(r, "\n## Idle after the drain\n");
        for worker in self.idle {
            let _ = writeln!(r, "- pid {}: {:.1}% of a core over 2 s", worker.pid, worker.share * 100.0);
        }
    }

    fn logged(&self, r: &mut String) {
        let _ = writeln!(r, "\n## What the workers logged (besides job started/succeeded)\n");
        let _ = writeln!(r, "| level | message | count |\n|---|---|---:|");
        for ((level, text), count) in &self.account.messages {
            let _ = writeln!(r, "| {level} | {} | {count} |", text.replace('|', "\\|"));
        }
    }

    fn problems(&self, r: &mut String) {
        if !self.problems.is_empty() {
            let _ = writeln!(r, "\n## Problems\n");
            for p in self.problems {
                let _ = writeln!(r, "- {p}");
            }
        }
    }

    /// A time from the marks (seconds since the epoch) as `m:ss` into the run.
    fn offset(&self, secs: f64) -> String {
        mmss(Duration::from_secs_f64((secs - self.began_secs).max(0.0)))
    }
}

fn mmss(d: Duration) -> String {
    format!("{}:{:02}", d.as_secs() / 60, d.as_secs() % 60)
}

/// The machine the soak ran on, for the report's setup.
fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo.lines().find_map(|l| l.strip_prefix("model name")?.split(':').nth(1)).unwrap_or("?").trim();
    let memory = status_kb_in("/proc/meminfo", "MemTotal").map_or(String::from("?"), |kb| format!("{} GiB", kb >> 20));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!("{cores} cores ({model}), {memory} RAM, Linux {}", kernel.trim())
}

/// A `Field: N kB` value from a /proc file such as /proc/meminfo.
fn status_kb_in(file: &str, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(file).ok()?;
    let line = text.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}
