//! `/api/v1/datasources`: create, edit, delete, test connection and browse. Secrets are
//! write-only: bodies take `password` / `*_pem`, answers only say `*_set`. The input,
//! its validation and the opened connections are the domain's ([`crate::datasources`]);
//! these are the HTTP shapes and handlers.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use obsync_source::metadata::{server_info, MetadataError, MetadataReader, TableKind};
use obsync_source::tls::TlsMode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult, ErrorBody, ErrorCode};
use super::extract::{Json, Path, Query};
use super::revision::{etag, IfMatch};
use super::{Actor, ProjectRef};
use crate::audit::{AuditMessage, Subject};
pub use crate::datasources::{
    build_record, endpoint, kafka_target, DataSourceInput, KafkaInput, SaslInput, SourceInput,
    SourceTlsInput, TlsInput,
};
use crate::model::{
    Connection, DataSourceKind, DataSourceRecord, KafkaRelease, SaslMechanism, SourceTlsMode,
};
use crate::state::AppState;
use axum::response::IntoResponse;
use obsync_model::{message_codes, MessageCode};

/// How long a test connection or a browse request waits for the other side.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_datasources, create_datasource))
        .routes(routes!(
            get_datasource,
            update_datasource,
            delete_datasource
        ))
        .routes(routes!(test_unsaved))
        .routes(routes!(test_saved))
        .routes(routes!(list_databases))
        .routes(routes!(list_tables))
        .routes(routes!(list_columns))
        .routes(routes!(list_topics))
}

/// A data source as the API shows it (secrets only as `*_set` flags).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DataSource {
    pub id: String,
    pub name: String,
    pub kind: DataSourceKind,
    pub description: String,
    pub source: Option<SourceView>,
    pub kafka: Option<KafkaView>,
    /// Projects that use it.
    pub used_by: Vec<ProjectRef>,
    pub created_at: String,
    pub updated_at: String,
    /// The stored revision (also the `ETag`); send it as `If-Match` to change this one.
    pub revision: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SourceView {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password_set: bool,
    pub tls: SourceTlsView,
}

