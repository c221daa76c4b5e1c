//! The projects running in this process: one [`ProjectHandle`] each (the same engine as
//! `obsync run`), a supervisor task that records how each run ended, and the sampler
//! that keeps the metric history.
//!
//! Architecture invariant: projects share nothing but this registry; one project's
//! failure only changes its own record.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use obsync_model::{message_codes, Coded, MessageCode};
use obsync_pipeline::{
    NoticesSince, ProjectHandle, RunError, RunOutcome, Settings, StatusSnapshot,
};
use tokio::sync::watch;

use crate::lifecycle::{Event, Stage, StopReason};
use crate::model::{ErrorInfo, EventKind, MetricPoint};
use crate::state::AppState;

message_codes! {
    /// What the event log says of a run besides its notices: how it failed (`error` is
    /// the innermost cause, in the words of the library or server that gave it), and
    /// notices lost.
    pub enum RunMessage {
        SourceFailed = "event.error.source" { error: String },
        KafkaFailed = "event.error.kafka" { error: String },
        TopicFailed = "event.error.topic" { topic: String, error: String },
        TopicNotVisible = "event.error.topic_not_visible" { topic: String, partitions: i32, seen: i32 },
        TransactionTooLarge = "event.error.transaction_too_large" { at: String, limit: usize },
        CheckpointFailed = "event.error.checkpoint" { error: String },
        ObjectsFailed = "event.error.objects" { error: String },
        /// The project could not be resumed at a server start (its definition no longer
        /// renders: a data source gone, a secret unreadable).
        NotResumed = "event.error.not_resumed" { error: String },
        Failed = "event.error.failed" { error: String },
        /// Notices came faster than the event log recorded them.
        NoticesMissed = "event.notice.missed" { count: u64 },
        /// Cluster mode: the project's bucket went to another server, which runs it now;
        /// this server saved the checkpoint first.
        HandedOver = "event.notice.cluster_handed_over" { node: String, bucket: u32, cluster: String },
        /// Cluster mode: this server lost the bucket without knowing (paused, cut off)
        /// and was fenced: it moved no checkpoint.
        Fenced = "event.notice.cluster_fenced" { node: String, bucket: u32, cluster: String },
        /// Cluster mode: the owner took an object change or re-sync asked on another
        /// server into the run.
        ChangeTakenUp = "event.notice.cluster_change_taken_up" { node: String, asked_on: String },
    }
}

