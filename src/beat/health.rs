//! A schedule's health, as `inspect` flags it: its last run failed, or no run
//! succeeded within two periods (a dead man's switch: it also catches a beat
//! or the workers not running at all).

use std::fmt;

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::broker::ScheduleState;
use crate::schedule::Schedule;

/// Something wrong with a schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alert {
    LastRunFailed,
    NoRecentSuccess,
}

impl fmt::Display for Alert {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Alert::LastRunFailed => "last run failed",
            Alert::NoRecentSuccess => "no success within two periods",
        })
    }
}

/// What is wrong with an entry whose broker state is `state` at `now`;
/// nothing for an entry beat has not handled yet.
pub fn alerts(state: Option<&ScheduleState>, schedule: &Schedule, tz: &TimeZone, now: Timestamp) -> Vec<Alert> {
    let Some(state) = state else { return Vec::new() };
    let mut alerts = Vec::new();
    if let Some(failed) = state.last_failure
        && state.last_success.is_none_or(|ok| ok < failed)
    {
        alerts.push(Alert::LastRunFailed);
    }
    // Two periods: the run of the tick before the latest one has had a whole
    // period to succeed. Only an entry that has seen two ticks can tell.
    let latest = schedule.last_at_or_before(now, tz);
    let before = latest.and_then(|t| t.checked_sub(jiff::SignedDuration::from_nanos(1)).ok());
    let earlier = before.and_then(|t| schedule.last_at_or_before(t, tz));
    if let Some(earlier) = earlier
        && state.fired + state.skipped >= 2
        && state.last_success.is_none_or(|ok| ok < earlier)
    {
        alerts.push(Alert::NoRecentSuccess);
    }
    alerts
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn state(fired: u64, ok: Option<&str>, failed: Option<&str>) -> ScheduleState {
        ScheduleState {
            entry: "backup".into(),
            spec: "30 2 * * * (UTC)".into(),
            last_tick: at("2026-03-10T02:30:00Z"),
            last_job: None,
            fired,
            skipped: 0,
            last_skip: None,
            last_success: ok.map(at),
            last_failure: failed.map(at),
        }
    }

    #[test]
    fn flags_a_failed_last_run_and_a_missing_success() {
        let daily = Schedule::cron("30 2 * * *").unwrap();
        let now = at("2026-03-10T12:00:00Z");
        let cases = [
            // Succeeded last night: fine.
            (state(5, Some("2026-03-10T02:31:00Z"), Some("2026-03-01T02:31:00Z")), vec![]),
            // Failed last night, succeeded the night before: within two periods.
            (state(5, Some("2026-03-09T02:31:00Z"), Some("2026-03-10T02:31:00Z")), vec![Alert::LastRunFailed]),
            // Nothing for two nights (no worker ran them, say).
            (state(5, Some("2026-03-08T02:31:00Z"), None), vec![Alert::NoRecentSuccess]),
            // Failing for days.
            (
                state(5, Some("2026-03-01T02:31:00Z"), Some("2026-03-10T02:31:00Z")),
                vec![Alert::LastRunFailed, Alert::NoRecentSuccess],
            ),
            // New: one tick so far, not run yet. Too early to tell.
            (state(1, None, None), vec![]),
            // Never succeeded, two ticks in.
            (state(2, None, None), vec![Alert::NoRecentSuccess]),
        ];
        for (s, want) in cases {
            assert_eq!(alerts(Some(&s), &daily, &TimeZone::UTC, now), want, "{s:?}");
        }
        assert!(alerts(None, &daily, &TimeZone::UTC, now).is_empty(), "an entry beat has not seen");
    }

    #[test]
    fn two_periods_of_an_interval() {
        let every = Schedule::Every(Duration::from_secs(60));
        let s = |ok| state(10, Some(ok), None);
        let now = at("2026-03-10T12:00:30Z");
        // Ticks at 12:00 and 11:59: the 11:59 run had until 12:00 to succeed.
        assert!(alerts(Some(&s("2026-03-10T11:59:10Z")), &every, &TimeZone::UTC, now).is_empty());
        assert_eq!(alerts(Some(&s("2026-03-10T11:58:50Z")), &every, &TimeZone::UTC, now), [Alert::NoRecentSuccess]);
    }
}
