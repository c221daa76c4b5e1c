//! Binlog reader behaviour against the shared MariaDB: transactions, positions,
//! rotation, resume (file:pos and GTID), DDL, renames and start-from-timestamp.
//! Needs `scripts/services up`; fails when the services are down.

mod binlog_support;

use binlog_support::*;
use mysql_async::prelude::Queryable;
use obsync_model::{BinlogCoord, LogPosition};
use obsync_model::{RowChange, SourceEvent, TableId, Value};
use obsync_source::binlog::{
    first_event_time, oldest_retained_time, BinlogError, BinlogOptions, BinlogReader, StartFrom,
};
use obsync_testkit::unique_name;
use std::sync::Arc;
use std::time::Duration;

const T1: &str = "CREATE TABLE t1 (id INT PRIMARY KEY, v VARCHAR(20))";
const T2: &str = "CREATE TABLE t2 (id BIGINT PRIMARY KEY, n INT)";

fn key(c: &obsync_model::Change) -> &Value {
    &c.row.key_image()[0]
}

#[tokio::test]
async fn multi_statement_transactions_are_grouped_in_order() {
    let ep = shared_endpoint();
    let db = unique_name("bl_txn");
    let mut conn = sql(&ep).await;
    create_db(&mut conn, &db, &[T1, T2]).await;
    let mut r = reader(&ep, StartFrom::Current, db_filter(&db)).await;

    exec(
        &mut conn,
        &[
            "BEGIN",
            "INSERT INTO t1 VALUES (1, 'a'), (2, 'b')",
            "INSERT INTO t2 VALUES (10, 1)",
            "UPDATE t1 SET v = 'c' WHERE id = 1",
            "DELETE FROM t2 WHERE id = 10",
            "COMMIT",
            "INSERT INTO t2 VALUES (11, 2)",
        ],
    )
    .await;

    let t = next_txn(&mut r).await;
    let summary: Vec<(String, &'static str, Value, u32)> = t
        .rows
        .iter()
        .map(|c| {
            let kind = match c.row {
                RowChange::Insert { .. } => "insert",
                RowChange::Update { .. } => "update",
                RowChange::Delete { .. } => "delete",
                RowChange::Snapshot { .. } => "snapshot",
            };
            let index = match &c.origin {
                obsync_model::ChangeOrigin::Binlog { txn, index, .. } => {
                    assert!(Arc::ptr_eq(txn, &t.info));
                    *index
                }
                other => panic!("binlog origin expected, got {other:?}"),
            };
            (c.table.id.table.clone(), kind, key(c).clone(), index)
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            ("t1".into(), "insert", int(1), 0),
            ("t1".into(), "insert", int(2), 1),
            ("t2".into(), "insert", int(10), 2),
            ("t1".into(), "update", int(1), 3),
            ("t2".into(), "delete", int(10), 4),
        ]
    );
    assert!(t.xid.is_some(), "InnoDB commits carry an XID");
    assert!(
        t.info.gtid.is_some(),
        "MariaDB transactions carry their GTID"
    );
    assert!(t.end.gtid.is_some());
    assert!(t.end.coord.pos > t.info.start.pos);

    let t2 = next_txn(&mut r).await;
    assert_eq!(t2.rows.len(), 1);
    assert!(t2.info.seq > t.info.seq);
    assert_eq!(
        t2.info.start, t.end.coord,
        "the next transaction starts where the last ended"
    );
    exec(&mut conn, &[&format!("DROP DATABASE {db}")]).await;
}

#[tokio::test]
async fn update_that_changes_the_primary_key_has_old_and_new_images() {
    let ep = shared_endpoint();
    let db = unique_name("bl_pk");
    let mut conn = sql(&ep).await;
    create_db(&mut conn, &db, &[T1, "INSERT INTO t1 VALUES (1, 'a')"]).await;
    let mut r = reader(&ep, StartFrom::Current, db_filter(&db)).await;
    exec(&mut conn, &["UPDATE t1 SET id = 100 WHERE id = 1"]).await;
    let t = next_txn(&mut r).await;
    match &t.rows[0].row {
        RowChange::Update { before, after } => {
            assert_eq!(before, &vec![int(1), text("a")]);
            assert_eq!(after, &vec![int(100), text("a")]);
        }
        other => panic!("expected update, got {other:?}"),
    }
    exec(&mut conn, &[&format!("DROP DATABASE {db}")]).await;
}

#[tokio::test]
async fn rotation_is_followed_and_positions_name_the_new_file() {
    let ep = shared_endpoint();
    let db = unique_name("bl_rot");
    let mut conn = sql(&ep).await;
    create_db(&mut conn, &db, &[T1]).await;
    let mut r = reader(&ep, StartFrom::Current, db_filter(&db)).await;
    exec(
        &mut conn,
        &[
            "INSERT INTO t1 VALUES (1, 'a')",
            "FLUSH BINARY LOGS",
            "INSERT INTO t1 VALUES (2, 'b')",
        ],
    )
    .await;
    let a = next_txn(&mut r).await;
    let b = next_txn(&mut r).await;
    assert_eq!(key(&a.rows[0]), &int(1));
    assert_eq!(key(&b.rows[0]), &int(2));
    assert_ne!(
        a.end.coord.file, b.end.coord.file,
        "the second commit is in the new file"
    );
    assert!(!b.end.coord.file.is_empty() && b.end.coord.file.is_ascii());

    // The reported position is exact: a reader started there sees the second row only.
    let mut again = reader(&ep, StartFrom::Position(a.end.clone()), db_filter(&db)).await;
    let t = next_txn(&mut again).await;
    assert_eq!(key(&t.rows[0]), &int(2));
    assert_eq!(t.end, b.end);
    exec(&mut conn, &[&format!("DROP DATABASE {db}")]).await;
}

#[tokio::test]
async fn starting_from_a_commit_position_resumes_right_after_that_transaction() {
    let ep = shared_endpoint();
    let db = unique_name("bl_resume");
    let mut conn = sql(&ep).await;
    create_db(&mut conn, &db, &[T1]).await;
    let mut r = reader(&ep, StartFrom::Current, db_filter(&db)).await;
    for i in 1..=3 {
        exec(&mut conn, &[&format!("INSERT INTO t1 VALUES ({i}, 'x')")]).await;
    }
    let first = next_txn(&mut r).await;
    let second = next_txn(&mut r).await;
    let third = next_txn(&mut r).await;

    // By file:pos, without the GTID state: the reader asks the server for it.
    let mut plain = first.end.clone();
    plain.gtid = None;
    let mut by_pos = reader(&ep, StartFrom::Position(plain), db_filter(&db)).await;
    let t = next_txn(&mut by_pos).await;
    assert_eq!(key(&t.rows[0]), &int(2));
    assert_eq!(
        t.end, second.end,
        "same coordinates and GTID state as the first reading"
    );

    // By GTID (MariaDB @slave_connect_state).
    let gtid = second
        .end
        .gtid
        .clone()
        .expect("MariaDB positions carry a GTID state");
    let mut by_gtid = reader(&ep, StartFrom::Gtid(gtid), db_filter(&db)).await;
    let t = next_txn(&mut by_gtid).await;
    assert_eq!(key(&t.rows[0]), &int(3));
    assert_eq!(t.end, third.end);
    exec(&mut conn, &[&format!("DROP DATABASE {db}")]).await;
}

#[tokio::test]
async fn ddl_mid_stream_refreshes_columns_for_later_rows() {
    let ep = shared_endpoint();
    let db = unique_name("bl_ddl");
    let mut conn = sql(&ep).await;
    exec(
        &mut conn,
        &[&format!("CREATE DATABASE {db}"), &format!("USE {db}")],
    )
    .await;
    let mut r = reader(&ep, StartFrom::Current, db_filter(&db)).await;

    exec(&mut conn, &["CREATE TABLE t (id INT PRIMARY KEY, a INT)"]).await;
    expect_ddl(&mut r, &db, "t", "CREATE TABLE").await;
    exec(&mut conn, &["INSERT INTO t VALUES (1, 10)"]).await;
    let t = next_txn(&mut r).await;
    assert_eq!(t.rows[0].row.after().unwrap(), &vec![int(1), int(10)]);

    exec(&mut conn, &["ALTER TABLE t ADD COLUMN b VARCHAR(10)"]).await;
    expect_ddl(&mut r, &db, "t", "ADD COLUMN").await;
    exec(&mut conn, &["INSERT INTO t VALUES (2, 20, 'x')"]).await;
    let t = next_txn(&mut r).await;
    assert_eq!(names(&t), ["id", "a", "b"]);
    assert_eq!(
        t.rows[0].row.after().unwrap(),
        &vec![int(2), int(20), text("x")]
    );

    exec(&mut conn, &["ALTER TABLE t DROP COLUMN a"]).await;
    expect_ddl(&mut r, &db, "t", "DROP COLUMN").await;
    exec(&mut conn, &["INSERT INTO t VALUES (3, 'y')"]).await;
    let t = next_txn(&mut r).await;
    assert_eq!(names(&t), ["id", "b"]);
    assert_eq!(t.rows[0].row.after().unwrap(), &vec![int(3), text("y")]);

    exec(&mut conn, &["UPDATE t SET b = '7'"]).await;
    assert_eq!(next_txn(&mut r).await.rows.len(), 3);
    exec(
        &mut conn,
        &["ALTER TABLE t MODIFY COLUMN b BIGINT UNSIGNED"],
    )
    .await;
    expect_ddl(&mut r, &db, "t", "MODIFY").await;
    exec(
        &mut conn,
        &["INSERT INTO t VALUES (4, 18446744073709551615)"],
    )
    .await;
    let t = next_txn(&mut r).await;
    assert_eq!(
        t.rows[0].row.after().unwrap(),
        &vec![int(4), Value::UInt(u64::MAX)]
    );
    exec(&mut conn, &[&format!("DROP DATABASE {db}")]).await;
}

fn names(t: &Txn) -> Vec<String> {
    t.rows[0]
        .table
        .columns
        .iter()
        .map(|c| c.name.clone())
        .collect()
}

async fn expect_ddl(
    r: &mut obsync_source::binlog::BinlogReader,
    db: &str,
    table: &str,
    contains: &str,
) {
    match next_relevant(r).await {
        SourceEvent::Ddl {
            database,
            table: t,
            statement,
            ..
        } => {
            assert_eq!(database, db);
            assert_eq!(t, Some(TableId::new(db, table)));
            assert!(statement.contains(contains), "{statement}");
        }
        other => panic!("expected DDL, got {other:?}"),
    }
}

#[tokio::test]
async fn table_renamed_out_of_the_project_stops_being_synced() {
    let ep = shared_endpoint();
    let db = unique_name("bl_ren");
    let mut conn = sql(&ep).await;
    create_db(&mut conn, &db, &[T1, T2]).await;
    let project = [TableId::new(&db, "t1"), TableId::new(&db, "t2")];
    let filter: obsync_source::binlog::TableFilter =
        Arc::new(move |t: &TableId| project.contains(t));
    let mut r = reader(&ep, StartFrom::Current, filter).await;

    exec(&mut conn, &["INSERT INTO t1 VALUES (1, 'in')"]).await;
    assert_eq!(key(&next_txn(&mut r).await.rows[0]), &int(1));
    exec(&mut conn, &["RENAME TABLE t1 TO t1_old"]).await;
    match next_relevant(&mut r).await {
        SourceEvent::Ddl {
            table,
            statement,
            renamed_out,
            ..
        } => {
            assert_eq!(table, Some(TableId::new(&db, "t1")));
            assert!(statement.contains("RENAME"), "{statement}");
            assert_eq!(
                renamed_out,
                vec![(TableId::new(&db, "t1"), TableId::new(&db, "t1_old"))]
            );
        }
        other => panic!("expected the RENAME, got {other:?}"),
    }
    exec(
        &mut conn,
        &[
            "INSERT INTO t1_old VALUES (2, 'out')",
            "INSERT INTO t2 VALUES (3, 3)",
        ],
    )
    .await;
    let t = next_txn(&mut r).await;
    assert_eq!(
        t.rows[0].table.id,
        TableId::new(&db, "t2"),
        "t1_old's row is not synced"
    );
    assert_eq!(key(&t.rows[0]), &int(3));

    // A new table under the old name is in the project again, with its own columns.
    exec(
        &mut conn,
        &["CREATE TABLE t1 (id INT PRIMARY KEY, w INT, z INT)"],
    )
    .await;
    expect_ddl(&mut r, &db, "t1", "CREATE").await;
    exec(&mut conn, &["INSERT INTO t1 VALUES (4, 4, 4)"]).await;
    let t = next_txn(&mut r).await;
    assert_eq!(
        t.rows[0].row.after().unwrap(),
        &vec![int(4), int(4), int(4)]
    );
    exec(&mut conn, &[&format!("DROP DATABASE {db}")]).await;
}

#[tokio::test]
async fn irrelevant_traffic_advances_progress() {
    let ep = shared_endpoint();
    let db = unique_name("bl_prog");
    let other = unique_name("bl_other");
    let mut conn = sql(&ep).await;
    create_db(&mut conn, &other, &[T1]).await;
    let mut r = reader(&ep, StartFrom::Current, db_filter(&db)).await;
    exec(&mut conn, &["INSERT INTO t1 VALUES (1, 'not ours')"]).await;
    let end_of_insert: (String, u64) = {
        let row: mysql_async::Row = conn
            .query_first("SHOW MASTER STATUS")
            .await
            .unwrap()
            .unwrap();
        (row.get(0).unwrap(), row.get(1).unwrap())
    };
    // The heartbeat (1 s in tests) flushes the owed progress on an idle stream; other
    // tests' traffic may produce later positions first.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no Progress reached the insert's end"
        );
        match next(&mut r).await {
            SourceEvent::Progress { position, .. } => {
                if position.coord.file > end_of_insert.0
                    || (position.coord.file == end_of_insert.0
                        && position.coord.pos >= end_of_insert.1)
                {
                    break;
                }
            }
            SourceEvent::Ddl { .. } | SourceEvent::CaughtUp => {}
            other => panic!("only progress expected, got {other:?}"),
        }
    }
    exec(&mut conn, &[&format!("DROP DATABASE {other}")]).await;
}

