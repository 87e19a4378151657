//! Pointing taskq at the wrong thing: each mistake named, with what to do,
//! and exit 69 (the broker cannot be used as given).

use predicates::prelude::*;

use crate::common::{Env, HttpServer};

fn refused(url: &str, says: &str) {
    Env::with_broker(url)
        .run(&["list"])
        .code(69)
        .stderr(predicate::str::contains(says).and(predicate::str::contains("internal error").not()));
}

#[test]
fn a_url_at_the_wrong_kind_of_server_is_named() {
    let cluster = crate::shared::cluster();
    let node = cluster.ports()[0];
    refused(&format!("redis://127.0.0.1:{node}/0"), "the server is a Redis Cluster node; use a redis+cluster:// URL");
    refused(
        &format!("redis+cluster://nobody:wrong@127.0.0.1:{node}/"),
        "check the user and password in the broker URL",
    );
    let sentinel = crate::shared::sentinel();
    let data = sentinel.master_port();
    refused(&format!("redis+cluster://127.0.0.1:{data}/"), "use a redis:// URL");
    let sentinels = sentinel.sentinel_ports().iter().map(|p| format!("127.0.0.1:{p}")).collect::<Vec<_>>().join(",");
    refused(&format!("redis+sentinel://{sentinels}/nosuch/0"), "the Sentinels watch no master of that name");
    refused(&format!("redis+sentinel://127.0.0.1:{data}/{}/0", sentinel.name()), "is not a Sentinel");
    let http = HttpServer::start();
    let port = http.url("/").trim_start_matches("http://127.0.0.1:").trim_end_matches('/').to_string();
    refused(&format!("redis://127.0.0.1:{port}/0"), "the server does not answer as Redis does");
}
