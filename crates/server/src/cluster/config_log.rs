//! The config log `obsync.NAME.config` (one partition, compacted): every write of a
//! project, data source or tag made on any server, applied by every server in log order
//! into its SQLite store, which is a cache of the log.
//!
//! A write carries the revision it was made to ([`crate::store::check_revision`]'s
//! rule): applying it to a record still at that revision wins and gives the next
//! revision; a record moved on since makes it lose. Every server applies the same
//! records in the same order to the same state, so all agree on the winner. The writer
//! waits until its own server has applied its record and answers with the outcome: the
//! new revision, or [`StoreError::Conflict`] (409) when it lost.
//!
//! Replicated: projects, data sources, tags, users, login sessions and API tokens.
//! Local to each server: the event log, the metric history and a token's last use
//! (docs/cluster.md).
//!
//! Compaction keeps the last record of each key, so that record must hold the state
//! every server ended with. A write that lost (409, or a user change refused) would
//! otherwise be that last record: its writer, having learnt it lost, appends the
//! winner's current state under the same key ([`ReplicatedStore`]'s repair), which
//! every live server applies as a no-op and a server starting empty installs.
//!
//! Users are kept under several keys (`user/NAME` for the user as created or repaired,
//! `user/NAME/role`, `user/NAME/password`, `user/NAME/sessions`), so that the last
//! record of each key is enough without its history: a role change needs no earlier
//! role change. A session (`session/HASH`) or token (`token/ID`) is applied only
//! while its user exists, so one left over from a deleted user never comes back.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot, watch};

use super::{topics, ClusterError, ClusterOptions, CONTROL_TIMEOUT};
use crate::model::{
    DataSourceRecord, Event, EventKind, MetricPoint, ProjectRecord, Tag, TokenRecord,
};
use crate::roles::Role;
use crate::store::records_v1::{DataSourceV1, ProjectV1, TagV1};
use crate::store::{
    AuditEntry, DataSourceStore, EventStore, MetricStore, NewUser, ProjectStore, Result,
    SqliteStore, StoreError, TagStore, TokenStore, UserChange, UserRecord, UserStore,
};

/// Format of a config record's value.
const VERSION: &str = "1";
/// How long a write waits for its own server to apply it.
const APPLY_TIMEOUT: Duration = Duration::from_secs(30);
/// The file in the data directory naming the next config record to apply.
pub const OFFSET_FILE: &str = "cluster-config.offset";

/// One write, as the log carries it.
#[derive(Serialize, Deserialize)]
struct ConfigRecord {
    version: String,
    /// Unique per write: the writer waits for this one.
    write: String,
    node: String,
    #[serde(flatten)]
    change: Change,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Change {
    Project {
        id: String,
        /// The revision the write was made to (0: create).
        revision: u64,
        body: Box<ProjectV1>,
    },
    ProjectDeleted {
        id: String,
        revision: Option<u64>,
    },
    DataSource {
        id: String,
        revision: u64,
        body: Box<DataSourceV1>,
    },
    DataSourceDeleted {
        id: String,
        revision: Option<u64>,
    },
    Tag {
        body: TagV1,
    },
    TagDeleted {
        id: String,
    },
    /// A pause asked on a server that does not run the project: its owner stops it.
    Pause {
        id: String,
    },
    /// An object change or re-sync saved on a server that does not run the project:
    /// its owner takes it into the run and answers with [`Change::Answer`].
    Forwarded {
        id: String,
        /// When it was asked (Unix ms): a server replaying the log ignores old ones.
        at_ms: i64,
        action: super::forward::Forwarded,
    },
    /// The owner's answer to the forwarded request written as `request`.
    Answer {
        id: String,
        request: String,
        /// Why the owner could not take it up, if it could not.
        error: Option<String>,
    },
    /// A losing write's repair: the project as every server holds it (at `revision`).
    ProjectState {
        id: String,
        revision: u64,
        body: Box<ProjectV1>,
    },
    /// The same for a data source.
    DataSourceState {
        id: String,
        revision: u64,
        body: Box<DataSourceV1>,
    },
    /// A new user (first in log order with its name wins), or a repair of `user/NAME`.
    User {
        body: UserV1,
    },
    UserDeleted {
        username: String,
    },
    UserRole {
        username: String,
        role: Role,
    },
    /// A new password hash (Argon2id PHC string; never the password).
    UserPassword {
        username: String,
        password_hash: String,
    },
    /// Ends the user's sessions but `keep` (a password change, a reset).
    SessionsEnded {
        username: String,
        keep: Option<String>,
    },
    /// A login session, by the SHA-256 of its cookie (never the cookie).
    Session {
        token_hash: String,
        username: String,
        expires_unix: i64,
    },
    SessionDeleted {
        token_hash: String,
    },
    /// An API token, by the SHA-256 of its text (never the text).
    Token {
        body: TokenV1,
    },
    TokenDeleted {
        username: String,
        id: String,
    },
}

/// A user as the log carries it: what the server stores, the password only hashed.
#[derive(Serialize, Deserialize)]
struct UserV1 {
    username: String,
    password_hash: String,
    role: Role,
    created_at: String,
}

impl UserV1 {
    fn of(user: &UserRecord) -> UserV1 {
        UserV1 {
            username: user.username.clone(),
            password_hash: user.password_hash.clone(),
            role: user.role,
            created_at: user.created_at.clone(),
        }
    }