/// The innermost cause of `e`: the words of whoever refused (MySQL, librdkafka).
pub fn root_cause(e: &(dyn std::error::Error + 'static)) -> String {
    let mut inner = e;
    while let Some(source) = inner.source() {
        inner = source;
    }
    inner.to_string()
}

/// The code of a run's final error.
fn run_failed(e: &RunError) -> RunMessage {
    let error = root_cause(e);
    match e {
        RunError::Connect(_)
        | RunError::Metadata(_)
        | RunError::Snapshot(_)
        | RunError::Binlog(_)
        | RunError::Plan(obsync_pipeline::plan::PlanError::Metadata(_)) => {
            RunMessage::SourceFailed { error }
        }
        RunError::Delivery(_) | RunError::Emit(_) | RunError::Produce(_) | RunError::Admin(_) => {
            RunMessage::KafkaFailed { error }
        }
        RunError::Topic { topic, .. } => RunMessage::TopicFailed {
            topic: topic.clone(),
            error,
        },
        RunError::TopicNotVisible {
            topic,
            partitions,
            seen,
            ..
        } => RunMessage::TopicNotVisible {
            topic: topic.clone(),
            partitions: *partitions,
            seen: *seen,
        },
        RunError::TransactionTooLarge { at, limit, .. } => RunMessage::TransactionTooLarge {
            at: at.clone(),
            limit: *limit,
        },
        RunError::Checkpoint(_) => RunMessage::CheckpointFailed { error },
        RunError::Plan(_) => RunMessage::ObjectsFailed { error },
        _ => RunMessage::Failed { error },
    }
}

/// How often the metric history is sampled.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(10);
/// How long the history is kept: 24 h at 10 s is 8,640 points per project.
pub const HISTORY_SECONDS: i64 = 24 * 3600;
const HISTORY_POINTS: usize = (HISTORY_SECONDS / 10) as usize;

struct Running {
    handle: ProjectHandle,
    /// Why the run is being stopped, once it is; decides the state recorded when it
    /// ends.
    stop: Arc<Mutex<Option<StopReason>>>,
    /// The number of the run's last notice recorded as an event (each run numbers its
    /// notices from 1).
    /// Async: a sample and the run's end both record notices, and each holds it while
    /// it awaits the store.
    notices_seen: Arc<tokio::sync::Mutex<u64>>,
    /// Becomes true when the supervisor has recorded the outcome.
    done: watch::Receiver<bool>,
}

/// The registry of running projects and their metric history.
#[derive(Default)]
pub struct Runtime {
    running: Mutex<HashMap<String, Running>>,
    history: Mutex<HashMap<String, VecDeque<MetricPoint>>>,
    /// Projects between the stop and the start of a [`restart`]: the restart starts
    /// them with its own settings (a re-sync's table), so the cluster's reconciling,
    /// woken by the stopped run's record, must leave them alone.
    restarting: Mutex<std::collections::HashSet<String>>,
}

impl Runtime {
    /// The live status of a running project.
    pub fn status(&self, id: &str) -> Option<StatusSnapshot> {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.get(id).map(|r| r.handle.status())
    }

    /// Drops a run that has ended from the running set.
    fn ended(&self, id: &str) {
        self.running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// Whether a [`restart`] of project `id` is under way.
    pub fn is_restarting(&self, id: &str) -> bool {
        self.restarting
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(id)
    }

    fn set_restarting(&self, id: &str, on: bool) {
        let mut restarting = self.restarting.lock().unwrap_or_else(|p| p.into_inner());
        if on {
            restarting.insert(id.to_string());
        } else {
            restarting.remove(id);
        }
    }

    pub fn is_running(&self, id: &str) -> bool {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.contains_key(id)
    }

    /// The projects running in this process.
    pub fn running_ids(&self) -> Vec<String> {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.keys().cloned().collect()
    }

    /// The Prometheus text of every running project (each carries its project label).
    pub fn render_metrics(&self) -> String {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = String::new();
        for r in running.values() {
            let _ = r.handle.status(); // refreshes the lag gauge
            out.push_str(&r.handle.metrics().render());
        }
        out
    }

    /// History points since `since_unix`, oldest first.
    pub fn history(&self, id: &str, since_unix: i64) -> Vec<MetricPoint> {
        let history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        history
            .get(id)
            .map(|h| h.iter().filter(|p| p.t >= since_unix).copied().collect())
            .unwrap_or_default()
    }

    /// Loads the stored history (after a restart).
    pub fn load_history(&self, id: &str, points: Vec<MetricPoint>) {
        let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        let ring = history.entry(id.to_string()).or_default();
        ring.extend(points);
        while ring.len() > HISTORY_POINTS {
            ring.pop_front();
        }
    }

    pub fn forget(&self, id: &str) {
        self.history
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    fn record_point(&self, id: &str, point: MetricPoint) {
        let mut history = self.history.lock().unwrap_or_else(|p| p.into_inner());
        let ring = history.entry(id.to_string()).or_default();
        if ring.len() == HISTORY_POINTS {
            ring.pop_front();
        }
        ring.push_back(point);
    }
}

/// Starts project `id` with `settings`. The caller has recorded `running` already.
/// In cluster mode only the owner of the project's bucket runs it, with its checkpoints
/// written through the bucket's fenced producer; elsewhere this does nothing (the owner
/// starts it when the config log brings it the record).
pub fn start(state: &AppState, id: &str, settings: Settings) {
    let checkpoints = match &state.cluster {
        None => None,
        Some(cluster) => {
            let Some(writer) = cluster.writer_of(id) else {
                return;
            };
            if state.runtime.is_running(id) {
                return;
            }
            let dir = state.project_dir(id);
            match crate::cluster::checkpoints::KafkaCheckpoints::new(id, writer, &dir) {
                Ok(k) => Some(Arc::new(k) as obsync_pipeline::checkpoint::SharedCheckpoints),
                Err(e) => {
                    tracing::error!(project = %id, error = %obsync_model::ErrorChain(&e), "cannot open the project's checkpoint folder");
                    return;
                }
            }
        }
    };
    let handle = ProjectHandle::start_with(settings, state.project_dir(id), checkpoints);
    if let Some(cluster) = state.cluster.clone() {
        let (id, handle) = (id.to_string(), handle.clone());
        tokio::spawn(async move { publish_status(&cluster, &id, &handle, true).await });
    }
    let stop = Arc::new(Mutex::new(None));
    let notices_seen = Arc::new(tokio::sync::Mutex::new(0));
    let (done_tx, done_rx) = watch::channel(false);
    state
        .runtime
        .running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(
            id.to_string(),
            Running {
                handle: handle.clone(),
                stop: stop.clone(),
                notices_seen: notices_seen.clone(),
                done: done_rx,
            },
        );
    let state = state.clone();
    let id = id.to_string();
    tokio::spawn(async move {
        let outcome = handle.join().await;
        // The notices of the run's last seconds, which the sampler has not seen yet.
        record_notices(&state, &id, &handle, &notices_seen).await;
        let last = handle.status();
        let stop = *stop.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cluster) = state.cluster.clone() {
            if !cluster.still_owns(&id) {
                // The bucket went to another server, which records this project's runs
                // now: only this server's own event log says what happened here.
                let (note, coded) =
                    crate::cluster::handed_over_note(&cluster, &id, outcome.as_ref().err());
                tracing::warn!(project = %id, "{note}");
                if let Err(e) = state
                    .store
                    .add_event(&id, EventKind::Notice, "system", &note, &coded, &[])
                    .await
                {
                    tracing::warn!(project = %id, error = %obsync_model::ErrorChain(&e), "cannot record an event");
                }
                state.runtime.ended(&id);
                let _ = done_tx.send(true);
                return;
            }
            publish_status(&cluster, &id, &handle, false).await;
        }
        {
            let _guard = state.lifecycle.lock().await;
            let ended = RunEnd {
                outcome,
                stop,
                stage: last.stage.into(),
                acked_messages: last.messages_acked,
                stages: last.stages,
            };
            if let Err(e) = record_outcome(&state, &id, ended).await {
                tracing::error!(project = %id, error = %obsync_model::ErrorChain(&e), "cannot record how the run ended");
            }
            state.runtime.ended(&id);
        }
        let _ = done_tx.send(true);
    });
}

/// How a run ended, as the supervisor saw it.
struct RunEnd {
    outcome: Result<RunOutcome, obsync_pipeline::RunError>,
    /// Why it was asked to stop, if it was.
    stop: Option<StopReason>,
    stage: Stage,
    acked_messages: u64,
    /// The stages the run entered.
    stages: Vec<obsync_pipeline::status::StageEntered>,
}

/// The lifecycle event of a run's end, with the note its state event carries.
fn outcome_event(ended: &RunEnd) -> (Event, Option<crate::transition::Note>) {
    use crate::transition::Note;
    match (&ended.outcome, ended.stop) {
        (Ok(RunOutcome::Finished), _) => (Event::RunFinished, Some(Note::StagesDone)),
        // Kept `running`, silently: the next start resumes it.
        (Ok(RunOutcome::Stopped), Some(StopReason::Shutdown)) => {
            (Event::RunStopped(StopReason::Shutdown), None)
        }
        (Ok(RunOutcome::Stopped), _) => (
            Event::RunStopped(StopReason::Pause),
            Some(Note::CheckpointSaved),
        ),
        (Err(_), _) => (Event::RunFailed, None),
    }
}

async fn record_outcome(state: &AppState, id: &str, ended: RunEnd) -> crate::error::Result<()> {
    let Some(mut record) = state.store.get_project(id).await? else {
        return Ok(());
    };
    record.stage = Some(ended.stage);
    record.acked_messages += ended.acked_messages;
    crate::timeline::merge(&mut record.stages, &ended.stages);
    if matches!(ended.outcome, Ok(RunOutcome::Finished)) {
        crate::timeline::finish(&mut record.stages, obsync_pipeline::delivery::unix_ms());
    }
    let (event, note) = outcome_event(&ended);
    if let Err(e) = &ended.outcome {
        let info = ErrorInfo::from_error(e).with_code(run_failed(e).coded());
        add_error_event(state, id, &info).await?;
        record.last_error = Some(info);
    }
    crate::transition::apply(state, &mut record, event, "system", note).await?;
    Ok(())
}

/// Records `info` (coded) as the project's error event.
pub async fn add_error_event(
    state: &AppState,
    id: &str,
    info: &ErrorInfo,
) -> crate::store::Result<()> {
    let coded = Coded {
        code: info.code.clone().unwrap_or_default(),
        params: info.params.clone(),
    };
    state
        .store
        .add_event(
            id,
            EventKind::Error,
            "system",
            &info.message,
            &coded,
            &info.chain,
        )
        .await
}

/// Stops a running project for a pause (the supervisor records `paused`) and waits
/// until its in-flight messages are delivered and the checkpoint is saved.
pub async fn pause(state: &AppState, id: &str) {
    stop(state, id, StopReason::Pause).await
}

/// Restarts running project `id` with `settings` (an online object change, a re-sync):
/// the run stops as for a shutdown (in-flight messages delivered, checkpoint saved; the
/// record stays `running`, no state event) and starts again from its checkpoint, where
/// the engine finds what changed. Does nothing more when the project stopped running
/// meanwhile (a pause, a failure): its resume takes the new definition.
pub async fn restart(state: &AppState, id: &str, settings: Settings) {
    // Cleared on drop: a restart whose caller went away must not keep the mark.
    struct Restarting<'a>(&'a Runtime, &'a str);
    impl Drop for Restarting<'_> {
        fn drop(&mut self) {
            self.0.set_restarting(self.1, false);
        }
    }
    state.runtime.set_restarting(id, true);
    let _restarting = Restarting(&state.runtime, id);
    stop(state, id, StopReason::Shutdown).await;
    let _guard = state.lifecycle.lock().await;
    let running = matches!(
        state.store.get_project(id).await,
        Ok(Some(r)) if r.state == crate::lifecycle::ProjectState::Running
    );
    if running && !state.runtime.is_running(id) {
        start(state, id, settings);
    }
}

/// Stops running project `id` because its bucket went to another server: as for a
/// shutdown, in-flight messages are delivered and the checkpoint saved (unless this
/// server was fenced already), and the record is left to the new owner.
pub async fn hand_over(state: &AppState, id: &str) {
    stop(state, id, StopReason::Shutdown).await
}

/// Publishes what this server knows of running project `id` to the cluster.
async fn publish_status(
    cluster: &crate::cluster::Cluster,
    id: &str,
    handle: &ProjectHandle,
    running: bool,
) {
    let s = handle.status();
    let status = crate::cluster::status::ProjectStatus {
        node: cluster.node.to_string(),
        running,
        lag_seconds: s.lag_seconds,
        last_error: s.last_error.map(|e| e.message),
        at_ms: obsync_pipeline::delivery::unix_ms() as i64,
    };
    cluster.status.publish(id, &status).await;
}

async fn stop(state: &AppState, id: &str, why: StopReason) {
    let done = {
        let running = state
            .runtime
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        running.get(id).map(|r| {
            *r.stop.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
            r.handle.stop();
            r.done.clone()
        })
    };
    if let Some(mut done) = done {
        let _ = done.wait_for(|d| *d).await;
    }
}

/// Stops every running project for shutdown: each delivers its in-flight messages and
/// checkpoints, and stays `running` in the store so the next start resumes it.
pub async fn shutdown(state: &AppState) {
    let ids: Vec<String> = state
        .runtime
        .running
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .keys()
        .cloned()
        .collect();
    futures::future::join_all(ids.iter().map(|id| stop(state, id, StopReason::Shutdown))).await;
}

/// Samples every running project every [`SAMPLE_INTERVAL`]: a history point (memory
/// and store), its stage, and new notices as events.
pub async fn sample_forever(state: AppState) {
    let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        sample_once(&state).await;
    }
}

