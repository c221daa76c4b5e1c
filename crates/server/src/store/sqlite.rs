//! [`Store`] on SQLite (WAL, versioned migrations). Data sources, tags and projects are
//! JSON documents of the stored format ([`super::records_v1`]) keyed by id, with their
//! format and revision beside them; the few columns queried on their own (names,
//! session expiry, event order) are real columns.
//!
//! Each call runs on a blocking thread (`spawn_blocking`) with the one connection
//! locked: a statement usually takes well under a millisecond, but a WAL checkpoint's
//! fsync or another process's lock can take much longer, and no runtime thread may
//! wait on that. The lock makes each call, with the transaction inside it, atomic.

use std::path::Path;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use obsync_model::Coded;

use rusqlite::{params, Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::records_v1::{DataSourceV1, ProjectV1, TagV1, FORMAT};
use super::{
    AuditEntry, DataSourceStore, EventStore, MetricStore, NewUser, ProjectStore, Result,
    StoreError, TagStore, TokenStore, UserChange, UserRecord, UserStore,
};
use crate::model::{
    now_rfc3339, DataSourceRecord, Event, EventKind, MetricPoint, ProjectRecord, Tag, TokenRecord,
};
use crate::roles::Role;

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "obsync.db";

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(
            "CREATE TABLE users (username TEXT PRIMARY KEY, password_hash TEXT NOT NULL);
         CREATE TABLE sessions (token_hash TEXT PRIMARY KEY, username TEXT NOT NULL,
                                expires_unix INTEGER NOT NULL);
         CREATE TABLE tokens (id TEXT PRIMARY KEY, username TEXT NOT NULL,
                              hash TEXT NOT NULL UNIQUE, body TEXT NOT NULL);
         CREATE TABLE datasources (id TEXT PRIMARY KEY, body TEXT NOT NULL);
         CREATE TABLE tags (id TEXT PRIMARY KEY, body TEXT NOT NULL);
         CREATE TABLE projects (id TEXT PRIMARY KEY, body TEXT NOT NULL);
         CREATE TABLE events (id INTEGER PRIMARY KEY AUTOINCREMENT, project_id TEXT NOT NULL,
                              at TEXT NOT NULL, kind TEXT NOT NULL, actor TEXT NOT NULL,
                              message TEXT NOT NULL, chain TEXT NOT NULL);
         CREATE INDEX events_by_project ON events (project_id, id);
         CREATE TABLE metrics (project_id TEXT NOT NULL, t INTEGER NOT NULL, body TEXT NOT NULL);
         CREATE INDEX metrics_by_project ON metrics (project_id, t);
         CREATE INDEX metrics_by_time ON metrics (t);",
        ),
        // Roles, token expiry and last use, and the event log's subjects and client
        // addresses. The users and tokens of earlier versions were all the admin's:
        // they stay admin, and old tokens expire 90 days after their creation.
        M::up(
            "ALTER TABLE users ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
         ALTER TABLE users ADD COLUMN created_at TEXT NOT NULL DEFAULT '';
         ALTER TABLE tokens ADD COLUMN role TEXT NOT NULL DEFAULT 'admin';
         ALTER TABLE tokens ADD COLUMN expires_unix INTEGER NOT NULL DEFAULT 0;
         ALTER TABLE tokens ADD COLUMN last_used_unix INTEGER;
         UPDATE tokens SET expires_unix =
             CAST(strftime('%s', json_extract(body, '$.created_at')) AS INTEGER) + 7776000;
         ALTER TABLE events ADD COLUMN subject TEXT NOT NULL DEFAULT 'project';
         ALTER TABLE events ADD COLUMN client TEXT;
         CREATE INDEX events_by_kind ON events (kind, id);",
        ),
        // A revision per document for compare-and-swap writes, and the format of its
        // body (records_v1::FORMAT), so that a later release knows what it reads.
        M::up(
            "ALTER TABLE datasources ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
         ALTER TABLE datasources ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
         ALTER TABLE tags ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
         ALTER TABLE tags ADD COLUMN format INTEGER NOT NULL DEFAULT 1;
         ALTER TABLE projects ADD COLUMN revision INTEGER NOT NULL DEFAULT 1;
         ALTER TABLE projects ADD COLUMN format INTEGER NOT NULL DEFAULT 1;",
        ),
        // Each event's message as a code with its parameters (the console says it in
        // the user's language). Earlier rows have none and show their English.
        M::up(
            "ALTER TABLE events ADD COLUMN code TEXT;
         ALTER TABLE events ADD COLUMN params TEXT NOT NULL DEFAULT '{}';",
        ),
        // Cluster mode: the ids of projects and data sources deleted through the config
        // log, so a write made to one of them afterwards is told from one whose earlier
        // history Kafka compacted away (ids are never reused).
        M::up("CREATE TABLE deleted_ids (id TEXT PRIMARY KEY);"),
    ])
}

