//! The I/O-free core of the binlog reader: decoded binlog events in, [`SourceEvent`]s
//! out. It owns transaction assembly, the read cursor (file, offset, GTID state), the
//! rules for replaying after a reconnect, and the start-time skip; the I/O shell
//! ([`super::reader::BinlogReader`]) only moves events and table metadata between the
//! server and here.
//!
//! Contract of the stream it produces:
//! - Rows of a transaction come between its `Begin` and `Commit`, streamed as read:
//!   a transaction is never buffered whole (memory is bounded by one binlog event).
//! - A transaction without rows of the project produces no `Begin`/`Commit`; its end
//!   may be reported as `Progress` (at most once per [`PROGRESS_INTERVAL`], and on
//!   server heartbeats) so checkpoints advance over unrelated traffic.
//! - `Commit.end`, `Ddl.end` and `Progress.position` are positions right after a
//!   transaction: starting a reader there continues with the next transaction.
//! - `CaughtUp` follows a server heartbeat sent where the cursor is (the server had
//!   nothing more to send), outside any transaction; owed `Progress` comes before it.
//! - After [`Assembler::rewind`] (a dropped connection) the stream re-opened where it
//!   says continues without losing or repeating anything already returned.
//! - A MySQL transaction whose GTID is already in the executed set is never returned
//!   again, whatever the server sends.

use super::ddl::{classify, DdlScope, QueryKind, XaVerb};
use super::error::BinlogError;
use super::gtid::{GtidSet, GtidState, SourceId};
use super::heartbeat::{self, Beat};
use super::mariadb_events as maria;
use super::payload::PayloadDue;
use super::reader::TableFilter;
use super::rows::decode_rows;
use super::schema_cache::{MapOutcome, SchemaCache};
use super::stream::{DumpFrom, DumpMode};
use mysql_common::binlog::consts::{BinlogChecksumAlg, EventFlags, EventType};
use mysql_common::binlog::events::{
    Event, EventData, GtidEvent as MyGtidEvent, QueryEvent, RotateEvent, RowsEventData,
    TableMapEvent,
};
use obsync_model::{
    BinlogCoord, Change, ChangeOrigin, Gtid, LogPosition, RowChange, RowEvent, SourceEvent,
    TableId, TableMeta, TxnInfo,
};
use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Minimum time between two `Progress` events for skipped transactions: often enough
/// for checkpoints, rare enough not to flood the pipeline with no-op events.
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(1);

/// What [`Assembler::push`] needs next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    /// The event is handled; its output (if any) waits in [`Assembler::pop`].
    Done,
    /// A table map names a project table whose metadata is not known (or no longer
    /// fits): read it, give it to [`Assembler::provide_table`] and push the same event
    /// again.
    NeedsTable(TableId),
}

/// Where the assembler starts: the dump as first opened and the GTID state there.
#[derive(Debug, Clone)]
pub(crate) struct AssemblyStart {
    pub from: DumpFrom,
    /// The cursor before the first event: the start coordinate when known.
    pub coord: BinlogCoord,
    pub gtid: GtidState,
    /// Transactions that began before this Unix time are read but not returned.
    pub skip_before: Option<u32>,
}

/// A transaction being read.
struct OpenTxn {
    info: Arc<TxnInfo>,
    /// `Begin` has been queued (or was returned before a reconnect).
    begun: bool,
    /// Index of the next row of the project in this transaction.
    next_index: u32,
    /// Rows with a lower index were returned before a reconnect: not queued again.
    replayed_rows: u32,
    /// Not returned: it began before a start timestamp, or it was delivered already
    /// (its GTID is in the executed set).
    skipped: bool,
    gtid: Option<TxnGtid>,
}

/// A transaction's own GTID, applied to the GTID state at its end.
#[derive(Debug, Clone)]
enum TxnGtid {
    Maria(maria::MariaGtid),
    MySql { source: SourceId, gno: u64 },
}

impl fmt::Display for TxnGtid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TxnGtid::Maria(g) => write!(f, "{g}"),
            TxnGtid::MySql { source, gno } => write!(f, "{source}:{gno}"),
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
    /// Nothing returned yet: the original start.
    Start(AssemblyStart),
    /// Right after a returned `Commit`/`Ddl`/`Progress` (or the first transaction at/after
    /// a start timestamp).
    At(LogPosition),
}

