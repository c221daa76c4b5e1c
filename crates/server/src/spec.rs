//! A project spec (the API's model, data sources by id) rendered as a project file and
//! judged by the project file's own rules (`obsync-config`): one validation path for
//! files and the API. The same rendering, without secrets, is the TOML export.

use obsync_config::{
    ClientCertificate, ConfigError, Environment, ObjectSection, Pem, ProjectConfig, ProjectFile,
    ProjectSection, SaslSection, Secret, SourceSection, SourceTlsSection, SyncSection,
    TargetSection, Tls, TlsSection,
};

use crate::model::{
    DataSourceKind, DataSourceRecord, ProjectSpec, RegistryRecord, SaslMechanism, SourceTlsRecord,
    Tag, TlsRecord,
};
use crate::secrets::{SecretError, SecretKey};

/// Environment variable the exported file names for the source password.
pub const SOURCE_PASSWORD_ENV: &str = "OBSYNC_SOURCE_PASSWORD";
/// Environment variable the exported file names for the SASL password.
pub const KAFKA_PASSWORD_ENV: &str = "OBSYNC_KAFKA_PASSWORD";
/// Environment variable the exported file names for the TLS client key (PEM).
pub const KAFKA_CLIENT_KEY_ENV: &str = "OBSYNC_KAFKA_CLIENT_KEY";
/// Environment variable the exported file names for the source's TLS client key (PEM).
pub const SOURCE_CLIENT_KEY_ENV: &str = "OBSYNC_SOURCE_CLIENT_KEY";
/// Environment variable the exported file names for the schema registry's password.
pub const REGISTRY_PASSWORD_ENV: &str = "OBSYNC_SCHEMA_REGISTRY_PASSWORD";

/// Name the rendered text carries in config messages (it has no file).
const API_FILE: &str = "<api>";

/// One problem of a spec, with the spec field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    /// The spec's field path (`name`, `sync.format`, `objects[0].topic`, `source_id`).
    pub field: String,
    pub message: String,
    pub fix: String,
    /// `message` as a code with its parameters, when the rule has one.
    pub code: Option<obsync_model::Coded>,
}

/// Why a spec could not become a project config.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("the project definition is invalid: {}", .0.first().map(|p| format!("{}: {}", p.field, p.message)).unwrap_or_default())]
    Invalid(Vec<SpecProblem>),
    #[error(transparent)]
    Secret(#[from] SecretError),
}

impl SpecError {
    fn one(field: &str, message: impl Into<String>, fix: impl Into<String>) -> SpecError {
        SpecError::Invalid(vec![SpecProblem {
            field: field.into(),
            message: message.into(),
            fix: fix.into(),
            code: None,
        }])
    }
}

/// What a spec refers to, looked up by the caller.
pub struct SpecContext<'a> {
    pub source: Option<&'a DataSourceRecord>,
    pub target: Option<&'a DataSourceRecord>,
    pub tags: &'a [Tag],
}

/// A spec rendered as a project file, plus the secrets its `password_env` names.
pub struct Rendered {
    pub toml: String,
    secrets: Vec<(String, String)>,
}

impl Rendered {
    /// Validates the rendered file with the project file's rules, secrets left unopened:
    /// for judging and reading a definition (validation, progress), never for connecting
    /// (its passwords are empty).
    pub fn config_unopened(&self, now_unix: i64) -> Result<ProjectConfig, SpecError> {
        let env = Environment::fixed(now_unix, std::iter::empty::<(String, String)>())
            .unset_passwords_warn()
            .with_client_property_check(obsync_kafka::client_property_check());
        ProjectConfig::parse_with(&self.toml, API_FILE, &env)
            .map_err(|errors| SpecError::Invalid(errors.0.into_iter().map(spec_problem).collect()))
    }

    /// Validates the rendered file with the project file's rules.
    pub fn config(&self, now_unix: i64) -> Result<ProjectConfig, SpecError> {
        // The environment `obsync run` loads with, but with the sealed secrets.
        let env = Environment::fixed(now_unix, self.secrets.clone())
            .with_client_property_check(obsync_kafka::client_property_check());
        ProjectConfig::parse_with(&self.toml, API_FILE, &env)
            .map_err(|errors| SpecError::Invalid(errors.0.into_iter().map(spec_problem).collect()))
    }
}

