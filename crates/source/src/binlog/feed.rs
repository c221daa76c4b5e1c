//! [`ChangeFeed`]: where a project's incremental stage gets its change-log events, the
//! same way whether they come from its own dump or from the shared stream of its
//! source endpoint ([`super::shared`]).
//!
//! A feed with [`Share`] settings starts on the shared stream when the join rule allows
//! it at its start position (or opens the stream there when none runs). Otherwise it
//! reads its own dump and, after each transaction end it returns, tries the join
//! again; when no stream runs it opens one once its own dump has caught up. A feed
//! detached from the stream (its queue was full, or the stream ended) reads its own
//! dump again from the last transaction end it returned. Detached inside a
//! transaction, it skips the transaction's `Begin` and the rows it had already
//! returned, which the new dump reads again in the same order: the caller sees one
//! unbroken stream.

use super::error::BinlogError;
use super::reader::{BinlogOptions, BinlogReader, StartFrom};
use super::shared::{self, Membership, Stream, StreamKey};
use crate::endpoint::SourceEndpoint;
use crate::usage::{self, UsageGuard};
use obsync_model::{BinlogCoord, LogPosition, SourceEvent, TableId, TableMeta, TxnInfo};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use tokio::sync::mpsc;

/// How a feed shares its source's stream.
#[derive(Debug, Clone)]
pub struct Share {
    /// The project's tables (the same set its filter accepts).
    pub tables: Arc<HashSet<TableId>>,
    /// The most events waiting for the project; a project this far behind is detached
    /// and reads its own dump until it catches up.
    pub queue_events: usize,
}

/// Where the feed's events come from now.
enum Source {
    Own {
        // Boxed: a reader is large, and a feed on the shared stream has none.
        reader: Box<BinlogReader>,
        _usage: UsageGuard,
    },
    Shared(mpsc::Receiver<SourceEvent>),
    /// After an error was returned.
    None,
}

/// A transaction the caller has begun, when the source changed inside it.
struct Replay {
    start: BinlogCoord,
    rows: u32,
    begun: bool,
}

/// The change log of one project; see the module doc.
pub struct ChangeFeed {
    endpoint: SourceEndpoint,
    opts: BinlogOptions,
    share: Option<Share>,
    key: Option<StreamKey>,
    member: Option<Membership>,
    source: Source,
    /// The last transaction end returned.
    last: Option<LogPosition>,
    /// The transaction being returned and how many of its rows were.
    open: Option<(Arc<TxnInfo>, u32)>,
    replay: Option<Replay>,
    /// A transaction end was returned since the last join attempt.
    join_due: bool,
    /// The own dump returned `CaughtUp` since the last join attempt.
    caught_up: bool,
    server: Option<String>,
    /// Definitions of rows returned since the last DDL of their database: the own dump
    /// after a fallback decodes with them, as a restart would with the checkpoint's.
    seen: HashMap<TableId, Arc<TableMeta>>,
    /// Reconnects of own dumps closed since, and of the shared dump while attached.
    reconnects: u64,
    /// The shared dump's reconnect count when the feed attached (or last looked).
    shared_reconnects: u64,
    joins: u64,
    fallbacks: u64,
}

impl ChangeFeed {
    /// Opens the feed at `opts.start`: on the shared stream when `share` is set and the
    /// start is a position, else (and until it can join) on a dump of its own.
    pub async fn open(
        endpoint: SourceEndpoint,
        opts: BinlogOptions,
        share: Option<Share>,
    ) -> Result<Self, BinlogError> {
        let key = share.as_ref().map(|_| StreamKey::new(&endpoint, &opts));
        let mut feed = Self {
            server: opts.source_server.clone(),
            seen: HashMap::new(),
            endpoint,
            opts,
            share,
            key,
            member: None,
            source: Source::None,
            last: None,
            open: None,
            replay: None,
            join_due: false,
            caught_up: false,
            reconnects: 0,
            shared_reconnects: 0,
            joins: 0,
            fallbacks: 0,
        };
        if let StartFrom::Position(p) = feed.opts.start.clone() {
            if feed.share.is_some() {
                if let Some(rx) = feed.join(&p, true).await? {
                    feed.source = Source::Shared(rx);
                    return Ok(feed);
                }
            }
        }
        let start = feed.opts.start.clone();
        feed.open_own(start).await?;
        Ok(feed)
    }