/// The read cursor: the position after the last event read, and the GTID state after
/// the last transaction read.
struct Cursor {
    file: String,
    pos: u64,
    gtid: GtidState,
    fde_seen: bool,
    /// The name of the rotate sent before the first format description (its checksum,
    /// if any, still attached).
    fake_rotate_name: Option<Vec<u8>>,
    /// The stream moved to a new file since the dump began: the next file's
    /// previous-GTIDs set must hold everything read before it.
    rotated: bool,
}

/// Turns one connection's decoded events into [`SourceEvent`]s; see the module doc.
pub(crate) struct Assembler {
    filter: TableFilter,
    mode: DumpMode,
    mariadb: bool,
    schema: SchemaCache,
    cursor: Cursor,
    txn: Option<OpenTxn>,
    pending_gtid: Option<PendingGtid>,
    /// Events assembled but not yet returned; at most one binlog event's rows.
    out: VecDeque<SourceEvent>,
    seq: u64,
    skip_before: Option<u32>,
    progress_owed: Option<(LogPosition, u32)>,
    last_progress: Instant,
    // What the caller has been given.
    resume: Resume,
    delivered: Option<Delivered>,
    replay: Option<Delivered>,
    /// The current event's header `server_id` and, after a BEGIN query, its thread id
    /// (what Debezium-shaped formats report per transaction).
    event_server_id: u32,
    begin_thread: Option<u32>,
    /// A compressed transaction whose inner events are still due.
    payload: Option<PayloadDue>,
}

impl Assembler {
    pub fn new(
        start: AssemblyStart,
        mode: DumpMode,
        mariadb: bool,
        filter: TableFilter,
        known_tables: &[Arc<TableMeta>],
    ) -> Self {
        Self {
            filter,
            mode,
            mariadb,
            schema: SchemaCache::new(known_tables),
            cursor: Cursor {
                file: start.coord.file.clone(),
                pos: start.coord.pos,
                gtid: start.gtid.clone(),
                fde_seen: false,
                fake_rotate_name: None,
                rotated: false,
            },
            txn: None,
            pending_gtid: None,
            out: VecDeque::new(),
            seq: 0,
            skip_before: start.skip_before,
            progress_owed: None,
            last_progress: Instant::now(),
            resume: Resume::Start(start),
            delivered: None,
            replay: None,
            event_server_id: 0,
            begin_thread: None,
            payload: None,
        }
    }

    /// The next assembled event, if any; the caller has it from here on (it counts for
    /// [`Self::committed_position`] and for what a reconnect skips).
    pub fn pop(&mut self) -> Option<SourceEvent> {
        let ev = self.out.pop_front()?;
        match &ev {
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
            SourceEvent::CaughtUp => {}
        }
        Some(ev)
    }

    /// The position after the last returned event that ends a transaction: where a
    /// restarted reader continues.
    pub fn committed_position(&self) -> Option<&LogPosition> {
        match &self.resume {
            Resume::At(p) => Some(p),
            Resume::Start(..) => None,
        }
    }

    /// Where a reconnect continues, as a position (for error messages).
    pub fn resume_position(&self) -> LogPosition {
        match &self.resume {
            Resume::At(p) => p.clone(),
            Resume::Start(s) => LogPosition {
                coord: s.coord.clone(),
                gtid: s.gtid.render(),
            },
        }
    }

    /// The read cursor's coordinate.
    pub fn coord(&self) -> BinlogCoord {
        BinlogCoord::new(self.cursor.file.clone(), self.cursor.pos)
    }

    /// The GTID state after the last event read; after [`Self::rewind`], the state the
    /// re-opened dump continues after.
    pub fn gtid_state(&self) -> &GtidState {
        &self.cursor.gtid
    }

    /// The dump mode every (re)connect of this reader uses.
    pub fn mode(&self) -> DumpMode {
        self.mode
    }