/// Renders `spec` as a project file. With `key`, secrets are opened so that
/// [`Rendered::config`] can resolve them; without it (export) only their variable names
/// are written.
pub fn render(
    spec: &ProjectSpec,
    ctx: &SpecContext<'_>,
    key: Option<&SecretKey>,
) -> Result<Rendered, SpecError> {
    let source = ctx.source.ok_or_else(|| {
        SpecError::one(
            "source_id",
            format!("data source {:?} does not exist", spec.source_id),
            "choose one of GET /api/v1/datasources?kind=mysql (or oceanbase, mariadb)",
        )
    })?;
    let target = ctx.target.ok_or_else(|| {
        SpecError::one(
            "target_id",
            format!("data source {:?} does not exist", spec.target_id),
            "choose one of GET /api/v1/datasources?kind=kafka",
        )
    })?;
    let Some((kind, src)) = source.connection.database() else {
        return Err(SpecError::one(
            "source_id",
            format!(
                "data source {} is a Kafka cluster, not a database",
                source.name
            ),
            "choose an OceanBase, MySQL or MariaDB data source as the source",
        ));
    };
    let Some(kafka) = target.connection.kafka() else {
        return Err(SpecError::one(
            "target_id",
            format!("data source {} is not a Kafka cluster", target.name),
            "choose a Kafka data source as the target",
        ));
    };
    let mut secrets = Vec::new();
    let mut tags = Vec::new();
    for id in &spec.tag_ids {
        match ctx.tags.iter().find(|t| &t.id == id) {
            Some(tag) => tags.push(tag.name.clone()),
            None => {
                return Err(SpecError::one(
                    "tag_ids",
                    format!("tag {id:?} does not exist"),
                    "create it first (POST /api/v1/tags) or remove it from tag_ids",
                ))
            }
        }
    }
    // The secrets, opened only when the caller runs the project (the key is given).
    let opened = match key {
        Some(key) => Some((key.open_datasource(source)?, key.open_datasource(target)?)),
        None => None,
    };
    let mut open = |name: &str, secret: Option<&Secret>| {
        if opened.is_some() {
            let plain = secret.map_or("", |s| s.expose());
            secrets.push((name.to_string(), plain.to_string()));
        }
    };
    let (source_secrets, target_secrets) = match &opened {
        Some((s, t)) => (Some(s), Some(t)),
        None => (None, None),
    };
    open(SOURCE_PASSWORD_ENV, source_secrets.map(|s| &s.password));
    let source_tls = src.tls.as_ref().map(|tls| {
        source_tls_section(tls, || {
            open(
                SOURCE_CLIENT_KEY_ENV,
                source_secrets.and_then(|s| s.client_key.as_ref()),
            )
        })
    });
    let sasl = match &kafka.sasl {
        None => None,
        // Kerberos authenticates with a keytab on the server's disk: no password.
        Some(sasl) if sasl.mechanism == SaslMechanism::Gssapi => {
            let given = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
            Some(SaslSection {
                mechanism: sasl.mechanism.as_str().into(),
                kerberos_principal: given(&sasl.kerberos_principal),
                kerberos_keytab: given(&sasl.kerberos_keytab),
                kerberos_service_name: given(&sasl.kerberos_service_name),
                ..SaslSection::default()
            })
        }
        Some(sasl) => {
            open(KAFKA_PASSWORD_ENV, target_secrets.map(|s| &s.password));
            Some(SaslSection {
                mechanism: sasl.mechanism.as_str().into(),
                username: Some(sasl.username.clone()),
                password_env: Some(KAFKA_PASSWORD_ENV.into()),
                ..SaslSection::default()
            })
        }
    };
    let tls = match kafka.tls.as_ref().filter(|tls| tls.enabled) {
        None => None,
        Some(tls) => {
            // The PEMs travel in the text (CA and certificate are public) and the key in
            // a variable: nothing is written to disk, and librdkafka gets them in memory.
            check_client_pair(&target.name, tls)?;
            let mut section = TlsSection {
                enabled: Some(true),
                verify_hostname: Some(tls.verify_hostname),
                ca_pem: tls.ca_pem.clone(),
                ..TlsSection::default()
            };
            if let (Some(cert), Some(_)) = (&tls.client_cert_pem, &tls.client_key_pem) {
                section.cert_pem = Some(cert.clone());
                section.key_pem_env = Some(KAFKA_CLIENT_KEY_ENV.into());
                open(
                    KAFKA_CLIENT_KEY_ENV,
                    target_secrets.and_then(|s| s.client_key.as_ref()),
                );
            }
            Some(section)
        }
    };
    // The spec's options have the project file's keys; serializing drops the absent
    // ones, so the file keeps only what the user chose.
    let format_options = match &spec.sync.format_options {
        None => None,
        Some(options) => {
            let table = toml::Table::try_from(options).map_err(|e| {
                SpecError::one(
                    "sync.format_options",
                    format!("the format options cannot be written as TOML: {e}"),
                    "send strings and booleans only",
                )
            })?;
            (!table.is_empty()).then_some(table)
        }
    };
    let format_options =
        registry_options(spec, kafka.schema_registry.as_ref(), format_options, || {
            open(
                REGISTRY_PASSWORD_ENV,
                target_secrets.and_then(|s| s.registry_password.as_ref()),
            )
        });
    let debezium = match &spec.sync.debezium {
        None => None,
        Some(debezium) => {
            let table = toml::Table::try_from(debezium).map_err(|e| {
                SpecError::one(
                    "sync.debezium",
                    format!("the Debezium options cannot be written as TOML: {e}"),
                    "send strings, booleans and a list of strings only",
                )
            })?;
            (!table.is_empty()).then_some(table)
        }
    };
    let file = ProjectFile {
        project: ProjectSection {
            name: spec.name.clone(),
            tags,
        },
        source: SourceSection {
            kind: DataSourceKind::from_config(kind).as_str().into(),
            host: src.host.clone(),
            port: i64::from(src.port),
            user: src.user.clone(),
            password: None,
            password_env: Some(SOURCE_PASSWORD_ENV.into()),
            server_id: None,
            tenant: None,
            binlog_positioning: None,
            tls: source_tls,
        },
        target: TargetSection {
            bootstrap_servers: kafka.bootstrap_servers.clone(),
            version: kafka.version.as_str().into(),
            compression: None,
            sasl,
            tls,
            producer: Default::default(),
        },
        sync: SyncSection {
            types: spec.sync.types.clone(),
            start_time: spec.sync.start_time.map(toml::Value::from),
            format: spec.sync.format.clone(),
            partition_rule: spec.sync.partition_rule.clone(),
            tx_sequence: spec.sync.tx_sequence.then_some(true),
            format_options,
            debezium,
            snapshot_chunk_rows: spec.sync.snapshot_chunk_rows.map(i64::from),
            backfill: spec.sync.backfill.clone(),
            ..SyncSection::default()
        },
        objects: spec
            .objects
            .iter()
            .map(|o| ObjectSection {
                tables: o.tables.clone(),
                exclude: o.exclude.clone(),
                topic: o.topic.clone(),
                topic_rule: o.topic_rule.clone(),
                shard_columns: o.shard_columns.clone(),
            })
            .collect(),
    };
    let body = file.to_toml().map_err(|e| {
        SpecError::one(
            "",
            format!("the definition cannot be written as TOML: {e}"),
            "check the values for control characters",
        )
    })?;
    Ok(Rendered {
        toml: body,
        secrets,
    })
}

