//! Sending messages to Kafka and learning, per message, when Kafka acknowledged it.
//!
//! Architecture invariant: a message counts as delivered only when its [`DeliveryTicket`]
//! resolves `Ok`. The pipeline awaits tickets in send order and advances its checkpoint only
//! past messages whose ticket (and every earlier ticket) resolved `Ok`, so a checkpoint never
//! runs ahead of Kafka.
//!
//! We use rdkafka's `FutureProducer`: one future per message is exactly the "acknowledged
//! yet?" question the checkpoint asks, and its internal thread polls librdkafka, so no task of
//! ours has to. The cost (a oneshot channel per message) is small next to formatting.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer};

use crate::client_context::TracingContext;
use crate::config::{ClientRole, KafkaTarget};
use crate::kerberos::{login, KerberosLogin, KinitError};
use rdkafka::ClientConfig;

/// Bytes librdkafka adds to key + value for one record at most (record-format v2 varints and
/// attributes: `RD_KAFKAP_MESSAGE_V2_MAX_OVERHEAD`). Its own size check uses the same sum.
pub const RECORD_OVERHEAD: usize = 36;

/// Bytes a record header adds besides its name and value at most (two varint lengths).
pub const HEADER_OVERHEAD: usize = 10;

/// One record to send: key and value (`None` = Kafka null) and headers in order.
#[derive(Debug, Clone, Copy)]
pub struct OutgoingRecord<'a> {
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [(&'a str, &'a [u8])],
}

/// How long `send` sleeps when librdkafka's queue is full before trying again. The queue
/// drains at broker speed; 10 ms is well under a batch's round trip, so waiting costs little
/// throughput, and it is long enough not to spin.
const QUEUE_FULL_BACKOFF: Duration = Duration::from_millis(10);

/// While blocked on a full queue, log at most this often so a long outage is visible.
const QUEUE_FULL_LOG_EVERY: Duration = Duration::from_secs(10);

/// The producer's librdkafka type: a future per message, our tracing context.
type Inner = FutureProducer<TracingContext>;

/// Counters the pipeline reads for its metrics. Plain atomics, updated with `Relaxed`
/// ordering: they are statistics, not synchronisation.
#[derive(Debug, Default)]
pub struct ProducerMetrics {
    /// Messages handed to librdkafka (not yet necessarily acknowledged).
    pub messages_enqueued: AtomicU64,
    /// Messages Kafka acknowledged (counted when their ticket is awaited).
    pub messages_sent: AtomicU64,
    /// Key + value bytes of acknowledged messages.
    pub bytes_sent: AtomicU64,
    /// Messages that failed: refused before sending or reported failed by Kafka.
    pub errors: AtomicU64,
    /// Times `send` found librdkafka's queue full and waited.
    pub queue_full_waits: AtomicU64,
}

/// Where an acknowledged message landed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

/// A message that could not be delivered. Every variant names the topic and partition, and
/// the caller's label (e.g. table and key) when one was given.
///
/// After any error the producer's stream has a hole: stop sending, drop the producer and
/// resume from the last checkpoint with a new one (duplicates are allowed, loss is not).
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ProduceError {
    /// The message is larger than `max_message_bytes`; it was not sent.
    #[error(
        "message for topic \"{topic}\" partition {partition}{} is {size} bytes (key + value + \
         {RECORD_OVERHEAD} bytes framing), over the {max}-byte limit: raise the topic's \
         max.message.bytes (or the broker's message.max.bytes) and \"message.max.bytes\" in the \
         project's [target.producer] to at least {size}, or leave the large column out of the \
         sync",
        label_suffix(.label)
    )]
    Oversized {
        topic: String,
        partition: i32,
        label: Option<String>,
        size: usize,
        max: usize,
    },
    /// Kafka refused the message for a reason retrying cannot fix (see [`is_fatal_code`]).
    #[error(
        "Kafka refused the message for topic \"{topic}\" partition {partition}{}: {reason}: {fix}",
        label_suffix(.label),
        fix = fatal_fix(*.code)
    )]
    Fatal {
        topic: String,
        partition: i32,
        label: Option<String>,
        code: RDKafkaErrorCode,
        reason: String,
    },
    /// The message was not acknowledged, for a reason that may pass (typically the brokers were
    /// unreachable for longer than `message_timeout`). Resuming from the checkpoint may work.
    #[error(
        "message for topic \"{topic}\" partition {partition}{} was not acknowledged: {reason}; \
         resuming from the last checkpoint sends it again: if this repeats, check that the \
         brokers are reachable and healthy, or raise target.producer message_timeout",
        label_suffix(.label)
    )]
    NotAcknowledged {
        topic: String,
        partition: i32,
        label: Option<String>,
        code: RDKafkaErrorCode,
        reason: String,
    },
    /// `flush` ran out of time with messages still unacknowledged.
    #[error("{pending} messages were still unacknowledged after waiting {waited:?} for Kafka")]
    FlushTimedOut { pending: i32, waited: Duration },
    /// librdkafka refused to create the client.
    #[error("cannot create the Kafka producer: {0}")]
    Client(KafkaError),
    /// No Kerberos ticket for a GSSAPI target.
    #[error(transparent)]
    Kerberos(#[from] KinitError),
}