#[tokio::test]
async fn starting_from_a_timestamp_skips_earlier_transactions() {
    let ep = shared_endpoint();
    let db = unique_name("bl_ts");
    let mut conn = sql(&ep).await;
    create_db(&mut conn, &db, &[T1]).await;
    exec(&mut conn, &["INSERT INTO t1 VALUES (1, 'before')"]).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let t: u32 = conn
        .query_first("SELECT UNIX_TIMESTAMP()")
        .await
        .unwrap()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    exec(
        &mut conn,
        &[
            "INSERT INTO t1 VALUES (2, 'after')",
            "INSERT INTO t1 VALUES (3, 'after')",
        ],
    )
    .await;

    let mut r = reader(&ep, StartFrom::Timestamp(t), db_filter(&db)).await;
    let a = next_txn(&mut r).await;
    assert_eq!(key(&a.rows[0]), &int(2));
    assert!(a.info.timestamp >= t);
    let b = next_txn(&mut r).await;
    assert_eq!(key(&b.rows[0]), &int(3));

    // Before the oldest retained binlog: a clear error, not a silent gap.
    let err = obsync_source::binlog::BinlogReader::start(
        ep.clone(),
        obsync_source::binlog::BinlogOptions::new(
            server_id(),
            StartFrom::Timestamp(1),
            db_filter(&db),
        ),
    )
    .await
    .expect_err("timestamp 1 is before any binlog");
    assert!(err.to_string().contains("oldest binlog"), "{err}");
    exec(&mut conn, &[&format!("DROP DATABASE {db}")]).await;
}

