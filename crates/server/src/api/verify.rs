//! `/api/v1/projects/{id}/verify`: start a verify run and read its progress and report
//! (see [`crate::verify_runs`]).

use axum::extract::State;
use axum::http::StatusCode;
use axum::Extension;
use obsync_model::MessageCode;
use obsync_pipeline::verify::{Comparison, Keys, VerifyReport};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiResult, ErrorBody};
use super::extract::{Json, Path};
use super::Actor;
use crate::state::AppState;
use crate::verify_runs::{self, RunPhase, VerifyRun};

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_verify, start_verify))
}

/// The last verify run of a project.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Verify {
    /// `none` (never run since the server started), `running`, `finished` or `failed`.
    pub state: String,
    pub started_at: Option<String>,
    pub started_by: Option<String>,
    pub finished_at: Option<String>,
    /// Topic records read so far.
    pub records_read: u64,
    /// Source rows compared so far.
    pub rows_checked: u64,
    /// What the run is doing now.
    pub activity: Option<String>,
    /// The same as a code (`docs/message-codes.json`, family `events`) with its params.
    pub activity_code: Option<String>,
    #[serde(default)]
    pub activity_params: std::collections::BTreeMap<String, String>,
    /// Finished: no differences and no `storeDataSequence` going back.
    pub clean: Option<bool>,
    /// Finished: per table.
    pub tables: Vec<VerifyTable>,
    /// Finished: per topic.
    pub topics: Vec<VerifyTopic>,
    /// Failed: why verify could not finish, and what to do.
    pub error: Option<String>,
    /// Failed: the same as a code (`event.verify.failed`) with its params.
    pub error_code: Option<String>,
    #[serde(default)]
    pub error_params: std::collections::BTreeMap<String, String>,
}

/// One table's comparison.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerifyTable {
    pub table: String,
    pub topic: String,
    /// `key` (row by row on `key_columns`) or `multiset` (whole rows; no usable key).
    pub comparison: String,
    pub key_columns: Vec<String>,
    pub rows_checked: u64,
    pub rows_in_topic: u64,
    /// In the source, not in the topic.
    pub missing: VerifyKeys,
    /// In the topic, not in the source.
    pub extra: VerifyKeys,
    /// In both, with other values.
    pub different: VerifyKeys,
    /// Keys checked again while the source kept changing.
    pub rechecked: u64,
    pub clean: bool,
}

/// Keys of one kind of difference: how many, and the first few.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerifyKeys {
    pub count: u64,
    pub examples: Vec<String>,
}

/// What was read from one topic.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VerifyTopic {
    pub topic: String,
    pub records: u64,
    /// Records whose `storeDataSequence` was not above the previous one of their
    /// partition; `null` for formats without one (Canal).
    pub sequence_regressions: Option<u64>,
}

fn keys(k: &Keys) -> VerifyKeys {
    VerifyKeys {
        count: k.count,
        examples: k.examples.clone(),
    }
}

fn view(run: Option<VerifyRun>) -> Verify {
    let Some(run) = run else {
        return Verify {
            state: "none".into(),
            started_at: None,
            started_by: None,
            finished_at: None,
            records_read: 0,
            rows_checked: 0,
            activity: None,
            activity_code: None,
            activity_params: Default::default(),
            clean: None,
            tables: vec![],
            topics: vec![],
            error: None,
            error_code: None,
            error_params: Default::default(),
        };
    };
    let (state, report, error) = match run.phase {
        RunPhase::Running => ("running", None, None),
        RunPhase::Finished(report) => ("finished", Some(report), None),
        RunPhase::Failed(e, coded) => ("failed", None, Some((e, coded))),
    };
    let report: Option<&VerifyReport> = report.as_deref();
    Verify {
        state: state.into(),
        started_at: Some(run.started_at),
        started_by: Some(run.started_by),
        finished_at: run.finished_at,
        records_read: run.records_read,
        rows_checked: run.rows_checked,
        activity: run.activity.as_ref().map(|a| a.english()),
        activity_code: run.activity.as_ref().map(|a| a.code().to_string()),
        activity_params: run.activity.map(|a| a.params()).unwrap_or_default(),
        clean: report.map(VerifyReport::is_clean),
        tables: report
            .map(|r| {
                r.tables
                    .iter()
                    .map(|t| {
                        let (comparison, key_columns) = match &t.comparison {
                            Comparison::ByKey(cols) => ("key", cols.clone()),
                            Comparison::Multiset => ("multiset", vec![]),
                        };
                        VerifyTable {
                            table: t.table.to_string(),
                            topic: t.topic.clone(),
                            comparison: comparison.into(),
                            key_columns,
                            rows_checked: t.rows_checked,
                            rows_in_topic: t.rows_in_topic,
                            missing: keys(&t.missing),
                            extra: keys(&t.extra),
                            different: keys(&t.different),
                            rechecked: t.rechecked,
                            clean: t.is_clean(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default(),
        topics: report
            .map(|r| {
                r.topics
                    .iter()
                    .map(|t| VerifyTopic {
                        topic: t.topic.clone(),
                        records: t.records,
                        sequence_regressions: t.sequence.as_ref().map(|s| s.regressions),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        error_code: error.as_ref().map(|(_, c)| c.code().to_string()),
        error_params: error.as_ref().map(|(_, c)| c.params()).unwrap_or_default(),
        error: error.map(|(e, _)| e),
    }
}

/// The last verify run: its progress while it runs, then its per-table report.
#[utoipa::path(get, path = "/api/v1/projects/{id}/verify", tag = "projects", params(("id" = String, Path)),
    responses((status = 200, body = Verify), (status = 404, body = ErrorBody)))]
async fn get_verify(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Verify>> {
    crate::service::get(&state, &id).await?;
    Ok(Json(view(state.verifies.get(&id))))
}

/// Start verifying the project: rebuild each table from its topic and compare it with
/// the source, in the background (read only: no consumer group, only SELECTs). Poll
/// `GET` for progress and the report.
#[utoipa::path(post, path = "/api/v1/projects/{id}/verify", tag = "projects", params(("id" = String, Path)),
    responses((status = 202, body = Verify), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("operator"))))]
async fn start_verify(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Path(id): Path<String>,
) -> ApiResult<(StatusCode, Json<Verify>)> {
    let run = verify_runs::start(&state, &id, &actor).await?;
    Ok((StatusCode::ACCEPTED, Json(view(Some(run)))))
}
