//! `/api/v1/datasources`: create, edit, delete, test connection and browse. Secrets are
//! write-only: bodies take `password` / `*_pem`, answers only say `*_set`.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use obsync_source::metadata::{server_info, MetadataError, MetadataReader, TableKind};
use obsync_source::tls::{ClientCertificate, Pem, SourceTls, TlsMode};
use obsync_source::{SourceEndpoint, SourceFlavor};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiError, ApiResult, ErrorBody};
use super::extract::{Json, Path, Query};
use super::{Actor, ProjectRef};
use crate::audit::Subject;
use crate::error::{Error, Rule};
use crate::model::{
    new_id, now_rfc3339, DataSourceKind, DataSourceRecord, KafkaRecord, SaslRecord, SourceRecord,
    SourceTlsMode, SourceTlsRecord, TlsRecord,
};
use crate::state::AppState;

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
    pub version: String,
    pub sasl: Option<SaslView>,
    pub tls: Option<TlsView>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SaslView {
    pub mechanism: String,
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

/// The body of create, update and test: like [`DataSource`] with write-only secrets.
/// On update an omitted secret keeps the stored one.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DataSourceInput {
    /// 1-32 characters, no spaces, unique.
    #[schema(pattern = r"^\S{1,32}$")]
    pub name: String,
    pub kind: DataSourceKind,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub source: Option<SourceInput>,
    #[serde(default)]
    pub kafka: Option<KafkaInput>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceInput {
    pub host: String,
    pub port: u16,
    /// `user`, or `user@tenant[#cluster]` for OceanBase.
    pub user: String,
    #[serde(default)]
    pub password: Option<String>,
    /// TLS to the source; omitted on create means mode `preferred`, on update the stored
    /// settings.
    #[serde(default)]
    pub tls: Option<SourceTlsInput>,
}

/// TLS to a database source. A PEM field omitted on update keeps the stored one; an
/// empty string removes it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceTlsInput {
    pub mode: SourceTlsMode,
    /// The CA (PEM) the server's certificate must be signed by; `verify_ca` and
    /// `verify_identity` only (without it they trust the system's CAs).
    #[serde(default)]
    pub ca_pem: Option<String>,
    /// A client certificate (PEM), for users created `REQUIRE X509`; with its key.
    #[serde(default)]
    pub client_cert_pem: Option<String>,
    /// The client certificate's private key (PEM); write-only.
    #[serde(default)]
    pub client_key_pem: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct KafkaInput {
    /// `host:port[,host:port…]`.
    pub bootstrap_servers: String,
    /// `0.9`, `1.0`, `2.x` or `3.x`.
    pub version: String,
    #[serde(default)]
    pub sasl: Option<SaslInput>,
    #[serde(default)]
    pub tls: Option<TlsInput>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaslInput {
    /// `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` or `GSSAPI`.
    pub mechanism: String,
    pub username: String,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub kerberos_service_name: Option<String>,
    #[serde(default)]
    pub kerberos_principal: Option<String>,
    #[serde(default)]
    pub kerberos_keytab: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TlsInput {
    pub enabled: bool,
    #[serde(default)]
    pub verify_hostname: Option<bool>,
    #[serde(default)]
    pub ca_pem: Option<String>,
    #[serde(default)]
    pub client_cert_pem: Option<String>,
    #[serde(default)]
    pub client_key_pem: Option<String>,
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

/// The answer of a test connection.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TestResult {
    pub ok: bool,
    /// One line: what was found, e.g. `mariadb 10.11.6-MariaDB`.
    pub summary: String,
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

fn view(state: &AppState, ds: DataSourceRecord) -> ApiResult<DataSource> {
    let used_by = used_by(state, &ds.id)?;
    Ok(DataSource {
        source: ds.source.map(|s| SourceView {
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
        kafka: ds.kafka.map(|k| KafkaView {
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
        }),
        id: ds.id,
        name: ds.name,
        kind: ds.kind,
        description: ds.description,
        used_by,
        created_at: ds.created_at,
        updated_at: ds.updated_at,
    })
}

fn used_by(state: &AppState, id: &str) -> ApiResult<Vec<ProjectRef>> {
    Ok(state
        .store
        .list_projects()?
        .into_iter()
        .filter(|p| p.spec.source_id == id || p.spec.target_id == id)
        .map(|p| ProjectRef {
            id: p.id,
            name: p.spec.name,
        })
        .collect())
}

/// Validates `input` and builds the record; secrets omitted here keep `old`'s.
pub fn build_record(
    state: &AppState,
    input: DataSourceInput,
    old: Option<&DataSourceRecord>,
) -> crate::error::Result<DataSourceRecord> {
    let name = input.name.trim().to_string();
    crate::names::check_visible("name", &name)?;
    if name.is_empty() || name.chars().count() > 32 || name.chars().any(char::is_whitespace) {
        return Err(Error::invalid(
            Rule::DataSource,
            "name",
            format!("data source name {:?} is invalid", input.name),
            "use 1-32 characters without spaces",
        ));
    }
    let taken = state
        .store
        .list_datasources()?
        .into_iter()
        .any(|d| d.name == name && Some(&d.id) != old.map(|o| &o.id));
    if taken {
        return Err(Error::NameTaken {
            what: "data source",
            name,
        });
    }
    let seal = |plain: Option<String>, old: Option<&crate::secrets::Sealed>| {
        plain.map(|p| state.key.seal(&p)).or_else(|| old.cloned())
    };
    let now = now_rfc3339();
    let (source, kafka) = match input.kind {
        DataSourceKind::Kafka => {
            let k = input.kafka.ok_or_else(|| {
                Error::invalid(
                    Rule::DataSource,
                    "kafka",
                    "a Kafka data source needs the kafka object",
                    "add kafka: {bootstrap_servers, version}",
                )
            })?;
            if k.bootstrap_servers.trim().is_empty() {
                return Err(Error::invalid(
                    Rule::DataSource,
                    "kafka.bootstrap_servers",
                    "bootstrap_servers is empty",
                    "write host:port[,host:port…]",
                ));
            }
            if !["0.9", "1.0", "2.x", "3.x", "4.x"].contains(&k.version.as_str()) {
                return Err(Error::invalid(
                    Rule::DataSource,
                    "kafka.version",
                    format!("Kafka version {:?} is not known", k.version),
                    "use 0.9, 1.0, 2.x or 3.x",
                ));
            }
            // Stored secrets stay with the connection they were sent for: a changed
            // address, identity or TLS setting drops them unless they are sent again.
            let old_k = old
                .and_then(|o| o.kafka.as_ref())
                .filter(|o| same_kafka_connection(o, &k));
            let sasl = match k.sasl {
                None => None,
                Some(s) => {
                    if !["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "GSSAPI"]
                        .contains(&s.mechanism.as_str())
                    {
                        return Err(Error::invalid(
                            Rule::DataSource,
                            "kafka.sasl.mechanism",
                            format!("SASL mechanism {:?} is not known", s.mechanism),
                            "use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or GSSAPI",
                        ));
                    }
                    if s.mechanism == "GSSAPI" {
                        check_kerberos(&s)?;
                    }
                    let old_pw = old_k
                        .and_then(|k| k.sasl.as_ref())
                        .and_then(|s| s.password.as_ref());
                    Some(SaslRecord {
                        password: seal(s.password, old_pw),
                        mechanism: s.mechanism,
                        username: s.username,
                        kerberos_service_name: s.kerberos_service_name,
                        kerberos_principal: s.kerberos_principal,
                        kerberos_keytab: s.kerberos_keytab,
                    })
                }
            };
            let tls = k.tls.map(|t| {
                let old_t = old_k.and_then(|k| k.tls.as_ref());
                TlsRecord {
                    enabled: t.enabled,
                    verify_hostname: t.verify_hostname.unwrap_or(true),
                    ca_pem: t.ca_pem.or_else(|| old_t.and_then(|o| o.ca_pem.clone())),
                    client_cert_pem: t
                        .client_cert_pem
                        .or_else(|| old_t.and_then(|o| o.client_cert_pem.clone())),
                    client_key_pem: seal(
                        t.client_key_pem,
                        old_t.and_then(|o| o.client_key_pem.as_ref()),
                    ),
                }
            });
            (
                None,
                Some(KafkaRecord {
                    bootstrap_servers: k.bootstrap_servers.trim().to_string(),
                    version: k.version,
                    sasl,
                    tls,
                }),
            )
        }
        _ => {
            let s = input.source.ok_or_else(|| {
                Error::invalid(
                    Rule::DataSource,
                    "source",
                    "a database data source needs the source object",
                    "add source: {host, port, user, password}",
                )
            })?;
            if s.host.trim().is_empty() {
                return Err(Error::invalid(
                    Rule::DataSource,
                    "source.host",
                    "host is empty",
                    "write the server's host name or IP address",
                ));
            }
            if s.port == 0 {
                return Err(Error::invalid(
                    Rule::DataSource,
                    "source.port",
                    "port 0 is out of range",
                    "use 1-65535",
                ));
            }
            if input.kind == DataSourceKind::Oceanbase && !s.user.contains('@') {
                return Err(Error::invalid(
                    Rule::DataSource,
                    "source.user",
                    format!("OceanBase user {:?} names no tenant", s.user),
                    "write user@tenant, or user@tenant#cluster through OBProxy",
                ));
            }
            if s.user.trim().is_empty() {
                return Err(Error::invalid(
                    Rule::DataSource,
                    "source.user",
                    "user is empty",
                    "write the sync user's name",
                ));
            }
            // The secrets (password, client key) stay with the address, user and TLS
            // settings they were sent for.
            let old_s = old.and_then(|o| o.source.as_ref());
            let old_tls = old_s.and_then(|s| s.tls.as_ref());
            let same_connection = old_s.is_some_and(|o| {
                o.host == s.host.trim()
                    && o.port == s.port
                    && o.user == s.user
                    && same_source_tls(o.tls.as_ref(), s.tls.as_ref())
            });
            let old_pw = old_s
                .filter(|_| same_connection)
                .and_then(|s| s.password.as_ref());
            let kept_tls = old_tls.map(|t| SourceTlsRecord {
                client_key_pem: t.client_key_pem.clone().filter(|_| same_connection),
                ..t.clone()
            });
            let tls = match s.tls {
                None => kept_tls,
                Some(t) => Some(source_tls_record(state, t, kept_tls.as_ref())?),
            };
            (
                Some(SourceRecord {
                    host: s.host.trim().to_string(),
                    port: s.port,
                    user: s.user,
                    password: seal(s.password, old_pw),
                    tls,
                }),
                None,
            )
        }
    };
    Ok(DataSourceRecord {
        id: old.map(|o| o.id.clone()).unwrap_or_else(|| new_id("ds")),
        name,
        kind: input.kind,
        description: input.description.unwrap_or_default(),
        source,
        kafka,
        created_at: old
            .map(|o| o.created_at.clone())
            .unwrap_or_else(|| now.clone()),
        updated_at: now,
    })
}

/// Validates a source's TLS input (the project file's `[source.tls]` rules) and merges it
/// with the stored settings.
fn source_tls_record(
    state: &AppState,
    input: SourceTlsInput,
    old: Option<&SourceTlsRecord>,
) -> crate::error::Result<SourceTlsRecord> {
    let invalid = |field: &str, message: &str, advice: &str| {
        Error::invalid(Rule::DataSource, field, message, advice)
    };
    // Omitted keeps the stored value, empty removes it.
    let merge = |given: Option<String>, stored: Option<String>| match given {
        Some(text) if text.trim().is_empty() => None,
        Some(text) => Some(text),
        None => stored,
    };
    let mode = input.mode;
    let verifies = mode.config().verifies_certificate();
    if input
        .ca_pem
        .as_deref()
        .is_some_and(|c| !c.trim().is_empty())
        && !verifies
    {
        return Err(invalid(
            "source.tls.ca_pem",
            &format!("a CA is not used with TLS mode {}", mode.as_str()),
            "choose mode verify_identity (or verify_ca) to check the server's certificate against it, or leave the CA empty",
        ));
    }
    // A stored CA goes with a mode that no longer checks the certificate.
    let ca_pem = merge(input.ca_pem, old.and_then(|o| o.ca_pem.clone())).filter(|_| verifies);
    let client_cert_pem = merge(
        input.client_cert_pem,
        old.and_then(|o| o.client_cert_pem.clone()),
    );
    let client_key_pem = match input.client_key_pem {
        Some(key) if key.trim().is_empty() => None,
        Some(key) => {
            if !key.contains("PRIVATE KEY-----") {
                return Err(invalid(
                    "source.tls.client_key_pem",
                    "the client key is not a PEM private key",
                    "paste the key file's whole text, from -----BEGIN ... PRIVATE KEY----- to its END line",
                ));
            }
            Some(state.key.seal(&key))
        }
        None => old.and_then(|o| o.client_key_pem.clone()),
    };
    for (field, pem) in [
        ("source.tls.ca_pem", &ca_pem),
        ("source.tls.client_cert_pem", &client_cert_pem),
    ] {
        if pem
            .as_deref()
            .is_some_and(|p| !p.contains("-----BEGIN CERTIFICATE-----"))
        {
            return Err(invalid(
                field,
                "the text is not a PEM certificate",
                "paste the whole file, from -----BEGIN CERTIFICATE----- to its END line",
            ));
        }
    }
    match (&client_cert_pem, &client_key_pem) {
        (Some(_), None) | (None, Some(_)) => {
            return Err(invalid(
                "source.tls.client_cert_pem",
                "a client certificate needs its private key, and a key its certificate",
                "give both client_cert_pem and client_key_pem, or neither",
            ))
        }
        (Some(_), Some(_)) if mode == SourceTlsMode::Disabled => {
            return Err(invalid(
                "source.tls.mode",
                "a client certificate needs TLS, which mode disabled turns off",
                "choose another mode, or remove the client certificate and key",
            ))
        }
        _ => {}
    }
    Ok(SourceTlsRecord {
        mode,
        ca_pem,
        client_cert_pem,
        client_key_pem,
    })
}

/// The source crate's TLS settings of a stored source, key opened: test connection, browse
/// and preview connect exactly as a run of the project file does.
pub fn source_tls(state: &AppState, tls: Option<&SourceTlsRecord>) -> ApiResult<SourceTls> {
    let Some(tls) = tls else {
        return Ok(SourceTls::default());
    };
    let client_cert = match (&tls.client_cert_pem, &tls.client_key_pem) {
        (Some(cert), Some(sealed)) => Some(ClientCertificate {
            cert: Pem::Text(cert.clone()),
            key: Pem::Text(state.key.open(sealed).map_err(|e| ApiError::internal(&e))?),
        }),
        _ => None,
    };
    Ok(SourceTls {
        mode: obsync_pipeline::settings::tls_mode(tls.mode.config()),
        ca: tls.ca_pem.clone().map(Pem::Text),
        client_cert,
    })
}

/// Whether `new` talks to the same brokers, as the same identity, with the same TLS as
/// `old`: only then may `old`'s sealed secrets (SASL password, client key) be kept.
fn same_kafka_connection(old: &KafkaRecord, new: &KafkaInput) -> bool {
    let sasl = match (&old.sasl, &new.sasl) {
        (None, None) => true,
        (Some(o), Some(n)) => {
            o.mechanism == n.mechanism
                && o.username == n.username
                && o.kerberos_principal == n.kerberos_principal
        }
        _ => false,
    };
    let old_tls = old.tls.as_ref().filter(|t| t.enabled);
    let new_tls = new.tls.as_ref().filter(|t| t.enabled);
    let tls = match (old_tls, new_tls) {
        (None, None) => true,
        (Some(o), Some(n)) => {
            let same =
                |sent: &Option<String>, kept: &Option<String>| sent.is_none() || sent == kept;
            o.verify_hostname == n.verify_hostname.unwrap_or(true)
                && same(&n.ca_pem, &o.ca_pem)
                && same(&n.client_cert_pem, &o.client_cert_pem)
        }
        _ => false,
    };
    old.bootstrap_servers == new.bootstrap_servers.trim() && sasl && tls
}

/// Whether a source's TLS input keeps the stored TLS settings: omitted, or the same mode
/// with no other CA or client certificate. A connection that checks another certificate,
/// or none, is a different connection for the stored secrets.
fn same_source_tls(old: Option<&SourceTlsRecord>, new: Option<&SourceTlsInput>) -> bool {
    let Some(new) = new else {
        return true;
    };
    let old_mode = old.map_or(SourceTlsMode::default(), |o| o.mode);
    let same = |sent: &Option<String>, kept: Option<&String>| {
        sent.as_ref().is_none_or(|s| Some(s) == kept)
    };
    new.mode == old_mode
        && same(&new.ca_pem, old.and_then(|o| o.ca_pem.as_ref()))
        && same(
            &new.client_cert_pem,
            old.and_then(|o| o.client_cert_pem.as_ref()),
        )
}

pub(crate) fn get_record(state: &AppState, id: &str) -> ApiResult<DataSourceRecord> {
    state
        .store
        .get_datasource(id)?
        .ok_or_else(|| ApiError::not_found("data source", id))
}

/// List data sources.
#[utoipa::path(get, path = "/api/v1/datasources", tag = "datasources", params(KindFilter),
    responses((status = 200, body = DataSourceList), (status = 401, body = ErrorBody)))]
async fn list_datasources(
    State(state): State<AppState>,
    Query(filter): Query<KindFilter>,
) -> ApiResult<Json<DataSourceList>> {
    let items: Vec<DataSource> = state
        .store
        .list_datasources()?
        .into_iter()
        .filter(|d| filter.kind.is_none_or(|k| k == d.kind))
        .map(|d| view(&state, d))
        .collect::<ApiResult<_>>()?;
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
    let record = build_record(&state, input, None)?;
    state.store.put_datasource(&record)?;
    let message = format!("created data source {:?}", record.name);
    crate::audit::record(&state, &actor, Subject::DataSource(&record.id), &message)?;
    Ok((StatusCode::CREATED, Json(view(&state, record)?)))
}

/// One data source.
#[utoipa::path(get, path = "/api/v1/datasources/{id}", tag = "datasources", params(("id" = String, Path)),
    responses((status = 200, body = DataSource), (status = 404, body = ErrorBody)))]
async fn get_datasource(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<DataSource>> {
    Ok(Json(view(&state, get_record(&state, &id)?)?))
}

/// Edit a data source; omitted secrets are kept.
#[utoipa::path(put, path = "/api/v1/datasources/{id}", tag = "datasources", params(("id" = String, Path)),
    request_body = DataSourceInput,
    responses((status = 200, body = DataSource), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn update_datasource(
    State(state): State<AppState>,
    axum::Extension(actor): axum::Extension<Actor>,
    Path(id): Path<String>,
    Json(input): Json<DataSourceInput>,
) -> ApiResult<Json<DataSource>> {
    let old = get_record(&state, &id)?;
    if input.kind != old.kind {
        return Err(ApiError::bad_request(
            "kind",
            "the kind of a data source cannot change",
            "create a new data source of the other kind",
        ));
    }
    let record = build_record(&state, input, Some(&old))?;
    state.store.put_datasource(&record)?;
    let message = format!("edited data source {:?}", record.name);
    crate::audit::record(&state, &actor, Subject::DataSource(&id), &message)?;
    Ok(Json(view(&state, record)?))
}

/// Delete a data source no project uses.
#[utoipa::path(delete, path = "/api/v1/datasources/{id}", tag = "datasources", params(("id" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn delete_datasource(
    State(state): State<AppState>,
    axum::Extension(actor): axum::Extension<Actor>,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    let record = get_record(&state, &id)?;
    let users = used_by(&state, &id)?;
    if !users.is_empty() {
        let names: Vec<String> = users
            .iter()
            .map(|p| format!("{} ({})", p.name, p.id))
            .collect();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "DATASOURCE_IN_USE",
            format!("the data source is used by project(s) {}", names.join(", ")),
            "delete those projects (or point them at another data source) first",
        ));
    }
    state.store.delete_datasource(&id)?;
    let message = format!("deleted data source {:?}", record.name);
    crate::audit::record(&state, &actor, Subject::DataSource(&id), &message)?;
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
    let record = build_record(&state, input, None)?;
    Ok(Json(test(&state, &record).await?))
}

/// GSSAPI needs the client's principal and a keytab on the server's disk (the server runs
/// `kinit` with them, as an argument vector); the project file's rules
/// (`obsync_config::Kerberos`), with an absolute keytab path.
fn check_kerberos(s: &SaslInput) -> crate::error::Result<()> {
    let invalid = |field: &str, message: String, advice: &str| {
        Error::invalid(Rule::DataSource, field, message, advice)
    };
    let refused = |field: &str, e: obsync_config::InvalidKerberos| invalid(field, e.message, e.fix);
    match s.kerberos_principal.as_deref() {
        Some(p) => obsync_config::Kerberos::check_principal(p)
            .map_err(|e| refused("kafka.sasl.kerberos_principal", e))?,
        None => {
            return Err(invalid(
                "kafka.sasl.kerberos_principal",
                "GSSAPI needs the client's Kerberos principal".into(),
                "set kerberos_principal, e.g. obsync@EXAMPLE.COM (the principal in the keytab)",
            ))
        }
    }
    if let Some(name) = s.kerberos_service_name.as_deref().filter(|n| !n.is_empty()) {
        obsync_config::Kerberos::check_service_name(name)
            .map_err(|e| refused("kafka.sasl.kerberos_service_name", e))?;
    }
    match s.kerberos_keytab.as_deref() {
        Some(k) if std::path::Path::new(k).is_absolute() => {
            obsync_config::Kerberos::check_keytab(std::path::Path::new(k))
                .map_err(|e| refused("kafka.sasl.kerberos_keytab", e))
        }
        _ => Err(invalid(
            "kafka.sasl.kerberos_keytab",
            "GSSAPI needs the absolute path of a keytab on the server's machine".into(),
            "set kerberos_keytab, e.g. /etc/obsync/obsync.keytab (made with kadmin's ktadd)",
        )),
    }
}

/// Test a saved data source.
#[utoipa::path(post, path = "/api/v1/datasources/{id}/test", tag = "datasources", params(("id" = String, Path)),
    responses((status = 200, body = TestResult), (status = 404, body = ErrorBody)))]

