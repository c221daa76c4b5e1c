//! Full sync: reads the existing rows of one table, exactly and in bounded pieces.
//!
//! - Tables with a usable key (primary key, or a NOT NULL unique key) are read in
//!   **chunks** by keyset pagination on that key, never OFFSET:
//!   [`SnapshotReader::read_chunk`] returns up to `chunk_rows` rows after a key and the
//!   key of its last row, which the pipeline checkpoints (model [`Value`]s serialize) to
//!   resume at the next chunk after a crash.
//! - Tables without one ([`KeySource::AllColumns`], including OceanBase tables keyed by
//!   the hidden `__pk_increment`) are read by **one streaming scan**,
//!   [`SnapshotReader::stream_all`], in batches of [`STREAM_BATCH_ROWS`] through a
//!   bounded channel. Such a scan cannot resume: after a crash that table restarts from
//!   its first row, and downstream deduplicates by value.
//!
//! Parallelism: across tables, plus [`SnapshotReader::key_ranges`], which splits a table
//! whose first key column is an integer into ranges between MIN and MAX that readers
//! chunk independently. Other keys yield one range; their chunks are pipelined.
//!
//! Consistency: each chunk (or the streaming scan) is one statement, so it is a
//! consistent read; different chunks are read at different times. The pipeline takes
//! [`current_position`] *before* the first chunk and starts incremental sync there, so
//! every change a chunk missed is replayed afterwards and the target converges; some
//! rows may arrive twice.
//!
//! Values are read in the text protocol with the session in UTC and parsed by column
//! metadata ([`decode`]). On OceanBase each session raises `ob_query_timeout`, whose
//! 10 s default would kill long scans.

pub mod decode;
pub mod sql;

pub use decode::{decode_text, DecodeError};

use crate::metadata::{server_info, MetadataError, ServerInfo};
use crate::SourceFlavor;
use futures::TryStreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Pool, Value as SqlValue};
use obsync_model::{Column, KeySource, LogPosition, Row, TableId, TableMeta, Value};
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, OnceCell};

/// Rows per chunk when the caller has no better figure: with rows of about 1 KiB a
/// chunk holds about 10 MiB, and one round trip per 10 000 rows costs nothing.
pub const DEFAULT_CHUNK_ROWS: usize = 10_000;

/// Rows per batch of a streaming scan: small enough that a slow consumer holds little
/// memory (batches × channel capacity), large enough to amortize channel hand-offs.
pub const STREAM_BATCH_ROWS: usize = 1_000;

/// `ob_query_timeout` for snapshot sessions on OceanBase, in microseconds: one day,
/// long enough for any single chunk or streaming scan.
const OB_SNAPSHOT_QUERY_TIMEOUT_US: u64 = 86_400 * 1_000_000;

/// `net_write_timeout` for streaming scans, in seconds: the server waits this long for
/// a consumer that is blocked on a full channel before it aborts the scan.
const STREAM_NET_WRITE_TIMEOUT_S: u32 = 3_600;

/// Longest a `SELECT COUNT(*)` fallback for the row estimate may run, in seconds.
const COUNT_TIMEOUT_S: u64 = 10;

/// Errors of a snapshot read, naming the table.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SnapshotError {
    /// Connecting or a metadata/position query failed.
    #[error(transparent)]
    Metadata(Box<MetadataError>),
    /// The snapshot query failed.
    #[error("reading rows of {table} failed")]
    Query {
        table: TableId,
        #[source]
        source: crate::SqlError,
    },
    /// A value could not be decoded.
    #[error("reading rows of {table}: a value does not decode")]
    Decode {
        table: TableId,
        #[source]
        source: Box<DecodeError>,
    },
    /// Chunked reads need a key; the table has none.
    #[error("{table} has no primary key and no NOT NULL unique key, so it cannot be read in chunks: read it with stream_all")]
    NoUsableKey { table: TableId },
    /// A resume key does not fit the table's key.
    #[error("resume key for {table} does not fit its key ({expected} columns): {detail}")]
    BadKey {
        table: TableId,
        expected: usize,
        detail: String,
    },
    /// The receiver of a streaming scan went away (the pipeline is stopping).
    #[error("the consumer of the snapshot of {table} stopped")]
    ReceiverClosed { table: TableId },
    /// The server has no change log to take a position from.
    #[error("{detail}")]
    NoBinlog { detail: String },
}

