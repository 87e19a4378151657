//! Per-job statistics: how attempts ended and how long they ran, counted in
//! time buckets by the same atomic step that records each outcome (finish,
//! a take that finds a job expired, the recovery of a lost worker's job).
//!
//! Counters, not a log: each ending adds one to its job's bucket of the
//! minute and of the hour (Redis: of the minute, added to the hour once the
//! minute is over), and its run time to a histogram of quarter powers of two
//! of milliseconds (p95 within 19 %), so the hot path pays a few increments
//! whatever the rate, and the store holds at most 60 minute and 25 hour
//! buckets per job. Both brokers hand back the same cells; `aggregate` reads
//! them the same way.

use std::collections::BTreeMap;
use std::time::Duration;

/// A bucket of one minute, and of one hour, in ms.
pub const MINUTE_MS: i64 = 60_000;
pub const HOUR_MS: i64 = 3_600_000;
/// Minute buckets read for "the last hour", hour buckets for "the last 24 h"
/// (the one under way and the ones before it).
pub const MINUTES: i64 = 60;
pub const HOURS: i64 = 24;

/// How an attempt (or a job that never started) ended, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tally {
    // In the order of `ALL`: `as usize` indexes `JobStats::minutes`.
    Succeeded,
    Failed,
    /// Failed, to run again.
    Retried,
    /// Not started before its expiry.
    Expired,
    Revoked,
    /// Its worker was lost; the job went back to its queue.
    Lost,
}

impl Tally {
    pub const ALL: [Tally; 6] =
        [Tally::Succeeded, Tally::Failed, Tally::Retried, Tally::Expired, Tally::Revoked, Tally::Lost];

    pub fn as_str(self) -> &'static str {
        match self {
            Tally::Succeeded => "succeeded",
            Tally::Failed => "failed",
            Tally::Retried => "retried",
            Tally::Expired => "expired",
            Tally::Revoked => "revoked",
            Tally::Lost => "lost",
        }
    }

    fn parse(s: &str) -> Option<Tally> {
        Tally::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// The histogram bucket of a run time: ⌊4·log₂(ms + 1)⌋.
pub fn duration_bucket(ms: u64) -> u32 {
    ((ms as f64 + 1.0).log2() * 4.0).floor() as u32
}

/// The longest run time (ms) histogram bucket `k` holds.
fn bucket_top_ms(k: u32) -> f64 {
    2f64.powf(f64::from(k + 1) / 4.0) - 1.0
}

/// One counter as a broker stores it: job `job`'s `field` in the bucket
/// `bucket` (Unix ms / the bucket's length) of minutes or of hours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cell {
    pub hourly: bool,
    pub bucket: i64,
    pub job: String,
    pub field: String,
    pub n: u64,
}

/// The field names a broker stores: a `Tally`'s name, `ms` (the run times'
/// sum), or `d<k>` (runs in histogram bucket k).
pub const SUM_FIELD: &str = "ms";

pub fn histogram_field(ms: u64) -> String {
    format!("d{}", duration_bucket(ms))
}

/// What one window (the last hour, the last 24 h) holds for one job.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Window {
    pub counts: BTreeMap<Tally, u64>,
    /// Attempts whose run time was counted, and its sum (ms).
    pub timed: u64,
    pub total_ms: u64,
    /// Runs per histogram bucket.
    pub histogram: BTreeMap<u32, u64>,
}

impl Window {
    pub fn count(&self, t: Tally) -> u64 {
        self.counts.get(&t).copied().unwrap_or(0)
    }

    pub fn mean(&self) -> Option<Duration> {
        (self.timed > 0).then(|| Duration::from_secs_f64(self.total_ms as f64 / self.timed as f64 / 1000.0))
    }

    /// The 95th percentile run time: the top of the histogram bucket that
    /// holds it.
    pub fn p95(&self) -> Option<Duration> {
        let rank = (self.timed * 95).div_ceil(100).max(1);
        let mut seen = 0;
        for (&k, &n) in &self.histogram {
            seen += n;
            if seen >= rank {
                return Some(Duration::from_secs_f64(bucket_top_ms(k) / 1000.0));
            }
        }
        None
    }

    fn add(&mut self, field: &str, n: u64) {
        if let Some(t) = Tally::parse(field) {
            *self.counts.entry(t).or_default() += n;
        } else if field == SUM_FIELD {
            self.total_ms += n;
        } else if let Some(k) = field.strip_prefix('d').and_then(|k| k.parse().ok()) {
            *self.histogram.entry(k).or_default() += n;
            self.timed += n;
        }
    }
}

/// One job's statistics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobStats {
    pub job: String,
    pub hour: Window,
    pub day: Window,
    /// Per minute of the last hour, oldest first: the count of each
    /// `Tally`, in the order of `Tally::ALL`.
    pub minutes: Vec<[u64; 6]>,
    /// The Unix minute of `minutes[0]`: the window as the broker's clock
    /// put it when these were read, which a caller's own reading of the
    /// clock may place a minute earlier.
    pub first_minute: i64,
    /// Per hour of the last 24 h, oldest first, the same way.
    pub hours: Vec<[u64; 6]>,
}

