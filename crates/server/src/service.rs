//! Project operations shared by the REST API and the OMS shim: each checks the
//! lifecycle ([`crate::lifecycle`]), changes the record, moves its state through the
//! one writer ([`crate::transition`]) and drives the runtime. Errors are the domain's
//! ([`crate::error`]); the API maps them.

use obsync_config::ProjectConfig;
use obsync_pipeline::Settings;

use crate::audit::AuditMessage;
use crate::auth::Actor;
use crate::error::{Error, Result};
use crate::lifecycle::{self, Action, Event, ProjectState, Stage};
use crate::model::{
    new_id, now_rfc3339, ErrorInfo, PrecheckRecord, ProjectRecord, ProjectSpec, Tag,
};
use crate::spec::{self, Rendered, SpecContext};
use crate::state::AppState;
use crate::transition;
use obsync_model::MessageCode;

/// Renders `spec` against the stored data sources and tags; `with_secrets` opens the
/// sealed passwords (for running), else they stay variable names (for export).
pub async fn render(state: &AppState, spec: &ProjectSpec, with_secrets: bool) -> Result<Rendered> {
    render_with(state, spec, with_secrets, &[]).await
}

/// [`render`], with `new_tags` (not stored yet) known besides the stored ones.
async fn render_with(
    state: &AppState,
    spec: &ProjectSpec,
    with_secrets: bool,
    new_tags: &[Tag],
) -> Result<Rendered> {
    let source = state.store.get_datasource(&spec.source_id).await?;
    let target = state.store.get_datasource(&spec.target_id).await?;
    let mut tags = state.store.list_tags().await?;
    tags.extend_from_slice(new_tags);
    let ctx = SpecContext {
        source: source.as_ref(),
        target: target.as_ref(),
        tags: &tags,
    };
    Ok(spec::render(
        spec,
        &ctx,
        with_secrets.then_some(&state.key),
    )?)
}

/// The validated config of `spec` (the project file's rules).
pub async fn config(state: &AppState, spec: &ProjectSpec) -> Result<ProjectConfig> {
    Ok(render(state, spec, true)
        .await?
        .config(chrono::Utc::now().timestamp())?)
}

/// The validated config of `spec` with its secrets unopened (empty): for judging and
/// reading a definition, never for connecting.
pub async fn config_unopened(state: &AppState, spec: &ProjectSpec) -> Result<ProjectConfig> {
    Ok(render(state, spec, false)
        .await?
        .config_unopened(chrono::Utc::now().timestamp())?)
}

/// The engine's settings for `spec`.
pub async fn settings(state: &AppState, spec: &ProjectSpec) -> Result<Settings> {
    let mut settings = Settings::from_config(config(state, spec).await?);
    settings.shared_stream = state.shared_stream;
    Ok(settings)
}

pub async fn get(state: &AppState, id: &str) -> Result<ProjectRecord> {
    state
        .store
        .get_project(id)
        .await?
        .ok_or_else(|| Error::not_found("project", id))
}

/// Refuses `action` unless the record's state allows it.
fn check(record: &ProjectRecord, action: Action) -> Result<()> {
    lifecycle::next(record.state, Event::Act(action))?;
    Ok(())
}

async fn audit(state: &AppState, id: &str, actor: &Actor, message: AuditMessage) -> Result<()> {
    Ok(crate::audit::record(state, actor, crate::audit::Subject::Project(id), message).await?)
}

/// Saves a new project (not started) after validating its spec.
pub async fn create(state: &AppState, spec: ProjectSpec, actor: &Actor) -> Result<ProjectRecord> {
    create_with_tags(state, spec, actor, &[]).await
}

/// [`create`], storing `new_tags` (which the spec may name) only if the spec is accepted.
pub async fn create_with_tags(
    state: &AppState,
    spec: ProjectSpec,
    actor: &Actor,
    new_tags: &[Tag],
) -> Result<ProjectRecord> {
    crate::names::check_visible("name", &spec.name)?;
    render_with(state, &spec, false, new_tags)
        .await?
        .config_unopened(chrono::Utc::now().timestamp())?;
    for tag in new_tags {
        state.store.put_tag(tag).await?;
    }
    let now = now_rfc3339();
    let record = ProjectRecord {
        id: new_id("np"),
        spec,
        state: lifecycle::INITIAL,
        stage: None,
        last_error: None,
        precheck: None,
        acked_messages: 0,
        stages: Vec::new(),
        created_by: actor.username.clone(),
        created_at: now.clone(),
        updated_at: now,
        revision: 0,
    };
    let mut record = record;
    record.revision = state.store.put_project(&record).await?;
    audit(
        state,
        &record.id,
        actor,
        AuditMessage::ProjectCreated {
            name: record.spec.name.clone(),
        },
    )
    .await?;
    Ok(record)
}

