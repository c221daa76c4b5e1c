//! The project definition file of obsync: TOML parsed once, at the edge, into typed config.
//!
//! [`ProjectConfig::from_file`] (or [`ProjectConfig::parse`]) reads a file such as
//! `examples/project.toml` and either returns a [`ProjectConfig`] whose parts are already
//! valid (names, topics, patterns, versions, passwords resolved) or [`ConfigErrors`]: every
//! problem found, each naming the file, line, column and field, with a hint how to fix it.
//! The field reference is `docs/configuration.md`.
//!
//! ```
//! use obsync_config::{Environment, ProjectConfig};
//! use obsync_model::TableId;
//!
//! let text = r#"
//! [project]
//! name = "orders01"
//! [source]
//! kind = "mysql"
//! host = "127.0.0.1"
//! port = 3306
//! user = "obsync"
//! password_env = "OBSYNC_SOURCE_PASSWORD"
//! [target]
//! bootstrap_servers = "127.0.0.1:9092"
//! version = "3.x"
//! [sync]
//! types = ["full", "incremental"]
//! [[objects]]
//! tables = ["shop.*"]
//! topic_rule = "batch"
//! "#;
//! let env = Environment::fixed(1_790_000_000, [("OBSYNC_SOURCE_PASSWORD", "secret")]);
//! let config = ProjectConfig::parse_with(text, "orders.toml", &env).unwrap();
//! let route = config.route(&TableId::new("shop", "orders")).unwrap().unwrap();
//! assert_eq!(route.topic.as_str(), "Topic_shop_orders");
//!
//! let errors = ProjectConfig::parse_with(&text.replace("3306", "0"), "orders.toml", &env)
//!     .unwrap_err();
//! assert_eq!(
//!     errors.to_string(),
//!     "orders.toml:7:8: source.port: port 0 is out of range (use 1-65535)"
//! );
//! ```
//!
//! Architecture invariant: this crate does no network I/O. It reads the project file,
//! environment variables named by `password_env`, and checks that TLS files exist; whether
//! the source and Kafka are reachable, and whether tables and shard columns exist, is the
//! precheck's job.

#![warn(missing_docs)]

mod control;
mod error;
mod file;
mod format_options;
mod names;
mod objects;
mod producer;
mod project;
mod raw;
pub mod rule_codes;
mod secret;
mod source;
mod source_tls;
mod sync;
mod target;
mod topic;

pub use control::{control_kafka_from_file, parse_control_kafka};
pub use error::{ConfigError, ConfigErrors, Location};
pub use file::{
    NotAProjectFile, ObjectSection, ProjectFile, ProjectSection, SaslSection, SourceSection,
    SourceTlsSection, SyncSection, TargetSection, TlsSection,
};
pub use format_options::{FormatChoices, SchemaRegistry};
pub use names::{
    contains_chinese, hidden_char, is_chinese_char, is_format_char, InvalidProjectName, InvalidTag,
    ProjectName, Tag, CHINESE_RANGES, CONTROL_RANGES, FORMAT_RANGES, PROJECT_NAME_MAX_CHARS,
    TAG_MAX_CHARS,
};
pub use objects::{InvalidTablePattern, ObjectRule, Route, TablePattern, UNMAPPABLE_NAME_CHARS};
pub use producer::ProducerSettings;
pub use project::ProjectConfig;
pub use rule_codes::RuleMessage;
pub use secret::{ClientPropertyCheck, Environment, Secret};
pub use source::{
    derived_server_id, BinlogPositioning, InvalidSourceUser, SourceConfig, SourceKind, SourceTls,
    SourceTlsMode, SourceUser,
};
pub use sync::{DebeziumConfig, FormatKind, PartitionRule, StartPosition, SyncConfig, SyncTypes};
pub use target::{
    BrokerAddress, ClientCertificate, Compression, InvalidKerberos, KafkaVersion, Kerberos, Pem,
    Sasl, SaslMechanism, TargetConfig, Tls, DEFAULT_KERBEROS_SERVICE_NAME,
};
pub use topic::{
    InvalidTopicName, TopicName, TopicNameProblem, TopicTarget, BATCH_TOPIC_TEMPLATE,
    TOPIC_MAX_CHARS, TOPIC_MIN_CHARS, TOPIC_PUNCTUATION,
};
