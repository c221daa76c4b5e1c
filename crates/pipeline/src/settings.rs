//! A validated project file turned into the settings of each component. This is the
//! only place that knows both the config types and the component types.

use obsync_config::{
    BinlogPositioning, Environment, PartitionRule, ProjectConfig, SourceKind, SourceTlsMode,
    StartPosition,
};
use obsync_format::FormatOptions;
use obsync_source::tls::{ClientCertificate, Pem, SourceTls, TlsMode};
use obsync_source::{SourceEndpoint, SourceFlavor};

/// The environment project files are loaded in: the process's variables and clock, plus
/// the Kafka client's own check of pass-through `[target.producer]` properties, so that a
/// file that loads also builds its Kafka clients.
pub fn project_environment() -> Environment {
    Environment::process().with_client_property_check(obsync_kafka::client_property_check())
}

/// Which stages run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncStages {
    pub schema: bool,
    pub full: bool,
    pub incremental: bool,
}

/// Everything a project run needs, built once from a [`ProjectConfig`].
#[derive(Debug, Clone)]
pub struct Settings {
    pub name: String,
    pub config: ProjectConfig,
    pub source: SourceEndpoint,
    pub server_id: u32,
    /// How the binlog reader positions its dumps.
    pub positioning: obsync_source::binlog::Positioning,
    pub kafka: obsync_kafka::KafkaTarget,
    pub format: FormatOptions,
    pub partition_rule: obsync_kafka::PartitionRule,
    pub sync: SyncStages,
    /// Incremental start without full sync: Unix seconds, `None` = now.
    pub start_time: Option<u32>,
    pub tx_sequence: bool,
    pub ddl_messages: bool,
    /// Send a partition-moving UPDATE as DELETE + INSERT (Hash only).
    pub split_key_updates: bool,
    /// 0 = no heartbeats.
    pub heartbeat_interval_secs: u64,
    pub topic_partitions: i32,
    pub topic_replication_factor: i32,
    pub snapshot_chunk_rows: usize,
    pub snapshot_parallelism: usize,
    /// Tables of the project to snapshot again while the change log streams (re-sync,
    /// `stages::backfill`), each with when it was asked for (Unix s): recorded in the
    /// checkpoint when the run starts, unless a backfill of the table started since (a
    /// run resuming after a transient failure must not start it over). Set by the
    /// caller (the server), never by the project file.
    pub resync: std::collections::BTreeMap<obsync_model::TableId, u64>,
    /// Read the change log from the process's shared stream of this source endpoint
    /// (`obsync_source::binlog::shared`) instead of a dump of its own. Set by the caller
    /// (the server, unless started with `--no-shared-stream`); `obsync run`, one
    /// project per process, keeps its own dump.
    pub shared_stream: bool,
    /// The most events waiting for the project on the shared stream; one this far
    /// behind reads its own dump until it catches up.
    pub shared_queue_events: usize,
}

/// Events waiting for one project on the shared stream, at most: about a second of a
/// busy source, a few MiB.
pub const SHARED_QUEUE_EVENTS: usize = 4096;

/// The project file's `[source.tls]` as the source crate takes it: the files are read at
/// each connection, so a renewed certificate needs no restart.
fn source_tls(tls: &obsync_config::SourceTls) -> SourceTls {
    SourceTls {
        mode: tls_mode(tls.mode),
        ca: tls.ca.as_ref().map(pem),
        client_cert: tls.client_cert.as_ref().map(|c| ClientCertificate {
            cert: pem(&c.cert),
            key: pem(&c.key),
        }),
    }
}

/// A project file's TLS mode as the source crate takes it (the server's data sources use
/// the same mapping).
pub fn tls_mode(mode: SourceTlsMode) -> TlsMode {
    match mode {
        SourceTlsMode::Disabled => TlsMode::Disabled,
        SourceTlsMode::Preferred => TlsMode::Preferred,
        SourceTlsMode::Required => TlsMode::Required,
        SourceTlsMode::VerifyCa => TlsMode::VerifyCa,
        SourceTlsMode::VerifyIdentity => TlsMode::VerifyIdentity,
    }
}

/// One PEM of the project file as the source crate reads it.
fn pem(pem: &obsync_config::Pem) -> Pem {
    match pem {
        obsync_config::Pem::File(path) => Pem::File(path.clone()),
        obsync_config::Pem::Inline(text) => Pem::Text(text.expose().to_string()),
    }
}

