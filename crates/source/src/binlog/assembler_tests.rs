//! The assembler fed with real MySQL 8.0-format event bytes
//! (`tests/fixtures/mysql8-gtid`, see its README), decoded by mysql_common's
//! `EventStreamReader` as the replication stream does: rows rebuilt exactly, GTID sets
//! that only grow, resumes and reconnects that deliver every transaction once.

use super::*;
use crate::metadata::{parse_enum_labels, LabelQuoting};
use mysql_common::binlog::consts::BinlogVersion;
use mysql_common::binlog::EventStreamReader;
use obsync_model::{Column, ColumnType, KeySource, Row, Value};
use serde_json::Value as Json;
use std::collections::{BTreeMap, HashMap};

const UUID: &str = "a5f54d8a-a92f-4f02-9ea9-2ee361cf2dd1";
const FILE: &str = "binlog-main.000001";
/// Where the `ALTER TABLE fx.comp ADD COLUMN extra` transaction ends (events.tsv).
const ALTER_END: u64 = 5713;
/// GTID of the transaction with the 1,000-row insert and 100-row delete.
const BULK_GNO: u64 = 20;

fn fixture_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mysql8-gtid")
}

/// The dump stream: each record is one event exactly as the server sent it.
fn records() -> Vec<Vec<u8>> {
    let bytes = std::fs::read(fixture_dir().join("events.bin")).unwrap();
    let mut out = Vec::new();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        out.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    assert_eq!(out.len(), 93, "the fixture holds 93 events");
    out
}

fn expected() -> &'static Json {
    static EXPECTED: std::sync::OnceLock<Json> = std::sync::OnceLock::new();
    EXPECTED.get_or_init(|| {
        serde_json::from_slice(&std::fs::read(fixture_dir().join("expected.json")).unwrap())
            .unwrap()
    })
}

fn event_type(r: &[u8]) -> u8 {
    r[4]
}

fn log_pos(r: &[u8]) -> u64 {
    u32::from_le_bytes(r[13..17].try_into().unwrap()) as u64
}

/// The transaction number of a `GTID_LOG_EVENT` record (body: flags, sid, gno).
fn gno_of(r: &[u8]) -> Option<u64> {
    (event_type(r) == EventType::GTID_EVENT as u8)
        .then(|| u64::from_le_bytes(r[19 + 17..19 + 25].try_into().unwrap()))
}

/// Rewrites a record's header field and checksum (the fixture's CRC32 covers the
/// whole event before it).
fn patch(r: &mut [u8], at: usize, bytes: &[u8]) {
    r[at..at + bytes.len()].copy_from_slice(bytes);
    let n = r.len() - 4;
    let crc = crc32fast::hash(&r[..n]);
    r[n..].copy_from_slice(&crc.to_le_bytes());
}

/// The transactions of the stream: (gno, records from its GTID event to its end).
fn transactions(all: &[Vec<u8>]) -> Vec<(u64, Vec<Vec<u8>>)> {
    let mut out: Vec<(u64, Vec<Vec<u8>>)> = Vec::new();
    for r in &all[3..] {
        match gno_of(r) {
            Some(gno) => out.push((gno, vec![r.clone()])),
            None => out.last_mut().unwrap().1.push(r.clone()),
        }
    }
    out
}

/// What a MySQL primary sends for `COM_BINLOG_DUMP_GTID` with `executed`: the fake
/// rotate, the format description, the file's (empty) previous-GTIDs event, then every
/// transaction not in the set.
fn serve_gtid_set(all: &[Vec<u8>], executed: &GtidSet) -> Vec<Vec<u8>> {
    let id = source_id();
    let mut out = all[..3].to_vec();
    for (gno, recs) in transactions(all) {
        if !executed.contains(&id, gno) {
            out.extend(recs);
        }
    }
    out
}

fn source_id() -> SourceId {
    let sid: mysql_common::packets::Sid<'static> = format!("{UUID}:1").parse().unwrap();
    SourceId::new(sid.uuid(), None)
}

fn set(text: &str) -> GtidSet {
    GtidSet::parse(text).unwrap()
}

