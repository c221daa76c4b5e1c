//! `GET /api/v1/projects/{id}/messages`: the topic viewer. Shows the latest messages of
//! one of the project's topics as Kafka stores them (partition, offset, timestamp, key,
//! value), optionally only those whose key contains a text. It reads without a consumer
//! group and commits nothing, so it disturbs no consumer, and it has no write path to
//! Kafka.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Json, Path, Query};
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(messages))
}

/// How many messages a page shows by default, and at most.
const DEFAULT_LIMIT: u32 = 20;
const MAX_LIMIT: u32 = 200;
/// A key search looks at this many of the latest messages of each partition.
const SEARCH_WINDOW: u64 = 2_000;
/// Values longer than this are cut in the answer (`truncated`).
const MAX_VALUE_BYTES: usize = 64 * 1024;
/// Bounds each metadata request and how long a partition may stall.
const READ_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MessagesQuery {
    /// One of the project's topics (its progress lists them).
    pub topic: String,
    /// Only this partition; every partition by default.
    pub partition: Option<i32>,
    /// How many messages, newest first: 1-200 (default 20).
    pub limit: Option<u32>,
    /// Only messages whose key contains this text, searched among the latest 2,000
    /// messages of each partition.
    pub key: Option<String>,
}

/// The latest messages of a topic, newest first.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TopicMessages {
    pub topic: String,
    /// The topic's number of partitions.
    pub partitions: i32,
    /// How many messages were read to answer (the search window with `key`).
    pub scanned: u64,
    pub items: Vec<TopicMessage>,
}

/// One Kafka message. Key and value are shown as UTF-8 text (invalid bytes replaced).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TopicMessage {
    pub partition: i32,
    pub offset: i64,
    /// The record's timestamp, RFC 3339 (absent on Kafka 0.9's message format).
    pub timestamp: Option<String>,
    pub key: Option<String>,
    /// Absent for a tombstone.
    pub value: Option<String>,
    /// The value's size in bytes, before any cut.
    pub value_bytes: u64,
    /// Whether `value` was cut at 64 KiB.
    pub truncated: bool,
}

/// The latest messages of one of the project's topics.
#[utoipa::path(get, path = "/api/v1/projects/{id}/messages", tag = "projects",
    params(("id" = String, Path), MessagesQuery),
    responses((status = 200, body = TopicMessages), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 424, body = ErrorBody)),
    extensions(("x-obsync-role" = json!("operator"))))]
async fn messages(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(query): Query<MessagesQuery>,
) -> ApiResult<Json<TopicMessages>> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(invalid(
            "limit",
            format!("limit {limit} is out of range"),
            format!("ask for 1 to {MAX_LIMIT} messages"),
        ));
    }
    let record = crate::service::get(&state, &id).await?;
    let target_id = record.spec.target_id.clone();
    let topics = super::progress::of(&state, record).await.schema.topics;
    if !topics.contains(&query.topic) {
        let known = if topics.is_empty() {
            "it has none yet: its topics are known once its tables are named or it has run"
                .to_string()
        } else {
            topics.join(", ")
        };
        return Err(invalid(
            "topic",
            format!("{} is not a topic of this project", query.topic),
            format!("choose one of the project's topics ({known})"),
        ));
    }
    let ds = super::datasources::get_record(&state, &target_id).await?;
    let target = super::datasources::kafka_target(&state, &ds)?;
    let key = query.key.filter(|k| !k.is_empty());
    let per_partition = if key.is_some() {
        SEARCH_WINDOW
    } else {
        u64::from(limit)
    };
    let topic = query.topic.clone();
    let partition = query.partition;
    let read = tokio::task::spawn_blocking(move || {
        let mut reader = obsync_kafka::TopicReader::open(&target, &topic, READ_TIMEOUT)?;
        let mut records = Vec::new();
        let scanned = reader.read_tail(partition, per_partition, |r| records.push(r))?;
        Ok::<_, obsync_kafka::ReadError>((reader.partitions(), scanned, records))
    })
    .await
    .map_err(|e| ApiError::internal(&e))?;
    let (partitions, scanned, mut records) = read.map_err(|e| match e {
        obsync_kafka::ReadError::NoSuchPartition { .. } => invalid(
            "partition",
            e.to_string(),
            "choose a partition the topic has, or none for all",
        ),
        other => {
            let info = crate::model::ErrorInfo::from_error(&other);
            ApiError::new(
                StatusCode::FAILED_DEPENDENCY,
                "SOURCE_UNAVAILABLE",
                info.message,
                "test the project's Kafka data source and fix what it reports",
            )
        }
    })?;
    if let Some(key) = &key {
        records.retain(|r| {
            r.key
                .as_deref()
                .is_some_and(|k| String::from_utf8_lossy(k).contains(key.as_str()))
        });
    }
    // Newest first across partitions: by timestamp where the brokers keep one.
    records.sort_by(|a, b| {
        (b.timestamp_ms, b.offset, b.partition).cmp(&(a.timestamp_ms, a.offset, a.partition))
    });
    records.truncate(limit as usize);
    Ok(Json(TopicMessages {
        topic: query.topic,
        partitions,
        scanned,
        items: records.into_iter().map(view).collect(),
    }))
}

/// 422 for a query value the project or topic does not have.
fn invalid(field: &str, message: impl Into<String>, advice: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "INVALID_REQUEST",
        message,
        advice,
    )
    .with_field(field)
}

fn view(r: obsync_kafka::TopicRecord) -> TopicMessage {
    let value_bytes = r.value.as_ref().map_or(0, |v| v.len() as u64);
    let truncated = value_bytes as usize > MAX_VALUE_BYTES;
    TopicMessage {
        partition: r.partition,
        offset: r.offset,
        timestamp: r
            .timestamp_ms
            .and_then(chrono::DateTime::from_timestamp_millis)
            .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)),
        key: r.key.map(|k| String::from_utf8_lossy(&k).into_owned()),
        value: r.value.map(|v| {
            let end = v.len().min(MAX_VALUE_BYTES);
            String::from_utf8_lossy(&v[..end]).into_owned()
        }),
        value_bytes,
        truncated,
    }
}
