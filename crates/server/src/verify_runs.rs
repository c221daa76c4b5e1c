//! Verify runs started from the API: `obsync verify` (`obsync_pipeline::verify`) on a
//! project's current definition, in the background, one at a time per project, with
//! its progress and, at the end, its report or error.
//!
//! Verify only reads (Kafka without a consumer group, SELECTs at the source), so a run
//! needs no lifecycle state and may run while the project does. Runs live in memory:
//! the last run of each project is kept until the server restarts.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use obsync_model::{message_codes, MessageCode};
use obsync_pipeline::verify::{self, Progress, VerifyOptions, VerifyReport};

use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::model::now_rfc3339;
use crate::state::AppState;

/// What a run is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunPhase {
    Running,
    Finished(Box<VerifyReport>),
    /// Verify could not finish: the error chain, as text, and the same by code
    /// ([`VerifyMessage::Failed`], its innermost cause).
    Failed(String, VerifyMessage),
}

/// One verify run of a project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyRun {
    pub started_at: String,
    pub started_by: String,
    pub finished_at: Option<String>,
    pub phase: RunPhase,
    /// Topic records read so far (all topics).
    pub records_read: u64,
    /// Source rows compared so far (all tables).
    pub rows_checked: u64,
    /// What it is doing now, e.g. `reading topic orders`.
    pub activity: Option<VerifyMessage>,
}

/// The runs, by project id.
#[derive(Default)]
pub struct VerifyRuns {
    runs: Mutex<HashMap<String, Arc<Mutex<VerifyRun>>>>,
}

impl VerifyRuns {
    /// The last run of project `id`, if any.
    pub fn get(&self, id: &str) -> Option<VerifyRun> {
        let runs = self.runs.lock().expect("verify runs lock");
        runs.get(id)
            .map(|r| r.lock().expect("verify run lock").clone())
    }
}

message_codes! {
    /// How a verify run ended, as the event log says it (`error`: the innermost cause).
    pub enum VerifyMessage {
        Clean = "event.verify.clean" {},
        Differences = "event.verify.differences" {},
        Failed = "event.verify.failed" { error: String },
        /// What a run is doing (its progress line, not an event).
        ReadingTopic = "event.verify.reading_topic" { topic: String },
        Comparing = "event.verify.comparing" { table: String },
        Rechecking = "event.verify.rechecking" { keys: usize, topic: String, round: u32 },
    }
}

impl VerifyMessage {
    /// The English of a run's activity.
    pub fn english(&self) -> String {
        match self {
            VerifyMessage::ReadingTopic { topic } => format!("reading topic {topic}"),
            VerifyMessage::Comparing { table } => format!("comparing {table}"),
            VerifyMessage::Rechecking { keys, topic, round } => {
                format!("checking {keys} differing key(s) of topic {topic} again (round {round})")
            }
            VerifyMessage::Clean {} => "verify finished: clean".into(),
            VerifyMessage::Differences {} => "verify finished: differences found".into(),
            // The event says the whole chain (`start`); the code, the innermost cause.
            VerifyMessage::Failed { error } => format!("verify failed: {error}"),
        }
    }
}

/// The latest progress counts: records read per topic, rows compared per table.
#[derive(Default)]
struct Counters {
    records: HashMap<String, u64>,
    rows: HashMap<String, u64>,
}

/// Starts a verify run of project `id`; refused while one runs.
pub async fn start(state: &AppState, id: &str, actor: &Actor) -> Result<VerifyRun> {
    let record = crate::service::get(state, id).await?;
    let settings = crate::service::settings(state, &record.spec).await?;
    let run = Arc::new(Mutex::new(VerifyRun {
        started_at: now_rfc3339(),
        started_by: actor.who(),
        finished_at: None,
        phase: RunPhase::Running,
        records_read: 0,
        rows_checked: 0,
        activity: None,
    }));
    {
        let mut runs = state.verifies.runs.lock().expect("verify runs lock");
        if let Some(r) = runs.get(id) {
            if r.lock().expect("verify run lock").phase == RunPhase::Running {
                return Err(Error::VerifyRunning { id: id.to_string() });
            }
        }
        runs.insert(id.to_string(), run.clone());
    }
    crate::audit::record(
        state,
        actor,
        crate::audit::Subject::Project(id),
        crate::audit::AuditMessage::VerifyStarted {},
    )
    .await?;
    let progress_run = run.clone();
    // Called from blocking threads too; the counters are per topic/table, summed here.
    let seen: Arc<Mutex<Counters>> = Default::default();
    let progress: verify::ProgressFn = Arc::new(move |p: Progress| {
        let mut seen = seen.lock().expect("verify progress lock");
        let mut run = progress_run.lock().expect("verify run lock");
        match p {
            Progress::TopicRead { topic, records } => {
                seen.records.insert(topic.clone(), records);
                run.records_read = seen.records.values().sum();
                run.activity = Some(VerifyMessage::ReadingTopic { topic });
            }
            Progress::RowsChecked { table, rows } => {
                seen.rows.insert(table.clone(), rows);
                run.rows_checked = seen.rows.values().sum();
                run.activity = Some(VerifyMessage::Comparing { table });
            }
            Progress::Recheck { topic, round, keys } => {
                run.activity = Some(VerifyMessage::Rechecking { keys, topic, round });
            }
        }
    });
    let first = run.lock().expect("verify run lock").clone();
    let store = state.store.clone();
    let project = id.to_string();
    tokio::spawn(async move {
        let result = verify::verify(&settings, &VerifyOptions::default(), progress).await;
        let (message, coded) = {
            let mut r = run.lock().expect("verify run lock");
            r.finished_at = Some(now_rfc3339());
            r.activity = None;
            match result {
                Ok(report) => {
                    let said = if report.is_clean() {
                        VerifyMessage::Clean {}
                    } else {
                        VerifyMessage::Differences {}
                    };
                    r.phase = RunPhase::Finished(Box::new(report));
                    (said.english(), said)
                }
                Err(e) => {
                    let text = obsync_model::ErrorChain(&e).to_string();
                    let error = crate::runtime::root_cause(&e);
                    let coded = VerifyMessage::Failed { error };
                    r.phase = RunPhase::Failed(text.clone(), coded.clone());
                    (format!("verify failed: {text}"), coded)
                }
            }
        };
        if let Err(e) = store
            .add_event(
                &project,
                crate::model::EventKind::Notice,
                "system",
                &message,
                &coded.coded(),
                &[],
            )
            .await
        {
            tracing::warn!(project, error = %obsync_model::ErrorChain(&e), "cannot record the verify result in the event log");
        }
    });
    Ok(first)
}
