//! Import of a project file (TOML) as a server project: the file is judged by the loader
//! of `obsync run` and read as the project file's model ([`ProjectFile`], the model the
//! export writes); its source and target become data sources (matched by address and
//! user, or created), its tags are matched by name (or created), and the rest becomes a
//! [`ProjectSpec`]. Every field of the model is mapped or refused by name.

use crate::auth::Actor;
use crate::datasources::{
    build_record, registry_origin, DataSourceInput, KafkaInput, RegistryInput, SaslInput,
    SourceInput, SourceTlsInput,
};
use crate::error::{Error, Result, Rule};
use crate::model::{
    DataSourceKind, DataSourceRecord, KafkaRelease, ObjectSpec, ProjectRecord, ProjectSpec,
    SourceTlsMode, SyncSpec, Tag,
};
use crate::roles::Role;
use crate::service;
use crate::spec::SpecProblem;
use crate::state::AppState;
use obsync_config::{
    Environment, ObjectSection, ProjectConfig, ProjectFile, ProjectSection, SaslSection,
    SourceSection, SourceTlsSection, SyncSection, TargetSection, TlsSection,
};

fn invalid(field: &str, message: impl Into<String>, advice: impl Into<String>) -> Error {
    Error::invalid(Rule::Project, field, message, advice)
}

/// A setting of the file the server has no place for: refused by name.
fn not_supported(field: &str) -> Error {
    invalid(
        field,
        format!("not supported yet in the server: {field}"),
        "remove it from the file to import it (the server uses the default), or run this project with obsync run",
    )
}

/// The project file's problems, with the file's field paths.
fn file_problems(errors: obsync_config::ConfigErrors) -> Error {
    Error::InvalidProject(
        errors
            .0
            .into_iter()
            .map(|e| SpecProblem {
                field: e.field,
                message: e.message,
                fix: e.fix.unwrap_or_default(),
                code: e.code,
            })
            .collect(),
    )
}

/// The file's shape, judged by the project file's own rules (the loader of `obsync run`),
/// with the secrets it names from variables taken as given: the server keeps its own.
fn read(body: &str) -> Result<ProjectFile> {
    let file = ProjectFile::parse(body);
    let names: Vec<String> = file.as_ref().map_or_else(
        |_| vec![],
        |f| {
            f.secret_variables()
                .into_iter()
                .map(str::to_string)
                .collect()
        },
    );
    let env = Environment::fixed(
        chrono::Utc::now().timestamp(),
        names.into_iter().map(|n| (n, "imported".to_string())),
    )
    .with_client_property_check(obsync_kafka::client_property_check());
    ProjectConfig::parse_with(body, IMPORT_FILE, &env).map_err(file_problems)?;
    file.map_err(|e| {
        let info = crate::model::ErrorInfo::from_error(&e);
        invalid(
            "",
            format!("{}: {}", info.message, info.chain.join(": ")),
            "fix the file; obsync validate -c FILE shows where",
        )
    })
}

/// The name the file's problems carry.
const IMPORT_FILE: &str = "import.toml";

