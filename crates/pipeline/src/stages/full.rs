//! Full sync: snapshot every table in key-ordered chunks, in parallel across tables,
//! resuming each table after its last acknowledged chunk.

use crate::checkpoint::ProjectState;
use crate::delivery::Mark;
use crate::emit::{Emitter, Route};
use crate::plan::{ProjectPlan, TablePlan};
use crate::project::RunContext;
use crate::status::{Stage, TableStatus};
use crate::RunError;
use obsync_format::{MessageContext, SnapshotMarker};
use obsync_model::{Change, ChangeOrigin, KeySource, LogPosition, RowChange, TableId};
use obsync_source::snapshot::{KeyRange, SnapshotReader};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::task::JoinSet;

/// How the full stage ended.
pub struct FullOutcome {
    /// `false` when stopped before every table finished.
    pub completed: bool,
    /// The change-log position this run recorded before reading (None when an earlier
    /// run recorded it, or without incremental sync).
    pub recorded_start: Option<LogPosition>,
}

pub async fn run(
    ctx: &RunContext,
    plan: &ProjectPlan,
    routes: &BTreeMap<TableId, Route>,
    state: &ProjectState,
    emitter: &Emitter,
) -> Result<FullOutcome, RunError> {
    ctx.status.set_stage(Stage::Full);
    let s = ctx.settings.clone();
    let mut recorded_start = None;
    if s.sync.incremental && state.snapshot_start.is_none() {
        // Recorded before any row is read: streaming from here afterwards replays
        // every change committed during the snapshot (duplicates, never gaps).
        let position = current_position(ctx, plan).await?;
        tracing::info!(%position, "change-log position recorded before the snapshot");
        emitter
            .mark(Mark::SnapshotStart {
                position: position.clone(),
                definitions: plan.tables.values().map(|t| (*t.meta).clone()).collect(),
            })
            .await?;
        recorded_start = Some(position);
    }
    // Debezium's full-sync rows name the change-log position of the snapshot's start
    // and mark the first and last rows.
    let mut emitter = emitter.clone();
    let markers = if s.format.kind.has_snapshot_markers() {
        if let Some(p) = state.snapshot_start.as_ref().or(recorded_start.as_ref()) {
            emitter.set_snapshot_position(&p.coord);
        }
        let unfinished = plan
            .tables
            .keys()
            .filter(|id| !state.tables.get(&id.to_string()).is_some_and(|p| p.done))
            .count();
        Some(Arc::new(Markers {
            first_sent: AtomicBool::new(false),
            tables_left: AtomicUsize::new(unfinished),
        }))
    } else {
        None
    };
    let emitter = &emitter;
    let pool = s.source.pool().await?;
    let mut tasks = JoinSet::new();
    let limit = Arc::new(tokio::sync::Semaphore::new(s.snapshot_parallelism));
    // The source's slots, shared with every snapshot of the process on it
    // (`obsync_source::snapshot_slots`): projects snapshotting together take turns.
    let slots = obsync_source::snapshot_slots::for_source(&s.source.address());
    for (id, table) in &plan.tables {
        let name = id.to_string();
        let progress = state.tables.get(&name).cloned().unwrap_or_default();
        let reader = Arc::new(
            SnapshotReader::new(pool.clone(), table.meta.clone(), s.snapshot_chunk_rows)
                .on_server(&plan.server),
        );
        let estimated = match reader.estimate_rows().await {
            Ok(e) => e.rows,
            Err(_) => table.meta.estimated_rows,
        };
        ctx.status.set_table(
            &name,
            TableStatus {
                rows_done: progress.rows,
                rows_estimated: estimated,
                done: progress.done,
            },
        );
        ctx.metrics
            .snapshot_rows_estimated
            .with_label_values(&[&name])
            .set(estimated as i64);
        ctx.metrics
            .snapshot_rows_done
            .with_label_values(&[&name])
            .set(progress.rows as i64);
        if progress.done {
            continue;
        }
        let parts = plan_parts(ctx, &reader, &progress, estimated, emitter, &name).await?;
        let remaining = Arc::new(std::sync::atomic::AtomicUsize::new(parts.len()));
        let table_first = Arc::new(AtomicBool::new(false));
        let table_last = Arc::new(AtomicBool::new(false));
        for (range, key_range, last_key) in parts {
            let job = TableJob {
                ctx: ctx.clone(),
                table: table.clone(),
                route: routes[id].clone(),
                emitter: emitter.clone(),
                range,
                key_range,
                last_key,
                remaining: remaining.clone(),
                markers: markers.clone(),
                table_first: table_first.clone(),
                table_last: table_last.clone(),
            };
            let reader = reader.clone();
            let limit = limit.clone();
            let slots = slots.clone();
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                let _slot = slots.acquire_owned().await;
                job.run(reader).await
            });
        }
    }
    let mut completed = true;
    while let Some(joined) = tasks.join_next().await {
        let finished = joined.map_err(|e| RunError::Internal(format!("snapshot task: {e}")))??;
        completed &= finished;
    }
    let _ = pool.disconnect().await;
    Ok(FullOutcome {
        completed: completed && !ctx.stop_requested(),
        recorded_start,
    })
}

