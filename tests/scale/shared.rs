//! Deployments shared by every test of this binary: a cluster and a
//! Sentinel set take seconds to form, and each test works in a namespace of
//! its own, so one of each serves all the conformance cases. Statics are
//! never dropped, so an exit hook stops their processes when the binary
//! ends (also after a failed test).

use std::sync::{Once, OnceLock};

use crate::common::cluster::RedisCluster;
use crate::common::sentinel::RedisSentinel;
use crate::common::tls::RedisTls;

static CLUSTER: OnceLock<RedisCluster> = OnceLock::new();
static SENTINEL: OnceLock<RedisSentinel> = OnceLock::new();
static TLS: OnceLock<RedisTls> = OnceLock::new();

pub(crate) fn cluster() -> &'static RedisCluster {
    stop_at_exit();
    CLUSTER.get_or_init(RedisCluster::start)
}

pub(crate) fn sentinel() -> &'static RedisSentinel {
    stop_at_exit();
    SENTINEL.get_or_init(|| RedisSentinel::start("taskq-shared"))
}

/// A TLS server that also asks clients for a certificate.
pub(crate) fn tls() -> &'static RedisTls {
    stop_at_exit();
    TLS.get_or_init(RedisTls::start_requiring_client_certs)
}

fn stop_at_exit() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        // SAFETY: registers a plain function, which touches only statics.
        let registered = unsafe { libc::atexit(stop_all) };
        assert_eq!(registered, 0, "atexit");
    });
}

extern "C" fn stop_all() {
    if let Some(c) = CLUSTER.get() {
        c.stop_all();
    }
    if let Some(s) = SENTINEL.get() {
        s.stop_all();
    }
    if let Some(t) = TLS.get() {
        t.server().stop();
    }
}
