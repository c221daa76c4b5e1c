//! The API's error answer: `{code, params, message, advice, field}` with a fitting status.
//! Internal failures are logged in full and answered with a short, safe message.
//!
//! The codes are [`ErrorCode`], each with its parameters typed: the console says the
//! message and the advice by code in its language (`console/src/i18n`,
//! `messages.errors.<CODE>.{message,advice}`); `message` and `advice` are the English for API
//! users. To add a code: add a variant here, run `OBSYNC_UPDATE_MESSAGE_CODES=1 cargo test -p
//! obsync-server --lib message_codes` (it rewrites `docs/message-codes.json`), and
//! give the code its texts in both dictionaries (the console's unit test says which).

use std::collections::BTreeMap;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use obsync_model::{message_codes, MessageCode};
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{Error, Rule};
use crate::lifecycle::Event;
use crate::login::Refusal;
use crate::spec::SpecError;
use crate::store::StoreError;

message_codes! {
    /// The code of an error answer with the parameters its body carries.
    pub enum ErrorCode {
        /// No record (or API path) with this id; `what` is `project`, `data_source`,
        /// `tag`, `user`, `table` or `api_path`.
        NotFound = "NOT_FOUND" { what: String, id: String },
        /// The project's state does not allow the action; `allowed` lists the actions it does.
        InvalidState = "INVALID_STATE" { state: String, action: String, allowed: String },
        PrecheckRequired = "PRECHECK_REQUIRED" {},
        VerifyRunning = "VERIFY_RUNNING" {},
        /// The precheck run by OMS's start failed: the failed items' names.
        PrecheckFailed = "PRECHECK_FAILED" { items: String },
        /// A request value breaks a rule; `message` is the rule's own English text.
        InvalidRequest = "INVALID_REQUEST" {},
        InvalidName = "INVALID_NAME" {},
        InvalidTag = "INVALID_TAG" {},
        InvalidDataSource = "INVALID_DATASOURCE" {},
        InvalidProject = "INVALID_PROJECT" {},
        NameTaken = "NAME_TAKEN" { what: String, name: String },
        TooMany = "TOO_MANY" { what: String, limit: usize },
        TooManyTags = "TOO_MANY_TAGS" { limit: usize },
        ForbiddenRole = "FORBIDDEN_ROLE" { have: String, needed: String },
        TooManyAttempts = "TOO_MANY_ATTEMPTS" { seconds: u64 },
        LoginBusy = "LOGIN_BUSY" {},
        RevisionConflict = "REVISION_CONFLICT" {},
        /// Cluster mode: a change could not go through the control Kafka's config log.
        ClusterUnavailable = "CLUSTER_UNAVAILABLE" { error: String },
        /// The server is stopping: the change was not made.
        ShuttingDown = "SHUTTING_DOWN" {},
        /// Cluster mode: the change is saved; the server running the project could not
        /// take it into the run.
        ChangeNotTakenUp = "CHANGE_NOT_TAKEN_UP" { error: String },
        Internal = "INTERNAL" {},
        Unauthenticated = "UNAUTHENTICATED" {},
        BadCredentials = "BAD_CREDENTIALS" {},
        SessionRequired = "SESSION_REQUIRED" {},
        WrongPassword = "WRONG_PASSWORD" {},
        WeakPassword = "WEAK_PASSWORD" { min: usize },
        UserExists = "USER_EXISTS" { user: String },
        LastAdmin = "LAST_ADMIN" { user: String },
        CrossSiteRequest = "CROSS_SITE_REQUEST" {},
        UnknownHost = "UNKNOWN_HOST" { host: String },
        RequestTimeout = "REQUEST_TIMEOUT" { seconds: u64 },
        /// A data source a probe, browse or preview needed could not be read: the cause.
        SourceUnavailable = "SOURCE_UNAVAILABLE" { error: String },
        DataSourceInUse = "DATASOURCE_IN_USE" { projects: String },
        /// A database's connection test failed: the innermost cause.
        ConnectionFailed = "CONNECTION_FAILED" { error: String },
        /// A Kafka data source's connection test failed: the innermost cause.
        KafkaConnectionFailed = "KAFKA_CONNECTION_FAILED" { error: String },
        /// A Kafka data source's schema registry did not answer its connection test.
        SchemaRegistryUnreachable = "SCHEMA_REGISTRY_UNREACHABLE" { url: String, error: String },
        /// The schema registry refused the data source's login (HTTP 401/403).
        SchemaRegistryLoginRefused = "SCHEMA_REGISTRY_LOGIN_REFUSED" { url: String, status: u16 },
        /// The schema registry's URL answered, but not as the Confluent-compatible API.
        SchemaRegistryNotCompatible = "SCHEMA_REGISTRY_NOT_COMPATIBLE" { url: String, status: u16 },
        /// A connection test had no answer in time.
        ConnectionTimedOut = "CONNECTION_TIMED_OUT" { address: String, seconds: u64 },
        /// A row the chosen format cannot represent: the format's reason.
        Unrepresentable = "UNREPRESENTABLE" { error: String },
        /// An object change that changes nothing.
        ObjectsUnchanged = "OBJECTS_UNCHANGED" {},
        /// The precheck of an object change failed: the failed items.
        ObjectsPrecheckFailed = "OBJECTS_PRECHECK_FAILED" { items: String },
        /// The object rules name tables the source lacks (or cannot be resolved).
        InvalidObjects = "INVALID_OBJECTS" {},
        /// A table is re-synced only by a project with incremental sync.
        ResyncNeedsIncremental = "RESYNC_NEEDS_INCREMENTAL" {},
    }
}

