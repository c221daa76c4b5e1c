//! The schema registry of the Avro format: registers each table's key and value schemas
//! (Confluent-compatible REST API, which Confluent Schema Registry, Apicurio's
//! `/apis/ccompat/v7`, Karapace and Redpanda serve) and hands the ids to the serializer.
//!
//! Registration is idempotent: a schema the subject already has returns its existing id,
//! a changed one (a DDL changed the table) becomes the subject's next version. Ids are
//! cached per table-metadata version (the `Arc` the reader hands out after each DDL) and
//! topic, so a row costs a map lookup, and the registry sees one request per subject and
//! version.

use obsync_config::SchemaRegistry;
use obsync_format::{FormatOptions, SchemaIds};
use obsync_model::TableMeta;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How long one registry request may take: registration is a small write, a slower
/// answer means the registry is down or overloaded.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// A registry request that failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// No answer (connection refused, DNS, timeout, TLS).
    #[error("schema registry {url} did not answer registering {subject}: check sync.format_options.schema_registry_url and that the registry runs")]
    Unreachable {
        url: String,
        subject: String,
        #[source]
        source: reqwest::Error,
    },
    /// The registry refused the schema or the credentials.
    #[error("schema registry {url} refused {subject} with HTTP {status}: {body}; {advice}")]
    Refused {
        url: String,
        subject: String,
        status: u16,
        body: String,
        advice: &'static str,
    },
    /// The answer was not `{"id": N}`.
    #[error("schema registry {url} answered registering {subject} with {body:?}, not a schema id: is schema_registry_url the Confluent-compatible API (Apicurio: /apis/ccompat/v7)?")]
    BadAnswer {
        url: String,
        subject: String,
        body: String,
    },
}

/// Why a registry did not pass the connection test ([`SchemaRegistryClient::probe`]).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProbeError {
    /// No answer (connection refused, DNS, timeout, TLS).
    #[error("schema registry {url} did not answer: check its URL (scheme, host, port) and that the registry runs")]
    Unreachable {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    /// HTTP 401 or 403: the registry wants another login.
    #[error("schema registry {url} refused the login {login} with HTTP {status}: check the registry user and its password")]
    LoginRefused {
        url: String,
        /// `user "name"`, or `without a user`.
        login: String,
        status: u16,
    },
    /// Another answer than the subjects' list: not the Confluent-compatible API.
    #[error("{url} answered GET /subjects with HTTP {status} {body:?}, not a list of subjects: is the URL the registry's Confluent-compatible API (Apicurio: http://host:8080/apis/ccompat/v7)?")]
    NotCompatible {
        url: String,
        status: u16,
        body: String,
    },
}

/// (table-metadata address, topic) → ids; the `Arc` in the value keeps the address from
/// being reused while cached.
type IdCache = HashMap<(usize, Arc<str>), (Arc<TableMeta>, SchemaIds)>;

/// Registers schemas and remembers their ids. Cheap to share between emitters.
pub struct SchemaRegistryClient {
    http: reqwest::Client,
    settings: SchemaRegistry,
    ids: Mutex<IdCache>,
}

impl std::fmt::Debug for SchemaRegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SchemaRegistryClient")
            .field("url", &self.settings.url)
            .finish_non_exhaustive()
    }
}

impl SchemaRegistryClient {
    pub fn new(settings: SchemaRegistry) -> Self {
        let http = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap_or_default();
        Self {
            http,
            settings,
            ids: Mutex::new(HashMap::new()),
        }
    }

