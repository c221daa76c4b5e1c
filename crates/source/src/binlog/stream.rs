//! Opening a binlog dump connection: replica registration, the MariaDB session
//! settings, and where to start.

use super::error::BinlogError;
use super::gtid::{GtidSet, GtidState};
use super::retention::{self, Refusal};
use crate::endpoint::SourceEndpoint;
use crate::SqlError;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, Conn};
use obsync_model::BinlogCoord;
use std::fmt;
use std::time::Duration;

/// How a reader positions its dumps, at the start and at every reconnect (a source may
/// serve only one of them: some GTID-only primaries refuse `COM_BINLOG_DUMP`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DumpMode {
    /// `COM_BINLOG_DUMP` from a file and offset.
    FilePos,
    /// MySQL: `COM_BINLOG_DUMP_GTID` from the executed GTID set; MariaDB: its own
    /// `@slave_connect_state`.
    Gtid,
}

impl fmt::Display for DumpMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DumpMode::FilePos => "file and position",
            DumpMode::Gtid => "GTID auto-positioning",
        })
    }
}

/// Where a dump starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DumpFrom {
    /// A file and the offset of an event boundary in it.
    Coord(BinlogCoord),
    /// MariaDB: right after the transactions of this `gtid_slave_pos`-style state.
    MariaGtid(String),
    /// MySQL: everything not in this executed GTID set (`COM_BINLOG_DUMP_GTID`).
    MySqlGtid(GtidSet),
}

impl fmt::Display for DumpFrom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DumpFrom::Coord(c) => write!(f, "{c}"),
            DumpFrom::MariaGtid(g) => write!(f, "GTID state {g:?}"),
            DumpFrom::MySqlGtid(set) => write!(f, "GTID set {:?}", set.render()),
        }
    }
}

/// Which history a dump's position belongs to (see `lineage`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Lineage<'a> {
    /// The server the position was read from, when known.
    pub server: Option<&'a str>,
    /// The GTID state right after the position.
    pub state: &'a GtidState,
}

impl Lineage<'static> {
    /// For dumps that do not continue a checkpoint (probing a file's first event).
    pub fn unknown() -> Self {
        Lineage {
            server: None,
            state: &GtidState::Unknown,
        }
    }
}

/// Opens a dump as replica `server_id` on a server that is (`mariadb`) or is not
/// MariaDB, after checking that the server still has `from` in `lineage`'s history.
/// `heartbeat` asks the server to send a heartbeat event after that long without
/// events (so a dead connection is noticed and idle progress can be reported).
/// `non_blocking` ends the stream at the end of the last binlog instead of waiting.
/// Returns the stream and the server's identity (see `lineage`).
///
/// The server answers a refused dump only when the first event is read: see
/// [`refusal`] for turning that answer into an error a user can act on.
pub(crate) async fn open(
    endpoint: &SourceEndpoint,
    mariadb: bool,
    server_id: u32,
    from: &DumpFrom,
    lineage: Lineage<'_>,
    heartbeat: Duration,
    non_blocking: bool,
) -> Result<(BinlogStream, Option<String>), BinlogError> {
    let mut conn = endpoint.connect().await?;
    if mariadb {
        // Without this MariaDB replaces its GTID, GTID-list and annotate events with
        // stand-ins (a BEGIN query, user-variable events, "# Dummy event" queries).
        run(&mut conn, "SET @mariadb_slave_capability=4".into()).await?;
    }
    if let DumpFrom::MariaGtid(state) = from {
        if !mariadb {
            return Err(BinlogError::InvalidOptions {
                reason: format!("GTID {state:?} is in MariaDB form but the source is not MariaDB"),
            });
        }
        conn.exec_drop("SET @slave_connect_state = ?", (state.as_str(),))
            .await
            .map_err(|source| BinlogError::Query {
                what: format!("SET @slave_connect_state = '{state}'"),
                source: source.into(),
            })?;
    }
    // Heartbeat period in nanoseconds; a server that ignores it just sends none.
    let ns = heartbeat.as_nanos().min(u64::MAX as u128) as u64;
    if let Err(e) = conn
        .query_drop(format!("SET @master_heartbeat_period = {ns}"))
        .await
    {
        tracing::warn!(error = %SqlError::from(e), "the source refused a heartbeat period; idle connections are detected later");
    }

    // Purged positions and another history are final: told apart here, from the
    // server's identity, sets and binlog index, rather than guessed from a refusal.
    let identity = super::lineage::server_identity(&mut conn, mariadb).await?;
    super::lineage::check(lineage.server, identity.as_deref(), from)?;
    super::retention::check(&mut conn, from, lineage.state).await?;

    let mut request = BinlogStreamRequest::new(server_id);
    if non_blocking {
        request = request.with_non_blocking();
    }
    let stream = match from {
        DumpFrom::Coord(c) => {
            let req = request.with_filename(c.file.as_bytes()).with_pos(c.pos);
            conn.get_binlog_stream(req).await
        }
        DumpFrom::MariaGtid(_) => {
            // An empty file name makes MariaDB start from @slave_connect_state.
            conn.get_binlog_stream(request.with_filename(b"").with_pos(4))
                .await
        }
        DumpFrom::MySqlGtid(set) => {
            conn.get_binlog_stream(request.with_gtid().with_gtid_set(set.to_sids()))
                .await
        }
    };
    stream
        .map(|s| (s, identity))
        .map_err(|source| refusal(from, None, source))
}

