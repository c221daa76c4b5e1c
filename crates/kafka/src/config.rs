//! The Kafka target as obsync sees it, and its translation into a librdkafka client config.
//!
//! Every property we set is explained where it is set: the producer's guarantees (no loss, no
//! reordering within a partition, a checkpoint never ahead of an acknowledgement) come from
//! these settings, not from code elsewhere.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use rdkafka::ClientConfig;

/// Kafka broker generation. It decides which protocol features the client may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KafkaVersion {
    /// 0.9.x: no ApiVersions request, no idempotent producer, no topic creation over the
    /// protocol (so no schema sync).
    V0_9,
    /// 1.0.x: idempotent producer and CreateTopics are available.
    V1_0,
    /// 2.x. Note: zstd compression needs 2.1 or later.
    V2,
    /// 3.x, 4.x and later.
    V3Plus,
}

impl KafkaVersion {
    /// Whether the broker can create topics through the protocol (CreateTopics, Kafka ≥ 0.10.1).
    pub fn supports_topic_creation(self) -> bool {
        self != KafkaVersion::V0_9
    }

    /// Whether the idempotent producer (Kafka ≥ 0.11) can be used.
    pub fn supports_idempotence(self) -> bool {
        self != KafkaVersion::V0_9
    }

    /// Human-readable version family, for messages.
    pub fn label(self) -> &'static str {
        match self {
            KafkaVersion::V0_9 => "0.9",
            KafkaVersion::V1_0 => "1.0",
            KafkaVersion::V2 => "2.x",
            KafkaVersion::V3Plus => "3.x+",
        }
    }
}

/// SASL mechanism for authenticating to the brokers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl SaslMechanism {
    /// The name librdkafka and Kafka use for the mechanism.
    pub fn as_str(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }
}

/// SASL credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct Sasl {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password: String,
}