impl ProduceError {
    /// Whether the user must change something (config, ACLs, topics, data) before retrying.
    /// `false` means restarting from the checkpoint may succeed on its own.
    pub fn is_fatal(&self) -> bool {
        !matches!(
            self,
            ProduceError::NotAcknowledged { .. } | ProduceError::FlushTimedOut { .. }
        )
    }
}

fn label_suffix(label: &Option<String>) -> String {
    label
        .as_ref()
        .map(|l| format!(" ({l})"))
        .unwrap_or_default()
}

/// librdkafka error codes that retrying or resuming cannot fix: they need the user to act.
/// librdkafka already retries everything transient (leader changes, timeouts of single
/// requests, broker restarts) until `message_timeout`, so these are the ones that remain.
pub fn is_fatal_code(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        code,
        MessageSizeTooLarge
            | MessageBatchTooLarge
            | InvalidMessageSize
            | InvalidMessage
            | InvalidRecord
            | InvalidTimestamp
            | BadMessage
            | TopicAuthorizationFailed
            | ClusterAuthorizationFailed
            | TransactionalIdAuthorizationFailed
            | Authentication
            | SaslAuthenticationFailed
            | UnsupportedSASLMechanism
            | UnknownTopicOrPartition
            | UnknownTopic
            | UnknownPartition
            | InvalidTopic
            | InvalidRequiredAcks
            | UnsupportedVersion
            | UnsupportedForMessageFormat
            | UnsupportedCompressionType
            | PolicyViolation
            | InvalidArgument
            // Idempotent producer state lost for good (librdkafka raises `Fatal` then).
            | Fatal
            | OutOfOrderSequenceNumber
            | InvalidProducerEpoch
            | ProducerFenced
            | Fenced
            | Inconsistent
            | GaplessGuarantee
    )
}

/// What the user can do about a fatal code.
fn fatal_fix(code: RDKafkaErrorCode) -> &'static str {
    use RDKafkaErrorCode::*;
    match code {
        MessageSizeTooLarge | MessageBatchTooLarge | InvalidMessageSize => {
            "raise the topic's max.message.bytes (or the broker's message.max.bytes) above the \
             message size and keep \"message.max.bytes\" in the project's [target.producer] at \
             or below it, or leave the large column out of the sync"
        }
        TopicAuthorizationFailed => "grant the obsync user WRITE and DESCRIBE on the topic",
        ClusterAuthorizationFailed => {
            "grant the obsync user IDEMPOTENT_WRITE on the cluster (the idempotent producer \
             needs it on Kafka before 2.8), or WRITE on the topics on newer brokers"
        }
        Authentication | SaslAuthenticationFailed | UnsupportedSASLMechanism => {
            "check target.sasl mechanism, username and password against the broker's listener"
        }
        UnknownTopicOrPartition | UnknownTopic | UnknownPartition => {
            "create the topic (enable schema sync, or create it by hand) with enough partitions; \
             obsync never relies on automatic topic creation"
        }
        UnsupportedVersion | UnsupportedForMessageFormat => {
            "set target.version to the broker's real Kafka version"
        }
        UnsupportedCompressionType => "choose a compression the broker supports",
        Fatal | OutOfOrderSequenceNumber | InvalidProducerEpoch | ProducerFenced | Fenced => {
            "the idempotent producer lost its sequence state; restart the project (it resumes \
             from the last checkpoint) and check the broker logs"
        }
        _ => "check the broker logs for the cause",
    }
}

