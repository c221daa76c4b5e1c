//! A 1,000,000-row transaction streams through the binlog reader in bounded memory.
//! Its own test binary, so the process's peak RSS (VmHWM) measures this test alone.
//! Runs on a private MariaDB; needs `scripts/services up` (for the MariaDB binaries).

mod binlog_support;

use binlog_support::*;
use obsync_model::{SourceEvent, Value};
use obsync_source::binlog::StartFrom;
use obsync_testkit::MariaDbInstance;

const ROWS: i64 = 1_000_000;

/// Peak resident memory the whole test process may reach (measured: about 11 MB). The
/// transaction's binlog is about 100 MB; the reader holds at most one rows event (a few
/// KB) of it at a time, so buffering the transaction would break this bound.
const MAX_PEAK_RSS_MB: u64 = 100;

/// Ten columns of an ordinary order table.
pub const ORDERS: &str = "CREATE TABLE orders (
    id BIGINT PRIMARY KEY, customer_id INT NOT NULL,
    status ENUM('new','paid','shipped','cancelled') NOT NULL, amount DECIMAL(12,2) NOT NULL,
    currency CHAR(3) NOT NULL, note VARCHAR(100), created_at DATETIME(6) NOT NULL,
    updated_at TIMESTAMP(6) NULL DEFAULT NULL, qty SMALLINT UNSIGNED NOT NULL, flags BIT(8) NOT NULL
)";

fn fill(rows: i64) -> String {
    format!(
        "INSERT INTO orders SELECT seq, seq % 10000, 1 + seq % 4, seq / 100, 'EUR', \
         CONCAT('order note ', seq), '2024-01-01 00:00:00' + INTERVAL seq SECOND, \
         FROM_UNIXTIME(1700000000 + seq), seq % 1000, seq % 256 FROM seq_1_to_{rows}"
    )
}

fn peak_rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/self/status");
    kb / 1024
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn million_row_transaction_streams_in_bounded_memory() {
    let server = tokio::task::block_in_place(MariaDbInstance::spawn);
    let ep = private_endpoint(&server);
    let mut conn = sql(&ep).await;
    create_db(&mut conn, "shop", &[ORDERS]).await;
    let mut r = reader(&ep, StartFrom::Current, db_filter("shop")).await;
    exec(&mut conn, &[&fill(ROWS)]).await;

    let begin = match next_relevant(&mut r).await {
        SourceEvent::Begin(info) => info,
        other => panic!("expected Begin, got {other:?}"),
    };
    let mut expected_id = 1i64;
    loop {
        match next(&mut r).await {
            SourceEvent::Row(c) => {
                let after = c.row.after().unwrap();
                assert_eq!(after[0], Value::Int(expected_id));
                assert_eq!(after.len(), 10);
                expected_id += 1;
            }
            SourceEvent::Commit { txn, .. } => {
                assert_eq!(txn.seq, begin.seq);
                break;
            }
            other => panic!("unexpected {other:?} inside the transaction"),
        }
    }
    assert_eq!(expected_id - 1, ROWS, "every row once, in order");
    let peak = peak_rss_mb();
    eprintln!("peak RSS of the test process after {ROWS} rows: {peak} MB");
    assert!(
        peak < MAX_PEAK_RSS_MB,
        "peak RSS {peak} MB ≥ {MAX_PEAK_RSS_MB} MB"
    );
}
