//! End-to-end: MariaDB → `obsync run` → Kafka, in every message format and both partition
//! rules. Each test rebuilds the source tables from the Kafka records (with `kcat` and the
//! format decoder) and compares them with the source, read by obsync's own snapshot reader.
//!
//! Needs the shared services (`scripts/services up`).

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use obsync_format::decode::DecodedOp;
use support::*;

/// How long one reconstruction may take to catch up with the source.
const CATCH_UP: Duration = Duration::from_secs(120);
/// How long obsync may take to reach a stage.
const STAGE: Duration = Duration::from_secs(120);

/// Rows of the type-matrix table besides the edge rows: enough that, read in chunks of
/// `SNAPSHOT_CHUNK_ROWS` one at a time, the snapshot lasts long enough for concurrent
/// writes to overlap it.
const BULK_FIRST: u32 = 100;
const BULK_LAST: u32 = 4_999;
const SNAPSHOT_CHUNK_ROWS: u32 = 100;

// The type matrix, shared with the other end-to-end tests.
use obsync_testkit::all_types::{
    COLUMNS as TYPES_COLS, DDL as TYPES_DDL, EDGE_ROWS as TYPES_EDGE_ROWS,
};

const COMP_DDL: &str = "CREATE TABLE comp (
    a INT NOT NULL, b VARCHAR(20) NOT NULL, v INT, note VARCHAR(40),
    PRIMARY KEY (a, b)
) CHARACTER SET utf8mb4";

const NOKEY_DDL: &str = "CREATE TABLE nokey (a INT, b VARCHAR(10), c DOUBLE) CHARACTER SET utf8mb4";

const TABLES: &[&str] = &["types", "comp", "nokey"];

fn create_tables(db: &SourceDb) -> usize {
    db.exec_many(&[TYPES_DDL, COMP_DDL, NOKEY_DDL]);
    db.exec_many(TYPES_EDGE_ROWS);
    db.exec_many(&[
        format!(
            "INSERT INTO types (id, i, bi, s, dec65, dtm, j) \
             SELECT seq, seq, seq * 1000003, CONCAT('bulk ', seq), seq / 7, \
                    TIMESTAMPADD(SECOND, seq, '2020-01-01'), JSON_OBJECT('n', seq) \
             FROM seq_{BULK_FIRST}_to_{BULK_LAST}"
        ),
        "INSERT INTO comp SELECT seq % 50, CONCAT('k', seq), seq, NULL FROM seq_1_to_1000"
            .to_string(),
        // A table without a key and with identical rows: they must arrive as two rows.
        "INSERT INTO nokey VALUES (1, 'same', 0.5), (1, 'same', 0.5), (2, 'other', NULL), \
         (NULL, NULL, NULL)"
            .to_string(),
    ]);
    4 + (BULK_LAST - BULK_FIRST + 1) as usize + 1000 + 4
}

/// One round of the writer during the snapshot: inserts, updates, deletes, a PK-changing
/// update and multi-statement transactions on the keyed tables. Id ranges are disjoint
/// so that a key moved by a PK-changing update is never touched again (with hash
/// partitioning its before and after keys may live in different partitions, whose
/// relative order no consumer can know).
///
/// The table without a key is left alone while the snapshot runs: replaying a change
/// the snapshot already saw is harmless for keyed rows (an upsert) but duplicates a
/// keyless row, and obsync promises at-least-once delivery there.
fn concurrent_write(db: &SourceDb, n: u32) {
    let updated = 200 + n % 1000; // 200..1199, updated any number of times
    let deleted = 1200 + n; // 1200..2499 (n < 1300)
    let moved = 3000 + n; // 3000..3999 → 50000.., never touched again
    match n % 4 {
        0 => db.exec_many(&[
            "BEGIN".to_string(),
            format!(
                "INSERT INTO types (id, i, s, j) VALUES ({}, {n}, 'written {n}', '{{\"w\": {n}}}')",
                10_000 + n
            ),
            format!("UPDATE types SET i = i + 1, s = CONCAT(s, '+') WHERE id = {updated}"),
            format!("DELETE FROM types WHERE id = {deleted}"),
            format!("INSERT INTO comp VALUES ({}, 'w', {n}, 'tx')", 1000 + n),
            format!("UPDATE comp SET v = v + 1 WHERE a = {}", n % 50),
            "COMMIT".to_string(),
        ]),
        1 => db.exec(&format!(
            "UPDATE types SET id = {}, s = 'moved' WHERE id = {moved}",
            50_000 + n
        )),
        2 => db.exec(&format!("DELETE FROM types WHERE id = {deleted}")),
        _ => db.exec_many(&[
            format!("UPDATE types SET dec65 = dec65 * 2, f = {n}.25 WHERE id = {updated}"),
            format!(
                "INSERT INTO types (id, tm, ts) VALUES ({}, '-12:00:00.5', '2001-02-03 04:05:06.7')",
                20_000 + n
            ),
        ]),
    }
}