/// The fixture's tables as information_schema would describe them: `after_alter`
/// selects `fx.comp` with or without its added column.
fn definition(id: &TableId, after_alter: bool) -> Option<TableMeta> {
    let exp = expected();
    let table = &exp["tables"][&id.table];
    if id.database != "fx" || table.is_null() {
        return None;
    }
    let mut columns: Vec<Column> = table["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let data_type = c["data_type"].as_str().unwrap();
            let column_type = c["column_type"].as_str().unwrap().to_string();
            let kind = ColumnType::from_data_type(data_type).unwrap();
            let length = column_type
                .split_once('(')
                .and_then(|(_, rest)| rest.trim_end_matches(')').parse().ok())
                .filter(|_| kind == ColumnType::Binary);
            Column {
                unsigned: column_type.contains("unsigned"),
                length,
                labels: parse_enum_labels(&column_type, LabelQuoting::Escaped),
                column_type,
                ..Column::new(c["name"].as_str().unwrap(), kind)
            }
        })
        .collect();
    if id.table == "comp" && !after_alter {
        columns.retain(|c| c.name != "extra");
    }
    let primary_key: Vec<usize> = table["primary_key"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| {
            columns
                .iter()
                .position(|c| c.name == k.as_str().unwrap())
                .unwrap()
        })
        .collect();
    let (key, key_source) = if primary_key.is_empty() {
        ((0..columns.len()).collect(), KeySource::AllColumns)
    } else {
        (primary_key.clone(), KeySource::PrimaryKey)
    };
    Some(TableMeta {
        id: id.clone(),
        columns,
        key,
        key_source,
        primary_key,
        unique_keys: vec![],
        estimated_rows: 0,
    })
}

fn fx_filter() -> TableFilter {
    Arc::new(|t: &TableId| t.database == "fx")
}

fn assembler(start: AssemblyStart, mode: DumpMode) -> Assembler {
    Assembler::new(start, mode, false, fx_filter(), &[])
}

/// A start as the reader resolves it from a checkpoint in `mode`.
fn start_at(position: Option<&LogPosition>, mode: DumpMode) -> AssemblyStart {
    let p = position.cloned().unwrap_or(LogPosition {
        coord: BinlogCoord::new("", 4),
        gtid: Some(Gtid(String::new())),
    });
    let gtid = parse_state(false, &p.gtid.as_ref().unwrap().0).unwrap();
    AssemblyStart {
        from: dump_from(mode, false, &p, &gtid),
        coord: p.coord,
        gtid,
        skip_before: None,
    }
}

/// One connection: decodes `records` as the replication stream does and feeds them
/// to `asm`, answering metadata requests like the reader's shell (the definition in
/// force at the cursor). `stop` may end the connection after any returned event.
fn feed(
    asm: &mut Assembler,
    records: &[Vec<u8>],
    stop: impl FnMut(&SourceEvent) -> bool,
) -> (Vec<SourceEvent>, bool) {
    feed_on(&mut connection(), asm, records, stop)
}

/// A new connection's decoder: it learns the checksum from the format description.
fn connection() -> EventStreamReader {
    EventStreamReader::new(BinlogVersion::Version4)
}

/// [`feed`] on a connection that continues.
fn feed_on(
    decoder: &mut EventStreamReader,
    asm: &mut Assembler,
    records: &[Vec<u8>],
    mut stop: impl FnMut(&SourceEvent) -> bool,
) -> (Vec<SourceEvent>, bool) {
    let mut out = Vec::new();
    for r in records {
        let ev = decoder.read(&r[..]).unwrap().unwrap();
        loop {
            match asm.push(&ev).unwrap() {
                Step::Done => break,
                Step::NeedsTable(id) => {
                    let after_alter = asm.coord().pos > ALTER_END;
                    asm.provide_table(id.clone(), definition(&id, after_alter));
                }
            }
        }
        while let Some(e) = asm.pop() {
            let done = stop(&e);
            out.push(e);
            if done {
                return (out, true);
            }
        }
    }
    (out, false)
}

/// A consumer rebuilding tables from row changes: a row is found by its full image,
/// so a replayed, reordered or missing change shows as a wrong table or a panic.
#[derive(Default)]
struct Tables(BTreeMap<String, Vec<Row>>);

