//! Fixtures shared by the golden, conformance, round-trip and docs tests: tables with
//! every column type, edge-value rows, and a fixed sequence of records.
#![allow(dead_code)] // each test binary uses a different part

use obsync_format::{
    FormatError, FormatOptions, MessageContext, SchemaIds, SequenceGenerator, Serializer,
    TxnSequence,
};
use obsync_model::{
    BinlogCoord, Change, ChangeOrigin, Column, ColumnDefault, ColumnType, Date, DateTime, Gtid,
    KeySource, Row, RowChange, RowEvent, TableId, TableMeta, Time, Timestamp, TxnInfo, Value,
};
use std::path::PathBuf;
use std::sync::Arc;

pub fn col(name: &str, kind: ColumnType, column_type: &str) -> Column {
    Column {
        column_type: column_type.to_string(),
        unsigned: column_type.contains("unsigned"),
        ..Column::new(name, kind)
    }
}

fn with_len(mut c: Column, len: u64) -> Column {
    c.length = Some(len);
    c
}

fn with_fsp(mut c: Column, fsp: u8) -> Column {
    c.fsp = Some(fsp);
    c
}

fn not_null(mut c: Column) -> Column {
    c.nullable = false;
    c
}

pub fn table(db: &str, name: &str, columns: Vec<Column>, pk: Vec<usize>) -> Arc<TableMeta> {
    let (key, key_source) = TableMeta::choose_key(&columns, &pk, &[]);
    Arc::new(TableMeta {
        id: TableId::new(db, name),
        columns,
        key,
        key_source,
        primary_key: pk,
        unique_keys: Vec::new(),
        estimated_rows: 0,
    })
}

/// One column of every type, plus signed/unsigned integer pairs and fsp variants.
pub fn types_table() -> Arc<TableMeta> {
    use ColumnType::*;
    let mut dec = col("dec", Decimal, "decimal(65,30)");
    dec.precision = Some(65);
    dec.scale = Some(30);
    let mut en = col("en", Enum, "enum('a','b','c')");
    en.labels = vec!["a".into(), "b".into(), "c".into()];
    // Constant defaults, as the source reads them (Debezium's schema `default`).
    let default = |mut c: Column, v: Value| {
        c.default = Some(ColumnDefault(v));
        c
    };
    dec.default = Some(ColumnDefault(Value::Decimal("1.5".into())));
    en.default = Some(ColumnDefault(text("b")));
    let mut st = col("st", Set, "set('x','y','z')");
    st.labels = vec!["x".into(), "y".into(), "z".into()];
    let columns = vec![
        not_null(col("id", BigInt, "bigint(20)")),
        col("ti", TinyInt, "tinyint(4)"),
        col("ti_u", TinyInt, "tinyint(3) unsigned"),
        col("si", SmallInt, "smallint(6)"),
        col("si_u", SmallInt, "smallint(5) unsigned"),
        col("mi", MediumInt, "mediumint(9)"),
        col("mi_u", MediumInt, "mediumint(8) unsigned"),
        default(col("i", Int, "int(11)"), Value::Int(5)),
        col("i_u", Int, "int(10) unsigned"),
        col("bi", BigInt, "bigint(20)"),
        col("bi_u", BigInt, "bigint(20) unsigned"),
        dec,
        col("f", Float, "float"),
        col("d", Double, "double"),
        with_len(col("bit64", Bit, "bit(64)"), 64),
        with_len(col("bit16", Bit, "bit(16)"), 16),
        with_len(col("bit1", Bit, "bit(1)"), 1),
        default(col("dt_date", Date, "date"), Value::Date(date(2000, 1, 1))),
        with_fsp(col("dt6", DateTime, "datetime(6)"), 6),
        with_fsp(col("dt3", DateTime, "datetime(3)"), 3),
        with_fsp(col("dt0", DateTime, "datetime"), 0),
        with_fsp(col("ts6", Timestamp, "timestamp(6)"), 6),
        default(
            with_fsp(col("ts0", Timestamp, "timestamp"), 0),
            ts(1_577_934_245, 0),
        ),
        with_fsp(col("tm", Time, "time(6)"), 6),
        col("yr", Year, "year(4)"),
        with_len(col("ch", Char, "char(10)"), 10),
        default(
            with_len(col("vc", VarChar, "varchar(64)"), 64),
            text("it's"),
        ),
        with_len(col("bin", Binary, "binary(4)"), 4),
        with_len(col("vbin", VarBinary, "varbinary(16)"), 16),
        col("ttext", TinyText, "tinytext"),
        col("txt", Text, "text"),
        col("mtext", MediumText, "mediumtext"),
        col("ltext", LongText, "longtext"),
        col("tblob", TinyBlob, "tinyblob"),
        col("blb", Blob, "blob"),
        col("mblob", MediumBlob, "mediumblob"),
        col("lblob", LongBlob, "longblob"),
        en,
        st,
        col("js", Json, "json"),
        col("geo", Geometry, "geometry"),
    ];
    table("shop", "types", columns, vec![0])
}

