//! Serializer throughput per format on a realistic 10-column row (one INSERT and one
//! UPDATE per iteration pair), buffers reused as the pipeline does.
//!
//! `cargo bench -p obsync-format --bench serialize -- --warm-up-time 1 --measurement-time 3`
//!
//! On a busy machine wall-clock medians swing with the neighbours; CPU time and
//! instructions per row do not. `OBSYNC_SERIALIZE_LOOP=<format>/<insert|update>:<n>`
//! runs one cell `n` times without criterion, for `perf stat -e task-clock,instructions`
//! (divide by `n`).

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use obsync_format::{
    FormatKind, FormatOptions, MessageContext, Messages, SchemaIds, Serializer, TxnSequence,
};
use obsync_model::{
    BinlogCoord, Change, ChangeOrigin, Column, ColumnType, Date, DateTime, RowChange, RowEvent,
    TableId, TableMeta, Timestamp, TxnInfo, Value,
};
use std::hint::black_box;
use std::sync::Arc;

fn col(name: &str, kind: ColumnType, column_type: &str, fsp: Option<u8>) -> Column {
    Column {
        column_type: column_type.into(),
        fsp,
        ..Column::new(name, kind)
    }
}

fn orders() -> Arc<TableMeta> {
    use ColumnType::*;
    Arc::new(TableMeta {
        id: TableId::new("shop", "orders"),
        columns: vec![
            col("id", BigInt, "bigint(20)", None),
            col("name", VarChar, "varchar(64)", None),
            col("qty", Int, "int(11)", None),
            col("price", Decimal, "decimal(12,2)", None),
            col("created_at", DateTime, "datetime(3)", Some(3)),
            col("updated_at", Timestamp, "timestamp(6)", Some(6)),
            col("note", VarChar, "varchar(255)", None),
            col("flag", TinyInt, "tinyint(4)", None),
            col("customer_id", BigInt, "bigint(20)", None),
            col("body", Text, "text", None),
        ],
        key: vec![0],
        key_source: obsync_model::KeySource::PrimaryKey,
        primary_key: vec![0],
        unique_keys: Vec::new(),
        estimated_rows: 0,
    })
}

fn row(id: i64, qty: i64) -> Vec<Value> {
    vec![
        Value::Int(id),
        Value::Text("Widget deluxe, blue".into()),
        Value::Int(qty),
        Value::Decimal("1234.50".into()),
        Value::DateTime(DateTime {
            date: Date {
                year: 2024,
                month: 5,
                day: 1,
            },
            hour: 10,
            minute: 0,
            second: 0,
            micros: 123_000,
        }),
        Value::Timestamp(Timestamp {
            secs: 1_714_528_800,
            micros: 123_456,
        }),
        Value::Text("deliver to the back door, ring twice".into()),
        Value::Int(1),
        Value::Int(987_654),
        Value::Text("Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore et dolore magna aliqua.".into()),
    ]
}

/// The changes and context every cell serializes.
struct Fixture {
    insert: Change,
    update: Change,
    ctx: MessageContext,
}

fn fixture() -> Fixture {
    let table = orders();
    let txn = Arc::new(TxnInfo {
        start: BinlogCoord::new("mysql-bin.000042", 123_456_789),
        gtid: None,
        timestamp: 1_714_528_800,
        seq: 1,
        server_id: 1,
        thread: Some(7),
    });
    let insert = Change {
        table: table.clone(),
        row: RowChange::Insert { after: row(42, 3) },
        origin: ChangeOrigin::Binlog {
            txn: txn.clone(),
            index: 0,
            event: RowEvent {
                pos: 123_456_900,
                row: 0,
            },
        },
    };
    let update = Change {
        table,
        row: RowChange::Update {
            before: row(42, 3),
            after: row(42, 4),
        },
        origin: ChangeOrigin::Binlog {
            txn,
            index: 1,
            event: RowEvent {
                pos: 123_457_000,
                row: 0,
            },
        },
    };
    let ctx = MessageContext {
        sequence: 171_452_880_000_001,
        checkpoint_secs: 1_714_528_800,
        now_ms: 1_714_528_800_250,
        message_id: 1,
        txn_sequence: Some(TxnSequence { seq: 1, size: 2 }),
        xid: Some(4_242),
        // Avro formats need their registry ids; the JSON formats ignore them.
        schema_ids: Some(SchemaIds { key: 1, value: 2 }),
        ..Default::default()
    };
    Fixture {
        insert,
        update,
        ctx,
    }
}

fn configs() -> Vec<(String, FormatOptions)> {
    // Every format with its defaults, plus the Debezium shapes without the schema.
    let mut configs: Vec<(String, FormatOptions)> = FormatKind::ALL
        .into_iter()
        .map(|k| (k.name().to_string(), FormatOptions::new(k)))
        .collect();
    for kind in [FormatKind::Debezium, FormatKind::DebeziumFlattened] {
        let mut o = FormatOptions::new(kind);
        o.debezium.schemas = false;
        configs.push((format!("{}NoSchema", kind.name()), o));
    }
    configs
}

fn bench(c: &mut Criterion) {
    let Fixture {
        insert,
        update,
        ctx,
    } = fixture();
    let mut group = c.benchmark_group("serialize");
    for (label, opts) in configs() {
        let ser = Serializer::new(opts);
        // The emitter's path: every record of the change into one reused buffer.
        let mut out = Messages::new();
        for (name, change) in [("insert", &insert), ("update", &update)] {
            group.throughput(Throughput::Elements(1));
            group.bench_function(BenchmarkId::new(&label, name), |b| {
                b.iter(|| {
                    ser.encode_messages(black_box(change), &ctx, &mut out)
                        .unwrap();
                    black_box(&out);
                })
            });
        }
    }
    group.finish();
}

/// `OBSYNC_SERIALIZE_LOOP`'s loop over one cell.
fn run_loop(spec: &str) {
    let (cell, n) = spec.rsplit_once(':').expect("<format>/<insert|update>:<n>");
    let n: u64 = n.parse().expect("an iteration count");
    let (label, which) = cell.split_once('/').expect("<format>/<insert|update>");
    let (_, opts) = configs()
        .into_iter()
        .find(|(l, _)| l == label)
        .expect("a format label of the bench");
    let f = fixture();
    let change = if which == "update" {
        &f.update
    } else {
        &f.insert
    };
    let ser = Serializer::new(opts);
    let mut out = Messages::new();
    for _ in 0..n {
        ser.encode_messages(black_box(change), &f.ctx, &mut out)
            .unwrap();
        black_box(&out);
    }
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(spec) = std::env::var("OBSYNC_SERIALIZE_LOOP") {
        return run_loop(&spec);
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