/// Changes after the snapshot, through the binlog only: the edge rows copied (so every
/// edge value also goes through binlog decoding), updated and deleted; keyless rows;
/// a composite-key change; a larger transaction.
fn incremental_changes(db: &SourceDb) {
    db.exec_many(&[
        format!(
            "INSERT INTO types (id, {TYPES_COLS}) SELECT id + 1000000, {TYPES_COLS} FROM types WHERE id <= 4"
        ),
        "UPDATE types SET s = CONCAT(IFNULL(s, ''), '!') WHERE id <= 4".to_string(),
        "UPDATE types SET ti = NULL, j = NULL, b64 = NULL WHERE id = 2".to_string(),
        "DELETE FROM types WHERE id = 1000001".to_string(),
        "INSERT INTO nokey VALUES (1, 'same', 0.5)".to_string(),
        "INSERT INTO nokey VALUES (3, 'three', 3), (3, 'three', 3)".to_string(),
        "DELETE FROM nokey WHERE a = 3 LIMIT 1".to_string(),
        "UPDATE nokey SET c = 9.75 WHERE a = 2 LIMIT 1".to_string(),
        // A composite-key change: the new keys are not touched again.
        "UPDATE comp SET b = CONCAT(b, 'x') WHERE a = 7".to_string(),
        "DELETE FROM comp WHERE a = 8".to_string(),
    ]);
    let mut tx = vec!["BEGIN".to_string()];
    for k in 0..50 {
        tx.push(format!(
            "INSERT INTO comp VALUES ({}, 'big', {k}, 'one transaction')",
            5000 + k
        ));
    }
    tx.push("UPDATE types SET txt = 'in the big transaction' WHERE id BETWEEN 100 AND 150".into());
    tx.push("COMMIT".into());
    db.exec_many(&tx);
}

fn stage(status: &serde_json::Value) -> &str {
    status["stage"].as_str().unwrap_or("")
}

