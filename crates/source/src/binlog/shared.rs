//! One binlog dump per source endpoint, fanned out to every project streaming from it.
//!
//! A MySQL/MariaDB dump is a thread on the source (OceanBase's Binlog Service allows 128
//! of them), so a server with hundreds of projects on one source reads its change log
//! once: a [`Stream`] owns one [`BinlogReader`] whose table filter is the union of its
//! members' tables, and hands each attached member the events of its own tables through
//! a bounded queue. Projects consume it through [`super::feed::ChangeFeed`], which also
//! runs a project's own dump while it cannot use the shared one.
//!
//! The rules, each decided here under one lock so that no event is lost or repeated:
//! - **Key.** Streams are shared between feeds whose connection settings are identical
//!   (flavor, host, port, user, password, TLS) and whose dumps are positioned alike
//!   ([`StreamKey`]); the server's identity is compared at every join.
//! - **Coverage.** The filter reads the union at each table map. The task changes the
//!   union only between two reads and outside a transaction it has handed out (the
//!   reader's replay of a transaction after a reconnect counts its rows with the filter
//!   it was read with), so a member's tables are decoded for every transaction that
//!   begins after the reader's cursor at that moment (`covered_from`).
//! - **Join.** A member at transaction end `E` (its start, or a boundary its own dump
//!   returned) attaches when `E` is at or after the last transaction end the stream
//!   handed out and after `covered_from`, no transaction that begins at or after `E` is
//!   half handed out, and the stream reads the server the member's positions belong
//!   to. It then skips every event at or before `E` (a transaction that began before
//!   `E` ended at or before it: binlog transactions do not interleave).
//! - **Lag.** A member whose queue is full is detached at once (the stream never waits
//!   for it) and keeps its registration, so its tables stay in the filter and it can
//!   attach again by the join rule once its own dump has caught up.
//! - **Errors.** A dropped connection is retried inside the reader for everyone. Any
//!   error that ends the reader ends the stream: every member falls back to its own
//!   dump, where an error caused by one project's tables stops that project only.
//! - **Lifetime.** The stream ends when its last member leaves; its dump closes then.

use super::error::BinlogError;
use super::reader::{BinlogOptions, BinlogReader, Positioning, RetryNotice, PROGRESS_INTERVAL};
use crate::endpoint::{SourceEndpoint, SourceFlavor};
use crate::tls::SourceTls;
use crate::usage;
use obsync_model::{BinlogCoord, ErrorChain, LogPosition, SourceEvent, TableId, TxnInfo};
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock, Weak};
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch, Notify};

/// What makes two feeds' dumps interchangeable. Holds the password, so it is never
/// logged.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct StreamKey {
    flavor: SourceFlavor,
    host: String,
    port: u16,
    user: String,
    password: String,
    tls: SourceTls,
    positioning: Positioning,
    heartbeat: Duration,
}

impl StreamKey {
    pub(crate) fn new(endpoint: &SourceEndpoint, opts: &BinlogOptions) -> Self {
        Self {
            flavor: endpoint.flavor,
            host: endpoint.host.clone(),
            port: endpoint.port,
            user: endpoint.user.clone(),
            password: endpoint.password.clone(),
            tls: endpoint.tls.clone(),
            positioning: opts.positioning,
            heartbeat: opts.heartbeat,
        }
    }
}

/// One place per key where its live stream is found; the async lock makes projects
/// starting together open one stream.
pub(crate) struct Slot {
    key: StreamKey,
    pub(crate) current: tokio::sync::Mutex<Weak<Stream>>,
}

static SLOTS: Mutex<Vec<Arc<Slot>>> = Mutex::new(Vec::new());

/// The slot of `key` (created on first use).
pub(crate) fn slot(key: &StreamKey) -> Arc<Slot> {
    let mut slots = SLOTS.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(s) = slots.iter().find(|s| s.key == *key) {
        return s.clone();
    }
    let s = Arc::new(Slot {
        key: key.clone(),
        current: tokio::sync::Mutex::new(Weak::new()),
    });
    slots.push(s.clone());
    s
}

