//! When a scheduled job fires: cron expressions evaluated in a time zone with
//! the DST rules of the Open Cron Pattern Spec (croner implements them), and
//! `every` intervals aligned to whole multiples since the Unix epoch, so every
//! beat on every host computes the same ticks.

use std::time::Duration;

use croner::Cron;
use croner::parser::{CronParser, Seconds, Year};
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

/// A job's schedule.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// A cron expression as written, and its parsed form.
    Cron { expr: String, cron: Box<Cron> },
    /// `every = D`.
    Every(Duration),
}

impl Schedule {
    /// Parses a cron expression: 5 fields (minute first), 6 fields (seconds
    /// first) or an @-macro.
    pub fn cron(expr: &str) -> Result<Schedule, String> {
        let trimmed = expr.trim();
        let normalized = match trimmed.to_ascii_lowercase().as_str() {
            "@midnight" => "@daily".to_string(),
            "@reboot" => {
                return Err(
                    "@reboot is not a schedule taskq can fire: run the command from a systemd unit at boot instead"
                        .into(),
                );
            }
            m if m.starts_with('@')
                && !["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@hourly"].contains(&m) =>
            {
                return Err(format!(
                    "unknown macro \"{trimmed}\": use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly"
                ));
            }
            _ => trimmed.to_string(),
        };
        let fields = normalized.split_whitespace().count();
        if !normalized.starts_with('@') && !(5..=6).contains(&fields) {
            return Err(format!(
                "cron expression \"{trimmed}\" has {fields} fields: use 5 (minute hour day month weekday) or 6 (seconds first)"
            ));
        }
        if !normalized.starts_with('@') {
            check_names(trimmed, &normalized)?;
        }
        let parser = CronParser::builder().seconds(Seconds::Optional).year(Year::Disallowed).build();
        let cron = parser.parse(&normalized).map_err(|e| format!("invalid cron expression \"{trimmed}\": {e}"))?;
        let schedule = Schedule::Cron { expr: trimmed.to_string(), cron: Box::new(cron) };
        if schedule.next_after(Timestamp::now(), &TimeZone::UTC).is_none() {
            return Err(format!("cron expression \"{trimmed}\" never fires: no date matches it"));
        }
        Ok(schedule)
    }

    /// `every = D`, refused when its first tick would be past the last
    /// instant taskq can represent (the year 9999).
    pub fn every(period: Duration) -> Result<Schedule, String> {
        let schedule = Schedule::Every(period);
        match schedule.next_after(Timestamp::now(), &TimeZone::UTC) {
            Some(_) => Ok(schedule),
            None => Err(format!(
                "\"every\" = {} never fires: its first tick would be past the year 9999",
                humantime::format_duration(period)
            )),
        }
    }

    /// The first fire strictly after `after`, in `tz`.
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Zoned> {
        match self {
            Schedule::Cron { cron, .. } => cron.find_next_occurrence(&after.to_zoned(tz.clone()), false).ok(),
            Schedule::Every(period) => {
                let period_ns = i128::try_from(period.as_nanos()).ok().filter(|p| *p > 0)?;
                let now_ns = after.as_nanosecond();
                let next = (now_ns.div_euclid(period_ns) + 1) * period_ns;
                Timestamp::from_nanosecond(next).ok().map(|t| t.to_zoned(tz.clone()))
            }
        }
    }

    /// The last fire at or before `at`, in `tz`.
    pub fn last_at_or_before(&self, at: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        match self {
            Schedule::Cron { cron, .. } => {
                cron.find_previous_occurrence(&at.to_zoned(tz.clone()), true).ok().map(|z| z.timestamp())
            }
            Schedule::Every(period) => {
                let period_ns = i128::try_from(period.as_nanos()).ok().filter(|p| *p > 0)?;
                Timestamp::from_nanosecond(at.as_nanosecond().div_euclid(period_ns) * period_ns).ok()
            }
        }
    }

    /// The next `n` fires after `after`.
    pub fn upcoming(&self, after: Timestamp, tz: &TimeZone, n: usize) -> Vec<Zoned> {
        let mut out = Vec::with_capacity(n);
        let mut cursor = after;
        while out.len() < n {
            let Some(next) = self.next_after(cursor, tz) else { break };
            cursor = next.timestamp();
            out.push(next);
        }
        out
    }

    /// The schedule as a user wrote it: `30 2 * * *` or `every 5m`.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Cron { expr, .. } => expr.clone(),
            Schedule::Every(d) => format!("every {}", humantime::format_duration(*d)),
        }
    }
}

