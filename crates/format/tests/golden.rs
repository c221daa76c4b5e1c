//! Golden files: the fixed record set of `common::golden_script` serialized by every
//! format (and the option variants), compared byte for byte with `tests/golden/*.txt`.
//!
//! One record per line: `label<TAB>key<TAB>value`, the key as a JSON string (so U+0001
//! is visible), the value as the exact bytes written. A record the format cannot carry
//! is `label<TAB>ERROR<TAB>message`. Review changes by hand; `OBSYNC_BLESS=1` rewrites.

mod common;

use common::*;
use obsync_format::{
    AbsentImage, BitWidth, CanalBinary, CanalValueStyle, DataWorksTemporal, FormatKind,
    FormatOptions, MaxwellKeyFormat, MaxwellOptions, MaxwellSnapshotType, Serializer,
    TimestampFraction, UpdateColumns,
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
