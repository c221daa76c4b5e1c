//! Row changes and the event stream a source produces.

use crate::{BinlogCoord, Gtid, LogPosition, Row, TableId, TableMeta};
use std::sync::Arc;

/// What happened to one row.
#[derive(Debug, Clone, PartialEq)]
pub enum RowChange {
    Insert {
        after: Row,
    },
    Update {
        before: Row,
        after: Row,
    },
    Delete {
        before: Row,
    },
    /// A row read by full sync (snapshot).
    Snapshot {
        row: Row,
    },
}

impl RowChange {
    /// The image that identifies the row at the source *before* the change: the
    /// before image for UPDATE/DELETE (so a key-changing UPDATE names the old key).
    pub fn key_image(&self) -> &Row {
        match self {
            RowChange::Insert { after } => after,
            RowChange::Update { before, .. } => before,
            RowChange::Delete { before } => before,
            RowChange::Snapshot { row } => row,
        }
    }

    /// The image after the change, if the row still exists.
    pub fn after(&self) -> Option<&Row> {
        match self {
            RowChange::Insert { after } | RowChange::Update { after, .. } => Some(after),
            RowChange::Snapshot { row } => Some(row),
            RowChange::Delete { .. } => None,
        }
    }

    pub fn before(&self) -> Option<&Row> {
        match self {
            RowChange::Update { before, .. } | RowChange::Delete { before } => Some(before),
            _ => None,
        }
    }
}

/// Facts about the source transaction a change belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnInfo {
    /// Coordinate of the transaction's first event (GTID or BEGIN).
    pub start: BinlogCoord,
    pub gtid: Option<Gtid>,
    /// Event timestamp of the transaction's first event, Unix seconds.
    pub timestamp: u32,
    /// Reader-local sequence number, strictly increasing per transaction.
    pub seq: u64,
    /// `server_id` of the server that wrote the transaction (its first event's header;
    /// 0 when unknown).
    pub server_id: u32,
    /// The client connection (thread) id of a BEGIN query event, where there is one
    /// (MySQL; MariaDB's GTID event has none).
    pub thread: Option<u32>,
}

/// Where a row sits in the binlog: the rows event that carries it (its start offset in
/// the transaction's file) and its 0-based index in that event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RowEvent {
    pub pos: u64,
    pub row: u32,
}

/// Where a change came from.
#[derive(Debug, Clone, PartialEq)]
pub enum ChangeOrigin {
    /// Full sync: the chunk number within the table's snapshot.
    Snapshot { chunk: u64 },
    /// Incremental: the transaction, the 0-based index of the row within it and the
    /// rows event it came in.
    Binlog {
        txn: Arc<TxnInfo>,
        index: u32,
        event: RowEvent,
    },
}

/// One row change with its table metadata (at the change's schema version) and origin.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub table: Arc<TableMeta>,
    pub row: RowChange,
    pub origin: ChangeOrigin,
}

/// The stream a change-log reader produces. Rows always come between `Begin` and
/// `Commit`; `Commit.end` is the position to resume from once everything before it
/// has been delivered.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    Begin(Arc<TxnInfo>),
    Row(Change),
    Commit {
        txn: Arc<TxnInfo>,
        xid: Option<u64>,
        end: LogPosition,
        timestamp: u32,
    },
    /// A DDL statement on a database/table of interest, after it has been applied to
    /// the reader's schema cache.
    Ddl {
        database: String,
        table: Option<TableId>,
        statement: String,
        /// `(from, to)`: synced tables this statement renamed to names outside the
        /// project; their later changes are not synced, which the user must be told.
        renamed_out: Vec<(TableId, TableId)>,
        end: LogPosition,
        timestamp: u32,
    },
    /// The reader moved past events of no interest; safe to checkpoint at `position`
    /// once everything before it has been delivered.
    Progress {
        position: LogPosition,
        timestamp: u32,
    },
    /// The reader has read everything the source had written (it sent a heartbeat,
    /// which a server does only while it has nothing else to send, or its binlog ends
    /// where the reader is), outside any transaction. Once everything before it is
    /// delivered, the target is current: the lag is zero, however old the last change.
    CaughtUp,
}
