//! [`BinlogReader`]: turns binlog events into the canonical event stream.
//!
//! Contract of the stream it produces:
//! - Rows of a transaction come between its `Begin` and `Commit`, streamed as read:
//!   a transaction is never buffered whole (memory is bounded by one binlog event).
//! - A transaction without rows of the project produces no `Begin`/`Commit`; its end
//!   may be reported as `Progress` (at most once per [`PROGRESS_INTERVAL`], and on
//!   server heartbeats) so checkpoints advance over unrelated traffic.
//! - `Commit.end`, `Ddl.end` and `Progress.position` are positions right after a
//!   transaction: starting a reader there continues with the next transaction.
//! - After a dropped connection the reader resumes by itself from the last position it
//!   returned and skips what it had already returned, so nothing is lost or repeated.

use super::ddl::{classify, DdlScope, QueryKind, XaVerb};
use super::error::BinlogError;
use super::gtid::GtidState;
use super::mariadb_events as maria;
use super::rows::decode_rows;
use super::schema_cache::SchemaCache;
use super::stream::{self, DumpFrom};
use super::timestamp_start;
use crate::endpoint::SourceEndpoint;
use crate::metadata::MetadataReader;
use crate::SqlError;
use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, Conn, Row as SqlRow};
use mysql_common::binlog::consts::{BinlogChecksumAlg, EventFlags, EventType};
use mysql_common::binlog::events::{
    Event, EventData, GtidEvent as MyGtidEvent, QueryEvent, RotateEvent, RowsEventData,
    TableMapEvent,
};
use obsync_model::{
    BinlogCoord, Change, ChangeOrigin, ErrorChain, Gtid, LogPosition, RowChange, SourceEvent,
    TableId, TableMeta, TxnInfo,
};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Decides which tables belong to the project.
pub type TableFilter = Arc<dyn Fn(&TableId) -> bool + Send + Sync>;

/// Where streaming starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartFrom {
    /// A position returned earlier (`Commit.end`, `Ddl.end`, `Progress.position`) or a
    /// file:pos event boundary. Its GTID state, when present, seeds the positions the
    /// reader reports.
    Position(LogPosition),
    /// Right after the transactions of a GTID state: MariaDB `0-1-20[,…]`
    /// (`@slave_connect_state`), MySQL `uuid:1-20[,…]` (`COM_BINLOG_DUMP_GTID`).
    Gtid(Gtid),
    /// The first transaction that began at or after this Unix time (seconds).
    Timestamp(u32),
    /// The current end of the binlog (`SHOW MASTER STATUS`).
    Current,
}

/// Bounded retries after a dropped connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReconnectPolicy {
    /// Attempts before giving up with [`BinlogError::ReconnectExhausted`].
    pub max_attempts: u32,
    /// Wait before the first attempt; doubles per attempt up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for ReconnectPolicy {
    /// About a minute of retries: long enough for a server restart.
    fn default() -> Self {
        Self {
            max_attempts: 15,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
        }
    }
}

/// How a [`BinlogReader`] connects and what it reads.
#[derive(Clone)]
#[non_exhaustive]
pub struct BinlogOptions {
    /// The replica id this reader registers with; unique among the server's replicas
    /// (a second connection with the same id disconnects the first).
    pub server_id: u32,
    pub start: StartFrom,
    /// The project's tables; rows of other tables are skipped without decoding.
    pub filter: TableFilter,
    /// The server sends a heartbeat after this long without events; a connection
    /// silent for three periods is treated as dropped.
    pub heartbeat: Duration,
    pub reconnect: ReconnectPolicy,
    /// Definitions of project tables as they were at `start` (a checkpoint keeps them).
    /// Rows before the next DDL on a table are decoded with these instead of today's
    /// definition, which a DDL run while the project was down may have changed. One
    /// that does not fit the binlog's table map is ignored (today's definition is read).
    pub known_tables: Vec<Arc<TableMeta>>,
}

impl BinlogOptions {
    /// Options with default heartbeat (5 s) and reconnect policy.
    pub fn new(server_id: u32, start: StartFrom, filter: TableFilter) -> Self {
        Self {
            server_id,
            start,
            filter,
            heartbeat: Duration::from_secs(5),
            reconnect: ReconnectPolicy::default(),
            known_tables: Vec::new(),
        }
    }
}

impl fmt::Debug for BinlogOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BinlogOptions")
            .field("server_id", &self.server_id)
            .field("start", &self.start)
            .field("heartbeat", &self.heartbeat)
            .field("reconnect", &self.reconnect)
            .field("known_tables", &self.known_tables.len())
            .finish_non_exhaustive()
    }
}

