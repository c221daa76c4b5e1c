//! Snapshot reads against the real MariaDB and seekdb (OceanBase 4.3): chunking covers
//! every row once, resumes from a checkpointed key, splits into ranges, streams key-less
//! tables in bounded batches, survives OceanBase's query timeout, and takes the binlog
//! position. Needs `scripts/services up`.

mod common;

use common::endpoint;
use mysql_async::prelude::Queryable;
use obsync_model::{TableId, Value};
use obsync_source::metadata::MetadataReader;
use obsync_source::snapshot::{
    current_position, KeyRange, SnapshotError, SnapshotReader, STREAM_BATCH_ROWS,
};
use obsync_source::{SourceEndpoint, SourceFlavor};
use obsync_testkit::unique_name;
use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;

struct TestDb {
    ep: SourceEndpoint,
    name: String,
    conn: mysql_async::Conn,
}

impl TestDb {
    async fn new(flavor: SourceFlavor, prefix: &str) -> TestDb {
        let ep = endpoint(flavor);
        let name = unique_name(prefix);
        let mut conn = ep.connect().await.unwrap();
        conn.query_drop(format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        conn.query_drop(format!("USE {name}")).await.unwrap();
        TestDb { ep, name, conn }
    }

    async fn run(&mut self, sql: &str) {
        self.conn
            .query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e}"));
    }

    async fn reader(&self, table: &str, chunk_rows: usize) -> SnapshotReader {
        let pool = self.ep.pool().await.unwrap();
        let meta = MetadataReader::new(pool.clone())
            .table_meta(&TableId::new(&self.name, table))
            .await
            .unwrap();
        SnapshotReader::new(pool, Arc::new(meta), chunk_rows)
    }

    async fn drop(mut self) {
        self.conn
            .query_drop(format!("DROP DATABASE {}", self.name))
            .await
            .unwrap();
    }
}

const A_VALUES: [i64; 5] = [i64::MIN, -1, 0, 1, i64::MAX];
// Distinct under utf8mb4_general_ci (which folds case and treats all emoji as equal).
const B_VALUES: [&str; 5] = ["", "x", "y'z\\", "中", "😀"];
const C_VALUES: [u64; 2] = [0, u64::MAX];

async fn composite_key_table(flavor: SourceFlavor) -> TestDb {
    let mut db = TestDb::new(flavor, "snap_ck").await;
    db.run(
        "CREATE TABLE ck (a BIGINT NOT NULL, b VARCHAR(20) NOT NULL, c BIGINT UNSIGNED NOT NULL, \
         payload VARCHAR(20), PRIMARY KEY (a, b, c)) DEFAULT CHARSET = utf8mb4",
    )
    .await;
    let mut values = Vec::new();
    for a in A_VALUES {
        for b in B_VALUES {
            for c in C_VALUES {
                let b = b.replace('\\', "\\\\").replace('\'', "''");
                values.push(format!("({a}, '{b}', {c}, 'p')"));
            }
        }
    }
    db.run(&format!("INSERT INTO ck VALUES {}", values.join(",")))
        .await;
    db
}

fn key_of(row: &[Value]) -> (i64, String, u64) {
    match (&row[0], &row[1], &row[2]) {
        (Value::Int(a), Value::Text(b), Value::UInt(c)) => (*a, b.clone(), *c),
        other => panic!("unexpected key {other:?}"),
    }
}

async fn chunks_cover_every_row_once_and_resume(flavor: SourceFlavor) {
    let db = composite_key_table(flavor).await;
    let total = A_VALUES.len() * B_VALUES.len() * C_VALUES.len();
    let reader = db.reader("ck", 7).await;
    let mut keys = Vec::new();
    let mut checkpoints = Vec::new();
    let mut after: Option<Vec<Value>> = None;
    loop {
        let chunk = reader.read_chunk(after.as_deref()).await.unwrap();
        assert!(chunk.rows.len() <= 7);
        keys.extend(chunk.rows.iter().map(|r| key_of(r)));
        match chunk.last_key {
            Some(k) => {
                // What the pipeline stores in its checkpoint.
                checkpoints.push((keys.len(), serde_json::to_string(&k).unwrap()));
                after = Some(k);
            }
            None => break,
        }
    }
    assert_eq!(keys.len(), total);
    let distinct: BTreeSet<_> = keys.iter().cloned().collect();
    assert_eq!(distinct.len(), total, "a row was read twice");
    assert_eq!(checkpoints.len(), total / 7);
    assert_eq!(reader.progress().load(Ordering::Relaxed), total as u64);

    // A restarted reader resumes after the third checkpoint and reads exactly the rest.
    let (done, saved) = &checkpoints[2];
    let resume_key: Vec<Value> = serde_json::from_str(saved).unwrap();
    let restarted = db.reader("ck", 7).await;
    let mut rest = Vec::new();
    let mut after = Some(resume_key);
    while let Some(k) = after.take() {
        let chunk = restarted.read_chunk(Some(&k)).await.unwrap();
        rest.extend(chunk.rows.iter().map(|r| key_of(r)));
        after = chunk.last_key;
    }
    assert_eq!(rest, keys[*done..]);

    // A key of the wrong width is refused, not silently misread.
    let err = reader.read_chunk(Some(&[Value::Int(0)])).await.unwrap_err();
    assert!(matches!(err, SnapshotError::BadKey { .. }), "{err}");
    db.drop().await;
}