/// Sends messages to explicit partitions. Cheap to share behind an `Arc`; `send` takes `&self`.
///
/// One handle per user (a project's run); the librdkafka client under it is either its own
/// ([`KafkaProducer::new`]) or shared with every handle of the same configuration
/// ([`KafkaProducer::shared`], see [`crate::shared`]). Either way each message's outcome
/// reaches only the ticket `send` returned for it, and the counters are the handle's own.
pub struct KafkaProducer {
    client: Arc<ProducerClient>,
    max_message_bytes: usize,
    metrics: Arc<ProducerMetrics>,
    /// The handle's share of the process's in-flight bytes (shared clients only).
    budget: Option<crate::budget::BudgetShare>,
}

/// One librdkafka producer: its threads, one socket per broker, its queue.
pub(crate) struct ProducerClient {
    pub(crate) inner: Inner,
    /// Keeps the Kerberos ticket renewed while the client lives (GSSAPI only).
    _kerberos: Option<Arc<KerberosLogin>>,
    /// Process-unique number, also in librdkafka's `client.id` (`obsync-<n>`), so that
    /// brokers' logs and request metrics tell obsync's clients apart.
    pub(crate) number: u64,
}

impl ProducerClient {
    /// Creates a librdkafka producer for `target`. Does not connect.
    pub(crate) fn create(target: &KafkaTarget) -> Result<Self, ProduceError> {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let number = NEXT.fetch_add(1, Ordering::Relaxed);
        let kerberos = login(target.sasl.as_ref())?;
        let mut config = ClientConfig::new();
        // First, so that a client.id the user set in [target.producer] (applied later)
        // wins.
        config.set("client.id", format!("obsync-{number}"));
        for (key, value) in target.properties(ClientRole::Producer) {
            config.set(key, value);
        }
        let inner: Inner = config
            .create_with_context(TracingContext::new(&target.bootstrap_servers))
            .map_err(ProduceError::Client)?;
        Ok(Self {
            inner,
            _kerberos: kerberos,
            number,
        })
    }

    /// Whether librdkafka put the client in its fatal state (idempotence state lost): no
    /// message can go through it any more.
    pub(crate) fn is_fatal(&self) -> bool {
        self.inner.client().fatal_error().is_some()
    }
}

impl std::fmt::Debug for KafkaProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaProducer")
            .field("max_message_bytes", &self.max_message_bytes)
            .field("in_flight", &self.in_flight())
            .finish()
    }
}

impl KafkaProducer {
    /// Builds the producer. Does not connect: connection problems show up as unacknowledged
    /// messages, and before that in the precheck.
    pub fn new(target: &KafkaTarget) -> Result<Self, ProduceError> {
        Self::with_metrics(target, Arc::default())
    }

    /// Like [`KafkaProducer::new`], counting into `metrics`, which may outlive the producer
    /// (a project that resumes with a new producer keeps counting in the same place).
    pub fn with_metrics(
        target: &KafkaTarget,
        metrics: Arc<ProducerMetrics>,
    ) -> Result<Self, ProduceError> {
        Ok(Self {
            client: Arc::new(ProducerClient::create(target)?),
            max_message_bytes: target.producer.max_message_bytes,
            metrics,
            budget: None,
        })
    }

    /// Like [`KafkaProducer::with_metrics`], on the librdkafka client every handle of the
    /// same configuration shares (created by the first, closed when the last is dropped):
    /// hundreds of projects on one target cost one client's threads and sockets, not
    /// hundreds. See [`crate::shared`] for what stays per handle.
    pub fn shared(
        target: &KafkaTarget,
        metrics: Arc<ProducerMetrics>,
    ) -> Result<Self, ProduceError> {
        Ok(Self {
            client: crate::shared::client_for(target)?,
            max_message_bytes: target.producer.max_message_bytes,
            metrics,
            budget: Some(crate::budget::global().share()),
        })
    }

    /// The process-unique number of the librdkafka client under this handle (its
    /// `client.id` is `obsync-<number>` unless the configuration sets one): handles that
    /// share a client show the same number.
    pub fn client_number(&self) -> u64 {
        self.client.number
    }

    /// The counters of this producer.
    pub fn metrics(&self) -> Arc<ProducerMetrics> {
        Arc::clone(&self.metrics)
    }

    /// Messages handed to librdkafka and not yet acknowledged or failed, by every handle
    /// on this handle's client.
    pub fn in_flight(&self) -> i32 {
        self.client.inner.in_flight_count()
    }

