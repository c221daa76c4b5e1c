//! Every column type round-trips exactly through the snapshot reader, on MariaDB and on
//! seekdb (OceanBase 4.3). Expectations are written as model values; a few are also
//! cross-checked against what the server itself prints. Needs `scripts/services up`.

mod common;

use common::endpoint;
use mysql_async::prelude::Queryable;
use obsync_model::{Date, DateTime, Row, TableId, Time, Timestamp, Value};
use obsync_source::metadata::MetadataReader;
use obsync_source::snapshot::SnapshotReader;
use obsync_source::SourceFlavor;
use obsync_testkit::unique_name;
use std::sync::Arc;

const TYPES_DDL: &str = "CREATE TABLE types (
    id INT NOT NULL PRIMARY KEY,
    ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
    mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED, bi BIGINT, biu BIGINT UNSIGNED,
    de DECIMAL(65,30), f FLOAT, d DOUBLE, b1 BIT(1), b64 BIT(64),
    da DATE, dt DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, tm TIME(6), y YEAR,
    c CHAR(10), vc VARCHAR(64), tt TINYTEXT, tx TEXT, mt MEDIUMTEXT, lt LONGTEXT,
    bn BINARY(4), vb VARBINARY(16), tb TINYBLOB, bl BLOB, mb MEDIUMBLOB, lb LONGBLOB,
    e ENUM('a','it''s','中'), s SET('x','y','z'), j JSON
) DEFAULT CHARSET = utf8mb4";

const COLUMNS: usize = 36;
const BIG_DECIMAL: &str = "99999999999999999999999999999999999.999999999999999999999999999999";

fn insert_rows() -> Vec<String> {
    let ones = "1".repeat(64);
    vec![
        format!(
            "INSERT INTO types VALUES (1, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, \
             4294967295, 9223372036854775807, 18446744073709551615, '{BIG_DECIMAL}', 0.1, \
             1.7976931348623157e308, b'1', b'{ones}', '9999-12-31', '9999-12-31 23:59:59.999999', \
             '2038-01-19 03:14:07.999999', '838:59:59.000000', 2155, 'abc', '中文字符😀🎉', 'tiny', \
             'tab\there', 'medium', 'long 😀', x'00010000', x'00ff00', x'00', x'0001020300', x'', \
             x'ffff', '中', 'z,x', '{{\"n\":[1,2.5,null],\"k\":\"中文😀\"}}')"
        ),
        format!(
            "INSERT INTO types VALUES (2, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, \
             -9223372036854775808, 0, '-{BIG_DECIMAL}', -1.5, 2.2250738585072014e-308, b'0', b'0', \
             '1000-01-01', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01', '-838:59:59.000000', \
             1901, '', '', '', '', '', '', 'a', x'', x'', x'', x'', x'', 'it''s', '', '[]')"
        ),
        // NULL in every column but the key.
        "INSERT INTO types (id) VALUES (3)".to_string(),
        // Zero dates (allowed: neither server's sql_mode has NO_ZERO_DATE), YEAR 0000,
        // a negative TIME under one second.
        "INSERT INTO types (id, de, da, dt, ts, tm, y) VALUES (4, 0, '0000-00-00', \
         '0000-00-00 00:00:00', '0000-00-00 00:00:00', '-00:00:00.5', 0)"
            .to_string(),
    ]
}

