//! What a Redis error means for taskq: an outage to wait out (with a hint
//! naming the likely fix) or a bug; and the server version check.

use crate::broker::{BrokerError, BrokerUrl};

/// What a Redis error means for taskq. Connection trouble and every refusal
/// the server may recover from (a failed save, a full memory, a failover,
/// too many clients, a restart) are `Unavailable`: a worker waits them out.
/// Only a reply this version cannot read is a `Protocol` error.
pub(super) fn classify(url: &BrokerUrl, e: &redis::RedisError) -> BrokerError {
    let unavailable = |hint| BrokerError::Unavailable { url: url.to_string(), reason: e.to_string(), hint };
    if e.kind() == redis::ErrorKind::AuthenticationFailed {
        return unavailable("check the user and password in the broker URL");
    }
    if let Some(hint) = setup_hint(&e.to_string()) {
        return unavailable(hint);
    }
    match refusal(e) {
        Some("NOAUTH" | "WRONGPASS") => unavailable("check the user and password in the broker URL"),
        Some("NOPERM") => {
            unavailable("the broker's ACL user lacks a permission taskq needs (see the README's ACL line)")
        }
        Some("MISCONF") => unavailable("Redis cannot save to disk and refuses writes: check its log and free disk"),
        Some("OOM") => unavailable("Redis reached its maxmemory: free memory or raise maxmemory"),
        Some("LOADING") => unavailable("Redis is loading its data after a restart"),
        Some("READONLY") => unavailable("the broker URL points at a replica; point it at the master"),
        Some("MOVED" | "ASK" | "CLUSTERDOWN" | "TRYAGAIN") => {
            unavailable("the server is a Redis Cluster node: use a redis+cluster:// URL")
        }
        Some("MASTERDOWN" | "NOREPLICAS" | "BUSY") => unavailable("the server cannot serve writes now"),
        Some(_) if e.to_string().contains("max number of clients") => {
            unavailable("Redis reached maxclients: raise it or use fewer connections")
        }
        // A script error is a bug in taskq, not an outage.
        Some("ERR") if e.to_string().contains("script") => BrokerError::Protocol(format!("Redis: {e}")),
        Some(_) => unavailable("the server refused the command"),
        None if e.kind() == redis::ErrorKind::UnexpectedReturnType || e.kind() == redis::ErrorKind::Parse => {
            BrokerError::Protocol(format!("Redis: {e}"))
        }
        None => unavailable("is redis-server running? set --broker or $TASKQ_BROKER"),
    }
}

/// What to do about a mistake in the set-up that the client library reports
/// in its own words (TLS files, Sentinel and cluster addresses).
fn setup_hint(text: &str) -> Option<&'static str> {
    const HINTS: [(&str, &str); 10] = [
        // A cluster client reports a refused login inside its own error.
        ("Password authentication failed", "check the user and password in the broker URL"),
        ("invalid username-password pair", "check the user and password in the broker URL"),
        (
            "UnknownIssuer",
            "the server's certificate is not signed by the CA in ca= (or, without ca=, by the system's roots)",
        ),
        ("CertificateRequired", "the server asks for a client certificate: add cert= and key= to the URL"),
        ("KeyMismatch", "the client certificate (cert=) and key (key=) do not belong together"),
        ("UnsupportedCertVersion", "a certificate is X.509 v1: make a v3 one (openssl x509 -req with -extfile)"),
        ("NotValidForName", "the server's certificate does not name the host in the URL"),
        ("MasterNameNotFoundBySentinel", "the Sentinels watch no master of that name: check the name after the hosts"),
        (
            "does not point to a sentinel",
            "a host in the URL is not a Sentinel: give the Sentinels' addresses (port 26379)",
        ),
        ("cluster support disabled", "the server is not a Redis Cluster node: use a redis:// URL"),
    ];
    HINTS.iter().find(|(needle, _)| text.contains(needle)).map(|(_, hint)| *hint)
}

/// The error code of a refusal: the reply's own, or for a refusal met
/// inside a script on Redis 6.2 (which reports it as `ERR Error running
/// script ... -MISCONF ...`), the code it wraps.
pub(super) fn refusal(e: &redis::RedisError) -> Option<&'static str> {
    const CODES: [&str; 16] = [
        "NOAUTH",
        "WRONGPASS",
        "NOPERM",
        "MISCONF",
        "OOM",
        "LOADING",
        "READONLY",
        "MOVED",
        "ASK",
        "CLUSTERDOWN",
        "TRYAGAIN",
        "MASTERDOWN",
        "NOREPLICAS",
        "BUSY",
        "NOSCRIPT",
        "ERR",
    ];
    let code = e.code()?;
    if code == "ERR" {
        let text = e.to_string();
        let wrapped =
            CODES[..15].iter().find(|c| text.contains(&format!("-{c} ")) || text.contains(&format!(": {c} ")));
        return Some(wrapped.copied().unwrap_or("ERR"));
    }
    Some(CODES.iter().find(|c| **c == code).copied().unwrap_or("OTHER"))
}

pub(super) fn check_version(url: &BrokerUrl, info: &str) -> Result<(), BrokerError> {
    let version = info.lines().find_map(|l| l.strip_prefix("redis_version:")).unwrap_or("").trim();
    let mut parts = version.split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if (major, minor) < (6, 2) {
        return Err(BrokerError::Unavailable {
            url: url.to_string(),
            reason: format!("Redis {version} is too old"),
            hint: "taskq needs Redis 6.2 or newer",
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A server's error reply, as the client library hands it over.
    fn reply(text: &str) -> redis::RedisError {
        match redis::parse_redis_value(format!("-{text}\r\n").as_bytes()) {
            Ok(redis::Value::ServerError(e)) => e.into(),
            other => panic!("not an error reply: {other:?}"),
        }
    }

    fn url() -> BrokerUrl {
        BrokerUrl::parse("redis://127.0.0.1:6379/0").unwrap()
    }

    #[test]
    fn refusals_a_server_recovers_from_are_outages_with_a_hint() {
        for (text, hint) in [
            ("MISCONF Redis is configured to save RDB snapshots", "cannot save to disk"),
            ("NOREPLICAS Not enough good replicas to write.", "cannot serve writes"),
            ("MOVED 3999 127.0.0.1:6381", "redis+cluster://"),
            ("ERR max number of clients reached", "maxclients"),
            ("WRONGPASS invalid username-password pair", "user and password"),
            ("LOADING Redis is loading the dataset in memory", "loading its data"),
            ("OOM command not allowed when used memory > 'maxmemory'.", "maxmemory"),
        ] {
            match classify(&url(), &reply(text)) {
                BrokerError::Unavailable { hint: got, .. } => assert!(got.contains(hint), "{text}: {got}"),
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_refusal_met_inside_a_script_on_redis_6_2_is_still_a_refusal() {
        let e =
            reply("ERR Error running script (call to f_1a2b): @user_script:5: -MISCONF Redis is configured to save");
        assert!(matches!(classify(&url(), &e), BrokerError::Unavailable { hint, .. } if hint.contains("cannot save")));
    }

    #[test]
    fn a_script_error_is_a_bug() {
        let e = reply("ERR user_script:12: Script attempted to access nonexistent global variable 'x' script: 1a2b");
        assert!(matches!(classify(&url(), &e), BrokerError::Protocol(_)));
    }
}
