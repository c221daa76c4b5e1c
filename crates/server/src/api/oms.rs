//! OMS OpenAPI compatibility: `POST /api/v2?Action=…` in OMS's envelope and state names,
//! mapped onto the same store and lifecycle as `/api/v1`, so automation written for OMS
//! CE keeps working. Not in the OpenAPI document (OMS documents it).

use std::time::Instant;

use axum::extract::{Query, State};
use axum::routing::post;
use axum::{Extension, Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::datasources::{build_record, DataSourceInput, KafkaInput, SaslInput};
use super::error::{ApiError, ApiResult};
use super::{Actor, Paging};
use crate::error::Error;
use crate::lifecycle::{ProjectState, Stage};
use crate::model::{DataSourceKind, ProjectRecord};
use crate::roles::Role;
use crate::service;
use crate::state::AppState;

pub fn routes(state: AppState) -> Router<AppState> {
    Router::new().route(
        "/api/v2",
        post(action).layer(axum::middleware::from_fn_with_state(
            state,
            crate::api::guard::require_login,
        )),
    )
}

#[derive(Deserialize)]
struct ActionQuery {
    #[serde(rename = "Action")]
    action: Option<String>,
}

async fn action(
    State(state): State<AppState>,
    Extension(actor): Extension<Actor>,
    Query(q): Query<ActionQuery>,
    body: Option<Json<Value>>,
) -> Json<Value> {
    let started = Instant::now();
    let body = body.map(|Json(v)| v).unwrap_or(Value::Null);
    let request_id = crate::model::new_id("req");
    let name = q.action.unwrap_or_default();
    let needed = required_role(&name);
    let outcome = if actor.role < needed {
        Err(crate::roles::forbidden(actor.role, needed))
    } else {
        dispatch(&state, &actor, &name, &body).await
    };
    let cost = started.elapsed().as_millis() as u64;
    Json(match outcome {
        Ok(Reply { data, page }) => json!({
            "success": true,
            "errorDetail": null,
            "requestId": request_id,
            "pageNumber": page.as_ref().map(|p| p.0),
            "pageSize": page.as_ref().map(|p| p.1),
            "totalCount": page.as_ref().map(|p| p.2),
            "cost": format!("{cost} ms"),
            "data": data,
        }),
        Err(e) => json!({
            "success": false,
            "errorDetail": {"code": e.body.code, "message": e.body.message, "advice": e.body.advice, "field": e.body.field},
            "requestId": request_id,
            "pageNumber": null, "pageSize": null, "totalCount": null,
            "cost": format!("{cost} ms"),
            "data": null,
        }),
    })
}

struct Reply {
    data: Value,
    /// pageNumber, pageSize, totalCount.
    page: Option<(u64, u64, u64)>,
}

impl Reply {
    fn data(data: Value) -> Reply {
        Reply { data, page: None }
    }
}

fn param<'a>(body: &'a Value, key: &str) -> ApiResult<&'a str> {
    body.get(key).and_then(Value::as_str).ok_or_else(|| {
        ApiError::bad_request(
            key,
            format!("parameter {key} is missing"),
            format!("send {{\"{key}\": \"…\"}} in the JSON body"),
        )
        .with_oms_code("ParamError")
    })
}

/// The role each action needs, like the `/api/v1` routes they stand for: reading is a
/// viewer's, the project lifecycle an operator's, data sources (and any action not
/// listed here) an admin's.
fn required_role(action: &str) -> Role {
    match action {
        // An empty action is answered with how to name one.
        ""
        | "ListProjects"
        | "DescribeProject"
        | "DescribeProjectProgress"
        | "DescribeProjectSteps"
        | "ListDataSource" => Role::Viewer,
        "StartProject" | "StopProject" | "ResumeProject" | "ReleaseProject" | "DeleteProject" => {
            Role::Operator
        }
        _ => Role::Admin,
    }
}

