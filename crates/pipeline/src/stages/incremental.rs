//! Incremental sync: stream the change log from the checkpoint (or the snapshot's
//! start position, or the configured start time) into Kafka, one transaction at a time.

use crate::checkpoint::{BackfillProgress, SequenceReservation};
use crate::definitions::Definitions;
use crate::delivery::Mark;
use crate::emit::{Emitter, Route};
use crate::plan::ProjectPlan;
use crate::project::RunContext;
use crate::stages::backfill::Backfiller;
use crate::status::{Stage, WarningCause};
use crate::RunError;
use obsync_format::{Ddl, MessageContext, TxnEvent, TxnSequence, TxnStatus};
use obsync_model::{
    BinlogCoord, Change, ErrorChain, ErrorReport, SourceEvent, TableId, TableMeta, TxnInfo,
};
use obsync_source::binlog::{BinlogOptions, ChangeFeed, Share, StartFrom, TableFilter};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// The most rows of one transaction held in memory for SharePlex intra-transaction
/// sequence numbers and Maxwell's `xid`/`commit`, which need the transaction's size
/// and XID before its first message.
/// About 1 KiB per row keeps this under ~100 MiB; a bigger transaction stops the
/// project with an error that says how to proceed.
pub const TX_SEQUENCE_MAX_ROWS: usize = 100_000;

/// Tables that joined the project while it streamed (online object changes).
#[derive(Debug, Default)]
pub struct Joining {
    /// Their changes in transactions that began before this position are not synced:
    /// they were made before the table joined.
    pub since: HashMap<TableId, BinlogCoord>,
    /// Backfills to run (or go on with), by `db.table`.
    pub backfills: BTreeMap<String, BackfillProgress>,
}

