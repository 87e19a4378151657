//! Broker URLs. `Display` redacts the password, so a URL can go in any
//! message or log line.

use std::fmt;
use std::path::{Path, PathBuf};

mod redis;

pub use redis::{Node, RedisUrl, TlsFiles, Topology};

use super::BrokerError;

/// Where the queue lives.
#[derive(Clone, PartialEq, Eq)]
pub enum BrokerUrl {
    /// One Redis server, a cluster or a Sentinel-managed master; `text` is
    /// the URL as given, for messages (shown with its password hidden).
    Redis { url: RedisUrl, text: String },
    /// `sqlite:///path/to/taskq.db`.
    Sqlite { path: PathBuf },
}

impl BrokerUrl {
    /// Parses a URL; the error says which forms are accepted.
    pub fn parse(text: &str) -> Result<BrokerUrl, String> {
        if let Some(rest) = text.strip_prefix("sqlite://") {
            return sqlite(text, rest);
        }
        if text.starts_with("redis") && text.split_once("://").is_some_and(|(scheme, _)| scheme.starts_with("redis")) {
            let url = RedisUrl::parse(text, &redact(text))?;
            return Ok(BrokerUrl::Redis { url, text: text.to_string() });
        }
        Err(format!(
            "unsupported broker URL \"{}\": use redis://host:port/db, rediss://..., redis+cluster://h1:p1,h2:p2/, redis+sentinel://s1,s2/MASTER or sqlite:///path/to/taskq.db",
            redact(text)
        ))
    }

    /// The embedded default: taskq.db in the user's data dir, created
    /// private to the user (0700: the database holds parameters and output)
    /// when missing. That dir is taskq's own, so one an earlier version left
    /// readable by others is made private too; a dir named in a URL is the
    /// user's, left as it is.
    pub fn default_sqlite() -> Result<BrokerUrl, BrokerError> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
        let dirs = directories::ProjectDirs::from("", "", "taskq").ok_or_else(|| BrokerError::Unavailable {
            url: "sqlite (default)".into(),
            reason: "no home directory to keep taskq.db in".into(),
            hint: "set --broker sqlite:///path/to/taskq.db or $TASKQ_BROKER",
        })?;
        let dir = dirs.data_dir();
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| BrokerError::Unavailable {
            url: format!("sqlite://{}", dir.join("taskq.db").display()),
            reason: format!("cannot create {}: {e}", dir.display()),
            hint: "choose a writable path with --broker sqlite:///path/to/taskq.db",
        })?;
        if let Ok(meta) = std::fs::symlink_metadata(dir)
            && meta.is_dir()
            && meta.uid() == rustix::process::geteuid().as_raw()
            && meta.mode() & 0o077 != 0
        {
            // Best effort: the database file itself is 0600 regardless.
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700));
        }
        Ok(BrokerUrl::Sqlite { path: dir.join("taskq.db") })
    }
}

impl BrokerUrl {
    /// The default for the host's config (/etc/taskq/jobs.toml):
    /// /var/lib/taskq/taskq.db, the packaged services' state directory, so
    /// that an admin's `taskq enqueue` and the services share one queue
    /// whatever user runs them. Created private (0700) when missing, as
    /// the services' `StateDirectory=` would.
    pub fn system_sqlite() -> Result<BrokerUrl, BrokerError> {
        use std::os::unix::fs::DirBuilderExt;
        let dir = Path::new(SYSTEM_STATE_DIR);
        let path = PathBuf::from(SYSTEM_SQLITE);
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| BrokerError::Unavailable {
            url: format!("sqlite://{}", path.display()),
            reason: format!("cannot create {}: {e}", dir.display()),
            hint: "run taskq as root or as the taskq user (sudo -u taskq taskq ...), or set broker in /etc/taskq/jobs.toml",
        })?;
        Ok(BrokerUrl::Sqlite { path })
    }
}

/// Where the packaged services keep their state (`StateDirectory=taskq`).
const SYSTEM_STATE_DIR: &str = "/var/lib/taskq";

/// The host's default broker, in that directory.
pub const SYSTEM_SQLITE: &str = "/var/lib/taskq/taskq.db";

