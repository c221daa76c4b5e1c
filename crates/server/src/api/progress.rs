//! `GET /api/v1/projects/{id}/progress`: where a project is, per stage.
//!
//! A run's live status only knows what that run did: a run resumed after full sync lists
//! no snapshot tables and counts acknowledgements from zero, and a paused project has
//! no live status at all. The answer therefore starts from the project's saved
//! checkpoint (`state.json`, written by the pipeline) and the counts of earlier runs
//! kept in its record, and lays the live status over them.

use std::collections::{BTreeMap, BTreeSet};

use obsync_config::ProjectConfig;
use obsync_model::TableId;
use obsync_pipeline::checkpoint::{CheckpointStore, ProjectState as SavedState};
use obsync_pipeline::StatusSnapshot;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::lifecycle::{ProjectState, Stage};
use crate::model::{ErrorInfo, ProjectRecord};
use crate::service;
use crate::state::AppState;

/// Where a project is, per stage.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Progress {
    pub state: ProjectState,
    pub stage: Option<Stage>,
    /// Messages Kafka acknowledged over the project's runs (the count of a run whose end
    /// the server did not see, as after `kill -9`, is lost).
    pub acked_messages: u64,
    pub last_error: Option<ErrorInfo>,
    pub schema: SchemaProgress,
    pub full: FullProgress,
    pub incremental: IncrementalProgress,
    /// The run's notices, oldest first (the event log keeps them too).
    pub notices: Vec<NoticeView>,
    /// A problem the running project is riding out (Kafka or the source unreachable,
    /// retried); absent once it works again.
    pub warning: Option<WarningView>,
    /// Per table: its snapshot rows and the row changes of incremental sync that Kafka
    /// acknowledged, counted since the project was started.
    pub tables: Vec<TableCounts>,
    /// The stages of the project's current life (since its start), in order.
    pub timeline: Vec<StageTimes>,
    /// Watermark backfills of tables added with backfill or re-synced, from the saved
    /// checkpoint (at most a second behind the run).
    pub backfills: Vec<BackfillView>,
}

/// Where a backfill is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BackfillState {
    /// Waiting for the backfill before it (one table at a time), or for the project to run.
    Pending,
    Running,
    Done,
}

/// A watermark backfill of one table.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BackfillView {
    /// `database.table`.
    pub table: String,
    pub state: BackfillState,
    /// Chunks and rows in Kafka.
    pub chunks: u64,
    pub rows: u64,
    /// RFC 3339.
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

/// A notice of the running project: its English, and the same as a code with params
/// (`docs/message-codes.json`, family `events`) the console says in its language.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NoticeView {
    pub message: String,
    pub code: String,
    pub params: std::collections::BTreeMap<String, String>,
}

/// What Kafka acknowledged for one table. Changes are saved with the checkpoint, so a
/// run that resumes from it (after a pause, a restart, even `kill -9`) counts the
/// re-sent tail once, though Kafka may then hold it twice.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TableCounts {
    /// `database.table`.
    pub table: String,
    /// Rows delivered by full sync and by backfills (of a table added with backfill, or
    /// re-synced).
    pub snapshot_rows: u64,
    /// Rows inserted at the source and delivered by incremental sync.
    pub inserts: u64,
    /// Rows updated (an update moving its key to another partition counts once).
    pub updates: u64,
    pub deletes: u64,
}

/// When a stage began and ended.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct StageTimes {
    pub stage: Stage,
    /// RFC 3339 with milliseconds.
    pub started_at: String,
    /// Absent while the stage is the current one.
    pub ended_at: Option<String>,
    /// Until its end; for the current stage of a running project, until now. Absent for
    /// the current stage of a project that does not run.
    pub duration_ms: Option<u64>,
}

