//! `/api/v1/projects`: definitions, lifecycle, progress, history, events, export and
//! import. The work is in [`crate::service`]; these are the HTTP shapes.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::Extension;
use obsync_model::CheckStatus;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Json, Path, Query};
use super::progress::Progress;
use super::revision::{etag, IfMatch};
use super::{Actor, Paging};

use crate::lifecycle::{Action, OmsStatus, ProjectState, Stage};
use crate::model::{ErrorInfo, Event, MetricPoint, ProjectRecord, ProjectSpec, Tag};
use crate::service;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_projects, create_project))
        .routes(routes!(get_project, update_project, delete_project))
        .routes(routes!(get_precheck, run_precheck))
        .routes(routes!(start_project))
        .routes(routes!(pause_project))
        .routes(routes!(resume_project))
        .routes(routes!(release_project))
        .routes(routes!(clone_project))
        .routes(routes!(progress))
        .routes(routes!(metrics))
        .routes(routes!(events))
        .routes(routes!(export))
        .routes(routes!(import))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DataSourceRef {
    pub id: String,
    pub name: String,
    pub kind: String,
}

/// A project as the API shows it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Project {
    pub id: String,
    pub spec: ProjectSpec,
    pub tags: Vec<Tag>,
    pub state: ProjectState,
    /// OMS's name of the state.
    pub oms_status: OmsStatus,
    /// While running (or where it stopped).
    pub stage: Option<Stage>,
    pub source: DataSourceRef,
    pub target: DataSourceRef,
    pub lag_seconds: Option<u64>,
    pub last_error: Option<ErrorInfo>,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub allowed_actions: Vec<Action>,
    /// The stored revision (also the `ETag`); send it as `If-Match` to change this one.
    pub revision: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ProjectList {
    pub items: Vec<Project>,
    pub total: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectInput {
    pub spec: ProjectSpec,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProjectFilter {
    /// Only projects in this state (`not_started`, `running`, …).
    pub state: Option<String>,
    /// Only projects carrying this tag id.
    pub tag: Option<String>,
    /// Only projects whose name contains this text.
    pub q: Option<String>,
    #[param(minimum = 1)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 150)]
    pub page_size: Option<u64>,
}

/// The last precheck.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Precheck {
    pub passed: bool,
    pub checked_at: Option<String>,
    /// Whether it checked the current definition (start needs that).
    pub current: bool,
    pub items: Vec<PrecheckItem>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PrecheckItem {
    pub name: String,
    pub status: PrecheckStatus,
    /// What was found, in English.
    pub message: String,
    /// How to fix it, in English (file-oriented, as the CLI says it).
    pub fix: Option<String>,
    /// What was found as a stable code (`docs/message-codes.json` lists every code with
    /// its parameters), which the console says in its language; absent only in items
    /// stored before codes existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The values the code's text names (table, column, host, limit), by name.
    #[serde(default)]
    pub params: std::collections::BTreeMap<String, String>,
}

/// The outcome of one precheck item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PrecheckStatus {
    Pass,
    /// Not fatal, but worth knowing.
    Warn,
    Fail,
    /// Its input could not be computed (an item it depends on failed).
    NotChecked,
}

impl From<CheckStatus> for PrecheckStatus {
    fn from(status: CheckStatus) -> PrecheckStatus {
        match status {
            CheckStatus::Pass => PrecheckStatus::Pass,
            CheckStatus::Warn => PrecheckStatus::Warn,
            CheckStatus::Fail => PrecheckStatus::Fail,
            CheckStatus::NotChecked => PrecheckStatus::NotChecked,
        }
    }
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MetricHistory {
    pub points: Vec<MetricPoint>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HistoryRange {
    /// How far back, in seconds (default 3600, at most 86400).
    pub seconds: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventList {
    pub items: Vec<Event>,
    pub total: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    #[param(minimum = 1)]
    pub page: Option<u64>,
    #[param(minimum = 1, maximum = 150)]
    pub page_size: Option<u64>,
}

/// Builds the API view of a record.
pub async fn view(state: &AppState, record: ProjectRecord) -> ApiResult<Project> {
    let live = state.runtime.status(&record.id);
    let tags_all = state.store.list_tags().await?;
    let ds_ref = async |id: &str| -> ApiResult<DataSourceRef> {
        Ok(match state.store.get_datasource(id).await? {
            Some(d) => DataSourceRef {
                kind: d.kind().as_str().into(),
                id: d.id,
                name: d.name,
            },
            None => DataSourceRef {
                id: id.into(),
                name: String::new(),
                kind: String::new(),
            },
        })
    };
    let stage = match (&live, record.state) {
        (Some(s), ProjectState::Running) => Some(s.stage.into()),
        _ => record.stage,
    };
    Ok(Project {
        tags: record
            .spec
            .tag_ids
            .iter()
            .filter_map(|id| tags_all.iter().find(|t| &t.id == id).cloned())
            .collect(),
        oms_status: record.state.oms_status(),
        source: ds_ref(&record.spec.source_id).await?,
        target: ds_ref(&record.spec.target_id).await?,
        lag_seconds: live.as_ref().and_then(|s| s.lag_seconds),
        allowed_actions: record.state.allowed_actions(),
        stage,
        revision: record.revision,
        id: record.id,
        spec: record.spec,
        state: record.state,
        last_error: record.last_error,
        created_by: record.created_by,
        created_at: record.created_at,
        updated_at: record.updated_at,
    })
}

/// Projects, filtered and paged.
#[utoipa::path(get, path = "/api/v1/projects", tag = "projects", params(ProjectFilter),
    responses((status = 200, body = ProjectList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_projects(
    State(state): State<AppState>,
    Query(filter): Query<ProjectFilter>,
) -> ApiResult<Json<ProjectList>> {
    let wanted_state = match filter.state.as_deref().filter(|s| !s.is_empty()) {
        None => None,
        Some(s) => Some(ProjectState::parse(s).ok_or_else(|| {
            ApiError::bad_request(
                "state",
                format!("state {s:?} is not a project state"),
                "use not_started, prechecking, precheck_failed, running, paused, failed, finished, releasing or released",
            )
        })?),
    };
    let paging = Paging::new(filter.page, filter.page_size)?;
    let mut all: Vec<ProjectRecord> = state
        .store
        .list_projects()
        .await?
        .into_iter()
        .filter(|p| wanted_state.is_none_or(|s| p.state == s))
        .filter(|p| {
            filter
                .tag
                .as_ref()
                .is_none_or(|t| p.spec.tag_ids.contains(t))
        })
        .filter(|p| {
            filter
                .q
                .as_ref()
                .is_none_or(|q| p.spec.name.contains(q.as_str()))
        })
        .collect();
    all.reverse(); // newest first
    let total = all.len() as u64;
    let mut items = Vec::new();
    for p in paging.slice(all) {
        items.push(view(&state, p).await?);
    }
    Ok(Json(ProjectList { items, total }))
}

/// Save a new project (not started).
#[utoipa::path(post, path = "/api/v1/projects", tag = "projects", request_body = ProjectInput,
    responses((status = 201, body = Project), (status = 422, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("operator"))))]
async fn create_project(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Json(input): Json<ProjectInput>,
) -> ApiResult<(StatusCode, Json<Project>)> {
    let record = service::create(&state, input.spec, &actor).await?;
    Ok((StatusCode::CREATED, Json(view(&state, record).await?)))
}

/// One project; its `ETag` is its revision.
#[utoipa::path(get, path = "/api/v1/projects/{id}", tag = "projects", params(("id" = String, Path)),
    responses((status = 200, body = Project, headers(("ETag" = String, description = "The stored revision, quoted: send it as If-Match to change this revision only"))),
        (status = 404, body = ErrorBody)))]
async fn get_project(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let record = service::get(&state, &id).await?;
    Ok((etag(record.revision), Json(view(&state, record).await?)))
}

/// Edit a project's definition (only before it started). With `If-Match`, only the
/// revision it names (409 `REVISION_CONFLICT` if it changed meanwhile).
#[utoipa::path(put, path = "/api/v1/projects/{id}", tag = "projects",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "The ETag the change was made to")),
    request_body = ProjectInput,
    responses((status = 200, body = Project, headers(("ETag" = String, description = "The new revision"))),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("operator"))))]
