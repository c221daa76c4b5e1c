//! The one writer of a project's state: applies [`lifecycle::next`] to a stored
//! project, records the state event and saves the record with its `updated_at`.
//!
//! Architecture invariant: no other module assigns a project's state (a test below
//! scans the crate's sources). Callers hold `AppState::lifecycle` so that the state
//! they read is the one they change.

use crate::error::Result;
use crate::lifecycle::{self, Event, ProjectState};
use crate::model::{now_rfc3339, EventKind, ProjectRecord};
use crate::state::AppState;

/// Moves `record` by `event`, then saves it with whatever else the caller changed in
/// it. A state event (`from → to`, and `note` when given) is logged when the state
/// changes or a note says something happened anyway (a resume at a server start).
/// Refused events change nothing.
pub async fn apply(
    state: &AppState,
    record: &mut ProjectRecord,
    event: Event,
    actor: &str,
    note: Option<&str>,
) -> Result<ProjectState> {
    let from = record.state;
    let to = lifecycle::next(from, event)?;
    let message = match (from == to, note) {
        (true, None) => None,
        (true, Some(note)) => Some(note.to_string()),
        (false, None) => Some(format!("{} → {}", from.as_str(), to.as_str())),
        (false, Some(note)) => Some(format!("{} → {}: {note}", from.as_str(), to.as_str())),
    };
    if let Some(message) = message {
        state
            .store
            .add_event(&record.id, EventKind::State, actor, &message, &[])
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
