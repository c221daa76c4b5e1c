//! `obsync verify`: rebuilds each table's latest rows from its topic and compares them
//! with the source, reading only (no consumer group, nothing written anywhere).
//!
//! 1. Each topic is read from its first offset up to the high watermarks taken as the
//!    read starts ([`obsync_kafka::TopicReader`]), decoded with the project's format and
//!    applied per partition in offset order ([`rebuild`]); `storeDataSequence` is checked
//!    to strictly increase per partition on the way.
//! 2. Each keyed table is read at the source in key-ordered chunks, the change-log
//!    position taken before each chunk, and compared row by row in the canonical text of
//!    `obsync_format::decode::canonical_image` ([`compare`]).
//! 3. The source keeps changing while this runs, and the project may lag, so a key that
//!    differs is checked again, up to [`VerifyOptions::rechecks`] times, waiting
//!    0.5 s, 1 s, 2 s, … before each: the row is read at the source, the topic's new tail
//!    is read up to fresh high watermarks, the row is read again; the key is settled when
//!    the rebuilt row equals either source read (the topic showed a state the source had
//!    during the check). A key is reported only when every check differed.
//!
//! Tables without a key are compared as multisets of whole rows; when they differ the
//! whole comparison is repeated after reading the topic's tail, with the same waits.

mod compare;
mod rebuild;
mod report;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use obsync_format::decode::{DecodeError, Image};
use obsync_kafka::{ReadError, TopicReader};
use obsync_model::{TableId, TableMeta};
use obsync_source::metadata::{MetadataReader, ServerInfo};
use obsync_source::snapshot::SnapshotReader;

use crate::plan::{self, PlanError};
use crate::Settings;
use compare::Candidates;
use rebuild::TopicRebuild;
pub use rebuild::{row_key, SequenceCheck};

/// How a verification runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyOptions {
    /// Example keys kept per kind of difference and table.
    pub examples: usize,
    /// Source rows per chunk.
    pub chunk_rows: usize,
    /// How many times a differing key is checked again before it is reported.
    pub rechecks: u32,
    /// How long Kafka may take to answer or to deliver the next message.
    pub kafka_timeout: Duration,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        Self {
            examples: 10,
            chunk_rows: 1_000,
            rechecks: 3,
            kafka_timeout: Duration::from_secs(30),
        }
    }
}

/// The wait before the first re-check; it doubles for each further one.
const FIRST_RECHECK_WAIT: Duration = Duration::from_millis(500);

/// What verify is doing, for a progress display.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Progress {
    /// Records read from a topic so far.
    TopicRead { topic: String, records: u64 },
    /// Source rows of a table compared so far.
    RowsChecked { table: String, rows: u64 },
    /// Differing keys (or a whole table without a key) being checked again.
    Recheck {
        topic: String,
        round: u32,
        keys: usize,
    },
}

/// Receives [`Progress`] events (from the async task and from blocking threads).
pub type ProgressFn = Arc<dyn Fn(Progress) + Send + Sync>;