/// Minimum time between two `Progress` events for skipped transactions: often enough
/// for checkpoints, rare enough not to flood the pipeline with no-op events.
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// A transaction being read.
struct OpenTxn {
    info: Arc<TxnInfo>,
    /// `Begin` has been queued (or was returned before a reconnect).
    begun: bool,
    /// Index of the next row of the project in this transaction.
    next_index: u32,
    /// Rows with a lower index were returned before a reconnect: not queued again.
    replayed_rows: u32,
    /// The transaction began before a start timestamp: its rows are not returned.
    skipped: bool,
    gtid: Option<TxnGtid>,
}

/// A transaction's own GTID, applied to the GTID state at its end.
#[derive(Debug, Clone)]
enum TxnGtid {
    Maria(maria::MariaGtid),
    MySql { sid: String, gno: u64 },
}

impl fmt::Display for TxnGtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxnGtid::Maria(g) => write!(f, "{g}"),
            TxnGtid::MySql { sid, gno } => write!(f, "{sid}:{gno}"),
        }
    }
}

/// A GTID event seen, whose transaction has not started yet (MySQL: before `BEGIN`;
/// MariaDB: a standalone DDL).
struct PendingGtid {
    gtid: Option<TxnGtid>,
    start: BinlogCoord,
    timestamp: u32,
}

/// What the caller has been given of the transaction in progress.
#[derive(Clone)]
struct Delivered {
    info: Arc<TxnInfo>,
    rows: u32,
}

/// Where to re-open the stream after a dropped connection.
#[derive(Clone)]
enum Resume {
    /// Nothing returned yet: the original start, with its GTID state.
    Start(DumpFrom, GtidState),
    /// Right after a returned `Commit`/`Ddl`/`Progress` (or the first transaction at/after
    /// a start timestamp).
    At(LogPosition),
}

/// Reads the binlog of one source as a stream of [`SourceEvent`]s; see the module doc
/// for the stream's contract.
pub struct BinlogReader {
    endpoint: SourceEndpoint,
    opts: BinlogOptions,
    mariadb: bool,
    stream: Option<BinlogStream>,
    schema: SchemaCache,
    // Read cursor: the position after the last event read, and the GTID state after the
    // last transaction read.
    file: String,
    pos: u64,
    gtid: GtidState,
    fde_seen: bool,
    fake_rotate_name: Option<Vec<u8>>,
    txn: Option<OpenTxn>,
    pending_gtid: Option<PendingGtid>,
    /// Events decoded but not yet returned; at most one binlog event's rows.
    out: VecDeque<SourceEvent>,
    /// An event whose handling awaits metadata (kept here so a cancelled `next` redoes it).
    held: Option<Event>,
    seq: u64,
    skip_before: Option<u32>,
    progress_owed: Option<(LogPosition, u32)>,
    last_progress: Instant,
    // What the caller has been given.
    resume: Resume,
    delivered: Option<Delivered>,
    replay: Option<Delivered>,
    attempts: u32,
    last_error: String,
    reconnects: u64,
}

impl fmt::Debug for BinlogReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BinlogReader")
            .field("endpoint", &self.endpoint)
            .field("server_id", &self.opts.server_id)
            .field("position", &BinlogCoord::new(self.file.clone(), self.pos))
            .finish_non_exhaustive()
    }
}

