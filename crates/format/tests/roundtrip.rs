//! Every format decodes back to the exact source rows (every type, every edge value):
//! nothing is lost in rendering. Values are compared in the canonical text of
//! `decode::canonical_image`.

mod common;

use common::*;
use obsync_format::decode::{canonical_image, decode, DecodedOp};
use obsync_format::{
    AddField, BitWidth, CanalBinary, CanalValueStyle, DataWorksTemporal, DecimalHandling,
    DeleteHandling, FormatError, FormatKind, FormatOptions, MaxwellKeyFormat, MaxwellSnapshotType,
    Messages, Serializer, TimestampFraction, UpdateColumns,
};
use obsync_model::{Row, RowChange, TableMeta, Value};

/// The OMS formats (Debezium's have a test of their own below).
fn oms_kinds() -> impl Iterator<Item = FormatKind> {
    FormatKind::ALL
        .into_iter()
        .filter(|k| !k.is_debezium() && k.is_json())
}

fn variants() -> Vec<FormatOptions> {
    let mut all: Vec<FormatOptions> = oms_kinds().map(options).collect();
    for kind in oms_kinds() {
        let mut o = options(kind);
        o.bit_width = BitWidth::Full;
        o.canal_values = CanalValueStyle::Oms;
        o.update_columns = UpdateColumns::All;
        o.dataworks_temporal = DataWorksTemporal::Text;
        o.canal_binary = CanalBinary::Base64;
        o.timestamp_fraction = TimestampFraction::Nanos;
        o.maxwell.key_format = MaxwellKeyFormat::Array;
        o.maxwell.snapshot_type = MaxwellSnapshotType::Insert;
        o.maxwell.primary_key_columns = true;
        o.source_time_zone_offset_secs = -(5 * 3600 + 30 * 60);
        all.push(o);
        let mut o = options(kind);
        o.source_time_zone_offset_secs = 8 * 3600;
        all.push(o);
    }
    all
}

#[test]
fn every_format_reconstructs_the_source_rows_exactly() {
    let tables = all_tables();
    let script = golden_script();
    for opts in variants() {
        let ser = Serializer::new(opts.clone());
        for item in &script.items {
            let Payload::Change(change) = &item.payload else {
                continue;
            };
            let what = format!("{:?} / {}", opts.kind, item.label);
            let (_, value) = match encode(&ser, item) {
                Ok(kv) => kv,
                // The one documented loss: zero dates have no DataWorks DATE.
                Err(FormatError::Unrepresentable { .. })
                    if opts.kind == FormatKind::DataWorks
                        && opts.dataworks_temporal == DataWorksTemporal::Millis
                        && item.label == "types.insert.zero" =>
                {
                    continue
                }
                Err(e) => panic!("{what}: {e}"),
            };
            let rec = decode(&opts, &value, &tables).unwrap_or_else(|e| panic!("{what}: {e}"));
            let t = &change.table;
            assert_eq!(rec.database, t.id.database, "{what}");
            assert_eq!(rec.table, t.id.table, "{what}");
            let expect = |row: Option<&obsync_model::Row>| row.map(|r| canonical_image(t, r));
            assert_eq!(rec.before, expect(change.row.before()), "{what}: before");
            assert_eq!(rec.after, expect(change.row.after()), "{what}: after");
            let op = match &change.row {
                RowChange::Insert { .. } => DecodedOp::Insert,
                RowChange::Update { .. } => DecodedOp::Update,
                RowChange::Delete { .. } => DecodedOp::Delete,
                RowChange::Snapshot { .. }
                    if matches!(
                        opts.kind,
                        FormatKind::Default | FormatKind::DefaultExtendColumnType
                    ) || (opts.kind == FormatKind::Maxwell
                        && opts.maxwell.snapshot_type == MaxwellSnapshotType::BootstrapInsert) =>
                {
                    DecodedOp::Snapshot
                }
                RowChange::Snapshot { .. } => DecodedOp::Insert,
            };
            assert_eq!(rec.op, op, "{what}");
        }
    }
}

