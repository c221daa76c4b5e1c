//! One codec for the project file: generated files that `obsync run` accepts import, and
//! the export of the imported project is the same project (`export(import(x)) == x`, as
//! the loader of `obsync run` reads both; secrets come back as variables, never as text:
//! the schema registry's login included, which the import keeps in the target data source).

mod support;

use std::sync::atomic::{AtomicU32, Ordering};

use obsync_config::{
    Environment, ObjectSection, ProjectConfig, ProjectFile, ProjectSection, SaslSection,
    SourceSection, SourceTlsSection, SyncSection, TargetSection,
};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use reqwest::StatusCode;
use support::TestServer;

const SOURCE_PASSWORD: &str = "src-Pw-generated";
const KAFKA_PASSWORD: &str = "kafka-Pw-generated";
const REGISTRY_PASSWORD: &str = "registry-Pw-generated";

/// A file in the space the server represents: no setting it refuses by name
/// (`time_zone`, `compression`, …), no files on another machine, passwords in the text.
fn project_file() -> impl Strategy<Value = ProjectFile> {
    let source = (
        select(vec!["mysql", "mariadb", "oceanbase", "MySQL"]),
        1u16..=65535,
        select(vec!["sync", "repl_user"]),
        prop::option::of(select(vec![
            "disabled",
            "preferred",
            "required",
            "verify_ca",
            "verify_identity",
        ])),
    )
        .prop_map(|(kind, port, user, tls)| SourceSection {
            kind: kind.into(),
            host: "127.0.0.1".into(),
            port: port.into(),
            user: if kind == "oceanbase" {
                format!("{user}@t1")
            } else {
                user.into()
            },
            password: Some(SOURCE_PASSWORD.into()),
            password_env: None,
            server_id: None,
            tenant: None,
            binlog_positioning: None,
            tls: tls.map(|mode| SourceTlsSection {
                mode: Some(mode.into()),
                ..Default::default()
            }),
        });
    let target = (
        select(vec![
            "0.9", "1.0", "1.1.1", "2.x", "2.8.1", "3.x", "3.6.0", "4.x", "4.0",
        ]),
        prop::option::of((
            select(vec!["PLAIN", "plain", "SCRAM-SHA-256", "scram-sha-512"]),
            select(vec!["obsync", "writer"]),
        )),
    )
        .prop_map(|(version, sasl)| TargetSection {
            bootstrap_servers: String::new(), // unique per case, set by the runner
            version: version.into(),
            compression: None,
            sasl: sasl.map(|(mechanism, user)| SaslSection {
                mechanism: mechanism.into(),
                username: Some(user.into()),
                password: Some(KAFKA_PASSWORD.into()),
                ..Default::default()
            }),
            tls: None,
            producer: Default::default(),
        });
    let sync = (
        subsequence(vec!["schema", "full", "incremental"], 1..=3),
        prop::option::of(select(vec![
            "Default",
            "DefaultExtendColumnType",
            "Canal",
            "DataWorks",
            "SharePlex",
            "Debezium",
            "DebeziumFlattened",
            "DebeziumAvro",
        ])),
        prop::option::of(select(vec!["hash", "one"])),
        prop::option::of(Just(true)),
        prop::option::of(1_700_000_000i64..1_800_000_000),
        prop::option::of((any::<bool>(), select(vec!["precise", "string", "double"]))),
        // DebeziumAvro's registry: its URL, a login (the password in the text), subjects.
        (
            select(vec![
                "http://registry.test:8081/apis/ccompat/v7",
                "https://registry.test/ccompat/",
                "http://10.0.0.9:8081",
            ]),
            prop::option::of(select(vec!["avro", "reg-user"])),
            prop::option::of(select(vec!["topic", "record", "topic_record"])),
        ),
    )
        .prop_map(
            |(types, format, partition_rule, tx_sequence, start, debezium, registry)| SyncSection {
                format_options: (format == Some("DebeziumAvro")).then(|| {
                    let (url, user, subjects) = registry;
                    let mut options = toml::Table::new();
                    options.insert("schema_registry_url".into(), url.into());
                    if let Some(user) = user {
                        options.insert("schema_registry_username".into(), user.into());
                        options.insert("schema_registry_password".into(), REGISTRY_PASSWORD.into());
                    }
                    if let Some(subjects) = subjects {
                        options.insert("subject_name_strategy".into(), subjects.into());
                    }
                    options
                }),
                // `[sync.debezium]` only where the format takes it.
                debezium: debezium
                    .filter(|_| format.is_some_and(|f| f.starts_with("Debezium")))
                    .map(|(schemas, decimals)| {
                        toml::Table::from_iter([
                            ("schemas".to_string(), toml::Value::from(schemas)),
                            ("decimal_handling".to_string(), toml::Value::from(decimals)),
                        ])
                    }),
                start_time: (!types.contains(&"full"))
                    .then_some(start)
                    .flatten()
                    .map(toml::Value::from),
                types: types.into_iter().map(String::from).collect(),
                format: format.map(String::from),
                partition_rule: partition_rule.map(String::from),
                tx_sequence: tx_sequence.filter(|_| format == Some("SharePlex")),
                ..Default::default()
            },
        );
    let object = (
        select(vec!["shop.orders", "shop.*", "crm.users", "crm.*"]),
        prop::option::of(select(vec!["orders-topic", "all_rows"])),
        any::<bool>(),
    )
        .prop_map(|(table, topic, shard)| ObjectSection {
            tables: vec![table.into()],
            exclude: if table.ends_with('*') {
                vec![table.replace('*', "tmp_*")]
            } else {
                vec![]
            },
            topic_rule: topic.is_none().then(|| "batch".into()),
            topic: topic.map(String::from),
            shard_columns: if shard && !table.ends_with('*') {
                [(table.to_string(), vec!["id".to_string()])].into()
            } else {
                Default::default()
            },
        });
    (
        subsequence(vec!["prod", "nightly", "订单"], 0..=2),
        source,
        target,
        sync,
        prop::collection::vec(object, 1..=3),
    )
        .prop_map(|(tags, source, target, sync, objects)| ProjectFile {
            project: ProjectSection {
                name: String::new(), // unique per case, set by the runner
                tags: tags.into_iter().map(String::from).collect(),
            },
            source,
            target,
            sync,
            objects,
        })
}

