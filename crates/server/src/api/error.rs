//! The API's error answer: `{code, message, advice, field}` with a fitting status.
//! Internal failures are logged in full and answered with a short, safe message.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{Error, Rule};
use crate::lifecycle::Event;
use crate::login::Refusal;
use crate::spec::SpecError;
use crate::store::StoreError;

/// The body of every error answer.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable code the console translates, e.g. `INVALID_STATE`.
    pub code: String,
    pub message: String,
    /// How to fix it.
    pub advice: String,
    /// The request field concerned, e.g. `objects[0].topic`.
    pub field: Option<String>,
    /// Further problems of the same request (validation reports all of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldProblem>,
}

/// One more problem of a request.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
    pub advice: String,
}

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Boxed: every handler returns `Result<_, ApiError>`, and the body is large.
    pub body: Box<ErrorBody>,
    /// Sent as `Retry-After` (whole seconds, rounded up) with a 429 or 503.
    pub retry_after: Option<std::time::Duration>,
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn new(
        status: StatusCode,
        code: &str,
        message: impl Into<String>,
        advice: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            body: Box::new(ErrorBody {
                code: code.into(),
                message: message.into(),
                advice: advice.into(),
                field: None,
                details: Vec::new(),
            }),
            retry_after: None,
        }
    }

    pub fn with_retry_after(mut self, after: std::time::Duration) -> ApiError {
        self.retry_after = Some(after);
        self
    }

    pub fn with_field(mut self, field: impl Into<String>) -> ApiError {
        self.body.field = Some(field.into());
        self
    }

    pub fn with_code(mut self, code: &str) -> ApiError {
        self.body.code = code.into();
        self
    }

    pub fn not_found(what: &str, id: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "NOT_FOUND",
            format!("{what} {id:?} does not exist"),
            format!("list the {what}s to find the right id"),
        )
    }

    pub fn bad_request(field: &str, message: impl Into<String>, advice: impl Into<String>) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "INVALID_REQUEST", message, advice).with_field(field)
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "UNAUTHENTICATED",
            "you are not logged in",
            "log in with POST /api/v1/session, or send Authorization: Bearer <API token>",
        )
    }

    /// An internal failure: the cause chain goes to the log, the client gets a safe text.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> ApiError {
        tracing::error!(error = %obsync_model::ErrorChain(error), "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "the server failed to handle the request",
            "see the server log for the cause; retry when it is fixed",
        )
    }
}

