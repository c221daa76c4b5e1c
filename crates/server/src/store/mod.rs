//! The server's state behind a narrow interface. SQLite in the data directory today
//! ([`SqliteStore`]); a later cluster mode keeps the same records in an external store.
//!
//! Architecture invariant: the store holds secrets only sealed ([`crate::secrets`]);
//! checkpoints are not here but in each project's own folder, written by the pipeline.

mod sqlite;

pub use sqlite::SqliteStore;

use crate::model::{
    DataSourceRecord, Event, EventKind, MetricPoint, ProjectRecord, Tag, TokenRecord,
};

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
    #[error("cannot make {path} private (mode 0600): check that the server's user owns it")]
    Permissions {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Everything the server keeps between starts, except checkpoints.
pub trait Store: Send + Sync + 'static {
    fn user_count(&self) -> Result<u64>;
    fn put_user(&self, username: &str, password_hash: &str) -> Result<()>;
    fn user_password_hash(&self, username: &str) -> Result<Option<String>>;

    fn put_session(&self, token_hash: &str, username: &str, expires_unix: i64) -> Result<()>;
    /// The user of an unexpired session.
    fn session_user(&self, token_hash: &str, now_unix: i64) -> Result<Option<String>>;
    fn delete_session(&self, token_hash: &str) -> Result<()>;

    fn put_token(&self, token: &TokenRecord) -> Result<()>;
    fn list_tokens(&self, username: &str) -> Result<Vec<TokenRecord>>;
    fn delete_token(&self, username: &str, id: &str) -> Result<bool>;
    fn token_user(&self, token_hash: &str) -> Result<Option<String>>;

    fn put_datasource(&self, ds: &DataSourceRecord) -> Result<()>;
    fn get_datasource(&self, id: &str) -> Result<Option<DataSourceRecord>>;
    fn list_datasources(&self) -> Result<Vec<DataSourceRecord>>;
    fn delete_datasource(&self, id: &str) -> Result<bool>;

    fn put_tag(&self, tag: &Tag) -> Result<()>;
    fn list_tags(&self) -> Result<Vec<Tag>>;
    fn delete_tag(&self, id: &str) -> Result<bool>;

    fn put_project(&self, project: &ProjectRecord) -> Result<()>;
    fn get_project(&self, id: &str) -> Result<Option<ProjectRecord>>;
    fn list_projects(&self) -> Result<Vec<ProjectRecord>>;
    fn delete_project(&self, id: &str) -> Result<bool>;

    fn add_event(
        &self,
        project_id: &str,
        kind: EventKind,
        actor: &str,
        message: &str,
        chain: &[String],
    ) -> Result<()>;
    /// Newest first, with the total count.
    fn list_events(&self, project_id: &str, offset: u64, limit: u64) -> Result<(Vec<Event>, u64)>;

    fn add_metric(&self, project_id: &str, point: &MetricPoint) -> Result<()>;
    /// Points at or after `since_unix`, oldest first.
    fn metrics_since(&self, project_id: &str, since_unix: i64) -> Result<Vec<MetricPoint>>;
    /// Drops points older than `before_unix`.
    fn prune_metrics(&self, before_unix: i64) -> Result<()>;
}
