//! `obsync capture` files: what a source server says about itself plus a bounded,
//! raw dump of its binlog events, in one file a user attaches to a bug report, and the
//! replay of such a file through the reader's own core ([`crate::binlog::replay`]).
//!
//! The file is JSON Lines (UTF-8), format version [`FORMAT_VERSION`]:
//! 1. a [`CaptureHeader`] (`"format": "obsync-capture"`, the version, the server's
//!    variables, `SHOW MASTER STATUS`, `SHOW BINARY LOGS`, the chosen tables'
//!    `SHOW CREATE TABLE` and information_schema rows, and where the dump started);
//! 2. one [`EventLine`] per binlog event, in the order the server sent them, its bytes
//!    (v4 header, body, checksum) in base64 exactly as sent, or masked ([`mask`]);
//! 3. a [`CaptureEnd`] line saying why the capture stopped; a file without it was cut
//!    short (the replay still reads the events it has).
//!
//! A newer version is refused by [`CaptureFile::parse`]; a change of shape is a new
//! version, and files of earlier versions stay readable.

pub mod mask;
mod record;

pub use record::{record, CaptureError, CaptureFrom, CaptureOptions, CaptureProgress};

use crate::binlog::replay::{replay, ReplayStart};
use crate::binlog::{BinlogError, TableFilter};
use crate::metadata::{MetadataError, TableFacts};
use crate::SourceFlavor;
use base64::Engine as _;
use obsync_model::{BinlogCoord, SourceEvent, TableId, TableMeta};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The `format` field of every capture header.
pub const FORMAT_NAME: &str = "obsync-capture";
/// The capture file format this build writes (and the newest it reads).
pub const FORMAT_VERSION: u32 = 1;

/// The first line of a capture file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaptureHeader {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// [`FORMAT_VERSION`] when written.
    pub version: u32,
    /// The obsync release that wrote the file.
    pub obsync_version: String,
    /// When the capture started, RFC 3339 UTC.
    pub captured_at: String,
    pub source: SourceFacts,
    /// Server variables (`SELECT @@GLOBAL.name`), `null` when the server has no such
    /// variable or refused to tell.
    pub variables: BTreeMap<String, Option<String>>,
    /// `SHOW MASTER STATUS` as the server answered it, or why it could not.
    pub master_status: Answer,
    /// `SHOW BINARY LOGS` as the server answered it, or why it could not.
    pub binary_logs: Answer,
    /// The chosen tables, sorted by name.
    pub tables: Vec<CapturedTable>,
    pub dump: DumpFacts,
}

/// Who answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceFacts {
    /// `host:port` as configured.
    pub address: String,
    /// `SELECT VERSION()`.
    pub version: String,
    /// `oceanbase`, `mysql` or `mariadb`, detected from the version.
    pub flavor: String,
    /// `SELECT ob_version()` on OceanBase.
    pub ob_version: Option<String>,
}

/// A statement's result as text, or the error the server gave.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Answer {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
    /// The server's error, when the statement failed (the other fields are empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One chosen table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CapturedTable {
    pub database: String,
    pub table: String,
    /// `SHOW CREATE TABLE`, or the server's error.
    pub create_table: Result<String, String>,
    /// What information_schema says, from which the replay builds the table's
    /// definition as the reader would (`null` when it could not be read).
    pub facts: Option<TableFacts>,
}

/// How the dump was taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DumpFacts {
    /// The file and offset the dump was opened at (`COM_BINLOG_DUMP`).
    pub file: String,
    pub pos: u64,
    /// The server's GTID state at the start when it was the current end (MariaDB
    /// `gtid_binlog_pos`, MySQL `gtid_executed`); `null` otherwise.
    pub gtid: Option<String>,
    /// The replica server id the dump registered with.
    pub server_id: u32,
    /// Row values are masked ([`mask`]): the events decode, the values are not the
    /// source's.
    pub masked: bool,
    /// The limits asked for.
    pub max_events: u64,
    pub max_seconds: u64,
    /// `FILE:POS` the dump stops before, when asked.
    pub to: Option<String>,
}

