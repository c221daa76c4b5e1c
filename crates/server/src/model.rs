//! What the server stores: data sources (secrets sealed), tags, projects, events and
//! metric points. These are the store's records; the API's views are built from them.

use std::collections::BTreeMap;

use obsync_model::CheckItem;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::lifecycle::{ProjectState, Stage};
use crate::secrets::Sealed;

/// Now as RFC 3339 UTC with seconds.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A new random id with the given prefix (`ds`, `np`, `tag`, `tok`): 16 lowercase
/// base-36 characters, 82 bits of randomness.
pub fn new_id(prefix: &str) -> String {
    use rand::Rng;
    const CHARS: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::thread_rng();
    let tail: String = (0..16)
        .map(|_| CHARS[rng.gen_range(0..CHARS.len())] as char)
        .collect();
    format!("{prefix}_{tail}")
}

/// What a data source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum DataSourceKind {
    /// An OceanBase CE MySQL tenant.
    Oceanbase,
    Mysql,
    Mariadb,
    /// A Kafka cluster (target only).
    Kafka,
}

impl DataSourceKind {
    /// The `[source] kind` of the project file; `None` for Kafka.
    pub fn source_kind(self) -> Option<&'static str> {
        match self {
            DataSourceKind::Oceanbase => Some("oceanbase"),
            DataSourceKind::Mysql => Some("mysql"),
            DataSourceKind::Mariadb => Some("mariadb"),
            DataSourceKind::Kafka => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        self.source_kind().unwrap_or("kafka")
    }

    /// The project file's source kind; `None` for Kafka. The one mapping of the kinds.
    pub fn config(self) -> Option<obsync_config::SourceKind> {
        use obsync_config::SourceKind as C;
        match self {
            DataSourceKind::Oceanbase => Some(C::OceanBase),
            DataSourceKind::Mysql => Some(C::MySql),
            DataSourceKind::Mariadb => Some(C::MariaDb),
            DataSourceKind::Kafka => None,
        }
    }

    /// The data source kind of a project file's source kind.
    pub fn from_config(kind: obsync_config::SourceKind) -> DataSourceKind {
        use obsync_config::SourceKind as C;
        match kind {
            C::OceanBase => DataSourceKind::Oceanbase,
            C::MySql => DataSourceKind::Mysql,
            C::MariaDb => DataSourceKind::Mariadb,
        }
    }

    /// Parses [`DataSourceKind::as_str`] names.
    pub fn parse(s: &str) -> Option<DataSourceKind> {
        [
            DataSourceKind::Oceanbase,
            DataSourceKind::Mysql,
            DataSourceKind::Mariadb,
            DataSourceKind::Kafka,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// The Kafka release line a Kafka data source runs, as the console offers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum KafkaRelease {
    #[serde(rename = "0.9")]
    V0_9,
    #[serde(rename = "1.0")]
    V1_0,
    #[serde(rename = "2.x")]
    V2,
    #[serde(rename = "3.x")]
    V3,
    #[serde(rename = "4.x")]
    V4,
}

impl KafkaRelease {
    /// Every release, oldest first.
    pub const ALL: [KafkaRelease; 5] = [
        KafkaRelease::V0_9,
        KafkaRelease::V1_0,
        KafkaRelease::V2,
        KafkaRelease::V3,
        KafkaRelease::V4,
    ];

    /// The name the API and the project file use.
    pub fn as_str(self) -> &'static str {
        match self {
            KafkaRelease::V0_9 => "0.9",
            KafkaRelease::V1_0 => "1.0",
            KafkaRelease::V2 => "2.x",
            KafkaRelease::V3 => "3.x",
            KafkaRelease::V4 => "4.x",
        }
    }

    /// Parses [`KafkaRelease::as_str`] names.
    pub fn parse(s: &str) -> Option<KafkaRelease> {
        KafkaRelease::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The release line of a project file's `version` (`2.x`, or an exact `2.8.1`), by
    /// the project file's own rule ([`obsync_config::KafkaVersion::parse`]) and the
    /// major version.
    pub fn of_file(version: &str) -> Option<KafkaRelease> {
        obsync_config::KafkaVersion::parse(version)?;
        let major: u32 = version.trim().split('.').next()?.parse().ok()?;
        Some(match major {
            0 => KafkaRelease::V0_9,
            1 => KafkaRelease::V1_0,
            2 => KafkaRelease::V2,
            3 => KafkaRelease::V3,
            _ => KafkaRelease::V4,
        })
    }

    /// The client settings' version class.
    pub fn config(self) -> obsync_config::KafkaVersion {
        use obsync_config::KafkaVersion as C;
        match self {
            KafkaRelease::V0_9 => C::V0_9,
            KafkaRelease::V1_0 => C::V1_0,
            KafkaRelease::V2 => C::V2,
            KafkaRelease::V3 | KafkaRelease::V4 => C::V3Plus,
        }
    }
}

/// How a Kafka client authenticates with SASL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum SaslMechanism {
    #[serde(rename = "PLAIN")]
    Plain,
    #[serde(rename = "SCRAM-SHA-256")]
    ScramSha256,
    #[serde(rename = "SCRAM-SHA-512")]
    ScramSha512,
    /// Kerberos: a principal and a keytab on the server's disk instead of a password.
    #[serde(rename = "GSSAPI")]
    Gssapi,
}

impl SaslMechanism {
    /// The project file's mechanism.
    pub fn config(self) -> obsync_config::SaslMechanism {
        use obsync_config::SaslMechanism as C;
        match self {
            SaslMechanism::Plain => C::Plain,
            SaslMechanism::ScramSha256 => C::ScramSha256,
            SaslMechanism::ScramSha512 => C::ScramSha512,
            SaslMechanism::Gssapi => C::Gssapi,
        }
    }