#[test]
fn ddl_text_survives_every_format_that_has_ddl() {
    let tables = all_tables();
    for kind in FormatKind::ALL.into_iter().filter(|k| k.supports_ddl()) {
        let opts = options(kind);
        let ser = Serializer::new(opts.clone());
        for item in &golden_script().items {
            let Payload::Ddl(d) = &item.payload else {
                continue;
            };
            let (_, value) = encode(&ser, item).unwrap();
            let rec = decode(&opts, &value, &tables).unwrap();
            assert_eq!(rec.op, DecodedOp::Ddl);
            assert_eq!(rec.ddl.as_deref(), Some(d.statement.as_str()), "{kind}");
            assert_eq!(rec.database, d.database);
            assert_eq!(rec.table, d.table.clone().unwrap_or_default());
        }
    }
}

#[test]
fn dataworks_zero_dates_are_an_error_naming_the_column_and_key() {
    let ser = Serializer::new(options(FormatKind::DataWorks));
    let script = golden_script();
    let item = script
        .items
        .iter()
        .find(|i| i.label == "types.insert.zero")
        .unwrap();
    let err = encode(&ser, item).unwrap_err().to_string();
    assert!(err.contains("column dt_date of shop.types"), "{err}");
    assert!(err.contains("row key \"4\""), "{err}");
}

#[test]
fn dataworks_rejects_nan_and_infinity() {
    let t = types_table();
    let mut row = null_row(9);
    row[t.column_index("d").unwrap()] = obsync_model::Value::Double(f64::NAN);
    let mut s = Script::new();
    s.txn(T0, vec![("nan", t, RowChange::Insert { after: row })]);
    let err = encode(
        &Serializer::new(options(FormatKind::DataWorks)),
        &s.items[0],
    )
    .unwrap_err();
    assert!(err.to_string().contains("NaN"), "{err}");
}

/// The source row as Debezium can carry it: a zero date, DATETIME or TIMESTAMP is null
/// (Debezium writes null, or the NOT NULL column's default, which obsync does not read).
fn debezium_row(t: &TableMeta, row: &Row) -> obsync_format::decode::Image {
    let row: Row = row
        .iter()
        .map(|v| match v {
            Value::Date(d) if d.month == 0 => Value::Null,
            Value::DateTime(dt) if dt.date.month == 0 => Value::Null,
            Value::Timestamp(ts) if ts.secs == 0 && ts.micros == 0 => Value::Null,
            other => other.clone(),
        })
        .collect();
    canonical_image(t, &row)
}

