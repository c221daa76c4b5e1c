//! Online object changes: a project's new list of object rules compared with the one in
//! force (tables added, removed, re-routed), judged by a precheck of the changed part
//! only, and applied: saved, and for a running project taken up by a quick restart of
//! its run at a transaction boundary (the engine finds the tables new to its checkpoint
//! and backfills or follows them, `obsync_pipeline::stages::backfill`). Re-sync of one
//! table is the same backfill for a table the project has.
//!
//! The tables are resolved against the source (patterns match what exists now), so this
//! opens the source's secrets, as a precheck does.

use std::collections::BTreeMap;

use obsync_kafka::{AdminError, KafkaAdmin};
use obsync_model::{CheckItem, KeySource, TableId};
use obsync_pipeline::plan::{self, ProjectPlan};
use obsync_pipeline::Settings;
use obsync_source::metadata::MetadataReader;

use crate::auth::Actor;
use crate::cluster::forward::Forwarded;
use crate::error::{Error, Result};
use crate::lifecycle::ProjectState;
use crate::model::{ObjectSpec, ProjectRecord, ProjectSpec};
use crate::service;
use crate::state::AppState;

/// The change asked for: the whole new list of object rules, and the tables (names or
/// patterns) that are backfilled if they join.
#[derive(Debug, Clone)]
pub struct ObjectsInput {
    pub objects: Vec<ObjectSpec>,
    pub backfill: Vec<String>,
}

/// Where a table's messages go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableRoute {
    pub topic: String,
    /// `None`: the table's key.
    pub shard_columns: Option<Vec<String>>,
}

/// A table that joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    pub table: TableId,
    pub route: TableRoute,
    pub backfill: bool,
}

/// A table whose topic or shard columns change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub table: TableId,
    pub from: TableRoute,
    pub to: TableRoute,
}

/// What a change of the object rules does to the project's tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectsDiff {
    pub added: Vec<Added>,
    pub removed: Vec<TableId>,
    pub changed: Vec<Changed>,
}

impl ObjectsDiff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }

    /// The change as the audit trail records it: the tables of each kind.
    pub fn audit(&self) -> crate::audit::AuditMessage {
        fn list<'a>(tables: impl Iterator<Item = &'a TableId>) -> String {
            let names: Vec<String> = tables.map(ToString::to_string).collect();
            if names.is_empty() {
                "-".into()
            } else {
                names.join(", ")
            }
        }
        crate::audit::AuditMessage::ObjectsChanged {
            added: list(self.added.iter().map(|a| &a.table)),
            backfilled: list(self.added.iter().filter(|a| a.backfill).map(|a| &a.table)),
            removed: list(self.removed.iter()),
            changed: list(self.changed.iter().map(|c| &c.table)),
        }
    }

    /// One line for the event log: who did it is the event's actor.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if !self.added.is_empty() {
            let added: Vec<String> = self
                .added
                .iter()
                .map(|a| {
                    let how = if a.backfill {
                        "with backfill"
                    } else {
                        "from now on"
                    };
                    format!("{} ({how}, to {})", a.table, a.route.topic)
                })
                .collect();
            parts.push(format!("added {}", added.join(", ")));
        }
        if !self.removed.is_empty() {
            let removed: Vec<String> = self.removed.iter().map(|t| t.to_string()).collect();
            parts.push(format!("removed {}", removed.join(", ")));
        }
        for c in &self.changed {
            let mut what = Vec::new();
            if c.from.topic != c.to.topic {
                what.push(format!("topic {} → {}", c.from.topic, c.to.topic));
            }
            if c.from.shard_columns != c.to.shard_columns {
                what.push(format!(
                    "shard columns {} → {}",
                    shard_text(&c.from.shard_columns),
                    shard_text(&c.to.shard_columns)
                ));
            }
            parts.push(format!("changed {}: {}", c.table, what.join(", ")));
        }
        if parts.is_empty() {
            "changed the backfill list".into()
        } else {
            format!("changed objects: {}", parts.join("; "))
        }
    }
}

fn shard_text(columns: &Option<Vec<String>>) -> String {
    match columns {
        None => "(the key)".into(),
        Some(c) => c.join(","),
    }
}

