//! A redis-server that speaks TLS, with a CA, a server certificate and a
//! client certificate made at test time (by the `openssl` command) in a temp
//! dir. The server is a `RedisServer`, so it is killed on drop, also when
//! the test panics; its plaintext port stays open on loopback for the
//! harness's own commands (`server().cmd`), while taskq is given the TLS port.

use std::path::{Path, PathBuf};
use std::process::Command;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::redis::{RedisServer, free_port, on_a_free_port};

/// What each certificate may do: webpki (rustls) refuses a CA certificate
/// used as a server's, and checks the server's IP against its subjectAltName.
const OPENSSL_CONF: &str = "
[req]
distinguished_name = dn
prompt = no
[dn]
CN = taskq test
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
[server]
basicConstraints = CA:FALSE
subjectAltName = IP:127.0.0.1,DNS:localhost
extendedKeyUsage = serverAuth
[client]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
";

/// Characters a path keeps in a URL's query; the rest are percent-escaped.
const QUERY_VALUE: &AsciiSet = &NON_ALPHANUMERIC.remove(b'/').remove(b'.').remove(b'-').remove(b'_');

/// A CA and two certificates it signed, as PEM files in a temp dir: one for
/// a server at 127.0.0.1 (and localhost), one for a client. Valid two days.
pub(crate) struct Certs {
    dir: tempfile::TempDir,
}

impl Certs {
    /// Makes the keys (EC P-256: instant, where RSA takes a noticeable time) and certificates.
    pub(crate) fn make() -> Certs {
        let certs = Certs { dir: tempfile::tempdir().expect("temp dir") };
        std::fs::write(certs.path("openssl.cnf"), OPENSSL_CONF).expect("write openssl.cnf");
        certs.issue("ca", "/CN=taskq test CA");
        certs.issue("server", "/CN=127.0.0.1");
        certs.issue("client", "/CN=taskq test client");
        certs
    }

    /// The CA's certificate: what a client verifies the server with.
    pub(crate) fn ca(&self) -> PathBuf {
        self.path("ca.pem")
    }

    /// The server's certificate, signed by the CA, for IP 127.0.0.1.
    pub(crate) fn server_cert(&self) -> PathBuf {
        self.path("server.pem")
    }

    /// The server's private key.
    pub(crate) fn server_key(&self) -> PathBuf {
        self.path("server.key")
    }

    /// A client certificate signed by the CA.
    pub(crate) fn client_cert(&self) -> PathBuf {
        self.path("client.pem")
    }

    /// The client certificate's private key.
    pub(crate) fn client_key(&self) -> PathBuf {
        self.path("client.key")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Makes `{name}.key` and `{name}.pem` with the extensions of section
    /// `[name]` and `subject`, signed by the CA (the CA's own is self-signed).
    fn issue(&self, name: &str, subject: &str) {
        let (key, cert) = (format!("{name}.key"), format!("{name}.pem"));
        let signed: &[&str] = if name == "ca" { &[] } else { &["-CA", "ca.pem", "-CAkey", "ca.key"] };
        let output = Command::new("openssl")
            .current_dir(self.dir.path())
            .args(["req", "-x509", "-config", "openssl.cnf", "-days", "2", "-nodes"])
            .args(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"])
            .args(["-extensions", name, "-subj", subject, "-keyout", &key, "-out", &cert])
            .args(signed)
            .output()
            .expect("openssl must be installed for the TLS tests (apt-get install openssl)");
        assert!(output.status.success(), "openssl making {cert}: {}", String::from_utf8_lossy(&output.stderr));
    }
}

/// A redis-server with a TLS port and a plaintext one.
pub(crate) struct RedisTls {
    /// Its `port` is the plaintext one, for the harness only.
    server: RedisServer,
    tls_port: u16,
    certs: Certs,
}

impl RedisTls {
    /// A server clients verify with the CA; it asks them for no certificate.
    pub(crate) fn start() -> RedisTls {
        Self::start_with(false)
    }

    /// A server that also refuses a client without a certificate signed by
    /// the CA (`--tls-auth-clients yes`).
    pub(crate) fn start_requiring_client_certs() -> RedisTls {
        Self::start_with(true)
    }

    fn start_with(client_certs: bool) -> RedisTls {
        let certs = Certs::make();
        let paths = [certs.server_cert(), certs.server_key(), certs.ca()];
        let [cert, key, ca] = paths.each_ref().map(|path| path.to_str().expect("a UTF-8 temp dir"));
        let mut tls_port = 0;
        let server = on_a_free_port(|port| {
            tls_port = free_port();
            let tls = tls_port.to_string();
            let args = [
                ["--tls-port", tls.as_str()],
                ["--tls-cert-file", cert],
                ["--tls-key-file", key],
                ["--tls-ca-cert-file", ca],
                ["--tls-auth-clients", if client_certs { "yes" } else { "no" }],
            ];
            RedisServer::try_start(port, None, args.as_flattened())
        });
        RedisTls { server, tls_port, certs }
    }

    /// `rediss://127.0.0.1:TLS_PORT/0?ca=/path/ca.pem` (SPEC §3).
    pub(crate) fn url(&self) -> String {
        format!("rediss://127.0.0.1:{}/0?ca={}", self.tls_port, query_value(&self.certs.ca()))
    }

    /// `url()` with the client certificate and key: `&cert=/path/client.pem&key=/path/client.key`.
    /// The names are this harness's proposal: SPEC §3 names only `ca`.
    pub(crate) fn url_with_client_cert(&self) -> String {
        let (cert, key) = (query_value(&self.certs.client_cert()), query_value(&self.certs.client_key()));
        format!("{}&cert={cert}&key={key}", self.url())
    }

    /// The port that speaks TLS.
    pub(crate) fn tls_port(&self) -> u16 {
        self.tls_port
    }

    /// The CA, server and client certificates and keys.
    pub(crate) fn certs(&self) -> &Certs {
        &self.certs
    }

    /// The server, through its plaintext port: `cmd`, users, `stop`, `restart`.
    pub(crate) fn server(&self) -> &RedisServer {
        &self.server
    }
}

fn query_value(path: &Path) -> String {
    utf8_percent_encode(path.to_str().expect("a UTF-8 temp dir"), QUERY_VALUE).to_string()
}
