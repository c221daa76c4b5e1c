//! Heartbeat events: where the server waits for new events. `HEARTBEAT_EVENT` (27)
//! carries the file name in its body and the offset in its header; MySQL 8.0.26+'s
//! `HEARTBEAT_LOG_EVENT_V2` (41), which mysql_common does not decode, carries both in
//! its body as typed fields (MySQL's `control_events.h`, `Heartbeat` codec): a packed
//! integer type, a packed integer length and the value, until an end mark.
//!
//! A heartbeat's header timestamp is never a time to believe: MySQL writes 0 and
//! OceanBase's Binlog Service repeats the last sent event's timestamp every 100 ms.
//! Only its place in the log is read.

use mysql_common::io::ParseBuf;

/// `HEARTBEAT_LOG_EVENT_V2`'s type code.
pub(crate) const V2: u8 = 0x29;

const END_MARK: u64 = 0;
const FILE_NAME: u64 = 1;
const POSITION: u64 = 2;

/// Where a heartbeat says the server is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Beat {
    /// Empty when the server did not say (then: the current file).
    pub file: Vec<u8>,
    pub pos: u64,
}

/// A `HEARTBEAT_EVENT`: the body is the file name, the header's log position the offset.
pub(crate) fn v1(body: &[u8], header_log_pos: u32) -> Beat {
    Beat {
        file: body.to_vec(),
        pos: header_log_pos as u64,
    }
}

/// A `HEARTBEAT_LOG_EVENT_V2` body; fields of unknown types are skipped, as the server
/// does. `Err` names what is malformed.
pub(crate) fn v2(body: &[u8]) -> Result<Beat, String> {
    let truncated = || "a truncated HEARTBEAT_LOG_EVENT_V2 field".to_string();
    let mut buf = ParseBuf(body);
    let mut beat = Beat {
        file: Vec::new(),
        pos: 0,
    };
    let mut has_pos = false;
    while !buf.is_empty() {
        let kind = buf.checked_eat_lenenc_int().ok_or_else(truncated)?;
        if kind == END_MARK {
            break;
        }
        let len = buf.checked_eat_lenenc_int().ok_or_else(truncated)?;
        let value = buf.checked_eat(len as usize).ok_or_else(truncated)?;
        match kind {
            FILE_NAME => beat.file = value.to_vec(),
            POSITION => {
                beat.pos = ParseBuf(value)
                    .checked_eat_lenenc_int()
                    .ok_or("an unreadable HEARTBEAT_LOG_EVENT_V2 position")?;
                has_pos = true;
            }
            _ => {}
        }
    }
    if !has_pos {
        return Err("a HEARTBEAT_LOG_EVENT_V2 without a position".into());
    }
    Ok(beat)
}