async fn sample_once(state: &AppState) {
    let now = chrono::Utc::now().timestamp();
    let running: Vec<(String, ProjectHandle, Arc<tokio::sync::Mutex<u64>>)> = {
        let running = state
            .runtime
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        running
            .iter()
            .map(|(id, r)| (id.clone(), r.handle.clone(), r.notices_seen.clone()))
            .collect()
    };
    for (id, handle, notices_seen) in running {
        let s = handle.status();
        let point = MetricPoint {
            t: now,
            lag_seconds: s.lag_seconds,
            rows_per_sec: s.rows_per_second,
            acked_messages: s.messages_acked,
        };
        state.runtime.record_point(&id, point);
        if let Err(e) = state.store.add_metric(&id, &point).await {
            tracing::warn!(project = %id, error = %obsync_model::ErrorChain(&e), "cannot store a metric point");
        }
        record_notices(state, &id, &handle, &notices_seen).await;
        record_stages(state, &id, &s.stages).await;
        if let Some(cluster) = &state.cluster {
            publish_status(cluster, &id, &handle, true).await;
        }
    }
    if let Err(e) = state.store.prune_metrics(now - HISTORY_SECONDS).await {
        tracing::warn!(error = %obsync_model::ErrorChain(&e), "cannot prune the metric history");
    }
}

