//! Starting from a point in time, and the binlog retention facts a precheck needs.
//!
//! Servers have no "dump from time T" option. What works: list the files
//! (`SHOW BINARY LOGS`), read each file's first event timestamp with a short
//! non-blocking dump, start at the last file that begins at or before T, and let the
//! reader skip transactions that began before T.

use super::error::BinlogError;
use super::stream::{self, DumpFrom};
use crate::endpoint::{SourceEndpoint, SourceFlavor};
use crate::metadata::server_info;
use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::Row;
use obsync_model::BinlogCoord;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// How long one probe may take: a probe reads a handful of events.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// The binlog files the server still has, oldest first, with their sizes.
pub async fn binary_logs(endpoint: &SourceEndpoint) -> Result<Vec<(String, u64)>, BinlogError> {
    let mut conn = endpoint.connect().await?;
    let rows: Vec<Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .map_err(|source| match &source {
            // 1381: "You are not using binary logging".
            mysql_async::Error::Server(s) if s.code == 1381 => BinlogError::NoBinlog,
            _ => BinlogError::Query {
                what: "SHOW BINARY LOGS".into(),
                source: source.into(),
            },
        })?;
    let files: Vec<(String, u64)> = rows
        .into_iter()
        .filter_map(|r| {
            let name: Option<String> = r.get(0);
            let size: Option<u64> = r.get(1);
            Some((name?, size.unwrap_or(0)))
        })
        .collect();
    if files.is_empty() {
        return Err(BinlogError::NoBinlog);
    }
    Ok(files)
}

/// The Unix time at which binlog `file` was started (its format description event).
pub async fn first_event_time(endpoint: &SourceEndpoint, file: &str) -> Result<u32, BinlogError> {
    first_event_time_on(endpoint, is_mariadb(endpoint).await?, file).await
}

/// Whether the endpoint is a MariaDB server (which needs its own dump settings).
async fn is_mariadb(endpoint: &SourceEndpoint) -> Result<bool, BinlogError> {
    let mut conn = endpoint.connect().await?;
    let info = server_info(&mut conn)
        .await
        .map_err(|e| BinlogError::InvalidOptions {
            reason: e.to_string(),
        })?;
    let _ = conn.disconnect().await;
    Ok(info.flavor == SourceFlavor::MariaDb)
}

/// [`first_event_time`] on a server already identified.
///
/// Opens a short non-blocking dump with a throwaway replica id (a dump with an id in
/// use would make the server disconnect that replica).
async fn first_event_time_on(
    endpoint: &SourceEndpoint,
    mariadb: bool,
    file: &str,
) -> Result<u32, BinlogError> {
    let from = DumpFrom::Coord(BinlogCoord::new(file, 4));
    let probe = async {
        let mut s = stream::open(
            endpoint,
            mariadb,
            probe_server_id(),
            &from,
            stream::Lineage::unknown(),
            Duration::from_secs(30),
            true,
        )
        .await?
        .0;
        let mut found = None;
        while let Some(ev) = s.next().await {
            let ev = ev.map_err(|source| stream::refusal(&from, None, source))?;
            // The first fake ROTATE has timestamp 0; the next real event is the file's
            // format description, stamped when the file was opened.
            if ev.header().timestamp() != 0 {
                found = Some(ev.header().timestamp());
                break;
            }
        }
        let _ = s.close().await;
        found.ok_or_else(|| BinlogError::Malformed {
            position: BinlogCoord::new(file, 4),
            reason: "the binlog file has no timestamped event".into(),
        })
    };
    tokio::time::timeout(PROBE_TIMEOUT, probe)
        .await
        .map_err(|_| BinlogError::Malformed {
            position: BinlogCoord::new(file, 4),
            reason: format!("reading the first event took longer than {PROBE_TIMEOUT:?}"),
        })?
}

/// The start time of the oldest binlog the server still has: a project can start no
/// earlier than this.
pub async fn oldest_retained_time(endpoint: &SourceEndpoint) -> Result<u32, BinlogError> {
    let files = binary_logs(endpoint).await?;
    first_event_time(endpoint, &files[0].0).await
}

/// The last binlog file that starts at or before `t`; reading from its beginning and
/// skipping transactions before `t` reaches the first transaction at/after `t`.
/// File start times grow with the file sequence, so this is a binary search.
pub(crate) async fn file_for_timestamp(
    endpoint: &SourceEndpoint,
    mariadb: bool,
    t: u32,
) -> Result<String, BinlogError> {
    let files = binary_logs(endpoint).await?;
    let oldest = first_event_time_on(endpoint, mariadb, &files[0].0).await?;
    if oldest > t {
        return Err(BinlogError::TimestampNotRetained {
            requested: t,
            oldest,
        });
    }
    // Invariant: files[lo] starts ≤ t; files[hi..] start > t (or hi == len).
    let (mut lo, mut hi) = (0usize, files.len());
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        if first_event_time_on(endpoint, mariadb, &files[mid].0).await? <= t {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(files[lo].0.clone())
}

/// A replica id for probes, from the high range real replicas rarely use, varied per
/// call so concurrent probes do not disconnect each other.
pub(crate) fn probe_server_id() -> u32 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    4_000_000_000 + (nanos ^ std::process::id().rotate_left(16)) % 200_000_000
}
