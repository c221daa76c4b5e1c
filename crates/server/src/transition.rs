//! The one writer of a project's state: applies [`lifecycle::next`] to a stored
//! project, records the state event and saves the record with its `updated_at`.
//!
//! Architecture invariant: no other module assigns a project's state (a test below
//! scans the crate's sources). Callers hold `AppState::lifecycle` so that the state
//! they read is the one they change.

use obsync_model::{message_codes, MessageCode};

use crate::error::Result;
use crate::lifecycle::{self, Event, ProjectState};
use crate::model::{now_rfc3339, EventKind, ProjectRecord};
use crate::state::AppState;

/// Why a state event happened, when the change alone does not say it. To add one: a
/// variant here, its code in [`StateMessage`], and its text in the console's dictionaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Note {
    /// The run did every requested stage.
    StagesDone,
    /// A pause stopped the run with its checkpoint saved.
    CheckpointSaved,
    /// A running project resumed when the server started.
    ResumedAfterServerStart,
}

impl Note {
    fn english(self) -> &'static str {
        match self {
            Note::StagesDone => "every requested stage is done",
            Note::CheckpointSaved => "checkpoint saved",
            Note::ResumedAfterServerStart => "resuming from the checkpoint after a server start",
        }
    }
}

message_codes! {
    /// A state event as the console says it: the change, and why when a note says it.
    pub enum StateMessage {
        Changed = "event.state.changed" { from: String, to: String },
        StagesDone = "event.state.stages_done" { from: String, to: String },
        CheckpointSaved = "event.state.checkpoint_saved" { from: String, to: String },
        ResumedAfterServerStart = "event.state.resumed_after_server_start" { from: String, to: String },
    }
}

impl StateMessage {
    fn new(from: ProjectState, to: ProjectState, note: Option<Note>) -> StateMessage {
        let (from, to) = (from.as_str().to_string(), to.as_str().to_string());
        match note {
            None => StateMessage::Changed { from, to },
            Some(Note::StagesDone) => StateMessage::StagesDone { from, to },
            Some(Note::CheckpointSaved) => StateMessage::CheckpointSaved { from, to },
            Some(Note::ResumedAfterServerStart) => {
                StateMessage::ResumedAfterServerStart { from, to }
            }
        }
    }

    /// The event log's English: `from → to`, and `: note` when there is one.
    fn english(from: ProjectState, to: ProjectState, note: Option<Note>) -> String {
        match note {
            None => format!("{} → {}", from.as_str(), to.as_str()),
            Some(note) => format!("{} → {}: {}", from.as_str(), to.as_str(), note.english()),
        }
    }
}

/// Moves `record` by `event`, then saves it with whatever else the caller changed in
/// it. A state event (`from → to`, and `note` when given) is logged when the state
/// changes or a note says something happened anyway (a resume at a server start).
/// Refused events change nothing.
pub async fn apply(
    state: &AppState,
    record: &mut ProjectRecord,
    event: Event,
    actor: &str,
    note: Option<Note>,
) -> Result<ProjectState> {
    let from = record.state;
    let to = lifecycle::next(from, event)?;
    if from != to || note.is_some() {
        let message = StateMessage::english(from, to, note);
        let coded = StateMessage::new(from, to, note).coded();
        state
            .store
            .add_event(&record.id, EventKind::State, actor, &message, &coded, &[])
            .await?;
    }
    record.state = to;
    record.updated_at = now_rfc3339();
    // Compare-and-swap at the revision the caller read; the record follows the store.
    record.revision = state.store.put_project(record).await?;
    Ok(to)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::{Note, StateMessage};
    use crate::lifecycle::ProjectState;
    use obsync_model::MessageCode;

    #[test]
    fn a_state_event_carries_its_states_and_note_as_code_and_params() {
        let (from, to) = (ProjectState::Paused, ProjectState::Running);
        let coded = StateMessage::new(from, to, Some(Note::ResumedAfterServerStart)).coded();
        assert_eq!(coded.code, "event.state.resumed_after_server_start");
        assert_eq!(coded.params["from"], "paused");
        assert_eq!(coded.params["to"], "running");
        assert_eq!(
            StateMessage::english(from, to, Some(Note::CheckpointSaved)),
            "paused → running: checkpoint saved"
        );
        assert_eq!(
            StateMessage::new(from, to, None).coded().code,
            "event.state.changed"
        );
    }

    /// Every `.rs` file under `dir`.
    fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                sources(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    /// An assignment to a field named `state` (`record.state = …`), not a comparison.
    fn assigns_state(line: &str) -> bool {
        line.match_indices(".state").any(|(at, _)| {
            let rest = line[at + ".state".len()..].trim_start();
            rest.starts_with('=') && !rest.starts_with("==")
        })
    }

    #[test]
    fn only_the_writer_assigns_a_project_state() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut files = Vec::new();
        sources(&src, &mut files);
        let writer = src.join("transition.rs");
        let mut offenders = Vec::new();
        for file in files.iter().filter(|f| **f != writer) {
            let text = std::fs::read_to_string(file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or_default();
                if assigns_state(code) || code.contains("state: ProjectState::") {
                    offenders.push(format!("{}:{}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
        assert!(
            offenders.is_empty(),
            "a project's state is written only by transition::apply (new records start at lifecycle::INITIAL):\n{}",
            offenders.join("\n")
        );
    }

    #[test]
    fn the_scan_sees_assignments_and_not_comparisons() {
        assert!(assigns_state("    record.state = ProjectState::Failed;"));
        assert!(assigns_state("p.state=x"));
        assert!(!assigns_state("if record.state == ProjectState::Running {"));
        assert!(!assigns_state("let s = record.state;"));
    }
}