    /// The ids of `table`'s key and value schemas for `topic`, registering them on first
    /// use of this table version.
    pub async fn ids(
        &self,
        format: &FormatOptions,
        topic: &Arc<str>,
        table: &Arc<TableMeta>,
    ) -> Result<SchemaIds, RegistryError> {
        let cache_key = (Arc::as_ptr(table) as usize, topic.clone());
        if let Some((_, ids)) = self.lock().get(&cache_key) {
            return Ok(*ids);
        }
        let schemas = obsync_format::avro_schemas(format, table);
        let (key_subject, value_subject) =
            schemas.subjects(topic, self.settings.subject_name_strategy);
        let ids = SchemaIds {
            // A table without a primary key has null keys: no key schema to register.
            key: if table.primary_key.is_empty() {
                0
            } else {
                self.register(&key_subject, &schemas.key).await?
            },
            value: self.register(&value_subject, &schemas.value).await?,
        };
        tracing::info!(table = %table.id, topic = %topic, key_subject, value_subject, key_id = ids.key, value_id = ids.value, "schemas registered");
        self.lock().insert(cache_key, (table.clone(), ids));
        Ok(ids)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, IdCache> {
        // A panic while holding the lock cannot leave the map half-written (inserts are
        // single calls), so a poisoned lock is still usable.
        self.ids.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The connection test: `GET /subjects` with the login, within `timeout`. The number
    /// of subjects when the registry answers as the Confluent-compatible API does.
    pub async fn probe(&self, timeout: Duration) -> Result<usize, ProbeError> {
        let url = self.settings.url.clone();
        let mut request = self
            .http
            .get(format!("{url}/subjects"))
            .header("Accept", "application/vnd.schemaregistry.v1+json")
            .timeout(timeout);
        if let (Some(user), Some(password)) = (&self.settings.username, &self.settings.password) {
            request = request.basic_auth(user, Some(password.expose()));
        }
        let unreachable = |source| ProbeError::Unreachable {
            url: url.clone(),
            source,
        };
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let body = response.text().await.map_err(unreachable)?;
        if matches!(status.as_u16(), 401 | 403) {
            return Err(ProbeError::LoginRefused {
                login: match &self.settings.username {
                    Some(user) => format!("user {user:?}"),
                    None => "without a user".into(),
                },
                url,
                status: status.as_u16(),
            });
        }
        match serde_json::from_str::<Vec<String>>(&body) {
            Ok(subjects) if status.is_success() => Ok(subjects.len()),
            _ => Err(ProbeError::NotCompatible {
                url,
                status: status.as_u16(),
                body: body.chars().take(200).collect(),
            }),
        }
    }

    /// `POST /subjects/{subject}/versions`: the schema's id (new or existing).
    pub async fn register(&self, subject: &str, schema: &str) -> Result<u32, RegistryError> {
        let url = self.settings.url.clone();
        let unreachable = |source| RegistryError::Unreachable {
            url: url.clone(),
            subject: subject.to_string(),
            source,
        };
        let mut endpoint =
            reqwest::Url::parse(&format!("{url}/")).map_err(|_| RegistryError::BadAnswer {
                url: url.clone(),
                subject: subject.to_string(),
                body: "(the URL does not parse)".into(),
            })?;
        endpoint
            .path_segments_mut()
            .map_err(|_| RegistryError::BadAnswer {
                url: url.clone(),
                subject: subject.to_string(),
                body: "(the URL cannot have a path)".into(),
            })?
            .pop_if_empty()
            .extend(["subjects", subject, "versions"]);
        let mut request = self
            .http
            .post(endpoint)
            .header("Content-Type", "application/vnd.schemaregistry.v1+json")
            .json(&serde_json::json!({ "schema": schema }));
        if let (Some(user), Some(password)) = (&self.settings.username, &self.settings.password) {
            request = request.basic_auth(user, Some(password.expose()));
        }
        let response = request.send().await.map_err(unreachable)?;
        let status = response.status();
        let body = response.text().await.map_err(unreachable)?;
        if !status.is_success() {
            return Err(RegistryError::Refused {
                url,
                subject: subject.to_string(),
                status: status.as_u16(),
                body: body.chars().take(500).collect(),
                advice: match status.as_u16() {
                    401 | 403 => "check schema_registry_username and its password",
                    409 => "the subject's compatibility rule refuses the new schema: relax it (NONE or BACKWARD) or use a new subject",
                    422 => "the registry could not parse the schema: report this as an obsync bug",
                    _ => "see the registry's log",
                },
            });
        }
        #[derive(serde::Deserialize)]
        struct Registered {
            id: u32,
        }
        serde_json::from_str::<Registered>(&body)
            .map(|r| r.id)
            .map_err(|_| RegistryError::BadAnswer {
                url,
                subject: subject.to_string(),
                body: body.chars().take(200).collect(),
            })
    }
}