impl JobStats {
    /// Per minute of the last hour, oldest first: attempts that succeeded,
    /// and that failed (failed, retried, expired or lost).
    pub fn per_minute(&self) -> Vec<(u64, u64)> {
        good_and_bad(&self.minutes)
    }

    /// Per hour of the last 24 h, oldest first, the same way.
    pub fn per_hour(&self) -> Vec<(u64, u64)> {
        good_and_bad(&self.hours)
    }
}

fn good_and_bad(buckets: &[[u64; 6]]) -> Vec<(u64, u64)> {
    let n = |m: &[u64; 6], t: Tally| m[t as usize];
    buckets
        .iter()
        .map(|m| {
            let bad = n(m, Tally::Failed) + n(m, Tally::Retried) + n(m, Tally::Expired) + n(m, Tally::Lost);
            (n(m, Tally::Succeeded), bad)
        })
        .collect()
}

/// The minute buckets of the last hour and the hour buckets of the last
/// 24 h at `now` (Unix ms): `(minutes, hours)`, each an inclusive range.
pub fn buckets(now: i64) -> (std::ops::RangeInclusive<i64>, std::ops::RangeInclusive<i64>) {
    let (m, h) = (now.div_euclid(MINUTE_MS), now.div_euclid(HOUR_MS));
    (m - MINUTES + 1..=m, h - HOURS + 1..=h)
}

/// Every job's statistics at `now` (the broker's clock, Unix ms) from the
/// cells a broker holds, by job name; cells outside the windows are left out.
pub fn aggregate(cells: impl IntoIterator<Item = Cell>, now: i64) -> Vec<JobStats> {
    let (minutes, hours) = buckets(now);
    let mut jobs: BTreeMap<String, JobStats> = BTreeMap::new();
    for c in cells {
        let in_window = if c.hourly { hours.contains(&c.bucket) } else { minutes.contains(&c.bucket) };
        if !in_window {
            continue;
        }
        let s = jobs.entry(c.job.clone()).or_insert_with(|| JobStats {
            job: c.job.clone(),
            minutes: vec![[0; 6]; MINUTES as usize],
            first_minute: *minutes.start(),
            hours: vec![[0; 6]; HOURS as usize],
            ..JobStats::default()
        });
        if c.hourly {
            s.day.add(&c.field, c.n);
            if let Some(t) = Tally::parse(&c.field) {
                s.hours[(c.bucket - hours.start()) as usize][t as usize] += c.n;
            }
            continue;
        }
        s.hour.add(&c.field, c.n);
        if let Some(t) = Tally::parse(&c.field) {
            s.minutes[(c.bucket - minutes.start()) as usize][t as usize] += c.n;
        }
    }
    jobs.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cell(hourly: bool, bucket: i64, job: &str, field: &str, n: u64) -> Cell {
        Cell { hourly, bucket, job: job.into(), field: field.into(), n }
    }

    #[test]
    fn histogram_buckets_bound_a_run_time_within_a_fifth() {
        for ms in [0u64, 1, 7, 100, 999, 12_345, 3_600_000] {
            let top = bucket_top_ms(duration_bucket(ms));
            assert!(top >= ms as f64 && top <= (ms as f64 + 1.0) * 1.19 + 0.5, "{ms} → {top}");
        }
    }

    #[test]
    fn windows_count_their_own_buckets_and_the_p95_is_the_slow_tail() {
        let now = 100 * HOUR_MS + 30 * MINUTE_MS;
        let m = now / MINUTE_MS;
        let h = now / HOUR_MS;
        let mut cells = vec![
            cell(false, m, "a", "succeeded", 19),
            cell(false, m - 59, "a", "failed", 1),
            cell(false, m - 60, "a", "failed", 100),
            cell(true, h, "a", "succeeded", 19),
            cell(true, h - 23, "a", "failed", 5),
            cell(true, h - 24, "a", "failed", 100),
            cell(false, m, "a", "ms", 19 * 10 + 1000),
            cell(false, m, "a", &histogram_field(10), 19),
            cell(false, m, "a", &histogram_field(1000), 1),
        ];
        cells.push(cell(false, m, "b", "expired", 2));
        let stats = aggregate(cells, now);
        assert_eq!(stats.len(), 2);
        let a = &stats[0];
        assert_eq!((a.hour.count(Tally::Succeeded), a.hour.count(Tally::Failed)), (19, 1));
        assert_eq!((a.day.count(Tally::Succeeded), a.day.count(Tally::Failed)), (19, 5));
        assert_eq!(a.hour.mean(), Some(Duration::from_micros(59_500)));
        let p95 = a.hour.p95().expect("timed runs");
        assert!(p95 >= Duration::from_millis(10) && p95 < Duration::from_millis(13), "{p95:?}");
        assert_eq!(a.per_minute()[59], (19, 0));
        assert_eq!(a.per_minute()[0], (0, 1));
        assert_eq!(stats[1].per_minute()[59], (0, 2), "an expiry counts as a failure in the series");
        assert_eq!(stats[1].minutes[59][Tally::Expired as usize], 2);
        assert_eq!(stats[1].first_minute + 59, m, "the window's last minute is the one `now` falls in");
    }
}
