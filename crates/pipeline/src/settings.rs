//! A validated project file turned into the settings of each component. This is the
//! only place that knows both the config types and the component types.

use obsync_config::{
    BinlogPositioning, Compression, FormatKind, KafkaVersion, PartitionRule, ProjectConfig,
    SaslMechanism, SourceKind, StartPosition,
};
use obsync_format::FormatOptions;
use obsync_kafka::ProducerSettings;
use obsync_source::{SourceEndpoint, SourceFlavor};
use std::collections::BTreeMap;
use std::time::Duration;

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
}

impl Settings {
    /// Fails only on a `[target.producer]` value obsync must interpret itself.
    pub fn from_config(config: ProjectConfig) -> Result<Self, InvalidProducerProperty> {
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
        };
        let sync = &config.sync;
        let mut format = FormatOptions::new(match sync.format {
            FormatKind::Default => obsync_format::FormatKind::Default,
            FormatKind::DefaultExtendColumnType => {
                obsync_format::FormatKind::DefaultExtendColumnType
            }
            FormatKind::Canal => obsync_format::FormatKind::Canal,
            FormatKind::DataWorks => obsync_format::FormatKind::DataWorks,
            FormatKind::SharePlex => obsync_format::FormatKind::SharePlex,
        });
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
        format.source_time_zone_offset_secs = sync.time_zone.local_minus_utc();
        Ok(Self {
            name: config.name.as_str().to_string(),
            source,
            server_id: src.server_id,
            positioning: match src.binlog_positioning {
                BinlogPositioning::Auto => obsync_source::binlog::Positioning::Auto,
                BinlogPositioning::Gtid => obsync_source::binlog::Positioning::Gtid,
                BinlogPositioning::File => obsync_source::binlog::Positioning::FilePosition,
            },
            kafka: kafka_target(&config)?,
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
            config,
        })
    }
}

fn kafka_target(
    config: &ProjectConfig,
) -> Result<obsync_kafka::KafkaTarget, InvalidProducerProperty> {
    use obsync_kafka::config as k;
    let t = &config.target;
    let mut target = obsync_kafka::KafkaTarget::new(t.bootstrap_servers_string());
    target.version = match t.version {
        KafkaVersion::V0_9 => k::KafkaVersion::V0_9,
        KafkaVersion::V1_0 => k::KafkaVersion::V1_0,
        KafkaVersion::V2 => k::KafkaVersion::V2,
        KafkaVersion::V3Plus => k::KafkaVersion::V3Plus,
    };
    target.compression = match t.compression {
        Compression::None => k::Compression::None,
        Compression::Gzip => k::Compression::Gzip,
        Compression::Snappy => k::Compression::Snappy,
        Compression::Lz4 => k::Compression::Lz4,
        Compression::Zstd => k::Compression::Zstd,
    };
    target.sasl = t.sasl.as_ref().map(|s| k::Sasl {
        mechanism: match s.mechanism {
            SaslMechanism::Plain => k::SaslMechanism::Plain,
            SaslMechanism::ScramSha256 => k::SaslMechanism::ScramSha256,
            SaslMechanism::ScramSha512 => k::SaslMechanism::ScramSha512,
        },
        username: s.username.clone(),
        password: s.password.expose().to_string(),
    });
    target.tls = t.tls.as_ref().map(|tls| k::Tls {
        ca_file: tls.ca_file.clone(),
        cert_file: tls.cert_file.clone(),
        key_file: tls.key_file.clone(),
        verify_hostname: tls.verify_hostname,
    });
    let (producer, extra) = producer_settings(&t.producer)?;
    target.producer = producer;
    target.extra = extra;
    Ok(target)
}

/// A `[target.producer]` value obsync cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[target.producer] \"{property}\" = {value:?} is not {expected}: write it as a plain number, e.g. \"{property}\" = \"{example}\"")]
pub struct InvalidProducerProperty {
    pub property: String,
    pub value: String,
    pub expected: &'static str,
    pub example: &'static str,
}

/// Splits `[target.producer]` into the settings obsync manages itself (the size limit
/// it checks before sending, the outage tolerance, the batching delay and the memory
/// bound, written with their librdkafka names) and the pass-through rest.
fn producer_settings(
    given: &BTreeMap<String, String>,
) -> Result<(ProducerSettings, BTreeMap<String, String>), InvalidProducerProperty> {
    let mut settings = ProducerSettings::default();
    let mut extra = BTreeMap::new();
    for (key, value) in given {
        let number = |expected, example| {
            value
                .trim()
                .parse::<u64>()
                .map_err(|_| InvalidProducerProperty {
                    property: key.clone(),
                    value: value.clone(),
                    expected,
                    example,
                })
        };
        match key.as_str() {
            "message.max.bytes" => {
                settings.max_message_bytes = number("a size in bytes", "8388608")? as usize
            }
            "message.timeout.ms" | "delivery.timeout.ms" => {
                settings.message_timeout =
                    Duration::from_millis(number("a time in milliseconds", "300000")?)
            }
            "linger.ms" | "queue.buffering.max.ms" => {
                settings.linger = Duration::from_millis(number("a time in milliseconds", "5")?)
            }
            "queue.buffering.max.kbytes" => {
                settings.queue_max_bytes = number("a size in KiB", "65536")? as usize * 1024
            }
            _ => {
                extra.insert(key.clone(), value.clone());
            }
        }
    }
    Ok((settings, extra))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn managed_producer_properties_become_typed_settings() {
        let (p, extra) = producer_settings(&map(&[
            ("message.max.bytes", "8388608"),
            ("linger.ms", "20"),
            ("message.timeout.ms", "60000"),
            ("queue.buffering.max.kbytes", "1024"),
            ("batch.num.messages", "5000"),
        ]))
        .unwrap();
        assert_eq!(p.max_message_bytes, 8_388_608);
        assert_eq!(p.linger, Duration::from_millis(20));
        assert_eq!(p.message_timeout, Duration::from_secs(60));
        assert_eq!(p.queue_max_bytes, 1024 * 1024);
        assert_eq!(extra, map(&[("batch.num.messages", "5000")]));
    }

    #[test]
    fn a_managed_property_that_is_not_a_number_is_named_in_the_error() {
        let err = producer_settings(&map(&[("message.max.bytes", "8MB")])).unwrap_err();
        assert_eq!(
            err.to_string(),
            "[target.producer] \"message.max.bytes\" = \"8MB\" is not a size in bytes: write it as a plain number, e.g. \"message.max.bytes\" = \"8388608\""
        );
    }
}
