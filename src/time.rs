//! Time at the edges: milliseconds in the broker, RFC 3339 for people and
//! scripts, `--at` and duration flags from the command line.

use std::sync::{Arc, LazyLock, OnceLock};
use std::time::Duration;

use jiff::civil::DateTime;
use jiff::tz::{TimeZone, TimeZoneDatabase};
use jiff::{Timestamp, Zoned};

use crate::exit::UsageError;

/// The time zone database compiled into taskq: checking a name there costs no
/// file system walk.
static BUNDLED: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// A schedule's time zone: checked by name when the config loads, resolved
/// when first used. Resolving reads the system's tzdata (so updates are
/// picked up), which walks /usr/share/zoneinfo once: a cost commands such as
/// `enqueue`, which never compute a fire time, should not pay.
#[derive(Debug, Clone, Default)]
pub struct Zone {
    /// `None`: the host's zone ($TZ, else /etc/localtime).
    name: Option<Arc<str>>,
    resolved: Arc<OnceLock<TimeZone>>,
}

impl Zone {
    /// The host's zone.
    pub fn system() -> Zone {
        Zone::default()
    }

    /// An IANA zone by name; the error says what to write instead.
    pub fn named(name: &str) -> Result<Zone, String> {
        BUNDLED
            .get(name)
            .map(|_| Zone { name: Some(name.into()), resolved: Arc::default() })
            .map_err(|_| format!("unknown time zone \"{name}\": use an IANA name such as \"Europe/Berlin\" or \"UTC\""))
    }

    /// The zone itself, from the system database, else the bundled one.
    pub fn tz(&self) -> &TimeZone {
        self.resolved.get_or_init(|| match &self.name {
            None => host_zone(),
            Some(name) => jiff::tz::db().get(name).or_else(|_| BUNDLED.get(name)).unwrap_or(TimeZone::UTC),
        })
    }

    /// The host's zone, not one named in the config.
    pub fn is_host(&self) -> bool {
        self.name.is_none()
    }

    /// UTC, by name.
    pub fn utc() -> Zone {
        Zone { name: Some("UTC".into()), resolved: Arc::default() }
    }

    /// The IANA name, as `check` shows it.
    pub fn name(&self) -> String {
        match &self.name {
            Some(n) => n.to_string(),
            None => self.tz().iana_name().unwrap_or("local").to_string(),
        }
    }
}

/// The host's zone: $TZ, else /etc/localtime. When neither names a zone,
/// UTC, with a warning (once) rather than silently: `TZ=Bogus/Zone` is a
/// typo that would move every local time and schedule.
pub fn host_zone() -> TimeZone {
    static WARNED: std::sync::Once = std::sync::Once::new();
    TimeZone::try_system().unwrap_or_else(|_| {
        WARNED.call_once(|| {
            if let Some(tz) = std::env::var_os("TZ") {
                tracing::warn!(
                    "TZ=\"{}\" names no time zone this host knows: using UTC; set TZ to an IANA name such as Europe/Berlin, or unset it",
                    crate::text::bytes_one_line(tz.as_encoded_bytes())
                );
            } else {
                tracing::warn!(
                    "cannot tell this host's time zone from /etc/localtime: using UTC; set TZ to an IANA name such as Europe/Berlin"
                );
            }
        });
        TimeZone::UTC
    })
}

/// Milliseconds since the Unix epoch, as brokers store instants.
pub fn to_ms(t: Timestamp) -> i64 {
    t.as_millisecond()
}

/// The instant `ms` milliseconds after the epoch (clamped to jiff's range).
pub fn from_ms(ms: i64) -> Timestamp {
    Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 { Timestamp::MIN } else { Timestamp::MAX })
}

/// `t` without its sub-millisecond part: brokers keep instants to the
/// millisecond, so a job's times compare equal after a round trip.
pub fn truncate_ms(t: Timestamp) -> Timestamp {
    from_ms(to_ms(t))
}

/// `t + d`, saturating at the end of time.
pub fn add(t: Timestamp, d: Duration) -> Timestamp {
    jiff::SignedDuration::try_from(d).ok().and_then(|d| t.checked_add(d).ok()).unwrap_or(Timestamp::MAX)
}