/// One binlog event of the dump.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventLine {
    /// 1 for the first event of the dump.
    pub n: u64,
    /// The event type code (header byte 4), e.g. 15 for a format description.
    #[serde(rename = "type")]
    pub event_type: u8,
    /// The header's `log_pos`: where the next event starts (0 for artificial events).
    pub log_pos: u64,
    /// The event's bytes, base64 (standard alphabet, padded).
    pub bytes: String,
}

/// The last line: why the capture stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaptureEnd {
    /// Events recorded.
    pub events: u64,
    /// `event limit`, `time limit`, `end position`, `interrupted`, or `the server
    /// ended the dump`.
    pub stopped: String,
    /// The file and offset after the last recorded event.
    pub file: String,
    pub pos: u64,
}

/// The last line's envelope (`{"end": {…}}`), so it cannot be taken for an event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct EndLine {
    end: CaptureEnd,
}

/// A capture file read back.
#[derive(Debug, Clone)]
pub struct CaptureFile {
    pub header: CaptureHeader,
    /// Each event's bytes, in dump order.
    pub events: Vec<Vec<u8>>,
    /// `None` when the file was cut short.
    pub end: Option<CaptureEnd>,
}

/// Why a capture file cannot be read or replayed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureFileError {
    #[error("line {line} of the capture file is not valid: {reason}; the file may be damaged or cut: capture again")]
    Line { line: usize, reason: String },
    #[error("this is not an obsync capture file (its first line has format {found:?}): pass a file written by `obsync capture`")]
    NotACapture { found: String },
    #[error("the capture file has format version {found}, newer than this obsync reads ({FORMAT_VERSION}): replay it with a newer obsync")]
    TooNew { found: u32 },
    #[error("the table definition of {table} in the capture cannot be used")]
    Table {
        table: TableId,
        #[source]
        source: Box<MetadataError>,
    },
    #[error("replaying the captured events failed")]
    Replay(#[source] Box<BinlogError>),
}

impl CaptureHeader {
    /// The flavor the capture's source was detected as.
    pub fn flavor(&self) -> SourceFlavor {
        match self.source.flavor.as_str() {
            "oceanbase" => SourceFlavor::OceanBase,
            "mariadb" => SourceFlavor::MariaDb,
            _ => SourceFlavor::MySql,
        }
    }
}

impl CaptureFile {
    /// Reads a capture file's text.
    pub fn parse(text: &str) -> Result<CaptureFile, CaptureFileError> {
        let mut lines = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty());
        let bad = |line: usize, e: &dyn std::fmt::Display| CaptureFileError::Line {
            line: line + 1,
            reason: e.to_string(),
        };
        let (i, first) = lines.next().ok_or(CaptureFileError::Line {
            line: 1,
            reason: "the file is empty".into(),
        })?;
        // The envelope first, so another file is named as such rather than as invalid.
        let probe: serde_json::Value = serde_json::from_str(first).map_err(|e| bad(i, &e))?;
        let format = probe["format"].as_str().unwrap_or_default();
        if format != FORMAT_NAME {
            return Err(CaptureFileError::NotACapture {
                found: format.to_string(),
            });
        }
        let version = probe["version"].as_u64().unwrap_or(0);
        if version > u64::from(FORMAT_VERSION) {
            return Err(CaptureFileError::TooNew {
                found: version as u32,
            });
        }
        let header: CaptureHeader = serde_json::from_value(probe).map_err(|e| bad(i, &e))?;
        let mut events = Vec::new();
        let mut end = None;
        for (i, line) in lines {
            if end.is_some() {
                return Err(bad(i, &"a line after the end line"));
            }
            if line.starts_with("{\"end\"") {
                let e: EndLine = serde_json::from_str(line).map_err(|e| bad(i, &e))?;
                end = Some(e.end);
                continue;
            }
            let ev: EventLine = serde_json::from_str(line).map_err(|e| bad(i, &e))?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&ev.bytes)
                .map_err(|e| bad(i, &e))?;
            events.push(bytes);
        }
        Ok(CaptureFile {
            header,
            events,
            end,
        })
    }

    /// The captured tables' definitions as the reader would have read them.
    pub fn table_metas(&self) -> Result<Vec<TableMeta>, CaptureFileError> {
        let flavor = self.header.flavor();
        self.header
            .tables
            .iter()
            .filter_map(|t| t.facts.clone())
            .map(|facts| {
                let table = TableId::new(facts.database.clone(), facts.table.clone());
                facts
                    .into_meta(flavor)
                    .map_err(|source| CaptureFileError::Table {
                        table,
                        source: Box::new(source),
                    })
            })
            .collect()
    }

    /// Replays the events through the binlog reader's core and returns what it would
    /// have returned for the captured tables. Rows are decoded with the definitions
    /// read when the capture started, so a capture spanning a DDL of a chosen table
    /// decodes only up to it.
    pub fn replay(&self) -> Result<Vec<SourceEvent>, CaptureFileError> {
        let metas = self.table_metas()?;
        let chosen: Vec<TableId> = metas.iter().map(|m| m.id.clone()).collect();
        let filter: TableFilter = std::sync::Arc::new(move |t: &TableId| chosen.contains(t));
        let start = ReplayStart {
            mariadb: self.header.flavor() == SourceFlavor::MariaDb,
            coord: BinlogCoord::new(self.header.dump.file.clone(), self.header.dump.pos),
            gtid: None,
        };
        replay(
            self.events.iter().map(|e| e.as_slice()),
            &start,
            filter,
            |id| metas.iter().find(|m| &m.id == id).cloned(),
        )
        .map_err(|e| CaptureFileError::Replay(Box::new(e)))
    }
}