    /// The next event. Waits for the source when it has no more.
    ///
    /// Cancel-safe like [`BinlogReader::next`]: a join or fallback interrupted by a
    /// dropped future is redone by the next call.
    pub async fn next(&mut self) -> Result<SourceEvent, BinlogError> {
        loop {
            if self.join_due && self.open.is_none() {
                self.try_join().await;
            }
            let ev = match &mut self.source {
                Source::Own { reader, .. } => match reader.next().await {
                    Ok(ev) => {
                        if let Some(s) = reader.source_server() {
                            self.server = Some(s.to_string());
                        }
                        ev
                    }
                    Err(e) => {
                        self.close_own().await;
                        return Err(e);
                    }
                },
                Source::Shared(rx) => match rx.recv().await {
                    Some(ev) => {
                        if let Some(m) = &self.member {
                            let now = m.reconnects();
                            self.reconnects += now.saturating_sub(self.shared_reconnects);
                            self.shared_reconnects = now;
                        }
                        ev
                    }
                    None => {
                        self.fall_back().await?;
                        continue;
                    }
                },
                Source::None => {
                    let start = self.resume_start();
                    self.open_own(start).await?;
                    continue;
                }
            };
            if let Some(ev) = self.pass(ev) {
                return Ok(ev);
            }
        }
    }

    /// The position after the last returned event that ends a transaction.
    pub fn committed_position(&self) -> Option<&LogPosition> {
        self.last.as_ref()
    }

    /// The identity of the server the events come from (see
    /// [`BinlogReader::source_server`]).
    pub fn source_server(&self) -> Option<&str> {
        self.server.as_deref()
    }

    /// How often a dump connection was re-opened after a drop.
    pub fn reconnects(&self) -> u64 {
        match &self.source {
            Source::Own { reader, .. } => self.reconnects + reader.reconnects(),
            _ => self.reconnects,
        }
    }

    /// Whether the events come from the shared stream now.
    pub fn is_shared(&self) -> bool {
        matches!(self.source, Source::Shared(_))
    }

    /// How often the feed joined the shared stream, and left it for its own dump.
    pub fn switches(&self) -> (u64, u64) {
        (self.joins, self.fallbacks)
    }

    /// Closes the feed's own dump, or leaves the shared stream.
    pub async fn close(mut self) {
        self.close_own().await;
    }

    async fn close_own(&mut self) {
        if let Source::Own { reader, .. } = std::mem::replace(&mut self.source, Source::None) {
            self.reconnects += reader.reconnects();
            reader.close().await;
        }
    }

    /// Bookkeeping of what the caller is given; `None` for what it already has.
    fn pass(&mut self, ev: SourceEvent) -> Option<SourceEvent> {
        if let Some(r) = self.replay.as_mut() {
            match &ev {
                SourceEvent::Begin(t) if !r.begun && t.start == r.start => {
                    r.begun = true;
                    return None;
                }
                SourceEvent::Row(_) if r.begun && r.rows > 0 => {
                    r.rows -= 1;
                    return None;
                }
                _ => self.replay = None,
            }
        }
        match &ev {
            SourceEvent::Begin(t) => self.open = Some((t.clone(), 0)),
            SourceEvent::Row(c) => {
                if let Some(o) = self.open.as_mut() {
                    o.1 += 1;
                }
                if self
                    .seen
                    .get(&c.table.id)
                    .is_none_or(|m| !Arc::ptr_eq(m, &c.table))
                {
                    self.seen.insert(c.table.id.clone(), c.table.clone());
                }
            }
            SourceEvent::Commit { end, .. } | SourceEvent::Progress { position: end, .. } => {
                self.open = None;
                self.last = Some(end.clone());
                self.join_due = true;
            }
            SourceEvent::Ddl { database, end, .. } => {
                self.open = None;
                self.last = Some(end.clone());
                self.join_due = true;
                self.seen.retain(|id, _| id.database != *database);
            }
            SourceEvent::CaughtUp => {
                self.join_due = true;
                self.caught_up = true;
            }
        }
        Some(ev)
    }

    /// Where an own dump continues: the last transaction end returned, else the start.
    fn resume_start(&self) -> StartFrom {
        match &self.last {
            Some(p) => StartFrom::Position(p.clone()),
            None => self.opts.start.clone(),
        }
    }