/// `sqlite://` followed by `rest`: an absolute path (`sqlite:///var/lib/q.db`,
/// or `sqlite://localhost/var/lib/q.db` as in file URLs), percent-escapes
/// decoded. Anything that would otherwise be taken literally is refused: a
/// file of another name, or one relative to wherever the process happens to
/// run, would be an empty queue beside the real one.
fn sqlite(text: &str, rest: &str) -> Result<BrokerUrl, String> {
    let shown = redact(text);
    if rest.is_empty() {
        return Err("sqlite:// needs a path, as in sqlite:///var/lib/taskq/taskq.db".into());
    }
    if let Some((_, query)) = rest.split_once('?') {
        // Named, not shown: a value may be a password put there by mistake.
        let name = query.split(['=', '&', '#']).next().unwrap_or_default();
        let shown = shown.split('?').next().unwrap_or_default();
        return Err(format!(
            "unknown parameter \"{name}\" in the SQLite URL \"{shown}?...\": taskq's SQLite URLs take none"
        ));
    }
    if let Some((_, fragment)) = rest.split_once('#') {
        return Err(format!("the SQLite URL \"{shown}\" ends in \"#{fragment}\": write a '#' in a file name as %23"));
    }
    let path = rest.strip_prefix("localhost").filter(|p| p.starts_with('/')).unwrap_or(rest);
    if !path.starts_with('/') {
        let host = path.split('/').next().unwrap_or_default();
        if host.contains('@') {
            return Err(format!("the SQLite URL \"{shown}\" has a user or password: a SQLite file takes none"));
        }
        return Err(format!(
            "the SQLite URL \"{shown}\" names a relative path (or a host, \"{host}\"): write an absolute path, with three slashes, as in sqlite:///var/lib/taskq/taskq.db"
        ));
    }
    let decoded = percent_encoding::percent_decode_str(path)
        .decode_utf8()
        .map_err(|_| format!("the SQLite URL \"{shown}\" has a percent-escape that is not UTF-8"))?;
    Ok(BrokerUrl::Sqlite { path: PathBuf::from(decoded.as_ref()) })
}

/// The URL with any password replaced by `***`.
fn redact(text: &str) -> String {
    match reqwest::Url::parse(text) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        // An unescaped '@' in a password makes the part before it read as
        // the user name (`redis://u@pw@host`): hide it all.
        Ok(mut url) if url.username().contains("%40") => {
            let _ = url.set_username("***");
            url.to_string()
        }
        Ok(_) => text.to_string(),
        // Unparseable: hide everything between "://" and "@", or all before
        // the "@" when there is no "://" (`redis//user:pw@host`).
        Err(_) => match (text.find("://"), text.rfind('@')) {
            (Some(start), Some(at)) if at > start => format!("{}***{}", &text[..start + 3], &text[at..]),
            (_, Some(at)) => format!("***{}", &text[at..]),
            _ => text.to_string(),
        },
    }
}

impl fmt::Display for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BrokerUrl::Redis { text, .. } => f.write_str(&redact(text)),
            BrokerUrl::Sqlite { path } => write!(f, "sqlite://{}", path.display()),
        }
    }
}

impl fmt::Debug for BrokerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        let url = BrokerUrl::parse("redis://app:hunter2@10.0.0.5:6379/2").unwrap();
        assert_eq!(url.to_string(), "redis://app:***@10.0.0.5:6379/2");
        assert_eq!(format!("{url:?}"), "redis://app:***@10.0.0.5:6379/2");
        let url = BrokerUrl::parse("redis://u@hunter2@10.0.0.5:6379/2").unwrap();
        assert_eq!(url.to_string(), "redis://***@10.0.0.5:6379/2");
        let err = BrokerUrl::parse("redis://:hunter2@host:port/x").unwrap_err();
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[test]
    fn forms_are_checked() {
        assert_eq!(BrokerUrl::parse("sqlite:///tmp/q.db").unwrap(), BrokerUrl::Sqlite { path: "/tmp/q.db".into() });
        assert!(BrokerUrl::parse("rediss://h:6380/0").is_ok());
        assert!(BrokerUrl::parse("redis://h/abc").unwrap_err().contains("not a number"));
        assert!(BrokerUrl::parse("amqp://h").unwrap_err().contains("unsupported broker URL"));
        assert!(BrokerUrl::parse("sqlite://").unwrap_err().contains("needs a path"));
        // See: the hostile-input issue, item 9 (both were taken literally).
        assert_eq!(
            BrokerUrl::parse("sqlite:///x.db?mode=ro").unwrap_err(),
            "unknown parameter \"mode\" in the SQLite URL \"sqlite:///x.db?...\": taskq's SQLite URLs take none"
        );
        assert_eq!(
            BrokerUrl::parse("sqlite://relative/x.db").unwrap_err(),
            "the SQLite URL \"sqlite://relative/x.db\" names a relative path (or a host, \"relative\"): write an absolute path, with three slashes, as in sqlite:///var/lib/taskq/taskq.db"
        );
        assert!(BrokerUrl::parse("sqlite:///x.db#frag").unwrap_err().contains("write a '#' in a file name as %23"));
        assert_eq!(
            BrokerUrl::parse("sqlite:///tmp/%71%23.db").unwrap(),
            BrokerUrl::Sqlite { path: "/tmp/q#.db".into() }
        );
        assert_eq!(
            BrokerUrl::parse("sqlite://localhost/tmp/q.db").unwrap(),
            BrokerUrl::Sqlite { path: "/tmp/q.db".into() }
        );
        for url in [
            "sqlite://u:S3CRET@/x.db",
            "redis//u:S3CRET@h",
            "sqlite://u:S3CRET@localhost/x.db",
            "sqlite:///x.db?password=S3CRET",
        ] {
            let err = BrokerUrl::parse(url).unwrap_err();
            assert!(!err.contains("S3CRET"), "{err}");
        }
    }
}
