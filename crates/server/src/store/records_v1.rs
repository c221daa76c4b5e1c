//! The stored shape of data sources, tags and projects, format 1: the JSON documents in
//! the `body` column, exactly as the first releases wrote them (a fixture database of
//! this format, `tests/fixtures/store-v1`, must open forever).
//!
//! Architecture invariant: these private types are the only serde the store uses for
//! documents; the API's and the domain's types may change freely, and only the
//! conversions here follow. Unknown fields are ignored and later fields default, so a
//! field added or dropped in a release leaves stored records readable. A change of
//! meaning is a new format (a new module and a migration), never an edit here.

use std::collections::BTreeMap;

use obsync_model::{CheckItem, CheckStatus, Coded};
use serde::{Deserialize, Serialize};

use super::StoreError;
use crate::lifecycle::{ProjectState, Stage};
use crate::model::{
    Connection, DataSourceRecord, ErrorInfo, KafkaRecord, KafkaRelease, ObjectSpec, PrecheckRecord,
    ProjectRecord, ProjectSpec, RegistryRecord, SaslMechanism, SaslRecord, SourceRecord,
    SourceTlsMode, SourceTlsRecord, SyncSpec, Tag, TlsRecord,
};
use crate::secrets::Sealed;

/// The format the store writes; a record of a higher one was written by a newer
/// release and is refused (`StoreError::NewerFormat`).
pub const FORMAT: i64 = 1;

fn unknown(what: &'static str, value: &str) -> StoreError {
    StoreError::UnknownValue {
        what,
        value: value.to_string(),
    }
}

#[derive(Serialize, Deserialize)]
pub struct DataSourceV1 {
    id: String,
    name: String,
    kind: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    source: Option<SourceV1>,
    #[serde(default)]
    kafka: Option<KafkaV1>,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize, Deserialize)]
struct SourceV1 {
    host: String,
    port: u16,
    user: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    tls: Option<SourceTlsV1>,
}