/// Live shared streams on the source at `address` (`host:port`) and the members
/// attached to them, for metrics and tests.
pub fn streams_on(address: &str) -> (usize, usize) {
    let slots = SLOTS.lock().unwrap_or_else(|p| p.into_inner());
    let mut streams = 0;
    let mut attached = 0;
    for s in slots.iter() {
        if format!("{}:{}", s.key.host, s.key.port) != address {
            continue;
        }
        let Ok(current) = s.current.try_lock() else {
            continue;
        };
        if let Some(stream) = current.upgrade().filter(|s| !s.is_ended()) {
            streams += 1;
            attached += stream.attached();
        }
    }
    (streams, attached)
}

/// A shared dump and its members.
pub(crate) struct Stream {
    state: Mutex<State>,
    union: Arc<RwLock<HashSet<TableId>>>,
    /// Wakes the task: a member came (its tables need a coverage stamp) or left.
    wake: Notify,
    /// The registration version the task has stamped `covered_from` for.
    stamped: watch::Sender<u64>,
    /// The members' notices of the shared reader's reconnect attempts, by member id.
    notices: Notices,
    /// Times the shared reader re-opened its connection.
    reconnects: AtomicU64,
}

type Notices = Arc<Mutex<HashMap<u64, RetryNotice>>>;

struct State {
    members: HashMap<u64, Member>,
    next_id: u64,
    /// Registrations so far; members whose version the task has stamped are covered.
    version: u64,
    /// Members came or left since the task last set the union.
    dirty: bool,
    /// The last transaction end handed out (the start before the first).
    at: BinlogCoord,
    /// The start of the transaction being handed out, if one is open.
    open: Option<BinlogCoord>,
    server: Option<String>,
    /// Why the stream ended, once it has.
    ended: Option<String>,
}

struct Member {
    tables: Arc<HashSet<TableId>>,
    version: u64,
    covered_from: Option<BinlogCoord>,
    attached: Option<Attached>,
    /// Why the member was last detached.
    detached: Option<String>,
}

/// An attached member's queue and where it is in the stream.
struct Attached {
    tx: mpsc::Sender<SourceEvent>,
    capacity: usize,
    /// Events at or before this position were delivered by the member's own dump.
    skip_until: Option<BinlogCoord>,
    txn: Option<MemberTxn>,
    owed: Option<(LogPosition, u32)>,
    last_progress: Instant,
}

struct MemberTxn {
    info: Arc<TxnInfo>,
    begun: bool,
    skipped: bool,
}