/// Creates a project from project file `body`.
/// An operator may import only onto data sources that exist (matched); creating one is
/// an admin's.
pub async fn import(state: &AppState, body: &str, actor: &Actor) -> Result<ProjectRecord> {
    // Every field is named: a new one in the file's model does not compile here until it
    // is mapped or refused.
    let ProjectFile {
        project,
        source,
        target,
        sync,
        objects,
    } = read(body)?;
    let (mut sync, registry) = sync_spec(sync)?;
    let objects: Vec<ObjectSpec> = objects.into_iter().map(object_spec).collect();
    let mut created = Vec::new();
    let mut new_tags = Vec::new();
    let result: Result<ProjectRecord> = async {
        let source_id = source_datasource(state, source, &mut created).await?;
        let (target_id, target_registry) =
            target_datasource(state, target, registry.as_ref(), &mut created).await?;
        // The file's registry is the target's: the project follows its data source's
        // (as the export, which writes the data source's URL, had it).
        if let Some(options) = sync.format_options.as_mut() {
            if options.schema_registry_url.as_deref().map(normalized_url) == target_registry {
                options.schema_registry_url = None;
            }
        }
        if sync.format_options == Some(Default::default()) {
            sync.format_options = None;
        }
        if !created.is_empty() && actor.role < Role::Admin {
            return Err(Error::Forbidden {
                have: actor.role,
                needed: Role::Admin,
            }
            .at_field(if source_id == created[0] {
                "source"
            } else {
                "target"
            }));
        }
        let ProjectSection { name, tags: names } = project;
        let tag_ids = tags(state, names, &mut new_tags).await?;
        let spec = ProjectSpec {
            name,
            tag_ids,
            source_id,
            target_id,
            sync,
            objects,
        };
        service::create_with_tags(state, spec, actor, &new_tags).await
    }
    .await;
    match &result {
        Ok(_) => {
            for id in &created {
                crate::audit::record(
                    state,
                    actor,
                    crate::audit::Subject::DataSource(id),
                    crate::audit::AuditMessage::DataSourceCreatedByImport {},
                )
                .await?;
            }
        }
        Err(_) => {
            for id in created {
                if let Err(e) = state.store.delete_datasource(&id, None).await {
                    tracing::warn!(datasource = %id, error = %obsync_model::ErrorChain(&e), "cannot remove a data source of a failed import");
                }
            }
        }
    }
    result
}

/// The schema registry login of the file's `[sync.format_options]`: the server keeps it
/// in the target data source (password sealed), not in the project.
#[derive(Debug)]
struct RegistryLogin {
    url: String,
    username: String,
    /// The file's inline `schema_registry_password`; a `_env` one is the server's to keep.
    password: Option<String>,
}

/// A registry URL as the data sources store it.
fn normalized_url(url: &str) -> String {
    url.trim().trim_end_matches('/').to_string()
}

/// Takes the registry login out of `[sync.format_options]`.
fn registry_login(options: &mut toml::Table) -> Option<RegistryLogin> {
    let mut take = |key: &str| match options.remove(key) {
        Some(toml::Value::String(s)) => Some(s),
        _ => None,
    };
    let username = take("schema_registry_username").filter(|u| !u.trim().is_empty());
    let password = take("schema_registry_password").filter(|p| !p.is_empty());
    take("schema_registry_password_env"); // the server keeps the password itself
    let url = options
        .get("schema_registry_url")
        .and_then(toml::Value::as_str)
        .map(normalized_url)?;
    Some(RegistryLogin {
        url,
        username: username?.trim().to_string(),
        password,
    })
}

