//! `/api/v1/session` (log in and out), `/api/v1/me` (who, the own password) and
//! `/api/v1/tokens` (the own API tokens).

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Extension;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::extract::{Json, Path};
use super::guard::ClientIp;
use crate::audit::{AuditMessage, Subject};
use crate::auth::{self, Actor};
use crate::login::{Failure, MAX_PASSWORD_BYTES, MAX_USERNAME_CHARS};
use crate::model::{new_id, now_rfc3339, EventKind, TokenRecord};
use crate::roles::Role;
use crate::state::AppState;
use crate::store::AuditEntry;
use obsync_model::MessageCode;

/// Days an API token lasts when its creation names no expiry.
pub const DEFAULT_TOKEN_DAYS: u32 = 90;
/// The longest an API token may last.
pub const MAX_TOKEN_DAYS: u32 = 365;

/// Routes that need no login.
pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(change_password))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(delete_token))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// At most 64 characters.
    #[schema(max_length = 64)]
    pub username: String,
    /// At most 1024 bytes.
    #[schema(max_length = 1024)]
    pub password: String,
}

/// The logged-in user.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct Me {
    pub username: String,
    /// What the caller may do (an API token's role when called with one).
    pub role: Role,
}

/// Log in: sets the `obsync_session` cookie (HttpOnly, SameSite=Strict). Failures are
/// counted per user name and client address: after 5, each further try from that
/// address waits a delay that doubles (429 with `Retry-After`); other addresses are not
/// affected. When every password-check slot is busy the answer is 503 with
/// `Retry-After`.
#[utoipa::path(post, path = "/api/v1/session", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Me), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 429, body = ErrorBody, description = "Too many failed logins of this user from this address; retry after the `Retry-After` seconds.",
            headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, body = ErrorBody, description = "Every password check slot is busy; retry after the `Retry-After` seconds.",
            headers(("Retry-After" = u64, description = "Seconds to wait")))))]
async fn login(
    State(state): State<AppState>,
    ClientIp(client): ClientIp,
    Json(req): Json<LoginRequest>,
) -> ApiResult<impl IntoResponse> {
    // Before any hashing or counting: the limiter never sees an oversized name.
    if req.username.is_empty() || req.username.chars().count() > MAX_USERNAME_CHARS {
        return Err(ApiError::bad_request(
            "username",
            format!("a user name has 1-{MAX_USERNAME_CHARS} characters"),
            "check the user name",
        ));
    }
    if req.password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::bad_request(
            "password",
            format!("a password has at most {MAX_PASSWORD_BYTES} bytes"),
            "check the password",
        ));
    }
    let ip = client.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let attempt = state.logins.reserve(&req.username, ip)?;
    let role = auth::verify_password(&state, &req.username, &req.password).await?;
    let Some(role) = role else {
        let failure = attempt.failed();
        note_failure(&state, &req.username, client, failure).await;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::BadCredentials {},
            "user name or password is wrong",
            "check both; the first admin's password is OBSYNC_ADMIN_PASSWORD or the one printed at the first start",
        ));
    };
    attempt.succeeded();
    let token = auth::new_token();
    let expires = chrono::Utc::now().timestamp() + auth::SESSION_LIFETIME.as_secs() as i64;
    state
        .store
        .put_session(&auth::token_hash(&token), &req.username, expires)
        .await?;
    tracing::info!(user = %req.username, client = ?client, "logged in");
    Ok((
        [(
            header::SET_COOKIE,
            auth::session_cookie(Some(&token), state.tls),
        )],
        Json(Me {
            username: req.username,
            role,
        }),
    ))
}