/// How long until `t`; zero when it has passed.
pub fn until(t: Timestamp) -> Duration {
    let now = Timestamp::now();
    if t > now { t.duration_since(now).unsigned_abs() } else { Duration::ZERO }
}

/// RFC 3339 with the zone's numeric offset and no zone annotation.
pub fn rfc3339(z: &Zoned) -> String {
    z.strftime("%Y-%m-%dT%H:%M:%S%:z").to_string()
}

/// RFC 3339 in UTC with millisecond precision, for stored instants.
pub fn rfc3339_utc(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// A stored instant shown in the host's zone, to the second.
pub fn local(t: Timestamp) -> String {
    in_zone(t, &host_zone())
}

/// An instant for people, in zone `tz` (a schedule's own, as `check`
/// shows its fires).
pub fn in_zone(t: Timestamp, tz: &jiff::tz::TimeZone) -> String {
    t.to_zoned(tz.clone()).strftime("%Y-%m-%d %H:%M:%S %Z").to_string()
}

/// Parses `--at`: RFC 3339, or a date-time in the host's zone written
/// `YYYY-MM-DD HH:MM[:SS]` (or with a `T`).
pub fn parse_at(text: &str) -> Result<Timestamp, UsageError> {
    if let Ok(pieces) = jiff::fmt::temporal::Pieces::parse(text)
        && let (Some(time), Some(offset)) = (pieces.time(), pieces.offset())
    {
        let offset = offset.to_numeric_offset();
        // RFC 3339 offsets stop at ±23:59; jiff would read up to ±25:59:59.
        if offset.seconds().abs() >= 24 * 3600 {
            return Err(UsageError(format!(
                "invalid --at \"{text}\": the offset {offset} is outside -23:59..+23:59; write the time in UTC (Z) or a real offset"
            )));
        }
        let civil = pieces.date().to_datetime(time);
        // Valid RFC 3339 past the end of jiff's range (9999-12-31T23:59:59Z)
        // means "as late as can be".
        return Ok(offset.to_timestamp(civil).unwrap_or(if civil.year() > 0 {
            Timestamp::MAX
        } else {
            Timestamp::MIN
        }));
    }
    text.replacen(' ', "T", 1)
        .parse::<DateTime>()
        .ok()
        .and_then(|dt| dt.to_zoned(host_zone()).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            UsageError(format!(
                "invalid --at \"{text}\": use RFC 3339 (2026-11-22T14:30:00+01:00) or a local time (2026-11-22 14:30)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_takes_rfc3339_and_local_times() {
        assert_eq!(parse_at("2026-11-22T14:30:00Z").unwrap().to_string(), "2026-11-22T14:30:00Z");
        assert!(parse_at("2026-11-22 14:30").is_ok());
        assert!(parse_at("2026-11-22T14:30:15").is_ok());
        assert!(parse_at("tomorrow").unwrap_err().0.contains("invalid --at"));
        assert_eq!(parse_at("2026-11-22T14:30:00+01:00").unwrap().to_string(), "2026-11-22T13:30:00Z");
        assert_eq!(parse_at("9999-12-31T23:59:59Z").unwrap(), Timestamp::MAX);
        let err = parse_at("2027-01-01T00:00:00+25:00").unwrap_err().0;
        assert!(err.contains("the offset +25 is outside -23:59..+23:59"), "{err}");
    }

    #[test]
    fn zones_are_checked_by_name_and_resolved_lazily() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        assert_eq!(berlin.name(), "Europe/Berlin");
        assert_eq!(berlin.tz().iana_name(), Some("Europe/Berlin"));
        assert!(Zone::named("Mars/Olympus").unwrap_err().contains("unknown time zone \"Mars/Olympus\""));
    }

    #[test]
    fn ms_round_trip() {
        let t: Timestamp = "2026-11-22T14:30:00.123Z".parse().unwrap();
        assert_eq!(from_ms(to_ms(t)), t);
        assert_eq!(rfc3339_utc(t), "2026-11-22T14:30:00.123Z");
    }
}