/// `[sync]`: the settings a server project keeps (and the registry login, the target data
/// source's); a file with others cannot be imported as is.
fn sync_spec(sync: SyncSection) -> Result<(SyncSpec, Option<RegistryLogin>)> {
    let SyncSection {
        types,
        start_time,
        time_zone,
        format,
        format_options,
        debezium,
        tx_sequence,
        partition_rule,
        ddl_messages,
        split_key_updates,
        heartbeat_interval_secs,
        topic_partitions,
        topic_replication_factor,
        snapshot_chunk_rows,
        snapshot_parallelism,
        backfill,
    } = sync;
    let unsupported = [
        ("sync.time_zone", time_zone.is_some()),
        ("sync.ddl_messages", ddl_messages.is_some()),
        ("sync.split_key_updates", split_key_updates.is_some()),
        (
            "sync.heartbeat_interval_secs",
            heartbeat_interval_secs.is_some(),
        ),
        ("sync.topic_partitions", topic_partitions.is_some()),
        (
            "sync.topic_replication_factor",
            topic_replication_factor.is_some(),
        ),
        ("sync.snapshot_parallelism", snapshot_parallelism.is_some()),
    ];
    if let Some((field, _)) = unsupported.iter().find(|(_, set)| *set) {
        return Err(not_supported(field));
    }
    let start_time = match start_time {
        None => None,
        Some(v) => Some(v.as_integer().ok_or_else(|| {
            invalid(
                "sync.start_time",
                "the server takes start_time as a Unix timestamp",
                "write start_time = 1764633600",
            )
        })?),
    };
    let mut format_options = format_options;
    let registry = format_options.as_mut().and_then(registry_login);
    let format_options = match format_options {
        None => None,
        Some(table) => Some(toml::Value::Table(table).try_into().map_err(|e| {
            invalid(
                "sync.format_options",
                format!("[sync.format_options] is not what the server takes: {e}"),
                "use the keys of docs/configuration.md, strings and booleans",
            )
        })?),
    };
    let debezium = match debezium {
        None => None,
        Some(table) => Some(toml::Value::Table(table).try_into().map_err(|e| {
            invalid(
                "sync.debezium",
                format!("[sync.debezium] is not what the server takes: {e}"),
                "see docs/formats.md, Debezium: options",
            )
        })?),
    };
    let spec = SyncSpec {
        types,
        format,
        format_options,
        debezium,
        partition_rule,
        tx_sequence: tx_sequence.unwrap_or(false),
        start_time,
        // Judged by the loader already (1 to 1,000,000).
        snapshot_chunk_rows: snapshot_chunk_rows.and_then(|n| u32::try_from(n).ok()),
        backfill,
    };
    Ok((spec, registry))
}

fn object_spec(o: ObjectSection) -> ObjectSpec {
    let ObjectSection {
        tables,
        exclude,
        topic,
        topic_rule,
        shard_columns,
    } = o;
    ObjectSpec {
        tables,
        topic,
        topic_rule,
        exclude,
        shard_columns,
    }
}

/// A password for a data source the import creates: the file's own, else none when a
/// data source matched, else refused (the server cannot read the file's variables).
fn password(given: Option<String>, field: &str) -> Result<String> {
    given.ok_or_else(|| invalid(
        &format!("{field}.password_env"),
        format!("no data source matches [{field}] and the file has no {field}.password the server could use"),
        "create the data source first (with its password), or put password = \"...\" in the imported file",
    ))
}

async fn source_datasource(
    state: &AppState,
    s: SourceSection,
    created: &mut Vec<String>,
) -> Result<String> {
    let SourceSection {
        kind,
        host,
        port,
        user,
        password: given,
        password_env: _, // the server keeps the password itself
        server_id,
        tenant,
        binlog_positioning,
        tls,
    } = s;
    for (field, set) in [
        ("source.server_id", server_id.is_some()),
        ("source.tenant", tenant.is_some()),
        ("source.binlog_positioning", binlog_positioning.is_some()),
    ] {
        if set {
            return Err(not_supported(field));
        }
    }
    // The loader accepted the file: the kind and the port are valid.
    let kind = obsync_config::SourceKind::parse(&kind)
        .map(DataSourceKind::from_config)
        .ok_or_else(|| {
            invalid(
                "source.kind",
                format!("source kind {kind:?} is not known"),
                "use oceanbase, mysql or mariadb",
            )
        })?;
    let port = u16::try_from(port)
        .map_err(|_| invalid("source.port", "source.port is out of range", "use 1-65535"))?;
    let tls = source_tls(tls)?;
    let mode = tls.as_ref().map(|t| t.mode).unwrap_or_default();
    let existing = state.store.list_datasources().await?.into_iter().find(|d| {
        d.kind() == kind
            && d.connection.source().is_some_and(|r| {
                r.host == host
                    && r.port == port
                    && r.user == user
                    && r.tls.as_ref().map(|t| t.mode).unwrap_or_default() == mode
            })
    });
    if let Some(d) = existing {
        return Ok(d.id);
    }
    let input = DataSourceInput {
        name: unique_name(state, &format!("{}-{host}-{port}", kind.as_str())).await?,
        kind,
        description: Some("imported".into()),
        source: Some(SourceInput {
            host,
            port,
            user,
            password: Some(password(given, "source")?),
            tls,
        }),
        kafka: None,
    };
    store_new(state, input, created).await
}

