//! Config errors: each names the file, line and column it is about, so a user
//! can jump to it (`jobs.toml:12:3: unknown key "retires" ...`).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One problem in a config file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// `path:line:col`, when the problem has a place in a file.
    pub location: Option<Location>,
    pub message: String,
}

/// A 1-based line and column in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: PathBuf,
    pub line: usize,
    pub column: usize,
}

impl Location {
    /// The location of byte `offset` of `source`; columns count characters.
    pub fn at(path: &Path, source: &str, offset: usize) -> Location {
        let offset = offset.min(source.len());
        let before = source.get(..offset).unwrap_or(source);
        let line = before.matches('\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before[line_start..].chars().count() + 1;
        Location { path: path.to_path_buf(), line, column }
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.location {
            Some(loc) => write!(f, "{}:{}:{}: {}", loc.path.display(), loc.line, loc.column, self.message),
            None => f.write_str(&self.message),
        }
    }
}

/// Every problem found in one config: loading reports them all, not the first.
#[derive(Debug, Clone)]
pub struct ConfigErrors(pub Vec<ConfigError>);

impl ConfigErrors {
    /// A single error with no place in a file (a missing file, say).
    pub fn one(message: impl Into<String>) -> ConfigErrors {
        ConfigErrors(vec![ConfigError { location: None, message: message.into() }])
    }

    pub fn iter(&self) -> impl Iterator<Item = &ConfigError> {
        self.0.iter()
    }
}

impl fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [] => f.write_str("invalid config"),
            [only] => only.fmt(f),
            [first, rest @ ..] => write!(f, "{first} (and {} more)", rest.len()),
        }
    }
}

impl std::error::Error for ConfigErrors {}

/// Collects errors against one source text, turning byte spans into places.
pub(crate) struct Diagnostics<'a> {
    path: &'a Path,
    source: &'a str,
    errors: Vec<ConfigError>,
}

impl<'a> Diagnostics<'a> {
    pub(crate) fn new(path: &'a Path, source: &'a str) -> Self {
        Diagnostics { path, source, errors: Vec::new() }
    }

    /// Records a problem at the start of `span`.
    pub(crate) fn error(&mut self, span: &Range<usize>, message: impl Into<String>) {
        let location = Some(Location::at(self.path, self.source, span.start));
        self.errors.push(ConfigError { location, message: message.into() });
    }

    pub(crate) fn error_count(&self) -> usize {
        self.errors.len()
    }

    pub(crate) fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    pub(crate) fn into_errors(mut self) -> Vec<ConfigError> {
        // Report in file order, whatever order the checks ran in.
        self.errors.sort_by_key(|e| e.location.as_ref().map(|l| (l.line, l.column)));
        self.errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_counts_lines_and_characters() {
        let src = "a = 1\n[jobs.é]\n  retires = 3\n";
        let at = src.find("retires").unwrap();
        let loc = Location::at(Path::new("jobs.toml"), src, at);
        assert_eq!((loc.line, loc.column), (3, 3));
        let err = ConfigError { location: Some(loc), message: "unknown key".into() };
        assert_eq!(err.to_string(), "jobs.toml:3:3: unknown key");
    }
}
