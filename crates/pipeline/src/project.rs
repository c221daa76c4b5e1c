//! The project runtime: runs schema → full → incremental for one project and exposes
//! a control handle and a status snapshot. `obsync run` and the server both drive it.

use crate::checkpoint::{CheckpointStore, IncrementalCheckpoint, ProjectState, SharedCheckpoints};
use crate::delivery::{self, DeliveryStats, Mark};
use crate::emit::{Emitter, Route, IN_FLIGHT_MESSAGES};
use crate::metrics::ProjectMetrics;
use crate::plan::{self, ProjectPlan};
use crate::settings::Settings;
use crate::stages;
use crate::status::{CaughtUp, NoticesSince, RunState, StatusCell, StatusSnapshot, WarningCause};
use crate::{NoticeMessage, RunError};
use obsync_kafka::{KafkaAdmin, KafkaProducer};
use obsync_model::{ErrorChain, ErrorReport, LogPosition};
use obsync_source::binlog::StartFrom;
use obsync_source::metadata::MetadataReader;
use obsync_source::usage::{Holding, UsageGuard};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

/// What the user asked the project to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Run,
    Stop,
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunOutcome {
    /// All requested stages finished (no incremental sync requested).
    Finished,
    /// Stopped on request; the checkpoint is current.
    Stopped,
}

/// The background task of a run.
type RunTask = JoinHandle<Result<RunOutcome, RunError>>;

/// Control and observation of a running project. Cheap to clone: the CLI's signal
/// handler, its progress display and the metrics endpoint each hold one.
#[derive(Clone)]
pub struct ProjectHandle {
    control: Arc<watch::Sender<Control>>,
    status: Arc<StatusCell>,
    stats: Arc<DeliveryStats>,
    metrics: ProjectMetrics,
    task: Arc<tokio::sync::Mutex<Option<RunTask>>>,
}

impl ProjectHandle {
    /// Starts the project in the background, its checkpoints in files in `state_dir`.
    pub fn start(settings: Settings, state_dir: PathBuf) -> Self {
        Self::start_with(settings, state_dir, None)
    }

    /// [`start`](Self::start), with the checkpoints kept by `checkpoints` instead of
    /// the files in `state_dir` (which still holds the sequence reservation).
    pub fn start_with(
        settings: Settings,
        state_dir: PathBuf,
        checkpoints: Option<SharedCheckpoints>,
    ) -> Self {
        let (control, control_rx) = watch::channel(Control::Run);
        let status = StatusCell::new(settings.name.clone());
        let metrics = ProjectMetrics::new(&settings.name);
        let stats = Arc::new(DeliveryStats {
            commit_to_ack: Some(metrics.commit_to_ack_seconds.clone()),
            ..Default::default()
        });
        let ctx = RunContext {
            settings: Arc::new(settings),
            state_dir,
            checkpoints,
            control: control_rx,
            status: status.clone(),
            stats: stats.clone(),
            metrics: metrics.clone(),
            message_ids: Default::default(),
            reached_source: false,
        };
        let task = tokio::spawn(async move {
            let status = ctx.status.clone();
            let result = run_resuming(ctx).await;
            match &result {
                Ok(RunOutcome::Finished) => status.set_state(RunState::Finished),
                Ok(RunOutcome::Stopped) => status.set_state(RunState::Stopped),
                Err(e) => {
                    tracing::error!(error = %ErrorChain(e), "project failed");
                    status.fail(ErrorReport::from_error(e));
                }
            }
            result
        });
        Self {
            control: Arc::new(control),
            status,
            stats,
            metrics,
            task: Arc::new(tokio::sync::Mutex::new(Some(task))),
        }
    }

    /// Asks the project to stop; in-flight messages are delivered and checkpointed.
    pub fn stop(&self) {
        self.control.send_replace(Control::Stop);
    }

