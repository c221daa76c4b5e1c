//! `[sync]`: what to sync (schema, full, incremental), from when, and in which format.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};
use toml::Spanned;

use crate::error::Problems;
use crate::format_options::{check_format_options, FormatChoices};
use crate::objects::TablePattern;
use crate::raw::RawSync;
use crate::secret::Environment;

/// The stages a project runs, in the order schema → full → incremental. At least one is on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SyncTypes {
    /// Schema sync: create the mapped topics.
    pub schema: bool,
    /// Full sync: a snapshot of the existing rows.
    pub full: bool,
    /// Incremental sync: INSERT, UPDATE and DELETE from the binlog.
    pub incremental: bool,
}

impl fmt::Display for SyncTypes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = [
            (self.schema, "schema"),
            (self.full, "full"),
            (self.incremental, "incremental"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        f.write_str(&names.join(", "))
    }
}

/// Where incremental sync starts reading the change log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StartPosition {
    /// There is no incremental sync.
    None,
    /// With full sync: at the position the snapshot was taken (the project start time).
    AfterSnapshot,
    /// Without full sync and without `start_time`: when the project starts.
    Now,
    /// Without full sync: at this time, in Unix seconds (not later than load time).
    At(i64),
}

impl fmt::Display for StartPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartPosition::None => f.write_str("none (no incremental sync)"),
            StartPosition::AfterSnapshot => f.write_str("where the full sync snapshot was taken"),
            StartPosition::Now => f.write_str("when the project starts"),
            StartPosition::At(secs) => match DateTime::from_timestamp(*secs, 0) {
                Some(time) => write!(f, "{} UTC (Unix {secs})", time.format("%Y-%m-%d %H:%M:%S")),
                None => write!(f, "Unix {secs}"),
            },
        }
    }
}

/// The message format written to Kafka (see `reference/message-formats.md`). Its names in
/// every spelling (console `DataWorks`, OMS `DATAWORKS_V2`, `DataWorks2.0`, …) are parsed in
/// one place, `FormatKind::from_str` in the format crate.
pub use obsync_format::FormatKind;

/// `[sync.debezium]`, validated: the Debezium formats' options (defaults: Debezium's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebeziumConfig {
    /// The JSON converter's `schemas.enable`: `{"schema","payload"}` or the payload alone.
    pub schemas: bool,
    /// `decimal.handling.mode`: DECIMAL as Connect's Decimal bytes, text or a double.
    pub decimal_handling: obsync_format::DecimalHandling,
    /// `tombstones.on.delete`: a delete is followed by a tombstone.
    pub tombstones_on_delete: bool,
    /// `provide.transaction.metadata`: the `transaction` block of binlog records.
    pub transaction_metadata: bool,
    /// `topic.prefix` (`source.name`, schema names); `None` = the project's name.
    pub topic_prefix: Option<String>,
    /// DebeziumFlattened: `delete.tombstone.handling.mode`.
    pub delete_handling: obsync_format::DeleteHandling,
    /// DebeziumFlattened: `add.fields`.
    pub add_fields: Vec<obsync_format::AddField>,
}

impl Default for DebeziumConfig {
    fn default() -> Self {
        Self {
            schemas: true,
            decimal_handling: Default::default(),
            tombstones_on_delete: true,
            transaction_metadata: false,
            topic_prefix: None,
            delete_handling: Default::default(),
            add_fields: Vec::new(),
        }
    }
}

/// How a message's partition is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartitionRule {
    /// Hash of the shard-column (default: primary-key) values; order per key.
    Hash,
    /// Every message of a topic to one partition; total order per topic.
    One,
}

impl fmt::Display for PartitionRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            PartitionRule::Hash => "hash",
            PartitionRule::One => "one",
        })
    }
}

