//! Ordered acknowledgement tracking: turns Kafka acknowledgements into checkpoints.
//!
//! Producers push every sent message's acknowledgement future and, between them,
//! [`Mark`]s ("everything before me belongs to this finished chunk / committed
//! transaction"). The tracker awaits acknowledgements in send order, so when it reaches
//! a mark every earlier message is acknowledged and the mark may enter the state.
//!
//! Architecture invariant: this is the only place that advances the checkpoint, and it
//! advances only past acknowledged messages.

use crate::checkpoint::{
    ChangeCounts, ChangeKind, CheckpointError, CheckpointWriter, IncrementalCheckpoint,
    ProjectState, RangeProgress, SharedCheckpoints, Snapshot,
};
use crate::status::WarningCause;
use obsync_kafka::ProduceError;
use obsync_model::{LogPosition, TableMeta, Value};
use obsync_source::snapshot::KeyRange;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// Something that becomes true once all earlier messages are acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub enum Mark {
    SchemaDone,
    /// Recorded before the first snapshot row is read, with the tables' definitions then.
    SnapshotStart {
        position: LogPosition,
        definitions: Vec<TableMeta>,
    },
    /// `table` will be read in these key ranges (saved before any of their rows).
    RangesPlanned {
        table: String,
        ranges: Vec<KeyRange>,
    },
    /// A snapshot chunk of `table` (of key range `range`, if read in ranges) is fully
    /// delivered; `done` says the table (or the range) is finished.
    ChunkDone {
        table: String,
        range: Option<usize>,
        last_key: Option<Vec<Value>>,
        rows: u64,
        done: bool,
    },
    FullDone,
    /// A source transaction (or skipped stretch of log) is fully delivered;
    /// `definitions` is set when the tables' definitions in force changed.
    Committed {
        position: LogPosition,
        /// The transaction's commit time (Unix s); `None` for a stretch of other tables'
        /// changes, whose times (any session may `SET TIMESTAMP`) say nothing about the
        /// project's tables. The checkpoint's time only moves forward: see
        /// [`checkpoint_time`].
        timestamp: Option<u32>,
        definitions: Option<Vec<TableMeta>>,
    },
    /// At wall time `at` (Unix s) the reader had read everything the source had
    /// written; reached, everything it read is in Kafka. Changes no state.
    CaughtUp {
        at: u64,
    },
    /// The positions that follow were read from this server (see
    /// `ProjectState::source_server`); saved with the next checkpoint.
    Source {
        server: String,
    },
    /// The run's tables differ from the checkpoint's (tables added, removed, or asked to
    /// be re-synced): queued before anything else the run sends.
    ObjectsChanged(ObjectsChange),
    /// A chunk of a watermark backfill of `table` is in Kafka; `done`: it was the last.
    BackfillChunk {
        table: String,
        last_key: Option<Vec<Value>>,
        rows: u64,
        done: bool,
        at: u64,
    },
}

/// What [`Mark::ObjectsChanged`] records.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ObjectsChange {
    /// Every table of the run.
    pub objects: std::collections::BTreeSet<String>,
    /// Tables new to the checkpoint and the position they joined at, and whether each
    /// is backfilled.
    pub joined: Vec<(String, LogPosition, bool)>,
    /// Tables gone from the project: their state is dropped (their topics stay).
    pub removed: Vec<String>,
    /// Tables of the project to snapshot again (re-sync).
    pub resync: Vec<String>,
    /// Wall time of the change, Unix seconds.
    pub at: u64,
}

/// A message's pending acknowledgement from Kafka.
pub trait Ack: Send + 'static {
    /// Resolves once Kafka acknowledged the message, or with why it never will.
    fn acknowledged(self) -> impl Future<Output = Result<(), ProduceError>> + Send;
}

/// One entry of the in-order delivery queue.
pub enum Pending<A> {
    /// A sent message's acknowledgement and when it was sent (for latency).
    Message {
        ack: A,
        source_ts: Option<u32>,
        /// Counter to bump once acknowledged (rows written per table).
        written: Option<prometheus::IntCounter>,
        /// The incremental row change this message completes (its last message), to
        /// count per table once acknowledged.
        counted: Option<Counted>,
    },
    Mark(Mark),
}