/// The whole scenario for one format and partition rule, with one named topic or
/// `topic_rule = "batch"`.
fn sync_round_trip(format: &str, rule: &str, batch_topics: bool) {
    let started = Instant::now();
    let services = Services::load();
    let db = SourceDb::create(&services);
    create_tables(&db);

    let mut spec = ProjectSpec::new(&services, &db, format);
    spec.partition_rule = rule.to_string();
    if batch_topics {
        spec.topic = TopicMode::Batch;
    }
    spec.extra_sync = vec![
        format!("snapshot_chunk_rows = {SNAPSHOT_CHUNK_ROWS}"),
        "snapshot_parallelism = 1".to_string(),
    ];
    let dir = scratch_dir(&spec.name);
    let config = spec.write_project(&dir);
    let state_dir = dir.join("state");
    let mut run = Obsync::start(&config, &state_dir);

    // Write while the snapshot runs, until incremental sync has begun.
    let mut n = 0;
    let mut during_full = 0;
    let deadline = Instant::now() + STAGE;
    loop {
        let before = run.status();
        if before.as_ref().is_some_and(|s| stage(s) == "incremental") {
            break;
        }
        if let Some(code) = run.try_exit() {
            panic!("obsync exited with {code} before incremental sync began");
        }
        assert!(
            Instant::now() < deadline,
            "no incremental stage after {STAGE:?}: {before:?}"
        );
        if n < 1000 {
            concurrent_write(&db, n);
            n += 1;
            let after = run.status();
            if [&before, &after]
                .iter()
                .all(|s| s.as_ref().is_some_and(|s| stage(s) == "full"))
            {
                during_full += 1;
            }
        } else {
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    assert!(
        during_full > 0,
        "no write overlapped the snapshot ({n} writes in all): make the snapshot longer"
    );
    incremental_changes(&db);

    let r = wait_until_equal(&db, &spec, TABLES, CATCH_UP);
    eprintln!(
        "{format}/{rule}: {} writes ({during_full} during the snapshot); {} records: {} snapshot rows, \
         {} inserts, {} updates, {} deletes, {} duplicates; {:?}",
        n,
        r.records.len(),
        r.snapshot_rows,
        r.inserts,
        r.updates,
        r.deletes,
        r.duplicates,
        started.elapsed()
    );
    assert_record_layout(&r, format, rule);
    assert_edge_values(&r, db.name());

    run.terminate();
    let code = run.wait_exit(Duration::from_secs(60));
    assert!(
        code.success(),
        "obsync run stopped by SIGTERM exited with {code}"
    );
    assert!(
        state_dir.join("state.json").is_file(),
        "no state.json after a graceful stop"
    );
}

/// Spot checks of the maximum edge row as copied through the binlog (id 1000002), against
/// literals: the comparison with the source would not notice a renderer that is wrong
/// the same way on both sides.
fn assert_edge_values(r: &Reconstruction, database: &str) {
    let row = &r.tables[&format!("{database}.types")]["1000002"].image;
    let want = [
        ("biu", "18446744073709551615"),
        ("bi", "9223372036854775807"),
        (
            "dec65",
            "99999999999999999999999999999999999.999999999999999999999999999999",
        ),
        ("d", "1.7976931348623157e308"),
        ("b64", "//////////8="), // BIT(64) all ones, base64 as in the Default format
        ("dtm", "9999-12-31 23:59:59.999999"),
        ("ts", "2147483647.999999"), // TIMESTAMP as epoch seconds
        ("tm", "838:59:59.000000"),
        ("y", "2155"),
        ("s", "😀 emoji 中文 \"quoted\" \\ back"),
        ("bin", "AP9/gA=="),
        ("st", "x,y,z"),
    ];
    for (col, value) in want {
        assert_eq!(
            row.get(col).cloned().flatten().as_deref(),
            Some(value),
            "column {col} of the edge row"
        );
    }
}

/// Per-format and per-rule properties of the records themselves.
fn assert_record_layout(r: &Reconstruction, format: &str, rule: &str) {
    let mut partitions: BTreeMap<&str, BTreeSet<i32>> = BTreeMap::new();
    let mut last_sequence: BTreeMap<(&str, i32), u64> = BTreeMap::new();
    for (rec, d) in &r.records {
        assert!(
            !rec.key.is_empty(),
            "record {}/{}@{} has an empty key",
            rec.topic,
            rec.partition,
            rec.offset
        );
        partitions
            .entry(&d.table)
            .or_default()
            .insert(rec.partition);
        let incremental = matches!(
            d.op,
            DecodedOp::Insert | DecodedOp::Update | DecodedOp::Delete
        );
        if incremental && matches!(format, "Default" | "DefaultExtendColumnType") {
            let seq = d
                .sequence
                .unwrap_or_else(|| panic!("incremental record without storeDataSequence: {d:?}"));
            assert!(seq > 0, "storeDataSequence 0 in {d:?}");
            let last = last_sequence
                .entry((&rec.topic, rec.partition))
                .or_insert(0);
            assert!(
                seq > *last,
                "storeDataSequence not increasing in partition {}: {} after {} (offset {})",
                rec.partition,
                seq,
                *last,
                rec.offset
            );
            *last = seq;
        }
    }
    for table in ["types", "comp"] {
        let parts = &partitions[table];
        match rule {
            "hash" => assert!(
                parts.len() > 1,
                "hash partitioning put every {table} record in {parts:?}"
            ),
            _ => assert_eq!(
                parts,
                &BTreeSet::from([0]),
                "partition_rule one put {table} records outside partition 0"
            ),
        }
    }
    if rule == "one" {
        assert!(r.records.iter().all(|(rec, _)| rec.partition == 0));
    }
    if matches!(format, "Default" | "DefaultExtendColumnType") {
        assert!(r.snapshot_rows > 0, "no ROW records from the snapshot");
    }
}

#[test]
fn default_format_hash_partitions_reconstructs_the_source() {
    sync_round_trip("Default", "hash", false);
}

#[test]
fn default_format_one_partition_reconstructs_the_source() {
    sync_round_trip("Default", "one", false);
}

#[test]
fn extend_column_type_format_hash_partitions_reconstructs_the_source() {
    sync_round_trip("DefaultExtendColumnType", "hash", false);
}

#[test]
fn extend_column_type_format_one_partition_reconstructs_the_source() {
    sync_round_trip("DefaultExtendColumnType", "one", true);
}

#[test]
fn canal_format_hash_partitions_reconstructs_the_source() {
    sync_round_trip("Canal", "hash", true);
}

#[test]
fn canal_format_one_partition_reconstructs_the_source() {
    sync_round_trip("Canal", "one", false);
}

#[test]
fn dataworks_format_hash_partitions_reconstructs_the_source() {
    sync_round_trip("DataWorks", "hash", false);
}

#[test]
fn dataworks_format_one_partition_reconstructs_the_source() {
    sync_round_trip("DataWorks", "one", true);
}

#[test]
fn shareplex_format_hash_partitions_reconstructs_the_source() {
    sync_round_trip("SharePlex", "hash", true);
}

#[test]
fn shareplex_format_one_partition_reconstructs_the_source() {
    sync_round_trip("SharePlex", "one", false);
}

/// Starts a Default/hash project over `db` with `edit` applied to the spec and waits for
/// incremental sync.
#[test]
fn maxwell_format_hash_partitions_reconstructs_the_source() {
    sync_round_trip("Maxwell", "hash", false);
}

fn start_project(
    services: &Services,
    db: &SourceDb,
    format: &str,
    edit: impl FnOnce(&mut ProjectSpec),
) -> (ProjectSpec, std::path::PathBuf, Obsync) {
    let mut spec = ProjectSpec::new(services, db, format);
    edit(&mut spec);
    let dir = scratch_dir(&spec.name);
    let config = spec.write_project(&dir);
    let mut run = Obsync::start(&config, &dir.join("state"));
    run.wait_for("incremental sync", STAGE, |s| stage(s) == "incremental");
    (spec, config, run)
}

#[test]
fn ddl_message_goes_to_every_partition_and_later_rows_carry_the_new_column() {
    let services = Services::load();
    let db = SourceDb::create(&services);
    db.exec_many(&[
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
        "INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_60",
    ]);
    let (spec, _, mut run) = start_project(&services, &db, "Default", |s| s.ddl_messages = true);
    db.exec_many(&[
        "INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_61_to_90",
        "UPDATE t SET v = CONCAT(v, '+') WHERE id % 7 = 0",
        "ALTER TABLE t ADD COLUMN extra VARCHAR(20)",
        "UPDATE t SET extra = CONCAT('e', id)",
        "INSERT INTO t SELECT seq, CONCAT('v', seq), CONCAT('n', seq) FROM seq_91_to_120",
        "DELETE FROM t WHERE id % 11 = 0",
    ]);
    let r = wait_until_equal(&db, &spec, &["t"], CATCH_UP);

    let ddls: Vec<&(KafkaRecord, _)> = r
        .records
        .iter()
        .filter(|(_, d)| d.op == DecodedOp::Ddl)
        .collect();
    let partitions: BTreeSet<i32> = ddls.iter().map(|(rec, _)| rec.partition).collect();
    assert_eq!(
        partitions,
        BTreeSet::from([0, 1, 2]),
        "DDL records: {ddls:?}"
    );
    assert_eq!(ddls.len(), 3, "one DDL record per partition: {ddls:?}");
    assert!(
        ddls.iter().all(|(rec, _)| rec.value == ddls[0].0.value),
        "the DDL records differ between partitions"
    );
    let statement = ddls[0].1.ddl.as_deref().unwrap();
    assert!(
        statement.contains("ADD COLUMN extra"),
        "DDL record carries {statement:?}"
    );
    let ddl_offset: BTreeMap<i32, i64> = ddls
        .iter()
        .map(|(rec, _)| (rec.partition, rec.offset))
        .collect();
    for (rec, d) in &r.records {
        let image = match d.op {
            DecodedOp::Insert | DecodedOp::Snapshot | DecodedOp::Update => d.after.as_ref(),
            DecodedOp::Delete => d.before.as_ref(),
            _ => continue,
        };
        let has_extra = image.unwrap().contains_key("extra");
        assert_eq!(
            has_extra,
            rec.offset > ddl_offset[&rec.partition],
            "record at {}@{} ({:?}) relative to the DDL at offset {}",
            rec.partition,
            rec.offset,
            d.op,
            ddl_offset[&rec.partition]
        );
    }
    run.terminate();
    assert!(run.wait_exit(Duration::from_secs(60)).success());
}

#[test]
fn shareplex_tx_sequence_numbers_the_rows_of_each_transaction() {
    let services = Services::load();
    let db = SourceDb::create(&services);
    db.exec_many(&[
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
        "INSERT INTO t VALUES (1, 'one'), (2, 'two')",
    ]);
    let (spec, _, mut run) = start_project(&services, &db, "SharePlex", |s| {
        s.partition_rule = "one".into();
        s.tx_sequence = true;
    });
    db.exec_many(&[
        "BEGIN",
        "INSERT INTO t VALUES (3, 'three')",
        "UPDATE t SET v = 'uno' WHERE id = 1",
        "DELETE FROM t WHERE id = 2",
        "COMMIT",
        "INSERT INTO t VALUES (4, 'four'), (5, 'five')",
    ]);
    let r = wait_until_equal(&db, &spec, &["t"], CATCH_UP);

    let numbered: Vec<serde_json::Value> = r
        .records
        .iter()
        .map(|(rec, _)| serde_json::from_slice::<serde_json::Value>(&rec.value).unwrap())
        .filter(|j| j["meta"].get("seq").is_some())
        .collect();
    let meta = |j: &serde_json::Value| {
        (
            j["meta"]["op"].as_str().unwrap().to_string(),
            j["meta"]["seq"].as_u64().unwrap(),
            j["meta"]["size"].as_u64().unwrap(),
            j["meta"]["idx"].as_str().unwrap().to_string(),
        )
    };
    let got: Vec<_> = numbered.iter().map(meta).collect();
    let want: Vec<(String, u64, u64, String)> = [
        ("ins", 1, 3, "1/3"),
        ("upd", 2, 3, "2/3"),
        ("del", 3, 3, "3/3"),
        ("ins", 1, 2, "1/2"),
        ("ins", 2, 2, "2/2"),
    ]
    .iter()
    .map(|(op, seq, size, idx)| (op.to_string(), *seq, *size, idx.to_string()))
    .collect();
    assert_eq!(got, want, "SharePlex meta of the incremental records");
    assert!(r.records.iter().all(|(rec, _)| rec.partition == 0));
    run.terminate();
    assert!(run.wait_exit(Duration::from_secs(60)).success());
}

#[test]
fn restart_resumes_incremental_sync_without_redoing_the_snapshot() {
    let services = Services::load();
    let db = SourceDb::create(&services);
    db.exec_many(&[
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40))",
        "INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_500",
        NOKEY_DDL,
        "INSERT INTO nokey VALUES (1, 'same', 0.5), (1, 'same', 0.5), (2, 'other', NULL)",
    ]);
    let initial_rows = 503;
    let tables = &["t", "nokey"];
    let (spec, config, mut run) = start_project(&services, &db, "Default", |_| {});
    let state_dir = config.parent().unwrap().join("state");

    // Stop in the middle of a burst of changes: whatever was not acknowledged yet must
    // come after the restart.
    for k in 0..100 {
        db.exec_many(&[
            format!("INSERT INTO t VALUES ({}, 'burst')", 1000 + k),
            format!("UPDATE t SET v = 'burst {k}' WHERE id = {}", 1 + k),
        ]);
        if k % 10 == 0 {
            db.exec("INSERT INTO nokey VALUES (7, 'burst', 7)");
        }
        if k == 60 {
            run.terminate();
        }
    }
    let code = run.wait_exit(Duration::from_secs(60));
    assert!(
        code.success(),
        "obsync stopped by SIGTERM exited with {code}"
    );
    assert!(state_dir.join("state.json").is_file());

    // Changes while obsync is down.
    db.exec_many(&[
        "INSERT INTO t SELECT seq, 'while stopped' FROM seq_2000_to_2099",
        "UPDATE t SET v = 'changed while stopped' WHERE id BETWEEN 200 AND 220",
        "DELETE FROM t WHERE id BETWEEN 300 AND 310",
        "INSERT INTO nokey VALUES (1, 'same', 0.5)",
        "DELETE FROM nokey WHERE a = 2",
    ]);
    let mut run = Obsync::start(&config, &state_dir);
    run.wait_for("incremental sync after the restart", STAGE, |s| {
        stage(s) == "incremental"
    });
    db.exec("UPDATE t SET v = 'after the restart' WHERE id = 5");
    let r = wait_until_equal(&db, &spec, tables, CATCH_UP);
    assert_eq!(
        r.snapshot_rows, initial_rows,
        "ROW records: the restart must resume incremental sync, not redo the snapshot"
    );
    run.terminate();
    assert!(run.wait_exit(Duration::from_secs(60)).success());
}