/// One unit of parallel snapshot work: (range index, key range, resume key).
type Part = (Option<usize>, KeyRange, Option<Vec<obsync_model::Value>>);

/// Decides how a table is read: the ranges of an interrupted parallel read, else the
/// single-range resume point, else — for a big table with an integer key and
/// parallelism to spare — new key ranges, saved before any of their rows is read.
async fn plan_parts(
    ctx: &RunContext,
    reader: &SnapshotReader,
    progress: &crate::checkpoint::TableProgress,
    estimated: u64,
    emitter: &Emitter,
    name: &str,
) -> Result<Vec<Part>, RunError> {
    let s = &ctx.settings;
    if !progress.ranges.is_empty() {
        return Ok(progress
            .ranges
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.done)
            .map(|(i, r)| (Some(i), r.range.clone(), r.last_key.clone()))
            .collect());
    }
    let fresh = progress.last_key.is_none() && progress.rows == 0;
    // Below a few chunks, splitting costs more round trips than it saves.
    let big = estimated > 4 * s.snapshot_chunk_rows as u64;
    if fresh && big && reader.is_chunked() && s.snapshot_parallelism > 1 {
        let ranges = reader.key_ranges(s.snapshot_parallelism).await?;
        if ranges.len() > 1 {
            tracing::info!(table = %name, ranges = ranges.len(), "snapshot in parallel key ranges");
            emitter
                .mark(Mark::RangesPlanned {
                    table: name.to_string(),
                    ranges: ranges.clone(),
                })
                .await?;
            return Ok(ranges
                .into_iter()
                .enumerate()
                .map(|(i, r)| (Some(i), r, None))
                .collect());
        }
    }
    Ok(vec![(None, KeyRange::all(), progress.last_key.clone())])
}

pub(crate) async fn current_position(
    ctx: &RunContext,
    plan: &ProjectPlan,
) -> Result<LogPosition, RunError> {
    let mut conn = ctx.settings.source.connect().await?;
    obsync_source::position::current_position(&mut conn, &plan.server)
        .await
        .map_err(|e| RunError::Snapshot(e.into()))
}

struct TableJob {
    ctx: RunContext,
    table: TablePlan,
    route: Route,
    emitter: Emitter,
    /// The range index when the table is read in parallel ranges.
    range: Option<usize>,
    key_range: KeyRange,
    last_key: Option<Vec<obsync_model::Value>>,
    /// Parts of the table not finished yet; the last one to finish marks the table.
    remaining: Arc<std::sync::atomic::AtomicUsize>,
    /// Debezium's snapshot markers (`None` for other formats).
    markers: Option<Arc<Markers>>,
    /// Whether the table's first row has been sent (shared by its parts).
    table_first: Arc<AtomicBool>,
    /// Whether the table has left `Markers::tables_left` (its last row, or its end).
    table_last: Arc<AtomicBool>,
}

/// What Debezium's snapshot markers need to know across tables.
struct Markers {
    first_sent: AtomicBool,
    /// Tables whose snapshot has not finished.
    tables_left: AtomicUsize,
}

impl TableJob {
    /// Reads this part (the table, or one key range of it) chunk by chunk. Returns
    /// `false` when stopped before it finished.
    async fn run(mut self, reader: Arc<SnapshotReader>) -> Result<bool, RunError> {
        let name = self.table.meta.id.to_string();
        tracing::info!(table = %name, range = ?self.range, resume_after = ?self.last_key, "snapshot starts");
        if self.table.meta.key_source == KeySource::AllColumns {
            return self.run_without_key(reader, &name).await;
        }
        let mut chunk_no = 0u64;
        // Debezium marks a table's last row, which is known only when the next read comes
        // back empty: then each chunk's last row, and the chunk's mark after it, wait for
        // the next read (the mark still follows every row of its chunk).
        let mut held: Option<(obsync_model::Row, u64)> = None;
        loop {
            if !self.ctx.proceed().await {
                return Ok(false);
            }
            let chunk = reader
                .read_chunk_in(&self.key_range, self.last_key.as_deref())
                .await?;
            let done = chunk.last_key.is_none();
            let mut rows = chunk.rows;
            if let Some((row, n)) = held.take() {
                self.send_row(row, chunk_no - 1, done && rows.is_empty())
                    .await?;
                self.chunk_done(&name, n, false).await?;
            }
            let kept = if self.markers.is_some() && !done {
                rows.pop()
            } else {
                None
            };
            let n = rows.len() as u64 + kept.is_some() as u64;
            let count = rows.len();
            for (i, row) in rows.into_iter().enumerate() {
                self.send_row(row, chunk_no, done && i + 1 == count).await?;
            }
            chunk_no += 1;
            if chunk.last_key.is_some() {
                self.last_key = chunk.last_key;
            }
            if let Some(row) = kept {
                held = Some((row, n));
                continue;
            }
            if self.chunk_done(&name, n, done).await? {
                return Ok(true);
            }
        }
    }

