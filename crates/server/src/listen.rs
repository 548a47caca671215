//! The sockets shoeboxd serves on: the Immich port, and on the appliance
//! plain HTTP on port 80 and HTTPS on 443 for the web UI, all with the
//! same routes. Only the Immich port is essential; a listener that cannot
//! start is logged and the others carry on.

use std::future::IntoFuture;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::connect_info::IntoMakeServiceWithConnectInfo;
use axum::serve::{ListenerExt, TapIo};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::rustls::{self, ServerConfig};
use tokio_rustls::server::TlsStream;

use crate::config::{Config, Https as HttpsConfig};

type App = IntoMakeServiceWithConnectInfo<Router, SocketAddr>;

/// Binds every configured listener and serves `app` on each until `stop`
/// turns true. Only a failure of the main port is an error; the log line
/// "shoeboxd is listening" comes once all are up, and scripts wait for it.
pub async fn serve(config: &Config, app: App, stop: watch::Receiver<bool>) -> anyhow::Result<JoinSet<std::io::Result<()>>> {
    let addr = SocketAddr::new(config.listen, config.port);
    let main = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}: is another server using the port? choose another with --port"))?;
    let stopped = move || {
        let mut stop = stop.clone();
        async move {
            let _ = stop.wait_for(|s| *s).await;
        }
    };
    let mut servers = JoinSet::new();
    if let Some(port) = config.http_port {
        match bind(config, port).await {
            Ok(l) => {
                tracing::info!(http_address = %l.local_addr()?, "also serving HTTP");
                servers.spawn(axum::serve(l, app.clone()).with_graceful_shutdown(stopped()).into_future());
            }
            Err(e) => tracing::error!(error = format!("{e:#}"), "the extra HTTP listener is off"),
        }
    }
    if let Some(https) = &config.https {
        match https_listener(config, https).await {
            Ok(l) => drop(servers.spawn(axum::serve(l, app.clone()).with_graceful_shutdown(stopped()).into_future())),
            Err(e) => tracing::error!(error = format!("{e:#}"), "the HTTPS listener is off: HTTPS will not answer"),
        }
    }
    tracing::info!(address = %main.local_addr()?, data_dir = %config.data_dir.display(), "shoeboxd is listening");
    servers.spawn(axum::serve(main, app).with_graceful_shutdown(stopped()).into_future());
    Ok(servers)
}

async fn bind(config: &Config, port: u16) -> anyhow::Result<TcpListener> {
    let addr = SocketAddr::new(config.listen, port);
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}: another program has the port, or ports below 1024 need CAP_NET_BIND_SERVICE"))?;
    Ok(listener)
}

async fn https_listener(config: &Config, https: &HttpsConfig) -> anyhow::Result<Https> {
    let tls = tls_config(&https.cert, &https.key)?;
    let tcp = bind(config, https.port).await?;
    tracing::info!(https_address = %tcp.local_addr()?, "serving HTTPS");
    Ok(TlsListener::new(tcp, tls)?.with_peer_addresses())
}

/// A client that has not finished its TLS handshake by then is dropped, so
/// idle connections cannot pile up.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Reads a PEM certificate chain and private key into a TLS configuration
/// offering HTTP/2 and HTTP/1.1.
fn tls_config(cert: &Path, key: &Path) -> anyhow::Result<Arc<ServerConfig>> {
    let chain = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read the TLS certificate {}: it must be PEM", cert.display()))?;
    let key = PrivateKeyDer::from_pem_file(key)
        .with_context(|| format!("cannot read the TLS key {}: it must be a PEM private key", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .context("the TLS certificate and key do not belong together")?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A TCP listener whose connections come out TLS-wrapped. Handshakes run
/// in their own tasks, so one slow client never holds up the next.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
}

impl TlsListener {
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<Self> {
        let local = tcp.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let (tx, ready) = mpsc::channel(64);
        tokio::spawn(async move {
            while !tx.is_closed() {
                let (socket, peer) = match tcp.accept().await {
                    Ok(accepted) => accepted,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, as axum's own listener does.
                        tracing::warn!(error = %e, "accepting an HTTPS connection failed");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                        continue;
                    }
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await {
                        Ok(Ok(stream)) => drop(tx.send((stream, peer)).await),
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        Ok(TlsListener { ready, local })
    }
}

/// The HTTPS listener as served. Wrapped in a no-op tap because axum
/// gives a tapped listener's requests their peer address (`ConnectInfo`),
/// which the login rate limiter needs.
pub type Https = TapIo<TlsListener, fn(&mut TlsStream<TcpStream>)>;

impl TlsListener {
    pub fn with_peer_addresses(self) -> Https {
        self.tap_io(|_| {})
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accept task only ends when this receiver is gone.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        Ok(self.local)
    }
}