#[allow(clippy::too_many_arguments)]
pub async fn run(
    ctx: &mut RunContext,
    plan: &ProjectPlan,
    routes: &BTreeMap<TableId, Route>,
    start: StartFrom,
    source_server: Option<String>,
    known: Vec<Arc<TableMeta>>,
    joining: Joining,
    mut emitter: Emitter,
) -> Result<(), RunError> {
    ctx.status.set_stage(Stage::Incremental);
    let s = ctx.settings.clone();
    let tables: Arc<HashSet<TableId>> = Arc::new(plan.tables.keys().cloned().collect());
    let share = s.shared_stream.then(|| Share {
        tables: tables.clone(),
        queue_events: s.shared_queue_events,
    });
    let filter: TableFilter = Arc::new(move |t: &TableId| tables.contains(t));
    // "Now" is pinned to a position once, so a restart after an outage continues from
    // there instead of skipping what was written meanwhile.
    let mut start = match start {
        StartFrom::Current => {
            let mut conn = s.source.connect().await?;
            let now = obsync_source::position::current_position(&mut conn, &plan.server)
                .await
                .map_err(|e| RunError::Snapshot(e.into()))?;
            StartFrom::Position(now)
        }
        other => other,
    };
    tracing::info!(?start, "incremental sync starts");
    let mut backfill = Backfiller::new(ctx, plan, routes, &joining.backfills).await?;
    // The last position up to which the stream is processed (a transaction boundary).
    let mut processed = match &start {
        StartFrom::Position(p) => Some(p.coord.clone()),
        _ => None,
    };
    if let (Some(b), Some(at)) = (backfill.as_mut(), processed.as_ref()) {
        b.advance(ctx, plan, &mut emitter, at).await?;
    }
    let mut defs = Definitions::new(known);
    // The server the positions were read from: a reader opened elsewhere must be a
    // failover within one GTID history (the reader checks), and the checkpoint keeps
    // whichever server the delivered positions came from.
    let mut server = source_server;
    let Some(mut reader) = open_reader(ctx, &start, &server, &filter, &defs, &share).await? else {
        return Ok(());
    };
    note_server(&reader, &mut server, &emitter).await?;
    let mut noted = ShareNoted::new();
    note_share(&reader, ctx, &mut noted);
    // Numbers continue after every number an earlier run may have sent.
    let mut seq = SequenceReservation::load(&ctx.state_dir)?;
    let mut txn_rows: Vec<Change> = Vec::new();
    let mut current: Option<Arc<TxnInfo>> = None;
    // Debezium's `transaction.data_collection_order`: rows per table in the transaction.
    let table_orders = s.format.kind.is_debezium() && s.format.debezium.transaction_metadata;
    let mut txn_meta = TxnMetadata::new(obsync_format::transaction_topic(&s.format.debezium));
    // The reader's own reconnect count, already added to the project's counter.
    let mut reconnects_counted = 0;
    let mut heartbeat =
        tokio::time::interval(Duration::from_secs(s.heartbeat_interval_secs.max(1)));
    heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if !ctx.proceed().await {
            return Ok(());
        }
        let event = tokio::select! {
            ev = reader.next() => match ev {
                Ok(ev) => {
                    let reconnects = reader.reconnects();
                    if reconnects > reconnects_counted {
                        ctx.metrics.binlog_reconnects.inc_by(reconnects - reconnects_counted);
                        reconnects_counted = reconnects;
                    }
                    ev
                }
                Err(e) if e.is_transient() => {
                    // The reader already retried for a while. Keep going from the last
                    // transaction it completed: rows of the open transaction were sent
                    // and will be sent again (duplicates, never gaps).
                    if let Some(p) = reader.committed_position() {
                        start = StartFrom::Position(p.clone());
                    }
                    tracing::warn!(error = %ErrorChain(&e), ?start, "source unavailable: retrying until it is back");
                    ctx.status.set_error(ErrorReport::from_error(&e));
                    ctx.stats.warnings.set(
                        WarningCause::Source,
                        crate::WarningMessage::SourceUnavailable {
                            error: ErrorChain(&e).to_string(),
                        },
                    );
                    txn_rows.clear();
                    current = None;
                    txn_meta.reset();
                    match open_reader(ctx, &start, &server, &filter, &defs, &share).await? {
                        Some(r) => reader = r,
                        None => return Ok(()),
                    }
                    note_server(&reader, &mut server, &emitter).await?;
                    noted = ShareNoted::new();
                    note_share(&reader, ctx, &mut noted);
                    ctx.metrics.binlog_reconnects.inc();
                    reconnects_counted = 0;
                    continue;
                }
                Err(e) => return Err(e.into()),
            },
            _ = ctx.control.changed() => continue,
            _ = emitter.tracker_gone() => return Err(crate::emit::EmitError::TrackerGone.into()),
            _ = heartbeat.tick(), if s.heartbeat_interval_secs > 0 => {
                send_heartbeats(&mut emitter, routes, &mut seq, ctx).await?;
                continue;
            }
        };
        // A reconnect inside the reader may have reached another server (a failover
        // it accepted): its positions are that server's from here on.
        note_server(&reader, &mut server, &emitter).await?;
        note_share(&reader, ctx, &mut noted);
        match event {
            SourceEvent::Begin(txn) => {
                if let Some(b) = backfill.as_mut() {
                    b.advance(ctx, plan, &mut emitter, &txn.start).await?;
                }
                txn_rows.clear();
                txn_meta.reset();
                current = Some(txn);
            }
            SourceEvent::Row(change) => {
                let Some(route) = routes.get(&change.table.id) else {
                    continue;
                };
                let txn_start = current.as_ref().map(|t| &t.start);
                if let (Some(since), Some(start)) = (joining.since.get(&change.table.id), txn_start)
                {
                    if start < since {
                        continue;
                    }
                }
                if let (Some(b), Some(start)) = (backfill.as_mut(), txn_start) {
                    b.on_change(start, &change);
                }
                ctx.status.rows_read.fetch_add(1, Ordering::Relaxed);
                route.read.inc();
                defs.saw(&change.table);
                if s.tx_sequence || s.format.kind.needs_whole_transaction() {
                    if txn_rows.len() >= TX_SEQUENCE_MAX_ROWS {
                        return Err(RunError::TransactionTooLarge {
                            at: current
                                .as_ref()
                                .map(|t| t.start.to_string())
                                .unwrap_or_default(),
                            limit: TX_SEQUENCE_MAX_ROWS,
                            format: s.format.kind,
                        });
                    }
                    txn_rows.push(change);
                } else {
                    let ts = txn_ts(&current);
                    let mut msg = message(ctx, seq.next(ts as u64).await?, None, None);
                    if table_orders {
                        msg.table_order = txn_meta
                            .row(&mut emitter, &current, &change.table.id)
                            .await?;
                    }
                    emitter.change(&change, route, &msg, Some(ts)).await?;
                }
            }
            SourceEvent::Commit {
                end,
                timestamp,
                xid,
                ..
            } => {
                let size = txn_rows.len() as u32;
                for (i, change) in txn_rows.drain(..).enumerate() {
                    let route = &routes[&change.table.id];
                    let tx = TxnSequence {
                        seq: i as u32 + 1,
                        size,
                    };
                    let mut msg = message(ctx, seq.next(timestamp as u64).await?, Some(tx), xid);
                    if table_orders {
                        msg.table_order = txn_meta
                            .row(&mut emitter, &current, &change.table.id)
                            .await?;
                    }
                    emitter
                        .change(&change, route, &msg, Some(timestamp))
                        .await?;
                }
                txn_meta.end(&mut emitter, &current, timestamp).await?;
                current = None;
                let at = end.coord.clone();
                emitter
                    .mark(Mark::Committed {
                        position: end,
                        timestamp: Some(timestamp),
                        definitions: defs.take_changed(),
                    })
                    .await?;
                processed = Some(at.clone());
                if let Some(b) = backfill.as_mut() {
                    b.advance(ctx, plan, &mut emitter, &at).await?;
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
                if s.ddl_messages {
                    if let Some(route) = table.as_ref().and_then(|t| routes.get(t)) {
                        let unique = end.coord.to_string();
                        let ddl = Ddl {
                            database: &database,
                            table: table.as_ref().map(|t| t.table.as_str()),
                            statement: &statement,
                            timestamp,
                            unique_id: &unique,
                        };
                        let msg = message(ctx, seq.next(timestamp as u64).await?, None, None);
                        emitter.ddl(&ddl, route, &msg).await?;
                    }
                }
                for (from, to) in renamed_out {
                    ctx.status.add_notice(crate::NoticeMessage::RenamedOut {
                        from: from.to_string(),
                        to: to.to_string(),
                        at: end.coord.to_string(),
                    });
                }
                // `database` is the table's own when the DDL names a project table.
                defs.ddl(&database);
                let at = end.coord.clone();
                emitter
                    .mark(Mark::Committed {
                        position: end,
                        timestamp: Some(timestamp),
                        definitions: defs.take_changed(),
                    })
                    .await?;
                processed = Some(at.clone());
                if let Some(b) = backfill.as_mut() {
                    b.advance(ctx, plan, &mut emitter, &at).await?;
                }
            }
            SourceEvent::CaughtUp => {
                if let (Some(b), Some(at), None) = (backfill.as_mut(), processed.as_ref(), &current)
                {
                    b.advance(ctx, plan, &mut emitter, at).await?;
                }
                if current.is_none() {
                    emitter
                        .mark(Mark::CaughtUp {
                            at: Emitter::now_ms() / 1000,
                        })
                        .await?;
                }
            }
            SourceEvent::Progress { position, .. } => {
                if current.is_none() {
                    let at = position.coord.clone();
                    emitter
                        .mark(Mark::Committed {
                            position,
                            // Other tables' changes: their times are not the project's.
                            timestamp: None,
                            definitions: None,
                        })
                        .await?;
                    processed = Some(at.clone());
                    if let Some(b) = backfill.as_mut() {
                        b.advance(ctx, plan, &mut emitter, &at).await?;
                    }
                }
            }
        }
    }
}