/// `[sync.format_options]` with the target's schema registry, for a format that needs
/// one: its URL unless the project names another, and its login (the password by
/// variable, opened by `open_password`) only for a URL of the registry's own origin, so
/// that a project cannot send the stored password to a host of its choosing.
fn registry_options(
    spec: &ProjectSpec,
    registry: Option<&RegistryRecord>,
    options: Option<toml::Table>,
    open_password: impl FnOnce(),
) -> Option<toml::Table> {
    let needs_registry = spec
        .sync
        .format
        .as_deref()
        .and_then(|f| f.parse::<obsync_format::FormatKind>().ok())
        .is_some_and(obsync_format::FormatKind::needs_schema_registry);
    let Some(registry) = registry.filter(|_| needs_registry) else {
        return options;
    };
    let mut table = options.unwrap_or_default();
    let url = match table.get("schema_registry_url").and_then(|v| v.as_str()) {
        Some(url) => url.to_string(),
        None => {
            table.insert("schema_registry_url".into(), registry.url.clone().into());
            registry.url.clone()
        }
    };
    let same_origin = crate::datasources::registry_origin(url.trim().trim_end_matches('/'))
        .is_some_and(|o| crate::datasources::registry_origin(&registry.url) == Some(o));
    if let (true, Some(user), Some(_)) = (same_origin, &registry.username, &registry.password) {
        table.insert("schema_registry_username".into(), user.clone().into());
        table.insert(
            "schema_registry_password_env".into(),
            REGISTRY_PASSWORD_ENV.into(),
        );
        open_password();
    }
    Some(table)
}