/// One event as its capture line.
pub(crate) fn event_line(n: u64, bytes: &[u8]) -> EventLine {
    EventLine {
        n,
        event_type: bytes.get(4).copied().unwrap_or(0),
        log_pos: bytes
            .get(13..17)
            .map(|b| u32::from_le_bytes(b.try_into().expect("4 bytes")) as u64)
            .unwrap_or(0),
        bytes: base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

/// The end line's text.
pub(crate) fn end_line(end: CaptureEnd) -> String {
    serde_json::to_string(&EndLine { end }).expect("plain data serializes")
}

/// A replayed row change as JSON, the way capture replays are shown and compared:
/// `{"table": "db.t", "op": "insert"|"update"|"delete", "before": [...], "after": [...]}`
/// with each value as text (`null` for NULL; numbers, decimals and temporal values in
/// the server's spelling with the column's fractional digits; binary as
/// `{"hex": "00FF"}`).
pub fn change_json(change: &obsync_model::Change) -> serde_json::Value {
    use obsync_model::RowChange;
    let meta = &change.table;
    let row = |values: &obsync_model::Row| {
        serde_json::Value::Array(
            values
                .iter()
                .enumerate()
                .map(|(i, v)| value_json(v, meta.columns.get(i).and_then(|c| c.fsp).unwrap_or(0)))
                .collect(),
        )
    };
    let (op, before, after) = match &change.row {
        RowChange::Insert { after } => ("insert", None, Some(after)),
        RowChange::Update { before, after } => ("update", Some(before), Some(after)),
        RowChange::Delete { before } => ("delete", Some(before), None),
        RowChange::Snapshot { row: r, .. } => ("snapshot", None, Some(r)),
    };
    let mut out = serde_json::json!({ "table": meta.id.to_string(), "op": op });
    if let Some(b) = before {
        out["before"] = row(b);
    }
    if let Some(a) = after {
        out["after"] = row(a);
    }
    out
}

fn value_json(v: &obsync_model::Value, fsp: u8) -> serde_json::Value {
    use obsync_model::Value;
    let text = match v {
        Value::Null => return serde_json::Value::Null,
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
        Value::DateTime(dt) => dt.render(fsp),
        Value::Timestamp(t) => t.to_utc_datetime().render(fsp),
        Value::Time(t) => t.render(fsp),
        Value::Year(y) => y.to_string(),
        Value::Text(s) => s.clone(),
    };
    serde_json::Value::String(text)
}