impl Tables {
    fn apply(&mut self, events: &[SourceEvent]) {
        for e in events {
            if let SourceEvent::Ddl {
                statement, table, ..
            } = e
            {
                // The one column change of the workload: comp's rows gain `extra` (NULL).
                let alter = statement.to_ascii_uppercase().starts_with("ALTER TABLE");
                if alter && table.as_ref().is_some_and(|t| t.table == "comp") {
                    for row in self.0.entry("comp".into()).or_default() {
                        row.insert(2, Value::Null);
                    }
                }
            }
            let SourceEvent::Row(c) = e else { continue };
            let rows = self.0.entry(c.table.id.table.clone()).or_default();
            let find = |rows: &Vec<Row>, r: &Row| {
                rows.iter()
                    .position(|x| x == r)
                    .unwrap_or_else(|| panic!("{} has no row {r:?}", c.table.id))
            };
            match &c.row {
                RowChange::Insert { after } => rows.push(after.clone()),
                RowChange::Update { before, after } => {
                    let i = find(rows, before);
                    rows[i] = after.clone();
                }
                RowChange::Delete { before } => {
                    let i = find(rows, before);
                    rows.remove(i);
                }
                RowChange::Snapshot { .. } => panic!("a snapshot row from the binlog"),
            }
        }
    }

    /// Compares with `expected.json`, value by value in its text conventions.
    fn assert_match_expected(&self) {
        let exp = expected();
        for name in ["types", "comp", "nokey"] {
            let meta = definition(&TableId::new("fx", name), true).unwrap();
            let mut want: Vec<String> = exp["tables"][name]["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| normalized_expected(&meta, r))
                .collect();
            let mut got: Vec<String> = self.0[name]
                .iter()
                .map(|r| normalized_row(&meta, r))
                .collect();
            want.sort();
            got.sort();
            assert_eq!(got.len(), want.len(), "row count of fx.{name}");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g, w, "a row of fx.{name}");
            }
        }
    }
}

/// A row in expected.json's conventions, with floats and JSON made comparable.
fn normalized_row(meta: &TableMeta, row: &Row) -> String {
    let cells: Vec<Json> = meta
        .columns
        .iter()
        .zip(row)
        .map(|(c, v)| normalize(c, as_expected(v)))
        .collect();
    Json::Array(cells).to_string()
}

fn normalized_expected(meta: &TableMeta, row: &Json) -> String {
    let cells: Vec<Json> = meta
        .columns
        .iter()
        .zip(row.as_array().unwrap())
        .map(|(c, v)| normalize(c, v.clone()))
        .collect();
    Json::Array(cells).to_string()
}

fn normalize(col: &Column, v: Json) -> Json {
    let Json::String(s) = &v else { return v };
    match col.kind {
        ColumnType::Float => Json::String(format!("{:e}", s.parse::<f32>().unwrap() as f64)),
        ColumnType::Double => Json::String(format!("{:e}", s.parse::<f64>().unwrap())),
        ColumnType::Json => serde_json::from_str(s).unwrap(),
        _ => v,
    }
}

/// A model value in expected.json's text conventions (see its `value_notes`).
fn as_expected(v: &Value) -> Json {
    let fraction = |micros: u32| if micros == 0 { 0 } else { 6 };
    let text = match v {
        Value::Null => return Json::Null,
        Value::Bytes(b) => {
            let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
            return serde_json::json!({ "hex": hex });
        }
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Decimal(d) => d.clone(),
        Value::Float(f) => f.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Bit(b) => b.to_string(),
        Value::Date(d) => d.to_string(),
        Value::DateTime(dt) => dt.render(fraction(dt.micros)),
        Value::Timestamp(t) => t.to_utc_datetime().render(fraction(t.micros)),
        Value::Time(t) => t.render(fraction(t.micros)),
        Value::Year(y) => y.to_string(),
        Value::Text(s) => s.clone(),
    };
    Json::String(text)
}

/// The end offset of each transaction the stream delivers (`Commit`, `Ddl`).
fn delivered_ends(events: &[SourceEvent]) -> Vec<u64> {
    events
        .iter()
        .filter_map(|e| match e {
            SourceEvent::Commit { end, .. } | SourceEvent::Ddl { end, .. } => Some(end.coord.pos),
            _ => None,
        })
        .collect()
}

/// Every transaction that touches the project: all but `CREATE DATABASE fx`.
fn project_transaction_ends() -> Vec<u64> {
    transactions(&records())
        .iter()
        .skip(1)
        .map(|(_, recs)| log_pos(recs.last().unwrap()))
        .collect()
}

