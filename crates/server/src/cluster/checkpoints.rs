//! Fenced checkpoints: each project's checkpoint in `obsync.NAME.checkpoints`
//! (partition = the project's bucket, key = project id, compacted), written in a Kafka
//! transaction of the bucket's producer, whose `transactional.id` names the bucket.
//!
//! Architecture invariant: a bucket's new owner initializes its producer (which fences
//! the previous owner's and aborts its open transaction) before it reads the bucket's
//! checkpoints and starts the projects; a previous owner that still runs them fails
//! its next checkpoint write and never moves a checkpoint again.
//!
//! The project's folder in the data directory stays the working copy the pipeline
//! reads at start (and the API shows): a write goes to Kafka first, then to the files;
//! a gained bucket's checkpoints are copied from Kafka into the files before its
//! projects start.

use std::collections::HashMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use obsync_model::TableMeta;
use obsync_pipeline::checkpoint::{
    self, CheckpointBackend, CheckpointError, CheckpointStore, ProjectState, SequenceReservation,
};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::producer::{BaseRecord, DefaultProducerContext, Producer, ThreadedProducer};
use rdkafka::{Offset, TopicPartitionList};

use super::{topics, ClusterError, ClusterOptions, CONTROL_TIMEOUT};

/// How often a failed (not fenced) checkpoint transaction is tried before the save
/// fails: a broker restart lasts seconds, and the run resumes after a failed save.
const ATTEMPTS: u32 = 3;

/// A checkpoint write that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    #[error("bucket {bucket} is owned by another server now: its producer {transactional_id} fenced this one; the project stops here and runs there from its last checkpoint")]
    Fenced {
        bucket: i32,
        transactional_id: String,
        #[source]
        source: Cause,
    },
    #[error("the checkpoint transaction of bucket {bucket} failed {ATTEMPTS} times: check the control Kafka")]
    Failed {
        bucket: i32,
        #[source]
        source: Cause,
    },
}

/// A transaction's failure as its cause: librdkafka's own error for a transaction error,
/// whose `KafkaError` wrapper would print that same text twice (once itself, once as
/// its source).
pub type Cause = Box<dyn std::error::Error + Send + Sync>;

fn cause(e: KafkaError) -> Cause {
    match e {
        KafkaError::Transaction(inner) => Box::new(inner),
        other => Box::new(other),
    }
}

/// The transactional producer of one owned bucket.
pub struct BucketWriter {
    pub bucket: i32,
    topic: String,
    transactional_id: String,
    producer: ThreadedProducer<DefaultProducerContext>,
    /// One transaction at a time (the bucket's projects share the producer).
    turn: Mutex<()>,
    fenced: AtomicBool,
}

impl std::fmt::Debug for BucketWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BucketWriter")
            .field("transactional_id", &self.transactional_id)
            .finish()
    }
}

/// The producer settings of a transactional client named `id`.
fn transactional(
    control: &obsync_kafka::KafkaTarget,
    id: &str,
    timeout: Duration,
) -> rdkafka::ClientConfig {
    let mut config = topics::client(control);
    config
        .set("transactional.id", id)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        // The coordinator aborts a transaction left open this long by a dead owner.
        .set(
            "transaction.timeout.ms",
            (timeout.as_millis() as u64).to_string(),
        );
    config
}

/// Fails unless the control Kafka runs transactions (each server probes with an id of
/// its own, which fences nobody).
pub fn probe_transactions(options: &ClusterOptions) -> Result<(), ClusterError> {
    let id = format!(
        "obsync.{}.probe.{}",
        options.name.as_str(),
        options.node.as_str()
    );
    let no = |source| ClusterError::NoTransactions {
        bootstrap: options.control_kafka.bootstrap_servers.clone(),
        source,
    };
    let producer: ThreadedProducer<DefaultProducerContext> =
        transactional(&options.control_kafka, &id, Duration::from_secs(60))
            .create()
            .map_err(no)?;
    producer.init_transactions(CONTROL_TIMEOUT).map_err(no)
}

impl BucketWriter {
    /// The producer of bucket `bucket`, initialized: from now on the bucket's previous
    /// owner cannot commit a checkpoint.
    pub fn open(
        control: &obsync_kafka::KafkaTarget,
        cluster: &str,
        bucket: i32,
    ) -> Result<BucketWriter, ClusterError> {
        let transactional_id = format!("obsync.{cluster}.bucket.{bucket}");
        let client = |source| ClusterError::Client {
            what: format!("checkpoint producer {transactional_id}"),
            source,
        };
        let producer: ThreadedProducer<DefaultProducerContext> =
            transactional(control, &transactional_id, Duration::from_secs(60))
                .create()
                .map_err(client)?;
        producer
            .init_transactions(CONTROL_TIMEOUT)
            .map_err(client)?;
        Ok(BucketWriter {
            bucket,
            topic: format!("obsync.{cluster}.checkpoints"),
            transactional_id,
            producer,
            turn: Mutex::new(()),
            fenced: AtomicBool::new(false),
        })
    }