async fn dispatch(state: &AppState, actor: &Actor, action: &str, body: &Value) -> ApiResult<Reply> {
    match action {
        "ListProjects" => list_projects(state, body).await,
        "DescribeProject" => Ok(Reply::data(describe(state, &service::get(state, param(body, "id")?).await?).await)),
        "DescribeProjectProgress" => Ok(Reply::data(progress(state, &service::get(state, param(body, "id")?).await?))),
        "DescribeProjectSteps" => Ok(Reply::data(steps(state, &service::get(state, param(body, "id")?).await?))),
        "StartProject" => {
            let id = param(body, "id")?;
            let record = service::get(state, id).await?;
            // OMS's start runs the precheck itself when it has not passed.
            if !record.precheck_passed() && record.state.allows(crate::lifecycle::Action::Precheck) {
                let checked = service::precheck(state, id, actor).await?;
                if !checked.precheck_passed() {
                    let failed: Vec<String> = checked.precheck.iter().flat_map(|p| &p.items)
                        .filter(|i| i.status == obsync_model::CheckStatus::Fail)
                        .map(|i| format!("{}: {}", i.name, i.detail)).collect();
                    return Err(Error::PrecheckFailed { failed }.into());
                }
            }
            service::start(state, id, actor).await?;
            Ok(Reply::data(Value::Null))
        }
        "StopProject" => {
            service::pause(state, param(body, "id")?, actor).await?;
            Ok(Reply::data(Value::Null))
        }
        "ResumeProject" => {
            service::resume(state, param(body, "id")?, actor).await?;
            Ok(Reply::data(Value::Null))
        }
        "ReleaseProject" => {
            service::release(state, param(body, "id")?, actor).await?;
            Ok(Reply::data(Value::Null))
        }
        "DeleteProject" => {
            service::delete(state, param(body, "id")?, actor).await?;
            Ok(Reply::data(Value::Null))
        }
        "ListDataSource" => list_datasources(state, body).await,
        "CreateKafkaDataSource" => create_kafka(state, actor, body).await,
        "" => Err(ApiError::bad_request("Action", "the Action query parameter is missing", "call POST /api/v2?Action=ListProjects (or another action)").with_oms_code("ParamError")),
        other => Err(ApiError::bad_request("Action", format!("action {other} is not supported"),
            "supported: ListProjects, DescribeProject, DescribeProjectProgress, DescribeProjectSteps, StartProject, StopProject, ResumeProject, ReleaseProject, DeleteProject, ListDataSource, CreateKafkaDataSource").with_oms_code("ActionNotSupported")),
    }
}

fn oms_type(kind: DataSourceKind) -> &'static str {
    match kind {
        DataSourceKind::Oceanbase => "OB_MYSQL",
        DataSourceKind::Mysql => "MYSQL",
        DataSourceKind::Mariadb => "MARIADB",
        DataSourceKind::Kafka => "KAFKA",
    }
}

fn page_of(body: &Value) -> ApiResult<Paging> {
    Paging::new(
        body.get("pageNumber").and_then(Value::as_u64),
        body.get("pageSize").and_then(Value::as_u64).or(Some(10)),
    )
}

async fn list_projects(state: &AppState, body: &Value) -> ApiResult<Reply> {
    let paging = page_of(body)?;
    let search = body.get("searchKey").and_then(Value::as_str).unwrap_or("");
    let statuses: Vec<&str> = body
        .get("status")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let labels: Vec<&str> = body
        .get("labelIds")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let mut all: Vec<ProjectRecord> = state
        .store
        .list_projects()
        .await?
        .into_iter()
        .filter(|p| p.spec.name.contains(search) || p.id.contains(search))
        .filter(|p| statuses.is_empty() || statuses.contains(&p.state.oms_status().as_str()))
        .filter(|p| {
            labels.is_empty() || labels.iter().any(|l| p.spec.tag_ids.iter().any(|t| t == l))
        })
        .collect();
    all.reverse();
    let total = all.len() as u64;
    let mut data: Vec<Value> = Vec::new();
    for p in paging.slice(all) {
        data.push(summary(state, &p).await);
    }
    Ok(Reply {
        data: Value::Array(data),
        page: Some((paging.page, paging.size, total)),
    })
}

