//! [`Store`](super::Store) in memory, for unit tests: it shows that the traits are
//! implementable without SQLite, and the contract tests below run on it and on
//! [`SqliteStore`](super::SqliteStore) alike, so both keep one behaviour (what a cluster
//! store must also do: ARCHITECTURE.md, "The server").

use std::collections::BTreeMap;
use std::sync::Mutex;

use async_trait::async_trait;
use obsync_model::Coded;

use super::{
    AuditEntry, DataSourceStore, EventStore, MetricStore, NewUser, ProjectStore, Result,
    StoreError, TagStore, TokenStore, UserChange, UserRecord, UserStore,
};
use crate::model::{
    now_rfc3339, DataSourceRecord, Event, EventKind, MetricPoint, ProjectRecord, Tag, TokenRecord,
};
use crate::roles::Role;

/// Documents by id in creation order, each with its revision.
type Docs<T> = Vec<(String, u64, T)>;

#[derive(Default)]
struct Records {
    users: BTreeMap<String, UserRecord>,
    /// Token hash → (user name, expiry).
    sessions: BTreeMap<String, (String, i64)>,
    tokens: Vec<TokenRecord>,
    datasources: Docs<DataSourceRecord>,
    tags: Vec<Tag>,
    projects: Docs<ProjectRecord>,
    events: Vec<Event>,
    metrics: Vec<(String, MetricPoint)>,
}

/// Every record in one lock: each call is atomic, as the contract asks.
#[derive(Default)]
pub struct MemoryStore {
    records: Mutex<Records>,
}

