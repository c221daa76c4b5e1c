//! Encodes changes, picks partitions and hands messages to Kafka, queueing each
//! acknowledgement (and the marks between them) for the delivery tracker.

use crate::checkpoint::ChangeKind;
use crate::delivery::{unix_ms, Ack, Counted, Mark, Pending};
use obsync_format::{Ddl, MessageContext, Messages, RowImage, Serializer};
use obsync_kafka::{DeliveryTicket, KafkaProducer, OutgoingRecord, PartitionRule};
use obsync_model::{Change, Row, RowChange, TableMeta};
use prometheus::IntCounter;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Bound of the in-flight queue between senders and the delivery tracker, in
/// messages. It caps memory held by unacknowledged deliveries (librdkafka holds the
/// payloads; its own queue is bounded by `queue.buffering.max.kbytes`) and makes the
/// source wait when Kafka is slow or down.
pub const IN_FLIGHT_MESSAGES: usize = 100_000;

pub type PendingTx = mpsc::Sender<Pending<DeliveryTicket>>;

impl Ack for DeliveryTicket {
    async fn acknowledged(self) -> Result<(), obsync_kafka::ProduceError> {
        DeliveryTicket::acknowledged(self).await.map(|_| ())
    }
}

/// Where one table's messages go, with the table's counters (looked up once, not per
/// row).
#[derive(Debug, Clone)]
pub struct Route {
    pub topic: Arc<str>,
    pub partitions: i32,
    /// Shard columns by name; `None` = the table's key.
    pub shard_columns: Option<Arc<[String]>>,
    /// `db.table`, used in error messages.
    pub table: Arc<str>,
    pub read: IntCounter,
    pub written: IntCounter,
}

#[derive(Debug, thiserror::Error)]
pub enum EmitError {
    #[error(transparent)]
    Format(#[from] obsync_format::FormatError),
    #[error(transparent)]
    Produce(#[from] obsync_kafka::ProduceError),
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
    #[error("shard column {column:?} does not exist in {table} any more (it was dropped or renamed at the source); fix the project's shard_columns and restart")]
    ShardColumnGone { table: String, column: String },
    /// The delivery tracker stopped (it failed or the project is stopping).
    #[error("the delivery tracker stopped")]
    TrackerGone,
}

/// Which partition each message of a change goes to: the engine's one choice, pure,
/// shared by [`Emitter`] and anything that must show the engine's answer without
/// sending (the server's preview).
#[derive(Clone)]
pub struct Partitioner {
    rule: PartitionRule,
    split_key_updates: bool,
    /// The format splits a primary-key change itself (Debezium).
    format_splits_key_changes: bool,
    shard: Vec<u8>,
    /// Shard column indexes per table-metadata version (keyed by the Arc's address;
    /// the Arc is kept alive in the value so the address cannot be reused).
    shard_index: HashMap<usize, (Arc<TableMeta>, Vec<usize>)>,
}

/// Where a change's messages go.
#[derive(Debug, Clone, PartialEq)]
pub enum Placement {
    /// The change as it is, to this partition.
    One(i32),
    /// An UPDATE whose new key hashes to another partition than its old key: a DELETE to
    /// the old key's partition, then an INSERT to the new key's.
    Moved {
        delete: (i32, Change),
        insert: (i32, Change),
    },
    /// A primary-key change the format writes as several records itself (Debezium:
    /// delete and tombstone under the old key, create under the new one): each record
    /// to the partition of its own key's row image.
    Images { before: i32, after: i32 },
}

impl Partitioner {
    pub fn new(rule: PartitionRule, split_key_updates: bool) -> Self {
        Self {
            rule,
            split_key_updates,
            format_splits_key_changes: false,
            shard: Vec::with_capacity(256),
            shard_index: HashMap::new(),
        }
    }

    /// For a format that splits primary-key changes itself ([`Placement::Images`]).
    pub fn with_format_key_changes(mut self, splits: bool) -> Self {
        self.format_splits_key_changes = splits;
        self
    }

    /// Shard column indexes of `table`'s metadata version, computed once per version.
    fn shard_columns<'a>(
        index: &'a mut HashMap<usize, (Arc<TableMeta>, Vec<usize>)>,
        table: &Arc<TableMeta>,
        shard_columns: Option<&[String]>,
    ) -> Result<&'a [usize], EmitError> {
        let addr = Arc::as_ptr(table) as usize;
        if let std::collections::hash_map::Entry::Vacant(slot) = index.entry(addr) {
            let idx = match shard_columns {
                None => table.key.clone(),
                Some(names) => names
                    .iter()
                    .map(|n| {
                        table
                            .column_index(n)
                            .ok_or_else(|| EmitError::ShardColumnGone {
                                table: table.id.to_string(),
                                column: n.clone(),
                            })
                    })
                    .collect::<Result<_, _>>()?,
            };
            // Metadata versions are few; the map cannot grow past them.
            slot.insert((table.clone(), idx));
        }
        Ok(&index[&addr].1)
    }