impl BinlogReader {
    /// Connects, resolves the start position and opens the dump.
    pub async fn start(endpoint: SourceEndpoint, opts: BinlogOptions) -> Result<Self, BinlogError> {
        if opts.server_id == 0 {
            return Err(BinlogError::InvalidOptions {
                reason: "server_id 0 is reserved: choose a replica id unique on the source".into(),
            });
        }
        let mut conn = endpoint.connect().await?;
        let mariadb = stream::is_mariadb(&mut conn).await?;
        let mut skip_before = None;
        let (from, gtid) = match &opts.start {
            StartFrom::Position(p) => {
                let gtid = match &p.gtid {
                    Some(g) => parse_state(mariadb, &g.0)?,
                    None => gtid_at(&mut conn, mariadb, &p.coord).await?,
                };
                (DumpFrom::Coord(p.coord.clone()), gtid)
            }
            StartFrom::Gtid(g) => {
                let state = parse_state(mariadb, &g.0)?;
                let from = if mariadb {
                    DumpFrom::MariaGtid(g.0.clone())
                } else {
                    DumpFrom::MySqlGtid(g.0.clone())
                };
                (from, state)
            }
            StartFrom::Current => {
                let (coord, executed) = master_status(&mut conn).await?;
                let gtid = match executed.filter(|s| !s.is_empty() && !mariadb) {
                    Some(set) => parse_state(false, &set)?,
                    None => gtid_at(&mut conn, mariadb, &coord).await?,
                };
                (DumpFrom::Coord(coord), gtid)
            }
            StartFrom::Timestamp(t) => {
                let file = timestamp_start::file_for_timestamp(&endpoint, *t).await?;
                skip_before = Some(*t);
                // The file's GTID list / previous-GTIDs event seeds the state.
                (
                    DumpFrom::Coord(BinlogCoord::new(file, 4)),
                    GtidState::Unknown,
                )
            }
        };
        // Best effort: a failed goodbye leaves only a server log line.
        let _ = conn.disconnect().await;
        let (file, pos) = match &from {
            DumpFrom::Coord(c) => (c.file.clone(), c.pos),
            _ => (String::new(), 4),
        };
        let stream = stream::open(&endpoint, opts.server_id, &from, opts.heartbeat, false).await?;
        tracing::info!(source = %endpoint.address(), start = ?from, server_id = opts.server_id, "binlog reader started");
        Ok(Self {
            schema: SchemaCache::new(MetadataReader::from_endpoint(&endpoint), &opts.known_tables),
            endpoint,
            opts,
            mariadb,
            stream: Some(stream),
            file,
            pos,
            gtid: gtid.clone(),
            fde_seen: false,
            fake_rotate_name: None,
            txn: None,
            pending_gtid: None,
            out: VecDeque::new(),
            held: None,
            seq: 0,
            skip_before,
            progress_owed: None,
            last_progress: Instant::now(),
            resume: Resume::Start(from, gtid),
            delivered: None,
            replay: None,
            attempts: 0,
            last_error: String::new(),
            reconnects: 0,
        })
    }

    /// The next event. Waits for the server when the binlog has no more.
    ///
    /// Cancel-safe: dropping the returned future loses no event (an interrupted
    /// metadata read or reconnect is redone by the next call).
    pub async fn next(&mut self) -> Result<SourceEvent, BinlogError> {
        loop {
            if let Some(ev) = self.out.pop_front() {
                self.note_returned(&ev);
                return Ok(ev);
            }
            let event = match self.held.take() {
                Some(e) => e,
                None => self.read_event().await?,
            };
            self.handle(event).await?;
        }
    }

    /// The position after the last event returned by [`Self::next`] that ends a
    /// transaction: where a restarted reader continues.
    pub fn committed_position(&self) -> Option<&LogPosition> {
        match &self.resume {
            Resume::At(p) => Some(p),
            Resume::Start(..) => None,
        }
    }

    /// How often the connection was re-opened after a drop (for metrics and tests).
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// Closes the replication connection.
    pub async fn close(mut self) {
        if let Some(s) = self.stream.take() {
            let _ = s.close().await;
        }
    }

    fn note_returned(&mut self, ev: &SourceEvent) {
        match ev {
            SourceEvent::Begin(info) => {
                self.delivered = Some(Delivered {
                    info: info.clone(),
                    rows: 0,
                })
            }
            SourceEvent::Row(_) => {
                if let Some(d) = &mut self.delivered {
                    d.rows += 1;
                }
            }
            SourceEvent::Commit { end, .. } => {
                self.delivered = None;
                self.resume = Resume::At(end.clone());
            }
            SourceEvent::Ddl { end, .. } => self.resume = Resume::At(end.clone()),
            SourceEvent::Progress { position, .. } => self.resume = Resume::At(position.clone()),
        }
    }

    // ---- connection ----