/// When an applied change takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TakesEffect {
    /// The running project restarted its run with the new tables.
    Now,
    /// The project is paused or failed: at its resume.
    AtResume,
    /// The project has not started: it is only saved.
    AtStart,
}

/// The outcome of a preview or an applied change.
#[derive(Debug)]
pub struct ObjectsPlan {
    pub diff: ObjectsDiff,
    pub precheck: Vec<CheckItem>,
    /// Every table of the new plan (`db.table`).
    pub tables: std::collections::BTreeSet<String>,
}

/// The spec `record` would have with `input`.
fn changed_spec(record: &ProjectRecord, input: &ObjectsInput) -> ProjectSpec {
    let mut spec = record.spec.clone();
    spec.objects = input.objects.clone();
    spec.sync.backfill = input.backfill.clone();
    spec
}

/// Compares the tables of two resolved plans.
pub fn diff(before: &ProjectPlan, after: &ProjectPlan, settings: &Settings) -> ObjectsDiff {
    let route = |t: &plan::TablePlan| TableRoute {
        topic: t.topic.clone(),
        shard_columns: t.shard_columns.clone(),
    };
    let mut out = ObjectsDiff::default();
    for (id, t) in &after.tables {
        match before.tables.get(id) {
            None => out.added.push(Added {
                table: id.clone(),
                route: route(t),
                backfill: settings.config.sync.backfills(id),
            }),
            Some(old) if route(old) != route(t) => out.changed.push(Changed {
                table: id.clone(),
                from: route(old),
                to: route(t),
            }),
            Some(_) => {}
        }
    }
    out.removed = before
        .tables
        .keys()
        .filter(|id| !after.tables.contains_key(*id))
        .cloned()
        .collect();
    out
}

/// What `input` would change, with the precheck of the changed part; nothing is saved.
pub async fn preview(state: &AppState, id: &str, input: &ObjectsInput) -> Result<ObjectsPlan> {
    let record = service::get(state, id).await?;
    plan_change(state, &record, input).await
}

async fn plan_change(
    state: &AppState,
    record: &ProjectRecord,
    input: &ObjectsInput,
) -> Result<ObjectsPlan> {
    let spec = changed_spec(record, input);
    // The rules are judged first, without a connection.
    service::config_unopened(state, &spec).await?;
    let before = service::settings(state, &record.spec).await?;
    let after = service::settings(state, &spec).await?;
    let reader = MetadataReader::from_endpoint(&after.source);
    let old_plan = plan::resolve(&before.config, &reader).await?;
    let new_plan = plan::resolve(&after.config, &reader).await?;
    let diff = diff(&old_plan, &new_plan, &after);
    let precheck = precheck(&after, &new_plan, &diff).await;
    let tables = new_plan.tables.keys().map(|t| t.to_string()).collect();
    Ok(ObjectsPlan {
        diff,
        precheck,
        tables,
    })
}

obsync_model::message_codes! {
    /// A finding of an object change's precheck, which checks only the changed part.
    pub enum ChangeFinding {
        SourceUnreachable = "objects.change.source_unreachable" { error: String },
        Readable = "objects.change.readable" { table: String },
        Unreadable = "objects.change.unreadable" { table: String, error: String },
        NoKeyToBackfill = "objects.change.no_key_to_backfill" { table: String },
        KafkaClient = "objects.change.kafka_client" { error: String },
        TopicExists = "objects.change.topic_exists" { topic: String, partitions: i32 },
        TopicCreated = "objects.change.topic_created" { topic: String },
        TopicMissing = "objects.change.topic_missing" { topic: String },
        TopicUnknown = "objects.change.topic_unknown" { topic: String, error: String },
    }
}

