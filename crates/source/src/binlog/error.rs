//! The binlog reader's error type: every variant names where in the log (and which
//! table) the problem is, and what the user can do about it.

use crate::endpoint::ConnectError;
use crate::metadata::MetadataError;
use obsync_model::{BinlogCoord, LogPosition, TableId};

/// Why the binlog reader stopped. Transient connection failures never surface here:
/// the reader retries them (see [`super::ReconnectPolicy`]) and reports
/// [`BinlogError::ReconnectExhausted`] only when the retries run out.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BinlogError {
    /// The options cannot work (e.g. server id 0).
    #[error("invalid binlog reader options: {reason}")]
    InvalidOptions { reason: String },
    /// The source could not be reached when starting.
    #[error(transparent)]
    Connect(#[from] ConnectError),
    /// A setup query (`SHOW MASTER STATUS`, `SET @…`) failed.
    #[error("{what} failed on the source{}", privilege_fix(.source))]
    Query {
        what: String,
        #[source]
        source: mysql_async::Error,
    },
    /// The server refused or aborted the binlog dump (e.g. error 1236: the requested
    /// binlog file was purged, or the position is not an event boundary).
    #[error("the source stopped the binlog stream at {position}{}", stream_fix(.source))]
    Stream {
        position: BinlogCoord,
        #[source]
        source: mysql_async::Error,
    },
    /// The connection dropped and could not be re-established.
    #[error("lost the binlog connection and could not resume from {position} after {attempts} attempts ({last_error}); check that the source is running and reachable")]
    ReconnectExhausted {
        position: LogPosition,
        attempts: u32,
        last_error: String,
    },
    /// An event could not be parsed.
    #[error("cannot parse the binlog event at {position}: {reason}")]
    Malformed {
        position: BinlogCoord,
        reason: String,
    },
    /// The server sends something this reader does not support.
    #[error("unsupported binlog content at {position}: {what}")]
    Unsupported { position: BinlogCoord, what: String },
    /// Reading a table's metadata failed.
    #[error("reading the metadata of {table} (needed at binlog position {position}) failed")]
    Metadata {
        table: TableId,
        position: BinlogCoord,
        #[source]
        source: Box<MetadataError>,
    },
    /// The binlog's table map fits neither the definition known at the start position
    /// nor today's: decoding would assign values to the wrong columns.
    #[error("the binlog at {position} describes {table} differently from its current definition ({detail}); this happens when resuming from before more than one DDL on the table, as only its definition at the checkpoint and today's are known: restart the project from a snapshot")]
    SchemaMismatch {
        table: TableId,
        position: BinlogCoord,
        detail: String,
    },
    /// A column value could not be converted to the canonical model.
    #[error("cannot decode column {column} of {table} at {position}: {reason}")]
    Decode {
        table: TableId,
        column: String,
        position: BinlogCoord,
        reason: String,
    },
    /// A start timestamp lies before the oldest binlog the server still has.
    #[error("cannot start from timestamp {requested}: the oldest binlog on the source starts at {oldest}; changes in between were purged: start from a snapshot or a later time")]
    TimestampNotRetained { requested: u32, oldest: u32 },
    /// The server has binary logging off or lists no binlog files.
    #[error("the source has no binary log: enable log_bin with binlog_format=ROW")]
    NoBinlog,
}

impl BinlogError {
    /// Whether a fresh connection may succeed where this failed: the network, a server
    /// restart or a killed connection, or the reader's own reconnect attempts ran out.
    /// Everything else (privileges, purged logs, data the reader cannot decode) needs the
    /// user to act, so a stage fails on it instead of retrying.
    pub fn is_transient(&self) -> bool {
        match self {
            BinlogError::ReconnectExhausted { .. } => true,
            other => super::stream::is_transient_error(other),
        }
    }
}

/// MySQL/MariaDB error codes meaning the user lacks a privilege: 1044/1045 access denied,
/// 1142 command denied, 1227 "you need the … privilege(s)".
fn is_privilege_error(e: &mysql_async::Error) -> bool {
    matches!(e, mysql_async::Error::Server(s) if matches!(s.code, 1044 | 1045 | 1142 | 1227))
}

const PRIVILEGE_FIX: &str = ": grant the source user the replication privileges (GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO the user; on MariaDB 10.5+ BINLOG MONITOR instead of REPLICATION CLIENT), then start the project again";

fn privilege_fix(e: &mysql_async::Error) -> &'static str {
    if is_privilege_error(e) {
        PRIVILEGE_FIX
    } else {
        ""
    }
}

fn stream_fix(e: &mysql_async::Error) -> &'static str {
    if is_privilege_error(e) {
        PRIVILEGE_FIX
    } else {
        "; if the file was purged, restart the project from a snapshot"
    }
}