/// The body of every error answer.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct ErrorBody {
    /// Stable code the console translates, e.g. `INVALID_STATE` (`docs/message-codes.json`
    /// lists every code with its parameters).
    pub code: String,
    /// The values the message names, by name (e.g. `what` and `id` of `NOT_FOUND`).
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// What failed, in English.
    pub message: String,
    /// How to fix it, in English (for API users; the console has its own per code).
    pub advice: String,
    /// The request field concerned, e.g. `objects[0].topic`.
    pub field: Option<String>,
    /// Further problems of the same request (validation reports all of them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub details: Vec<FieldProblem>,
    /// For the `INVALID_*` codes: the broken rule as a code with its parameters
    /// (`docs/message-codes.json`, family `rules`), which the console says in place of
    /// `message`; absent when the rule has no code yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleText>,
}

/// A broken rule as a code with the values its text names.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct RuleText {
    /// e.g. `rule.topic.too_long`.
    pub code: String,
    #[serde(default)]
    pub params: BTreeMap<String, String>,
}

impl From<obsync_model::Coded> for RuleText {
    fn from(c: obsync_model::Coded) -> RuleText {
        RuleText {
            code: c.code,
            params: c.params,
        }
    }
}

/// One more problem of a request.
#[derive(Debug, Clone, Serialize, serde::Deserialize, ToSchema)]
pub struct FieldProblem {
    pub field: String,
    pub message: String,
    pub advice: String,
    /// `message` as a rule's code, when it has one (see [`ErrorBody::rule`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<RuleText>,
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
        code: ErrorCode,
        message: impl Into<String>,
        advice: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            body: Box::new(ErrorBody {
                code: code.code().into(),
                params: code.params(),
                message: message.into(),
                advice: advice.into(),
                field: None,
                details: Vec::new(),
                rule: None,
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

    /// The same answer under another code (a refused password is a bad request with a
    /// code of its own).
    pub fn with_code(mut self, code: ErrorCode) -> ApiError {
        self.body.code = code.code().into();
        self.body.params = code.params();
        self
    }

    /// The same answer under an OMS error code (`ParamError`): for the OMS shim only,
    /// whose clients are not the console.
    pub fn with_oms_code(mut self, code: &str) -> ApiError {
        self.body.code = code.into();
        self.body.params.clear();
        self
    }

    pub fn not_found(what: &str, id: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound {
                what: what.replace(' ', "_"),
                id: id.into(),
            },
            format!("{what} {id:?} does not exist"),
            format!("list the {what}s to find the right id"),
        )
    }

    pub fn bad_request(field: &str, message: impl Into<String>, advice: impl Into<String>) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::InvalidRequest {},
            message,
            advice,
        )
        .with_field(field)
    }

    pub fn unauthenticated() -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            ErrorCode::Unauthenticated {},
            "you are not logged in",
            "log in with POST /api/v1/session, or send Authorization: Bearer <API token>",
        )
    }

    /// An internal failure: the cause chain goes to the log, the client gets a safe text.
    pub fn internal(error: &(dyn std::error::Error + 'static)) -> ApiError {
        tracing::error!(error = %obsync_model::ErrorChain(error), "request failed");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorCode::Internal {},
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
            Error::NotFound { what, id } => ApiError::new(
                StatusCode::NOT_FOUND,
                ErrorCode::NotFound {
                    what: what.replace(' ', "_"),
                    id,
                },
                message,
                format!("list the {what}s to find the right id"),
            ),
            Error::InvalidTransition(t) => match t.event {
                Event::Act(action) => ApiError::new(
                    StatusCode::CONFLICT,
                    ErrorCode::InvalidState {
                        state: t.state.as_str().into(),
                        action: action.as_str().into(),
                        allowed: t
                            .state
                            .allowed_actions()
                            .into_iter()
                            .map(|a| a.as_str())
                            .collect::<Vec<_>>()
                            .join(", "),
                    },
                    message,
                    "wait for the project to reach a state that allows this action, or choose one of the allowed actions",
                ),
                // Only a user's action can be refused by a request; anything else is a
                // fault of the server's own bookkeeping.
                _ => ApiError::internal(&t),
            },
            Error::PrecheckRequired => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::PrecheckRequired {},
                message,
                "run POST /api/v1/projects/{id}/precheck and fix the failed items, then start",
            ),
            Error::VerifyRunning { .. } => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::VerifyRunning {},
                message,
                "wait for it to finish (GET /api/v1/projects/{id}/verify shows its progress), then start another",
            ),
            Error::PrecheckFailed { failed } => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::PrecheckFailed {
                    items: failed
                        .iter()
                        .map(|f| f.split(':').next().unwrap_or(f))
                        .collect::<Vec<_>>()
                        .join(", "),
                },
                message,
                "fix the failed items, then start again",
            ),
            Error::Invalid(invalid) => {
                let (status, code) = match invalid.rule {
                    Rule::Request => (StatusCode::BAD_REQUEST, ErrorCode::InvalidRequest {}),
                    Rule::Name => (StatusCode::BAD_REQUEST, ErrorCode::InvalidName {}),
                    Rule::Tag => (StatusCode::BAD_REQUEST, ErrorCode::InvalidTag {}),
                    Rule::DataSource => (StatusCode::BAD_REQUEST, ErrorCode::InvalidDataSource {}),
                    Rule::Project => (StatusCode::UNPROCESSABLE_ENTITY, ErrorCode::InvalidProject {}),
                };
                let mut err = ApiError::new(status, code, invalid.message, invalid.advice)
                    .with_field(invalid.field);
                err.body.rule = invalid.coded.map(RuleText::from);
                err
            }
            Error::InvalidProject(problems) => {
                let first = problems.first().cloned();
                let mut err = ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::InvalidProject {},
                    message,
                    first.as_ref().map(|p| p.fix.clone()).unwrap_or_default(),
                );
                err.body.rule = first.as_ref().and_then(|p| p.code.clone()).map(RuleText::from);
                err.body.field = first.map(|p| p.field);
                err.body.details = problems
                    .into_iter()
                    .map(|p| FieldProblem {
                        field: p.field,
                        message: p.message,
                        advice: p.fix,
                        rule: p.code.map(RuleText::from),
                    })
                    .collect();
                err
            }
            Error::NameTaken { what, name } => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::NameTaken {
                    what: what.replace(' ', "_"),
                    name,
                },
                message,
                "choose another name",
            )
            .with_field("name"),
            Error::TooMany { what, limit } => ApiError::new(
                StatusCode::CONFLICT,
                match what {
                    "tag" => ErrorCode::TooManyTags { limit },
                    _ => ErrorCode::TooMany {
                        what: what.replace(' ', "_"),
                        limit,
                    },
                },
                message,
                format!("delete {what}s that are no longer used"),
            ),
            Error::Forbidden { have, needed } => ApiError::new(
                StatusCode::FORBIDDEN,
                ErrorCode::ForbiddenRole {
                    have: have.as_str().into(),
                    needed: needed.as_str().into(),
                },
                message,
                "ask an admin to do it, or to give your user the role it needs",
            ),
            Error::AtField { field, error } => ApiError::from(*error).with_field(field),
            Error::Login(Refusal::TooManyFailures { retry_after }) => ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorCode::TooManyAttempts {
                    seconds: retry_after.as_secs().max(1),
                },
                "too many failed logins for this user from this address",
                format!(
                    "wait {} seconds, then try again; each further failure doubles the wait",
                    retry_after.as_secs().max(1)
                ),
            )
            .with_retry_after(retry_after),
            Error::Login(Refusal::Busy { retry_after }) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::LoginBusy {},
                "too many passwords are being checked at once",
                "try again in a second",
            )
            .with_retry_after(retry_after),
            Error::Store(e @ StoreError::Conflict { .. }) => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::RevisionConflict {},
                e.to_string(),
                "read it again (its ETag is the current revision) and make the change to that",
            ),
            Error::ObjectsChangeRefused { state } => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::InvalidState {
                    state: state.as_str().into(),
                    action: "change_objects".into(),
                    allowed: state
                        .allowed_actions()
                        .into_iter()
                        .map(|a| a.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                },
                message,
                "objects change while a project is running, paused or failed (a not-started one is edited); a table is re-synced while the project runs",
            ),
            Error::ObjectsUnchanged => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::ObjectsUnchanged {},
                message,
                "add, remove or re-route a table, or leave the objects as they are",
            ),
            Error::ObjectsPrecheckFailed { failed } => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::ObjectsPrecheckFailed {
                    items: failed.join("; "),
                },
                message,
                "fix the failed items (the preview lists them), then apply the change again",
            ),
            Error::ResyncNeedsIncremental => ApiError::new(
                StatusCode::CONFLICT,
                ErrorCode::ResyncNeedsIncremental {},
                message,
                "a project without incremental sync is snapshotted again by a new project",
            ),
            Error::Plan(e) if matches!(*e, obsync_pipeline::plan::PlanError::Metadata(_)) => ApiError::new(
                StatusCode::FAILED_DEPENDENCY,
                ErrorCode::SourceUnavailable {
                    error: obsync_model::ErrorChain(&*e).to_string(),
                },
                format!("the source's tables could not be listed: {}", obsync_model::ErrorChain(&*e)),
                "check that the source is reachable and the source user can read information_schema, then try again",
            ),
            Error::Plan(_) => ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorCode::InvalidObjects {},
                message,
                "fix the object rules so that each names tables the source has",
            )
            .with_field("objects"),
            Error::NotTakenUp { why, .. } => ApiError::new(
                StatusCode::BAD_GATEWAY,
                ErrorCode::ChangeNotTakenUp { error: why },
                message,
                "the change is saved and applies when the run next starts: see the event log of the server running the project for the cause, fix it, then pause and resume the project",
            ),
            Error::Store(StoreError::Replication { what }) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ClusterUnavailable { error: what },
                message,
                "check that the cluster's control Kafka is reachable from this server (its log names the broker), then retry: nothing was changed",
            ),
            Error::Store(StoreError::Stopped) => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::ShuttingDown {},
                message,
                "retry once the server has restarted: nothing was changed",
            ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_the_cluster_could_not_take_is_a_503_naming_the_control_kafka() {
        let e = ApiError::from(StoreError::Replication {
            what: "cannot append to obsync.prod.config: broker down".into(),
        });
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.body.code, "CLUSTER_UNAVAILABLE");
        assert!(e.body.params["error"].contains("obsync.prod.config"));
        assert!(e.body.advice.contains("control Kafka"), "{}", e.body.advice);
        let e = ApiError::from(StoreError::Stopped);
        assert_eq!(e.status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(e.body.code, "SHUTTING_DOWN");
    }

    #[test]
    fn a_forwarded_change_the_owner_could_not_take_up_says_it_is_saved() {
        let e = ApiError::from(Error::NotTakenUp {
            id: "np_1".into(),
            why: "the source is unreachable".into(),
        });
        assert_eq!(e.status, StatusCode::BAD_GATEWAY);
        assert_eq!(e.body.code, "CHANGE_NOT_TAKEN_UP");
        assert!(e.body.message.contains("is saved"), "{}", e.body.message);
        assert!(!e.body.advice.contains("nothing was changed"));
    }
}
