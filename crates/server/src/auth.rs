//! Who is calling: users (Argon2id password hashes), sessions (an opaque cookie whose
//! SHA-256 is stored), API tokens (stored hashed), the login rate limit, and the
//! cross-site check on state-changing requests.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::api::error::ApiError;
use crate::state::AppState;
use crate::store::Store;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "obsync_session";
/// How long a session lasts without a new login.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// The first admin's user name.
pub const ADMIN_USER: &str = "admin";
/// Failed logins of one user name allowed per [`LOGIN_WINDOW`]; then 429 until it ends.
const LOGIN_FAILURES_ALLOWED: usize = 5;
const LOGIN_WINDOW: Duration = Duration::from_secs(60);

/// The logged-in user, put into the request's extensions by [`require_login`].
#[derive(Debug, Clone)]
pub struct Actor(pub String);

/// A random 256-bit token as hex.
pub fn new_token() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// SHA-256 of a token, as stored.
pub fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Creates the first admin when there is no user: the password comes from
/// `OBSYNC_ADMIN_PASSWORD`, or is generated and returned so the caller prints it once.
pub fn ensure_admin(
    store: &dyn Store,
    env_password: Option<String>,
) -> crate::store::Result<Option<String>> {
    if store.user_count()? > 0 {
        return Ok(None);
    }
    let (password, generated) = match env_password.filter(|p| !p.is_empty()) {
        Some(p) => (p, false),
        None => (new_token()[..20].to_string(), true),
    };
    store.put_user(ADMIN_USER, &password_auth::generate_hash(&password))?;
    Ok(generated.then_some(password))
}

/// Counts failed logins per user name.
#[derive(Default)]
pub struct LoginLimiter {
    failures: Mutex<HashMap<String, Vec<Instant>>>,
}

impl LoginLimiter {
    /// Whether `username` may try now.
    pub fn allowed(&self, username: &str) -> bool {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let list = map.entry(username.to_string()).or_default();
        list.retain(|t| t.elapsed() < LOGIN_WINDOW);
        list.len() < LOGIN_FAILURES_ALLOWED
    }

    pub fn failed(&self, username: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(username.to_string())
            .or_default()
            .push(Instant::now());
    }

    pub fn succeeded(&self, username: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(username);
    }
}

/// Checks a password against the stored Argon2id hash, off the async threads (a hash
/// costs tens of milliseconds of CPU).
pub async fn verify_login(state: &AppState, username: &str, password: &str) -> bool {
    let Ok(Some(hash)) = state.store.user_password_hash(username) else {
        return false;
    };
    let password = password.to_string();
    tokio::task::spawn_blocking(move || password_auth::verify_password(password, &hash).is_ok())
        .await
        .unwrap_or(false)
}

/// The `Set-Cookie` value of a new session (or, with `None`, one that clears it).
pub fn session_cookie(token: Option<&str>, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    match token {
        Some(t) => format!(
            "{SESSION_COOKIE}={t}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{secure}",
            SESSION_LIFETIME.as_secs()
        ),
        None => format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0{secure}"),
    }
}

/// The session token from the request's cookies.
pub fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.to_string())
}

fn caller(state: &AppState, headers: &HeaderMap) -> Option<String> {
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return state.store.token_user(&token_hash(bearer.trim())).ok()?;
    }
    let token = session_token(headers)?;
    state
        .store
        .session_user(&token_hash(&token), chrono::Utc::now().timestamp())
        .ok()?
}

/// Middleware: answers 401 unless the request carries a valid session or API token.
pub async fn require_login(
    State(state): State<AppState>,
    mut req: Request,
    next: Next,
) -> Response {
    match caller(&state, req.headers()) {
        Some(user) => {
            req.extensions_mut().insert(Actor(user));
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

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; obsync_session=abc; b=2")]);
        assert_eq!(session_token(&h).as_deref(), Some("abc"));
    }

    #[test]
    fn limiter_refuses_after_five_failures() {
        let l = LoginLimiter::default();
        for _ in 0..5 {
            assert!(l.allowed("admin"));
            l.failed("admin");
        }
        assert!(!l.allowed("admin"));
        assert!(l.allowed("other"));
    }
}