#[tokio::test]
async fn binlog_retention_facts_for_the_precheck() {
    let ep = shared_endpoint();
    let oldest = oldest_retained_time(&ep).await.unwrap();
    let files = obsync_source::binlog::binary_logs(&ep).await.unwrap();
    let last = first_event_time(&ep, &files.last().unwrap().0)
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    assert!(
        oldest <= last && last <= now + 5,
        "{oldest} <= {last} <= {now}"
    );
    assert!(oldest > 1_600_000_000, "a plausible Unix time: {oldest}");
}

#[tokio::test]
async fn table_map_that_disagrees_with_current_metadata_is_a_clear_error() {
    let ep = shared_endpoint();
    let db = unique_name("bl_mis");
    let mut conn = sql(&ep).await;
    create_db(
        &mut conn,
        &db,
        &["CREATE TABLE t (id INT PRIMARY KEY, a INT)"],
    )
    .await;
    let mut r = reader(&ep, StartFrom::Current, db_filter(&db)).await;
    exec(&mut conn, &["INSERT INTO t VALUES (1, 10)"]).await;
    let before_alter = next_txn(&mut r).await.info.start.clone();
    exec(&mut conn, &["ALTER TABLE t MODIFY COLUMN a VARCHAR(10)"]).await;

    // Replaying the old row against today's definition would mis-assign values.
    let start = obsync_model::LogPosition {
        coord: before_alter,
        gtid: None,
    };
    let mut replay = reader(&ep, StartFrom::Position(start), db_filter(&db)).await;
    let err = tokio::time::timeout(EVENT_TIMEOUT, replay.next())
        .await
        .unwrap()
        .expect_err("the old table map does not fit the new definition");
    let msg = err.to_string();
    assert!(
        matches!(
            err,
            obsync_source::binlog::BinlogError::SchemaMismatch { .. }
        ),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("{db}.t")) && msg.contains("column a"),
        "{msg}"
    );
    exec(&mut conn, &[&format!("DROP DATABASE {db}")]).await;
}

