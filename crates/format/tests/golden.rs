//! Golden files: the fixed record set of `common::golden_script` serialized by every
//! format (and the option variants), compared byte for byte with `tests/golden/*.txt`.
//!
//! One record per line: `label<TAB>key<TAB>value`, the key as a JSON string (so U+0001
//! is visible), the value as the exact bytes written. A record the format cannot carry
//! is `label<TAB>ERROR<TAB>message`. Review changes by hand; `OBSYNC_BLESS=1` rewrites.

mod common;

use common::*;
use obsync_format::{
    AbsentImage, AddField, BitWidth, CanalBinary, CanalValueStyle, Connector, DataWorksTemporal,
    DecimalHandling, DeleteHandling, FormatKind, FormatOptions, MaxwellKeyFormat, MaxwellOptions,
    MaxwellSnapshotType, Messages, Serializer, SnapshotMarker, TimestampFraction, UpdateColumns,
};

fn render(
    opts: FormatOptions,
    script: &Script,
    only: Option<&[&str]>,
    shareplex_seq: bool,
) -> String {
    let ser = Serializer::new(opts);
    let mut out = String::new();
    for item in &script.items {
        if only.is_some_and(|o| !o.contains(&item.label.as_str())) {
            continue;
        }
        let mut item_ctx = item.ctx;
        if !shareplex_seq {
            item_ctx.txn_sequence = None;
        }
        let item = Item {
            label: item.label.clone(),
            payload: match &item.payload {
                Payload::Change(c) => Payload::Change(c.clone()),
                Payload::Ddl(d) => Payload::Ddl(DdlRecord {
                    database: d.database.clone(),
                    table: d.table.clone(),
                    statement: d.statement.clone(),
                    timestamp: d.timestamp,
                    unique_id: d.unique_id.clone(),
                }),
                Payload::Heartbeat => Payload::Heartbeat,
            },
            ctx: item_ctx,
        };
        match encode(&ser, &item) {
            Ok((key, value)) => {
                out.push_str(&item.label);
                out.push('\t');
                out.push_str(&show_key(&key));
                out.push('\t');
                out.push_str(std::str::from_utf8(&value).expect("values are UTF-8"));
            }
            Err(e) => out.push_str(&format!("{}\tERROR\t{e}", item.label)),
        }
        out.push('\n');
    }
    out
}

fn check(name: &str, actual: String) {
    let path = crate_dir().join("tests/golden").join(name);
    if bless() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}; run with OBSYNC_BLESS=1 to create it",
            path.display()
        )
    });
    if expected != actual {
        for (n, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
            if e != a {
                panic!(
                    "{name} line {} differs (OBSYNC_BLESS=1 rewrites after review)\nexpected: {e}\nactual:   {a}",
                    n + 1
                );
            }
        }
        panic!("{name}: line count differs (OBSYNC_BLESS=1 rewrites after review)");
    }
}

#[test]
fn every_format_matches_its_golden_file() {
    let script = golden_script();
    for (kind, file) in [
        (FormatKind::Default, "default.txt"),
        (
            FormatKind::DefaultExtendColumnType,
            "default_extend_column_type.txt",
        ),
        (FormatKind::Canal, "canal.txt"),
        (FormatKind::DataWorks, "dataworks.txt"),
        (FormatKind::SharePlex, "shareplex.txt"),
        (FormatKind::Maxwell, "maxwell.txt"),
    ] {
        check(file, render(options(kind), &script, None, true));
    }
}