    /// The API's mechanism of a project file's mechanism.
    pub fn from_config(mechanism: obsync_config::SaslMechanism) -> SaslMechanism {
        use obsync_config::SaslMechanism as C;
        match mechanism {
            C::Plain => SaslMechanism::Plain,
            C::ScramSha256 => SaslMechanism::ScramSha256,
            C::ScramSha512 => SaslMechanism::ScramSha512,
            C::Gssapi => SaslMechanism::Gssapi,
        }
    }

    /// The canonical name (`PLAIN`, `SCRAM-SHA-256`, …).
    pub fn as_str(self) -> &'static str {
        self.config().as_str()
    }

    /// Parses the canonical names only (the API publishes them as its enum).
    pub fn parse(s: &str) -> Option<SaslMechanism> {
        obsync_config::SaslMechanism::parse(s)
            .map(SaslMechanism::from_config)
            .filter(|m| m.as_str() == s)
    }
}

impl std::fmt::Display for KafkaRelease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for SaslMechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A stored data source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataSourceRecord {
    pub id: String,
    pub name: String,
    pub description: String,
    /// What it is and how to reach it.
    pub connection: Connection,
    pub created_at: String,
    pub updated_at: String,
    /// The stored revision this was read at (0: not stored yet); a write succeeds only
    /// while it is still the stored one.
    pub revision: u64,
}

/// How to reach a data source, one variant per kind: a database source's facts and a
/// Kafka cluster's cannot be mixed up, and a new kind is a new variant that every
/// `match` must handle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Connection {
    OceanBase(SourceRecord),
    MySql(SourceRecord),
    MariaDb(SourceRecord),
    Kafka(KafkaRecord),
}

impl Connection {
    pub fn kind(&self) -> DataSourceKind {
        match self {
            Connection::OceanBase(_) => DataSourceKind::Oceanbase,
            Connection::MySql(_) => DataSourceKind::Mysql,
            Connection::MariaDb(_) => DataSourceKind::Mariadb,
            Connection::Kafka(_) => DataSourceKind::Kafka,
        }
    }

    /// The database connection of a source kind, `None` for Kafka.
    pub fn source(&self) -> Option<&SourceRecord> {
        match self {
            Connection::OceanBase(s) | Connection::MySql(s) | Connection::MariaDb(s) => Some(s),
            Connection::Kafka(_) => None,
        }
    }

    /// The cluster of a Kafka data source, `None` for a database.
    pub fn kafka(&self) -> Option<&KafkaRecord> {
        match self {
            Connection::Kafka(k) => Some(k),
            Connection::OceanBase(_) | Connection::MySql(_) | Connection::MariaDb(_) => None,
        }
    }

    /// The project file's source kind and the database connection, `None` for Kafka.
    pub fn database(&self) -> Option<(obsync_config::SourceKind, &SourceRecord)> {
        use obsync_config::SourceKind as C;
        match self {
            Connection::OceanBase(s) => Some((C::OceanBase, s)),
            Connection::MySql(s) => Some((C::MySql, s)),
            Connection::MariaDb(s) => Some((C::MariaDb, s)),
            Connection::Kafka(_) => None,
        }
    }

