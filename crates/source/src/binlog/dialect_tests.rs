//! The OceanBase Binlog Service's dialect and MySQL 8's newer events, fed to the
//! assembler as the reader feeds it. The stream starts with the real rotate and format
//! description of `tests/fixtures/mysql8-gtid` (CRC32 checksums); every event after
//! them is built byte by byte to the MySQL binlog specification ([`super::spec_events`]),
//! then decoded the way mysql_async's binlog stream decodes a dump: mysql_common's
//! `EventStreamReader`, with a transaction payload's inner events read back from its
//! decompressed bytes right after it (`BinlogStream::poll_next`).

use super::assembler::{parse_state, Assembler, AssemblyStart, Step};
use super::error::BinlogError;
use super::reader::TableFilter;
use super::spec_events::*;
use super::stream::{DumpFrom, DumpMode};
use mysql_common::binlog::consts::{BinlogVersion, EventType};
use mysql_common::binlog::events::{Event, TransactionPayloadEvent};
use mysql_common::binlog::EventStreamReader;
use obsync_model::{
    BinlogCoord, Column, ColumnType, KeySource, RowChange, SourceEvent, TableId, TableMeta, Value,
};
use serde_json::json;
use std::io::Cursor;
use std::sync::Arc;

const FILE: &str = "binlog-main.000001";
const UUID: [u8; 16] = [0x11; 16];
/// What OceanBase's Binlog Service repeats in its heartbeats: the last event's time.
const LAST_EVENT_TIME: u32 = 1_700_000_000;

