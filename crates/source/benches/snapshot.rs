//! Snapshot throughput on a 1,000,000-row table with 10 realistic columns, read from
//! the local MariaDB and seekdb services (`scripts/services up`).
//!
//! Run: `cargo bench -p obsync-source --bench snapshot [-- mariadb|seekdb]`
//!
//! Loads the table with one `INSERT … SELECT` (MariaDB: the Sequence engine's
//! `seq_1_to_1000000`; seekdb: a cross join of a digits table), then reads it three
//! ways and prints rows/s:
//! - chunked: `read_chunk` in key order, one chunk after another (10,000 rows each);
//! - ranges: `key_ranges(4)` read by 4 concurrent tasks, chunk by chunk;
//! - stream: one `stream_all` scan in batches of 1,000 rows.
//!
//! Every read decodes every value into model `Value`s and drops the rows, so the
//! figure is source + decode cost, without Kafka or formatting.

#[path = "../tests/common/mod.rs"]
mod common;

use common::endpoint;
use mysql_async::prelude::Queryable;
use obsync_model::{TableId, Value};
use obsync_source::metadata::MetadataReader;
use obsync_source::snapshot::{SnapshotReader, DEFAULT_CHUNK_ROWS};
use obsync_source::{SourceEndpoint, SourceFlavor};
use obsync_testkit::unique_name;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ROWS: u64 = 1_000_000;
const RANGES: usize = 4;

const DDL: &str = "CREATE TABLE orders (
    id BIGINT NOT NULL PRIMARY KEY,
    customer_id INT NOT NULL,
    status ENUM('new','paid','shipped','cancelled') NOT NULL,
    amount DECIMAL(12,2) NOT NULL,
    currency CHAR(3) NOT NULL,
    note VARCHAR(64),
    created_at DATETIME(6) NOT NULL,
    updated_at TIMESTAMP(6) NULL DEFAULT NULL,
    flags TINYINT UNSIGNED NOT NULL,
    payload TEXT
) DEFAULT CHARSET = utf8mb4";

/// The SELECT list producing row `n` of the table from an integer expression `n`.
fn row_expr(n: &str) -> String {
    format!(
        "{n}, {n} % 50000, ELT(1 + {n} % 4, 'new','paid','shipped','cancelled'), \
         ({n} % 100000) / 100, 'EUR', CONCAT('order note ', {n}), \
         TIMESTAMPADD(SECOND, {n}, '2024-01-01 00:00:00.123456'), \
         TIMESTAMPADD(SECOND, {n}, '2024-06-01 00:00:00.654321'), {n} % 256, \
         CONCAT('{{\"sku\":\"SKU-', {n} % 1000, '\",\"qty\":', {n} % 7, ',\"gift\":false}}')"
    )
}

