//! Schedule entries: the scheduled jobs of a config, each with a `spec`
//! string that identifies its schedule (stored in the broker, so a change is
//! noticed across restarts), and the reconciliation of two sets by name.

use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use crate::config::{Config, JobDef};
use crate::schedule::Schedule;

/// A scheduled job.
#[derive(Debug, Clone)]
pub struct Entry {
    pub def: JobDef,
    pub schedule: Schedule,
    /// `30 2 * * * (Europe/Berlin)` or `every 5m`: what the ticks depend on.
    pub spec: String,
}

impl Entry {
    pub fn name(&self) -> &str {
        self.def.name.as_str()
    }

    /// `(name, spec)`, as `diff` compares entries.
    pub fn key(&self) -> (&str, &str) {
        (self.name(), self.spec.as_str())
    }

    pub fn tz(&self) -> &TimeZone {
        self.def.timezone.tz()
    }

    /// The first tick after `t`.
    pub fn next_after(&self, t: Timestamp) -> Option<Timestamp> {
        self.schedule.next_after(t, self.tz()).map(|z: Zoned| z.timestamp())
    }

    /// The definition this beat registers for other beats to compare
    /// (agree.rs): the spec, with a cron entry that takes the host's zone
    /// (no `timezone`, none in `[taskq]`) marked `(host ZONE)`.
    pub fn declared(&self) -> String {
        match &self.schedule {
            Schedule::Cron { .. } if self.def.timezone.is_host() => {
                format!("{} (host {})", self.schedule.describe(), self.def.timezone.name())
            }
            _ => self.spec.clone(),
        }
    }

    /// This entry evaluated in UTC (host zones disagree).
    #[must_use]
    pub fn in_utc(&self) -> Entry {
        let mut def = self.def.clone();
        def.timezone = crate::time::Zone::utc();
        let spec = format!("{} (UTC)", self.schedule.describe());
        Entry { def, schedule: self.schedule.clone(), spec }
    }
}

/// The config's scheduled jobs, in file order, then its scheduled
/// workflows (each fired as a job that starts a run).
pub fn entries(config: &Config) -> Vec<Entry> {
    config
        .jobs
        .iter()
        .chain(&config.workflow_ticks)
        .filter_map(|def| {
            let schedule = def.schedule.clone()?;
            let spec = match &schedule {
                // Intervals count from the epoch: the zone plays no part.
                Schedule::Every(_) => schedule.describe(),
                Schedule::Cron { .. } => format!("{} ({})", schedule.describe(), def.timezone.name()),
            };
            Some(Entry { def: def.clone(), schedule, spec })
        })
        .collect()
}

/// How an entry differs between two sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Added { name: String, spec: String },
    Removed { name: String, spec: String },
    Changed { name: String, from: String, to: String },
    Unchanged { name: String },
}

/// Compares `old` and `new` entries by name and spec: `(name, spec)` pairs,
/// so the broker's stored states compare as well as loaded entries.
pub fn diff<'a>(
    old: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
    new: impl IntoIterator<Item = (&'a str, &'a str)> + Clone,
) -> Vec<Change> {
    let mut out = Vec::new();
    for (name, spec) in new.clone() {
        out.push(match old.clone().into_iter().find(|(n, _)| *n == name) {
            None => Change::Added { name: name.into(), spec: spec.into() },
            Some((_, was)) if was != spec => Change::Changed { name: name.into(), from: was.into(), to: spec.into() },
            Some(_) => Change::Unchanged { name: name.into() },
        });
    }
    for (name, spec) in old {
        if !new.clone().into_iter().any(|(n, _)| n == name) {
            out.push(Change::Removed { name: name.into(), spec: spec.into() });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_reconciled_by_name() {
        let old = [("a", "* * * * * (UTC)"), ("b", "every 5m"), ("c", "@daily (UTC)")];
        let new = [("a", "* * * * * (UTC)"), ("b", "every 10m"), ("d", "every 1h")];
        assert_eq!(
            diff(old, new),
            [
                Change::Unchanged { name: "a".into() },
                Change::Changed { name: "b".into(), from: "every 5m".into(), to: "every 10m".into() },
                Change::Added { name: "d".into(), spec: "every 1h".into() },
                Change::Removed { name: "c".into(), spec: "@daily (UTC)".into() },
            ]
        );
    }
}