/// The error for a dump the server refused (`read_up_to` = `None`: before any event)
/// or aborted after events up to `read_up_to`. The server's own message is the
/// `#[source]`; the fix fits how the dump was positioned.
pub(crate) fn refusal(
    from: &DumpFrom,
    read_up_to: Option<&BinlogCoord>,
    source: impl Into<SqlError>,
) -> BinlogError {
    let source: SqlError = source.into();
    let server_code = source.server_code();
    let at = match read_up_to {
        Some(c) => format!("at {c} (opened from {from})"),
        None => format!("when opened from {from}"),
    };
    match retention::refusal_kind(&source) {
        Some(Refusal::Purged) => {
            return BinlogError::Purged {
                from: from.to_string(),
                detail: format!("the server said: {source}"),
            }
        }
        Some(Refusal::Lineage) => {
            return BinlogError::LineageChanged {
                from: from.to_string(),
                detail: format!("the server said: {source}"),
            }
        }
        _ => {}
    }
    let fix = match (from, server_code) {
        _ if super::error::is_privilege_error(&source) => {
            super::error::PRIVILEGE_FIX.trim_start_matches(": ")
        }
        // 1236: the requested file or transactions were purged (or never existed).
        (DumpFrom::Coord(_), Some(1236)) => "the binlog file is missing or the position is not an event boundary: restart the project from a snapshot",
        (DumpFrom::MySqlGtid(_) | DumpFrom::MariaGtid(_), Some(1236)) => "check the source's error log for why it refused the dump; if it persists, restart the project from a snapshot",
        (DumpFrom::Coord(_), _) => "if this source serves only GTID auto-positioning (COM_BINLOG_DUMP_GTID), set binlog_positioning = \"gtid\" in [source] (the source needs gtid_mode=ON)",
        (DumpFrom::MySqlGtid(_), _) => "if this source does not serve GTID auto-positioning, set binlog_positioning = \"file\" in [source], or enable gtid_mode=ON on the source",
        (DumpFrom::MariaGtid(_), _) => "check the GTID state and the source's binlog retention (gtid_binlog_pos), or restart the project from a snapshot",
    };
    BinlogError::Stream { at, fix, source }
}

async fn run(conn: &mut Conn, sql: String) -> Result<(), BinlogError> {
    conn.query_drop(&sql)
        .await
        .map_err(|source| BinlogError::Query {
            what: sql,
            source: source.into(),
        })
}

/// True for errors after which a fresh connection can continue: the network, a server
/// restart or shutdown, or a killed connection.
pub(crate) fn is_transient(e: &mysql_async::Error) -> bool {
    use mysql_async::{DriverError, Error, IoError};
    match e {
        // A refused certificate or a failed handshake stays so; only the network heals.
        Error::Io(IoError::Io(_)) => true,
        Error::Driver(DriverError::ConnectionClosed)
        | Error::Driver(DriverError::PoolDisconnected) => true,
        // 1040 too many connections, 1203 the user's max_user_connections, 1053 server shutdown, 1152/1158–1161 network,
        // 1317 interrupted, 1927 connection killed (MariaDB), 2006/2013 gone/lost,
        // 4031 disconnected for inactivity (MySQL 8).
        Error::Server(s) => matches!(
            s.code,
            1040 | 1203 | 1053 | 1152 | 1158..=1161 | 1317 | 1927 | 2006 | 2013 | 4031
        ),
        _ => false,
    }
}

/// Whether the server refused a dump with an error 1236 that does not say the position
/// is gone (those are final, see [`retention::refusal_kind`]): worth retrying for a
/// bounded time, as a dump opened while a commit is in flight can be refused.
pub(crate) fn is_passing_refusal(e: &mysql_async::Error) -> bool {
    matches!(e, mysql_async::Error::Server(s) if retention::classify(s.code, &s.message) == Some(Refusal::Passing))
}

/// Like [`is_transient`], for the reader's error type.
pub(crate) fn is_transient_error(e: &BinlogError) -> bool {
    match e {
        BinlogError::Connect(c) => c.sql().is_some_and(|e| is_transient(e.inner())),
        BinlogError::Query { source, .. }
        | BinlogError::Stream { source, .. }
        | BinlogError::Position(crate::position::PositionError::Query { source, .. }) => {
            is_transient(source.inner())
        }
        _ => false,
    }
}