/// An incremental row change of a table, counted when its last message is acknowledged.
#[derive(Debug, Clone)]
pub struct Counted {
    pub table: Arc<str>,
    pub kind: ChangeKind,
}

/// Live counters the status snapshot reads.
#[derive(Debug, Default)]
pub struct DeliveryStats {
    pub acked: AtomicU64,
    /// Source commit time (Unix s) of the last checkpointed transaction.
    pub checkpoint_ts: AtomicU64,
    /// Commit-to-ack latency of the last acknowledged incremental message, in ms.
    pub last_latency_ms: AtomicU64,
    /// The checkpointed position, for display.
    pub checkpoint: std::sync::Mutex<Option<String>>,
    /// Where commit-to-acknowledgement latencies are recorded, if anywhere.
    pub commit_to_ack: Option<prometheus::Histogram>,
    /// Wall time (Unix s) of the last [`Mark::CaughtUp`] reached, 0 when a change was
    /// delivered after it: Kafka held everything the source had written then.
    pub caught_up_at: AtomicU64,
    /// Wall time (Unix s) of the first [`Mark::CaughtUp`] since the last delivered
    /// change: since when the project is idle; 0 when it is not.
    pub idle_since: AtomicU64,
    /// What the run is riding out right now (Kafka not acknowledging, the source away).
    pub warnings: crate::status::Warnings,
    /// Incremental row changes per table acknowledged by Kafka: the checkpoint's counts
    /// when the tracker starts, plus every change acknowledged since (also those of a
    /// transaction not yet complete).
    pub changes: std::sync::Mutex<BTreeMap<String, ChangeCounts>>,
}

