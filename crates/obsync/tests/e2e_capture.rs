//! End-to-end: `obsync capture` of the shared MariaDB while a workload runs, replayed
//! through the binlog reader's core (`CaptureFile::replay`): the decoded changes equal
//! the workload's exactly; a masked capture of the same range decodes to the same shapes
//! with other values, and holds none of the workload's strings.
//!
//! The workload and its changes are the committed fixture's
//! (`crates/source/tests/fixtures/capture-mariadb`). With `OBSYNC_UPDATE_CAPTURE_FIXTURE=1`
//! the test writes its capture there as the new fixture.
//!
//! Needs the shared services (`scripts/services up`).

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use obsync_model::SourceEvent;
use obsync_source::capture::{change_json, CaptureFile};
use serde_json::Value as Json;
use support::*;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../source/tests/fixtures/capture-mariadb")
}

fn statements(file: &str) -> Vec<String> {
    std::fs::read_to_string(fixture_dir().join(file))
        .unwrap()
        .lines()
        .map(|l| l.trim().trim_end_matches(';').to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

/// The workload's changes, one JSON object each (expected.json).
fn expected_changes() -> Vec<Json> {
    let text = std::fs::read_to_string(fixture_dir().join("expected.json")).unwrap();
    let exp: Json = serde_json::from_str(&text).unwrap();
    exp["changes"].as_array().unwrap().clone()
}

/// The replayed row changes as [`change_json`] shows them, tables without their
/// database (the test's database name differs per run).
fn replayed_changes(file: &CaptureFile) -> Vec<Json> {
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

/// `SHOW MASTER STATUS` as `FILE:POS`.
fn master_status(services: &Services) -> String {
    let rows = services.mariadb.query("SHOW MASTER STATUS");
    format!("{}:{}", rows[0][0], rows[0][1])
}

fn capture(config: &Path, out: &Path, args: &[&str]) -> std::process::Child {
    Command::new(env!("CARGO_BIN_EXE_obsync"))
        .args(["capture", "-c"])
        .arg(config)
        .arg("-o")
        .arg(out)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("starting obsync capture")
}

fn finished(child: std::process::Child) -> Output {
    let out = child.wait_with_output().expect("obsync capture");
    assert!(
        out.status.success(),
        "obsync capture failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn read(path: &Path) -> CaptureFile {
    CaptureFile::parse(&std::fs::read_to_string(path).unwrap())
        .unwrap_or_else(|e| panic!("{}: {}", path.display(), obsync_model::ErrorChain(&e)))
}

#[test]
fn a_capture_taken_during_a_workload_replays_to_exactly_its_changes() {
    let services = Services::load();
    let db = SourceDb::create(&services);
    db.exec_many(&statements("setup.sql"));
    let spec = ProjectSpec::new(&services, &db, "default");
    let dir = scratch_dir(&format!("capture-{}", db.name()));
    let config = spec.write_project(&dir);
    let tables = format!("{}.*", db.name());

    // Live: the capture runs while the workload is written.
    let start = master_status(&services);
    let live_path = dir.join("live.jsonl");
    let began = Instant::now();
    let live = capture(
        &config,
        &live_path,
        // Other tests write to the shared server meanwhile: no event limit gets in the way.
        &[
            "--tables",
            &tables,
            "--from",
            &start,
            "--seconds",
            "6",
            "--events",
            "10000000",
        ],
    );
    db.exec_many(&statements("workload.sql"));
    let end = master_status(&services);
    let out = finished(live);
    assert!(began.elapsed() < Duration::from_secs(30));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("stopped: time limit"), "{stderr}");

    let file = read(&live_path);
    let (end_file, end_pos) = end.rsplit_once(':').unwrap();
    let stop = file.end.as_ref().expect("the end line");
    assert!(
        stop.file.as_str() > end_file
            || (stop.file == end_file && stop.pos >= end_pos.parse::<u64>().unwrap()),
        "the capture stopped at {}:{} before the workload's end {end}",
        stop.file,
        stop.pos
    );
    assert_eq!(file.header.tables.len(), 2, "kinds and nokey");
    assert!(file.header.variables["binlog_format"].as_deref() == Some("ROW"));
    assert_eq!(replayed_changes(&file), expected_changes());

    // The same range, bounded by position, plain and masked.
    let plain_path = dir.join("plain.jsonl");
    let masked_path = dir.join("masked.jsonl");
    let range = ["--tables", &tables, "--from", &start, "--to", &end];
    let plain = capture(&config, &plain_path, &range);
    let masked = capture(&config, &masked_path, &[&range[..], &["--mask"]].concat());
    let stderr = String::from_utf8_lossy(&finished(plain).stderr).into_owned();
    assert!(stderr.contains("stopped: end position"), "{stderr}");
    finished(masked);
    let plain = read(&plain_path);
    let masked = read(&masked_path);
    assert!(masked.header.dump.masked);
    assert_eq!(replayed_changes(&plain), expected_changes());
    assert_masked_like(&replayed_changes(&masked), &expected_changes());

    // Nothing of the workload's strings is left in the masked events.
    let raw: Vec<u8> = masked.events.concat();
    for secret in ["alice", "bob", "hello", "12.50"] {
        assert!(
            !raw.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "{secret:?} is still in the masked capture"
        );
    }
    assert_eq!(
        plain.events.len(),
        masked.events.len(),
        "masking keeps every event"
    );
    for (p, m) in plain.events.iter().zip(&masked.events) {
        assert_eq!(p.len(), m.len(), "masking keeps every event's size");
    }

    if std::env::var_os("OBSYNC_UPDATE_CAPTURE_FIXTURE").is_some() {
        std::fs::copy(&plain_path, fixture_dir().join("capture.jsonl")).unwrap();
    }
}

/// Same tables, operations, row shapes and NULLs; masked types differ from the
/// workload's values, the kept ones (dates, times, BIT, ENUM) do not.
fn assert_masked_like(masked: &[Json], expected: &[Json]) {
    // Columns of `kinds` whose type --mask keeps: born, at, flag, color.
    const KEPT: [usize; 4] = [5, 6, 7, 8];
    assert_eq!(masked.len(), expected.len(), "one masked change per change");
    for (m, e) in masked.iter().zip(expected) {
        assert_eq!(m["table"], e["table"]);
        assert_eq!(m["op"], e["op"]);
        for image in ["before", "after"] {
            let (Some(mi), Some(ei)) = (m[image].as_array(), e[image].as_array()) else {
                assert_eq!(m[image].is_null(), e[image].is_null(), "{image} of {m}");
                continue;
            };
            assert_eq!(mi.len(), ei.len());
            for (i, (mv, ev)) in mi.iter().zip(ei).enumerate() {
                assert_eq!(mv.is_null(), ev.is_null(), "NULL kept: column {i} of {m}");
                if ev.is_null() {
                    continue;
                }
                let kept = e["table"] == "kinds" && KEPT.contains(&i);
                if kept {
                    assert_eq!(mv, ev, "column {i} is kept by --mask");
                } else {
                    assert_ne!(mv, ev, "column {i} is masked");
                }
            }
        }
    }
}