/// `[source.tls]`: its mode carries over; its files do not (they are paths on another
/// machine), so a file naming them is refused.
fn source_tls(tls: Option<SourceTlsSection>) -> Result<Option<SourceTlsInput>> {
    let Some(SourceTlsSection {
        mode,
        ca_file,
        ca_pem,
        client_cert_file,
        client_cert_pem,
        client_key_file,
        client_key_pem_env,
    }) = tls
    else {
        return Ok(None);
    };
    if ca_file.is_some()
        || client_cert_file.is_some()
        || client_key_file.is_some()
        || client_cert_pem.is_some()
        || client_key_pem_env.is_some()
    {
        return Err(invalid(
            "source.tls",
            "not supported yet in import: the CA and client certificate of [source.tls]",
            "create the source data source with its CA and client certificate in the console first, then import",
        ));
    }
    let mode = match mode {
        None => SourceTlsMode::default(),
        Some(m) => match obsync_config::SourceTlsMode::parse(&m) {
            Some(mode) => SourceTlsMode::from_config(mode),
            None => {
                return Err(invalid(
                    "source.tls.mode",
                    format!("unknown TLS mode {m:?}"),
                    "use disabled, preferred, required, verify_ca or verify_identity",
                ))
            }
        },
    };
    Ok(Some(SourceTlsInput {
        mode,
        ca_pem,
        client_cert_pem: None,
        client_key_pem: None,
    }))
}