impl std::fmt::Debug for Sasl {
    // The password must never reach a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sasl")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

/// TLS to the brokers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tls {
    /// PEM file with the CA certificates that sign the broker certificates; `None` uses the
    /// system trust store.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for brokers that require client authentication (mTLS).
    /// Must come together with `key_file`.
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file`.
    pub key_file: Option<PathBuf>,
    /// Check that the broker certificate names the host we connected to. Turn off only for
    /// brokers whose certificates lack the right names.
    pub verify_hostname: bool,
}

/// Compression codec of produced batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compression {
    #[default]
    None,
    Gzip,
    Snappy,
    Lz4,
    /// Needs Kafka 2.1 or later.
    Zstd,
}

impl Compression {
    fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// Producer knobs a user may need to change. The defaults suit a CDC stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProducerSettings {
    /// Largest message (key + value + record framing) we will send. Larger messages fail
    /// before sending with an error naming the fix. Default 1,000,000: librdkafka's default
    /// and below the broker's default `message.max.bytes` (1,048,588), so a message that
    /// passes here also fits a default broker's record-batch limit.
    pub max_message_bytes: usize,
    /// How long librdkafka keeps retrying one message (broker down, leader moving) before
    /// reporting it failed. Default 5 minutes so that a broker restart or a short outage is
    /// ridden out; the pipeline stalls meanwhile (back-pressure), it does not fail.
    pub message_timeout: Duration,
    /// How long a message may wait for more to join its batch (`linger.ms`).
    pub linger: Duration,
    /// Bytes librdkafka may hold that are not yet acknowledged. When full, `send` waits.
    pub queue_max_bytes: usize,
}

impl Default for ProducerSettings {
    fn default() -> Self {
        Self {
            max_message_bytes: 1_000_000,
            message_timeout: Duration::from_secs(300),
            // 5 ms: CDC traffic is bursty. A short linger keeps the added latency far below
            // the source's own commit latency, while a busy stream still fills batches (at
            // 50k msg/s, 5 ms gathers ~250 messages per partition batch). Higher values buy
            // little throughput here because the pipeline keeps the queue full anyway.
            linger: Duration::from_millis(5),
            // 64 MiB: enough to keep several full batches per partition in flight while the
            // pipeline formats the next ones, small enough that an outage stalls the source
            // reader early instead of buffering ~1 GB (librdkafka's default) in memory.
            queue_max_bytes: 64 << 20,
        }
    }
}

/// A Kafka data source used as a sync target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KafkaTarget {
    /// Comma-separated `host:port` list used to discover the cluster.
    pub bootstrap_servers: String,
    pub version: KafkaVersion,
    pub sasl: Option<Sasl>,
    pub tls: Option<Tls>,
    pub compression: Compression,
    pub producer: ProducerSettings,
    /// Extra librdkafka properties, applied last. Properties that obsync manages for
    /// correctness (acks, idempotence, retries, security, sizes) are refused: see
    /// [`ConfigError::ManagedProperty`].
    pub extra: BTreeMap<String, String>,
}

impl KafkaTarget {
    /// A plaintext target for the given servers, Kafka 3.x+, default producer settings.
    pub fn new(bootstrap_servers: impl Into<String>) -> Self {
        Self {
            bootstrap_servers: bootstrap_servers.into(),
            version: KafkaVersion::V3Plus,
            sasl: None,
            tls: None,
            compression: Compression::None,
            producer: ProducerSettings::default(),
            extra: BTreeMap::new(),
        }
    }
}

/// A target that cannot be turned into a client config.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The bootstrap server list is empty.
    #[error("target.bootstrap_servers is empty: give at least one host:port")]
    NoBootstrapServers,
    /// The compression codec is newer than the broker.
    #[error(
        "compression {codec} needs Kafka {needs} or later but the target is Kafka {version}: \
         choose another compression or the right Kafka version"
    )]
    CompressionUnsupported {
        codec: &'static str,
        needs: &'static str,
        version: &'static str,
    },
    /// Only one half of a TLS client certificate pair was given.
    #[error(
        "target.tls has {given} but not {missing}: a client certificate needs both cert_file \
         and key_file"
    )]
    IncompleteClientCert {
        given: &'static str,
        missing: &'static str,
    },
    /// An `extra` property clashes with a setting obsync manages.
    #[error(
        "[target.producer] sets \"{property}\", which obsync manages ({reason}){}",
        match .instead { Some(field) => format!(": use {field} instead"), None => String::new() }
    )]
    ManagedProperty {
        property: String,
        reason: &'static str,
        instead: Option<&'static str>,
    },
    /// A size setting out of librdkafka's accepted range.
    #[error("target.producer.{field} = {value} is out of range: use {min}..={max}")]
    OutOfRange {
        field: &'static str,
        value: u128,
        min: u128,
        max: u128,
    },
}

/// Properties `extra` may not set, why, and which typed field to use instead.
#[rustfmt::skip] // a table reads better one row per line
const MANAGED: &[(&str, &str, Option<&str>)] = &[
    ("bootstrap.servers", "connection", Some("target.bootstrap_servers")),
    ("metadata.broker.list", "connection", Some("target.bootstrap_servers")),
    ("acks", "no-loss guarantee", None),
    ("request.required.acks", "no-loss guarantee", None),
    ("enable.idempotence", "ordering guarantee", None),
    ("max.in.flight.requests.per.connection", "ordering guarantee", None),
    ("max.in.flight", "ordering guarantee", None),
    ("retries", "no-loss guarantee", None),
    ("message.send.max.retries", "no-loss guarantee", None),
    ("api.version.request", "derived from the Kafka version", Some("target.version")),
    ("broker.version.fallback", "derived from the Kafka version", Some("target.version")),
    ("security.protocol", "derived from sasl and tls", Some("target.sasl / target.tls")),
    ("sasl.mechanism", "authentication", Some("target.sasl")),
    ("sasl.mechanisms", "authentication", Some("target.sasl")),
    ("sasl.username", "authentication", Some("target.sasl")),
    ("sasl.password", "authentication", Some("target.sasl")),
    ("allow.auto.create.topics", "topics come from schema sync", None),
    ("compression.type", "compression", Some("target.compression")),
    ("compression.codec", "compression", Some("target.compression")),
    ("message.max.bytes", "oversize detection", Some("KafkaTarget.producer.max_message_bytes")),
    ("message.timeout.ms", "outage tolerance", Some("KafkaTarget.producer.message_timeout")),
    ("delivery.timeout.ms", "outage tolerance", Some("KafkaTarget.producer.message_timeout")),
    ("linger.ms", "latency", Some("KafkaTarget.producer.linger")),
    ("queue.buffering.max.ms", "latency", Some("KafkaTarget.producer.linger")),
    ("queue.buffering.max.kbytes", "memory bound", Some("KafkaTarget.producer.queue_max_bytes")),
];

/// Which client the config is for: the admin client needs no producer properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRole {
    Producer,
    Admin,
}

impl KafkaTarget {
    /// Checks the target and builds the librdkafka properties for `role`.
    pub fn client_config(&self, role: ClientRole) -> Result<ClientConfig, ConfigError> {
        let props = self.properties(role)?;
        let mut config = ClientConfig::new();
        for (key, value) in props {
            config.set(key, value);
        }
        Ok(config)
    }

    /// The librdkafka properties as ordered pairs (exposed for tests and `--explain` output;
    /// secrets included, so never log the result).
    pub fn properties(&self, role: ClientRole) -> Result<Vec<(String, String)>, ConfigError> {
        if self
            .bootstrap_servers
            .split(',')
            .all(|s| s.trim().is_empty())
        {
            return Err(ConfigError::NoBootstrapServers);
        }
        let mut p: Vec<(String, String)> = Vec::new();
        let mut set = |k: &str, v: String| p.push((k.to_owned(), v));

        set("bootstrap.servers", self.bootstrap_servers.clone());
        self.version_properties(&mut set);
        self.security_properties(&mut set)?;
        // Topics are created only by schema sync, with the partition count the user chose.
        // A broker with auto.create.topics.enable would otherwise silently create a missing
        // topic with its own defaults when we ask for its metadata or produce to it.
        set("allow.auto.create.topics", "false".into());
        if role == ClientRole::Producer {
            self.producer_properties(&mut set)?;
        }
        for (key, value) in &self.extra {
            if let Some((_, reason, instead)) = MANAGED.iter().find(|(k, _, _)| *k == key) {
                return Err(ConfigError::ManagedProperty {
                    property: key.clone(),
                    reason,
                    instead: *instead,
                });
            }
            set(key, value.clone());
        }
        Ok(p)
    }

    fn version_properties(&self, set: &mut impl FnMut(&str, String)) {
        // 0.9 brokers close the connection on an ApiVersions request; librdkafka must be
        // told the broker generation instead of asking for it. 1.0+ answer ApiVersions, so
        // librdkafka picks the protocol versions itself (its default; setting
        // `api.version.request` explicitly only earns a deprecation warning).
        if self.version == KafkaVersion::V0_9 {
            set("api.version.request", "false".into());
            set("broker.version.fallback", "0.9.0.1".into());
        }
    }

    fn security_properties(&self, set: &mut impl FnMut(&str, String)) -> Result<(), ConfigError> {
        let protocol = match (&self.sasl, &self.tls) {
            (None, None) => "plaintext",
            (Some(_), None) => "sasl_plaintext",
            (None, Some(_)) => "ssl",
            (Some(_), Some(_)) => "sasl_ssl",
        };
        set("security.protocol", protocol.into());
        if let Some(sasl) = &self.sasl {
            set("sasl.mechanisms", sasl.mechanism.as_str().into());
            set("sasl.username", sasl.username.clone());
            set("sasl.password", sasl.password.clone());
        }
        if let Some(tls) = &self.tls {
            match (&tls.cert_file, &tls.key_file) {
                (Some(_), None) => {
                    return Err(ConfigError::IncompleteClientCert {
                        given: "cert_file",
                        missing: "key_file",
                    })
                }
                (None, Some(_)) => {
                    return Err(ConfigError::IncompleteClientCert {
                        given: "key_file",
                        missing: "cert_file",
                    })
                }
                (Some(cert), Some(key)) => {
                    set("ssl.certificate.location", cert.display().to_string());
                    set("ssl.key.location", key.display().to_string());
                }
                (None, None) => {}
            }
            if let Some(ca) = &tls.ca_file {
                set("ssl.ca.location", ca.display().to_string());
            }
            let algorithm = if tls.verify_hostname { "https" } else { "none" };
            set("ssl.endpoint.identification.algorithm", algorithm.into());
        }
        Ok(())
    }

    fn producer_properties(&self, set: &mut impl FnMut(&str, String)) -> Result<(), ConfigError> {
        let s = &self.producer;
        // acks=all: a message counts as delivered only once every in-sync replica has it, so a
        // checkpoint derived from acknowledgements survives the loss of the partition leader.
        set("acks", "all".into());
        if self.version.supports_idempotence() {
            // Idempotence makes retries safe: the broker drops duplicates of a retried batch
            // and rejects out-of-sequence ones, so librdkafka may keep up to 5 requests in
            // flight per partition and still never reorder or duplicate on retry.
            set("enable.idempotence", "true".into());
            set("max.in.flight.requests.per.connection", "5".into());
        } else {
            // Kafka 0.9 has no idempotent producer. With more than one request in flight a
            // failed-then-retried batch would land after a later one: one at a time keeps
            // per-partition order at the cost of throughput.
            set("enable.idempotence", "false".into());
            set("max.in.flight.requests.per.connection", "1".into());
        }
        // Retry without a count limit; `message.timeout.ms` alone bounds how long we try.
        set("message.send.max.retries", i32::MAX.to_string());
        // Outages shorter than this are retried, not failed (see ProducerSettings).
        set(
            "message.timeout.ms",
            millis("message_timeout", s.message_timeout, 1, i32::MAX)?,
        );
        set("linger.ms", millis("linger", s.linger, 0, 900_000)?);
        // librdkafka rejects a message whose key + value + 36 bytes of record framing exceed
        // this; we check the same bound before sending to give a better error.
        set(
            "message.max.bytes",
            in_range(
                "max_message_bytes",
                s.max_message_bytes,
                1_000,
                1_000_000_000,
            )?,
        );
        // A batch may grow to the message limit: fewer, larger requests for bulk (full sync)
        // traffic, while linger.ms keeps small incremental batches quick.
        set(
            "batch.size",
            in_range(
                "max_message_bytes",
                s.max_message_bytes,
                1_000,
                1_000_000_000,
            )?,
        );
        set(
            "queue.buffering.max.kbytes",
            in_range(
                "queue_max_bytes",
                s.queue_max_bytes.div_ceil(1024),
                1,
                i32::MAX as usize,
            )?,
        );
        // The byte bound above is the one that matters; lift the count bound (default 100k)
        // so that many small messages are limited by bytes, not count.
        set("queue.buffering.max.messages", "1000000".into());
        match (self.compression, self.version) {
            (Compression::Zstd, KafkaVersion::V0_9 | KafkaVersion::V1_0) => {
                return Err(ConfigError::CompressionUnsupported {
                    codec: "zstd",
                    needs: "2.1",
                    version: self.version.label(),
                })
            }
            (c, _) => set("compression.type", c.as_str().into()),
        }
        Ok(())
    }
}

fn millis(field: &'static str, d: Duration, min: u128, max: i32) -> Result<String, ConfigError> {
    let ms = d.as_millis();
    if ms < min || ms > max as u128 {
        return Err(ConfigError::OutOfRange {
            field,
            value: ms,
            min,
            max: max as u128,
        });
    }
    Ok(ms.to_string())
}

fn in_range(
    field: &'static str,
    value: usize,
    min: usize,
    max: usize,
) -> Result<String, ConfigError> {
    if value < min || value > max {
        return Err(ConfigError::OutOfRange {
            field,
            value: value as u128,
            min: min as u128,
            max: max as u128,
        });
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(t: &KafkaTarget) -> BTreeMap<String, String> {
        t.properties(ClientRole::Producer)
            .unwrap()
            .into_iter()
            .collect()
    }

    #[test]
    fn kafka_0_9_disables_api_versions_and_idempotence_and_keeps_one_request_in_flight() {
        let mut t = KafkaTarget::new("k:9092");
        t.version = KafkaVersion::V0_9;
        let p = props(&t);
        assert_eq!(p["api.version.request"], "false");
        assert_eq!(p["broker.version.fallback"], "0.9.0.1");
        assert_eq!(p["enable.idempotence"], "false");
        assert_eq!(p["max.in.flight.requests.per.connection"], "1");
        assert_eq!(p["acks"], "all");
    }

    #[test]
    fn kafka_1_0_and_later_use_the_idempotent_producer_with_acks_all() {
        for v in [KafkaVersion::V1_0, KafkaVersion::V2, KafkaVersion::V3Plus] {
            let mut t = KafkaTarget::new("k:9092");
            t.version = v;
            let p = props(&t);
            assert_eq!(p["enable.idempotence"], "true");
            assert_eq!(p["acks"], "all");
            assert!(
                !p.contains_key("api.version.request"),
                "librdkafka asks by default"
            );
            assert!(!p.contains_key("broker.version.fallback"));
        }
    }

    #[test]
    fn defaults_ride_out_a_five_minute_outage_and_bound_memory() {
        let p = props(&KafkaTarget::new("k:9092"));
        assert_eq!(p["message.timeout.ms"], "300000");
        assert_eq!(p["linger.ms"], "5");
        assert_eq!(p["message.max.bytes"], "1000000");
        assert_eq!(p["queue.buffering.max.kbytes"], "65536");
        assert_eq!(p["security.protocol"], "plaintext");
    }

    #[test]
    fn security_protocol_follows_sasl_and_tls() {
        let sasl = Sasl {
            mechanism: SaslMechanism::ScramSha512,
            username: "u".into(),
            password: "p".into(),
        };
        let tls = Tls {
            ca_file: Some("/ca.pem".into()),
            verify_hostname: false,
            ..Tls::default()
        };
        let mut t = KafkaTarget::new("k:9092");
        t.sasl = Some(sasl.clone());
        assert_eq!(props(&t)["security.protocol"], "sasl_plaintext");
        assert_eq!(props(&t)["sasl.mechanisms"], "SCRAM-SHA-512");
        t.tls = Some(tls.clone());
        let p = props(&t);
        assert_eq!(p["security.protocol"], "sasl_ssl");
        assert_eq!(p["ssl.ca.location"], "/ca.pem");
        assert_eq!(p["ssl.endpoint.identification.algorithm"], "none");
        t.sasl = None;
        assert_eq!(props(&t)["security.protocol"], "ssl");
        assert!(!format!("{sasl:?}").contains("\"p\""));
    }

    #[test]
    fn half_a_client_certificate_is_refused() {
        let mut t = KafkaTarget::new("k:9092");
        t.tls = Some(Tls {
            cert_file: Some("/c.pem".into()),
            ..Tls::default()
        });
        let err = t.properties(ClientRole::Producer).unwrap_err();
        assert_eq!(
            err.to_string(),
            "target.tls has cert_file but not key_file: a client certificate needs both \
             cert_file and key_file"
        );
    }

    #[test]
    fn extra_may_tune_but_not_override_guarantees() {
        let mut t = KafkaTarget::new("k:9092");
        t.extra.insert("batch.num.messages".into(), "5000".into());
        assert_eq!(props(&t)["batch.num.messages"], "5000");
        t.extra.insert("acks".into(), "1".into());
        let err = t.properties(ClientRole::Producer).unwrap_err();
        assert_eq!(
            err.to_string(),
            "[target.producer] sets \"acks\", which obsync manages (no-loss guarantee)"
        );
        t.extra.clear();
        t.extra.insert("message.max.bytes".into(), "5".into());
        let err = t.properties(ClientRole::Producer).unwrap_err();
        assert!(err
            .to_string()
            .ends_with(": use KafkaTarget.producer.max_message_bytes instead"));
    }

    #[test]
    fn zstd_needs_kafka_2_1() {
        let mut t = KafkaTarget::new("k:9092");
        t.compression = Compression::Zstd;
        assert_eq!(props(&t)["compression.type"], "zstd");
        t.version = KafkaVersion::V1_0;
        assert!(matches!(
            t.properties(ClientRole::Producer),
            Err(ConfigError::CompressionUnsupported { .. })
        ));
    }

    #[test]
    fn admin_config_has_no_producer_properties() {
        let p: BTreeMap<_, _> = KafkaTarget::new("k:9092")
            .properties(ClientRole::Admin)
            .unwrap()
            .into_iter()
            .collect();
        assert!(!p.contains_key("acks"));
        assert_eq!(p["bootstrap.servers"], "k:9092");
    }

    #[test]
    fn empty_bootstrap_is_refused() {
        assert_eq!(
            KafkaTarget::new(" , ").properties(ClientRole::Admin),
            Err(ConfigError::NoBootstrapServers)
        );
    }

    #[test]
    fn config_is_accepted_by_librdkafka() {
        use rdkafka::producer::FutureProducer;
        let mut t = KafkaTarget::new("127.0.0.1:1");
        t.compression = Compression::Zstd;
        let _: FutureProducer = t
            .client_config(ClientRole::Producer)
            .unwrap()
            .create()
            .unwrap();
        t.version = KafkaVersion::V0_9;
        t.compression = Compression::Lz4;
        let _: FutureProducer = t
            .client_config(ClientRole::Producer)
            .unwrap()
            .create()
            .unwrap();
    }
}