impl From<crate::position::PositionError> for SnapshotError {
    fn from(e: crate::position::PositionError) -> Self {
        use crate::position::PositionError as P;
        match e {
            P::NoBinlog { detail } => SnapshotError::NoBinlog { detail },
            P::Query { what, source } => MetadataError::Query {
                what: what.to_string(),
                source,
            }
            .into(),
        }
    }
}

/// The current change-log position ([`crate::position::current_position`]) on a
/// server not yet identified: the one call a snapshot needs before its first row.
pub async fn current_position(conn: &mut Conn) -> Result<LogPosition, SnapshotError> {
    let info = server_info(conn).await?;
    Ok(crate::position::current_position(conn, &info).await?)
}

impl From<MetadataError> for SnapshotError {
    fn from(e: MetadataError) -> Self {
        SnapshotError::Metadata(Box::new(e))
    }
}

/// One chunk of rows in key order.
#[derive(Debug, Clone, PartialEq)]
pub struct SnapshotChunk {
    pub rows: Vec<Row>,
    /// The key of the last row, to pass as `after` for the next chunk; `None` when this
    /// was the last chunk of the range (the table is done).
    pub last_key: Option<Vec<Value>>,
}

/// A slice of a table by its first key column: `after < k1 <= up_to`, each bound
/// open when `None`. The first and last ranges are open so rows inserted outside
/// MIN..MAX during the snapshot are still read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct KeyRange {
    pub after: Option<Value>,
    pub up_to: Option<Value>,
}

impl KeyRange {
    /// The whole table.
    pub fn all() -> Self {
        Self::default()
    }
}

/// How many rows a table has, for progress display.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RowEstimate {
    pub rows: u64,
    /// True when counted (`SELECT COUNT(*)`), false for the server's statistics.
    pub exact: bool,
}

/// Reads one table's rows. Cheap to share (`Arc`) between tasks reading different
/// chunks or ranges.
pub struct SnapshotReader {
    pool: Pool,
    meta: Arc<TableMeta>,
    chunk_rows: usize,
    rows_read: Arc<AtomicU64>,
    oceanbase: OnceCell<bool>,
    select_list: String,
    from: String,
}

impl std::fmt::Debug for SnapshotReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SnapshotReader")
            .field("table", &self.meta.id)
            .field("chunk_rows", &self.chunk_rows)
            .finish_non_exhaustive()
    }
}

impl SnapshotReader {
    /// A reader of `meta`'s table over `pool`, whose sessions must run with
    /// `time_zone = '+00:00'` ([`crate::SourceEndpoint::pool`] does). `chunk_rows` is
    /// clamped to at least 1.
    pub fn new(pool: Pool, meta: Arc<TableMeta>, chunk_rows: usize) -> Self {
        let select_list = meta
            .columns
            .iter()
            .map(sql::select_expr)
            .collect::<Vec<_>>()
            .join(", ");
        let from = sql::quote_table(&meta.id);
        Self {
            pool,
            meta,
            chunk_rows: chunk_rows.max(1),
            rows_read: Arc::new(AtomicU64::new(0)),
            oceanbase: OnceCell::new(),
            select_list,
            from,
        }
    }

    /// A reader for a server already identified, which then never asks who it is
    /// (one detection per endpoint, not one per table).
    pub fn on_server(mut self, info: &ServerInfo) -> Self {
        self.oceanbase = OnceCell::new_with(Some(info.flavor == SourceFlavor::OceanBase));
        self
    }

    /// Counts rows into `counter` instead of a private one (e.g. one per project).
    pub fn with_progress(mut self, counter: Arc<AtomicU64>) -> Self {
        self.rows_read = counter;
        self
    }

    /// Rows read so far by this reader (shared with clones of the returned `Arc`).
    pub fn progress(&self) -> Arc<AtomicU64> {
        self.rows_read.clone()
    }

    pub fn meta(&self) -> &Arc<TableMeta> {
        &self.meta
    }

    /// True when the table can be read in chunks (it has a primary or unique key).
    pub fn is_chunked(&self) -> bool {
        self.meta.key_source != KeySource::AllColumns
    }

