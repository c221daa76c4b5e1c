//! Shared helpers of the pipeline's library-level tests (real MariaDB and Kafka).
#![allow(dead_code)] // each test binary uses a different subset

use obsync_config::ProjectConfig;
use obsync_pipeline::{ProjectHandle, Settings, Stage, StatusSnapshot};
use obsync_testkit::{Services, SqlServer};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A project on the shared MariaDB and Kafka replicating `tables` (`db.table`, …) into
/// `topic`; `sync` is the body of its `[sync]` section.
pub fn settings(
    services: &Services,
    name: &str,
    sync: &str,
    tables: &str,
    topic: &str,
) -> Settings {
    let project = Project {
        name,
        sync,
        tables,
        topic,
        ..Default::default()
    };
    settings_on(&services.mariadb, &services.kafka_bootstrap, &project)
}

/// What a test project is made of, apart from where its source and Kafka are.
#[derive(Default)]
pub struct Project<'a> {
    pub name: &'a str,
    /// The body of `[sync]`.
    pub sync: &'a str,
    /// `"db.table", …`
    pub tables: &'a str,
    pub topic: &'a str,
    /// More `[source]` lines, e.g. `binlog_positioning = "gtid"`.
    pub source_extra: &'a str,
    /// The body of `[target.producer]`, if any.
    pub producer: &'a str,
}

/// A project reading from the MariaDB `source` into Kafka at `kafka`.
pub fn settings_on(source: &SqlServer, kafka: &str, p: &Project<'_>) -> Settings {
    let text = format!(
        r#"
[project]
name = "{name}{pid}"
[source]
kind = "mariadb"
host = "{host}"
port = {port}
user = "{user}"
password = "{password}"
{source_extra}
[target]
bootstrap_servers = "{kafka}"
version = "3.x"
[target.producer]
{producer}
[sync]
{sync}
[[objects]]
tables = [{tables}]
topic = "{topic}"
"#,
        name = p.name,
        producer = p.producer,
        pid = std::process::id(),
        host = source.host,
        port = source.port,
        user = source.user,
        password = source.password,
        source_extra = p.source_extra,
        sync = p.sync,
        tables = p.tables,
        topic = p.topic,
    );
    let config = ProjectConfig::parse(&text, Path::new(&format!("{}.toml", p.name)))
        .unwrap_or_else(|e| panic!("test project is invalid: {e:?}"));
    Settings::from_config(config)
}

/// A state directory that does not exist (a project that never ran).
pub fn no_state_dir() -> PathBuf {
    std::env::temp_dir().join(obsync_testkit::unique_name("no_state"))
}

/// Waits until `done` holds for the project's status; fails the test, showing the
/// status, when `timeout` passes first.
pub async fn wait_for(
    handle: &ProjectHandle,
    timeout: Duration,
    what: &str,
    done: impl Fn(&StatusSnapshot) -> bool,
) {
    let deadline = Instant::now() + timeout;
    loop {
        let status = handle.status();
        if done(&status) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: {status:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How long the tests wait for a project to reach a stage or deliver.
pub const TIMEOUT: Duration = Duration::from_secs(60);

/// Starts the project and returns once it streams the binlog from its end, so that
/// what the test writes next is read as a change.
pub async fn start_streaming(settings: Settings, state_dir: PathBuf) -> ProjectHandle {
    let handle = ProjectHandle::start(settings, state_dir);
    wait_for(&handle, TIMEOUT, "not streaming", |s| {
        s.stage == Stage::Incremental
    })
    .await;
    // Let the reader reach the binlog end before the test writes.
    tokio::time::sleep(Duration::from_millis(500)).await;
    handle
}