/// `[source.tls]` of a database data source: the CA and client certificate in the text
/// (public), the key in a variable, as for Kafka: nothing is written to disk.
fn source_tls_section(tls: &SourceTlsRecord, open_key: impl FnOnce()) -> SourceTlsSection {
    let mut section = SourceTlsSection {
        mode: Some(tls.mode.as_str().into()),
        ca_pem: tls.ca_pem.clone(),
        ..SourceTlsSection::default()
    };
    if let (Some(cert), Some(_)) = (&tls.client_cert_pem, &tls.client_key_pem) {
        section.client_cert_pem = Some(cert.clone());
        section.client_key_pem_env = Some(SOURCE_CLIENT_KEY_ENV.into());
        open_key();
    }
    section
}

/// The export: a project file `obsync run` accepts, with secrets named by variable.
pub fn export_text(rendered: &Rendered, spec: &ProjectSpec) -> String {
    let mut out = format!(
        "# obsync project {:?}, exported from obsync server.\n\
         # Passwords are not exported: set {SOURCE_PASSWORD_ENV}",
        spec.name
    );
    if rendered.toml.contains(KAFKA_PASSWORD_ENV) {
        out.push_str(&format!(", {KAFKA_PASSWORD_ENV}"));
    }
    if rendered.toml.contains(KAFKA_CLIENT_KEY_ENV) {
        out.push_str(&format!(
            ", {KAFKA_CLIENT_KEY_ENV} (the TLS client key, PEM)"
        ));
    }
    if rendered.toml.contains(SOURCE_CLIENT_KEY_ENV) {
        out.push_str(&format!(
            ", {SOURCE_CLIENT_KEY_ENV} (the source's TLS client key, PEM)"
        ));
    }
    if rendered.toml.contains(REGISTRY_PASSWORD_ENV) {
        out.push_str(&format!(
            ", {REGISTRY_PASSWORD_ENV} (the schema registry's password)"
        ));
    }
    out.push_str(" before obsync run.\n\n");
    out.push_str(&rendered.toml);
    out
}

/// Refuses half a client certificate (a certificate without its key, or the reverse).
fn check_client_pair(name: &str, tls: &TlsRecord) -> Result<(), SpecError> {
    if tls.client_cert_pem.is_some() == tls.client_key_pem.is_some() {
        return Ok(());
    }
    Err(SpecError::one(
        "target_id",
        format!("data source {name} has only half of a TLS client certificate"),
        "upload both the client certificate and its private key, or neither",
    ))
}

/// The TLS settings of a Kafka data source as the client gets them, PEMs in memory: what a
/// run's project file (rendered above) loads to, for the probes (test connection, topics)
/// to use exactly the same. `client_key` is the opened key ([`SecretKey::open_datasource`]);
/// without it the key is left out.
pub fn kafka_tls(
    name: &str,
    tls: Option<&TlsRecord>,
    client_key: Option<&Secret>,
) -> Result<Option<Tls>, SpecError> {
    let Some(tls) = tls.filter(|tls| tls.enabled) else {
        return Ok(None);
    };
    check_client_pair(name, tls)?;
    let client_cert = match (&tls.client_cert_pem, client_key) {
        (Some(cert), Some(key)) => Some(ClientCertificate {
            cert: Pem::Inline(Secret::new(cert.as_str())),
            key: Pem::Inline(key.clone()),
        }),
        _ => None,
    };
    Ok(Some(Tls {
        ca: tls.ca_pem.as_deref().map(|ca| Pem::Inline(Secret::new(ca))),
        client_cert,
        verify_hostname: tls.verify_hostname,
    }))
}

