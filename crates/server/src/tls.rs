//! TLS on the server's own listener (`--tls-cert`, `--tls-key`): rustls with the `ring`
//! provider, chosen explicitly so that no other crate's provider choice can change it.
//! The handshake runs off the accept loop ([`TlsListener`]) so that one slow or silent
//! client never holds up the others.

use std::io;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, OwnedSemaphorePermit, Semaphore};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// The PEM files of the server's certificate (with its intermediates) and private key.
#[derive(Debug, Clone)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Why the certificate or key cannot serve TLS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("cannot read the TLS certificate {path}: check the file given to --tls-cert exists and is readable by obsync")]
    ReadCert {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read the TLS private key {path}: check the file given to --tls-key exists and is readable by obsync")]
    ReadKey {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("the TLS certificate file {path} holds no valid PEM certificate: pass the server's certificate (\"-----BEGIN CERTIFICATE-----\"), followed by its intermediates, to --tls-cert")]
    BadCert {
        path: PathBuf,
        #[source]
        source: Option<rustls::pki_types::pem::Error>,
    },
    #[error("the TLS private key file {path} holds no valid PEM private key: pass the certificate's unencrypted key (PKCS#8 \"BEGIN PRIVATE KEY\", PKCS#1 \"BEGIN RSA PRIVATE KEY\" or SEC1 \"BEGIN EC PRIVATE KEY\") to --tls-key")]
    BadKey {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("the TLS private key {key} does not fit the certificate {cert}: pass the key the certificate was issued for (compare `openssl x509 -noout -pubkey -in CERT` with `openssl pkey -pubout -in KEY`)")]
    Mismatch {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("the TLS private key {path} is of a kind obsync cannot use: pass an RSA (2048 bits or more), ECDSA P-256/P-384 or Ed25519 key to --tls-key")]
    UnsupportedKey {
        path: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("cannot set up TLS")]
    Setup(#[source] rustls::Error),
}

/// Reads both files and builds the acceptor; every failure names the file and the fix.
pub fn load(files: &TlsFiles) -> Result<TlsAcceptor, TlsError> {
    let cert_pem = std::fs::read(&files.cert).map_err(|source| TlsError::ReadCert {
        path: files.cert.clone(),
        source,
    })?;
    let key_pem = std::fs::read(&files.key).map_err(|source| TlsError::ReadKey {
        path: files.key.clone(),
        source,
    })?;
    let certs = parse_certs(&cert_pem, &files.cert)?;
    let key = PrivateKeyDer::from_pem_slice(&key_pem).map_err(|source| TlsError::BadKey {
        path: files.key.clone(),
        source,
    })?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(TlsError::Setup)?
        .with_no_client_auth()
        // Also checks that the key belongs to the certificate's public key.
        .with_single_cert(certs, key)
        .map_err(|source| match source {
            rustls::Error::InconsistentKeys(_) => TlsError::Mismatch {
                cert: files.cert.clone(),
                key: files.key.clone(),
                source,
            },
            source => TlsError::UnsupportedKey {
                path: files.key.clone(),
                source,
            },
        })?;
    // Browsers and curl negotiate HTTP/1.1, which is what the server speaks.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn parse_certs(pem: &[u8], path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |source| TlsError::BadCert {
        path: path.to_path_buf(),
        source,
    };
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(Some(e)))?;
    if certs.is_empty() {
        return Err(bad(None));
    }
    Ok(certs)
}

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Finished handshakes waiting for the HTTP server to take them; more wait in the
/// kernel's accept queue, so a burst slows down instead of growing memory.
const READY_QUEUE: usize = 64;

/// Yields connections whose TLS handshake is done. Once started, a background task
/// accepts TCP connections, each after taking a connection slot, and runs each handshake
/// in its own task; it stops when the listener is dropped.
pub struct TlsListener {
    tcp: Option<(TcpListener, TlsAcceptor)>,
    ready: mpsc::Receiver<Accepted>,
    ready_tx: mpsc::Sender<Accepted>,
    local_addr: SocketAddr,
    accept_loop: Option<tokio::task::JoinHandle<()>>,
}

type Accepted = (TlsStream<TcpStream>, SocketAddr, OwnedSemaphorePermit);

impl TlsListener {
    pub fn new(tcp: TcpListener, acceptor: TlsAcceptor) -> io::Result<TlsListener> {
        let local_addr = tcp.local_addr()?;
        let (ready_tx, ready) = mpsc::channel(READY_QUEUE);
        Ok(TlsListener {
            tcp: Some((tcp, acceptor)),
            ready,
            ready_tx,
            local_addr,
            accept_loop: None,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Starts accepting; each connection holds one of `slots` until it closes.
    pub fn start(&mut self, slots: Arc<Semaphore>) {
        if let Some((tcp, acceptor)) = self.tcp.take() {
            let ready = self.ready_tx.clone();
            self.accept_loop = Some(tokio::spawn(accept_forever(tcp, acceptor, slots, ready)));
        }
    }

    /// The next connection whose handshake is done, with its slot.
    pub async fn accept(&mut self) -> Accepted {
        match self.ready.recv().await {
            Some(accepted) => accepted,
            // The accept loop never ends while the listener lives.
            None => std::future::pending().await,
        }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        if let Some(accept_loop) = &self.accept_loop {
            accept_loop.abort();
        }
    }
}

async fn accept_forever(
    tcp: TcpListener,
    acceptor: TlsAcceptor,
    slots: Arc<Semaphore>,
    ready: mpsc::Sender<Accepted>,
) {
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match tcp.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_secs(1)).await;
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    let _ = ready.send((tls, peer, slot)).await;
                }
                Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
            }
        });
    }
}