/// Why verify could not finish. Differences are not errors: they are in the report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error(transparent)]
    Connect(#[from] obsync_source::ConnectError),
    #[error(transparent)]
    Snapshot(#[from] obsync_source::snapshot::SnapshotError),
    #[error(transparent)]
    Position(#[from] obsync_source::position::PositionError),
    #[error(transparent)]
    Kafka(#[from] ReadError),
    /// A record is not one of the project's format.
    #[error("the record at offset {offset} of partition {partition} of topic {topic} does not decode: check the project's sync.format and that only obsync writes to the topic")]
    Decode {
        topic: String,
        partition: i32,
        offset: i64,
        #[source]
        source: DecodeError,
    },
    /// A record decodes but cannot be applied.
    #[error("the record at offset {offset} of partition {partition} of topic {topic} cannot be applied: {detail}")]
    Record {
        topic: String,
        partition: i32,
        offset: i64,
        detail: String,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

/// Keys of one kind of difference: how many, and the first few.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Keys {
    pub count: u64,
    pub examples: Vec<String>,
}

impl Keys {
    fn add(&mut self, key: &str, copies: u64, examples: usize) {
        self.count += copies;
        if self.examples.len() < examples {
            self.examples.push(key.to_owned());
        }
    }
}

/// How a table was compared.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Comparison {
    /// Row by row on these key columns.
    ByKey(Vec<String>),
    /// As multisets of whole rows: the table has no primary or NOT NULL unique key.
    Multiset,
}

/// The verdict for one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TableReport {
    pub table: TableId,
    pub topic: String,
    pub comparison: Comparison,
    /// Source rows compared.
    pub rows_checked: u64,
    /// Rows rebuilt from the topic at the first read.
    pub rows_in_topic: u64,
    /// In the source, not in the topic.
    pub missing: Keys,
    /// In the topic, not in the source.
    pub extra: Keys,
    /// In both, with other values.
    pub different: Keys,
    /// Keys (or, for a multiset, whole passes) checked again.
    pub rechecked: u64,
    /// Change-log positions taken before the first and the last chunk.
    pub positions: Option<(String, String)>,
}

impl TableReport {
    pub fn is_clean(&self) -> bool {
        self.missing.count == 0 && self.extra.count == 0 && self.different.count == 0
    }
}

/// What was read from one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicReport {
    pub topic: String,
    pub records: u64,
    /// Row records of tables outside the project, ignored.
    pub other_records: u64,
    /// `None` for Canal, whose `id` is no storeDataSequence.
    pub sequence: Option<SequenceCheck>,
}

/// The whole verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub project: String,
    pub topics: Vec<TopicReport>,
    pub tables: Vec<TableReport>,
    /// Objects the project's rules match that are not synced, with the reason.
    pub excluded: Vec<(TableId, String)>,
}

impl VerifyReport {
    /// No differences and no `storeDataSequence` going back.
    pub fn is_clean(&self) -> bool {
        self.tables.iter().all(TableReport::is_clean)
            && self
                .topics
                .iter()
                .all(|t| t.sequence.as_ref().is_none_or(|s| s.regressions == 0))
    }
}

/// Verifies every table of the project `settings` describes.
pub async fn verify(
    settings: &Settings,
    options: &VerifyOptions,
    progress: ProgressFn,
) -> Result<VerifyReport, VerifyError> {
    let metadata = MetadataReader::from_endpoint(&settings.source);
    let plan = plan::resolve(&settings.config, &metadata).await?;
    let pool = settings.source.pool().await?;
    let mut report = VerifyReport {
        project: settings.name.clone(),
        topics: Vec::new(),
        tables: Vec::new(),
        excluded: plan.excluded.clone(),
    };
    for (topic, ids) in plan.topics() {
        let metas: Vec<Arc<TableMeta>> =
            ids.iter().map(|id| plan.tables[*id].meta.clone()).collect();
        let readers: Vec<SnapshotReader> = metas
            .iter()
            .map(|m| {
                SnapshotReader::new(pool.clone(), m.clone(), options.chunk_rows)
                    .on_server(&plan.server)
            })
            .collect();
        let mut check =
            TopicCheck::open(settings, topic, &metas, options, progress.clone()).await?;
        let (topic_report, tables) = check.run(&readers, &plan.server).await?;
        report.topics.push(topic_report);
        report.tables.extend(tables);
    }
    let _ = pool.disconnect().await;
    Ok(report)
}

/// One topic's verification: its reader, what it rebuilt and the pending re-checks.
struct TopicCheck {
    reader: Option<TopicReader>,
    rebuild: Option<TopicRebuild>,
    options: VerifyOptions,
    progress: ProgressFn,
    topic: String,
}

/// One table's comparison in progress.
struct Pending {
    report: TableReport,
    /// Keyed tables: the keys still differing.
    candidates: Candidates,
    /// Tables without a key: whether the last pass differed.
    multiset_differs: bool,
}