/// The validated `[sync]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncConfig {
    /// The stages to run.
    pub types: SyncTypes,
    /// Where incremental sync starts.
    pub start: StartPosition,
    /// The offset `start_time` text was read in.
    pub time_zone: FixedOffset,
    /// The message format.
    pub format: FormatKind,
    /// `[sync.format_options]`: the format's rendering choices.
    pub format_options: FormatChoices,
    /// Number the DML of a transaction 1, 2, 3 … (SharePlex only).
    pub tx_sequence: bool,
    /// How partitions are chosen.
    pub partition_rule: PartitionRule,
    /// Whether DDL messages are emitted.
    pub ddl_messages: bool,
    /// Under Hash partitioning, send an UPDATE that moves a row to another partition
    /// (its shard key changed) as DELETE + INSERT, so each key's changes stay in order.
    pub split_key_updates: bool,
    /// Heartbeat message interval; `None` = no heartbeats.
    pub heartbeat_interval: Option<Duration>,
    /// Partitions of topics created by schema sync.
    pub topic_partitions: i32,
    /// Replication factor of topics created by schema sync.
    pub topic_replication_factor: i32,
    /// Rows per keyset chunk of the full sync.
    pub snapshot_chunk_rows: u32,
    /// Tables or chunks read at once by the full sync.
    pub snapshot_parallelism: usize,
    /// Options of the Debezium formats.
    pub debezium: DebeziumConfig,
    /// `backfill`: tables that, when they join a project whose change-log stream has
    /// begun (they are new to its checkpoint), are snapshotted while the stream flows;
    /// other joining tables are synced from the moment they join (docs/online-changes.md).
    pub backfill: Vec<TablePattern>,
}

impl SyncConfig {
    /// Whether `table`, new to a streaming project, is backfilled.
    pub fn backfills(&self, table: &obsync_model::TableId) -> bool {
        self.backfill.iter().any(|p| p.matches(table))
    }
}

pub(crate) fn check_sync(
    raw: &RawSync,
    env: &Environment,
    problems: &mut Problems<'_>,
) -> Option<SyncConfig> {
    let before = problems.len();
    let types = check_types(&raw.types, problems);
    let time_zone = match &raw.time_zone {
        None => FixedOffset::east_opt(0),
        Some(tz) => {
            let parsed = parse_offset(tz.get_ref());
            if parsed.is_none() {
                problems.report(
                    tz.span(),
                    "sync.time_zone",
                    format!("time_zone {:?} is not a UTC offset", tz.get_ref()),
                    "write ±HH:MM between -12:00 and +14:00, e.g. \"+08:00\"",
                );
            }
            parsed
        }
    };
    let start = types
        .and_then(|types| check_start(raw.start_time.as_ref(), types, time_zone, env, problems));
    let format = match &raw.format {
        None => Some(FormatKind::Default),
        Some(name) => {
            let parsed = name.get_ref().parse::<FormatKind>().ok();
            if parsed.is_none() {
                problems.report(
                    name.span(),
                    "sync.format",
                    format!("unknown format {:?}", name.get_ref()),
                    "use \"Default\", \"DefaultExtendColumnType\", \"Canal\", \"DataWorks\", \"SharePlex\", \"Debezium\", \"DebeziumFlattened\", \"Maxwell\" or \"DebeziumAvro\"",
                );
            }
            parsed
        }
    };
    let format_span = raw.format.as_ref().map_or(raw.types.span(), |f| f.span());
    let format_options = check_format_options(
        raw.format_options.as_ref(),
        format,
        format_span,
        env,
        problems,
    );
    if let (Some(name), Some(format)) = (&raw.format, format) {
        let heartbeats = raw
            .heartbeat_interval_secs
            .as_ref()
            .is_some_and(|s| *s.get_ref() > 0);
        for (on, supported, what, key) in [
            (
                raw.ddl_messages == Some(true),
                format.supports_ddl(),
                "DDL",
                "ddl_messages",
            ),
            (
                heartbeats,
                format.supports_heartbeat(),
                "heartbeat",
                "heartbeat_interval_secs",
            ),
        ] {
            if on && !supported {
                problems.report(
                    name.span(),
                    "sync.format",
                    format!("the {format} format has no {what} record, but {key} turns them on"),
                    format!("remove {key}, or choose a format with {what} records"),
                );
            }
        }
    }
    let tx_sequence = raw.tx_sequence.as_ref().is_some_and(|t| *t.get_ref());
    if let (Some(flag), Some(format)) = (&raw.tx_sequence, format) {
        if *flag.get_ref() && format != FormatKind::SharePlex {
            problems.report(
                flag.span(),
                "sync.tx_sequence",
                format!("tx_sequence needs the SharePlex format, the format is {format}"),
                "set format = \"SharePlex\" or remove tx_sequence",
            );
        }
    }
    let partition_rule = match &raw.partition_rule {
        None => Some(PartitionRule::Hash),
        Some(rule) => match rule.get_ref().to_ascii_lowercase().as_str() {
            "hash" => Some(PartitionRule::Hash),
            "one" => Some(PartitionRule::One),
            _ => {
                problems.report(
                    rule.span(),
                    "sync.partition_rule",
                    format!("unknown partition_rule {:?}", rule.get_ref()),
                    "use \"hash\" (order per key) or \"one\" (total order per topic)",
                );
                None
            }
        },
    };
    let int = |problems: &mut Problems<'_>,
               value: &Option<Spanned<i64>>,
               default: i64,
               range,
               name: &str| match value {
        None => Some(default),
        Some(v) => problems.int_in::<i64>(v, range, &format!("sync.{name}"), name),
    };
    let heartbeat = int(
        problems,
        &raw.heartbeat_interval_secs,
        0,
        0..=86_400,
        "heartbeat_interval_secs",
    );
    let partitions = int(
        problems,
        &raw.topic_partitions,
        3,
        1..=10_000,
        "topic_partitions",
    );
    let replication = int(
        problems,
        &raw.topic_replication_factor,
        1,
        1..=32_767,
        "topic_replication_factor",
    );
    let chunk_rows = int(
        problems,
        &raw.snapshot_chunk_rows,
        10_000,
        1..=1_000_000,
        "snapshot_chunk_rows",
    );
    let parallelism = int(
        problems,
        &raw.snapshot_parallelism,
        4,
        1..=64,
        "snapshot_parallelism",
    );
    let debezium = check_debezium(raw, format, problems);
    let mut backfill = Vec::new();
    for pattern in raw.backfill.iter().flatten() {
        match TablePattern::parse(pattern.get_ref()) {
            Ok(p) => backfill.push(p),
            Err(e) => problems.report(pattern.span(), "sync.backfill", e.to_string(), e.fix()),
        }
    }
    if problems.len() != before {
        return None;
    }
    let secs = heartbeat? as u64;
    Some(SyncConfig {
        types: types?,
        start: start?,
        time_zone: time_zone?,
        format: format?,
        format_options: format_options?,
        tx_sequence,
        partition_rule: partition_rule?,
        ddl_messages: raw.ddl_messages.unwrap_or(false),
        split_key_updates: raw.split_key_updates.unwrap_or(true),
        heartbeat_interval: (secs > 0).then(|| Duration::from_secs(secs)),
        topic_partitions: partitions? as i32,
        topic_replication_factor: replication? as i32,
        snapshot_chunk_rows: chunk_rows? as u32,
        snapshot_parallelism: parallelism? as usize,
        debezium,
        backfill,
    })
}

