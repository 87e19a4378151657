//! The host's config, /etc/taskq/jobs.toml, read by the packaged services:
//! its broker is the one the services use, whoever runs `taskq` with it.
//! They take `TASKQ_BROKER` from /etc/taskq/env first (systemd's
//! `EnvironmentFile=`), then `broker` in the file, then the SQLite file in
//! their state directory (`BrokerUrl::system_sqlite`).

use std::path::Path;

use super::Config;

/// The host's config, found last in the search path.
pub const SYSTEM_CONFIG: &str = "/etc/taskq/jobs.toml";

/// The packaged services' environment: `TASKQ_BROKER` and jobs' secrets.
pub const SYSTEM_ENV: &str = "/etc/taskq/env";

/// Whether `path` is the host's config (through links too).
pub fn is_system_config(path: &Path) -> bool {
    match (std::fs::canonicalize(path), std::fs::canonicalize(SYSTEM_CONFIG)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// The broker `config` names after the flags and `$TASKQ_BROKER`, and
/// where it is named; `None`: the default. For the host's config, the
/// services' env file comes first, as it does for them. An env file that
/// exists but cannot be read is an error: guessing past it would queue
/// jobs where no service looks.
pub fn broker_named(config: &Config) -> Result<Option<(String, String)>, String> {
    if is_system_config(&config.path) {
        match std::fs::read(SYSTEM_ENV) {
            // Another line's bytes (a secret in Latin-1) are not ours to judge.
            Ok(bytes) => {
                if let Some(url) = env_file_value(&String::from_utf8_lossy(&bytes), "TASKQ_BROKER") {
                    return Ok(Some((url, format!("{SYSTEM_ENV}: TASKQ_BROKER"))));
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                let fix = if e.kind() == std::io::ErrorKind::PermissionDenied {
                    "run taskq as root, or name the broker with --broker"
                } else {
                    "name the broker with --broker"
                };
                return Err(format!(
                    "cannot read {SYSTEM_ENV} ({e}), where the taskq services may take their broker from: {fix}"
                ));
            }
        }
    }
    Ok(config.settings.broker.clone().map(|url| (url, format!("{}: [taskq] broker", config.path.display()))))
}

/// The value of `name` in a systemd environment file: `NAME=value` lines,
/// the value optionally in single or double quotes; `#` and `;` lines are
/// comments. The last assignment wins, as in systemd.
fn env_file_value(text: &str, name: &str) -> Option<String> {
    let mut found = None;
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else { continue };
        if key.trim() != name {
            continue;
        }
        let value = value.trim();
        let unquoted = ['"', '\''].iter().find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)));
        found = Some(unquoted.unwrap_or(value).to_string());
    }
    // An empty value is kept: the services get it so, and refuse it.
    found
}

#[cfg(test)]
mod tests {
    use super::env_file_value;

    #[test]
    fn env_file_values_are_read_as_systemd_reads_them() {
        let text =
            "# TASKQ_BROKER=redis://commented\n; also a comment\nOTHER=1\nTASKQ_BROKER = \"redis://:p w@h:6379/0\"\n";
        assert_eq!(env_file_value(text, "TASKQ_BROKER").as_deref(), Some("redis://:p w@h:6379/0"));
        assert_eq!(env_file_value("TASKQ_BROKER='a'\nTASKQ_BROKER=b\n", "TASKQ_BROKER").as_deref(), Some("b"));
        assert_eq!(env_file_value("# TASKQ_BROKER=x\n", "TASKQ_BROKER"), None);
        assert_eq!(env_file_value("TASKQ_BROKER=\n", "TASKQ_BROKER").as_deref(), Some(""));
    }
}