#[derive(Serialize, Deserialize)]
struct SourceTlsV1 {
    mode: String,
    #[serde(default)]
    ca_pem: Option<String>,
    #[serde(default)]
    client_cert_pem: Option<String>,
    #[serde(default)]
    client_key_pem: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct KafkaV1 {
    bootstrap_servers: String,
    version: String,
    #[serde(default)]
    sasl: Option<SaslV1>,
    #[serde(default)]
    tls: Option<TlsV1>,
    #[serde(default)]
    schema_registry: Option<RegistryV1>,
}

#[derive(Serialize, Deserialize)]
struct RegistryV1 {
    url: String,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

impl KafkaV1 {
    fn into_record(self) -> Result<KafkaRecord, StoreError> {
        let version = KafkaRelease::parse(&self.version)
            .ok_or_else(|| unknown("Kafka version", &self.version))?;
        let sasl = match self.sasl {
            None => None,
            Some(s) => Some(SaslRecord {
                mechanism: SaslMechanism::parse(&s.mechanism)
                    .ok_or_else(|| unknown("SASL mechanism", &s.mechanism))?,
                username: s.username,
                password: sealed(s.password),
                kerberos_service_name: s.kerberos_service_name,
                kerberos_principal: s.kerberos_principal,
                kerberos_keytab: s.kerberos_keytab,
            }),
        };
        Ok(KafkaRecord {
            bootstrap_servers: self.bootstrap_servers,
            version,
            sasl,
            tls: self.tls.map(|t| TlsRecord {
                enabled: t.enabled,
                verify_hostname: t.verify_hostname,
                ca_pem: t.ca_pem,
                client_cert_pem: t.client_cert_pem,
                client_key_pem: sealed(t.client_key_pem),
            }),
            schema_registry: self.schema_registry.map(|r| RegistryRecord {
                url: r.url,
                username: r.username,
                password: sealed(r.password),
            }),
        })
    }
}

#[derive(Serialize, Deserialize)]
struct SaslV1 {
    mechanism: String,
    username: String,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    kerberos_service_name: Option<String>,
    #[serde(default)]
    kerberos_principal: Option<String>,
    #[serde(default)]
    kerberos_keytab: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct TlsV1 {
    enabled: bool,
    #[serde(default = "yes")]
    verify_hostname: bool,
    #[serde(default)]
    ca_pem: Option<String>,
    #[serde(default)]
    client_cert_pem: Option<String>,
    #[serde(default)]
    client_key_pem: Option<String>,
}

fn yes() -> bool {
    true
}

const TLS_MODES: [(SourceTlsMode, &str); 5] = [
    (SourceTlsMode::Disabled, "disabled"),
    (SourceTlsMode::Preferred, "preferred"),
    (SourceTlsMode::Required, "required"),
    (SourceTlsMode::VerifyCa, "verify_ca"),
    (SourceTlsMode::VerifyIdentity, "verify_identity"),
];

fn tls_mode_name(mode: SourceTlsMode) -> &'static str {
    TLS_MODES
        .iter()
        .find(|(m, _)| *m == mode)
        .map(|(_, name)| *name)
        .expect("every mode is in TLS_MODES")
}

fn tls_mode(name: &str) -> Result<SourceTlsMode, StoreError> {
    TLS_MODES
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(m, _)| *m)
        .ok_or_else(|| unknown("source TLS mode", name))
}

fn sealed(text: Option<String>) -> Option<Sealed> {
    text.map(Sealed::from_stored)
}

fn stored(sealed: &Option<Sealed>) -> Option<String> {
    sealed.as_ref().map(|s| s.as_stored().to_string())
}

impl DataSourceV1 {
    pub fn of(ds: &DataSourceRecord) -> DataSourceV1 {
        DataSourceV1 {
            id: ds.id.clone(),
            name: ds.name.clone(),
            kind: ds.kind().as_str().to_string(),
            description: ds.description.clone(),
            source: ds.connection.source().map(|s| SourceV1 {
                host: s.host.clone(),
                port: s.port,
                user: s.user.clone(),
                password: stored(&s.password),
                tls: s.tls.as_ref().map(|t| SourceTlsV1 {
                    mode: tls_mode_name(t.mode).to_string(),
                    ca_pem: t.ca_pem.clone(),
                    client_cert_pem: t.client_cert_pem.clone(),
                    client_key_pem: stored(&t.client_key_pem),
                }),
            }),
            kafka: ds.connection.kafka().map(|k| KafkaV1 {
                bootstrap_servers: k.bootstrap_servers.clone(),
                version: k.version.as_str().to_string(),
                sasl: k.sasl.as_ref().map(|s| SaslV1 {
                    mechanism: s.mechanism.as_str().to_string(),
                    username: s.username.clone(),
                    password: stored(&s.password),
                    kerberos_service_name: s.kerberos_service_name.clone(),
                    kerberos_principal: s.kerberos_principal.clone(),
                    kerberos_keytab: s.kerberos_keytab.clone(),
                }),
                tls: k.tls.as_ref().map(|t| TlsV1 {
                    enabled: t.enabled,
                    verify_hostname: t.verify_hostname,
                    ca_pem: t.ca_pem.clone(),
                    client_cert_pem: t.client_cert_pem.clone(),
                    client_key_pem: stored(&t.client_key_pem),
                }),
                schema_registry: k.schema_registry.as_ref().map(|r| RegistryV1 {
                    url: r.url.clone(),
                    username: r.username.clone(),
                    password: stored(&r.password),
                }),
            }),
            created_at: ds.created_at.clone(),
            updated_at: ds.updated_at.clone(),
        }
    }

