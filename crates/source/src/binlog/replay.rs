//! Replaying recorded dump streams (an `obsync capture` file, a fixture) through the
//! reader's own core: the bytes are decoded by mysql_common's `EventStreamReader` and
//! assembled by the same [`Assembler`] as a live dump, so a replay shows exactly what
//! the reader would have made of the stream.

use super::assembler::{dump_from, parse_state, Assembler, AssemblyStart, Step};
use super::error::BinlogError;
use super::reader::TableFilter;
use super::stream::DumpMode;
use mysql_common::binlog::consts::BinlogVersion;
use mysql_common::binlog::EventStreamReader;
use obsync_model::{BinlogCoord, Gtid, LogPosition, SourceEvent, TableId, TableMeta};

/// Where a recorded dump started, as its recorder opened it.
#[derive(Debug, Clone)]
pub struct ReplayStart {
    /// The source is MariaDB (its own GTID events and state spelling).
    pub mariadb: bool,
    /// The file and offset the dump was opened at.
    pub coord: BinlogCoord,
    /// The GTID state there, in the server's spelling, when known. Transactions in it
    /// are not returned (as a GTID-positioned reader would skip them).
    pub gtid: Option<String>,
}

/// Replays `events` (each one event exactly as the server sent it: header, body,
/// checksum) from `start`, returning what the reader would have returned for the
/// tables `filter` selects. `table` answers the reader's metadata reads: the table's
/// definition, or `None` when it does not exist.
pub fn replay<'a>(
    events: impl IntoIterator<Item = &'a [u8]>,
    start: &ReplayStart,
    filter: TableFilter,
    mut table: impl FnMut(&TableId) -> Option<TableMeta>,
) -> Result<Vec<SourceEvent>, BinlogError> {
    let position = LogPosition {
        coord: start.coord.clone(),
        gtid: start.gtid.clone().map(Gtid),
    };
    let gtid = parse_state(start.mariadb, start.gtid.as_deref().unwrap_or(""))?;
    // By file and offset: the recorder dumps that way, and the cursor follows the
    // events' own positions either way.
    let mode = DumpMode::FilePos;
    let assembly = AssemblyStart {
        from: dump_from(mode, start.mariadb, &position, &gtid),
        coord: start.coord.clone(),
        gtid,
        skip_before: None,
    };
    let mut asm = Assembler::new(assembly, mode, start.mariadb, filter, &[]);
    let mut decoder = EventStreamReader::new(BinlogVersion::Version4);
    let mut out = Vec::new();
    for bytes in events {
        let event = decoder
            .read(bytes)
            .map_err(|e| BinlogError::Malformed {
                position: asm.coord(),
                reason: e.to_string(),
            })?
            .ok_or_else(|| BinlogError::Malformed {
                position: asm.coord(),
                reason: "an empty event record".into(),
            })?;
        while let Step::NeedsTable(id) = asm.push(&event)? {
            let meta = table(&id);
            asm.provide_table(id, meta);
        }
        while let Some(e) = asm.pop() {
            out.push(e);
        }
    }
    Ok(out)
}
