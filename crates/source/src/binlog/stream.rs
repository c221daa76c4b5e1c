//! Opening a binlog dump connection: replica registration, the MariaDB session
//! settings, and where to start.

use super::error::BinlogError;
use crate::endpoint::SourceEndpoint;
use crate::SqlError;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, BinlogStreamRequest, Conn};
use obsync_model::BinlogCoord;
use std::time::Duration;

/// Where a dump starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum DumpFrom {
    /// A file and the offset of an event boundary in it.
    Coord(BinlogCoord),
    /// MariaDB: right after the transactions of this `gtid_slave_pos`-style state.
    MariaGtid(String),
    /// MySQL: everything not in this executed GTID set (`COM_BINLOG_DUMP_GTID`).
    MySqlGtid(String),
}

/// What kind of server answers on a connection, decided from `VERSION()` (the endpoint's
/// declared flavor could be wrong, and MariaDB needs its own session settings).
pub(crate) async fn is_mariadb(conn: &mut Conn) -> Result<bool, BinlogError> {
    let version: Option<String> = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(|source| BinlogError::Query {
            what: "SELECT VERSION()".into(),
            source: source.into(),
        })?;
    Ok(version.is_some_and(|v| v.to_ascii_lowercase().contains("mariadb")))
}

/// Opens a dump as replica `server_id`. `heartbeat` asks the server to send a
/// heartbeat event after that long without events (so a dead connection is noticed and
/// idle progress can be reported). `non_blocking` ends the stream at the end of the
/// last binlog instead of waiting for more.
pub(crate) async fn open(
    endpoint: &SourceEndpoint,
    server_id: u32,
    from: &DumpFrom,
    heartbeat: Duration,
    non_blocking: bool,
) -> Result<BinlogStream, BinlogError> {
    let mut conn = endpoint.connect().await?;
    let mariadb = is_mariadb(&mut conn).await?;
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

    let mut request = BinlogStreamRequest::new(server_id);
    if non_blocking {
        request = request.with_non_blocking();
    }
    let sids;
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
            sids = parse_sids(set)?;
            conn.get_binlog_stream(request.with_gtid().with_gtid_set(sids))
                .await
        }
    };
    stream.map_err(|source| BinlogError::Stream {
        position: match from {
            DumpFrom::Coord(c) => c.clone(),
            _ => BinlogCoord::new("", 4),
        },
        source: source.into(),
    })
}

async fn run(conn: &mut Conn, sql: String) -> Result<(), BinlogError> {
    conn.query_drop(&sql)
        .await
        .map_err(|source| BinlogError::Query {
            what: sql,
            source: source.into(),
        })
}

fn parse_sids(set: &str) -> Result<Vec<mysql_common::packets::Sid<'static>>, BinlogError> {
    set.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse().map_err(|e| BinlogError::InvalidOptions {
                reason: format!("GTID set entry {p:?} is invalid: {e}"),
            })
        })
        .collect()
}

/// True for errors after which a fresh connection can continue: the network, a server
/// restart or shutdown, or a killed connection.
pub(crate) fn is_transient(e: &mysql_async::Error) -> bool {
    use mysql_async::{DriverError, Error};
    match e {
        Error::Io(_) => true,
        Error::Driver(DriverError::ConnectionClosed)
        | Error::Driver(DriverError::PoolDisconnected) => true,
        // 1040 too many connections, 1053 server shutdown, 1152/1158–1161 network,
        // 1317 interrupted, 1927 connection killed (MariaDB), 2006/2013 gone/lost,
        // 4031 disconnected for inactivity (MySQL 8).
        Error::Server(s) => matches!(
            s.code,
            1040 | 1053 | 1152 | 1158..=1161 | 1317 | 1927 | 2006 | 2013 | 4031
        ),
        _ => false,
    }
}

/// Like [`is_transient`], for the reader's error type.
pub(crate) fn is_transient_error(e: &BinlogError) -> bool {
    match e {
        BinlogError::Connect(c) => is_transient(c.source.inner()),
        BinlogError::Query { source, .. } | BinlogError::Stream { source, .. } => {
            is_transient(source.inner())
        }
        _ => false,
    }
}