impl TopicCheck {
    async fn open(
        settings: &Settings,
        topic: &str,
        metas: &[Arc<TableMeta>],
        options: &VerifyOptions,
        progress: ProgressFn,
    ) -> Result<Self, VerifyError> {
        let target = settings.kafka.clone();
        let (name, timeout) = (topic.to_owned(), options.kafka_timeout);
        let reader =
            tokio::task::spawn_blocking(move || TopicReader::open(&target, &name, timeout))
                .await
                .map_err(|e| {
                    VerifyError::Internal(format!("the Kafka reader thread failed: {e}"))
                })??;
        let mut check = Self {
            reader: Some(reader),
            rebuild: Some(TopicRebuild::new(topic, &settings.format, metas)),
            options: options.clone(),
            progress,
            topic: topic.to_owned(),
        };
        check.read_tail().await?;
        Ok(check)
    }

    /// Reads the topic on from where it stopped up to fresh high watermarks.
    async fn read_tail(&mut self) -> Result<(), VerifyError> {
        let (Some(mut reader), Some(mut rebuild)) = (self.reader.take(), self.rebuild.take())
        else {
            return Err(VerifyError::Internal("the topic reader is gone".into()));
        };
        let progress = self.progress.clone();
        let (reader, rebuild, read) = tokio::task::spawn_blocking(move || {
            let read = reader.read_to_watermarks(|record| {
                rebuild.apply(record);
                if rebuild.records % 10_000 == 0 {
                    progress(Progress::TopicRead {
                        topic: rebuild.topic.clone(),
                        records: rebuild.records,
                    });
                }
            });
            (reader, rebuild, read)
        })
        .await
        .map_err(|e| VerifyError::Internal(format!("the Kafka reader thread failed: {e}")))?;
        self.reader = Some(reader);
        let rebuild = self.rebuild.insert(rebuild);
        read?;
        if let Some(e) = rebuild.error.take() {
            return Err(e);
        }
        (self.progress)(Progress::TopicRead {
            topic: self.topic.clone(),
            records: rebuild.records,
        });
        Ok(())
    }

    fn rebuild(&mut self) -> &mut TopicRebuild {
        self.rebuild.as_mut().expect("present between reads")
    }

    async fn run(
        &mut self,
        readers: &[SnapshotReader],
        server: &ServerInfo,
    ) -> Result<(TopicReport, Vec<TableReport>), VerifyError> {
        let mut pending = Vec::new();
        for reader in readers {
            pending.push(self.first_pass(reader, server).await?);
        }
        for round in 1..=self.options.rechecks {
            let keys: usize = pending
                .iter()
                .map(|p| p.candidates.len() + usize::from(p.multiset_differs))
                .sum();
            if keys == 0 {
                break;
            }
            (self.progress)(Progress::Recheck {
                topic: self.topic.clone(),
                round,
                keys,
            });
            tokio::time::sleep(FIRST_RECHECK_WAIT * 2u32.pow(round - 1)).await;
            self.recheck(readers, &mut pending).await?;
        }
        let examples = self.options.examples;
        let mut tables = Vec::new();
        for (reader, mut p) in readers.iter().zip(pending) {
            if p.multiset_differs {
                self.multiset_verdict(reader, &mut p.report).await?;
            }
            for (key, values) in &p.candidates {
                let source = compare::source_row(reader, values.as_deref()).await?;
                let topic = self.rebuilt(&reader.meta().id, key);
                let kind = match (source, topic) {
                    // Settled at this last look.
                    (source, topic) if source == topic => continue,
                    (Some(_), None) => &mut p.report.missing,
                    (None, Some(_)) => &mut p.report.extra,
                    _ => &mut p.report.different,
                };
                kind.add(key, 1, examples);
            }
            tables.push(p.report);
        }
        let rebuild = self.rebuild();
        let topic = TopicReport {
            topic: rebuild.topic.clone(),
            records: rebuild.records,
            other_records: rebuild.other_records,
            sequence: rebuild.sequence.clone(),
        };
        Ok((topic, tables))
    }

