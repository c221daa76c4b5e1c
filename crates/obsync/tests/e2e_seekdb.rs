//! End-to-end full sync from seekdb (the OceanBase 4.3 kernel; no binlog, so schema + full
//! only): `kind = "oceanbase"`, login `root@sys`. The run finishes by itself; Kafka must
//! then reconstruct the source exactly.
//!
//! Needs the shared services (`scripts/services up`).

mod support;

use std::time::Duration;

use support::*;

/// The type matrix as far as seekdb goes. seekdb normalizes JSON text (key order,
/// spacing) when it stores it: the comparison is with what the source returns, so that is
/// fine. Its TIMESTAMP accepts values outside MySQL's 1970–2038 range, so a row has them.
const TYPES_DDL: &str = "CREATE TABLE types (
    id INT PRIMARY KEY,
    ti TINYINT, tiu TINYINT UNSIGNED, si SMALLINT, siu SMALLINT UNSIGNED,
    mi MEDIUMINT, miu MEDIUMINT UNSIGNED, i INT, iu INT UNSIGNED,
    bi BIGINT, biu BIGINT UNSIGNED,
    dec65 DECIMAL(65,30), f FLOAT, d DOUBLE, b1 BIT(1), b64 BIT(64),
    dt DATE, dtm DATETIME(6), ts TIMESTAMP(6) NULL DEFAULT NULL, tm TIME(6), y YEAR,
    s VARCHAR(64), c CHAR(8), bin BINARY(4), vb VARBINARY(16), blb BLOB, txt TEXT,
    e ENUM('a','b','中'), st SET('x','y','z'), j JSON
)";

const TYPES_ROWS: &[&str] = &[
    "INSERT INTO types VALUES (1,
        -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0,
        '-99999999999999999999999999999999999.999999999999999999999999999999',
        -3.40282e38, -1.7976931348623157e308, b'0', b'0',
        '1000-01-01', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000000',
        '-838:59:59.000000', 1901,
        '', '', X'00000000', X'', X'00', '',
        'a', '', '{}')",
    "INSERT INTO types VALUES (2,
        127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295,
        9223372036854775807, 18446744073709551615,
        '99999999999999999999999999999999999.999999999999999999999999999999',
        3.40282e38, 1.7976931348623157e308, b'1',
        b'1111111111111111111111111111111111111111111111111111111111111111',
        '9999-12-31', '9999-12-31 23:59:59.999999', '2038-01-19 03:14:07.999999',
        '838:59:59.000000', 2155,
        '😀 emoji 中文 \"quoted\" \\\\ back', 'abcdefgh', X'00FF7F80', X'DEADBEEF00',
        X'00FF00FE', 'line1\\nline2\\ttab',
        '中', 'x,y,z', '{\"k\": \"中文😀\", \"n\": [1, 2.5, null, true, 18446744073709551615]}')",
    "INSERT INTO types (id) VALUES (3)",
    "INSERT INTO types VALUES (4,
        -1, 1, -1, 1, -1, 1, -1, 1, -1, 1,
        '0.000000000000000000000000000001', 0.1, 0.1, b'1', b'1000000000000000000000000000000000000000000000000000000000000001',
        '2024-02-29', '2024-02-29 12:34:56.123456', '2024-02-29 12:34:56.654321',
        '-00:00:00.000001', 0,
        ' lead and trail ', 'c', X'01000000', X'00', X'', 'ÄÖÜ ß 𝄞',
        'b', 'y', '[]')",
    // seekdb-only TIMESTAMPs: before the epoch and after 2038.
    "INSERT INTO types (id, ts) VALUES (5, '1969-12-31 23:59:59.500000'), (6, '2100-01-01 00:00:00')",
];

#[test]
fn seekdb_full_sync_finishes_and_kafka_reconstructs_the_source() {
    let services = Services::load();
    let db = SourceDb::create_seekdb(&services);
    db.exec_many(&[
        TYPES_DDL,
        "CREATE TABLE comp (a INT NOT NULL, b VARCHAR(20) NOT NULL, v INT, PRIMARY KEY (a, b))",
        // No primary key: OceanBase gives it a hidden __pk_increment row key, which obsync
        // cannot see; identical rows must still arrive as separate rows.
        "CREATE TABLE nokey (a INT, b VARCHAR(10))",
    ]);
    db.exec_many(TYPES_ROWS);
    let bulk: Vec<String> = (100..400)
        .map(|k| format!("({k}, {k}, 'bulk {k}', {k}.5)"))
        .collect();
    let comp: Vec<String> = (0..300)
        .map(|k| format!("({}, 'k{k}', {k})", k % 13))
        .collect();
    db.exec_many(&[
        format!("INSERT INTO types (id, i, s, d) VALUES {}", bulk.join(", ")),
        format!("INSERT INTO comp VALUES {}", comp.join(", ")),
        "INSERT INTO nokey VALUES (1, 'same'), (1, 'same'), (2, 'other'), (NULL, NULL)".into(),
    ]);

    let mut spec = ProjectSpec::new(&services, &db, "Default");
    spec.types = vec!["schema".into(), "full".into()];
    spec.extra_sync = vec!["snapshot_chunk_rows = 50".into()];
    let dir = scratch_dir(&spec.name);
    let config = spec.write_project(&dir);
    let mut run = Obsync::start(&config, &dir.join("state"));
    let code = run.wait_exit(Duration::from_secs(180));
    assert!(code.success(), "full sync from seekdb exited with {code}");

    let tables = &["types", "comp", "nokey"];
    let r = wait_until_equal(&db, &spec, tables, Duration::from_secs(30));
    assert_eq!(
        r.snapshot_rows,
        6 + 300 + 300 + 4,
        "one ROW record per source row"
    );
    assert_eq!(
        r.inserts + r.updates + r.deletes,
        0,
        "full sync alone writes ROW records only"
    );
    let nokey = &r.tables[&format!("{}.nokey", db.name())];
    assert_eq!(
        nokey.values().map(|e| e.count).sum::<usize>(),
        4,
        "identical rows of a table without a primary key: {nokey:?}"
    );
    // The tenant comes from the login root@sys.
    let want_db = format!("sys.{}", db.name());
    for (rec, _) in &r.records {
        let j: serde_json::Value = serde_json::from_slice(&rec.value).unwrap();
        assert_eq!(
            j["allMetaData"]["db"],
            want_db.as_str(),
            "record at offset {}",
            rec.offset
        );
        assert_eq!(j["allMetaData"]["dbType"], "OB_MYSQL");
    }
}