    /// Whether another owner fenced this writer.
    pub fn is_fenced(&self) -> bool {
        self.fenced.load(Ordering::Relaxed)
    }

    /// Writes `value` as project `project`'s checkpoint in one transaction. Blocking.
    pub fn write(&self, project: &str, value: &[u8]) -> Result<(), WriteError> {
        let _turn = self.turn.lock().unwrap_or_else(|p| p.into_inner());
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.transaction(project, value) {
                Ok(()) => return Ok(()),
                Err(e) if is_fenced(&e) || self.is_fenced() => {
                    self.fenced.store(true, Ordering::Relaxed);
                    return Err(WriteError::Fenced {
                        bucket: self.bucket,
                        transactional_id: self.transactional_id.clone(),
                        source: cause(e),
                    });
                }
                Err(e) if attempt >= ATTEMPTS => {
                    return Err(WriteError::Failed {
                        bucket: self.bucket,
                        source: cause(e),
                    })
                }
                Err(e) => {
                    tracing::warn!(bucket = self.bucket, error = %e, "a checkpoint transaction failed; trying again");
                    let _ = self.producer.abort_transaction(CONTROL_TIMEOUT);
                    std::thread::sleep(Duration::from_millis(200 * u64::from(attempt)));
                }
            }
        }
    }

    fn transaction(&self, project: &str, value: &[u8]) -> Result<(), KafkaError> {
        self.producer.begin_transaction()?;
        let record = BaseRecord::to(&self.topic)
            .partition(self.bucket)
            .key(project)
            .payload(value);
        if let Err((e, _)) = self.producer.send(record) {
            let _ = self.producer.abort_transaction(CONTROL_TIMEOUT);
            return Err(e);
        }
        self.producer.commit_transaction(CONTROL_TIMEOUT)
    }
}

/// A fenced producer, or one in librdkafka's fatal state (the broker's answer to a
/// fenced transactional id is fatal for that client).
fn is_fenced(e: &KafkaError) -> bool {
    use rdkafka::error::RDKafkaErrorCode as C;
    matches!(
        e.rdkafka_error_code(),
        Some(C::Fenced | C::ProducerFenced | C::InvalidProducerEpoch | C::InvalidProducerIdMapping)
    ) || matches!(e, KafkaError::Transaction(t) if t.is_fatal())
}

/// Project `id`'s checkpoints: Kafka through its bucket's fenced writer, then the
/// files of its folder (which the run loads at start).
#[derive(Debug)]
pub struct KafkaCheckpoints {
    project: String,
    writer: std::sync::Arc<BucketWriter>,
    local: CheckpointStore,
}

impl KafkaCheckpoints {
    pub fn new(
        project: &str,
        writer: std::sync::Arc<BucketWriter>,
        dir: &Path,
    ) -> Result<KafkaCheckpoints, CheckpointError> {
        Ok(KafkaCheckpoints {
            project: project.to_string(),
            writer,
            local: CheckpointStore::open(dir)?,
        })
    }
}

impl CheckpointBackend for KafkaCheckpoints {
    fn load(&self) -> Result<ProjectState, CheckpointError> {
        self.local.load()
    }

    fn save_with(
        &self,
        state: &ProjectState,
        definitions: &[TableMeta],
    ) -> Result<(), CheckpointError> {
        let dir = self.local.path();
        let dir = dir.parent().unwrap_or(Path::new("."));
        let value = envelope(state, definitions, SequenceReservation::reserved_in(dir)?);
        self.writer
            .write(&self.project, &value)
            .map_err(|e| CheckpointError::Backend {
                place: format!(
                    "topic {} (bucket {})",
                    self.writer.topic, self.writer.bucket
                ),
                source: Box::new(e),
            })?;
        self.local.save_with(state, definitions)
    }
}

/// Format of a checkpoint record's value.
const RECORD_VERSION: &str = "1";

