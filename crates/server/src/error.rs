//! The server's domain error: what a project, tag, data source, user or login operation
//! refused or failed at, free of HTTP. The REST API turns it into its
//! `{code, message, advice, field}` answer in one table (`api/error.rs`); the OMS shim
//! answers through that same table.

use obsync_model::{message_codes, Coded, MessageCode};

use crate::lifecycle::{InvalidTransition, ProjectState};
use crate::login::Refusal;
use crate::passwords::HashError;
use crate::roles::Role;
use crate::secrets::SecretError;
use crate::spec::{SpecError, SpecProblem};
use crate::store::StoreError;

/// A domain operation's result.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a domain operation did not do what was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No record with this id.
    #[error("{what} {id:?} does not exist")]
    NotFound { what: &'static str, id: String },
    /// The project's state does not allow the action (or event).
    #[error(transparent)]
    InvalidTransition(#[from] InvalidTransition),
    /// Start needs a passed precheck of the project's current definition.
    #[error("the project's current definition has not passed a precheck")]
    PrecheckRequired,
    /// A verify run of the project is in progress; one runs at a time.
    #[error("a verify run of project {id} is already running")]
    VerifyRunning { id: String },
    /// A precheck run on the way (OMS's start) failed; the failed items.
    #[error("the precheck failed: {}", .failed.join("; "))]
    PrecheckFailed { failed: Vec<String> },
    /// A value breaks one of the rules (names, data sources, project files).
    #[error("{}", .0.message)]
    Invalid(Box<Invalid>),
    /// A project definition breaks the project file's rules; every problem, the first
    /// one first.
    #[error("{}", .0.first().map_or("the project definition is invalid", |p| p.message.as_str()))]
    InvalidProject(Vec<SpecProblem>),
    /// Another record of this kind has the name.
    #[error("a {what} named {name:?} exists already")]
    NameTaken { what: &'static str, name: String },
    /// The limit of records of this kind is reached.
    #[error("the server has {limit} {what}s, the most it keeps")]
    TooMany { what: &'static str, limit: usize },
    /// `error`, met while judging `field` of a larger input (a tag of an imported file).
    #[error("{error}")]
    AtField { field: String, error: Box<Error> },
    /// The caller's role is below the one the operation needs.
    #[error("this needs the {} role; you have {}", .needed.as_str(), .have.as_str())]
    Forbidden { have: Role, needed: Role },
    /// A login may not be tried now.
    #[error(transparent)]
    Login(#[from] Refusal),
    /// The project's state does not allow changing its objects or re-syncing a table.
    #[error("the objects of a {} project cannot be changed, nor its tables re-synced", .state.as_str())]
    ObjectsChangeRefused { state: ProjectState },
    /// An object change that changes nothing.
    #[error("the new object rules select the same tables, topics and shard columns as before")]
    ObjectsUnchanged,
    /// The precheck of an object change failed; its failed items.
    #[error("the precheck of the changed objects failed: {}", .failed.join("; "))]
    ObjectsPrecheckFailed { failed: Vec<String> },
    /// A re-sync needs a change log to stitch the snapshot into.
    #[error("the project has no incremental sync, so a table cannot be re-synced while it runs")]
    ResyncNeedsIncremental,
    /// The object rules could not be resolved against the source.
    #[error(transparent)]
    Plan(Box<obsync_pipeline::plan::PlanError>),
    /// Cluster mode: a change saved and forwarded to the server running the project,
    /// which could not take it into the run.
    #[error("the change is saved, but the server running project {id} could not take it into the run: {why}")]
    NotTakenUp { id: String, why: String },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Hash(#[from] HashError),
}

impl From<obsync_pipeline::plan::PlanError> for Error {
    fn from(e: obsync_pipeline::plan::PlanError) -> Error {
        Error::Plan(Box::new(e))
    }
}

/// A refused value: which rule, which field, what is wrong and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub rule: Rule,
    /// The request's field path (`name`, `kafka.version`, `project.tags`).
    pub field: String,
    pub message: String,
    pub advice: String,
    /// `message` as a code with its parameters, for the console, when it has one.
    pub coded: Option<Coded>,
}

message_codes! {
    /// A server rule a request value breaks (the project file's own are
    /// `obsync_config::RuleMessage`).
    pub enum InputRule {
        /// An invisible or control character (`code_point`: `U+202E`) in a name.
        HiddenChar = "rule.hidden_char" { code_point: String },
        DataSourceName = "rule.datasource_name" { max: usize },
        TagName = "rule.tag_name" { max: usize },
        /// A field that must not be empty is.
        Empty = "rule.empty" {},
        PortRange = "rule.port_range" {},
        KafkaVersion = "rule.kafka_version" { version: String },
        SaslMechanism = "rule.sasl_mechanism" { mechanism: String },
        TenantMissing = "rule.tenant_missing" { user: String },
        NotADatabase = "rule.not_a_database" { name: String },
        NotKafka = "rule.not_kafka" { name: String },
        NotATableName = "rule.not_a_table_name" { table: String },
        NoKeyForResync = "rule.no_key_for_resync" { table: String },
    }
}

/// A rule's code of either family.
pub struct RuleCode(pub Coded);

impl From<InputRule> for RuleCode {
    fn from(rule: InputRule) -> RuleCode {
        RuleCode(rule.coded())
    }
}

impl From<obsync_config::RuleMessage> for RuleCode {
    fn from(rule: obsync_config::RuleMessage) -> RuleCode {
        RuleCode(rule.coded())
    }
}

/// The family of rule a refused value breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// A request value in general (limits, formats).
    Request,
    /// The one rule for names ([`crate::names`]).
    Name,
    /// A tag's name.
    Tag,
    /// A data source's connection facts.
    DataSource,
    /// A project file or definition.
    Project,
}

impl Error {
    /// A value that breaks `rule`.
    pub fn invalid(
        rule: Rule,
        field: impl Into<String>,
        message: impl Into<String>,
        advice: impl Into<String>,
    ) -> Error {
        Error::Invalid(Box::new(Invalid {
            rule,
            field: field.into(),
            message: message.into(),
            advice: advice.into(),
            coded: None,
        }))
    }

    /// The same refusal with its message as a code for the console (an `Invalid` only).
    pub fn with_rule(self, rule: impl Into<RuleCode>) -> Error {
        match self {
            Error::Invalid(mut invalid) => {
                invalid.coded = Some(rule.into().0);
                Error::Invalid(invalid)
            }
            other => other,
        }
    }

    pub fn not_found(what: &'static str, id: &str) -> Error {
        Error::NotFound {
            what,
            id: id.to_string(),
        }
    }

    /// The same error, about `field` instead (a tag's rule met inside an import).
    pub fn at_field(self, field: &str) -> Error {
        match self {
            Error::Invalid(mut invalid) => {
                invalid.field = field.to_string();
                Error::Invalid(invalid)
            }
            other => Error::AtField {
                field: field.to_string(),
                error: Box::new(other),
            },
        }
    }
}

impl From<SpecError> for Error {
    fn from(e: SpecError) -> Error {
        match e {
            SpecError::Invalid(problems) => Error::InvalidProject(problems),
            SpecError::Secret(e) => Error::Secret(e),
        }
    }
}