/// Maps a config problem onto the spec's field names.
fn spec_problem(e: ConfigError) -> SpecProblem {
    let field = e.field;
    let field = if let Some(rest) = field.strip_prefix("project.") {
        match rest {
            "tags" => "tag_ids".to_string(),
            other => other.to_string(),
        }
    } else if field == "source" || field.starts_with("source.") {
        "source_id".to_string()
    } else if field == "target" || field.starts_with("target.") {
        "target_id".to_string()
    } else {
        field
    };
    SpecProblem {
        field,
        message: e.message,
        fix: e.fix.unwrap_or_default(),
        code: e.code,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Connection, KafkaRecord, ObjectSpec, SourceRecord, SyncSpec};

    fn kafka_of(ds: &mut DataSourceRecord) -> &mut KafkaRecord {
        match &mut ds.connection {
            Connection::Kafka(k) => k,
            other => panic!("not Kafka: {other:?}"),
        }
    }

    fn datasources(key: &SecretKey) -> (DataSourceRecord, DataSourceRecord) {
        let source = DataSourceRecord {
            id: "ds_src".into(),
            name: "maria".into(),
            description: String::new(),
            connection: Connection::MariaDb(SourceRecord {
                host: "127.0.0.1".into(),
                port: 3306,
                user: "obsync".into(),
                password: Some(key.seal("s3cret-pw")),
                tls: None,
            }),
            created_at: String::new(),
            updated_at: String::new(),
            revision: 1,
        };
        let target = DataSourceRecord {
            id: "ds_k".into(),
            name: "kafka".into(),
            description: String::new(),
            connection: Connection::Kafka(KafkaRecord {
                bootstrap_servers: "127.0.0.1:9092".into(),
                version: crate::model::KafkaRelease::V3,
                sasl: None,
                tls: None,
                schema_registry: None,
            }),
            created_at: String::new(),
            updated_at: String::new(),
            revision: 1,
        };
        (source, target)
    }

    fn spec() -> ProjectSpec {
        ProjectSpec {
            name: "订单同步01".into(),
            tag_ids: vec![],
            source_id: "ds_src".into(),
            target_id: "ds_k".into(),
            sync: SyncSpec {
                types: vec!["full".into(), "incremental".into()],
                format: Some("Canal".into()),
                debezium: None,
                format_options: Some(crate::model::FormatOptionsSpec {
                    canal_binary: Some("base64".into()),
                    ..Default::default()
                }),
                partition_rule: None,
                tx_sequence: false,
                start_time: None,
                snapshot_chunk_rows: None,
                backfill: vec![],
            },
            objects: vec![ObjectSpec {
                tables: vec!["shop.orders".into()],
                topic: Some("shop-orders".into()),
                topic_rule: None,
                exclude: vec![],
                shard_columns: Default::default(),
            }],
        }
    }

    fn key() -> SecretKey {
        // A folder per call: tests run in parallel, and two first starts racing on one key
        // file is not what they test.
        static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("obsync-spec-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        SecretKey::load_or_create(&dir).unwrap()
    }

    #[test]
    fn export_is_a_project_file_that_loads_to_the_same_config_without_the_secret() {
        let key = key();
        let (source, target) = datasources(&key);
        let ctx = SpecContext {
            source: Some(&source),
            target: Some(&target),
            tags: &[],
        };
        let served = render(&spec(), &ctx, Some(&key))
            .unwrap()
            .config(0)
            .unwrap();
        let exported = export_text(&render(&spec(), &ctx, None).unwrap(), &spec());
        assert!(!exported.contains("s3cret-pw"), "{exported}");
        let env = Environment::fixed(0, [(SOURCE_PASSWORD_ENV, "s3cret-pw")]);
        let loaded = ProjectConfig::parse_with(&exported, "export.toml", &env).unwrap();
        assert_eq!(loaded, served);
        assert_eq!(
            loaded.sync.format_options.canal_binary,
            obsync_format::CanalBinary::Base64,
            "{exported}"
        );
    }

    #[test]
    fn the_target_registry_login_goes_to_its_own_origin_and_is_exported_by_variable() {
        let key = key();
        let (source, mut target) = datasources(&key);
        kafka_of(&mut target).schema_registry = Some(RegistryRecord {
            url: "http://registry.example:8081/apis/ccompat/v7".into(),
            username: Some("avro".into()),
            password: Some(key.seal("registry-pw")),
        });
        let ctx = SpecContext {
            source: Some(&source),
            target: Some(&target),
            tags: &[],
        };
        let mut spec = spec();
        spec.sync.format = Some("DebeziumAvro".into());
        spec.sync.format_options = None;
        let registry = |spec: &ProjectSpec| {
            render(spec, &ctx, Some(&key))
                .unwrap()
                .config(0)
                .unwrap()
                .sync
                .format_options
                .schema_registry
                .unwrap()
        };
        let r = registry(&spec);
        assert_eq!(r.url, "http://registry.example:8081/apis/ccompat/v7");
        assert_eq!(r.username.as_deref(), Some("avro"));
        assert_eq!(r.password.as_ref().map(|p| p.expose()), Some("registry-pw"));
        let exported = export_text(&render(&spec, &ctx, None).unwrap(), &spec);
        assert!(!exported.contains("registry-pw"), "{exported}");
        assert!(
            exported.contains(&format!(
                "schema_registry_password_env = \"{REGISTRY_PASSWORD_ENV}\""
            )),
            "{exported}"
        );
        // The project's own URL at the same origin keeps the login; elsewhere it goes
        // without it.
        spec.sync.format_options = Some(crate::model::FormatOptionsSpec {
            schema_registry_url: Some("http://REGISTRY.example:8081/other".into()),
            ..Default::default()
        });
        assert_eq!(registry(&spec).username.as_deref(), Some("avro"));
        spec.sync.format_options = Some(crate::model::FormatOptionsSpec {
            schema_registry_url: Some("http://registry.example:9999/apis/ccompat/v7".into()),
            ..Default::default()
        });
        let elsewhere = registry(&spec);
        assert_eq!(
            elsewhere.url,
            "http://registry.example:9999/apis/ccompat/v7"
        );
        assert!(elsewhere.username.is_none() && elsewhere.password.is_none());
        // Another format gets no registry keys (they are refused with it).
        spec.sync.format = Some("Canal".into());
        spec.sync.format_options = None;
        assert!(render(&spec, &ctx, Some(&key)).unwrap().config(0).is_ok());
    }

    #[test]
    fn debezium_options_render_to_the_project_file_and_load() {
        let key = key();
        let (source, target) = datasources(&key);
        let ctx = SpecContext {
            source: Some(&source),
            target: Some(&target),
            tags: &[],
        };
        let mut spec = spec();
        spec.sync.format_options = None;
        spec.sync.format = Some("DebeziumFlattened".into());
        spec.sync.debezium = Some(crate::model::DebeziumSpec {
            schemas: Some(false),
            decimal_handling: Some("string".into()),
            delete_handling: Some("rewrite".into()),
            add_fields: Some(vec!["op".into(), "source.ts_ms".into()]),
            ..Default::default()
        });
        let config = render(&spec, &ctx, Some(&key)).unwrap().config(0).unwrap();
        let d = &config.sync.debezium;
        assert!(!d.schemas);
        assert_eq!(d.decimal_handling, obsync_format::DecimalHandling::String);
        assert_eq!(d.delete_handling, obsync_format::DeleteHandling::Rewrite);
        assert_eq!(d.add_fields.len(), 2);
        // An option of the flattened format with the plain one is refused under its field.
        spec.sync.format = Some("Debezium".into());
        let Err(SpecError::Invalid(problems)) = render(&spec, &ctx, Some(&key)).unwrap().config(0)
        else {
            panic!("expected problems");
        };
        assert!(
            problems
                .iter()
                .any(|p| p.field == "sync.debezium.delete_handling"),
            "{problems:?}"
        );
    }

    #[test]
    fn an_invalid_topic_is_reported_under_the_spec_field() {
        let key = key();
        let (source, target) = datasources(&key);
        let ctx = SpecContext {
            source: Some(&source),
            target: Some(&target),
            tags: &[],
        };
        let mut spec = spec();
        spec.objects[0].topic = Some("a b".into());
        spec.sync.format = Some("Protobuf".into());
        let Err(SpecError::Invalid(problems)) = render(&spec, &ctx, Some(&key)).unwrap().config(0)
        else {
            panic!("expected problems");
        };
        let fields: Vec<_> = problems.iter().map(|p| p.field.as_str()).collect();
        assert!(fields.contains(&"objects[0].topic"), "{problems:?}");
        assert!(fields.contains(&"sync.format"), "{problems:?}");
    }

    #[test]
    fn a_gssapi_target_renders_its_kerberos_settings_and_no_password() {
        let key = key();
        let (source, mut target) = datasources(&key);
        // The keytab must exist: the project file's rules check it.
        let keytab =
            std::env::temp_dir().join(format!("obsync-spec-{}.keytab", std::process::id()));
        std::fs::write(&keytab, b"keytab").unwrap();
        kafka_of(&mut target).sasl = Some(crate::model::SaslRecord {
            mechanism: SaslMechanism::Gssapi,
            username: String::new(),
            password: None,
            kerberos_service_name: Some("kafka-prod".into()),
            kerberos_principal: Some("obsync@EXAMPLE.COM".into()),
            kerberos_keytab: Some(keytab.display().to_string()),
        });
        let ctx = SpecContext {
            source: Some(&source),
            target: Some(&target),
            tags: &[],
        };
        let config = render(&spec(), &ctx, Some(&key))
            .unwrap()
            .config(0)
            .unwrap();
        let sasl = config.target.sasl.unwrap();
        assert_eq!(sasl.mechanism, obsync_config::SaslMechanism::Gssapi);
        assert_eq!(sasl.username, "obsync@EXAMPLE.COM");
        let kerberos = sasl.kerberos.unwrap();
        assert_eq!(kerberos.service_name, "kafka-prod");
        assert_eq!(kerberos.keytab, keytab);
        let exported = export_text(&render(&spec(), &ctx, None).unwrap(), &spec());
        assert!(exported.contains("kerberos_keytab"), "{exported}");
        assert!(
            !exported.contains("password_env = \"OBSYNC_KAFKA"),
            "{exported}"
        );
    }

    #[test]
    fn a_tls_client_key_goes_to_the_client_in_memory_and_is_never_exported() {
        let key = key();
        let (source, mut target) = datasources(&key);
        kafka_of(&mut target).tls = Some(crate::model::TlsRecord {
            enabled: true,
            verify_hostname: false,
            ca_pem: Some("-----BEGIN CERTIFICATE-----\nCA".into()),
            client_cert_pem: Some("-----BEGIN CERTIFICATE-----\nCERT".into()),
            client_key_pem: Some(key.seal("-----BEGIN PRIVATE KEY-----\nKEY")),
        });
        let ctx = SpecContext {
            source: Some(&source),
            target: Some(&target),
            tags: &[],
        };
        let config = render(&spec(), &ctx, Some(&key))
            .unwrap()
            .config(0)
            .unwrap();
        let tls = config.target.tls.clone().unwrap();
        let cert = tls.client_cert.clone().unwrap();
        assert_eq!(
            cert.key,
            Pem::Inline(Secret::new("-----BEGIN PRIVATE KEY-----\nKEY"))
        );
        // The probes' settings are the run's.
        assert_eq!(
            kafka_tls(
                &target.name,
                target.connection.kafka().unwrap().tls.as_ref(),
                key.open_datasource(&target).unwrap().client_key.as_ref()
            )
            .unwrap(),
            Some(tls)
        );
        let exported = export_text(&render(&spec(), &ctx, None).unwrap(), &spec());
        assert!(exported.contains(KAFKA_CLIENT_KEY_ENV), "{exported}");
        assert!(!exported.contains("PRIVATE KEY"), "{exported}");
        let env = Environment::fixed(
            0,
            [
                (SOURCE_PASSWORD_ENV, "s3cret-pw"),
                (KAFKA_CLIENT_KEY_ENV, "-----BEGIN PRIVATE KEY-----\nKEY"),
            ],
        );
        let loaded = ProjectConfig::parse_with(&exported, "export.toml", &env).unwrap();
        assert_eq!(loaded, config);
    }
}