    /// Forgets everything read past the last returned transaction end (the connection
    /// dropped) and says where to re-open the dump: in the same mode as the start, so a
    /// source that serves only one of them keeps working.
    pub fn rewind(&mut self) -> DumpFrom {
        self.out.clear();
        self.payload = None;
        self.txn = None;
        self.pending_gtid = None;
        self.progress_owed = None;
        self.cursor.fde_seen = false;
        self.cursor.fake_rotate_name = None;
        self.cursor.rotated = false;
        self.schema.clear_maps();
        self.replay = self.delivered.clone();
        match &self.resume {
            Resume::Start(s) => {
                self.cursor.file = s.coord.file.clone();
                self.cursor.pos = s.coord.pos;
                self.cursor.gtid = s.gtid.clone();
                s.from.clone()
            }
            Resume::At(p) => {
                self.cursor.file = p.coord.file.clone();
                self.cursor.pos = p.coord.pos;
                self.cursor.gtid = p
                    .gtid
                    .as_ref()
                    .and_then(|g| parse_state(self.mariadb, &g.0).ok())
                    .unwrap_or_default();
                dump_from(self.mode, self.mariadb, p, &self.cursor.gtid)
            }
        }
    }

    /// Table metadata read for a [`Step::NeedsTable`]; `None` when the table no longer
    /// exists at the source.
    pub fn provide_table(&mut self, id: TableId, meta: Option<TableMeta>) {
        self.schema.provide(id, meta);
    }

    /// Handles one event. On [`Step::NeedsTable`] nothing has changed but the cursor,
    /// so pushing the same event again after [`Self::provide_table`] is exact.
    ///
    /// A compressed transaction arrives as its payload event followed by its inner
    /// events (the driver decompresses it, see [`super::payload`]); they are counted
    /// here so that a payload the driver could not read stops the reader.
    pub fn push(&mut self, ev: &Event) -> Result<Step, BinlogError> {
        let h = ev.header();
        let inner = h.log_pos() == 0
            && !h.flags().contains(EventFlags::LOG_EVENT_ARTIFICIAL_F)
            && h.event_type_raw() != EventType::HEARTBEAT_EVENT as u8
            && h.event_type_raw() != heartbeat::V2;
        if let Some(due) = &self.payload {
            if !inner {
                return Err(self.malformed(due.incomplete()));
            }
        }
        let step = self.handle(ev)?;
        if inner && step == Step::Done {
            if let Some(due) = &mut self.payload {
                if due.inner(h.event_size() as u64) {
                    self.payload = None;
                }
            }
        }
        Ok(step)
    }