/// Replaces the spec of a project that has not started.
pub async fn update(
    state: &AppState,
    id: &str,
    spec: ProjectSpec,
    actor: &Actor,
) -> Result<ProjectRecord> {
    update_at(state, id, spec, actor, None).await
}

/// [`update`], only while the project is at revision `expected` (when given).
pub async fn update_at(
    state: &AppState,
    id: &str,
    spec: ProjectSpec,
    actor: &Actor,
    expected: Option<u64>,
) -> Result<ProjectRecord> {
    let _guard = state.lifecycle.lock().await;
    let mut record = get(state, id).await?;
    crate::store::check_revision("project", id, expected, record.revision)?;
    check(&record, Action::Edit)?;
    // Judged after the id and the state: a definition for a project that does not exist
    // or cannot be edited answers 404 or 409, not its validation errors.
    crate::names::check_visible("name", &spec.name)?;
    config_unopened(state, &spec).await?;
    record.spec = spec;
    audit(state, id, actor, AuditMessage::ProjectEdited {}).await?;
    transition::apply(
        state,
        &mut record,
        Event::Act(Action::Edit),
        &actor.who(),
        None,
    )
    .await?;
    Ok(record)
}

pub async fn delete(state: &AppState, id: &str, actor: &Actor) -> Result<()> {
    delete_at(state, id, actor, None).await
}

/// [`delete`], only while the project is at revision `expected` (when given).
pub async fn delete_at(
    state: &AppState,
    id: &str,
    actor: &Actor,
    expected: Option<u64>,
) -> Result<()> {
    let _guard = state.lifecycle.lock().await;
    let record = get(state, id).await?;
    crate::store::check_revision("project", id, expected, record.revision)?;
    check(&record, Action::Delete)?;
    state
        .store
        .delete_project(id, Some(record.revision))
        .await?;
    state.runtime.forget(id);
    let dir = state.project_dir(id);
    if dir.exists() {
        if let Err(e) = std::fs::remove_dir_all(&dir) {
            tracing::warn!(project = %id, error = %e, "cannot remove the project's checkpoint folder");
        }
    }
    audit(
        state,
        id,
        actor,
        AuditMessage::ProjectDeleted {
            name: record.spec.name.clone(),
        },
    )
    .await?;
    Ok(())
}

/// Runs the engine's precheck and keeps it as the project's last precheck.
pub async fn precheck(state: &AppState, id: &str, actor: &Actor) -> Result<ProjectRecord> {
    let (before, spec) = {
        let _guard = state.lifecycle.lock().await;
        let mut record = get(state, id).await?;
        let before = record.state;
        transition::apply(
            state,
            &mut record,
            Event::Act(Action::Precheck),
            &actor.who(),
            None,
        )
        .await?;
        (before, record.spec)
    };
    let items = match settings(state, &spec).await {
        Ok(settings) => obsync_pipeline::precheck::run(&settings, &state.project_dir(id)).await,
        Err(e) => {
            let _guard = state.lifecycle.lock().await;
            let mut record = get(state, id).await?;
            transition::apply(
                state,
                &mut record,
                Event::PrecheckAborted { from: before },
                "system",
                None,
            )
            .await?;
            return Err(e);
        }
    };
    let passed = obsync_pipeline::precheck::passed(&items);
    let _guard = state.lifecycle.lock().await;
    let mut record = get(state, id).await?;
    record.precheck = Some(PrecheckRecord {
        passed,
        checked_at: now_rfc3339(),
        items,
        spec: spec.clone(),
    });
    audit(
        state,
        id,
        actor,
        if passed {
            AuditMessage::PrecheckPassed {}
        } else {
            AuditMessage::PrecheckFailed {}
        },
    )
    .await?;
    let outcome = if passed {
        Event::PrecheckPassed
    } else {
        Event::PrecheckFailed
    };
    transition::apply(state, &mut record, outcome, "system", None).await?;
    Ok(record)
}

/// Starts a project whose current spec passed its precheck.
pub async fn start(state: &AppState, id: &str, actor: &Actor) -> Result<ProjectRecord> {
    let _guard = state.lifecycle.lock().await;
    let mut record = get(state, id).await?;
    check(&record, Action::Start)?;
    if !record.precheck_passed() {
        return Err(Error::PrecheckRequired);
    }
    let settings = settings(state, &record.spec).await?;
    record.last_error = None;
    record.stage = Some(Stage::FIRST);
    // A start begins the project's life: its timeline starts over.
    record.stages.clear();
    audit(state, id, actor, AuditMessage::Started {}).await?;
    transition::apply(
        state,
        &mut record,
        Event::Act(Action::Start),
        &actor.who(),
        None,
    )
    .await?;
    crate::runtime::start(state, id, settings);
    Ok(record)
}

