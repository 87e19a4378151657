//! The scale-out helpers against real servers, proved first: a cluster that
//! is three masters and three replicas and heals after a master's crash, a
//! sentinel failover the sentinels report, and TLS servers that refuse what
//! they should.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::RedisConn;
use crate::common::cluster::RedisCluster;
use crate::common::sentinel::RedisSentinel;
use crate::common::tls::RedisTls;

/// The `role` field (`master` or `slave`) of each line of `CLUSTER NODES`.
fn roles(table: &str) -> Vec<&str> {
    table
        .lines()
        .filter_map(|line| line.split_whitespace().nth(2))
        .map(|flags| flags.trim_start_matches("myself,"))
        .collect()
}

/// `SET k v` on the master on `port`, then `WAIT` for its replica: on the
/// same connection, as WAIT waits for that connection's own writes (on a new
/// one, it returns at once).
fn write_and_wait_for_the_replica(port: u16) {
    let mut conn = RedisConn::connect(port).unwrap();
    assert_eq!(conn.call(&["SET", "k", "v"]).unwrap(), "OK");
    assert_eq!(conn.call(&["WAIT", "1", "5000"]).unwrap(), "1", "the write reached the replica");
}

#[test]
fn a_cluster_is_three_masters_and_three_replicas_serving_every_slot() {
    let started = Instant::now();
    let cluster = RedisCluster::start();
    eprintln!("cluster formed in {:?}", started.elapsed());

    let ports = cluster.ports();
    assert_eq!(ports.len(), 6);
    let seeds: Vec<String> = ports[..3].iter().map(|port| format!("127.0.0.1:{port}")).collect();
    assert_eq!(cluster.url(), format!("redis+cluster://{}/", seeds.join(",")));
    for &port in &ports {
        let info = cluster.cmd_on(port, &["CLUSTER", "INFO"]);
        for line in ["cluster_state:ok", "cluster_slots_assigned:16384", "cluster_size:3", "cluster_known_nodes:6"] {
            assert!(info.lines().any(|l| l == line), "node {port} lacks {line}:\n{info}");
        }
        let table = cluster.cmd_on(port, &["CLUSTER", "NODES"]);
        let mut roles = roles(&table);
        roles.sort_unstable();
        assert_eq!(roles, ["master", "master", "master", "slave", "slave", "slave"], "as node {port} sees it");
    }
    assert_eq!(cluster.masters().len(), 3);

    // Slots are really spread: a key is served by its slot's master alone.
    let slot: u16 = cluster.cmd_on(ports[0], &["CLUSTER", "KEYSLOT", "{q}:pending"]).parse().unwrap();
    let owner = cluster.master_of_slot(slot);
    assert_eq!(cluster.cmd_on(owner, &["SET", "{q}:pending", "1"]), "OK");
    for other in cluster.masters().into_iter().filter(|&port| port != owner) {
        let reply = cluster.cmd_on(other, &["GET", "{q}:pending"]);
        assert_eq!(reply, format!("-MOVED {slot} 127.0.0.1:{owner}"), "from master {other}");
    }
}

#[test]
fn killing_a_master_promotes_its_replica_and_the_master_rejoins_as_a_replica() {
    let cluster = RedisCluster::start();
    let slot: u16 = cluster.cmd_on(cluster.ports()[0], &["CLUSTER", "KEYSLOT", "k"]).parse().unwrap();
    let owner = cluster.master_of_slot(slot);
    write_and_wait_for_the_replica(owner);

    let started = Instant::now();
    let killed = cluster.kill_master_of_slot(slot);
    eprintln!("cluster failed over in {:?}", started.elapsed());
    assert_eq!(killed, owner);
    let promoted = cluster.master_of_slot(slot);
    assert_ne!(promoted, killed);
    assert_eq!(cluster.masters().len(), 3, "three masters still: {:?}", cluster.masters());
    assert!(!cluster.masters().contains(&killed));
    assert_eq!(cluster.cmd_on(promoted, &["GET", "k"]), "v", "the replica had the data");

    let started = Instant::now();
    cluster.start_again(killed);
    eprintln!("killed master rejoined in {:?}", started.elapsed());
    assert!(cluster.cmd_on(killed, &["ROLE"]).starts_with("slave"), "back as a replica");
    assert_eq!(cluster.master_of_slot(slot), promoted);
    let next = cluster.master_of_slot(0);
    assert_eq!(cluster.kill_a_master(), next, "a second failover works too");
}