/// The real fake rotate and format description the fixture's server sent, and where
/// the first event after them starts.
fn head() -> (Vec<Vec<u8>>, Log) {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mysql8-gtid");
    let bytes = std::fs::read(dir.join("events.bin")).unwrap();
    let mut out = Vec::new();
    let mut rest = &bytes[..];
    for _ in 0..2 {
        let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        out.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    let fde_end = u32::from_le_bytes(out[1][13..17].try_into().unwrap());
    (
        out,
        Log {
            next: fde_end,
            server_id: 7,
        },
    )
}

/// Decodes records as mysql_async's `BinlogStream` does, payloads expanded.
fn decode(records: &[Vec<u8>]) -> Vec<Event> {
    let mut esr = EventStreamReader::new(BinlogVersion::Version4);
    let mut out = Vec::new();
    for r in records {
        let ev = esr.read(&r[..]).unwrap().unwrap();
        let payload = (ev.header().event_type_raw() == EventType::TRANSACTION_PAYLOAD_EVENT as u8)
            .then(|| {
                let p: TransactionPayloadEvent<'_> = ev.read_event().unwrap();
                Cursor::new(p.danger_decompress())
            });
        out.push(ev);
        if let Some(mut inner) = payload {
            while let Some(e) = esr.read_decompressed(&mut inner).unwrap() {
                out.push(e);
            }
        }
    }
    out
}

fn assembler(known: &[Arc<TableMeta>]) -> Assembler {
    let gtid = parse_state(false, "").unwrap();
    let filter: TableFilter = Arc::new(|t: &TableId| t.database == "ob");
    Assembler::new(
        AssemblyStart {
            from: DumpFrom::MySqlGtid(Default::default()),
            coord: BinlogCoord::new("", 4),
            gtid,
            skip_before: None,
        },
        DumpMode::Gtid,
        false,
        filter,
        known,
    )
}

/// Pushes `events` as the reader's shell does, answering metadata requests with
/// `schema` (the definition read over SQL), and returns what came out.
fn run(
    asm: &mut Assembler,
    events: &[Event],
    mut schema: impl FnMut(&TableId) -> Option<TableMeta>,
) -> Result<Vec<SourceEvent>, BinlogError> {
    let mut out = Vec::new();
    for ev in events {
        while let Step::NeedsTable(id) = asm.push(ev)? {
            let meta = schema(&id);
            asm.provide_table(id, meta);
        }
        while let Some(e) = asm.pop() {
            out.push(e);
        }
    }
    Ok(out)
}

fn col(name: &str, kind: ColumnType, column_type: &str) -> Column {
    Column {
        unsigned: column_type.contains("unsigned"),
        column_type: column_type.into(),
        ..Column::new(name, kind)
    }
}

/// `ob.t` as information_schema describes it: unsigned integers, a key that is not the
/// first column, and a JSON document.
fn table_t() -> TableMeta {
    TableMeta {
        id: TableId::new("ob", "t"),
        columns: vec![
            col("tiny_u", ColumnType::TinyInt, "tinyint unsigned"),
            col("id", ColumnType::Int, "int unsigned"),
            col("big_u", ColumnType::BigInt, "bigint unsigned"),
            col("name", ColumnType::VarChar, "varchar(20)"),
            col("doc", ColumnType::Json, "json"),
        ],
        key: vec![1],
        key_source: KeySource::PrimaryKey,
        primary_key: vec![1],
        unique_keys: vec![],
        estimated_rows: 0,
    }
}

/// Its table map as the Binlog Service writes it: types and type metadata only.
fn map_t(log: &mut Log, table_id: u64) -> Vec<u8> {
    let body = table_map(
        table_id,
        "ob",
        "t",
        &[
            (T_TINY, &[]),
            (T_LONG, &[]),
            (T_LONGLONG, &[]),
            (T_VARCHAR, &[20, 0]),
            (T_JSON, &[4]),
        ],
    );
    log.event(TABLE_MAP, LAST_EVENT_TIME, &body)
}

fn int(bytes: &[u8]) -> Cell {
    Cell::Int(bytes.to_vec())
}

/// A row of `ob.t` whose integers have their top bit set: read as signed (what a
/// missing signedness would give) they would be negative.
fn row_t(id: u32, doc: serde_json::Value) -> Vec<Cell> {
    vec![
        int(&[200]),
        int(&id.to_le_bytes()),
        int(&u64::MAX.to_le_bytes()),
        Cell::Str("héllo".into()),
        Cell::Json(doc),
    ]
}

/// GTID, BEGIN, the table map and one rows event, XID: one transaction.
fn transaction(log: &mut Log, gno: u64, rows_event: (u8, Vec<u8>)) -> Vec<Vec<u8>> {
    vec![
        log.event(GTID, LAST_EVENT_TIME, &gtid(UUID, gno)),
        log.event(QUERY, LAST_EVENT_TIME, &query("ob", "BEGIN")),
        map_t(log, 70),
        log.event(rows_event.0, LAST_EVENT_TIME, &rows_event.1),
        log.event(XID, LAST_EVENT_TIME, &xid(gno)),
    ]
}

fn rows_of(events: &[SourceEvent]) -> Vec<RowChange> {
    events
        .iter()
        .filter_map(|e| match e {
            SourceEvent::Row(c) => Some(c.row.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_table_map_without_optional_metadata_takes_names_signedness_and_keys_from_sql() {
    let (mut records, mut log) = head();
    let insert = rows(70, 5, 1, &image(&row_t(0xFFFF_FFFF, json!({"a": 1}))));
    records.extend(transaction(&mut log, 1, (WRITE_ROWS, insert)));
    let mut asm = assembler(&[]);
    let mut asked = Vec::new();
    let events = run(&mut asm, &decode(&records), |id| {
        asked.push(id.clone());
        Some(table_t())
    })
    .unwrap();
    assert_eq!(
        asked,
        [TableId::new("ob", "t")],
        "the definition is read over SQL"
    );
    let change = events
        .iter()
        .find_map(|e| match e {
            SourceEvent::Row(c) => Some(c),
            _ => None,
        })
        .unwrap();
    // Names and key are the SQL definition's: the table map has neither.
    assert_eq!(change.table.columns[1].name, "id");
    assert_eq!(change.table.key, [1]);
    let RowChange::Insert { after } = &change.row else {
        panic!("{:?}", change.row)
    };
    assert_eq!(
        after[..3],
        [
            Value::UInt(200),
            Value::UInt(4_294_967_295),
            Value::UInt(u64::MAX)
        ],
        "unsigned from information_schema, not from the absent table-map signedness"
    );
    assert_eq!(after[3], Value::Text("héllo".into()));
    assert_eq!(after[4], Value::Text(r#"{"a":1}"#.into()));
}

/// An UPDATE logged with `binlog_row_value_options=PARTIAL_JSON`: full before image,
/// shared image marking `doc` partial, after image with `doc` as diffs.
fn partial_update(before_doc: serde_json::Value, diffs: &[Vec<u8>]) -> (u8, Vec<u8>) {
    let before = image(&row_t(7, before_doc));
    let mut after_cells = row_t(7, json!(null));
    after_cells[3] = Cell::Str("renamed".into());
    after_cells[4] = Cell::Diffs(diffs.concat());
    let mut data = before;
    data.extend(shared_image(&[true]));
    data.extend(image(&after_cells));
    (PARTIAL_UPDATE_ROWS, rows(70, 5, 2, &data))
}

#[test]
fn a_partial_json_update_is_applied_to_the_before_image() {
    let (mut records, mut log) = head();
    let before = json!({"a": [1, 2, 3], "b": {"c": "x"}, "gone": true, "n": 1});
    let diffs = [
        diff(0, "$.b.c", Some(&json!("y"))),
        diff(1, "$.a[1]", Some(&json!({"k": null}))),
        diff(2, "$.gone", None),
        diff(1, r#"$."new key""#, Some(&json!(-40000))),
        diff(0, "$.a[last]", Some(&json!(2.5))),
    ];
    records.extend(transaction(&mut log, 1, partial_update(before, &diffs)));
    let mut asm = assembler(&[Arc::new(table_t())]);
    let events = run(&mut asm, &decode(&records), |_| unreachable!()).unwrap();
    let [RowChange::Update { before, after }] = &rows_of(&events)[..] else {
        panic!("{events:?}")
    };
    // The after image is what a full-document update would have carried.
    let expected =
        json!({"a": [1, {"k": null}, 2, 2.5], "b": {"c": "y"}, "n": 1, "new key": -40000});
    assert_eq!(after[4], Value::Text(expected.to_string()));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(match &after[4] {
            Value::Text(t) => t,
            other => panic!("{other:?}"),
        })
        .unwrap(),
        expected
    );
    assert_eq!(after[3], Value::Text("renamed".into()));
    assert_eq!(after[1], Value::UInt(7));
    assert_eq!(
        before[4],
        Value::Text(json!({"a": [1, 2, 3], "b": {"c": "x"}, "gone": true, "n": 1}).to_string())
    );
}

#[test]
fn a_partial_json_update_that_does_not_fit_fails_naming_table_and_column() {
    // A missing path, and a NULL document: never a guessed value.
    for (before, path) in [(json!({"a": 1}), "$.missing"), (json!(null), "$.a")] {
        let (mut records, mut log) = head();
        let mut update = partial_update(before.clone(), &[diff(0, path, Some(&json!(2)))]);
        if before.is_null() {
            // The before image's doc is SQL NULL.
            let mut cells = row_t(7, json!(null));
            cells[4] = Cell::Null;
            let mut after_cells = row_t(7, json!(null));
            after_cells[4] = Cell::Diffs(diff(0, path, Some(&json!(2))));
            let mut data = image(&cells);
            data.extend(shared_image(&[true]));
            data.extend(image(&after_cells));
            update = (PARTIAL_UPDATE_ROWS, rows(70, 5, 2, &data));
        }
        records.extend(transaction(&mut log, 1, update));
        let mut asm = assembler(&[Arc::new(table_t())]);
        let err = run(&mut asm, &decode(&records), |_| unreachable!()).unwrap_err();
        let BinlogError::JsonDiff { table, column, .. } = &err else {
            panic!("{err}")
        };
        assert_eq!((table, column.as_str()), (&TableId::new("ob", "t"), "doc"));
        let text = err.to_string();
        assert!(text.contains("binlog_row_value_options=''"), "{text}");
        assert!(text.contains("snapshot"), "{text}");
    }
}

#[test]
fn partial_bits_count_json_columns_only() {
    // `ob.j (id INT, a JSON, n INT, b JSON)`: bit 0 is `a` (a whole document here), bit
    // 1 is `b` (diffs) — not columns 0 and 1.
    let meta = TableMeta {
        id: TableId::new("ob", "j"),
        columns: vec![
            col("id", ColumnType::Int, "int"),
            col("a", ColumnType::Json, "json"),
            col("n", ColumnType::Int, "int"),
            col("b", ColumnType::Json, "json"),
        ],
        key: vec![0],
        key_source: KeySource::PrimaryKey,
        primary_key: vec![0],
        unique_keys: vec![],
        estimated_rows: 0,
    };
    let (mut records, mut log) = head();
    let map = table_map(
        71,
        "ob",
        "j",
        &[(T_LONG, &[]), (T_JSON, &[4]), (T_LONG, &[]), (T_JSON, &[4])],
    );
    let before = image(&[
        int(&1i32.to_le_bytes()),
        Cell::Json(json!([1])),
        int(&2i32.to_le_bytes()),
        Cell::Json(json!({"k": 1})),
    ]);
    let after = image(&[
        int(&1i32.to_le_bytes()),
        Cell::Json(json!([1, 2])),
        int(&3i32.to_le_bytes()),
        Cell::Diffs(diff(0, "$.k", Some(&json!("v")))),
    ]);
    let data = [before, shared_image(&[false, true]), after].concat();
    records.extend([
        log.event(GTID, LAST_EVENT_TIME, &gtid(UUID, 1)),
        log.event(QUERY, LAST_EVENT_TIME, &query("ob", "BEGIN")),
        log.event(TABLE_MAP, LAST_EVENT_TIME, &map),
        log.event(PARTIAL_UPDATE_ROWS, LAST_EVENT_TIME, &rows(71, 4, 2, &data)),
        log.event(XID, LAST_EVENT_TIME, &xid(1)),
    ]);
    let events = run(&mut assembler(&[Arc::new(meta)]), &decode(&records), |_| {
        None
    })
    .unwrap();
    let [RowChange::Update { after, .. }] = &rows_of(&events)[..] else {
        panic!("{events:?}")
    };
    assert_eq!(
        after[..],
        [
            Value::Int(1),
            Value::Text("[1,2]".into()),
            Value::Int(3),
            Value::Text(r#"{"k":"v"}"#.into())
        ]
    );
}

#[test]
fn a_partial_json_update_without_the_document_in_the_before_image_fails_naming_the_setting() {
    // binlog_row_image=MINIMAL: the before image holds the key (`id`) only.
    let (mut records, mut log) = head();
    let before = image(&[int(&7u32.to_le_bytes())]);
    let mut after = row_t(7, json!(null));
    after[4] = Cell::Diffs(diff(0, "$.a", Some(&json!(1))));
    let data = [before, shared_image(&[true]), image(&after)].concat();
    let update = rows_with_before(70, &[false, true, false, false, false], &data);
    records.extend(transaction(&mut log, 1, (PARTIAL_UPDATE_ROWS, update)));
    let err = run(
        &mut assembler(&[Arc::new(table_t())]),
        &decode(&records),
        |_| None,
    )
    .unwrap_err();
    let BinlogError::JsonDiff { column, reason, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(column, "doc");
    assert!(reason.contains("binlog_row_image=MINIMAL"), "{reason}");
}

#[test]
fn heartbeats_repeating_the_last_event_time_say_caught_up_and_carry_no_time() {
    let (mut records, mut log) = head();
    let insert = rows(70, 5, 1, &image(&row_t(1, json!(1))));
    records.extend(transaction(&mut log, 1, (WRITE_ROWS, insert)));
    // The Binlog Service, idle at the end of its log, every 100 ms: the last event's
    // timestamp (years old by now), its file and offset.
    records.extend((0..5).map(|_| log.heartbeat(LAST_EVENT_TIME, FILE)));
    let mut asm = assembler(&[Arc::new(table_t())]);
    let events = run(&mut asm, &decode(&records), |_| unreachable!()).unwrap();
    let commit = events
        .iter()
        .position(|e| matches!(e, SourceEvent::Commit { .. }))
        .unwrap();
    // After the commit only CaughtUp: lag 0 while idle, never a time from a heartbeat.
    assert_eq!(events[commit + 1..], vec![SourceEvent::CaughtUp; 5][..]);
    assert_eq!(asm.coord(), BinlogCoord::new(FILE, log.next as u64));
}

#[test]
fn a_heartbeat_inside_a_transaction_or_elsewhere_in_the_log_is_not_caught_up() {
    let (mut records, mut log) = head();
    let insert = rows(70, 5, 1, &image(&row_t(1, json!(1))));
    let mut txn = transaction(&mut log, 1, (WRITE_ROWS, insert));
    let xid = txn.pop().unwrap();
    records.extend(txn);
    // Mid-transaction (a server flushing a large one) and at another offset.
    records.push(log.heartbeat(LAST_EVENT_TIME, FILE));
    let ahead = Log {
        next: log.next + 1000,
        server_id: 7,
    };
    records.push(ahead.heartbeat(LAST_EVENT_TIME, FILE));
    records.push(xid);
    let mut asm = assembler(&[Arc::new(table_t())]);
    let events = run(&mut asm, &decode(&records), |_| unreachable!()).unwrap();
    assert!(!events.contains(&SourceEvent::CaughtUp), "{events:?}");
}

#[test]
fn heartbeat_v2_is_decoded_for_its_file_and_64_bit_position() {
    let (mut records, mut log) = head();
    let insert = rows(70, 5, 1, &image(&row_t(1, json!(1))));
    records.extend(transaction(&mut log, 1, (WRITE_ROWS, insert)));
    let end = log.next as u64;
    records.push(log.heartbeat_v2(LAST_EVENT_TIME, FILE, end + (1 << 32)));
    records.push(log.heartbeat_v2(LAST_EVENT_TIME, "binlog-main.000002", end));
    records.push(log.heartbeat_v2(LAST_EVENT_TIME, FILE, end));
    let mut asm = assembler(&[Arc::new(table_t())]);
    let events = run(&mut asm, &decode(&records), |_| unreachable!()).unwrap();
    let commit = events
        .iter()
        .position(|e| matches!(e, SourceEvent::Commit { .. }))
        .unwrap();
    // Only the last one is where the reader is (a 32-bit read of the first would be).
    assert_eq!(events[commit + 1..], [SourceEvent::CaughtUp]);
    // A body without its position is malformed, not "caught up".
    let (mut bad, log) = head();
    let mut r = log.heartbeat_v2(0, FILE, 4);
    let body_end = r.len() - 4;
    let cut = r[..body_end].iter().rposition(|&b| b == 2).unwrap();
    r.truncate(cut);
    r.push(0);
    let size = (r.len() + 4) as u32;
    r[9..13].copy_from_slice(&size.to_le_bytes());
    let crc = crc32fast::hash(&r);
    r.extend_from_slice(&crc.to_le_bytes());
    bad.push(r);
    let err = run(&mut assembler(&[]), &decode(&bad), |_| None).unwrap_err();
    assert!(matches!(err, BinlogError::Malformed { .. }), "{err}");
}

/// The same transaction, its events compressed into one zstd payload after its GTID.
fn compressed_transaction(log: &mut Log, gno: u64, insert: &[u8]) -> Vec<Vec<u8>> {
    let map = table_map(
        70,
        "ob",
        "t",
        &[
            (T_TINY, &[]),
            (T_LONG, &[]),
            (T_LONGLONG, &[]),
            (T_VARCHAR, &[20, 0]),
            (T_JSON, &[4]),
        ],
    );
    let inner = vec![
        log.inner(QUERY, LAST_EVENT_TIME, &query("ob", "BEGIN")),
        log.inner(TABLE_MAP, LAST_EVENT_TIME, &map),
        log.inner(WRITE_ROWS, LAST_EVENT_TIME, insert),
        log.inner(XID, LAST_EVENT_TIME, &xid(gno)),
    ];
    vec![
        log.event(GTID, LAST_EVENT_TIME, &gtid(UUID, gno)),
        log.event(PAYLOAD, LAST_EVENT_TIME, &payload(&inner)),
    ]
}

#[test]
fn a_zstd_compressed_transaction_is_read_like_an_uncompressed_one() {
    let insert = rows(
        70,
        5,
        1,
        &[
            image(&row_t(1, json!({"x": [true]}))),
            image(&row_t(2, json!("two"))),
        ]
        .concat(),
    );
    let (mut plain, mut log) = head();
    plain.extend(transaction(&mut log, 1, (WRITE_ROWS, insert.clone())));
    let (mut packed, mut log) = head();
    packed.extend(compressed_transaction(&mut log, 1, &insert));
    let payload_end = log.next as u64;

    let expected = run(&mut assembler(&[]), &decode(&plain), |_| Some(table_t())).unwrap();
    // Metadata is read in the middle of the payload, as for a first table map.
    let mut asm = assembler(&[]);
    let events = run(&mut asm, &decode(&packed), |_| Some(table_t())).unwrap();
    assert_eq!(rows_of(&events).len(), 2);
    assert_eq!(rows_of(&events), rows_of(&expected));
    let Some(SourceEvent::Commit { end, .. }) = events.last() else {
        panic!("{events:?}")
    };
    // The transaction ends where the payload event ends, with its GTID executed.
    assert_eq!(end.coord, BinlogCoord::new(FILE, payload_end));
    assert_eq!(
        end.gtid.as_ref().unwrap().0,
        "11111111-1111-1111-1111-111111111111:1"
    );
}

#[test]
fn a_payload_whose_events_never_arrive_stops_the_reader() {
    // What mysql_async yields for a payload it cannot decompress: the payload event
    // and no inner events, then the next transaction.
    let (mut records, mut log) = head();
    let insert = rows(70, 5, 1, &image(&row_t(1, json!(1))));
    records.extend(compressed_transaction(&mut log, 1, &insert));
    records.extend(transaction(&mut log, 2, (WRITE_ROWS, insert)));
    let mut esr = EventStreamReader::new(BinlogVersion::Version4);
    let events: Vec<Event> = records
        .iter()
        .map(|r| esr.read(&r[..]).unwrap().unwrap())
        .collect();
    let err = run(&mut assembler(&[]), &events, |_| Some(table_t())).unwrap_err();
    assert!(
        err.to_string()
            .contains("binlog_transaction_compression=OFF"),
        "{err}"
    );
}

/// `ob.t` as OceanBase has it after an `ALTER TABLE … ADD COLUMN` its Binlog Service
/// dropped: one more column, and no DDL event in the log.
fn map_t_with_extra_column(log: &mut Log) -> Vec<u8> {
    let body = table_map(
        70,
        "ob",
        "t",
        &[
            (T_TINY, &[]),
            (T_LONG, &[]),
            (T_LONGLONG, &[]),
            (T_VARCHAR, &[20, 0]),
            (T_JSON, &[4]),
            (T_LONG, &[]),
        ],
    );
    log.event(TABLE_MAP, LAST_EVENT_TIME, &body)
}

fn t_with_extra_column() -> TableMeta {
    let mut t = table_t();
    t.columns.push(col("extra", ColumnType::Int, "int"));
    t
}

fn shape_change_stream() -> Vec<Event> {
    let (mut records, mut log) = head();
    let mut cells = row_t(9, json!([]));
    cells.push(int(&5i32.to_le_bytes()));
    records.extend([
        log.event(GTID, LAST_EVENT_TIME, &gtid(UUID, 1)),
        log.event(QUERY, LAST_EVENT_TIME, &query("ob", "BEGIN")),
        map_t_with_extra_column(&mut log),
        log.event(WRITE_ROWS, LAST_EVENT_TIME, &rows(70, 6, 1, &image(&cells))),
        log.event(XID, LAST_EVENT_TIME, &xid(1)),
    ]);
    decode(&records)
}

#[test]
fn a_table_map_that_disagrees_with_the_cached_schema_is_read_again() {
    // The cached definition (from the start, or the checkpoint) has 5 columns; the log
    // has 6 without a DDL: the definition is read again over SQL and used.
    let mut reads = 0;
    let mut asm = assembler(&[Arc::new(table_t())]);
    let events = run(&mut asm, &shape_change_stream(), |_| {
        reads += 1;
        Some(t_with_extra_column())
    })
    .unwrap();
    assert_eq!(reads, 1);
    let [RowChange::Insert { after }] = &rows_of(&events)[..] else {
        panic!("{events:?}")
    };
    assert_eq!(after.len(), 6);
    assert_eq!(after[5], Value::Int(5));
}

#[test]
fn a_table_map_that_still_disagrees_after_reading_the_schema_fails_with_the_table_name() {
    // Column count: SQL still says 5 columns (e.g. the read hit a lagging replica).
    let mut asm = assembler(&[Arc::new(table_t())]);
    let err = run(&mut asm, &shape_change_stream(), |_| Some(table_t())).unwrap_err();
    let BinlogError::SchemaMismatch { table, detail, .. } = &err else {
        panic!("{err}")
    };
    assert_eq!(table, &TableId::new("ob", "t"));
    assert!(detail.contains("6 columns"), "{detail}");
    let text = err.to_string();
    assert!(
        text.contains("ob.t") && text.contains("without a DDL"),
        "{text}"
    );
    assert!(text.contains("snapshot"), "{text}");

    // Column types: the log writes `id` as BIGINT, SQL says INT.
    let (mut records, mut log) = head();
    let body = table_map(
        70,
        "ob",
        "t",
        &[
            (T_TINY, &[]),
            (T_LONGLONG, &[]),
            (T_LONGLONG, &[]),
            (T_VARCHAR, &[20, 0]),
            (T_JSON, &[4]),
        ],
    );
    records.extend([
        log.event(GTID, LAST_EVENT_TIME, &gtid(UUID, 1)),
        log.event(QUERY, LAST_EVENT_TIME, &query("ob", "BEGIN")),
        log.event(TABLE_MAP, LAST_EVENT_TIME, &body),
    ]);
    let mut reads = 0;
    let err = run(
        &mut assembler(&[Arc::new(table_t())]),
        &decode(&records),
        |_| {
            reads += 1;
            Some(table_t())
        },
    )
    .unwrap_err();
    assert_eq!(reads, 1, "read again once, then the mismatch is final");
    let BinlogError::SchemaMismatch { detail, .. } = &err else {
        panic!("{err}")
    };
    assert!(detail.contains("column id"), "{detail}");
}

/// One transaction of `A`, then the file ends and the next one starts with `previous`
/// as its executed set (the real format description re-sent as that file's), then
/// transaction `A:2`.
fn rotation_into(previous: &[SourceRanges<'_>]) -> Vec<Event> {
    let (mut records, mut log) = head();
    let fde = records[1].clone();
    records.push(log.event(PREVIOUS_GTIDS, 0, &previous_gtids(&[])));
    let insert = rows(70, 5, 1, &image(&row_t(1, json!(1))));
    records.extend(transaction(&mut log, 1, (WRITE_ROWS, insert.clone())));
    records.push(log.event(ROTATE, 0, &rotate("binlog-main.000002")));
    // The next file: its format description ends at its own offset.
    let fde_end = u32::from_le_bytes(fde[13..17].try_into().unwrap());
    records.push(fde);
    let mut next = Log {
        next: fde_end,
        server_id: 7,
    };
    records.push(next.event(PREVIOUS_GTIDS, 0, &previous_gtids(previous)));
    records.extend(transaction(&mut next, 2, (WRITE_ROWS, insert)));
    decode(&records)
}

#[test]
fn the_next_file_of_the_same_history_continues_the_stream() {
    let events = rotation_into(&[(UUID, &[(1, 1)])]);
    let mut asm = assembler(&[Arc::new(table_t())]);
    let out = run(&mut asm, &events, |_| unreachable!()).unwrap();
    assert_eq!(rows_of(&out).len(), 2);
    let end = asm.committed_position().unwrap();
    assert_eq!(end.coord.file, "binlog-main.000002");
    assert_eq!(
        end.gtid.as_ref().unwrap().0,
        "11111111-1111-1111-1111-111111111111:1-2"
    );
}

#[test]
fn a_binlog_re_created_under_the_open_dump_is_another_history() {
    // A new lineage (the Binlog Service's binlog re-created with another SERVER UUID),
    // and a log reset to nothing (RESET MASTER).
    const OTHER: [u8; 16] = [0x22; 16];
    for previous in [vec![(OTHER, &[(1u64, 3u64)][..])], vec![]] {
        let events = rotation_into(&previous);
        let mut asm = assembler(&[Arc::new(table_t())]);
        let err = run(&mut asm, &events, |_| unreachable!()).unwrap_err();
        let BinlogError::LineageChanged { detail, .. } = &err else {
            panic!("{err}")
        };
        assert!(detail.contains("binlog-main.000002"), "{detail}");
        assert!(
            detail.contains("11111111-1111-1111-1111-111111111111:1"),
            "{detail}"
        );
        assert!(err.to_string().contains("snapshot"), "{err}");
    }
}
