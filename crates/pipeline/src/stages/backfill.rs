//! Watermark backfill: the existing rows of a table that joined a streaming project (or
//! is re-synced), snapshotted while the change log keeps flowing, without a lock and
//! without writing to the source (the DBLog approach; Debezium's incremental snapshots
//! and Flink CDC's newly added tables work alike).
//!
//! For each key-ordered chunk: read the change-log position (low), SELECT the chunk, read
//! the position again (high), and hold the chunk's rows. While the stream runs, a change
//! of that table in a transaction that began between low and high whose key is held
//! drops the held row: that change is newer or as new, and is sent anyway. When the
//! stream reaches high, the rows still held are sent as snapshot rows (the messages of
//! full sync) followed by a mark, so the checkpoint records the chunk only once Kafka
//! has acknowledged it; the next chunk starts then. A row held to the end was not
//! changed between low and high, so it equals the source at a point between them:
//! every earlier change of its key was sent before it, every later one after it.
//!
//! [`Window`] is that rule without I/O; [`Backfiller`] drives it from the incremental
//! stage, fed with events and positions, whichever reader produces them. One chunk is
//! read at a time, inline: the stream waits for the three queries of a chunk.

use crate::checkpoint::BackfillProgress;
use crate::delivery::Mark;
use crate::emit::{Emitter, Route};
use crate::plan::ProjectPlan;
use crate::project::RunContext;
use crate::stages::full::current_position;
use crate::RunError;
use obsync_format::SnapshotMarker;
use obsync_model::{BinlogCoord, Change, Row, RowChange, TableId, TableMeta, Value};
use obsync_source::snapshot::SnapshotReader;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

/// One chunk held between its low and high watermarks.
#[derive(Debug)]
pub struct Window {
    pub table: TableId,
    low: BinlogCoord,
    high: BinlogCoord,
    key: Vec<usize>,
    /// The chunk's rows in key order; `None` once a change of the window dropped it.
    rows: Vec<Option<Row>>,
    /// A row's key (as text, see [`key_text`]) → its index in `rows`.
    index: HashMap<String, usize>,
    /// The key of the chunk's last row, to read the next chunk after; `None`: the
    /// table's last chunk.
    pub last_key: Option<Vec<Value>>,
}

/// A key's identity for matching change-log rows with chunk rows. Both are decoded into
/// the same model values by the column's metadata (snapshot text and binlog rows agree,
/// which `obsync verify` relies on too); the debug text makes them hashable.
fn key_text(row: &Row, key: &[usize]) -> Option<String> {
    let values: Option<Vec<&Value>> = key.iter().map(|&i| row.get(i)).collect();
    values.map(|v| format!("{v:?}"))
}

impl Window {
    /// The chunk `rows` of `meta`'s table, read between positions `low` and `high`.
    pub fn new(
        meta: &TableMeta,
        low: BinlogCoord,
        high: BinlogCoord,
        rows: Vec<Row>,
        last_key: Option<Vec<Value>>,
    ) -> Self {
        let key = meta.key.clone();
        let index = rows
            .iter()
            .enumerate()
            .filter_map(|(i, r)| key_text(r, &key).map(|k| (k, i)))
            .collect();
        Self {
            table: meta.id.clone(),
            low,
            high,
            key,
            rows: rows.into_iter().map(Some).collect(),
            index,
            last_key,
        }
    }

    /// A change-log row of any table, in a transaction whose first event is at `start`.
    pub fn on_change(&mut self, start: &BinlogCoord, change: &Change) {
        if change.table.id != self.table || *start < self.low || *start >= self.high {
            return;
        }
        let images: Vec<&Row> = match &change.row {
            RowChange::Insert { after } => vec![after],
            RowChange::Update { before, after } => vec![before, after],
            RowChange::Delete { before } => vec![before],
            RowChange::Snapshot { row } => vec![row],
        };
        for image in images {
            if let Some(&i) = key_text(image, &self.key).and_then(|k| self.index.get(&k)) {
                self.rows[i] = None;
            }
        }
    }

    /// Whether a stream that has processed everything up to `at` is past the window.
    pub fn passed(&self, at: &BinlogCoord) -> bool {
        *at >= self.high
    }

