//! A Sentinel set-up for one test: a master, one replica of it, and three
//! sentinels watching them (quorum 2), all on free loopback ports, and the
//! master's crash followed until the sentinels have promoted the replica.
//! Each process is a `RedisServer`, so all are killed on drop, also when the
//! test panics. What taskq does across a failover is for the tests to check.

use std::time::Duration;

use super::redis::{RedisServer, wait_for};

/// How long the sentinels may take to find each other, or to fail over.
const CONVERGE: Duration = Duration::from_secs(30);

/// `down-after-milliseconds`: a master silent this long is subjectively
/// down, and with a quorum agreeing, failed over. `failover-timeout`: also
/// how long before a failed election is tried again (twice this).
const SENTINEL_CONF: &str = "
sentinel monitor {name} 127.0.0.1 {port} 2
sentinel down-after-milliseconds {name} 1000
sentinel failover-timeout {name} 2000
";

/// A master, its replica, and three sentinels.
pub(crate) struct RedisSentinel {
    /// The master name the sentinels know the pair by.
    name: String,
    /// The first master, then its replica; which is master now, the sentinels say.
    servers: Vec<RedisServer>,
    /// Never stopped by this helper.
    sentinels: Vec<RedisServer>,
}

impl RedisSentinel {
    /// Starts the master, a replica (synced before the sentinels start, so
    /// their first look finds it), and three sentinels; returns once each
    /// sentinel sees the master up, the replica synced, and the two other sentinels.
    pub(crate) fn start(name: &str) -> RedisSentinel {
        // A replica syncs at once, not after the default 5 s wait for others.
        let no_delay = ["--repl-diskless-sync-delay", "0"];
        let master = RedisServer::start_with(&no_delay);
        let of = master.port.to_string();
        let replica = RedisServer::start_with(&[&no_delay[..], &["--replicaof", "127.0.0.1", &of]].concat());
        wait_for(CONVERGE, "the replica to sync", || synced(&replica));
        let conf = SENTINEL_CONF.replace("{name}", name).replace("{port}", &of);
        let sentinels = (0..3).map(|_| RedisServer::start_with_conf(&conf, &["--sentinel"])).collect();
        let set = RedisSentinel { name: name.to_string(), servers: vec![master, replica], sentinels };
        let (master, replica) = (set.servers[0].port, set.servers[1].port);
        wait_for(CONVERGE, "the sentinels to see the master, the replica and each other", || {
            set.agree(master, Some(replica))
        });
        set
    }

    /// `redis+sentinel://127.0.0.1:s1,127.0.0.1:s2,127.0.0.1:s3/MASTER/0`.
    pub(crate) fn url(&self) -> String {
        let sentinels: Vec<String> = self.sentinel_ports().iter().map(|port| format!("127.0.0.1:{port}")).collect();
        format!("redis+sentinel://{}/{}/0", sentinels.join(","), self.name)
    }

    /// The master name the sentinels know.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// The master's and the replica's ports (which is which changes with a failover).
    pub(crate) fn server_ports(&self) -> Vec<u16> {
        self.servers.iter().map(|server| server.port).collect()
    }

    /// The sentinels' ports.
    pub(crate) fn sentinel_ports(&self) -> Vec<u16> {
        self.sentinels.iter().map(|sentinel| sentinel.port).collect()
    }

    /// The master's port, as the first sentinel reports it now.
    pub(crate) fn master_port(&self) -> u16 {
        self.reported_master(&self.sentinels[0])
            .unwrap_or_else(|why| panic!("the first sentinel reports no master {:?}: {why}", self.name))
    }

    /// Sends one command to the server or sentinel on `port`; the reply as
    /// text. Each call is a new connection, so a `WAIT` here waits for
    /// nothing: send a write and its `WAIT` on one `RedisConn`.
    pub(crate) fn cmd_on(&self, port: u16, args: &[&str]) -> String {
        self.server(port).cmd(args)
    }

    /// SIGKILLs the master and returns the new master's port once every
    /// sentinel reports the replica as master with the failover over, and
    /// the replica itself says it is a master.
    pub(crate) fn kill_master(&self) -> u16 {
        let old = self.master_port();
        let new = self
            .servers
            .iter()
            .find(|server| server.port != old && server.running())
            .unwrap_or_else(|| panic!("the master {old} has no replica left to promote"))
            .port;
        self.servers.iter().find(|server| server.port == old).expect("the master is one of the servers").stop();
        wait_for(CONVERGE, &format!("the sentinels to promote {new} in place of the killed master {old}"), || {
            self.agree(new, None)
        });
        new
    }

