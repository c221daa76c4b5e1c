//! [`BinlogReader`]: the I/O shell around the [`Assembler`]. It opens the dump
//! (choosing how it is positioned), reads events, reads table metadata the assembler
//! asks for, and re-opens the dump after a dropped or silent connection, in the same
//! mode as the start. What the stream contains, and what a reconnect repeats (nothing),
//! is the assembler's contract: see [`super::assembler`].

use super::assembler::{dump_from, parse_state, Assembler, AssemblyStart, Step};
use super::error::BinlogError;
use super::gtid::GtidState;
use super::stream::{self, DumpFrom, DumpMode};
use super::timestamp_start;
use crate::endpoint::SourceEndpoint;
use crate::metadata::{server_info, MetadataError, MetadataReader, ServerInfo};
use crate::{SourceFlavor, SqlError};
use futures::StreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{BinlogStream, Conn};
use mysql_common::binlog::events::Event;
use obsync_model::{BinlogCoord, ErrorChain, Gtid, LogPosition, SourceEvent, TableId, TableMeta};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use super::assembler::PROGRESS_INTERVAL;

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

/// How the reader positions its dumps; every reconnect uses the same mode as the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Positioning {
    /// By GTID set (`COM_BINLOG_DUMP_GTID`) on a MySQL-flavoured source with
    /// `gtid_mode=ON` (MySQL, OceanBase's Binlog Service); by file and offset elsewhere
    /// (MariaDB, GTIDs off) and for a start time, which is found by file.
    #[default]
    Auto,
    /// Always by GTID: MySQL `COM_BINLOG_DUMP_GTID`, MariaDB `@slave_connect_state`.
    /// For sources that serve only GTID auto-positioning.
    Gtid,
    /// Always by file and offset (`COM_BINLOG_DUMP`), e.g. behind a proxy that does not
    /// serve GTID dumps.
    FilePosition,
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
    pub positioning: Positioning,
    /// A connection without any event (not even a heartbeat) for this long is re-opened
    /// in the same mode; `None`: three heartbeat periods. Sources that send no
    /// heartbeat while idle are re-opened this often, which is harmless.
    pub silence: Option<Duration>,
    /// Told about the reader's own reconnect attempts: `Some(problem)` when one fails,
    /// `None` once the connection is open again, so a status can show the retries
    /// while they happen.
    pub on_retry: Option<RetryNotice>,
    /// The identity of the server `start` was read from ([`BinlogReader::source_server`]
    /// of the run that saved it), when known. Another server is accepted only for a
    /// dump by GTID whose set it holds (a failover within one history); a dump by file
    /// and offset is refused with [`BinlogError::ServerChanged`].
    pub source_server: Option<String>,
}

/// See [`BinlogOptions::on_retry`].
pub type RetryNotice = Arc<dyn Fn(Option<String>) + Send + Sync>;

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
            positioning: Positioning::Auto,
            silence: None,
            on_retry: None,
            source_server: None,
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
            .field("positioning", &self.positioning)
            .field("source_server", &self.source_server)
            .finish_non_exhaustive()
    }
}

/// Reads the binlog of one source as a stream of [`SourceEvent`]s; see the module doc
/// for the stream's contract.
pub struct BinlogReader {
    endpoint: SourceEndpoint,
    opts: BinlogOptions,
    mariadb: bool,
    stream: Option<BinlogStream>,
    /// Where the open dump started (for error messages).
    opened_from: DumpFrom,
    assembler: Assembler,
    metadata: MetadataReader,
    /// An event whose handling awaits metadata (kept here so a cancelled `next` redoes it).
    held: Option<Event>,
    attempts: u32,
    last_error: String,
    /// Since the last event: the server's refusals of dumps from a position it still
    /// has (see [`stream::is_passing_refusal`]), retried within the reconnect policy.
    refusals: Option<Refusals>,
    reconnects: u64,
    /// The identity of the server the open (or last) connection reads from.
    server: Option<String>,
    /// Where the server's binlog ended when last asked while events flowed, and when.
    end_probe: EndProbe,
}