#[tokio::test]
async fn definitions_known_at_the_start_decode_rows_logged_before_a_later_ddl() {
    let ep = shared_endpoint();
    let db = unique_name("bl_known");
    let mut conn = sql(&ep).await;
    create_db(
        &mut conn,
        &db,
        &["CREATE TABLE t (id INT PRIMARY KEY, a INT)"],
    )
    .await;
    let id = TableId::new(&db, "t");
    let old = obsync_source::metadata::MetadataReader::from_endpoint(&ep)
        .table_meta(&id)
        .await
        .unwrap();
    let mut r = reader(&ep, StartFrom::Current, db_filter(&db)).await;
    exec(&mut conn, &["INSERT INTO t VALUES (1, 10)"]).await;
    let before_insert = next_txn(&mut r).await.info.start.clone();
    // What happens while a project is down: the table changes after rows it has not read.
    exec(
        &mut conn,
        &[
            "ALTER TABLE t MODIFY COLUMN a VARCHAR(10)",
            "INSERT INTO t VALUES (2, 'x')",
        ],
    )
    .await;

    let start = obsync_model::LogPosition {
        coord: before_insert,
        gtid: None,
    };
    let mut opts = obsync_source::binlog::BinlogOptions::new(
        server_id(),
        StartFrom::Position(start),
        db_filter(&db),
    );
    opts.known_tables = vec![Arc::new(old)];
    let mut replay = obsync_source::binlog::BinlogReader::start(ep.clone(), opts)
        .await
        .unwrap();
    let t = next_txn(&mut replay).await;
    assert_eq!(t.rows[0].table.columns[1].column_type, "int(11)");
    assert_eq!(t.rows[0].row.after().unwrap(), &vec![int(1), int(10)]);
    expect_ddl(&mut replay, &db, "t", "MODIFY").await;
    let t = next_txn(&mut replay).await;
    assert_eq!(t.rows[0].table.columns[1].column_type, "varchar(10)");
    assert_eq!(t.rows[0].row.after().unwrap(), &vec![int(2), text("x")]);
    exec(&mut conn, &[&format!("DROP DATABASE {db}")]).await;
}