async fn summary(state: &AppState, p: &ProjectRecord) -> Value {
    let tags = state.store.list_tags().await.unwrap_or_default();
    let source_type = state
        .store
        .get_datasource(&p.spec.source_id)
        .await
        .ok()
        .flatten()
        .map(|d| oms_type(d.kind()));
    json!({
        "id": p.id,
        "name": p.spec.name,
        "type": "SYNC",
        "status": p.state.oms_status(),
        "labels": p.spec.tag_ids.iter().filter_map(|id| tags.iter().find(|t| &t.id == id))
            .map(|t| json!({"id": t.id, "name": t.name})).collect::<Vec<_>>(),
        "sourceEndpointType": source_type,
        "sinkEndpointType": "KAFKA",
        "creator": p.created_by,
        "gmtCreate": p.created_at,
        "gmtModified": p.updated_at,
    })
}

async fn describe(state: &AppState, p: &ProjectRecord) -> Value {
    let mut v = summary(state, p).await;
    v["sourceEndpointId"] = json!(p.spec.source_id);
    v["sinkEndpointId"] = json!(p.spec.target_id);
    v["transferMapping"] =
        json!({"tables": p.spec.objects.iter().flat_map(|o| o.tables.clone()).collect::<Vec<_>>()});
    v["commonTransferConfig"] =
        json!({"sinkStoreFormat": p.spec.sync.format, "partitionMode": p.spec.sync.partition_rule});
    v["steps"] = steps(state, p);
    v
}

/// OMS's steps of a project, in their order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Step {
    TransferPrecheck,
    StructTransfer,
    FullTransfer,
    IncrTransfer,
}

const STEPS: [Step; 4] = [
    Step::TransferPrecheck,
    Step::StructTransfer,
    Step::FullTransfer,
    Step::IncrTransfer,
];

impl Step {
    /// The stage the step runs, if it is one.
    fn stage(self) -> Option<Stage> {
        match self {
            Step::TransferPrecheck => None,
            Step::StructTransfer => Some(Stage::Schema),
            Step::FullTransfer => Some(Stage::Full),
            Step::IncrTransfer => Some(Stage::Incremental),
        }
    }
}

impl From<Stage> for Step {
    fn from(stage: Stage) -> Step {
        match stage {
            Stage::Schema => Step::StructTransfer,
            Stage::Full => Step::FullTransfer,
            Stage::Incremental => Step::IncrTransfer,
        }
    }
}

/// OMS's step of the running stage.
fn current_step(state: &AppState, p: &ProjectRecord) -> Step {
    let stage = state
        .runtime
        .status(&p.id)
        .map(|s| Stage::from(s.stage))
        .or(p.stage);
    match (p.state, stage) {
        (
            ProjectState::NotStarted | ProjectState::Prechecking | ProjectState::PrecheckFailed,
            _,
        ) => Step::TransferPrecheck,
        (_, Some(stage)) => stage.into(),
        (_, None) => Step::StructTransfer,
    }
}

fn progress(state: &AppState, p: &ProjectRecord) -> Value {
    let live = state.runtime.status(&p.id);
    json!({
        "status": p.state.oms_status(),
        "currentStep": current_step(state, p),
        "alarmLevel": "IGNORE",
        "incrSyncCheckpoint": live.as_ref().and_then(|s| s.checkpoint_time),
        "lagSeconds": live.as_ref().and_then(|s| s.lag_seconds),
        // Earlier runs' acknowledgements plus this run's, as /api/v1 progress counts them.
        "ackedMessages": live.as_ref().map(|s| p.acked_messages + s.messages_acked),
    })
}

