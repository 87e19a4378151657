//! Which ticks to run: those due now, and what `catch_up` makes of the ones
//! missed while no beat ran. Pure functions of the schedule and the clock;
//! the broker's `fire` makes each tick happen once.

use std::time::Duration;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::config::CatchUp;
use crate::schedule::Schedule;

/// A tick at most this late is on time, not missed: it fires whatever
/// `catch_up` says (a beat waking a little late, or just starting).
pub const GRACE: Duration = Duration::from_secs(1);

/// At most this many missed ticks are run with `catch_up = "all"`.
pub const MAX_CATCH_UP: usize = 100;

/// The ticks after some instant, split by lateness.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Due {
    /// How many ticks were missed (later than `GRACE`).
    pub missed: u64,
    /// The most recent missed ticks, oldest first (at most `MAX_CATCH_UP`).
    pub recent: Vec<Timestamp>,
    /// Ticks due now, on time, oldest first.
    pub on_time: Vec<Timestamp>,
}

/// The ticks of `schedule` in `(after, now]`.
pub fn due(schedule: &Schedule, tz: &TimeZone, after: Timestamp, now: Timestamp) -> Due {
    let late_before = now - jiff::SignedDuration::try_from(GRACE).expect("GRACE fits");
    let mut out = Due::default();
    if let Schedule::Every(period) = schedule {
        // Arithmetic, not iteration: a week of a 1 s interval is 604,800 ticks.
        let p = i128::try_from(period.as_nanos()).unwrap_or(i128::MAX).max(1);
        let first = (after.as_nanosecond().div_euclid(p) + 1) * p;
        let last = now.as_nanosecond().div_euclid(p) * p;
        if first > last {
            return out;
        }
        let late_last = late_before.as_nanosecond().div_euclid(p) * p;
        if late_last >= first {
            out.missed = u64::try_from((late_last - first) / p + 1).unwrap_or(u64::MAX);
            let keep = i128::from(out.missed.min(MAX_CATCH_UP as u64));
            out.recent = (0..keep).rev().filter_map(|k| Timestamp::from_nanosecond(late_last - k * p).ok()).collect();
        }
        let on_time_first = first.max(late_last + p);
        let mut t = on_time_first;
        while t <= last {
            out.on_time.extend(Timestamp::from_nanosecond(t).ok());
            t += p;
        }
        return out;
    }
    let mut cursor = after;
    while let Some(next) = schedule.next_after(cursor, tz) {
        let t = next.timestamp();
        if t > now {
            break;
        }
        if t <= late_before {
            out.missed += 1;
            out.recent.push(t);
            if out.recent.len() > MAX_CATCH_UP {
                out.recent.remove(0);
            }
        } else {
            out.on_time.push(t);
        }
        cursor = t;
    }
    out
}

/// What to do with missed ticks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Missed ticks to run, oldest first.
    pub run: Vec<Timestamp>,
    /// Missed ticks not run, counted as skipped.
    pub skipped: u64,
    /// The latest missed tick, to record as handled when none is run.
    pub record: Option<Timestamp>,
}

/// `skip`: none run (like cron); `once`: the latest, once (like anacron);
/// `all`: each, at most the most recent `MAX_CATCH_UP`.
pub fn plan(policy: CatchUp, due: &Due) -> Plan {
    let latest = due.recent.last().copied();
    match policy {
        CatchUp::Skip => Plan { run: Vec::new(), skipped: due.missed, record: latest },
        CatchUp::Once => {
            Plan { run: latest.into_iter().collect(), skipped: due.missed.saturating_sub(1), record: None }
        }
        CatchUp::All => {
            let run = due.recent.clone();
            Plan { skipped: due.missed - run.len() as u64, run, record: None }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn every_splits_missed_and_on_time_ticks() {
        let s = Schedule::Every(Duration::from_secs(10));
        let d = due(&s, &TimeZone::UTC, t("2026-01-01T00:00:00Z"), t("2026-01-01T00:00:40.5Z"));
        assert_eq!(d.missed, 3);
        assert_eq!(d.recent, [t("2026-01-01T00:00:10Z"), t("2026-01-01T00:00:20Z"), t("2026-01-01T00:00:30Z")]);
        assert_eq!(d.on_time, [t("2026-01-01T00:00:40Z")]);
        let none = due(&s, &TimeZone::UTC, t("2026-01-01T00:00:40Z"), t("2026-01-01T00:00:45Z"));
        assert_eq!(none, Due::default());
    }

    #[test]
    fn a_long_outage_keeps_only_the_recent_ticks() {
        let s = Schedule::Every(Duration::from_secs(1));
        let d = due(&s, &TimeZone::UTC, t("2026-01-01T00:00:00Z"), t("2026-01-08T00:00:00Z"));
        assert_eq!(d.missed, 7 * 86_400 - 1);
        assert_eq!(d.recent.len(), MAX_CATCH_UP);
        assert_eq!(d.recent.last(), Some(&t("2026-01-07T23:59:59Z")));
        assert_eq!(d.on_time, [t("2026-01-08T00:00:00Z")]);
    }

    #[test]
    fn cron_ticks_are_split_the_same_way() {
        let s = Schedule::cron("*/15 * * * *").unwrap();
        let d = due(&s, &TimeZone::UTC, t("2026-01-01T00:00:00Z"), t("2026-01-01T01:00:00.2Z"));
        assert_eq!(d.missed, 3);
        assert_eq!(d.recent, [t("2026-01-01T00:15:00Z"), t("2026-01-01T00:30:00Z"), t("2026-01-01T00:45:00Z")]);
        assert_eq!(d.on_time, [t("2026-01-01T01:00:00Z")]);
    }

    #[test]
    fn catch_up_policies() {
        let d = Due {
            missed: 150,
            recent: (0..100).map(|i| Timestamp::from_second(i).unwrap()).collect(),
            on_time: vec![],
        };
        let skip = plan(CatchUp::Skip, &d);
        assert_eq!((skip.run.len(), skip.skipped, skip.record), (0, 150, Some(Timestamp::from_second(99).unwrap())));
        let once = plan(CatchUp::Once, &d);
        assert_eq!((once.run, once.skipped), (vec![Timestamp::from_second(99).unwrap()], 149));
        let all = plan(CatchUp::All, &d);
        assert_eq!((all.run.len(), all.skipped), (100, 50));
        assert_eq!(plan(CatchUp::Once, &Due::default()), Plan { run: vec![], skipped: 0, record: None });
    }
}