/// Saves the stages the run entered into the project's timeline, so that it survives a
/// server killed before the run ends. Skipped while a lifecycle change holds the record
/// (the next sample saves them): writing the record read before it would undo it.
async fn record_stages(
    state: &AppState,
    id: &str,
    entered: &[obsync_pipeline::status::StageEntered],
) {
    let Ok(_guard) = state.lifecycle.try_lock() else {
        return;
    };
    let saved = async {
        let Some(mut record) = state.store.get_project(id).await? else {
            return Ok(());
        };
        if crate::timeline::merge(&mut record.stages, entered) {
            state.store.put_project(&record).await?;
        }
        Ok::<_, crate::store::StoreError>(())
    }
    .await;
    if let Err(e) = saved {
        tracing::warn!(project = %id, error = %obsync_model::ErrorChain(&e), "cannot save the stage timeline; retrying at the next sample");
    }
}

/// Records the run's notices numbered above the last one recorded as events; a notice
/// whose event cannot be stored is logged, and the next sample tries it again.
async fn record_notices(
    state: &AppState,
    id: &str,
    handle: &ProjectHandle,
    seen: &tokio::sync::Mutex<u64>,
) {
    let mut seen = seen.lock().await;
    let since = handle.notices_since(*seen);
    let stored = record_since(&mut seen, since, |(message, coded)| async move {
        state
            .store
            .add_event(id, EventKind::Notice, "system", &message, &coded, &[])
            .await
    })
    .await;
    if let Err(e) = stored {
        tracing::warn!(project = %id, error = %obsync_model::ErrorChain(&e), "cannot record a notice as an event; retrying at the next sample");
    }
}

