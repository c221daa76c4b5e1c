//! Import of a project file (TOML) as a server project: its source and target become
//! data sources (matched by address and user, or created), its tags are matched by name
//! (or created), and the rest becomes a [`ProjectSpec`] judged by the same rules as any
//! other.

use crate::api::datasources::{
    build_record, DataSourceInput, KafkaInput, SaslInput, SourceInput, SourceTlsInput,
};
use crate::auth::Actor;
use crate::error::{Error, Result, Rule};
use crate::model::{
    DataSourceKind, DataSourceRecord, ObjectSpec, ProjectRecord, ProjectSpec, SourceTlsMode,
    SyncSpec, Tag,
};
use crate::roles::Role;
use crate::service;
use crate::state::AppState;

/// Sync settings a server project keeps; a file with others cannot be imported as is.
const SYNC_KEYS: &[&str] = &[
    "types",
    "format",
    "partition_rule",
    "tx_sequence",
    "start_time",
    "debezium",
];

fn invalid(field: &str, message: impl Into<String>, advice: impl Into<String>) -> Error {
    Error::invalid(Rule::Project, field, message, advice)
}

fn text(table: &toml::Table, key: &str, field: &str) -> Result<String> {
    table
        .get(key)
        .and_then(|v| v.as_str())
        .map(str::to_string)
        .ok_or_else(|| {
            invalid(
                field,
                format!("{field} is missing or not a string"),
                "see docs/configuration.md",
            )
        })
}

fn table<'a>(doc: &'a toml::Table, key: &str) -> Result<&'a toml::Table> {
    doc.get(key).and_then(|v| v.as_table()).ok_or_else(|| {
        invalid(
            key,
            format!("the [{key}] section is missing"),
            "add it; examples/minimal.toml shows a complete file",
        )
    })
}

fn strings(value: Option<&toml::Value>, field: &str) -> Result<Vec<String>> {
    match value {
        None => Ok(vec![]),
        Some(v) => v
            .as_array()
            .ok_or_else(|| {
                invalid(
                    field,
                    format!("{field} is not a list"),
                    "write a list of strings",
                )
            })?
            .iter()
            .map(|s| {
                s.as_str().map(str::to_string).ok_or_else(|| {
                    invalid(
                        field,
                        format!("{field} has an entry that is not a string"),
                        "quote every entry",
                    )
                })
            })
            .collect(),
    }
}

