//! The project precheck: the checkpoint, source items, the resolved objects and Kafka
//! items, in one report. `obsync precheck` prints it; `obsync run` refuses to start
//! when it fails.

use crate::checkpoint::{CheckpointError, CheckpointStore, STATE_FILE};
use crate::plan;
use crate::project::incremental_start;
use crate::settings::Settings;
use obsync_kafka::NewTopicSpec;
use obsync_model::{CheckItem, CheckStatus, ErrorChain};
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
            items.push(CheckItem::pass(
                "objects.resolve",
                format!("{n} table(s) match the project's object rules"),
            ));
            for (id, why) in &plan.excluded {
                items.push(CheckItem::warn(
                    format!("objects.{id}"),
                    why.clone(),
                    "remove it from the rules or exclude it to silence this warning",
                ));
            }
            Some(plan)
        }
        Err(e) => {
            items.push(CheckItem::fail(
                "objects.resolve",
                ErrorChain(&e).to_string(),
                "fix the [[objects]] rules or the source connection, then rerun the precheck",
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
            let item = CheckItem::pass(
                NAME,
                format!(
                    "no checkpoint in {}: the project starts from the beginning",
                    state_dir.display()
                ),
            );
            return (item, IncrementalStart::New, None);
        }
        Err(e) => {
            let fix = match &e {
                CheckpointError::UnknownVersion { .. } => {
                    "run the obsync release that wrote the checkpoint, or a newer one".to_string()
                }
                _ => format!(
                    "restore the state directory {} from a backup, or delete it to start the project from scratch",
                    state_dir.display()
                ),
            };
            let item = CheckItem::fail(NAME, ErrorChain(&e).to_string(), fix);
            return (item, IncrementalStart::Unknown, None);
        }
    };
    let file = state_dir.join(STATE_FILE);
    let start = incremental_start(
        state.incremental.as_ref(),
        state.snapshot_start.clone(),
        settings.start_time,
    );
    let (detail, start) = match (start, settings.sync.incremental) {
        (StartFrom::Position(p), true) => (
            format!(
                "{} resumes incremental sync at {p} (source.binlog_dump opens the binlog there)",
                file.display()
            ),
            IncrementalStart::Resume(p),
        ),
        (_, true) => (
            format!(
                "{} is readable and holds no change-log position yet: incremental sync starts as for a new project",
                file.display()
            ),
            IncrementalStart::New,
        ),
        (_, false) => (
            format!("{} is readable: the run resumes from it", file.display()),
            IncrementalStart::New,
        ),
    };
    // As the run decides it (`project::run_stages`): a snapshot start has no server.
    let server = state.incremental.as_ref().and(state.source_server.clone());
    (CheckItem::pass(NAME, detail), start, server)
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