/// Names are for the month (JAN) and weekday (MON) fields: croner would take
/// `MON` in the minute field as minute 1, which is never what was meant.
fn check_names(expr: &str, normalized: &str) -> Result<(), String> {
    let fields: Vec<&str> = normalized.split_whitespace().collect();
    let labels: &[&str] = if fields.len() == 6 {
        &["seconds", "minute", "hour", "day-of-month"]
    } else {
        &["minute", "hour", "day-of-month"]
    };
    for (field, label) in fields.iter().zip(labels) {
        // Day of month has its own letters: L (last) and W (weekday).
        let allowed =
            |c: char| !c.is_ascii_alphabetic() || (*label == "day-of-month" && matches!(c, 'L' | 'l' | 'W' | 'w'));
        if !field.chars().all(allowed) {
            return Err(format!(
                "cron expression \"{expr}\": the {label} field \"{field}\" holds a name; names go in the month (JAN-DEC) and weekday (SUN-SAT) fields"
            ));
        }
    }
    // The last two fields take only their own names: croner reads a day's
    // name in the month field as a number (`0 0 1 MON *` fired on 1 January).
    const MONTHS: [&str; 12] = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    const DAYS: [&str; 8] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", "L"];
    let n = fields.len();
    for (field, label, names, kind) in [
        (fields.get(n.wrapping_sub(2)), "month", &MONTHS[..], "JAN-DEC"),
        (fields.get(n.wrapping_sub(1)), "weekday", &DAYS[..], "SUN-SAT"),
    ] {
        let Some(field) = field.filter(|_| n >= 5) else { continue };
        for word in field.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| !w.is_empty()) {
            if !names.iter().any(|name| name.eq_ignore_ascii_case(word)) {
                return Err(format!(
                    "cron expression \"{expr}\": \"{word}\" is not a {label} name; the {label} field takes {kind}"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap()
    }

    fn fires(expr: &str, zone: &str, after: &str, n: usize) -> Vec<String> {
        let schedule = Schedule::cron(expr).unwrap();
        let start: Timestamp = after.parse().unwrap();
        schedule.upcoming(start, &tz(zone), n).iter().map(|z| z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()).collect()
    }

    #[test]
    fn five_and_six_fields_and_macros() {
        assert_eq!(
            fires("30 2 * * *", "UTC", "2026-01-01T00:00:00Z", 2),
            ["2026-01-01T02:30:00+00:00", "2026-01-02T02:30:00+00:00"]
        );
        assert_eq!(
            fires("*/20 * * * * *", "UTC", "2026-01-01T00:00:00Z", 3),
            ["2026-01-01T00:00:20+00:00", "2026-01-01T00:00:40+00:00", "2026-01-01T00:01:00+00:00"]
        );
        assert_eq!(fires("@midnight", "UTC", "2026-01-01T12:00:00Z", 1), ["2026-01-02T00:00:00+00:00"]);
        assert_eq!(fires("0 9 * * MON", "UTC", "2026-11-22T00:00:00Z", 1), ["2026-11-23T09:00:00+00:00"]);
    }

    #[test]
    fn names_outside_month_and_weekday_and_schedules_that_never_fire_are_refused() {
        let err = Schedule::cron("MON * * * *").unwrap_err();
        assert!(err.contains("the minute field \"MON\" holds a name"), "{err}");
        let err = Schedule::cron("0 JAN * * * *").unwrap_err();
        assert!(err.contains("the minute field \"JAN\""), "{err}");
        assert!(Schedule::cron("0 0 L * *").is_ok() && Schedule::cron("0 0 15W * *").is_ok());
        assert!(Schedule::cron("0 0 1 JAN-MAR mon-fri").is_ok());
        assert!(Schedule::cron("0 0 * * 5L").is_ok() && Schedule::cron("0 0 * * FRI#2").is_ok());
        // A name of the other field (croner took MON in the month field as 1).
        for (expr, word, label) in
            [("0 0 1 MON *", "MON", "month"), ("0 0 * * JAN", "JAN", "weekday"), ("* * * * MON-JAN", "JAN", "weekday")]
        {
            let err = Schedule::cron(expr).unwrap_err();
            assert!(err.contains(&format!("\"{word}\" is not a {label} name")), "{err}");
        }
        let err = Schedule::cron("0 0 30 2 *").unwrap_err();
        assert_eq!(err, "cron expression \"0 0 30 2 *\" never fires: no date matches it");
        let err = Schedule::every(Duration::from_secs(99_999_999_999_999 * 86_400)).unwrap_err();
        assert!(err.contains("never fires: its first tick would be past the year 9999"), "{err}");
        assert!(Schedule::every(Duration::from_secs(3600)).is_ok());
    }

    #[test]
    fn feb_29_and_day_of_month_or_weekday() {
        assert_eq!(fires("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", 1), ["2028-02-29T00:00:00+00:00"]);
        // Vixie cron: with both restricted, either matching fires. 2026-11-01 is a Sunday.
        assert_eq!(
            fires("0 0 1 * SUN", "UTC", "2026-10-31T12:00:00Z", 3),
            ["2026-11-01T00:00:00+00:00", "2026-11-08T00:00:00+00:00", "2026-11-15T00:00:00+00:00"]
        );
    }

    #[test]
    fn fixed_time_in_a_spring_gap_fires_once_after_it() {
        assert_eq!(
            fires("30 2 * * *", "Europe/Berlin", "2026-03-28T12:00:00Z", 2),
            ["2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"]
        );
        assert_eq!(
            fires("30 2 * * *", "America/New_York", "2026-03-07T12:00:00Z", 2),
            ["2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"]
        );
    }

    #[test]
    fn fixed_time_in_a_fall_back_fires_once() {
        assert_eq!(
            fires("30 2 * * *", "Europe/Berlin", "2026-10-24T12:00:00Z", 2),
            ["2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"]
        );
        assert_eq!(
            fires("30 1 * * *", "America/New_York", "2026-10-31T12:00:00Z", 2),
            ["2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"]
        );
    }

    #[test]
    fn interval_entries_follow_real_time_across_dst() {
        assert_eq!(
            fires("*/30 1-3 * * *", "Europe/Berlin", "2026-10-24T22:45:00Z", 7),
            [
                "2026-10-25T01:00:00+02:00",
                "2026-10-25T01:30:00+02:00",
                "2026-10-25T02:00:00+02:00",
                "2026-10-25T02:30:00+02:00",
                "2026-10-25T02:00:00+01:00",
                "2026-10-25T02:30:00+01:00",
                "2026-10-25T03:00:00+01:00",
            ]
        );
        // Nothing to fire in a skipped hour.
        assert_eq!(
            fires("15 * * * *", "Europe/Berlin", "2026-03-29T00:30:00Z", 2),
            ["2026-03-29T03:15:00+02:00", "2026-03-29T04:15:00+02:00"]
        );
    }

    #[test]
    fn every_ticks_on_epoch_multiples() {
        let s = Schedule::Every(Duration::from_secs(300));
        let start: Timestamp = "2026-01-01T00:03:10Z".parse().unwrap();
        let got: Vec<String> = s.upcoming(start, &TimeZone::UTC, 2).iter().map(|z| z.timestamp().to_string()).collect();
        assert_eq!(got, ["2026-01-01T00:05:00Z", "2026-01-01T00:10:00Z"]);
    }

    #[test]
    fn steps_ranges_lists_and_names() {
        // (expression, zone, after, the next fires)
        let table: &[(&str, &str, &str, &[&str])] = &[
            (
                "*/15 * * * *",
                "UTC",
                "2026-01-01T00:07:00Z",
                &["2026-01-01T00:15:00+00:00", "2026-01-01T00:30:00+00:00"],
            ),
            (
                "0 9-17/4 * * *",
                "UTC",
                "2026-01-01T00:00:00Z",
                &[
                    "2026-01-01T09:00:00+00:00",
                    "2026-01-01T13:00:00+00:00",
                    "2026-01-01T17:00:00+00:00",
                    "2026-01-02T09:00:00+00:00",
                ],
            ),
            ("30 8 * * 1-5", "UTC", "2026-11-20T09:00:00Z", &["2026-11-23T08:30:00+00:00"]),
            (
                "0 0 * JAN,JUL SUN",
                "UTC",
                "2026-06-30T00:00:00Z",
                &["2026-07-05T00:00:00+00:00", "2026-07-12T00:00:00+00:00"],
            ),
            (
                "0 12 1,15 * *",
                "UTC",
                "2026-02-02T00:00:00Z",
                &["2026-02-15T12:00:00+00:00", "2026-03-01T12:00:00+00:00"],
            ),
            ("@weekly", "UTC", "2026-11-22T00:00:01Z", &["2026-11-29T00:00:00+00:00"]),
            ("@yearly", "America/New_York", "2026-06-01T00:00:00Z", &["2027-01-01T00:00:00-05:00"]),
            (
                "0 */6 * * *",
                "Europe/Berlin",
                "2026-03-28T22:30:00Z",
                &["2026-03-29T00:00:00+01:00", "2026-03-29T06:00:00+02:00"],
            ),
            ("0 0 31 * *", "UTC", "2026-02-01T00:00:00Z", &["2026-03-31T00:00:00+00:00"]),
        ];
        for (expr, zone, after, expected) in table {
            assert_eq!(fires(expr, zone, after, expected.len()), *expected, "{expr} in {zone} after {after}");
        }
    }

    #[test]
    fn bad_expressions_are_explained() {
        assert!(Schedule::cron("* * *").unwrap_err().contains("has 3 fields"));
        assert!(Schedule::cron("@reboot").unwrap_err().contains("@reboot"));
        assert!(Schedule::cron("@fortnightly").unwrap_err().contains("unknown macro"));
        assert!(Schedule::cron("61 * * * *").unwrap_err().contains("invalid cron expression"));
    }
}
