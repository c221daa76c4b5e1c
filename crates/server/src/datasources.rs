//! Data sources, the domain side: the input a data source is made from, its validation
//! into a stored record (secrets sealed, and kept only for the connection they were sent
//! for), and the connections a probe or a preview opens with its secrets
//! ([`crate::secrets::SecretKey::open_datasource`], the one door). No HTTP here: the
//! handlers and views are `api/datasources.rs`.

use obsync_config::{Secret, SourceKind};
use obsync_source::tls::{ClientCertificate, Pem, SourceTls};
use obsync_source::{SourceEndpoint, SourceFlavor};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{Error, InputRule, Result, Rule};
use crate::model::{
    new_id, now_rfc3339, Connection, DataSourceKind, DataSourceRecord, KafkaRecord, KafkaRelease,
    RegistryRecord, SaslMechanism, SaslRecord, SourceRecord, SourceTlsMode, SourceTlsRecord,
    TlsRecord,
};
use crate::state::AppState;

/// Longest data source name, in characters (names hold no whitespace).
pub const DATA_SOURCE_NAME_MAX_CHARS: usize = 32;

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
    /// `0.9`, `1.0`, `2.x`, `3.x` or `4.x` (another value answers 400 on `kafka.version`).
    #[schema(value_type = KafkaRelease)]
    pub version: String,
    #[serde(default)]
    pub sasl: Option<SaslInput>,
    #[serde(default)]
    pub tls: Option<TlsInput>,
    /// The schema registry of the DebeziumAvro format; omitted or null: none.
    #[serde(default)]
    pub schema_registry: Option<RegistryInput>,
}