async fn update_project(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(input): Json<ProjectInput>,
) -> ApiResult<impl IntoResponse> {
    let record = service::update_at(&state, &id, input.spec, &actor, if_match.0).await?;
    Ok((etag(record.revision), Json(view(&state, record).await?)))
}

/// Delete a project (only not started or released); with `If-Match`, only that revision.
#[utoipa::path(delete, path = "/api/v1/projects/{id}", tag = "projects",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "The ETag the deletion was decided on")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("operator"))))]
async fn delete_project(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> ApiResult<StatusCode> {
    service::delete_at(&state, &id, &actor, if_match.0).await?;
    Ok(StatusCode::NO_CONTENT)
}

fn precheck_view(record: &ProjectRecord) -> Precheck {
    match &record.precheck {
        None => Precheck {
            passed: false,
            checked_at: None,
            current: false,
            items: vec![],
        },
        Some(p) => Precheck {
            passed: p.passed,
            checked_at: Some(p.checked_at.clone()),
            current: p.spec == record.spec,
            items: p
                .items
                .iter()
                .map(|i| PrecheckItem {
                    name: i.name.clone(),
                    status: i.status.into(),
                    message: i.detail.clone(),
                    fix: i.fix.clone(),
                    code: i.coded.as_ref().map(|c| c.code.clone()),
                    params: i
                        .coded
                        .as_ref()
                        .map(|c| c.params.clone())
                        .unwrap_or_default(),
                })
                .collect(),
        },
    }
}

/// The last precheck of the project.
#[utoipa::path(get, path = "/api/v1/projects/{id}/precheck", tag = "projects", params(("id" = String, Path)),
    responses((status = 200, body = Precheck), (status = 404, body = ErrorBody)))]
