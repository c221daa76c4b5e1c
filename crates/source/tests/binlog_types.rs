//! Every column type with edge values, inserted, updated and deleted on the shared
//! MariaDB, decoded by the binlog reader into the expected model values.
//! Needs `scripts/services up`; fails when the services are down.

mod binlog_support;

use binlog_support::*;
use mysql_async::prelude::Queryable;
use obsync_model::{Date, DateTime, RowChange, Time, Timestamp, Value};
use obsync_source::binlog::StartFrom;
use obsync_testkit::unique_name;

const TABLE: &str = "CREATE TABLE types (
    id INT PRIMARY KEY,
    ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
    mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
    bi BIGINT, biu BIGINT UNSIGNED,
    d DECIMAL(65,30), f FLOAT, db DOUBLE, b1 BIT(1), b64 BIT(64),
    dt DATE, dtm DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, tm TIME(6), y YEAR,
    vc VARCHAR(20), ch CHAR(5), bn BINARY(4), vb VARBINARY(10), bl BLOB, tx TEXT,
    e ENUM('a','b','c'), s SET('x','y','z'), j JSON
) DEFAULT CHARSET=utf8mb4";

const MAX_DECIMAL: &str = "99999999999999999999999999999999999.999999999999999999999999999999";

fn date(year: u16, month: u8, day: u8) -> Date {
    Date { year, month, day }
}

