//! The projects running in this process: one [`ProjectHandle`] each (the same engine as
//! `obsync run`), a supervisor task that records how each run ended, and the sampler
//! that keeps the metric history.
//!
//! Architecture invariant: projects share nothing but this registry; one project's
//! failure only changes its own record.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use obsync_pipeline::{ProjectHandle, RunOutcome, Settings, Stage, StatusSnapshot};
use tokio::sync::watch;

use crate::lifecycle::ProjectState;
use crate::model::{ErrorInfo, EventKind, MetricPoint};
use crate::state::AppState;

/// How often the metric history is sampled.
pub const SAMPLE_INTERVAL: Duration = Duration::from_secs(10);
/// How long the history is kept: 24 h at 10 s is 8,640 points per project.
pub const HISTORY_SECONDS: i64 = 24 * 3600;
const HISTORY_POINTS: usize = (HISTORY_SECONDS / 10) as usize;

/// Why a run is being stopped; decides the state recorded when it ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Intent {
    Run,
    /// The user paused it: record `paused`.
    Pause,
    /// The server is shutting down: keep `running`, resume at the next start.
    Shutdown,
}

struct Running {
    handle: ProjectHandle,
    intent: Arc<Mutex<Intent>>,
    /// Becomes true when the supervisor has recorded the outcome.
    done: watch::Receiver<bool>,
}

/// The registry of running projects and their metric history.
#[derive(Default)]
pub struct Runtime {
    running: Mutex<HashMap<String, Running>>,
    history: Mutex<HashMap<String, VecDeque<MetricPoint>>>,
    notices_seen: Mutex<HashMap<String, usize>>,
}

impl Runtime {
    /// The live status of a running project.
    pub fn status(&self, id: &str) -> Option<StatusSnapshot> {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.get(id).map(|r| r.handle.status())
    }

    pub fn is_running(&self, id: &str) -> bool {
        let running = self.running.lock().unwrap_or_else(|p| p.into_inner());
        running.contains_key(id)
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

/// The API's name of a pipeline stage.
pub fn stage_name(stage: Stage) -> &'static str {
    match stage {
        Stage::Precheck | Stage::Schema => "schema",
        Stage::Full => "full",
        Stage::Incremental => "incremental",
    }
}

/// Starts project `id` with `settings`. The caller has recorded `running` already.
pub fn start(state: &AppState, id: &str, settings: Settings) {
    let handle = ProjectHandle::start(settings, state.project_dir(id));
    let intent = Arc::new(Mutex::new(Intent::Run));
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
                intent: intent.clone(),
                done: done_rx,
            },
        );
    let state = state.clone();
    let id = id.to_string();
    tokio::spawn(async move {
        let outcome = handle.join().await;
        let last = handle.status();
        let stage = stage_name(last.stage).to_string();
        let intent = *intent.lock().unwrap_or_else(|p| p.into_inner());
        {
            let _guard = state.lifecycle.lock().await;
            if let Err(e) = record_outcome(&state, &id, outcome, intent, stage, last.messages_acked)
            {
                tracing::error!(project = %id, error = %e, "cannot record how the run ended");
            }
            state
                .runtime
                .running
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(&id);
        }
        let _ = done_tx.send(true);
    });
}

fn record_outcome(
    state: &AppState,
    id: &str,
    outcome: Result<RunOutcome, obsync_pipeline::RunError>,
    intent: Intent,
    stage: String,
    acked_messages: u64,
) -> crate::store::Result<()> {
    let Some(mut record) = state.store.get_project(id)? else {
        return Ok(());
    };
    record.stage = Some(stage);
    record.acked_messages += acked_messages;
    let (new_state, message) = match (&outcome, intent) {
        (Ok(RunOutcome::Finished), _) => (
            ProjectState::Finished,
            "finished: every requested stage is done".to_string(),
        ),
        (Ok(RunOutcome::Stopped), Intent::Shutdown) => (
            ProjectState::Running,
            "stopped for the server's shutdown; checkpoint saved, resumes at the next start"
                .to_string(),
        ),
        (Ok(RunOutcome::Stopped), _) => {
            (ProjectState::Paused, "paused; checkpoint saved".to_string())
        }
        (Err(e), _) => {
            let info = ErrorInfo::from_error(e);
            state
                .store
                .add_event(id, EventKind::Error, "system", &info.message, &info.chain)?;
            record.last_error = Some(info);
            (ProjectState::Failed, "failed".to_string())
        }
    };
    if record.state != new_state || intent != Intent::Shutdown {
        state
            .store
            .add_event(id, EventKind::State, "system", &message, &[])?;
    }
    record.state = new_state;
    record.updated_at = crate::model::now_rfc3339();
    state.store.put_project(&record).map(drop)
}

/// Stops a running project for a pause (the supervisor records `paused`) and waits
/// until its in-flight messages are delivered and the checkpoint is saved.
pub async fn pause(state: &AppState, id: &str) {
    stop(state, id, Intent::Pause).await
}

async fn stop(state: &AppState, id: &str, why: Intent) {
    let done = {
        let running = state
            .runtime
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        running.get(id).map(|r| {
            *r.intent.lock().unwrap_or_else(|p| p.into_inner()) = why;
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
    futures::future::join_all(ids.iter().map(|id| stop(state, id, Intent::Shutdown))).await;
}

/// Samples every running project every [`SAMPLE_INTERVAL`]: a history point (memory
/// and store), its stage, and new notices as events.
pub async fn sample_forever(state: AppState) {
    let mut tick = tokio::time::interval(SAMPLE_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        sample_once(&state);
    }
}

fn sample_once(state: &AppState) {
    let now = chrono::Utc::now().timestamp();
    let snapshots: Vec<(String, StatusSnapshot)> = {
        let running = state
            .runtime
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        running
            .iter()
            .map(|(id, r)| (id.clone(), r.handle.status()))
            .collect()
    };
    for (id, s) in snapshots {
        let point = MetricPoint {
            t: now,
            lag_seconds: s.lag_seconds,
            rows_per_sec: s.rows_per_second,
            acked_messages: s.messages_acked,
        };
        state.runtime.record_point(&id, point);
        if let Err(e) = state.store.add_metric(&id, &point) {
            tracing::warn!(project = %id, error = %e, "cannot store a metric point");
        }
        let seen = {
            let mut seen = state
                .runtime
                .notices_seen
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            let entry = seen.entry(id.clone()).or_insert(0);
            let before = (*entry).min(s.notices.len());
            *entry = s.notices.len();
            before
        };
        for notice in &s.notices[seen..] {
            let _ = state
                .store
                .add_event(&id, EventKind::Notice, "system", notice, &[]);
        }
    }
    if let Err(e) = state.store.prune_metrics(now - HISTORY_SECONDS) {
        tracing::warn!(error = %e, "cannot prune the metric history");
    }
}
