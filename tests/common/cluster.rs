//! A real Redis Cluster for one test: three masters and three replicas on
//! free loopback ports, joined by `redis-cli --cluster create`, and a
//! master's crash followed until its replica has taken over. Each node is a
//! `RedisServer`, so every process is killed on drop, also when the test
//! panics. What taskq does on the cluster is for the tests to check; this
//! file only builds the cluster and breaks it.

use std::fs::File;
use std::ops::RangeInclusive;
use std::process::{Command, Stdio};
use std::time::Duration;

use super::poll_until;
use super::redis::{RedisServer, free_port, on_a_free_port, wait_for};

/// How long the cluster may take to form, or to heal after a crash: a
/// failover takes about two node timeouts, plus gossip.
const CONVERGE: Duration = Duration::from_secs(30);

/// `cluster-node-timeout`: a master unreachable this long is failed over.
/// Low, so a failover takes seconds; high enough that a busy 2-core machine
/// does not fail over a master that is only slow.
const NODE_TIMEOUT_MS: &str = "1000";

/// Hash slots in a Redis Cluster.
const SLOTS: usize = 16384;

/// Six redis-server processes forming one cluster.
pub(crate) struct RedisCluster {
    /// In the order given to `--cluster create`: the first three start as
    /// masters, each of the others as a replica of one of them.
    nodes: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts six nodes, joins them as three masters with one replica each,
    /// and returns once every node says `cluster_state:ok` with all slots
    /// served, every replica has synced, and all agree on who is who.
    pub(crate) fn start() -> RedisCluster {
        let nodes = (0..6)
            .map(|_| {
                on_a_free_port(|port| {
                    // The bus port is chosen too: `port + 10000` may be taken, or past 65535.
                    let bus = free_port().to_string();
                    let args = [
                        ["--cluster-enabled", "yes"],
                        ["--cluster-config-file", "nodes.conf"],
                        ["--cluster-node-timeout", NODE_TIMEOUT_MS],
                        ["--cluster-port", bus.as_str()],
                        // A replica syncs at once, not after the default 5 s wait for others.
                        ["--repl-diskless-sync-delay", "0"],
                    ];
                    RedisServer::try_start(port, None, args.as_flattened())
                })
            })
            .collect();
        let cluster = RedisCluster { nodes };
        cluster.create();
        wait_for(CONVERGE, "the cluster to form", || cluster.healthy());
        cluster
    }

    /// `redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/`: the first
    /// three nodes as seeds (a client learns the rest from them).
    pub(crate) fn url(&self) -> String {
        let seeds: Vec<String> = self.nodes[..3].iter().map(|node| format!("127.0.0.1:{}", node.port)).collect();
        format!("redis+cluster://{}/", seeds.join(","))
    }

    /// Every node's port, running or not.
    pub(crate) fn ports(&self) -> Vec<u16> {
        self.nodes.iter().map(|node| node.port).collect()
    }

    /// The ports of the masters serving slots now, ascending.
    pub(crate) fn masters(&self) -> Vec<u16> {
        let mut ports: Vec<u16> =
            self.view().iter().filter(|node| node.is_master() && !node.failing()).map(|node| node.port).collect();
        ports.sort_unstable();
        ports
    }

    /// The port of the master serving `slot` now.
    pub(crate) fn master_of_slot(&self, slot: u16) -> u16 {
        Node::master_of(&self.view(), slot).port
    }

    /// Sends one command to the node on `port`; the reply as text (see
    /// `RedisConn::reply`: a `-MOVED ...` redirection is returned, not
    /// followed). Each call is a new connection, so a `WAIT` here waits for
    /// nothing: send a write and its `WAIT` on one `RedisConn`.
    pub(crate) fn cmd_on(&self, port: u16, args: &[&str]) -> String {
        self.node(port).cmd(args)
    }

    /// SIGKILLs the master serving `slot` and returns its port once its
    /// replica has been promoted: every running node sees the dead one as
    /// failed, all slots served, and `cluster_state:ok`.
    pub(crate) fn kill_master_of_slot(&self, slot: u16) -> u16 {
        let view = self.view();
        let master = Node::master_of(&view, slot);
        assert!(
            view.iter().any(|node| node.master == master.id && !node.failing()),
            "the master of slot {slot} (port {}) has no replica left to promote",
            master.port
        );
        self.node(master.port).stop();
        wait_for(CONVERGE, &format!("a replica to take over from the killed master {}", master.port), || {
            self.healthy()
        });
        master.port
    }

