//! Job ids, and how a command line names one: whole, or by a unique prefix
//! of at least [`MIN_PREFIX`] characters, as git takes a commit's. Workflow
//! runs have ids of the same kind.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A job's id: a UUIDv7, so ids sort by creation time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct JobId(uuid::Uuid);

impl JobId {
    /// A new id for now.
    pub fn new() -> JobId {
        JobId(uuid::Uuid::now_v7())
    }

    /// The id of what `parent` makes under `name` (a workflow run's step
    /// job): the same every time, so making it again finds the one made
    /// before instead of a second. Still a UUIDv7, of the parent's instant
    /// (ids sort by creation, near enough), its random bits a hash of the
    /// parent and the name (from a UUIDv5).
    pub fn derived(parent: JobId, name: &str) -> JobId {
        let hash = uuid::Uuid::new_v5(&parent.0, name.as_bytes()).into_bytes();
        let mut bytes = parent.0.into_bytes();
        bytes[6..].copy_from_slice(&hash[6..]);
        bytes[6] = (bytes[6] & 0x0f) | 0x70; // version 7
        bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 9562 variant
        JobId(uuid::Uuid::from_bytes(bytes))
    }
}

impl Default for JobId {
    fn default() -> Self {
        JobId::new()
    }
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

impl FromStr for JobId {
    type Err = String;
    fn from_str(s: &str) -> Result<JobId, String> {
        uuid::Uuid::parse_str(s.trim()).map(JobId).map_err(|_| {
            format!(
                "invalid job id \"{s}\": ids look like 019364e1-7c5a-7d3e-9f7e-2b1d0c4a5e6f, as enqueue prints them \
                 (the first {MIN_PREFIX} or more characters will do when no other id starts with them)"
            )
        })
    }
}

/// The fewest characters (hex digits; hyphens do not count) of an id that
/// name it. A UUIDv7 starts with its millisecond timestamp, so 8 single out
/// the 65 s in which an id was made; ids made in the same 65 s need more.
const MIN_PREFIX: usize = 8;

/// The start of an id as a user gave it, lowercase and hyphenated where a
/// whole id has its hyphens, so it compares with stored ids as text:
/// `019364E17C` and `019364e1-7c` are both `019364e1-7c`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdPrefix(String);

impl IdPrefix {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `id` starts with this prefix.
    pub fn matches(&self, id: &JobId) -> bool {
        id.to_string().starts_with(&self.0)
    }
}

impl fmt::Display for IdPrefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An id on the command line: a whole one, taken as it is, or a prefix the
/// broker is asked to complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdArg {
    Id(JobId),
    Prefix(IdPrefix),
}

impl fmt::Display for IdArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IdArg::Id(id) => id.fmt(f),
            IdArg::Prefix(prefix) => prefix.fmt(f),
        }
    }
}

impl FromStr for IdArg {
    type Err = String;
    fn from_str(s: &str) -> Result<IdArg, String> {
        if let Ok(id) = s.parse::<JobId>() {
            return Ok(IdArg::Id(id));
        }
        let digits: String = s.trim().chars().filter(|c| *c != '-').map(|c| c.to_ascii_lowercase()).collect();
        if digits.is_empty() || digits.len() >= 32 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(JobId::from_str(s).err().unwrap_or_default());
        }
        if digits.len() < MIN_PREFIX {
            return Err(format!(
                "job id \"{s}\" is too short: give at least its first {MIN_PREFIX} characters, or the whole id"
            ));
        }
        let mut prefix = String::with_capacity(digits.len() + 4);
        for (i, c) in digits.chars().enumerate() {
            if matches!(i, 8 | 12 | 16 | 20) {
                prefix.push('-');
            }
            prefix.push(c);
        }
        Ok(IdArg::Prefix(IdPrefix(prefix)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_bad_ones_are_explained() {
        let id = JobId::new();
        assert_eq!(id.to_string().parse::<JobId>().unwrap(), id);
        assert!("nope".parse::<JobId>().unwrap_err().contains("invalid job id \"nope\""));
    }

    #[test]
    fn an_id_is_given_whole_or_by_a_prefix_of_eight_or_more() {
        let id = JobId::new();
        let text = id.to_string();
        assert_eq!(text.parse::<IdArg>(), Ok(IdArg::Id(id)));
        assert_eq!(text.to_uppercase().parse::<IdArg>(), Ok(IdArg::Id(id)));
        let prefix = |s: &str| match s.parse::<IdArg>() {
            Ok(IdArg::Prefix(p)) => p.as_str().to_string(),
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(prefix("019364E1"), "019364e1");
        assert_eq!(prefix("019364e17c5a7"), "019364e1-7c5a-7");
        assert_eq!(prefix("019364e1-7c5a-7"), "019364e1-7c5a-7");
        assert_eq!(prefix(&text[..35]), &text[..35]);
        let IdArg::Prefix(p) = text[..13].parse::<IdArg>().unwrap() else { panic!() };
        assert!(p.matches(&id));
        assert!(!p.matches(&"ffffffff-0000-7000-8000-000000000000".parse().unwrap()));
        assert_eq!(
            "019364e".parse::<IdArg>().unwrap_err(),
            "job id \"019364e\" is too short: give at least its first 8 characters, or the whole id"
        );
        for bad in ["nope", "019364e1-zz", "", "019364e1-7c5a-7d3e-9f7e-2b1d0c4a5e6f0"] {
            assert!(bad.parse::<IdArg>().unwrap_err().starts_with("invalid job id"), "{bad:?}");
        }
    }
}