/// What a running project retries, and since when.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct WarningView {
    /// The cause, with what obsync does about it.
    pub message: String,
    /// The same as a stable code the console says in its language
    /// (`docs/message-codes.json`).
    pub code: String,
    /// The values the code's text names, by name.
    pub params: std::collections::BTreeMap<String, String>,
    /// When the problem began, RFC 3339.
    pub since: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SchemaProgress {
    /// The project's topics: named ones, and those the batch rule built for the tables
    /// the project has seen (known once it has started).
    pub topics: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FullProgress {
    /// Every table of the snapshot, also after full sync is over or the project paused.
    pub tables: Vec<TableProgress>,
    pub rows_per_sec: f64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TableProgress {
    pub table: String,
    pub rows_done: u64,
    /// The source's estimate while the table is read; the rows read once it is done.
    pub rows_estimated: u64,
    pub done: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct IncrementalProgress {
    /// Source commit time of the checkpoint, RFC 3339.
    pub checkpoint_time: Option<String>,
    pub position: Option<LogPositionView>,
    /// Only while the project runs; 0 while the reader is caught up with the source.
    pub lag_seconds: Option<u64>,
    /// While caught up with a source that writes nothing: since when no change arrived,
    /// RFC 3339.
    pub idle_since: Option<String>,
    pub rows_per_sec: f64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LogPositionView {
    pub file: String,
    pub pos: u64,
    pub gtid: Option<String>,
}

/// The progress of `record`: its saved checkpoint with the live status over it.
pub async fn of(state: &AppState, record: ProjectRecord) -> Progress {
    let live = state.runtime.status(&record.id);
    let saved = saved_state(state, &record.id);
    // Only the routes: judged without opening a secret (a console polls this).
    let config = service::config_unopened(state, &record.spec).await.ok();
    let tables = tables(saved.as_ref(), live.as_ref());
    let topics = topics(config.as_ref(), saved.as_ref(), &tables);
    let counts = counts(&tables, saved.as_ref(), live.as_ref());
    let timeline = timeline(&record, live.as_ref());
    let stage = live.as_ref().map(|s| Stage::from(s.stage)).or(record.stage);
    let rate = |in_stage: Stage| match (&live, stage) {
        (Some(s), Some(current)) if current == in_stage => s.rows_per_second,
        _ => 0.0,
    };
    let (full_rate, incremental_rate) = (rate(Stage::Full), rate(Stage::Incremental));
    let (checkpoint_time, position) = match (&live, &saved) {
        (Some(s), _) if s.checkpoint.is_some() => (
            s.checkpoint_time,
            s.checkpoint.as_deref().and_then(parse_position),
        ),
        (_, Some(saved)) => match &saved.incremental {
            Some(c) => (
                Some(u64::from(c.timestamp)),
                parse_position(&c.position.to_string()),
            ),
            None => (None, None),
        },
        _ => (None, None),
    };
    Progress {
        state: record.state,
        stage,
        acked_messages: record.acked_messages
            + live.as_ref().map(|s| s.messages_acked).unwrap_or(0),
        last_error: record.last_error.or_else(|| {
            live.as_ref()
                .and_then(|s| s.last_error.clone())
                .map(ErrorInfo::from)
        }),
        schema: SchemaProgress { topics },
        full: FullProgress {
            tables: tables.into_values().collect(),
            rows_per_sec: full_rate,
        },
        incremental: IncrementalProgress {
            checkpoint_time: checkpoint_time.and_then(rfc3339),
            position,
            lag_seconds: live.as_ref().and_then(|s| s.lag_seconds),
            idle_since: live.as_ref().and_then(|s| s.idle_since).and_then(rfc3339),
            rows_per_sec: incremental_rate,
        },
        warning: live
            .as_ref()
            .and_then(|s| s.warning.clone())
            .map(|w| WarningView {
                message: w.message,
                code: w.coded.code,
                params: w.coded.params,
                since: rfc3339(w.since).unwrap_or_default(),
            }),
        notices: live
            .map(|s| s.notices)
            .unwrap_or_default()
            .into_iter()
            .map(|n| NoticeView {
                message: n.message,
                code: n.coded.code,
                params: n.coded.params,
            })
            .collect(),
        tables: counts,
        timeline,
        backfills: backfills(saved.as_ref(), record.state == ProjectState::Running),
    }
}

/// The saved backfills; the run works through them one at a time in table order.
fn backfills(saved: Option<&SavedState>, running: bool) -> Vec<BackfillView> {
    let Some(saved) = saved else {
        return Vec::new();
    };
    let mut current_seen = false;
    saved
        .backfills
        .iter()
        .map(|(table, b)| {
            let state = if b.done {
                BackfillState::Done
            } else if running && !current_seen {
                current_seen = true;
                BackfillState::Running
            } else {
                BackfillState::Pending
            };
            BackfillView {
                table: table.clone(),
                state,
                chunks: b.chunks,
                rows: b.rows,
                started_at: rfc3339(b.started_at),
                finished_at: b.finished_at.and_then(rfc3339),
            }
        })
        .collect()
}

/// Snapshot rows and change counts per table: the live run's changes (which start from
/// the checkpoint's) when running, else the checkpoint's.
fn counts(
    snapshot: &BTreeMap<String, TableProgress>,
    saved: Option<&SavedState>,
    live: Option<&StatusSnapshot>,
) -> Vec<TableCounts> {
    let changes = match (live, saved) {
        (Some(s), _) if !s.changes.is_empty() => Some(&s.changes),
        (_, Some(saved)) => Some(&saved.changes),
        _ => None,
    };
    let mut out: BTreeMap<&str, TableCounts> = BTreeMap::new();
    let entry = |table: &str| -> TableCounts {
        TableCounts {
            table: table.to_string(),
            snapshot_rows: 0,
            inserts: 0,
            updates: 0,
            deletes: 0,
        }
    };
    for (table, p) in snapshot {
        out.entry(table)
            .or_insert_with(|| entry(table))
            .snapshot_rows = p.rows_done;
    }
    // A backfill's rows are snapshot rows of their table too (sent as such), as far as
    // Kafka acknowledged them (the saved chunks).
    for (table, b) in saved.into_iter().flat_map(|s| &s.backfills) {
        out.entry(table)
            .or_insert_with(|| entry(table))
            .snapshot_rows += b.rows;
    }
    for (table, c) in changes.into_iter().flatten() {
        let t = out.entry(table).or_insert_with(|| entry(table));
        (t.inserts, t.updates, t.deletes) = (c.inserts, c.updates, c.deletes);
    }
    out.into_values().collect()
}

/// The record's stage spans with the live run's entries merged over them.
fn timeline(record: &ProjectRecord, live: Option<&StatusSnapshot>) -> Vec<StageTimes> {
    let mut spans = record.stages.clone();
    if let Some(s) = live {
        crate::timeline::merge(&mut spans, &s.stages);
    }
    let now = obsync_pipeline::delivery::unix_ms();
    let running = record.state == ProjectState::Running;
    spans
        .iter()
        .map(|span| StageTimes {
            stage: span.stage,
            started_at: rfc3339_ms(span.started_ms),
            ended_at: span.ended_ms.map(rfc3339_ms),
            duration_ms: span
                .ended_ms
                .or(running.then_some(now))
                .map(|end| end.saturating_sub(span.started_ms)),
        })
        .collect()
}

fn rfc3339_ms(unix_ms: u64) -> String {
    chrono::DateTime::from_timestamp_millis(unix_ms as i64)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

fn rfc3339(unix_seconds: u64) -> Option<String> {
    chrono::DateTime::from_timestamp(unix_seconds as i64, 0)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
}

/// The project's checkpoint, if it has one. A checkpoint that cannot be read is left out
/// here: the run that uses it stops with the error, which the answer then carries.
fn saved_state(state: &AppState, id: &str) -> Option<SavedState> {
    let dir = state.project_dir(id);
    if !dir.join("state.json").exists() {
        return None;
    }
    match CheckpointStore::open(&dir).and_then(|store| store.load()) {
        Ok(saved) => Some(saved),
        Err(e) => {
            tracing::debug!(project = %id, error = %obsync_model::ErrorChain(&e), "progress without the checkpoint");
            None
        }
    }
}

/// Saved snapshot progress per table, with the live run's (which has the estimates) over it.
fn tables(
    saved: Option<&SavedState>,
    live: Option<&StatusSnapshot>,
) -> BTreeMap<String, TableProgress> {
    let mut out = BTreeMap::new();
    if let Some(saved) = saved {
        let estimates: BTreeMap<String, u64> = saved
            .definitions
            .iter()
            .map(|d| (d.id.to_string(), d.estimated_rows))
            .collect();
        for (table, p) in &saved.tables {
            let estimate = estimates.get(table).copied().unwrap_or(0);
            out.insert(
                table.clone(),
                TableProgress {
                    table: table.clone(),
                    rows_done: p.rows,
                    rows_estimated: if p.done { p.rows } else { estimate.max(p.rows) },
                    done: p.done,
                },
            );
        }
    }
    for (table, p) in live.map(|s| &s.tables).into_iter().flatten() {
        let entry = out.entry(table.clone()).or_insert(TableProgress {
            table: table.clone(),
            rows_done: 0,
            rows_estimated: 0,
            done: false,
        });
        entry.rows_done = entry.rows_done.max(p.rows_done);
        entry.done |= p.done;
        entry.rows_estimated = if entry.done {
            entry.rows_done
        } else {
            p.rows_estimated.max(entry.rows_done)
        };
    }
    out
}

/// The named topics of the project's rules, and the topic of every table the rules name
/// exactly or the project has seen (which is how batch-rule topics become known).
fn topics(
    config: Option<&ProjectConfig>,
    saved: Option<&SavedState>,
    tables: &BTreeMap<String, TableProgress>,
) -> Vec<String> {
    let Some(config) = config else {
        return vec![];
    };
    let mut topics: BTreeSet<String> = config
        .objects
        .iter()
        .filter_map(|o| match &o.topic {
            obsync_config::TopicTarget::Named(t) => Some(t.as_str().to_string()),
            obsync_config::TopicTarget::BatchRule => None,
        })
        .collect();
    // The console's wizard names every table exactly, so its batch topics are known
    // before the start; a wildcard rule's tables only once the project has run.
    let mut seen: Vec<TableId> = config
        .objects
        .iter()
        .flat_map(|o| o.include.iter().filter_map(|p| p.exact()))
        .collect();
    seen.extend(
        saved
            .iter()
            .flat_map(|s| s.definitions.iter().map(|d| d.id.clone())),
    );
    seen.extend(tables.keys().filter_map(|t| {
        t.split_once('.')
            .map(|(database, table)| TableId::new(database, table))
    }));
    for table in seen {
        if let Ok(Some(route)) = config.route(&table) {
            topics.insert(route.topic.as_str().to_string());
        }
    }
    topics.into_iter().collect()
}

/// `file:pos` or `file:pos (gtid G)` as the pipeline displays a checkpoint.
fn parse_position(text: &str) -> Option<LogPositionView> {
    let (coord, gtid) = match text.split_once(" (gtid ") {
        Some((c, g)) => (c, Some(g.trim_end_matches(')').to_string())),
        None => (text, None),
    };
    let (file, pos) = coord.rsplit_once(':')?;
    Some(LogPositionView {
        file: file.to_string(),
        pos: pos.parse().ok()?,
        gtid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_text_becomes_file_pos_and_gtid() {
        let p = parse_position("mysql-bin.000003:4521 (gtid 0-1-42)").unwrap();
        assert_eq!(
            (p.file.as_str(), p.pos, p.gtid.as_deref()),
            ("mysql-bin.000003", 4521, Some("0-1-42"))
        );
        let p = parse_position("mysql-bin.000003:4521").unwrap();
        assert_eq!(p.gtid, None);
    }
}
