//! Binlog reader throughput on a 1,000,000-row binlog (10 realistic columns), read from
//! a private MariaDB (so other tests' traffic neither disturbs nor bloats the shared one;
//! needs `scripts/services up` for the MariaDB binaries).
//!
//! Run: `cargo bench -p obsync-source --bench binlog`
//!
//! Writes the rows as 100 transactions of 10,000 rows (`INSERT … SELECT` from the
//! Sequence engine), then reads that stretch of binlog, best of three runs each:
//! - wire: mysql_async's binlog stream alone (events received, nothing decoded);
//! - reader: `BinlogReader` from the first transaction's position: every row decoded
//!   into model `Value`s with information_schema metadata, grouped into transactions.
//!
//! The figure is source + decode cost, without Kafka or formatting.

#[path = "../tests/common/mod.rs"]
mod common;

use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::BinlogStreamRequest;
use obsync_model::{BinlogCoord, LogPosition, SourceEvent, TableId};
use obsync_source::binlog::{BinlogOptions, BinlogReader, StartFrom};
use obsync_source::{SourceEndpoint, SourceFlavor};
use obsync_testkit::MariaDbInstance;
use std::sync::Arc;
use std::time::{Duration, Instant};

const TXNS: u64 = 100;
const ROWS_PER_TXN: u64 = 10_000;
const RUNS: usize = 3;

const ORDERS: &str = "CREATE TABLE orders (
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

fn insert_batch(first: u64) -> String {
    format!(
        "INSERT INTO orders SELECT n, n % 50000, ELT(1 + n % 4, 'new','paid','shipped','cancelled'), \
         (n % 100000) / 100, 'EUR', CONCAT('order note ', n), \
         TIMESTAMPADD(SECOND, n, '2024-01-01 00:00:00.123456'), \
         TIMESTAMPADD(SECOND, n, '2024-06-01 00:00:00.654321'), n % 256, \
         CONCAT('{{\"sku\":\"SKU-', n % 1000, '\",\"qty\":', n % 7, ',\"gift\":false}}') \
         FROM (SELECT {first} + seq AS n FROM seq_0_to_{}) s",
        ROWS_PER_TXN - 1
    )
}

async fn master_status(conn: &mut mysql_async::Conn) -> BinlogCoord {
    let row: mysql_async::Row = conn
        .query_first("SHOW MASTER STATUS")
        .await
        .unwrap()
        .unwrap();
    BinlogCoord::new(
        row.get::<String, _>(0).unwrap(),
        row.get::<u64, _>(1).unwrap(),
    )
}

/// Events and bytes of the stretch, as mysql_async delivers them (no decoding).
async fn wire(ep: &SourceEndpoint, start: &BinlogCoord) -> (u64, u64) {
    let conn = ep.connect().await.unwrap();
    let req = BinlogStreamRequest::new(4242)
        .with_filename(start.file.as_bytes())
        .with_pos(start.pos)
        .with_non_blocking();
    let mut s = conn.get_binlog_stream(req).await.unwrap();
    let (mut events, mut bytes) = (0u64, 0u64);
    while let Some(ev) = s.next().await {
        let ev = ev.unwrap();
        events += 1;
        bytes += ev.header().event_size() as u64;
    }
    (events, bytes)
}

/// Rows decoded by the reader until the stretch's last commit.
async fn reader(ep: &SourceEndpoint, start: &BinlogCoord) -> u64 {
    let filter = Arc::new(|t: &TableId| t.database == "shop");
    let start = StartFrom::Position(LogPosition {
        coord: start.clone(),
        gtid: None,
    });
    let mut r = BinlogReader::start(ep.clone(), BinlogOptions::new(4243, start, filter))
        .await
        .unwrap();
    let (mut rows, mut commits) = (0u64, 0u64);
    while commits < TXNS {
        match r.next().await.unwrap() {
            SourceEvent::Row(_) => rows += 1,
            SourceEvent::Commit { .. } => commits += 1,
            _ => {}
        }
    }
    r.close().await;
    rows
}

fn best(times: &[Duration]) -> Duration {
    *times.iter().min().unwrap()
}

fn main() {
    let server = MariaDbInstance::spawn();
    let ep = common::endpoint_of(SourceFlavor::MariaDb, server.server());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut conn = ep.connect().await.unwrap();
        conn.query_drop("CREATE DATABASE shop").await.unwrap();
        conn.query_drop("USE shop").await.unwrap();
        conn.query_drop(ORDERS).await.unwrap();
        let start = master_status(&mut conn).await;
        let load = Instant::now();
        for t in 0..TXNS {
            conn.query_drop(insert_batch(1 + t * ROWS_PER_TXN)).await.unwrap();
        }
        let rows = TXNS * ROWS_PER_TXN;
        let end = master_status(&mut conn).await;
        println!(
            "loaded {rows} rows in {TXNS} transactions in {:.1?}; binlog {start} .. {end}",
            load.elapsed()
        );

        let mut wire_times = Vec::new();
        let mut reader_times = Vec::new();
        let mut wire_bytes = 0;
        for _ in 0..RUNS {
            let t = Instant::now();
            let (_events, bytes) = wire(&ep, &start).await;
            wire_times.push(t.elapsed());
            wire_bytes = bytes;
            let t = Instant::now();
            assert_eq!(reader(&ep, &start).await, rows);
            reader_times.push(t.elapsed());
        }
        let mb = wire_bytes as f64 / 1e6;
        for (name, times) in [("wire", &wire_times), ("reader", &reader_times)] {
            let b = best(times).as_secs_f64();
            println!(
                "{name:>6}: {rows} rows, {mb:.0} MB in {b:.2} s = {:.0} rows/s, {:.0} MB/s (best of {RUNS})",
                rows as f64 / b,
                mb / b
            );
        }
    });
}
