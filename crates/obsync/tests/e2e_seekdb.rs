//! End-to-end full sync from seekdb (the OceanBase 4.3 kernel; no binlog, so schema + full
//! only): `kind = "oceanbase"`, login `root@sys`. The run finishes by itself; Kafka must
//! then reconstruct the source exactly.
//!
//! Needs the shared services (`scripts/services up`).

mod support;

use std::time::Duration;

use support::*;

use obsync_testkit::all_types::{DDL as TYPES_DDL, EDGE_ROWS as TYPES_EDGE_ROWS};

/// Rows beyond the shared type matrix's edge rows. seekdb normalizes JSON text (key
/// order, spacing) when it stores it: the comparison is with what the source returns, so
/// that is fine. Its TIMESTAMP accepts values outside MySQL's 1970–2038 range, so a row
/// has them; a JSON number at the top of the unsigned range must survive too.
const SEEKDB_ROWS: &[&str] = &[
    "INSERT INTO types (id, ts) VALUES (5, '1969-12-31 23:59:59.500000'), (6, '2100-01-01 00:00:00')",
    "INSERT INTO types (id, j) VALUES (7, '{\"n\": [1, 2.5, null, true, 18446744073709551615]}')",
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
    db.exec_many(TYPES_EDGE_ROWS);
    db.exec_many(SEEKDB_ROWS);
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
        7 + 300 + 300 + 4,
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