#[tokio::test]
async fn the_probe_opens_the_dump_as_the_reader_would_and_a_missing_file_is_named_before_dumping() {
    let ep = shared_endpoint();
    let opts = |start| BinlogOptions::new(server_id(), start, db_filter("none"));
    let ok = BinlogReader::probe(&ep, &opts(StartFrom::Current))
        .await
        .expect("the probe reads the first event");
    assert_eq!(ok.mode, "file and position");
    // A file the server does not have: decided from its binlog index before dumping.
    let missing = StartFrom::Position(LogPosition {
        coord: BinlogCoord::new("no-such-binlog.000042", 4),
        gtid: None,
    });
    let err = BinlogReader::probe(&ep, &opts(missing)).await.unwrap_err();
    let BinlogError::LineageChanged { from, detail } = &err else {
        panic!("{err:?}")
    };
    assert!(from.contains("no-such-binlog.000042:4"), "{from}");
    assert!(
        detail.contains("it has no no-such-binlog.000042"),
        "{detail}"
    );
    assert!(err.to_string().contains("RESET MASTER"), "{err}");
    let item = obsync_source::precheck::items::binlog_dump_item(
        &Err(err),
        &obsync_source::precheck::IncrementalStart::New,
    );
    assert!(item.detail.contains("no-such-binlog.000042"), "{item:#?}");
    assert!(
        item.fix.as_deref().unwrap_or_default().contains("snapshot"),
        "{item:#?}"
    );
}

