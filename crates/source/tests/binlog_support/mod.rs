//! Shared helpers of the binlog reader tests (real MariaDB, no mocks).
#![allow(dead_code)] // each test binary uses a different subset

#[path = "../common/mod.rs"]
mod common;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use obsync_model::{Change, LogPosition, SourceEvent, TableId, TxnInfo, Value};
use obsync_source::binlog::{BinlogOptions, BinlogReader, StartFrom, TableFilter};
use obsync_source::{SourceEndpoint, SourceFlavor};
use obsync_testkit::MariaDbInstance;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How long a test waits for one event before failing.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(60);

pub fn shared_endpoint() -> SourceEndpoint {
    common::endpoint(SourceFlavor::MariaDb)
}

pub fn private_endpoint(db: &MariaDbInstance) -> SourceEndpoint {
    common::endpoint_of(SourceFlavor::MariaDb, db.server())
}

/// A replica id no other reader of this test run uses (ids are per server, and tests of
/// several processes share the server).
pub fn server_id() -> u32 {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    1_000_000 + (std::process::id() % 100_000) * 100 + NEXT.fetch_add(1, Ordering::Relaxed) % 100
}

pub fn db_filter(db: &str) -> TableFilter {
    let db = db.to_string();
    Arc::new(move |t: &TableId| t.database == db)
}

pub async fn reader(ep: &SourceEndpoint, start: StartFrom, filter: TableFilter) -> BinlogReader {
    let mut opts = BinlogOptions::new(server_id(), start, filter);
    opts.heartbeat = Duration::from_secs(1);
    BinlogReader::start(ep.clone(), opts)
        .await
        .expect("start the binlog reader")
}

/// A SQL session in UTC on `ep`.
pub async fn sql(ep: &SourceEndpoint) -> Conn {
    ep.connect().await.expect("connect")
}

pub async fn exec(conn: &mut Conn, statements: &[&str]) {
    for s in statements {
        conn.query_drop(*s)
            .await
            .unwrap_or_else(|e| panic!("{s}: {e}"));
    }
}

/// Creates database `db` with the given tables (statements run with `db` as default).
pub async fn create_db(conn: &mut Conn, db: &str, ddl: &[&str]) {
    exec(
        conn,
        &[&format!("CREATE DATABASE {db}"), &format!("USE {db}")],
    )
    .await;
    exec(conn, ddl).await;
}

pub async fn next(r: &mut BinlogReader) -> SourceEvent {
    tokio::time::timeout(EVENT_TIMEOUT, r.next())
        .await
        .expect("an event within the timeout")
        .unwrap_or_else(|e| panic!("reader failed: {e}"))
}

/// The next event that is not `Progress` or `CaughtUp`.
pub async fn next_relevant(r: &mut BinlogReader) -> SourceEvent {
    loop {
        match next(r).await {
            SourceEvent::Progress { .. } | SourceEvent::CaughtUp => continue,
            ev => return ev,
        }
    }
}

/// One transaction as read.
#[derive(Debug)]
pub struct Txn {
    pub info: Arc<TxnInfo>,
    pub rows: Vec<Change>,
    pub xid: Option<u64>,
    pub end: LogPosition,
}

/// Reads the next transaction (skipping `Progress` and `CaughtUp`); panics on anything
/// else.
pub async fn next_txn(r: &mut BinlogReader) -> Txn {
    let info = match next_relevant(r).await {
        SourceEvent::Begin(info) => info,
        other => panic!("expected Begin, got {other:?}"),
    };
    let mut rows = Vec::new();
    loop {
        match next(r).await {
            SourceEvent::Row(c) => rows.push(c),
            SourceEvent::Commit { txn, xid, end, .. } => {
                assert!(
                    Arc::ptr_eq(&txn, &info),
                    "Commit names its Begin's transaction"
                );
                return Txn {
                    info,
                    rows,
                    xid,
                    end,
                };
            }
            other => panic!("expected Row or Commit inside a transaction, got {other:?}"),
        }
    }
}

pub fn int(v: i64) -> Value {
    Value::Int(v)
}

pub fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}
