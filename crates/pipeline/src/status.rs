//! The live status of a running project: what a CLI status line, the console and the
//! REST API show.

use obsync_model::ErrorReport;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Lifecycle state of a project run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunState {
    Init,
    Running,
    Failed,
    /// Every requested stage finished (only without incremental sync).
    Finished,
    /// Stopped by the user; resumable from its checkpoint.
    Stopped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Precheck,
    Schema,
    Full,
    Incremental,
}

/// Snapshot progress of one table.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct TableStatus {
    pub rows_done: u64,
    /// The server's estimate; may be below `rows_done`.
    pub rows_estimated: u64,
    pub done: bool,
}

/// A point-in-time copy of the project's status.
#[derive(Debug, Clone, Serialize)]
pub struct StatusSnapshot {
    pub project: String,
    pub state: RunState,
    pub stage: Stage,
    pub tables: BTreeMap<String, TableStatus>,
    /// Human-readable checkpoint position (`file:pos`).
    pub checkpoint: Option<String>,
    /// Source commit time of the checkpoint, Unix seconds.
    pub checkpoint_time: Option<u64>,
    /// How far Kafka is behind the source, in seconds: 0 while the reader is caught up
    /// (it read everything the source had written, see [`CAUGHT_UP_FOR`]), however old
    /// the last change; else the time since the checkpoint's commit (or since the
    /// reader was last caught up, if later).
    pub lag_seconds: Option<u64>,
    /// While caught up: since when (Unix s) no new change arrived. `None` otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub idle_since: Option<u64>,
    pub rows_read: u64,
    pub messages_acked: u64,
    pub rows_per_second: f64,
    /// Why the run failed, or the problem it is retrying, with its causes.
    pub last_error: Option<ErrorReport>,
    /// Things the user should know that are not errors, oldest first (e.g. a synced
    /// table renamed out of the project): the last [`KEPT_NOTICES`] of the run.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notices: Vec<Notice>,
    /// A problem the project is riding out right now (it keeps retrying), the oldest if
    /// several; `None` once everything works again.
    #[serde(default)]
    pub warning: Option<Warning>,
    /// Incremental row changes per table that Kafka acknowledged, since the project
    /// began (the checkpoint's counts plus this run's).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub changes: BTreeMap<String, crate::checkpoint::ChangeCounts>,
    /// The stages this run entered, in order, with when (Unix ms).
    pub stages: Vec<StageEntered>,
}

/// A stage a run entered, and when (Unix ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct StageEntered {
    pub stage: Stage,
    pub at_ms: u64,
}

/// What a running project is retrying, and since when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// The cause, with what obsync does about it.
    pub message: String,
    /// The same by code, for the console.
    pub coded: obsync_model::Coded,
    /// When the problem began, Unix s.
    pub since: u64,
}

/// What a warning is about; each cause is set and cleared on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum WarningCause {
    /// Kafka does not acknowledge messages in time.
    Kafka,
    /// The source (its change log) cannot be read.
    Source,
}

impl WarningCause {
    /// The label of the `obsync_warning_since_seconds` metric.
    pub fn label(self) -> &'static str {
        match self {
            WarningCause::Kafka => "kafka",
            WarningCause::Source => "source",
        }
    }
}

/// The project's current warnings, one per cause. Set and cleared by whichever part of
/// the run sees the problem and its end (the delivery tracker for Kafka, the incremental
/// stage and the resume loop for the source).
#[derive(Debug, Default)]
pub struct Warnings(Mutex<BTreeMap<WarningCause, Warning>>);

impl Warnings {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<WarningCause, Warning>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records (or updates the message of) the warning for `cause`; its `since` stays
    /// the time the problem was first seen.
    pub fn set(&self, cause: WarningCause, warning: crate::WarningMessage) {
        use obsync_model::MessageCode;
        let now = crate::delivery::unix_ms() / 1000;
        let (message, coded) = (warning.english(), warning.coded());
        self.lock()
            .entry(cause)
            .and_modify(|w| {
                w.message.clone_from(&message);
                w.coded = coded.clone();
            })
            .or_insert(Warning {
                message,
                coded,
                since: now,
            });
    }

