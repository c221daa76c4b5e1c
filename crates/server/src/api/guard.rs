//! The HTTP layers of [`crate::auth`]: a login required before the handlers, the
//! client's address, and the cross-site check on state-changing requests.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::error::ApiError;
use crate::state::AppState;

/// The client's address, when the server was started with connection info (a router
/// served without it gets `None`).
pub fn client_ip(req: &Request) -> Option<IpAddr> {
    req.extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip())
}

/// The client's address as an extractor (for the login, which has no [`crate::auth::Actor`]).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub Option<IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<ClientIp, Self::Rejection> {
        Ok(ClientIp(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}

/// Middleware: answers 401 unless the request carries a valid session or API token.
pub async fn require_login(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    let client = client_ip(&req);
    match crate::auth::caller(&state, req.headers(), client).await {
        Some(actor) => {
            req.extensions_mut().insert(actor);
            next.run(req).await
        }
        None => ApiError::unauthenticated().into_response(),
    }
}

/// Middleware: refuses state-changing requests that a browser marks as coming from
/// another site (`Sec-Fetch-Site`), or whose `Origin` is not this server.
///
/// Hand-written: tower-http 0.6 (the release axum 0.8 pulls in here) has no CSRF
/// layer, and the rule is short: Sec-Fetch-Site, else Origin against Host, no token
/// state.
pub async fn reject_cross_site(req: Request, next: Next) -> Response {
    if matches!(
        *req.method(),
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    ) || same_site(req.headers())
    {
        return next.run(req).await;
    }
    ApiError::new(
        StatusCode::FORBIDDEN,
        "CROSS_SITE_REQUEST",
        "a state-changing request from another site was refused",
        "send the request from the obsync console itself, or from a script without a browser's Origin header",
    )
    .into_response()
}

fn same_site(headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if let Some(site) = fetch_site {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Not a browser request (curl, scripts): nothing to protect against.
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok());
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(origin);
    Some(origin_host) == host
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn cross_site_requests_are_recognised() {
        assert!(same_site(&headers(&[])));
        assert!(same_site(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(!same_site(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!same_site(&headers(&[("sec-fetch-site", "same-site")])));
        assert!(same_site(&headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080")
        ])));
        assert!(!same_site(&headers(&[
            ("origin", "http://evil.example"),
            ("host", "127.0.0.1:8080")
        ])));
    }
}