/// TLS to a database source; the client key is never shown, only whether it is set.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SourceTlsView {
    pub mode: SourceTlsMode,
    pub ca_set: bool,
    pub client_cert_set: bool,
    pub client_key_set: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct KafkaView {
    pub bootstrap_servers: String,
    pub version: KafkaRelease,
    pub sasl: Option<SaslView>,
    pub tls: Option<TlsView>,
    /// The schema registry of the DebeziumAvro format, if one is set.
    pub schema_registry: Option<RegistryView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct RegistryView {
    pub url: String,
    pub username: Option<String>,
    pub password_set: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SaslView {
    pub mechanism: SaslMechanism,
    pub username: String,
    pub password_set: bool,
    pub kerberos_service_name: Option<String>,
    pub kerberos_principal: Option<String>,
    pub kerberos_keytab: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TlsView {
    pub enabled: bool,
    pub verify_hostname: bool,
    pub ca_set: bool,
    pub client_cert_set: bool,
    pub client_key_set: bool,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct DataSourceList {
    pub items: Vec<DataSource>,
    pub total: u64,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KindFilter {
    /// Only data sources of this kind.
    pub kind: Option<DataSourceKind>,
}

message_codes! {
    /// A connection test's summary as the console says it.
    pub enum TestSummary {
        /// Kafka answered: its brokers and topics, and the version the data source names.
        Kafka = "connection.kafka" { brokers: usize, ids: String, topics: usize, version: String },
        /// Kafka answered, and so did its schema registry (with the login, if any).
        KafkaRegistry = "connection.kafka_registry" { brokers: usize, ids: String, topics: usize, version: String, registry: String, subjects: usize },
        /// The database answered over TLS in `mode`.
        SourceTls = "connection.source_tls" { server: String, mode: String },
        /// The database answered without TLS, which the data source turned off.
        SourceNoTls = "connection.source_no_tls" { server: String },
        /// The database answered without TLS although `mode` prefers it: it offers none.
        SourceTlsNotOffered = "connection.source_tls_not_offered" { server: String, mode: String },
        Failed = "connection.failed" {},
    }
}

/// The answer of a test connection.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TestResult {
    pub ok: bool,
    /// One line: what was found, e.g. `mariadb 10.11.6-MariaDB`.
    pub summary: String,
    /// The summary as a stable code the console says in its language
    /// (`docs/message-codes.json`, family `connection`).
    pub code: String,
    /// The values the code's text names, by name.
    pub params: BTreeMap<String, String>,
    pub details: TestDetails,
    /// The failure with its whole cause chain in `message` and a fix in `advice`.
    pub error: Option<ErrorBody>,
}

#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct TestDetails {
    pub version: Option<String>,
    pub flavor: Option<String>,
    pub broker_ids: Vec<i32>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NameList {
    pub items: Vec<NameItem>,
    pub total: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct NameItem {
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TableList {
    pub items: Vec<TableItem>,
    pub total: u64,
}

/// A physical table of the source.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TableItem {
    pub name: String,
    pub has_primary_key: bool,
    pub rows_estimate: u64,
    /// Why the table cannot be synced (a name with Chinese characters), if so.
    pub invalid_reason: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ColumnList {
    pub items: Vec<ColumnItem>,
    pub total: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ColumnItem {
    pub name: String,
    /// The column type as the source declares it, e.g. `varchar(64)`.
    #[serde(rename = "type")]
    pub column_type: String,
    pub primary_key: bool,
    pub invalid_reason: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TopicList {
    pub items: Vec<TopicItem>,
    pub total: u64,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TopicItem {
    pub name: String,
    pub partitions: i32,
}

async fn view(state: &AppState, ds: DataSourceRecord) -> ApiResult<DataSource> {
    let used_by = used_by(state, &ds.id).await?;
    let kind = ds.kind();
    // The API keeps the kind and one of `source` / `kafka` beside it.
    let (source, kafka) = match ds.connection {
        Connection::OceanBase(s) | Connection::MySql(s) | Connection::MariaDb(s) => (Some(s), None),
        Connection::Kafka(k) => (None, Some(k)),
    };
    Ok(DataSource {
        source: source.map(|s| SourceView {
            host: s.host,
            port: s.port,
            user: s.user,
            password_set: s.password.is_some(),
            tls: match s.tls {
                None => SourceTlsView {
                    mode: SourceTlsMode::default(),
                    ca_set: false,
                    client_cert_set: false,
                    client_key_set: false,
                },
                Some(t) => SourceTlsView {
                    mode: t.mode,
                    ca_set: t.ca_pem.is_some(),
                    client_cert_set: t.client_cert_pem.is_some(),
                    client_key_set: t.client_key_pem.is_some(),
                },
            },
        }),
        kafka: kafka.map(|k| KafkaView {
            bootstrap_servers: k.bootstrap_servers,
            version: k.version,
            sasl: k.sasl.map(|s| SaslView {
                mechanism: s.mechanism,
                username: s.username,
                password_set: s.password.is_some(),
                kerberos_service_name: s.kerberos_service_name,
                kerberos_principal: s.kerberos_principal,
                kerberos_keytab: s.kerberos_keytab,
            }),
            tls: k.tls.map(|t| TlsView {
                enabled: t.enabled,
                verify_hostname: t.verify_hostname,
                ca_set: t.ca_pem.is_some(),
                client_cert_set: t.client_cert_pem.is_some(),
                client_key_set: t.client_key_pem.is_some(),
            }),
            schema_registry: k.schema_registry.map(|r| RegistryView {
                url: r.url,
                username: r.username,
                password_set: r.password.is_some(),
            }),
        }),
        id: ds.id,
        name: ds.name,
        kind,
        description: ds.description,
        used_by,
        created_at: ds.created_at,
        updated_at: ds.updated_at,
        revision: ds.revision,
    })
}

async fn used_by(state: &AppState, id: &str) -> ApiResult<Vec<ProjectRef>> {
    Ok(state
        .store
        .list_projects()
        .await?
        .into_iter()
        .filter(|p| p.spec.source_id == id || p.spec.target_id == id)
        .map(|p| ProjectRef {
            id: p.id,
            name: p.spec.name,
        })
        .collect())
}

pub(crate) async fn get_record(state: &AppState, id: &str) -> ApiResult<DataSourceRecord> {
    state
        .store
        .get_datasource(id)
        .await?
        .ok_or_else(|| ApiError::not_found("data source", id))
}

/// List data sources.
#[utoipa::path(get, path = "/api/v1/datasources", tag = "datasources", params(KindFilter),
    responses((status = 200, body = DataSourceList), (status = 401, body = ErrorBody)))]
async fn list_datasources(
    State(state): State<AppState>,
    Query(filter): Query<KindFilter>,
) -> ApiResult<Json<DataSourceList>> {
    let mut items: Vec<DataSource> = Vec::new();
    for d in state.store.list_datasources().await? {
        if filter.kind.is_none_or(|k| k == d.kind()) {
            items.push(view(&state, d).await?);
        }
    }
    Ok(Json(DataSourceList {
        total: items.len() as u64,
        items,
    }))
}

/// Create a data source.
#[utoipa::path(post, path = "/api/v1/datasources", tag = "datasources", request_body = DataSourceInput,
    responses((status = 201, body = DataSource), (status = 400, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn create_datasource(
    State(state): State<AppState>,
    axum::Extension(actor): axum::Extension<Actor>,
    Json(input): Json<DataSourceInput>,
) -> ApiResult<(StatusCode, Json<DataSource>)> {
    let mut record = build_record(&state, input, None).await?;
    record.revision = state.store.put_datasource(&record).await?;
    let message = AuditMessage::DataSourceCreated {
        name: record.name.clone(),
    };
    crate::audit::record(&state, &actor, Subject::DataSource(&record.id), message).await?;
    Ok((StatusCode::CREATED, Json(view(&state, record).await?)))
}

/// One data source; its `ETag` is its revision.
#[utoipa::path(get, path = "/api/v1/datasources/{id}", tag = "datasources", params(("id" = String, Path)),
    responses((status = 200, body = DataSource, headers(("ETag" = String, description = "The stored revision, quoted: send it as If-Match to change this revision only"))),
        (status = 404, body = ErrorBody)))]
async fn get_datasource(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<impl IntoResponse> {
    let record = get_record(&state, &id).await?;
    Ok((etag(record.revision), Json(view(&state, record).await?)))
}

/// Edit a data source; omitted secrets are kept. With `If-Match`, only the revision it
/// names (409 `REVISION_CONFLICT` if it changed meanwhile).
#[utoipa::path(put, path = "/api/v1/datasources/{id}", tag = "datasources",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "The ETag the change was made to")),
    request_body = DataSourceInput,
    responses((status = 200, body = DataSource, headers(("ETag" = String, description = "The new revision"))),
        (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_datasource(
    State(state): State<AppState>,
    axum::Extension(actor): axum::Extension<Actor>,
    Path(id): Path<String>,
    if_match: IfMatch,
    Json(input): Json<DataSourceInput>,
) -> ApiResult<impl IntoResponse> {
    let old = get_record(&state, &id).await?;
    if_match.check("data source", &id, old.revision)?;
    if input.kind != old.kind() {
        return Err(ApiError::bad_request(
            "kind",
            "the kind of a data source cannot change",
            "create a new data source of the other kind",
        ));
    }
    let mut record = build_record(&state, input, Some(&old)).await?;
    // Compare-and-swap at the revision read above: a change made meanwhile is a 409.
    record.revision = state.store.put_datasource(&record).await?;
    let message = AuditMessage::DataSourceEdited {
        name: record.name.clone(),
    };
    crate::audit::record(&state, &actor, Subject::DataSource(&id), message).await?;
    Ok((etag(record.revision), Json(view(&state, record).await?)))
}

/// Delete a data source no project uses; with `If-Match`, only that revision.
#[utoipa::path(delete, path = "/api/v1/datasources/{id}", tag = "datasources",
    params(("id" = String, Path), ("If-Match" = Option<String>, Header, description = "The ETag the deletion was decided on")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_datasource(
    State(state): State<AppState>,
    axum::Extension(actor): axum::Extension<Actor>,
    Path(id): Path<String>,
    if_match: IfMatch,
) -> ApiResult<StatusCode> {
    let record = get_record(&state, &id).await?;
    if_match.check("data source", &id, record.revision)?;
    let users = used_by(&state, &id).await?;
    if !users.is_empty() {
        let names: Vec<String> = users
            .iter()
            .map(|p| format!("{} ({})", p.name, p.id))
            .collect();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            ErrorCode::DataSourceInUse {
                projects: names.join(", "),
            },
            format!("the data source is used by project(s) {}", names.join(", ")),
            "delete those projects (or point them at another data source) first",
        ));
    }
    state
        .store
        .delete_datasource(&id, Some(record.revision))
        .await?;
    let message = AuditMessage::DataSourceDeleted {
        name: record.name.clone(),
    };
    crate::audit::record(&state, &actor, Subject::DataSource(&id), message).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Test an unsaved data source: really connects and says what it found.
#[utoipa::path(post, path = "/api/v1/datasources/test", tag = "datasources", request_body = DataSourceInput,
    responses((status = 200, body = TestResult), (status = 400, body = ErrorBody)))]
async fn test_unsaved(
    State(state): State<AppState>,
    Json(input): Json<DataSourceInput>,
) -> ApiResult<Json<TestResult>> {
    // Validated like a create, but nothing is stored and the name need not be free.
    let mut input = input;
    input.name = "unsaved-test".into();
    let record = build_record(&state, input, None).await?;
    Ok(Json(test(&state, &record).await?))
}

/// Test a saved data source.
#[utoipa::path(post, path = "/api/v1/datasources/{id}/test", tag = "datasources", params(("id" = String, Path)),
    responses((status = 200, body = TestResult), (status = 404, body = ErrorBody)))]

async fn test_saved(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<TestResult>> {
    let record = get_record(&state, &id).await?;
    Ok(Json(test(&state, &record).await?))
}

impl TestResult {
    fn ok(summary: TestSummary, english: String, details: TestDetails) -> TestResult {
        TestResult {
            ok: true,
            summary: english,
            code: summary.code().into(),
            params: summary.params(),
            details,
            error: None,
        }
    }
}

/// A failed test: the whole chain in `message`, the innermost cause (the words of the
/// server or library that refused) in the code's `error`.
fn failed(error: &(dyn std::error::Error + 'static), advice: &str) -> TestResult {
    failed_as(
        error,
        ErrorCode::ConnectionFailed {
            error: crate::runtime::root_cause(error),
        },
        advice,
    )
}

fn failed_as(
    error: &(dyn std::error::Error + 'static),
    code: ErrorCode,
    advice: &str,
) -> TestResult {
    let info = crate::model::ErrorInfo::from_error(error);
    let mut message = info.message;
    for cause in &info.chain {
        if !message.contains(cause.as_str()) {
            message.push_str(": ");
            message.push_str(cause);
        }
    }
    let summary = TestSummary::Failed {};
    TestResult {
        ok: false,
        summary: "connection failed".into(),
        code: summary.code().into(),
        params: summary.params(),
        details: TestDetails::default(),
        error: Some(ErrorBody {
            code: code.code().into(),
            params: code.params(),
            message,
            advice: advice.into(),
            field: None,
            details: vec![],
            rule: None,
        }),
    }
}

async fn test(state: &AppState, ds: &DataSourceRecord) -> ApiResult<TestResult> {
    if let Some(kafka) = ds.connection.kafka() {
        let target = kafka_target(state, ds)?;
        let admin = match obsync_kafka::KafkaAdmin::with_timeout(&target, PROBE_TIMEOUT) {
            Ok(a) => a,
            Err(e) => {
                return Ok(failed_as(
                    &e,
                    ErrorCode::KafkaConnectionFailed {
                        error: crate::runtime::root_cause(&e),
                    },
                    "check bootstrap_servers and the security settings",
                ))
            }
        };
        // The registry is probed beside the cluster: a test says what each one found.
        let registry = async {
            match &kafka.schema_registry {
                None => None,
                Some(r) => Some(probe_registry(state, ds, r).await),
            }
        };
        let (cluster, registry) = tokio::join!(admin.cluster(), registry);
        let cluster = match cluster {
            Ok(cluster) => cluster,
            Err(e) => {
                return Ok(failed_as(
                    &e,
                    ErrorCode::KafkaConnectionFailed {
                        error: crate::runtime::root_cause(&e),
                    },
                    "check that the brokers run and that bootstrap_servers, SASL and TLS match the cluster",
                ))
            }
        };
        let ids: Vec<i32> = cluster.brokers.iter().map(|b| b.id).collect();
        let ids_text = ids
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        let mut english = format!(
            "{} broker(s), ids {ids:?}, {} topic(s); Kafka {} as configured",
            ids.len(),
            cluster.topic_count,
            kafka.version.as_str()
        );
        let summary = match registry {
            None => TestSummary::Kafka {
                brokers: ids.len(),
                ids: ids_text,
                topics: cluster.topic_count,
                version: kafka.version.as_str().to_string(),
            },
            Some(Err(failure)) => return Ok(failure),
            Some(Ok((url, subjects))) => {
                english.push_str(&format!("; schema registry {url}: {subjects} subject(s)"));
                TestSummary::KafkaRegistry {
                    brokers: ids.len(),
                    ids: ids_text,
                    topics: cluster.topic_count,
                    version: kafka.version.as_str().to_string(),
                    registry: url,
                    subjects,
                }
            }
        };
        return Ok(TestResult::ok(
            summary,
            english,
            TestDetails {
                version: Some(kafka.version.to_string()),
                flavor: Some("kafka".into()),
                broker_ids: ids,
            },
        ));
    }
    let endpoint = endpoint(state, ds)?;
    let probe = tokio::time::timeout(PROBE_TIMEOUT, async {
        let (mut conn, encrypted) = endpoint.connect_with_tls().await?;
        let info = server_info(&mut conn).await;
        // The answer is in; a failed goodbye changes nothing.
        let _ = conn.disconnect().await;
        Ok::<_, MetadataError>((info?, encrypted))
    })
    .await;
    let mode = endpoint.tls.mode;
    Ok(match probe {
        Ok(Ok((info, encrypted))) => {
            let (server, tls) = (info.to_string(), mode.to_string());
            let (summary, english) = match (encrypted, mode) {
                (true, _) => (
                    TestSummary::SourceTls {
                        server: server.clone(),
                        mode: tls,
                    },
                    format!("{info}; TLS ({mode})"),
                ),
                (false, TlsMode::Disabled) => (
                    TestSummary::SourceNoTls {
                        server: server.clone(),
                    },
                    format!("{info}; no TLS (disabled)"),
                ),
                (false, _) => (
                    TestSummary::SourceTlsNotOffered {
                        server: server.clone(),
                        mode: tls,
                    },
                    format!("{info}; no TLS: the server offers none ({mode})"),
                ),
            };
            TestResult::ok(
                summary,
                english,
                TestDetails {
                    version: Some(info.version.clone()),
                    flavor: Some(info.flavor.to_string()),
                    broker_ids: vec![],
                },
            )
        }
        Ok(Err(e)) => failed(
            &e,
            "check host, port, user and password, and that the server runs",
        ),
        Err(_) => failed_as(
            &std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "no answer from {} within {} s",
                    endpoint.address(),
                    PROBE_TIMEOUT.as_secs()
                ),
            ),
            ErrorCode::ConnectionTimedOut {
                address: endpoint.address(),
                seconds: PROBE_TIMEOUT.as_secs(),
            },
            "check host and port, and that a firewall lets the server through",
        ),
    })
}

/// The connection test of a Kafka data source's schema registry: `GET /subjects` with its
/// login. The URL and the number of subjects, or the failed test naming the URL and the fix.
async fn probe_registry(
    state: &AppState,
    ds: &DataSourceRecord,
    registry: &crate::model::RegistryRecord,
) -> std::result::Result<(String, usize), TestResult> {
    use obsync_pipeline::registry::{ProbeError, SchemaRegistryClient};
    let url = registry.url.clone();
    let password = match state.key.open_datasource(ds) {
        Ok(secrets) => secrets.registry_password,
        Err(e) => {
            return Err(failed(
                &e,
                "enter the schema registry's password again: the stored one cannot be opened",
            ))
        }
    };
    let client = SchemaRegistryClient::new(obsync_config::SchemaRegistry {
        url: url.clone(),
        username: registry.username.clone(),
        password,
        subject_name_strategy: Default::default(),
    });
    match client.probe(PROBE_TIMEOUT).await {
        Ok(subjects) => Ok((url, subjects)),
        Err(e) => Err(match &e {
            ProbeError::Unreachable { .. } => failed_as(
                &e,
                ErrorCode::SchemaRegistryUnreachable {
                    url,
                    error: crate::runtime::root_cause(&e),
                },
                "check the schema registry URL (scheme, host, port and path) and that the registry runs",
            ),
            ProbeError::LoginRefused { status, .. } => failed_as(
                &e,
                ErrorCode::SchemaRegistryLoginRefused {
                    url,
                    status: *status,
                },
                "check the schema registry user and enter its password again",
            ),
            ProbeError::NotCompatible { status, .. } => failed_as(
                &e,
                ErrorCode::SchemaRegistryNotCompatible {
                    url,
                    status: *status,
                },
                "use the URL of the registry's Confluent-compatible API (Apicurio: http://host:8080/apis/ccompat/v7)",
            ),
            _ => failed(&e, "check the schema registry URL and login"),
        }),
    }
}

fn browse_failed(e: &(dyn std::error::Error + 'static)) -> ApiError {
    ApiError::new(
        StatusCode::FAILED_DEPENDENCY,
        ErrorCode::SourceUnavailable {
            error: obsync_model::ErrorChain(e).to_string(),
        },
        obsync_model::ErrorChain(e).to_string(),
        "test the data source's connection and fix what it reports",
    )
}

/// The source's user databases (system schemas excluded).
#[utoipa::path(get, path = "/api/v1/datasources/{id}/databases", tag = "datasources", params(("id" = String, Path)),
    responses((status = 200, body = NameList), (status = 404, body = ErrorBody), (status = 424, body = ErrorBody)))]
async fn list_databases(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<NameList>> {
    let ds = get_record(&state, &id).await?;
    let reader = MetadataReader::from_endpoint(&endpoint(&state, &ds)?);
    let names = reader
        .list_databases()
        .await
        .map_err(|e| browse_failed(&e))?;
    Ok(Json(NameList {
        total: names.len() as u64,
        items: names.into_iter().map(|name| NameItem { name }).collect(),
    }))
}

fn chinese_reason(what: &str, name: &str) -> Option<String> {
    obsync_config::contains_chinese(name).then(|| {
        format!("{what} name {name:?} has Chinese characters, which cannot be synced: rename it at the source")
    })
}

/// The physical tables of a database (views excluded).
#[utoipa::path(get, path = "/api/v1/datasources/{id}/databases/{db}/tables", tag = "datasources",
    params(("id" = String, Path), ("db" = String, Path)),
    responses((status = 200, body = TableList), (status = 404, body = ErrorBody), (status = 424, body = ErrorBody)))]
async fn list_tables(
    State(state): State<AppState>,
    Path((id, db)): Path<(String, String)>,
) -> ApiResult<Json<TableList>> {
    let ds = get_record(&state, &id).await?;
    let reader = MetadataReader::from_endpoint(&endpoint(&state, &ds)?);
    let listing = reader
        .list_tables(Some(std::slice::from_ref(&db)))
        .await
        .map_err(|e| browse_failed(&e))?;
    let mut items = Vec::new();
    for t in listing.into_iter().filter(|t| t.kind == TableKind::Table) {
        // A metadata failure is the answer's failure, not "no primary key, 0 rows"; a
        // table dropped since the listing is simply not listed.
        let (has_primary_key, rows_estimate) = match reader.table_meta(&t.id).await {
            Ok(meta) => (!meta.primary_key.is_empty(), meta.estimated_rows),
            Err(MetadataError::TableNotFound { .. }) => continue,
            Err(e) => return Err(browse_failed(&e)),
        };
        items.push(TableItem {
            invalid_reason: chinese_reason("table", &t.id.table),
            name: t.id.table,
            has_primary_key,
            rows_estimate,
        });
    }
    Ok(Json(TableList {
        total: items.len() as u64,
        items,
    }))
}

/// The columns of a table, with types and key columns.
#[utoipa::path(get, path = "/api/v1/datasources/{id}/databases/{db}/tables/{table}/columns", tag = "datasources",
    params(("id" = String, Path), ("db" = String, Path), ("table" = String, Path)),
    responses((status = 200, body = ColumnList), (status = 404, body = ErrorBody), (status = 424, body = ErrorBody)))]
async fn list_columns(
    State(state): State<AppState>,
    Path((id, db, table)): Path<(String, String, String)>,
) -> ApiResult<Json<ColumnList>> {
    let ds = get_record(&state, &id).await?;
    let reader = MetadataReader::from_endpoint(&endpoint(&state, &ds)?);
    let table_id = obsync_model::TableId::new(db, table);
    let meta = reader.table_meta(&table_id).await.map_err(|e| match e {
        obsync_source::metadata::MetadataError::TableNotFound { .. } => ApiError::new(
            StatusCode::NOT_FOUND,
            ErrorCode::NotFound {
                what: "table".into(),
                id: table_id.to_string(),
            },
            e.to_string(),
            "list the database's tables to find the right name",
        ),
        other => browse_failed(&other),
    })?;
    let items: Vec<ColumnItem> = meta
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| ColumnItem {
            name: c.name.clone(),
            column_type: c.column_type.clone(),
            primary_key: meta.primary_key.contains(&i),
            invalid_reason: chinese_reason("column", &c.name),
        })
        .collect();
    Ok(Json(ColumnList {
        total: items.len() as u64,
        items,
    }))
}

/// The topics of a Kafka data source, with partition counts.
#[utoipa::path(get, path = "/api/v1/datasources/{id}/topics", tag = "datasources", params(("id" = String, Path)),
    responses((status = 200, body = TopicList), (status = 404, body = ErrorBody), (status = 424, body = ErrorBody)))]
async fn list_topics(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<TopicList>> {
    let ds = get_record(&state, &id).await?;
    let target = kafka_target(&state, &ds)?;
    let admin = obsync_kafka::KafkaAdmin::with_timeout(&target, PROBE_TIMEOUT)
        .map_err(|e| browse_failed(&e))?;
    let topics = admin.list_topics().await.map_err(|e| browse_failed(&e))?;
    Ok(Json(TopicList {
        total: topics.len() as u64,
        items: topics
            .into_iter()
            .map(|t| TopicItem {
                name: t.name,
                partitions: t.partitions,
            })
            .collect(),
    }))
}