    /// A database source of `kind` over `source`.
    pub fn of_database(kind: obsync_config::SourceKind, source: SourceRecord) -> Connection {
        use obsync_config::SourceKind as C;
        match kind {
            C::OceanBase => Connection::OceanBase(source),
            C::MySql => Connection::MySql(source),
            C::MariaDb => Connection::MariaDb(source),
        }
    }
}

impl DataSourceRecord {
    pub fn kind(&self) -> DataSourceKind {
        self.connection.kind()
    }
}

/// Connection facts of a database source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceRecord {
    pub host: String,
    pub port: u16,
    /// As written: `user`, or `user@tenant[#cluster]` for OceanBase.
    pub user: String,
    pub password: Option<Sealed>,
    /// TLS to the source; absent in records written before it existed, which then use
    /// the default mode (`preferred`), as a project file without `[source.tls]` does.
    #[serde(default)]
    pub tls: Option<SourceTlsRecord>,
}

/// TLS of a database source: the project file's `[source.tls]` with the files' contents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceTlsRecord {
    pub mode: SourceTlsMode,
    pub ca_pem: Option<String>,
    pub client_cert_pem: Option<String>,
    /// The client's private key is a secret: sealed like passwords.
    pub client_key_pem: Option<Sealed>,
}

/// How connections to a database source use TLS: MySQL's `--ssl-mode` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceTlsMode {
    /// Never TLS: the password and the data cross the network in clear.
    Disabled,
    /// TLS when the server offers it, plain otherwise; the certificate is not checked
    /// (the default, as in MySQL's clients).
    #[default]
    Preferred,
    /// TLS or no connection; the certificate is not checked.
    Required,
    /// TLS with a certificate signed by the CA (`ca_pem`, else the system's CAs).
    VerifyCa,
    /// `verify_ca`, and the certificate names the host.
    VerifyIdentity,
}

impl SourceTlsMode {
    /// The project file's spelling.
    pub fn as_str(self) -> &'static str {
        self.config().as_str()
    }

    /// The project file's mode.
    pub fn config(self) -> obsync_config::SourceTlsMode {
        use obsync_config::SourceTlsMode as C;
        match self {
            SourceTlsMode::Disabled => C::Disabled,
            SourceTlsMode::Preferred => C::Preferred,
            SourceTlsMode::Required => C::Required,
            SourceTlsMode::VerifyCa => C::VerifyCa,
            SourceTlsMode::VerifyIdentity => C::VerifyIdentity,
        }
    }

    /// The API's mode of a project file's mode.
    pub fn from_config(mode: obsync_config::SourceTlsMode) -> Self {
        use obsync_config::SourceTlsMode as C;
        match mode {
            C::Disabled => SourceTlsMode::Disabled,
            C::Preferred => SourceTlsMode::Preferred,
            C::Required => SourceTlsMode::Required,
            C::VerifyCa => SourceTlsMode::VerifyCa,
            C::VerifyIdentity => SourceTlsMode::VerifyIdentity,
        }
    }
}

/// Connection facts of a Kafka cluster.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaRecord {
    pub bootstrap_servers: String,
    pub version: KafkaRelease,
    pub sasl: Option<SaslRecord>,
    pub tls: Option<TlsRecord>,
    /// The schema registry beside the cluster, for the DebeziumAvro format.
    #[serde(default)]
    pub schema_registry: Option<RegistryRecord>,
}

/// A schema registry's Confluent-compatible API and its basic-authentication login.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryRecord {
    /// `http(s)://host:port[/path]`, without a trailing slash.
    pub url: String,
    pub username: Option<String>,
    /// Sealed like the other passwords; kept only while the URL's origin and the user
    /// stay the same.
    pub password: Option<Sealed>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SaslRecord {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password: Option<Sealed>,
    pub kerberos_service_name: Option<String>,
    pub kerberos_principal: Option<String>,
    pub kerberos_keytab: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TlsRecord {
    pub enabled: bool,
    pub verify_hostname: bool,
    pub ca_pem: Option<String>,
    pub client_cert_pem: Option<String>,
    /// The client's private key is a secret: sealed like passwords.
    pub client_key_pem: Option<Sealed>,
}

/// A label to group projects by.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Tag {
    pub id: String,
    pub name: String,
}

