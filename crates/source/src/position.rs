//! Where the change log ends now. One function serves the snapshot (the position
//! recorded before its first row) and a binlog reader started at
//! `StartFrom::Current`, so both agree on file, offset and GTID state.

use crate::metadata::ServerInfo;
use crate::SourceFlavor;
use crate::SqlError;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use obsync_model::{BinlogCoord, Gtid, LogPosition};

/// Why the current position could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PositionError {
    /// The server has no change log to take a position from.
    #[error("{detail}")]
    NoBinlog { detail: String },
    /// A position query failed.
    #[error("reading the current binlog position ({what}) failed on the source")]
    Query {
        what: &'static str,
        #[source]
        source: SqlError,
    },
}

/// Error codes meaning "this statement does not exist here": 1064 parse error (seekdb,
/// and MySQL 8.4 for `SHOW MASTER STATUS`), 1235 not supported.
const NO_SUCH_STATEMENT: &[u16] = &[1064, 1235];

/// The binlog file and offset the server writes next, plus its GTID state: MariaDB
/// `@@gtid_binlog_pos`, MySQL `Executed_Gtid_Set` (when GTIDs are on).
///
/// Fails with [`PositionError::NoBinlog`] when the server has no binlog, which is
/// always the case for OceanBase without its Binlog Service (seekdb).
pub async fn current_position(
    conn: &mut Conn,
    info: &ServerInfo,
) -> Result<LogPosition, PositionError> {
    let query = |what| {
        move |source: mysql_async::Error| PositionError::Query {
            what,
            source: source.into(),
        }
    };
    let row = match master_status(conn, "SHOW MASTER STATUS").await {
        // MySQL 8.4 renamed the statement.
        Err(mysql_async::Error::Server(e)) if NO_SUCH_STATEMENT.contains(&e.code) => {
            match master_status(conn, "SHOW BINARY LOG STATUS").await {
                Err(mysql_async::Error::Server(e)) if NO_SUCH_STATEMENT.contains(&e.code) => {
                    return Err(no_binlog(info.flavor, &e.message))
                }
                other => other,
            }
        }
        other => other,
    }
    .map_err(query("SHOW MASTER STATUS"))?;
    let Some(row) = row else {
        return Err(PositionError::NoBinlog {
            detail: "SHOW MASTER STATUS is empty: binary logging is off (log_bin=OFF); \
                     start the server with log_bin and binlog_format=ROW, or turn off \
                     incremental sync"
                .into(),
        });
    };
    let file: String = row.get(0).unwrap_or_default();
    let pos: u64 = row.get(1).unwrap_or_default();
    let gtid = match info.flavor {
        SourceFlavor::MariaDb => conn
            .query_first::<String, _>("SELECT @@gtid_binlog_pos")
            .await
            .map_err(query("SELECT @@gtid_binlog_pos"))?,
        // Executed_Gtid_Set, the fifth column, exists on MySQL only.
        _ => row.get::<Option<String>, _>(4).flatten(),
    };
    Ok(LogPosition {
        coord: BinlogCoord::new(file, pos),
        gtid: gtid
            .map(|g| g.replace('\n', ""))
            .filter(|g| !g.is_empty())
            .map(Gtid),
    })
}

async fn master_status(conn: &mut Conn, sql: &str) -> Result<Option<Row>, mysql_async::Error> {
    conn.query_first(sql).await
}

fn no_binlog(flavor: SourceFlavor, message: &str) -> PositionError {
    let detail = match flavor {
        SourceFlavor::OceanBase => format!(
            "the source has no binlog (OceanBase needs its Binlog Service for incremental \
             sync); the server answered: {message}"
        ),
        _ => format!("the source has no binlog; the server answered: {message}"),
    };
    PositionError::NoBinlog { detail }
}