/// How a reader learns it is caught up on a busy change log. A server sends heartbeats
/// only while it has nothing to send, and a log that other tables keep busy never falls
/// silent, so neither sign comes. Every [`EndProbe::EVERY`] while events flow the reader
/// asks where the server's binlog ends (`SHOW MASTER STATUS`); reaching that end within
/// [`EndProbe::FRESH`] of asking means everything written up to then was read, which is
/// "caught up" as truly as a heartbeat says it. No event timestamp is used: a session's
/// `SET TIMESTAMP` cannot fake it.
struct EndProbe {
    asked: Instant,
    end: Option<BinlogCoord>,
}

impl EndProbe {
    const EVERY: Duration = Duration::from_secs(10);
    const FRESH: Duration = Duration::from_secs(2);

    fn new() -> Self {
        Self {
            asked: Instant::now(),
            end: None,
        }
    }

    fn due(&self) -> bool {
        self.end.is_none() && self.asked.elapsed() >= Self::EVERY
    }

    fn asked(&mut self, end: Option<BinlogCoord>) {
        self.asked = Instant::now();
        self.end = end;
    }

    /// Whether the cursor, outside a transaction, has just reached a fresh end; the
    /// probe is spent once the cursor passes its end, fresh or not.
    fn reached(&mut self, cursor: &BinlogCoord) -> bool {
        match &self.end {
            Some(end) if cursor >= end => {
                self.end = None;
                self.asked.elapsed() <= Self::FRESH
            }
            _ => false,
        }
    }
}

impl fmt::Debug for BinlogReader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BinlogReader")
            .field("endpoint", &self.endpoint)
            .field("server_id", &self.opts.server_id)
            .field("mode", &self.assembler.mode())
            .field("position", &self.assembler.coord())
            .finish_non_exhaustive()
    }
}

/// A start resolved against the server: how dumps are positioned and where the first
/// one starts.
pub(crate) struct ResolvedStart {
    pub mode: DumpMode,
    pub start: AssemblyStart,
}

impl BinlogReader {
    /// Connects, resolves the start position and opens the dump.
    pub async fn start(endpoint: SourceEndpoint, opts: BinlogOptions) -> Result<Self, BinlogError> {
        let (info, resolved) = resolve(&endpoint, &opts).await?;
        let mariadb = info.flavor == SourceFlavor::MariaDb;
        let from = resolved.start.from.clone();
        let lineage = stream::Lineage {
            server: opts.source_server.as_deref(),
            state: &resolved.start.gtid,
        };
        let (stream, server) = stream::open(
            &endpoint,
            mariadb,
            opts.server_id,
            &from,
            lineage,
            opts.heartbeat,
            false,
        )
        .await?;
        let server = server.or_else(|| opts.source_server.clone());
        tracing::info!(source = %endpoint.address(), start = %from, mode = %resolved.mode, server_id = opts.server_id, source_server = ?server, "binlog reader started");
        Ok(Self {
            assembler: Assembler::new(
                resolved.start,
                resolved.mode,
                mariadb,
                opts.filter.clone(),
                &opts.known_tables,
            ),
            metadata: MetadataReader::for_server(&endpoint, info),
            endpoint,
            opts,
            mariadb,
            stream: Some(stream),
            opened_from: from,
            held: None,
            attempts: 0,
            last_error: String::new(),
            refusals: None,
            reconnects: 0,
            end_probe: EndProbe::new(),
            server,
        })
    }