#[tokio::test]
async fn mariadb_chunks_cover_every_row_once_and_resume() {
    chunks_cover_every_row_once_and_resume(SourceFlavor::MariaDb).await;
}

#[tokio::test]
async fn seekdb_chunks_cover_every_row_once_and_resume() {
    chunks_cover_every_row_once_and_resume(SourceFlavor::OceanBase).await;
}

async fn key_ranges_partition_the_table(flavor: SourceFlavor) {
    let mut db = TestDb::new(flavor, "snap_kr").await;
    db.run("CREATE TABLE t (id INT NOT NULL PRIMARY KEY, v INT)")
        .await;
    let values: Vec<String> = (1..=1000)
        .chain([-5000, 90_000])
        .map(|i| format!("({i}, {i})"))
        .collect();
    db.run(&format!("INSERT INTO t VALUES {}", values.join(",")))
        .await;
    let reader = Arc::new(db.reader("t", 100).await);
    let ranges = reader.key_ranges(4).await.unwrap();
    assert_eq!(ranges.len(), 4);
    assert_eq!(ranges[0].after, None);
    assert_eq!(ranges[3].up_to, None);

    // One task per range, as the pipeline runs them.
    let tasks: Vec<_> = ranges
        .into_iter()
        .map(|range: KeyRange| {
            let reader = reader.clone();
            tokio::spawn(async move {
                let mut ids = Vec::new();
                let mut after: Option<Vec<Value>> = None;
                loop {
                    let chunk = reader
                        .read_chunk_in(&range, after.as_deref())
                        .await
                        .unwrap();
                    ids.extend(chunk.rows.iter().map(|r| r[0].clone()));
                    match chunk.last_key {
                        Some(k) => after = Some(k),
                        None => break ids,
                    }
                }
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let want: Vec<Value> = std::iter::once(-5000)
        .chain(1..=1000)
        .chain([90_000])
        .map(Value::Int)
        .collect();
    all.sort_by_key(|v| match v {
        Value::Int(i) => *i,
        _ => unreachable!(),
    });
    assert_eq!(all, want);
    db.drop().await;
}

#[tokio::test]
async fn mariadb_key_ranges_partition_the_table() {
    key_ranges_partition_the_table(SourceFlavor::MariaDb).await;
}

#[tokio::test]
async fn seekdb_key_ranges_partition_the_table() {
    key_ranges_partition_the_table(SourceFlavor::OceanBase).await;
}

async fn keyless_table_streams_in_bounded_batches(flavor: SourceFlavor) {
    let mut db = TestDb::new(flavor, "snap_nk").await;
    db.run("CREATE TABLE nk (a INT, b VARCHAR(10))").await;
    // Identical rows on purpose: without a key they are still distinct rows.
    let values: Vec<String> = (0..2500).map(|i| format!("({}, 'v')", i % 10)).collect();
    db.run(&format!("INSERT INTO nk VALUES {}", values.join(",")))
        .await;
    let reader = db.reader("nk", 100).await;
    assert!(!reader.is_chunked());
    let err = reader.read_chunk(None).await.unwrap_err();
    assert!(matches!(err, SnapshotError::NoUsableKey { .. }), "{err}");

    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let progress = reader.progress();
    let scan = tokio::spawn(async move { reader.stream_all(tx).await });
    let mut batches = Vec::new();
    while let Some(batch) = rx.recv().await {
        assert!(batch.len() <= STREAM_BATCH_ROWS);
        batches.push(batch.len());
    }
    assert_eq!(scan.await.unwrap().unwrap(), 2500);
    assert_eq!(batches, [1000, 1000, 500]);
    assert_eq!(progress.load(Ordering::Relaxed), 2500);
    db.drop().await;
}

#[tokio::test]
async fn mariadb_keyless_table_streams_in_bounded_batches() {
    keyless_table_streams_in_bounded_batches(SourceFlavor::MariaDb).await;
}

#[tokio::test]
async fn seekdb_keyless_table_streams_in_bounded_batches() {
    keyless_table_streams_in_bounded_batches(SourceFlavor::OceanBase).await;
}

#[tokio::test]
async fn stopped_consumer_ends_the_scan_with_an_error() {
    let mut db = TestDb::new(SourceFlavor::MariaDb, "snap_stop").await;
    db.run("CREATE TABLE nk (a INT)").await;
    let values: Vec<String> = (0..3000).map(|i| format!("({i})")).collect();
    db.run(&format!("INSERT INTO nk VALUES {}", values.join(",")))
        .await;
    let reader = db.reader("nk", 100).await;
    let (tx, mut rx) = tokio::sync::mpsc::channel(1);
    let scan = tokio::spawn(async move { reader.stream_all(tx).await });
    rx.recv().await.unwrap();
    drop(rx);
    let err = scan.await.unwrap().unwrap_err();
    assert!(matches!(err, SnapshotError::ReceiverClosed { .. }), "{err}");
    db.drop().await;
}

/// 200 000 rows on seekdb. OceanBase kills a statement after `ob_query_timeout`
/// (10 s by default; the test services raise the global value), so the reader's
/// sessions set their own.
#[tokio::test]
async fn seekdb_large_table_reads_with_a_raised_query_timeout() {
    let mut db = TestDb::new(SourceFlavor::OceanBase, "snap_big").await;
    db.run("CREATE TABLE digits (d INT)").await;
    db.run("INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)")
        .await;
    db.run("CREATE TABLE big (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(40), n INT)")
        .await;
    db.run(
        "INSERT INTO big SELECT a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d + 100000*g.d, \
         CONCAT('row-', a.d, b.d, c.d), a.d FROM digits a, digits b, digits c, digits e, digits f, \
         (SELECT d FROM digits WHERE d < 2) g",
    )
    .await;

    // Control: the timeout is real; a short one kills a long statement.
    let mut control = db.ep.connect().await.unwrap();
    control
        .query_drop("SET ob_query_timeout = 1000000")
        .await
        .unwrap();
    let err = control
        .query_drop(format!(
            "SELECT COUNT(*) FROM {0}.big a, {0}.digits b, {0}.digits c, {0}.digits d",
            db.name
        ))
        .await
        .expect_err("a 1 s timeout should kill a 200M-row join");
    assert!(err.to_string().contains("4012"), "{err}");

    let reader = db.reader("big", 10_000).await;
    // seekdb reports TABLE_ROWS = 0 until statistics exist, so the estimate counts.
    let estimate = reader.estimate_rows().await.unwrap();
    assert_eq!((estimate.rows, estimate.exact), (200_000, true));

    let timeout: Option<u64> = reader
        .session()
        .await
        .unwrap()
        .query_first("SELECT @@ob_query_timeout")
        .await
        .unwrap();
    assert_eq!(timeout, Some(86_400_000_000));

    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let progress = reader.progress();
    let scan = tokio::spawn(async move { reader.stream_all(tx).await });
    let mut rows = 0usize;
    while let Some(batch) = rx.recv().await {
        rows += batch.len();
    }
    assert_eq!(scan.await.unwrap().unwrap(), 200_000);
    assert_eq!(rows, 200_000);
    assert_eq!(progress.load(Ordering::Relaxed), 200_000);

    // The chunked read of the same table sees every id once.
    let reader = db.reader("big", 10_000).await;
    let mut after: Option<Vec<Value>> = None;
    let mut next_id = 0i64;
    loop {
        let chunk = reader.read_chunk(after.as_deref()).await.unwrap();
        for row in &chunk.rows {
            assert_eq!(row[0], Value::Int(next_id));
            next_id += 1;
        }
        match chunk.last_key {
            Some(k) => after = Some(k),
            None => break,
        }
    }
    assert_eq!(next_id, 200_000);
    db.drop().await;
}

#[tokio::test]
async fn mariadb_position_has_file_offset_and_gtid() {
    let ep = endpoint(SourceFlavor::MariaDb);
    let mut conn = ep.connect().await.unwrap();
    let pos = current_position(&mut conn).await.unwrap();
    assert!(!pos.coord.file.is_empty());
    assert!(pos.coord.pos >= 4);
    let gtid = pos
        .gtid
        .expect("MariaDB always has a GTID state once it wrote events");
    assert!(
        gtid.0.split(',').all(|g| g.split('-').count() == 3),
        "{gtid}"
    );
}

#[tokio::test]
async fn seekdb_position_says_it_has_no_binlog() {
    let ep = endpoint(SourceFlavor::OceanBase);
    let mut conn = ep.connect().await.unwrap();
    let err = current_position(&mut conn).await.unwrap_err();
    assert!(matches!(err, SnapshotError::NoBinlog { .. }), "{err}");
    assert!(
        err.to_string().contains(
            "the source has no binlog (OceanBase needs its Binlog Service for incremental sync)"
        ),
        "{err}"
    );
}

#[tokio::test]
async fn seekdb_pooled_sessions_stay_in_utc_after_reset() {
    let pool = endpoint(SourceFlavor::OceanBase).pool().await.unwrap();
    for _ in 0..3 {
        let mut conn = pool.get_conn().await.unwrap();
        let zone: Option<String> = conn.query_first("SELECT @@time_zone").await.unwrap();
        assert_eq!(zone.as_deref(), Some("+00:00"));
    }
}