    /// Where `change` goes in a topic of `partitions` partitions, partitioned by
    /// `shard_columns` (`None`: the table's key). A shard column the table no longer has
    /// stops the project ([`EmitError::ShardColumnGone`]): hashing fewer columns would
    /// move keys to other partitions without a word.
    ///
    /// Under Hash, an UPDATE whose new key hashes to another partition than its old key
    /// is [`Placement::Moved`] when `split_key_updates` is on: each key's changes then
    /// stay in one partition, in order.
    pub fn place(
        &mut self,
        change: &Change,
        shard_columns: Option<&[String]>,
        partitions: i32,
    ) -> Result<Placement, EmitError> {
        let PartitionRule::Hash = self.rule else {
            return Ok(Placement::One(0));
        };
        let before =
            self.partition_of(change, change.row.key_image(), shard_columns, partitions)?;
        if let (true, RowChange::Update { before: old, after }) =
            (self.format_splits_key_changes, &change.row)
        {
            if change.table.primary_key.iter().any(|&i| old[i] != after[i]) {
                let after = self.partition_of(change, after, shard_columns, partitions)?;
                return Ok(Placement::Images { before, after });
            }
        }
        if let (true, RowChange::Update { before: old, after }) =
            (self.split_key_updates, &change.row)
        {
            let moved_to = self.partition_of(change, after, shard_columns, partitions)?;
            if moved_to != before {
                let as_change = |row| Change {
                    table: change.table.clone(),
                    row,
                    origin: change.origin.clone(),
                };
                let delete = RowChange::Delete {
                    before: old.clone(),
                };
                let insert = RowChange::Insert {
                    after: after.clone(),
                };
                return Ok(Placement::Moved {
                    delete: (before, as_change(delete)),
                    insert: (moved_to, as_change(insert)),
                });
            }
        }
        Ok(Placement::One(before))
    }

    /// The Hash partition of `image`'s shard-column values.
    fn partition_of(
        &mut self,
        change: &Change,
        image: &Row,
        shard_columns: Option<&[String]>,
        partitions: i32,
    ) -> Result<i32, EmitError> {
        let cols = Self::shard_columns(&mut self.shard_index, &change.table, shard_columns)?;
        self.shard.clear();
        obsync_format::shard_key(&change.table, image, cols, &mut self.shard);
        Ok(PartitionRule::Hash.partition(&self.shard, partitions))
    }
}

/// One sender's encoder state. Clone one per concurrent task; buffers are reused
/// across messages so the hot path does not allocate per row beyond librdkafka's copy.
#[derive(Clone)]
pub struct Emitter {
    serializer: Arc<Serializer>,
    producer: Arc<KafkaProducer>,
    rule: PartitionRule,
    partitioner: Partitioner,
    pending: PendingTx,
    key: Vec<u8>,
    value: Vec<u8>,
    /// The records of the change being sent (reused).
    messages: Messages,
    /// The schema registry of an Avro format: each table version's schema ids go into
    /// the records' headers.
    registry: Option<Arc<crate::registry::SchemaRegistryClient>>,
}

impl Emitter {
    pub fn new(
        serializer: Arc<Serializer>,
        producer: Arc<KafkaProducer>,
        rule: PartitionRule,
        split_key_updates: bool,
        pending: PendingTx,
    ) -> Self {
        Self {
            producer,
            rule,
            partitioner: Partitioner::new(rule, split_key_updates)
                .with_format_key_changes(serializer.options().kind.is_debezium()),
            serializer,
            pending,
            key: Vec::with_capacity(256),
            value: Vec::with_capacity(4096),
            messages: Messages::new(),
            registry: None,
        }
    }

    /// Registers every table's schemas with `registry` before its first record (Avro).
    pub fn with_registry(mut self, registry: Arc<crate::registry::SchemaRegistryClient>) -> Self {
        self.registry = Some(registry);
        self
    }