/// A schema registry's Confluent-compatible API and its basic-authentication login.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegistryInput {
    /// `http(s)://host:port[/path]` (Apicurio: `http://host:8080/apis/ccompat/v7`).
    pub url: String,
    /// The basic-authentication user; omitted or empty: no authentication.
    #[serde(default)]
    pub username: Option<String>,
    /// Write-only. On update, omitted or empty keeps the stored one while the URL's
    /// scheme, host and port and the user stay the same.
    #[serde(default)]
    pub password: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SaslInput {
    /// `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` or `GSSAPI` (another value answers 400
    /// on `kafka.sasl.mechanism`).
    #[schema(value_type = SaslMechanism)]
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

/// Validates `input` and builds the record; secrets omitted here keep `old`'s.
pub async fn build_record(
    state: &AppState,
    input: DataSourceInput,
    old: Option<&DataSourceRecord>,
) -> crate::error::Result<DataSourceRecord> {
    let name = input.name.trim().to_string();
    crate::names::check_visible("name", &name)?;
    if name.is_empty()
        || name.chars().count() > DATA_SOURCE_NAME_MAX_CHARS
        || name.chars().any(char::is_whitespace)
    {
        return Err(Error::invalid(
            Rule::DataSource,
            "name",
            format!("data source name {:?} is invalid", input.name),
            format!("use 1-{DATA_SOURCE_NAME_MAX_CHARS} characters without spaces"),
        )
        .with_rule(InputRule::DataSourceName {
            max: DATA_SOURCE_NAME_MAX_CHARS,
        }));
    }
    let taken = state
        .store
        .list_datasources()
        .await?
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
    let connection = match input.kind.config() {
        None => {
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
                )
                .with_rule(InputRule::Empty {}));
            }
            let Some(version) = KafkaRelease::parse(&k.version) else {
                return Err(Error::invalid(
                    Rule::DataSource,
                    "kafka.version",
                    format!("Kafka version {:?} is not known", k.version),
                    "use 0.9, 1.0, 2.x, 3.x or 4.x",
                )
                .with_rule(InputRule::KafkaVersion {
                    version: k.version.clone(),
                }));
            };
            // Stored secrets stay with the connection they were sent for: a changed
            // address, identity or TLS setting drops them unless they are sent again.
            let old_k = old
                .and_then(|o| o.connection.kafka())
                .filter(|o| same_kafka_connection(o, &k));
            let sasl = match k.sasl {
                None => None,
                Some(s) => {
                    let Some(mechanism) = SaslMechanism::parse(&s.mechanism) else {
                        return Err(Error::invalid(
                            Rule::DataSource,
                            "kafka.sasl.mechanism",
                            format!("SASL mechanism {:?} is not known", s.mechanism),
                            "use PLAIN, SCRAM-SHA-256, SCRAM-SHA-512 or GSSAPI",
                        )
                        .with_rule(InputRule::SaslMechanism {
                            mechanism: s.mechanism.clone(),
                        }));
                    };
                    if mechanism == SaslMechanism::Gssapi {
                        check_kerberos(&s)?;
                    }
                    let old_pw = old_k
                        .and_then(|k| k.sasl.as_ref())
                        .and_then(|s| s.password.as_ref());
                    Some(SaslRecord {
                        password: seal(s.password, old_pw),
                        mechanism,
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
            let schema_registry = match k.schema_registry {
                None => None,
                Some(r) => Some(registry_record(
                    state,
                    r,
                    old.and_then(|o| o.connection.kafka())
                        .and_then(|k| k.schema_registry.as_ref()),
                )?),
            };
            Connection::Kafka(KafkaRecord {
                bootstrap_servers: k.bootstrap_servers.trim().to_string(),
                version,
                sasl,
                tls,
                schema_registry,
            })
        }
        Some(kind) => {
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
                )
                .with_rule(InputRule::Empty {}));
            }
            if s.port == 0 {
                return Err(Error::invalid(
                    Rule::DataSource,
                    "source.port",
                    "port 0 is out of range",
                    "use 1-65535",
                )
                .with_rule(InputRule::PortRange {}));
            }
            if kind == obsync_config::SourceKind::OceanBase && !s.user.contains('@') {
                return Err(Error::invalid(
                    Rule::DataSource,
                    "source.user",
                    format!("OceanBase user {:?} names no tenant", s.user),
                    "write user@tenant, or user@tenant#cluster through OBProxy",
                )
                .with_rule(InputRule::TenantMissing {
                    user: s.user.clone(),
                }));
            }
            if s.user.trim().is_empty() {
                return Err(Error::invalid(
                    Rule::DataSource,
                    "source.user",
                    "user is empty",
                    "write the sync user's name",
                )
                .with_rule(InputRule::Empty {}));
            }
            // The secrets (password, client key) stay with the address, user and TLS
            // settings they were sent for.
            let old_s = old.and_then(|o| o.connection.source());
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
            Connection::of_database(
                kind,
                SourceRecord {
                    host: s.host.trim().to_string(),
                    port: s.port,
                    user: s.user,
                    password: seal(s.password, old_pw),
                    tls,
                },
            )
        }
    };
    Ok(DataSourceRecord {
        id: old.map(|o| o.id.clone()).unwrap_or_else(|| new_id("ds")),
        name,
        description: input.description.unwrap_or_default(),
        connection,
        created_at: old
            .map(|o| o.created_at.clone())
            .unwrap_or_else(|| now.clone()),
        updated_at: now,
        revision: old.map_or(0, |o| o.revision),
    })
}

/// Validates a schema registry's input and seals its password. A password left out (or
/// empty) keeps the stored one only while the URL's origin and the user stay: a registry
/// elsewhere, or another login, must be given its password again.
fn registry_record(
    state: &AppState,
    input: RegistryInput,
    old: Option<&RegistryRecord>,
) -> crate::error::Result<RegistryRecord> {
    let url = input.url.trim().trim_end_matches('/').to_string();
    if registry_origin(&url).is_none() {
        return Err(Error::invalid(
            Rule::DataSource,
            "kafka.schema_registry.url",
            format!("schema registry URL {:?} is not an http(s) URL", input.url),
            "write http://host:port, with the API's path if it has one (Apicurio: http://host:8080/apis/ccompat/v7)",
        ));
    }
    let username = input
        .username
        .map(|u| u.trim().to_string())
        .filter(|u| !u.is_empty());
    let kept = old
        .filter(|o| registry_origin(&o.url) == registry_origin(&url) && o.username == username)
        .and_then(|o| o.password.clone());
    let password = match input.password.filter(|p| !p.is_empty()) {
        Some(p) => Some(state.key.seal(&p)),
        None => kept,
    };
    match (&username, &password) {
        (None, Some(_)) => Err(Error::invalid(
            Rule::DataSource,
            "kafka.schema_registry.username",
            "a schema registry password needs its user",
            "write the registry user, or leave the password empty",
        )),
        (Some(_), None) => Err(Error::invalid(
            Rule::DataSource,
            "kafka.schema_registry.password",
            "the schema registry user has no password (none is stored for this URL and user)",
            "write the registry password, or leave the user empty for a registry without authentication",
        )),
        _ => Ok(RegistryRecord {
            url,
            username,
            password,
        }),
    }
}