async fn test_saved(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<TestResult>> {
    let record = get_record(&state, &id)?;
    Ok(Json(test(&state, &record).await?))
}

/// The source endpoint of a database data source, password opened.
pub fn endpoint(state: &AppState, ds: &DataSourceRecord) -> ApiResult<SourceEndpoint> {
    let Some(s) = &ds.source else {
        return Err(ApiError::bad_request(
            "id",
            format!("data source {} is a Kafka cluster, not a database", ds.name),
            "choose an OceanBase, MySQL or MariaDB data source",
        ));
    };
    let password = match &s.password {
        Some(sealed) => state.key.open(sealed).map_err(|e| ApiError::internal(&e))?,
        None => String::new(),
    };
    Ok(SourceEndpoint {
        flavor: match ds.kind {
            DataSourceKind::Oceanbase => SourceFlavor::OceanBase,
            DataSourceKind::Mariadb => SourceFlavor::MariaDb,
            _ => SourceFlavor::MySql,
        },
        host: s.host.clone(),
        port: s.port,
        user: s.user.clone(),
        password,
        tls: source_tls(state, s.tls.as_ref())?,
    })
}

/// The Kafka client target of a Kafka data source, secrets opened.
pub fn kafka_target(
    state: &AppState,
    ds: &DataSourceRecord,
) -> ApiResult<obsync_kafka::KafkaTarget> {
    use obsync_kafka::config as k;
    let Some(kafka) = &ds.kafka else {
        return Err(ApiError::bad_request(
            "id",
            format!("data source {} is a database, not a Kafka cluster", ds.name),
            "choose a Kafka data source",
        ));
    };
    let mut target = obsync_kafka::KafkaTarget::new(kafka.bootstrap_servers.clone());
    target.version = match kafka.version.as_str() {
        "0.9" => k::KafkaVersion::V0_9,
        "1.0" => k::KafkaVersion::V1_0,
        "2.x" => k::KafkaVersion::V2,
        _ => k::KafkaVersion::V3Plus,
    };
    if let Some(s) = &kafka.sasl {
        let Some(mechanism) = k::SaslMechanism::parse(&s.mechanism) else {
            return Err(ApiError::bad_request(
                "kafka.sasl.mechanism",
                format!("unknown SASL mechanism {:?}", s.mechanism),
                "use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or GSSAPI",
            ));
        };
        let password = match &s.password {
            Some(sealed) => state.key.open(sealed).map_err(|e| ApiError::internal(&e))?,
            None => String::new(),
        };
        let kerberos = (mechanism == k::SaslMechanism::Gssapi).then(|| obsync_config::Kerberos {
            service_name: s
                .kerberos_service_name
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| obsync_config::DEFAULT_KERBEROS_SERVICE_NAME.to_string()),
            keytab: s.kerberos_keytab.clone().unwrap_or_default().into(),
        });
        let username = match &kerberos {
            Some(_) => s.kerberos_principal.clone().unwrap_or_default(),
            None => s.username.clone(),
        };
        target.sasl = Some(k::Sasl {
            mechanism,
            username,
            password: obsync_config::Secret::new(password),
            kerberos,
        });
    }
    target.tls = crate::spec::kafka_tls(&ds.name, kafka.tls.as_ref(), Some(&state.key))
        .map_err(ApiError::from)?;
    Ok(target)
}

