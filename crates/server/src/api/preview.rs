//! `POST /api/v1/preview`: the exact Kafka records (topic, partition, key, value) that a
//! project definition would send for the first rows of one table, rendered by the real
//! format code and placed by the engine's own partitioner
//! ([`obsync_pipeline::emit::Partitioner`]). Nothing is written anywhere.

use axum::extract::State;
use axum::http::StatusCode;
use obsync_format::MessageContext;
use obsync_model::{Change, ChangeOrigin, RowChange, TableId};
use obsync_pipeline::emit::{EmitError, Partitioner, Placement};
use obsync_source::metadata::MetadataReader;
use obsync_source::snapshot::SnapshotReader;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::extract::Json;
use crate::model::ProjectSpec;
use crate::service;
use crate::state::AppState;

/// Most rows one preview renders.
const MAX_PREVIEW_ROWS: usize = 50;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(preview))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// A project definition, saved or not.
    pub spec: ProjectSpec,
    /// `db.table`, one of the tables the spec selects.
    pub table: String,
    /// Rows to render, 1-50 (default 5).
    #[serde(default)]
    pub limit: Option<usize>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Preview {
    pub records: Vec<PreviewRecord>,
}

/// One Kafka record as the project would send it during full sync.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct PreviewRecord {
    pub topic: String,
    pub partition: i32,
    /// The key's text; DebeziumAvro: its bytes in lower-case hex.
    pub key: String,
    /// The value's text; DebeziumAvro: its bytes in lower-case hex, schema id 0 in the
    /// registry header (a run registers the schemas and writes their ids; the preview
    /// writes nothing, to the registry neither).
    pub value: String,
}

/// What a run of the definition would stop with (a shard column the table lacks).
fn engine_refuses(table: &str, e: &EmitError) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        ErrorCode::InvalidProject {},
        obsync_model::ErrorChain(e).to_string(),
        format!("name columns that {table} has in its shard_columns, or remove them to partition by the primary key"),
    )
    .with_field("table")
}

fn unavailable(e: &(dyn std::error::Error + 'static)) -> ApiError {
    let info = crate::model::ErrorInfo::from_error(e);
    ApiError::new(
        StatusCode::FAILED_DEPENDENCY,
        ErrorCode::SourceUnavailable {
            error: info.message.clone(),
        },
        info.message,
        "test the source data source's connection and fix what it reports",
    )
}

/// Render the first rows of a table as the project's Kafka records (nothing is sent).
#[utoipa::path(post, path = "/api/v1/preview", tag = "projects", request_body = PreviewRequest,
    responses((status = 200, body = Preview), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody), (status = 424, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("operator"))))]
async fn preview(
    State(state): State<AppState>,
    Json(req): Json<PreviewRequest>,
) -> ApiResult<Json<Preview>> {
    let limit = req.limit.unwrap_or(5);
    if limit == 0 || limit > MAX_PREVIEW_ROWS {
        return Err(ApiError::bad_request(
            "limit",
            format!("limit {limit} is out of range"),
            format!("use 1-{MAX_PREVIEW_ROWS}"),
        ));
    }
    let Some((db, table)) = req.table.split_once('.') else {
        return Err(ApiError::bad_request(
            "table",
            format!("{:?} is not db.table", req.table),
            "name the table as database.table",
        ));
    };
    let id = TableId::new(db, table);
    let settings = service::settings(&state, &req.spec).await?;
    let reader = MetadataReader::from_endpoint(&settings.source);
    let plan = obsync_pipeline::plan::resolve(&settings.config, &reader)
        .await
        .map_err(|e| unavailable(&e))?;
    let Some(planned) = plan.tables.get(&id) else {
        return Err(ApiError::bad_request(
            "table",
            format!("the definition does not sync {id}"),
            "choose one of the tables its objects select",
        ));
    };
    // The topic's partition count if it exists; else what schema sync would create.
    let partitions = match obsync_kafka::KafkaAdmin::new(&settings.kafka) {
        Ok(admin) => admin
            .partition_count(&planned.topic)
            .await
            .unwrap_or(settings.topic_partitions),
        Err(_) => settings.topic_partitions,
    };
    let pool = settings.source.pool().await.map_err(|e| unavailable(&e))?;
    let snapshot = SnapshotReader::new(pool, planned.meta.clone(), limit);
    let chunk = snapshot
        .read_chunk(None)
        .await
        .map_err(|e| unavailable(&e))?;
    let avro = settings.format.kind.needs_schema_registry();
    let serializer = obsync_format::Serializer::new(settings.format.clone());
    // The engine's own choice of partition, so the preview cannot disagree with a run.
    let mut partitioner = Partitioner::new(settings.partition_rule, settings.split_key_updates);
    let now_ms = chrono::Utc::now().timestamp_millis() as u64;
    let mut records = Vec::new();
    for (i, row) in chunk.rows.into_iter().take(limit).enumerate() {
        let change = Change {
            table: planned.meta.clone(),
            row: RowChange::Snapshot { row },
            origin: ChangeOrigin::Snapshot { chunk: 0 },
        };
        let partition =
            match partitioner.place(&change, planned.shard_columns.as_deref(), partitions) {
                Ok(Placement::One(partition)) => partition,
                // Only an UPDATE can move between partitions; a snapshot row is an insert.
                Ok(Placement::Moved { insert, .. }) => insert.0,
                Ok(Placement::Images { after, .. }) => after,
                Err(e) => return Err(engine_refuses(&req.table, &e)),
            };
        let ctx = MessageContext {
            sequence: 0,
            checkpoint_secs: now_ms / 1000,
            now_ms,
            message_id: i as u64 + 1,
            txn_sequence: None,
            schema_ids: avro.then_some(obsync_format::SchemaIds { key: 0, value: 0 }),
            ..Default::default()
        };
        let (mut key, mut value) = (Vec::new(), Vec::new());
        serializer
            .encode_change(&change, &ctx, &mut key, &mut value)
            .map_err(|e| {
                ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ErrorCode::Unrepresentable {
                        error: e.to_string(),
                    },
                    e.to_string(),
                    "choose another format for this table, or exclude it",
                )
            })?;
        let text = |bytes: &[u8]| {
            if avro {
                bytes.iter().map(|b| format!("{b:02x}")).collect()
            } else {
                String::from_utf8_lossy(bytes).into_owned()
            }
        };
        records.push(PreviewRecord {
            topic: planned.topic.clone(),
            partition,
            key: text(&key),
            value: text(&value),
        });
    }
    Ok(Json(Preview { records }))
}
