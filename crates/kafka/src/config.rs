//! The Kafka target as obsync sees it, and its translation into a librdkafka client config.
//!
//! Every property we set is explained where it is set: the producer's guarantees (no loss, no
//! reordering within a partition, a checkpoint never ahead of an acknowledgement) come from
//! these settings, not from code elsewhere.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use obsync_config::{ClientPropertyCheck, TargetConfig};
use rdkafka::error::KafkaError;
use rdkafka::ClientConfig;

/// The target's vocabulary comes from the project file's types: their rules are checked
/// once, there, and this crate trusts them.
pub use obsync_config::{
    ClientCertificate, Compression, KafkaVersion, Pem, ProducerSettings, Sasl, SaslMechanism, Tls,
};

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
    /// Extra librdkafka properties, applied last. The project file's checks keep out the
    /// properties obsync manages (acks, idempotence, retries, security, sizes).
    pub extra: BTreeMap<String, String>,
}

impl From<&TargetConfig> for KafkaTarget {
    fn from(t: &TargetConfig) -> Self {
        Self {
            bootstrap_servers: t.bootstrap_servers_string(),
            version: t.version,
            sasl: t.sasl.clone(),
            tls: t.tls.clone(),
            compression: t.compression,
            producer: t.producer.clone(),
            extra: t.producer_extra.clone(),
        }
    }
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

/// librdkafka's `sasl.kerberos.kinit.cmd`, fixed: it is never run (relogin is 0), and if
/// it were, it holds no user data. librdkafka's default interpolates the principal and the
/// keytab path into a shell line.
pub const FIXED_KINIT_CMD: &str = "kinit -R";

/// Which client the config is for: the admin client and the consumer need no producer
/// properties.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientRole {
    Producer,
    Admin,
    /// A group-less reader of topics (`topic_reader`).
    Consumer,
}

impl KafkaTarget {
    /// The librdkafka client config for `role`.
    pub fn client_config(&self, role: ClientRole) -> ClientConfig {
        let mut config = ClientConfig::new();
        for (key, value) in self.properties(role) {
            config.set(key, value);
        }
        config
    }