    /// A pooled session set up as the reader's own: UTC, and on OceanBase a one-day
    /// `ob_query_timeout` (the pool resets sessions, so this runs per checkout). For
    /// callers running their own long reads beside the snapshot.
    pub async fn session(&self) -> Result<Conn, SnapshotError> {
        let mut conn = self
            .pool
            .get_conn()
            .await
            .map_err(|source| self.query_err(source))?;
        let oceanbase = *self
            .oceanbase
            .get_or_try_init(|| async {
                let info = server_info(&mut conn).await?;
                Ok::<_, SnapshotError>(info.flavor == SourceFlavor::OceanBase)
            })
            .await?;
        if oceanbase {
            conn.query_drop(format!(
                "SET ob_query_timeout = {OB_SNAPSHOT_QUERY_TIMEOUT_US}"
            ))
            .await
            .map_err(|source| self.query_err(source))?;
        }
        Ok(conn)
    }

    fn query_err(&self, source: mysql_async::Error) -> SnapshotError {
        SnapshotError::Query {
            table: self.meta.id.clone(),
            source: source.into(),
        }
    }

    fn key_columns(&self) -> Vec<&Column> {
        self.meta
            .key
            .iter()
            .map(|&i| &self.meta.columns[i])
            .collect()
    }

    /// Reads up to `chunk_rows` rows whose key is greater than `after` (from the first
    /// row when `None`), in key order.
    pub async fn read_chunk(
        &self,
        after: Option<&[Value]>,
    ) -> Result<SnapshotChunk, SnapshotError> {
        self.read_chunk_in(&KeyRange::all(), after).await
    }

    /// Like [`read_chunk`](Self::read_chunk), limited to `range`.
    pub async fn read_chunk_in(
        &self,
        range: &KeyRange,
        after: Option<&[Value]>,
    ) -> Result<SnapshotChunk, SnapshotError> {
        let query = self.chunk_query(range, after)?;
        let mut conn = self.session().await?;
        let mut result = conn
            .query_iter(query)
            .await
            .map_err(|source| self.query_err(source))?;
        let mut rows = Vec::with_capacity(self.chunk_rows.min(DEFAULT_CHUNK_ROWS));
        if let Some(stream) = result
            .stream::<mysql_async::Row>()
            .await
            .map_err(|source| self.query_err(source))?
        {
            let mut stream = stream;
            while let Some(raw) = stream
                .try_next()
                .await
                .map_err(|source| self.query_err(source))?
            {
                rows.push(self.decode_row(raw)?);
            }
        }
        drop(result);
        self.rows_read
            .fetch_add(rows.len() as u64, Ordering::Relaxed);
        let last_key = if rows.len() < self.chunk_rows {
            None
        } else {
            rows.last()
                .map(|r| self.meta.key.iter().map(|&i| r[i].clone()).collect())
        };
        Ok(SnapshotChunk { rows, last_key })
    }

    /// The row whose key is `key` (the table's key columns in order), or `None` when the
    /// table has no such row now. For re-reading single rows (`obsync verify`).
    pub async fn read_row(&self, key: &[Value]) -> Result<Option<Row>, SnapshotError> {
        if !self.is_chunked() {
            return Err(SnapshotError::NoUsableKey {
                table: self.meta.id.clone(),
            });
        }
        let columns = self.key_columns();
        if key.len() != columns.len() {
            return Err(self.bad_key(format!("got {} values", key.len())));
        }
        let conditions = columns
            .iter()
            .zip(key)
            .map(|(c, v)| {
                Ok(format!(
                    "{} = {}",
                    sql::quote_ident(&c.name),
                    self.key_literal(c, v)?
                ))
            })
            .collect::<Result<Vec<_>, SnapshotError>>()?;
        let query = format!(
            "SELECT {} FROM {} WHERE {} LIMIT 1",
            self.select_list,
            self.from,
            conditions.join(" AND ")
        );
        let mut conn = self.session().await?;
        let raw: Option<mysql_async::Row> = conn
            .query_first(query)
            .await
            .map_err(|source| self.query_err(source))?;
        raw.map(|r| self.decode_row(r)).transpose()
    }

