//! Redis URLs (SPEC §3): one server, a cluster, or a Sentinel-managed
//! master, each over TLS when the scheme ends in `s`:
//!
//! - `redis://[user:password@]host[:port][/db]`, `rediss://…`
//! - `redis+cluster://[user:password@]host1:port,host2:port/`
//! - `redis+sentinel://[user:password@]s1:26379,s2:26379/MASTER[/db]`
//!
//! over TLS (`rediss`, `rediss+cluster`, `rediss+sentinel`), `?ca=PATH`
//! trusts that CA instead of the system's roots, and `cert=PATH&key=PATH`
//! present a client certificate. Anything else in the query is an error,
//! as a misspelt parameter silently ignored would be a connection made
//! with settings the user did not choose.

use std::path::PathBuf;

/// Where the servers are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Topology {
    Single(Node),
    /// Seed nodes: the client learns the rest from them.
    Cluster(Vec<Node>),
    Sentinel {
        sentinels: Vec<Node>,
        master: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub host: String,
    pub port: u16,
}

/// TLS beyond the system's roots.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    pub ca: Option<PathBuf>,
    /// A client certificate and its key (both or neither).
    pub client: Option<(PathBuf, PathBuf)>,
}

/// A parsed Redis URL.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl {
    pub topology: Topology,
    /// `Some` over TLS.
    pub tls: Option<TlsFiles>,
    pub username: Option<String>,
    pub password: Option<String>,
    pub db: i64,
}

const SCHEMES: &str =
    "redis://, rediss://, redis+cluster://, rediss+cluster://, redis+sentinel:// or rediss+sentinel://";

impl RedisUrl {
    /// Parses `text` (whose scheme is one of Redis's); `shown` is `text`
    /// with any password hidden, for messages.
    pub(super) fn parse(text: &str, shown: &str) -> Result<RedisUrl, String> {
        // The query is not shown: a value may be a secret put there by mistake.
        let shown = match shown.split_once('?') {
            Some((before, _)) => format!("{before}?..."),
            None => shown.to_string(),
        };
        let bad = |why: String| format!("invalid Redis URL \"{shown}\": {why}");
        let (scheme, rest) = text.split_once("://").ok_or_else(|| bad(format!("use {SCHEMES}")))?;
        let (kind, tls) = match scheme {
            "redis" => ("single", false),
            "rediss" => ("single", true),
            "redis+cluster" => ("cluster", false),
            "rediss+cluster" => ("cluster", true),
            "redis+sentinel" => ("sentinel", false),
            "rediss+sentinel" => ("sentinel", true),
            _ => return Err(bad(format!("unknown scheme \"{scheme}\": use {SCHEMES}"))),
        };
        if rest.contains('#') {
            return Err(bad("a '#' in it: write one in a password as %23".into()));
        }
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = rest.split_once('/').map_or((rest, ""), |(a, p)| (a, p));
        let (userinfo, hosts) = authority.rsplit_once('@').map_or((None, authority), |(u, h)| (Some(u), h));
        let (username, password) = match userinfo {
            None => (None, None),
            Some(u) => {
                let (user, password) = u.split_once(':').map_or((u, None), |(u, p)| (u, Some(p)));
                let user = decode(user).map_err(|e| bad(e.into()))?;
                let password = password.map(decode).transpose().map_err(|e| bad(e.into()))?;
                (Some(user).filter(|u| !u.is_empty()), password)
            }
        };
        let default_port = if kind == "sentinel" { 26379 } else { 6379 };
        let nodes = hosts.split(',').map(|h| node(h, default_port)).collect::<Result<Vec<_>, _>>().map_err(bad)?;
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let db_of = |s: Option<&&str>| -> Result<i64, String> {
            s.map_or(Ok(0), |d| {
                d.parse::<u32>().map(i64::from).map_err(|_| bad(format!("the database \"{d}\" is not a number")))
            })
        };
        let (topology, db) = match kind {
            "single" => {
                if nodes.len() > 1 {
                    return Err(bad(
                        "several hosts: for a cluster use redis+cluster://, for Sentinel redis+sentinel://".into(),
                    ));
                }
                if segments.len() > 1 {
                    return Err(bad(format!("the path \"/{path}\" is not a database number")));
                }
                (Topology::Single(nodes.into_iter().next().expect("split yields one")), db_of(segments.first())?)
            }
            "cluster" => {
                if !segments.is_empty() {
                    return Err(bad(
                        "a path: a cluster has only database 0, so write none (redis+cluster://h1:p1,h2:p2/)".into(),
                    ));
                }
                (Topology::Cluster(nodes), 0)
            }
            _ => {
                let Some(master) = segments.first() else {
                    return Err(bad("no master name: write redis+sentinel://s1:26379,s2:26379/MASTER[/db]".into()));
                };
                if segments.len() > 2 {
                    return Err(bad(format!("the path \"/{path}\" is not MASTER[/db]")));
                }
                let master = decode(master).map_err(|e| bad(e.into()))?;
                (Topology::Sentinel { sentinels: nodes, master }, db_of(segments.get(1))?)
            }
        };
        let tls = tls_files(query, tls).map_err(bad)?;
        Ok(RedisUrl { topology, tls, username, password, db })
    }
}