/// How long a token's last use may be stale, in seconds: one write a minute at most.
pub(super) const LAST_USED_RESOLUTION: i64 = 60;

fn role_of(text: String) -> Role {
    // Only this module writes the column, from `Role::as_str`.
    Role::parse(&text).unwrap_or(Role::Viewer)
}

type EventRow = (
    i64,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    Option<String>,
    String,
);

const EVENT_COLUMNS: &str =
    "id, at, kind, subject, project_id, actor, client, message, chain, code, params";

fn event_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<EventRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
        r.get(10)?,
    ))
}

fn event_of(row: EventRow) -> Result<Event> {
    let (id, at, kind, subject, subject_id, actor, client, message, chain, code, params) = row;
    Ok(Event {
        id,
        at,
        kind: serde_json::from_value(serde_json::Value::String(kind))?,
        subject,
        subject_id,
        actor,
        client,
        message,
        chain: serde_json::from_str(&chain)?,
        code,
        params: serde_json::from_str(&params)?,
    })
}

/// SQLite's integers are i64: a page far past the end is an empty page, not an error
/// (rusqlite refuses a u64 above i64::MAX).
fn clamp(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

const TOKEN_COLUMNS: &str = "id, json_extract(body, '$.name'), username, hash,
    json_extract(body, '$.created_at'), role, expires_unix, last_used_unix";

fn token_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<TokenRecord> {
    Ok(TokenRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        username: r.get(2)?,
        hash: r.get(3)?,
        created_at: r.get(4)?,
        role: role_of(r.get(5)?),
        expires_unix: r.get(6)?,
        last_used_unix: r.get(7)?,
    })
}

/// What an UPDATE or DELETE guarded by "an admin remains" did.
fn user_change(c: &Connection, username: &str, changed: usize) -> Result<UserChange> {
    if changed > 0 {
        return Ok(UserChange::Done);
    }
    let exists: bool = c.query_row(
        "SELECT EXISTS(SELECT 1 FROM users WHERE username = ?1)",
        params![username],
        |r| r.get(0),
    )?;
    Ok(if exists {
        UserChange::LastAdmin
    } else {
        UserChange::NoSuchUser
    })
}

/// Creates `path` empty with mode 0600 if absent, else sets its mode to 0600.
fn private_file(path: &Path) -> Result<()> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let failed = |source| super::StoreError::Permissions {
        path: path.to_path_buf(),
        source,
    };
    std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(path)
        .map_err(failed)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(failed)
}

