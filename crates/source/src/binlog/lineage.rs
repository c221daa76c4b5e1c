//! Which server's change log a position belongs to.
//!
//! A checkpoint keeps the identity of the server it was read from: `@@server_uuid` on
//! MySQL-format sources (OceanBase's Binlog Service reports the `SERVER UUID` given at
//! `CREATE BINLOG`, so a re-created binlog is a new lineage), `server_id:N` on MariaDB,
//! which has no uuid. Every dump (start and reconnect) compares it with the server's:
//! - the same server: the retention checks decide as usual;
//! - another server, dump by GTID: accepted as a failover within one history only
//!   because the retention check that follows requires the checkpoint's GTID set to be
//!   in the server's (`GTID_SUBSET(<checkpoint set>, @@gtid_executed)`; MariaDB: every
//!   domain's sequence at or past the checkpoint's);
//! - another server, dump by file and offset: refused, as an offset means something
//!   only in the binlog it was read from.

use super::error::BinlogError;
use super::stream::DumpFrom;
use mysql_async::prelude::Queryable;
use mysql_async::Conn;

/// The identity of the server `conn` is connected to; `None` when it reports none (a
/// MySQL-protocol server or proxy without `server_uuid` answers with an error: the GTID
/// and binlog-index checks still run, only the identity is not compared).
pub(crate) async fn server_identity(
    conn: &mut Conn,
    mariadb: bool,
) -> Result<Option<String>, BinlogError> {
    let sql = if mariadb {
        "SELECT CONCAT('server_id:', @@GLOBAL.server_id)"
    } else {
        "SELECT @@GLOBAL.server_uuid"
    };
    match conn.query_first::<Option<String>, _>(sql).await {
        Ok(id) => Ok(id.flatten().filter(|id| !id.is_empty())),
        Err(mysql_async::Error::Server(e)) => {
            tracing::warn!(error = %e.message, code = e.code, "the source does not say which server it is: a resume on another server is judged by its GTID set and binlog index only");
            Ok(None)
        }
        Err(source) => Err(BinlogError::Query {
            what: sql.into(),
            source: source.into(),
        }),
    }
}

/// Whether a dump from `from` may go on when the position was read from `expected` and
/// the server is `actual`; see the module doc. A failover it lets through is still
/// subject to the GTID checks of `retention::check`.
pub(crate) fn check(
    expected: Option<&str>,
    actual: Option<&str>,
    from: &DumpFrom,
) -> Result<(), BinlogError> {
    let (Some(was), Some(now)) = (expected, actual) else {
        return Ok(());
    };
    if was == now {
        return Ok(());
    }
    match from {
        DumpFrom::MySqlGtid(_) | DumpFrom::MariaGtid(_) => {
            tracing::warn!(was, now, %from, "the source is another server than the checkpoint's: resuming by GTID if its history holds the checkpoint's transactions (a failover)");
            Ok(())
        }
        DumpFrom::Coord(_) => Err(BinlogError::ServerChanged {
            from: from.to_string(),
            was: was.to_string(),
            now: now.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_model::BinlogCoord;

    const A: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429562";
    const B: &str = "5f0e3d21-0a1b-11ef-8c44-0242ac120002";

    #[test]
    fn another_server_is_refused_for_a_file_position_and_left_to_the_gtid_check_otherwise() {
        let coord = DumpFrom::Coord(BinlogCoord::new("mysql-bin.000003", 120));
        let gtid = DumpFrom::MySqlGtid(Default::default());
        let maria = DumpFrom::MariaGtid("0-1-20".into());
        assert!(check(Some(A), Some(A), &coord).is_ok());
        // Old checkpoints (no identity) and servers without one are not judged.
        assert!(check(None, Some(A), &coord).is_ok());
        assert!(check(Some(A), None, &coord).is_ok());
        let err = check(Some(A), Some(B), &coord).unwrap_err();
        let text = err.to_string();
        assert!(text.contains(A) && text.contains(B), "{text}");
        assert!(text.contains("binlog_positioning = \"gtid\""), "{text}");
        assert!(text.contains("snapshot"), "{text}");
        assert!(check(Some(A), Some(B), &gtid).is_ok());
        assert!(check(Some("server_id:1"), Some("server_id:2"), &maria).is_ok());
    }
}