/// Lineage on MariaDB (no `server_uuid`: its identity is `server_id:N`): a checkpoint
/// from another server resumes by GTID only when this server's binlog holds its
/// state (a failover); by file and offset never; and a state the binlog does not
/// reach is another history even on the same server and file.
#[tokio::test]
async fn a_resume_on_another_server_is_a_failover_only_by_gtid_within_its_history() {
    use obsync_source::binlog::Positioning;
    let ep = shared_endpoint();
    let db = unique_name("bl_lineage");
    let mut conn = sql(&ep).await;
    create_db(&mut conn, &db, &[T1]).await;
    let mut r = reader(&ep, StartFrom::Current, db_filter(&db)).await;
    exec(&mut conn, &["INSERT INTO t1 VALUES (1, 'x')"]).await;
    let first = next_txn(&mut r).await;
    let this: Option<u64> = conn.query_first("SELECT @@server_id").await.unwrap();
    let this = format!("server_id:{}", this.unwrap());
    assert_eq!(
        r.source_server(),
        Some(this.as_str()),
        "the reader names its server"
    );
    exec(&mut conn, &["INSERT INTO t1 VALUES (2, 'y')"]).await;
    let second = next_txn(&mut r).await;

    let start = |positioning, server: &str, at: LogPosition| {
        let mut opts = BinlogOptions::new(server_id(), StartFrom::Position(at), db_filter(&db));
        opts.heartbeat = Duration::from_secs(1);
        opts.positioning = positioning;
        opts.source_server = Some(server.to_string());
        BinlogReader::start(ep.clone(), opts)
    };
    // The same server, by file: as before.
    let mut same = start(Positioning::Auto, &this, first.end.clone())
        .await
        .unwrap();
    assert_eq!(next_txn(&mut same).await.end, second.end);
    // Another server by file: an offset of its binlog means nothing here.
    let err = start(Positioning::Auto, "server_id:424242", first.end.clone())
        .await
        .unwrap_err();
    let BinlogError::ServerChanged { was, now, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(
        (was.as_str(), now.as_str()),
        ("server_id:424242", this.as_str())
    );
    assert!(
        err.to_string().contains("binlog_positioning = \"gtid\""),
        "{err}"
    );
    // Another server by GTID, its state in this binlog: a failover, accepted.
    let mut failover = start(Positioning::Gtid, "server_id:424242", first.end.clone())
        .await
        .unwrap();
    assert_eq!(next_txn(&mut failover).await.end, second.end);
    assert_eq!(failover.source_server(), Some(this.as_str()));
    // A state past this binlog's end (a re-created or restored log), by GTID and by
    // file on the same server: another history.
    let gtid = first.end.gtid.clone().unwrap().0;
    let (domain_server, seq) = gtid.rsplit_once('-').unwrap();
    let ahead = LogPosition {
        coord: first.end.coord.clone(),
        gtid: Some(obsync_model::Gtid(format!(
            "{domain_server}-{}",
            seq.parse::<u64>().unwrap() + 1_000_000
        ))),
    };
    for positioning in [Positioning::Gtid, Positioning::Auto] {
        let err = start(positioning, "server_id:424242", ahead.clone())
            .await
            .unwrap_err();
        let err = match (positioning, err) {
            // By file, the identity check speaks first; on the same server the GTID
            // state decides.
            (Positioning::Auto, BinlogError::ServerChanged { .. }) => {
                start(positioning, &this, ahead.clone()).await.unwrap_err()
            }
            (_, e) => e,
        };
        assert!(
            matches!(err, BinlogError::LineageChanged { .. }),
            "{positioning:?}: {err:?}"
        );
    }
    exec(&mut conn, &[&format!("DROP DATABASE {db}")]).await;
}
