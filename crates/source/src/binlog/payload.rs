//! `TRANSACTION_PAYLOAD_EVENT` (40): MySQL 8's `binlog_transaction_compression=ON`
//! writes a transaction's events (BEGIN, table maps, rows, XID) as one zstd-compressed
//! payload after its GTID event.
//!
//! mysql_async's binlog stream decompresses it and yields the payload event, then each
//! inner event (no checksum, no log position of their own: MySQL's WL#3549), so the
//! assembler handles inner events like any other. What it does not do is fail: a
//! payload it cannot read or decompress yields no inner events at all, which would
//! drop the transaction silently. So the payload's own header is read here, and the
//! inner events that follow are counted against its uncompressed size.

use mysql_common::binlog::consts::TransactionPayloadCompressionType;
use mysql_common::binlog::events::{Event, TransactionPayloadEvent};
use obsync_model::BinlogCoord;

/// A payload whose inner events are still due.
#[derive(Debug, Clone)]
pub(crate) struct PayloadDue {
    start: BinlogCoord,
    expected: u64,
    seen: u64,
}

impl PayloadDue {
    /// Reads a payload event's header; `None` when no inner events are due (an empty
    /// payload). `Err` says why the header is unreadable.
    pub fn read(ev: &Event, start: BinlogCoord) -> Result<Option<Self>, String> {
        let p: TransactionPayloadEvent<'_> = ev
            .read_event()
            .map_err(|e| format!("unreadable transaction payload header: {e}"))?;
        let expected = if p.algorithm() == TransactionPayloadCompressionType::NONE {
            p.payload_size()
        } else {
            p.uncompressed_size()
        };
        if expected == 0 && p.payload_size() > 0 {
            // The driver sizes its buffer by this field: without it nothing decompresses.
            return Err("a compressed transaction without its uncompressed size: set binlog_transaction_compression=OFF on the source and restart the project from a snapshot".into());
        }
        Ok((expected > 0).then_some(Self {
            start,
            expected,
            seen: 0,
        }))
    }

    /// Counts an inner event of `size` bytes; `true` once the whole payload was seen.
    pub fn inner(&mut self, size: u64) -> bool {
        self.seen += size;
        self.seen >= self.expected
    }

    /// Why the stream went on before the payload's events were all seen.
    pub fn incomplete(&self) -> String {
        format!(
            "the compressed transaction at {} holds {} bytes of events, but only {} reached the reader (the driver could not decompress it): set binlog_transaction_compression=OFF on the source and restart the project from a snapshot",
            self.start, self.expected, self.seen
        )
    }
}