fn lock(m: &Mutex<State>) -> MutexGuard<'_, State> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Stream {
    /// Opens the dump at `opts.start` for a first member with `tables`, attached from
    /// there with a queue of `capacity` events; the caller stores the stream in its slot.
    pub(crate) async fn start(
        endpoint: &SourceEndpoint,
        opts: &BinlogOptions,
        at: &LogPosition,
        tables: Arc<HashSet<TableId>>,
        capacity: usize,
    ) -> Result<(Arc<Stream>, Membership, mpsc::Receiver<SourceEvent>), BinlogError> {
        let union = Arc::new(RwLock::new((*tables).clone()));
        let mut shared = opts.clone();
        let seen = union.clone();
        shared.filter =
            Arc::new(move |t: &TableId| seen.read().unwrap_or_else(|p| p.into_inner()).contains(t));
        // A replica id of its own: a member falling back to its own dump (with the
        // project's id) must not disconnect the shared one.
        shared.server_id = super::timestamp_start::probe_server_id();
        // Its retries are everyone's: each member's status shows them.
        let notices: Notices = Arc::default();
        if let Some(n) = &opts.on_retry {
            notices
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(1, n.clone());
        }
        let told = notices.clone();
        shared.on_retry = Some(Arc::new(move |problem: Option<String>| {
            let told = told.lock().unwrap_or_else(|p| p.into_inner());
            told.values().for_each(|n| n(problem.clone()));
        }));
        let reader = BinlogReader::start(endpoint.clone(), shared).await?;
        let server = reader
            .source_server()
            .map(str::to_string)
            .or_else(|| opts.source_server.clone());
        let (tx, rx) = mpsc::channel(capacity);
        let mut members = HashMap::new();
        members.insert(
            1,
            Member {
                tables: tables.clone(),
                version: 0,
                covered_from: Some(at.coord.clone()),
                attached: Some(Attached::new(tx, capacity, at.coord.clone())),
                detached: None,
            },
        );
        let stream = Arc::new(Stream {
            state: Mutex::new(State {
                members,
                next_id: 2,
                version: 0,
                dirty: false,
                at: at.coord.clone(),
                open: None,
                server,
                ended: None,
            }),
            union,
            wake: Notify::new(),
            stamped: watch::channel(0).0,
            notices,
            reconnects: AtomicU64::new(0),
        });
        let address = endpoint.address();
        tracing::info!(source = %address, start = %at.coord, "shared binlog stream started");
        tokio::spawn(run(stream.clone(), reader, address));
        let member = Membership {
            stream: stream.clone(),
            id: 1,
        };
        Ok((stream, member, rx))
    }

    pub(crate) fn is_ended(&self) -> bool {
        lock(&self.state).ended.is_some()
    }

    fn attached(&self) -> usize {
        lock(&self.state)
            .members
            .values()
            .filter(|m| m.attached.is_some())
            .count()
    }

    /// Registers a member with `tables` (not attached yet) and waits until the task has
    /// stamped where their coverage begins.
    pub(crate) async fn register(
        self: &Arc<Self>,
        tables: Arc<HashSet<TableId>>,
        notice: Option<RetryNotice>,
    ) -> Membership {
        let (id, version) = {
            let mut st = lock(&self.state);
            st.version += 1;
            st.dirty = true;
            let (id, version) = (st.next_id, st.version);
            st.next_id += 1;
            st.members.insert(
                id,
                Member {
                    tables: tables.clone(),
                    version,
                    covered_from: None,
                    attached: None,
                    detached: None,
                },
            );
            (id, version)
        };
        if let Some(n) = notice {
            self.notices
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(id, n);
        }
        // Made before waiting: a caller that stops waiting leaves the stream.
        let member = Membership {
            stream: self.clone(),
            id,
        };
        self.wake.notify_one();
        let mut stamped = self.stamped.subscribe();
        // The task stamps between two reads outside a transaction; an ended stream
        // never does (the join then fails and the feed goes on with its own dump).
        let _ =
            tokio::time::timeout(Duration::from_secs(5), stamped.wait_for(|v| *v >= version)).await;
        member
    }

    /// Hands `ev` to every attached member, detaching those whose queue is full.
    fn dispatch(&self, ev: &SourceEvent, address: &str) {
        let mut st = lock(&self.state);
        match ev {
            SourceEvent::Begin(t) => st.open = Some(t.start.clone()),
            SourceEvent::Commit { end, .. } | SourceEvent::Ddl { end, .. } => {
                st.open = None;
                st.at = end.coord.clone();
            }
            SourceEvent::Progress { position, .. } => st.at = position.coord.clone(),
            SourceEvent::Row(_) | SourceEvent::CaughtUp => {}
        }
        let stream_at = st.at.clone();
        for (id, m) in st.members.iter_mut() {
            let Some(a) = m.attached.as_mut() else {
                continue;
            };
            if matches!(ev, SourceEvent::CaughtUp) {
                a.stream_reached(&stream_at);
            }
            if !a.offer(ev, &m.tables) {
                let why = if a.tx.is_closed() {
                    "it stopped reading".to_string()
                } else {
                    format!(
                        "its queue of {} events was full: it reads behind the shared stream",
                        a.capacity
                    )
                };
                tracing::info!(source = %address, member = id, reason = %why, "detached from the shared binlog stream");
                m.attached = None;
                m.detached = Some(why);
            }
        }
    }

    /// Ends the stream: every member is detached with `why`.
    fn end(&self, why: String) {
        let mut st = lock(&self.state);
        for m in st.members.values_mut() {
            if m.attached.take().is_some() {
                m.detached = Some(why.clone());
            }
        }
        st.ended = Some(why);
    }
}

