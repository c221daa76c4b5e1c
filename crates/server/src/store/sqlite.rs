//! [`Store`] on SQLite (WAL, versioned migrations). Records are JSON documents keyed by
//! id; the few columns queried on their own (names, session expiry, event order) are
//! real columns.
//!
//! Calls are synchronous on one connection behind a mutex: every statement touches a
//! few rows of a local file in WAL mode and takes well under a millisecond, far less
//! than handing it to a blocking thread would cost.

use std::path::Path;
use std::sync::Mutex;

use rusqlite::{params, Connection, OptionalExtension};
use rusqlite_migration::{Migrations, M};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Result, Store};
use crate::model::{
    now_rfc3339, DataSourceRecord, Event, EventKind, MetricPoint, ProjectRecord, Tag, TokenRecord,
};

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "obsync.db";

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![M::up(
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
    )])
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
    conn: Mutex<Connection>,
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
            conn: Mutex::new(conn),
        })
    }

    fn with<R>(&self, f: impl FnOnce(&Connection) -> Result<R>) -> Result<R> {
        // A poisoned lock means a panic mid-call; SQLite rolled the statement back.
        let conn = self.conn.lock().unwrap_or_else(|p| p.into_inner());
        f(&conn)
    }

    fn put_doc<T: Serialize>(&self, table: &str, id: &str, doc: &T) -> Result<()> {
        let body = serde_json::to_string(doc)?;
        self.with(|c| {
            c.execute(
                &format!("INSERT OR REPLACE INTO {table} (id, body) VALUES (?1, ?2)"),
                params![id, body],
            )?;
            Ok(())
        })
    }

    fn get_doc<T: DeserializeOwned>(&self, table: &str, id: &str) -> Result<Option<T>> {
        let body: Option<String> = self.with(|c| {
            Ok(c.query_row(
                &format!("SELECT body FROM {table} WHERE id = ?1"),
                params![id],
                |r| r.get(0),
            )
            .optional()?)
        })?;
        Ok(body.map(|b| serde_json::from_str(&b)).transpose()?)
    }

    fn list_docs<T: DeserializeOwned>(&self, table: &str) -> Result<Vec<T>> {
        let bodies: Vec<String> = self.with(|c| {
            let mut stmt = c.prepare(&format!("SELECT body FROM {table} ORDER BY rowid"))?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        bodies
            .iter()
            .map(|b| Ok(serde_json::from_str(b)?))
            .collect()
    }

    fn delete_doc(&self, table: &str, id: &str) -> Result<bool> {
        self.with(|c| {
            Ok(c.execute(&format!("DELETE FROM {table} WHERE id = ?1"), params![id])? > 0)
        })
    }
}

impl Store for SqliteStore {
    fn user_count(&self) -> Result<u64> {
        self.with(|c| Ok(c.query_row("SELECT COUNT(*) FROM users", [], |r| r.get(0))?))
    }

    fn put_user(&self, username: &str, password_hash: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "INSERT OR REPLACE INTO users (username, password_hash) VALUES (?1, ?2)",
                params![username, password_hash],
            )?;
            Ok(())
        })
    }

    fn user_password_hash(&self, username: &str) -> Result<Option<String>> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT password_hash FROM users WHERE username = ?1",
                params![username],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    fn put_session(&self, token_hash: &str, username: &str, expires_unix: i64) -> Result<()> {
        self.with(|c| {
            c.execute(
                "DELETE FROM sessions WHERE expires_unix < ?1",
                params![chrono::Utc::now().timestamp()],
            )?;
            c.execute(
                "INSERT INTO sessions (token_hash, username, expires_unix) VALUES (?1, ?2, ?3)",
                params![token_hash, username, expires_unix],
            )?;
            Ok(())
        })
    }

    fn session_user(&self, token_hash: &str, now_unix: i64) -> Result<Option<String>> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT username FROM sessions WHERE token_hash = ?1 AND expires_unix > ?2",
                params![token_hash, now_unix],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.with(|c| {
            c.execute(
                "DELETE FROM sessions WHERE token_hash = ?1",
                params![token_hash],
            )?;
            Ok(())
        })
    }

    fn put_token(&self, token: &TokenRecord) -> Result<()> {
        let body = serde_json::to_string(token)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO tokens (id, username, hash, body) VALUES (?1, ?2, ?3, ?4)",
                params![token.id, token.username, token.hash, body],
            )?;
            Ok(())
        })
    }

    fn list_tokens(&self, username: &str) -> Result<Vec<TokenRecord>> {
        let bodies: Vec<String> = self.with(|c| {
            let mut stmt =
                c.prepare("SELECT body FROM tokens WHERE username = ?1 ORDER BY rowid")?;
            let rows = stmt.query_map(params![username], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        bodies
            .iter()
            .map(|b| Ok(serde_json::from_str(b)?))
            .collect()
    }

    fn delete_token(&self, username: &str, id: &str) -> Result<bool> {
        self.with(|c| {
            Ok(c.execute(
                "DELETE FROM tokens WHERE id = ?1 AND username = ?2",
                params![id, username],
            )? > 0)
        })
    }

    fn token_user(&self, token_hash: &str) -> Result<Option<String>> {
        self.with(|c| {
            Ok(c.query_row(
                "SELECT username FROM tokens WHERE hash = ?1",
                params![token_hash],
                |r| r.get(0),
            )
            .optional()?)
        })
    }

    fn put_datasource(&self, ds: &DataSourceRecord) -> Result<()> {
        self.put_doc("datasources", &ds.id, ds)
    }

    fn get_datasource(&self, id: &str) -> Result<Option<DataSourceRecord>> {
        self.get_doc("datasources", id)
    }

    fn list_datasources(&self) -> Result<Vec<DataSourceRecord>> {
        self.list_docs("datasources")
    }

    fn delete_datasource(&self, id: &str) -> Result<bool> {
        self.delete_doc("datasources", id)
    }

    fn put_tag(&self, tag: &Tag) -> Result<()> {
        self.put_doc("tags", &tag.id, tag)
    }

    fn list_tags(&self) -> Result<Vec<Tag>> {
        self.list_docs("tags")
    }

    fn delete_tag(&self, id: &str) -> Result<bool> {
        self.delete_doc("tags", id)
    }

    fn put_project(&self, project: &ProjectRecord) -> Result<()> {
        self.put_doc("projects", &project.id, project)
    }

    fn get_project(&self, id: &str) -> Result<Option<ProjectRecord>> {
        self.get_doc("projects", id)
    }

    fn list_projects(&self) -> Result<Vec<ProjectRecord>> {
        self.list_docs("projects")
    }

    fn delete_project(&self, id: &str) -> Result<bool> {
        self.with(|c| {
            c.execute("DELETE FROM events WHERE project_id = ?1", params![id])?;
            c.execute("DELETE FROM metrics WHERE project_id = ?1", params![id])?;
            Ok(())
        })?;
        self.delete_doc("projects", id)
    }

    fn add_event(
        &self,
        project_id: &str,
        kind: EventKind,
        actor: &str,
        message: &str,
        chain: &[String],
    ) -> Result<()> {
        let kind = serde_json::to_value(kind)?;
        let chain = serde_json::to_string(chain)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO events (project_id, at, kind, actor, message, chain)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    project_id,
                    now_rfc3339(),
                    kind.as_str().unwrap_or("state"),
                    actor,
                    message,
                    chain
                ],
            )?;
            Ok(())
        })
    }

    fn list_events(&self, project_id: &str, offset: u64, limit: u64) -> Result<(Vec<Event>, u64)> {
        type Row = (i64, String, String, String, String, String);
        let (rows, total): (Vec<Row>, u64) = self.with(|c| {
            let total = c.query_row(
                "SELECT COUNT(*) FROM events WHERE project_id = ?1",
                params![project_id],
                |r| r.get(0),
            )?;
            let mut stmt = c.prepare(
                "SELECT id, at, kind, actor, message, chain FROM events
                 WHERE project_id = ?1 ORDER BY id DESC LIMIT ?2 OFFSET ?3",
            )?;
            // SQLite's integers are i64: a page far past the end is an empty page, not an
            // error (rusqlite refuses a u64 above i64::MAX).
            let clamp = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
            let rows = stmt.query_map(params![project_id, clamp(limit), clamp(offset)], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get(2)?,
                    r.get(3)?,
                    r.get(4)?,
                    r.get(5)?,
                ))
            })?;
            Ok((rows.collect::<Result<_, _>>()?, total))
        })?;
        let events = rows
            .into_iter()
            .map(|(id, at, kind, actor, message, chain)| {
                Ok(Event {
                    id,
                    at,
                    kind: serde_json::from_value(serde_json::Value::String(kind))?,
                    actor,
                    message,
                    chain: serde_json::from_str(&chain)?,
                })
            })
            .collect::<Result<_>>()?;
        Ok((events, total))
    }

    fn add_metric(&self, project_id: &str, point: &MetricPoint) -> Result<()> {
        let body = serde_json::to_string(point)?;
        self.with(|c| {
            c.execute(
                "INSERT INTO metrics (project_id, t, body) VALUES (?1, ?2, ?3)",
                params![project_id, point.t, body],
            )?;
            Ok(())
        })
    }

    fn metrics_since(&self, project_id: &str, since_unix: i64) -> Result<Vec<MetricPoint>> {
        let bodies: Vec<String> = self.with(|c| {
            let mut stmt =
                c.prepare("SELECT body FROM metrics WHERE project_id = ?1 AND t >= ?2 ORDER BY t")?;
            let rows = stmt.query_map(params![project_id, since_unix], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })?;
        bodies
            .iter()
            .map(|b| Ok(serde_json::from_str(b)?))
            .collect()
    }

    fn prune_metrics(&self, before_unix: i64) -> Result<()> {
        self.with(|c| {
            c.execute("DELETE FROM metrics WHERE t < ?1", params![before_unix])?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_valid() {
        migrations().validate().unwrap();
    }

    #[test]
    fn records_survive_reopening_the_database() {
        let dir = std::env::temp_dir().join(format!("obsync-store-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        {
            let store = SqliteStore::open(&dir).unwrap();
            store
                .put_tag(&Tag {
                    id: "tag_1".into(),
                    name: "orders".into(),
                })
                .unwrap();
            store
                .add_event("np_1", EventKind::Audit, "admin", "created", &[])
                .unwrap();
        }
        let store = SqliteStore::open(&dir).unwrap();
        assert_eq!(store.list_tags().unwrap()[0].name, "orders");
        let (events, total) = store.list_events("np_1", 0, 10).unwrap();
        assert_eq!((events[0].message.as_str(), total), ("created", 1));
        // A page beyond i64 (what a client may ask for) is empty, with the total.
        let (events, total) = store.list_events("np_1", u64::MAX, u64::MAX).unwrap();
        assert_eq!((events.len(), total), (0, 1));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