fn date(year: u16, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

fn datetime(d: Date, hour: u8, minute: u8, second: u8, micros: u32) -> Value {
    Value::DateTime(DateTime {
        date: d,
        hour,
        minute,
        second,
        micros,
    })
}

fn time(negative: bool, hours: u32, minutes: u8, seconds: u8, micros: u32) -> Value {
    Value::Time(Time {
        negative,
        hours,
        minutes,
        seconds,
        micros,
    })
}

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn bytes(b: &[u8]) -> Value {
    Value::Bytes(b.to_vec())
}

fn expected_rows(flavor: SourceFlavor) -> Vec<Row> {
    // MariaDB stores JSON as LONGTEXT and returns it as written; OceanBase stores it
    // parsed and prints it normalized (keys sorted by length then bytes, ", " and ": ").
    let json = match flavor {
        SourceFlavor::OceanBase => r#"{"k": "中文😀", "n": [1, 2.5, null]}"#,
        _ => r#"{"n":[1,2.5,null],"k":"中文😀"}"#,
    };
    let max = vec![
        Value::Int(1),
        Value::Int(127),
        Value::UInt(255),
        Value::Int(32767),
        Value::UInt(65535),
        Value::Int(8_388_607),
        Value::UInt(16_777_215),
        Value::Int(2_147_483_647),
        Value::UInt(4_294_967_295),
        Value::Int(i64::MAX),
        Value::UInt(u64::MAX),
        Value::Decimal(BIG_DECIMAL.into()),
        // The float nearest 0.1, exactly (the text protocol alone would print "0.1").
        Value::Float(0.1),
        Value::Double(f64::MAX),
        Value::Bit(1),
        Value::Bit(u64::MAX),
        Value::Date(date(9999, 12, 31)),
        datetime(date(9999, 12, 31), 23, 59, 59, 999_999),
        Value::Timestamp(Timestamp {
            secs: 2_147_483_647,
            micros: 999_999,
        }),
        time(false, 838, 59, 59, 0),
        Value::Year(2155),
        text("abc"),
        text("中文字符😀🎉"),
        text("tiny"),
        text("tab\there"),
        text("medium"),
        text("long 😀"),
        bytes(&[0, 1, 0, 0]),
        bytes(&[0, 0xff, 0]),
        bytes(&[0]),
        bytes(&[0, 1, 2, 3, 0]),
        bytes(&[]),
        bytes(&[0xff, 0xff]),
        text("中"),
        // SET members come back in declaration order.
        text("x,z"),
        text(json),
    ];
    let min = vec![
        Value::Int(2),
        Value::Int(-128),
        Value::UInt(0),
        Value::Int(-32768),
        Value::UInt(0),
        Value::Int(-8_388_608),
        Value::UInt(0),
        Value::Int(-2_147_483_648),
        Value::UInt(0),
        Value::Int(i64::MIN),
        Value::UInt(0),
        Value::Decimal(format!("-{BIG_DECIMAL}")),
        Value::Float(-1.5),
        Value::Double(2.2250738585072014e-308),
        Value::Bit(0),
        Value::Bit(0),
        Value::Date(date(1000, 1, 1)),
        datetime(date(1000, 1, 1), 0, 0, 0, 0),
        Value::Timestamp(Timestamp { secs: 1, micros: 0 }),
        time(true, 838, 59, 59, 0),
        Value::Year(1901),
        text(""),
        text(""),
        text(""),
        text(""),
        text(""),
        text(""),
        // BINARY(4) keeps its 0x00 padding.
        bytes(b"a\0\0\0"),
        bytes(&[]),
        bytes(&[]),
        bytes(&[]),
        bytes(&[]),
        bytes(&[]),
        text("it's"),
        text(""),
        text("[]"),
    ];
    let mut nulls = vec![Value::Null; COLUMNS];
    nulls[0] = Value::Int(3);
    let mut zeros = vec![Value::Null; COLUMNS];
    zeros[0] = Value::Int(4);
    zeros[11] = Value::Decimal("0.000000000000000000000000000000".into());
    zeros[16] = Value::Date(date(0, 0, 0));
    zeros[17] = datetime(date(0, 0, 0), 0, 0, 0, 0);
    zeros[18] = Value::Timestamp(Timestamp { secs: 0, micros: 0 });
    zeros[19] = time(true, 0, 0, 0, 500_000);
    zeros[20] = Value::Year(0);
    vec![max, min, nulls, zeros]
}

async fn every_type_round_trips_exactly(flavor: SourceFlavor) {
    let ep = endpoint(flavor);
    let db = unique_name("snap_types");
    let mut conn = ep.connect().await.unwrap();
    conn.query_drop(format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    conn.query_drop(format!("USE {db}")).await.unwrap();
    conn.query_drop(TYPES_DDL).await.unwrap();
    for insert in insert_rows() {
        conn.query_drop(&insert)
            .await
            .unwrap_or_else(|e| panic!("{insert}: {e}"));
    }

    let pool = ep.pool().await.unwrap();
    let meta = MetadataReader::new(pool.clone())
        .table_meta(&TableId::new(&db, "types"))
        .await
        .unwrap();
    assert_eq!(meta.columns.len(), COLUMNS);
    // Three rows per chunk: two checkouts from the pool, so the session settings
    // (UTC) must survive the pool's connection reset.
    let reader = SnapshotReader::new(pool, Arc::new(meta), 3);
    let mut rows = Vec::new();
    let mut after = None;
    loop {
        let chunk = reader.read_chunk(after.as_deref()).await.unwrap();
        rows.extend(chunk.rows);
        match chunk.last_key {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    let expected = expected_rows(flavor);
    for (got, want) in rows.iter().zip(&expected) {
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            assert_eq!(
                g,
                w,
                "row {:?} column {}",
                want[0],
                reader.meta().columns[i].name
            );
        }
    }
    assert_eq!(rows.len(), expected.len());
    assert_eq!(
        reader.progress().load(std::sync::atomic::Ordering::Relaxed),
        4
    );

    // The server's own text agrees with the model values.
    let printed: (String, String, String, String, String) = conn
        .query_first(
            "SELECT de, CAST(b64 AS UNSIGNED), HEX(bn), CAST(UNIX_TIMESTAMP(ts) AS CHAR), \
             CAST(tm AS CHAR) FROM types WHERE id = 1",
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(printed.0, BIG_DECIMAL);
    assert_eq!(printed.1, u64::MAX.to_string());
    assert_eq!(printed.2, "00010000");
    let Value::Timestamp(ts) = &rows[0][18] else {
        panic!()
    };
    assert_eq!(printed.3, ts.render_epoch(6));
    let Value::Time(tm) = &rows[0][19] else {
        panic!()
    };
    assert_eq!(printed.4, tm.render(6));
    conn.query_drop(format!("DROP DATABASE {db}"))
        .await
        .unwrap();
}

#[tokio::test]
async fn mariadb_every_type_round_trips_exactly() {
    every_type_round_trips_exactly(SourceFlavor::MariaDb).await;
}

#[tokio::test]
async fn seekdb_every_type_round_trips_exactly() {
    every_type_round_trips_exactly(SourceFlavor::OceanBase).await;
}