/// The Kafka data source of `[target]` (matched, or created) and its registry's URL. A
/// file with a registry login matches only a data source that logs in to a registry of
/// the same origin as the same user (its password stays the data source's); a data source
/// the import creates gets the file's registry and login.
async fn target_datasource(
    state: &AppState,
    t: TargetSection,
    registry: Option<&RegistryLogin>,
    created: &mut Vec<String>,
) -> Result<(String, Option<String>)> {
    let TargetSection {
        bootstrap_servers: bootstrap,
        version,
        compression,
        sasl,
        tls,
        producer,
    } = t;
    if compression.is_some() {
        return Err(not_supported("target.compression"));
    }
    if !producer.is_empty() {
        return Err(not_supported("target.producer"));
    }
    let version = KafkaRelease::of_file(&version).ok_or_else(|| {
        invalid(
            "target.version",
            format!("Kafka version {version:?} is not known"),
            "use 0.9, 1.0, 2.x, 3.x or 4.x",
        )
    })?;
    let sasl = sasl.map(|mut s| {
        // The loader takes any case; the data source keeps the canonical name.
        if let Some(m) = obsync_config::SaslMechanism::parse(&s.mechanism) {
            s.mechanism = m.as_str().to_string();
        }
        s
    });
    let tls = tls.filter(|tls| tls.enabled != Some(false));
    // The security settings are part of the match: a file with TLS never lands on a
    // plaintext data source at the same address, nor one SASL identity on another's.
    let all = state.store.list_datasources().await?;
    let same_brokers = all.iter().filter_map(|d| {
        d.connection
            .kafka()
            .filter(|k| k.bootstrap_servers == bootstrap.trim())
            .map(|k| (d, k))
    });
    let mut differences = Vec::new();
    for (d, k) in same_brokers {
        let found: Vec<String> = [
            sasl_difference(sasl.as_ref(), k),
            tls_difference(tls.as_ref(), k),
            registry_difference(registry, k),
        ]
        .into_iter()
        .flatten()
        .collect();
        if found.is_empty() {
            let url = k.schema_registry.as_ref().map(|r| r.url.clone());
            return Ok((d.id.clone(), url));
        }
        differences.push(format!("{}: {}", d.name, found.join(", ")));
    }
    if !differences.is_empty() {
        return Err(invalid(
            "target",
            format!(
                "the Kafka data source(s) at {bootstrap} differ from the file's [target]: {}",
                differences.join("; ")
            ),
            "edit the data source so that its SASL, TLS and schema registry settings match \
             the file (or the file to match the data source), then import again",
        ));
    }
    if tls.is_some() {
        return Err(invalid(
            "target.tls",
            "not supported yet in import: [target.tls] for a new data source (its CA and keys are files on another machine)",
            "create the Kafka data source with its TLS settings in the console first, then import",
        ));
    }
    let sasl = match sasl {
        None => None,
        Some(SaslSection {
            mechanism,
            username,
            password: given,
            password_env: _, // the server keeps the password itself
            kerberos_principal,
            kerberos_keytab,
            kerberos_service_name,
        }) => {
            if mechanism == "GSSAPI" {
                // Kerberos: the keytab is a file on the server's machine, named as it is.
                Some(SaslInput {
                    mechanism,
                    username: String::new(),
                    password: None,
                    kerberos_service_name,
                    kerberos_principal,
                    kerberos_keytab,
                })
            } else {
                Some(SaslInput {
                    mechanism,
                    username: username.unwrap_or_default(),
                    password: Some(password(given, "target.sasl")?),
                    kerberos_service_name: None,
                    kerberos_principal: None,
                    kerberos_keytab: None,
                })
            }
        }
    };
    let input = DataSourceInput {
        name: unique_name(
            state,
            &format!("kafka-{}", bootstrap.split(',').next().unwrap_or("")),
        )
        .await?,
        kind: DataSourceKind::Kafka,
        description: Some("imported".into()),
        source: None,
        kafka: Some(KafkaInput {
            bootstrap_servers: bootstrap,
            version: version.as_str().to_string(),
            sasl,
            tls: None,
            schema_registry: match registry {
                None => None,
                Some(r) => Some(RegistryInput {
                    url: r.url.clone(),
                    username: Some(r.username.clone()),
                    password: Some(r.password.clone().ok_or_else(|| invalid(
                        "sync.format_options.schema_registry_password_env",
                        "no Kafka data source matches [target] with this schema registry login, and the file has no schema_registry_password the server could use",
                        "create the Kafka data source with its schema registry login first, or put schema_registry_password = \"...\" in [sync.format_options] of the imported file",
                    ))?),
                }),
            },
        }),
    };
    let url = registry.map(|r| r.url.clone());
    Ok((store_new(state, input, created).await?, url))
}

/// What differs between the file's schema registry login and data source `k`'s, if
/// anything: the origin the login goes to and the user (a stored password is kept for
/// exactly those, see `datasources::registry_record`).
fn registry_difference(
    file: Option<&RegistryLogin>,
    k: &crate::model::KafkaRecord,
) -> Option<String> {
    let file = file?;
    let origin = registry_origin(&file.url);
    match k.schema_registry.as_ref() {
        Some(r)
            if registry_origin(&r.url) == origin
                && r.username.as_deref() == Some(file.username.as_str())
                && r.password.is_some() =>
        {
            None
        }
        Some(r) => Some(format!(
            "the file logs in to the schema registry {} as {:?}, the data source to {} as {:?}",
            file.url,
            file.username,
            r.url,
            r.username.as_deref().unwrap_or("nobody (no login)")
        )),
        None => Some(format!(
            "the file logs in to the schema registry {} as {:?}, the data source has no registry",
            file.url, file.username
        )),
    }
}

