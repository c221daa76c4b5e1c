//! Recording a capture from a live server: its facts first, then a bounded dump.

use super::mask::{MaskError, Masker};
use super::{
    end_line, event_line, Answer, CaptureEnd, CaptureHeader, CapturedTable, DumpFacts, SourceFacts,
    FORMAT_NAME, FORMAT_VERSION,
};
use crate::binlog::stream::{self, DumpFrom};
use crate::binlog::{binary_logs, BinlogError, TableFilter};
use crate::endpoint::{ConnectError, SourceEndpoint};
use crate::metadata::{read_table_facts, server_info, MetadataError, MetadataReader, TableKind};
use crate::position::{current_position, PositionError};
use crate::{SourceFlavor, SqlError};
use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value as SqlValue};
use mysql_common::binlog::consts::{BinlogVersion, EventFlags, EventType};
use mysql_common::binlog::events::EventData;
use obsync_model::{BinlogCoord, TableId};
use std::collections::BTreeMap;
use std::future::Future;
use std::time::{Duration, Instant};
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// The server variables a capture records: what decides how the change log looks
/// (format, image, checksum, GTIDs, compression, metadata) and how values read.
const VARIABLES: &[&str] = &[
    "version",
    "version_comment",
    "server_id",
    "server_uuid",
    "log_bin",
    "log_bin_basename",
    "binlog_format",
    "binlog_row_image",
    "binlog_row_metadata",
    "binlog_row_value_options",
    "binlog_checksum",
    "binlog_transaction_compression",
    "binlog_rows_query_log_events",
    "binlog_annotate_row_events",
    "log_bin_compress",
    "gtid_mode",
    "enforce_gtid_consistency",
    "gtid_executed",
    "gtid_purged",
    "gtid_domain_id",
    "gtid_binlog_pos",
    "gtid_binlog_state",
    "gtid_strict_mode",
    "max_binlog_size",
    "binlog_expire_logs_seconds",
    "expire_logs_days",
    "log_slave_updates",
    "lower_case_table_names",
    "time_zone",
    "system_time_zone",
    "character_set_server",
    "collation_server",
    "sql_mode",
    "explicit_defaults_for_timestamp",
];

/// How often [`record`] reports progress.
const PROGRESS_EVERY: Duration = Duration::from_secs(2);
/// The heartbeat period asked of the server: an idle capture still shows where the
/// server stands (and obbinlog's heartbeat timestamps are part of what a capture shows).
const HEARTBEAT: Duration = Duration::from_secs(1);

/// Where the dump starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaptureFrom {
    /// Where the server writes next: what happens from now on.
    End,
    /// The start of the newest binary log file: what the server logged most recently.
    LastFile,
    /// A file and the offset of an event boundary in it.
    At(BinlogCoord),
}

/// What to record.
#[derive(Clone)]
pub struct CaptureOptions {
    /// The tables whose definitions are recorded.
    pub tables: TableFilter,
    pub from: CaptureFrom,
    /// Stop once this position is reached, before any event ending past it.
    pub to: Option<BinlogCoord>,
    /// Stop after this many events.
    pub max_events: u64,
    /// Stop after this long.
    pub max_duration: Duration,
    /// Mask row values ([`super::mask`]).
    pub mask: bool,
    /// The replica server id of the dump (must differ from every other replica's).
    pub server_id: u32,
}

/// Where a capture stands, for progress lines.
#[derive(Debug, Clone)]
pub struct CaptureProgress {
    pub events: u64,
    pub bytes: u64,
    /// The position after the last recorded event.
    pub at: BinlogCoord,
    pub elapsed: Duration,
}