/// Pauses a running project; returns once its checkpoint is saved.
pub async fn pause(state: &AppState, id: &str, actor: &Actor) -> Result<ProjectRecord> {
    {
        let _guard = state.lifecycle.lock().await;
        let mut record = get(state, id).await?;
        check(&record, Action::Pause)?;
        audit(state, id, actor, AuditMessage::Paused {}).await?;
        // The state stays `running` until the run has stopped (`RunStopped`).
        transition::apply(
            state,
            &mut record,
            Event::Act(Action::Pause),
            &actor.who(),
            None,
        )
        .await?;
    }
    match &state.cluster {
        // Another server runs it: that one pauses it when the config log brings it the
        // request, and records `paused` through the log.
        Some(cluster) if !cluster.owns(id) => {
            cluster.config.pause(id).await?;
            let deadline = std::time::Instant::now() + PAUSE_ELSEWHERE_TIMEOUT;
            while get(state, id).await?.state == ProjectState::Running
                && std::time::Instant::now() < deadline
            {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
        }
        _ => crate::runtime::pause(state, id).await,
    }
    get(state, id).await
}

/// How long a pause asked on a server that does not run the project waits for the
/// owner to record it (a run delivers its in-flight messages first).
const PAUSE_ELSEWHERE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// Resumes a paused or failed project from its checkpoint.
pub async fn resume(state: &AppState, id: &str, actor: &Actor) -> Result<ProjectRecord> {
    let _guard = state.lifecycle.lock().await;
    let mut record = get(state, id).await?;
    check(&record, Action::Resume)?;
    let settings = settings(state, &record.spec).await?;
    record.last_error = None;
    audit(state, id, actor, AuditMessage::Resumed {}).await?;
    transition::apply(
        state,
        &mut record,
        Event::Act(Action::Resume),
        &actor.who(),
        None,
    )
    .await?;
    crate::runtime::start(state, id, settings);
    Ok(record)
}

/// Releases a project for good (paused, failed or finished ones only).
pub async fn release(state: &AppState, id: &str, actor: &Actor) -> Result<ProjectRecord> {
    let _guard = state.lifecycle.lock().await;
    let mut record = get(state, id).await?;
    check(&record, Action::Release)?;
    audit(state, id, actor, AuditMessage::Released {}).await?;
    transition::apply(
        state,
        &mut record,
        Event::Act(Action::Release),
        &actor.who(),
        None,
    )
    .await?;
    // Nothing runs in the states release is allowed from; releasing ends at once.
    transition::apply(state, &mut record, Event::ReleaseDone, "system", None).await?;
    Ok(record)
}

/// A new, unstarted project with the same definition and " copy" naming.
pub async fn clone(state: &AppState, id: &str, actor: &Actor) -> Result<ProjectRecord> {
    let record = get(state, id).await?;
    let mut spec = record.spec;
    let mut name: String = spec.name.chars().take(60).collect();
    name.push_str("copy");
    spec.name = name;
    let copy = create(state, spec, actor).await?;
    audit(
        state,
        id,
        actor,
        AuditMessage::Cloned {
            copy: copy.id.clone(),
        },
    )
    .await?;
    Ok(copy)
}

/// After a restart: running projects resume from their checkpoints; interrupted
/// prechecks and releases are settled ([`Event::ServerStarted`]).
pub async fn recover(state: &AppState) -> Result<()> {
    let _guard = state.lifecycle.lock().await;
    for mut record in state.store.list_projects().await? {
        let since = chrono::Utc::now().timestamp() - crate::runtime::HISTORY_SECONDS;
        state.runtime.load_history(
            &record.id,
            state.store.metrics_since(&record.id, since).await?,
        );
        if record.state == ProjectState::Running {
            match settings(state, &record.spec).await {
                Ok(settings) => {
                    transition::apply(
                        state,
                        &mut record,
                        Event::ServerStarted,
                        "system",
                        Some(transition::Note::ResumedAfterServerStart),
                    )
                    .await?;
                    crate::runtime::start(state, &record.id, settings);
                }
                Err(e) => {
                    let info = ErrorInfo::from_error(&e).with_code(
                        crate::runtime::RunMessage::NotResumed {
                            error: crate::runtime::root_cause(&e),
                        }
                        .coded(),
                    );
                    crate::runtime::add_error_event(state, &record.id, &info).await?;
                    record.last_error = Some(info);
                    transition::apply(state, &mut record, Event::RunFailed, "system", None).await?;
                }
            }
        } else if lifecycle::next(record.state, Event::ServerStarted)? != record.state {
            transition::apply(state, &mut record, Event::ServerStarted, "system", None).await?;
        }
    }
    Ok(())
}