    fn into_record(self) -> UserRecord {
        UserRecord {
            username: self.username,
            password_hash: self.password_hash,
            role: self.role,
            created_at: self.created_at,
        }
    }
}

/// An API token as the log carries it (its last use stays local to each server).
#[derive(Serialize, Deserialize)]
struct TokenV1 {
    id: String,
    name: String,
    username: String,
    /// SHA-256 of the token.
    hash: String,
    created_at: String,
    role: Role,
    expires_unix: i64,
}

impl TokenV1 {
    fn of(t: &TokenRecord) -> TokenV1 {
        TokenV1 {
            id: t.id.clone(),
            name: t.name.clone(),
            username: t.username.clone(),
            hash: t.hash.clone(),
            created_at: t.created_at.clone(),
            role: t.role,
            expires_unix: t.expires_unix,
        }
    }

    fn into_record(self) -> TokenRecord {
        TokenRecord {
            id: self.id,
            name: self.name,
            username: self.username,
            hash: self.hash,
            created_at: self.created_at,
            role: self.role,
            expires_unix: self.expires_unix,
            last_used_unix: None,
        }
    }
}

/// [`UserChange`] as an applied outcome's number, and back.
fn user_change_code(change: UserChange) -> u64 {
    match change {
        UserChange::Done => 0,
        UserChange::NoSuchUser => 1,
        UserChange::LastAdmin => 2,
    }
}

fn user_change_of(code: u64) -> UserChange {
    match code {
        0 => UserChange::Done,
        1 => UserChange::NoSuchUser,
        _ => UserChange::LastAdmin,
    }
}

/// An action for the server that runs a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Pause,
    /// Take up a forwarded change (`request`: its write, to answer; `from`: the node
    /// it was asked on).
    Forwarded {
        request: String,
        from: String,
        at_ms: i64,
        action: super::forward::Forwarded,
    },
}

impl Change {
    /// The compaction key: the last record of an aggregate is its state.
    fn key(&self) -> String {
        match self {
            Change::Project { id, .. } | Change::ProjectDeleted { id, .. } => {
                format!("project/{id}")
            }
            Change::DataSource { id, .. } | Change::DataSourceDeleted { id, .. } => {
                format!("datasource/{id}")
            }
            Change::Tag { body } => format!("tag/{}", body.id()),
            Change::TagDeleted { id } => format!("tag/{id}"),
            Change::Pause { id } => format!("pause/{id}"),
            Change::Forwarded { id, .. } => format!("forward/{id}"),
            Change::Answer { id, .. } => format!("answer/{id}"),
            Change::ProjectState { id, .. } => format!("project/{id}"),
            Change::DataSourceState { id, .. } => format!("datasource/{id}"),
            Change::User { body } => format!("user/{}", body.username),
            Change::UserDeleted { username } => format!("user/{username}"),
            Change::UserRole { username, .. } => format!("user/{username}/role"),
            Change::UserPassword { username, .. } => format!("user/{username}/password"),
            Change::SessionsEnded { username, .. } => format!("user/{username}/sessions"),
            Change::Session { token_hash, .. } | Change::SessionDeleted { token_hash } => {
                format!("session/{token_hash}")
            }
            Change::Token { body } => format!("token/{}", body.id),
            Change::TokenDeleted { id, .. } => format!("token/{id}"),
        }
    }
}

/// What applying a write came to, sent back to its writer.
#[derive(Debug, Clone)]
enum Outcome {
    /// Stored at this revision (or deleted: `1` when it was there, `0` when not).
    Applied(u64),
    /// Lost to an earlier write: the record is at `current` (0: gone).
    Lost { current: u64 },
    /// This server could not apply it.
    Failed(String),
}

/// A project the log changed, for the owner to act on (start a run it should have).
#[derive(Debug, Clone)]
pub struct Applied {
    pub project: String,
    pub command: Option<Command>,
}

/// The log's producer and the writes waiting for their outcome.
pub struct ConfigLog {
    topic: String,
    node: String,
    producer: FutureProducer,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    /// Forwarded requests of this server waiting for their owner's answer, by write.
    answers: Mutex<HashMap<String, oneshot::Sender<Option<String>>>>,
    /// The offset of the next record to apply.
    next: watch::Sender<i64>,
}

