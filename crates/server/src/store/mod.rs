//! The server's state behind a narrow, async interface. SQLite in the data directory
//! today ([`SqliteStore`]); a later cluster mode keeps the same records in compacted
//! Kafka topics behind the same traits (the contract: ARCHITECTURE.md, "The server").
//!
//! Architecture invariant: the store holds secrets only sealed ([`crate::secrets`]);
//! checkpoints are not here but in each project's own folder, written by the pipeline.

#[cfg(test)]
mod memory;
pub(crate) mod records_v1;
mod sqlite;

pub use sqlite::{SqliteStore, DB_FILE};

use crate::model::{
    DataSourceRecord, Event, EventKind, MetricPoint, ProjectRecord, Tag, TokenRecord,
};
use crate::roles::Role;

// Why `async_trait` rather than native `async fn` in traits: the server holds its store
// as `Arc<dyn Store>` (one type whatever the implementation, chosen at start), and a
// trait with native async methods cannot be made into an object. Boxing each call's
// future costs nanoseconds against a store call's microseconds to milliseconds.
use async_trait::async_trait;
use obsync_model::Coded;

/// A user to create.
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    pub username: &'a str,
    pub password_hash: &'a str,
    pub role: Role,
}

/// A stored user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRecord {
    pub username: String,
    pub password_hash: String,
    pub role: Role,
    /// RFC 3339; empty for users stored before roles existed.
    pub created_at: String,
}

/// The outcome of a change that must leave at least one admin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserChange {
    Done,
    NoSuchUser,
    /// Refused: it would leave no admin.
    LastAdmin,
}

/// One entry of the event log about something else than a project's run: users,
/// tokens, data sources, logins (and project changes, with their client address).
#[derive(Debug, Clone, Copy)]
pub struct AuditEntry<'a> {
    /// `project`, `datasource`, `user`, `token` or `login`.
    pub subject: &'a str,
    /// The project, data source or token id, or the user name.
    pub subject_id: &'a str,
    pub kind: EventKind,
    /// [`crate::auth::Actor::who`].
    pub actor: &'a str,
    pub client: Option<&'a str>,
    /// The English text.
    pub message: &'a str,
    /// The same as a code with its parameters, for the console.
    pub coded: &'a Coded,
}