    pub fn clear(&self, cause: WarningCause) {
        self.lock().remove(&cause);
    }

    /// Whether a warning for `cause` is set.
    pub fn is_set(&self, cause: WarningCause) -> bool {
        self.lock().contains_key(&cause)
    }

    /// Every warning, by cause.
    pub fn all(&self) -> Vec<(WarningCause, Warning)> {
        self.lock().iter().map(|(c, w)| (*c, w.clone())).collect()
    }

    /// The oldest warning.
    pub fn oldest(&self) -> Option<Warning> {
        self.lock().values().min_by_key(|w| w.since).cloned()
    }
}

/// How long one sign of being caught up (a server heartbeat, which comes every 5 s, or
/// the binlog's end found after a 15 s silence) counts: longer without one, the lag
/// counts again from the last.
pub const CAUGHT_UP_FOR: u64 = 30;

/// What the delivery tracker knows about being caught up (Unix s; see
/// [`crate::delivery::DeliveryStats`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaughtUp {
    /// When everything the source had was last seen in Kafka.
    pub at: u64,
    /// When the project became idle (the first time caught up since the last change).
    pub since: u64,
}

/// `(lag_seconds, idle_since)` at `now` from the checkpoint's commit time and the
/// last time the project was caught up.
pub fn lag(
    now: u64,
    checkpoint_time: Option<u64>,
    caught_up: Option<CaughtUp>,
) -> (Option<u64>, Option<u64>) {
    match caught_up {
        Some(c) if now.saturating_sub(c.at) <= CAUGHT_UP_FOR => (Some(0), Some(c.since)),
        // Caught up once, not seen since: current as of then, or of a later commit.
        Some(c) => {
            let current_at = checkpoint_time.unwrap_or(0).max(c.at);
            (Some(now.saturating_sub(current_at)), None)
        }
        None => (checkpoint_time.map(|t| now.saturating_sub(t)), None),
    }
}

/// How many notices a run keeps: a reader that asks for them by number
/// ([`StatusCell::notices_since`]) at least every few seconds misses none, and a run that
/// notices a lot (a DDL storm) holds bounded memory.
pub const KEPT_NOTICES: usize = 100;

/// A notice with its number: 1, 2, 3, … in the order the run recorded them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Notice {
    pub number: u64,
    /// The English text.
    pub message: String,
    /// The same as a code with its parameters, for the console.
    pub coded: obsync_model::Coded,
}

/// The notices after a number a reader saw last.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoticesSince {
    /// Oldest first.
    pub notices: Vec<Notice>,
    /// Notices after the one seen that are no longer kept (more than [`KEPT_NOTICES`]
    /// came since the reader last asked).
    pub missed: u64,
}

/// Shared, cheaply updated status cells. Hot counters are atomics; rarely changed
/// fields sit behind a mutex.
#[derive(Debug)]
pub struct StatusCell {
    pub project: String,
    pub rows_read: AtomicU64,
    inner: Mutex<Inner>,
}

#[derive(Debug)]
struct Inner {
    state: RunState,
    stage: Stage,
    tables: BTreeMap<String, TableStatus>,
    checkpoint: Option<String>,
    last_error: Option<ErrorReport>,
    /// The last [`KEPT_NOTICES`], oldest first, numbered from 1.
    notices: VecDeque<Notice>,
    rate: RateWindow,
    /// Each stage change, in order (a handful per run).
    stages: Vec<StageEntered>,
}

/// Rows/s over the last sampling interval.
#[derive(Debug, Default)]
struct RateWindow {
    last_rows: u64,
    last_at: Option<std::time::Instant>,
    rate: f64,
}

