//! The HTTP server around the API, bounded so that no client can exhaust it: a cap on open
//! connections (taken before `accept`, so a flood waits in the kernel's queue instead of
//! using file descriptors), hyper's header-read timer (which also closes kept-alive
//! connections that stay silent), a per-request timeout, and the layers every answer
//! passes: the `Host` check and the security headers.
//!
//! Hand-written rather than `axum::serve`: axum 0.8 offers no way to set hyper's timer,
//! header-read timeout or a connection cap.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, OwnedSemaphorePermit, Semaphore};
use tower::ServiceExt;

use crate::api::error::{ApiError, ErrorCode};
use crate::tls::TlsListener;

/// How much of the machine the HTTP server may take.
#[derive(Debug, Clone)]
pub struct HttpLimits {
    /// Open connections at most (TLS handshakes in progress count).
    pub max_connections: usize,
    /// A client must send a request's headers within this time; a kept-alive connection
    /// that sends nothing for this long is closed.
    pub header_read_timeout: Duration,
    /// A request is answered 503 when its handler takes longer.
    pub request_timeout: Duration,
}

impl HttpLimits {
    /// Defaults sized to the process's file-descriptor limit: a quarter of it for
    /// connections (the projects' database and Kafka sockets need the rest), 16 to 1,024.
    pub fn for_fd_limit(nofile: u64) -> HttpLimits {
        HttpLimits {
            max_connections: (nofile / 4).clamp(16, 1024) as usize,
            header_read_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(120),
        }
    }
}

/// Raises the soft limit of open files to the hard limit (Debian's default soft limit,
/// 1,024, is low for a server running hundreds of projects) and returns the new soft
/// limit.
pub fn raise_fd_limit() -> u64 {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(e) => {
            tracing::warn!(error = %e, "cannot raise the open-files limit");
            rlimit::getrlimit(rlimit::Resource::NOFILE).map_or(1024, |(soft, _)| soft)
        }
    }
}

/// Where connections come from: plain TCP, or TLS with the handshake done off the loop.
pub enum Listener {
    Plain(TcpListener),
    Tls(TlsListener),
}

impl Listener {
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        match self {
            Listener::Plain(tcp) => tcp.local_addr(),
            Listener::Tls(tls) => Ok(tls.local_addr()),
        }
    }
}

/// Serves `app` until `shutdown` completes, then lets the open requests finish (at most
/// the request timeout) and returns.
pub async fn serve(
    listener: Listener,
    app: Router,
    limits: HttpLimits,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    match listener {
        Listener::Plain(tcp) => loop {
            let accepted = tokio::select! {
                _ = &mut shutdown => break,
                accepted = accept_plain(&tcp, &slots) => accepted,
            };
            let (io, peer, slot) = accepted;
            spawn_connection(io, peer, slot, &app, &limits, stop_rx.clone());
        },
        Listener::Tls(mut tls) => {
            tls.start(slots.clone());
            loop {
                let (io, peer, slot) = tokio::select! {
                    _ = &mut shutdown => break,
                    accepted = tls.accept() => accepted,
                };
                spawn_connection(io, peer, slot, &app, &limits, stop_rx.clone());
            }
        }
    }
    let _ = stop_tx.send(true);
    // Every connection holds a slot until it closes: all slots back means all closed.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    let drained = tokio::time::timeout(limits.request_timeout, slots.acquire_many(all)).await;
    if drained.is_err() {
        tracing::warn!("stopping with HTTP requests still open after the request timeout");
    }
}

async fn accept_plain(
    tcp: &TcpListener,
    slots: &Arc<Semaphore>,
) -> (tokio::net::TcpStream, SocketAddr, OwnedSemaphorePermit) {
    let slot = slots
        .clone()
        .acquire_owned()
        .await
        .expect("the connection semaphore is never closed");
    loop {
        match tcp.accept().await {
            Ok((stream, peer)) => return (stream, peer, slot),
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!(error = %e, "cannot accept a connection");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

fn spawn_connection<I>(
    io: I,
    peer: SocketAddr,
    slot: OwnedSemaphorePermit,
    app: &Router,
    limits: &HttpLimits,
    mut stop: watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let app = app.clone();
    let service = hyper::service::service_fn(move |mut request: Request<Incoming>| {
        // The client's address, for the `ConnectInfo` extractor (login limits, audit).
        request.extensions_mut().insert(ConnectInfo(peer));
        app.clone().oneshot(request)
    });
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    tokio::spawn(async move {
        let _slot = slot;
        let connection = builder
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        let mut connection = std::pin::pin!(connection);
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(%peer, error = %e, "HTTP connection ended with an error");
                }
                return;
            }
            _ = stop.wait_for(|stop| *stop) => connection.as_mut().graceful_shutdown(),
        }
        let _ = connection.await;
    });
}