fn load(text: &str, env: &Environment) -> Result<ProjectConfig, String> {
    ProjectConfig::parse_with(text, "case.toml", env).map_err(|e| e.to_string())
}

#[test]
fn a_file_obsync_run_accepts_imports_and_exports_as_the_same_project() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(TestServer::start("codec"));
    let case = AtomicU32::new(0);
    let mut runner = TestRunner::new(Config {
        cases: 48,
        ..Config::default()
    });
    let result = runner.run(&project_file(), |mut file| {
        let n = case.fetch_add(1, Ordering::Relaxed);
        file.project.name = format!("case{n}");
        // Brokers of their own: no earlier case's data source matches (or clashes).
        file.target.bootstrap_servers = format!("127.0.0.1:{}", 10_000 + n);
        let text = file.to_toml().unwrap();
        let env = Environment::fixed(0, [("UNUSED", "")]);
        let Ok(original) = load(&text, &env) else {
            return Err(TestCaseError::reject("obsync run refuses this file"));
        };
        let (status, body, export) = rt.block_on(async {
            let api = &server.api;
            let resp = api
                .client
                .post(format!("{}/api/v1/projects/import", api.base))
                .body(text.clone())
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let body: serde_json::Value = resp.json().await.unwrap();
            let id = body["id"].as_str().unwrap_or_default().to_string();
            let export = api
                .client
                .get(format!("{}/api/v1/projects/{id}/export", api.base))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            (status, body, export)
        });
        prop_assert_eq!(status, StatusCode::CREATED, "{}\n{}", body, text);
        prop_assert!(
            !export.contains(SOURCE_PASSWORD)
                && !export.contains(KAFKA_PASSWORD)
                && !export.contains(REGISTRY_PASSWORD),
            "a secret in the export:\n{}",
            export
        );
        let env = Environment::fixed(
            0,
            [
                ("OBSYNC_SOURCE_PASSWORD", SOURCE_PASSWORD),
                ("OBSYNC_KAFKA_PASSWORD", KAFKA_PASSWORD),
                ("OBSYNC_SCHEMA_REGISTRY_PASSWORD", REGISTRY_PASSWORD),
            ],
        );
        let exported = load(&export, &env).map_err(TestCaseError::fail)?;
        prop_assert_eq!(exported, original, "{}\n-- exported --\n{}", text, export);
        Ok(())
    });
    rt.block_on(server.stop());
    result.unwrap();
}
