//! The Kafka side of obsync: target config, producer, topic admin, partitioner and the Kafka
//! precheck items.
//!
//! Architecture invariant: only this crate talks to Kafka, and it knows nothing of message
//! formats or sources: it moves opaque key/value bytes to explicit partitions and reports,
//! per message, when Kafka acknowledged them.

pub mod admin;
pub mod budget;
mod client_context;
pub mod config;
pub mod kerberos;
pub mod partitioner;
pub mod precheck;
pub mod producer;
pub mod shared;
mod tls_diagnosis;
pub mod topic_reader;
pub mod version_probe;

pub use admin::{
    AdminError, BrokerInfo, ClusterInfo, KafkaAdmin, NewTopicSpec, TopicCreation, TopicInfo,
};
pub use config::{
    check_client_property, client_property_check, ClientCertificate, ClientRole, Compression,
    KafkaTarget, KafkaVersion, Pem, ProducerSettings, Sasl, SaslMechanism, Tls,
};
pub use kerberos::{use_private_credential_cache, KerberosLogin, KinitError};
pub use partitioner::{murmur2, PartitionRule};
pub use precheck::{connection_problem, kafka_precheck, PRECHECK_TIMEOUT};
pub use producer::{
    is_fatal_code, Delivered, DeliveryTicket, KafkaProducer, OutgoingRecord, ProduceError,
    ProducerMetrics,
};
pub use topic_reader::{ReadError, TopicReader, TopicRecord};
pub use version_probe::{
    probe_broker_version, probe_connection, ApiSupport, BrokerVersion, ConnectionProbe, Generation,
    ProbeError,
};