/// What the server answers to: its own address, IP literals, `localhost`, and the names
/// given with `--public-name`. Anything else is a name an attacker's DNS pointed here
/// (DNS rebinding) and is answered 421.
#[derive(Debug, Clone, Default)]
pub struct AllowedHosts {
    names: Vec<String>,
}

impl AllowedHosts {
    pub fn new(public_names: &[String]) -> AllowedHosts {
        AllowedHosts {
            names: public_names
                .iter()
                .map(|n| n.to_ascii_lowercase())
                .collect(),
        }
    }

    /// Whether a `Host` header value names this server.
    pub fn allows(&self, host: &str) -> bool {
        let name = strip_port(host).to_ascii_lowercase();
        let name = name.trim_end_matches('.');
        let literal = name.trim_start_matches('[').trim_end_matches(']');
        literal.parse::<IpAddr>().is_ok()
            || name == "localhost"
            || self.names.iter().any(|n| n == name)
    }
}

fn strip_port(host: &str) -> &str {
    if host.starts_with('[') {
        // `[v6]` or `[v6]:port`
        return host.find(']').map_or(host, |end| &host[..=end]);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name,
        _ => host,
    }
}

/// Middleware: 421 for a `Host` this server does not answer to. A request without `Host`
/// is let through: browsers always send one, and only browsers are at risk.
pub async fn check_host(
    State(hosts): State<Arc<AllowedHosts>>,
    req: Request,
    next: Next,
) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .map(|h| h.to_str().unwrap_or(""));
    match host {
        Some(host) if !hosts.allows(host) => ApiError::new(
            StatusCode::MISDIRECTED_REQUEST,
            ErrorCode::UnknownHost {
                host: host.to_string(),
            },
            format!("this server does not answer to the host name {host:?}"),
            "open the console by the server's address, or start the server with --public-name NAME for each name it is reached by",
        )
        .into_response(),
        _ => next.run(req).await,
    }
}

/// The console's Content-Security-Policy: scripts, styles, images and connections from
/// this server only; antd writes its styles into `<style>` elements, hence
/// `'unsafe-inline'` for styles (never for scripts).
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Middleware: the security headers of every answer, `Cache-Control: no-store` on the
/// API and metrics (answers carry the user's data), HSTS under TLS.
pub async fn security_headers(State(tls): State<bool>, req: Request, next: Next) -> Response {
    let dynamic = req.uri().path().starts_with("/api/") || req.uri().path() == "/metrics";
    let mut response = next.run(req).await;
    let headers = response.headers_mut();
    let set = |headers: &mut axum::http::HeaderMap, name, value: &'static str| {
        headers.insert(name, HeaderValue::from_static(value));
    };
    set(
        headers,
        header::CONTENT_SECURITY_POLICY,
        CONTENT_SECURITY_POLICY,
    );
    set(headers, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(headers, header::X_FRAME_OPTIONS, "DENY");
    set(headers, header::REFERRER_POLICY, "no-referrer");
    set(
        headers,
        header::HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    );
    set(
        headers,
        header::HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    );
    if dynamic {
        set(headers, header::CACHE_CONTROL, "no-store");
    }
    if tls {
        set(
            headers,
            header::STRICT_TRANSPORT_SECURITY,
            "max-age=31536000",
        );
    }
    response
}

/// Middleware: a handler that takes longer than the request timeout is stopped and the
/// request answered 503 (the handlers keep their state consistent when dropped, as they
/// must when a client disconnects).
pub async fn request_timeout(State(limit): State<Duration>, req: Request, next: Next) -> Response {
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(response) => response,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::RequestTimeout {
                seconds: limit.as_secs(),
            },
            format!("the request took longer than {} s and was stopped", limit.as_secs()),
            "try again; if it keeps happening, check the server's log for a slow source or Kafka cluster",
        )
        .into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_names_are_recognised() {
        let hosts = AllowedHosts::new(&["Obsync.Example.com".into()]);
        for ok in [
            "127.0.0.1:8080",
            "127.0.0.1",
            "localhost:8080",
            "[::1]:8080",
            "[::1]",
            "10.1.2.3:443",
            "obsync.example.com",
            "OBSYNC.example.com:8443",
            "localhost.",
        ] {
            assert!(hosts.allows(ok), "{ok}");
        }
        for refused in [
            "evil.example",
            "evil.example:8080",
            "127.0.0.1.evil.example",
            "",
            "localhost.evil",
        ] {
            assert!(!hosts.allows(refused), "{refused}");
        }
    }

    #[test]
    fn limits_follow_the_fd_limit() {
        assert_eq!(HttpLimits::for_fd_limit(128).max_connections, 32);
        assert_eq!(HttpLimits::for_fd_limit(1_048_576).max_connections, 1024);
        assert_eq!(HttpLimits::for_fd_limit(10).max_connections, 16);
    }
}