impl StatusCell {
    pub fn new(project: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            project: project.into(),
            rows_read: AtomicU64::new(0),
            inner: Mutex::new(Inner {
                state: RunState::Init,
                stage: Stage::Precheck,
                tables: BTreeMap::new(),
                checkpoint: None,
                last_error: None,
                notices: VecDeque::new(),
                rate: RateWindow::default(),
                stages: Vec::new(),
            }),
        })
    }

    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        // A poisoned lock only means another thread panicked while holding it; the
        // status is still the best information available.
        let mut g = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut g)
    }

    pub fn set_state(&self, state: RunState) {
        self.with(|i| i.state = state);
    }

    pub fn state(&self) -> RunState {
        self.with(|i| i.state)
    }

    /// Moves to `stage`, remembering when it was entered (a repeat changes nothing).
    pub fn set_stage(&self, stage: Stage) {
        let at_ms = crate::delivery::unix_ms();
        self.with(|i| {
            i.stage = stage;
            if i.stages.last().map(|s| s.stage) != Some(stage) {
                i.stages.push(StageEntered { stage, at_ms });
            }
        });
    }

    pub fn fail(&self, error: ErrorReport) {
        self.with(|i| {
            i.state = RunState::Failed;
            i.last_error = Some(error);
        });
    }

    /// Records a problem the project is riding out (it keeps running).
    pub fn set_error(&self, error: ErrorReport) {
        self.with(|i| i.last_error = Some(error));
    }

    pub fn clear_error(&self) {
        self.with(|i| i.last_error = None);
    }

    pub fn set_table(&self, table: &str, status: TableStatus) {
        self.with(|i| {
            i.tables.insert(table.to_string(), status);
        });
    }

    pub fn add_table_rows(&self, table: &str, rows: u64, done: bool) {
        self.with(|i| {
            let t = i.tables.entry(table.to_string()).or_default();
            t.rows_done += rows;
            t.done |= done;
        });
    }

    /// Records a notice (see [`StatusSnapshot::notices`]) with the next number; the last
    /// [`KEPT_NOTICES`] are kept.
    pub fn add_notice(&self, notice: crate::NoticeMessage) {
        use obsync_model::MessageCode;
        let (message, coded) = (notice.english(), notice.coded());
        self.with(|i| {
            let number = i.notices.back().map_or(1, |n| n.number + 1);
            if i.notices.len() == KEPT_NOTICES {
                i.notices.pop_front();
            }
            i.notices.push_back(Notice {
                number,
                message,
                coded,
            });
        });
    }

    /// The kept notices numbered above `seen` (0: from the first), and how many of
    /// those are no longer kept.
    pub fn notices_since(&self, seen: u64) -> NoticesSince {
        self.with(|i| {
            let notices: Vec<Notice> = i
                .notices
                .iter()
                .filter(|n| n.number > seen)
                .cloned()
                .collect();
            let missed = notices.first().map_or(0, |first| first.number - seen - 1);
            NoticesSince { notices, missed }
        })
    }

    pub fn set_checkpoint(&self, checkpoint: String) {
        self.with(|i| i.checkpoint = Some(checkpoint));
    }

    /// Copies the status; `acked`, `checkpoint_time` and `caught_up` come from the
    /// delivery tracker.
    pub fn snapshot(
        &self,
        acked: u64,
        checkpoint_time: Option<u64>,
        caught_up: Option<CaughtUp>,
    ) -> StatusSnapshot {
        let rows_read = self.rows_read.load(Ordering::Relaxed);
        let now = crate::delivery::unix_ms() / 1000;
        let (lag_seconds, idle_since) = lag(now, checkpoint_time, caught_up);
        self.with(|i| {
            let at = std::time::Instant::now();
            if let Some(prev) = i.rate.last_at {
                let secs = at.duration_since(prev).as_secs_f64();
                if secs >= 0.5 {
                    i.rate.rate = (rows_read - i.rate.last_rows) as f64 / secs;
                    i.rate.last_rows = rows_read;
                    i.rate.last_at = Some(at);
                }
            } else {
                i.rate.last_rows = rows_read;
                i.rate.last_at = Some(at);
            }
            StatusSnapshot {
                project: self.project.clone(),
                state: i.state,
                stage: i.stage,
                tables: i.tables.clone(),
                checkpoint: i.checkpoint.clone(),
                checkpoint_time,
                lag_seconds,
                idle_since,
                rows_read,
                messages_acked: acked,
                rows_per_second: i.rate.rate,
                last_error: i.last_error.clone(),
                notices: i.notices.iter().cloned().collect(),
                warning: None,
                changes: BTreeMap::new(),
                stages: i.stages.clone(),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lag_is_zero_while_caught_up_however_old_the_last_change() {
        let now = 10_000;
        // Idle for an hour: the last change is old, the reader is at the source's end.
        let idle = CaughtUp {
            at: now - 3,
            since: now - 3_600,
        };
        assert_eq!(
            lag(now, Some(now - 3_600), Some(idle)),
            (Some(0), Some(now - 3_600))
        );
        // No sign of being caught up for longer than CAUGHT_UP_FOR: the lag counts
        // from the last one (or a later commit), and the project is not called idle.
        let stale = CaughtUp {
            at: now - CAUGHT_UP_FOR - 10,
            since: now - 3_600,
        };
        assert_eq!(
            lag(now, Some(now - 3_600), Some(stale)),
            (Some(CAUGHT_UP_FOR + 10), None)
        );
        // Never caught up (reading a backlog): the time since the checkpoint's commit.
        assert_eq!(lag(now, Some(now - 42), None), (Some(42), None));
        assert_eq!(lag(now, None, None), (None, None));
    }

    /// A notice that names `n`.
    fn numbered(n: usize) -> crate::NoticeMessage {
        crate::NoticeMessage::BackfillFinished {
            table: format!("t{n}"),
        }
    }

    #[test]
    fn notices_are_numbered_and_fetched_after_the_last_seen_past_the_kept_window() {
        let status = StatusCell::new("p");
        let mut seen = 0;
        let mut got = Vec::new();
        for batch in [3, KEPT_NOTICES + 20, 1] {
            for _ in 0..batch {
                status.add_notice(numbered(got.len() + 1));
                // Read after every notice: nothing is missed however many come.
                let since = status.notices_since(seen);
                assert_eq!(since.missed, 0);
                for n in since.notices {
                    assert_eq!(n.number, seen + 1, "numbers are consecutive");
                    seen = n.number;
                    got.push(n.message);
                }
            }
        }
        assert_eq!(got.len(), KEPT_NOTICES + 24);
        assert_eq!(got.last().unwrap(), &numbered(KEPT_NOTICES + 24).english());
        assert_eq!(status.snapshot(0, None, None).notices.len(), KEPT_NOTICES);
    }

    #[test]
    fn a_reader_too_slow_for_the_kept_window_learns_how_many_it_missed() {
        let status = StatusCell::new("p");
        for i in 0..KEPT_NOTICES + 30 {
            status.add_notice(numbered(i));
        }
        let since = status.notices_since(5);
        assert_eq!(since.missed, 25);
        assert_eq!(since.notices.len(), KEPT_NOTICES);
        assert_eq!(since.notices[0].number, 31);
        assert_eq!(
            status.notices_since(KEPT_NOTICES as u64 + 30),
            NoticesSince::default()
        );
    }

    #[test]
    fn a_warning_keeps_its_first_time_and_clears_per_cause() {
        use crate::WarningMessage;
        let w = Warnings::default();
        let problem = |p: &str| WarningMessage::SourceReconnecting { problem: p.into() };
        w.set(WarningCause::Kafka, problem("first"));
        let since = w.oldest().unwrap().since;
        w.set(WarningCause::Kafka, problem("second"));
        let oldest = w.oldest().unwrap();
        assert_eq!(
            (oldest.message.as_str(), oldest.since),
            ("second; retrying with backoff", since)
        );
        assert_eq!(oldest.coded.code, "event.warning.source_reconnecting");
        assert_eq!(oldest.coded.params["problem"], "second");
        w.set(WarningCause::Source, problem("source"));
        w.clear(WarningCause::Kafka);
        assert_eq!(w.oldest().unwrap().message, "source; retrying with backoff");
        w.clear(WarningCause::Source);
        assert_eq!(w.oldest(), None);
    }
}