    pub fn status(&self) -> StatusSnapshot {
        let ts = self.stats.checkpoint_ts.load(Ordering::Relaxed);
        let at = self.stats.caught_up_at.load(Ordering::Relaxed);
        let since = self.stats.idle_since.load(Ordering::Relaxed);
        let caught_up = (at > 0).then_some(CaughtUp {
            at,
            since: if since > 0 { since } else { at },
        });
        let mut s = self.status.snapshot(
            self.stats.acked.load(Ordering::Relaxed),
            (ts > 0).then_some(ts),
            caught_up,
        );
        if let Some(c) = self
            .stats
            .checkpoint
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
        {
            s.checkpoint = Some(c);
        }
        if let Some(lag) = s.lag_seconds {
            self.metrics.checkpoint_lag_seconds.set(lag as i64);
        }
        let warnings = self.stats.warnings.all();
        for cause in [WarningCause::Kafka, WarningCause::Source] {
            let since = warnings
                .iter()
                .find(|(c, _)| *c == cause)
                .map_or(0, |(_, w)| w.since);
            self.metrics
                .warning_since_seconds
                .with_label_values(&[cause.label()])
                .set(since as i64);
        }
        s.warning = self.stats.warnings.oldest();
        s.changes = self.stats.change_counts();
        s
    }

    /// The run's notices numbered above `seen` (0 for all), to be read at least every
    /// few seconds to miss none (see [`crate::status::KEPT_NOTICES`]).
    pub fn notices_since(&self, seen: u64) -> NoticesSince {
        self.status.notices_since(seen)
    }

    pub fn metrics(&self) -> &ProjectMetrics {
        &self.metrics
    }

    /// Waits for the run to end. The outcome goes to the first caller; later callers
    /// get an error saying it was already taken.
    pub async fn join(&self) -> Result<RunOutcome, RunError> {
        let task = self.task.lock().await.take();
        match task {
            None => Err(RunError::Internal(
                "the run's outcome was already taken".into(),
            )),
            Some(task) => match task.await {
                Ok(r) => r,
                Err(e) => Err(RunError::Internal(format!(
                    "project task ended abnormally: {e}"
                ))),
            },
        }
    }
}

/// Everything the stages share.
#[derive(Clone)]
pub struct RunContext {
    pub settings: Arc<Settings>,
    pub state_dir: PathBuf,
    /// Where checkpoints go when not to files in `state_dir`.
    pub checkpoints: Option<SharedCheckpoints>,
    pub control: watch::Receiver<Control>,
    pub status: Arc<StatusCell>,
    pub stats: Arc<DeliveryStats>,
    pub metrics: ProjectMetrics,
    /// Canal `id`: increasing per message across the project.
    pub message_ids: Arc<std::sync::atomic::AtomicU64>,
    /// Whether the project has read from its source before (this run reached it, or the
    /// checkpoint holds a position read there): then a source nobody answers at is a
    /// restart or an outage, waited out, not a wrong address.
    pub reached_source: bool,
}

impl RunContext {
    /// Whether the project should go on (`false` once a stop was asked for). A pause is
    /// a stop whose checkpoint the next run resumes from: nothing waits half-way.
    pub async fn proceed(&mut self) -> bool {
        *self.control.borrow_and_update() == Control::Run
    }

    pub fn stop_requested(&self) -> bool {
        *self.control.borrow() == Control::Stop
    }
}

/// The first wait before resuming after a transient failure; it doubles up to
/// [`MAX_RESUME_BACKOFF`].
const RESUME_BACKOFF: Duration = Duration::from_secs(1);
const MAX_RESUME_BACKOFF: Duration = Duration::from_secs(30);