    /// The rows still held, in key order.
    pub fn into_rows(self) -> (Vec<Row>, Option<Vec<Value>>) {
        (self.rows.into_iter().flatten().collect(), self.last_key)
    }
}

/// One table to backfill.
struct Job {
    meta: Arc<TableMeta>,
    route: Route,
    reader: SnapshotReader,
    last_key: Option<Vec<Value>>,
    chunk: u64,
}

/// Backfills tables one after the other, chunk by chunk, inside the incremental stage.
pub struct Backfiller {
    jobs: VecDeque<Job>,
    window: Option<Window>,
}

impl Backfiller {
    /// The backfills of `pending` (table → saved progress) that are not done, in table
    /// order; `None` when there are none.
    pub async fn new(
        ctx: &RunContext,
        plan: &ProjectPlan,
        routes: &BTreeMap<TableId, Route>,
        pending: &BTreeMap<String, BackfillProgress>,
    ) -> Result<Option<Self>, RunError> {
        let todo: Vec<(&TableId, &BackfillProgress)> = plan
            .tables
            .keys()
            .filter_map(|id| {
                pending
                    .get(&id.to_string())
                    .filter(|p| !p.done)
                    .map(|p| (id, p))
            })
            .collect();
        if todo.is_empty() {
            return Ok(None);
        }
        let s = &ctx.settings;
        let pool = s.source.pool().await?;
        let jobs = todo
            .into_iter()
            .map(|(id, progress)| {
                let meta = plan.tables[id].meta.clone();
                Job {
                    reader: SnapshotReader::new(pool.clone(), meta.clone(), s.snapshot_chunk_rows)
                        .on_server(&plan.server),
                    meta,
                    route: routes[id].clone(),
                    last_key: progress.last_key.clone(),
                    chunk: progress.chunks,
                }
            })
            .collect();
        Ok(Some(Self { jobs, window: None }))
    }

    /// A change-log row, in a transaction whose first event is at `start`.
    pub fn on_change(&mut self, start: &BinlogCoord, change: &Change) {
        if let Some(w) = &mut self.window {
            w.on_change(start, change);
        }
    }

    /// Keeps the backfill going with a stream that has processed everything up to `at`
    /// (a transaction boundary): sends every window the stream has passed and opens the
    /// next one.
    pub async fn advance(
        &mut self,
        ctx: &RunContext,
        plan: &ProjectPlan,
        emitter: &mut Emitter,
        at: &BinlogCoord,
    ) -> Result<(), RunError> {
        loop {
            if self.window.is_none() {
                if self.jobs.is_empty() || ctx.stop_requested() {
                    return Ok(());
                }
                self.open(ctx, plan).await?;
            }
            match &self.window {
                Some(w) if w.passed(at) => self.send(ctx, emitter).await?,
                _ => return Ok(()),
            }
        }
    }

    /// Reads the next chunk of the first table between its watermarks.
    async fn open(&mut self, ctx: &RunContext, plan: &ProjectPlan) -> Result<(), RunError> {
        let job = self.jobs.front().expect("a job is left");
        let low = current_position(ctx, plan).await?.coord;
        let chunk = job.reader.read_chunk(job.last_key.as_deref()).await?;
        let high = current_position(ctx, plan).await?.coord;
        tracing::debug!(table = %job.meta.id, chunk = job.chunk, rows = chunk.rows.len(), %low, %high, "backfill chunk read");
        self.window = Some(Window::new(
            &job.meta,
            low,
            high,
            chunk.rows,
            chunk.last_key,
        ));
        Ok(())
    }