    /// Debezium's `source.file`/`pos` of full-sync rows: where the change log stood when
    /// the snapshot started.
    pub fn set_snapshot_position(&mut self, coord: &obsync_model::BinlogCoord) {
        let mut opts = self.serializer.options().clone();
        opts.debezium.snapshot_file = coord.file.clone();
        opts.debezium.snapshot_pos = coord.pos;
        self.serializer = Arc::new(Serializer::new(opts));
    }

    /// Encodes and sends one row change (placed by [`Partitioner::place`]); its
    /// acknowledgement joins the queue.
    pub async fn change(
        &mut self,
        change: &Change,
        route: &Route,
        ctx: &MessageContext,
        source_ts: Option<u32>,
    ) -> Result<(), EmitError> {
        let placement =
            self.partitioner
                .place(change, route.shard_columns.as_deref(), route.partitions)?;
        // Snapshot rows are counted by their chunk marks; a source change is counted
        // once, with its last message.
        let kind = match change.row {
            RowChange::Insert { .. } => Some(ChangeKind::Insert),
            RowChange::Update { .. } => Some(ChangeKind::Update),
            RowChange::Delete { .. } => Some(ChangeKind::Delete),
            RowChange::Snapshot { .. } => None,
        };
        let counted = kind.map(|kind| Counted {
            table: route.table.clone(),
            kind,
        });
        match placement {
            Placement::One(p) => {
                self.send(change, (p, p), route, ctx, source_ts, counted)
                    .await
            }
            Placement::Images { before, after } => {
                self.send(change, (before, after), route, ctx, source_ts, counted)
                    .await
            }
            Placement::Moved { delete, insert } => {
                let (p, delete) = delete;
                self.send(&delete, (p, p), route, ctx, source_ts, None)
                    .await?;
                let (p, insert) = insert;
                self.send(&insert, (p, p), route, ctx, source_ts, counted)
                    .await
            }
        }
    }

    /// Encodes a change and sends each of its records; `partitions` are those of the
    /// change's row images (before, after). Every record's acknowledgement joins the
    /// queue before the caller's next mark, so a checkpoint never passes an unacknowledged
    /// record of a change.
    async fn send(
        &mut self,
        change: &Change,
        partitions: (i32, i32),
        route: &Route,
        ctx: &MessageContext,
        source_ts: Option<u32>,
        counted: Option<Counted>,
    ) -> Result<(), EmitError> {
        let mut ctx = *ctx;
        if let Some(registry) = &self.registry {
            ctx.schema_ids = Some(
                registry
                    .ids(self.serializer.options(), &route.topic, &change.table)
                    .await?,
            );
        }
        self.serializer
            .encode_messages(change, &ctx, &mut self.messages)?;
        let mut headers: Vec<(&str, &[u8])> = Vec::new();
        let mut counted = counted;
        let last = self.messages.len().saturating_sub(1);
        for (n, m) in self.messages.iter().enumerate() {
            let partition = match m.image {
                RowImage::Before => partitions.0,
                RowImage::After => partitions.1,
            };
            headers.clear();
            headers.extend(m.headers());
            let ack = self
                .producer
                .send_record(
                    &route.topic,
                    partition,
                    OutgoingRecord {
                        key: m.key,
                        value: m.value,
                        headers: &headers,
                    },
                    Some(&route.table),
                )
                .await?;
            self.pending
                .send(Pending::Message {
                    ack,
                    source_ts,
                    // A row counts once, however many records it became.
                    written: (n == 0).then(|| route.written.clone()),
                    // The change counts once its last record is acknowledged.
                    counted: if n == last { counted.take() } else { None },
                })
                .await
                .map_err(|_| EmitError::TrackerGone)?;
        }
        Ok(())
    }

    /// Sends a DDL record: to every partition of the topic under Hash (consumers wait
    /// for it on all partitions before applying it), to partition 0 under One.
    pub async fn ddl(
        &mut self,
        ddl: &Ddl<'_>,
        route: &Route,
        ctx: &MessageContext,
    ) -> Result<(), EmitError> {
        self.key.clear();
        self.value.clear();
        self.serializer
            .encode_ddl(ddl, ctx, &mut self.key, &mut self.value)?;
        let partitions = match self.rule {
            PartitionRule::One => 0..1,
            PartitionRule::Hash => 0..route.partitions,
        };
        self.send_encoded_to(route, partitions, "DDL", Some(ddl.timestamp))
            .await
    }