fn datetime(d: Date, h: u8, m: u8, s: u8, micros: u32) -> Value {
    Value::DateTime(DateTime {
        date: d,
        hour: h,
        minute: m,
        second: s,
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

fn min_row() -> Vec<Value> {
    vec![
        int(1),
        int(-128),
        Value::UInt(0),
        int(-32768),
        Value::UInt(0),
        int(-8_388_608),
        Value::UInt(0),
        int(i32::MIN as i64),
        Value::UInt(0),
        int(i64::MIN),
        Value::UInt(0),
        Value::Decimal(format!("-{MAX_DECIMAL}")),
        Value::Float(-1.5),
        Value::Double(-f64::MAX),
        Value::Bit(0),
        Value::Bit(0),
        Value::Date(date(1000, 1, 1)),
        datetime(date(1000, 1, 1), 0, 0, 0, 0),
        Value::Timestamp(Timestamp { secs: 1, micros: 0 }),
        time(true, 838, 59, 59, 0),
        Value::Year(1901),
        text(""),
        text(""),
        Value::Bytes(vec![0, 1, 2, 0]),
        Value::Bytes(vec![0]),
        Value::Bytes(vec![0, 1]),
        text(""),
        text("a"),
        text(""),
        text("{}"),
    ]
}

const MIN_INSERT: &str =
    "INSERT INTO types VALUES (1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0,
    -9223372036854775808, 0, '-99999999999999999999999999999999999.999999999999999999999999999999',
    -1.5, -1.7976931348623157e308, b'0', b'0', '1000-01-01', '1000-01-01 00:00:00.000000',
    '1970-01-01 00:00:01.000000', '-838:59:59.000000', 1901, '', '', x'00010200', x'00', x'0001',
    '', 'a', '', '{}')";

fn max_row() -> Vec<Value> {
    vec![
        int(2),
        int(127),
        Value::UInt(255),
        int(32767),
        Value::UInt(65535),
        int(8_388_607),
        Value::UInt(16_777_215),
        int(i32::MAX as i64),
        Value::UInt(u32::MAX as u64),
        int(i64::MAX),
        Value::UInt(u64::MAX),
        Value::Decimal(MAX_DECIMAL.to_string()),
        Value::Float(3.5),
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
        text("héllo 😀"),
        text("ab"),
        Value::Bytes(vec![0x61, 0, 0, 0]),
        Value::Bytes(vec![0xff, 0]),
        Value::Bytes(vec![0, 0xff, 0]),
        text("😀 emoji ✓"),
        text("c"),
        text("x,z"),
        text(r#"{"k": "ü😀", "n": [1, 2]}"#),
    ]
}

const MAX_INSERT: &str = "INSERT INTO types VALUES (2, 127, 255, 32767, 65535, 8388607, 16777215,
    2147483647, 4294967295, 9223372036854775807, 18446744073709551615,
    '99999999999999999999999999999999999.999999999999999999999999999999', 3.5,
    1.7976931348623157e308, b'1', b'1111111111111111111111111111111111111111111111111111111111111111',
    '9999-12-31', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999', '838:59:59.000000',
    2155, 'héllo 😀', 'ab', 'a', x'ff00', x'00ff00', '😀 emoji ✓', 'c', 'z,x',
    '{\"k\": \"ü😀\", \"n\": [1, 2]}')";

fn null_row() -> Vec<Value> {
    let mut r = vec![Value::Null; 30];
    r[0] = int(3);
    r
}

/// Zero dates and the zero year need a non-strict session.
const ZERO_INSERT: &str =
    "INSERT INTO types (id, dt, dtm, ts, tm, y) VALUES (4, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '00:00:00', 0)";

fn zero_row() -> Vec<Value> {
    let mut r = vec![Value::Null; 30];
    r[0] = int(4);
    r[16] = Value::Date(date(0, 0, 0));
    r[17] = datetime(date(0, 0, 0), 0, 0, 0, 0);
    r[18] = Value::Timestamp(Timestamp { secs: 0, micros: 0 });
    r[19] = time(false, 0, 0, 0, 0);
    r[20] = Value::Year(0);
    r
}

fn assert_row(what: &str, got: &[Value], want: &[Value]) {
    assert_eq!(got.len(), want.len(), "{what}: column count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_eq!(g, w, "{what}: column {i}");
    }
}

#[tokio::test]
async fn every_type_decodes_to_the_expected_model_values() {
    let ep = shared_endpoint();
    let db = unique_name("bl_types");
    let mut conn = sql(&ep).await;
    create_db(&mut conn, &db, &[TABLE]).await;
    let mut r = reader(&ep, StartFrom::Current, db_filter(&db)).await;

    exec(
        &mut conn,
        &[MIN_INSERT, MAX_INSERT, "INSERT INTO types (id) VALUES (3)"],
    )
    .await;
    exec(&mut conn, &["SET SESSION sql_mode = ''", ZERO_INSERT]).await;
    exec(
        &mut conn,
        &[
            "UPDATE types SET vc = 'upd', mi = -1 WHERE id = 1",
            "DELETE FROM types WHERE id = 2",
        ],
    )
    .await;

    let wants = [min_row(), max_row(), null_row(), zero_row()];
    for (n, want) in wants.iter().enumerate() {
        let t = next_txn(&mut r).await;
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.rows[0].table.columns.len(), 30);
        match &t.rows[0].row {
            RowChange::Insert { after } => assert_row(&format!("insert {n}"), after, want),
            other => panic!("expected an insert, got {other:?}"),
        }
    }
    let t = next_txn(&mut r).await;
    match &t.rows[0].row {
        RowChange::Update { before, after } => {
            assert_row("update before", before, &min_row());
            let mut want = min_row();
            want[21] = text("upd");
            want[5] = int(-1);
            assert_row("update after", after, &want);
        }
        other => panic!("expected an update, got {other:?}"),
    }
    let t = next_txn(&mut r).await;
    match &t.rows[0].row {
        RowChange::Delete { before } => assert_row("delete", before, &max_row()),
        other => panic!("expected a delete, got {other:?}"),
    }

    // A few columns against what SELECT prints.
    let sel: (String, String, String, String, String, String) = conn
        .query_first(
            "SELECT CAST(d AS CHAR), CAST(dtm AS CHAR), CAST(tm AS CHAR), CAST(UNIX_TIMESTAMP(ts) AS CHAR), CAST(bi AS CHAR), HEX(bn) FROM types WHERE id = 1",
        )
        .await
        .unwrap()
        .unwrap();
    let row = min_row();
    let Value::Decimal(d) = &row[11] else {
        unreachable!()
    };
    assert_eq!(&sel.0, d);
    let Value::DateTime(dtm) = &row[17] else {
        unreachable!()
    };
    assert_eq!(sel.1, dtm.render(6));
    let Value::Time(tm) = &row[19] else {
        unreachable!()
    };
    assert_eq!(sel.2, tm.render(6));
    let Value::Timestamp(ts) = &row[18] else {
        unreachable!()
    };
    assert_eq!(sel.3, ts.render_epoch(6));
    assert_eq!(sel.4, i64::MIN.to_string());
    assert_eq!(sel.5, "00010200");

    exec(&mut conn, &[&format!("DROP DATABASE {db}")]).await;
}
