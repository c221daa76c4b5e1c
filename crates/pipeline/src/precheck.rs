//! The project precheck: the checkpoint, source items, the resolved objects and Kafka
//! items, in one report. `obsync precheck` prints it; `obsync run` refuses to start
//! when it fails.

use crate::checkpoint::{CheckpointError, CheckpointStore, STATE_FILE};
use crate::plan;
use crate::project::incremental_start;
use crate::settings::Settings;
use obsync_kafka::NewTopicSpec;
use obsync_model::{message_codes, CheckItem, CheckStatus, ErrorChain, Finding};

message_codes! {
    /// A finding of the project's own precheck items: the object rules and the
    /// checkpoint. The console says them by code; `dir` and `file` are server paths the
    /// English (CLI) text names and the console does not show.
    pub enum ProjectFinding {
        ObjectsResolved = "objects.resolve.ok" { count: usize },
        ObjectExcluded = "objects.excluded" { table: String, reason: String },
        ObjectsUnresolved = "objects.resolve.failed" { error: String },
        CheckpointNone = "checkpoint.none" { dir: String },
        CheckpointNewerVersion = "checkpoint.newer_version" { error: String },
        CheckpointUnreadable = "checkpoint.unreadable" { dir: String, error: String },
        CheckpointResumes = "checkpoint.resumes" { file: String, position: String },
        CheckpointNoPosition = "checkpoint.no_position" { file: String },
        CheckpointReadable = "checkpoint.readable" { file: String },
    }
}

impl Finding for ProjectFinding {
    fn detail(&self) -> String {
        use ProjectFinding::*;
        match self {
            ObjectsResolved { count } => format!("{count} table(s) match the project's object rules"),
            ObjectExcluded { reason, .. } => reason.clone(),
            ObjectsUnresolved { error } | CheckpointNewerVersion { error } | CheckpointUnreadable { error, .. } => error.clone(),
            CheckpointNone { dir } => format!("no checkpoint in {dir}: the project starts from the beginning"),
            CheckpointResumes { file, position } => format!(
                "{file} resumes incremental sync at {position} (source.binlog_dump opens the binlog there)"
            ),
            CheckpointNoPosition { file } => format!(
                "{file} is readable and holds no change-log position yet: incremental sync starts as for a new project"
            ),
            CheckpointReadable { file } => format!("{file} is readable: the run resumes from it"),
        }
    }

    fn fix(&self) -> String {
        use ProjectFinding::*;
        match self {
            ObjectsResolved { .. } | CheckpointNone { .. } | CheckpointResumes { .. } | CheckpointNoPosition { .. } | CheckpointReadable { .. } => String::new(),
            ObjectExcluded { .. } => "remove it from the rules or exclude it to silence this warning".into(),
            ObjectsUnresolved { .. } => "fix the [[objects]] rules or the source connection, then rerun the precheck".into(),
            CheckpointNewerVersion { .. } => "run the obsync release that wrote the checkpoint, or a newer one".into(),
            CheckpointUnreadable { dir, .. } => format!(
                "restore the state directory {dir} from a backup, or delete it to start the project from scratch"
            ),
        }
    }
}
use obsync_source::binlog::StartFrom;
use obsync_source::metadata::MetadataReader;
use obsync_source::precheck::{check_source, IncrementalStart, SourceCheckPlan};
use std::path::Path;