/// What differs between the file's `[target.sasl]` (mechanism canonical) and data source
/// `k`'s SASL, if anything.
fn sasl_difference(file: Option<&SaslSection>, k: &crate::model::KafkaRecord) -> Option<String> {
    match (file, &k.sasl) {
        (None, None) => None,
        (Some(_), None) => Some("the file has [target.sasl], the data source no SASL".into()),
        (None, Some(d)) => Some(format!(
            "the data source uses SASL {}, the file none",
            d.mechanism
        )),
        (Some(f), Some(d)) => {
            if f.mechanism != d.mechanism.as_str() {
                return Some(format!(
                    "SASL mechanism {} in the file, {} in the data source",
                    f.mechanism, d.mechanism
                ));
            }
            let (file_identity, source_identity) = if f.mechanism == "GSSAPI" {
                (f.kerberos_principal.clone(), d.kerberos_principal.clone())
            } else {
                (f.username.clone(), Some(d.username.clone()))
            };
            (file_identity != source_identity).then(|| {
                format!(
                    "SASL user {:?} in the file, {:?} in the data source",
                    file_identity.unwrap_or_default(),
                    source_identity.unwrap_or_default()
                )
            })
        }
    }
}

/// What differs between the file's enabled `[target.tls]` and data source `k`'s TLS. A
/// file names its CA and keys by paths on another machine, so a data source matches when
/// it has them too (and the same inline CA when the file carries one).
fn tls_difference(file: Option<&TlsSection>, k: &crate::model::KafkaRecord) -> Option<String> {
    let enabled = k.tls.as_ref().filter(|t| t.enabled);
    match (file, enabled) {
        (None, None) => None,
        (Some(_), None) => Some("the file has [target.tls], the data source no TLS".into()),
        (None, Some(_)) => Some("the data source uses TLS, the file has no [target.tls]".into()),
        (Some(f), Some(d)) => {
            let verify = f.verify_hostname.unwrap_or(true);
            if verify != d.verify_hostname {
                Some(format!(
                    "verify_hostname {verify} in the file, {} in the data source",
                    d.verify_hostname
                ))
            } else if (f.ca_file.is_some() || f.ca_pem.is_some()) != d.ca_pem.is_some()
                || f.ca_pem
                    .as_deref()
                    .is_some_and(|ca| Some(ca) != d.ca_pem.as_deref())
            {
                Some("the CA differs".into())
            } else if (f.cert_file.is_some() || f.cert_pem.is_some()) != d.client_cert_pem.is_some()
            {
                Some("the TLS client certificate differs".into())
            } else {
                None
            }
        }
    }
}

async fn store_new(
    state: &AppState,
    input: DataSourceInput,
    created: &mut Vec<String>,
) -> Result<String> {
    let record: DataSourceRecord = build_record(state, input, None).await?;
    state.store.put_datasource(&record).await?;
    created.push(record.id.clone());
    Ok(record.id)
}

/// A data source name from `base` (spaces removed, 32 characters at most) that is free.
async fn unique_name(state: &AppState, base: &str) -> Result<String> {
    let base: String = base
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(28)
        .collect();
    let taken: Vec<String> = state
        .store
        .list_datasources()
        .await?
        .into_iter()
        .map(|d| d.name)
        .collect();
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    Ok(name)
}

/// The ids of the file's tags: existing ones by name, new ones judged by the tags API's
/// rules and cap and pushed to `created` (stored only once the project is accepted).
async fn tags(state: &AppState, names: Vec<String>, created: &mut Vec<Tag>) -> Result<Vec<String>> {
    let all = state.store.list_tags().await?;
    let mut ids = Vec::new();
    for name in names {
        let name = name.trim();
        let known = all.iter().chain(created.iter()).find(|t| t.name == name);
        match known {
            Some(t) => ids.push(t.id.clone()),
            None => {
                let tag = crate::tags::new_tag(state, name, created.len())
                    .await
                    .map_err(|e| e.at_field("project.tags"))?;
                ids.push(tag.id.clone());
                created.push(tag);
            }
        }
    }
    Ok(ids)
}