    /// Queues one message for `partition` of `topic` and returns its ticket.
    ///
    /// Waits (asynchronously) while librdkafka's queue is full; never drops a message.
    /// Messages to one partition are written in the order of `send` calls, also across
    /// retries. `label` (e.g. `db.table key=…`) is only used in error messages.
    ///
    /// Fails at once, without sending, if the message is too large or the client is in a
    /// fatal state. Otherwise the outcome arrives through the ticket.
    pub async fn send(
        &self,
        topic: &str,
        partition: i32,
        key: &[u8],
        value: &[u8],
        label: Option<&str>,
    ) -> Result<DeliveryTicket, ProduceError> {
        self.send_record(
            topic,
            partition,
            OutgoingRecord {
                key: Some(key),
                value: Some(value),
                headers: &[],
            },
            label,
        )
        .await
    }

    /// As [`Self::send`], for a record that may have a null key or value (a tombstone)
    /// and headers (Kafka 0.11 and newer).
    pub async fn send_record(
        &self,
        topic: &str,
        partition: i32,
        rec: OutgoingRecord<'_>,
        label: Option<&str>,
    ) -> Result<DeliveryTicket, ProduceError> {
        let (key, value) = (rec.key.unwrap_or_default(), rec.value.unwrap_or_default());
        let header_bytes: usize = rec
            .headers
            .iter()
            .map(|(k, v)| k.len() + v.len() + HEADER_OVERHEAD)
            .sum();
        let size = key.len() + value.len() + header_bytes + RECORD_OVERHEAD;
        if size > self.max_message_bytes {
            self.metrics.errors.fetch_add(1, Ordering::Relaxed);
            return Err(ProduceError::Oversized {
                topic: topic.to_owned(),
                partition,
                label: label.map(str::to_owned),
                size,
                max: self.max_message_bytes,
            });
        }
        let mut record: FutureRecord<'_, [u8], [u8]> = FutureRecord::to(topic).partition(partition);
        record.key = rec.key;
        record.payload = rec.value;
        if !rec.headers.is_empty() {
            let mut headers = OwnedHeaders::new_with_capacity(rec.headers.len());
            for (name, value) in rec.headers {
                headers = headers.insert(Header {
                    key: name,
                    value: Some(*value),
                });
            }
            record.headers = Some(headers);
        }
        // The process's in-flight bytes, fairly shared (`crate::budget`); returned when
        // the ticket resolves.
        let reserved = match &self.budget {
            Some(b) => Some(b.take(size as u64).await),
            None => None,
        };
        let mut blocked_since: Option<(Instant, Instant)> = None;
        let future = loop {
            match self.client.inner.send_result(record) {
                Ok(future) => break future,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    self.metrics
                        .queue_full_waits
                        .fetch_add(1, Ordering::Relaxed);
                    let now = Instant::now();
                    let (since, logged) = blocked_since.get_or_insert((now, now));
                    if now.duration_since(*logged) >= QUEUE_FULL_LOG_EVERY {
                        *logged = now;
                        tracing::warn!(
                            topic,
                            partition,
                            waited_s = now.duration_since(*since).as_secs(),
                            in_flight = self.in_flight(),
                            "Kafka producer queue full: waiting for acknowledgements"
                        );
                    }
                    tokio::time::sleep(QUEUE_FULL_BACKOFF).await;
                }
                Err((error, _)) => {
                    self.metrics.errors.fetch_add(1, Ordering::Relaxed);
                    return Err(self.classify(error, topic, partition, label));
                }
            }
        };
        self.metrics
            .messages_enqueued
            .fetch_add(1, Ordering::Relaxed);
        Ok(DeliveryTicket {
            future,
            label: label.map(Box::from),
            bytes: (key.len() + value.len()) as u64,
            metrics: Arc::clone(&self.metrics),
            producer: self.client.inner.clone(),
            _reserved: reserved,
        })
    }

    /// Waits until every queued message is acknowledged or failed, at most `timeout`:
    /// those of every handle on this handle's client. Use it before a clean stop; the
    /// tickets still carry each message's outcome.
    pub async fn flush(&self, timeout: Duration) -> Result<(), ProduceError> {
        let inner = self.client.inner.clone();
        // librdkafka's flush blocks its caller: keep it off the async runtime's threads.
        let result = tokio::task::spawn_blocking(move || inner.flush(timeout))
            .await
            .expect("flush task panicked");
        // rd_kafka_flush has one failure: the timeout.
        result.map_err(|_| ProduceError::FlushTimedOut {
            pending: self.in_flight(),
            waited: timeout,
        })
    }

    fn classify(
        &self,
        error: KafkaError,
        topic: &str,
        partition: i32,
        label: Option<&str>,
    ) -> ProduceError {
        classify(&self.client.inner, error, topic, partition, label)
    }
}

