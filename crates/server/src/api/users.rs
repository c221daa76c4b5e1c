//! `/api/v1/users` (admins manage users and their roles) and `/api/v1/audit` (the
//! audit trail). Every route here is admin-only.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Extension;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::extract::{Json, Path, Query};
use super::projects::{EventList, PageQuery};
use super::{Actor, Paging};
use crate::audit::{AuditMessage, Subject};
use crate::auth;
use crate::login::{MAX_USERNAME_CHARS, USERNAME_PUNCTUATION};
use crate::roles::Role;
use crate::state::AppState;
use crate::store::{NewUser, UserChange, UserRecord};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(update_user, delete_user))
        .routes(routes!(audit))
}

/// A user (never with the password).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct User {
    pub username: String,
    pub role: Role,
    /// Empty for the admin created before roles existed.
    pub created_at: String,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<User>,
    pub total: u64,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserInput {
    /// 1-64 of letters, digits, `.`, `_`, `-`, `@`.
    #[schema(min_length = 1, max_length = 64, pattern = r"^[A-Za-z0-9._@-]{1,64}$")]
    pub username: String,
    /// At least 12 characters.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: String,
    pub role: Role,
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub role: Role,
}

fn view(u: UserRecord) -> User {
    User {
        username: u.username,
        role: u.role,
        created_at: u.created_at,
    }
}

/// A user name is shown in events and logs: a plain, short one.
fn check_username(name: &str) -> ApiResult<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_USERNAME_CHARS
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || USERNAME_PUNCTUATION.contains(&c));
    if ok {
        Ok(())
    } else {
        Err(ApiError::bad_request(
            "username",
            format!("{name:?} is not a valid user name"),
            format!("use 1-{MAX_USERNAME_CHARS} of letters, digits, . _ - @"),
        ))
    }
}

fn last_admin(username: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::LastAdmin {
            user: username.to_string(),
        },
        format!("{username:?} is the last admin"),
        "make another user admin first",
    )
}

/// Every user with their role.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", responses((status = 200, body = UserList)),
    extensions(("x-obsync-role" = json!("admin"))))]
async fn list_users(State(state): State<AppState>) -> ApiResult<Json<UserList>> {
    let items: Vec<User> = state
        .store
        .list_users()
        .await?
        .into_iter()
        .map(view)
        .collect();
    Ok(Json(UserList {
        total: items.len() as u64,
        items,
    }))
}

/// Create a user with a role and an initial password (at least 12 characters).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", request_body = NewUserInput,
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("admin"))))]
async fn create_user(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Json(input): Json<NewUserInput>,
) -> ApiResult<(StatusCode, Json<User>)> {
    check_username(&input.username)?;
    if let Some(problem) = auth::password_problem(&input.password) {
        return Err(ApiError::bad_request(
            "password",
            problem,
            "choose a longer password, e.g. a few unrelated words",
        )
        .with_code(ErrorCode::WeakPassword {
            min: auth::MIN_PASSWORD_CHARS,
        }));
    }
    if state.store.get_user(&input.username).await?.is_some() {
        return Err(user_exists(&input.username));
    }
    let hash = auth::hash_password(&state, input.password).await?;
    let created = state
        .store
        .create_user(&NewUser {
            username: &input.username,
            password_hash: &hash,
            role: input.role,
        })
        .await?;
    if !created {
        return Err(user_exists(&input.username));
    }
    let message = AuditMessage::UserCreated {
        user: input.username.clone(),
        role: input.role.as_str().into(),
    };
    crate::audit::record(&state, &actor, Subject::User(&input.username), message).await?;
    let user = state
        .store
        .get_user(&input.username)
        .await?
        .ok_or_else(|| ApiError::not_found("user", &input.username))?;
    Ok((StatusCode::CREATED, Json(view(user))))
}

fn user_exists(name: &str) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        ErrorCode::UserExists {
            user: name.to_string(),
        },
        format!("user {name:?} already exists"),
        "choose another name, or change that user's role",
    )
    .with_field("username")
}

/// Change a user's role (the last admin stays admin). Takes effect on the user's next
/// request, sessions and tokens alike.
#[utoipa::path(put, path = "/api/v1/users/{username}", tag = "users", params(("username" = String, Path)),
    request_body = UserUpdate,
    responses((status = 200, body = User), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("admin"))))]
async fn update_user(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(username): Path<String>,
    Json(input): Json<UserUpdate>,
) -> ApiResult<Json<User>> {
    match state.store.set_user_role(&username, input.role).await? {
        UserChange::Done => {}
        UserChange::NoSuchUser => return Err(ApiError::not_found("user", &username)),
        UserChange::LastAdmin => return Err(last_admin(&username)),
    }
    let message = AuditMessage::UserRoleSet {
        user: username.clone(),
        role: input.role.as_str().into(),
    };
    crate::audit::record(&state, &actor, Subject::User(&username), message).await?;
    let user = state
        .store
        .get_user(&username)
        .await?
        .ok_or_else(|| ApiError::not_found("user", &username))?;
    Ok(Json(view(user)))
}

/// Delete a user with their sessions and API tokens (not the last admin).
#[utoipa::path(delete, path = "/api/v1/users/{username}", tag = "users", params(("username" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("admin"))))]
async fn delete_user(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(username): Path<String>,
) -> ApiResult<StatusCode> {
    match state.store.delete_user(&username).await? {
        UserChange::Done => {}
        UserChange::NoSuchUser => return Err(ApiError::not_found("user", &username)),
        UserChange::LastAdmin => return Err(last_admin(&username)),
    }
    let message = AuditMessage::UserDeleted {
        user: username.clone(),
    };
    crate::audit::record(&state, &actor, Subject::User(&username), message).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The audit trail, newest first: changes of users, tokens, data sources and projects
/// (who, from where), failed logins and login delays.
#[utoipa::path(get, path = "/api/v1/audit", tag = "users", params(PageQuery),
    responses((status = 200, body = EventList), (status = 400, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("admin"))))]
async fn audit(
    State(state): State<AppState>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<EventList>> {
    let paging = Paging::new(page.page, page.page_size)?;
    let (items, total) = state.store.list_audit(paging.offset(), paging.size).await?;
    Ok(Json(EventList { items, total }))
}