impl MemoryStore {
    fn with<R>(&self, f: impl FnOnce(&mut Records) -> R) -> R {
        f(&mut self.records.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

fn put<T: Clone>(
    docs: &mut Docs<T>,
    what: &'static str,
    id: &str,
    revision: u64,
    doc: &T,
) -> Result<u64> {
    let at = docs.iter().position(|(i, ..)| i == id);
    match at {
        None if revision == 0 => {
            docs.push((id.to_string(), 1, doc.clone()));
            Ok(1)
        }
        Some(i) if revision != 0 && docs[i].1 == revision => {
            docs[i] = (id.to_string(), revision + 1, doc.clone());
            Ok(revision + 1)
        }
        _ => Err(StoreError::Conflict {
            what,
            id: id.to_string(),
            expected: revision,
            current: at.map_or(0, |i| docs[i].1),
        }),
    }
}

fn delete<T>(
    docs: &mut Docs<T>,
    what: &'static str,
    id: &str,
    revision: Option<u64>,
) -> Result<bool> {
    let Some(i) = docs.iter().position(|(d, ..)| d == id) else {
        return Ok(false);
    };
    match revision {
        Some(expected) if expected != docs[i].1 => Err(StoreError::Conflict {
            what,
            id: id.to_string(),
            expected,
            current: docs[i].1,
        }),
        _ => {
            docs.remove(i);
            Ok(true)
        }
    }
}

/// Whether an admin other than `username` remains.
fn other_admin(users: &BTreeMap<String, UserRecord>, username: &str) -> bool {
    users
        .values()
        .any(|u| u.role == Role::Admin && u.username != username)
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn user_count(&self) -> Result<u64> {
        Ok(self.with(|r| r.users.len() as u64))
    }

    async fn create_user(&self, user: &NewUser<'_>) -> Result<bool> {
        Ok(self.with(|r| {
            if r.users.contains_key(user.username) {
                return false;
            }
            r.users.insert(
                user.username.to_string(),
                UserRecord {
                    username: user.username.to_string(),
                    password_hash: user.password_hash.to_string(),
                    role: user.role,
                    created_at: now_rfc3339(),
                },
            );
            true
        }))
    }

    async fn get_user(&self, username: &str) -> Result<Option<UserRecord>> {
        Ok(self.with(|r| r.users.get(username).cloned()))
    }

    async fn list_users(&self) -> Result<Vec<UserRecord>> {
        Ok(self.with(|r| r.users.values().cloned().collect()))
    }

    async fn set_user_role(&self, username: &str, role: Role) -> Result<UserChange> {
        Ok(self.with(|r| {
            if !r.users.contains_key(username) {
                UserChange::NoSuchUser
            } else if role != Role::Admin && !other_admin(&r.users, username) {
                UserChange::LastAdmin
            } else {
                r.users.get_mut(username).expect("checked above").role = role;
                UserChange::Done
            }
        }))
    }

    async fn set_user_password(&self, username: &str, password_hash: &str) -> Result<bool> {
        Ok(self.with(|r| match r.users.get_mut(username) {
            Some(u) => {
                u.password_hash = password_hash.to_string();
                true
            }
            None => false,
        }))
    }

    async fn delete_user(&self, username: &str) -> Result<UserChange> {
        Ok(self.with(|r| {
            let Some(user) = r.users.get(username) else {
                return UserChange::NoSuchUser;
            };
            if user.role == Role::Admin && !other_admin(&r.users, username) {
                return UserChange::LastAdmin;
            }
            r.users.remove(username);
            r.sessions.retain(|_, (u, _)| u != username);
            r.tokens.retain(|t| t.username != username);
            UserChange::Done
        }))
    }

    async fn put_session(&self, token_hash: &str, username: &str, expires_unix: i64) -> Result<()> {
        let now = chrono::Utc::now().timestamp();
        self.with(|r| {
            r.sessions.retain(|_, (_, expires)| *expires >= now);
            r.sessions
                .insert(token_hash.to_string(), (username.to_string(), expires_unix));
        });
        Ok(())
    }

    async fn session_user(&self, token_hash: &str, now_unix: i64) -> Result<Option<String>> {
        Ok(self.with(|r| {
            r.sessions
                .get(token_hash)
                .filter(|(_, expires)| *expires > now_unix)
                .map(|(u, _)| u.clone())
        }))
    }

    async fn delete_session(&self, token_hash: &str) -> Result<()> {
        self.with(|r| r.sessions.remove(token_hash));
        Ok(())
    }

    async fn delete_sessions_of(&self, username: &str, keep: Option<&str>) -> Result<()> {
        self.with(|r| {
            r.sessions
                .retain(|hash, (u, _)| u != username || Some(hash.as_str()) == keep)
        });
        Ok(())
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn put_token(&self, token: &TokenRecord) -> Result<()> {
        self.with(|r| r.tokens.push(token.clone()));
        Ok(())
    }

    async fn list_tokens(&self, username: &str) -> Result<Vec<TokenRecord>> {
        Ok(self.with(|r| {
            r.tokens
                .iter()
                .filter(|t| t.username == username)
                .cloned()
                .collect()
        }))
    }

    async fn delete_token(&self, username: &str, id: &str) -> Result<bool> {
        Ok(self.with(|r| {
            let before = r.tokens.len();
            r.tokens.retain(|t| !(t.id == id && t.username == username));
            r.tokens.len() < before
        }))
    }

    async fn use_token(&self, token_hash: &str, now_unix: i64) -> Result<Option<TokenRecord>> {
        Ok(self.with(|r| {
            let token = r
                .tokens
                .iter_mut()
                .find(|t| t.hash == token_hash && t.expires_unix > now_unix)?;
            if token
                .last_used_unix
                .is_none_or(|last| last <= now_unix - super::sqlite::LAST_USED_RESOLUTION)
            {
                token.last_used_unix = Some(now_unix);
            }
            Some(token.clone())
        }))
    }
}

#[async_trait]
impl DataSourceStore for MemoryStore {
    async fn put_datasource(&self, ds: &DataSourceRecord) -> Result<u64> {
        self.with(|r| put(&mut r.datasources, "data source", &ds.id, ds.revision, ds))
    }

    async fn get_datasource(&self, id: &str) -> Result<Option<DataSourceRecord>> {
        Ok(self.with(|r| {
            r.datasources
                .iter()
                .find(|(i, ..)| i == id)
                .map(|(_, revision, ds)| DataSourceRecord {
                    revision: *revision,
                    ..ds.clone()
                })
        }))
    }

    async fn list_datasources(&self) -> Result<Vec<DataSourceRecord>> {
        Ok(self.with(|r| {
            r.datasources
                .iter()
                .map(|(_, revision, ds)| DataSourceRecord {
                    revision: *revision,
                    ..ds.clone()
                })
                .collect()
        }))
    }

    async fn delete_datasource(&self, id: &str, revision: Option<u64>) -> Result<bool> {
        self.with(|r| delete(&mut r.datasources, "data source", id, revision))
    }
}

#[async_trait]
impl TagStore for MemoryStore {
    async fn put_tag(&self, tag: &Tag) -> Result<()> {
        self.with(|r| match r.tags.iter_mut().find(|t| t.id == tag.id) {
            Some(t) => *t = tag.clone(),
            None => r.tags.push(tag.clone()),
        });
        Ok(())
    }

    async fn list_tags(&self) -> Result<Vec<Tag>> {
        Ok(self.with(|r| r.tags.clone()))
    }

    async fn delete_tag(&self, id: &str) -> Result<bool> {
        Ok(self.with(|r| {
            let before = r.tags.len();
            r.tags.retain(|t| t.id != id);
            r.tags.len() < before
        }))
    }
}

#[async_trait]
impl ProjectStore for MemoryStore {
    async fn put_project(&self, project: &ProjectRecord) -> Result<u64> {
        self.with(|r| {
            put(
                &mut r.projects,
                "project",
                &project.id,
                project.revision,
                project,
            )
        })
    }

    async fn get_project(&self, id: &str) -> Result<Option<ProjectRecord>> {
        Ok(self.with(|r| {
            r.projects
                .iter()
                .find(|(i, ..)| i == id)
                .map(|(_, revision, p)| ProjectRecord {
                    revision: *revision,
                    ..p.clone()
                })
        }))
    }

    async fn list_projects(&self) -> Result<Vec<ProjectRecord>> {
        Ok(self.with(|r| {
            r.projects
                .iter()
                .map(|(_, revision, p)| ProjectRecord {
                    revision: *revision,
                    ..p.clone()
                })
                .collect()
        }))
    }

    async fn delete_project(&self, id: &str, revision: Option<u64>) -> Result<bool> {
        self.with(|r| {
            let deleted = delete(&mut r.projects, "project", id, revision)?;
            if deleted {
                r.events.retain(|e| e.subject_id != id);
                r.metrics.retain(|(p, _)| p != id);
            }
            Ok(deleted)
        })
    }
}

impl Records {
    fn push_event(&mut self, mut event: Event) {
        event.id = self.events.last().map_or(1, |e| e.id + 1);
        self.events.push(event);
    }

    /// Newest first, with the total.
    fn page(&self, keep: impl Fn(&Event) -> bool, offset: u64, limit: u64) -> (Vec<Event>, u64) {
        let all: Vec<&Event> = self.events.iter().rev().filter(|e| keep(e)).collect();
        let total = all.len() as u64;
        let page = all
            .into_iter()
            .skip(usize::try_from(offset).unwrap_or(usize::MAX))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .cloned()
            .collect();
        (page, total)
    }
}

#[async_trait]
impl EventStore for MemoryStore {
    async fn add_event(
        &self,
        project_id: &str,
        kind: EventKind,
        actor: &str,
        message: &str,
        coded: &Coded,
        chain: &[String],
    ) -> Result<()> {
        let event = Event {
            id: 0,
            at: now_rfc3339(),
            kind,
            subject: "project".into(),
            subject_id: project_id.into(),
            actor: actor.into(),
            client: None,
            message: message.into(),
            chain: chain.to_vec(),
            code: Some(coded.code.clone()),
            params: coded.params.clone(),
        };
        self.with(|r| r.push_event(event));
        Ok(())
    }

    async fn list_events(
        &self,
        project_id: &str,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<Event>, u64)> {
        Ok(self.with(|r| {
            r.page(
                |e| e.subject == "project" && e.subject_id == project_id,
                offset,
                limit,
            )
        }))
    }

    async fn add_audit(&self, entry: &AuditEntry<'_>) -> Result<()> {
        let event = Event {
            id: 0,
            at: now_rfc3339(),
            kind: entry.kind,
            subject: entry.subject.into(),
            subject_id: entry.subject_id.into(),
            actor: entry.actor.into(),
            client: entry.client.map(str::to_string),
            message: entry.message.into(),
            chain: Vec::new(),
            code: Some(entry.coded.code.clone()),
            params: entry.coded.params.clone(),
        };
        self.with(|r| r.push_event(event));
        Ok(())
    }

    async fn list_audit(&self, offset: u64, limit: u64) -> Result<(Vec<Event>, u64)> {
        Ok(self.with(|r| {
            r.page(
                |e| matches!(e.kind, EventKind::Audit | EventKind::Security),
                offset,
                limit,
            )
        }))
    }
}

#[async_trait]
impl MetricStore for MemoryStore {
    async fn add_metric(&self, project_id: &str, point: &MetricPoint) -> Result<()> {
        self.with(|r| r.metrics.push((project_id.to_string(), *point)));
        Ok(())
    }

    async fn metrics_since(&self, project_id: &str, since_unix: i64) -> Result<Vec<MetricPoint>> {
        Ok(self.with(|r| {
            let mut points: Vec<MetricPoint> = r
                .metrics
                .iter()
                .filter(|(p, m)| p == project_id && m.t >= since_unix)
                .map(|(_, m)| *m)
                .collect();
            points.sort_by_key(|m| m.t);
            points
        }))
    }

    async fn prune_metrics(&self, before_unix: i64) -> Result<()> {
        self.with(|r| r.metrics.retain(|(_, m)| m.t >= before_unix));
        Ok(())
    }
}

/// The contract every store keeps, run on both implementations.
mod contract {
    use super::*;
    use crate::model::{Connection, SourceRecord};
    use crate::store::{SqliteStore, Store};

    fn datasource() -> DataSourceRecord {
        DataSourceRecord {
            id: "ds_1".into(),
            name: "one".into(),
            description: String::new(),
            connection: Connection::MySql(SourceRecord {
                host: "db".into(),
                port: 3306,
                user: "obsync".into(),
                password: None,
                tls: None,
            }),
            created_at: String::new(),
            updated_at: String::new(),
            revision: 0,
        }
    }

    async fn revisions(store: &dyn Store) {
        let ds = datasource();
        assert_eq!(store.put_datasource(&ds).await.unwrap(), 1);
        assert!(matches!(
            store.put_datasource(&ds).await,
            Err(StoreError::Conflict {
                expected: 0,
                current: 1,
                ..
            })
        ));
        let read = store.get_datasource("ds_1").await.unwrap().unwrap();
        assert_eq!((read.revision, read.connection.clone()), (1, ds.connection));
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
        let listed = store.list_datasources().await.unwrap();
        assert_eq!((listed[0].name.as_str(), listed[0].revision), ("a", 2));
        assert!(matches!(
            store.delete_datasource("ds_1", Some(1)).await,
            Err(StoreError::Conflict { current: 2, .. })
        ));
        assert!(store.delete_datasource("ds_1", Some(2)).await.unwrap());
        assert!(!store.delete_datasource("ds_1", Some(2)).await.unwrap());
    }

    async fn admins(store: &dyn Store) {
        for (name, role) in [("a", Role::Admin), ("v", Role::Viewer)] {
            let user = NewUser {
                username: name,
                password_hash: "h",
                role,
            };
            assert!(store.create_user(&user).await.unwrap());
            assert!(!store.create_user(&user).await.unwrap());
        }
        store.put_session("s1", "v", i64::MAX).await.unwrap();
        let change = |name: &'static str, role| async move {
            store.set_user_role(name, role).await.unwrap()
        };
        assert_eq!(change("a", Role::Operator).await, UserChange::LastAdmin);
        assert_eq!(store.delete_user("a").await.unwrap(), UserChange::LastAdmin);
        assert_eq!(change("x", Role::Admin).await, UserChange::NoSuchUser);
        assert_eq!(change("v", Role::Admin).await, UserChange::Done);
        assert_eq!(change("a", Role::Viewer).await, UserChange::Done);
        assert_eq!(store.delete_user("a").await.unwrap(), UserChange::Done);
        assert_eq!(store.delete_user("v").await.unwrap(), UserChange::LastAdmin);
        assert_eq!(store.session_user("s1", 0).await.unwrap(), Some("v".into()));
        assert_eq!(store.user_count().await.unwrap(), 1);
    }

    async fn events(store: &dyn Store) {
        for message in ["one", "two", "three"] {
            let coded = Coded {
                code: format!("event.test.{message}"),
                params: [("n".to_string(), message.to_string())].into(),
            };
            store
                .add_event("np_1", EventKind::Notice, "system", message, &coded, &[])
                .await
                .unwrap();
        }
        store
            .add_audit(&AuditEntry {
                subject: "user",
                subject_id: "a",
                kind: EventKind::Audit,
                actor: "a",
                client: None,
                message: "created",
                coded: &Coded {
                    code: "event.test.created".into(),
                    params: Default::default(),
                },
            })
            .await
            .unwrap();
        let (page, total) = store.list_events("np_1", 1, 1).await.unwrap();
        assert_eq!((page[0].message.as_str(), total), ("two", 3));
        // The code and params stored with the event come back with it.
        assert_eq!(page[0].code.as_deref(), Some("event.test.two"));
        assert_eq!(page[0].params["n"], "two");
        let (audit, total) = store.list_audit(0, 10).await.unwrap();
        assert_eq!((audit[0].message.as_str(), total), ("created", 1));
        assert_eq!(audit[0].code.as_deref(), Some("event.test.created"));
        let (_, total) = store.list_events("np_1", u64::MAX, u64::MAX).await.unwrap();
        assert_eq!(total, 3);
    }

    async fn contract(store: &dyn Store) {
        revisions(store).await;
        admins(store).await;
        events(store).await;
    }

    #[tokio::test]
    async fn the_memory_store_keeps_the_contract() {
        contract(&MemoryStore::default()).await;
    }

    #[tokio::test]
    async fn the_sqlite_store_keeps_the_contract() {
        let dir = std::env::temp_dir().join(format!("obsync-contract-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        contract(&SqliteStore::open(&dir).unwrap()).await;
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
