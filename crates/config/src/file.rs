//! The project file's shape as a public model, with `Serialize` and `Deserialize`: what a
//! program writes to produce a file (the server's export) and reads to take one apart
//! (the server's import). Values are as written (strings where the file has strings):
//! [`crate::ProjectConfig`] alone judges them, so a file is valid or not by one set of
//! rules whoever wrote it.
//!
//! The loader (`raw.rs`) reads the same keys with spans for its error messages; the
//! tests below keep the two in step (every key of one is a key of the other).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A whole project file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    /// `[project]`.
    pub project: ProjectSection,
    /// `[source]`.
    pub source: SourceSection,
    /// `[target]`.
    pub target: TargetSection,
    /// `[sync]`.
    pub sync: SyncSection,
    /// `[[objects]]`.
    #[serde(default)]
    pub objects: Vec<ObjectSection>,
}

/// `[project]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    /// `name`.
    pub name: String,
    /// `tags`.
    #[serde(default)]
    pub tags: Vec<String>,
}

/// `[source]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// `kind`: `oceanbase`, `mysql` or `mariadb`.
    pub kind: String,
    /// `host`.
    pub host: String,
    /// `port`.
    pub port: i64,
    /// `user`.
    pub user: String,
    /// `password` (in the text; an export never writes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// `password_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// `server_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_id: Option<i64>,
    /// `tenant`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tenant: Option<String>,
    /// `binlog_positioning`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub binlog_positioning: Option<String>,
    /// `[source.tls]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<SourceTlsSection>,
}

/// `[source.tls]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceTlsSection {
    /// `mode`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// `ca_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// `ca_pem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// `client_cert_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert_file: Option<String>,
    /// `client_cert_pem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert_pem: Option<String>,
    /// `client_key_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_file: Option<String>,
    /// `client_key_pem_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_key_pem_env: Option<String>,
}

/// `[target]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetSection {
    /// `bootstrap_servers`.
    pub bootstrap_servers: String,
    /// `version`: `0.9`, `1.0`, `2.x`, `3.x`, `4.x` or an exact version.
    pub version: String,
    /// `compression`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compression: Option<String>,
    /// `[target.sasl]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sasl: Option<SaslSection>,
    /// `[target.tls]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<TlsSection>,
    /// `[target.producer]`: librdkafka properties, as written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub producer: BTreeMap<String, toml::Value>,
}

/// `[target.sasl]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SaslSection {
    /// `mechanism`.
    pub mechanism: String,
    /// `username`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `password` (in the text; an export never writes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    /// `password_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password_env: Option<String>,
    /// `kerberos_principal`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kerberos_principal: Option<String>,
    /// `kerberos_keytab`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kerberos_keytab: Option<String>,
    /// `kerberos_service_name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kerberos_service_name: Option<String>,
}

/// `[target.tls]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// `enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `verify_hostname`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_hostname: Option<bool>,
    /// `ca_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// `ca_pem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    /// `cert_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_file: Option<String>,
    /// `cert_pem`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_pem: Option<String>,
    /// `key_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_file: Option<String>,
    /// `key_pem_env`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_pem_env: Option<String>,
}

/// `[sync]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SyncSection {
    /// `types`.
    pub types: Vec<String>,
    /// `start_time`: Unix seconds or a date-time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_time: Option<toml::Value>,
    /// `time_zone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
    /// `format`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// `tx_sequence`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx_sequence: Option<bool>,
    /// `[sync.format_options]`: the format's rendering choices, as written (the loader's
    /// `FormatChoices` judges them against the format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_options: Option<toml::Table>,
    /// `[sync.debezium]`: the Debezium formats' options, as written (the loader judges
    /// them against the format).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debezium: Option<toml::Table>,
    /// `partition_rule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition_rule: Option<String>,
    /// `ddl_messages`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ddl_messages: Option<bool>,
    /// `split_key_updates`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub split_key_updates: Option<bool>,
    /// `heartbeat_interval_secs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_interval_secs: Option<i64>,
    /// `topic_partitions`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_partitions: Option<i64>,
    /// `topic_replication_factor`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_replication_factor: Option<i64>,
    /// `snapshot_chunk_rows`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_chunk_rows: Option<i64>,
    /// `snapshot_parallelism`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot_parallelism: Option<i64>,
    /// `backfill`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backfill: Vec<String>,
}

/// One `[[objects]]` entry.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectSection {
    /// `tables`.
    pub tables: Vec<String>,
    /// `exclude`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude: Vec<String>,
    /// `topic`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// `topic_rule`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_rule: Option<String>,
    /// `shard_columns`: table → columns.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shard_columns: BTreeMap<String, Vec<String>>,
}