/// `host[:port]` or `[v6]:port`.
fn node(text: &str, default_port: u16) -> Result<Node, String> {
    let (host, port) = if let Some(v6) = text.strip_prefix('[') {
        let (host, after) = v6.split_once(']').ok_or_else(|| format!("\"{text}\" opens a '[' it does not close"))?;
        (host, after.strip_prefix(':'))
    } else {
        text.rsplit_once(':').map_or((text, None), |(h, p)| (h, Some(p)))
    };
    if host.is_empty() {
        return Err("it names no host".into());
    }
    let port = match port {
        None => default_port,
        Some(p) => p
            .parse()
            .ok()
            .filter(|&p| p > 0)
            .ok_or_else(|| format!("the port \"{p}\" is not a number from 1 to 65535"))?,
    };
    Ok(Node { host: host.to_string(), port })
}

fn tls_files(query: &str, tls: bool) -> Result<Option<TlsFiles>, String> {
    let mut files = TlsFiles::default();
    let (mut cert, mut key) = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let path = || -> Result<PathBuf, String> {
            if !tls {
                return Err(format!(
                    "\"{name}\" is a TLS setting: use rediss:// (or rediss+cluster://, rediss+sentinel://)"
                ));
            }
            let value = decode(value)?;
            if !value.starts_with('/') {
                return Err(format!("{name}=\"{value}\" is not an absolute path"));
            }
            Ok(PathBuf::from(value))
        };
        let once = |slot: &Option<PathBuf>| match slot {
            Some(_) => Err(format!("{name}= is given twice")),
            None => path(),
        };
        match name {
            "ca" => files.ca = Some(once(&files.ca)?),
            "cert" => cert = Some(once(&cert)?),
            "key" => key = Some(once(&key)?),
            // Named, not shown: a value may be a secret put there by mistake.
            _ => {
                return Err(format!(
                    "unknown parameter \"{name}\": taskq's Redis URLs take ca=, cert= and key= (over TLS)"
                ));
            }
        }
    }
    files.client = match (cert, key) {
        (Some(c), Some(k)) => Some((c, k)),
        (None, None) => None,
        _ => return Err("a client certificate needs both cert= and key=".into()),
    };
    Ok(tls.then_some(files))
}

fn decode(text: &str) -> Result<String, &'static str> {
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map(std::borrow::Cow::into_owned)
        .map_err(|_| "a percent-escape that is not UTF-8")
}

/// Without the password: a URL may end up in any message.
impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisUrl")
            .field("topology", &self.topology)
            .field("tls", &self.tls)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("db", &self.db)
            .finish()
    }
}