    /// The librdkafka properties as ordered pairs (exposed for tests and `--explain` output;
    /// secrets included, so never log the result).
    pub fn properties(&self, role: ClientRole) -> Vec<(String, String)> {
        let mut p: Vec<(String, String)> = Vec::new();
        let mut set = |k: &str, v: String| p.push((k.to_owned(), v));

        set("bootstrap.servers", self.bootstrap_servers.clone());
        self.version_properties(&mut set);
        self.security_properties(&mut set);
        // Topics are created only by schema sync, with the partition count the user chose.
        // A broker with auto.create.topics.enable would otherwise silently create a missing
        // topic with its own defaults when we ask for its metadata or produce to it.
        set("allow.auto.create.topics", "false".into());
        if role == ClientRole::Producer {
            self.producer_properties(&mut set);
        }
        for (key, value) in &self.extra {
            set(key, value.clone());
        }
        p
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

    fn security_properties(&self, set: &mut impl FnMut(&str, String)) {
        let protocol = match (&self.sasl, &self.tls) {
            (None, None) => "plaintext",
            (Some(_), None) => "sasl_plaintext",
            (None, Some(_)) => "ssl",
            (Some(_), Some(_)) => "sasl_ssl",
        };
        set("security.protocol", protocol.into());
        if let Some(sasl) = &self.sasl {
            set("sasl.mechanisms", sasl.mechanism.as_str().into());
            match &sasl.kerberos {
                // obsync runs kinit itself (kerberos.rs: argument vectors, a private cache)
                // and librdkafka only reads the ticket cache. Its own kinit is a shell line
                // run with system(), so it is off (relogin 0 disables it) and its command is
                // a fixed text with no principal or path in it; neither the principal nor
                // the keytab path is handed to librdkafka.
                Some(kerberos) => {
                    set("sasl.kerberos.min.time.before.relogin", "0".into());
                    set("sasl.kerberos.kinit.cmd", FIXED_KINIT_CMD.into());
                    set("sasl.kerberos.service.name", kerberos.service_name.clone());
                }
                None => {
                    set("sasl.username", sasl.username.clone());
                    set("sasl.password", sasl.password.expose().to_string());
                }
            }
        }
        if let Some(tls) = &self.tls {
            // Inline PEMs (the server's data sources) go to librdkafka in memory: the
            // client key never touches the disk.
            let mut pem = |location: &str, in_memory: &str, pem: &Pem| match pem {
                Pem::File(path) => set(location, path.display().to_string()),
                Pem::Inline(text) => set(in_memory, text.expose().to_string()),
            };
            if let Some(cert) = &tls.client_cert {
                pem(
                    "ssl.certificate.location",
                    "ssl.certificate.pem",
                    &cert.cert,
                );
                pem("ssl.key.location", "ssl.key.pem", &cert.key);
            }
            if let Some(ca) = &tls.ca {
                pem("ssl.ca.location", "ssl.ca.pem", ca);
            }
            let algorithm = if tls.verify_hostname { "https" } else { "none" };
            set("ssl.endpoint.identification.algorithm", algorithm.into());
        }
    }

    fn producer_properties(&self, set: &mut impl FnMut(&str, String)) {
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
        set("message.timeout.ms", millis(s.message_timeout));
        set("linger.ms", millis(s.linger));
        // librdkafka rejects a message whose key + value + 36 bytes of record framing exceed
        // this; we check the same bound before sending to give a better error.
        set("message.max.bytes", s.max_message_bytes.to_string());
        // A batch may grow to the message limit: fewer, larger requests for bulk (full sync)
        // traffic, while linger.ms keeps small incremental batches quick.
        set("batch.size", s.max_message_bytes.to_string());
        set(
            "queue.buffering.max.kbytes",
            s.queue_max_bytes.div_ceil(1024).to_string(),
        );
        // The byte bound above is the one that matters; lift the count bound (default 100k)
        // so that many small messages are limited by bytes, not count.
        set("queue.buffering.max.messages", "1000000".into());
        // The project file refuses zstd below Kafka 2.1 (KafkaVersion::supports_zstd).
        set("compression.type", self.compression.as_str().into());
    }
}

fn millis(d: Duration) -> String {
    d.as_millis().to_string()
}

/// Checks one pass-through property the way librdkafka will when the client is built:
/// its name must exist and its value must fit. No client is created, nothing connects.
pub fn check_client_property(name: &str, value: &str) -> Result<(), String> {
    let mut config = ClientConfig::new();
    config.set(name, value);
    match config.create_native_config() {
        Ok(_) => Ok(()),
        Err(KafkaError::ClientConfig(_, description, _, _)) => Err(description),
        Err(other) => Err(other.to_string()),
    }
}

/// [`check_client_property`] in the form the project file's loader takes.
pub fn client_property_check() -> ClientPropertyCheck {
    Arc::new(check_client_property)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(t: &KafkaTarget) -> BTreeMap<String, String> {
        t.properties(ClientRole::Producer).into_iter().collect()
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
            password: obsync_config::Secret::new("p"),
            kerberos: None,
        };
        let tls = Tls {
            ca: Some(Pem::File("/ca.pem".into())),
            verify_hostname: false,
            ..Tls::default()
        };
        let mut t = KafkaTarget::new("k:9092");
        t.sasl = Some(sasl.clone());
        assert_eq!(props(&t)["security.protocol"], "sasl_plaintext");
        assert_eq!(props(&t)["sasl.mechanisms"], "SCRAM-SHA-512");
        assert_eq!(props(&t)["sasl.password"], "p");
        t.tls = Some(tls.clone());
        let p = props(&t);
        assert_eq!(p["security.protocol"], "sasl_ssl");
        assert_eq!(p["ssl.ca.location"], "/ca.pem");
        assert_eq!(p["ssl.endpoint.identification.algorithm"], "none");
        t.sasl = None;
        assert_eq!(props(&t)["security.protocol"], "ssl");
        assert!(!format!("{sasl:?}").contains("\"p\""));

        t.tls = None;
        t.sasl = Some(Sasl {
            mechanism: SaslMechanism::Gssapi,
            username: "obsync@EXAMPLE.COM".into(),
            password: obsync_config::Secret::new(""),
            kerberos: Some(obsync_config::Kerberos {
                service_name: "kafka".into(),
                keytab: "/etc/obsync.keytab".into(),
            }),
        });
        let p = props(&t);
        assert_eq!(p["security.protocol"], "sasl_plaintext");
        assert_eq!(p["sasl.mechanisms"], "GSSAPI");
        assert_eq!(p["sasl.kerberos.service.name"], "kafka");
        // No shell line from user data: librdkafka's kinit is off and fixed, and neither
        // the principal nor the keytab reaches librdkafka.
        assert_eq!(p["sasl.kerberos.min.time.before.relogin"], "0");
        assert_eq!(p["sasl.kerberos.kinit.cmd"], FIXED_KINIT_CMD);
        for (name, value) in &p {
            assert!(
                !value.contains("obsync@EXAMPLE.COM") && !value.contains("obsync.keytab"),
                "{name} carries user data: {value}"
            );
        }
        assert!(!p.contains_key("sasl.username") && !p.contains_key("sasl.password"));
    }