/// Runs every check for the project whose checkpoint lives in `state_dir` (read, never
/// written: a resume is checked from where it will continue). Never fails as a whole:
/// each problem is an item with a fix.
pub async fn run(settings: &Settings, state_dir: &Path) -> Vec<CheckItem> {
    let (checkpoint, start, source_server) = checkpoint_item(settings, state_dir);
    let mut items = vec![checkpoint];
    let reader = MetadataReader::from_endpoint(&settings.source);
    let resolved = plan::resolve(&settings.config, &reader).await;
    let plan = match resolved {
        Ok(plan) => {
            let n = plan.tables.len();
            items.push(CheckItem::passed(
                "objects.resolve",
                &ProjectFinding::ObjectsResolved { count: n },
            ));
            for (id, why) in &plan.excluded {
                items.push(CheckItem::warned(
                    format!("objects.{id}"),
                    &ProjectFinding::ObjectExcluded {
                        table: id.to_string(),
                        reason: why.clone(),
                    },
                ));
            }
            Some(plan)
        }
        Err(e) => {
            items.push(CheckItem::failed(
                "objects.resolve",
                &ProjectFinding::ObjectsUnresolved {
                    error: ErrorChain(&e).to_string(),
                },
            ));
            None
        }
    };
    let source_plan = SourceCheckPlan {
        tables: plan.as_ref().map(|p| p.tables.keys().cloned().collect()),
        shard_columns: plan
            .as_ref()
            .map(|p| {
                p.tables
                    .iter()
                    .filter_map(|(id, t)| t.shard_columns.clone().map(|c| (id.clone(), c)))
                    .collect()
            })
            .unwrap_or_default(),
        need_incremental: settings.sync.incremental,
        start_time: settings.start_time,
        positioning: settings.positioning,
        start,
        source_server,
    };
    items.extend(check_source(&settings.source, &source_plan).await);
    let topics: Vec<NewTopicSpec> = plan
        .as_ref()
        .map(|p| {
            p.topics()
                .keys()
                .map(|name| NewTopicSpec {
                    name: name.to_string(),
                    partitions: settings.topic_partitions,
                    replication: settings.topic_replication_factor,
                })
                .collect()
        })
        .unwrap_or_default();
    items.extend(
        obsync_kafka::kafka_precheck(
            &settings.kafka,
            &topics,
            settings.sync.schema,
            obsync_kafka::PRECHECK_TIMEOUT,
        )
        .await,
    );
    items
}

/// The `checkpoint` item, where incremental sync will start by it (the saved position
/// the run resumes from, or a new start), and the server that position was read from.
fn checkpoint_item(
    settings: &Settings,
    state_dir: &Path,
) -> (CheckItem, IncrementalStart, Option<String>) {
    const NAME: &str = "checkpoint";
    let state = match CheckpointStore::peek(state_dir) {
        Ok(Some(state)) => state,
        Ok(None) => {
            let item = CheckItem::passed(
                NAME,
                &ProjectFinding::CheckpointNone {
                    dir: state_dir.display().to_string(),
                },
            );
            return (item, IncrementalStart::New, None);
        }
        Err(e) => {
            let error = ErrorChain(&e).to_string();
            let finding = match &e {
                CheckpointError::UnknownVersion { .. } => {
                    ProjectFinding::CheckpointNewerVersion { error }
                }
                _ => ProjectFinding::CheckpointUnreadable {
                    dir: state_dir.display().to_string(),
                    error,
                },
            };
            let item = CheckItem::failed(NAME, &finding);
            return (item, IncrementalStart::Unknown, None);
        }
    };
    let file = state_dir.join(STATE_FILE);
    let start = incremental_start(
        state.incremental.as_ref(),
        state.snapshot_start.clone(),
        settings.start_time,
    );
    let file = file.display().to_string();
    let (finding, start) = match (start, settings.sync.incremental) {
        (StartFrom::Position(p), true) => (
            ProjectFinding::CheckpointResumes {
                file,
                position: p.to_string(),
            },
            IncrementalStart::Resume(p),
        ),
        (_, true) => (
            ProjectFinding::CheckpointNoPosition { file },
            IncrementalStart::New,
        ),
        (_, false) => (
            ProjectFinding::CheckpointReadable { file },
            IncrementalStart::New,
        ),
    };
    // As the run decides it (`project::run_stages`): a snapshot start has no server.
    let server = state.incremental.as_ref().and(state.source_server.clone());
    (CheckItem::passed(NAME, &finding), start, server)
}

/// True when no item failed.
pub fn passed(items: &[CheckItem]) -> bool {
    items.iter().all(|i| i.status != CheckStatus::Fail)
}

/// A readable report, one line per item and an indented fix under each problem.
pub fn report(items: &[CheckItem]) -> String {
    let mut out = String::new();
    for i in items {
        let mark = match i.status {
            CheckStatus::Pass => "PASS",
            CheckStatus::Warn => "WARN",
            CheckStatus::Fail => "FAIL",
            CheckStatus::NotChecked => "SKIP",
        };
        out.push_str(&format!("[{mark}] {}: {}\n", i.name, i.detail));
        if let (Some(fix), false) = (&i.fix, i.status == CheckStatus::Pass) {
            out.push_str(&format!("       fix: {fix}\n"));
        }
    }
    let failed = items
        .iter()
        .filter(|i| i.status == CheckStatus::Fail)
        .count();
    out.push_str(&if failed == 0 {
        "precheck passed\n".to_string()
    } else {
        format!("precheck failed: {failed} item(s) need fixing\n")
    });
    out
}
