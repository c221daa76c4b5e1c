//! The binlog reader's error type: every variant names where in the log (and which
//! table) the problem is, and what the user can do about it.

use crate::endpoint::ConnectError;
use crate::metadata::MetadataError;
use crate::SqlError;
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
        source: SqlError,
    },
    /// The server refused or aborted the binlog dump (e.g. error 1236: the requested
    /// binlog file or transactions were purged; a privilege is missing; or a dump command
    /// the server does not serve). The server's own answer is the source.
    #[error("the source stopped the binlog dump {at}; {fix}")]
    Stream {
        /// Where: `when opened from …` or `at FILE:POS (opened from …)`.
        at: String,
        /// What to do, for how the dump was positioned (see `stream::refusal`).
        fix: &'static str,
        #[source]
        source: SqlError,
    },
    /// The source no longer has the change log the dump starts from (found before
    /// dumping, or said by the server's error 1236).
    #[error("cannot resume the binlog from {from}: the source purged binlogs this project has not read yet ({detail}), so changes in between are lost to it; restart the project from a snapshot (or a chosen start time), and keep binlogs longer than the longest stop (binlog_expire_logs_seconds / expire_logs_days)")]
    Purged { from: String, detail: String },
    /// The source's change log is not the history the checkpoint was read from.
    #[error("cannot resume the binlog from {from}: the source's change log does not contain that position ({detail}); its binlog was reset (RESET MASTER), re-created or restored from a backup, or this is another server. If [source] names the right server, restart the project from a snapshot (or a chosen start time); otherwise point it back at the server the project was reading")]
    LineageChanged { from: String, detail: String },
    /// The checkpoint was read from another server, and a file position means
    /// something only in the binlog it was read from (see `lineage`).
    #[error("cannot resume the binlog from {from}: the checkpoint was read from the server {was} and the source is now {now}, and a file position belongs to one server's binlog. If this is a failover within one GTID history (the new server's gtid_executed holds the checkpoint's transactions), set binlog_positioning = \"gtid\" in [source] to resume by GTID; otherwise restart the project from a snapshot (or a chosen start time)")]
    ServerChanged {
        from: String,
        was: String,
        now: String,
    },
    /// The server kept refusing the dump although the checks before it passed (it still
    /// has the position); retried with backoff for a while first.
    #[error("the source refused the binlog dump from {from} {attempts} times over {secs}s although it still has that position; check the source's error log for the reason given below, then start the project again")]
    Refused {
        from: String,
        attempts: u32,
        secs: u64,
        #[source]
        source: SqlError,
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
    /// nor the one read again over SQL: decoding would assign values to the wrong
    /// columns.
    #[error("the binlog at {position} describes {table} differently from its definition read over SQL ({detail}); either its shape changed without a DDL in the binlog (OceanBase's Binlog Service drops DDL it cannot convert) and the change log is not at that shape yet, or this run resumed from before more than one DDL on the table (only its definition at the checkpoint and today's are known): restart the project from a snapshot of {table}")]
    SchemaMismatch {
        table: TableId,
        position: BinlogCoord,
        detail: String,
    },
    /// A partial JSON update (`PARTIAL_UPDATE_ROWS_EVENT`) does not fit the before
    /// image's document, or there is no document to apply it to. obsync never guesses
    /// the value, so the table stops here.
    #[error("cannot apply the partial JSON update of column {column} of {table} at {position}: {reason}; set binlog_row_value_options='' on the source (OceanBase Binlog Service: turn partial JSON off for the tenant's binlog) so that updates carry whole documents, then restart the project from a snapshot, as this event cannot be read exactly")]
    JsonDiff {
        table: TableId,
        column: String,
        position: BinlogCoord,
        reason: String,
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
    /// The current position (`StartFrom::Current`) could not be read.
    #[error(transparent)]
    Position(#[from] crate::position::PositionError),
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
pub(crate) fn is_privilege_error(e: &SqlError) -> bool {
    matches!(e.server_code(), Some(1044 | 1045 | 1142 | 1227))
}

pub(crate) const PRIVILEGE_FIX: &str = ": grant the source user the replication privileges (GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO the user; on MariaDB 10.5+ BINLOG MONITOR instead of REPLICATION CLIENT), then start the project again";

fn privilege_fix(e: &SqlError) -> &'static str {
    if is_privilege_error(e) {
        PRIVILEGE_FIX
    } else {
        ""
    }
}