    /// Opens the change log exactly as [`Self::start`] would with `opts` (same
    /// positioning, same position or GTID set) and reads its first event, then closes
    /// it. Uses a throwaway replica id so a running reader with `opts.server_id` is not
    /// disconnected. A passed probe means the server accepts this reader's dump.
    pub async fn probe(
        endpoint: &SourceEndpoint,
        opts: &BinlogOptions,
    ) -> Result<ProbeReport, BinlogError> {
        let (info, resolved) = resolve(endpoint, opts).await?;
        let mariadb = info.flavor == SourceFlavor::MariaDb;
        let from = resolved.start.from;
        let lineage = stream::Lineage {
            server: opts.source_server.as_deref(),
            state: &resolved.start.gtid,
        };
        let (mut s, _) = stream::open(
            endpoint,
            mariadb,
            timestamp_start::probe_server_id(),
            &from,
            lineage,
            opts.heartbeat,
            false,
        )
        .await?;
        let first = tokio::time::timeout(PROBE_TIMEOUT, s.next()).await;
        let _ = s.close().await;
        match first {
            Ok(Some(Ok(_))) => Ok(ProbeReport {
                mode: resolved.mode.to_string(),
                from: from.to_string(),
            }),
            Ok(Some(Err(source))) => Err(stream::refusal(&from, None, source)),
            Ok(None) => Err(stream::refusal(
                &from,
                None,
                mysql_async::Error::from(mysql_async::DriverError::ConnectionClosed),
            )),
            Err(_) => Err(BinlogError::Malformed {
                position: resolved.start.coord,
                reason: format!(
                    "the source sent no binlog event within {PROBE_TIMEOUT:?} of the dump request"
                ),
            }),
        }
    }

    /// The next event. Waits for the server when the binlog has no more.
    ///
    /// Cancel-safe: dropping the returned future loses no event (an interrupted
    /// metadata read or reconnect is redone by the next call).
    pub async fn next(&mut self) -> Result<SourceEvent, BinlogError> {
        loop {
            if let Some(ev) = self.assembler.pop() {
                return Ok(ev);
            }
            let event = match self.held.take() {
                Some(e) => e,
                None => match self.read_event().await? {
                    Some(e) => e,
                    // A silence was handled; the assembler may have news (`CaughtUp`).
                    None => continue,
                },
            };
            match self.assembler.push(&event)? {
                Step::Done => {
                    if self.assembler.is_idle() {
                        self.probe_end().await;
                    }
                }
                Step::NeedsTable(id) => {
                    self.held = Some(event);
                    let meta = self.table_meta(&id).await?;
                    self.assembler.provide_table(id, meta);
                }
            }
        }
    }

    /// Between transactions of a busy log: asks where the server's binlog ends when
    /// due, and reports `CaughtUp` when the cursor reaches a fresh answer ([`EndProbe`]).
    async fn probe_end(&mut self) {
        let cursor = self.assembler.coord();
        if self.end_probe.reached(&cursor) {
            self.assembler.caught_up();
        } else if self.end_probe.due() {
            let end = self.server_end().await;
            self.end_probe.asked(end);
            if self.end_probe.reached(&cursor) {
                self.assembler.caught_up();
            }
        }
    }

    /// The position after the last event returned by [`Self::next`] that ends a
    /// transaction: where a restarted reader continues.
    pub fn committed_position(&self) -> Option<&LogPosition> {
        self.assembler.committed_position()
    }

    /// The identity of the server the reader reads from (`@@server_uuid`; MariaDB:
    /// `server_id:N`), to keep with the positions it returns and hand back as
    /// [`BinlogOptions::source_server`] on the next start; `None` when the server has
    /// none.
    pub fn source_server(&self) -> Option<&str> {
        self.server.as_deref()
    }

