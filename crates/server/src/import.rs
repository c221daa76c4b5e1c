//! Import of a project file (TOML) as a server project: its source and target become
//! data sources (matched by address and user, or created), its tags are matched by name
//! (or created), and the rest becomes a [`ProjectSpec`] judged by the same rules as any
//! other.

use axum::http::StatusCode;

use crate::api::datasources::{
    build_record, DataSourceInput, KafkaInput, SaslInput, SourceInput, SourceTlsInput,
};
use crate::api::error::{ApiError, ApiResult};
use crate::model::{
    new_id, DataSourceKind, DataSourceRecord, ObjectSpec, ProjectRecord, ProjectSpec,
    SourceTlsMode, SyncSpec, Tag,
};
use crate::service;
use crate::state::AppState;

/// Sync settings a server project keeps; a file with others cannot be imported as is.
const SYNC_KEYS: &[&str] = &[
    "types",
    "format",
    "partition_rule",
    "tx_sequence",
    "start_time",
];

fn invalid(field: &str, message: impl Into<String>, advice: impl Into<String>) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "INVALID_PROJECT",
        message,
        advice,
    )
    .with_field(field)
}

fn text(table: &toml::Table, key: &str, field: &str) -> ApiResult<String> {
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

fn table<'a>(doc: &'a toml::Table, key: &str) -> ApiResult<&'a toml::Table> {
    doc.get(key).and_then(|v| v.as_table()).ok_or_else(|| {
        invalid(
            key,
            format!("the [{key}] section is missing"),
            "add it; examples/minimal.toml shows a complete file",
        )
    })
}

fn strings(value: Option<&toml::Value>, field: &str) -> ApiResult<Vec<String>> {
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
pub async fn import(state: &AppState, body: &str, actor: &str) -> ApiResult<ProjectRecord> {
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
    let result = async {
        let source_id = source_datasource(state, source, &mut created)?;
        let target_id = target_datasource(state, target, &mut created)?;
        let tag_ids = tags(state, project)?;
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
            .collect::<ApiResult<Vec<_>>>()?;
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
        service::create(state, spec, actor).await
    }
    .await;
    if result.is_err() {
        for id in created {
            let _ = state.store.delete_datasource(&id);
        }
    }
    result
}

fn object(value: &toml::Value, i: usize) -> ApiResult<ObjectSpec> {
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

fn password(section: &toml::Table, field: &str, found: bool) -> ApiResult<Option<String>> {
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
) -> ApiResult<String> {
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
fn source_tls(s: &toml::Table) -> ApiResult<Option<SourceTlsInput>> {
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
) -> ApiResult<String> {
    let bootstrap = text(t, "bootstrap_servers", "target.bootstrap_servers")?;
    let version = text(t, "version", "target.version")?;
    let sasl = t.get("sasl").and_then(|v| v.as_table());
    let sasl_user = sasl
        .and_then(|s| s.get("username"))
        .and_then(|v| v.as_str());
    let existing = state.store.list_datasources()?.into_iter().find(|d| {
        d.kafka.as_ref().is_some_and(|k| {
            k.bootstrap_servers == bootstrap
                && k.sasl.as_ref().map(|s| s.username.as_str()) == sasl_user
        })
    });
    if let Some(d) = existing {
        return Ok(d.id);
    }
    if t.contains_key("tls") {
        return Err(invalid(
            "target.tls",
            "not supported yet in import: [target.tls]",
            "create the Kafka data source with its CA in the console first, then import",
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

fn store_new(
    state: &AppState,
    input: DataSourceInput,
    created: &mut Vec<String>,
) -> ApiResult<String> {
    let record: DataSourceRecord = build_record(state, input, None)?;
    state.store.put_datasource(&record)?;
    created.push(record.id.clone());
    Ok(record.id)
}

/// A data source name from `base` (spaces removed, 32 characters at most) that is free.
fn unique_name(state: &AppState, base: &str) -> ApiResult<String> {
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

fn tags(state: &AppState, project: &toml::Table) -> ApiResult<Vec<String>> {
    let names = strings(project.get("tags"), "tag_ids")?;
    let mut all = state.store.list_tags()?;
    let mut ids = Vec::new();
    for name in names {
        match all.iter().find(|t| t.name == name) {
            Some(t) => ids.push(t.id.clone()),
            None => {
                let tag = Tag {
                    id: new_id("tag"),
                    name,
                };
                state.store.put_tag(&tag)?;
                ids.push(tag.id.clone());
                all.push(tag);
            }
        }
    }
    Ok(ids)
}