/// The stream's task: reads the shared dump and hands its events out until the last
/// member leaves or the reader fails.
async fn run(stream: Arc<Stream>, mut reader: BinlogReader, address: String) {
    let dump = usage::register_shared_dump(&address);
    let mut members = 0;
    let mut server = reader.source_server().map(str::to_string);
    loop {
        {
            let mut st = lock(&stream.state);
            if st.members.is_empty() {
                st.ended = Some("its last member left".into());
                break;
            }
            if st.members.len() != members {
                members = st.members.len();
                dump.members(members as u32);
            }
            // Members came or left: the union changes here, between two reads and
            // outside a handed-out transaction; new tables are decoded from the cursor on.
            if st.dirty && st.open.is_none() {
                let union: HashSet<TableId> = st
                    .members
                    .values()
                    .flat_map(|m| m.tables.iter().cloned())
                    .collect();
                *stream.union.write().unwrap_or_else(|p| p.into_inner()) = union;
                st.dirty = false;
                let cursor = reader.read_coord();
                let version = st.version;
                for m in st.members.values_mut() {
                    if m.covered_from.is_none() && m.version <= version {
                        m.covered_from = Some(cursor.clone());
                    }
                }
                stream.stamped.send_replace(version);
            }
        }
        let ev = tokio::select! {
            biased;
            _ = stream.wake.notified() => continue,
            // Cancel-safe: a read interrupted by a member's arrival is redone.
            ev = reader.next() => ev,
        };
        match ev {
            Ok(ev) => {
                stream
                    .reconnects
                    .store(reader.reconnects(), Ordering::Relaxed);
                // A reconnect may have reached another server (a failover the reader
                // accepted): joins compare with that one from here on.
                if reader.source_server().is_some() && reader.source_server() != server.as_deref() {
                    server = reader.source_server().map(str::to_string);
                    lock(&stream.state).server = server.clone();
                }
                stream.dispatch(&ev, &address);
            }
            Err(e) => {
                tracing::warn!(source = %address, error = %ErrorChain(&e), "the shared binlog stream ended: its members read their own dumps");
                stream.end(format!("the shared stream ended: {}", ErrorChain(&e)));
                break;
            }
        }
    }
    // Members that registered after the last check see the end at their next join.
    stream.stamped.send_replace(u64::MAX);
    tracing::info!(source = %address, "shared binlog stream closed");
    reader.close().await;
}

impl Attached {
    fn new(tx: mpsc::Sender<SourceEvent>, capacity: usize, at: BinlogCoord) -> Self {
        Self {
            tx,
            capacity,
            skip_until: Some(at),
            txn: None,
            owed: None,
            last_progress: Instant::now(),
        }
    }

    /// The stream, caught up with the server, stands at transaction end `at`: when that
    /// is at or past where the member joined, nothing is left to skip, and the catch-up
    /// is the member's too. Without this a member that joined an idle source (no event
    /// after its join point ever passes) would never hear it is caught up, and its lag
    /// would stay unknown.
    fn stream_reached(&mut self, at: &BinlogCoord) {
        if self.skip_until.as_ref().is_some_and(|s| s <= at) {
            self.skip_until = None;
        }
    }

    /// Whether `c` was delivered by the member's own dump (at or before its join).
    fn delivered(&mut self, c: &BinlogCoord) -> bool {
        match &self.skip_until {
            Some(s) if c <= s => true,
            Some(_) => {
                self.skip_until = None;
                false
            }
            None => false,
        }
    }

