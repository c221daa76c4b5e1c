//! Project states as OMS names them, the actions a user can take, and which action each
//! state allows. Pure: the runtime and the API ask here before changing anything.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Where a project is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProjectState {
    NotStarted,
    Prechecking,
    PrecheckFailed,
    /// Running one of its stages (schema, full, incremental).
    Running,
    Paused,
    /// Stopped by an error; the checkpoint is intact, resume retries.
    Failed,
    /// Every requested stage finished (projects without incremental sync).
    Finished,
    Releasing,
    /// Stopped for good; only delete remains.
    Released,
}

impl ProjectState {
    /// OMS's name for the state (`oms_status`, and the OMS API shim).
    pub fn oms_status(self) -> &'static str {
        match self {
            ProjectState::NotStarted | ProjectState::Prechecking | ProjectState::PrecheckFailed => {
                "INIT"
            }
            ProjectState::Running => "RUNNING",
            ProjectState::Paused => "SUSPEND",
            ProjectState::Failed => "FAILED",
            ProjectState::Finished => "FINISHED",
            ProjectState::Releasing => "RELEASING",
            ProjectState::Released => "RELEASED",
        }
    }

    /// The snake_case name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            ProjectState::NotStarted => "not_started",
            ProjectState::Prechecking => "prechecking",
            ProjectState::PrecheckFailed => "precheck_failed",
            ProjectState::Running => "running",
            ProjectState::Paused => "paused",
            ProjectState::Failed => "failed",
            ProjectState::Finished => "finished",
            ProjectState::Releasing => "releasing",
            ProjectState::Released => "released",
        }
    }

    /// Parses [`ProjectState::as_str`] names.
    pub fn parse(s: &str) -> Option<ProjectState> {
        ALL_STATES.into_iter().find(|state| state.as_str() == s)
    }

    /// The actions this state allows, in a stable order.
    pub fn allowed_actions(self) -> Vec<Action> {
        ALL_ACTIONS
            .into_iter()
            .filter(|a| self.allows(*a))
            .collect()
    }

    /// Whether `action` may be taken in this state. Start also needs a passed precheck
    /// of the current definition; that is checked by the caller.
    pub fn allows(self, action: Action) -> bool {
        use Action::*;
        use ProjectState::*;
        matches!(
            (self, action),
            (_, Clone)
                | (
                    NotStarted | PrecheckFailed,
                    Precheck | Start | Edit | Delete
                )
                | (Running, Pause)
                | (Paused | Failed, Resume | Release)
                | (Finished, Release)
                | (Released, Delete)
        )
    }
}

/// Every state, for parsing and tests.
pub const ALL_STATES: [ProjectState; 9] = [
    ProjectState::NotStarted,
    ProjectState::Prechecking,
    ProjectState::PrecheckFailed,
    ProjectState::Running,
    ProjectState::Paused,
    ProjectState::Failed,
    ProjectState::Finished,
    ProjectState::Releasing,
    ProjectState::Released,
];

/// What a user can do to a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    Precheck,
    Start,
    Pause,
    Resume,
    Release,
    Delete,
    Edit,
    Clone,
}

/// Every action, in the order `allowed_actions` lists them.
pub const ALL_ACTIONS: [Action; 8] = [
    Action::Precheck,
    Action::Start,
    Action::Pause,
    Action::Resume,
    Action::Release,
    Action::Delete,
    Action::Edit,
    Action::Clone,
];

impl Action {
    /// The snake_case name used in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Precheck => "precheck",
            Action::Start => "start",
            Action::Pause => "pause",
            Action::Resume => "resume",
            Action::Release => "release",
            Action::Delete => "delete",
            Action::Edit => "edit",
            Action::Clone => "clone",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_only_from_paused_failed_or_finished_as_oms() {
        let from: Vec<_> = ALL_STATES
            .into_iter()
            .filter(|s| s.allows(Action::Release))
            .collect();
        assert_eq!(
            from,
            [
                ProjectState::Paused,
                ProjectState::Failed,
                ProjectState::Finished
            ]
        );
    }

    #[test]
    fn delete_only_when_not_started_or_released() {
        let from: Vec<_> = ALL_STATES
            .into_iter()
            .filter(|s| s.allows(Action::Delete))
            .collect();
        assert_eq!(
            from,
            [
                ProjectState::NotStarted,
                ProjectState::PrecheckFailed,
                ProjectState::Released
            ]
        );
    }

    #[test]
    fn state_names_round_trip() {
        for s in ALL_STATES {
            assert_eq!(ProjectState::parse(s.as_str()), Some(s));
        }
    }
}