/// The longest wait between attempts to reach an unavailable source.
const MAX_RETRY_BACKOFF: Duration = Duration::from_secs(30);

/// Opens the change log at `start` (the source's shared stream, or a dump of the
/// project's own: see `obsync_source::binlog::feed`), retrying transient failures with
/// backoff until it works or the project is stopped (`None`).
async fn open_reader(
    ctx: &mut RunContext,
    start: &StartFrom,
    server: &Option<String>,
    filter: &TableFilter,
    defs: &Definitions,
    share: &Option<Share>,
) -> Result<Option<ChangeFeed>, RunError> {
    let s = ctx.settings.clone();
    let mut backoff = Duration::from_secs(1);
    loop {
        let mut opts = BinlogOptions::new(s.server_id, start.clone(), filter.clone());
        opts.known_tables = defs.current();
        opts.source_server = server.clone();
        opts.positioning = s.positioning;
        // The reader's own reconnects show in the status while they happen.
        let stats = ctx.stats.clone();
        opts.on_retry = Some(Arc::new(move |problem: Option<String>| match problem {
            Some(p) => stats.warnings.set(
                WarningCause::Source,
                crate::WarningMessage::SourceReconnecting { problem: p },
            ),
            None => stats.warnings.clear(WarningCause::Source),
        }));
        match ChangeFeed::open(s.source.clone(), opts, share.clone()).await {
            Ok(r) => {
                ctx.status.clear_error();
                ctx.stats.warnings.clear(WarningCause::Source);
                return Ok(Some(r));
            }
            Err(e) if e.is_transient() => {
                tracing::warn!(error = %ErrorChain(&e), retry_in = ?backoff, "cannot open the binlog stream");
                ctx.status.set_error(ErrorReport::from_error(&e));
                ctx.stats.warnings.set(
                    WarningCause::Source,
                    crate::WarningMessage::SourceRetrying {
                        error: ErrorChain(&e).to_string(),
                        wait: backoff.as_secs(),
                    },
                );
            }
            Err(e) => return Err(e.into()),
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = ctx.control.changed() => {}
        }
        if ctx.stop_requested() {
            return Ok(None);
        }
        backoff = (backoff * 2).min(MAX_RETRY_BACKOFF);
    }
}