    fn send(&self, ev: SourceEvent) -> bool {
        self.tx.try_send(ev).is_ok()
    }

    fn owe(&mut self, position: LogPosition, timestamp: u32) -> bool {
        self.owed = Some((position, timestamp));
        if self.last_progress.elapsed() >= PROGRESS_INTERVAL {
            return self.flush();
        }
        true
    }

    fn flush(&mut self) -> bool {
        match self.owed.take() {
            Some((position, timestamp)) => {
                self.last_progress = Instant::now();
                self.send(SourceEvent::Progress {
                    position,
                    timestamp,
                })
            }
            None => true,
        }
    }

    /// What the member gets of `ev`: rows of its tables inside their transaction (which
    /// begins at its first such row), DDL of its tables, and the ends of other
    /// transactions as `Progress` (at most once per [`PROGRESS_INTERVAL`]), so its
    /// checkpoint moves when none of its tables change. `false` when its queue is full.
    fn offer(&mut self, ev: &SourceEvent, tables: &HashSet<TableId>) -> bool {
        match ev {
            SourceEvent::Begin(info) => {
                let skipped = self.skip_until.as_ref().is_some_and(|s| info.start < *s);
                self.txn = Some(MemberTxn {
                    info: info.clone(),
                    begun: false,
                    skipped,
                });
                true
            }
            SourceEvent::Row(change) => {
                let Some(txn) = self.txn.as_mut() else {
                    return true;
                };
                if txn.skipped || !tables.contains(&change.table.id) {
                    return true;
                }
                if !txn.begun {
                    txn.begun = true;
                    let begin = SourceEvent::Begin(txn.info.clone());
                    // Owed progress is older than this transaction.
                    self.owed = None;
                    if !self.send(begin) {
                        return false;
                    }
                }
                self.send(ev.clone())
            }
            SourceEvent::Commit { end, timestamp, .. } => {
                let txn = self.txn.take();
                if self.delivered(&end.coord) {
                    return true;
                }
                match txn {
                    Some(t) if t.begun => self.send(ev.clone()),
                    _ => self.owe(end.clone(), *timestamp),
                }
            }
            SourceEvent::Ddl {
                database,
                table,
                statement,
                renamed_out,
                end,
                timestamp,
            } => {
                self.txn = None;
                if self.delivered(&end.coord) {
                    return true;
                }
                let mine = table.as_ref().is_some_and(|t| tables.contains(t));
                if mine {
                    self.owed = None;
                    return self.send(ev.clone());
                }
                if tables.iter().any(|t| t.database == *database) {
                    // Another member's table (or the database) in this member's
                    // database: its definitions there are read again, as its own
                    // reader would have it; no DDL message for a table not its own.
                    self.owed = None;
                    return self.send(SourceEvent::Ddl {
                        database: database.clone(),
                        table: None,
                        statement: statement.clone(),
                        renamed_out: renamed_out
                            .iter()
                            .filter(|(from, _)| tables.contains(from))
                            .cloned()
                            .collect(),
                        end: end.clone(),
                        timestamp: *timestamp,
                    });
                }
                self.owe(end.clone(), *timestamp)
            }
            SourceEvent::Progress {
                position,
                timestamp,
            } => {
                if self.delivered(&position.coord) {
                    return true;
                }
                self.owe(position.clone(), *timestamp)
            }
            SourceEvent::CaughtUp => {
                if self.skip_until.is_some() {
                    return true;
                }
                self.flush() && self.send(SourceEvent::CaughtUp)
            }
        }
    }
}

/// A feed's registration with a stream; dropping it leaves the stream.
pub(crate) struct Membership {
    stream: Arc<Stream>,
    id: u64,
}

impl Membership {
    pub(crate) fn stream(&self) -> &Arc<Stream> {
        &self.stream
    }

