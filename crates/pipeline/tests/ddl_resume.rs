//! A DDL run while the project is down, after rows it has not read yet: on restart those
//! rows are decoded with the definition saved at the checkpoint, the rows after the DDL
//! with the new one. Against the real MariaDB and Kafka, driven through the library.

use obsync_config::ProjectConfig;
use obsync_pipeline::{ProjectHandle, Settings, Stage};
use obsync_testkit::{unique_name, Services};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn settings(services: &Services, db: &str, topic: &str) -> Settings {
    let m = &services.mariadb;
    let text = format!(
        r#"
[project]
name = "ddlresume{pid}"
[source]
kind = "mariadb"
host = "{host}"
port = {port}
user = "{user}"
password = "{password}"
[target]
bootstrap_servers = "{kafka}"
version = "3.x"
[sync]
types = ["schema", "incremental"]
format = "Default"
partition_rule = "one"
[[objects]]
tables = ["{db}.t"]
topic = "{topic}"
"#,
        pid = std::process::id(),
        host = m.host,
        port = m.port,
        user = m.user,
        password = m.password,
        kafka = services.kafka_bootstrap,
    );
    let config = ProjectConfig::parse(&text, Path::new("ddlresume.toml")).expect("valid project");
    Settings::from_config(config).expect("valid settings")
}

/// Runs the project until `messages` more are acknowledged (after `write`, run once it
/// streams), then stops it gracefully.
async fn run_until(
    services: &Services,
    db: &str,
    topic: &str,
    state: &Path,
    write: &str,
    messages: u64,
) {
    let handle = ProjectHandle::start(settings(services, db, topic), state.to_path_buf());
    let deadline = Instant::now() + Duration::from_secs(60);
    while handle.status().stage != Stage::Incremental {
        assert!(
            Instant::now() < deadline,
            "not streaming: {:?}",
            handle.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if !write.is_empty() {
        // Let the reader reach the binlog end before writing.
        tokio::time::sleep(Duration::from_millis(500)).await;
        services.mariadb.execute(write);
    }
    while handle.status().messages_acked < messages {
        assert!(
            Instant::now() < deadline,
            "not delivered: {:?}",
            handle.status()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    handle.stop();
    handle.join().await.expect("the run ends without error");
}

/// The `postStruct` of every message, in offset order (one partition).
fn after_images(bootstrap: &str, topic: &str) -> Vec<Value> {
    let out = Command::new("kcat")
        .args(["-C", "-b", bootstrap, "-t", topic, "-e", "-q", "-f", "%s\n"])
        .output()
        .expect("kcat runs");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["postStruct"].clone())
        .filter(|v| !v.is_null())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rows_logged_before_a_ddl_made_while_stopped_keep_their_definition() {
    let services = Services::load();
    let db = unique_name("ddlresume");
    let topic = unique_name("ddlresume_topic");
    services.mariadb.execute(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, a INT)"
    ));
    let state = std::env::temp_dir().join(unique_name("ddlresume_state"));
    run_until(
        &services,
        &db,
        &topic,
        &state,
        &format!("INSERT INTO {db}.t VALUES (1, 10)"),
        1,
    )
    .await;

    // While the project is down: a row, then a column inserted before `a`, then a row.
    services.mariadb.execute(&format!(
        "INSERT INTO {db}.t VALUES (2, 20); \
         ALTER TABLE {db}.t ADD COLUMN b VARCHAR(8) AFTER id; \
         INSERT INTO {db}.t VALUES (3, 'x', 30)"
    ));
    run_until(&services, &db, &topic, &state, "", 2).await;

    assert_eq!(
        after_images(&services.kafka_bootstrap, &topic),
        vec![
            json!({"id": "1", "a": "10"}),
            json!({"id": "2", "a": "20"}),
            json!({"id": "3", "b": "x", "a": "30"}),
        ]
    );
    // The checkpoint now holds the new definition, for the next restart.
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("state.json")).unwrap()).unwrap();
    let columns: Vec<&str> = saved["definitions"][0]["columns"]
        .as_array()
        .expect("definitions saved with the checkpoint")
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(columns, ["id", "b", "a"]);
    services.mariadb.execute(&format!("DROP DATABASE {db}"));
}