    fn handle(&mut self, ev: &Event) -> Result<Step, BinlogError> {
        let h = ev.header();
        let ty = h.event_type_raw();
        let real = h.log_pos() != 0 && !h.flags().contains(EventFlags::LOG_EVENT_ARTIFICIAL_F);
        // Where this event starts (for transaction starts); events inside a MySQL
        // transaction payload have no position of their own.
        let start = if real {
            BinlogCoord::new(
                self.cursor.file.clone(),
                (h.log_pos() as u64).saturating_sub(h.event_size() as u64),
            )
        } else {
            self.coord()
        };
        // Positions only grow within a file (a rotate resets them): the format
        // description and GTID list a server re-sends when a dump starts mid-file carry
        // their original, earlier positions and must not move the cursor back.
        let in_sequence = real && start.pos >= self.cursor.pos;
        let heartbeat = ty == EventType::HEARTBEAT_EVENT as u8 || ty == heartbeat::V2;
        if real && !heartbeat && h.log_pos() as u64 > self.cursor.pos {
            self.cursor.pos = h.log_pos() as u64;
        }
        let ts = h.timestamp();
        self.event_server_id = h.server_id();
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
        const PAYLOAD: u8 = EventType::TRANSACTION_PAYLOAD_EVENT as u8;
        match ty {
            ROTATE => self.on_rotate(ev)?,
            FDE => self.on_format_description(ev),
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
                self.cursor.gtid.add_mariadb_list(&list);
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
                let source = SourceId::new(g.sid(), g.tag().map(|t| t.as_str()));
                self.pending_gtid = Some(PendingGtid {
                    gtid: Some(TxnGtid::MySql {
                        source,
                        gno: g.gno(),
                    }),
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
                    let mut previous = GtidSet::default();
                    for s in p.sids() {
                        let id = SourceId::new(s.uuid(), s.tag().map(|t| t.as_str()));
                        previous.add_intervals(&id, s.intervals());
                    }
                    self.check_next_file(&previous)?;
                    self.cursor.gtid.add_previous(&previous);
                }
            }
            QUERY => self.on_query(ev, start, ts)?,
            XID => {
                let xid = match ev.read_data() {
                    Ok(Some(EventData::XidEvent(x))) => Some(x.xid),
                    _ => None,
                };
                self.end_txn(xid, ts);
            }
            TABLE_MAP => return self.on_table_map(ev),
            PAYLOAD => {
                self.payload = PayloadDue::read(ev, start).map_err(|r| self.malformed(r))?
            }
            HEARTBEAT => self.on_heartbeat(&heartbeat::v1(ev.data(), h.log_pos())),
            heartbeat::V2 => {
                let beat = heartbeat::v2(ev.data()).map_err(|r| self.malformed(r))?;
                self.on_heartbeat(&beat)
            }
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
        Ok(Step::Done)
    }

    fn malformed(&self, reason: impl Into<String>) -> BinlogError {
        BinlogError::Malformed {
            position: self.coord(),
            reason: reason.into(),
        }
    }

    fn log_position(&self) -> LogPosition {
        LogPosition {
            coord: self.coord(),
            gtid: self.cursor.gtid.render(),
        }
    }

    fn on_rotate(&mut self, ev: &Event) -> Result<(), BinlogError> {
        let r: RotateEvent<'_> = ev.read_event().map_err(|e| self.malformed(e.to_string()))?;
        if self.cursor.fde_seen {
            self.cursor.file = String::from_utf8_lossy(r.name_raw()).into_owned();
            self.cursor.rotated = true;
        } else {
            // The rotate sent before the first format description still carries its
            // checksum after the name: the format description says whether it has one.
            self.cursor.fake_rotate_name = Some(r.name_raw().to_vec());
        }
        self.cursor.pos = r.position();
        Ok(())
    }

    /// A file the stream rotated into starts with the server's executed set then
    /// (MySQL's `PREVIOUS_GTIDS`): it holds every transaction read before it, unless the
    /// log was reset or re-created under the open dump (e.g. the Binlog Service's
    /// binlog re-created with a new `SERVER UUID`), which is another history.
    fn check_next_file(&mut self, previous: &GtidSet) -> Result<(), BinlogError> {
        if !std::mem::take(&mut self.cursor.rotated) {
            return Ok(());
        }
        match &self.cursor.gtid {
            GtidState::MySql(read) if !read.is_subset_of(previous) => {
                Err(BinlogError::LineageChanged {
                    from: self.resume_position().to_string(),
                    detail: format!(
                        "{} starts with the executed GTID set {:?}, which lacks transactions read before it ({:?}): the binlog was reset or re-created while it was read",
                        self.cursor.file,
                        previous.render(),
                        read.render()
                    ),
                })
            }
            _ => Ok(()),
        }
    }

    fn on_format_description(&mut self, ev: &Event) {
        if let Some(mut name) = self.cursor.fake_rotate_name.take() {
            let crc = matches!(
                ev.footer().get_checksum_alg(),
                Ok(Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_CRC32))
            );
            if crc && name.len() > 4 {
                name.truncate(name.len() - 4);
            }
            self.cursor.file = String::from_utf8_lossy(&name).into_owned();
        }
        self.cursor.fde_seen = true;
    }

    fn on_query(&mut self, ev: &Event, start: BinlogCoord, ts: u32) -> Result<(), BinlogError> {
        let q: QueryEvent<'_> = ev.read_event().map_err(|e| self.malformed(e.to_string()))?;
        let schema = q.schema();
        let sql = q.query();
        match classify(&schema, &sql) {
            QueryKind::Begin | QueryKind::Xa(XaVerb::Start) => {
                if self.txn.is_none() {
                    self.begin_thread = Some(q.thread_id());
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

    /// True when `gtid` is a MySQL GTID the executed set already holds: the
    /// transaction was delivered before (a server answering a GTID set sends none of
    /// these; a file:pos dump from before a checkpoint could).
    fn already_executed(&self, gtid: &Option<TxnGtid>) -> bool {
        match (gtid, &self.cursor.gtid) {
            (Some(TxnGtid::MySql { source, gno }), GtidState::MySql(set)) => {
                set.contains(source, *gno)
            }
            _ => false,
        }
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
                    gtid: self.cursor.gtid.render(),
                });
            } else {
                skipped = true;
            }
        }
        if self.already_executed(&p.gtid) {
            tracing::debug!(start = %p.start, "transaction already delivered (its GTID is executed): skipped");
            skipped = true;
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
                    server_id: self.event_server_id,
                    thread: self.begin_thread.take(),
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
            Some(TxnGtid::Maria(g)) => self.cursor.gtid.apply_mariadb(g),
            Some(TxnGtid::MySql { source, gno }) => self.cursor.gtid.add_mysql(&source, gno),
            None => {}
        }
    }