/// Creates a project from project file `body`.
/// An operator may import only onto data sources that exist (matched); creating one is
/// an admin's.
pub async fn import(state: &AppState, body: &str, actor: &Actor) -> Result<ProjectRecord> {
    let doc: toml::Table = body.parse().map_err(|e: toml::de::Error| {
        invalid(
            "",
            format!("the file is not valid TOML: {}", e.message()),
            "fix the syntax; obsync validate -c FILE shows where",
        )
    })?;
    let project = table(&doc, "project")?;
    let source = table(&doc, "source")?;
    let target = table(&doc, "target")?;
    let sync = table(&doc, "sync")?;
    if let Some(key) = sync.keys().find(|k| !SYNC_KEYS.contains(&k.as_str())) {
        return Err(invalid(
            &format!("sync.{key}"),
            format!("not supported yet in the server: sync.{key}"),
            "remove it from the file to import it (the server uses the default), or run this project with obsync run",
        ));
    }
    let mut created = Vec::new();
    let mut new_tags = Vec::new();
    let result: Result<ProjectRecord> = async {
        let source_id = source_datasource(state, source, &mut created)?;
        let target_id = target_datasource(state, target, &mut created)?;
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
        let tag_ids = tags(state, project, &mut new_tags)?;
        let objects = doc
            .get("objects")
            .and_then(|v| v.as_array())
            .ok_or_else(|| {
                invalid(
                    "objects",
                    "no [[objects]] entries: nothing would be synced",
                    "add an [[objects]] entry",
                )
            })?
            .iter()
            .enumerate()
            .map(|(i, o)| object(o, i))
            .collect::<Result<Vec<_>>>()?;
        let spec = ProjectSpec {
            name: text(project, "name", "name")?,
            tag_ids,
            source_id,
            target_id,
            sync: SyncSpec {
                types: strings(sync.get("types"), "sync.types")?,
                format: sync
                    .get("format")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                partition_rule: sync
                    .get("partition_rule")
                    .and_then(|v| v.as_str())
                    .map(str::to_string),
                tx_sequence: sync
                    .get("tx_sequence")
                    .and_then(|v| v.as_bool())
                    .unwrap_or(false),
                debezium: match sync.get("debezium") {
                    None => None,
                    Some(v) => Some(v.clone().try_into().map_err(|e: toml::de::Error| {
                        invalid(
                            "sync.debezium",
                            format!(
                                "[sync.debezium] is not what the server takes: {}",
                                e.message()
                            ),
                            "see docs/formats.md, Debezium: options",
                        )
                    })?),
                },
                start_time: match sync.get("start_time") {
                    None => None,
                    Some(v) => Some(v.as_integer().ok_or_else(|| {
                        invalid(
                            "sync.start_time",
                            "the server takes start_time as a Unix timestamp",
                            "write start_time = 1764633600",
                        )
                    })?),
                },
            },
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
                    "created the data source (project import)",
                )?;
            }
        }
        Err(_) => {
            for id in created {
                if let Err(e) = state.store.delete_datasource(&id) {
                    tracing::warn!(datasource = %id, error = %obsync_model::ErrorChain(&e), "cannot remove a data source of a refused import");
                }
            }
        }
    }
    result
}

fn object(value: &toml::Value, i: usize) -> Result<ObjectSpec> {
    let field = format!("objects[{i}]");
    let o = value.as_table().ok_or_else(|| {
        invalid(
            &field,
            format!("{field} is not a table"),
            "write each entry as [[objects]]",
        )
    })?;
    let mut shard_columns = std::collections::BTreeMap::new();
    if let Some(map) = o.get("shard_columns").and_then(|v| v.as_table()) {
        for (t, cols) in map {
            shard_columns.insert(
                t.clone(),
                strings(Some(cols), &format!("{field}.shard_columns"))?,
            );
        }
    }
    Ok(ObjectSpec {
        tables: strings(o.get("tables"), &format!("{field}.tables"))?,
        topic: o.get("topic").and_then(|v| v.as_str()).map(str::to_string),
        topic_rule: o
            .get("topic_rule")
            .and_then(|v| v.as_str())
            .map(str::to_string),
        exclude: strings(o.get("exclude"), &format!("{field}.exclude"))?,
        shard_columns,
    })
}

fn password(section: &toml::Table, field: &str, found: bool) -> Result<Option<String>> {
    match section.get("password").and_then(|v| v.as_str()) {
        Some(p) => Ok(Some(p.to_string())),
        None if found => Ok(None),
        None => Err(invalid(
            &format!("{field}.password_env"),
            format!("no data source matches [{field}] and the file has no {field}.password the server could use"),
            "create the data source first (with its password), or put password = \"...\" in the imported file",
        )),
    }
}