    /// A graceful failover (`SENTINEL FAILOVER`): the master stays up and is
    /// made a replica of the one promoted. Returns the new master's port once
    /// every sentinel reports it with the failover over.
    pub(crate) fn fail_over(&self) -> u16 {
        let old = self.master_port();
        let new = self.servers.iter().find(|server| server.port != old).expect("a replica").port;
        let reply = self.sentinels[0].cmd(&["SENTINEL", "FAILOVER", &self.name]);
        assert_eq!(reply, "OK", "SENTINEL FAILOVER");
        wait_for(CONVERGE, &format!("the sentinels to promote {new} in place of {old}"), || self.agree(new, None));
        new
    }

    /// Stops every server and sentinel (for a set shared by a whole test
    /// binary, which no drop stops).
    pub(crate) fn stop_all(&self) {
        self.servers.iter().chain(&self.sentinels).for_each(RedisServer::stop);
    }

    fn server(&self, port: u16) -> &RedisServer {
        self.servers
            .iter()
            .chain(&self.sentinels)
            .find(|server| server.port == port)
            .unwrap_or_else(|| panic!("no server or sentinel on port {port}"))
    }

    /// `Ok` when `master` says it is one and every sentinel reports it as the
    /// master with nothing in progress, knows the two other sentinels, and
    /// (if given) sees `replica` synced with it; else what is not so.
    fn agree(&self, master: u16, replica: Option<u16>) -> Result<(), String> {
        let role = self.server(master).try_cmd(&["ROLE"])?;
        if !role.starts_with("master") {
            return Err(format!("{master} is not a master: {role:?}"));
        }
        for sentinel in &self.sentinels {
            let port = sentinel.port;
            match self.reported_master(sentinel) {
                Ok(reported) if reported == master => {}
                other => return Err(format!("sentinel {port} reports the master as {other:?}, not {master}")),
            }
            let state = sentinel.try_cmd(&["SENTINEL", "MASTER", &self.name])?;
            has_fields(&state, &[("flags", "master"), ("num-other-sentinels", "2")])
                .map_err(|why| format!("sentinel {port}: the master's {why}"))?;
            let Some(replica) = replica else { continue };
            let replicas = sentinel.try_cmd(&["SENTINEL", "REPLICAS", &self.name])?;
            let replica = replica.to_string();
            has_fields(&replicas, &[("port", &replica), ("flags", "slave"), ("master-link-status", "ok")])
                .map_err(|why| format!("sentinel {port}: the replica's {why}"))?;
        }
        Ok(())
    }

    /// The master's port by `SENTINEL GET-MASTER-ADDR-BY-NAME`, or why not (the reply, or the error).
    fn reported_master(&self, sentinel: &RedisServer) -> Result<u16, String> {
        let reply = sentinel.try_cmd(&["SENTINEL", "GET-MASTER-ADDR-BY-NAME", &self.name])?;
        reply.lines().nth(1).and_then(|port| port.parse().ok()).ok_or(reply)
    }
}

/// Whether a replica's link to its master is up (initial sync done).
fn synced(replica: &RedisServer) -> Result<(), String> {
    let info = replica.try_cmd(&["INFO", "replication"])?;
    if info.lines().any(|line| line == "master_link_status:up") { Ok(()) } else { Err(info) }
}

/// `Ok` if `reply` has every `(key, value)` of `want` (see `field`); else the first it lacks.
fn has_fields(reply: &str, want: &[(&str, &str)]) -> Result<(), String> {
    match want.iter().find(|(key, value)| field(reply, key) != Some(*value)) {
        Some((key, value)) => Err(format!("{key} is not {value}:\n{reply}")),
        None => Ok(()),
    }
}

/// A value in a flattened reply of alternate keys and values (`RedisConn`
/// puts one element per line); the first, when several records are flattened together.
fn field<'a>(reply: &'a str, key: &str) -> Option<&'a str> {
    let lines: Vec<&str> = reply.lines().collect();
    lines.chunks_exact(2).find(|pair| pair[0] == key).map(|pair| pair[1])
}