impl obsync_model::Finding for ChangeFinding {
    fn detail(&self) -> String {
        use ChangeFinding::*;
        match self {
            SourceUnreachable { error } => format!("cannot connect to the source: {error}"),
            Readable { table } => format!("{table} can be read"),
            Unreadable { table, error } => format!("{table} cannot be read: {error}"),
            NoKeyToBackfill { table } => format!(
                "{table} has no primary key and no NOT NULL unique key, so it cannot be backfilled in chunks"
            ),
            KafkaClient { error } => format!("cannot open a Kafka client: {error}"),
            TopicExists { topic, partitions } => {
                format!("topic {topic} exists ({partitions} partitions)")
            }
            TopicCreated { topic } => {
                format!("topic {topic} does not exist yet; schema sync creates it")
            }
            TopicMissing { topic } => format!("topic {topic} does not exist"),
            TopicUnknown { topic, error } => format!("cannot look up topic {topic}: {error}"),
        }
    }

    fn fix(&self) -> String {
        use ChangeFinding::*;
        match self {
            Readable { .. } | TopicExists { .. } | TopicCreated { .. } => String::new(),
            SourceUnreachable { .. } => {
                "check that the source is reachable with the data source's settings".into()
            }
            Unreadable { table, .. } => format!("grant SELECT on {table} to the source user"),
            NoKeyToBackfill { .. } => "add it from now on (leave it out of the backfill list), or give the table a primary key".into(),
            KafkaClient { .. } => "check the Kafka data source's settings".into(),
            TopicMissing { .. } => "create the topic, or add schema to the project's sync types so obsync creates it".into(),
            TopicUnknown { .. } => {
                "check that Kafka is reachable with the data source's settings".into()
            }
        }
    }
}

/// The precheck of the changed part: each added table can be read (and, to be
/// backfilled, has a key to chunk by); each topic a table newly goes to exists or schema
/// sync will create it.
async fn precheck(settings: &Settings, plan: &ProjectPlan, diff: &ObjectsDiff) -> Vec<CheckItem> {
    let mut items = Vec::new();
    let mut conn = match settings.source.connect().await {
        Ok(c) => Some(c),
        Err(e) => {
            items.push(CheckItem::failed(
                "objects.source",
                &ChangeFinding::SourceUnreachable {
                    error: obsync_model::ErrorChain(&e).to_string(),
                },
            ));
            None
        }
    };
    for added in &diff.added {
        let name = format!("objects.{}", added.table);
        if let Some(conn) = conn.as_mut() {
            items.push(readable(conn, &added.table, &name).await);
        }
        let keyed = plan
            .tables
            .get(&added.table)
            .is_some_and(|t| t.meta.key_source != KeySource::AllColumns);
        if added.backfill && !keyed {
            items.push(CheckItem::failed(
                format!("{name}.key"),
                &ChangeFinding::NoKeyToBackfill {
                    table: added.table.to_string(),
                },
            ));
        }
    }
    let mut topics: BTreeMap<&str, ()> = BTreeMap::new();
    for t in diff
        .added
        .iter()
        .map(|a| &a.route.topic)
        .chain(diff.changed.iter().map(|c| &c.to.topic))
    {
        topics.insert(t, ());
    }
    if !topics.is_empty() {
        match KafkaAdmin::new(&settings.kafka) {
            Ok(admin) => {
                for topic in topics.keys() {
                    items.push(topic_item(&admin, topic, settings.sync.schema).await);
                }
            }
            Err(e) => items.push(CheckItem::failed(
                "objects.kafka",
                &ChangeFinding::KafkaClient {
                    error: obsync_model::ErrorChain(&e).to_string(),
                },
            )),
        }
    }
    items
}

async fn readable(conn: &mut mysql_async::Conn, table: &TableId, name: &str) -> CheckItem {
    use mysql_async::prelude::Queryable;
    let sql = format!(
        "SELECT 1 FROM {} LIMIT 0",
        obsync_source::snapshot::sql::quote_table(table)
    );
    match conn.query_drop(sql).await {
        Ok(()) => CheckItem::passed(
            name,
            &ChangeFinding::Readable {
                table: table.to_string(),
            },
        ),
        Err(e) => CheckItem::failed(
            name,
            &ChangeFinding::Unreadable {
                table: table.to_string(),
                error: obsync_source::SqlError::from(e).to_string(),
            },
        ),
    }
}