    /// Attaches at transaction end `at` when the join rule allows it (see the module
    /// doc); the events after `at` then come through the returned queue.
    pub(crate) fn try_attach(
        &self,
        at: &BinlogCoord,
        server: Option<&str>,
        capacity: usize,
    ) -> Option<mpsc::Receiver<SourceEvent>> {
        let mut st = lock(&self.stream.state);
        if st.ended.is_some() {
            return None;
        }
        // Positions mean something only in the binlog they were read from.
        if let (Some(mine), Some(its)) = (server, st.server.as_deref()) {
            if mine != its {
                return None;
            }
        }
        if *at < st.at || st.open.as_ref().is_some_and(|s| s >= at) {
            return None;
        }
        let m = st.members.get_mut(&self.id)?;
        if m.covered_from.as_ref().is_none_or(|c| at < c) {
            return None;
        }
        let (tx, rx) = mpsc::channel(capacity);
        m.attached = Some(Attached::new(tx, capacity, at.clone()));
        m.detached = None;
        Some(rx)
    }

    /// Why the member's queue ended (detached, or the stream ended).
    pub(crate) fn detached_because(&self) -> String {
        let st = lock(&self.stream.state);
        st.members
            .get(&self.id)
            .and_then(|m| m.detached.clone())
            .or_else(|| st.ended.clone())
            .unwrap_or_else(|| "it was detached".into())
    }

    /// Times the shared reader re-opened its connection.
    pub(crate) fn reconnects(&self) -> u64 {
        self.stream.reconnects.load(Ordering::Relaxed)
    }

    /// The server the stream reads.
    pub(crate) fn server(&self) -> Option<String> {
        lock(&self.stream.state).server.clone()
    }
}

impl Drop for Membership {
    fn drop(&mut self) {
        let mut st = lock(&self.stream.state);
        st.members.remove(&self.id);
        st.dirty = true;
        drop(st);
        self.stream
            .notices
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.id);
        self.stream.wake.notify_one();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_model::{Change, ChangeOrigin, KeySource, RowChange, TableMeta};

    fn coord(pos: u64) -> BinlogCoord {
        BinlogCoord::new("binlog.000001", pos)
    }

    fn position(pos: u64) -> LogPosition {
        LogPosition {
            coord: coord(pos),
            gtid: None,
        }
    }

    fn txn(start: u64) -> Arc<TxnInfo> {
        Arc::new(TxnInfo {
            start: coord(start),
            gtid: None,
            timestamp: 1,
            seq: start,
            server_id: 1,
            thread: None,
        })
    }

    fn row(table: &str) -> SourceEvent {
        SourceEvent::Row(Change {
            table: Arc::new(TableMeta {
                id: TableId::new("db", table),
                columns: Vec::new(),
                key: vec![0],
                key_source: KeySource::PrimaryKey,
                primary_key: vec![0],
                unique_keys: Vec::new(),
                estimated_rows: 0,
            }),
            row: RowChange::Insert { after: Vec::new() },
            origin: ChangeOrigin::Snapshot { chunk: 0 },
        })
    }

    fn commit(start: u64, end: u64) -> SourceEvent {
        SourceEvent::Commit {
            txn: txn(start),
            xid: None,
            end: position(end),
            timestamp: 1,
        }
    }

    /// What the member got, as short names.
    fn got(rx: &mut mpsc::Receiver<SourceEvent>) -> Vec<String> {
        let mut out = Vec::new();
        while let Ok(ev) = rx.try_recv() {
            out.push(match ev {
                SourceEvent::Begin(t) => format!("begin@{}", t.start.pos),
                SourceEvent::Row(c) => format!("row {}", c.table.id.table),
                SourceEvent::Commit { end, .. } => format!("commit@{}", end.coord.pos),
                SourceEvent::Ddl { table, end, .. } => {
                    format!("ddl {:?}@{}", table.map(|t| t.table), end.coord.pos)
                }
                SourceEvent::Progress { position, .. } => {
                    format!("progress@{}", position.coord.pos)
                }
                SourceEvent::CaughtUp => "caught up".into(),
            });
        }
        out
    }