/// A project definition as the API takes it: the project file's model, with data
/// sources by id. Values stay strings where the project file has them as strings, so
/// the project file's rules judge them (one validation path).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectSpec {
    /// Up to 64 Chinese characters, letters and digits.
    pub name: String,
    #[serde(default)]
    pub tag_ids: Vec<String>,
    pub source_id: String,
    pub target_id: String,
    pub sync: SyncSpec,
    pub objects: Vec<ObjectSpec>,
}

/// What is synced, how and from when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncSpec {
    /// Any of `schema`, `full`, `incremental`.
    pub types: Vec<String>,
    /// `Default`, `DefaultExtendColumnType`, `Canal`, `DataWorks`, `SharePlex`,
    /// `Debezium`, `DebeziumFlattened`, `Maxwell`, `DebeziumAvro`.
    #[serde(default)]
    pub format: Option<String>,
    /// The format's rendering choices (`[sync.format_options]`); each key belongs to one
    /// format and is refused with another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format_options: Option<FormatOptionsSpec>,
    /// Options of the Debezium formats (`[sync.debezium]`); only with `Debezium` or
    /// `DebeziumFlattened`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub debezium: Option<DebeziumSpec>,
    /// `hash` (default) or `one`.
    #[serde(default)]
    pub partition_rule: Option<String>,
    /// SharePlex only: number the DML of a transaction.
    #[serde(default)]
    pub tx_sequence: bool,
    /// Incremental start (Unix seconds), only without full sync; null = now.
    #[serde(default)]
    pub start_time: Option<i64>,
    /// Rows per key-ordered chunk of full sync and of backfills (default 10000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 1000000)]
    pub snapshot_chunk_rows: Option<u32>,
    /// `db.table` names or patterns: tables that join the running project (new to its
    /// checkpoint) and match are backfilled (snapshotted while the change log flows);
    /// other joining tables are synced from the moment they join. Set by
    /// `POST /api/v1/projects/{id}/objects`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub backfill: Vec<String>,
}

/// `[sync.debezium]` of the project file (docs/formats.md, "Debezium"); absent keys keep
/// Debezium's defaults.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DebeziumSpec {
    /// The JSON converter's schemas: `{"schema","payload"}` (default) or the payload alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schemas: Option<bool>,
    /// DECIMAL as Connect's Decimal bytes (`precise`, default), text (`string`) or a
    /// number (`double`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(precise|string|double)$")]
    pub decimal_handling: Option<String>,
    /// A tombstone after each delete (default true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tombstones_on_delete: Option<bool>,
    /// The `transaction` block (default false).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction_metadata: Option<bool>,
    /// `source.name` and the schema names (default: the project name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub topic_prefix: Option<String>,
    /// DebeziumFlattened: `tombstone` (default), `drop`, `rewrite` or
    /// `rewrite-with-tombstone`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^(tombstone|drop|rewrite|rewrite-with-tombstone)$")]
    pub delete_handling: Option<String>,
    /// DebeziumFlattened: change-event fields added to the row (`op`, `table`,
    /// `source.ts_ms`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_fields: Option<Vec<String>>,
}

/// `[sync.format_options]` of the project file; absent keys keep the format's default.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FormatOptionsSpec {
    /// Canal: `latin1` (default, as Canal) or `base64` (for Flink's `canal-json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canal_binary: Option<String>,
    /// Default, DefaultExtendColumnType: TIMESTAMP fraction digits, `column` (default) or
    /// `nanos`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp_fraction: Option<String>,
    /// Maxwell: Kafka key `hash` (default) or `array`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxwell_key_format: Option<String>,
    /// Maxwell: `type` of full-sync rows, `bootstrap-insert` (default) or `insert`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxwell_snapshot_type: Option<String>,
    /// Maxwell: write `position`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxwell_position: Option<bool>,
    /// Maxwell: write `gtid`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxwell_gtid: Option<bool>,
    /// Maxwell: write `xoffset`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxwell_xoffset: Option<bool>,
    /// Maxwell: write `primary_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxwell_primary_keys: Option<bool>,
    /// Maxwell: write `primary_key_columns`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maxwell_primary_key_columns: Option<bool>,
    /// DebeziumAvro: the schema registry's Confluent-compatible API,
    /// `http(s)://host:port[/path]`; without it, the target data source's registry
    /// (`kafka.schema_registry`, with its login). The target registry's login goes along
    /// only to a URL of the same origin (scheme, host and port).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_registry_url: Option<String>,
    /// DebeziumAvro: subjects `topic` (default), `record` or `topic_record`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_name_strategy: Option<String>,
}