impl Settings {
    /// The config is valid by construction: every rule a user can break was checked when
    /// the project file was loaded.
    pub fn from_config(config: ProjectConfig) -> Self {
        let src = &config.source;
        let flavor = match src.kind {
            SourceKind::OceanBase => SourceFlavor::OceanBase,
            SourceKind::MySql => SourceFlavor::MySql,
            SourceKind::MariaDb => SourceFlavor::MariaDb,
        };
        let source = SourceEndpoint {
            flavor,
            host: src.host.clone(),
            port: src.port,
            user: src.user.login_name(),
            password: src.password.expose().to_string(),
            tls: source_tls(&src.tls),
        };
        let sync = &config.sync;
        let mut format = FormatOptions::new(sync.format);
        if let Some(t) = src
            .message_tenant
            .clone()
            .or_else(|| src.user.tenant.clone())
        {
            format.tenant = t;
        }
        format.db_type = match flavor {
            SourceFlavor::OceanBase => "OB_MYSQL",
            SourceFlavor::MySql | SourceFlavor::MariaDb => "MYSQL",
        }
        .to_string();
        format.source_identity = config.name.as_str().to_string();
        let dbz = &sync.debezium;
        format.debezium = obsync_format::DebeziumOptions {
            schemas: dbz.schemas,
            decimal_handling: dbz.decimal_handling,
            tombstones_on_delete: dbz.tombstones_on_delete,
            transaction_metadata: dbz.transaction_metadata,
            topic_prefix: dbz
                .topic_prefix
                .clone()
                .unwrap_or_else(|| config.name.as_str().to_string()),
            // Debezium reads MariaDB with its MariaDB connector, MySQL and OceanBase's
            // MySQL mode with its MySQL connector.
            connector: match flavor {
                SourceFlavor::MariaDb => obsync_format::Connector::MariaDb,
                SourceFlavor::MySql | SourceFlavor::OceanBase => obsync_format::Connector::MySql,
            },
            // One id per start of the project (Debezium's `runId` header).
            run_id: run_id(),
            flatten: obsync_format::FlattenOptions {
                delete_handling: dbz.delete_handling,
                add_fields: dbz.add_fields.clone(),
            },
            ..Default::default()
        };
        format.source_time_zone_offset_secs = sync.time_zone.local_minus_utc();
        format.canal_binary = sync.format_options.canal_binary;
        format.timestamp_fraction = sync.format_options.timestamp_fraction;
        format.maxwell = sync.format_options.maxwell;
        format.source_is_mariadb = flavor == SourceFlavor::MariaDb;
        Self {
            name: config.name.as_str().to_string(),
            source,
            server_id: src.server_id,
            positioning: match src.binlog_positioning {
                BinlogPositioning::Auto => obsync_source::binlog::Positioning::Auto,
                BinlogPositioning::Gtid => obsync_source::binlog::Positioning::Gtid,
                BinlogPositioning::File => obsync_source::binlog::Positioning::FilePosition,
            },
            kafka: obsync_kafka::KafkaTarget::from(&config.target),
            format,
            partition_rule: match sync.partition_rule {
                PartitionRule::Hash => obsync_kafka::PartitionRule::Hash,
                PartitionRule::One => obsync_kafka::PartitionRule::One,
            },
            sync: SyncStages {
                schema: sync.types.schema,
                full: sync.types.full,
                incremental: sync.types.incremental,
            },
            start_time: match sync.start {
                StartPosition::At(t) => Some(t.clamp(0, u32::MAX as i64) as u32),
                StartPosition::None | StartPosition::AfterSnapshot | StartPosition::Now => None,
            },
            tx_sequence: sync.tx_sequence,
            ddl_messages: sync.ddl_messages,
            split_key_updates: sync.split_key_updates,
            heartbeat_interval_secs: sync.heartbeat_interval.map(|d| d.as_secs()).unwrap_or(0),
            topic_partitions: sync.topic_partitions,
            topic_replication_factor: sync.topic_replication_factor,
            snapshot_chunk_rows: sync.snapshot_chunk_rows as usize,
            snapshot_parallelism: sync.snapshot_parallelism.max(1),
            resync: Default::default(),
            shared_stream: false,
            shared_queue_events: SHARED_QUEUE_EVENTS,
            config,
        }
    }
}

/// A run id for Debezium's `__debezium.context.runId` header: the start time in
/// nanoseconds and the process id, unique per start of a project on a host.
fn run_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{nanos:x}-{:x}", std::process::id())
}