impl ConfigLog {
    pub fn open(options: &ClusterOptions) -> Result<ConfigLog, ClusterError> {
        let producer = topics::client(&options.control_kafka)
            .set("enable.idempotence", "true")
            .set("acks", "all")
            .create()
            .map_err(|source| ClusterError::Client {
                what: "the config log's producer".into(),
                source,
            })?;
        Ok(ConfigLog {
            topic: topics::config(&options.name),
            node: options.node.as_str().to_string(),
            producer,
            waiting: Mutex::default(),
            answers: Mutex::default(),
            next: watch::channel(0).0,
        })
    }

    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Outcome>>> {
        self.waiting.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn answers(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, oneshot::Sender<Option<String>>>> {
        self.answers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Appends `change` and waits until this server has applied it.
    async fn write(&self, change: Change) -> Result<Outcome> {
        self.write_as(crate::model::new_id("w"), change).await
    }

    /// [`Self::write`] under the write id `write`.
    async fn write_as(&self, write: String, change: Change) -> Result<Outcome> {
        let key = change.key();
        let record = ConfigRecord {
            version: VERSION.into(),
            write: write.clone(),
            node: self.node.clone(),
            change,
        };
        let value = serde_json::to_vec(&record)?;
        let (tx, rx) = oneshot::channel();
        self.waiting().insert(write.clone(), tx);
        let sent = self
            .producer
            .send(
                FutureRecord::to(&self.topic)
                    .partition(0)
                    .key(&key)
                    .payload(&value),
                CONTROL_TIMEOUT,
            )
            .await;
        if let Err((e, _)) = sent {
            self.waiting().remove(&write);
            return Err(StoreError::Replication {
                what: format!("cannot append to {}: {e}", self.topic),
            });
        }
        match tokio::time::timeout(APPLY_TIMEOUT, rx).await {
            Ok(Ok(outcome)) => Ok(outcome),
            _ => {
                self.waiting().remove(&write);
                Err(StoreError::Replication {
                    what: format!(
                        "the change was appended to {} but this server did not apply it within {APPLY_TIMEOUT:?}",
                        self.topic
                    ),
                })
            }
        }
    }

    /// Asks the server that runs project `id` to pause it (returns once appended and
    /// applied here; the owner stops the run and records `paused`).
    pub async fn pause(&self, id: &str) -> Result<()> {
        self.write(Change::Pause { id: id.to_string() })
            .await
            .map(|_| ())
    }

    /// Sends `action` on project `id` to the server that runs it; the receiver gets
    /// its answer (`Some(why)` when it could not take it up).
    pub async fn forward(
        &self,
        id: &str,
        action: super::forward::Forwarded,
    ) -> Result<oneshot::Receiver<Option<String>>> {
        let write = crate::model::new_id("w");
        let (tx, rx) = oneshot::channel();
        self.answers().insert(write.clone(), tx);
        let change = Change::Forwarded {
            id: id.to_string(),
            at_ms: obsync_pipeline::delivery::unix_ms() as i64,
            action,
        };
        if let Err(e) = self.write_as(write.clone(), change).await {
            self.answers().remove(&write);
            return Err(e);
        }
        Ok(rx)
    }

    /// Answers the forwarded request `request` on project `id`.
    pub async fn answer(&self, id: &str, request: &str, error: Option<String>) -> Result<()> {
        let change = Change::Answer {
            id: id.to_string(),
            request: request.to_string(),
            error,
        };
        self.write(change).await.map(|_| ())
    }

    /// Waits until every record appended before the call is applied here (at start:
    /// the store then holds the cluster's definitions).
    pub async fn caught_up(&self, control: &obsync_kafka::KafkaTarget) -> Result<(), ClusterError> {
        let topic = self.topic.clone();
        let control = control.clone();
        let high = tokio::task::spawn_blocking(move || {
            let consumer: BaseConsumer = topics::client(&control)
                .set("group.id", "obsync.watermarks")
                .create()
                .map_err(|source| ClusterError::Read {
                    topic: topic.clone(),
                    source,
                })?;
            // A leader election (a broker restarting) answers for a moment with
            // "not leader": asked again until the timeout.
            let deadline = std::time::Instant::now() + CONTROL_TIMEOUT;
            loop {
                match consumer.fetch_watermarks(&topic, 0, CONTROL_TIMEOUT) {
                    Ok((_, high)) => return Ok(high),
                    Err(e) if std::time::Instant::now() < deadline => {
                        tracing::debug!(error = %e, "the config log's end is not known yet; asking again");
                        std::thread::sleep(Duration::from_millis(300));
                    }
                    Err(source) => return Err(ClusterError::Read { topic, source }),
                }
            }
        })
        .await
        .expect("the watermark read does not panic")?;
        let mut next = self.next.subscribe();
        let _ = next.wait_for(|n| *n >= high).await;
        Ok(())
    }

    /// Starts the thread that applies the log to `store` from the offset saved in
    /// `data_dir`, telling `applied` about every project it changes.
    pub fn start_applier(
        self: &Arc<Self>,
        control: &obsync_kafka::KafkaTarget,
        store: Arc<SqliteStore>,
        data_dir: &Path,
        applied: mpsc::UnboundedSender<Applied>,
    ) -> Result<(), ClusterError> {
        let offset_file = data_dir.join(OFFSET_FILE);
        let from = std::fs::read_to_string(&offset_file)
            .ok()
            .and_then(|t| t.trim().parse::<i64>().ok())
            .unwrap_or(0);
        let read = |source| ClusterError::Read {
            topic: self.topic.clone(),
            source,
        };
        let consumer: BaseConsumer = topics::client(control)
            .set("group.id", "obsync.config-reader")
            .set("enable.auto.commit", "false")
            .set("isolation.level", "read_committed")
            .create()
            .map_err(read)?;
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&self.topic, 0, Offset::Offset(from))
            .map_err(read)?;
        consumer.assign(&tpl).map_err(read)?;
        self.next.send_replace(from);
        let log = self.clone();
        let runtime = tokio::runtime::Handle::current();
        std::thread::Builder::new()
            .name("obsync-config-log".into())
            .spawn(move || apply_forever(&log, &consumer, &store, &runtime, &offset_file, &applied))
            .expect("a thread starts");
        Ok(())
    }
}

/// The applier's loop: poll, apply in order, save the next offset, answer the writer.
fn apply_forever(
    log: &ConfigLog,
    consumer: &BaseConsumer,
    store: &SqliteStore,
    runtime: &tokio::runtime::Handle,
    offset_file: &PathBuf,
    applied: &mpsc::UnboundedSender<Applied>,
) {
    loop {
        let message = match consumer.poll(Duration::from_millis(100)) {
            None => {
                // Past the end: report the position, so `caught_up` sees an empty tail.
                if let Ok(position) = consumer.position() {
                    if let Some(Offset::Offset(o)) =
                        position.find_partition(&log.topic, 0).map(|p| p.offset())
                    {
                        log.next.send_if_modified(|n| {
                            let moved = o > *n;
                            *n = (*n).max(o);
                            moved
                        });
                    }
                }
                continue;
            }
            Some(Err(e)) => {
                tracing::warn!(topic = %log.topic, error = %e, "reading the config log failed; retrying");
                std::thread::sleep(Duration::from_secs(1));
                continue;
            }
            Some(Ok(m)) => m,
        };
        let offset = message.offset();
        let record = message
            .payload()
            .map(serde_json::from_slice::<ConfigRecord>);
        match record {
            None => {}
            Some(Err(e)) => {
                tracing::error!(topic = %log.topic, offset, error = %e, "a config record this obsync cannot read was skipped: it was written by a newer obsync; run one release on every server");
            }
            Some(Ok(record)) => {
                let project = match &record.change {
                    Change::Project { id, .. }
                    | Change::ProjectDeleted { id, .. }
                    | Change::ProjectState { id, .. } => Some((id.clone(), None)),
                    Change::Pause { id } => Some((id.clone(), Some(Command::Pause))),
                    Change::Forwarded { id, at_ms, action } => Some((
                        id.clone(),
                        Some(Command::Forwarded {
                            request: record.write.clone(),
                            from: record.node.clone(),
                            at_ms: *at_ms,
                            action: action.clone(),
                        }),
                    )),
                    Change::Answer { request, error, .. } => {
                        if let Some(tx) = log.answers().remove(request) {
                            let _ = tx.send(error.clone());
                        }
                        None
                    }
                    _ => None,
                };
                let outcome = runtime.block_on(apply(store, record.change));
                if let Outcome::Failed(why) = &outcome {
                    tracing::error!(topic = %log.topic, offset, error = %why, "cannot apply a config record to this server's store: it now differs from the cluster's; restart the server with an empty data directory to rebuild it");
                }
                if let Some(tx) = log.waiting().remove(&record.write) {
                    let _ = tx.send(outcome);
                }
                if let Some((project, command)) = project {
                    let _ = applied.send(Applied { project, command });
                }
            }
        }
        // Best effort: a lost offset replays records, which lose against the revisions
        // they already made (see the module's rule).
        let _ = std::fs::write(offset_file, (offset + 1).to_string());
        log.next.send_replace(offset + 1);
    }
}

/// Applies one change to the local store under the revision rule.
async fn apply(store: &SqliteStore, change: Change) -> Outcome {
    let outcome = match change {
        // A write made to revision r of a record this server never saw (neither held nor
        // deleted): the records before it were compacted away, and it is the state the
        // others reached (r + 1). A server starting empty rebuilds such records so.
        Change::Project { revision, body, .. } => match (*body).into_record(revision) {
            Ok(mut record) => match store.project_never_seen(&record.id).await {
                Ok(true) if revision > 0 => {
                    record.revision = revision + 1;
                    installed(revision + 1, store.install_project(&record).await)
                }
                Ok(_) => store.put_project(&record).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        },
        Change::ProjectDeleted { id, revision } => {
            let deleted = store.delete_project(&id, revision).await;
            remembered(store, &id, deleted).await
        }
        Change::DataSource { revision, body, .. } => match (*body).into_record(revision) {
            Ok(mut record) => match store.datasource_never_seen(&record.id).await {
                Ok(true) if revision > 0 => {
                    record.revision = revision + 1;
                    installed(revision + 1, store.install_datasource(&record).await)
                }
                Ok(_) => store.put_datasource(&record).await,
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        },
        Change::DataSourceDeleted { id, revision } => {
            let deleted = store.delete_datasource(&id, revision).await;
            remembered(store, &id, deleted).await
        }
        Change::Tag { body } => store.put_tag(&body.into_tag()).await.map(|()| 1),
        Change::TagDeleted { id } => store.delete_tag(&id).await.map(u64::from),
        Change::Pause { .. } | Change::Forwarded { .. } | Change::Answer { .. } => Ok(0),
        Change::ProjectState { revision, body, .. } => match (*body).into_record(revision) {
            Ok(record) => installed(revision, store.install_project(&record).await),
            Err(e) => Err(e),
        },
        Change::DataSourceState { revision, body, .. } => match (*body).into_record(revision) {
            Ok(record) => installed(revision, store.install_datasource(&record).await),
            Err(e) => Err(e),
        },
        Change::User { body } => store.insert_user(&body.into_record()).await.map(u64::from),
        Change::UserDeleted { username } => {
            store.delete_user(&username).await.map(user_change_code)
        }
        Change::UserRole { username, role } => store
            .set_user_role(&username, role)
            .await
            .map(user_change_code),
        Change::UserPassword {
            username,
            password_hash,
        } => store
            .set_user_password(&username, &password_hash)
            .await
            .map(u64::from),
        Change::SessionsEnded { username, keep } => store
            .delete_sessions_of(&username, keep.as_deref())
            .await
            .map(|()| 0),
        // A session or token only for a user that exists: after compaction the log may
        // hold one of a user deleted since (whose deletion record a later user of the
        // same name replaced). The applier is the cluster's only writer of both.
        Change::Session {
            token_hash,
            username,
            expires_unix,
        } => match store.get_user(&username).await {
            Ok(Some(_)) => store
                .put_session(&token_hash, &username, expires_unix)
                .await
                .map(|()| 0),
            Ok(None) => Ok(1),
            Err(e) => Err(e),
        },
        Change::SessionDeleted { token_hash } => {
            store.delete_session(&token_hash).await.map(|()| 0)
        }
        Change::Token { body } => match store.get_user(&body.username).await {
            Ok(Some(_)) => store.put_token(&body.into_record()).await.map(|()| 0),
            Ok(None) => Ok(1),
            Err(e) => Err(e),
        },
        Change::TokenDeleted { username, id } => {
            store.delete_token(&username, &id).await.map(u64::from)
        }
    };
    match outcome {
        Ok(n) => Outcome::Applied(n),
        Err(StoreError::Conflict { current, .. }) => Outcome::Lost { current },
        Err(e) => Outcome::Failed(obsync_model::ErrorChain(&e).to_string()),
    }
}

/// A deletion's outcome; the id is remembered as deleted unless the deletion lost (a
/// deletion of an id this server never held too: a server starting empty may read a
/// key's last record, a deletion, without the records before it).
async fn remembered(store: &SqliteStore, id: &str, deleted: Result<bool>) -> Result<u64> {
    let deleted = deleted?;
    store.remember_deleted(id).await?;
    Ok(u64::from(deleted))
}

/// A repair's outcome: in line with every server when the stored revision is the
/// repair's; a newer one means another write came in between (the repair is stale).
fn installed(revision: u64, stored: Result<u64>) -> Result<u64> {
    let stored = stored?;
    if stored == revision {
        Ok(stored)
    } else {
        Err(StoreError::Conflict {
            what: "repair",
            id: String::new(),
            expected: revision,
            current: stored,
        })
    }
}

/// How often a losing writer re-appends the winner's state when yet another write
/// keeps coming in between (each such write is itself the key's newer last record).
const REPAIR_TRIES: usize = 3;

/// The server's store in cluster mode: writes of projects, data sources, tags, users,
/// sessions and tokens go through the config log; everything else, and every read, is
/// the local store's.
pub struct ReplicatedStore {
    local: Arc<SqliteStore>,
    log: Arc<ConfigLog>,
}

impl ReplicatedStore {
    pub fn new(local: Arc<SqliteStore>, log: Arc<ConfigLog>) -> ReplicatedStore {
        ReplicatedStore { local, log }
    }

    /// A write's outcome as the store's contract has it.
    async fn revised(
        &self,
        what: &'static str,
        id: &str,
        expected: u64,
        change: Change,
    ) -> Result<u64> {
        let key = change.key();
        match self.log.write(change).await? {
            Outcome::Applied(n) => Ok(n),
            Outcome::Lost { current } => {
                self.repair(&key).await;
                Err(StoreError::Conflict {
                    what,
                    id: id.to_string(),
                    expected,
                    current,
                })
            }
            Outcome::Failed(why) => Err(StoreError::Replication { what: why }),
        }
    }

    /// A user, session or token change's outcome number; a change that did nothing
    /// because of an earlier one (a taken name, the last admin kept) is repaired.
    async fn user_write(&self, change: Change) -> Result<u64> {
        let key = change.key();
        // Which outcome means "refused": then the record is its key's last and wrong.
        let refused_when = match &change {
            Change::User { .. } => Some(0),
            Change::UserRole { .. } | Change::UserDeleted { .. } => {
                Some(user_change_code(UserChange::LastAdmin))
            }
            _ => None,
        };
        match self.log.write(change).await? {
            Outcome::Applied(n) => {
                if refused_when == Some(n) {
                    self.repair(&key).await;
                }
                Ok(n)
            }
            Outcome::Lost { current } => Ok(current),
            Outcome::Failed(why) => Err(StoreError::Replication { what: why }),
        }
    }

    /// Appends the state this server holds for `key` (the winner's: every server
    /// applied the same records), so that compaction keeps it and not the losing write
    /// just appended. Best effort: a failure is logged, and the loser stays the key's
    /// last record until the key's next write (docs/cluster.md, "what remains").
    async fn repair(&self, key: &str) {
        for _ in 0..REPAIR_TRIES {
            let change = match self.current_state(key).await {
                Ok(Some(change)) => change,
                Ok(None) => return,
                Err(e) => {
                    tracing::warn!(key, error = %obsync_model::ErrorChain(&e), "cannot read the state to write back over a losing config record");
                    return;
                }
            };
            match self.log.write(change).await {
                Ok(Outcome::Applied(_)) => return,
                // Another write came in between: it is the key's last record now, or
                // its own writer repairs it; try once more with the newer state.
                Ok(Outcome::Lost { .. }) => continue,
                Ok(Outcome::Failed(why)) => {
                    tracing::warn!(key, error = %why, "cannot write the winner's state back over a losing config record");
                    return;
                }
                Err(e) => {
                    tracing::warn!(key, error = %obsync_model::ErrorChain(&e), "cannot write the winner's state back over a losing config record");
                    return;
                }
            }
        }
    }

    /// The record that restates what this server holds for `key`; `None` when the key
    /// needs none.
    async fn current_state(&self, key: &str) -> Result<Option<Change>> {
        let parts: Vec<&str> = key.splitn(3, '/').collect();
        Ok(match parts.as_slice() {
            ["project", id] => Some(match self.local.get_project(id).await? {
                Some(p) => Change::ProjectState {
                    id: p.id.clone(),
                    revision: p.revision,
                    body: Box::new(ProjectV1::of(&p)),
                },
                None => Change::ProjectDeleted {
                    id: id.to_string(),
                    revision: None,
                },
            }),
            ["datasource", id] => Some(match self.local.get_datasource(id).await? {
                Some(ds) => Change::DataSourceState {
                    id: ds.id.clone(),
                    revision: ds.revision,
                    body: Box::new(DataSourceV1::of(&ds)),
                },
                None => Change::DataSourceDeleted {
                    id: id.to_string(),
                    revision: None,
                },
            }),
            ["user", name] => Some(match self.local.get_user(name).await? {
                Some(u) => Change::User {
                    body: UserV1::of(&u),
                },
                None => Change::UserDeleted {
                    username: name.to_string(),
                },
            }),
            ["user", name, "role"] => self.local.get_user(name).await?.map(|u| Change::UserRole {
                username: u.username,
                role: u.role,
            }),
            _ => None,
        })
    }
}

#[async_trait]
impl ProjectStore for ReplicatedStore {
    async fn put_project(&self, project: &ProjectRecord) -> Result<u64> {
        let change = Change::Project {
            id: project.id.clone(),
            revision: project.revision,
            body: Box::new(ProjectV1::of(project)),
        };
        self.revised("project", &project.id, project.revision, change)
            .await
    }
    async fn get_project(&self, id: &str) -> Result<Option<ProjectRecord>> {
        self.local.get_project(id).await
    }
    async fn list_projects(&self) -> Result<Vec<ProjectRecord>> {
        self.local.list_projects().await
    }
    async fn delete_project(&self, id: &str, revision: Option<u64>) -> Result<bool> {
        let change = Change::ProjectDeleted {
            id: id.to_string(),
            revision,
        };
        match self
            .revised("project", id, revision.unwrap_or(0), change)
            .await
        {
            Ok(n) => Ok(n == 1),
            Err(StoreError::Conflict { current: 0, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl DataSourceStore for ReplicatedStore {
    async fn put_datasource(&self, ds: &DataSourceRecord) -> Result<u64> {
        let change = Change::DataSource {
            id: ds.id.clone(),
            revision: ds.revision,
            body: Box::new(DataSourceV1::of(ds)),
        };
        self.revised("data source", &ds.id, ds.revision, change)
            .await
    }
    async fn get_datasource(&self, id: &str) -> Result<Option<DataSourceRecord>> {
        self.local.get_datasource(id).await
    }
    async fn list_datasources(&self) -> Result<Vec<DataSourceRecord>> {
        self.local.list_datasources().await
    }
    async fn delete_datasource(&self, id: &str, revision: Option<u64>) -> Result<bool> {
        let change = Change::DataSourceDeleted {
            id: id.to_string(),
            revision,
        };
        match self
            .revised("data source", id, revision.unwrap_or(0), change)
            .await
        {
            Ok(n) => Ok(n == 1),
            Err(StoreError::Conflict { current: 0, .. }) => Ok(false),
            Err(e) => Err(e),
        }
    }
}

#[async_trait]
impl TagStore for ReplicatedStore {
    async fn put_tag(&self, tag: &Tag) -> Result<()> {
        self.revised(
            "tag",
            &tag.id,
            0,
            Change::Tag {
                body: TagV1::of(tag),
            },
        )
        .await
        .map(|_| ())
    }
    async fn list_tags(&self) -> Result<Vec<Tag>> {
        self.local.list_tags().await
    }
    async fn delete_tag(&self, id: &str) -> Result<bool> {
        let change = Change::TagDeleted { id: id.to_string() };
        self.revised("tag", id, 0, change).await.map(|n| n == 1)
    }
}

#[async_trait]
impl UserStore for ReplicatedStore {
    async fn user_count(&self) -> Result<u64> {
        self.local.user_count().await
    }
    async fn create_user(&self, user: &NewUser<'_>) -> Result<bool> {
        let body = UserV1 {
            username: user.username.to_string(),
            password_hash: user.password_hash.to_string(),
            role: user.role,
            created_at: crate::model::now_rfc3339(),
        };
        self.user_write(Change::User { body }).await.map(|n| n == 1)
    }
    async fn get_user(&self, username: &str) -> Result<Option<UserRecord>> {
        self.local.get_user(username).await
    }
    async fn list_users(&self) -> Result<Vec<UserRecord>> {
        self.local.list_users().await
    }
    async fn set_user_role(&self, username: &str, role: Role) -> Result<UserChange> {
        let change = Change::UserRole {
            username: username.to_string(),
            role,
        };
        self.user_write(change).await.map(user_change_of)
    }
    async fn set_user_password(&self, username: &str, password_hash: &str) -> Result<bool> {
        let change = Change::UserPassword {
            username: username.to_string(),
            password_hash: password_hash.to_string(),
        };
        self.user_write(change).await.map(|n| n == 1)
    }
    async fn delete_user(&self, username: &str) -> Result<UserChange> {
        let change = Change::UserDeleted {
            username: username.to_string(),
        };
        self.user_write(change).await.map(user_change_of)
    }
    // Sessions go through the log too, so a load balancer may send a console's
    // requests to any server; see docs/cluster.md for why not signed cookies.
    async fn put_session(&self, token_hash: &str, username: &str, expires_unix: i64) -> Result<()> {
        let change = Change::Session {
            token_hash: token_hash.to_string(),
            username: username.to_string(),
            expires_unix,
        };
        self.user_write(change).await.map(|_| ())
    }
    async fn session_user(&self, token_hash: &str, now_unix: i64) -> Result<Option<String>> {
        self.local.session_user(token_hash, now_unix).await
    }
    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let change = Change::SessionDeleted {
            token_hash: token_hash.to_string(),
        };
        self.user_write(change).await.map(|_| ())
    }
    async fn delete_sessions_of(&self, username: &str, keep: Option<&str>) -> Result<()> {
        let change = Change::SessionsEnded {
            username: username.to_string(),
            keep: keep.map(str::to_string),
        };
        self.user_write(change).await.map(|_| ())
    }
}

#[async_trait]
impl TokenStore for ReplicatedStore {
    async fn put_token(&self, token: &TokenRecord) -> Result<()> {
        let change = Change::Token {
            body: TokenV1::of(token),
        };
        self.user_write(change).await.map(|_| ())
    }
    async fn list_tokens(&self, username: &str) -> Result<Vec<TokenRecord>> {
        self.local.list_tokens(username).await
    }
    async fn delete_token(&self, username: &str, id: &str) -> Result<bool> {
        let change = Change::TokenDeleted {
            username: username.to_string(),
            id: id.to_string(),
        };
        self.user_write(change).await.map(|n| n == 1)
    }
    /// The last use is recorded on this server only (a write per use through the log
    /// would cost a round trip to Kafka on every scripted call).
    async fn use_token(&self, token_hash: &str, now_unix: i64) -> Result<Option<TokenRecord>> {
        self.local.use_token(token_hash, now_unix).await
    }
}

#[async_trait]
impl EventStore for ReplicatedStore {
    async fn add_event(
        &self,
        project_id: &str,
        kind: EventKind,
        actor: &str,
        message: &str,
        coded: &obsync_model::Coded,
        chain: &[String],
    ) -> Result<()> {
        self.local
            .add_event(project_id, kind, actor, message, coded, chain)
            .await
    }
    async fn list_events(
        &self,
        project_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Event>, u64)> {
        self.local.list_events(project_id, offset, limit).await
    }
    async fn add_audit(&self, entry: &AuditEntry<'_>) -> Result<()> {
        self.local.add_audit(entry).await
    }
    async fn list_audit(&self, offset: u64, limit: u64) -> Result<(Vec<Event>, u64)> {
        self.local.list_audit(offset, limit).await
    }
}

#[async_trait]
impl MetricStore for ReplicatedStore {
    async fn add_metric(&self, project_id: &str, point: &MetricPoint) -> Result<()> {
        self.local.add_metric(project_id, point).await
    }
    async fn metrics_since(&self, project_id: &str, since_unix: i64) -> Result<Vec<MetricPoint>> {
        self.local.metrics_since(project_id, since_unix).await
    }
    async fn prune_metrics(&self, before_unix: i64) -> Result<()> {
        self.local.prune_metrics(before_unix).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn project(name: &str, revision: u64) -> ProjectRecord {
        let spec = serde_json::from_value(serde_json::json!({
            "name": name, "source_id": "ds_a", "target_id": "ds_b",
            "sync": {"types": ["full"]}, "objects": []
        }))
        .unwrap();
        ProjectRecord {
            id: "np_1".into(),
            spec,
            state: crate::lifecycle::INITIAL,
            stage: None,
            last_error: None,
            precheck: None,
            acked_messages: 0,
            stages: Vec::new(),
            created_by: "admin".into(),
            created_at: "2026-01-01T00:00:00Z".into(),
            updated_at: "2026-01-01T00:00:00Z".into(),
            revision,
        }
    }

    fn put(name: &str, revision: u64) -> Change {
        Change::Project {
            id: "np_1".into(),
            revision,
            body: Box::new(ProjectV1::of(&project(name, revision))),
        }
    }

    /// Every server applies the same records in the same order: the first write at a
    /// revision wins, a later one at that revision loses, and a record applied again
    /// (an offset file lost in a crash) loses against the revision it made.
    #[tokio::test]
    async fn the_first_write_at_a_revision_wins_and_a_replay_changes_nothing() {
        let dir = std::env::temp_dir().join(crate::model::new_id("obsync-config-log"));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(&dir).unwrap();
        assert!(matches!(
            apply(&store, put("a", 0)).await,
            Outcome::Applied(1)
        ));
        assert!(matches!(
            apply(&store, put("b", 1)).await,
            Outcome::Applied(2)
        ));
        assert!(matches!(
            apply(&store, put("c", 1)).await,
            Outcome::Lost { current: 2 }
        ));
        assert!(matches!(
            apply(&store, put("a", 0)).await,
            Outcome::Lost { current: 2 }
        ));
        let stored = store.get_project("np_1").await.unwrap().unwrap();
        assert_eq!((stored.spec.name.as_str(), stored.revision), ("b", 2));
        let _ = std::fs::remove_dir_all(&dir);
    }

    fn user(name: &str, role: Role) -> Change {
        Change::User {
            body: UserV1 {
                username: name.into(),
                password_hash: format!("hash-of-{name}"),
                role,
                created_at: "2026-01-01T00:00:00Z".into(),
            },
        }
    }

    /// Users, sessions and tokens apply in log order the same on every server: a taken
    /// name does nothing, the last admin stays, a session or token of a user that is
    /// gone is not installed, and a deleted user's sessions and tokens go with them.
    #[tokio::test]
    async fn user_records_apply_in_log_order_and_keep_the_invariants() {
        let dir = std::env::temp_dir().join(crate::model::new_id("obsync-config-users"));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(&dir).unwrap();
        let applied = |o: Outcome| match o {
            Outcome::Applied(n) => n,
            other => panic!("{other:?}"),
        };
        assert_eq!(applied(apply(&store, user("admin", Role::Admin)).await), 1);
        assert_eq!(applied(apply(&store, user("admin", Role::Viewer)).await), 0);
        assert_eq!(
            store.get_user("admin").await.unwrap().unwrap().role,
            Role::Admin
        );
        let demote = Change::UserRole {
            username: "admin".into(),
            role: Role::Viewer,
        };
        assert_eq!(
            user_change_of(applied(apply(&store, demote).await)),
            UserChange::LastAdmin
        );
        let session = |name: &str| Change::Session {
            token_hash: format!("s-{name}"),
            username: name.into(),
            expires_unix: i64::MAX,
        };
        assert_eq!(applied(apply(&store, session("ghost")).await), 1);
        assert_eq!(store.session_user("s-ghost", 0).await.unwrap(), None);
        apply(&store, user("alice", Role::Operator)).await;
        apply(&store, session("alice")).await;
        let token = TokenV1 {
            id: "tok_1".into(),
            name: "t".into(),
            username: "alice".into(),
            hash: "h1".into(),
            created_at: String::new(),
            role: Role::Operator,
            expires_unix: i64::MAX,
        };
        apply(&store, Change::Token { body: token }).await;
        assert!(store.use_token("h1", 0).await.unwrap().is_some());
        assert_eq!(
            store.session_user("s-alice", 0).await.unwrap().as_deref(),
            Some("alice")
        );
        let gone = Change::UserDeleted {
            username: "alice".into(),
        };
        assert_eq!(
            user_change_of(applied(apply(&store, gone).await)),
            UserChange::Done
        );
        assert_eq!(store.session_user("s-alice", 0).await.unwrap(), None);
        assert!(store.use_token("h1", 0).await.unwrap().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A repair installs the winner where the history was compacted away, is a no-op
    /// where the server holds it, and reports itself stale behind a newer write.
    #[tokio::test]
    async fn a_repair_installs_the_winner_and_never_goes_back() {
        let dir = std::env::temp_dir().join(crate::model::new_id("obsync-config-repair"));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(&dir).unwrap();
        let state = |name: &str, revision: u64| Change::ProjectState {
            id: "np_1".into(),
            revision,
            body: Box::new(ProjectV1::of(&project(name, revision))),
        };
        assert!(matches!(
            apply(&store, state("w", 3)).await,
            Outcome::Applied(3)
        ));
        assert!(matches!(
            apply(&store, state("w", 3)).await,
            Outcome::Applied(3)
        ));
        assert!(matches!(
            apply(&store, put("next", 3)).await,
            Outcome::Applied(4)
        ));
        assert!(matches!(
            apply(&store, state("w", 3)).await,
            Outcome::Lost { current: 4 }
        ));
        let stored = store.get_project("np_1").await.unwrap().unwrap();
        assert_eq!((stored.spec.name.as_str(), stored.revision), ("next", 4));
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A server starting empty after compaction reads a project's last record without
    /// its history: a write made to revision 3 is installed at 4; a write made to a
    /// project deleted here stays lost (it does not bring the project back).
    #[tokio::test]
    async fn a_write_after_compacted_history_installs_and_a_deleted_project_stays_deleted() {
        let dir = std::env::temp_dir().join(crate::model::new_id("obsync-config-compacted"));
        std::fs::create_dir_all(&dir).unwrap();
        let store = SqliteStore::open(&dir).unwrap();
        assert!(matches!(
            apply(&store, put("late", 3)).await,
            Outcome::Applied(4)
        ));
        let stored = store.get_project("np_1").await.unwrap().unwrap();
        assert_eq!((stored.spec.name.as_str(), stored.revision), ("late", 4));
        let gone = Change::ProjectDeleted {
            id: "np_1".into(),
            revision: Some(4),
        };
        assert!(matches!(apply(&store, gone).await, Outcome::Applied(1)));
        assert!(matches!(
            apply(&store, put("stale", 4)).await,
            Outcome::Lost { current: 0 }
        ));
        assert!(store.get_project("np_1").await.unwrap().is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