pub fn date(year: u16, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

pub fn datetime(d: Date, h: u8, m: u8, s: u8, micros: u32) -> DateTime {
    DateTime {
        date: d,
        hour: h,
        minute: m,
        second: s,
        micros,
    }
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn ts(secs: i64, micros: u32) -> Value {
    Value::Timestamp(Timestamp { secs, micros })
}

/// WKB of POINT(1 2) with SRID 0, as MySQL stores it.
fn point() -> Value {
    let mut b = vec![0, 0, 0, 0, 1, 1, 0, 0, 0];
    b.extend_from_slice(&1.0f64.to_le_bytes());
    b.extend_from_slice(&2.0f64.to_le_bytes());
    Value::Bytes(b)
}

const DEC_MAX: &str = "99999999999999999999999999999999999.999999999999999999999999999999";

/// Minimum of every type (empty strings and byte strings).
pub fn min_row() -> Row {
    vec![
        Value::Int(1),
        Value::Int(-128),
        Value::UInt(0),
        Value::Int(-32768),
        Value::UInt(0),
        Value::Int(-8_388_608),
        Value::UInt(0),
        Value::Int(i32::MIN as i64),
        Value::UInt(0),
        Value::Int(i64::MIN),
        Value::UInt(0),
        Value::Decimal(format!("-{DEC_MAX}")),
        Value::Float(-f32::MAX),
        Value::Double(-f64::MAX),
        Value::Bit(0),
        Value::Bit(0),
        Value::Bit(0),
        Value::Date(date(1000, 1, 1)),
        Value::DateTime(datetime(date(1000, 1, 1), 0, 0, 0, 0)),
        Value::DateTime(datetime(date(1000, 1, 1), 0, 0, 0, 0)),
        Value::DateTime(datetime(date(1000, 1, 1), 0, 0, 0, 0)),
        ts(1, 0),
        ts(1, 0),
        Value::Time(Time {
            negative: true,
            hours: 838,
            minutes: 59,
            seconds: 59,
            micros: 0,
        }),
        Value::Year(1901),
        text(""),
        text(""),
        Value::Bytes(vec![0, 0, 0, 0]),
        Value::Bytes(vec![]),
        text(""),
        text(""),
        text(""),
        text(""),
        Value::Bytes(vec![]),
        Value::Bytes(vec![]),
        Value::Bytes(vec![]),
        Value::Bytes(vec![]),
        text("a"),
        text(""),
        text("{}"),
        point(),
    ]
}

/// Maximum of every type, multi-byte text, bytes with 0x00 and >= 0x80.
pub fn max_row() -> Row {
    vec![
        Value::Int(2),
        Value::Int(127),
        Value::UInt(255),
        Value::Int(32767),
        Value::UInt(65535),
        Value::Int(8_388_607),
        Value::UInt(16_777_215),
        Value::Int(i32::MAX as i64),
        Value::UInt(u32::MAX as u64),
        Value::Int(i64::MAX),
        Value::UInt(u64::MAX),
        Value::Decimal(DEC_MAX.to_string()),
        Value::Float(f32::MAX),
        Value::Double(f64::MAX),
        Value::Bit(u64::MAX),
        Value::Bit(5),
        Value::Bit(1),
        Value::Date(date(9999, 12, 31)),
        Value::DateTime(datetime(date(9999, 12, 31), 23, 59, 59, 999_999)),
        Value::DateTime(datetime(date(9999, 12, 31), 23, 59, 59, 999_000)),
        Value::DateTime(datetime(date(9999, 12, 31), 23, 59, 59, 0)),
        ts(2_147_483_647, 999_999),
        ts(2_147_483_647, 0),
        Value::Time(Time {
            negative: false,
            hours: 838,
            minutes: 59,
            seconds: 59,
            micros: 0,
        }),
        Value::Year(2155),
        text("日本語"),
        text("emoji 😀 \"quoted\" back\\slash\ttab\nline \u{1} ctl"),
        Value::Bytes(vec![0xff, 0x00, 0x01, 0x80]),
        Value::Bytes(vec![0x00, 0x00, b'a', 0x00]),
        text("ß"),
        text("Ωmega text"),
        text("中文 medium"),
        text("long 🚀"),
        Value::Bytes(vec![0x00]),
        Value::Bytes(vec![0x01, 0x02, 0x03]),
        Value::Bytes(vec![0xde, 0xad, 0xbe, 0xef]),
        Value::Bytes(vec![0x00, 0xff, 0x00, 0xff, 0x7f]),
        text("c"),
        text("x,z"),
        text(r#"{"k": "värde ✓", "n": [1, 2.5, null], "e": "😀"}"#),
        point(),
    ]
}

/// NULL in every column but the key.
pub fn null_row(id: i64) -> Row {
    let mut row = vec![Value::Null; types_table().columns.len()];
    row[0] = Value::Int(id);
    row
}

/// MySQL zero values: zero dates, the zero TIMESTAMP, YEAR 0, TIME 0, 0.0.
pub fn zero_row() -> Row {
    let t = types_table();
    let mut row = null_row(4);
    let zero_date = date(0, 0, 0);
    let set = |row: &mut Row, name: &str, v: Value| {
        row[t.column_index(name).unwrap()] = v;
    };
    set(&mut row, "dt_date", Value::Date(zero_date));
    set(
        &mut row,
        "dt6",
        Value::DateTime(datetime(zero_date, 0, 0, 0, 0)),
    );
    set(
        &mut row,
        "dt0",
        Value::DateTime(datetime(zero_date, 0, 0, 0, 0)),
    );
    set(&mut row, "ts6", ts(0, 0));
    set(&mut row, "ts0", ts(0, 0));
    set(&mut row, "yr", Value::Year(0));
    set(
        &mut row,
        "tm",
        Value::Time(Time {
            negative: false,
            hours: 0,
            minutes: 0,
            seconds: 0,
            micros: 0,
        }),
    );
    set(&mut row, "f", Value::Float(0.0));
    set(&mut row, "d", Value::Double(0.1));
    set(
        &mut row,
        "dec",
        Value::Decimal("0.000000000000000000000000000000".into()),
    );
    row
}

/// Composite primary key (order_id, line_no).
pub fn items_table() -> Arc<TableMeta> {
    use ColumnType::*;
    table(
        "shop",
        "order_items",
        vec![
            not_null(col("order_id", BigInt, "bigint(20)")),
            not_null(col("line_no", Int, "int(11)")),
            col("sku", VarChar, "varchar(32)"),
            col("qty", Int, "int(11)"),
        ],
        vec![0, 1],
    )
}

/// No primary or unique key: every column is the row identity.
pub fn audit_table() -> Arc<TableMeta> {
    use ColumnType::*;
    let t = table(
        "shop",
        "audit_log",
        vec![
            with_fsp(col("at", DateTime, "datetime"), 0),
            col("msg", VarChar, "varchar(255)"),
            col("payload", Blob, "blob"),
        ],
        vec![],
    );
    assert_eq!(t.key_source, KeySource::AllColumns);
    t
}

/// The reference's example table: `orders` in database `shop`.
pub fn orders_table() -> Arc<TableMeta> {
    use ColumnType::*;
    let mut amount = col("amount", Decimal, "decimal(10,2)");
    amount.precision = Some(10);
    amount.scale = Some(2);
    table(
        "shop",
        "orders",
        vec![
            not_null(col("id", BigInt, "bigint(20)")),
            with_len(col("name", VarChar, "varchar(32)"), 32),
            amount,
            with_fsp(col("created", DateTime, "datetime(3)"), 3),
            with_fsp(col("updated", Timestamp, "timestamp(6)"), 6),
            with_len(col("flag", Bit, "bit(4)"), 4),
            col("data", Blob, "blob"),
        ],
        vec![0],
    )
}

pub fn order_row(id: i64, amount: &str) -> Row {
    vec![
        Value::Int(id),
        text("abc"),
        Value::Decimal(amount.to_string()),
        Value::DateTime(datetime(date(2024, 5, 1), 10, 0, 0, 123_000)),
        ts(1_714_528_800, 123_456),
        Value::Bit(0b1011),
        Value::Bytes(vec![1, 2, 3]),
    ]
}

/// An owned DDL record.
pub struct DdlRecord {
    pub database: String,
    pub table: Option<String>,
    pub statement: String,
    pub timestamp: u32,
    pub unique_id: String,
}

pub enum Payload {
    Change(Change),
    Ddl(DdlRecord),
    Heartbeat,
}

/// A record to serialize, with the context the pipeline would supply.
pub struct Item {
    pub label: String,
    pub payload: Payload,
    pub ctx: MessageContext,
}

/// Builds items in emission order, numbering them like the pipeline does.
pub struct Script {
    pub items: Vec<Item>,
    seq: SequenceGenerator,
    next_id: u64,
    txn_seq: u64,
}

pub const T0: u32 = 1_714_528_800; // 2024-05-01 02:00:00 UTC

impl Default for Script {
    fn default() -> Self {
        Self::new()
    }
}

impl Script {
    pub fn new() -> Self {
        Self {
            items: Vec::new(),
            seq: SequenceGenerator::new(),
            next_id: 1,
            txn_seq: 0,
        }
    }

    fn ctx(&mut self, secs: u32, incremental: bool) -> MessageContext {
        let id = self.next_id;
        self.next_id += 1;
        MessageContext {
            sequence: if incremental {
                self.seq.next(secs as u64)
            } else {
                0
            },
            checkpoint_secs: secs as u64,
            now_ms: secs as u64 * 1000 + 250,
            message_id: id,
            txn_sequence: None,
            schema_ids: Some(SchemaIds { key: 7, value: 8 }),
            ..Default::default()
        }
    }

    /// One transaction committed at `secs`; rows numbered 1..n for SharePlex.
    pub fn txn(&mut self, secs: u32, rows: Vec<(&str, Arc<TableMeta>, RowChange)>) {
        self.txn_seq += 1;
        let txn = Arc::new(TxnInfo {
            start: BinlogCoord::new("mysql-bin.000003", 4000 + self.txn_seq * 1000),
            gtid: (self.txn_seq & 1 == 0).then(|| Gtid(format!("0-1-{}", 100 + self.txn_seq))),
            timestamp: secs,
            seq: self.txn_seq,
            server_id: 1,
            thread: (self.txn_seq & 1 == 1).then_some(7),
        });
        let size = rows.len() as u32;
        for (index, (label, table, row)) in rows.into_iter().enumerate() {
            let mut ctx = self.ctx(secs, true);
            ctx.txn_sequence = Some(TxnSequence {
                seq: index as u32 + 1,
                size,
            });
            ctx.xid = Some(900 + self.txn_seq);
            self.items.push(Item {
                label: label.to_string(),
                payload: Payload::Change(Change {
                    table,
                    row,
                    origin: ChangeOrigin::Binlog {
                        txn: txn.clone(),
                        index: index as u32,
                        // Two rows per rows event.
                        event: RowEvent {
                            pos: txn.start.pos + 100 + 50 * (index as u64 / 2),
                            row: index as u32 % 2,
                        },
                    },
                }),
                ctx,
            });
        }
    }

    pub fn snapshot(&mut self, label: &str, table: Arc<TableMeta>, row: Row) {
        let ctx = self.ctx(T0 - 100, false);
        self.items.push(Item {
            label: label.to_string(),
            payload: Payload::Change(Change {
                table,
                row: RowChange::Snapshot { row },
                origin: ChangeOrigin::Snapshot { chunk: 0 },
            }),
            ctx,
        });
    }

    pub fn ddl(&mut self, label: &str, secs: u32, table: Option<&str>, statement: &str) {
        let ctx = self.ctx(secs, true);
        self.items.push(Item {
            label: label.to_string(),
            payload: Payload::Ddl(DdlRecord {
                database: "shop".into(),
                table: table.map(str::to_string),
                statement: statement.into(),
                timestamp: secs,
                unique_id: format!("mysql-bin.000003:{}", 90_000 + secs % 1000),
            }),
            ctx,
        });
    }

    pub fn heartbeat(&mut self, label: &str, secs: u32) {
        let ctx = self.ctx(secs, false);
        self.items.push(Item {
            label: label.to_string(),
            payload: Payload::Heartbeat,
            ctx,
        });
    }
}

/// The fixed record set of the golden files.
pub fn golden_script() -> Script {
    let types = types_table();
    let items = items_table();
    let audit = audit_table();
    let mut s = Script::new();
    s.snapshot("types.row.min", types.clone(), min_row());
    s.snapshot("types.row.max", types.clone(), max_row());
    s.txn(
        T0,
        vec![(
            "types.insert.min",
            types.clone(),
            RowChange::Insert { after: min_row() },
        )],
    );
    s.txn(
        T0 + 1,
        vec![
            (
                "types.insert.max",
                types.clone(),
                RowChange::Insert { after: max_row() },
            ),
            (
                "types.insert.nulls",
                types.clone(),
                RowChange::Insert { after: null_row(3) },
            ),
        ],
    );
    let mut updated = max_row();
    updated[types.column_index("vc").unwrap()] = text("changed");
    updated[types.column_index("bit16").unwrap()] = Value::Bit(0x0100);
    updated[types.column_index("ts6").unwrap()] = ts(1_714_528_805, 500_000);
    s.txn(
        T0 + 5,
        vec![(
            "types.update",
            types.clone(),
            RowChange::Update {
                before: max_row(),
                after: updated.clone(),
            },
        )],
    );
    let mut moved = updated.clone();
    moved[0] = Value::Int(20);
    s.txn(
        T0 + 6,
        vec![(
            "types.update.pk_change",
            types.clone(),
            RowChange::Update {
                before: updated,
                after: moved,
            },
        )],
    );
    s.txn(
        T0 + 7,
        vec![
            (
                "types.delete",
                types.clone(),
                RowChange::Delete { before: min_row() },
            ),
            (
                "types.update.no_change",
                types.clone(),
                RowChange::Update {
                    before: null_row(3),
                    after: null_row(3),
                },
            ),
        ],
    );
    s.txn(
        T0 + 8,
        vec![(
            "types.insert.zero",
            types.clone(),
            RowChange::Insert { after: zero_row() },
        )],
    );
    let item = |o: i64, l: i64, sku: &str, q: i64| {
        vec![Value::Int(o), Value::Int(l), text(sku), Value::Int(q)]
    };
    s.txn(
        T0 + 10,
        vec![
            (
                "items.insert.1of3",
                items.clone(),
                RowChange::Insert {
                    after: item(7, 1, "A-1", 2),
                },
            ),
            (
                "items.update.key_change.2of3",
                items.clone(),
                RowChange::Update {
                    before: item(7, 1, "A-1", 2),
                    after: item(7, 2, "A-1", 3),
                },
            ),
            (
                "items.delete.3of3",
                items.clone(),
                RowChange::Delete {
                    before: item(7, 2, "A-1", 3),
                },
            ),
        ],
    );
    let log = |msg: Value, payload: Value| {
        vec![
            Value::DateTime(datetime(date(2024, 5, 1), 2, 0, 12, 0)),
            msg,
            payload,
        ]
    };
    s.txn(
        T0 + 12,
        vec![
            (
                "audit.insert.nokey",
                audit.clone(),
                RowChange::Insert {
                    after: log(text("login"), Value::Bytes(vec![0, 1])),
                },
            ),
            (
                "audit.delete.nokey_with_null",
                audit.clone(),
                RowChange::Delete {
                    before: log(Value::Null, Value::Null),
                },
            ),
        ],
    );
    s.ddl(
        "ddl.alter_table",
        T0 + 20,
        Some("orders"),
        "ALTER TABLE orders ADD COLUMN note VARCHAR(64)",
    );
    s.ddl(
        "ddl.create_table",
        T0 + 21,
        Some("t2"),
        "CREATE TABLE t2 (id INT PRIMARY KEY, v VARCHAR(8) COMMENT '\"quoted\"')",
    );
    s.ddl("ddl.truncate", T0 + 22, Some("t2"), "TRUNCATE TABLE t2");
    s.ddl(
        "ddl.create_database",
        T0 + 23,
        None,
        "CREATE DATABASE shop2",
    );
    s.heartbeat("heartbeat", T0 + 30);
    s
}

pub fn all_tables() -> Vec<TableMeta> {
    [types_table(), items_table(), audit_table(), orders_table()]
        .into_iter()
        .map(|t| (*t).clone())
        .collect()
}

/// Serializes one item into fresh buffers.
pub fn encode(ser: &Serializer, item: &Item) -> Result<(Vec<u8>, Vec<u8>), FormatError> {
    let (mut key, mut value) = (Vec::new(), Vec::new());
    match &item.payload {
        Payload::Change(c) => ser.encode_change(c, &item.ctx, &mut key, &mut value)?,
        Payload::Ddl(d) => ser.encode_ddl(
            &obsync_format::Ddl {
                database: &d.database,
                table: d.table.as_deref(),
                statement: &d.statement,
                timestamp: d.timestamp,
                unique_id: &d.unique_id,
            },
            &item.ctx,
            &mut key,
            &mut value,
        )?,
        Payload::Heartbeat => ser.encode_heartbeat(&item.ctx, &mut key, &mut value)?,
    }
    Ok((key, value))
}

pub fn options(kind: obsync_format::FormatKind) -> FormatOptions {
    let mut o = FormatOptions::new(kind);
    o.tenant = "t1".into();
    o.source_identity = "obsync-test".into();
    o.cluster_id = "cluster-1".into();
    o.db_version = "4.2.1".into();
    o
}

/// `OBSYNC_BLESS=1` rewrites expected files instead of comparing.
pub fn bless() -> bool {
    std::env::var("OBSYNC_BLESS").is_ok_and(|v| v == "1")
}

pub fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Escapes a Kafka key for a one-line text file (JSON string syntax).
pub fn show_key(key: &[u8]) -> String {
    let mut s = String::from("\"");
    for c in String::from_utf8_lossy(key).chars() {
        match c {
            '"' => s.push_str("\\\""),
            '\\' => s.push_str("\\\\"),
            c if (c as u32) < 0x20 => s.push_str(&format!("\\u{:04x}", c as u32)),
            c => s.push(c),
        }
    }
    s.push('"');
    s
}