/// Runs the project, and after a failure that resuming may cure
/// ([`RunError::is_transient`]: brokers away for longer than the message timeout) resumes
/// from the checkpoint, as a restart would, until it works or the project is stopped.
async fn run_resuming(mut ctx: RunContext) -> Result<RunOutcome, RunError> {
    let mut backoff = RESUME_BACKOFF;
    loop {
        match run(&mut ctx).await {
            Err(e) if e.is_transient() || (ctx.reached_source && e.is_source_unreachable()) => {
                tracing::warn!(error = %e, retry_in = ?backoff, "resuming from the checkpoint");
                ctx.status.set_error(ErrorReport::from_error(&e));
                // Cleared by the next acknowledgement, or the next binlog stream opened.
                let cause = match e {
                    RunError::Binlog(_) => WarningCause::Source,
                    _ if e.source_sql().is_some() => WarningCause::Source,
                    _ => WarningCause::Kafka,
                };
                ctx.stats.warnings.set(
                    cause,
                    crate::WarningMessage::Resuming {
                        error: ErrorChain(&e).to_string(),
                        wait: backoff.as_secs(),
                    },
                );
            }
            other => return other,
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = ctx.control.changed() => {}
        }
        if ctx.stop_requested() {
            return Ok(RunOutcome::Stopped);
        }
        backoff = (backoff * 2).min(MAX_RESUME_BACKOFF);
    }
}

async fn run(ctx: &mut RunContext) -> Result<RunOutcome, RunError> {
    let settings = ctx.settings.clone();
    ctx.status.set_state(RunState::Running);
    let store: SharedCheckpoints = match &ctx.checkpoints {
        Some(backend) => backend.clone(),
        None => Arc::new(CheckpointStore::open(&ctx.state_dir)?),
    };
    let state = store.load()?;
    ctx.reached_source |= state.incremental.is_some() || state.snapshot_start.is_some();
    tracing::info!(project = %settings.name, state_dir = %ctx.state_dir.display(), "starting");

    // What this run holds on the source, for the advice of a full server
    // (`obsync_source::usage`); the entry goes with the run.
    let usage = obsync_source::usage::register(&settings.source.address());
    usage.hold(Holding {
        metadata: 1,
        ..Holding::default()
    });
    let reader = MetadataReader::from_endpoint(&settings.source);
    let plan = plan::resolve(&settings.config, &reader).await;
    // The stages open what they need; an idle pool would hold a connection per project.
    reader.close().await;
    let plan = plan?;
    ctx.reached_source = true;
    // The source answered: a refusal that made the last attempt resume is over.
    if ctx.stats.warnings.is_set(WarningCause::Source) {
        ctx.stats.warnings.clear(WarningCause::Source);
        ctx.status.clear_error();
    }
    for (id, why) in &plan.excluded {
        tracing::warn!(table = %id, reason = %why, "object matched but is not synced");
    }
    // The process's one client for this target configuration (`obsync_kafka::shared`);
    // acknowledgements still come per message, to this run's tracker.
    let producer = Arc::new(KafkaProducer::shared(
        &settings.kafka,
        ctx.metrics.producer.clone(),
    )?);
    ctx.metrics
        .kafka_client
        .set(producer.client_number() as i64);
    let admin = KafkaAdmin::new(&settings.kafka)?;

    let (tx, rx) = mpsc::channel(IN_FLIGHT_MESSAGES);
    let tracker = tokio::spawn(delivery::track(
        rx,
        store.clone(),
        state.clone(),
        ctx.stats.clone(),
    ));
    let mut emitter = Emitter::new(
        Arc::new(obsync_format::Serializer::new(settings.format.clone())),
        producer.clone(),
        settings.partition_rule,
        settings.split_key_updates,
        tx,
    );
    if let Some(registry) = &settings.config.sync.format_options.schema_registry {
        emitter = emitter.with_registry(Arc::new(crate::registry::SchemaRegistryClient::new(
            registry.clone(),
        )));
    }

    let outcome = run_stages(ctx, &plan, &state, admin, emitter, &usage).await;
    // Every sender is gone now: the tracker drains the acknowledgements still due
    // and writes the final checkpoint.
    let tracked = tracker
        .await
        .map_err(|e| RunError::Internal(format!("delivery tracker ended abnormally: {e}")))?;
    match (outcome, tracked) {
        // The tracker's error is the cause; the stage only saw it go away.
        (Err(RunError::Emit(crate::emit::EmitError::TrackerGone)), Err(e)) => Err(e.into()),
        (Err(e), _) => Err(e),
        (Ok(_), Err(e)) => Err(e.into()),
        (Ok(o), Ok(_)) => Ok(o),
    }
}