    /// Stops every node (for a cluster shared by a whole test binary, which
    /// no drop stops).
    pub(crate) fn stop_all(&self) {
        self.nodes.iter().for_each(RedisServer::stop);
    }

    /// Moves `slot` to another master while clients use it, as a resharding
    /// does (`CLUSTER SETSLOT ... IMPORTING/MIGRATING`, `MIGRATE` of its keys a
    /// batch at a time, then `SETSLOT ... NODE` on every master); returns the
    /// port of the master that serves it now.
    pub(crate) fn move_slot(&self, slot: u16) -> u16 {
        let view = self.view();
        let from = Node::master_of(&view, slot);
        let to = view.iter().find(|n| n.is_master() && !n.failing() && n.id != from.id).expect("another master");
        let slot_text = slot.to_string();
        let on = |port: u16, args: &[&str]| {
            let reply = self.node(port).cmd(args);
            assert!(!reply.starts_with('-'), "{args:?} on {port}: {reply}");
            reply
        };
        on(to.port, &["CLUSTER", "SETSLOT", &slot_text, "IMPORTING", &from.id]);
        on(from.port, &["CLUSTER", "SETSLOT", &slot_text, "MIGRATING", &to.id]);
        let to_port = to.port.to_string();
        loop {
            let keys = on(from.port, &["CLUSTER", "GETKEYSINSLOT", &slot_text, "10"]);
            let keys: Vec<&str> = keys.lines().filter(|k| !k.is_empty()).collect();
            if keys.is_empty() {
                break;
            }
            let mut args = vec!["MIGRATE", "127.0.0.1", &to_port, "", "0", "5000", "KEYS"];
            args.extend(keys);
            on(from.port, &args);
        }
        for master in view.iter().filter(|n| n.is_master() && !n.failing()) {
            on(master.port, &["CLUSTER", "SETSLOT", &slot_text, "NODE", &to.id]);
        }
        to.port
    }

    /// `kill_master_of_slot(0)`.
    pub(crate) fn kill_a_master(&self) -> u16 {
        self.kill_master_of_slot(0)
    }

    /// After a kill: starts the node on `port` again with its data dir and
    /// node table, and returns once it has rejoined (a killed master comes
    /// back as a replica of the one promoted in its place) and synced.
    pub(crate) fn start_again(&self, port: u16) {
        self.node(port).start_again();
        wait_for(CONVERGE, &format!("node {port} to rejoin the cluster"), || self.healthy());
    }

    fn node(&self, port: u16) -> &RedisServer {
        self.nodes.iter().find(|node| node.port == port).unwrap_or_else(|| panic!("no cluster node on port {port}"))
    }

    fn running(&self) -> impl Iterator<Item = &RedisServer> {
        self.nodes.iter().filter(|node| node.running())
    }

    /// `CLUSTER NODES` as the first running node sees it.
    fn view(&self) -> Vec<Node> {
        let node = self.running().next().expect("a running cluster node");
        Node::parse_all(&node.cmd(&["CLUSTER", "NODES"]))
    }