/// Turns a librdkafka error about one message into a [`ProduceError`].
fn classify(
    producer: &Inner,
    error: KafkaError,
    topic: &str,
    partition: i32,
    label: Option<&str>,
) -> ProduceError {
    let code = error.rdkafka_error_code().unwrap_or(RDKafkaErrorCode::Fail);
    let reason = match (code, producer.client().fatal_error()) {
        // `Fatal` only says "see rd_kafka_fatal_error": fetch the real cause.
        (RDKafkaErrorCode::Fatal, Some((cause, text))) => format!("{text} ({cause:?})"),
        _ => code.to_string(),
    };
    let (topic, label) = (topic.to_owned(), label.map(str::to_owned));
    if is_fatal_code(code) {
        ProduceError::Fatal {
            topic,
            partition,
            label,
            code,
            reason,
        }
    } else {
        ProduceError::NotAcknowledged {
            topic,
            partition,
            label,
            code,
            reason,
        }
    }
}

/// The pending outcome of one message. Await [`DeliveryTicket::acknowledged`] (in send order,
/// for checkpointing). Dropping a ticket does not cancel the message.
#[must_use = "a message counts as delivered only once its ticket resolves Ok"]
pub struct DeliveryTicket {
    future: DeliveryFuture,
    label: Option<Box<str>>,
    bytes: u64,
    metrics: Arc<ProducerMetrics>,
    producer: Inner,
    /// Returned to the in-flight budget with the ticket.
    _reserved: Option<crate::budget::Reserved>,
}

impl std::fmt::Debug for DeliveryTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeliveryTicket")
            .field("label", &self.label)
            .field("bytes", &self.bytes)
            .finish_non_exhaustive()
    }
}

impl DeliveryTicket {
    /// Resolves when Kafka acknowledged the message (all in-sync replicas have it) or when
    /// librdkafka gave up on it.
    pub async fn acknowledged(self) -> Result<Delivered, ProduceError> {
        let DeliveryTicket {
            future,
            label,
            bytes,
            metrics,
            producer,
            _reserved,
        } = self;
        match future.await {
            Ok(Ok(delivery)) => {
                metrics.messages_sent.fetch_add(1, Ordering::Relaxed);
                metrics.bytes_sent.fetch_add(bytes, Ordering::Relaxed);
                Ok(Delivered {
                    partition: delivery.partition,
                    offset: delivery.offset,
                })
            }
            Ok(Err((error, message))) => {
                use rdkafka::Message;
                metrics.errors.fetch_add(1, Ordering::Relaxed);
                Err(classify(
                    &producer,
                    error,
                    message.topic(),
                    message.partition(),
                    label.as_deref(),
                ))
            }
            // The report's sender lives in librdkafka until the report is made and we hold a
            // producer handle, so this should not happen; if it does, the message's fate is
            // unknown and must be treated as not acknowledged.
            Err(_cancelled) => {
                metrics.errors.fetch_add(1, Ordering::Relaxed);
                Err(ProduceError::NotAcknowledged {
                    topic: String::from("?"),
                    partition: -1,
                    label: label.map(String::from),
                    code: RDKafkaErrorCode::Fail,
                    reason: "the delivery report was lost".into(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The pipeline moves tickets and their futures across tasks.
    #[allow(dead_code)]
    fn futures_are_send(producer: &KafkaProducer, ticket: DeliveryTicket) {
        fn send_static<T: Send + 'static>(_: T) {}
        fn send<T: Send>(_: T) {}
        send_static(ticket.acknowledged());
        send(producer.send("t", 0, b"k", b"v", None));
        send(producer.flush(Duration::from_secs(1)));
    }

    #[test]
    fn only_transient_failures_are_not_fatal() {
        let not_acked = ProduceError::NotAcknowledged {
            topic: "t".into(),
            partition: 0,
            label: None,
            code: RDKafkaErrorCode::MessageTimedOut,
            reason: "Local: Message timed out".into(),
        };
        assert!(!not_acked.is_fatal());
        assert!(is_fatal_code(RDKafkaErrorCode::TopicAuthorizationFailed));
        assert!(is_fatal_code(RDKafkaErrorCode::MessageSizeTooLarge));
        assert!(!is_fatal_code(RDKafkaErrorCode::MessageTimedOut));
        assert!(!is_fatal_code(RDKafkaErrorCode::NotLeaderForPartition));
    }
}