/// Why a capture failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Metadata(#[from] MetadataError),
    #[error(transparent)]
    Position(#[from] PositionError),
    #[error(transparent)]
    Binlog(#[from] BinlogError),
    #[error(transparent)]
    Mask(#[from] MaskError),
    #[error("no table at the source matches the chosen tables: check --tables (database.table patterns, `*` for any run of characters) against SHOW TABLES")]
    NoTables,
    #[error("writing the capture file failed: check the disk space and the permissions of the output directory")]
    Write(#[source] std::io::Error),
}

/// Records the server's facts and a dump of its binlog events into `out` (see the
/// module [`super`] for the format). Stops at the first limit reached, when the
/// server ends the dump, or when `stop` completes (Ctrl-C); the file is complete in
/// every case but an error.
pub async fn record<W: AsyncWrite + Unpin>(
    endpoint: &SourceEndpoint,
    opts: &CaptureOptions,
    out: &mut W,
    mut progress: impl FnMut(&CaptureProgress),
    stop: impl Future<Output = ()>,
) -> Result<CaptureEnd, CaptureError> {
    let started = Instant::now();
    let mut conn = endpoint.connect().await?;
    let info = server_info(&mut conn).await?;
    let variables = variables(&mut conn).await;
    let mut master_status = answer(&mut conn, "SHOW MASTER STATUS").await;
    if master_status.error.is_some() {
        // MySQL 8.4's name for it.
        let renamed = answer(&mut conn, "SHOW BINARY LOG STATUS").await;
        if renamed.error.is_none() {
            master_status = renamed;
        }
    }
    let binary_logs_answer = answer(&mut conn, "SHOW BINARY LOGS").await;

    // Also the check that there is a binlog at all, with the fix when there is none.
    let now = current_position(&mut conn, &info).await?;
    let (start, gtid) = match &opts.from {
        CaptureFrom::End => (now.coord, now.gtid.map(|g| g.0)),
        CaptureFrom::LastFile => {
            let files = binary_logs(endpoint).await?;
            let (last, _) = files.last().ok_or(BinlogError::NoBinlog)?;
            (BinlogCoord::new(last.clone(), 4), None)
        }
        CaptureFrom::At(c) => (c.clone(), None),
    };
    // After the start: a server without a binlog is told as such, whatever the tables.
    let tables = chosen_tables(endpoint, &mut conn, info.flavor, &opts.tables).await?;
    drop(conn);

    let header = CaptureHeader {
        format: FORMAT_NAME.into(),
        version: FORMAT_VERSION,
        obsync_version: env!("CARGO_PKG_VERSION").into(),
        captured_at: rfc3339_now(),
        source: SourceFacts {
            address: endpoint.address(),
            version: info.version.clone(),
            flavor: info.flavor.to_string(),
            ob_version: info.ob_version.clone(),
        },
        variables,
        master_status,
        binary_logs: binary_logs_answer,
        tables,
        dump: DumpFacts {
            file: start.file.clone(),
            pos: start.pos,
            gtid,
            server_id: opts.server_id,
            masked: opts.mask,
            max_events: opts.max_events,
            max_seconds: opts.max_duration.as_secs(),
            to: opts.to.as_ref().map(|c| c.to_string()),
        },
    };
    write_line(
        out,
        &serde_json::to_string(&header).expect("plain data serializes"),
    )
    .await?;

    let from = DumpFrom::Coord(start.clone());
    let mariadb = info.flavor == SourceFlavor::MariaDb;
    // A capture continues no checkpoint: no history to hold the server to.
    let (mut dump, _identity) = stream::open(
        endpoint,
        mariadb,
        opts.server_id,
        &from,
        stream::Lineage::unknown(),
        HEARTBEAT,
        false,
    )
    .await?;
    let mut masker = opts.mask.then(Masker::new);
    let mut at = start;
    let mut events = 0u64;
    let mut bytes_written = 0u64;
    let deadline = tokio::time::Instant::now() + opts.max_duration;
    let mut ticker =
        tokio::time::interval_at(tokio::time::Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
    tokio::pin!(stop);
    let stopped = loop {
        if events >= opts.max_events {
            break "event limit";
        }
        let next = tokio::select! {
            next = dump.next() => next,
            _ = tokio::time::sleep_until(deadline) => break "time limit",
            _ = &mut stop => break "interrupted",
            _ = ticker.tick() => {
                progress(&CaptureProgress { events, bytes: bytes_written, at: at.clone(), elapsed: started.elapsed() });
                continue;
            }
        };
        let event = match next {
            None => break "the server ended the dump",
            Some(Ok(event)) => event,
            Some(Err(e)) => return Err(stream::refusal(&from, Some(&at), e).into()),
        };
        let header = event.header();
        let mut bytes = Vec::with_capacity(header.event_size() as usize);
        event
            .write(BinlogVersion::Version4, &mut bytes)
            .map_err(CaptureError::Write)?;
        let mut next_at = at.clone();
        if header.event_type_raw() == EventType::ROTATE_EVENT as u8 {
            if let Ok(Some(EventData::RotateEvent(r))) = event.read_data() {
                next_at = BinlogCoord::new(rotate_name(r.name_raw(), &bytes), r.position());
            }
        } else if header.log_pos() != 0
            && !header.flags().contains(EventFlags::LOG_EVENT_ARTIFICIAL_F)
        {
            next_at.pos = header.log_pos() as u64;
        }
        if opts.to.as_ref().is_some_and(|to| past(&next_at, to)) {
            break "end position";
        }
        if let Some(m) = &mut masker {
            m.mask(&event, &mut bytes)?;
        }
        events += 1;
        bytes_written += bytes.len() as u64;
        at = next_at;
        let line = serde_json::to_string(&event_line(events, &bytes)).expect("plain data");
        write_line(out, &line).await?;
        if opts.to.as_ref().is_some_and(|to| !past(to, &at)) {
            break "end position";
        }
    };
    let end = CaptureEnd {
        events,
        stopped: stopped.into(),
        file: at.file.clone(),
        pos: at.pos,
    };
    write_line(out, &end_line(end.clone())).await?;
    out.flush().await.map_err(CaptureError::Write)?;
    progress(&CaptureProgress {
        events,
        bytes: bytes_written,
        at,
        elapsed: started.elapsed(),
    });
    Ok(end)
}

/// A rotate event's file name. The rotate a server sends before the format
/// description is decoded without knowing the checksum, so its name still ends with the
/// CRC32 of the event (`raw`, header to checksum) when the last four bytes are one.
fn rotate_name(name: &[u8], raw: &[u8]) -> String {
    let n = raw.len();
    let crc_ends_name = n >= 4
        && name.len() >= 4
        && raw[n - 4..] == crc32fast::hash(&raw[..n - 4]).to_le_bytes()
        && raw[n - 4..] == name[name.len() - 4..];
    let name = if crc_ends_name {
        &name[..name.len() - 4]
    } else {
        name
    };
    String::from_utf8_lossy(name).into_owned()
}

/// Whether `at` lies past `to` (a later file, or further in the same file).
fn past(at: &BinlogCoord, to: &BinlogCoord) -> bool {
    at.file > to.file || (at.file == to.file && at.pos > to.pos)
}

async fn write_line<W: AsyncWrite + Unpin>(out: &mut W, line: &str) -> Result<(), CaptureError> {
    out.write_all(line.as_bytes())
        .await
        .map_err(CaptureError::Write)?;
    out.write_all(b"\n").await.map_err(CaptureError::Write)
}

/// Each of [`VARIABLES`]; `None` for those the server does not have.
async fn variables(conn: &mut Conn) -> BTreeMap<String, Option<String>> {
    let mut out = BTreeMap::new();
    for name in VARIABLES {
        let value = conn
            .query_first::<Row, _>(format!("SELECT @@GLOBAL.{name}"))
            .await
            .ok()
            .flatten()
            .and_then(|row| text(row.as_ref(0)));
        out.insert((*name).to_string(), value);
    }
    out
}

/// A statement's rows as text, or its error.
async fn answer(conn: &mut Conn, sql: &str) -> Answer {
    match conn.query_iter(sql).await {
        Err(e) => Answer {
            error: Some(SqlError::from(e).to_string()),
            ..Answer::default()
        },
        Ok(mut result) => {
            let columns = result
                .columns_ref()
                .iter()
                .map(|c| c.name_str().into_owned())
                .collect();
            let rows: Vec<Row> = match result.collect().await {
                Ok(rows) => rows,
                Err(e) => {
                    return Answer {
                        error: Some(SqlError::from(e).to_string()),
                        ..Answer::default()
                    }
                }
            };
            Answer {
                columns,
                rows: rows
                    .iter()
                    .map(|r| (0..r.len()).map(|i| text(r.as_ref(i))).collect())
                    .collect(),
                error: None,
            }
        }
    }
}

/// The tables `filter` chooses, with their `SHOW CREATE TABLE` and information_schema
/// facts.
async fn chosen_tables(
    endpoint: &SourceEndpoint,
    conn: &mut Conn,
    flavor: SourceFlavor,
    filter: &TableFilter,
) -> Result<Vec<CapturedTable>, CaptureError> {
    let listing = MetadataReader::from_endpoint(endpoint)
        .list_tables(None)
        .await?;
    let ids: Vec<TableId> = listing
        .into_iter()
        .filter(|t| t.kind == TableKind::Table && filter(&t.id))
        .map(|t| t.id)
        .collect();
    if ids.is_empty() {
        return Err(CaptureError::NoTables);
    }
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        let quoted = format!(
            "`{}`.`{}`",
            id.database.replace('`', "``"),
            id.table.replace('`', "``")
        );
        let create_table = match conn
            .query_first::<(String, String), _>(format!("SHOW CREATE TABLE {quoted}"))
            .await
        {
            Ok(Some((_, ddl))) => Ok(ddl),
            Ok(None) => Err("no answer".to_string()),
            Err(e) => Err(SqlError::from(e).to_string()),
        };
        let facts = read_table_facts(conn, &id, flavor).await?;
        out.push(CapturedTable {
            database: id.database,
            table: id.table,
            create_table,
            facts: Some(facts),
        });
    }
    Ok(out)
}

fn text(v: Option<&SqlValue>) -> Option<String> {
    match v? {
        SqlValue::NULL => None,
        SqlValue::Bytes(b) => Some(String::from_utf8_lossy(b).into_owned()),
        other => Some(other.as_sql(true)),
    }
}

/// The current UTC time as RFC 3339, seconds precision.
fn rfc3339_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