    async fn read_event(&mut self) -> Result<Event, BinlogError> {
        let idle = self.opts.heartbeat * 3;
        loop {
            if self.stream.is_none() {
                self.reopen().await?;
            }
            let stream = self.stream.as_mut().expect("just opened");
            let problem = match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(Ok(ev))) => {
                    // Events flow again: the next failure starts a fresh retry budget.
                    self.attempts = 0;
                    return Ok(ev);
                }
                Ok(Some(Err(e))) if stream::is_transient(&e) => SqlError::from(e).to_string(),
                Ok(Some(Err(source))) => {
                    return Err(BinlogError::Stream {
                        position: self.coord(),
                        source: source.into(),
                    })
                }
                Ok(None) => "the server ended the binlog stream".to_string(),
                Err(_) => format!("no event or heartbeat for {idle:?}"),
            };
            tracing::warn!(position = %self.coord(), problem = %problem, "binlog connection lost; resuming");
            self.last_error = problem;
            self.rewind_to_resume_point();
        }
    }

    /// Drops the connection and everything read past the last returned transaction end.
    fn rewind_to_resume_point(&mut self) {
        self.stream = None;
        self.out.clear();
        self.held = None;
        self.txn = None;
        self.pending_gtid = None;
        self.progress_owed = None;
        self.fde_seen = false;
        self.fake_rotate_name = None;
        self.schema.clear_maps();
        self.replay = self.delivered.clone();
        match &self.resume {
            Resume::Start(from, gtid) => {
                if let DumpFrom::Coord(c) = from {
                    self.file = c.file.clone();
                    self.pos = c.pos;
                }
                self.gtid = gtid.clone();
            }
            Resume::At(p) => {
                self.file = p.coord.file.clone();
                self.pos = p.coord.pos;
                self.gtid = p
                    .gtid
                    .as_ref()
                    .and_then(|g| parse_state(self.mariadb, &g.0).ok())
                    .unwrap_or_default();
            }
        }
    }

    async fn reopen(&mut self) -> Result<(), BinlogError> {
        let from = match &self.resume {
            Resume::Start(from, _) => from.clone(),
            Resume::At(p) => DumpFrom::Coord(p.coord.clone()),
        };
        loop {
            self.attempts += 1;
            if self.attempts > self.opts.reconnect.max_attempts {
                return Err(BinlogError::ReconnectExhausted {
                    position: self.resume_position(),
                    attempts: self.opts.reconnect.max_attempts,
                    last_error: self.last_error.clone(),
                });
            }
            let p = &self.opts.reconnect;
            let backoff = p
                .initial_backoff
                .saturating_mul(1 << (self.attempts - 1).min(16))
                .min(p.max_backoff);
            tokio::time::sleep(backoff).await;
            match stream::open(
                &self.endpoint,
                self.opts.server_id,
                &from,
                self.opts.heartbeat,
                false,
            )
            .await
            {
                Ok(s) => {
                    tracing::info!(start = ?from, attempt = self.attempts, "binlog connection re-opened");
                    self.reconnects += 1;
                    self.stream = Some(s);
                    return Ok(());
                }
                Err(e) if stream::is_transient_error(&e) => {
                    tracing::warn!(attempt = self.attempts, error = %ErrorChain(&e), "re-opening the binlog connection failed");
                    self.last_error = ErrorChain(&e).to_string();
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn resume_position(&self) -> LogPosition {
        match &self.resume {
            Resume::At(p) => p.clone(),
            Resume::Start(from, gtid) => LogPosition {
                coord: match from {
                    DumpFrom::Coord(c) => c.clone(),
                    _ => BinlogCoord::new("", 4),
                },
                gtid: gtid.render(),
            },
        }
    }

    // ---- events ----

    fn coord(&self) -> BinlogCoord {
        BinlogCoord::new(self.file.clone(), self.pos)
    }

    fn log_position(&self) -> LogPosition {
        LogPosition {
            coord: self.coord(),
            gtid: self.gtid.render(),
        }
    }

    async fn handle(&mut self, ev: Event) -> Result<(), BinlogError> {
        let h = ev.header();
        let ty = h.event_type_raw();
        let real = h.log_pos() != 0 && !h.flags().contains(EventFlags::LOG_EVENT_ARTIFICIAL_F);
        // Where this event starts (for transaction starts); events inside a MySQL
        // transaction payload have no position of their own.
        let start = if real {
            BinlogCoord::new(
                self.file.clone(),
                (h.log_pos() as u64).saturating_sub(h.event_size() as u64),
            )
        } else {
            self.coord()
        };
        // Positions only grow within a file (a rotate resets them): the format
        // description and GTID list a server re-sends when a dump starts mid-file carry
        // their original, earlier positions and must not move the cursor back.
        let in_sequence = real && start.pos >= self.pos;
        if real && ty != EventType::HEARTBEAT_EVENT as u8 && h.log_pos() as u64 > self.pos {
            self.pos = h.log_pos() as u64;
        }
        let ts = h.timestamp();
        const ROTATE: u8 = EventType::ROTATE_EVENT as u8;
        const FDE: u8 = EventType::FORMAT_DESCRIPTION_EVENT as u8;
        const QUERY: u8 = EventType::QUERY_EVENT as u8;
        const XID: u8 = EventType::XID_EVENT as u8;
        const TABLE_MAP: u8 = EventType::TABLE_MAP_EVENT as u8;
        const GTID: u8 = EventType::GTID_EVENT as u8;
        const GTID_TAGGED: u8 = EventType::GTID_TAGGED_LOG_EVENT as u8;
        const ANONYMOUS_GTID: u8 = EventType::ANONYMOUS_GTID_EVENT as u8;
        const PREVIOUS_GTIDS: u8 = EventType::PREVIOUS_GTIDS_EVENT as u8;
        const HEARTBEAT: u8 = EventType::HEARTBEAT_EVENT as u8;
        const INCIDENT: u8 = EventType::INCIDENT_EVENT as u8;
        const PARTIAL_UPDATE: u8 = EventType::PARTIAL_UPDATE_ROWS_EVENT as u8;
        match ty {
            ROTATE => self.on_rotate(&ev)?,
            FDE => self.on_format_description(&ev),
            maria::GTID => {
                let g = maria::parse_gtid(ev.data(), h.server_id()).map_err(|r| self.malformed(r))?;
                if g.xa {
                    tracing::warn!(gtid = %g.gtid, "XA transaction: its rows are reported at XA PREPARE");
                }
                let pending = PendingGtid {
                    gtid: Some(TxnGtid::Maria(g.gtid)),
                    start,
                    timestamp: ts,
                };
                if g.standalone {
                    self.pending_gtid = Some(pending);
                } else {
                    // MariaDB's GTID event takes the place of BEGIN.
                    self.open_txn(pending);
                }
            }
            maria::GTID_LIST if in_sequence => {
                let list = maria::parse_gtid_list(ev.data()).map_err(|r| self.malformed(r))?;
                let mut state = GtidState::MariaDb(Default::default());
                for g in list {
                    state.apply_mariadb(g);
                }
                self.gtid = state;
            }
            maria::GTID_LIST
            | maria::ANNOTATE_ROWS
            | maria::BINLOG_CHECKPOINT
            | maria::START_ENCRYPTION => {}
            maria::FIRST_COMPRESSED..=maria::LAST_COMPRESSED => {
                return Err(BinlogError::Unsupported {
                    position: start,
                    what: "compressed binlog events: set log_bin_compress=OFF on the MariaDB source".into(),
                })
            }
            GTID | GTID_TAGGED => {
                let g: MyGtidEvent = ev.read_event().map_err(|e| self.malformed(e.to_string()))?;
                let mut sid = uuid_text(&g.sid());
                if let Some(tag) = g.tag() {
                    sid = format!("{sid}:{}", tag.as_str());
                }
                self.pending_gtid = Some(PendingGtid {
                    gtid: Some(TxnGtid::MySql { sid, gno: g.gno() }),
                    start,
                    timestamp: ts,
                });
            }
            ANONYMOUS_GTID => {
                self.pending_gtid = Some(PendingGtid {
                    gtid: None,
                    start,
                    timestamp: ts,
                })
            }
            PREVIOUS_GTIDS if in_sequence => {
                if let Ok(Some(EventData::PreviousGtidsEvent(p))) = ev.read_data() {
                    let text = p
                        .sids()
                        .iter()
                        .map(|s| {
                            let mut t = uuid_text(&s.uuid());
                            if let Some(tag) = s.tag() {
                                t = format!("{t}:{}", tag.as_str());
                            }
                            for iv in s.intervals() {
                                t.push_str(&format!(":{}-{}", iv.start(), iv.end() - 1));
                            }
                            t
                        })
                        .collect::<Vec<_>>()
                        .join(",");
                    self.gtid = GtidState::parse_mysql(&text).map_err(|r| self.malformed(r))?;
                }
            }
            QUERY => self.on_query(&ev, start, ts)?,
            XID => {
                let xid = match ev.read_data() {
                    Ok(Some(EventData::XidEvent(x))) => Some(x.xid),
                    _ => None,
                };
                self.end_txn(xid, ts);
            }
            TABLE_MAP => self.on_table_map(ev).await?,
            PARTIAL_UPDATE => {
                return Err(BinlogError::Unsupported {
                    position: start,
                    what: "partial JSON updates: set binlog_row_value_options='' on the source".into(),
                })
            }
            HEARTBEAT => self.flush_progress(),
            INCIDENT => {
                return Err(BinlogError::Unsupported {
                    position: start,
                    what: "an incident event (the source lost binlog events): restart the project from a snapshot".into(),
                })
            }
            _ => {
                if let Ok(Some(EventData::RowsEvent(rows))) = ev.read_data() {
                    self.on_rows(rows, start, ts)?;
                }
            }
        }
        Ok(())
    }

    fn malformed(&self, reason: impl Into<String>) -> BinlogError {
        BinlogError::Malformed {
            position: self.coord(),
            reason: reason.into(),
        }
    }

    fn on_rotate(&mut self, ev: &Event) -> Result<(), BinlogError> {
        let r: RotateEvent<'_> = ev.read_event().map_err(|e| self.malformed(e.to_string()))?;
        if self.fde_seen {
            self.file = String::from_utf8_lossy(r.name_raw()).into_owned();
        } else {
            // The rotate sent before the first format description still carries its
            // checksum after the name: the format description says whether it has one.
            self.fake_rotate_name = Some(r.name_raw().to_vec());
        }
        self.pos = r.position();
        Ok(())
    }

    fn on_format_description(&mut self, ev: &Event) {
        if let Some(mut name) = self.fake_rotate_name.take() {
            let crc = matches!(
                ev.footer().get_checksum_alg(),
                Ok(Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32))
            );
            if crc && name.len() > 4 {
                name.truncate(name.len() - 4);
            }
            self.file = String::from_utf8_lossy(&name).into_owned();
        }
        self.fde_seen = true;
    }

    fn on_query(&mut self, ev: &Event, start: BinlogCoord, ts: u32) -> Result<(), BinlogError> {
        let q: QueryEvent<'_> = ev.read_event().map_err(|e| self.malformed(e.to_string()))?;
        let schema = q.schema();
        let sql = q.query();
        match classify(&schema, &sql) {
            QueryKind::Begin | QueryKind::Xa(XaVerb::Start) => {
                if self.txn.is_none() {
                    let pending = self.pending_gtid.take().unwrap_or(PendingGtid {
                        gtid: None,
                        start,
                        timestamp: ts,
                    });
                    self.open_txn(pending);
                }
            }
            QueryKind::Commit | QueryKind::Xa(XaVerb::Prepare) => self.end_txn(None, ts),
            QueryKind::Rollback => {
                if self.txn.as_ref().is_some_and(|t| t.begun) {
                    tracing::warn!(position = %self.coord(), "transaction ended with ROLLBACK after changing non-transactional tables; its rows are reported as committed");
                }
                self.end_txn(None, ts)
            }
            QueryKind::Xa(XaVerb::End) => {}
            QueryKind::Xa(XaVerb::Commit) | QueryKind::Xa(XaVerb::Rollback) => {
                self.end_txn(None, ts)
            }
            QueryKind::Ddl(scope) => self.on_ddl(scope, &schema, &sql, ts),
            QueryKind::Other => {
                // SAVEPOINT and the like inside a transaction; GRANT, CREATE USER… on
                // their own.
                if self.txn.is_none() {
                    self.end_txn(None, ts);
                }
            }
        }
        Ok(())
    }

    fn open_txn(&mut self, p: PendingGtid) {
        if let Some(t) = self.txn.take() {
            tracing::warn!(start = %t.info.start, "transaction without an end in the binlog; dropping it");
        }
        let mut skipped = false;
        if let Some(t) = self.skip_before {
            if p.timestamp >= t {
                // The first transaction at/after the start time: from here on everything
                // counts, and a reconnect must come back here, not to the file start.
                self.skip_before = None;
                self.resume = Resume::At(LogPosition {
                    coord: p.start.clone(),
                    gtid: self.gtid.render(),
                });
            } else {
                skipped = true;
            }
        }
        let replay = self.replay.take();
        let (info, begun, replayed_rows) = match replay {
            Some(r) if r.info.start == p.start => {
                tracing::info!(start = %p.start, rows = r.rows, "continuing the interrupted transaction after its returned rows");
                (r.info, true, r.rows)
            }
            other => {
                if let Some(r) = other {
                    tracing::warn!(expected = %r.info.start, found = %p.start, "after reconnecting, the binlog did not continue with the interrupted transaction");
                }
                self.seq += 1;
                let info = TxnInfo {
                    start: p.start,
                    gtid: p.gtid.as_ref().map(|g| Gtid(g.to_string())),
                    timestamp: p.timestamp,
                    seq: self.seq,
                };
                (Arc::new(info), false, 0)
            }
        };
        self.txn = Some(OpenTxn {
            info,
            begun,
            next_index: 0,
            replayed_rows,
            skipped,
            gtid: p.gtid,
        });
    }

    /// Ends the open transaction (or a standalone statement) at the current position.
    fn end_txn(&mut self, xid: Option<u64>, ts: u32) {
        let txn = self.txn.take();
        let gtid = match &txn {
            Some(t) => t.gtid.clone(),
            None => self.pending_gtid.take().and_then(|p| p.gtid),
        };
        self.pending_gtid = None;
        self.apply_gtid(gtid);
        let end = self.log_position();
        match txn {
            Some(t) if t.begun => {
                self.out.push_back(SourceEvent::Commit {
                    txn: t.info,
                    xid,
                    end,
                    timestamp: ts,
                });
                self.progress_owed = None;
                self.last_progress = Instant::now();
            }
            Some(t) if t.skipped => {}
            _ if self.skip_before.is_some() => {}
            _ => self.owe_progress(end, ts),
        }
    }

    fn apply_gtid(&mut self, gtid: Option<TxnGtid>) {
        match gtid {
            Some(TxnGtid::Maria(g)) => self.gtid.apply_mariadb(g),
            Some(TxnGtid::MySql { sid, gno }) => {
                // Before the file's previous-GTIDs event the executed set is unknown; one
                // GTID alone would claim a wrong set.
                if matches!(self.gtid, GtidState::MySql(_)) {
                    self.gtid.add_mysql(&sid, gno)
                }
            }
            None => {}
        }
    }

    fn owe_progress(&mut self, position: LogPosition, ts: u32) {
        self.progress_owed = Some((position, ts));
        if self.last_progress.elapsed() >= PROGRESS_INTERVAL {
            self.flush_progress();
        }
    }

    fn flush_progress(&mut self) {
        if self.txn.is_some() {
            return;
        }
        if let Some((position, timestamp)) = self.progress_owed.take() {
            self.out.push_back(SourceEvent::Progress {
                position,
                timestamp,
            });
            self.last_progress = Instant::now();
        }
    }

    fn on_ddl(&mut self, scope: DdlScope, schema: &str, sql: &str, ts: u32) {
        if self.txn.is_some() {
            // DDL commits implicitly: a transaction still open here ends now.
            self.end_txn(None, ts);
        }
        let filter = self.opts.filter.clone();
        let mut renamed_out = Vec::new();
        let (database, table) = match &scope {
            DdlScope::Tables(ids) => {
                ids.iter().for_each(|id| self.schema.invalidate(id));
                let hit = ids.iter().find(|id| filter(id)).cloned();
                (
                    hit.as_ref()
                        .map_or(schema.to_string(), |t| t.database.clone()),
                    hit,
                )
            }
            DdlScope::Rename(pairs) => {
                let mut hit = None;
                for (from, to) in pairs {
                    self.schema.invalidate(from);
                    self.schema.invalidate(to);
                    let (a, b) = (filter(from), filter(to));
                    if a && !b {
                        tracing::warn!(table = %from, new_name = %to, "a synced table was renamed to a name outside the project: its later changes are not synced");
                        renamed_out.push((from.clone(), to.clone()));
                    }
                    if hit.is_none() && (a || b) {
                        hit = Some(if a { from.clone() } else { to.clone() });
                    }
                }
                (
                    hit.as_ref()
                        .map_or(schema.to_string(), |t| t.database.clone()),
                    hit,
                )
            }
            DdlScope::Database(db) => {
                self.schema.invalidate_database(db);
                (db.clone(), None)
            }
        };
        let relevant = table.is_some()
            || matches!(&scope, DdlScope::Database(db) if self.schema.is_project_database(db));
        let gtid = self.pending_gtid.take().and_then(|p| p.gtid);
        self.apply_gtid(gtid);
        let end = self.log_position();
        if self.skip_before.is_some() {
            return;
        }
        if relevant {
            self.out.push_back(SourceEvent::Ddl {
                database,
                table,
                statement: sql.to_string(),
                renamed_out,
                end,
                timestamp: ts,
            });
            self.progress_owed = None;
            self.last_progress = Instant::now();
        } else {
            self.owe_progress(end, ts);
        }
    }

    async fn on_table_map(&mut self, ev: Event) -> Result<(), BinlogError> {
        let tme: TableMapEvent<'static> = ev
            .read_event::<TableMapEvent<'_>>()
            .map_err(|e| self.malformed(e.to_string()))?
            .into_owned();
        let id = TableId::new(tme.database_name(), tme.table_name());
        let in_project = (self.opts.filter)(&id);
        let position = self.coord();
        // Kept until the metadata is in: a cancelled call handles the event again.
        self.held = Some(ev);
        self.schema
            .map_table(tme.table_id(), tme, in_project, &position)
            .await?;
        self.held = None;
        Ok(())
    }

    fn on_rows(
        &mut self,
        rows: RowsEventData<'_>,
        start: BinlogCoord,
        ts: u32,
    ) -> Result<(), BinlogError> {
        let table_id = rows.table_id();
        let Some(mapped) = self.schema.mapped(table_id) else {
            return Err(self.malformed(format!(
                "rows event for table id {table_id} without a table map"
            )));
        };
        if mapped.decoding.is_none() {
            return Ok(());
        }
        if self.txn.is_none() {
            // Rows outside BEGIN…COMMIT (a non-transactional engine on an old server).
            self.open_txn(PendingGtid {
                gtid: None,
                start,
                timestamp: ts,
            });
        }
        if self.txn.as_ref().is_some_and(|t| t.skipped) {
            return Ok(());
        }
        let position = self.coord();
        let mapped = self.schema.mapped(table_id).expect("checked above");
        let (meta, wire) = mapped.decoding.as_ref().expect("checked above");
        let meta = meta.clone();
        let changes = decode_rows(&rows, wire, &meta, &position)?;
        for change in changes {
            self.emit_row(&meta, change);
        }
        Ok(())
    }

    fn emit_row(&mut self, meta: &Arc<TableMeta>, row: RowChange) {
        let txn = self
            .txn
            .as_mut()
            .expect("rows are read inside a transaction");
        let index = txn.next_index;
        txn.next_index += 1;
        if index < txn.replayed_rows {
            return;
        }
        if !txn.begun {
            txn.begun = true;
            self.out.push_back(SourceEvent::Begin(txn.info.clone()));
        }
        self.out.push_back(SourceEvent::Row(Change {
            table: meta.clone(),
            row,
            origin: ChangeOrigin::Binlog {
                txn: txn.info.clone(),
                index,
            },
        }));
    }
}

fn parse_state(mariadb: bool, s: &str) -> Result<GtidState, BinlogError> {
    let parsed = if mariadb {
        GtidState::parse_mariadb(s)
    } else {
        GtidState::parse_mysql(s)
    };
    parsed.map_err(|reason| BinlogError::InvalidOptions { reason })
}

/// MariaDB: the GTID state at a binlog coordinate (`BINLOG_GTID_POS`). Elsewhere the
/// state is learnt from the binlog (previous-GTIDs event) when the reader passes a file
/// start.
async fn gtid_at(
    conn: &mut Conn,
    mariadb: bool,
    c: &BinlogCoord,
) -> Result<GtidState, BinlogError> {
    if !mariadb {
        return Ok(GtidState::Unknown);
    }
    let state: Option<Option<String>> = conn
        .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (&c.file, c.pos))
        .await
        .map_err(|source| BinlogError::Query {
            what: format!("SELECT BINLOG_GTID_POS('{}', {})", c.file, c.pos),
            source: source.into(),
        })?;
    match state.flatten() {
        Some(s) => parse_state(true, &s),
        None => Ok(GtidState::Unknown),
    }
}

/// `SHOW MASTER STATUS` (MySQL 8.4: `SHOW BINARY LOG STATUS`): the current end and,
/// on MySQL, the executed GTID set.
async fn master_status(conn: &mut Conn) -> Result<(BinlogCoord, Option<String>), BinlogError> {
    let row: Option<SqlRow> = match conn.query_first("SHOW MASTER STATUS").await {
        Ok(r) => r,
        Err(_) => conn
            .query_first("SHOW BINARY LOG STATUS")
            .await
            .map_err(|source| BinlogError::Query {
                what: "SHOW MASTER STATUS".into(),
                source: source.into(),
            })?,
    };
    let row = row.ok_or(BinlogError::NoBinlog)?;
    let file: Option<String> = row.get(0);
    let pos: Option<u64> = row.get(1);
    let executed: Option<String> = row.get::<Option<String>, _>(4).flatten();
    match (file, pos) {
        (Some(f), Some(p)) => Ok((BinlogCoord::new(f, p), executed)),
        _ => Err(BinlogError::NoBinlog),
    }
}

fn uuid_text(b: &[u8; 16]) -> String {
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}
