//! What the storm and the soak share: a seeded random source (the seed is
//! printed, so a failing run can be replayed), the `max_concurrent = 1` job
//! that catches overlaps itself, reading a worker's memory and CPU from
//! `/proc`, and keeping a failed run's files for a post-mortem.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::Env;

/// SplitMix64: small, seedable, good enough to pick kill times and victims.
pub(crate) struct Rng(u64);

impl Rng {
    /// Seeded from `$var` when set (to replay a run), else from the clock.
    pub(crate) fn from_env(var: &str) -> (Rng, u64) {
        let seed = std::env::var(var).ok().and_then(|s| s.trim().parse().ok()).unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64 ^ u64::from(std::process::id()))
        });
        (Rng(seed), seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in `low..=high`.
    pub(crate) fn between(&mut self, low: Duration, high: Duration) -> Duration {
        let span = high.saturating_sub(low).as_millis() as u64;
        low + Duration::from_millis(self.next() % (span + 1))
    }
}

/// Seconds since the epoch, as bash's `$EPOCHREALTIME` prints them.
pub(crate) fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

/// The body of a short job (bash): `ID start|end PID PPID TIME` lines in
/// `@DIR@/marks` (PPID is the worker that ran it), 20 ms apart, so that a
/// kill can cut a run short.
pub(crate) const MARK: &str = r#"
echo "$TASKQ_JOB_ID start $$ $PPID $EPOCHREALTIME" >> @DIR@/marks
sleep 0.02
echo "$TASKQ_JOB_ID end $$ $PPID $EPOCHREALTIME" >> @DIR@/marks
"#;

/// One run of a job, as its marks tell it.
#[derive(Debug)]
pub(crate) struct Run {
    pub pid: i32,
    /// The worker that ran it (the shell's parent).
    pub worker: i32,
    pub started: f64,
    pub ended: Option<f64>,
}

/// The runs of each job id, in the order they started. A line still being
/// written (no newline yet) is left for the next look.
pub(crate) fn runs(env: &Env) -> HashMap<String, Vec<Run>> {
    let mut runs: HashMap<String, Vec<Run>> = HashMap::new();
    let marks = env.read("marks");
    let complete = marks.rfind('\n').map_or("", |end| &marks[..end]);
    for line in complete.lines() {
        let f: Vec<&str> = line.split(' ').collect();
        let [id, what, pid, worker, time] = f[..] else { panic!("a mark of five fields: {line:?}") };
        let (pid, worker, time) = (pid.parse().unwrap(), worker.parse().unwrap(), time.parse().unwrap());
        let of_job = runs.entry(id.to_string()).or_default();
        match what {
            "start" => of_job.push(Run { pid, worker, started: time, ended: None }),
            "end" => match of_job.iter_mut().rev().find(|r| r.pid == pid) {
                Some(run) => run.ended = Some(time),
                None => panic!("an end without its start: {line:?}"),
            },
            _ => panic!("an unknown mark: {line:?}"),
        }
    }
    runs
}

/// The jobs both chaos runs use: `mark`, and `exclusive` with
/// `max_concurrent = 1`, under bash and never failed as "worker lost"
/// however often killed; `more` adds a run's own jobs.
pub(crate) fn jobs_toml(more: &str) -> String {
    format!(
        r#"
[defaults]
shell = "/bin/bash"
max_redeliveries = 100

[jobs.mark]
command = '''{MARK}'''

[jobs.exclusive]
max_concurrent = 1
command = '''{}'''
{more}"#,
        exclusive("exclusive", "0.05")
    )
}

/// The body of a `max_concurrent = 1` job `name` (bash) that checks the
/// limit itself. It takes `@DIR@/NAME.lock` atomically (`ln` of a file
/// already holding its pid fails if the lock exists, as an O_EXCL create
/// does, but never shows an empty lock), holds it for `hold` (a `sleep`
/// argument) and lets go. A lock whose holder is alive and is a run of this
/// job is an overlap, appended to `@DIR@/overlaps`; one whose holder is
/// dead (a run a SIGKILL cut short), a zombie or an unrelated process that
/// reused the pid is stale and taken over. The `[n]` in the pattern keeps
/// grep's own command line from matching it. Before and after, it appends
/// `ID start|end PID PPID TIME` to `@DIR@/marks` (PPID is the worker that ran it).
pub(crate) fn exclusive(name: &str, hold: &str) -> String {
    format!(
        r#"
# {name}-run (the marker other runs look for in /proc/PID/cmdline)
marks=@DIR@/marks; lock=@DIR@/{name}.lock
echo "$TASKQ_JOB_ID start $$ $PPID $EPOCHREALTIME" >> $marks
echo $$ > $lock.$$
until ln $lock.$$ $lock 2>/dev/null; do
    holder=$(cat $lock 2>/dev/null)
    if [ -n "$holder" ] && [ "$holder" != $$ ] && grep -qa '{name}-ru[n]' /proc/$holder/cmdline 2>/dev/null; then
        echo "$TASKQ_JOB_ID overlaps $holder $EPOCHREALTIME" >> @DIR@/overlaps
        rm -f $lock.$$
        echo "$TASKQ_JOB_ID end $$ $PPID $EPOCHREALTIME" >> $marks
        exit 0
    fi
    rm -f $lock
done
rm -f $lock.$$
sleep {hold}
[ "$(cat $lock 2>/dev/null)" = $$ ] && rm -f $lock
echo "$TASKQ_JOB_ID end $$ $PPID $EPOCHREALTIME" >> $marks
"#
    )
}

/// A value in kB from `/proc/PID/status` (`VmRSS`, `VmHWM`), if the process lives.
pub(crate) fn status_kb(pid: i32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
    line.trim().trim_end_matches("kB").trim().parse().ok()
}

/// CPU time (user + system) a process has used so far.
pub(crate) fn cpu_time(pid: i32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let mut fields = stat.rsplit(')').next()?.split_whitespace();
    // After the command: state is field 3, utime 14 and stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    // SAFETY: sysconf only reads a constant of the system.
    let hz = u64::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok().filter(|&hz| hz > 0)?;
    Some(Duration::from_millis((utime + stime) * 1000 / hz))
}

/// Copies the files of a failed run's dir (logs, marks, jobs.toml) somewhere
/// that outlives the test, and returns where.
pub(crate) fn keep_evidence(dir: &Path, name: &str) -> PathBuf {
    let kept = std::env::temp_dir().join(name);
    let _ = std::fs::create_dir_all(&kept);
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().is_ok_and(|t| t.is_file()) {
            let _ = std::fs::copy(entry.path(), kept.join(entry.file_name()));
        }
    }
    kept
}