impl RedisUrl {
    /// The servers a client starts from, as `host:port` (for messages).
    pub fn hosts(&self) -> String {
        let nodes = match &self.topology {
            Topology::Single(n) => std::slice::from_ref(n),
            Topology::Cluster(nodes) | Topology::Sentinel { sentinels: nodes, .. } => nodes.as_slice(),
        };
        nodes.iter().map(|n| format!("{}:{}", n.host, n.port)).collect::<Vec<_>>().join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<RedisUrl, String> {
        RedisUrl::parse(text, text)
    }

    fn node(host: &str, port: u16) -> Node {
        Node { host: host.into(), port }
    }

    #[test]
    fn the_three_topologies() {
        let one = parse("redis://app:s%40cret@10.0.0.5/2").unwrap();
        assert_eq!(one.topology, Topology::Single(node("10.0.0.5", 6379)));
        assert_eq!((one.username.as_deref(), one.password.as_deref(), one.db), (Some("app"), Some("s@cret"), 2));
        assert_eq!(one.tls, None);

        let cluster = parse("redis+cluster://:pw@h1:7000,h2:7001,[::1]:7002/").unwrap();
        assert_eq!(cluster.topology, Topology::Cluster(vec![node("h1", 7000), node("h2", 7001), node("::1", 7002)]));
        assert_eq!((cluster.username, cluster.password.as_deref()), (None, Some("pw")));

        let sentinel = parse("rediss+sentinel://s1,s2:26380/mymaster/3?ca=/etc/ca.pem").unwrap();
        let sentinels = vec![node("s1", 26379), node("s2", 26380)];
        assert_eq!(sentinel.topology, Topology::Sentinel { sentinels, master: "mymaster".into() });
        assert_eq!(sentinel.db, 3);
        assert_eq!(sentinel.tls, Some(TlsFiles { ca: Some("/etc/ca.pem".into()), client: None }));
    }

    #[test]
    fn tls_files() {
        let url = parse("rediss://h:6380/0?ca=/a/ca.pem&cert=/a/c.pem&key=/a/k.pem").unwrap();
        let files = url.tls.unwrap();
        assert_eq!(files.client, Some(("/a/c.pem".into(), "/a/k.pem".into())));
        assert_eq!(parse("rediss://h").unwrap().tls, Some(TlsFiles::default()), "system roots");
        assert!(parse("rediss://h?cert=/c.pem").unwrap_err().contains("needs both cert= and key="));
        assert!(parse("redis://h?ca=/ca.pem").unwrap_err().contains("is a TLS setting: use rediss://"));
        assert!(parse("rediss://h?ca=ca.pem").unwrap_err().contains("not an absolute path"));
        assert!(parse("rediss://h?ca=/a.pem&ca=/b.pem").unwrap_err().contains("ca= is given twice"));
    }

    #[test]
    fn mistakes_are_named() {
        let cases = [
            ("redis://h?protocol=resp3", "unknown parameter \"protocol\""),
            ("redis://h?password=S3CRET", "unknown parameter \"password\""),
            ("redis://h1,h2", "for a cluster use redis+cluster://"),
            ("redis+cluster://h1,h2/3", "a cluster has only database 0"),
            ("redis+sentinel://s1,s2", "no master name"),
            ("redis+sentinel://s1/m/x", "the database \"x\" is not a number"),
            ("redis://h:99999", "the port \"99999\" is not a number from 1 to 65535"),
            ("redis://:pw@/0", "it names no host"),
            ("redis+foo://h", "unknown scheme \"redis+foo\""),
            ("redis://h/0/1", "is not a database number"),
        ];
        for (url, want) in cases {
            let err = parse(url).unwrap_err();
            assert!(err.contains(want), "{url}: {err}");
            assert!(!err.contains("S3CRET"), "{err}");
        }
    }
}