/// The record: the checkpoint ([`checkpoint::encode`]) and the project's sequence
/// reservation, which the next owner continues after.
fn envelope(state: &ProjectState, definitions: &[TableMeta], reserved: Option<u64>) -> Vec<u8> {
    let mut out = format!(
        "{{\"version\":\"{RECORD_VERSION}\",\"sequence_reserved_up_to\":{},\"checkpoint\":",
        reserved.map_or("null".to_string(), |r| r.to_string())
    )
    .into_bytes();
    out.extend_from_slice(&checkpoint::encode(state, definitions));
    out.push(b'}');
    out
}

#[derive(serde::Deserialize)]
struct Envelope {
    version: String,
    sequence_reserved_up_to: Option<u64>,
    checkpoint: serde_json::Value,
}

/// Makes project `id`'s folder `dir` hold the checkpoint `value` read from Kafka (when
/// there is one; a folder is never emptied) and a sequence reservation past every
/// number the previous owner may have used.
pub fn restore(id: &str, dir: &Path, value: Option<&[u8]>) -> Result<(), CheckpointError> {
    let place = format!("checkpoint of project {id}");
    let store = CheckpointStore::open(dir)?;
    let mut carried = None;
    if let Some(value) = value {
        let corrupt = |source| CheckpointError::CorruptRecord {
            place: place.clone(),
            source,
        };
        let envelope: Envelope = serde_json::from_slice(value).map_err(corrupt)?;
        if envelope.version != RECORD_VERSION {
            return Err(CheckpointError::UnknownVersion {
                path: place.clone().into(),
                version: envelope.version,
                known: RECORD_VERSION,
            });
        }
        let bytes = serde_json::to_vec(&envelope.checkpoint).map_err(corrupt)?;
        let state = checkpoint::decode(&bytes, &place)?;
        store.save(&state)?;
        carried = envelope.sequence_reserved_up_to;
    }
    SequenceReservation::continue_after_moved(dir, carried)
}

/// The latest committed checkpoint of every project in bucket `bucket`: partition
/// `bucket` read from its start to the high watermark with `read_committed`. Blocking.
pub fn read_bucket(
    control: &obsync_kafka::KafkaTarget,
    cluster: &str,
    bucket: i32,
) -> Result<HashMap<String, Vec<u8>>, ClusterError> {
    let topic = format!("obsync.{cluster}.checkpoints");
    let read = |source| ClusterError::Read {
        topic: topic.clone(),
        source,
    };
    let consumer: BaseConsumer = topics::client(control)
        // Assigned, never subscribed: the group id is only a name here.
        .set("group.id", format!("obsync.{cluster}.checkpoint-reader"))
        .set("enable.auto.commit", "false")
        .set("isolation.level", "read_committed")
        .create()
        .map_err(read)?;
    let (low, high) = consumer
        .fetch_watermarks(&topic, bucket, CONTROL_TIMEOUT)
        .map_err(read)?;
    let mut latest = HashMap::new();
    if high <= low {
        return Ok(latest);
    }
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition_offset(&topic, bucket, Offset::Beginning)
        .map_err(read)?;
    consumer.assign(&tpl).map_err(read)?;
    let deadline = Instant::now() + CONTROL_TIMEOUT * 2;
    loop {
        if let Some(message) = consumer.poll(Duration::from_millis(200)) {
            let message = message.map_err(read)?;
            let Some(key) = message.key() else { continue };
            let key = String::from_utf8_lossy(key).into_owned();
            match message.payload() {
                Some(value) => latest.insert(key, value.to_vec()),
                None => latest.remove(&key),
            };
        }
        // Control records (transaction markers) take offsets but are not delivered: the
        // position tells when the high watermark is passed.
        let position = consumer
            .position()
            .map_err(read)?
            .find_partition(&topic, bucket)
            .and_then(|p| match p.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            });
        if position.is_some_and(|p| p >= high) {
            return Ok(latest);
        }
        if Instant::now() > deadline {
            return Err(read(KafkaError::MessageConsumption(
                rdkafka::error::RDKafkaErrorCode::OperationTimedOut,
            )));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_restores_the_state_and_moves_the_sequence_past_the_carried_one() {
        let dir = std::env::temp_dir().join(format!("obsync-restore-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let state = ProjectState {
            schema_done: true,
            full_done: true,
            ..Default::default()
        };
        let far = 9_000_000_000 * 100_000;
        restore("p", &dir, Some(&envelope(&state, &[], Some(far)))).unwrap();
        assert_eq!(CheckpointStore::open(&dir).unwrap().load().unwrap(), state);
        assert!(SequenceReservation::reserved_in(&dir).unwrap().unwrap() > far);
        // No record: the folder's checkpoint stays.
        restore("p", &dir, None).unwrap();
        assert_eq!(CheckpointStore::open(&dir).unwrap().load().unwrap(), state);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