    /// Sends what the window holds, then the mark of its chunk.
    async fn send(&mut self, ctx: &RunContext, emitter: &mut Emitter) -> Result<(), RunError> {
        let window = self.window.take().expect("a window is open");
        let job = self.jobs.front_mut().expect("a job is left");
        let (rows, last_key) = window.into_rows();
        let n = rows.len() as u64;
        for row in rows {
            crate::stages::full::send_snapshot_row(
                ctx,
                emitter,
                &job.meta,
                &job.route,
                row,
                job.chunk,
                SnapshotMarker::True,
            )
            .await?;
        }
        let done = last_key.is_none();
        let table = job.meta.id.to_string();
        emitter
            .mark(Mark::BackfillChunk {
                table: table.clone(),
                last_key: last_key.clone(),
                rows: n,
                done,
                at: Emitter::now_ms() / 1000,
            })
            .await?;
        job.chunk += 1;
        if last_key.is_some() {
            job.last_key = last_key;
        }
        if done {
            tracing::info!(table = %table, chunks = job.chunk, "backfill finished");
            ctx.status
                .add_notice(crate::NoticeMessage::BackfillFinished {
                    table: table.to_string(),
                });
            self.jobs.pop_front();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_model::{ChangeOrigin, Column, ColumnType, KeySource};

    fn meta() -> Arc<TableMeta> {
        Arc::new(TableMeta {
            id: TableId::new("shop", "orders"),
            columns: vec![
                Column::new("id", ColumnType::Int),
                Column::new("v", ColumnType::Int),
            ],
            key: vec![0],
            key_source: KeySource::PrimaryKey,
            primary_key: vec![0],
            unique_keys: vec![],
            estimated_rows: 0,
        })
    }

    fn at(pos: u64) -> BinlogCoord {
        BinlogCoord::new("mysql-bin.000001", pos)
    }

    fn row(id: i64, v: i64) -> Row {
        vec![Value::Int(id), Value::Int(v)]
    }

    fn change(meta: &Arc<TableMeta>, row: RowChange) -> Change {
        Change {
            table: meta.clone(),
            row,
            origin: ChangeOrigin::Snapshot { chunk: 0 },
        }
    }

    fn window() -> Window {
        Window::new(
            &meta(),
            at(100),
            at(200),
            vec![row(1, 10), row(2, 20), row(3, 30)],
            Some(vec![Value::Int(3)]),
        )
    }

    #[test]
    fn a_change_between_the_watermarks_drops_the_held_row_of_its_key() {
        let m = meta();
        let mut w = window();
        w.on_change(
            &at(150),
            &change(
                &m,
                RowChange::Update {
                    before: row(2, 20),
                    after: row(2, 21),
                },
            ),
        );
        let (rows, last) = w.into_rows();
        assert_eq!(rows, vec![row(1, 10), row(3, 30)]);
        assert_eq!(last, Some(vec![Value::Int(3)]));
    }

    #[test]
    fn a_delete_between_the_watermarks_drops_the_row_too() {
        let m = meta();
        let mut w = window();
        w.on_change(
            &at(100),
            &change(&m, RowChange::Delete { before: row(1, 10) }),
        );
        assert_eq!(w.into_rows().0, vec![row(2, 20), row(3, 30)]);
    }

    #[test]
    fn changes_before_low_or_from_high_on_leave_the_chunk_alone() {
        let m = meta();
        let mut w = window();
        // Committed before the chunk was read: the chunk row is newer.
        w.on_change(
            &at(99),
            &change(&m, RowChange::Delete { before: row(1, 10) }),
        );
        // Begun after high: sent after the chunk, so it wins downstream.
        w.on_change(
            &at(200),
            &change(&m, RowChange::Delete { before: row(2, 20) }),
        );
        assert_eq!(w.into_rows().0.len(), 3);
    }

    #[test]
    fn a_key_moving_update_drops_both_its_old_and_new_key() {
        let m = meta();
        let mut w = window();
        w.on_change(
            &at(120),
            &change(
                &m,
                RowChange::Update {
                    before: row(1, 10),
                    after: row(3, 10),
                },
            ),
        );
        assert_eq!(w.into_rows().0, vec![row(2, 20)]);
    }

    #[test]
    fn other_tables_and_unknown_keys_change_nothing() {
        let mut other = (*meta()).clone();
        other.id = TableId::new("shop", "items");
        let other = Arc::new(other);
        let m = meta();
        let mut w = window();
        w.on_change(
            &at(150),
            &change(&other, RowChange::Delete { before: row(1, 10) }),
        );
        w.on_change(
            &at(150),
            &change(&m, RowChange::Insert { after: row(9, 90) }),
        );
        assert_eq!(w.into_rows().0.len(), 3);
    }

    #[test]
    fn the_window_is_passed_once_the_stream_reaches_high() {
        let w = window();
        assert!(!w.passed(&at(199)));
        assert!(w.passed(&at(200)));
        assert!(w.passed(&BinlogCoord::new("mysql-bin.000002", 4)));
    }
}