    /// Sends a Debezium transaction metadata record (`BEGIN`/`END`) to partition 0 of
    /// `topic` (one partition keeps a transaction's two records in order).
    pub async fn transaction(
        &mut self,
        topic: &str,
        event: &obsync_format::TxnEvent<'_>,
    ) -> Result<(), EmitError> {
        self.serializer
            .encode_transaction(event, &mut self.messages)?;
        let Some(m) = self.messages.get(0) else {
            return Ok(());
        };
        let ack = self
            .producer
            .send(
                topic,
                0,
                m.key.unwrap_or_default(),
                m.value.unwrap_or_default(),
                Some("transaction"),
            )
            .await?;
        self.pending
            .send(Pending::Message {
                ack,
                source_ts: Some(event.txn.timestamp),
                written: None,
                counted: None,
            })
            .await
            .map_err(|_| EmitError::TrackerGone)
    }

    /// Sends a heartbeat record to every partition of `route`'s topic.
    pub async fn heartbeat(
        &mut self,
        route: &Route,
        ctx: &MessageContext,
    ) -> Result<(), EmitError> {
        self.key.clear();
        self.value.clear();
        self.serializer
            .encode_heartbeat(ctx, &mut self.key, &mut self.value)?;
        self.send_encoded_to(route, 0..route.partitions, "heartbeat", None)
            .await
    }

    /// Sends the encoded key and value to each of `partitions` (identical copies).
    async fn send_encoded_to(
        &mut self,
        route: &Route,
        partitions: std::ops::Range<i32>,
        label: &str,
        source_ts: Option<u32>,
    ) -> Result<(), EmitError> {
        for p in partitions {
            let ack = self
                .producer
                .send(&route.topic, p, &self.key, &self.value, Some(label))
                .await?;
            self.pending
                .send(Pending::Message {
                    ack,
                    source_ts,
                    written: None,
                    counted: None,
                })
                .await
                .map_err(|_| EmitError::TrackerGone)?;
        }
        Ok(())
    }

    pub async fn mark(&self, mark: Mark) -> Result<(), EmitError> {
        self.pending
            .send(Pending::Mark(mark))
            .await
            .map_err(|_| EmitError::TrackerGone)
    }

    /// Resolves once the delivery tracker stopped (a message was rejected): a stage
    /// waiting for the source notices then, not only at its next send.
    pub async fn tracker_gone(&self) {
        self.pending.closed().await
    }

    pub fn now_ms() -> u64 {
        unix_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_model::{ChangeOrigin, Column, ColumnType, KeySource, TableId, Value};

    fn orders() -> Arc<TableMeta> {
        Arc::new(TableMeta {
            id: TableId::new("shop", "orders"),
            columns: vec![
                Column::new("id", ColumnType::Int),
                Column::new("note", ColumnType::Int),
            ],
            key: vec![0],
            key_source: KeySource::PrimaryKey,
            primary_key: vec![0],
            unique_keys: vec![],
            estimated_rows: 0,
        })
    }

    fn row(id: i64, note: i64) -> Change {
        Change {
            table: orders(),
            row: RowChange::Snapshot {
                row: vec![Value::Int(id), Value::Int(note)],
            },
            origin: ChangeOrigin::Snapshot { chunk: 0 },
        }
    }

    #[test]
    fn a_missing_shard_column_stops_instead_of_hashing_fewer_columns() {
        let mut p = Partitioner::new(PartitionRule::Hash, true);
        let shard = ["note".to_string(), "gone".to_string()];
        match p.place(&row(1, 7), Some(&shard), 8) {
            Err(EmitError::ShardColumnGone { table, column }) => {
                assert_eq!((table.as_str(), column.as_str()), ("shop.orders", "gone"))
            }
            other => panic!("expected ShardColumnGone, got {other:?}"),
        }
    }

    #[test]
    fn rows_hash_by_their_shard_columns_or_go_to_partition_0_under_one() {
        let mut hash = Partitioner::new(PartitionRule::Hash, true);
        let by_note = ["note".to_string()];
        // Same note, different keys: one partition; the key alone decides otherwise.
        let a = hash.place(&row(1, 7), Some(&by_note), 64).unwrap();
        let b = hash.place(&row(2, 7), Some(&by_note), 64).unwrap();
        assert_eq!(a, b);
        let spread: std::collections::BTreeSet<_> = (0..32)
            .map(|id| format!("{:?}", hash.place(&row(id, 7), None, 64).unwrap()))
            .collect();
        assert!(spread.len() > 1, "keys spread over partitions: {spread:?}");
        let mut one = Partitioner::new(PartitionRule::One, true);
        assert_eq!(one.place(&row(5, 7), None, 64).unwrap(), Placement::One(0));
    }
}