async fn run_stages(
    ctx: &mut RunContext,
    plan: &ProjectPlan,
    state: &ProjectState,
    admin: KafkaAdmin,
    emitter: Emitter,
    usage: &UsageGuard,
) -> Result<RunOutcome, RunError> {
    let s = ctx.settings.clone();
    // Tables added, removed or to re-sync since the checkpoint: recorded before anything
    // else is sent, and laid over the state the stages start from.
    let mut state = state.clone();
    if let Some(change) = objects_change(ctx, plan, &state).await? {
        tracing::info!(joined = ?change.joined, removed = ?change.removed, resync = ?change.resync, "the project's tables changed");
        for (table, since, backfill) in &change.joined {
            let (table, since) = (table.to_string(), since.to_string());
            ctx.status.add_notice(if *backfill {
                NoticeMessage::TableJoinedWithBackfill { table, since }
            } else {
                NoticeMessage::TableJoinedFromNow { table, since }
            });
        }
        for table in &change.removed {
            ctx.status.add_notice(NoticeMessage::TableLeft {
                table: table.to_string(),
            });
        }
        let mark = Mark::ObjectsChanged(change);
        crate::delivery::apply(&mut state, mark.clone());
        emitter.mark(mark).await?;
    }
    let state = &state;
    if s.sync.schema && !state.schema_done {
        stages::schema::run(ctx, plan, &admin).await?;
        emitter.mark(Mark::SchemaDone).await?;
    }
    let routes = match routes(plan, &admin, &ctx.metrics).await {
        // A table that joined (or moved) to a topic not created yet.
        Err(RunError::Topic {
            source: obsync_kafka::AdminError::TopicNotFound(_),
            ..
        }) if s.sync.schema => {
            stages::schema::run(ctx, plan, &admin).await?;
            routes(plan, &admin, &ctx.metrics).await?
        }
        other => other?,
    };
    // The admin client is done (topics exist, partition counts known): closing it frees
    // its threads and broker sockets for the rest of a run that may last months.
    drop(admin);
    let mut snapshot_start = state.snapshot_start.clone();
    if s.sync.full && !state.full_done {
        usage.hold(Holding {
            metadata: 0,
            snapshot: s.snapshot_parallelism as u32 + 1,
            dump: 0,
        });
        let full = stages::full::run(ctx, plan, &routes, state, &emitter).await?;
        if !full.completed {
            return Ok(RunOutcome::Stopped);
        }
        snapshot_start = snapshot_start.or(full.recorded_start);
        emitter.mark(Mark::FullDone).await?;
    }
    if s.sync.incremental {
        let start = incremental_start(state.incremental.as_ref(), snapshot_start, s.start_time);
        // The definitions in force at that position: saved with the checkpoint (or the
        // snapshot start) by an earlier run, else this run's, read just before.
        let known = if state.incremental.is_some() || state.snapshot_start.is_some() {
            state.definitions.iter().cloned().map(Arc::new).collect()
        } else {
            plan.tables.values().map(|t| t.meta.clone()).collect()
        };
        // The server the checkpoint's position was read from (none for a snapshot
        // start: its position was read moments ago from the server the run reads).
        let server = state.incremental.as_ref().and(state.source_server.clone());
        // Its dumps (a share of the source's shared one, or its own while it catches
        // up) are counted by the change feed that holds them.
        usage.hold(Holding::default());
        let joining = stages::incremental::Joining {
            since: plan
                .tables
                .keys()
                .filter_map(|id| {
                    state
                        .joined
                        .get(&id.to_string())
                        .map(|p| (id.clone(), p.coord.clone()))
                })
                .collect(),
            backfills: state.backfills.clone(),
        };
        stages::incremental::run(ctx, plan, &routes, start, server, known, joining, emitter)
            .await?;
        return Ok(RunOutcome::Stopped);
    }
    Ok(RunOutcome::Finished)
}