/// The one table from the domain's errors to the API's answers (the OMS shim answers
/// through it too): status, code, advice and field per kind of error.
impl From<Error> for ApiError {
    fn from(e: Error) -> ApiError {
        let message = e.to_string();
        match e {
            Error::NotFound { what, .. } => ApiError::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
                message,
                format!("list the {what}s to find the right id"),
            ),
            Error::InvalidTransition(t) => match t.event {
                Event::Act(_) => ApiError::new(
                    StatusCode::CONFLICT,
                    "INVALID_STATE",
                    message,
                    "wait for the project to reach a state that allows this action, or choose one of the allowed actions",
                ),
                // Only a user's action can be refused by a request; anything else is a
                // fault of the server's own bookkeeping.
                _ => ApiError::internal(&t),
            },
            Error::PrecheckRequired => ApiError::new(
                StatusCode::CONFLICT,
                "PRECHECK_REQUIRED",
                message,
                "run POST /api/v1/projects/{id}/precheck and fix the failed items, then start",
            ),
            Error::VerifyRunning { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "VERIFY_RUNNING",
                message,
                "wait for it to finish (GET /api/v1/projects/{id}/verify shows its progress), then start another",
            ),
            Error::PrecheckFailed { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "PRECHECK_FAILED",
                message,
                "fix the failed items, then start again",
            ),
            Error::Invalid(invalid) => {
                let (status, code) = match invalid.rule {
                    Rule::Request => (StatusCode::BAD_REQUEST, "INVALID_REQUEST"),
                    Rule::Name => (StatusCode::BAD_REQUEST, "INVALID_NAME"),
                    Rule::Tag => (StatusCode::BAD_REQUEST, "INVALID_TAG"),
                    Rule::DataSource => (StatusCode::BAD_REQUEST, "INVALID_DATASOURCE"),
                    Rule::Project => (StatusCode::UNPROCESSABLE_ENTITY, "INVALID_PROJECT"),
                };
                ApiError::new(status, code, invalid.message, invalid.advice)
                    .with_field(invalid.field)
            }
            Error::InvalidProject(problems) => {
                let first = problems.first().cloned();
                let mut err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "INVALID_PROJECT",
                    message,
                    first.as_ref().map(|p| p.fix.clone()).unwrap_or_default(),
                );
                err.body.field = first.map(|p| p.field);
                err.body.details = problems
                    .into_iter()
                    .map(|p| FieldProblem {
                        field: p.field,
                        message: p.message,
                        advice: p.fix,
                    })
                    .collect();
                err
            }
            Error::NameTaken { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "NAME_TAKEN",
                message,
                "choose another name",
            )
            .with_field("name"),
            Error::TooMany { what, .. } => ApiError::new(
                StatusCode::CONFLICT,
                match what {
                    "tag" => "TOO_MANY_TAGS",
                    _ => "TOO_MANY",
                },
                message,
                format!("delete {what}s that are no longer used"),
            ),
            Error::Forbidden { .. } => ApiError::new(
                StatusCode::FORBIDDEN,
                "FORBIDDEN_ROLE",
                message,
                "ask an admin to do it, or to give your user the role it needs",
            ),
            Error::AtField { field, error } => ApiError::from(*error).with_field(field),
            Error::Login(Refusal::TooManyFailures { retry_after }) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "TOO_MANY_ATTEMPTS",
                "too many failed logins for this user from this address",
                format!(
                    "wait {} seconds, then try again; each further failure doubles the wait",
                    retry_after.as_secs().max(1)
                ),
            )
            .with_retry_after(retry_after),
            Error::Login(Refusal::Busy { retry_after }) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "LOGIN_BUSY",
                "too many passwords are being checked at once",
                "try again in a second",
            )
            .with_retry_after(retry_after),
            Error::Store(e @ StoreError::Conflict { .. }) => ApiError::new(
                StatusCode::CONFLICT,
                "REVISION_CONFLICT",
                e.to_string(),
                "read it again (its ETag is the current revision) and make the change to that",
            ),
            Error::ObjectsChangeRefused { .. } => ApiError::new(
                StatusCode::CONFLICT,
                "INVALID_STATE",
                message,
                "objects change while a project is running, paused or failed (a not-started one is edited); a table is re-synced while the project runs",
            ),
            Error::ObjectsUnchanged => ApiError::new(
                StatusCode::CONFLICT,
                "OBJECTS_UNCHANGED",
                message,
                "add, remove or re-route a table, or leave the objects as they are",
            ),
            Error::ObjectsPrecheckFailed { .. } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "OBJECTS_PRECHECK_FAILED",
                message,
                "fix the failed items (the preview lists them), then apply the change again",
            ),
            Error::ResyncNeedsIncremental => ApiError::new(
                StatusCode::CONFLICT,
                "INVALID_STATE",
                message,
                "a project without incremental sync is snapshotted again by a new project",
            ),
            Error::Plan(e) if matches!(*e, obsync_pipeline::plan::PlanError::Metadata(_)) => ApiError::new(
                StatusCode::FAILED_DEPENDENCY,
                "SOURCE_UNAVAILABLE",
                format!("the source's tables could not be listed: {}", obsync_model::ErrorChain(&*e)),
                "check that the source is reachable and the source user can read information_schema, then try again",
            ),
            Error::Plan(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "INVALID_OBJECTS",
                message,
                "fix the object rules so that each names tables the source has",
            )
            .with_field("objects"),
            Error::Store(e) => ApiError::internal(&e),
            Error::Secret(e) => ApiError::internal(&e),
            Error::Hash(e) => ApiError::internal(&e),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        Error::from(e).into()
    }
}

impl From<SpecError> for ApiError {
    fn from(e: SpecError) -> ApiError {
        Error::from(e).into()
    }
}

impl From<Refusal> for ApiError {
    fn from(e: Refusal) -> ApiError {
        Error::from(e).into()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = (self.status, Json(*self.body)).into_response();
        if let Some(after) = self.retry_after {
            let seconds = after.as_secs() + u64::from(after.subsec_nanos() > 0);
            response
                .headers_mut()
                .insert(axum::http::header::RETRY_AFTER, seconds.into());
        }
        response
    }
}
