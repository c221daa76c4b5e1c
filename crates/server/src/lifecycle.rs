//! A project's life: its states, the events that move it, and [`next`], the one table
//! of transitions. Pure: the only code that applies it to a stored project is
//! [`crate::transition`] (architecture invariant, checked by a test there).
//!
//! One vocabulary: [`ProjectState`], [`Stage`], [`Action`] and [`OmsStatus`] are the
//! API's enums (in the OpenAPI document, hence the console's generated types) and what
//! the OMS shim maps from.

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

/// The state of a new project.
pub const INITIAL: ProjectState = ProjectState::NotStarted;

/// OMS's name of a project state (`oms_status`, and the OMS API shim).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OmsStatus {
    Init,
    Running,
    Suspend,
    Failed,
    Finished,
    Releasing,
    Released,
}

impl OmsStatus {
    /// OMS's spelling (`RUNNING`).
    pub fn as_str(self) -> &'static str {
        match self {
            OmsStatus::Init => "INIT",
            OmsStatus::Running => "RUNNING",
            OmsStatus::Suspend => "SUSPEND",
            OmsStatus::Failed => "FAILED",
            OmsStatus::Finished => "FINISHED",
            OmsStatus::Releasing => "RELEASING",
            OmsStatus::Released => "RELEASED",
        }
    }
}

/// The stage a run is in (or where it stopped), in the order a run goes through them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Schema,
    Full,
    Incremental,
}

impl Stage {
    /// The stage a run begins with, before the engine reports one.
    pub const FIRST: Stage = Stage::Schema;

    /// The API's name, also the sync type that asks for the stage (`spec.sync.types`).
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Schema => "schema",
            Stage::Full => "full",
            Stage::Incremental => "incremental",
        }
    }
}

impl From<obsync_pipeline::Stage> for Stage {
    /// The engine's stage; its precheck is part of getting the schema stage going.
    fn from(stage: obsync_pipeline::Stage) -> Stage {
        use obsync_pipeline::Stage as P;
        match stage {
            P::Precheck | P::Schema => Stage::Schema,
            P::Full => Stage::Full,
            P::Incremental => Stage::Incremental,
        }
    }
}