async fn run(conn: &mut mysql_async::Conn, sql: String) {
    conn.query_drop(&sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}

async fn load(ep: &SourceEndpoint, db: &str) -> Duration {
    let mut conn = ep.connect().await.expect("connect");
    let started = Instant::now();
    run(&mut conn, format!("CREATE DATABASE {db}")).await;
    run(&mut conn, format!("USE {db}")).await;
    run(&mut conn, DDL.to_string()).await;
    match ep.flavor {
        SourceFlavor::OceanBase => {
            run(&mut conn, "SET ob_query_timeout = 3600000000".into()).await;
            run(&mut conn, "CREATE TABLE digits (d INT)".into()).await;
            run(
                &mut conn,
                "INSERT INTO digits VALUES (0),(1),(2),(3),(4),(5),(6),(7),(8),(9)".into(),
            )
            .await;
            let n = "(a.d + 10*b.d + 100*c.d + 1000*e.d + 10000*f.d + 100000*g.d + 1)";
            run(
                &mut conn,
                format!(
                    "INSERT INTO orders SELECT {} FROM digits a, digits b, digits c, digits e, \
                 digits f, digits g",
                    row_expr(n)
                ),
            )
            .await;
        }
        _ => {
            run(
                &mut conn,
                format!(
                    "INSERT INTO orders SELECT {} FROM seq_1_to_{ROWS}",
                    row_expr("seq")
                ),
            )
            .await;
            run(&mut conn, "ANALYZE TABLE orders".into()).await;
        }
    }
    started.elapsed()
}

fn report(flavor: SourceFlavor, mode: &str, rows: u64, elapsed: Duration) {
    assert_eq!(rows, ROWS, "{mode} read {rows} rows");
    println!(
        "| {flavor} | {mode} | {rows} | {:.2} s | {:.0} rows/s |",
        elapsed.as_secs_f64(),
        rows as f64 / elapsed.as_secs_f64()
    );
}

async fn chunked(reader: &SnapshotReader) -> u64 {
    let mut rows = 0u64;
    let mut after: Option<Vec<Value>> = None;
    loop {
        let chunk = reader.read_chunk(after.as_deref()).await.expect("chunk");
        rows += chunk.rows.len() as u64;
        match chunk.last_key {
            Some(k) => after = Some(k),
            None => return rows,
        }
    }
}

async fn ranges(reader: Arc<SnapshotReader>) -> u64 {
    let ranges = reader.key_ranges(RANGES).await.expect("ranges");
    let tasks: Vec<_> = ranges
        .into_iter()
        .map(|range| {
            let reader = reader.clone();
            tokio::spawn(async move {
                let mut rows = 0u64;
                let mut after: Option<Vec<Value>> = None;
                loop {
                    let chunk = reader
                        .read_chunk_in(&range, after.as_deref())
                        .await
                        .expect("chunk");
                    rows += chunk.rows.len() as u64;
                    match chunk.last_key {
                        Some(k) => after = Some(k),
                        None => return rows,
                    }
                }
            })
        })
        .collect();
    let mut rows = 0;
    for t in tasks {
        rows += t.await.expect("task");
    }
    rows
}

async fn stream(reader: SnapshotReader) -> u64 {
    let (tx, mut rx) = tokio::sync::mpsc::channel(4);
    let scan = tokio::spawn(async move { reader.stream_all(tx).await });
    let mut rows = 0u64;
    while let Some(batch) = rx.recv().await {
        rows += batch.len() as u64;
    }
    scan.await.expect("task").expect("scan");
    rows
}

async fn bench(flavor: SourceFlavor) {
    let ep = endpoint(flavor);
    let db = unique_name("bench_snap");
    let load_time = load(&ep, &db).await;
    eprintln!(
        "loaded {ROWS} rows into {flavor} in {:.1} s",
        load_time.as_secs_f64()
    );
    let pool = ep.pool().await.unwrap();
    let meta = Arc::new(
        MetadataReader::new(pool.clone())
            .table_meta(&TableId::new(&db, "orders"))
            .await
            .expect("metadata"),
    );
    let chunk_rows = std::env::var("CHUNK_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CHUNK_ROWS);
    let new_reader = || SnapshotReader::new(pool.clone(), meta.clone(), chunk_rows);

    let started = Instant::now();
    let rows = chunked(&new_reader()).await;
    report(flavor, "chunked", rows, started.elapsed());

    let started = Instant::now();
    let rows = ranges(Arc::new(new_reader())).await;
    report(flavor, "ranges x4", rows, started.elapsed());

    let started = Instant::now();
    let rows = stream(new_reader()).await;
    report(flavor, "stream", rows, started.elapsed());

    let mut conn = ep.connect().await.expect("connect");
    conn.query_drop(format!("DROP DATABASE {db}"))
        .await
        .expect("drop");
}

fn main() {
    // `cargo bench` passes `--bench`; an optional filter picks one server.
    let filter = std::env::args().skip(1).find(|a| !a.starts_with("--"));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    println!("| server | mode | rows | time | rows/s |\n|---|---|---|---|---|");
    for (name, flavor) in [
        ("mariadb", SourceFlavor::MariaDb),
        ("seekdb", SourceFlavor::OceanBase),
    ] {
        if filter.as_deref().is_none_or(|f| f == name) {
            runtime.block_on(bench(flavor));
        }
    }
}