#[test]
fn debezium_records_reconstruct_the_source_rows() {
    let tables = all_tables();
    let script = golden_script();
    let mut variants = Vec::new();
    for decimal in [DecimalHandling::Precise, DecimalHandling::String] {
        for schemas in [true, false] {
            let mut o = options(FormatKind::Debezium);
            o.debezium.decimal_handling = decimal;
            o.debezium.schemas = schemas;
            variants.push(o);
            let mut o = options(FormatKind::DebeziumFlattened);
            o.debezium.decimal_handling = decimal;
            o.debezium.schemas = schemas;
            o.debezium.flatten.delete_handling = DeleteHandling::Rewrite;
            o.debezium.flatten.add_fields = ["op", "db", "table"]
                .iter()
                .map(|f| AddField::parse(f).unwrap())
                .collect();
            variants.push(o);
        }
    }
    let mut out = Messages::new();
    for opts in variants {
        let ser = Serializer::new(opts.clone());
        let flat = opts.kind == FormatKind::DebeziumFlattened;
        for item in &script.items {
            let Payload::Change(change) = &item.payload else {
                continue;
            };
            let what = format!(
                "{:?} schemas={} {:?} / {}",
                opts.kind, opts.debezium.schemas, opts.debezium.decimal_handling, item.label
            );
            ser.encode_messages(change, &item.ctx, &mut out)
                .unwrap_or_else(|e| panic!("{what}: {e}"));
            let recs: Vec<_> = out
                .iter()
                .filter_map(|m| m.value)
                .map(|v| decode(&opts, v, &tables).unwrap_or_else(|e| panic!("{what}: {e}")))
                .collect();
            let t = &change.table;
            let image = |r: Option<&Row>| r.map(|r| debezium_row(t, r));
            let pk_changed = matches!(&change.row, RowChange::Update { before, after }
                if t.primary_key.iter().any(|&i| before[i] != after[i]));
            // (op, before, after) expected per record.
            let expected = match &change.row {
                RowChange::Update { before, after } if pk_changed => vec![
                    (DecodedOp::Delete, image(Some(before)), None),
                    (DecodedOp::Insert, None, image(Some(after))),
                ],
                RowChange::Insert { after } => vec![(DecodedOp::Insert, None, image(Some(after)))],
                RowChange::Snapshot { row } => {
                    vec![(DecodedOp::Snapshot, None, image(Some(row)))]
                }
                RowChange::Update { before, after } => vec![(
                    DecodedOp::Update,
                    if flat { None } else { image(Some(before)) },
                    image(Some(after)),
                )],
                RowChange::Delete { before } => {
                    vec![(DecodedOp::Delete, image(Some(before)), None)]
                }
            };
            assert_eq!(recs.len(), expected.len(), "{what}");
            for (rec, (op, before, after)) in recs.iter().zip(expected) {
                assert_eq!(rec.database, t.id.database, "{what}");
                assert_eq!(rec.table, t.id.table, "{what}");
                // A flattened row has no op of its own beyond `__op`'s c/u/d/r.
                assert_eq!(rec.op, op, "{what}");
                assert_eq!(rec.before, before, "{what}: before");
                assert_eq!(rec.after, after, "{what}: after");
            }
        }
    }
}

/// An UPDATE's after image copies the text of the values its before image already
/// rendered where they are equal: it must still read exactly as the same row's image in
/// an INSERT, including a double that only changes sign (`0.0` and `-0.0` are equal as
/// numbers but written apart), in Debezium's two shapes.
#[test]
fn an_update_after_image_reads_as_the_rows_own_image() {
    let t = types_table();
    let at = |name: &str| t.columns.iter().position(|c| c.name == name).unwrap();
    let mut before = max_row();
    before[at("d")] = Value::Double(0.0);
    let mut after = before.clone();
    after[at("d")] = Value::Double(-0.0);
    after[at("vc")] = Value::Text("changed \"quoted\" text".into());
    after[at("i")] = Value::Null;
    let mut script = Script::new();
    script.txn(
        T0,
        vec![
            (
                "update",
                t.clone(),
                RowChange::Update {
                    before: before.clone(),
                    after: after.clone(),
                },
            ),
            ("insert", t.clone(), RowChange::Insert { after }),
        ],
    );
    let mut variants = Vec::new();
    for schemas in [true, false] {
        let mut opts = options(FormatKind::Debezium);
        opts.debezium.schemas = schemas;
        variants.push((opts, "before", "after"));
    }
    for (opts, before_key, after_key) in variants {
        let what = format!("{:?} schemas={}", opts.kind, opts.debezium.schemas);
        let enveloped = opts.kind == FormatKind::Debezium && opts.debezium.schemas;
        let ser = Serializer::new(opts);
        let mut out = Messages::new();
        let mut values = Vec::new();
        for item in &script.items {
            let Payload::Change(change) = &item.payload else {
                unreachable!()
            };
            ser.encode_messages(change, &item.ctx, &mut out).unwrap();
            let v: serde_json::Value =
                serde_json::from_slice(out.iter().find_map(|m| m.value).unwrap()).unwrap();
            values.push(if enveloped { v["payload"].clone() } else { v });
        }
        let (update, insert) = (&values[0], &values[1]);
        assert_eq!(update[after_key], insert[after_key], "{what}");
        let d = |v: &serde_json::Value| v["d"].to_string().replace('"', "");
        assert!(d(&update[after_key]).starts_with("-0"), "{what}: {update}");
        assert!(d(&update[before_key]).starts_with('0'), "{what}: {update}");
        assert_ne!(update[before_key]["vc"], update[after_key]["vc"], "{what}");
    }
}