fn check_debezium(
    raw: &RawSync,
    format: Option<FormatKind>,
    problems: &mut Problems<'_>,
) -> DebeziumConfig {
    let mut out = DebeziumConfig::default();
    let Some(table) = &raw.debezium else {
        return out;
    };
    if let Some(f) = format.filter(|f| !f.is_debezium()) {
        let span = crate::raw::header_span(problems.text(), "sync.debezium").unwrap_or(0..0);
        problems.report(
            span,
            "sync.debezium",
            format!("[sync.debezium] is set but the format is {f}"),
            "set format = \"Debezium\" or \"DebeziumFlattened\", or remove [sync.debezium]",
        );
    }
    let d = table;
    out.schemas = d.schemas.unwrap_or(true);
    out.tombstones_on_delete = d.tombstones_on_delete.unwrap_or(true);
    out.transaction_metadata = d.transaction_metadata.unwrap_or(false);
    if let Some(m) = &d.decimal_handling {
        match obsync_format::DecimalHandling::parse(m.get_ref()) {
            Some(v) => out.decimal_handling = v,
            None => problems.report(
                m.span(),
                "sync.debezium.decimal_handling",
                format!("unknown decimal_handling {:?}", m.get_ref()),
                "use \"precise\" (Debezium's bytes), \"string\" or \"double\"",
            ),
        }
    }
    if let Some(p) = &d.topic_prefix {
        let text = p.get_ref().trim();
        if text.is_empty() || text.chars().any(|c| c.is_control() || c.is_whitespace()) {
            problems.report(
                p.span(),
                "sync.debezium.topic_prefix",
                format!("topic_prefix {:?} is empty or has spaces or control characters", p.get_ref()),
                "use a name such as \"shop\" (Debezium's topic.prefix), or remove it to use the project name",
            );
        } else {
            out.topic_prefix = Some(text.to_string());
        }
    }
    let flattened_only = |problems: &mut Problems<'_>, span: std::ops::Range<usize>, name: &str| {
        if let Some(f) = format.filter(|f| *f != FormatKind::DebeziumFlattened) {
            problems.report(
                span,
                format!("sync.debezium.{name}"),
                format!("{name} applies to the DebeziumFlattened format, the format is {f}"),
                "set format = \"DebeziumFlattened\" or remove it",
            );
        }
    };
    if let Some(m) = &d.delete_handling {
        flattened_only(problems, m.span(), "delete_handling");
        match obsync_format::DeleteHandling::parse(m.get_ref()) {
            Some(v) => out.delete_handling = v,
            None => problems.report(
                m.span(),
                "sync.debezium.delete_handling",
                format!("unknown delete_handling {:?}", m.get_ref()),
                "use \"tombstone\", \"drop\", \"rewrite\" or \"rewrite-with-tombstone\"",
            ),
        }
    }
    for f in d.add_fields.iter().flatten() {
        flattened_only(problems, f.span(), "add_fields");
        match obsync_format::AddField::parse(f.get_ref()) {
            Some(a) if out.add_fields.contains(&a) => problems.report(
                f.span(),
                "sync.debezium.add_fields",
                format!("field {:?} is listed twice", f.get_ref()),
                "remove one of them",
            ),
            Some(a) => out.add_fields.push(a),
            None => problems.report(
                f.span(),
                "sync.debezium.add_fields",
                format!("unknown change-event field {:?}", f.get_ref()),
                "use op, ts_ms, or a source field: db, table, ts_ms, file, pos, row, server_id, gtid, snapshot, … (e.g. \"source.ts_ms\")",
            ),
        }
    }
    out
}