fn failed(error: &(dyn std::error::Error + 'static), advice: &str) -> TestResult {
    let info = crate::model::ErrorInfo::from_error(error);
    let mut message = info.message;
    for cause in &info.chain {
        if !message.contains(cause.as_str()) {
            message.push_str(": ");
            message.push_str(cause);
        }
    }
    TestResult {
        ok: false,
        summary: "connection failed".into(),
        details: TestDetails::default(),
        error: Some(ErrorBody {
            code: "CONNECTION_FAILED".into(),
            message,
            advice: advice.into(),
            field: None,
            details: vec![],
        }),
    }
}

async fn test(state: &AppState, ds: &DataSourceRecord) -> ApiResult<TestResult> {
    if ds.kind == DataSourceKind::Kafka {
        let target = kafka_target(state, ds)?;
        let admin = match obsync_kafka::KafkaAdmin::with_timeout(&target, PROBE_TIMEOUT) {
            Ok(a) => a,
            Err(e) => {
                return Ok(failed(
                    &e,
                    "check bootstrap_servers and the security settings",
                ))
            }
        };
        return Ok(match admin.cluster().await {
            Ok(cluster) => {
                let ids: Vec<i32> = cluster.brokers.iter().map(|b| b.id).collect();
                TestResult {
                    ok: true,
                    summary: format!(
                        "{} broker(s), ids {ids:?}, {} topic(s); Kafka {} as configured",
                        ids.len(),
                        cluster.topic_count,
                        ds.kafka.as_ref().map_or("", |k| k.version.as_str())
                    ),
                    details: TestDetails {
                        version: ds.kafka.as_ref().map(|k| k.version.clone()),
                        flavor: Some("kafka".into()),
                        broker_ids: ids,
                    },
                    error: None,
                }
            }
            Err(e) => failed(
                &e,
                "check that the brokers run and that bootstrap_servers, SASL and TLS match the cluster",
            ),
        });
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
        Ok(Ok((info, encrypted))) => TestResult {
            ok: true,
            summary: match (encrypted, mode) {
                (true, _) => format!("{info}; TLS ({mode})"),
                (false, TlsMode::Disabled) => format!("{info}; no TLS (disabled)"),
                (false, _) => format!("{info}; no TLS: the server offers none ({mode})"),
            },
            details: TestDetails {
                version: Some(info.version.clone()),
                flavor: Some(info.flavor.to_string()),
                broker_ids: vec![],
            },
            error: None,
        },
        Ok(Err(e)) => failed(
            &e,
            "check host, port, user and password, and that the server runs",
        ),
        Err(_) => failed(
            &std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "no answer from {} within {} s",
                    endpoint.address(),
                    PROBE_TIMEOUT.as_secs()
                ),
            ),
            "check host and port, and that a firewall lets the server through",
        ),
    })
}

