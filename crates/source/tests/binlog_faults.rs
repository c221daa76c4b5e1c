//! The binlog reader across a killed dump connection and a server restart, on a private
//! MariaDB (the shared one is never disturbed): no transaction or row is lost or
//! repeated, even when the connection drops in the middle of a transaction; a source
//! silent for longer than the reader waits is re-opened in the start's mode.
//! Needs `scripts/services up` (for the MariaDB binaries); fails when they are down.

mod binlog_support;

use binlog_support::*;
use mysql_async::prelude::Queryable;
use obsync_model::{SourceEvent, TxnInfo, Value};
use obsync_source::binlog::{BinlogOptions, BinlogReader, Positioning, StartFrom};
use obsync_source::SourceEndpoint;
use obsync_testkit::MariaDbInstance;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Rows in each large transaction, each with a [`PAD`]-byte blob: 50 MB, far more than
/// the socket buffers hold, so the reader is still inside the transaction when its
/// connection drops.
const BIG: i64 = 1000;
const PAD: usize = 50_000;

/// What the reader returned, without the row payloads.
#[derive(Debug)]
enum Seen {
    Begin(Arc<TxnInfo>),
    Row(i64),
    Commit,
}

/// Reads in its own task (so the server can always send, even while the test stops it)
/// until `commits` transactions have ended; returns the reader.
fn read_in_background(
    mut r: BinlogReader,
    commits: usize,
    tx: mpsc::UnboundedSender<Seen>,
) -> tokio::task::JoinHandle<BinlogReader> {
    tokio::spawn(async move {
        let mut done = 0;
        while done < commits {
            let seen = match next(&mut r).await {
                SourceEvent::Begin(info) => Seen::Begin(info),
                SourceEvent::Row(c) => match c.row.after().unwrap()[0] {
                    Value::Int(id) => Seen::Row(id),
                    ref other => panic!("unexpected id {other:?}"),
                },
                SourceEvent::Commit { .. } => {
                    done += 1;
                    Seen::Commit
                }
                SourceEvent::Progress { .. } | SourceEvent::Ddl { .. } | SourceEvent::CaughtUp => {
                    continue
                }
            };
            let _ = tx.send(seen);
        }
        r
    })
}

/// Waits until the reader has returned `n` more rows.
async fn rows_seen(rx: &mut mpsc::UnboundedReceiver<Seen>, log: &mut Vec<Seen>, n: usize) {
    let mut rows = 0;
    while rows < n {
        let s = tokio::time::timeout(EVENT_TIMEOUT, rx.recv())
            .await
            .expect("rows within the timeout")
            .expect("reader task alive");
        if matches!(s, Seen::Row(_)) {
            rows += 1;
        }
        log.push(s);
    }
}