    /// Marks a chunk of `n` rows sent (after every one of its rows); `true` when it was
    /// the part's last.
    async fn chunk_done(&mut self, name: &str, n: u64, done: bool) -> Result<bool, RunError> {
        self.emitter
            .mark(Mark::ChunkDone {
                table: name.to_string(),
                range: self.range,
                last_key: self.last_key.clone(),
                rows: n,
                done,
            })
            .await?;
        self.ctx
            .metrics
            .snapshot_rows_done
            .with_label_values(&[name])
            .add(n as i64);
        let table_done = done && self.remaining.fetch_sub(1, Ordering::AcqRel) == 1;
        self.ctx.status.add_table_rows(name, n, table_done);
        if table_done {
            tracing::info!(table = %name, "snapshot finished");
            self.table_left();
        }
        Ok(done)
    }

    /// A table without a usable key is read in one scan; an interruption restarts the
    /// table (its rows are delivered again: at-least-once).
    async fn run_without_key(
        mut self,
        reader: Arc<SnapshotReader>,
        name: &str,
    ) -> Result<bool, RunError> {
        let (tx, mut rx) = tokio::sync::mpsc::channel(4);
        let scan = tokio::spawn(async move { reader.stream_all(tx).await });
        let mut rows = 0u64;
        // One row is held back so the table's last one can carry its snapshot marker
        // (safe: the table's only mark comes after the scan).
        let mut held = None;
        while let Some(batch) = rx.recv().await {
            if !self.ctx.proceed().await {
                scan.abort();
                return Ok(false);
            }
            let n = batch.len() as u64;
            for row in batch {
                if let Some(prev) = held.replace(row) {
                    self.send_row(prev, 0, false).await?;
                }
            }
            rows += n;
            self.ctx.status.add_table_rows(name, n, false);
        }
        scan.await
            .map_err(|e| RunError::Internal(format!("snapshot scan: {e}")))??;
        if let Some(last) = held {
            self.send_row(last, 0, true).await?;
        }
        self.table_left();
        self.emitter
            .mark(Mark::ChunkDone {
                table: name.to_string(),
                range: None,
                last_key: None,
                rows,
                done: true,
            })
            .await?;
        self.ctx.status.add_table_rows(name, 0, true);
        self.ctx
            .metrics
            .snapshot_rows_done
            .with_label_values(&[name])
            .add(rows as i64);
        Ok(true)
    }

    /// A table without rows (or whose last row carried no marker) leaves the count of
    /// tables still to finish when it ends.
    fn table_left(&self) {
        if let Some(m) = &self.markers {
            if !self.table_last.swap(true, Ordering::AcqRel) {
                m.tables_left.fetch_sub(1, Ordering::AcqRel);
            }
        }
    }

    /// Debezium's `source.snapshot` of a row; `last_of_part`: no row of this part follows.
    fn marker(&self, last_of_part: bool) -> SnapshotMarker {
        let Some(m) = &self.markers else {
            return SnapshotMarker::True;
        };
        let first_of_table = !self.table_first.swap(true, Ordering::AcqRel);
        if first_of_table && !m.first_sent.swap(true, Ordering::AcqRel) {
            return SnapshotMarker::First;
        }
        let last_of_table = last_of_part && self.remaining.load(Ordering::Acquire) == 1;
        // Exactly one table sees 1 here: the one whose last row comes last.
        if last_of_table && !self.table_last.swap(true, Ordering::AcqRel) {
            if m.tables_left.fetch_sub(1, Ordering::AcqRel) == 1 {
                return SnapshotMarker::Last;
            }
            return SnapshotMarker::LastInDataCollection;
        }
        if first_of_table {
            SnapshotMarker::FirstInDataCollection
        } else {
            SnapshotMarker::True
        }
    }

    async fn send_row(
        &mut self,
        row: obsync_model::Row,
        chunk: u64,
        last_of_part: bool,
    ) -> Result<(), RunError> {
        let marker = self.marker(last_of_part);
        send_snapshot_row(
            &self.ctx,
            &mut self.emitter,
            &self.table.meta,
            &self.route,
            row,
            chunk,
            marker,
        )
        .await
    }
}

/// Sends one snapshot row of `meta`'s table: the messages of full sync, which a backfill
/// (`stages::backfill`) sends too.
pub(crate) async fn send_snapshot_row(
    ctx: &RunContext,
    emitter: &mut Emitter,
    meta: &Arc<obsync_model::TableMeta>,
    route: &Route,
    row: obsync_model::Row,
    chunk: u64,
    marker: SnapshotMarker,
) -> Result<(), RunError> {
    let change = Change {
        table: meta.clone(),
        row: RowChange::Snapshot { row },
        origin: ChangeOrigin::Snapshot { chunk },
    };
    let now_ms = Emitter::now_ms();
    let msg = MessageContext {
        sequence: 0,
        checkpoint_secs: now_ms / 1000,
        now_ms,
        message_id: ctx.message_ids.fetch_add(1, Ordering::Relaxed) + 1,
        txn_sequence: None,
        snapshot: marker,
        ..Default::default()
    };
    ctx.status.rows_read.fetch_add(1, Ordering::Relaxed);
    route.read.inc();
    emitter.change(&change, route, &msg, None).await?;
    Ok(())
}