    fn chunk_query(
        &self,
        range: &KeyRange,
        after: Option<&[Value]>,
    ) -> Result<String, SnapshotError> {
        if !self.is_chunked() {
            return Err(SnapshotError::NoUsableKey {
                table: self.meta.id.clone(),
            });
        }
        let key = self.key_columns();
        let first = sql::quote_ident(&key[0].name);
        let mut conditions = Vec::new();
        if let Some(v) = &range.after {
            conditions.push(format!("{first} > {}", self.key_literal(key[0], v)?));
        }
        if let Some(v) = &range.up_to {
            conditions.push(format!("{first} <= {}", self.key_literal(key[0], v)?));
        }
        if let Some(after) = after {
            if after.len() != key.len() {
                return Err(self.bad_key(format!("got {} values", after.len())));
            }
            let literals = key
                .iter()
                .zip(after)
                .map(|(c, v)| self.key_literal(c, v))
                .collect::<Result<Vec<_>, _>>()?;
            conditions.push(format!("({})", sql::after_predicate(&key, &literals)));
        }
        let order = key
            .iter()
            .map(|c| sql::quote_ident(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        let filter = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        Ok(format!(
            "SELECT {} FROM {}{filter} ORDER BY {order} LIMIT {}",
            self.select_list, self.from, self.chunk_rows
        ))
    }

    fn key_literal(&self, column: &Column, value: &Value) -> Result<String, SnapshotError> {
        sql::literal(column, value).ok_or_else(|| {
            self.bad_key(format!(
                "{value:?} cannot be a value of key column {}",
                column.name
            ))
        })
    }

    fn bad_key(&self, detail: String) -> SnapshotError {
        SnapshotError::BadKey {
            table: self.meta.id.clone(),
            expected: self.meta.key.len(),
            detail,
        }
    }

    fn decode_row(&self, raw: mysql_async::Row) -> Result<Row, SnapshotError> {
        let values = raw.unwrap();
        if values.len() != self.meta.columns.len() {
            return Err(SnapshotError::from(MetadataError::Unexpected {
                table: self.meta.id.clone(),
                detail: format!(
                    "the query returned {} columns, the metadata lists {}: the table changed, re-read its metadata",
                    values.len(),
                    self.meta.columns.len()
                ),
            }));
        }
        values
            .into_iter()
            .zip(&self.meta.columns)
            .map(|(v, c)| {
                let raw = match v {
                    SqlValue::NULL => None,
                    SqlValue::Bytes(b) => Some(b),
                    // The text protocol sends only text and NULL; anything else would
                    // mean a binary-protocol result, whose values are printed as SQL.
                    other => Some(other.as_sql(true).into_bytes()),
                };
                decode_text(c, raw).map_err(|source| SnapshotError::Decode {
                    table: self.meta.id.clone(),
                    source: Box::new(source),
                })
            })
            .collect()
    }

    /// Reads the whole table in one scan, sending batches of at most
    /// [`STREAM_BATCH_ROWS`] rows into `tx` (memory stays bounded by the channel's
    /// capacity whatever the table size). Returns the number of rows sent. Meant for
    /// tables without a usable key; it cannot resume midway.
    pub async fn stream_all(&self, tx: mpsc::Sender<Vec<Row>>) -> Result<u64, SnapshotError> {
        let mut conn = self.session().await?;
        // A consumer blocked on a full channel stalls the socket; the server must wait.
        if let Err(e) = conn
            .query_drop(format!(
                "SET net_write_timeout = {STREAM_NET_WRITE_TIMEOUT_S}"
            ))
            .await
        {
            tracing::warn!(table = %self.meta.id, error = %crate::SqlError::from(e), "cannot raise net_write_timeout; a slow consumer may abort the scan");
        }
        let query = format!("SELECT {} FROM {}", self.select_list, self.from);
        let mut result = conn
            .query_iter(query)
            .await
            .map_err(|source| self.query_err(source))?;
        let mut sent = 0u64;
        let Some(mut stream) = result
            .stream::<mysql_async::Row>()
            .await
            .map_err(|source| self.query_err(source))?
        else {
            return Ok(0);
        };
        let mut batch = Vec::with_capacity(STREAM_BATCH_ROWS);
        while let Some(raw) = stream
            .try_next()
            .await
            .map_err(|source| self.query_err(source))?
        {
            batch.push(self.decode_row(raw)?);
            if batch.len() == STREAM_BATCH_ROWS {
                sent += self.send(&tx, std::mem::take(&mut batch)).await?;
                batch.reserve(STREAM_BATCH_ROWS);
            }
        }
        if !batch.is_empty() {
            sent += self.send(&tx, batch).await?;
        }
        Ok(sent)
    }

    async fn send(
        &self,
        tx: &mpsc::Sender<Vec<Row>>,
        batch: Vec<Row>,
    ) -> Result<u64, SnapshotError> {
        let n = batch.len() as u64;
        tx.send(batch)
            .await
            .map_err(|_| SnapshotError::ReceiverClosed {
                table: self.meta.id.clone(),
            })?;
        self.rows_read.fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }

    /// Splits the table into at most `n` ranges of its first key column for parallel
    /// readers. Only an integer first key column is split (by MIN and MAX, evenly);
    /// any other key, an empty table or `n <= 1` gives the single range
    /// [`KeyRange::all`].
    pub async fn key_ranges(&self, n: usize) -> Result<Vec<KeyRange>, SnapshotError> {
        if !self.is_chunked() {
            return Err(SnapshotError::NoUsableKey {
                table: self.meta.id.clone(),
            });
        }
        let first = self.key_columns()[0];
        if n <= 1 || !first.kind.is_integer() {
            return Ok(vec![KeyRange::all()]);
        }
        let name = sql::quote_ident(&first.name);
        let mut conn = self.session().await?;
        let bounds: Option<(Option<String>, Option<String>)> = conn
            .query_first(format!(
                "SELECT MIN({name}), MAX({name}) FROM {}",
                self.from
            ))
            .await
            .map_err(|source| self.query_err(source))?;
        let parse = |s: Option<String>| s.and_then(|s| s.parse::<i128>().ok());
        let Some((Some(min), Some(max))) = bounds.map(|(a, b)| (parse(a), parse(b))) else {
            return Ok(vec![KeyRange::all()]);
        };
        Ok(split_ranges(min, max, n, first.unsigned))
    }

    /// The table's row count for progress: the server's statistics when non-zero,
    /// else `SELECT COUNT(*)` bounded to 10 s (OceanBase reports 0 until statistics are
    /// gathered), else 0 with `exact: false`.
    pub async fn estimate_rows(&self) -> Result<RowEstimate, SnapshotError> {
        if self.meta.estimated_rows > 0 {
            return Ok(RowEstimate {
                rows: self.meta.estimated_rows,
                exact: false,
            });
        }
        let mut conn = self.session().await?;
        let oceanbase = self.oceanbase.get().copied().unwrap_or(false);
        if oceanbase {
            conn.query_drop(format!(
                "SET ob_query_timeout = {}",
                COUNT_TIMEOUT_S * 1_000_000
            ))
            .await
            .map_err(|source| self.query_err(source))?;
        }
        let count = format!("SELECT COUNT(*) FROM {}", self.from);
        let counted = tokio::time::timeout(
            Duration::from_secs(COUNT_TIMEOUT_S + 2),
            conn.query_first::<u64, _>(count),
        )
        .await;
        match counted {
            Ok(Ok(rows)) => Ok(RowEstimate {
                rows: rows.unwrap_or(0),
                exact: true,
            }),
            Ok(Err(e)) => {
                tracing::info!(table = %self.meta.id, error = %crate::SqlError::from(e), "row count unavailable; progress shows no total");
                Ok(RowEstimate {
                    rows: 0,
                    exact: false,
                })
            }
            Err(_) => {
                // The connection still runs the count; do not return it to the pool.
                let _ = conn.disconnect().await;
                Ok(RowEstimate {
                    rows: 0,
                    exact: false,
                })
            }
        }
    }
}

/// `n` ranges over `min..=max`: open below the first split point and above the last.
fn split_ranges(min: i128, max: i128, n: usize, unsigned: bool) -> Vec<KeyRange> {
    let span = max - min;
    let n = (n as i128).min(span + 1).max(1);
    let value = |v: i128| {
        if unsigned {
            Value::UInt(v as u64)
        } else {
            Value::Int(v as i64)
        }
    };
    let mut ranges = Vec::new();
    let mut after = None;
    for i in 1..n {
        let split = min + span * i / n;
        ranges.push(KeyRange {
            after: after.clone(),
            up_to: Some(value(split)),
        });
        after = Some(value(split));
    }
    ranges.push(KeyRange { after, up_to: None });
    ranges
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_min_to_max_with_open_ends() {
        let r = split_ranges(1, 100, 4, false);
        assert_eq!(r.len(), 4);
        assert_eq!(r[0].after, None);
        assert_eq!(r[0].up_to, Some(Value::Int(25)));
        assert_eq!(r[1].after, Some(Value::Int(25)));
        assert_eq!(r[3].up_to, None);
        for w in r.windows(2) {
            assert_eq!(w[0].up_to, w[1].after);
        }
    }

    #[test]
    fn narrow_tables_get_fewer_ranges() {
        assert_eq!(split_ranges(5, 6, 8, false).len(), 2);
        assert_eq!(split_ranges(7, 7, 8, false), vec![KeyRange::all()]);
        let r = split_ranges(0, u64::MAX as i128, 2, true);
        assert_eq!(r[0].up_to, Some(Value::UInt(u64::MAX / 2)));
    }
}
