//! Beats that disagree (SPEC §5). Every running beat registers its
//! definition of each entry in the broker (`Broker::define`), and each
//! decides from the same registrations:
//! - an entry without a zone (none in the job, none in `[taskq]`) follows
//!   the host's zone while every beat's host agrees, and UTC once two
//!   registered beats' hosts differ;
//! - an entry two beats define differently fires by one definition only:
//!   the one held longest (the earliest `since`; ties by the spec's text).
//!   A beat holding another one defers: it fires none of that entry's ticks
//!   and says so once, until the holder goes (a stopping beat withdraws its
//!   definitions; a lost one's lapse after `TTL`).

use std::time::Duration;

use crate::beat::Entry;
use crate::broker::Definition;

/// How long a registration lasts unless renewed.
pub const TTL: Duration = Duration::from_secs(90);
/// How often a beat renews its registrations (and reads the others').
pub const RENEW: Duration = Duration::from_secs(10);

/// What a beat does with one of its entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Fire it as configured.
    Fire,
    /// Fire it in UTC: the hosts of the beats that define it disagree on
    /// their zone.
    FireInUtc,
    /// Leave it to the beat `holder`, whose definition `spec` wins.
    Defer { holder: String, spec: String },
}

/// The spec a registration amounts to, given whether host zones disagree
/// for its entry: `(host ZONE)` becomes `(ZONE)`, or `(UTC)`.
fn effective(spec: &str, hosts_disagree: bool) -> String {
    match spec.rsplit_once(" (host ") {
        Some((schedule, zone)) if spec.ends_with(')') => {
            if hosts_disagree {
                format!("{schedule} (UTC)")
            } else {
                format!("{schedule} ({zone}")
            }
        }
        _ => spec.to_string(),
    }
}

/// Whether the host-zoned registrations of `entry` name more than one zone.
fn hosts_disagree(entry: &str, defs: &[Definition]) -> bool {
    let mut zones =
        defs.iter().filter(|d| d.entry == entry).filter_map(|d| d.spec.rsplit_once(" (host ").map(|(_, zone)| zone));
    let first = zones.next();
    zones.any(|z| Some(z) != first)
}

/// The definition of `entry` in effect, as the beats fire it, and its
/// beat: the one registered earliest (ties by the spec's text).
fn winner<'a>(entry: &str, defs: &'a [Definition], disagree: bool) -> Option<(String, &'a str)> {
    defs.iter()
        .filter(|d| d.entry == entry)
        .map(|d| (d.since, effective(&d.spec, disagree), d.beat.as_str()))
        .min_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)))
        .map(|(_, spec, beat)| (spec, beat))
}

/// What a beat does with its `entry`, from every live registration `defs`
/// (its own among them).
pub fn decide(entry: &Entry, defs: &[Definition]) -> Verdict {
    let disagree = hosts_disagree(entry.name(), defs);
    let mine = effective(&entry.declared(), disagree);
    match winner(entry.name(), defs, disagree) {
        Some((spec, holder)) if spec != mine => Verdict::Defer { holder: holder.to_string(), spec },
        _ if disagree && entry.declared() != entry.spec => Verdict::FireInUtc,
        _ => Verdict::Fire,
    }
}

/// What `inspect` says of `entry` when its beats disagree: each
/// definition held (as the beats fire it), its beats, and the one in
/// effect; or that their hosts' zones differ, so it runs in UTC.
pub fn disagreement(entry: &str, defs: &[Definition]) -> Option<String> {
    let disagree = hosts_disagree(entry, defs);
    let mut specs: Vec<(String, Vec<&str>)> = Vec::new();
    for d in defs.iter().filter(|d| d.entry == entry) {
        let spec = effective(&d.spec, disagree);
        match specs.iter_mut().find(|(s, _)| *s == spec) {
            Some((_, beats)) => beats.push(&d.beat),
            None => specs.push((spec, vec![&d.beat])),
        }
    }
    if specs.len() > 1 {
        let held: Vec<String> = specs.iter().map(|(s, beats)| format!("{s} on {}", beats.join(", "))).collect();
        let (fired, _) = winner(entry, defs, disagree).unwrap_or_default();
        return Some(format!("beats disagree: {}; fired by {fired}", held.join("; ")));
    }
    disagree.then(|| "the beats' hosts are in different zones: evaluated in UTC".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::Timestamp;

    fn def(entry: &str, spec: &str, beat: &str, since: i64) -> Definition {
        Definition {
            entry: entry.into(),
            spec: spec.into(),
            beat: beat.into(),
            since: Timestamp::from_second(since).unwrap(),
            until: Timestamp::from_second(since + 90).unwrap(),
        }
    }

    #[test]
    fn host_zones_that_differ_make_the_entry_utc_for_every_beat() {
        let defs = [
            def("n", "0 3 * * * (host Europe/Berlin)", "a", 10),
            def("n", "0 3 * * * (host America/New_York)", "b", 20),
        ];
        assert!(hosts_disagree("n", &defs));
        assert_eq!(effective(&defs[0].spec, true), "0 3 * * * (UTC)");
        assert_eq!(effective(&defs[1].spec, true), "0 3 * * * (UTC)");
        assert_eq!(effective(&defs[0].spec, false), "0 3 * * * (Europe/Berlin)");
        assert!(!hosts_disagree("n", &defs[..1]));
        assert_eq!(
            disagreement("n", &defs).as_deref(),
            Some("the beats' hosts are in different zones: evaluated in UTC"),
            "they agree on UTC"
        );
    }

    #[test]
    fn the_definition_held_longest_wins_and_a_disagreement_is_described() {
        let defs =
            [def("n", "every 2s", "a", 10), def("n", "1/2 * * * * * (UTC)", "b", 5), def("n", "every 2s", "c", 30)];
        assert_eq!(
            disagreement("n", &defs).as_deref(),
            Some("beats disagree: every 2s on a, c; 1/2 * * * * * (UTC) on b; fired by 1/2 * * * * * (UTC)")
        );
        assert_eq!(disagreement("n", &defs[..1]), None);
    }
}
