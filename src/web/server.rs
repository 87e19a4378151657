//! The connections: HTTP/1.1, plain or TLS (`--tls-cert`, `--tls-key`),
//! each served by the router. A client must send its request's headers
//! within `HEADER_TIMEOUT` and finish a TLS handshake within as long, so
//! slow clients cannot hold connections open; a stop lets the requests
//! under way finish for `STOP_GRACE`, then closes what is left.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_util::sync::CancellationToken;

use super::Web;

/// How long a client has to send a request's headers (or to finish a TLS
/// handshake) once it connected or its last response went out.
const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long requests under way may go on after a stop: one held open by a
/// client must not keep taskq from stopping.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// Reads a certificate chain and its private key (PEM files) for
/// `--tls-cert` and `--tls-key`; the error names the file and what is wrong.
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, String> {
    crate::tls::install_crypto_provider();
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert)
        .and_then(Iterator::collect)
        .map_err(|e| format!("--tls-cert {}: {e}", cert.display()))?;
    if chain.is_empty() {
        return Err(format!("--tls-cert {}: no PEM certificate in it", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key).map_err(|e| format!("--tls-key {}: {e}", key.display()))?;
    let config = tokio_rustls::rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| format!("--tls-cert and --tls-key do not make a pair: {e}"))?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `web` on `listener` until `stop`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    web: Arc<Web>,
    tls: Option<TlsAcceptor>,
    stop: CancellationToken,
) -> anyhow::Result<()> {
    tokio::spawn(super::events::watch(web.clone(), stop.clone()));
    let app = super::router(web);
    let graceful = GracefulShutdown::new();
    loop {
        let (stream, client) = tokio::select! {
            () = stop.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors, most likely: connections
                    // under way end and free some.
                    tracing::warn!(error = %e, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let app = app.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<hyper::body::Incoming>| {
            request.extensions_mut().insert(ConnectInfo(client));
            let mut app = app.clone();
            async move { tower_service::Service::call(&mut app, request).await }
        });
        let http = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .to_owned();
        match &tls {
            None => {
                let connection = graceful.watch(http.serve_connection(TokioIo::new(stream), service));
                tokio::spawn(async move { finished(connection.await, client) });
            }
            Some(acceptor) => {
                let (acceptor, watcher) = (acceptor.clone(), graceful.watcher());
                tokio::spawn(async move {
                    let mut stream = stream;
                    if plain_http(&mut stream).await {
                        return;
                    }
                    let stream = match tokio::time::timeout(HEADER_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(e)) => return tracing::debug!(%client, error = %e, "TLS handshake failed"),
                        Err(_) => return tracing::debug!(%client, "TLS handshake timed out"),
                    };
                    finished(watcher.watch(http.serve_connection(TokioIo::new(stream), service)).await, client);
                });
            }
        }
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(STOP_GRACE) => {
            tracing::warn!("requests still under way {}s after the stop: closed", STOP_GRACE.as_secs());
        }
    }
    Ok(())
}

/// Whether a client spoke plain HTTP to the TLS port (a TLS handshake
/// starts with byte 22): it is told to use https, and the connection ends.
async fn plain_http(stream: &mut tokio::net::TcpStream) -> bool {
    use tokio::io::AsyncWriteExt;
    let mut first = [0u8; 1];
    let peeked = tokio::time::timeout(HEADER_TIMEOUT, stream.peek(&mut first)).await;
    if !matches!(peeked, Ok(Ok(1))) || !first[0].is_ascii_uppercase() {
        return false;
    }
    let body = "this address serves HTTPS: use https://\n";
    let answer = format!(
        "HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(answer.as_bytes()).await;
    let _ = stream.shutdown().await;
    true
}

/// Logs how a connection ended, if not well: a client that went away or
/// sent garbage is its own business.
fn finished(result: Result<(), hyper::Error>, client: SocketAddr) {
    if let Err(e) = result {
        tracing::debug!(%client, error = %e, "connection ended");
    }
}
