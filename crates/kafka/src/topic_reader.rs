//! Reads a topic back from its first offset, without joining a consumer group:
//! partitions are assigned explicitly at explicit offsets, each read up to the high
//! watermark taken when its read starts, and nothing is committed. It needs no group
//! offsets and disturbs none, so it may run beside any consumer of the topic
//! (`obsync verify` rebuilds tables with it).

use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext};
use rdkafka::error::KafkaError;
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};

use crate::client_context::TracingContext;
use crate::config::{ClientRole, KafkaTarget};
use crate::kerberos::{login, KerberosLogin, KinitError};

impl ConsumerContext for TracingContext {}

/// How long one poll waits before the reader checks whether a partition stalled.
const POLL_INTERVAL: Duration = Duration::from_millis(200);

/// A group id of this process and moment, shared with no other consumer.
fn throwaway_group_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!("obsync-verify-{}-{nanos}", std::process::id())
}

/// One message as stored: partition, offset, the raw key and value, and the record's
/// timestamp (milliseconds since the epoch; absent on 0.9 brokers' old message format).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub timestamp_ms: Option<i64>,
}

/// Why a topic could not be read back.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// librdkafka refused to create the consumer.
    #[error("cannot create the Kafka consumer for topic {topic}")]
    Client {
        topic: String,
        #[source]
        source: KafkaError,
    },
    /// No Kerberos ticket for a GSSAPI target.
    #[error(transparent)]
    Kerberos(#[from] KinitError),
    /// The cluster did not describe the topic.
    #[error("cannot read the partitions of topic {topic}: check that it exists, that Kafka is reachable and that the user may describe it")]
    Metadata {
        topic: String,
        #[source]
        source: KafkaError,
    },
    /// The topic is not in the cluster.
    #[error("topic {topic} does not exist: run the project (schema sync creates it) or fix the topic name")]
    TopicNotFound { topic: String },
    /// A partition number the topic does not have.
    #[error("topic {topic} has no partition {partition}: it has {partitions} (0 to {})", partitions - 1)]
    NoSuchPartition {
        topic: String,
        partition: i32,
        partitions: i32,
    },
    /// A partition's offsets could not be read, or a fetch failed.
    #[error("reading partition {partition} of topic {topic} failed: check that the user may read the topic")]
    Partition {
        topic: String,
        partition: i32,
        #[source]
        source: KafkaError,
    },
    /// No message arrived for a partition that has more to read.
    #[error("partition {partition} of topic {topic} delivered nothing for {waited:?} at offset {at} (high watermark {high}): check the brokers' health and the client's network")]
    Stalled {
        topic: String,
        partition: i32,
        at: i64,
        high: i64,
        waited: Duration,
    },
}

/// Reads one topic in offset order per partition, continuing where the last read
/// stopped. Blocking: run it on a blocking thread.
pub struct TopicReader {
    consumer: BaseConsumer<TracingContext>,
    /// Keeps the Kerberos ticket renewed while the consumer lives (GSSAPI only).
    _kerberos: Option<Arc<KerberosLogin>>,
    topic: String,
    /// The next offset to read, per partition (index = partition id).
    next: Vec<i64>,
    timeout: Duration,
}

impl std::fmt::Debug for TopicReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicReader")
            .field("topic", &self.topic)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