async fn kill_dump_threads(ep: &SourceEndpoint) -> usize {
    let mut conn = sql(ep).await;
    let ids: Vec<u64> = conn
        .query("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
        .await
        .unwrap();
    for id in &ids {
        conn.query_drop(format!("KILL {id}")).await.unwrap();
    }
    ids.len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_connection_and_server_restart_lose_and_repeat_nothing() {
    let mut server = tokio::task::block_in_place(MariaDbInstance::spawn);
    let ep = private_endpoint(&server);
    let mut conn = sql(&ep).await;
    create_db(
        &mut conn,
        "shop",
        &["CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20), pad MEDIUMBLOB)"],
    )
    .await;
    let r = reader(&ep, StartFrom::Current, db_filter("shop")).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let task = read_in_background(r, 4, tx);
    let mut log = Vec::new();

    // 1. The dump thread is killed in the middle of a large transaction.
    exec(
        &mut conn,
        &[
            &format!("INSERT INTO t SELECT seq, 'a', REPEAT('x', {PAD}) FROM seq_1_to_{BIG}"),
            &format!("INSERT INTO t VALUES ({}, 'b', '')", BIG + 1),
        ],
    )
    .await;
    rows_seen(&mut rx, &mut log, 100).await;
    assert_eq!(kill_dump_threads(&ep).await, 1);

    // 2. The server restarts during the next large transaction.
    let base = 1_000_000;
    exec(
        &mut conn,
        &[&format!(
            "INSERT INTO t SELECT {base} + seq, 'c', REPEAT('y', {PAD}) FROM seq_1_to_{BIG}"
        )],
    )
    .await;
    conn.disconnect().await.unwrap();
    rows_seen(&mut rx, &mut log, BIG as usize + 1 + 100).await;
    tokio::task::block_in_place(|| {
        server.stop();
        server.start();
    });

    // 3. Writes after the restart arrive too.
    let mut conn = sql(&ep).await;
    exec(&mut conn, &["INSERT INTO shop.t VALUES (5000000, 'd', '')"]).await;
    let r = tokio::time::timeout(EVENT_TIMEOUT * 2, task)
        .await
        .expect("the reader ends within the timeout")
        .expect("reader task");
    while let Ok(s) = rx.try_recv() {
        log.push(s);
    }

    let ids: Vec<i64> = log
        .iter()
        .filter_map(|s| match s {
            Seen::Row(id) => Some(*id),
            _ => None,
        })
        .collect();
    let mut want: Vec<i64> = (1..=BIG + 1).collect();
    want.extend((1..=BIG).map(|i| base + i));
    want.push(5_000_000);
    assert_eq!(ids.len(), want.len(), "no row lost or repeated");
    assert!(ids == want, "rows arrive once each, in order");
    let begins: Vec<u64> = log
        .iter()
        .filter_map(|s| match s {
            Seen::Begin(info) => Some(info.seq),
            _ => None,
        })
        .collect();
    assert_eq!(begins.len(), 4, "each transaction begins once: {begins:?}");
    assert!(begins.windows(2).all(|w| w[0] < w[1]), "{begins:?}");
    assert!(r.reconnects() >= 2, "one reconnect per fault at least");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_connection_is_reopened_in_the_same_mode_and_loses_nothing() {
    // Heartbeats asked for far more rarely than the silence window make this MariaDB as
    // silent as a source that sends none: the reader must re-open (by GTID here, the
    // start's mode) and carry on.
    // A private server: the shared one is never silent while other tests write.
    let server = tokio::task::block_in_place(MariaDbInstance::spawn);
    let ep = private_endpoint(&server);
    let db = "idle";
    let mut conn = sql(&ep).await;
    create_db(
        &mut conn,
        db,
        &["CREATE TABLE t1 (id INT PRIMARY KEY, v VARCHAR(20))"],
    )
    .await;
    let gtid: String = conn
        .query_first("SELECT @@gtid_binlog_pos")
        .await
        .unwrap()
        .unwrap();
    let mut opts = BinlogOptions::new(
        server_id(),
        StartFrom::Gtid(obsync_model::Gtid(gtid)),
        db_filter(db),
    );
    opts.heartbeat = Duration::from_secs(60);
    opts.silence = Some(Duration::from_millis(500));
    opts.positioning = Positioning::Gtid;
    opts.reconnect.max_attempts = 3;
    let mut r = BinlogReader::start(ep.clone(), opts).await.unwrap();
    exec(&mut conn, &["INSERT INTO t1 VALUES (1, 'a')"]).await;
    let first = next_txn(&mut r).await;
    // Silent, the reader asks the server where its binlog ends: right where the reader
    // is, so it reports that it is caught up (the lag is 0 then, not the idle time).
    loop {
        match next(&mut r).await {
            SourceEvent::CaughtUp => break,
            SourceEvent::Progress { .. } => continue,
            other => panic!("only CaughtUp expected while idle, got {other:?}"),
        }
    }
    // The reader waits through several silence windows (each re-open must work: three
    // failed attempts in a row would end it) before the next write.
    let (second, ()) = tokio::join!(next_txn(&mut r), async {
        tokio::time::sleep(Duration::from_secs(3)).await;
        exec(&mut conn, &["INSERT INTO t1 VALUES (2, 'b')"]).await;
    });
    assert_eq!(first.rows.len(), 1);
    assert_eq!(second.rows.len(), 1);
    assert_eq!(second.rows[0].row.after().unwrap()[0], Value::Int(2));
    assert!(r.reconnects() >= 1, "the silent connection was re-opened");
    // The position kept its GTID state across the re-opens.
    assert!(second.end.gtid.is_some());
}