    /// Runs `redis-cli --cluster create`; its output goes to a file, shown if it fails.
    fn create(&self) {
        let log_path = self.nodes[0].dir().join("cluster-create.log");
        let log = File::create(&log_path).expect("create the redis-cli log");
        let mut child = Command::new("redis-cli")
            .args(["--cluster", "create"])
            .args(self.nodes.iter().map(|node| format!("127.0.0.1:{}", node.port)))
            .args(["--cluster-replicas", "1", "--cluster-yes"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone the log file"))
            .stderr(log)
            .spawn()
            .expect("redis-cli must be installed for the cluster tests (apt-get install redis-tools)");
        let mut status = None;
        if !poll_until(CONVERGE, || {
            status = child.try_wait().expect("redis-cli status");
            status.is_some()
        }) {
            let _ = child.kill();
            let _ = child.wait();
        }
        let output = std::fs::read_to_string(&log_path).unwrap_or_default();
        assert!(status.is_some_and(|s| s.success()), "redis-cli --cluster create failed ({status:?}):\n{output}");
    }

    /// `Ok` when every running node says the cluster is ok with every slot
    /// served; three of them call themselves masters; each sees every
    /// other running node as that node sees itself (role and master), and
    /// the stopped ones as failed; and every running replica has synced.
    /// Else what is not so.
    fn healthy(&self) -> Result<(), String> {
        let stopped: Vec<u16> = self.nodes.iter().filter(|node| !node.running()).map(|node| node.port).collect();
        let mut views = Vec::new();
        for server in self.running() {
            let port = server.port;
            let info = server.try_cmd(&["CLUSTER", "INFO"])?;
            let want = [
                "cluster_state:ok".to_string(),
                format!("cluster_slots_ok:{SLOTS}"),
                format!("cluster_known_nodes:{}", self.nodes.len()),
                "cluster_size:3".to_string(),
            ];
            if let Some(missing) = want.iter().find(|line| !info.lines().any(|l| l == line.as_str())) {
                return Err(format!("node {port} lacks {missing} in CLUSTER INFO:\n{info}"));
            }
            let table = server.try_cmd(&["CLUSTER", "NODES"])?;
            views.push((port, Node::parse_all(&table), table));
        }
        let selves: Vec<&Node> = views.iter().filter_map(|(_, view, _)| view.iter().find(|n| n.is_myself())).collect();
        let masters = selves.iter().filter(|node| node.is_master()).count();
        if masters != 3 {
            return Err(format!("{masters} running nodes call themselves masters, not 3"));
        }
        for (port, view, table) in &views {
            for node in view {
                let dead = stopped.contains(&node.port);
                let mismatch = selves
                    .iter()
                    .find(|own| own.port == node.port)
                    .is_some_and(|own| own.is_master() != node.is_master() || own.master != node.master);
                if dead != node.failed() || (!dead && node.failing()) || mismatch {
                    return Err(format!("node {port} sees {} otherwise:\n{table}", node.port));
                }
            }
        }
        for replica in selves.iter().filter(|node| !node.is_master()) {
            let replication = self.node(replica.port).try_cmd(&["INFO", "replication"])?;
            if !replication.contains("master_link_status:up") {
                return Err(format!("replica {} has not synced:\n{replication}", replica.port));
            }
        }
        Ok(())
    }
}

/// One line of `CLUSTER NODES`: `<id> <ip:port@bus> <flags> <master id or -> <ping> <pong> <epoch> <link> <slots>...`.
struct Node {
    id: String,
    port: u16,
    /// Such as `myself,master`, `slave`, `master,fail?` (suspected), `master,fail`.
    flags: String,
    /// The master's id for a replica, `-` for a master.
    master: String,
    slots: Vec<RangeInclusive<u16>>,
}

impl Node {
    fn parse_all(table: &str) -> Vec<Node> {
        table
            .lines()
            .map(|line| Node::parse(line).unwrap_or_else(|| panic!("not a CLUSTER NODES line: {line:?}")))
            .collect()
    }

    fn parse(line: &str) -> Option<Node> {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let address = fields.get(1)?.split(['@', ',']).next()?;
        let slots = fields.get(8..).unwrap_or_default().iter().filter(|slot| !slot.starts_with('['));
        Some(Node {
            id: (*fields.first()?).to_string(),
            port: address.rsplit(':').next()?.parse().ok()?,
            flags: (*fields.get(2)?).to_string(),
            master: (*fields.get(3)?).to_string(),
            slots: slots
                .map(|slot| match slot.split_once('-') {
                    Some((first, last)) => Some(first.parse().ok()?..=last.parse().ok()?),
                    None => slot.parse().ok().map(|one| one..=one),
                })
                .collect::<Option<_>>()?,
        })
    }

    /// The healthy master serving `slot` in `view`.
    fn master_of(view: &[Node], slot: u16) -> &Node {
        view.iter()
            .find(|node| node.is_master() && !node.failing() && node.serves(slot))
            .unwrap_or_else(|| panic!("no master serves slot {slot}"))
    }

    fn is_myself(&self) -> bool {
        self.flags.split(',').any(|flag| flag == "myself")
    }

    fn is_master(&self) -> bool {
        self.flags.split(',').any(|flag| flag == "master")
    }

    /// Agreed to have failed (`fail`), not merely suspected (`fail?`).
    fn failed(&self) -> bool {
        self.flags.split(',').any(|flag| flag == "fail")
    }

    /// Failed or suspected.
    fn failing(&self) -> bool {
        self.flags.split(',').any(|flag| flag == "fail" || flag == "fail?")
    }

    fn serves(&self, slot: u16) -> bool {
        self.slots.iter().any(|range| range.contains(&slot))
    }
}
