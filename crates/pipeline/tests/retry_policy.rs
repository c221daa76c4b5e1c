//! Retry vs fail, decided by `BinlogError::is_transient` and `ProduceError::is_fatal`:
//! a permanent source error fails the project with the server's message and the fix; a
//! broker that is away longer than the message timeout is waited out by resuming from
//! the checkpoint, and the failed messages show in `obsync_kafka_errors_total`.
//! Against the real MariaDB and Kafka brokers.

mod support;

use std::time::{Duration, Instant};

use obsync_pipeline::{ProjectHandle, Settings};
use obsync_testkit::{unique_name, KafkaInstance, Services, SqlServer};

/// A project reading `db.t` as `user`/`password` into `topic` on `bootstrap`.
fn settings(
    services: &Services,
    (user, password): (&str, &str),
    bootstrap: &str,
    sync: &str,
    producer: &str,
    db: &str,
    topic: &str,
) -> Settings {
    let source = SqlServer {
        user: user.to_string(),
        password: password.to_string(),
        ..services.mariadb.clone()
    };
    let tables = format!("\"{db}.t\"");
    // One name per test: they run side by side.
    let name = topic.replace(['_', '-'], "");
    let project = support::Project {
        name: &name,
        sync,
        tables: &tables,
        topic,
        producer,
        ..Default::default()
    };
    support::settings_on(&source, bootstrap, &project)
}

/// The error and every cause under it, one per line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push('\n');
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}

#[tokio::test]
async fn a_source_user_without_replication_privileges_fails_the_project_with_the_fix() {
    let services = Services::load();
    let db = unique_name("noprivs");
    let user = unique_name("nopriv");
    services.mariadb_root.execute(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY); \
         CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'; GRANT SELECT ON {db}.* TO '{user}'@'%'"
    ));
    let start_time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 5;
    let s = settings(
        &services,
        (&user, "pw"),
        &services.kafka_bootstrap,
        &format!("types = [\"schema\", \"incremental\"]\nstart_time = {start_time}"),
        "",
        &db,
        &unique_name("noprivs_topic"),
    );
    let state = std::env::temp_dir().join(unique_name("noprivs_state"));
    let handle = ProjectHandle::start(s, state);
    // It used to retry this forever; a minute is far more than failing needs.
    let outcome = tokio::time::timeout(Duration::from_secs(60), handle.join()).await;
    services
        .mariadb_root
        .execute(&format!("DROP USER '{user}'@'%'; DROP DATABASE {db}"));
    let error = outcome
        .expect("the project keeps retrying a privilege error")
        .expect_err("the project cannot read the binlog without privileges");
    assert!(!error.is_transient(), "{error:?}");
    let text = chain(&error);
    assert!(
        text.contains("GRANT REPLICATION SLAVE"),
        "the fix is missing:\n{text}"
    );
    assert!(
        text.contains("Access denied; you need (at least one of)"),
        "the server's message is missing:\n{text}"
    );
    assert_eq!(handle.status().state, obsync_pipeline::RunState::Failed);
}

/// The value of `metric` in the project's metrics.
fn metric(handle: &ProjectHandle, metric: &str) -> u64 {
    let text = handle.metrics().render();
    text.lines()
        .find(|l| l.starts_with(&format!("{metric}{{")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {metric} in:\n{text}"))
}

async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_stopped_broker_counts_errors_and_the_project_resumes_when_it_is_back() {
    let services = Services::load();
    let mut kafka = KafkaInstance::spawn();
    let db = unique_name("brokerstop");
    let topic = unique_name("brokerstop_topic");
    services.mariadb.execute(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY)"
    ));
    let m = &services.mariadb;
    let s = settings(
        &services,
        (&m.user, &m.password),
        &kafka.bootstrap(),
        "types = [\"schema\", \"incremental\"]\nformat = \"Default\"",
        // A short timeout turns the outage into failed messages quickly.
        "\"message.timeout.ms\" = 2000",
        &db,
        &topic,
    );
    let state = std::env::temp_dir().join(unique_name("brokerstop_state"));
    let handle = support::start_streaming(s, state).await;
    services
        .mariadb
        .execute(&format!("INSERT INTO {db}.t VALUES (1)"));
    wait_until("the first row is acknowledged", support::TIMEOUT, || {
        metric(&handle, "obsync_kafka_messages_sent_total") >= 1
    })
    .await;
    assert_eq!(metric(&handle, "obsync_kafka_errors_total"), 0);

    kafka.stop();
    services
        .mariadb
        .execute(&format!("INSERT INTO {db}.t VALUES (2)"));
    wait_until("the error counter moves", support::TIMEOUT, || {
        metric(&handle, "obsync_kafka_errors_total") >= 1
    })
    .await;
    // The project resumes from its checkpoint (and says why) instead of failing.
    wait_until("the project reports the outage", support::TIMEOUT, || {
        handle.status().last_error.is_some()
    })
    .await;
    assert_ne!(handle.status().state, obsync_pipeline::RunState::Failed);

    kafka.start();
    services
        .mariadb
        .execute(&format!("INSERT INTO {db}.t VALUES (3)"));
    let bootstrap = kafka.bootstrap();
    let mut ids = Vec::new();
    wait_until(
        "rows 2 and 3 arrive after the outage",
        support::TIMEOUT,
        || {
            ids = obsync_testkit::kcat::consume(&bootstrap, &topic)
                .iter()
                .filter_map(|r| serde_json::from_slice::<serde_json::Value>(&r.value).ok())
                .filter_map(|m| m["postStruct"]["id"].as_str().map(str::to_string))
                .collect();
            ["1", "2", "3"].iter().all(|id| ids.iter().any(|i| i == id))
        },
    )
    .await;
    handle.stop();
    let outcome = handle.join().await;
    services.mariadb.execute(&format!("DROP DATABASE {db}"));
    outcome.expect("the project stops cleanly after the outage");
}

#[tokio::test]
async fn a_killed_binlog_connection_is_counted_as_a_reconnect() {
    let services = Services::load();
    let db = unique_name("reconnect");
    let topic = unique_name("reconnect_topic");
    // A user of its own, so that the test kills only this project's binlog connection.
    let user = unique_name("reconn");
    services.mariadb_root.execute(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY); \
         CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'; \
         GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '{user}'@'%'"
    ));
    let s = settings(
        &services,
        (&user, "pw"),
        &services.kafka_bootstrap,
        "types = [\"schema\", \"incremental\"]",
        "",
        &db,
        &topic,
    );
    let state = std::env::temp_dir().join(unique_name("reconnect_state"));
    let handle = support::start_streaming(s, state).await;
    assert_eq!(metric(&handle, "obsync_binlog_reconnects_total"), 0);
    let dumps = services.mariadb_root.query(&format!(
        "SELECT ID FROM information_schema.PROCESSLIST \
         WHERE USER = '{user}' AND COMMAND LIKE 'Binlog Dump%'"
    ));
    assert_eq!(dumps.len(), 1, "one binlog connection: {dumps:?}");
    services
        .mariadb_root
        .execute(&format!("KILL CONNECTION {}", dumps[0][0]));
    services
        .mariadb
        .execute(&format!("INSERT INTO {db}.t VALUES (1)"));
    wait_until("the reconnect is counted", support::TIMEOUT, || {
        metric(&handle, "obsync_binlog_reconnects_total") >= 1
    })
    .await;
    handle.stop();
    let outcome = handle.join().await;
    services
        .mariadb_root
        .execute(&format!("DROP USER '{user}'@'%'; DROP DATABASE {db}"));
    outcome.expect("the project stops cleanly");
}