/// What [`note_share`] last put in the metrics, for the feed it was read from.
struct ShareNoted {
    switches: (u64, u64),
    at: Option<std::time::Instant>,
}

impl ShareNoted {
    fn new() -> Self {
        Self {
            switches: (0, 0),
            at: None,
        }
    }
}

/// The project's view of the shared stream in its metrics: at once when the feed
/// switched, else at most once a second (the source's figures are process-wide).
fn note_share(feed: &ChangeFeed, ctx: &RunContext, noted: &mut ShareNoted) {
    let m = &ctx.metrics;
    let (joins, fallbacks) = feed.switches();
    let switched = (joins, fallbacks) != noted.switches;
    if !switched
        && noted
            .at
            .is_some_and(|at| at.elapsed() < Duration::from_secs(1))
    {
        return;
    }
    m.binlog_shared.set(feed.is_shared() as i64);
    m.binlog_shared_joins
        .inc_by(joins.saturating_sub(noted.switches.0));
    m.binlog_shared_fallbacks
        .inc_by(fallbacks.saturating_sub(noted.switches.1));
    noted.switches = (joins, fallbacks);
    noted.at = Some(std::time::Instant::now());
    let held = obsync_source::usage::usage(&ctx.settings.source.address());
    m.source_binlog_dumps.set(held.dumps as i64);
    m.source_shared_members.set(held.shared_members as i64);
}

/// Queues a [`Mark::Source`] when the reader reads from another server than `server`
/// (or the first one known), before any position read from it.
async fn note_server(
    reader: &ChangeFeed,
    server: &mut Option<String>,
    emitter: &Emitter,
) -> Result<(), RunError> {
    match reader.source_server() {
        Some(now) if server.as_deref() != Some(now) => {
            *server = Some(now.to_string());
            emitter
                .mark(Mark::Source {
                    server: now.to_string(),
                })
                .await?;
        }
        _ => {}
    }
    Ok(())
}

