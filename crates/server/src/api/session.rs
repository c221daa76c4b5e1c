//! `/api/v1/session`, `/api/v1/me` and `/api/v1/tokens`.

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::Extension;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Json, Path};
use crate::auth::{self, Actor};
use crate::model::{new_id, now_rfc3339, TokenRecord};
use crate::state::AppState;

/// Routes that need no login.
pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(login))
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(logout))
        .routes(routes!(me))
        .routes(routes!(list_tokens, create_token))
        .routes(routes!(delete_token))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct Me {
    pub username: String,
}

/// Log in: sets the `obsync_session` cookie (HttpOnly, SameSite=Strict).
#[utoipa::path(post, path = "/api/v1/session", tag = "auth", request_body = LoginRequest,
    responses((status = 200, body = Me), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
async fn login(
    State(state): State<AppState>,
    Json(req): Json<LoginRequest>,
) -> ApiResult<impl IntoResponse> {
    if !state.logins.allowed(&req.username) {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TOO_MANY_ATTEMPTS",
            "too many failed logins for this user",
            "wait a minute, then try again",
        ));
    }
    if !auth::verify_login(&state, &req.username, &req.password).await {
        state.logins.failed(&req.username);
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "BAD_CREDENTIALS",
            "user name or password is wrong",
            "check both; the first admin's password is OBSYNC_ADMIN_PASSWORD or the one printed at the first start",
        ));
    }
    state.logins.succeeded(&req.username);
    let token = auth::new_token();
    let expires = chrono::Utc::now().timestamp() + auth::SESSION_LIFETIME.as_secs() as i64;
    state
        .store
        .put_session(&auth::token_hash(&token), &req.username, expires)?;
    tracing::info!(user = %req.username, "logged in");
    Ok((
        [(
            header::SET_COOKIE,
            auth::session_cookie(Some(&token), state.tls),
        )],
        Json(Me {
            username: req.username,
        }),
    ))
}

/// Log out: ends the session.
#[utoipa::path(delete, path = "/api/v1/session", tag = "auth", responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(State(state): State<AppState>, headers: HeaderMap) -> ApiResult<impl IntoResponse> {
    if let Some(token) = auth::session_token(&headers) {
        state.store.delete_session(&auth::token_hash(&token))?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(header::SET_COOKIE, auth::session_cookie(None, state.tls))],
    ))
}

/// Who is logged in.
#[utoipa::path(get, path = "/api/v1/me", tag = "auth", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(Extension(actor): Extension<Actor>) -> Json<Me> {
    Json(Me { username: actor.0 })
}

/// An API token; `token` is only in the answer of its creation.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ApiToken {
    pub id: String,
    pub name: String,
    pub created_at: String,
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
}

/// The caller's API tokens (without the token text).
#[utoipa::path(get, path = "/api/v1/tokens", tag = "auth", responses((status = 200, body = TokenList), (status = 401, body = ErrorBody)))]
async fn list_tokens(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
) -> ApiResult<Json<TokenList>> {
    let items: Vec<ApiToken> = state
        .store
        .list_tokens(&actor.0)?
        .into_iter()
        .map(|t| ApiToken {
            id: t.id,
            name: t.name,
            created_at: t.created_at,
            token: None,
        })
        .collect();
    Ok(Json(TokenList {
        total: items.len() as u64,
        items,
    }))
}

/// Create an API token for scripts (`Authorization: Bearer <token>`); shown once.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "auth", request_body = NewToken,
    responses((status = 201, body = ApiToken), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn create_token(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Json(req): Json<NewToken>,
) -> ApiResult<(StatusCode, Json<ApiToken>)> {
    let name = req.name.trim();
    crate::names::check_visible("name", name)?;
    if name.is_empty() || name.chars().count() > 64 {
        return Err(ApiError::bad_request(
            "name",
            "the token name must have 1-64 characters",
            "say what the token is for, e.g. \"ci\"",
        ));
    }
    let token = format!("obs_{}", auth::new_token());
    let record = TokenRecord {
        id: new_id("tok"),
        name: name.to_string(),
        username: actor.0.clone(),
        hash: auth::token_hash(&token),
        created_at: now_rfc3339(),
    };
    state.store.put_token(&record)?;
    Ok((
        StatusCode::CREATED,
        Json(ApiToken {
            id: record.id,
            name: record.name,
            created_at: record.created_at,
            token: Some(token),
        }),
    ))
}

/// Revoke an API token.
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "auth", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_token(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    if state.store.delete_token(&actor.0, &id)? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("API token", &id))
    }
}