fn steps(state: &AppState, p: &ProjectRecord) -> Value {
    let types = &p.spec.sync.types;
    let current = current_step(state, p);
    let wanted = |step: Step| {
        step.stage()
            .is_none_or(|stage| types.iter().any(|t| t == stage.as_str()))
    };
    let live = state.runtime.status(&p.id);
    let mut out = Vec::new();
    for step in STEPS.into_iter().filter(|s| wanted(*s)) {
        let status = if p.state == ProjectState::Finished || step < current {
            "FINISHED"
        } else if step == current {
            match p.state {
                ProjectState::Running => "MONITORING",
                ProjectState::Paused => "SUSPEND",
                ProjectState::Failed => "FAILED",
                ProjectState::PrecheckFailed => "FAILED",
                ProjectState::Released | ProjectState::Releasing => "FINISHED",
                _ => "INIT",
            }
        } else {
            "INIT"
        };
        let mut info = json!({});
        if step == Step::FullTransfer {
            if let Some(s) = &live {
                let done: u64 = s.tables.values().map(|t| t.rows_done).sum();
                let est: u64 = s.tables.values().map(|t| t.rows_estimated).sum();
                info =
                    json!({"processedRecords": done, "capacity": est, "srcRps": s.rows_per_second});
            }
        }
        if step == Step::IncrTransfer {
            if let Some(s) = &live {
                info = json!({"incrTimestampCheckpoint": s.checkpoint_time, "checkpointSampleTimestamp": chrono::Utc::now().timestamp()});
            }
        }
        let errors: Vec<Value> = if status == "FAILED" {
            p.last_error.iter().map(|e| json!({"errorCode": "RUN_FAILED", "errorMsg": e.message, "causes": e.chain})).collect()
        } else {
            vec![]
        };
        out.push(json!({
            "order": out.len() + 1,
            "name": step,
            "status": status,
            "progress": if status == "FINISHED" { 100 } else { 0 },
            "extraInfo": {"errorDetails": errors},
            "stepInfo": info,
        }));
    }
    Value::Array(out)
}

async fn list_datasources(state: &AppState, body: &Value) -> ApiResult<Reply> {
    let paging = page_of(body)?;
    let all = state.store.list_datasources().await?;
    let total = all.len() as u64;
    let data: Vec<Value> = paging
        .slice(all)
        .into_iter()
        .map(|d| {
            json!({
                "id": d.id,
                "name": d.name,
                "type": oms_type(d.kind()),
                "host": d.connection.source().map(|s| s.host.clone()),
                "port": d.connection.source().map(|s| s.port),
                "userName": d.connection.source().map(|s| s.user.clone()),
                "endpoint": d.connection.kafka().map(|k| k.bootstrap_servers.clone()),
                "description": d.description,
                "gmtCreate": d.created_at,
                "gmtModified": d.updated_at,
            })
        })
        .collect();
    Ok(Reply {
        data: Value::Array(data),
        page: Some((paging.page, paging.size, total)),
    })
}

async fn create_kafka(state: &AppState, actor: &Actor, body: &Value) -> ApiResult<Reply> {
    let sasl = if body
        .get("enableSASL")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        Some(SaslInput {
            mechanism: param(body, "saslMechanism")?.replace('_', "-"),
            username: param(body, "userName")?.to_string(),
            password: body
                .get("password")
                .and_then(Value::as_str)
                .map(str::to_string),
            kerberos_service_name: body
                .get("serviceName")
                .and_then(Value::as_str)
                .map(str::to_string),
            kerberos_principal: body
                .get("saslKerberosPrincipal")
                .and_then(Value::as_str)
                .map(str::to_string),
            kerberos_keytab: body
                .get("kdcPath")
                .and_then(Value::as_str)
                .map(str::to_string),
        })
    } else {
        None
    };
    let input = DataSourceInput {
        name: param(body, "name")?.to_string(),
        kind: DataSourceKind::Kafka,
        description: body
            .get("description")
            .and_then(Value::as_str)
            .map(str::to_string),
        source: None,
        kafka: Some(KafkaInput {
            bootstrap_servers: param(body, "endpoint")?.to_string(),
            version: body
                .get("version")
                .and_then(Value::as_str)
                .unwrap_or("3.x")
                .to_string(),
            sasl,
            tls: None,
            schema_registry: None,
        }),
    };
    let record = build_record(state, input, None).await?;
    state.store.put_datasource(&record).await?;
    crate::audit::record(
        state,
        actor,
        crate::audit::Subject::DataSource(&record.id),
        crate::audit::AuditMessage::DataSourceCreatedByOms {
            name: record.name.clone(),
        },
    )
    .await?;
    Ok(Reply::data(json!({"id": record.id})))
}