    /// Whether no transaction is open or announced (what is waiting in the output, if
    /// anything, is whole).
    pub fn is_idle(&self) -> bool {
        self.txn.is_none() && self.pending_gtid.is_none()
    }

    /// Reports that the reader has read everything the server had (the I/O shell found
    /// the server's binlog ending at the cursor); ignored unless [`Self::is_idle`].
    pub fn caught_up(&mut self) {
        if self.is_idle() {
            self.out.push_back(SourceEvent::CaughtUp);
        }
    }

    /// A heartbeat: the server waits for new events at its (file, offset). Sent where
    /// the cursor is, it means the reader is caught up. One sent elsewhere (MySQL sends
    /// them while it skips events a GTID dump excludes) means only that the connection
    /// is alive. Its timestamp is ignored: OceanBase's Binlog Service repeats the last
    /// event's, so it says nothing about the time now (see [`heartbeat`]).
    fn on_heartbeat(&mut self, beat: &Beat) {
        self.flush_progress();
        let at_cursor = beat.pos == self.cursor.pos
            && (beat.file.is_empty() || beat.file == self.cursor.file.as_bytes());
        if at_cursor {
            self.caught_up();
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
        let filter = self.filter.clone();
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
        let delivered_before = self.already_executed(&gtid);
        self.apply_gtid(gtid);
        let end = self.log_position();
        if self.skip_before.is_some() || delivered_before {
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

    fn on_table_map(&mut self, ev: &Event) -> Result<Step, BinlogError> {
        let tme: TableMapEvent<'static> = ev
            .read_event::<TableMapEvent<'_>>()
            .map_err(|e| self.malformed(e.to_string()))?
            .into_owned();
        let id = TableId::new(tme.database_name(), tme.table_name());
        let in_project = (self.filter)(&id);
        let position = self.coord();
        match self
            .schema
            .map_table(tme.table_id(), tme, in_project, &position)?
        {
            MapOutcome::Mapped => Ok(Step::Done),
            MapOutcome::NeedsMetadata => Ok(Step::NeedsTable(id)),
        }
    }

    fn on_rows(
        &mut self,
        rows: RowsEventData<'_>,
        start: BinlogCoord,
        ts: u32,
    ) -> Result<(), BinlogError> {
        let table_id = rows.table_id();
        let event_pos = start.pos;
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
        for (row, change) in changes.into_iter().enumerate() {
            let event = RowEvent {
                pos: event_pos,
                row: row as u32,
            };
            self.emit_row(&meta, change, event);
        }
        Ok(())
    }

    fn emit_row(&mut self, meta: &Arc<TableMeta>, row: RowChange, event: RowEvent) {
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
                event,
            },
        }));
    }
}

/// Parses a GTID state in the server's spelling.
pub(crate) fn parse_state(mariadb: bool, s: &str) -> Result<GtidState, BinlogError> {
    let parsed = if mariadb {
        GtidState::parse_mariadb(s)
    } else {
        GtidState::parse_mysql(s)
    };
    parsed.map_err(|reason| BinlogError::InvalidOptions { reason })
}

/// Where a dump in `mode` continues right after position `p` (whose parsed GTID state
/// is `gtid`). A position without GTID state can only be continued by file and offset.
pub(crate) fn dump_from(
    mode: DumpMode,
    mariadb: bool,
    p: &LogPosition,
    gtid: &GtidState,
) -> DumpFrom {
    match (mode, gtid) {
        (DumpMode::Gtid, GtidState::MySql(set)) if !mariadb => DumpFrom::MySqlGtid(set.clone()),
        (DumpMode::Gtid, GtidState::MariaDb(_)) if mariadb => {
            DumpFrom::MariaGtid(p.gtid.as_ref().map(|g| g.0.clone()).unwrap_or_default())
        }
        _ => DumpFrom::Coord(p.coord.clone()),
    }
}

#[cfg(test)]
#[path = "assembler_tests.rs"]
mod tests;