/// A failed login into the log and the event log, within the notes' budget. The name
/// is recorded only when such a user exists, so guessed names are not kept.
async fn note_failure(state: &AppState, username: &str, client: Option<IpAddr>, failure: Failure) {
    let Some(suppressed) = state.logins.note_budget() else {
        return;
    };
    let known = matches!(state.store.get_user(username).await, Ok(Some(_)));
    let who = if known { username } else { "(unknown user)" };
    let client_text = client.map(|c| c.to_string());
    let user = who.to_string();
    let message = match (failure.delay, suppressed) {
        (Some(delay), 0) => AuditMessage::LoginFailedWait {
            user,
            failures: failure.failures,
            seconds: delay.as_secs(),
        },
        (Some(delay), suppressed) => AuditMessage::LoginFailedWaitMore {
            user,
            failures: failure.failures,
            seconds: delay.as_secs(),
            suppressed,
        },
        (None, 0) => AuditMessage::LoginFailed { user },
        (None, suppressed) => AuditMessage::LoginFailedMore { user, suppressed },
    };
    let (coded, message) = (message.coded(), message.english());
    tracing::warn!(client = client_text.as_deref().unwrap_or("-"), "{message}");
    let entry = AuditEntry {
        subject: "login",
        subject_id: who,
        kind: EventKind::Security,
        actor: who,
        client: client_text.as_deref(),
        message: &message,
        coded: &coded,
    };
    if let Err(e) = state.store.add_audit(&entry).await {
        tracing::error!(error = %obsync_model::ErrorChain(&e), "cannot record a failed login");
    }
}

/// Log out: ends the session.
#[utoipa::path(delete, path = "/api/v1/session", tag = "auth", responses((status = 204), (status = 401, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("viewer"))))]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    if let Some(token) = auth::session_token(&headers) {
        state
            .store
            .delete_session(&auth::token_hash(&token))
            .await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, auth::session_cookie(None, state.tls))],
    ))
}

/// Who is logged in, and with which role.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(Extension(actor): Extension<Actor>) -> Json<Me> {
    Json(Me {
        username: actor.username,
        role: actor.role,
    })
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    pub current_password: String,
    /// At least 12 characters.
    #[schema(min_length = 12, max_length = 1024)]
    pub new_password: String,
}

/// Change the own password (with the current one). Ends the user's other sessions;
/// API tokens stay valid (delete them with `DELETE /api/v1/tokens/{id}`). Not with an
/// API token.
#[utoipa::path(put, path = "/api/v1/me/password", tag = "auth", request_body = PasswordChange,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, body = ErrorBody, headers(("Retry-After" = u64, description = "Seconds to wait")))),
    extensions(("x-obsync-role" = json!("viewer"))))]
async fn change_password(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    headers: HeaderMap,
    Json(req): Json<PasswordChange>,
) -> ApiResult<StatusCode> {
    if actor.token_id.is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::SessionRequired {},
            "an API token cannot change its user's password",
            "log in with the user name and password (POST /api/v1/session) and change it there",
        ));
    }
    if let Some(problem) = auth::password_problem(&req.new_password) {
        return Err(ApiError::bad_request(
            "new_password",
            problem,
            "choose a longer password, e.g. a few unrelated words",
        )
        .with_code(ErrorCode::WeakPassword {
            min: auth::MIN_PASSWORD_CHARS,
        }));
    }
    // The current password is a login: the same limits apply to guessing it.
    let ip = actor.client.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let attempt = state.logins.reserve(&actor.username, ip)?;
    let ok = auth::verify_password(&state, &actor.username, &req.current_password)
        .await?
        .is_some();
    if !ok {
        let failure = attempt.failed();
        note_failure(&state, &actor.username, actor.client, failure).await;
        return Err(ApiError::bad_request(
            "current_password",
            "the current password is wrong",
            "type the password you logged in with",
        )
        .with_code(ErrorCode::WrongPassword {}));
    }
    attempt.succeeded();
    let hash = auth::hash_password(&state, req.new_password).await?;
    state
        .store
        .set_user_password(&actor.username, &hash)
        .await?;
    let keep = auth::session_token(&headers).map(|t| auth::token_hash(&t));
    state
        .store
        .delete_sessions_of(&actor.username, keep.as_deref())
        .await?;
    crate::audit::record(
        &state,
        &actor,
        Subject::User(&actor.username),
        AuditMessage::PasswordChanged {},
    )
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An API token; `token` is only in the answer of its creation.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub created_at: String,
    /// What the token may do: never more than its user's role (the lower one applies).
    pub role: Role,
    pub expires_at: String,
    /// Last request made with it (to the minute), if any.
    pub last_used_at: Option<String>,
    pub token: Option<String>,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct TokenList {
    pub items: Vec<ApiToken>,
    pub total: u64,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    /// What the token is for, 1-64 characters.
    #[schema(min_length = 1, max_length = 64, pattern = r"\S")]
    pub name: String,
    /// Days until it expires: 1-365, default 90.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 365)]
    pub expires_in_days: Option<u32>,
    /// Its role: at most the caller's, default the caller's.
    #[serde(default)]
    pub role: Option<Role>,
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn token_view(t: TokenRecord, token: Option<String>) -> ApiToken {
    ApiToken {
        id: t.id,
        name: t.name,
        created_at: t.created_at,
        role: t.role,
        expires_at: rfc3339(t.expires_unix),
        last_used_at: t.last_used_unix.map(rfc3339),
        token,
    }
}

/// The caller's API tokens (without the token text), expired ones included.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", responses((status = 200, body = TokenList), (status = 401, body = ErrorBody)))]
async fn list_tokens(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> ApiResult<Json<TokenList>> {
    let items: Vec<ApiToken> = state
        .store
        .list_tokens(&actor.username)
        .await?
        .into_iter()
        .map(|t| token_view(t, None))
        .collect();
    Ok(Json(TokenList {
        total: items.len() as u64,
        items,
    }))
}

/// Create an API token for scripts (`Authorization: Bearer <token>`); shown once. It
/// expires (default 90 days, at most 365) and has at most the caller's role. Only a
/// logged-in user creates tokens: a token cannot create tokens (403).
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = NewToken,
    responses((status = 201, body = ApiToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("viewer"))))]