    #[test]
    fn extra_properties_are_applied_last() {
        let mut t = KafkaTarget::new("k:9092");
        t.extra.insert("batch.num.messages".into(), "5000".into());
        assert_eq!(props(&t)["batch.num.messages"], "5000");
    }

    #[test]
    fn client_certificate_sets_both_locations() {
        let mut t = KafkaTarget::new("k:9092");
        t.tls = Some(Tls {
            client_cert: Some(ClientCertificate {
                cert: Pem::File("/c.pem".into()),
                key: Pem::File("/k.pem".into()),
            }),
            verify_hostname: true,
            ..Tls::default()
        });
        let p = props(&t);
        assert_eq!(p["ssl.certificate.location"], "/c.pem");
        assert_eq!(p["ssl.key.location"], "/k.pem");
        assert_eq!(p["ssl.endpoint.identification.algorithm"], "https");
    }

    #[test]
    fn inline_pems_go_to_librdkafka_in_memory() {
        let mut t = KafkaTarget::new("k:9092");
        t.tls = Some(Tls {
            ca: Some(Pem::Inline(obsync_config::Secret::new("CA"))),
            client_cert: Some(ClientCertificate {
                cert: Pem::Inline(obsync_config::Secret::new("CERT")),
                key: Pem::Inline(obsync_config::Secret::new("KEY")),
            }),
            verify_hostname: true,
        });
        let p = props(&t);
        assert_eq!(p["ssl.ca.pem"], "CA");
        assert_eq!(p["ssl.certificate.pem"], "CERT");
        assert_eq!(p["ssl.key.pem"], "KEY");
        assert!(!p.keys().any(|k| k.ends_with(".location")), "{p:?}");
    }

    #[test]
    fn librdkafka_names_an_unknown_property_or_a_bad_value() {
        assert_eq!(check_client_property("batch.num.messages", "5000"), Ok(()));
        let unknown = check_client_property("linger.msec", "5").unwrap_err();
        assert!(unknown.contains("linger.msec"), "{unknown}");
        let bad = check_client_property("batch.num.messages", "many").unwrap_err();
        assert!(
            bad.starts_with("Invalid value") && bad.contains("batch.num.messages"),
            "{bad}"
        );
    }

    #[test]
    fn compression_is_passed_on() {
        let mut t = KafkaTarget::new("k:9092");
        t.compression = Compression::Zstd;
        assert_eq!(props(&t)["compression.type"], "zstd");
    }

    #[test]
    fn admin_config_has_no_producer_properties() {
        let p: BTreeMap<_, _> = KafkaTarget::new("k:9092")
            .properties(ClientRole::Admin)
            .into_iter()
            .collect();
        assert!(!p.contains_key("acks"));
        assert_eq!(p["bootstrap.servers"], "k:9092");
    }

    #[test]
    fn config_is_accepted_by_librdkafka() {
        use rdkafka::producer::FutureProducer;
        let mut t = KafkaTarget::new("127.0.0.1:1");
        t.compression = Compression::Zstd;
        let _: FutureProducer = t.client_config(ClientRole::Producer).create().unwrap();
        t.version = KafkaVersion::V0_9;
        t.compression = Compression::Lz4;
        let _: FutureProducer = t.client_config(ClientRole::Producer).create().unwrap();
    }
}