/// The scheme, host and port of a registry URL (`None`: not an http(s) URL); stored
/// registry passwords follow it.
pub(crate) fn registry_origin(text: &str) -> Option<(String, String, u16)> {
    let parsed = url::Url::parse(text).ok()?;
    if !matches!(parsed.scheme(), "http" | "https") || text.contains(char::is_whitespace) {
        return None;
    }
    Some((
        parsed.scheme().to_string(),
        parsed.host_str()?.to_ascii_lowercase(),
        parsed.port_or_known_default()?,
    ))
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

/// The source crate's TLS settings of a stored source with its opened client key: test
/// connection, browse and preview connect exactly as a run of the project file does.
fn source_tls(tls: Option<&SourceTlsRecord>, client_key: Option<&Secret>) -> SourceTls {
    let Some(tls) = tls else {
        return SourceTls::default();
    };
    let client_cert = match (&tls.client_cert_pem, client_key) {
        (Some(cert), Some(key)) => Some(ClientCertificate {
            cert: Pem::Text(cert.clone()),
            key: Pem::Text(key.expose().to_string()),
        }),
        _ => None,
    };
    SourceTls {
        mode: obsync_pipeline::settings::tls_mode(tls.mode.config()),
        ca: tls.ca_pem.clone().map(Pem::Text),
        client_cert,
    }
}

/// Whether `new` talks to the same brokers, as the same identity, with the same TLS as
/// `old`: only then may `old`'s sealed secrets (SASL password, client key) be kept.
fn same_kafka_connection(old: &KafkaRecord, new: &KafkaInput) -> bool {
    let sasl = match (&old.sasl, &new.sasl) {
        (None, None) => true,
        (Some(o), Some(n)) => {
            o.mechanism.as_str() == n.mechanism
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

/// The source endpoint of a database data source, password opened.
pub fn endpoint(state: &AppState, ds: &DataSourceRecord) -> Result<SourceEndpoint> {
    let Some((kind, s)) = ds.connection.database() else {
        return Err(Error::invalid(
            Rule::Request,
            "id",
            format!("data source {} is a Kafka cluster, not a database", ds.name),
            "choose an OceanBase, MySQL or MariaDB data source",
        )
        .with_rule(InputRule::NotADatabase {
            name: ds.name.clone(),
        }));
    };
    let secrets = state.key.open_datasource(ds)?;
    Ok(SourceEndpoint {
        flavor: match kind {
            SourceKind::OceanBase => SourceFlavor::OceanBase,
            SourceKind::MariaDb => SourceFlavor::MariaDb,
            SourceKind::MySql => SourceFlavor::MySql,
        },
        host: s.host.clone(),
        port: s.port,
        user: s.user.clone(),
        password: secrets.password.expose().to_string(),
        tls: source_tls(s.tls.as_ref(), secrets.client_key.as_ref()),
    })
}

/// The Kafka client target of a Kafka data source, secrets opened.
pub fn kafka_target(state: &AppState, ds: &DataSourceRecord) -> Result<obsync_kafka::KafkaTarget> {
    use obsync_kafka::config as k;
    let Some(kafka) = ds.connection.kafka() else {
        return Err(Error::invalid(
            Rule::Request,
            "id",
            format!("data source {} is a database, not a Kafka cluster", ds.name),
            "choose a Kafka data source",
        )
        .with_rule(InputRule::NotKafka {
            name: ds.name.clone(),
        }));
    };
    let secrets = state.key.open_datasource(ds)?;
    let mut target = obsync_kafka::KafkaTarget::new(kafka.bootstrap_servers.clone());
    target.version = kafka.version.config();
    if let Some(s) = &kafka.sasl {
        let mechanism = s.mechanism.config();
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
            password: secrets.password.clone(),
            kerberos,
        });
    }
    target.tls = crate::spec::kafka_tls(&ds.name, kafka.tls.as_ref(), secrets.client_key.as_ref())?;
    Ok(target)
}