/// How the run's tables differ from the checkpoint's: tables new to it join (once the
/// change log streams: at the position now, backfilled when `[sync] backfill` names
/// them; before that the stages simply include them), removed ones leave, and the
/// caller's re-syncs start. `None` when nothing changed.
async fn objects_change(
    ctx: &RunContext,
    plan: &ProjectPlan,
    state: &ProjectState,
) -> Result<Option<crate::delivery::ObjectsChange>, RunError> {
    let s = &ctx.settings;
    let names: std::collections::BTreeSet<String> =
        plan.tables.keys().map(|t| t.to_string()).collect();
    // A checkpoint from before obsync kept its tables covers the plan's.
    let known = state.objects.clone().unwrap_or_else(|| names.clone());
    let streaming = s.sync.incremental
        && (state.incremental.is_some() || (state.full_done && state.snapshot_start.is_some()));
    let resync: Vec<String> = s
        .resync
        .iter()
        .filter(|(t, asked_at)| {
            let t = t.to_string();
            let started = state.backfills.get(&t).map(|b| b.started_at);
            streaming && names.contains(&t) && started.is_none_or(|at| at < **asked_at)
        })
        .map(|(t, _)| t.to_string())
        .collect();
    if state.objects.as_ref() == Some(&names) && resync.is_empty() {
        return Ok(None);
    }
    let added: Vec<&String> = names.difference(&known).collect();
    let removed: Vec<String> = known.difference(&names).cloned().collect();
    let mut joined = Vec::new();
    if streaming && !added.is_empty() {
        let since = stages::full::current_position(ctx, plan).await?;
        for table in added {
            let id = plan
                .tables
                .keys()
                .find(|id| id.to_string() == *table)
                .expect("the table is the plan's");
            joined.push((table.clone(), since.clone(), s.config.sync.backfills(id)));
        }
    }
    Ok(Some(crate::delivery::ObjectsChange {
        objects: names,
        joined,
        removed,
        resync,
        at: Emitter::now_ms() / 1000,
    }))
}

/// Where incremental sync starts. Resume order: the acknowledged checkpoint, else the
/// position recorded before the snapshot, else the configured start time, else now.
/// The precheck asks the same question of the saved state, so it opens the dump the
/// run will open.
pub(crate) fn incremental_start(
    checkpoint: Option<&IncrementalCheckpoint>,
    snapshot_start: Option<LogPosition>,
    start_time: Option<u32>,
) -> StartFrom {
    match (checkpoint, snapshot_start) {
        (Some(ckpt), _) => StartFrom::Position(ckpt.position.clone()),
        (None, Some(pos)) => StartFrom::Position(pos),
        (None, None) => match start_time {
            Some(t) => StartFrom::Timestamp(t),
            None => StartFrom::Current,
        },
    }
}

/// Looks up each mapped topic's partition count.
async fn routes(
    plan: &ProjectPlan,
    admin: &KafkaAdmin,
    metrics: &ProjectMetrics,
) -> Result<BTreeMap<obsync_model::TableId, Route>, RunError> {
    let mut counts: BTreeMap<String, i32> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for (id, t) in &plan.tables {
        let partitions =
            match counts.get(&t.topic) {
                Some(n) => *n,
                None => {
                    let n = admin.partition_count(&t.topic).await.map_err(|source| {
                        RunError::Topic {
                            topic: t.topic.clone(),
                            source,
                        }
                    })?;
                    counts.insert(t.topic.clone(), n);
                    n
                }
            };
        out.insert(
            id.clone(),
            Route {
                topic: Arc::from(t.topic.as_str()),
                partitions,
                shard_columns: t.shard_columns.clone().map(Arc::from),
                table: Arc::from(id.to_string().as_str()),
                read: metrics.rows_read.with_label_values(&[&id.to_string()]),
                written: metrics.rows_written.with_label_values(&[&id.to_string()]),
            },
        );
    }
    Ok(out)
}
