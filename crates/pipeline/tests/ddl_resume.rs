//! A DDL run while the project is down, after rows it has not read yet: on restart those
//! rows are decoded with the definition saved at the checkpoint, the rows after the DDL
//! with the new one. Against the real MariaDB and Kafka, driven through the library.

mod support;

use obsync_pipeline::checkpoint::CheckpointStore;
use obsync_testkit::{unique_name, Services};
use serde_json::{json, Value};
use std::path::Path;

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
    let sync = r#"types = ["schema", "incremental"]
format = "Default"
partition_rule = "one""#;
    let settings = support::settings(services, "ddlresume", sync, &format!("\"{db}.t\""), topic);
    let handle = support::start_streaming(settings, state.to_path_buf()).await;
    if !write.is_empty() {
        services.mariadb.execute(write);
    }
    support::wait_for(&handle, support::TIMEOUT, "not delivered", |s| {
        s.messages_acked >= messages
    })
    .await;
    handle.stop();
    handle.join().await.expect("the run ends without error");
}

/// The `postStruct` of every message, in offset order (one partition).
fn after_images(bootstrap: &str, topic: &str) -> Vec<Value> {
    obsync_testkit::kcat::consume(bootstrap, topic)
        .iter()
        .map(|r| serde_json::from_slice::<Value>(&r.value).unwrap()["postStruct"].clone())
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
    let saved = CheckpointStore::open(&state).unwrap().load().unwrap();
    let columns: Vec<&str> = saved.definitions[0]
        .columns
        .iter()
        .map(|c| c.name.as_str())
        .collect();
    assert_eq!(columns, ["id", "b", "a"]);
    // And the server its position was read from (MariaDB has no uuid: its server_id).
    let server_id = &services.mariadb.query("SELECT @@server_id")[0][0];
    assert_eq!(
        saved.source_server,
        Some(format!("server_id:{server_id}")),
        "the checkpoint names its server"
    );
    services.mariadb.execute(&format!("DROP DATABASE {db}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_renamed_out_of_the_project_is_reported_in_the_status() {
    let services = Services::load();
    let db = unique_name("renameout");
    let topic = unique_name("renameout_topic");
    services.mariadb.execute(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, a INT)"
    ));
    let sync = r#"types = ["schema", "incremental"]
format = "Default""#;
    let settings = support::settings(&services, "renameout", sync, &format!("\"{db}.t\""), &topic);
    let state = std::env::temp_dir().join(unique_name("renameout_state"));
    let handle = support::start_streaming(settings, state).await;
    services.mariadb.execute(&format!(
        "INSERT INTO {db}.t VALUES (1, 10); RENAME TABLE {db}.t TO {db}.t_old; \
         INSERT INTO {db}.t_old VALUES (2, 20)"
    ));
    support::wait_for(&handle, support::TIMEOUT, "no notice", |s| {
        !s.notices.is_empty()
    })
    .await;
    let status = handle.status();
    assert_eq!(status.notices.len(), 1, "{status:?}");
    let notice = &status.notices[0].message;
    assert!(
        notice.starts_with(&format!("{db}.t was renamed to {db}.t_old at "))
            && notice.ends_with("its later changes are not synced"),
        "{notice}"
    );
    assert_eq!(
        status.rows_read, 1,
        "the row after the rename is not synced"
    );
    handle.stop();
    handle.join().await.expect("the run ends without error");
    services.mariadb.execute(&format!("DROP DATABASE {db}"));
}