/// Why a text is not a [`ProjectFile`]; [`crate::ProjectConfig::parse_with`] tells where.
#[derive(Debug, thiserror::Error)]
#[error("the text is not a project file")]
pub struct NotAProjectFile(#[source] toml::de::Error);

impl ProjectFile {
    /// Reads the shape of a project file (no rule is checked: load the text with
    /// [`crate::ProjectConfig`] for that).
    pub fn parse(text: &str) -> Result<ProjectFile, NotAProjectFile> {
        toml::from_str(text).map_err(NotAProjectFile)
    }

    /// The file's text.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string(self)
    }

    /// The names of the environment variables the file reads secrets from.
    pub fn secret_variables(&self) -> Vec<&str> {
        let source_tls = self.source.tls.as_ref();
        let sasl = self.target.sasl.as_ref();
        let tls = self.target.tls.as_ref();
        let registry = self
            .sync
            .format_options
            .as_ref()
            .and_then(|t| t.get("schema_registry_password_env"))
            .and_then(toml::Value::as_str);
        [
            self.source.password_env.as_deref(),
            source_tls.and_then(|t| t.client_key_pem_env.as_deref()),
            sasl.and_then(|s| s.password_env.as_deref()),
            tls.and_then(|t| t.key_pem_env.as_deref()),
            registry,
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Environment, ProjectConfig};

    /// Every key of the model, set.
    fn full() -> ProjectFile {
        let text = |s: &str| Some(s.to_string());
        ProjectFile {
            project: ProjectSection {
                name: "orders01".into(),
                tags: vec!["prod".into()],
            },
            source: SourceSection {
                kind: "oceanbase".into(),
                host: "127.0.0.1".into(),
                port: 2881,
                user: "sync".into(),
                password: None,
                password_env: text("PW"),
                server_id: Some(77),
                tenant: text("t1"),
                binlog_positioning: text("file"),
                tls: Some(SourceTlsSection {
                    mode: text("required"),
                    ..Default::default()
                }),
            },
            target: TargetSection {
                bootstrap_servers: "127.0.0.1:9092".into(),
                version: "2.8.1".into(),
                compression: text("lz4"),
                sasl: Some(SaslSection {
                    mechanism: "scram-sha-512".into(),
                    username: text("u"),
                    password_env: text("KPW"),
                    ..Default::default()
                }),
                tls: Some(TlsSection {
                    enabled: Some(true),
                    verify_hostname: Some(false),
                    ..Default::default()
                }),
                producer: [("linger.ms".to_string(), toml::Value::from("5"))].into(),
            },
            sync: SyncSection {
                types: vec!["full".into(), "incremental".into()],
                start_time: None,
                time_zone: text("+08:00"),
                format: text("Canal"),
                format_options: Some(toml::Table::from_iter([(
                    "canal_binary".to_string(),
                    toml::Value::from("base64"),
                )])),
                debezium: Some(toml::Table::from_iter([(
                    "schemas".to_string(),
                    toml::Value::from(false),
                )])),
                tx_sequence: None,
                partition_rule: text("hash"),
                ddl_messages: Some(true),
                split_key_updates: Some(false),
                heartbeat_interval_secs: Some(5),
                topic_partitions: Some(3),
                topic_replication_factor: Some(1),
                snapshot_chunk_rows: Some(1000),
                snapshot_parallelism: Some(2),
                backfill: vec!["shop.*".into()],
            },
            objects: vec![ObjectSection {
                tables: vec!["shop.orders".into()],
                exclude: vec!["shop.tmp".into()],
                topic: text("orders"),
                topic_rule: None,
                shard_columns: [("shop.orders".to_string(), vec!["id".to_string()])].into(),
            }],
        }
    }

    #[test]
    fn every_key_of_the_model_is_a_key_the_loader_knows_and_reads_back() {
        let file = full();
        let text = file.to_toml().unwrap();
        assert_eq!(ProjectFile::parse(&text).unwrap(), file);
        let env = Environment::fixed(0, [("PW", "x"), ("KPW", "y")]);
        match ProjectConfig::parse_with(&text, "full.toml", &env) {
            Ok(_) => {}
            Err(errors) => {
                let unknown: Vec<_> = errors
                    .0
                    .iter()
                    .filter(|e| e.message.contains("unknown field"))
                    .collect();
                assert!(unknown.is_empty(), "{unknown:?}\n{text}");
            }
        }
        assert_eq!(file.secret_variables(), ["PW", "KPW"]);
    }
}