    pub fn into_record(self, revision: u64) -> Result<DataSourceRecord, StoreError> {
        let kind = crate::model::DataSourceKind::parse(&self.kind)
            .ok_or_else(|| unknown("data source kind", &self.kind))?;
        let missing = |field| StoreError::Incomplete {
            what: "data source",
            id: self.id.clone(),
            field,
        };
        let source = match self.source {
            None => None,
            Some(s) => Some(SourceRecord {
                host: s.host,
                port: s.port,
                user: s.user,
                password: sealed(s.password),
                tls: match s.tls {
                    None => None,
                    Some(t) => Some(SourceTlsRecord {
                        mode: tls_mode(&t.mode)?,
                        ca_pem: t.ca_pem,
                        client_cert_pem: t.client_cert_pem,
                        client_key_pem: sealed(t.client_key_pem),
                    }),
                },
            }),
        };
        // Format 1 keeps both fields; the kind says which one is the connection.
        let connection = match (kind.config(), source) {
            (Some(kind), Some(source)) => Connection::of_database(kind, source),
            (Some(_), None) => return Err(missing("source")),
            (None, _) => match self.kafka {
                Some(kafka) => Connection::Kafka(kafka.into_record()?),
                None => return Err(missing("kafka")),
            },
        };
        Ok(DataSourceRecord {
            id: self.id,
            name: self.name,
            description: self.description,
            connection,
            created_at: self.created_at,
            updated_at: self.updated_at,
            revision,
        })
    }
}

#[derive(Serialize, Deserialize)]
pub struct TagV1 {
    id: String,
    name: String,
}

impl TagV1 {
    pub fn of(tag: &Tag) -> TagV1 {
        TagV1 {
            id: tag.id.clone(),
            name: tag.name.clone(),
        }
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn into_tag(self) -> Tag {
        Tag {
            id: self.id,
            name: self.name,
        }
    }
}

#[derive(Serialize, Deserialize)]
pub struct ProjectV1 {
    id: String,
    spec: SpecV1,
    state: String,
    #[serde(default)]
    stage: Option<String>,
    #[serde(default)]
    last_error: Option<ErrorV1>,
    #[serde(default)]
    precheck: Option<PrecheckV1>,
    #[serde(default)]
    acked_messages: u64,
    /// The timeline's stages (added after the first release of this format: absent in
    /// older records, which then show no timeline until the next run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    stages: Vec<StageSpanV1>,
    created_by: String,
    created_at: String,
    updated_at: String,
}

#[derive(Serialize, Deserialize)]
struct StageSpanV1 {
    stage: String,
    started_ms: u64,
    #[serde(default)]
    ended_ms: Option<u64>,
}

#[derive(Serialize, Deserialize)]
struct SpecV1 {
    name: String,
    #[serde(default)]
    tag_ids: Vec<String>,
    source_id: String,
    target_id: String,
    sync: SyncV1,
    #[serde(default)]
    objects: Vec<ObjectV1>,
}

#[derive(Serialize, Deserialize)]
struct SyncV1 {
    #[serde(default)]
    types: Vec<String>,
    #[serde(default)]
    format: Option<String>,
    /// `[sync.format_options]` as the project file writes them (keys and values kept as
    /// JSON, so an option added later does not change this record's shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    format_options: Option<serde_json::Value>,
    /// `[sync.debezium]` as the project file writes it (JSON, as `format_options`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    debezium: Option<serde_json::Value>,
    #[serde(default)]
    partition_rule: Option<String>,
    #[serde(default)]
    tx_sequence: bool,
    #[serde(default)]
    start_time: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    snapshot_chunk_rows: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    backfill: Vec<String>,
}

#[derive(Serialize, Deserialize)]
struct ObjectV1 {
    #[serde(default)]
    tables: Vec<String>,
    #[serde(default)]
    topic: Option<String>,
    #[serde(default)]
    topic_rule: Option<String>,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default)]
    shard_columns: BTreeMap<String, Vec<String>>,
}

#[derive(Serialize, Deserialize)]
struct ErrorV1 {
    message: String,
    #[serde(default)]
    chain: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    params: BTreeMap<String, String>,
}

#[derive(Serialize, Deserialize)]
struct PrecheckV1 {
    passed: bool,
    checked_at: String,
    #[serde(default)]
    items: Vec<CheckItemV1>,
    spec: SpecV1,
}

#[derive(Serialize, Deserialize)]
struct CheckItemV1 {
    name: String,
    status: String,
    #[serde(default)]
    detail: String,
    #[serde(default)]
    fix: Option<String>,
    /// The finding's code and parameters (absent in items stored before codes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    code: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    params: BTreeMap<String, String>,
}