    async fn open_own(&mut self, start: StartFrom) -> Result<(), BinlogError> {
        let mut opts = self.opts.clone();
        opts.start = start;
        opts.source_server = self.server.clone();
        if self.last.is_some() {
            let mut known: HashMap<TableId, Arc<TableMeta>> = self
                .opts
                .known_tables
                .iter()
                .map(|m| (m.id.clone(), m.clone()))
                .collect();
            known.extend(self.seen.iter().map(|(k, v)| (k.clone(), v.clone())));
            opts.known_tables = known.into_values().collect();
        }
        let reader = BinlogReader::start(self.endpoint.clone(), opts).await?;
        if let Some(s) = reader.source_server() {
            self.server = Some(s.to_string());
        }
        self.source = Source::Own {
            reader: Box::new(reader),
            _usage: usage::register_own_dump(&self.endpoint.address()),
        };
        self.join_due = false;
        self.caught_up = false;
        Ok(())
    }

    /// The shared queue ended: reads its own dump from the last transaction end.
    async fn fall_back(&mut self) -> Result<(), BinlogError> {
        let why = self
            .member
            .as_ref()
            .map(Membership::detached_because)
            .unwrap_or_default();
        self.fallbacks += 1;
        tracing::info!(source = %self.endpoint.address(), at = ?self.last.as_ref().map(|p| &p.coord), reason = %why, "reading an own binlog dump until it catches up with the shared stream");
        if let Some((info, rows)) = &self.open {
            self.replay = Some(Replay {
                start: info.start.clone(),
                rows: *rows,
                begun: false,
            });
        }
        self.source = Source::None;
        let start = self.resume_start();
        self.open_own(start).await
    }

    /// At a transaction end of the own dump: moves to the shared stream when the join
    /// rule allows it. Never fails the feed: the own dump goes on.
    async fn try_join(&mut self) {
        self.join_due = false;
        if self.share.is_none() {
            return;
        }
        let create = std::mem::take(&mut self.caught_up);
        let (Source::Own { .. }, Some(at)) = (&self.source, self.last.clone()) else {
            return;
        };
        match self.join(&at, create).await {
            Ok(Some(rx)) => {
                self.close_own().await;
                self.source = Source::Shared(rx);
            }
            Ok(None) => {}
            Err(e) => {
                tracing::info!(error = %obsync_model::ErrorChain(&e), "cannot open the shared binlog stream: the own dump goes on");
            }
        }
    }

    /// Attaches at transaction end `at` to the endpoint's stream, registering with it
    /// first; with `create`, opens the stream at `at` when none runs.
    async fn join(
        &mut self,
        at: &LogPosition,
        create: bool,
    ) -> Result<Option<mpsc::Receiver<SourceEvent>>, BinlogError> {
        let (Some(share), Some(key)) = (self.share.clone(), self.key.as_ref()) else {
            return Ok(None);
        };
        if self.member.as_ref().is_some_and(|m| m.stream().is_ended()) {
            self.member = None;
        }
        if self.member.is_none() {
            let slot = shared::slot(key);
            let mut current = slot.current.lock().await;
            match current.upgrade().filter(|s| !s.is_ended()) {
                Some(stream) => {
                    // Registering waits for the stream's task: not under the slot's lock.
                    drop(current);
                    let notice = self.opts.on_retry.clone();
                    self.member = Some(stream.register(share.tables.clone(), notice).await);
                }
                None if create => {
                    let mut opts = self.opts.clone();
                    opts.start = StartFrom::Position(at.clone());
                    opts.source_server = self.server.clone();
                    let (stream, member, rx) =
                        Stream::start(&self.endpoint, &opts, at, share.tables, share.queue_events)
                            .await?;
                    *current = Arc::downgrade(&stream);
                    self.server = member.server().or(self.server.take());
                    self.shared_reconnects = member.reconnects();
                    self.member = Some(member);
                    self.joins += 1;
                    return Ok(Some(rx));
                }
                None => return Ok(None),
            }
        }
        let member = self.member.as_ref().expect("registered above");
        let rx = member.try_attach(&at.coord, self.server.as_deref(), share.queue_events);
        if rx.is_some() {
            self.joins += 1;
            self.shared_reconnects = member.reconnects();
            self.server = member.server().or(self.server.take());
            tracing::info!(source = %self.endpoint.address(), at = %at.coord, "joined the shared binlog stream");
        }
        Ok(rx)
    }
}
