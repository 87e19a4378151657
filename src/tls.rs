//! TLS set-up shared by HTTP jobs and `rediss://`: rustls with the ring
//! provider, installed once per process before any client is built.

use std::sync::Once;

/// Installs ring as rustls' process-wide crypto provider (idempotent).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // Err means another provider is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}