/// The SQLite store in a data directory.
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating and migrating) `dir/obsync.db`.
    pub fn open(dir: &Path) -> Result<SqliteStore> {
        let path = dir.join(DB_FILE);
        // The database holds password hashes and sealed secrets: 0600, created so (SQLite
        // gives the -wal and -shm files the database file's mode) and tightened when an
        // earlier version left it readable.
        private_file(&path)?;
        let mut conn = Connection::open(&path)?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        for suffix in ["-wal", "-shm"] {
            let side = dir.join(format!("{DB_FILE}{suffix}"));
            if side.exists() {
                private_file(&side)?;
            }
        }
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        migrations().to_latest(&mut conn)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on the connection on a blocking thread: SQLite's calls block (disk
    /// writes, fsync at checkpoints, waits for a lock held by another process), and a
    /// runtime thread must not. One call's statements run under one lock, so what `f`
    /// does in a transaction is atomic; a caller that stops waiting does not cancel it.
    async fn with<R: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<R> + Send + 'static,
    ) -> Result<R> {
        let conn = Arc::clone(&self.conn);
        let call = tokio::task::spawn_blocking(move || {
            // A poisoned lock means a panic mid-call; SQLite rolled the statement back.
            let conn = conn.lock().unwrap_or_else(|p| p.into_inner());
            f(&conn)
        });
        match call.await {
            Ok(outcome) => outcome,
            // A panic in a store call stays a panic, as it was when calls ran inline.
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(_) => Err(StoreError::Stopped),
        }
    }

    /// Writes a document if `revision` is still the stored one (0: creates it).
    async fn put_doc<T: Serialize>(
        &self,
        table: Table,
        id: &str,
        revision: u64,
        doc: &T,
    ) -> Result<u64> {
        let body = serde_json::to_string(doc)?;
        let name = table.name;
        let id = id.to_owned();
        self.with(move |c| {
            let changed = if revision == 0 {
                c.execute(
                    &format!(
                        "INSERT OR IGNORE INTO {name} (id, body, revision, format) VALUES (?1, ?2, 1, ?3)"
                    ),
                    params![id, body, FORMAT],
                )?
            } else {
                c.execute(
                    &format!(
                        "UPDATE {name} SET body = ?2, format = ?3, revision = revision + 1
                         WHERE id = ?1 AND revision = ?4"
                    ),
                    params![id, body, FORMAT, clamp(revision)],
                )?
            };
            if changed == 0 {
                return Err(conflict(c, table, &id, revision)?);
            }
            Ok(revision + 1)
        })
        .await
    }

    async fn get_doc<T: DeserializeOwned>(
        &self,
        table: Table,
        id: &str,
    ) -> Result<Option<(T, u64)>> {
        let name = table.name;
        let key = id.to_owned();
        let row: Option<(String, u64, i64)> = self
            .with(move |c| {
                Ok(c.query_row(
                    &format!("SELECT body, revision, format FROM {name} WHERE id = ?1"),
                    params![key],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?)
            })
            .await?;
        row.map(|(body, revision, format)| read_doc(table, id, &body, revision, format))
            .transpose()
    }

    async fn list_docs<T: DeserializeOwned>(&self, table: Table) -> Result<Vec<(T, u64)>> {
        let name = table.name;
        let rows: Vec<(String, String, u64, i64)> = self
            .with(move |c| {
                let mut stmt = c.prepare(&format!(
                    "SELECT id, body, revision, format FROM {name} ORDER BY rowid"
                ))?;
                let rows =
                    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await?;
        rows.into_iter()
            .map(|(id, body, revision, format)| read_doc(table, &id, &body, revision, format))
            .collect()
    }
}

/// What cluster mode's config log needs beyond the store's contract: records as they
/// are on the other servers (a user with its creation time, a document at a revision).
impl SqliteStore {
    /// Creates `user` as given (its creation time too); `false` when the name is taken.
    pub async fn insert_user(&self, user: &UserRecord) -> Result<bool> {
        let user = user.clone();
        self.with(move |c| {
            Ok(c.execute(
                "INSERT OR IGNORE INTO users (username, password_hash, role, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    user.username,
                    user.password_hash,
                    user.role.as_str(),
                    user.created_at
                ],
            )? > 0)
        })
        .await
    }

    /// Remembers that project or data source `id` was deleted (cluster mode).
    pub async fn remember_deleted(&self, id: &str) -> Result<()> {
        let id = id.to_owned();
        self.with(move |c| {
            c.execute(
                "INSERT OR IGNORE INTO deleted_ids (id) VALUES (?1)",
                params![id],
            )?;
            Ok(())
        })
        .await
    }

    /// Whether `id` is neither stored in `table` nor known deleted: a write made to a
    /// revision of it comes after history this server never saw (compacted away).
    async fn never_seen(&self, table: Table, id: &str) -> Result<bool> {
        let name = table.name;
        let id = id.to_owned();
        self.with(move |c| {
            Ok(c.query_row(
                &format!(
                    "SELECT NOT EXISTS(SELECT 1 FROM {name} WHERE id = ?1)
                        AND NOT EXISTS(SELECT 1 FROM deleted_ids WHERE id = ?1)"
                ),
                params![id],
                |r| r.get(0),
            )?)
        })
        .await
    }

    /// [`SqliteStore::never_seen`] for a project.
    pub async fn project_never_seen(&self, id: &str) -> Result<bool> {
        self.never_seen(PROJECTS, id).await
    }

    /// [`SqliteStore::never_seen`] for a data source.
    pub async fn datasource_never_seen(&self, id: &str) -> Result<bool> {
        self.never_seen(DATASOURCES, id).await
    }

    /// Puts the project at exactly `revision` unless the stored one is at it or newer;
    /// returns the stored revision afterwards.
    pub async fn install_project(&self, project: &ProjectRecord) -> Result<u64> {
        let doc = ProjectV1::of(project);
        self.install_doc(PROJECTS, &project.id, project.revision, &doc)
            .await
    }

    /// [`SqliteStore::install_project`] for a data source.
    pub async fn install_datasource(&self, ds: &DataSourceRecord) -> Result<u64> {
        let doc = DataSourceV1::of(ds);
        self.install_doc(DATASOURCES, &ds.id, ds.revision, &doc)
            .await
    }

    async fn install_doc<T: Serialize>(
        &self,
        table: Table,
        id: &str,
        revision: u64,
        doc: &T,
    ) -> Result<u64> {
        let body = serde_json::to_string(doc)?;
        let name = table.name;
        let id = id.to_owned();
        self.with(move |c| {
            c.execute(
                &format!(
                    "INSERT INTO {name} (id, body, revision, format) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (id) DO UPDATE SET body = excluded.body,
                       revision = excluded.revision, format = excluded.format
                     WHERE revision < excluded.revision"
                ),
                params![id, body, clamp(revision), FORMAT],
            )?;
            Ok(c.query_row(
                &format!("SELECT revision FROM {name} WHERE id = ?1"),
                params![id],
                |r| r.get(0),
            )?)
        })
        .await
    }
}

/// A table of documents, and what its records are called in errors.
#[derive(Clone, Copy)]
struct Table {
    name: &'static str,
    what: &'static str,
}

const DATASOURCES: Table = Table {
    name: "datasources",
    what: "data source",
};
const TAGS: Table = Table {
    name: "tags",
    what: "tag",
};
const PROJECTS: Table = Table {
    name: "projects",
    what: "project",
};

fn read_doc<T: DeserializeOwned>(
    table: Table,
    id: &str,
    body: &str,
    revision: u64,
    format: i64,
) -> Result<(T, u64)> {
    if format > FORMAT {
        return Err(StoreError::NewerFormat {
            table: table.name,
            id: id.to_string(),
            format,
            known: FORMAT,
        });
    }
    Ok((serde_json::from_str(body)?, revision))
}

/// The conflict of a write or delete that expected `expected` and changed nothing.
fn conflict(c: &Connection, table: Table, id: &str, expected: u64) -> Result<StoreError> {
    let current: Option<u64> = c
        .query_row(
            &format!("SELECT revision FROM {} WHERE id = ?1", table.name),
            params![id],
            |r| r.get(0),
        )
        .optional()?;
    Ok(StoreError::Conflict {
        what: table.what,
        id: id.to_string(),
        expected,
        current: current.unwrap_or(0),
    })
}

/// Deletes a document if still at `revision` (any when `None`), inside `c`'s transaction.
fn delete_doc(c: &Connection, table: Table, id: &str, revision: Option<u64>) -> Result<bool> {
    let name = table.name;
    let deleted = c.execute(
        &format!("DELETE FROM {name} WHERE id = ?1 AND (?2 IS NULL OR revision = ?2)"),
        params![id, revision.map(clamp)],
    )?;
    if deleted == 0 {
        if let Some(expected) = revision {
            let err = conflict(c, table, id, expected)?;
            if matches!(err, StoreError::Conflict { current, .. } if current > 0) {
                return Err(err);
            }
        }
    }
    Ok(deleted > 0)
}

#[async_trait]
impl UserStore for SqliteStore {
    async fn user_count(&self) -> Result<u64> {
        self.with(move |c| Ok(c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?))
            .await
    }

    async fn create_user(&self, user: &NewUser<'_>) -> Result<bool> {
        let (username, password_hash, role) = (
            user.username.to_owned(),
            user.password_hash.to_owned(),
            user.role,
        );
        self.with(move |c| {
            Ok(c.execute(
                "INSERT OR IGNORE INTO users (username, password_hash, role, created_at)
                 VALUES (?1, ?2, ?3, ?4)",
                params![username, password_hash, role.as_str(), now_rfc3339()],
            )? > 0)
        })
        .await
    }

    async fn get_user(&self, username: &str) -> Result<Option<UserRecord>> {
        let username = username.to_owned();
        self.with(move |c| {
            Ok(c.query_row(
                "SELECT username, password_hash, role, created_at FROM users WHERE username = ?1",
                params![username],
                |r| {
                    Ok(UserRecord {
                        username: r.get(0)?,
                        password_hash: r.get(1)?,
                        role: role_of(r.get(2)?),
                        created_at: r.get(3)?,
                    })
                },
            )
            .optional()?)
        })
        .await
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>> {
        self.with(move |c| {
            let mut stmt = c.prepare(
                "SELECT username, password_hash, role, created_at FROM users ORDER BY username",
            )?;
            let rows = stmt.query_map([], |r| {
                Ok(UserRecord {
                    username: r.get(0)?,
                    password_hash: r.get(1)?,
                    role: role_of(r.get(2)?),
                    created_at: r.get(3)?,
                })
            })?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn set_user_role(&self, username: &str, role: Role) -> Result<UserChange> {
        let username = username.to_owned();
        self.with(move |c| {
            let changed = c.execute(
                "UPDATE users SET role = ?2 WHERE username = ?1 AND (?2 = 'admin' OR
                   (SELECT COUNT(*) FROM users WHERE role = 'admin' AND username <> ?1) > 0)",
                params![username, role.as_str()],
            )?;
            user_change(c, &username, changed)
        })
        .await
    }

    async fn set_user_password(&self, username: &str, password_hash: &str) -> Result<bool> {
        let username = username.to_owned();
        let password_hash = password_hash.to_owned();
        self.with(move |c| {
            Ok(c.execute(
                "UPDATE users SET password_hash = ?2 WHERE username = ?1",
                params![username, password_hash],
            )? > 0)
        })
        .await
    }

    async fn delete_user(&self, username: &str) -> Result<UserChange> {
        let username = username.to_owned();
        self.with(move |c| {
            let tx = c.unchecked_transaction()?;
            let deleted = tx.execute(
                "DELETE FROM users WHERE username = ?1 AND (role <> 'admin' OR
                   (SELECT COUNT(*) FROM users WHERE role = 'admin' AND username <> ?1) > 0)",
                params![username],
            )?;
            if deleted > 0 {
                tx.execute(
                    "DELETE FROM sessions WHERE username = ?1",
                    params![username],
                )?;
                tx.execute("DELETE FROM tokens WHERE username = ?1", params![username])?;
            }
            let outcome = user_change(&tx, &username, deleted)?;
            tx.commit()?;
            Ok(outcome)
        })
        .await
    }

    async fn put_session(&self, token_hash: &str, username: &str, expires_unix: i64) -> Result<()> {
        let token_hash = token_hash.to_owned();
        let username = username.to_owned();
        self.with(move |c| {
            c.execute(
                "DELETE FROM sessions WHERE expires_unix < ?1",
                params![chrono::Utc::now().timestamp()],
            )?;
            // Once: a config record applied again (cluster mode) changes nothing.
            c.execute(
                "INSERT OR IGNORE INTO sessions (token_hash, username, expires_unix)
                 VALUES (?1, ?2, ?3)",
                params![token_hash, username, expires_unix],
            )?;
            Ok(())
        })
        .await
    }

    async fn session_user(&self, token_hash: &str, now_unix: i64) -> Result<Option<String>> {
        let token_hash = token_hash.to_owned();
        self.with(move |c| {
            Ok(c.query_row(
                "SELECT username FROM sessions WHERE token_hash = ?1 AND expires_unix > ?2",
                params![token_hash, now_unix],
                |r| r.get(0),
            )
            .optional()?)
        })
        .await
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        let token_hash = token_hash.to_owned();
        self.with(move |c| {
            c.execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                params![token_hash],
            )?;
            Ok(())
        })
        .await
    }

    async fn delete_sessions_of(&self, username: &str, keep: Option<&str>) -> Result<()> {
        let username = username.to_owned();
        let keep = keep.map(str::to_owned);
        self.with(move |c| {
            c.execute(
                "DELETE FROM sessions WHERE username = ?1 AND token_hash IS NOT ?2",
                params![username, keep],
            )?;
            Ok(())
        })
        .await
    }
}

#[async_trait]
impl TokenStore for SqliteStore {
    async fn put_token(&self, token: &TokenRecord) -> Result<()> {
        // The body keeps the first version's shape (name, creation time).
        let body = serde_json::to_string(&serde_json::json!({
            "id": token.id, "name": token.name, "username": token.username,
            "hash": token.hash, "created_at": token.created_at,
        }))?;
        let token = token.clone();
        self.with(move |c| {
            // As sessions: once.
            c.execute(
                "INSERT OR IGNORE INTO tokens (id, username, hash, body, role, expires_unix)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    token.id,
                    token.username,
                    token.hash,
                    body,
                    token.role.as_str(),
                    token.expires_unix
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_tokens(&self, username: &str) -> Result<Vec<TokenRecord>> {
        let username = username.to_owned();
        self.with(move |c| {
            let mut stmt = c.prepare(&format!(
                "SELECT {TOKEN_COLUMNS} FROM tokens WHERE username = ?1 ORDER BY rowid"
            ))?;
            let rows = stmt.query_map(params![username], token_row)?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
    }

    async fn delete_token(&self, username: &str, id: &str) -> Result<bool> {
        let username = username.to_owned();
        let id = id.to_owned();
        self.with(move |c| {
            Ok(c.execute(
                "DELETE FROM tokens WHERE id = ?1 AND username = ?2",
                params![id, username],
            )? > 0)
        })
        .await
    }

    async fn use_token(&self, token_hash: &str, now_unix: i64) -> Result<Option<TokenRecord>> {
        let token_hash = token_hash.to_owned();
        self.with(move |c| {
            c.execute(
                "UPDATE tokens SET last_used_unix = ?2 WHERE hash = ?1 AND expires_unix > ?2
                   AND (last_used_unix IS NULL OR last_used_unix <= ?2 - ?3)",
                params![token_hash, now_unix, LAST_USED_RESOLUTION],
            )?;
            Ok(c.query_row(
                &format!(
                    "SELECT {TOKEN_COLUMNS} FROM tokens WHERE hash = ?1 AND expires_unix > ?2"
                ),
                params![token_hash, now_unix],
                token_row,
            )
            .optional()?)
        })
        .await
    }
}

#[async_trait]
impl DataSourceStore for SqliteStore {
    async fn put_datasource(&self, ds: &DataSourceRecord) -> Result<u64> {
        let doc = DataSourceV1::of(ds);
        self.put_doc(DATASOURCES, &ds.id, ds.revision, &doc).await
    }

    async fn get_datasource(&self, id: &str) -> Result<Option<DataSourceRecord>> {
        self.get_doc::<DataSourceV1>(DATASOURCES, id)
            .await?
            .map(|(doc, revision)| doc.into_record(revision))
            .transpose()
    }

    async fn list_datasources(&self) -> Result<Vec<DataSourceRecord>> {
        self.list_docs::<DataSourceV1>(DATASOURCES)
            .await?
            .into_iter()
            .map(|(doc, revision)| doc.into_record(revision))
            .collect()
    }

    async fn delete_datasource(&self, id: &str, revision: Option<u64>) -> Result<bool> {
        let id = id.to_owned();
        self.with(move |c| delete_doc(c, DATASOURCES, &id, revision))
            .await
    }
}

#[async_trait]
impl TagStore for SqliteStore {
    async fn put_tag(&self, tag: &Tag) -> Result<()> {
        // Tags are a name only: the last write wins, and still counts a revision.
        let body = serde_json::to_string(&TagV1::of(tag))?;
        let id = tag.id.clone();
        self.with(move |c| {
            c.execute(
                "INSERT INTO tags (id, body, revision, format) VALUES (?1, ?2, 1, ?3)
                 ON CONFLICT (id) DO UPDATE SET body = excluded.body, format = excluded.format,
                   revision = revision + 1",
                params![id, body, FORMAT],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_tags(&self) -> Result<Vec<Tag>> {
        Ok(self
            .list_docs::<TagV1>(TAGS)
            .await?
            .into_iter()
            .map(|(doc, _)| doc.into_tag())
            .collect())
    }

    async fn delete_tag(&self, id: &str) -> Result<bool> {
        let id = id.to_owned();
        self.with(move |c| delete_doc(c, TAGS, &id, None)).await
    }
}

#[async_trait]
impl ProjectStore for SqliteStore {
    async fn put_project(&self, project: &ProjectRecord) -> Result<u64> {
        let doc = ProjectV1::of(project);
        self.put_doc(PROJECTS, &project.id, project.revision, &doc)
            .await
    }

    async fn get_project(&self, id: &str) -> Result<Option<ProjectRecord>> {
        self.get_doc::<ProjectV1>(PROJECTS, id)
            .await?
            .map(|(doc, revision)| doc.into_record(revision))
            .transpose()
    }

    async fn list_projects(&self) -> Result<Vec<ProjectRecord>> {
        self.list_docs::<ProjectV1>(PROJECTS)
            .await?
            .into_iter()
            .map(|(doc, revision)| doc.into_record(revision))
            .collect()
    }

    async fn delete_project(&self, id: &str, revision: Option<u64>) -> Result<bool> {
        let id = id.to_owned();
        self.with(move |c| {
            let tx = c.unchecked_transaction()?;
            let deleted = delete_doc(&tx, PROJECTS, &id, revision)?;
            if deleted {
                tx.execute("DELETE FROM events WHERE project_id = ?1", params![id])?;
                tx.execute("DELETE FROM metrics WHERE project_id = ?1", params![id])?;
            }
            tx.commit()?;
            Ok(deleted)
        })
        .await
    }
}

#[async_trait]
impl EventStore for SqliteStore {
    async fn add_event(
        &self,
        project_id: &str,
        kind: EventKind,
        actor: &str,
        message: &str,
        coded: &Coded,
        chain: &[String],
    ) -> Result<()> {
        let kind = serde_json::to_value(kind)?;
        let chain = serde_json::to_string(chain)?;
        let params = serde_json::to_string(&coded.params)?;
        let (project_id, actor, message, code) = (
            project_id.to_owned(),
            actor.to_owned(),
            message.to_owned(),
            coded.code.clone(),
        );
        self.with(move |c| {
            c.execute(
                "INSERT INTO events (project_id, at, kind, actor, message, chain, code, params)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                params![
                    project_id,
                    now_rfc3339(),
                    kind.as_str().unwrap_or("state"),
                    actor,
                    message,
                    chain,
                    code,
                    params
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_events(
        &self,
        project_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Event>, u64)> {
        let project_id = project_id.to_owned();
        let (rows, total): (Vec<EventRow>, u64) = self
            .with(move |c| {
                let total = c.query_row(
                    "SELECT COUNT(*) FROM events WHERE subject = 'project' AND project_id = ?1",
                    params![project_id],
                    |r| r.get(0),
                )?;
                let mut stmt = c.prepare(&format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE subject = 'project' AND project_id = ?1
                 ORDER BY id DESC LIMIT ?2 OFFSET ?3"
            ))?;
                let rows =
                    stmt.query_map(params![project_id, clamp(limit), clamp(offset)], event_row)?;
                Ok((rows.collect::<Result<_, _>>()?, total))
            })
            .await?;
        let events = rows.into_iter().map(event_of).collect::<Result<_>>()?;
        Ok((events, total))
    }

    async fn add_audit(&self, entry: &AuditEntry<'_>) -> Result<()> {
        let kind = serde_json::to_value(entry.kind)?;
        let (subject_id, actor, message, subject) = (
            entry.subject_id.to_owned(),
            entry.actor.to_owned(),
            entry.message.to_owned(),
            entry.subject.to_owned(),
        );
        let client = entry.client.map(str::to_owned);
        let (code, params) = (
            entry.coded.code.clone(),
            serde_json::to_string(&entry.coded.params)?,
        );
        self.with(move |c| {
            c.execute(
                "INSERT INTO events (project_id, at, kind, actor, message, chain, subject, client,
                                     code, params)
                 VALUES (?1, ?2, ?3, ?4, ?5, '[]', ?6, ?7, ?8, ?9)",
                params![
                    subject_id,
                    now_rfc3339(),
                    kind.as_str().unwrap_or("audit"),
                    actor,
                    message,
                    subject,
                    client,
                    code,
                    params
                ],
            )?;
            Ok(())
        })
        .await
    }

    async fn list_audit(&self, offset: u64, limit: u64) -> Result<(Vec<Event>, u64)> {
        let (rows, total): (Vec<EventRow>, u64) = self
            .with(move |c| {
                let total = c.query_row(
                    "SELECT COUNT(*) FROM events WHERE kind IN ('audit', 'security')",
                    [],
                    |r| r.get(0),
                )?;
                let mut stmt = c.prepare(&format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE kind IN ('audit', 'security')
                 ORDER BY id DESC LIMIT ?1 OFFSET ?2"
                ))?;
                let rows = stmt.query_map(params![clamp(limit), clamp(offset)], event_row)?;
                Ok((rows.collect::<Result<_, _>>()?, total))
            })
            .await?;
        let events = rows.into_iter().map(event_of).collect::<Result<_>>()?;
        Ok((events, total))
    }
}

#[async_trait]
impl MetricStore for SqliteStore {
    async fn add_metric(&self, project_id: &str, point: &MetricPoint) -> Result<()> {
        let project_id = project_id.to_owned();
        let body = serde_json::to_string(point)?;
        let t = point.t;
        self.with(move |c| {
            c.execute(
                "INSERT INTO metrics (project_id, t, body) VALUES (?1, ?2, ?3)",
                params![project_id, t, body],
            )?;
            Ok(())
        })
        .await
    }

    async fn metrics_since(&self, project_id: &str, since_unix: i64) -> Result<Vec<MetricPoint>> {
        let project_id = project_id.to_owned();
        let bodies: Vec<String> = self
            .with(move |c| {
                let mut stmt = c.prepare(
                    "SELECT body FROM metrics WHERE project_id = ?1 AND t >= ?2 ORDER BY t",
                )?;
                let rows = stmt.query_map(params![project_id, since_unix], |r| r.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            })
            .await?;
        bodies
            .iter()
            .map(|b| Ok(serde_json::from_str(b)?))
            .collect()
    }

    async fn prune_metrics(&self, before_unix: i64) -> Result<()> {
        self.with(move |c| {
            c.execute("DELETE FROM metrics WHERE t < ?1", params![before_unix])?;
            Ok(())
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("obsync-store-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn the_last_admin_can_be_neither_demoted_nor_deleted() {
        let dir = scratch("admins");
        let store = SqliteStore::open(&dir).unwrap();
        for (name, role) in [("a", Role::Admin), ("v", Role::Viewer)] {
            let user = NewUser {
                username: name,
                password_hash: "h",
                role,
            };
            assert!(store.create_user(&user).await.unwrap());
            assert!(!store.create_user(&user).await.unwrap(), "a second {name}");
        }
        assert_eq!(
            store.set_user_role("a", Role::Operator).await.unwrap(),
            UserChange::LastAdmin
        );
        assert_eq!(store.delete_user("a").await.unwrap(), UserChange::LastAdmin);
        assert_eq!(
            store.set_user_role("x", Role::Admin).await.unwrap(),
            UserChange::NoSuchUser
        );
        assert_eq!(
            store.set_user_role("v", Role::Admin).await.unwrap(),
            UserChange::Done
        );
        assert_eq!(
            store.set_user_role("a", Role::Viewer).await.unwrap(),
            UserChange::Done
        );
        assert_eq!(store.delete_user("a").await.unwrap(), UserChange::Done);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn an_expired_token_is_refused_and_a_used_one_remembers_when() {
        let dir = scratch("tokens");
        let store = SqliteStore::open(&dir).unwrap();
        let token = |id: &str, expires_unix| TokenRecord {
            id: id.into(),
            name: "ci".into(),
            username: "a".into(),
            hash: format!("hash-{id}"),
            created_at: now_rfc3339(),
            role: Role::Viewer,
            expires_unix,
            last_used_unix: None,
        };
        store.put_token(&token("old", 1_000)).await.unwrap();
        store.put_token(&token("new", 3_000)).await.unwrap();
        assert_eq!(store.use_token("hash-old", 2_000).await.unwrap(), None);
        let used = store.use_token("hash-new", 2_000).await.unwrap().unwrap();
        assert_eq!(
            (used.role, used.last_used_unix),
            (Role::Viewer, Some(2_000))
        );
        // Within a minute the last use is not rewritten.
        store.use_token("hash-new", 2_030).await.unwrap();
        let listed = store.list_tokens("a").await.unwrap();
        assert_eq!(listed[1].last_used_unix, Some(2_000));
        assert_eq!(listed[1].name, "ci");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn an_event_written_before_codes_reads_back_with_its_text_and_no_code() {
        let dir = scratch("migrate-events");
        {
            let mut conn = Connection::open(dir.join(DB_FILE)).unwrap();
            migrations().to_version(&mut conn, 3).unwrap();
            conn.execute_batch(
                "INSERT INTO events (project_id, at, kind, actor, message, chain)
                 VALUES ('np_1', '2026-01-01T00:00:00Z', 'notice', 'system', 'old text', '[]');",
            )
            .unwrap();
        }
        let store = SqliteStore::open(&dir).unwrap();
        let (events, _) = store.list_events("np_1", 0, 10).await.unwrap();
        assert_eq!(events[0].message, "old text");
        assert_eq!(
            (events[0].code.as_deref(), events[0].params.len()),
            (None, 0)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_token_of_the_first_version_expires_90_days_after_its_creation() {
        let dir = scratch("migrate");
        {
            let mut conn = Connection::open(dir.join(DB_FILE)).unwrap();
            migrations().to_version(&mut conn, 1).unwrap();
            conn.execute_batch(
                r#"INSERT INTO users VALUES ('admin', 'h');
                   INSERT INTO tokens VALUES ('tok_1', 'admin', 'hash-1',
                     '{"id":"tok_1","name":"ci","username":"admin","hash":"hash-1","created_at":"2026-01-01T00:00:00Z"}');"#,
            )
            .unwrap();
        }
        let store = SqliteStore::open(&dir).unwrap();
        let token = &store.list_tokens("admin").await.unwrap()[0];
        let created = chrono::DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(token.expires_unix, created.timestamp() + 90 * 86_400);
        assert_eq!((token.role, token.name.as_str()), (Role::Admin, "ci"));
        assert_eq!(
            store.get_user("admin").await.unwrap().unwrap().role,
            Role::Admin
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn records_survive_reopening_the_database() {
        let dir = std::env::temp_dir().join(format!("obsync-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        {
            let store = SqliteStore::open(&dir).unwrap();
            store
                .put_tag(&Tag {
                    id: "tag_1".into(),
                    name: "orders".into(),
                })
                .await
                .unwrap();
            store
                .add_event(
                    "np_1",
                    EventKind::Audit,
                    "admin",
                    "created",
                    &Coded::default(),
                    &[],
                )
                .await
                .unwrap();
        }
        let store = SqliteStore::open(&dir).unwrap();
        assert_eq!(store.list_tags().await.unwrap()[0].name, "orders");
        let (events, total) = store.list_events("np_1", 0, 10).await.unwrap();
        assert_eq!((events[0].message.as_str(), total), ("created", 1));
        // A page beyond i64 (what a client may ask for) is empty, with the total.
        let (events, total) = store.list_events("np_1", u64::MAX, u64::MAX).await.unwrap();
        assert_eq!((events.len(), total), (0, 1));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tag(id: &str) -> Tag {
        Tag {
            id: id.into(),
            name: id.into(),
        }
    }

    #[tokio::test]
    async fn a_write_of_a_stale_revision_is_a_conflict_and_changes_nothing() {
        let dir = scratch("cas");
        let store = SqliteStore::open(&dir).unwrap();
        let ds = DataSourceRecord {
            id: "ds_1".into(),
            name: "one".into(),
            description: String::new(),
            connection: crate::model::Connection::MariaDb(crate::model::SourceRecord {
                host: "db".into(),
                port: 3306,
                user: "obsync".into(),
                password: None,
                tls: None,
            }),
            created_at: String::new(),
            updated_at: String::new(),
            revision: 0,
        };
        assert_eq!(store.put_datasource(&ds).await.unwrap(), 1);
        // A second create of the same id is a conflict, not a replacement.
        assert!(matches!(
            store.put_datasource(&ds).await,
            Err(StoreError::Conflict { current: 1, .. })
        ));
        let read = store.get_datasource("ds_1").await.unwrap().unwrap();
        let (mut a, mut b) = (read.clone(), read);
        a.name = "a".into();
        b.name = "b".into();
        assert_eq!(store.put_datasource(&a).await.unwrap(), 2);
        assert!(matches!(
            store.put_datasource(&b).await,
            Err(StoreError::Conflict {
                expected: 1,
                current: 2,
                ..
            })
        ));
        let now = store.get_datasource("ds_1").await.unwrap().unwrap();
        assert_eq!((now.name.as_str(), now.revision), ("a", 2));
        assert!(matches!(
            store.delete_datasource("ds_1", Some(1)).await,
            Err(StoreError::Conflict { .. })
        ));
        assert!(store.delete_datasource("ds_1", Some(2)).await.unwrap());
        assert!(!store.delete_datasource("ds_1", Some(2)).await.unwrap());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[tokio::test]
    async fn a_record_of_a_newer_format_is_refused_by_name() {
        let dir = scratch("format");
        let store = SqliteStore::open(&dir).unwrap();
        store.put_tag(&tag("tag_1")).await.unwrap();
        store
            .with(|c| Ok(c.execute("UPDATE tags SET format = 2", [])?))
            .await
            .unwrap();
        let err = store.list_tags().await.unwrap_err();
        assert!(
            matches!(&err, StoreError::NewerFormat { format: 2, .. }),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