async fn create_token(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Json(req): Json<NewToken>,
) -> ApiResult<(StatusCode, Json<ApiToken>)> {
    if actor.token_id.is_some() {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            ErrorCode::SessionRequired {},
            "an API token cannot create API tokens",
            "log in with the user name and password (POST /api/v1/session) to create tokens",
        ));
    }
    let name = req.name.trim();
    crate::names::check_visible("name", name)?;
    if name.is_empty() || name.chars().count() > 64 {
        return Err(ApiError::bad_request(
            "name",
            "the token name must have 1-64 characters",
            "say what the token is for, e.g. \"ci\"",
        ));
    }
    let days = req.expires_in_days.unwrap_or(DEFAULT_TOKEN_DAYS);
    if !(1..=MAX_TOKEN_DAYS).contains(&days) {
        return Err(ApiError::bad_request(
            "expires_in_days",
            format!("a token lasts 1-{MAX_TOKEN_DAYS} days, not {days}"),
            "choose fewer days and create a new token before it expires",
        ));
    }
    let role = req.role.unwrap_or(actor.role);
    if role > actor.role {
        return Err(ApiError::bad_request(
            "role",
            format!(
                "a token cannot have more than your role ({})",
                actor.role.as_str()
            ),
            "choose your role or a lower one",
        ));
    }
    let token = format!("obs_{}", auth::new_token());
    let expires = Duration::from_secs(u64::from(days) * 86_400);
    let record = TokenRecord {
        id: new_id("tok"),
        name: name.to_string(),
        username: actor.username.clone(),
        hash: auth::token_hash(&token),
        created_at: now_rfc3339(),
        role,
        expires_unix: chrono::Utc::now().timestamp() + expires.as_secs() as i64,
        last_used_unix: None,
    };
    state.store.put_token(&record).await?;
    let message = AuditMessage::TokenCreated {
        name: record.name.clone(),
        role: role.as_str().into(),
        days: days.into(),
    };
    crate::audit::record(&state, &actor, Subject::Token(&record.id), message).await?;
    Ok((StatusCode::CREATED, Json(token_view(record, Some(token)))))
}

/// Revoke an own API token.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("viewer"))))]
async fn delete_token(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if state.store.delete_token(&actor.username, &id).await? {
        crate::audit::record(
            &state,
            &actor,
            Subject::Token(&id),
            AuditMessage::TokenDeleted {},
        )
        .await?;
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("API token", &id))
    }
}