impl ProjectState {
    /// OMS's name for the state.
    pub fn oms_status(self) -> OmsStatus {
        match self {
            ProjectState::NotStarted | ProjectState::Prechecking | ProjectState::PrecheckFailed => {
                OmsStatus::Init
            }
            ProjectState::Running => OmsStatus::Running,
            ProjectState::Paused => OmsStatus::Suspend,
            ProjectState::Failed => OmsStatus::Failed,
            ProjectState::Finished => OmsStatus::Finished,
            ProjectState::Releasing => OmsStatus::Releasing,
            ProjectState::Released => OmsStatus::Released,
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

    /// Whether `action` may be taken in this state ([`next`] accepts it). Start also
    /// needs a passed precheck of the current definition; that is the record's
    /// ([`crate::model::ProjectRecord::precheck_passed`]).
    pub fn allows(self, action: Action) -> bool {
        next(self, Event::Act(action)).is_ok()
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

/// Why a run was asked to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The user paused the project.
    Pause,
    /// The server is shutting down; the project resumes at the next start.
    Shutdown,
}

/// Something that happens to a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    /// A user's action. Pause leaves the project running until its run stops
    /// ([`Event::RunStopped`]); delete and clone leave the state as it is (delete then
    /// removes the record).
    Act(Action),
    /// The precheck of the current definition passed.
    PrecheckPassed,
    /// The precheck ran and found problems.
    PrecheckFailed,
    /// The precheck could not run (the definition no longer renders): back to the state
    /// it was started from.
    PrecheckAborted { from: ProjectState },
    /// Nothing runs in the states release is allowed from, so releasing ends at once.
    ReleaseDone,
    /// The run did every requested stage.
    RunFinished,
    /// The run stopped with an error (or could not start again at a server start).
    RunFailed,
    /// The run stopped on request, its checkpoint saved.
    RunStopped(StopReason),
    /// The server started: what was interrupted by its stop is settled.
    ServerStarted,
}

/// An event the state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{}", describe(*.state, *.event))]
pub struct InvalidTransition {
    pub state: ProjectState,
    pub event: Event,
}

fn describe(state: ProjectState, event: Event) -> String {
    match event {
        Event::Act(action) => {
            let allowed: Vec<&str> = state
                .allowed_actions()
                .into_iter()
                .map(Action::as_str)
                .collect();
            format!(
                "cannot {} a project that is {}; allowed now: {}",
                action.as_str(),
                state.as_str(),
                allowed.join(", ")
            )
        }
        other => format!(
            "{other:?} cannot happen to a project that is {}",
            state.as_str()
        ),
    }
}

/// The state after `event` in `state`: the project's whole life in one table.
pub fn next(state: ProjectState, event: Event) -> Result<ProjectState, InvalidTransition> {
    use Action::*;
    use ProjectState::*;
    let to = match (state, event) {
        (same, Event::Act(Clone)) => Some(same),
        (NotStarted | PrecheckFailed, Event::Act(Edit)) => Some(NotStarted),
        (NotStarted | PrecheckFailed, Event::Act(Precheck)) => Some(Prechecking),
        (NotStarted | PrecheckFailed, Event::Act(Start)) => Some(Running),
        (same @ (NotStarted | PrecheckFailed | Released), Event::Act(Delete)) => Some(same),
        (Running, Event::Act(Pause)) => Some(Running),
        (Paused | Failed, Event::Act(Resume)) => Some(Running),
        (Paused | Failed | Finished, Event::Act(Release)) => Some(Releasing),
        (Prechecking, Event::PrecheckPassed) => Some(NotStarted),
        (Prechecking, Event::PrecheckFailed) => Some(PrecheckFailed),
        (
            Prechecking,
            Event::PrecheckAborted {
                from: from @ (NotStarted | PrecheckFailed),
            },
        ) => Some(from),
        (Releasing, Event::ReleaseDone) => Some(Released),
        (Running, Event::RunFinished) => Some(Finished),
        (Running, Event::RunFailed) => Some(Failed),
        (Running, Event::RunStopped(StopReason::Pause)) => Some(Paused),
        (Running, Event::RunStopped(StopReason::Shutdown)) => Some(Running),
        // A precheck has no process to come back to; a release had nothing to stop.
        (Prechecking, Event::ServerStarted) => Some(NotStarted),
        (Releasing, Event::ServerStarted) => Some(Released),
        (same, Event::ServerStarted) => Some(same),
        _ => None,
    };
    to.ok_or(InvalidTransition { state, event })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProjectState::*;

    /// Every event, user actions included.
    fn all_events() -> Vec<Event> {
        let mut events: Vec<Event> = ALL_ACTIONS.into_iter().map(Event::Act).collect();
        events.extend([
            Event::PrecheckPassed,
            Event::PrecheckFailed,
            Event::ReleaseDone,
            Event::RunFinished,
            Event::RunFailed,
            Event::RunStopped(StopReason::Pause),
            Event::RunStopped(StopReason::Shutdown),
            Event::ServerStarted,
        ]);
        events.extend(
            ALL_STATES
                .into_iter()
                .map(|from| Event::PrecheckAborted { from }),
        );
        events
    }

    /// The expected table, written out per state: every event a state allows and where
    /// it leads. Anything not listed must be refused.
    fn expected(state: ProjectState, event: Event) -> Option<ProjectState> {
        let act = |a: Action| Event::Act(a);
        let rows: &[(ProjectState, Event, ProjectState)] = &[
            (NotStarted, act(Action::Precheck), Prechecking),
            (NotStarted, act(Action::Start), Running),
            (NotStarted, act(Action::Edit), NotStarted),
            (NotStarted, act(Action::Delete), NotStarted),
            (NotStarted, act(Action::Clone), NotStarted),
            (NotStarted, Event::ServerStarted, NotStarted),
            (Prechecking, Event::PrecheckPassed, NotStarted),
            (Prechecking, Event::PrecheckFailed, PrecheckFailed),
            (
                Prechecking,
                Event::PrecheckAborted { from: NotStarted },
                NotStarted,
            ),
            (
                Prechecking,
                Event::PrecheckAborted {
                    from: PrecheckFailed,
                },
                PrecheckFailed,
            ),
            (Prechecking, act(Action::Clone), Prechecking),
            (Prechecking, Event::ServerStarted, NotStarted),
            (PrecheckFailed, act(Action::Precheck), Prechecking),
            (PrecheckFailed, act(Action::Start), Running),
            (PrecheckFailed, act(Action::Edit), NotStarted),
            (PrecheckFailed, act(Action::Delete), PrecheckFailed),
            (PrecheckFailed, act(Action::Clone), PrecheckFailed),
            (PrecheckFailed, Event::ServerStarted, PrecheckFailed),
            (Running, act(Action::Pause), Running),
            (Running, act(Action::Clone), Running),
            (Running, Event::RunFinished, Finished),
            (Running, Event::RunFailed, Failed),
            (Running, Event::RunStopped(StopReason::Pause), Paused),
            (Running, Event::RunStopped(StopReason::Shutdown), Running),
            (Running, Event::ServerStarted, Running),
            (Paused, act(Action::Resume), Running),
            (Paused, act(Action::Release), Releasing),
            (Paused, act(Action::Clone), Paused),
            (Paused, Event::ServerStarted, Paused),
            (Failed, act(Action::Resume), Running),
            (Failed, act(Action::Release), Releasing),
            (Failed, act(Action::Clone), Failed),
            (Failed, Event::ServerStarted, Failed),
            (Finished, act(Action::Release), Releasing),
            (Finished, act(Action::Clone), Finished),
            (Finished, Event::ServerStarted, Finished),
            (Releasing, Event::ReleaseDone, Released),
            (Releasing, act(Action::Clone), Releasing),
            (Releasing, Event::ServerStarted, Released),
            (Released, act(Action::Delete), Released),
            (Released, act(Action::Clone), Released),
            (Released, Event::ServerStarted, Released),
        ];
        rows.iter()
            .find(|(s, e, _)| *s == state && *e == event)
            .map(|(_, _, to)| *to)
    }

    #[test]
    fn every_state_and_event_follows_the_table() {
        let mut checked = 0;
        for state in ALL_STATES {
            for event in all_events() {
                let got = next(state, event);
                match expected(state, event) {
                    Some(to) => assert_eq!(got, Ok(to), "{state:?} + {event:?}"),
                    None => assert_eq!(
                        got,
                        Err(InvalidTransition { state, event }),
                        "{state:?} + {event:?} must be refused"
                    ),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, ALL_STATES.len() * all_events().len());
    }

    #[test]
    fn a_finished_run_finishes_the_project() {
        assert_eq!(next(Running, Event::RunFinished), Ok(Finished));
    }

    #[test]
    fn a_failed_run_fails_the_project_which_may_resume() {
        assert_eq!(next(Running, Event::RunFailed), Ok(Failed));
        assert!(Failed.allows(Action::Resume));
    }

    #[test]
    fn a_run_stopped_for_a_pause_pauses_and_for_a_shutdown_stays_running() {
        assert_eq!(
            next(Running, Event::RunStopped(StopReason::Pause)),
            Ok(Paused)
        );
        assert_eq!(
            next(Running, Event::RunStopped(StopReason::Shutdown)),
            Ok(Running)
        );
    }

    #[test]
    fn a_run_outcome_without_a_run_is_refused() {
        for outcome in [
            Event::RunFinished,
            Event::RunFailed,
            Event::RunStopped(StopReason::Pause),
        ] {
            assert!(next(Paused, outcome).is_err(), "{outcome:?}");
        }
    }

    #[test]
    fn release_only_from_paused_failed_or_finished_as_oms() {
        let from: Vec<_> = ALL_STATES
            .into_iter()
            .filter(|s| s.allows(Action::Release))
            .collect();
        assert_eq!(from, [Paused, Failed, Finished]);
    }

    #[test]
    fn delete_only_when_not_started_or_released() {
        let from: Vec<_> = ALL_STATES
            .into_iter()
            .filter(|s| s.allows(Action::Delete))
            .collect();
        assert_eq!(from, [NotStarted, PrecheckFailed, Released]);
    }

    #[test]
    fn a_refused_action_names_the_state_and_what_it_allows() {
        let e = next(NotStarted, Event::Act(Action::Pause)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot pause a project that is not_started; allowed now: precheck, start, delete, edit, clone"
        );
    }

    #[test]
    fn state_names_round_trip() {
        for s in ALL_STATES {
            assert_eq!(ProjectState::parse(s.as_str()), Some(s));
            assert_eq!(
                serde_json::to_value(s.oms_status()).unwrap(),
                s.oms_status().as_str()
            );
        }
    }

    #[test]
    fn stages_keep_their_stored_names() {
        for (stage, name) in [
            (Stage::Schema, "schema"),
            (Stage::Full, "full"),
            (Stage::Incremental, "incremental"),
        ] {
            assert_eq!(serde_json::to_value(stage).unwrap(), name);
            assert_eq!(stage.as_str(), name);
        }
    }
}