/// One table selection and where it goes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectSpec {
    /// `db.table` names or patterns (`shop.*`).
    pub tables: Vec<String>,
    /// One topic for every selected table.
    #[serde(default)]
    pub topic: Option<String>,
    /// `batch`: `Topic_${Database Name}_${Table Name}`.
    #[serde(default)]
    pub topic_rule: Option<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Partitioning columns per table (default: the primary key).
    #[serde(default)]
    pub shard_columns: BTreeMap<String, Vec<String>>,
}

/// An error with its cause chain, as the API and the event log show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorInfo {
    pub message: String,
    /// The causes, outermost first.
    pub chain: Vec<String>,
    /// What failed as a stable code the console says in its language (a run's final
    /// error, `docs/message-codes.json` lists the codes), when it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The values the code's text names, by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<String, String>,
}

impl ErrorInfo {
    /// The error's own message and each `source()` below it.
    pub fn from_error(error: &(dyn std::error::Error + 'static)) -> ErrorInfo {
        obsync_model::ErrorReport::from_error(error).into()
    }

    /// The same error with its code.
    pub fn with_code(mut self, coded: obsync_model::Coded) -> ErrorInfo {
        self.code = Some(coded.code);
        self.params = coded.params;
        self
    }
}

impl From<obsync_model::ErrorReport> for ErrorInfo {
    fn from(report: obsync_model::ErrorReport) -> ErrorInfo {
        ErrorInfo {
            message: report.message,
            chain: report.causes,
            code: None,
            params: BTreeMap::new(),
        }
    }
}

/// The outcome of a project's last precheck.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrecheckRecord {
    pub passed: bool,
    pub checked_at: String,
    pub items: Vec<CheckItem>,
    /// The spec it checked; start needs a passed precheck of the current spec.
    pub spec: ProjectSpec,
}

/// A stored project.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectRecord {
    pub id: String,
    pub spec: ProjectSpec,
    /// Written only by [`crate::transition`].
    pub state: ProjectState,
    /// The running stage last seen.
    pub stage: Option<Stage>,
    pub last_error: Option<ErrorInfo>,
    pub precheck: Option<PrecheckRecord>,
    /// Messages Kafka acknowledged in the project's finished runs; a run counts from
    /// zero, so the progress answer adds the live run's count to this.
    #[serde(default)]
    pub acked_messages: u64,
    /// The stages of the project's current life (since its start), for the timeline.
    #[serde(default)]
    pub stages: Vec<crate::timeline::StageSpan>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    /// The stored revision this was read at (0: not stored yet); a write succeeds only
    /// while it is still the stored one.
    pub revision: u64,
}

impl ProjectRecord {
    /// Whether a precheck of the project's current definition passed (start needs it).
    pub fn precheck_passed(&self) -> bool {
        self.precheck
            .as_ref()
            .is_some_and(|p| p.passed && p.spec == self.spec)
    }
}

/// What an event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    State,
    /// A change someone made (projects, data sources, users, tokens).
    Audit,
    Error,
    Notice,
    /// A failed login or a login delay.
    Security,
}

/// One entry of the event log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    pub id: i64,
    pub at: String,
    pub kind: EventKind,
    /// What it is about: `project`, `datasource`, `user`, `token` or `login`.
    pub subject: String,
    /// The project, data source or token id, or the user name.
    pub subject_id: String,
    /// Who did it: a user name, `name (token tok_…)`, or `system`.
    pub actor: String,
    /// The client's address, for changes made over the API.
    pub client: Option<String>,
    /// What happened, in English.
    pub message: String,
    pub chain: Vec<String>,
    /// What happened as a stable code the console says in its language
    /// (`docs/message-codes.json` lists the codes, family `events`), stored with the event;
    /// absent on events written before obsync stored codes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The values the code's text names, by name.
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, String>,
}

/// One sample of a project's metric history.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MetricPoint {
    /// Unix seconds.
    pub t: i64,
    pub lag_seconds: Option<u64>,
    pub rows_per_sec: f64,
    pub acked_messages: u64,
}

/// An API token as stored (the token itself only as a hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub name: String,
    pub username: String,
    pub hash: String,
    pub created_at: String,
    /// At most its user's role (the lower of the two applies).
    pub role: crate::roles::Role,
    pub expires_unix: i64,
    pub last_used_unix: Option<i64>,
}
