//! A committed `obsync capture` of the local MariaDB (`fixtures/capture-mariadb`, see
//! its README) replayed through the binlog reader's core without any service: the
//! decoded changes are exactly the workload's, and the same events masked decode to the
//! same shapes.

use mysql_common::binlog::consts::BinlogVersion;
use mysql_common::binlog::EventStreamReader;
use obsync_model::SourceEvent;
use obsync_source::capture::mask::Masker;
use obsync_source::capture::{change_json, CaptureFile, CaptureFileError};
use serde_json::Value as Json;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/capture-mariadb")
        .join(name)
}

fn capture_text() -> String {
    std::fs::read_to_string(fixture("capture.jsonl")).unwrap()
}

fn expected_changes() -> Vec<Json> {
    let exp: Json =
        serde_json::from_str(&std::fs::read_to_string(fixture("expected.json")).unwrap()).unwrap();
    exp["changes"].as_array().unwrap().clone()
}

/// Row changes as `change_json` shows them, tables without their database.
fn changes(file: &CaptureFile) -> Vec<Json> {
    file.replay()
        .unwrap_or_else(|e| panic!("replay: {}", obsync_model::ErrorChain(&e)))
        .iter()
        .filter_map(|e| match e {
            SourceEvent::Row(c) => {
                let mut j = change_json(c);
                j["table"] = Json::String(c.table.id.table.clone());
                Some(j)
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_captured_mariadb_stream_replays_to_exactly_the_workloads_changes() {
    let file = CaptureFile::parse(&capture_text()).unwrap();
    assert_eq!(file.header.source.flavor, "mariadb");
    assert_eq!(file.end.as_ref().unwrap().stopped, "end position");
    assert_eq!(changes(&file), expected_changes());
}

#[test]
fn masked_events_keep_their_sizes_and_decode_to_the_same_shapes() {
    let mut file = CaptureFile::parse(&capture_text()).unwrap();
    let mut decoder = EventStreamReader::new(BinlogVersion::Version4);
    let mut masker = Masker::new();
    for bytes in &mut file.events {
        let event = decoder.read(&bytes[..]).unwrap().unwrap();
        let before = bytes.clone();
        let mut written = Vec::new();
        event.write(BinlogVersion::Version4, &mut written).unwrap();
        assert_eq!(written, before, "events are recorded exactly as sent");
        masker.mask(&event, bytes).unwrap();
        assert_eq!(bytes.len(), before.len());
    }
    let masked = changes(&file);
    let expected = expected_changes();
    assert_eq!(masked.len(), expected.len());
    for (m, e) in masked.iter().zip(&expected) {
        assert_eq!((&m["table"], &m["op"]), (&e["table"], &e["op"]));
        for image in ["before", "after"] {
            let nulls = |j: &Json| {
                j[image]
                    .as_array()
                    .map(|a| a.iter().map(Json::is_null).collect::<Vec<_>>())
            };
            assert_eq!(nulls(m), nulls(e), "NULLs of the {image} image of {e}");
        }
        assert_ne!(m, e, "values are masked");
    }
    // Equal values mask to equal values: each update's before image is still the row
    // the change before it left.
    assert_eq!(masked[2]["before"], masked[1]["after"]);
    assert_eq!(masked[8]["before"], masked[5]["after"]);
}

#[test]
fn a_capture_cut_short_still_replays_what_it_holds() {
    let text = capture_text();
    let cut: Vec<&str> = text.lines().take(7).collect();
    let file = CaptureFile::parse(&cut.join("\n")).unwrap();
    assert!(file.end.is_none());
    assert_eq!(changes(&file), expected_changes()[..2]);
}

#[test]
fn other_files_and_newer_versions_are_refused_by_name() {
    let err = CaptureFile::parse("{\"format\":\"something\"}").unwrap_err();
    assert!(matches!(err, CaptureFileError::NotACapture { .. }), "{err}");
    let err = CaptureFile::parse("{\"format\":\"obsync-capture\",\"version\":99}").unwrap_err();
    assert!(
        matches!(err, CaptureFileError::TooNew { found: 99 }),
        "{err}"
    );
    assert!(err.to_string().contains("newer obsync"));
}

/// The real MySQL 8.0 stream (`fixtures/mysql8-gtid`: binary JSON, DECIMAL, DATETIME2,
/// BIT, ENUM, SET, BLOB, a bulk transaction) masked event by event: every event keeps its
/// size and still decodes, and every row of every rows event still parses with its table
/// map, with strings and numbers changed.
#[test]
fn masking_a_mysql8_stream_keeps_every_row_decodable() {
    use mysql_common::binlog::events::EventData;
    let bytes = std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/mysql8-gtid/events.bin"),
    )
    .unwrap();
    let mut records = Vec::new();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let len = u32::from_le_bytes(rest[..4].try_into().unwrap()) as usize;
        records.push(rest[4..4 + len].to_vec());
        rest = &rest[4 + len..];
    }
    let mut plain = EventStreamReader::new(BinlogVersion::Version4);
    let mut masked_reader = EventStreamReader::new(BinlogVersion::Version4);
    let mut masker = Masker::new();
    let mut table_maps = std::collections::HashMap::new();
    let (mut rows_seen, mut values_changed) = (0usize, 0usize);
    for record in &records {
        let event = plain.read(&record[..]).unwrap().unwrap();
        let mut masked = record.clone();
        masker.mask(&event, &mut masked).unwrap();
        assert_eq!(masked.len(), record.len());
        let masked_event = masked_reader.read(&masked[..]).unwrap().unwrap();
        match (
            event.read_data().unwrap(),
            masked_event.read_data().unwrap(),
        ) {
            (Some(EventData::TableMapEvent(t)), _) => {
                table_maps.insert(t.table_id(), t.into_owned());
            }
            (Some(EventData::RowsEvent(a)), Some(EventData::RowsEvent(b))) => {
                let tme = &table_maps[&a.table_id()];
                let before: Vec<_> = a.rows(tme).map(|r| r.unwrap()).collect();
                let after: Vec<_> = b.rows(tme).map(|r| r.unwrap()).collect();
                assert_eq!(before.len(), after.len());
                rows_seen += after.len();
                for ((b1, a1), (b2, a2)) in before.iter().zip(&after) {
                    for (x, y) in [(b1, b2), (a1, a2)] {
                        let (Some(x), Some(y)) = (x, y) else { continue };
                        for i in 0..x.len() {
                            let (vx, vy) = (x.as_ref(i), y.as_ref(i));
                            assert_eq!(vx.is_none(), vy.is_none(), "NULLs kept");
                            if vx != vy {
                                values_changed += 1;
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // Every row has a masked key or value (all tables have integer or string columns).
    assert!(rows_seen > 900, "{rows_seen} rows");
    assert!(
        values_changed >= rows_seen,
        "{values_changed} values masked in {rows_seen} rows"
    );
}