    fn rebuilt(&mut self, table: &TableId, key: &str) -> Option<Image> {
        self.rebuild().tables[table]
            .rows
            .get(key)
            .map(|e| e.image.clone())
    }

    async fn first_pass(
        &mut self,
        reader: &SnapshotReader,
        server: &ServerInfo,
    ) -> Result<Pending, VerifyError> {
        let meta = reader.meta().clone();
        let progress = self.progress.clone();
        let topic = self.topic.clone();
        let state = self
            .rebuild()
            .tables
            .get_mut(&meta.id)
            .expect("every table of the topic is rebuilt");
        let rows_in_topic = state.row_count();
        let mut report = TableReport {
            table: meta.id.clone(),
            topic,
            comparison: Comparison::Multiset,
            rows_checked: 0,
            rows_in_topic,
            missing: Keys::default(),
            extra: Keys::default(),
            different: Keys::default(),
            rechecked: 0,
            positions: None,
        };
        if state.keyless() {
            let at = compare::position(reader, server).await?;
            let source = compare::source_multiset(reader).await?;
            report.rows_checked = source.values().map(|e| e.count).sum();
            report.positions = at.map(|a| (a.clone(), a));
            let (missing, extra) = compare::multiset_diff(&source, &state.rows);
            return Ok(Pending {
                report,
                candidates: Candidates::new(),
                multiset_differs: !missing.is_empty() || !extra.is_empty(),
            });
        }
        report.comparison = Comparison::ByKey(
            meta.key
                .iter()
                .map(|&i| meta.columns[i].name.clone())
                .collect(),
        );
        let pass = compare::first_pass(reader, server, state, &progress).await?;
        report.rows_checked = pass.rows_checked;
        report.positions = pass.positions;
        Ok(Pending {
            report,
            candidates: pass.candidates,
            multiset_differs: false,
        })
    }

    /// One re-check round over every table of the topic.
    async fn recheck(
        &mut self,
        readers: &[SnapshotReader],
        pending: &mut [Pending],
    ) -> Result<(), VerifyError> {
        let mut before: Vec<BTreeMap<String, Option<Image>>> = Vec::new();
        for (reader, p) in readers.iter().zip(pending.iter()) {
            let mut rows = BTreeMap::new();
            for (key, values) in &p.candidates {
                rows.insert(
                    key.clone(),
                    compare::source_row(reader, values.as_deref()).await?,
                );
            }
            before.push(rows);
        }
        self.read_tail().await?;
        for ((reader, p), before) in readers.iter().zip(pending.iter_mut()).zip(before) {
            let mut still = Candidates::new();
            for (key, values) in std::mem::take(&mut p.candidates) {
                p.report.rechecked += 1;
                let topic = self.rebuilt(&reader.meta().id, &key);
                let after = compare::source_row(reader, values.as_deref()).await?;
                if topic != before[&key] && topic != after {
                    still.insert(key, values);
                }
            }
            p.candidates = still;
            if p.multiset_differs {
                p.report.rechecked += 1;
                let source = compare::source_multiset(reader).await?;
                let state = &self.rebuild().tables[&reader.meta().id];
                let (missing, extra) = compare::multiset_diff(&source, &state.rows);
                p.multiset_differs = !missing.is_empty() || !extra.is_empty();
                p.report.rows_checked = source.values().map(|e| e.count).sum();
            }
        }
        Ok(())
    }

    /// Fills the missing and extra rows of a table without a key that still differs.
    async fn multiset_verdict(
        &mut self,
        reader: &SnapshotReader,
        report: &mut TableReport,
    ) -> Result<(), VerifyError> {
        let examples = self.options.examples;
        let source = compare::source_multiset(reader).await?;
        let state = &self.rebuild().tables[&reader.meta().id];
        let (missing, extra) = compare::multiset_diff(&source, &state.rows);
        for (key, copies) in missing {
            report.missing.add(&key, copies, examples);
        }
        for (key, copies) in extra {
            report.extra.add(&key, copies, examples);
        }
        Ok(())
    }
}