fn stage(name: &str) -> Option<Stage> {
    [Stage::Schema, Stage::Full, Stage::Incremental]
        .into_iter()
        .find(|s| s.as_str() == name)
}

const CHECK_STATUSES: [(CheckStatus, &str); 4] = [
    (CheckStatus::Pass, "pass"),
    (CheckStatus::Warn, "warn"),
    (CheckStatus::Fail, "fail"),
    (CheckStatus::NotChecked, "not_checked"),
];

impl SpecV1 {
    fn of(spec: &ProjectSpec) -> SpecV1 {
        SpecV1 {
            name: spec.name.clone(),
            tag_ids: spec.tag_ids.clone(),
            source_id: spec.source_id.clone(),
            target_id: spec.target_id.clone(),
            sync: SyncV1 {
                types: spec.sync.types.clone(),
                format: spec.sync.format.clone(),
                format_options: spec
                    .sync
                    .format_options
                    .as_ref()
                    .and_then(|o| serde_json::to_value(o).ok()),
                debezium: spec
                    .sync
                    .debezium
                    .as_ref()
                    .and_then(|d| serde_json::to_value(d).ok()),
                partition_rule: spec.sync.partition_rule.clone(),
                tx_sequence: spec.sync.tx_sequence,
                start_time: spec.sync.start_time,
                snapshot_chunk_rows: spec.sync.snapshot_chunk_rows,
                backfill: spec.sync.backfill.clone(),
            },
            objects: spec
                .objects
                .iter()
                .map(|o| ObjectV1 {
                    tables: o.tables.clone(),
                    topic: o.topic.clone(),
                    topic_rule: o.topic_rule.clone(),
                    exclude: o.exclude.clone(),
                    shard_columns: o.shard_columns.clone(),
                })
                .collect(),
        }
    }

    fn into_spec(self) -> ProjectSpec {
        ProjectSpec {
            name: self.name,
            tag_ids: self.tag_ids,
            source_id: self.source_id,
            target_id: self.target_id,
            sync: SyncSpec {
                types: self.sync.types,
                format: self.sync.format,
                // Stored by this code from the same type: it reads back.
                format_options: self
                    .sync
                    .format_options
                    .and_then(|v| serde_json::from_value(v).ok()),
                debezium: self
                    .sync
                    .debezium
                    .and_then(|v| serde_json::from_value(v).ok()),
                partition_rule: self.sync.partition_rule,
                tx_sequence: self.sync.tx_sequence,
                start_time: self.sync.start_time,
                snapshot_chunk_rows: self.sync.snapshot_chunk_rows,
                backfill: self.sync.backfill,
            },
            objects: self
                .objects
                .into_iter()
                .map(|o| ObjectSpec {
                    tables: o.tables,
                    topic: o.topic,
                    topic_rule: o.topic_rule,
                    exclude: o.exclude,
                    shard_columns: o.shard_columns,
                })
                .collect(),
        }
    }
}

impl ProjectV1 {
    pub fn of(p: &ProjectRecord) -> ProjectV1 {
        ProjectV1 {
            id: p.id.clone(),
            spec: SpecV1::of(&p.spec),
            state: p.state.as_str().to_string(),
            stage: p.stage.map(|s| s.as_str().to_string()),
            last_error: p.last_error.as_ref().map(|e| ErrorV1 {
                message: e.message.clone(),
                chain: e.chain.clone(),
                code: e.code.clone(),
                params: e.params.clone(),
            }),
            precheck: p.precheck.as_ref().map(|c| PrecheckV1 {
                passed: c.passed,
                checked_at: c.checked_at.clone(),
                items: c
                    .items
                    .iter()
                    .map(|i| CheckItemV1 {
                        name: i.name.clone(),
                        status: CHECK_STATUSES
                            .iter()
                            .find(|(s, _)| *s == i.status)
                            .map(|(_, name)| name.to_string())
                            .expect("every status is in CHECK_STATUSES"),
                        detail: i.detail.clone(),
                        fix: i.fix.clone(),
                        code: i.coded.as_ref().map(|c| c.code.clone()),
                        params: i
                            .coded
                            .as_ref()
                            .map(|c| c.params.clone())
                            .unwrap_or_default(),
                    })
                    .collect(),
                spec: SpecV1::of(&c.spec),
            }),
            acked_messages: p.acked_messages,
            stages: p
                .stages
                .iter()
                .map(|s| StageSpanV1 {
                    stage: s.stage.as_str().to_string(),
                    started_ms: s.started_ms,
                    ended_ms: s.ended_ms,
                })
                .collect(),
            created_by: p.created_by.clone(),
            created_at: p.created_at.clone(),
            updated_at: p.updated_at.clone(),
        }
    }