/// Avro: each table's key and value schema, then every record as hex (the 5-byte
/// registry header, then the Avro datum), so a change of one byte shows.
#[test]
fn avro_schemas_and_records_match_their_golden_file() {
    let script = golden_script();
    let opts = options(FormatKind::DebeziumAvro);
    let mut out = String::new();
    let mut seen = std::collections::BTreeSet::new();
    for item in &script.items {
        if let Payload::Change(c) = &item.payload {
            if seen.insert(c.table.id.to_string()) {
                let s = obsync_format::avro_schemas(&opts, &c.table);
                out.push_str(&format!("schema {} key\t{}\n", c.table.id, s.key));
                out.push_str(&format!("schema {} value\t{}\n", c.table.id, s.value));
            }
        }
    }
    let ser = Serializer::new(opts);
    for item in &script.items {
        match encode(&ser, item) {
            Ok((key, value)) => {
                out.push_str(&format!("{}\t{}\t{}\n", item.label, hex(&key), hex(&value)))
            }
            Err(e) => out.push_str(&format!("{}\tERROR\t{e}\n", item.label)),
        }
    }
    check("avro.txt", out);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn option_variants_match_their_golden_file() {
    let script = golden_script();
    let subset: &[&str] = &[
        "types.row.max",
        "types.insert.max",
        "types.update",
        "types.delete",
        "types.insert.zero",
        "items.update.key_change.2of3",
        "ddl.alter_table",
        "heartbeat",
    ];
    let mut out = String::new();
    let mut section = |title: &str, opts: FormatOptions, seq: bool| {
        out.push_str(&format!("# {title}\n"));
        out.push_str(&render(opts, &script, Some(subset), seq));
    };
    let mut o = options(FormatKind::Default);
    o.bit_width = BitWidth::Full;
    o.absent_images = AbsentImage::Null;
    o.tenant = FormatOptions::DEFAULT_TENANT.into();
    o.db_type = "MYSQL".into();
    section(
        "Default, BitWidth::Full, AbsentImage::Null, default tenant, dbType MYSQL",
        o,
        true,
    );
    let mut o = options(FormatKind::Canal);
    o.canal_values = CanalValueStyle::Oms;
    o.update_columns = UpdateColumns::All;
    section("Canal, CanalValueStyle::Oms, UpdateColumns::All", o, true);
    let mut o = options(FormatKind::Canal);
    o.source_time_zone_offset_secs = 8 * 3600;
    section("Canal, source time zone +08:00", o, true);
    let mut o = options(FormatKind::DataWorks);
    o.dataworks_temporal = DataWorksTemporal::Text;
    section("DataWorks, DataWorksTemporal::Text", o, true);
    let mut o = options(FormatKind::DataWorks);
    o.source_time_zone_offset_secs = 8 * 3600;
    section("DataWorks, source time zone +08:00", o, true);
    let mut o = options(FormatKind::SharePlex);
    o.update_columns = UpdateColumns::All;
    section(
        "SharePlex, intra-transaction sequence numbering off, UpdateColumns::All",
        o,
        false,
    );
    let mut o = options(FormatKind::Canal);
    o.canal_binary = CanalBinary::Base64;
    section("Canal, CanalBinary::Base64", o, true);
    let mut o = options(FormatKind::Default);
    o.timestamp_fraction = TimestampFraction::Nanos;
    section("Default, TimestampFraction::Nanos", o, true);
    let mut o = options(FormatKind::DefaultExtendColumnType);
    o.timestamp_fraction = TimestampFraction::Nanos;
    section("DefaultExtendColumnType, TimestampFraction::Nanos", o, true);
    let mut o = options(FormatKind::Maxwell);
    o.maxwell = MaxwellOptions {
        key_format: MaxwellKeyFormat::Array,
        snapshot_type: MaxwellSnapshotType::Insert,
        binlog_position: true,
        gtid_position: true,
        xoffset: true,
        primary_keys: true,
        primary_key_columns: true,
    };
    section(
        "Maxwell, array keys, snapshot rows as insert, every output_* field on",
        o,
        true,
    );
    check("variants.txt", out);
}

/// Debezium records: a change is one line per Kafka record, `label/n<TAB>key<TAB>value
/// <TAB>headers`, `null` for a Kafka null key or value, headers as `name=value` joined
/// with ` | `. Only row changes (Debezium has no DDL or heartbeat records here).
fn render_debezium(opts: FormatOptions, script: &Script, only: Option<&[&str]>) -> String {
    let ser = Serializer::new(opts);
    let mut out = String::new();
    let mut msgs = Messages::new();
    for item in &script.items {
        if only.is_some_and(|o| !o.contains(&item.label.as_str())) {
            continue;
        }
        let Payload::Change(change) = &item.payload else {
            continue;
        };
        if let Err(e) = ser.encode_messages(change, &item.ctx, &mut msgs) {
            out.push_str(&format!("{}\tERROR\t{e}\n", item.label));
            continue;
        }
        if msgs.is_empty() {
            out.push_str(&format!("{}\t(no record)\n", item.label));
        }
        for (n, m) in msgs.iter().enumerate() {
            let text = |b: Option<&[u8]>| match b {
                Some(b) => String::from_utf8(b.to_vec()).expect("UTF-8"),
                None => "null".into(),
            };
            let headers: Vec<String> = m
                .headers()
                .map(|(k, v)| format!("{k}={}", String::from_utf8_lossy(v)))
                .collect();
            out.push_str(&format!(
                "{}/{n}\t{}\t{}\t{}\n",
                item.label,
                text(m.key),
                text(m.value),
                headers.join(" | ")
            ));
        }
    }
    out
}

/// The golden script with Debezium's snapshot markers on the full-sync rows.
fn debezium_script() -> Script {
    let mut script = golden_script();
    let mut snapshot_rows: Vec<usize> = Vec::new();
    for (i, item) in script.items.iter().enumerate() {
        if item.label.starts_with("types.row") {
            snapshot_rows.push(i);
        }
    }
    if let (Some(&first), Some(&last)) = (snapshot_rows.first(), snapshot_rows.last()) {
        script.items[first].ctx.snapshot = SnapshotMarker::First;
        script.items[last].ctx.snapshot = SnapshotMarker::Last;
    }
    script
}

pub fn debezium_options(kind: FormatKind) -> FormatOptions {
    let mut o = options(kind);
    o.debezium.topic_prefix = "dbz".into();
    o.debezium.connector = Connector::MariaDb;
    o.debezium.run_id = "run-1".into();
    o.debezium.snapshot_file = "mysql-bin.000003".into();
    o.debezium.snapshot_pos = 3456;
    o
}

#[test]
fn debezium_shapes_match_their_golden_files() {
    let script = debezium_script();
    for (kind, schemas, file) in [
        (FormatKind::Debezium, true, "debezium.txt"),
        (FormatKind::Debezium, false, "debezium_noschema.txt"),
        (
            FormatKind::DebeziumFlattened,
            true,
            "debezium_flattened.txt",
        ),
        (
            FormatKind::DebeziumFlattened,
            false,
            "debezium_flattened_noschema.txt",
        ),
    ] {
        let mut o = debezium_options(kind);
        o.debezium.schemas = schemas;
        check(file, render_debezium(o, &script, None));
    }
}

#[test]
fn debezium_option_variants_match_their_golden_file() {
    let script = debezium_script();
    let subset: &[&str] = &[
        "types.row.max",
        "types.insert.max",
        "types.update.pk_change",
        "types.delete",
        "items.insert.1of3",
        "items.update.key_change.2of3",
        "items.delete.3of3",
        "audit.delete.nokey_with_null",
    ];
    let mut out = String::new();
    let mut section = |title: &str, opts: FormatOptions| {
        out.push_str(&format!("# {title}\n"));
        out.push_str(&render_debezium(opts, &script, Some(subset)));
    };
    let mut o = debezium_options(FormatKind::Debezium);
    o.debezium.decimal_handling = DecimalHandling::String;
    o.debezium.tombstones_on_delete = false;
    o.debezium.transaction_metadata = true;
    o.debezium.connector = Connector::MySql;
    section(
        "Debezium with schema, decimal.handling.mode=string, tombstones.on.delete=false, provide.transaction.metadata=true, MySQL connector",
        o,
    );
    let mut o = debezium_options(FormatKind::Debezium);
    o.debezium.schemas = false;
    o.debezium.decimal_handling = DecimalHandling::Double;
    section("Debezium without schema, decimal.handling.mode=double", o);
    for mode in [
        DeleteHandling::Drop,
        DeleteHandling::Rewrite,
        DeleteHandling::RewriteWithTombstone,
    ] {
        let mut o = debezium_options(FormatKind::DebeziumFlattened);
        o.debezium.flatten.delete_handling = mode;
        o.debezium.flatten.add_fields = ["op", "table", "source.ts_ms", "db", "ts_ms"]
            .iter()
            .map(|f| AddField::parse(f).unwrap())
            .collect();
        section(
            &format!(
                "DebeziumFlattened with schema, delete.tombstone.handling.mode={}, add.fields=op,table,source.ts_ms,db,ts_ms",
                mode.name()
            ),
            o,
        );
    }
    check("debezium_variants.txt", out);
}