async fn topic_item(admin: &KafkaAdmin, topic: &str, schema: bool) -> CheckItem {
    let name = format!("objects.topic.{topic}");
    match admin.partition_count(topic).await {
        Ok(partitions) => CheckItem::passed(
            name,
            &ChangeFinding::TopicExists {
                topic: topic.into(),
                partitions,
            },
        ),
        Err(AdminError::TopicNotFound(_)) if schema => CheckItem::passed(
            name,
            &ChangeFinding::TopicCreated {
                topic: topic.into(),
            },
        ),
        Err(AdminError::TopicNotFound(_)) => CheckItem::failed(
            name,
            &ChangeFinding::TopicMissing {
                topic: topic.into(),
            },
        ),
        Err(e) => CheckItem::failed(
            name,
            &ChangeFinding::TopicUnknown {
                topic: topic.into(),
                error: obsync_model::ErrorChain(&e).to_string(),
            },
        ),
    }
}

/// Applies `input` to project `id` (at revision `expected`, when given): running, the
/// run restarts with the new tables; paused or failed, they take effect at the resume;
/// not started, the definition is only saved.
pub async fn apply(
    state: &AppState,
    id: &str,
    input: &ObjectsInput,
    actor: &Actor,
    expected: Option<u64>,
) -> Result<(ObjectsPlan, ProjectRecord, TakesEffect)> {
    let record = service::get(state, id).await?;
    crate::store::check_revision("project", id, expected, record.revision)?;
    let when = match record.state {
        ProjectState::Running => TakesEffect::Now,
        ProjectState::Paused | ProjectState::Failed => TakesEffect::AtResume,
        ProjectState::NotStarted | ProjectState::PrecheckFailed => TakesEffect::AtStart,
        other => return Err(Error::ObjectsChangeRefused { state: other }),
    };
    let spec = changed_spec(&record, input);
    if spec == record.spec {
        return Err(Error::ObjectsUnchanged);
    }
    if when == TakesEffect::AtStart {
        // Nothing runs: an edit like any other (no source needed).
        let record = service::update_at(state, id, spec, actor, expected).await?;
        let plan = ObjectsPlan {
            diff: ObjectsDiff::default(),
            precheck: Vec::new(),
            tables: Default::default(),
        };
        return Ok((plan, record, when));
    }
    let planned_at = record.revision;
    let plan = plan_change(state, &record, input).await?;
    let failed: Vec<String> = plan
        .precheck
        .iter()
        .filter(|i| i.status == obsync_model::CheckStatus::Fail)
        .map(|i| i.detail.clone())
        .collect();
    if !failed.is_empty() {
        return Err(Error::ObjectsPrecheckFailed { failed });
    }
    let record = {
        let _guard = state.lifecycle.lock().await;
        let mut record = service::get(state, id).await?;
        // Applied only to the revision the plan was made from.
        crate::store::check_revision("project", id, Some(planned_at), record.revision)?;
        if record.state != ProjectState::Running && when == TakesEffect::Now {
            return Err(Error::ObjectsChangeRefused {
                state: record.state,
            });
        }
        record.spec = spec;
        record.updated_at = crate::model::now_rfc3339();
        record.revision = state.store.put_project(&record).await?;
        crate::audit::record(
            state,
            actor,
            crate::audit::Subject::Project(id),
            plan.diff.audit(),
        )
        .await?;
        record
    };
    if when == TakesEffect::Now {
        let action = Forwarded::Objects {
            tables: plan.tables.clone(),
        };
        take_effect(state, id, action).await?;
    }
    Ok((plan, record, when))
}