/// The events a pipeline keeps from a run that stopped: rows of transactions whose end
/// it saw (a checkpoint is only taken there), and the checkpoint.
fn acknowledged(events: &[SourceEvent]) -> (Vec<SourceEvent>, Option<LogPosition>) {
    let last_end = events.iter().rposition(|e| {
        matches!(
            e,
            SourceEvent::Commit { .. } | SourceEvent::Ddl { .. } | SourceEvent::Progress { .. }
        )
    });
    match last_end {
        None => (Vec::new(), None),
        Some(i) => {
            let position = match &events[i] {
                SourceEvent::Commit { end, .. } | SourceEvent::Ddl { end, .. } => end.clone(),
                SourceEvent::Progress { position, .. } => position.clone(),
                _ => unreachable!(),
            };
            (events[..=i].to_vec(), Some(position))
        }
    }
}

#[test]
fn fixture_rebuilds_the_final_rows_and_the_executed_set() {
    let all = records();
    let mut asm = assembler(start_at(None, DumpMode::Gtid), DumpMode::Gtid);
    let (events, _) = feed(&mut asm, &serve_gtid_set(&all, &GtidSet::default()), |_| {
        false
    });
    let mut tables = Tables::default();
    tables.apply(&events);
    tables.assert_match_expected();
    let end = asm.committed_position().unwrap();
    assert_eq!(end.gtid.as_ref().unwrap().0, format!("{UUID}:1-20"));
    assert_eq!(end.coord, BinlogCoord::new(FILE, 26527));
    // Each transaction carries its own GTID, spelled as MySQL does.
    let begins: Vec<String> = events
        .iter()
        .filter_map(|e| match e {
            SourceEvent::Begin(t) => t.gtid.as_ref().map(|g| g.0.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(begins.first().unwrap(), &format!("{UUID}:5"));
    assert_eq!(begins.last().unwrap(), &format!("{UUID}:20"));
    assert_eq!(delivered_ends(&events), project_transaction_ends());
}

/// Runs to the `cut`-th returned event (stopping there as a crash would), resumes from
/// the acknowledged checkpoint the way the server answers its GTID set, and returns
/// what reached the consumer and the last checkpoint.
fn cut_and_resume(start: Option<&LogPosition>, cut: usize) -> (Vec<SourceEvent>, LogPosition) {
    let all = records();
    let mut first = assembler(start_at(start, DumpMode::Gtid), DumpMode::Gtid);
    let executed = |p: Option<&LogPosition>| {
        p.map(|p| set(&p.gtid.as_ref().unwrap().0))
            .unwrap_or_default()
    };
    let mut n = 0;
    let (events, _) = feed(&mut first, &serve_gtid_set(&all, &executed(start)), |_| {
        n += 1;
        n >= cut
    });
    let (kept, checkpoint) = acknowledged(&events);
    let checkpoint = checkpoint.or_else(|| start.cloned());
    let mut resumed = assembler(
        start_at(checkpoint.as_ref(), DumpMode::Gtid),
        DumpMode::Gtid,
    );
    let (rest, _) = feed(
        &mut resumed,
        &serve_gtid_set(&all, &executed(checkpoint.as_ref())),
        |_| false,
    );
    let last = resumed
        .committed_position()
        .cloned()
        .or(checkpoint)
        .unwrap();
    (kept.into_iter().chain(rest).collect(), last)
}

#[test]
fn resume_at_every_transaction_boundary_and_inside_the_bulk_transaction_delivers_each_once() {
    let all = records();
    let mut whole = assembler(start_at(None, DumpMode::Gtid), DumpMode::Gtid);
    let (events, _) = feed(
        &mut whole,
        &serve_gtid_set(&all, &GtidSet::default()),
        |_| false,
    );
    // Cut right after every transaction end, and at several rows inside the bulk one.
    let mut cuts: Vec<usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| matches!(e, SourceEvent::Commit { .. } | SourceEvent::Ddl { .. }))
        .map(|(i, _)| i + 1)
        .collect();
    let bulk_begin = events
        .iter()
        .position(|e| matches!(e, SourceEvent::Begin(t) if t.gtid.as_ref().is_some_and(|g| g.0.ends_with(&format!(":{BULK_GNO}")))))
        .unwrap();
    cuts.extend([
        bulk_begin + 1,
        bulk_begin + 2,
        bulk_begin + 450,
        bulk_begin + 900,
    ]);
    assert!(
        cuts.len() >= 23,
        "19 transaction ends and 4 cuts in the bulk transaction"
    );
    for cut in cuts {
        let (delivered, last) = cut_and_resume(None, cut);
        assert_eq!(
            delivered_ends(&delivered),
            project_transaction_ends(),
            "cut after event {cut}: every transaction exactly once, in order"
        );
        let mut tables = Tables::default();
        tables.apply(&delivered);
        tables.assert_match_expected();
        assert_eq!(
            last.gtid.unwrap().0,
            format!("{UUID}:1-20"),
            "cut after event {cut}"
        );
    }
}

/// The replay bug of issue 12: each file's `PREVIOUS_GTIDS` replaced the executed set,
/// so a checkpoint taken after a resume from `1-k` said only `k+1-…`, and the next
/// resume asked the server for 1-k again (an INSERT arriving after its UPDATE).
#[test]
fn resuming_from_a_resumed_checkpoint_never_asks_for_delivered_transactions_again() {
    let all = records();
    let mut checkpoint: Option<LogPosition> = None;
    let mut delivered = Vec::new();
    let mut shrank = Vec::new();
    // Stop after each transaction of the project, resume from there, again and again
    // (bounded: with replays the stream would never end).
    for _ in 0..60 {
        let executed = checkpoint
            .as_ref()
            .map(|p| set(&p.gtid.as_ref().unwrap().0))
            .unwrap_or_default();
        let mut asm = assembler(
            start_at(checkpoint.as_ref(), DumpMode::Gtid),
            DumpMode::Gtid,
        );
        let (events, stopped) = feed(&mut asm, &serve_gtid_set(&all, &executed), |e| {
            matches!(e, SourceEvent::Commit { .. } | SourceEvent::Ddl { .. })
        });
        delivered.extend(events);
        if !stopped {
            break;
        }
        let next = asm.committed_position().cloned();
        if let (Some(before), Some(after)) = (&checkpoint, &next) {
            let (b, a) = (
                set(&before.gtid.as_ref().unwrap().0),
                set(&after.gtid.as_ref().unwrap().0),
            );
            let mut union = b.clone();
            union.union(&a);
            if union != a {
                shrank.push(format!("{} -> {}", b.render(), a.render()));
            }
        }
        checkpoint = next;
    }
    // Nothing delivered twice (with the bug: 1-2 came again after 3, and so on).
    assert_eq!(delivered_ends(&delivered), project_transaction_ends());
    let mut tables = Tables::default();
    tables.apply(&delivered);
    tables.assert_match_expected();
    // The executed set only grew from checkpoint to checkpoint.
    assert!(
        shrank.is_empty(),
        "executed sets that lost transactions: {shrank:?}"
    );
}

#[test]
fn a_reconnect_mid_transaction_repeats_nothing_and_reopens_in_the_start_mode() {
    let all = records();
    for mode in [DumpMode::Gtid, DumpMode::FilePos] {
        let mut asm = assembler(start_at(None, mode), mode);
        let mut rows_in_bulk = 0;
        let (before, stopped) = feed(&mut asm, &serve_gtid_set(&all, &GtidSet::default()), |e| {
            if let SourceEvent::Row(c) = e {
                let ChangeOrigin::Binlog { txn, .. } = &c.origin else {
                    return false;
                };
                if txn.gtid.as_ref().unwrap().0.ends_with(":20") {
                    rows_in_bulk += 1;
                }
            }
            rows_in_bulk == 300
        });
        assert!(stopped);
        // The connection drops: the dump re-opens right after the last commit, in the
        // same mode.
        let from = asm.rewind();
        match (mode, &from) {
            (DumpMode::Gtid, DumpFrom::MySqlGtid(s)) => {
                assert_eq!(s.render(), format!("{UUID}:1-19"))
            }
            (DumpMode::FilePos, DumpFrom::Coord(c)) => {
                assert_eq!(c, &BinlogCoord::new(FILE, 6464))
            }
            other => panic!("re-opened {other:?}"),
        }
        let answer = match &from {
            DumpFrom::MySqlGtid(s) => serve_gtid_set(&all, s),
            // A file:pos dump: rotate, format description, then from the offset on.
            _ => {
                let mut rotate = all[0].clone();
                patch(&mut rotate, 19, &6464u64.to_le_bytes());
                let mut out = vec![rotate, all[1].clone()];
                out.extend(all.iter().filter(|r| log_pos(r) > 6464).cloned());
                out
            }
        };
        let (after, _) = feed(&mut asm, &answer, |_| false);
        assert!(
            !after.iter().any(|e| matches!(e, SourceEvent::Begin(_))),
            "{mode:?}: the interrupted transaction's Begin is not repeated"
        );
        let indexes: Vec<u32> = before
            .iter()
            .chain(&after)
            .filter_map(|e| match e {
                SourceEvent::Row(c) => match &c.origin {
                    ChangeOrigin::Binlog { txn, index, .. }
                        if txn.gtid.as_ref().unwrap().0.ends_with(":20") =>
                    {
                        Some(*index)
                    }
                    _ => None,
                },
                _ => None,
            })
            .collect();
        assert_eq!(
            indexes,
            (0..900).collect::<Vec<u32>>(),
            "{mode:?}: each row once, in order"
        );
        let mut tables = Tables::default();
        tables.apply(&before);
        tables.apply(&after);
        tables.assert_match_expected();
    }
}

#[test]
fn a_re_sent_gtid_list_mid_file_does_not_move_the_cursor_back() {
    let all = records();
    // A checkpoint after transaction 6 (offset 2484), resumed by file and offset: the
    // server re-sends the file's format description and previous-GTIDs event, which
    // carry their original offsets (120, 151) and the set at the file start (empty).
    let checkpoint = LogPosition {
        coord: BinlogCoord::new(FILE, 2484),
        gtid: Some(Gtid(format!("{UUID}:1-6"))),
    };
    let mut asm = assembler(
        start_at(Some(&checkpoint), DumpMode::FilePos),
        DumpMode::FilePos,
    );
    let mut rotate = all[0].clone();
    patch(&mut rotate, 19, &2484u64.to_le_bytes());
    let resent = vec![rotate, all[1].clone(), all[2].clone()];
    let mut conn = connection();
    let (none, _) = feed_on(&mut conn, &mut asm, &resent, |_| false);
    assert!(none.is_empty());
    assert_eq!(asm.coord(), BinlogCoord::new(FILE, 2484));
    let next: Vec<Vec<u8>> = all.iter().filter(|r| log_pos(r) > 2484).cloned().collect();
    let (events, _) = feed_on(&mut conn, &mut asm, &next, |e| {
        matches!(e, SourceEvent::Commit { .. })
    });
    let Some(SourceEvent::Commit { end, .. }) = events.last() else {
        panic!("no commit in {events:?}")
    };
    assert_eq!(end.coord, BinlogCoord::new(FILE, 2720));
    assert_eq!(end.gtid.as_ref().unwrap().0, format!("{UUID}:1-7"));
}

#[test]
fn a_timestamp_start_skips_earlier_transactions() {
    let mut all = records();
    // Transactions 1-10 at t0, 11-20 a minute later.
    let t0 = 1_796_162_109u32;
    let mut gno = 0;
    for r in all.iter_mut().skip(3) {
        if let Some(g) = gno_of(r) {
            gno = g;
        }
        let t = if gno <= 10 { t0 } else { t0 + 60 };
        patch(r, 0, &t.to_le_bytes());
    }
    let start = AssemblyStart {
        from: DumpFrom::Coord(BinlogCoord::new(FILE, 4)),
        coord: BinlogCoord::new(FILE, 4),
        gtid: GtidState::Unknown,
        skip_before: Some(t0 + 30),
    };
    let mut asm = assembler(start, DumpMode::FilePos);
    let (events, _) = feed(&mut asm, &all, |_| false);
    let SourceEvent::Begin(first) = &events[0] else {
        panic!("starts with {:?}", events[0])
    };
    assert_eq!(first.gtid.as_ref().unwrap().0, format!("{UUID}:11"));
    assert!(events.iter().all(|e| match e {
        SourceEvent::Begin(t) => t.timestamp >= t0 + 60,
        SourceEvent::Commit { timestamp, .. } | SourceEvent::Ddl { timestamp, .. } =>
            *timestamp >= t0 + 60,
        _ => true,
    }));
    // The GTID state comes from the file's previous-GTIDs event and what was read.
    assert_eq!(
        asm.committed_position().unwrap().gtid.as_ref().unwrap().0,
        format!("{UUID}:1-20")
    );
    // A reconnect before anything was returned would come back to the first
    // transaction at/after the start time, not to the file start.
    let mut early = assembler(
        AssemblyStart {
            from: DumpFrom::Coord(BinlogCoord::new(FILE, 4)),
            coord: BinlogCoord::new(FILE, 4),
            gtid: GtidState::Unknown,
            skip_before: Some(t0 + 30),
        },
        DumpMode::FilePos,
    );
    feed(&mut early, &all, |_| true);
    let tx11_start = transactions(&all)
        .iter()
        .find(|(g, _)| *g == 11)
        .map(|(_, recs)| log_pos(&recs[0]) - 48)
        .unwrap();
    assert_eq!(
        early.rewind(),
        DumpFrom::Coord(BinlogCoord::new(FILE, tx11_start))
    );
}

#[test]
fn a_transaction_whose_gtid_is_executed_is_not_returned_again() {
    // A server that ignores the set (or a file:pos dump from before the checkpoint)
    // sends transactions 1-20 again: only 13-20 come out.
    let all = records();
    let checkpoint = LogPosition {
        coord: BinlogCoord::new(FILE, 4922),
        gtid: Some(Gtid(format!("{UUID}:1-12"))),
    };
    let mut asm = assembler(start_at(Some(&checkpoint), DumpMode::Gtid), DumpMode::Gtid);
    let (events, _) = feed(&mut asm, &serve_gtid_set(&all, &GtidSet::default()), |_| {
        false
    });
    let gnos: HashMap<u64, usize> = events.iter().fold(HashMap::new(), |mut m, e| {
        if let SourceEvent::Begin(t) = e {
            let g: u64 = t
                .gtid
                .as_ref()
                .unwrap()
                .0
                .rsplit(':')
                .next()
                .unwrap()
                .parse()
                .unwrap();
            *m.entry(g).or_default() += 1;
        }
        m
    });
    assert!(gnos.keys().all(|g| *g > 12), "{gnos:?}");
    assert_eq!(gnos.values().sum::<usize>(), gnos.len());
}

/// A `HEARTBEAT_LOG_EVENT` as a server sends it while waiting at `file`:`log_pos`.
fn heartbeat(file: &str, log_pos: u64) -> Vec<u8> {
    let size = 19 + file.len() + 4;
    let mut r = Vec::with_capacity(size);
    r.extend_from_slice(&0u32.to_le_bytes()); // timestamp: heartbeats carry none
    r.push(EventType::HEARTBEAT_EVENT as u8);
    r.extend_from_slice(&1u32.to_le_bytes()); // server id
    r.extend_from_slice(&(size as u32).to_le_bytes());
    r.extend_from_slice(&(log_pos as u32).to_le_bytes());
    r.extend_from_slice(&0u16.to_le_bytes()); // flags
    r.extend_from_slice(file.as_bytes());
    r.extend_from_slice(&[0; 4]);
    let n = r.len() - 4;
    patch(&mut r, n, &[0; 4]);
    r
}

#[test]
fn a_heartbeat_at_the_cursor_outside_a_transaction_reports_caught_up() {
    let all = records();
    let served = serve_gtid_set(&all, &GtidSet::default());
    let end = log_pos(served.last().unwrap());
    let mut asm = assembler(start_at(None, DumpMode::Gtid), DumpMode::Gtid);
    let mut conn = connection();
    // Inside the first transaction (its GTID event read, not its commit): not caught up.
    let (_, _) = feed_on(&mut conn, &mut asm, &served[..4], |_| false);
    let (mid, _) = feed_on(
        &mut conn,
        &mut asm,
        &[heartbeat(FILE, log_pos(&served[3]))],
        |_| false,
    );
    assert!(!mid.contains(&SourceEvent::CaughtUp), "{mid:?}");
    let (_, _) = feed_on(&mut conn, &mut asm, &served[4..], |_| false);
    assert_eq!(asm.coord().pos, end);
    // A heartbeat from further on (a server skipping events for the dump): alive only.
    let (ahead, _) = feed_on(&mut conn, &mut asm, &[heartbeat(FILE, end + 500)], |_| {
        false
    });
    assert!(!ahead.contains(&SourceEvent::CaughtUp), "{ahead:?}");
    // Another file at the same offset is elsewhere too.
    let (other, _) = feed_on(
        &mut conn,
        &mut asm,
        &[heartbeat("binlog-main.000002", end)],
        |_| false,
    );
    assert!(!other.contains(&SourceEvent::CaughtUp), "{other:?}");
    // Waiting where the reader is: caught up, and the cursor stays.
    let (idle, _) = feed_on(&mut conn, &mut asm, &[heartbeat(FILE, end)], |_| false);
    assert_eq!(idle.last(), Some(&SourceEvent::CaughtUp), "{idle:?}");
    assert_eq!(asm.coord().pos, end);
}