fn txn_ts(txn: &Option<Arc<TxnInfo>>) -> u32 {
    txn.as_ref().map(|t| t.timestamp).unwrap_or(0)
}

fn message(
    ctx: &RunContext,
    sequence: u64,
    txn_sequence: Option<TxnSequence>,
    xid: Option<u64>,
) -> MessageContext {
    let now_ms = Emitter::now_ms();
    let ckpt = ctx.stats.checkpoint_ts.load(Ordering::Relaxed);
    MessageContext {
        sequence,
        checkpoint_secs: if ckpt > 0 { ckpt } else { now_ms / 1000 },
        now_ms,
        message_id: ctx.message_ids.fetch_add(1, Ordering::Relaxed) + 1,
        txn_sequence,
        xid,
        ..Default::default()
    }
}

async fn send_heartbeats(
    emitter: &mut Emitter,
    routes: &BTreeMap<TableId, Route>,
    seq: &mut SequenceReservation,
    ctx: &RunContext,
) -> Result<(), RunError> {
    let mut seen = HashSet::new();
    for route in routes.values() {
        if seen.insert(route.topic.clone()) {
            let now = Emitter::now_ms() / 1000;
            let msg = message(ctx, seq.next(now).await?, None, None);
            emitter.heartbeat(route, &msg).await?;
        }
    }
    Ok(())
}

/// Debezium's transaction metadata of the open transaction: whether its BEGIN record was
/// sent, its rows per table (`transaction.data_collection_order`) and its tables in the
/// order they first appeared (the END record's `data_collections`).
struct TxnMetadata {
    topic: String,
    begun: bool,
    rows: HashMap<TableId, u32>,
    tables: Vec<TableId>,
}

impl TxnMetadata {
    fn new(topic: String) -> Self {
        TxnMetadata {
            topic,
            begun: false,
            rows: HashMap::new(),
            tables: Vec::new(),
        }
    }

    /// A new transaction, or the open one abandoned (its rows are sent again).
    fn reset(&mut self) {
        self.begun = false;
        self.rows.clear();
        self.tables.clear();
    }

    /// Counts a row of `table`, sending the transaction's BEGIN before its first row;
    /// returns the row's order among the transaction's rows of that table.
    async fn row(
        &mut self,
        emitter: &mut Emitter,
        current: &Option<Arc<TxnInfo>>,
        table: &TableId,
    ) -> Result<u32, RunError> {
        if let (false, Some(t)) = (self.begun, current) {
            self.send(emitter, t, TxnStatus::Begin, t.timestamp, &[])
                .await?;
            self.begun = true;
        }
        let n = self.rows.entry(table.clone()).or_default();
        *n += 1;
        if *n == 1 {
            self.tables.push(table.clone());
        }
        Ok(*n)
    }

    /// Sends the END record of a transaction whose BEGIN was sent; `secs` is its commit time.
    async fn end(
        &mut self,
        emitter: &mut Emitter,
        current: &Option<Arc<TxnInfo>>,
        secs: u32,
    ) -> Result<(), RunError> {
        if let (true, Some(t)) = (self.begun, current) {
            let counts: Vec<(TableId, u64)> = self
                .tables
                .iter()
                .map(|id| (id.clone(), self.rows.get(id).copied().unwrap_or(0) as u64))
                .collect();
            self.send(emitter, t, TxnStatus::End, secs, &counts).await?;
        }
        self.reset();
        Ok(())
    }

    /// `secs` is the binlog time of the transaction's start (BEGIN) or commit (END).
    async fn send(
        &self,
        emitter: &mut Emitter,
        txn: &TxnInfo,
        status: TxnStatus,
        secs: u32,
        data_collections: &[(TableId, u64)],
    ) -> Result<(), RunError> {
        let event = TxnEvent {
            status,
            txn,
            ts_ms: secs as u64 * 1000,
            data_collections,
        };
        emitter.transaction(&self.topic, &event).await?;
        Ok(())
    }
}