fn browse_failed(e: &(dyn std::error::Error + 'static)) -> ApiError {
    let info = crate::model::ErrorInfo::from_error(e);
    ApiError::new(
        StatusCode::FAILED_DEPENDENCY,
        "SOURCE_UNAVAILABLE",
        info.message,
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
    let ds = get_record(&state, &id)?;
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
    let ds = get_record(&state, &id)?;
    let reader = MetadataReader::from_endpoint(&endpoint(&state, &ds)?);
    let listing = reader
        .list_tables(Some(std::slice::from_ref(&db)))
        .await
        .map_err(|e| browse_failed(&e))?;
    let mut items = Vec::new();
    for t in listing.into_iter().filter(|t| t.kind == TableKind::Table) {
        let (has_primary_key, rows_estimate) = match reader.table_meta(&t.id).await {
            Ok(meta) => (!meta.primary_key.is_empty(), meta.estimated_rows),
            Err(_) => (false, 0),
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
    let ds = get_record(&state, &id)?;
    let reader = MetadataReader::from_endpoint(&endpoint(&state, &ds)?);
    let meta = reader
        .table_meta(&obsync_model::TableId::new(db, table))
        .await
        .map_err(|e| match e {
            obsync_source::metadata::MetadataError::TableNotFound { .. } => ApiError::new(
                StatusCode::NOT_FOUND,
                "NOT_FOUND",
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
    let ds = get_record(&state, &id)?;
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
