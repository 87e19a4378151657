//! The broker contract (tests/conformance, the very same cases) on a
//! 3-master Redis Cluster, under Sentinel, and over TLS with a client
//! certificate, each as the least-privilege ACL user docs/security.md gives.

#[path = "../conformance/cases.rs"]
mod cases;
#[path = "../conformance/faults.rs"]
mod faults;
#[path = "../conformance/ids.rs"]
mod ids;
#[path = "../conformance/operations.rs"]
mod operations;
#[path = "../conformance/runs.rs"]
mod runs;
#[path = "../conformance/stats.rs"]
mod stats;

use crate::common::Env;

/// Stamps a case for each deployment, as the main suite's macro does for
/// SQLite and Redis.
macro_rules! conformance {
    ($name:ident, |$broker:ident, $env:ident| $body:block) => {
        $crate::broker_case!($name, |$broker, $env| $body,
            cluster => $crate::conformance::on_cluster(),
            sentinel => $crate::conformance::on_sentinel(),
            tls_acl => $crate::conformance::on_tls_as_least_privileged_user()
        );
    };
}
pub(crate) use conformance;

pub(crate) fn on_cluster() -> Env {
    let cluster = crate::shared::cluster();
    as_least_privileged_user(&cluster.url(), |acl| {
        for port in cluster.ports() {
            assert_eq!(cluster.cmd_on(port, acl), "OK");
        }
    })
}

pub(crate) fn on_sentinel() -> Env {
    let set = crate::shared::sentinel();
    as_least_privileged_user(&set.url(), |acl| {
        for port in set.server_ports() {
            assert_eq!(set.cmd_on(port, acl), "OK");
        }
    })
}

/// An env whose broker URL is the TLS server's, with a client certificate.
pub(crate) fn on_tls_as_least_privileged_user() -> Env {
    let tls = crate::shared::tls();
    as_least_privileged_user(&tls.url_with_client_cert(), |acl| assert_eq!(tls.server().cmd(acl), "OK"))
}

/// An env on `url` as a user allowed only what docs/security.md's ACL line
/// allows, for the env's namespace; `create` runs the `ACL SETUSER` command
/// on every server that needs it (a cluster's nodes and a Sentinel set's
/// servers do not share users).
fn as_least_privileged_user(url: &str, create: impl Fn(&[&str])) -> Env {
    let mut env = Env::with_broker("redis://unused");
    let user = format!("u-{}", env.ns);
    let acl = crate::common::redis::documented_acl(&user, &env.ns, "pw");
    create(&acl.iter().map(String::as_str).collect::<Vec<_>>());
    let (scheme, rest) = url.split_once("://").expect("a URL");
    env.broker = format!("{scheme}://{user}:pw@{rest}");
    env
}