/// Snapshots `table` of running project `id` again while its change log streams.
pub async fn resync(
    state: &AppState,
    id: &str,
    table: &str,
    actor: &Actor,
) -> Result<ProjectRecord> {
    let record = service::get(state, id).await?;
    let exact = obsync_config::TablePattern::parse(table)
        .ok()
        .and_then(|p| p.exact());
    let table_id = exact.ok_or_else(|| {
        Error::invalid(
            crate::error::Rule::Request,
            "table",
            format!("{table:?} is not a database.table name"),
            "write the table as database.table, e.g. shop.orders",
        )
        .with_rule(crate::error::InputRule::NotATableName {
            table: table.to_string(),
        })
    })?;
    if record.state != ProjectState::Running {
        return Err(Error::ObjectsChangeRefused {
            state: record.state,
        });
    }
    let settings = service::settings(state, &record.spec).await?;
    if !settings.sync.incremental {
        return Err(Error::ResyncNeedsIncremental);
    }
    let reader = MetadataReader::from_endpoint(&settings.source);
    let plan = plan::resolve(&settings.config, &reader).await?;
    let Some(t) = plan.tables.get(&table_id) else {
        return Err(Error::not_found("table", table));
    };
    if t.meta.key_source == KeySource::AllColumns {
        return Err(Error::invalid(
            crate::error::Rule::Request,
            "table",
            format!("{table} has no primary key and no NOT NULL unique key, so it cannot be re-synced in chunks"),
            "give the table a primary key, or re-create the project",
        )
        .with_rule(crate::error::InputRule::NoKeyForResync {
            table: table.to_string(),
        }));
    }
    crate::audit::record(
        state,
        actor,
        crate::audit::Subject::Project(id),
        crate::audit::AuditMessage::ResyncAsked {
            table: table.to_string(),
        },
    )
    .await?;
    let asked_at = obsync_pipeline::delivery::unix_ms() / 1000;
    let action = Forwarded::Resync {
        table: table_id.to_string(),
        asked_at,
    };
    take_effect(state, id, action).await?;
    Ok(record)
}

/// Takes a saved change into running project `id`: here when this server runs it (or
/// runs alone); in cluster mode on another server, through the config log by the
/// server that runs it, waiting for its answer.
async fn take_effect(state: &AppState, id: &str, action: Forwarded) -> Result<()> {
    match &state.cluster {
        Some(cluster) if !cluster.owns(id) => {
            Ok(crate::cluster::forward::to_owner(state, id, action).await?)
        }
        _ => take_up(state, id, &action).await,
    }
}

/// Restarts the run of project `id` with its saved definition (and, for a re-sync, the
/// table to snapshot again), then waits until the restarted run's checkpoint holds the
/// change. The same for a change made on this server and one forwarded to it.
pub async fn take_up(state: &AppState, id: &str, action: &Forwarded) -> Result<()> {
    let record = service::get(state, id).await?;
    let mut settings = service::settings(state, &record.spec).await?;
    match action {
        Forwarded::Objects { tables } => {
            crate::runtime::restart(state, id, settings).await;
            in_force(state, id, |saved| saved.objects.as_ref() == Some(tables)).await;
        }
        Forwarded::Resync { table, asked_at } => {
            let table_id = obsync_config::TablePattern::parse(table)
                .ok()
                .and_then(|p| p.exact())
                .ok_or_else(|| Error::not_found("table", table))?;
            settings.resync.insert(table_id, *asked_at);
            crate::runtime::restart(state, id, settings).await;
            in_force(state, id, |saved| {
                saved
                    .backfills
                    .get(table)
                    .is_some_and(|b| b.started_at >= *asked_at)
            })
            .await;
        }
    }
    Ok(())
}

/// How long an applied change may take to enter the restarted run's checkpoint (the
/// run resolves its tables and reads a position first) before the answer goes anyway.
const IN_FORCE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// Waits until the project's saved checkpoint satisfies `done` — the restarted run has
/// recorded the change, so changes made after the answer are synced under it and a
/// crash no longer loses it — or the run is gone, or [`IN_FORCE_TIMEOUT`] passed.
async fn in_force(
    state: &AppState,
    id: &str,
    done: impl Fn(&obsync_pipeline::checkpoint::ProjectState) -> bool,
) {
    let dir = state.project_dir(id);
    let deadline = tokio::time::Instant::now() + IN_FORCE_TIMEOUT;
    while tokio::time::Instant::now() < deadline && state.runtime.is_running(id) {
        if let Ok(Some(saved)) = obsync_pipeline::checkpoint::CheckpointStore::peek(&dir) {
            if done(&saved) {
                return;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    tracing::warn!(project = %id, "the object change is not in the checkpoint yet; the run takes it when it starts");
}
