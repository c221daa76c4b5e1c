//! A project spec (the API's model, data sources by id) rendered as a project file and
//! judged by the project file's own rules (`obsync-config`): one validation path for
//! files and the API. The same rendering, without secrets, is the TOML export.

use obsync_config::{ClientCertificate, ConfigError, Environment, Pem, ProjectConfig, Secret, Tls};

use crate::model::{
    DataSourceKind, DataSourceRecord, ProjectSpec, SourceTlsRecord, Tag, TlsRecord,
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

/// Name the rendered text carries in config messages (it has no file).
const API_FILE: &str = "<api>";

/// One problem of a spec, with the spec field it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    /// The spec's field path (`name`, `sync.format`, `objects[0].topic`, `source_id`).
    pub field: String,
    pub message: String,
    pub fix: String,
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
    let (Some(kind), Some(src)) = (source.kind.source_kind(), &source.source) else {
        return Err(SpecError::one(
            "source_id",
            format!(
                "data source {} is a Kafka cluster, not a database",
                source.name
            ),
            "choose an OceanBase, MySQL or MariaDB data source as the source",
        ));
    };
    let (DataSourceKind::Kafka, Some(kafka)) = (target.kind, &target.kafka) else {
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
            Some(tag) => tags.push(toml::Value::from(tag.name.as_str())),
            None => {
                return Err(SpecError::one(
                    "tag_ids",
                    format!("tag {id:?} does not exist"),
                    "create it first (POST /api/v1/tags) or remove it from tag_ids",
                ))
            }
        }
    }
    let mut doc = toml::Table::new();
    let mut project = toml::Table::new();
    project.insert("name".into(), spec.name.as_str().into());
    project.insert("tags".into(), toml::Value::Array(tags));
    doc.insert("project".into(), project.into());

    let mut s = toml::Table::new();
    s.insert("kind".into(), kind.into());
    s.insert("host".into(), src.host.as_str().into());
    s.insert("port".into(), i64::from(src.port).into());
    s.insert("user".into(), src.user.as_str().into());
    s.insert("password_env".into(), SOURCE_PASSWORD_ENV.into());
    if let Some(key) = key {
        let password = match &src.password {
            Some(sealed) => key.open(sealed)?,
            None => String::new(),
        };
        secrets.push((SOURCE_PASSWORD_ENV.to_string(), password));
    }
    if let Some(tls) = &src.tls {
        s.insert(
            "tls".into(),
            source_tls_table(tls, key, &mut secrets)?.into(),
        );
    }
    doc.insert("source".into(), s.into());

    let mut t = toml::Table::new();
    t.insert(
        "bootstrap_servers".into(),
        kafka.bootstrap_servers.as_str().into(),
    );
    t.insert("version".into(), kafka.version.as_str().into());
    if let Some(sasl) = &kafka.sasl {
        let mut table = toml::Table::new();
        table.insert("mechanism".into(), sasl.mechanism.as_str().into());
        if sasl.mechanism == "GSSAPI" {
            // Kerberos authenticates with a keytab on the server's disk: no password.
            for (name, value) in [
                ("kerberos_principal", &sasl.kerberos_principal),
                ("kerberos_keytab", &sasl.kerberos_keytab),
                ("kerberos_service_name", &sasl.kerberos_service_name),
            ] {
                if let Some(value) = value.as_deref().filter(|v| !v.is_empty()) {
                    table.insert(name.into(), value.into());
                }
            }
        } else {
            table.insert("username".into(), sasl.username.as_str().into());
            table.insert("password_env".into(), KAFKA_PASSWORD_ENV.into());
            if let Some(key) = key {
                let password = match &sasl.password {
                    Some(sealed) => key.open(sealed)?,
                    None => String::new(),
                };
                secrets.push((KAFKA_PASSWORD_ENV.to_string(), password));
            }
        }
        t.insert("sasl".into(), table.into());
    }
    if let Some(tls) = kafka.tls.as_ref().filter(|tls| tls.enabled) {
        // The PEMs travel in the text (CA and certificate are public) and the key in a
        // variable: nothing is written to disk, and librdkafka gets them in memory.
        check_client_pair(&target.name, tls)?;
        let mut table = toml::Table::new();
        table.insert("enabled".into(), true.into());
        table.insert("verify_hostname".into(), tls.verify_hostname.into());
        if let Some(ca) = &tls.ca_pem {
            table.insert("ca_pem".into(), ca.as_str().into());
        }
        if let (Some(cert), Some(sealed)) = (&tls.client_cert_pem, &tls.client_key_pem) {
            table.insert("cert_pem".into(), cert.as_str().into());
            table.insert("key_pem_env".into(), KAFKA_CLIENT_KEY_ENV.into());
            if let Some(key) = key {
                secrets.push((KAFKA_CLIENT_KEY_ENV.to_string(), key.open(sealed)?));
            }
        }
        t.insert("tls".into(), table.into());
    }
    doc.insert("target".into(), t.into());

    let mut sync = toml::Table::new();
    sync.insert(
        "types".into(),
        toml::Value::Array(spec.sync.types.iter().map(|s| s.as_str().into()).collect()),
    );
    if let Some(format) = &spec.sync.format {
        sync.insert("format".into(), format.as_str().into());
    }
    if let Some(rule) = &spec.sync.partition_rule {
        sync.insert("partition_rule".into(), rule.as_str().into());
    }
    if spec.sync.tx_sequence {
        sync.insert("tx_sequence".into(), true.into());
    }
    if let Some(debezium) = &spec.sync.debezium {
        // The struct has the project file's keys; absent ones are not written.
        let table = toml::Table::try_from(debezium).map_err(|e| {
            SpecError::one(
                "sync.debezium",
                format!("the Debezium options cannot be written as TOML: {e}"),
                "send strings, booleans and a list of strings only",
            )
        })?;
        if !table.is_empty() {
            sync.insert("debezium".into(), table.into());
        }
    }
    if let Some(start) = spec.sync.start_time {
        sync.insert("start_time".into(), start.into());
    }
    doc.insert("sync".into(), sync.into());

    let objects = spec
        .objects
        .iter()
        .map(|o| {
            let mut table = toml::Table::new();
            table.insert(
                "tables".into(),
                toml::Value::Array(o.tables.iter().map(|s| s.as_str().into()).collect()),
            );
            if !o.exclude.is_empty() {
                table.insert(
                    "exclude".into(),
                    toml::Value::Array(o.exclude.iter().map(|s| s.as_str().into()).collect()),
                );
            }
            if let Some(topic) = &o.topic {
                table.insert("topic".into(), topic.as_str().into());
            }
            if let Some(rule) = &o.topic_rule {
                table.insert("topic_rule".into(), rule.as_str().into());
            }
            if !o.shard_columns.is_empty() {
                let columns: toml::Table = o
                    .shard_columns
                    .iter()
                    .map(|(t, cols)| {
                        (
                            t.clone(),
                            toml::Value::Array(cols.iter().map(|c| c.as_str().into()).collect()),
                        )
                    })
                    .collect();
                table.insert("shard_columns".into(), columns.into());
            }
            toml::Value::Table(table)
        })
        .collect();
    doc.insert("objects".into(), toml::Value::Array(objects));
    let body = toml::to_string(&doc).map_err(|e| {
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

/// `[source.tls]` of a database data source: the CA and client certificate in the text
/// (public), the key in a variable, as for Kafka: nothing is written to disk.
fn source_tls_table(
    tls: &SourceTlsRecord,
    key: Option<&SecretKey>,
    secrets: &mut Vec<(String, String)>,
) -> Result<toml::Table, SpecError> {
    let mut table = toml::Table::new();
    table.insert("mode".into(), tls.mode.as_str().into());
    if let Some(ca) = &tls.ca_pem {
        table.insert("ca_pem".into(), ca.as_str().into());
    }
    if let (Some(cert), Some(sealed)) = (&tls.client_cert_pem, &tls.client_key_pem) {
        table.insert("client_cert_pem".into(), cert.as_str().into());
        table.insert("client_key_pem_env".into(), SOURCE_CLIENT_KEY_ENV.into());
        if let Some(key) = key {
            secrets.push((SOURCE_CLIENT_KEY_ENV.to_string(), key.open(sealed)?));
        }
    }
    Ok(table)
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
/// to use exactly the same. `key` opens the client key; without it the key is left out.
pub fn kafka_tls(
    name: &str,
    tls: Option<&TlsRecord>,
    key: Option<&SecretKey>,
) -> Result<Option<Tls>, SpecError> {
    let Some(tls) = tls.filter(|tls| tls.enabled) else {
        return Ok(None);
    };
    check_client_pair(name, tls)?;
    let client_cert = match (&tls.client_cert_pem, &tls.client_key_pem, key) {
        (Some(cert), Some(sealed), Some(key)) => Some(ClientCertificate {
            cert: Pem::Inline(Secret::new(cert.as_str())),
            key: Pem::Inline(Secret::new(key.open(sealed)?)),
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
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{KafkaRecord, ObjectSpec, SourceRecord, SyncSpec};

    fn datasources(key: &SecretKey) -> (DataSourceRecord, DataSourceRecord) {
        let source = DataSourceRecord {
            id: "ds_src".into(),
            name: "maria".into(),
            kind: DataSourceKind::Mariadb,
            description: String::new(),
            source: Some(SourceRecord {
                host: "127.0.0.1".into(),
                port: 3306,
                user: "obsync".into(),
                password: Some(key.seal("s3cret-pw")),
                tls: None,
            }),
            kafka: None,
            created_at: String::new(),
            updated_at: String::new(),
        };
        let target = DataSourceRecord {
            id: "ds_k".into(),
            name: "kafka".into(),
            kind: DataSourceKind::Kafka,
            description: String::new(),
            source: None,
            kafka: Some(KafkaRecord {
                bootstrap_servers: "127.0.0.1:9092".into(),
                version: "3.x".into(),
                sasl: None,
                tls: None,
            }),
            created_at: String::new(),
            updated_at: String::new(),
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
                partition_rule: None,
                tx_sequence: false,
                start_time: None,
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
        spec.sync.format = Some("Avro".into());
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
        target.kafka.as_mut().unwrap().sasl = Some(crate::model::SaslRecord {
            mechanism: "GSSAPI".into(),
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
        target.kafka.as_mut().unwrap().tls = Some(crate::model::TlsRecord {
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
                target.kafka.as_ref().unwrap().tls.as_ref(),
                Some(&key)
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
