//! The status log `obsync.NAME.status` (compacted, keyed by project, partitioned by
//! bucket): which server runs each project, with its lag and last error, written by
//! that server when a run starts or stops and at every metric sample. Every server
//! reads it whole, so any server's API shows who runs what.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use serde::{Deserialize, Serialize};

use super::{topics, ClusterError, ClusterOptions, CONTROL_TIMEOUT};

/// What the server running a project last said about it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ProjectStatus {
    /// The node that wrote it.
    pub node: String,
    /// Whether that node runs the project now.
    pub running: bool,
    /// Seconds the project's Kafka lags behind its source, when known.
    pub lag_seconds: Option<u64>,
    /// The run's last error, if it has one.
    pub last_error: Option<String>,
    /// When it was written, Unix milliseconds.
    pub at_ms: i64,
}

/// The status log: this server's writer and everybody's latest status per project.
pub struct StatusBoard {
    topic: String,
    buckets: i32,
    producer: FutureProducer,
    latest: Arc<Mutex<BTreeMap<String, ProjectStatus>>>,
}

impl StatusBoard {
    pub fn open(options: &ClusterOptions, buckets: i32) -> Result<StatusBoard, ClusterError> {
        let topic = topics::status(&options.name);
        let producer = topics::client(&options.control_kafka)
            .set("acks", "all")
            .create()
            .map_err(|source| ClusterError::Client {
                what: "the status log's producer".into(),
                source,
            })?;
        let read = |source| ClusterError::Read {
            topic: topic.clone(),
            source,
        };
        let consumer: BaseConsumer = topics::client(&options.control_kafka)
            .set("group.id", "obsync.status-reader")
            .set("enable.auto.commit", "false")
            .create()
            .map_err(read)?;
        let mut tpl = TopicPartitionList::new();
        for partition in 0..buckets {
            tpl.add_partition_offset(&topic, partition, Offset::Beginning)
                .map_err(read)?;
        }
        consumer.assign(&tpl).map_err(read)?;
        let latest = Arc::new(Mutex::new(BTreeMap::new()));
        let map = latest.clone();
        std::thread::Builder::new()
            .name("obsync-status-log".into())
            .spawn(move || read_forever(&consumer, &map))
            .expect("a thread starts");
        Ok(StatusBoard {
            topic,
            buckets,
            producer,
            latest,
        })
    }

    /// Publishes `status` of `project` (best effort: the next sample says it again).
    pub async fn publish(&self, project: &str, status: &ProjectStatus) {
        let value = serde_json::to_vec(status).expect("a status always serializes");
        let partition = super::bucket_of(project, self.buckets);
        let sent = self
            .producer
            .send(
                FutureRecord::to(&self.topic)
                    .partition(partition)
                    .key(project)
                    .payload(&value),
                CONTROL_TIMEOUT,
            )
            .await;
        if let Err((e, _)) = sent {
            tracing::warn!(project, error = %e, "cannot publish the project's status to the cluster");
        }
    }

    /// The latest status of every project that has one.
    pub fn all(&self) -> BTreeMap<String, ProjectStatus> {
        self.latest
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

fn read_forever(consumer: &BaseConsumer, latest: &Mutex<BTreeMap<String, ProjectStatus>>) {
    loop {
        match consumer.poll(Duration::from_millis(500)) {
            None => {}
            Some(Err(e)) => {
                tracing::warn!(error = %e, "reading the cluster's status log failed; retrying");
                std::thread::sleep(Duration::from_secs(1));
            }
            Some(Ok(m)) => {
                let Some(key) = m.key() else { continue };
                let key = String::from_utf8_lossy(key).into_owned();
                let mut latest = latest.lock().unwrap_or_else(|p| p.into_inner());
                match m.payload().map(serde_json::from_slice::<ProjectStatus>) {
                    Some(Ok(status)) => {
                        latest.insert(key, status);
                    }
                    None => {
                        latest.remove(&key);
                    }
                    Some(Err(e)) => {
                        tracing::warn!(error = %e, "a status record this obsync cannot read was skipped")
                    }
                }
            }
        }
    }
}