fn check_types(
    raw: &Spanned<Vec<Spanned<String>>>,
    problems: &mut Problems<'_>,
) -> Option<SyncTypes> {
    let before = problems.len();
    let mut types = SyncTypes::default();
    if raw.get_ref().is_empty() {
        problems.report(
            raw.span(),
            "sync.types",
            "no sync types are listed",
            "list one or more of \"schema\", \"full\", \"incremental\"",
        );
    }
    for name in raw.get_ref() {
        let flag = match name.get_ref().as_str() {
            "schema" => &mut types.schema,
            "full" => &mut types.full,
            "incremental" => &mut types.incremental,
            other => {
                problems.report(
                    name.span(),
                    "sync.types",
                    format!("unknown sync type {other:?}"),
                    "use \"schema\", \"full\" and/or \"incremental\"",
                );
                continue;
            }
        };
        if *flag {
            problems.report(
                name.span(),
                "sync.types",
                format!("sync type {:?} is listed twice", name.get_ref()),
                "remove one of them",
            );
        }
        *flag = true;
    }
    (problems.len() == before).then_some(types)
}

fn check_start(
    raw: Option<&Spanned<toml::Value>>,
    types: SyncTypes,
    time_zone: Option<FixedOffset>,
    env: &Environment,
    problems: &mut Problems<'_>,
) -> Option<StartPosition> {
    let Some(raw) = raw else {
        return Some(match types {
            SyncTypes {
                incremental: false, ..
            } => StartPosition::None,
            SyncTypes { full: true, .. } => StartPosition::AfterSnapshot,
            _ => StartPosition::Now,
        });
    };
    let conflict = if !types.incremental {
        Some((
            "start_time is set but sync.types has no \"incremental\"",
            "remove start_time",
        ))
    } else if types.full {
        Some((
            "start_time cannot be used with full sync: incremental sync starts where the snapshot was taken",
            "remove start_time, or remove \"full\" from sync.types",
        ))
    } else {
        None
    };
    if let Some((message, fix)) = conflict {
        problems.report(raw.span(), "sync.start_time", message, fix);
        return None;
    }
    let secs = match raw.get_ref() {
        toml::Value::Integer(secs) => Some(*secs),
        toml::Value::String(text) => parse_time(text, time_zone?),
        toml::Value::Datetime(datetime) => parse_time(&datetime.to_string(), time_zone?),
        _ => None,
    };
    let Some(secs) = secs.filter(|&s| s >= 0) else {
        problems.report(
            raw.span(),
            "sync.start_time",
            format!(
                "start_time {} is not a date-time or Unix timestamp",
                raw.get_ref()
            ),
            "write \"YYYY-MM-DD HH:MM:SS\" (read in sync.time_zone) or Unix seconds",
        );
        return None;
    };
    if secs > env.now_unix() {
        let shown = DateTime::from_timestamp(secs, 0)
            .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_else(|| format!("Unix {secs}"));
        problems.report(
            raw.span(),
            "sync.start_time",
            format!("start_time {shown} is in the future"),
            "choose a time not later than now, or remove start_time to start from now",
        );
        return None;
    }
    Some(StartPosition::At(secs))
}