    #[test]
    fn a_member_gets_its_rows_after_its_join_and_the_ends_of_the_rest_as_progress() {
        let (tx, mut rx) = mpsc::channel(100);
        // Joined at 200: the transaction 100..200 is its own dump's.
        let mut a = Attached::new(tx, 100, coord(200));
        let tables: HashSet<TableId> = [TableId::new("db", "mine")].into();
        let stream = [
            SourceEvent::Begin(txn(100)),
            row("mine"),
            commit(100, 200),
            // Another member's transaction: only its end, as progress.
            SourceEvent::Begin(txn(200)),
            row("theirs"),
            commit(200, 300),
            // Both tables: Begin comes with the first row of the member's table.
            SourceEvent::Begin(txn(300)),
            row("theirs"),
            row("mine"),
            commit(300, 400),
            SourceEvent::CaughtUp,
        ];
        for ev in &stream {
            assert!(a.offer(ev, &tables));
        }
        // The progress at 300 waits for the interval (or a catch-up), and is dropped
        // once a later transaction of the member's is delivered.
        assert_eq!(
            got(&mut rx),
            ["begin@300", "row mine", "commit@400", "caught up"]
        );
        a.last_progress = Instant::now() - PROGRESS_INTERVAL;
        assert!(a.offer(&SourceEvent::Begin(txn(400)), &tables));
        assert!(a.offer(&row("theirs"), &tables));
        assert!(a.offer(&commit(400, 500), &tables));
        assert_eq!(got(&mut rx), ["progress@500"]);
    }

    #[test]
    fn a_member_that_joined_an_idle_stream_hears_the_catch_up_and_one_ahead_does_not() {
        let tables: HashSet<TableId> = [TableId::new("db", "mine")].into();
        // Joined where the stream stands; nothing happens at the source after.
        let (tx, mut rx) = mpsc::channel(10);
        let mut a = Attached::new(tx, 10, coord(200));
        a.stream_reached(&coord(200));
        assert!(a.offer(&SourceEvent::CaughtUp, &tables));
        assert_eq!(got(&mut rx), ["caught up"]);
        // Joined ahead of a catch-up the stream reported before reading up to the join
        // point: that catch-up is stale for the member, and the stream's events up to
        // 300 are still its own dump's.
        let (tx, mut rx) = mpsc::channel(10);
        let mut b = Attached::new(tx, 10, coord(300));
        b.stream_reached(&coord(200));
        assert!(b.offer(&SourceEvent::CaughtUp, &tables));
        assert!(b.offer(&SourceEvent::Begin(txn(200)), &tables));
        assert!(b.offer(&row("mine"), &tables));
        assert!(b.offer(&commit(200, 300), &tables));
        assert!(got(&mut rx).is_empty());
    }

    #[test]
    fn a_full_queue_is_reported_and_ddl_of_another_table_reaches_the_database() {
        let (tx, mut rx) = mpsc::channel(2);
        let mut a = Attached::new(tx, 2, coord(100));
        let tables: HashSet<TableId> = [TableId::new("db", "mine")].into();
        let ddl = |table: &str, end: u64| SourceEvent::Ddl {
            database: "db".into(),
            table: Some(TableId::new("db", table)),
            statement: "ALTER TABLE …".into(),
            renamed_out: Vec::new(),
            end: position(end),
            timestamp: 1,
        };
        assert!(a.offer(&ddl("theirs", 200), &tables));
        assert!(a.offer(&ddl("mine", 300), &tables));
        assert_eq!(got(&mut rx), ["ddl None@200", "ddl Some(\"mine\")@300"]);
        assert!(a.offer(&SourceEvent::Begin(txn(300)), &tables));
        assert!(a.offer(&row("mine"), &tables));
        assert!(
            !a.offer(&row("mine"), &tables),
            "the third event does not fit"
        );
    }
}