impl DeliveryStats {
    fn changes(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, ChangeCounts>> {
        self.changes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The acknowledged row changes per table.
    pub fn change_counts(&self) -> BTreeMap<String, ChangeCounts> {
        self.changes().clone()
    }
}

/// How long an acknowledgement may take before the status warns that Kafka is not
/// acknowledging (the producer keeps retrying up to its message timeout).
pub const ACK_WARNING_AFTER: Duration = Duration::from_secs(10);

/// Failure of the delivery side; the state on disk is the last good checkpoint.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// A message was not acknowledged; [`ProduceError::is_fatal`] says whether resuming
    /// from the checkpoint may work.
    #[error("Kafka did not acknowledge a message")]
    Rejected(#[source] ProduceError),
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

/// How often acknowledged progress is written to disk. A crash loses at most this much
/// progress, which Kafka then receives again (duplicates, never gaps).
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(1);

/// Applies a mark to the state.
pub fn apply(state: &mut ProjectState, mark: Mark) {
    match mark {
        Mark::SchemaDone => state.schema_done = true,
        Mark::SnapshotStart {
            position,
            definitions,
        } => {
            state.snapshot_start = Some(position);
            state.definitions = definitions;
        }
        Mark::RangesPlanned { table, ranges } => {
            let t = state.tables.entry(table).or_default();
            t.ranges = ranges
                .into_iter()
                .map(|range| RangeProgress {
                    range,
                    last_key: None,
                    done: false,
                })
                .collect();
        }
        Mark::ChunkDone {
            table,
            range,
            last_key,
            rows,
            done,
        } => {
            let t = state.tables.entry(table).or_default();
            t.rows += rows;
            match range.and_then(|i| t.ranges.get_mut(i)) {
                None => {
                    t.last_key = last_key;
                    t.done = done;
                }
                Some(r) => {
                    if last_key.is_some() {
                        r.last_key = last_key;
                    }
                    r.done = done;
                    t.done = t.ranges.iter().all(|r| r.done);
                }
            }
        }
        Mark::FullDone => state.full_done = true,
        Mark::ObjectsChanged(change) => apply_objects(state, change),
        Mark::BackfillChunk {
            table,
            last_key,
            rows,
            done,
            at,
        } => {
            let b = state.backfills.entry(table).or_default();
            b.chunks += 1;
            b.rows += rows;
            if last_key.is_some() {
                b.last_key = last_key;
            }
            b.done = done;
            if done {
                b.finished_at = Some(at);
            }
        }
        Mark::CaughtUp { .. } => {}
        Mark::Source { server } => state.source_server = Some(server),
        Mark::Committed {
            position,
            timestamp,
            definitions,
        } => {
            let previous = state.incremental.as_ref().map(|i| i.timestamp);
            state.incremental = Some(IncrementalCheckpoint {
                position,
                timestamp: checkpoint_time(previous, timestamp, unix_ms() / 1000),
            });
            if let Some(d) = definitions {
                state.definitions = d;
            }
            // A joined table's earlier changes are behind the checkpoint now.
            let at = &state.incremental.as_ref().expect("just set").position.coord;
            state.joined.retain(|_, since| since.coord > *at);
        }
    }
}

/// Applies an online object change: new tables join (from their position, with a
/// fresh backfill when asked), removed ones leave no state behind.
fn apply_objects(state: &mut ProjectState, change: ObjectsChange) {
    for table in &change.removed {
        state.tables.remove(table);
        state.joined.remove(table);
        state.backfills.remove(table);
        state.changes.remove(table);
        state.definitions.retain(|d| d.id.to_string() != *table);
    }
    let fresh = || crate::checkpoint::BackfillProgress {
        started_at: change.at,
        ..Default::default()
    };
    for (table, since, backfill) in change.joined {
        if backfill {
            state.backfills.insert(table.clone(), fresh());
        }
        state.joined.insert(table, since);
    }
    for table in change.resync {
        state.backfills.insert(table, fresh());
    }
    state.objects = Some(change.objects);
}

/// The tracker's side of the checkpoint writer: hands states over without copying the
/// definitions each time.
struct Saver {
    writer: CheckpointWriter,
    definitions: Arc<Vec<TableMeta>>,
}

impl Saver {
    async fn save(&mut self, state: &ProjectState) -> Result<(), CheckpointError> {
        let snapshot = Snapshot {
            state: state.without_definitions(),
            definitions: self.definitions.clone(),
        };
        self.writer.publish(snapshot).await
    }
}

/// Runs until the sender side closes (then writes a final checkpoint) or a message is
/// rejected (then writes the last good checkpoint and returns the error). Checkpoints
/// are written by a [`CheckpointWriter`], off the async runtime: acknowledgements keep
/// draining while the disk syncs.
pub async fn track<A: Ack>(
    mut rx: mpsc::Receiver<Pending<A>>,
    store: SharedCheckpoints,
    mut state: ProjectState,
    stats: Arc<DeliveryStats>,
) -> Result<ProjectState, DeliveryError> {
    let mut saver = Saver {
        writer: CheckpointWriter::spawn(store),
        definitions: Arc::new(state.definitions.clone()),
    };
    // Counts restart from the checkpoint's: a resumed run re-sends the tail after it.
    *stats.changes() = state.changes.clone();
    // Changes acknowledged since the last complete transaction; they enter the state
    // with the transaction's position, not before.
    let mut uncommitted: Vec<Counted> = Vec::new();
    let mut dirty = false;
    let mut last_save = Instant::now();
    let mut ticker = tokio::time::interval(CHECKPOINT_INTERVAL);
    loop {
        let item = tokio::select! {
            item = rx.recv() => item,
            _ = ticker.tick() => {
                if dirty {
                    saver.save(&state).await?;
                    dirty = false;
                    last_save = Instant::now();
                }
                continue;
            }
        };
        let Some(item) = item else { break };
        match item {
            Pending::Message {
                ack,
                source_ts,
                written,
                counted,
            } => {
                let acked = ack.acknowledged();
                tokio::pin!(acked);
                let acked = tokio::select! {
                    r = &mut acked => r,
                    _ = tokio::time::sleep(ACK_WARNING_AFTER) => {
                        stats.warnings.set(
                            WarningCause::Kafka,
                            crate::WarningMessage::KafkaNoAck { seconds: ACK_WARNING_AFTER.as_secs() },
                        );
                        acked.await
                    }
                };
                if acked.is_ok() && stats.warnings.is_set(WarningCause::Kafka) {
                    stats.warnings.clear(WarningCause::Kafka);
                }
                if let Err(e) = acked {
                    if dirty {
                        saver.save(&state).await?;
                    }
                    saver.writer.finish().await?;
                    return Err(DeliveryError::Rejected(e));
                }
                stats.acked.fetch_add(1, Ordering::Relaxed);
                if let Some(c) = written {
                    c.inc();
                }
                if let Some(c) = counted {
                    stats
                        .changes()
                        .entry(c.table.to_string())
                        .or_default()
                        .add(c.kind);
                    uncommitted.push(c);
                }
                if let Some(ts) = source_ts {
                    let lat = unix_ms().saturating_sub(ts as u64 * 1000);
                    stats.last_latency_ms.store(lat, Ordering::Relaxed);
                    if let Some(h) = &stats.commit_to_ack {
                        h.observe(lat as f64 / 1000.0);
                    }
                }
            }
            Pending::Mark(Mark::CaughtUp { at }) => {
                stats.caught_up_at.store(at, Ordering::Relaxed);
                let _ =
                    stats
                        .idle_since
                        .compare_exchange(0, at, Ordering::Relaxed, Ordering::Relaxed);
            }
            Pending::Mark(mark) => {
                if let Mark::Committed {
                    timestamp,
                    position,
                    ..
                } = &mark
                {
                    *stats.checkpoint.lock().unwrap_or_else(|p| p.into_inner()) =
                        Some(position.to_string());
                    if timestamp.is_some() {
                        // A change of the project's was read after the last time the
                        // reader was caught up.
                        stats.caught_up_at.store(0, Ordering::Relaxed);
                        stats.idle_since.store(0, Ordering::Relaxed);
                    }
                }
                // Stage transitions are rare and worth saving at once.
                let urgent = !matches!(
                    mark,
                    Mark::Committed { .. }
                        | Mark::ChunkDone { .. }
                        | Mark::BackfillChunk { done: false, .. }
                        | Mark::Source { .. }
                );
                let new_definitions = matches!(
                    mark,
                    Mark::SnapshotStart { .. }
                        | Mark::ObjectsChanged(_)
                        | Mark::Committed {
                            definitions: Some(_),
                            ..
                        }
                );
                let committed = matches!(mark, Mark::Committed { .. });
                if committed {
                    for c in uncommitted.drain(..) {
                        state
                            .changes
                            .entry(c.table.to_string())
                            .or_default()
                            .add(c.kind);
                    }
                }
                apply(&mut state, mark);
                if let Some(i) = state.incremental.as_ref().filter(|_| committed) {
                    stats
                        .checkpoint_ts
                        .store(i.timestamp as u64, Ordering::Relaxed);
                }
                if new_definitions {
                    saver.definitions = Arc::new(state.definitions.clone());
                }
                dirty = true;
                if urgent || last_save.elapsed() >= CHECKPOINT_INTERVAL {
                    saver.save(&state).await?;
                    dirty = false;
                    last_save = Instant::now();
                }
            }
        }
    }
    if dirty {
        saver.save(&state).await?;
    }
    saver.writer.finish().await?;
    Ok(state)
}

/// The checkpoint's time after a transaction committed at `commit` (Unix s) was
/// delivered, `previous` being the time before and `now` the local clock: never earlier
/// than `previous` (a session's `SET TIMESTAMP` into the past, a source clock stepped
/// back), never later than `now` (a timestamp pinned into the future: the transaction
/// cannot have committed after it was read). `None` keeps the previous time.
pub fn checkpoint_time(previous: Option<u32>, commit: Option<u32>, now: u64) -> u32 {
    let now = u32::try_from(now).unwrap_or(u32::MAX);
    let previous = previous.unwrap_or(0);
    match commit {
        Some(t) => t.min(now).max(previous),
        None => previous,
    }
}

pub fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::CheckpointStore;
    use obsync_model::BinlogCoord;
    use tokio::sync::oneshot;

    #[test]
    fn an_objects_change_drops_removed_tables_and_starts_backfills() {
        let at = |pos| LogPosition {
            coord: BinlogCoord::new("mysql-bin.000001", pos),
            gtid: None,
        };
        let mut state = ProjectState::default();
        state.tables.insert("d.gone".into(), Default::default());
        state.changes.insert("d.gone".into(), Default::default());
        apply(
            &mut state,
            Mark::ObjectsChanged(ObjectsChange {
                objects: ["d.a".to_string(), "d.new".into(), "d.later".into()].into(),
                joined: vec![
                    ("d.new".into(), at(500), true),
                    ("d.later".into(), at(500), false),
                ],
                removed: vec!["d.gone".into()],
                resync: vec!["d.a".into()],
                at: 7,
            }),
        );
        assert!(!state.tables.contains_key("d.gone") && !state.changes.contains_key("d.gone"));
        assert_eq!(state.joined.len(), 2);
        let started: Vec<&String> = state.backfills.keys().collect();
        assert_eq!(
            started,
            ["d.a", "d.new"],
            "a from-now-on table has no backfill"
        );
        assert_eq!(state.backfills["d.new"].started_at, 7);
        apply(
            &mut state,
            Mark::BackfillChunk {
                table: "d.new".into(),
                last_key: None,
                rows: 3,
                done: true,
                at: 9,
            },
        );
        assert_eq!(state.backfills["d.new"].finished_at, Some(9));
        // Once the checkpoint passes the position they joined at, it is forgotten.
        apply(
            &mut state,
            Mark::Committed {
                position: at(499),
                timestamp: None,
                definitions: None,
            },
        );
        assert_eq!(state.joined.len(), 2);
        apply(
            &mut state,
            Mark::Committed {
                position: at(500),
                timestamp: None,
                definitions: None,
            },
        );
        assert!(state.joined.is_empty());
    }

    fn pos(n: u64) -> LogPosition {
        LogPosition {
            coord: BinlogCoord::new("b.000001", n),
            gtid: None,
        }
    }

    fn store(name: &str) -> CheckpointStore {
        let d = std::env::temp_dir().join(format!("obsync-delivery-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        CheckpointStore::open(d).unwrap()
    }

    impl Ack for oneshot::Receiver<Result<(), ProduceError>> {
        async fn acknowledged(self) -> Result<(), ProduceError> {
            self.await.expect("the test keeps every sender")
        }
    }

    fn too_large() -> ProduceError {
        ProduceError::Oversized {
            topic: "t-1".into(),
            partition: 0,
            label: None,
            size: 2_000_000,
            max: 1_000_000,
        }
    }

    #[test]
    fn checkpoint_time_never_goes_back_nor_past_the_local_clock() {
        let now = 1_796_000_000;
        // A session's SET TIMESTAMP into the past.
        assert_eq!(
            checkpoint_time(Some(1_795_999_000), Some(1_700_000_000), now),
            1_795_999_000
        );
        // Pinned into the future: the transaction was read no later than now.
        assert_eq!(
            checkpoint_time(Some(5), Some(1_900_000_000), now),
            1_796_000_000
        );
        // Other tables' changes keep the time.
        assert_eq!(checkpoint_time(Some(42), None, now), 42);
        assert_eq!(
            checkpoint_time(None, Some(1_795_000_000), now),
            1_795_000_000
        );
    }

    #[tokio::test]
    async fn checkpoint_waits_for_every_earlier_acknowledgement() {
        let store = store("order");
        let (tx, rx) = mpsc::channel(16);
        let stats = Arc::new(DeliveryStats::default());
        let tracker = tokio::spawn(track(
            rx,
            Arc::new(store.clone()),
            ProjectState::default(),
            stats.clone(),
        ));
        let (a1, r1) = oneshot::channel();
        let (a2, r2) = oneshot::channel();
        tx.send(Pending::Message {
            ack: r1,
            source_ts: None,
            written: None,
            counted: None,
        })
        .await
        .ok();
        tx.send(Pending::Message {
            ack: r2,
            source_ts: None,
            written: None,
            counted: None,
        })
        .await
        .ok();
        tx.send(Pending::Mark(Mark::Committed {
            position: pos(100),
            timestamp: Some(7),
            definitions: None,
        }))
        .await
        .ok();
        // The second message is acknowledged first; the first is still in flight.
        a2.send(Ok(())).unwrap();
        tokio::time::sleep(Duration::from_millis(1200)).await;
        assert_eq!(
            store.load().unwrap().incremental,
            None,
            "checkpoint ran ahead of Kafka"
        );
        a1.send(Ok(())).unwrap();
        drop(tx);
        let state = tracker.await.unwrap().unwrap();
        assert_eq!(state.incremental.unwrap().position, pos(100));
        assert_eq!(
            store.load().unwrap().incremental.unwrap().position,
            pos(100)
        );
        assert_eq!(stats.acked.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn rejected_message_keeps_the_last_good_checkpoint() {
        let store = store("reject");
        let (tx, rx) = mpsc::channel(16);
        let tracker = tokio::spawn(track(
            rx,
            Arc::new(store.clone()),
            ProjectState::default(),
            Default::default(),
        ));
        let (a1, r1) = oneshot::channel();
        let (a2, r2) = oneshot::channel();
        tx.send(Pending::Message {
            ack: r1,
            source_ts: None,
            written: None,
            counted: None,
        })
        .await
        .ok();
        tx.send(Pending::Mark(Mark::Committed {
            position: pos(10),
            timestamp: Some(1),
            definitions: None,
        }))
        .await
        .ok();
        tx.send(Pending::Message {
            ack: r2,
            source_ts: None,
            written: None,
            counted: None,
        })
        .await
        .ok();
        tx.send(Pending::Mark(Mark::Committed {
            position: pos(20),
            timestamp: Some(2),
            definitions: None,
        }))
        .await
        .ok();
        a1.send(Ok(())).unwrap();
        a2.send(Err(too_large())).unwrap();
        let err = tracker.await.unwrap().unwrap_err();
        match &err {
            DeliveryError::Rejected(cause) => assert!(cause.is_fatal(), "{cause}"),
            other => panic!("expected Rejected, got {other:?}"),
        }
        let cause = std::error::Error::source(&err)
            .expect("the cause is kept")
            .to_string();
        assert!(cause.contains("over the 1000000-byte limit"), "{cause}");
        assert_eq!(store.load().unwrap().incremental.unwrap().position, pos(10));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_slow_checkpoint_write_stalls_neither_the_runtime_nor_the_acknowledgements() {
        let mut store = store("slow-disk");
        let runtime_thread = std::thread::current().id();
        let written_on_runtime = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = written_on_runtime.clone();
        store.set_save_hook(move || {
            if std::thread::current().id() == runtime_thread {
                flag.store(true, Ordering::Relaxed);
            }
            // A disk busy for 300 ms per fsync'd write.
            std::thread::sleep(Duration::from_millis(300));
        });
        let (tx, rx) = mpsc::channel(16);
        let stats = Arc::new(DeliveryStats::default());
        let tracker = tokio::spawn(track(
            rx,
            Arc::new(store.clone()),
            ProjectState::default(),
            stats.clone(),
        ));
        // A stage transition is saved at once; three messages follow.
        tx.send(Pending::Mark(Mark::SchemaDone)).await.ok();
        for _ in 0..3 {
            let (ack, pending) = oneshot::channel();
            ack.send(Ok(())).unwrap();
            tx.send(Pending::Message {
                ack: pending,
                source_ts: None,
                written: None,
                counted: None,
            })
            .await
            .ok();
        }
        let start = Instant::now();
        let mut worst = Duration::ZERO;
        while start.elapsed() < Duration::from_millis(200) {
            let tick = Instant::now();
            tokio::time::sleep(Duration::from_millis(10)).await;
            worst = worst.max(tick.elapsed());
        }
        assert_eq!(
            stats.acked.load(Ordering::Relaxed),
            3,
            "acknowledgements drain while the checkpoint is written"
        );
        assert!(
            worst < Duration::from_millis(150),
            "the runtime stalled for {worst:?} during a checkpoint write"
        );
        drop(tx);
        let state = tracker.await.unwrap().unwrap();
        assert!(state.schema_done);
        assert!(
            store.load().unwrap().schema_done,
            "the final state is on disk"
        );
        assert!(
            !written_on_runtime.load(Ordering::Relaxed),
            "a checkpoint was written on the async runtime's thread"
        );
    }

    #[tokio::test]
    async fn changes_count_once_acknowledged_and_are_saved_with_their_transaction() {
        let store = store("counts");
        let (tx, rx) = mpsc::channel(16);
        let stats = Arc::new(DeliveryStats::default());
        let mut saved = ProjectState::default();
        saved.changes.insert(
            "d.t".into(),
            ChangeCounts {
                inserts: 5,
                ..Default::default()
            },
        );
        let tracker = tokio::spawn(track(rx, Arc::new(store.clone()), saved, stats.clone()));
        let counted = |kind| {
            Some(Counted {
                table: "d.t".into(),
                kind,
            })
        };
        let mut acks = Vec::new();
        for kind in [ChangeKind::Insert, ChangeKind::Update, ChangeKind::Delete] {
            let (ack, pending) = oneshot::channel();
            acks.push(ack);
            tx.send(Pending::Message {
                ack: pending,
                source_ts: None,
                written: None,
                counted: counted(kind),
            })
            .await
            .ok();
        }
        let counts = |s: &DeliveryStats| s.change_counts().get("d.t").copied().unwrap_or_default();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            counts(&stats).inserts,
            5,
            "counted before Kafka acknowledged"
        );
        acks.remove(0).send(Ok(())).unwrap();
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert_eq!(
            (counts(&stats).inserts, counts(&stats).updates),
            (6, 0),
            "the live count follows the acknowledgements"
        );
        for ack in acks {
            ack.send(Ok(())).unwrap();
        }
        tokio::time::sleep(Duration::from_millis(1200)).await;
        // Nothing of the incomplete transaction is saved (the saved 5 inserts, if at all).
        let on_disk = store.load().unwrap().changes.get("d.t").copied();
        assert!(
            on_disk.is_none_or(|c| c.inserts == 5 && c.updates == 0),
            "saved before the transaction was complete: {on_disk:?}"
        );
        tx.send(Pending::Mark(Mark::Committed {
            position: pos(10),
            timestamp: Some(1),
            definitions: None,
        }))
        .await
        .ok();
        drop(tx);
        tracker.await.unwrap().unwrap();
        let expected = ChangeCounts {
            inserts: 6,
            updates: 1,
            deletes: 1,
        };
        assert_eq!(counts(&stats), expected);
        assert_eq!(store.load().unwrap().changes["d.t"], expected);
    }

    #[test]
    fn chunk_marks_accumulate_rows_and_resume_key() {
        let mut s = ProjectState::default();
        let chunk = |k: u64, done| Mark::ChunkDone {
            table: "d.t".into(),
            range: None,
            last_key: Some(vec![Value::UInt(k)]),
            rows: 10,
            done,
        };
        apply(&mut s, chunk(10, false));
        apply(&mut s, chunk(20, true));
        let t = &s.tables["d.t"];
        assert_eq!(
            (t.rows, t.done, t.last_key.clone()),
            (20, true, Some(vec![Value::UInt(20)]))
        );
    }

    #[test]
    fn table_read_in_ranges_is_done_only_when_every_range_is() {
        let mut s = ProjectState::default();
        let ranges = vec![
            KeyRange {
                after: None,
                up_to: Some(Value::Int(100)),
            },
            KeyRange {
                after: Some(Value::Int(100)),
                up_to: None,
            },
        ];
        apply(
            &mut s,
            Mark::RangesPlanned {
                table: "d.t".into(),
                ranges,
            },
        );
        let chunk = |i, k: i64, done| Mark::ChunkDone {
            table: "d.t".into(),
            range: Some(i),
            last_key: Some(vec![Value::Int(k)]),
            rows: 5,
            done,
        };
        apply(&mut s, chunk(1, 150, false));
        apply(&mut s, chunk(0, 100, true));
        assert!(!s.tables["d.t"].done);
        assert_eq!(
            s.tables["d.t"].ranges[1].last_key,
            Some(vec![Value::Int(150)])
        );
        apply(&mut s, chunk(1, 200, true));
        let t = &s.tables["d.t"];
        assert!(t.done && t.ranges.iter().all(|r| r.done));
        assert_eq!(t.rows, 15);
    }
}