#[test]
fn sentinels_promote_the_replica_when_the_master_dies_and_report_it() {
    let started = Instant::now();
    let set = RedisSentinel::start("taskq-test");
    eprintln!("sentinels ready in {:?}", started.elapsed());
    let sentinels: Vec<String> = set.sentinel_ports().iter().map(|port| format!("127.0.0.1:{port}")).collect();
    assert_eq!(set.url(), format!("redis+sentinel://{}/taskq-test/0", sentinels.join(",")));
    let old = set.master_port();
    assert!(set.cmd_on(old, &["ROLE"]).starts_with("master"));
    write_and_wait_for_the_replica(old);

    let started = Instant::now();
    let new = set.kill_master();
    eprintln!("sentinels failed over in {:?}", started.elapsed());
    assert_ne!(new, old);
    assert_eq!(set.master_port(), new);
    for port in set.sentinel_ports() {
        let reply = set.cmd_on(port, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", "taskq-test"]);
        assert_eq!(reply, format!("127.0.0.1\n{new}"), "sentinel {port}");
    }
    assert_eq!(set.cmd_on(new, &["GET", "k"]), "v");
    assert_eq!(set.cmd_on(new, &["SET", "k", "w"]), "OK", "the new master takes writes");
}

/// `PING` over TLS with rustls (as taskq connects): verifying the server
/// with `ca` (else the system's roots), presenting `client` (cert, key) if given.
fn tls_ping(port: u16, ca: Option<&Path>, client: Option<(&Path, &Path)>) -> redis::RedisResult<String> {
    taskq::tls::install_crypto_provider();
    let read = |path: &Path| std::fs::read(path).expect("a PEM file");
    let certs = redis::TlsCertificates {
        client_tls: client.map(|(cert, key)| redis::ClientTlsConfig { client_cert: read(cert), client_key: read(key) }),
        root_cert: ca.map(read),
    };
    let client = redis::Client::build_with_tls(format!("rediss://127.0.0.1:{port}/0"), certs)?;
    let mut conn = client.get_connection_with_timeout(Duration::from_secs(5))?;
    redis::cmd("PING").query(&mut conn)
}

#[test]
fn a_tls_server_refuses_plaintext_and_serves_a_client_that_verifies_its_ca() {
    let tls = RedisTls::start();
    let (port, certs) = (tls.tls_port(), tls.certs());
    let ca = certs.ca();
    assert_eq!(tls.url(), format!("rediss://127.0.0.1:{port}/0?ca={}", ca.display()));

    let plaintext = RedisConn::connect(port).and_then(|mut conn| conn.call(&["PING"]));
    assert!(plaintext.is_err(), "plaintext on the TLS port: {plaintext:?}");
    assert_eq!(tls_ping(port, Some(&ca), None).unwrap(), "PONG");
    let unknown_ca = tls_ping(port, None, None).unwrap_err().to_string();
    assert!(unknown_ca.contains("UnknownIssuer"), "a client trusting only the system's roots: {unknown_ca}");
    assert_eq!(tls.server().cmd(&["PING"]), "PONG", "the harness's own port is plaintext");
}

#[test]
fn a_tls_server_requiring_client_certificates_refuses_a_client_without_one() {
    let tls = RedisTls::start_requiring_client_certs();
    let (port, certs) = (tls.tls_port(), tls.certs());
    let (ca, cert, key) = (certs.ca(), certs.client_cert(), certs.client_key());
    assert_eq!(
        tls.url_with_client_cert(),
        format!("rediss://127.0.0.1:{port}/0?ca={}&cert={}&key={}", ca.display(), cert.display(), key.display())
    );

    let anonymous = tls_ping(port, Some(&ca), None).unwrap_err().to_string();
    assert!(anonymous.contains("CertificateRequired"), "a client without a certificate: {anonymous}");
    assert_eq!(tls_ping(port, Some(&ca), Some((&cert, &key))).unwrap(), "PONG");
}