    pub fn into_record(self, revision: u64) -> Result<ProjectRecord, StoreError> {
        let state = ProjectState::parse(&self.state)
            .ok_or_else(|| unknown("project state", &self.state))?;
        let precheck = match self.precheck {
            None => None,
            Some(c) => Some(PrecheckRecord {
                passed: c.passed,
                checked_at: c.checked_at,
                items: c
                    .items
                    .into_iter()
                    .map(|i| {
                        let status = CHECK_STATUSES
                            .iter()
                            .find(|(_, name)| *name == i.status)
                            .map(|(s, _)| *s)
                            .ok_or_else(|| unknown("precheck status", &i.status))?;
                        Ok(CheckItem {
                            name: i.name,
                            status,
                            detail: i.detail,
                            fix: i.fix,
                            coded: i.code.map(|code| Coded {
                                code,
                                params: i.params,
                            }),
                        })
                    })
                    .collect::<Result<_, StoreError>>()?,
                spec: c.spec.into_spec(),
            }),
        };
        Ok(ProjectRecord {
            id: self.id,
            spec: self.spec.into_spec(),
            state,
            stage: match self.stage {
                None => None,
                Some(name) => Some(stage(&name).ok_or_else(|| unknown("stage", &name))?),
            },
            last_error: self.last_error.map(|e| ErrorInfo {
                message: e.message,
                chain: e.chain,
                code: e.code,
                params: e.params,
            }),
            precheck,
            acked_messages: self.acked_messages,
            stages: self
                .stages
                .into_iter()
                .map(|s| {
                    Ok(crate::timeline::StageSpan {
                        stage: stage(&s.stage).ok_or_else(|| unknown("stage", &s.stage))?,
                        started_ms: s.started_ms,
                        ended_ms: s.ended_ms,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
            created_by: self.created_by,
            created_at: self.created_at,
            updated_at: self.updated_at,
            revision,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(kind: &str, source: bool, kafka: bool) -> DataSourceV1 {
        serde_json::from_value(serde_json::json!({
            "id": "ds_1", "name": "one", "kind": kind,
            "source": source.then(|| serde_json::json!({"host": "db", "port": 3306, "user": "u"})),
            "kafka": kafka.then(|| serde_json::json!({"bootstrap_servers": "k:9092", "version": "3.x"})),
            "created_at": "", "updated_at": "",
        }))
        .unwrap()
    }

    #[test]
    fn each_kind_reads_back_as_its_own_connection() {
        for (kind, source, kafka) in [
            ("oceanbase", true, false),
            ("mysql", true, false),
            ("mariadb", true, false),
            ("kafka", false, true),
        ] {
            let record = stored(kind, source, kafka).into_record(3).unwrap();
            assert_eq!(record.kind().as_str(), kind);
            assert_eq!(record.connection.source().is_some(), source, "{kind}");
            assert_eq!(record.connection.kafka().is_some(), kafka, "{kind}");
            let again = DataSourceV1::of(&record).into_record(3).unwrap();
            assert_eq!(again, record);
        }
    }

    #[test]
    fn a_stored_data_source_without_the_connection_of_its_kind_is_refused_by_name() {
        for (kind, field) in [("mysql", "source"), ("kafka", "kafka")] {
            let err = stored(kind, kind == "kafka", kind != "kafka")
                .into_record(1)
                .unwrap_err();
            assert!(
                matches!(&err, StoreError::Incomplete { field: f, .. } if *f == field),
                "{err}"
            );
        }
    }
}