/// `±HH:MM` (or `Z`) → offset, between -12:00 and +14:00.
fn parse_offset(text: &str) -> Option<FixedOffset> {
    if text == "Z" {
        return FixedOffset::east_opt(0);
    }
    let sign = match text.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let (hours, minutes) = text[1..].split_once(':')?;
    if hours.len() != 2 || minutes.len() != 2 {
        return None;
    }
    let (hours, minutes): (i32, i32) = (hours.parse().ok()?, minutes.parse().ok()?);
    let secs = sign * (hours * 3600 + minutes * 60);
    if minutes >= 60 || !(-12 * 3600..=14 * 3600).contains(&secs) {
        return None;
    }
    FixedOffset::east_opt(secs)
}

/// A date-time text → Unix seconds. Text without an offset is read in `zone`.
fn parse_time(text: &str, zone: FixedOffset) -> Option<i64> {
    let text = text.trim();
    if let Ok(time) = DateTime::parse_from_rfc3339(text) {
        return Some(time.timestamp());
    }
    [
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
    ]
    .iter()
    .find_map(|format| NaiveDateTime::parse_from_str(text, format).ok())
    .and_then(|naive| zone.from_local_datetime(&naive).single())
    .map(|time| time.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_are_plus_minus_hours_and_minutes() {
        assert_eq!(parse_offset("+08:00"), FixedOffset::east_opt(8 * 3600));
        assert_eq!(
            parse_offset("-03:30"),
            FixedOffset::east_opt(-(3 * 3600 + 1800))
        );
        assert_eq!(parse_offset("Z"), FixedOffset::east_opt(0));
        assert_eq!(parse_offset("+8:00"), None);
        assert_eq!(parse_offset("+15:00"), None);
        assert_eq!(parse_offset("Asia/Shanghai"), None);
    }

    #[test]
    fn time_text_is_read_in_the_zone_unless_it_has_an_offset() {
        let utc8 = FixedOffset::east_opt(8 * 3600).unwrap();
        assert_eq!(parse_time("1970-01-01 08:00:00", utc8), Some(0));
        assert_eq!(parse_time("1970-01-01T08:00:00", utc8), Some(0));
        assert_eq!(parse_time("1970-01-01T00:00:10Z", utc8), Some(10));
        assert_eq!(parse_time("yesterday", utc8), None);
    }

    #[test]
    fn formats_parse_in_console_and_oms_spellings() {
        for (names, kind) in [
            (&["Default", "DEFAULT", "default"][..], FormatKind::Default),
            (
                &[
                    "DefaultExtendColumnType",
                    "DEFAULT_WITH_SCHEMA",
                    "default_with_schema",
                ],
                FormatKind::DefaultExtendColumnType,
            ),
            (&["Canal", "CANAL"], FormatKind::Canal),
            (
                &["DataWorks", "dataworks2.0", "DataWorks2.0", "DATAWORKS_V2"],
                FormatKind::DataWorks,
            ),
            (&["SharePlex", "SHAREPLEX"], FormatKind::SharePlex),
        ] {
            for name in names {
                assert_eq!(name.parse::<FormatKind>().ok(), Some(kind), "{name}");
            }
        }
        assert!("json".parse::<FormatKind>().is_err());
    }
}