/// A store operation that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("the server's database failed")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the server's database could not be migrated to this version")]
    Migration(#[from] rusqlite_migration::Error),
    #[error("a stored record could not be read")]
    Record(#[from] serde_json::Error),
    #[error("a stored {what} is {value:?}, which this version does not know: it was written by a newer obsync; run that version again")]
    UnknownValue { what: &'static str, value: String },
    #[error("stored {what} {id} has no {field}, which its kind needs: the database was changed by something else than obsync; restore it from a backup")]
    Incomplete {
        what: &'static str,
        id: String,
        field: &'static str,
    },
    #[error("stored {table} record {id} has format {format}, newer than this version's {known}: it was written by a newer obsync; run that version again")]
    NewerFormat {
        table: &'static str,
        id: String,
        format: i64,
        known: i64,
    },
    /// A compare-and-swap lost: the record changed (or went) since it was read.
    #[error("{what} {id} was changed by someone else since it was read (now at revision {current}, the change was made to revision {expected})")]
    Conflict {
        what: &'static str,
        id: String,
        expected: u64,
        /// 0 when the record is gone.
        current: u64,
    },
    /// Cluster mode: the change could not go through the cluster's config log.
    #[error("the change could not be shared with the cluster ({what}): check that the control Kafka is reachable, then retry")]
    Replication { what: String },
    /// The runtime stopped (the server is shutting down) before the call ran.
    #[error("the server is shutting down: the change was not saved; retry after it restarts")]
    Stopped,
    #[error("cannot make {path} private (mode 0600): check that the server's user owns it")]
    Permissions {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Refuses a change made to revision `expected` (when given) of a record now at `current`.
pub fn check_revision(
    what: &'static str,
    id: &str,
    expected: Option<u64>,
    current: u64,
) -> Result<()> {
    match expected {
        Some(expected) if expected != current => Err(StoreError::Conflict {
            what,
            id: id.to_string(),
            expected,
            current,
        }),
        _ => Ok(()),
    }
}

/// Users and their login sessions.
#[async_trait]
pub trait UserStore: Send + Sync {
    async fn user_count(&self) -> Result<u64>;
    /// `false` when the name is taken.
    async fn create_user(&self, user: &NewUser<'_>) -> Result<bool>;
    async fn get_user(&self, username: &str) -> Result<Option<UserRecord>>;
    /// By name.
    async fn list_users(&self) -> Result<Vec<UserRecord>>;
    /// Refuses (in the same statement, so two demotions cannot both pass) to demote
    /// the last admin.
    async fn set_user_role(&self, username: &str, role: Role) -> Result<UserChange>;
    async fn set_user_password(&self, username: &str, password_hash: &str) -> Result<bool>;
    /// Deletes the user with their sessions and tokens (one transaction); refuses to
    /// delete the last admin.
    async fn delete_user(&self, username: &str) -> Result<UserChange>;

    async fn put_session(&self, token_hash: &str, username: &str, expires_unix: i64) -> Result<()>;
    /// The user of an unexpired session.
    async fn session_user(&self, token_hash: &str, now_unix: i64) -> Result<Option<String>>;
    async fn delete_session(&self, token_hash: &str) -> Result<()>;
    /// Ends every session of `username` but `keep` (a session token hash).
    async fn delete_sessions_of(&self, username: &str, keep: Option<&str>) -> Result<()>;
}

/// API tokens.
#[async_trait]
pub trait TokenStore: Send + Sync {
    async fn put_token(&self, token: &TokenRecord) -> Result<()>;
    async fn list_tokens(&self, username: &str) -> Result<Vec<TokenRecord>>;
    async fn delete_token(&self, username: &str, id: &str) -> Result<bool>;
    /// The unexpired token with this hash; records `now_unix` as its last use (at most
    /// once a minute, so that a busy script does not write on every request).
    async fn use_token(&self, token_hash: &str, now_unix: i64) -> Result<Option<TokenRecord>>;
}

/// Data sources, each with a revision that every write checks.
#[async_trait]
pub trait DataSourceStore: Send + Sync {
    /// Creates the data source when its `revision` is 0, else replaces the stored one
    /// if it is still at that revision ([`StoreError::Conflict`] otherwise). Returns
    /// the new revision.
    async fn put_datasource(&self, ds: &DataSourceRecord) -> Result<u64>;
    async fn get_datasource(&self, id: &str) -> Result<Option<DataSourceRecord>>;
    async fn list_datasources(&self) -> Result<Vec<DataSourceRecord>>;
    /// Deletes it if still at `revision` (any revision when `None`); `false` when absent.
    async fn delete_datasource(&self, id: &str, revision: Option<u64>) -> Result<bool>;
}

/// Tags (labels of projects).
#[async_trait]
pub trait TagStore: Send + Sync {
    async fn put_tag(&self, tag: &Tag) -> Result<()>;
    async fn list_tags(&self) -> Result<Vec<Tag>>;
    async fn delete_tag(&self, id: &str) -> Result<bool>;
}

/// Projects, each with a revision that every write checks.
#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// Creates the project when its `revision` is 0, else replaces the stored one if it
    /// is still at that revision ([`StoreError::Conflict`] otherwise). Returns the new
    /// revision.
    async fn put_project(&self, project: &ProjectRecord) -> Result<u64>;
    async fn get_project(&self, id: &str) -> Result<Option<ProjectRecord>>;
    async fn list_projects(&self) -> Result<Vec<ProjectRecord>>;
    /// Deletes the project with its events and metric history (one transaction), if
    /// still at `revision` (any revision when `None`); `false` when absent.
    async fn delete_project(&self, id: &str, revision: Option<u64>) -> Result<bool>;
}

/// The event log: project events, audit and security entries.
#[async_trait]
pub trait EventStore: Send + Sync {
    async fn add_event(
        &self,
        project_id: &str,
        kind: EventKind,
        actor: &str,
        message: &str,
        coded: &Coded,
        chain: &[String],
    ) -> Result<()>;
    /// Newest first, with the total count.
    async fn list_events(
        &self,
        project_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Event>, u64)>;
    async fn add_audit(&self, entry: &AuditEntry<'_>) -> Result<()>;
    /// Audit and security events of every subject, newest first, with the total count.
    async fn list_audit(&self, offset: u64, limit: u64) -> Result<(Vec<Event>, u64)>;
}

/// Projects' metric history.
#[async_trait]
pub trait MetricStore: Send + Sync {
    async fn add_metric(&self, project_id: &str, point: &MetricPoint) -> Result<()>;
    /// Points at or after `since_unix`, oldest first.
    async fn metrics_since(&self, project_id: &str, since_unix: i64) -> Result<Vec<MetricPoint>>;
    /// Drops points older than `before_unix`.
    async fn prune_metrics(&self, before_unix: i64) -> Result<()>;
}

/// Everything the server keeps between starts, except checkpoints: one store per
/// aggregate, implemented together by [`SqliteStore`] (a second implementation, e.g. a
/// shared database for a cluster, implements the same traits).
pub trait Store:
    UserStore
    + TokenStore
    + DataSourceStore
    + TagStore
    + ProjectStore
    + EventStore
    + MetricStore
    + 'static
{
}

impl<T> Store for T where
    T: UserStore
        + TokenStore
        + DataSourceStore
        + TagStore
        + ProjectStore
        + EventStore
        + MetricStore
        + 'static
{
}