fn source_datasource(
    state: &AppState,
    s: &toml::Table,
    created: &mut Vec<String>,
) -> Result<String> {
    let kind = match text(s, "kind", "source.kind")?.as_str() {
        "oceanbase" => DataSourceKind::Oceanbase,
        "mysql" => DataSourceKind::Mysql,
        "mariadb" => DataSourceKind::Mariadb,
        other => {
            return Err(invalid(
                "source.kind",
                format!("source kind {other:?} is not known"),
                "use oceanbase, mysql or mariadb",
            ))
        }
    };
    let host = text(s, "host", "source.host")?;
    let port = s
        .get("port")
        .and_then(|v| v.as_integer())
        .and_then(|p| u16::try_from(p).ok())
        .ok_or_else(|| {
            invalid(
                "source.port",
                "source.port is missing or out of range",
                "use 1-65535",
            )
        })?;
    let user = text(s, "user", "source.user")?;
    let tls = source_tls(s)?;
    let mode = tls.as_ref().map(|t| t.mode).unwrap_or_default();
    let existing = state.store.list_datasources()?.into_iter().find(|d| {
        d.kind == kind
            && d.source.as_ref().is_some_and(|r| {
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
        name: unique_name(state, &format!("{}-{host}-{port}", kind.as_str()))?,
        kind,
        description: Some("imported".into()),
        source: Some(SourceInput {
            host,
            port,
            user,
            password: password(s, "source", false)?,
            tls,
        }),
        kafka: None,
    };
    store_new(state, input, created)
}

/// `[source.tls]`: its mode carries over; its files do not (they are paths on another
/// machine), so a file naming them is refused.
fn source_tls(s: &toml::Table) -> Result<Option<SourceTlsInput>> {
    let Some(tls) = s.get("tls").and_then(|v| v.as_table()) else {
        return Ok(None);
    };
    if ["ca_file", "client_cert_file", "client_key_file"]
        .iter()
        .any(|k| tls.contains_key(*k))
    {
        return Err(invalid(
            "source.tls",
            "not supported yet in import: the files of [source.tls]",
            "create the source data source with its CA and client certificate in the console first, then import",
        ));
    }
    let mode = match tls.get("mode").and_then(|v| v.as_str()) {
        None => SourceTlsMode::default(),
        Some(m) => match obsync_config::SourceTlsMode::parse(m) {
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
        ca_pem: None,
        client_cert_pem: None,
        client_key_pem: None,
    }))
}

fn target_datasource(
    state: &AppState,
    t: &toml::Table,
    created: &mut Vec<String>,
) -> Result<String> {
    let bootstrap = text(t, "bootstrap_servers", "target.bootstrap_servers")?;
    let version = text(t, "version", "target.version")?;
    let sasl = t.get("sasl").and_then(|v| v.as_table());
    let tls = t
        .get("tls")
        .and_then(|v| v.as_table())
        .filter(|tls| tls.get("enabled").and_then(|v| v.as_bool()) != Some(false));
    // The security settings are part of the match: a file with TLS never lands on a
    // plaintext data source at the same address, nor one SASL identity on another's.
    let same_brokers: Vec<DataSourceRecord> = state
        .store
        .list_datasources()?
        .into_iter()
        .filter(|d| {
            d.kafka
                .as_ref()
                .is_some_and(|k| k.bootstrap_servers == bootstrap.trim())
        })
        .collect();
    let mut differences = Vec::new();
    for d in &same_brokers {
        let k = d.kafka.as_ref().expect("filtered on kafka");
        let found: Vec<String> = [sasl_difference(sasl, k), tls_difference(tls, k)]
            .into_iter()
            .flatten()
            .collect();
        if found.is_empty() {
            return Ok(d.id.clone());
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
            "edit the data source so that its SASL and TLS settings match the file (or the \
             file to match the data source), then import again",
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
        Some(s) => {
            let mechanism = text(s, "mechanism", "target.sasl.mechanism")?;
            let optional = |key: &str| s.get(key).and_then(|v| v.as_str()).map(str::to_string);
            if mechanism.eq_ignore_ascii_case("GSSAPI") {
                // Kerberos: the keytab is a file on the server's machine, named as it is.
                Some(SaslInput {
                    mechanism: "GSSAPI".into(),
                    username: String::new(),
                    password: None,
                    kerberos_service_name: optional("kerberos_service_name"),
                    kerberos_principal: optional("kerberos_principal"),
                    kerberos_keytab: optional("kerberos_keytab"),
                })
            } else {
                Some(SaslInput {
                    mechanism,
                    username: text(s, "username", "target.sasl.username")?,
                    password: password(s, "target.sasl", false)?,
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
        )?,
        kind: DataSourceKind::Kafka,
        description: Some("imported".into()),
        source: None,
        kafka: Some(KafkaInput {
            bootstrap_servers: bootstrap,
            version,
            sasl,
            tls: None,
        }),
    };
    store_new(state, input, created)
}

/// What differs between the file's `[target.sasl]` and data source `k`'s SASL, if anything.
fn sasl_difference(file: Option<&toml::Table>, k: &crate::model::KafkaRecord) -> Option<String> {
    let field =
        |s: &toml::Table, key: &str| s.get(key).and_then(|v| v.as_str()).map(str::to_string);
    match (file, &k.sasl) {
        (None, None) => None,
        (Some(_), None) => Some("the file has [target.sasl], the data source no SASL".into()),
        (None, Some(d)) => Some(format!(
            "the data source uses SASL {}, the file none",
            d.mechanism
        )),
        (Some(f), Some(d)) => {
            let mechanism = field(f, "mechanism")
                .unwrap_or_default()
                .to_ascii_uppercase();
            if mechanism != d.mechanism {
                return Some(format!(
                    "SASL mechanism {} in the file, {} in the data source",
                    mechanism, d.mechanism
                ));
            }
            let (file_identity, source_identity) = if mechanism == "GSSAPI" {
                (field(f, "kerberos_principal"), d.kerberos_principal.clone())
            } else {
                (field(f, "username"), Some(d.username.clone()))
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
fn tls_difference(file: Option<&toml::Table>, k: &crate::model::KafkaRecord) -> Option<String> {
    let enabled = k.tls.as_ref().filter(|t| t.enabled);
    match (file, enabled) {
        (None, None) => None,
        (Some(_), None) => Some("the file has [target.tls], the data source no TLS".into()),
        (None, Some(_)) => Some("the data source uses TLS, the file has no [target.tls]".into()),
        (Some(f), Some(d)) => {
            let verify = f
                .get("verify_hostname")
                .and_then(|v| v.as_bool())
                .unwrap_or(true);
            let has = |key: &str| f.contains_key(key);
            let ca_pem = f.get("ca_pem").and_then(|v| v.as_str());
            if verify != d.verify_hostname {
                Some(format!(
                    "verify_hostname {verify} in the file, {} in the data source",
                    d.verify_hostname
                ))
            } else if (has("ca_file") || has("ca_pem")) != d.ca_pem.is_some()
                || ca_pem.is_some_and(|ca| Some(ca) != d.ca_pem.as_deref())
            {
                Some("the CA differs".into())
            } else if (has("cert_file") || has("cert_pem")) != d.client_cert_pem.is_some() {
                Some("the TLS client certificate differs".into())
            } else {
                None
            }
        }
    }
}

fn store_new(
    state: &AppState,
    input: DataSourceInput,
    created: &mut Vec<String>,
) -> Result<String> {
    let record: DataSourceRecord = build_record(state, input, None)?;
    state.store.put_datasource(&record)?;
    created.push(record.id.clone());
    Ok(record.id)
}

/// A data source name from `base` (spaces removed, 32 characters at most) that is free.
fn unique_name(state: &AppState, base: &str) -> Result<String> {
    let base: String = base
        .chars()
        .filter(|c| !c.is_whitespace())
        .take(28)
        .collect();
    let taken: Vec<String> = state
        .store
        .list_datasources()?
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
fn tags(state: &AppState, project: &toml::Table, created: &mut Vec<Tag>) -> Result<Vec<String>> {
    let names = strings(project.get("tags"), "tag_ids")?;
    let all = state.store.list_tags()?;
    let mut ids = Vec::new();
    for name in names {
        let name = name.trim();
        let known = all.iter().chain(created.iter()).find(|t| t.name == name);
        match known {
            Some(t) => ids.push(t.id.clone()),
            None => {
                let tag = crate::tags::new_tag(state, name, created.len())
                    .map_err(|e| e.at_field("project.tags"))?;
                ids.push(tag.id.clone());
                created.push(tag);
            }
        }
    }
    Ok(ids)
}