impl TopicReader {
    /// A reader of `topic` at its first offsets; `timeout` bounds each metadata request
    /// and how long a partition may deliver nothing while it has more to read.
    pub fn open(target: &KafkaTarget, topic: &str, timeout: Duration) -> Result<Self, ReadError> {
        let kerberos = login(target.sasl.as_ref())?;
        let mut config = target.client_config(ClientRole::Consumer);
        // librdkafka's assign() needs a group.id, but assigning joins no group: with a
        // throwaway id that no consumer shares, no JoinGroup and no offset commit, the
        // brokers keep no state for it and no real group is touched.
        config
            .set("group.id", throwaway_group_id())
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest");
        let consumer: BaseConsumer<TracingContext> = config
            .create_with_context(TracingContext::new(&target.bootstrap_servers))
            .map_err(|source| ReadError::Client {
                topic: topic.to_owned(),
                source,
            })?;
        let metadata = consumer
            .fetch_metadata(Some(topic), timeout)
            .map_err(|source| ReadError::Metadata {
                topic: topic.to_owned(),
                source,
            })?;
        let partitions = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic && t.error().is_none())
            .map(|t| t.partitions().len())
            .filter(|&n| n > 0)
            .ok_or_else(|| ReadError::TopicNotFound {
                topic: topic.to_owned(),
            })?;
        Ok(Self {
            consumer,
            _kerberos: kerberos,
            topic: topic.to_owned(),
            next: vec![0; partitions],
            timeout,
        })
    }

    /// The topic's name.
    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// Reads every partition, one after the other, from where the last call stopped up
    /// to its high watermark taken as its read starts, handing each record to `f` in
    /// offset order. Returns how many records were read.
    pub fn read_to_watermarks(&mut self, mut f: impl FnMut(TopicRecord)) -> Result<u64, ReadError> {
        let mut read = 0;
        for partition in 0..self.next.len() as i32 {
            read += self.read_partition(partition, &mut f)?;
        }
        Ok(read)
    }

    /// The topic's number of partitions.
    pub fn partitions(&self) -> i32 {
        self.next.len() as i32
    }

    /// Reads the last `last` messages (at most) of `partition`, or of every partition,
    /// each up to its high watermark taken as its read starts, in offset order per
    /// partition. For looking at a topic: it reads only the tail, wherever earlier reads
    /// stopped. Returns how many records were read.
    pub fn read_tail(
        &mut self,
        partition: Option<i32>,
        last: u64,
        mut f: impl FnMut(TopicRecord),
    ) -> Result<u64, ReadError> {
        let partitions: Vec<i32> = match partition {
            Some(p) if (0..self.partitions()).contains(&p) => vec![p],
            Some(p) => {
                return Err(ReadError::NoSuchPartition {
                    topic: self.topic.clone(),
                    partition: p,
                    partitions: self.partitions(),
                })
            }
            None => (0..self.partitions()).collect(),
        };
        let mut read = 0;
        for partition in partitions {
            let (low, high) = self
                .consumer
                .fetch_watermarks(&self.topic, partition, self.timeout)
                .map_err(|source| self.partition_error(partition, source))?;
            let last = i64::try_from(last).unwrap_or(i64::MAX);
            self.next[partition as usize] = high.saturating_sub(last).max(low);
            read += self.read_partition(partition, &mut f)?;
        }
        Ok(read)
    }

    fn read_partition(
        &mut self,
        partition: i32,
        f: &mut impl FnMut(TopicRecord),
    ) -> Result<u64, ReadError> {
        let slot = partition as usize;
        let (low, high) = self
            .consumer
            .fetch_watermarks(&self.topic, partition, self.timeout)
            .map_err(|source| self.partition_error(partition, source))?;
        // Retention may have removed the beginning: the log starts at `low` now.
        let start = self.next[slot].max(low);
        if start >= high {
            self.next[slot] = high;
            return Ok(0);
        }
        let mut assignment = TopicPartitionList::new();
        assignment
            .add_partition_offset(&self.topic, partition, Offset::Offset(start))
            .map_err(|source| self.partition_error(partition, source))?;
        self.consumer
            .assign(&assignment)
            .map_err(|source| self.partition_error(partition, source))?;
        let mut at = start;
        let mut read = 0;
        let mut last_progress = Instant::now();
        while at < high {
            match self.consumer.poll(POLL_INTERVAL) {
                Some(Ok(message)) => {
                    last_progress = Instant::now();
                    let offset = message.offset();
                    if message.partition() != partition || offset < at {
                        continue;
                    }
                    if offset >= high {
                        break;
                    }
                    f(TopicRecord {
                        partition,
                        offset,
                        key: message.key().map(<[u8]>::to_vec),
                        value: message.payload().map(<[u8]>::to_vec),
                        timestamp_ms: message.timestamp().to_millis(),
                    });
                    read += 1;
                    at = offset + 1;
                }
                Some(Err(source)) => return Err(self.partition_error(partition, source)),
                // The log ends before the watermark only where offsets have gaps
                // (compaction, transaction markers): the fetch position then passes it.
                None if self.position(partition) >= high => break,
                None if last_progress.elapsed() > self.timeout => {
                    return Err(ReadError::Stalled {
                        topic: self.topic.clone(),
                        partition,
                        at,
                        high,
                        waited: self.timeout,
                    })
                }
                None => {}
            }
        }
        self.next[slot] = high;
        Ok(read)
    }

    /// The next offset the consumer fetches from `partition` (0 when it does not know).
    fn position(&self, partition: i32) -> i64 {
        let Ok(list) = self.consumer.position() else {
            return 0;
        };
        match list
            .find_partition(&self.topic, partition)
            .map(|e| e.offset())
        {
            Some(Offset::Offset(n)) => n,
            _ => 0,
        }
    }

    fn partition_error(&self, partition: i32, source: KafkaError) -> ReadError {
        ReadError::Partition {
            topic: self.topic.clone(),
            partition,
            source,
        }
    }
}
