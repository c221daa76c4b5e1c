//! The server's current change-log position, taken before a snapshot starts so that
//! incremental sync replays every change the snapshot may have missed.

use super::SnapshotError;
use crate::metadata::{flavor_from_version, MetadataError};
use crate::SourceFlavor;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use obsync_model::{BinlogCoord, Gtid, LogPosition};

/// Error codes meaning "this statement does not exist here": 1064 parse error (seekdb,
/// and MySQL 8.4 for `SHOW MASTER STATUS`), 1235 not supported.
const NO_SUCH_STATEMENT: &[u16] = &[1064, 1235];

/// The binlog file and offset the server writes next, plus its GTID state: MariaDB
/// `@@gtid_binlog_pos`, MySQL `Executed_Gtid_Set` (when GTIDs are on).
///
/// Fails with [`SnapshotError::NoBinlog`] when the server has no binlog, which is
/// always the case for OceanBase without its Binlog Service (seekdb).
pub async fn current_position(conn: &mut Conn) -> Result<LogPosition, SnapshotError> {
    let version: String = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(query_err)?
        .unwrap_or_default();
    let flavor = flavor_from_version(&version);
    let row = match master_status(conn, "SHOW MASTER STATUS").await {
        // MySQL 8.4 renamed the statement.
        Err(mysql_async::Error::Server(e)) if NO_SUCH_STATEMENT.contains(&e.code) => {
            match master_status(conn, "SHOW BINARY LOG STATUS").await {
                Err(mysql_async::Error::Server(e)) if NO_SUCH_STATEMENT.contains(&e.code) => {
                    return Err(no_binlog(flavor, &e.message))
                }
                other => other,
            }
        }
        other => other,
    }
    .map_err(query_err)?;
    let Some(row) = row else {
        return Err(SnapshotError::NoBinlog {
            detail: "SHOW MASTER STATUS is empty: binary logging is off (log_bin=OFF); \
                     start the server with log_bin and binlog_format=ROW, or turn off \
                     incremental sync"
                .into(),
        });
    };
    let file: String = row.get(0).unwrap_or_default();
    let pos: u64 = row.get(1).unwrap_or_default();
    let gtid = match flavor {
        SourceFlavor::MariaDb => conn
            .query_first::<String, _>("SELECT @@gtid_binlog_pos")
            .await
            .map_err(query_err)?,
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

fn no_binlog(flavor: SourceFlavor, message: &str) -> SnapshotError {
    let detail = match flavor {
        SourceFlavor::OceanBase => format!(
            "the source has no binlog (OceanBase needs its Binlog Service for incremental \
             sync); the server answered: {message}"
        ),
        _ => format!("the source has no binlog; the server answered: {message}"),
    };
    SnapshotError::NoBinlog { detail }
}

fn query_err(source: mysql_async::Error) -> SnapshotError {
    SnapshotError::from(MetadataError::Query {
        what: "the current binlog position".into(),
        source: source.into(),
    })
}