async fn get_precheck(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Precheck>> {
    Ok(Json(precheck_view(&service::get(&state, &id).await?)))
}

/// Run the precheck (source, objects, Kafka), item by item with fixes.
#[utoipa::path(post, path = "/api/v1/projects/{id}/precheck", tag = "projects", params(("id" = String, Path)),
    responses((status = 200, body = Precheck), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("operator"))))]
async fn run_precheck(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> ApiResult<Json<Precheck>> {
    let record = service::precheck(&state, &id, &actor).await?;
    Ok(Json(precheck_view(&record)))
}

macro_rules! lifecycle_endpoint {
    ($fn_name:ident, $op:ident, $path:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "projects", params(("id" = String, Path)),
            responses((status = 200, body = Project), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("operator"))))]
        async fn $fn_name(
            State(state): State<AppState>,
            Extension(actor): Extension<Actor>,
            Path(id): Path<String>,
        ) -> ApiResult<Json<Project>> {
            let record = service::$op(&state, &id, &actor).await?;
            Ok(Json(view(&state, record).await?))
        }
    };
}

lifecycle_endpoint!(
    start_project,
    start,
    "/api/v1/projects/{id}/start",
    "Start a project whose current definition passed its precheck."
);
lifecycle_endpoint!(
    pause_project,
    pause,
    "/api/v1/projects/{id}/pause",
    "Pause a running project (answers once its checkpoint is saved)."
);
lifecycle_endpoint!(
    resume_project,
    resume,
    "/api/v1/projects/{id}/resume",
    "Resume a paused or failed project from its checkpoint."
);
lifecycle_endpoint!(
    release_project,
    release,
    "/api/v1/projects/{id}/release",
    "Release a paused, failed or finished project for good."
);
lifecycle_endpoint!(
    clone_project,
    clone,
    "/api/v1/projects/{id}/clone",
    "A new, unstarted project with the same definition."
);

/// Per-stage progress: the saved checkpoint with the live run over it (see [`super::progress`]).
#[utoipa::path(get, path = "/api/v1/projects/{id}/progress", tag = "projects", params(("id" = String, Path)),
    responses((status = 200, body = Progress), (status = 404, body = ErrorBody)))]
async fn progress(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Progress>> {
    let record = service::get(&state, &id).await?;
    Ok(Json(super::progress::of(&state, record).await))
}

/// Metric history at 10 s resolution (kept 24 h).
#[utoipa::path(get, path = "/api/v1/projects/{id}/metrics", tag = "projects", params(("id" = String, Path), HistoryRange),
    responses((status = 200, body = MetricHistory), (status = 404, body = ErrorBody)))]
async fn metrics(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(range): Query<HistoryRange>,
) -> ApiResult<Json<MetricHistory>> {
    service::get(&state, &id).await?;
    let seconds = range
        .seconds
        .unwrap_or(3600)
        .min(crate::runtime::HISTORY_SECONDS as u64) as i64;
    let since = chrono::Utc::now().timestamp() - seconds;
    Ok(Json(MetricHistory {
        points: state.runtime.history(&id, since),
    }))
}

/// The project's event log, newest first: state changes, audit, errors, notices.
#[utoipa::path(get, path = "/api/v1/projects/{id}/events", tag = "projects", params(("id" = String, Path), PageQuery),
    responses((status = 200, body = EventList), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn events(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(page): Query<PageQuery>,
) -> ApiResult<Json<EventList>> {
    service::get(&state, &id).await?;
    let paging = Paging::new(page.page, page.page_size)?;
    let (items, total) = state
        .store
        .list_events(&id, paging.offset(), paging.size)
        .await?;
    Ok(Json(EventList { items, total }))
}

/// The project as a TOML file `obsync run` accepts (passwords as `password_env`).
#[utoipa::path(get, path = "/api/v1/projects/{id}/export", tag = "projects", params(("id" = String, Path)),
    responses((status = 200, body = String, content_type = "text/plain"), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let record = service::get(&state, &id).await?;
    let rendered = service::render(&state, &record.spec, false).await?;
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        crate::spec::export_text(&rendered, &record.spec),
    ))
}

/// Create a project from a project file (TOML). Data sources are matched by address
/// and user, or created; a new one takes `password` from the file.
#[utoipa::path(post, path = "/api/v1/projects/import", tag = "projects",
    request_body(content = String, content_type = "text/plain"),
    responses((status = 201, body = Project), (status = 422, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("operator"))))]
async fn import(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    body: String,
) -> ApiResult<(StatusCode, Json<Project>)> {
    let record = crate::import::import(&state, &body, &actor).await?;
    Ok((StatusCode::CREATED, Json(view(&state, record).await?)))
}
