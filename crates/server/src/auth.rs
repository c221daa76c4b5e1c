//! Who is calling: users (Argon2id password hashes, a role each), sessions (an opaque
//! cookie whose SHA-256 is stored), API tokens (stored hashed, with an expiry and a
//! role), and the cross-site check on state-changing requests. The login limits are in
//! [`crate::login`], the roles' enforcement in [`crate::roles`].

use std::net::IpAddr;
use std::time::Duration;

use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::roles::Role;
use crate::state::AppState;
use crate::store::{NewUser, Store};

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "obsync_session";
/// How long a session lasts without a new login.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);
/// The first admin's user name.
pub const ADMIN_USER: &str = "admin";
/// Shortest password a user may set.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// The logged-in user, put into the request's extensions by [`require_login`].
#[derive(Debug, Clone)]
pub struct Actor {
    pub username: String,
    /// The user's role, or the token's when the request came with an API token.
    pub role: Role,
    /// The API token the request came with.
    pub token_id: Option<String>,
    /// The client's address (the proxy's when one sits in front).
    pub client: Option<IpAddr>,
}

impl Actor {
    /// Who, as the event log records it: `alice`, or `alice (token tok_…)`.
    pub fn who(&self) -> String {
        match &self.token_id {
            Some(id) => format!("{} (token {id})", self.username),
            None => self.username.clone(),
        }
    }

    /// The client address as the event log records it.
    pub fn client_text(&self) -> Option<String> {
        self.client.map(|ip| ip.to_string())
    }
}

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
/// `OBSYNC_ADMIN_PASSWORD`, or is generated and returned so the caller prints it once
/// (not when another server of the cluster created the admin first).
pub async fn ensure_admin(
    store: &dyn Store,
    env_password: Option<String>,
) -> Result<Option<String>, crate::ServerError> {
    if store.user_count().await? > 0 {
        return Ok(None);
    }
    let (password, generated) = match env_password.filter(|p| !p.is_empty()) {
        Some(p) => (p, false),
        None => (new_token()[..20].to_string(), true),
    };
    // `false`: another server of the cluster made the first admin first.
    let created = store
        .create_user(&NewUser {
            username: ADMIN_USER,
            password_hash: &crate::passwords::hash(&password)?,
            role: Role::Admin,
        })
        .await?;
    Ok((created && generated).then_some(password))
}

/// Whether `env_password` (`OBSYNC_ADMIN_PASSWORD`) is not the stored admin's password:
/// it only sets the password at the first start, and a changed variable would be
/// ignored without a word. Checked once at start, off the async threads' hot path.
pub async fn env_password_differs(store: &dyn Store, env_password: Option<&str>) -> bool {
    let Some(password) = env_password.filter(|p| !p.is_empty()) else {
        return false;
    };
    match store.get_user(ADMIN_USER).await {
        Ok(Some(user)) => !crate::passwords::verify(password, &user.password_hash),
        _ => false,
    }
}

/// Why a new password is refused, as the API and the CLI say it.
pub fn password_problem(password: &str) -> Option<String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        Some(format!(
            "the password has {chars} characters; it needs at least {MIN_PASSWORD_CHARS}"
        ))
    } else if password.len() > crate::login::MAX_PASSWORD_BYTES {
        Some(format!(
            "the password is longer than {} bytes",
            crate::login::MAX_PASSWORD_BYTES
        ))
    } else {
        None
    }
}

/// Checks a password against the stored Argon2id hash on the Argon2 threads
/// ([`crate::login::LoginLimiter::argon2`]: 503 when they stay busy). An unknown user
/// is checked against [`crate::login::DUMMY_HASH`], so the answer takes as long as for
/// a known one. `Some(role)` when the password is right.
pub async fn verify_password(
    state: &AppState,
    username: &str,
    password: &str,
) -> Result<Option<Role>> {
    let user = state.store.get_user(username).await?;
    let (hash, role) = match &user {
        Some(u) => (u.password_hash.clone(), Some(u.role)),
        None => (crate::login::DUMMY_HASH.clone(), None),
    };
    let password = password.to_string();
    let matches = state
        .logins
        .argon2(move || crate::passwords::verify(&password, &hash))
        .await?;
    Ok(role.filter(|_| matches))
}

/// A new Argon2id hash of `password`, made on the Argon2 threads.
pub async fn hash_password(state: &AppState, password: String) -> Result<String> {
    let hash = state
        .logins
        .argon2(move || crate::passwords::hash(&password))
        .await??;
    Ok(hash)
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

/// The caller of a request: an unexpired API token (its role, never above its user's
/// current one) or a session (its user's current role).
pub async fn caller(
    state: &AppState,
    headers: &HeaderMap,
    client: Option<IpAddr>,
) -> Option<Actor> {
    let now = chrono::Utc::now().timestamp();
    if let Some(bearer) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        let token = state
            .store
            .use_token(&token_hash(bearer.trim()), now)
            .await
            .ok()??;
        let user = state.store.get_user(&token.username).await.ok()??;
        return Some(Actor {
            username: token.username,
            role: token.role.min(user.role),
            token_id: Some(token.id),
            client,
        });
    }
    let token = session_token(headers)?;
    let username = state
        .store
        .session_user(&token_hash(&token), now)
        .await
        .ok()??;
    let user = state.store.get_user(&username).await.ok()??;
    Some(Actor {
        username,
        role: user.role,
        token_id: None,
        client,
    })
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
    fn the_session_cookie_is_found_among_others() {
        let h = headers(&[("cookie", "a=1; obsync_session=abc; b=2")]);
        assert_eq!(session_token(&h).as_deref(), Some("abc"));
    }

    #[test]
    fn short_passwords_are_refused_saying_the_minimum() {
        assert!(password_problem("short").unwrap().contains("at least 12"));
        assert_eq!(password_problem("twelve chars"), None);
        assert!(password_problem(&"x".repeat(2000)).is_some());
    }
}
