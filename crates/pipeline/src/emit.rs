//! Encodes changes, picks partitions and hands messages to Kafka, queueing each
//! acknowledgement (and the marks between them) for the delivery tracker.

use crate::delivery::{unix_ms, Ack, Mark, Pending};
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
    #[error("shard column {column:?} does not exist in {table} any more (it was dropped or renamed at the source); fix the project's shard_columns and restart")]
    ShardColumnGone { table: String, column: String },
    /// The delivery tracker stopped (it failed or the project is stopping).
    #[error("the delivery tracker stopped")]
    TrackerGone,
}

/// One sender's encoder state. Clone one per concurrent task; buffers are reused
/// across messages so the hot path does not allocate per row beyond librdkafka's copy.
#[derive(Clone)]
pub struct Emitter {
    serializer: Arc<Serializer>,
    producer: Arc<KafkaProducer>,
    rule: PartitionRule,
    split_key_updates: bool,
    pending: PendingTx,
    key: Vec<u8>,
    value: Vec<u8>,
    /// The records of the change being sent (reused).
    messages: Messages,
    shard: Vec<u8>,
    /// Shard column indexes per table-metadata version (keyed by the Arc's address;
    /// the Arc is kept alive in the value so the address cannot be reused).
    shard_index: HashMap<usize, (Arc<TableMeta>, Vec<usize>)>,
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
            serializer,
            producer,
            rule,
            split_key_updates,
            pending,
            key: Vec::with_capacity(256),
            value: Vec::with_capacity(4096),
            messages: Messages::new(),
            shard: Vec::with_capacity(256),
            shard_index: HashMap::new(),
        }
    }

    /// Debezium's `source.file`/`pos` of full-sync rows: where the change log stood when
    /// the snapshot started.
    pub fn set_snapshot_position(&mut self, coord: &obsync_model::BinlogCoord) {
        let mut opts = self.serializer.options().clone();
        opts.debezium.snapshot_file = coord.file.clone();
        opts.debezium.snapshot_pos = coord.pos;
        self.serializer = Arc::new(Serializer::new(opts));
    }

    /// Shard column indexes of `table`'s metadata version, computed once per version.
    fn shard_columns<'a>(
        index: &'a mut HashMap<usize, (Arc<TableMeta>, Vec<usize>)>,
        table: &Arc<TableMeta>,
        route: &Route,
    ) -> Result<&'a [usize], EmitError> {
        let addr = Arc::as_ptr(table) as usize;
        if let std::collections::hash_map::Entry::Vacant(slot) = index.entry(addr) {
            let idx = match &route.shard_columns {
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

    /// Encodes and sends one row change; its acknowledgement joins the queue.
    ///
    /// Under Hash, an UPDATE whose new key hashes to another partition than its old key
    /// is sent (when `split_key_updates` is on) as a DELETE to the old key's partition
    /// and an INSERT to the new key's: each key's changes then stay in one partition,
    /// in order.
    ///
    /// A format that writes several records per change (Debezium) splits a
    /// primary-key change itself (delete + tombstone under the old key, create under the
    /// new one); each record then goes to the partition of its own key's row image.
    pub async fn change(
        &mut self,
        change: &Change,
        route: &Route,
        ctx: &MessageContext,
        source_ts: Option<u32>,
    ) -> Result<(), EmitError> {
        let (partition, after_partition) = match self.rule {
            PartitionRule::One => (0, 0),
            PartitionRule::Hash => {
                let before = self.partition_of(change, change.row.key_image(), route)?;
                let after_p = match &change.row {
                    RowChange::Update { after, .. } => self.partition_of(change, after, route)?,
                    _ => before,
                };
                let format_splits = self.serializer.options().kind.is_debezium()
                    && matches!(&change.row, RowChange::Update { before: old, after }
                        if change.table.primary_key.iter().any(|&i| old[i] != after[i]));
                if let (true, false, RowChange::Update { before: old, after }) =
                    (self.split_key_updates, format_splits, &change.row)
                {
                    let moved_to = after_p;
                    if moved_to != before {
                        let delete = RowChange::Delete {
                            before: old.clone(),
                        };
                        let insert = RowChange::Insert {
                            after: after.clone(),
                        };
                        let as_change = |row| Change {
                            table: change.table.clone(),
                            row,
                            origin: change.origin.clone(),
                        };
                        self.send(&as_change(delete), (before, before), route, ctx, source_ts)
                            .await?;
                        return self
                            .send(
                                &as_change(insert),
                                (moved_to, moved_to),
                                route,
                                ctx,
                                source_ts,
                            )
                            .await;
                    }
                }
                (before, after_p)
            }
        };
        self.send(change, (partition, after_partition), route, ctx, source_ts)
            .await
    }

    /// The Hash partition of `image`'s shard-column values.
    fn partition_of(
        &mut self,
        change: &Change,
        image: &Row,
        route: &Route,
    ) -> Result<i32, EmitError> {
        let cols = Self::shard_columns(&mut self.shard_index, &change.table, route)?;
        self.shard.clear();
        obsync_format::shard_key(&change.table, image, cols, &mut self.shard);
        Ok(PartitionRule::Hash.partition(&self.shard, route.partitions))
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
    ) -> Result<(), EmitError> {
        self.serializer
            .encode_messages(change, ctx, &mut self.messages)?;
        let mut headers: Vec<(&str, &[u8])> = Vec::new();
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
