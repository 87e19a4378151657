//! The proxy against a real redis-server: what each control does to a
//! connection, seen through raw RESP.

use std::io::ErrorKind;
use std::time::Duration;

use crate::common::{Proxy, RedisConn, RedisServer, SOON, wait_until};

/// Long enough that a loopback reply would have arrived.
const SILENCE: Duration = Duration::from_millis(300);

fn connected_clients(server: &RedisServer) -> usize {
    let info = server.cmd(&["INFO", "clients"]);
    let count = info.lines().find_map(|line| line.strip_prefix("connected_clients:"));
    count.and_then(|n| n.trim().parse().ok()).expect("INFO clients has connected_clients")
}

fn timed_out(kind: ErrorKind) -> bool {
    matches!(kind, ErrorKind::WouldBlock | ErrorKind::TimedOut)
}

#[test]
fn the_proxy_forwards_commands_and_replies() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.port);
    let mut conn = RedisConn::connect(proxy.port).unwrap();
    assert_eq!(conn.call(&["PING"]).unwrap(), "PONG");
    assert_eq!(conn.call(&["SET", "k", "through the proxy"]).unwrap(), "OK");
    assert_eq!(server.cmd(&["GET", "k"]), "through the proxy");
    assert_eq!(proxy.url(), format!("redis://127.0.0.1:{}/0", proxy.port));
    assert_eq!(proxy.connections(), 1);
}

#[test]
fn a_paused_proxy_holds_bytes_until_resumed() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.port);
    let mut old = RedisConn::connect(proxy.port).unwrap();
    assert_eq!(old.call(&["PING"]).unwrap(), "PONG");

    proxy.pause();
    old.set_timeout(SILENCE);
    old.send(&["PING"]).unwrap();
    let silent = old.reply().unwrap_err();
    assert!(timed_out(silent.kind()), "no reply while paused, got {silent:?}");
    // A new connection is accepted but goes nowhere: the server never sees it.
    let mut new = RedisConn::connect(proxy.port).unwrap();
    new.set_timeout(SILENCE);
    new.send(&["ECHO", "held"]).unwrap();
    assert!(timed_out(new.reply().unwrap_err().kind()));
    // The old connection and this helper's own; others are closed helper connections not reaped yet.
    wait_until(SOON, "the server to see no new connection", || connected_clients(&server) == 2);

    proxy.resume();
    old.set_timeout(SOON);
    new.set_timeout(SOON);
    assert_eq!(old.reply().unwrap(), "PONG", "the held PING was delivered");
    assert_eq!(new.reply().unwrap(), "held");
    assert_eq!(old.call(&["PING"]).unwrap(), "PONG");
}

#[test]
fn drop_all_resets_every_connection_and_new_ones_work() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.port);
    let mut old = RedisConn::connect(proxy.port).unwrap();
    assert_eq!(old.call(&["PING"]).unwrap(), "PONG");

    proxy.drop_all();
    assert_eq!(old.reply().unwrap_err().kind(), ErrorKind::ConnectionReset, "a reset, not a clean close");
    assert_eq!(proxy.connections(), 0);
    wait_until(SOON, "the server to lose the proxied client", || connected_clients(&server) == 1);

    let mut new = RedisConn::connect(proxy.port).unwrap();
    assert_eq!(new.call(&["PING"]).unwrap(), "PONG");
}

#[test]
fn drop_all_also_resets_connections_held_by_a_pause() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.port);
    let mut conn = RedisConn::connect(proxy.port).unwrap();
    assert_eq!(conn.call(&["PING"]).unwrap(), "PONG");
    proxy.pause();
    conn.send(&["PING"]).unwrap();
    proxy.drop_all();
    assert_eq!(conn.reply().unwrap_err().kind(), ErrorKind::ConnectionReset);
    proxy.resume();
    assert_eq!(RedisConn::connect(proxy.port).unwrap().call(&["PING"]).unwrap(), "PONG");
}

#[test]
fn a_partition_refuses_new_connections_and_cuts_old_ones() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.port);
    let mut old = RedisConn::connect(proxy.port).unwrap();
    assert_eq!(old.call(&["PING"]).unwrap(), "PONG");

    proxy.refuse();
    assert_eq!(old.reply().unwrap_err().kind(), ErrorKind::ConnectionReset);
    let refused = RedisConn::connect(proxy.port).err().expect("no connection during a partition");
    assert_eq!(refused.kind(), ErrorKind::ConnectionRefused);

    proxy.accept_again();
    let mut new = RedisConn::connect(proxy.port).unwrap();
    assert_eq!(new.call(&["PING"]).unwrap(), "PONG");
}

#[test]
fn the_proxy_passes_on_a_server_going_away() {
    let server = RedisServer::start_durable();
    let proxy = Proxy::start(server.port);
    let mut old = RedisConn::connect(proxy.port).unwrap();
    assert_eq!(old.call(&["PING"]).unwrap(), "PONG");

    server.stop();
    assert_eq!(old.reply().unwrap_err().kind(), ErrorKind::UnexpectedEof, "the server's close, passed on");
    // With the server down the proxy still accepts, then resets: the client
    // sees the connection fail, as with no proxy.
    let mut down = RedisConn::connect(proxy.port).unwrap();
    assert!(down.call(&["PING"]).is_err());

    server.start_again();
    assert_eq!(RedisConn::connect(proxy.port).unwrap().call(&["PING"]).unwrap(), "PONG");
}

#[test]
fn a_dropped_proxy_closes_its_port_and_connections() {
    let server = RedisServer::start();
    let proxy = Proxy::start(server.port);
    let port = proxy.port;
    let mut conn = RedisConn::connect(port).unwrap();
    assert_eq!(conn.call(&["PING"]).unwrap(), "PONG");

    drop(proxy);
    assert!(conn.reply().is_err(), "the connection ends with the proxy");
    assert_eq!(RedisConn::connect(port).err().map(|e| e.kind()), Some(ErrorKind::ConnectionRefused));
    wait_until(SOON, "the server to lose the proxied client", || connected_clients(&server) == 1);
}