/// Hands `since`'s notices to `add` in order (first a line saying how many were missed,
/// if any), moving `seen` past each one added; stops at the first failure.
async fn record_since<E, F: std::future::Future<Output = Result<(), E>>>(
    seen: &mut u64,
    since: NoticesSince,
    mut add: impl FnMut((String, Coded)) -> F,
) -> Result<(), E> {
    if since.missed > 0 {
        let missed = RunMessage::NoticesMissed {
            count: since.missed,
        };
        add((
            format!(
                "{} notices came faster than they could be recorded and are not in the log",
                since.missed
            ),
            missed.coded(),
        ))
        .await?;
        *seen += since.missed;
    }
    for notice in since.notices {
        add((notice.message, notice.coded)).await?;
        *seen = notice.number;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_pipeline::status::{StatusCell, KEPT_NOTICES};
    use obsync_pipeline::NoticeMessage;

    /// A notice naming `name`, which its English shows as `the backfill of {name} …`.
    fn notice(name: impl Into<String>) -> NoticeMessage {
        NoticeMessage::BackfillFinished { table: name.into() }
    }

    fn english(name: &str) -> String {
        notice(name).english()
    }

    /// Records `cell`'s notices after `seen` into `log`, as a sample does.
    fn sample(cell: &StatusCell, seen: &mut u64, log: &mut Vec<String>) {
        futures::executor::block_on(record_since::<(), _>(
            seen,
            cell.notices_since(*seen),
            |(m, _)| {
                log.push(m);
                std::future::ready(Ok(()))
            },
        ))
        .unwrap();
    }

    #[test]
    fn notices_past_the_hundredth_become_events() {
        let cell = StatusCell::new("p");
        let (mut seen, mut log) = (0, Vec::new());
        for i in 0..KEPT_NOTICES + 50 {
            cell.add_notice(notice(format!("n{i}")));
            if i % 10 == 9 {
                sample(&cell, &mut seen, &mut log);
            }
        }
        assert_eq!(log.len(), KEPT_NOTICES + 50);
        assert_eq!(
            log.last().unwrap(),
            &english(&format!("n{}", KEPT_NOTICES + 49))
        );
    }

    #[test]
    fn the_first_notices_after_a_resume_are_recorded() {
        // The first run: three notices, all recorded.
        let first = StatusCell::new("p");
        let (mut seen, mut log) = (0, Vec::new());
        for i in 0..3 {
            first.add_notice(notice(format!("run 1 notice {i}")));
        }
        sample(&first, &mut seen, &mut log);
        // The resumed run numbers its notices from 1 again, with a counter of its own.
        let resumed = StatusCell::new("p");
        let mut seen = 0;
        resumed.add_notice(notice("run 2 notice 0"));
        sample(&resumed, &mut seen, &mut log);
        assert_eq!(log.last().unwrap(), &english("run 2 notice 0"));
        assert_eq!(log.len(), 4);
    }

    #[test]
    fn a_failed_store_retries_the_same_notice_and_missed_ones_are_counted_once() {
        let cell = StatusCell::new("p");
        for i in 0..KEPT_NOTICES + 5 {
            cell.add_notice(notice(format!("n{i}")));
        }
        let mut seen = 0;
        let mut log = Vec::new();
        // The store fails on the third event.
        let since = cell.notices_since(seen);
        let mut codes = Vec::new();
        let failed = futures::executor::block_on(record_since(&mut seen, since, |(m, c)| {
            std::future::ready(if log.len() == 2 {
                Err("disk full")
            } else {
                log.push(m);
                codes.push(c);
                Ok(())
            })
        }));
        assert_eq!(failed, Err("disk full"));
        assert_eq!(
            log[0],
            "5 notices came faster than they could be recorded and are not in the log"
        );
        assert_eq!(codes[0].code, "event.notice.missed");
        assert_eq!(codes[0].params["count"], "5");
        assert_eq!(codes[1].code, "event.notice.backfill_finished");
        sample(&cell, &mut seen, &mut log);
        assert_eq!(log.len(), 1 + KEPT_NOTICES, "{log:?}");
        assert_eq!(log[1..].first().unwrap(), &english("n5"));
    }
}
