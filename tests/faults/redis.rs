//! The Redis fault helpers against a real redis-server: each fault is what
//! a client would meet in production.

use std::io::ErrorKind;

use crate::common::{RedisConn, RedisServer};

#[test]
fn a_durable_server_keeps_its_data_across_a_restart() {
    let server = RedisServer::start_durable();
    let port = server.port;
    assert_eq!(server.cmd(&["RPUSH", "q", "a", "b"]), "2");
    let mut old = RedisConn::connect(port).unwrap();
    assert_eq!(old.call(&["PING"]).unwrap(), "PONG", "accepted: one still in the backlog would be reset instead");

    server.restart();
    assert_eq!(server.port, port);
    assert_eq!(server.cmd(&["LRANGE", "q", "0", "-1"]), "a\nb", "written before the crash, read after");
    assert_eq!(old.reply().unwrap_err().kind(), ErrorKind::UnexpectedEof, "old connections are gone");
}

#[test]
fn set_password_locks_out_new_connections_until_removed() {
    let server = RedisServer::start_with(&["--requirepass", "first"]);
    assert_eq!(server.cmd(&["PING"]), "PONG", "cmd knows the startup password");
    let mut old = RedisConn::connect_as(server.port, None, "first").unwrap();

    server.set_password(Some("second"));
    assert_eq!(old.call(&["PING"]).unwrap(), "PONG", "an open connection stays authenticated");
    assert!(RedisConn::connect(server.port).unwrap().call(&["PING"]).unwrap().starts_with("-NOAUTH"));
    let wrong = RedisConn::connect_as(server.port, None, "first").err().expect("the old password is refused");
    assert!(wrong.to_string().starts_with("-WRONGPASS"), "{wrong}");
    assert_eq!(server.url_as("", "second"), format!("redis://:second@127.0.0.1:{}/0", server.port));

    assert!(server.kill_clients() >= 1, "the old one, and maybe helper connections not reaped yet");
    assert!(old.call(&["PING"]).is_err(), "killed, it must reconnect and meet the new password");

    server.set_password(None);
    assert_eq!(RedisConn::connect(server.port).unwrap().call(&["PING"]).unwrap(), "PONG");
}

#[test]
fn a_restart_restores_the_startup_password() {
    let server = RedisServer::start_with(&["--requirepass", "first", "--appendonly", "yes"]);
    server.set_password(Some("second"));
    server.restart();
    assert_eq!(server.cmd(&["PING"]), "PONG");
    assert!(RedisConn::connect_as(server.port, None, "first").is_ok());
}

#[test]
fn misconf_refuses_writes_but_not_reads_until_cleared() {
    let server = RedisServer::start();
    assert_eq!(server.cmd(&["SET", "k", "before"]), "OK");

    server.misconf();
    let refused = server.cmd(&["SET", "k", "during"]);
    assert!(refused.starts_with("-MISCONF"), "{refused}");
    assert!(server.cmd(&["EVAL", "return redis.call('SET', KEYS[1], 'x')", "1", "k"]).starts_with("-MISCONF"));
    assert_eq!(server.cmd(&["GET", "k"]), "before");

    server.clear_misconf();
    assert_eq!(server.cmd(&["SET", "k", "after"]), "OK");
}

#[test]
fn kill_clients_closes_plain_and_subscribed_connections() {
    let server = RedisServer::start();
    let mut plain = RedisConn::connect(server.port).unwrap();
    assert_eq!(plain.call(&["PING"]).unwrap(), "PONG");
    let mut subscriber = RedisConn::connect(server.port).unwrap();
    assert_eq!(subscriber.call(&["SUBSCRIBE", "ch"]).unwrap(), "subscribe\nch\n1");

    assert!(server.kill_clients() >= 2, "both, and maybe helper connections not reaped yet");
    assert_eq!(plain.reply().unwrap_err().kind(), ErrorKind::UnexpectedEof);
    assert_eq!(subscriber.reply().unwrap_err().kind(), ErrorKind::UnexpectedEof);
    assert_eq!(server.cmd(&["PING"]), "PONG", "the server itself carries on");
}

#[test]
fn a_user_without_channels_may_use_keys_but_not_pubsub() {
    let server = RedisServer::start();
    let url = server.add_user_without_channels("worker", "pw");
    assert_eq!(url, format!("redis://worker:pw@127.0.0.1:{}/0", server.port));

    assert_eq!(server.cmd_as("worker", "pw", &["SET", "k", "v"]), "OK");
    assert!(server.cmd_as("worker", "pw", &["PUBLISH", "ch", "x"]).starts_with("-NOPERM"));
    assert!(server.cmd_as("worker", "pw", &["SUBSCRIBE", "ch"]).starts_with("-NOPERM"));
}
