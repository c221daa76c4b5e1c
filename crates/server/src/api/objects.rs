//! `/api/v1/projects/{id}/objects` and `/tables/{table}/resync`: online object changes
//! of a project (preview, apply) and re-sync of one table. The work is in
//! [`crate::objects`]; these are the HTTP shapes.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::Extension;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiResult, ErrorBody};
use super::extract::{Json, Path};
use super::projects::{view, PrecheckItem, Project};
use super::revision::{etag, IfMatch};
use super::Actor;

use crate::model::ObjectSpec;
use crate::objects::{self, ObjectsInput, ObjectsPlan, TableRoute, TakesEffect};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(preview_objects))
        .routes(routes!(change_objects))
        .routes(routes!(resync_table))
}

/// A new list of object rules for a project.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ObjectsChange {
    /// The project's object rules, the whole new list (as in its spec).
    pub objects: Vec<ObjectSpec>,
    /// `db.table` names or patterns: of the tables that join, those matching are
    /// backfilled (their existing rows snapshotted while the change log flows); the
    /// others are synced from the moment they join. Kept as the spec's `sync.backfill`.
    #[serde(default)]
    pub backfill: Vec<String>,
}

/// Where a table's messages go.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TableRouteView {
    pub topic: String,
    /// Absent: partitioned by the table's key.
    pub shard_columns: Option<Vec<String>>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct AddedTable {
    /// `database.table`.
    pub table: String,
    pub topic: String,
    /// Backfilled (true) or synced from now on (false).
    pub backfill: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RemovedTable {
    /// `database.table`; its topic is kept.
    pub table: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ChangedTable {
    /// `database.table`.
    pub table: String,
    pub from: TableRouteView,
    pub to: TableRouteView,
}

/// What a change of the object rules does, and the precheck of the changed part.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ObjectsPlanView {
    pub added: Vec<AddedTable>,
    pub removed: Vec<RemovedTable>,
    pub changed: Vec<ChangedTable>,
    /// Only the changed part: added tables readable (and keyed, to be backfilled), new
    /// topics present or created by schema sync.
    pub precheck: Vec<PrecheckItem>,
}

/// When an applied change takes effect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ChangeTakesEffect {
    /// The running project restarted its run at a transaction boundary with the new
    /// tables (docs/online-changes.md).
    Now,
    /// The project is paused or failed: at its resume.
    AtResume,
    /// The project has not started: the definition is saved, like an edit.
    AtStart,
}

/// An applied change: its plan and the project after it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ObjectsApplied {
    pub plan: ObjectsPlanView,
    pub takes_effect: ChangeTakesEffect,
    pub project: Project,
}

fn route_view(r: TableRoute) -> TableRouteView {
    TableRouteView {
        topic: r.topic,
        shard_columns: r.shard_columns,
    }
}

fn plan_view(plan: ObjectsPlan) -> ObjectsPlanView {
    ObjectsPlanView {
        added: plan
            .diff
            .added
            .into_iter()
            .map(|a| AddedTable {
                table: a.table.to_string(),
                topic: a.route.topic,
                backfill: a.backfill,
            })
            .collect(),
        removed: plan
            .diff
            .removed
            .into_iter()
            .map(|t| RemovedTable {
                table: t.to_string(),
            })
            .collect(),
        changed: plan
            .diff
            .changed
            .into_iter()
            .map(|c| ChangedTable {
                table: c.table.to_string(),
                from: route_view(c.from),
                to: route_view(c.to),
            })
            .collect(),
        precheck: plan
            .precheck
            .into_iter()
            .map(|i| PrecheckItem {
                code: i.coded.as_ref().map(|c| c.code.clone()),
                params: i.coded.map(|c| c.params).unwrap_or_default(),
                name: i.name,
                status: i.status.into(),
                message: i.detail,
                fix: i.fix,
            })
            .collect(),
    }
}

fn input(change: ObjectsChange) -> ObjectsInput {
    ObjectsInput {
        objects: change.objects,
        backfill: change.backfill,
    }
}

/// What a new list of object rules would change (tables added, removed, re-routed), with
/// the precheck of the changed part. Nothing is saved.
#[utoipa::path(post, path = "/api/v1/projects/{id}/objects/preview", tag = "projects",
    params(("id" = String, Path)), request_body = ObjectsChange,
    responses((status = 200, body = ObjectsPlanView), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 424, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("operator"))))]
async fn preview_objects(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Json(change): Json<ObjectsChange>,
) -> ApiResult<Json<ObjectsPlanView>> {
    let plan = objects::preview(&state, &id, &input(change)).await?;
    Ok(Json(plan_view(plan)))
}

/// Change a project's object rules: a running project restarts its run with the new
/// tables at once (added ones backfilled or from now on, removed ones dropped from the
/// checkpoint, topics kept); a paused or failed one takes them at its resume; a not
/// started one only saves them. With `If-Match`, only that revision (409
/// `REVISION_CONFLICT`). 409 `OBJECTS_UNCHANGED` when nothing changes, 422
/// `OBJECTS_PRECHECK_FAILED` when the precheck of the changed part fails.
#[utoipa::path(post, path = "/api/v1/projects/{id}/objects", tag = "projects",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "The ETag the change was made to")),
    request_body = ObjectsChange,
    responses((status = 200, body = ObjectsApplied, headers(("ETag" = String, description = "The new revision"))),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 424, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("operator"))))]
async fn change_objects(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(change): Json<ObjectsChange>,
) -> ApiResult<impl IntoResponse> {
    let (plan, record, when) =
        objects::apply(&state, &id, &input(change), &actor, if_match.0).await?;
    let revision = record.revision;
    let applied = ObjectsApplied {
        plan: plan_view(plan),
        takes_effect: match when {
            TakesEffect::Now => ChangeTakesEffect::Now,
            TakesEffect::AtResume => ChangeTakesEffect::AtResume,
            TakesEffect::AtStart => ChangeTakesEffect::AtStart,
        },
        project: view(&state, record).await?,
    };
    Ok((etag(revision), Json(applied)))
}

/// Snapshot one table of a running project again while its change log flows (the same
/// watermark backfill as an added table); `GET …/progress` shows it under `backfills`.
#[utoipa::path(post, path = "/api/v1/projects/{id}/tables/{table}/resync", tag = "projects",
    params(("id" = String, Path), ("table" = String, Path, description = "database.table")),
    responses((status = 202, body = Project), (status = 400, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 424, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("operator"))))]
async fn resync_table(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path((id, table)): Path<(String, String)>,
) -> ApiResult<(StatusCode, Json<Project>)> {
    let record = objects::resync(&state, &id, &table, &actor).await?;
    Ok((StatusCode::ACCEPTED, Json(view(&state, record).await?)))
}