    /// The read cursor: the position after the last event read from the connection
    /// (where the shared stream's new tables begin to be decoded, see [`super::shared`]).
    pub(crate) fn read_coord(&self) -> BinlogCoord {
        self.assembler.coord()
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

    /// Today's metadata of `id`; `None` when the table no longer exists.
    async fn table_meta(&self, id: &TableId) -> Result<Option<TableMeta>, BinlogError> {
        match self.metadata.table_meta(id).await {
            Ok(m) => Ok(Some(m)),
            Err(MetadataError::TableNotFound { .. }) => Ok(None),
            Err(source) => Err(BinlogError::Metadata {
                table: id.clone(),
                position: self.assembler.coord(),
                source: Box::new(source),
            }),
        }
    }

    /// The next event from the server; `None` after a silence (the connection was
    /// dropped, to be re-opened by the next call, and the assembler told whether the
    /// reader is caught up).
    async fn read_event(&mut self) -> Result<Option<Event>, BinlogError> {
        let idle = self.opts.silence.unwrap_or(self.opts.heartbeat * 3);
        loop {
            if self.stream.is_none() {
                self.reopen().await?;
            }
            let stream = self.stream.as_mut().expect("just opened");
            let problem = match tokio::time::timeout(idle, stream.next()).await {
                Ok(Some(Ok(ev))) => {
                    // Events flow again: the next failure starts a fresh retry budget.
                    self.attempts = 0;
                    self.refusals = None;
                    return Ok(Some(ev));
                }
                Ok(Some(Err(e))) if stream::is_transient(&e) => SqlError::from(e).to_string(),
                Ok(Some(Err(e))) if stream::is_passing_refusal(&e) => {
                    let source = SqlError::from(e);
                    let problem = format!("the source refused the dump: {source}");
                    let r = self.refusals.get_or_insert_with(|| Refusals {
                        first: std::time::Instant::now(),
                        count: 0,
                        last: None,
                    });
                    r.count += 1;
                    r.last = Some(source);
                    problem
                }
                Ok(Some(Err(source))) => {
                    return Err(stream::refusal(
                        &self.opened_from,
                        Some(&self.assembler.coord()),
                        source,
                    ))
                }
                Ok(None) => "the server ended the binlog stream".to_string(),
                Err(_) => {
                    // Some servers send no heartbeat while idle: silence alone is not
                    // an error, so re-open (same mode) and keep waiting. Whether the
                    // reader is caught up is then asked of the server: its binlog ends
                    // where the reader is.
                    let caught_up = self.assembler.is_idle() && self.at_server_end().await;
                    tracing::info!(position = %self.assembler.coord(), silent_for = ?idle, caught_up, "no binlog event or heartbeat; re-opening the dump");
                    self.last_error = format!("no event or heartbeat for {idle:?}");
                    self.drop_connection();
                    if caught_up {
                        self.assembler.caught_up();
                    }
                    return Ok(None);
                }
            };
            tracing::warn!(position = %self.assembler.coord(), problem = %problem, "binlog connection lost; resuming");
            self.last_error = problem;
            self.drop_connection();
        }
    }

    /// Whether the server's binlog ends at the read cursor; `false` when that cannot be
    /// told.
    async fn at_server_end(&self) -> bool {
        self.server_end().await == Some(self.assembler.coord())
    }

    /// Where the server's binlog ends now (a fresh connection asks `SHOW MASTER
    /// STATUS`); `None` when that cannot be told.
    async fn server_end(&self) -> Option<BinlogCoord> {
        let info = self.metadata.server_info().await.ok()?;
        let mut conn = self.endpoint.connect().await.ok()?;
        let end = crate::position::current_position(&mut conn, &info).await;
        let _ = conn.disconnect().await;
        end.ok().map(|p| p.coord)
    }

    fn drop_connection(&mut self) {
        self.stream = None;
        self.held = None;
        self.opened_from = self.assembler.rewind();
    }

    async fn reopen(&mut self) -> Result<(), BinlogError> {
        let from = self.opened_from.clone();
        loop {
            self.attempts += 1;
            if self.attempts > self.opts.reconnect.max_attempts {
                // Refused all along by a server that has the position: final, with the
                // server's own words.
                if let Some(Refusals {
                    first,
                    count,
                    last: Some(source),
                }) = self.refusals.take()
                {
                    return Err(BinlogError::Refused {
                        from: from.to_string(),
                        attempts: count,
                        secs: first.elapsed().as_secs(),
                        source,
                    });
                }
                return Err(BinlogError::ReconnectExhausted {
                    position: self.assembler.resume_position(),
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
            // A reconnect may reach another server (a failover behind one address):
            // judged like a start, against the server the positions were read from.
            let lineage = stream::Lineage {
                server: self.server.as_deref(),
                state: self.assembler.gtid_state(),
            };
            match stream::open(
                &self.endpoint,
                self.mariadb,
                self.opts.server_id,
                &from,
                lineage,
                self.opts.heartbeat,
                false,
            )
            .await
            {
                Ok((s, server)) => {
                    if server.is_some() {
                        self.server = server;
                    }
                    tracing::info!(start = %from, mode = %self.assembler.mode(), attempt = self.attempts, "binlog connection re-opened");
                    if let Some(notice) = &self.opts.on_retry {
                        notice(None);
                    }
                    self.reconnects += 1;
                    self.stream = Some(s);
                    return Ok(());
                }
                Err(e) if stream::is_transient_error(&e) => {
                    tracing::warn!(attempt = self.attempts, error = %ErrorChain(&e), "re-opening the binlog connection failed");
                    self.last_error = ErrorChain(&e).to_string();
                    if let Some(notice) = &self.opts.on_retry {
                        notice(Some(format!(
                            "re-opening the binlog connection failed {} times: {}",
                            self.attempts, self.last_error
                        )));
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Refusals of dumps from a position the source still has, since the last event.
#[derive(Debug)]
struct Refusals {
    first: std::time::Instant,
    count: u32,
    last: Option<SqlError>,
}

/// What a passed [`BinlogReader::probe`] opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    /// How the dump was positioned (`GTID auto-positioning`, `file and position`).
    pub mode: String,
    /// Where it started: a file:offset or the GTID set sent.
    pub from: String,
}

/// How long a probe waits for the first event: a server sends its rotate and format
/// description at once.
const PROBE_TIMEOUT: Duration = Duration::from_secs(30);

/// Identifies the server once and turns `opts.start` into the first dump and the
/// positioning every later dump uses.
pub(crate) async fn resolve(
    endpoint: &SourceEndpoint,
    opts: &BinlogOptions,
) -> Result<(ServerInfo, ResolvedStart), BinlogError> {
    if opts.server_id == 0 {
        return Err(BinlogError::InvalidOptions {
            reason: "server_id 0 is reserved: choose a replica id unique on the source".into(),
        });
    }
    let mut conn = endpoint.connect().await?;
    let info = server_info(&mut conn).await.map_err(identify_error)?;
    let resolved = resolve_on(&mut conn, endpoint, &info, opts).await;
    // Best effort: a failed goodbye leaves only a server log line.
    let _ = conn.disconnect().await;
    Ok((info, resolved?))
}

async fn resolve_on(
    conn: &mut Conn,
    endpoint: &SourceEndpoint,
    info: &ServerInfo,
    opts: &BinlogOptions,
) -> Result<ResolvedStart, BinlogError> {
    let mariadb = info.flavor == SourceFlavor::MariaDb;
    let mode = choose_mode(opts.positioning, info, &opts.start)?;
    let at_position = |p: LogPosition, gtid: GtidState| {
        let from = dump_from(mode, mariadb, &p, &gtid);
        ResolvedStart {
            mode: match (&from, mode) {
                // A position without a GTID set can only be continued by file.
                (DumpFrom::Coord(_), DumpMode::Gtid) => DumpMode::FilePos,
                _ => mode,
            },
            start: AssemblyStart {
                from,
                coord: p.coord,
                gtid,
                skip_before: None,
            },
        }
    };
    let resolved = match &opts.start {
        StartFrom::Position(p) => {
            let gtid = match &p.gtid {
                Some(g) => parse_state(mariadb, &g.0)?,
                None => gtid_at(conn, mariadb, &p.coord).await?,
            };
            at_position(p.clone(), gtid)
        }
        StartFrom::Current => {
            let p = crate::position::current_position(conn, info).await?;
            let gtid = match &p.gtid {
                Some(g) => parse_state(mariadb, &g.0)?,
                None => gtid_at(conn, mariadb, &p.coord).await?,
            };
            at_position(p, gtid)
        }
        StartFrom::Gtid(g) => {
            let state = parse_state(mariadb, &g.0)?;
            let from = match &state {
                GtidState::MySql(set) => DumpFrom::MySqlGtid(set.clone()),
                _ => DumpFrom::MariaGtid(g.0.clone()),
            };
            ResolvedStart {
                mode,
                start: AssemblyStart {
                    from,
                    coord: BinlogCoord::new("", 4),
                    gtid: state,
                    skip_before: None,
                },
            }
        }
        StartFrom::Timestamp(t) => {
            let file = timestamp_start::file_for_timestamp(endpoint, mariadb, *t).await?;
            // The file's GTID list / previous-GTIDs event seeds the state.
            let coord = BinlogCoord::new(file, 4);
            ResolvedStart {
                mode,
                start: AssemblyStart {
                    from: DumpFrom::Coord(coord.clone()),
                    coord,
                    gtid: GtidState::Unknown,
                    skip_before: Some(*t),
                },
            }
        }
    };
    if resolved.mode != mode {
        if opts.positioning == Positioning::Gtid {
            return Err(BinlogError::InvalidOptions {
                reason: format!("binlog_positioning = \"gtid\" needs a GTID set to start from, and the start position {} has none (it was saved while GTIDs were off): set binlog_positioning = \"auto\" for this run, or restart the project from a snapshot", resolved.start.coord),
            });
        }
        tracing::info!(start = %resolved.start.coord, "the start position has no GTID set: positioning by file and offset");
    }
    Ok(resolved)
}

/// The positioning for `choice` on this server: see [`Positioning`].
fn choose_mode(
    choice: Positioning,
    info: &ServerInfo,
    start: &StartFrom,
) -> Result<DumpMode, BinlogError> {
    let mariadb = info.flavor == SourceFlavor::MariaDb;
    let timestamp = matches!(start, StartFrom::Timestamp(_));
    match choice {
        Positioning::FilePosition => Ok(DumpMode::FilePos),
        Positioning::Auto if !mariadb && info.gtid_mode && !timestamp => Ok(DumpMode::Gtid),
        Positioning::Auto => Ok(DumpMode::FilePos),
        Positioning::Gtid if !mariadb && !info.gtid_mode => Err(BinlogError::InvalidOptions {
            reason: format!("binlog_positioning = \"gtid\" needs gtid_mode=ON on the source, and {} reports it off: enable GTIDs (gtid_mode=ON, enforce_gtid_consistency=ON) or set binlog_positioning = \"auto\"", info.version),
        }),
        Positioning::Gtid if timestamp => Err(BinlogError::InvalidOptions {
            reason: "not supported yet: a start time with binlog_positioning = \"gtid\" (the start file is found by file and offset); set binlog_positioning = \"auto\", or start from a snapshot".into(),
        }),
        Positioning::Gtid => Ok(DumpMode::Gtid),
    }
}

fn identify_error(e: MetadataError) -> BinlogError {
    match e {
        MetadataError::Connect(c) => BinlogError::Connect(c),
        MetadataError::Query { what, source } => BinlogError::Query { what, source },
        other => BinlogError::InvalidOptions {
            reason: other.to_string(),
        },
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn server(flavor: SourceFlavor, gtid_mode: bool) -> ServerInfo {
        ServerInfo {
            version: "8.0.31".into(),
            flavor,
            ob_version: None,
            gtid_mode,
            time_zone: None,
        }
    }

    #[test]
    fn gtid_positioning_is_chosen_where_the_source_has_gtid_mode_on() {
        use Positioning::*;
        use SourceFlavor::*;
        let now = StartFrom::Current;
        let mode = |p, info: &ServerInfo, start: &StartFrom| choose_mode(p, info, start).ok();
        assert_eq!(mode(Auto, &server(MySql, true), &now), Some(DumpMode::Gtid));
        assert_eq!(
            mode(Auto, &server(OceanBase, true), &now),
            Some(DumpMode::Gtid)
        );
        assert_eq!(
            mode(Auto, &server(MySql, false), &now),
            Some(DumpMode::FilePos)
        );
        assert_eq!(
            mode(Auto, &server(MariaDb, false), &now),
            Some(DumpMode::FilePos)
        );
        // A start time is found by file, so it starts (and stays) by file.
        let at = StartFrom::Timestamp(1);
        assert_eq!(
            mode(Auto, &server(MySql, true), &at),
            Some(DumpMode::FilePos)
        );
        assert_eq!(
            mode(FilePosition, &server(MySql, true), &now),
            Some(DumpMode::FilePos)
        );
        assert_eq!(
            mode(Gtid, &server(MariaDb, false), &now),
            Some(DumpMode::Gtid)
        );
        // Forcing GTIDs where they are off, or with a start time, says why.
        assert!(matches!(
            choose_mode(Gtid, &server(MySql, false), &now),
            Err(BinlogError::InvalidOptions { reason }) if reason.contains("gtid_mode=ON")
        ));
        assert!(choose_mode(Gtid, &server(MySql, true), &at).is_err());
    }
}
