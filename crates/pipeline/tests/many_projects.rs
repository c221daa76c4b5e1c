//! Many projects in one process: a source that refuses connections because it is full
//! is retried with advice that counts what obsync holds there; projects on one Kafka
//! target share one producer client and still deliver and stop on their own.
//! Against a private MariaDB (the full one) and the shared MariaDB and Kafka.

mod support;

use std::process::Child;
use std::time::{Duration, Instant};

use obsync_pipeline::{ProjectHandle, RunState, Stage};
use obsync_testkit::{unique_name, MariaDbInstance, Services, SqlServer};

/// The ids (`postStruct.id`, Default format) in `topic`, sorted (the topic's partitions
/// come in no order), duplicates kept.
fn ids(bootstrap: &str, topic: &str) -> Vec<String> {
    let mut ids: Vec<String> = obsync_testkit::kcat::consume(bootstrap, topic)
        .iter()
        .filter_map(|r| serde_json::from_slice::<serde_json::Value>(&r.value).ok())
        .filter_map(|m| m["postStruct"]["id"].as_str().map(str::to_string))
        .collect();
    ids.sort_by_key(|id| id.parse::<i64>().unwrap_or(i64::MAX));
    ids
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) -> Result<(), String> {
    let deadline = Instant::now() + support::TIMEOUT;
    while !done() {
        if Instant::now() >= deadline {
            return Err(format!("timed out waiting: {what}"));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// The value of the gauge or counter `metric` of a project.
fn metric(handle: &ProjectHandle, metric: &str) -> i64 {
    let text = handle.metrics().render();
    text.lines()
        .find(|l| l.starts_with(&format!("{metric}{{")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {metric} in:\n{text}"))
}

/// Idle sessions that keep a server's connections busy until dropped.
struct Sleepers(Vec<Child>);

impl Sleepers {
    fn open_one(&mut self, server: &SqlServer) {
        let child = server
            .cli()
            .arg("-e")
            .arg("SELECT SLEEP(300)")
            .stdout(std::process::Stdio::null())
            .spawn()
            .expect("starting the mariadb CLI");
        self.0.push(child);
    }
}

impl Drop for Sleepers {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[tokio::test]
async fn a_full_source_is_retried_and_the_advice_counts_what_obsync_holds() {
    let services = Services::load();
    let db = MariaDbInstance::spawn();
    let admin = db.server();
    // A user without SUPER: MariaDB keeps one connection beyond max_connections for
    // SUPER users, which the test itself uses to lift the limit again.
    admin.execute(
        "CREATE DATABASE shop; CREATE TABLE shop.t (id INT PRIMARY KEY); \
         INSERT INTO shop.t VALUES (1), (2); \
         CREATE USER 'lim'@'%' IDENTIFIED BY 'pw'; \
         GRANT SELECT, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'lim'@'%'; \
         SET GLOBAL max_connections = 10",
    );
    let lim = SqlServer {
        user: "lim".into(),
        password: "pw".into(),
        ..admin.clone()
    };
    let mut sleepers = Sleepers(Vec::new());
    let deadline = Instant::now() + support::TIMEOUT;
    // Fill the server until `lim` is refused with ER_CON_COUNT_ERROR.
    loop {
        match lim.try_query("SELECT 1") {
            Err(e) if e.contains("1040") => break,
            other => {
                assert!(
                    Instant::now() < deadline,
                    "the server never filled: {other:?}"
                );
                sleepers.open_one(&admin);
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }

    let topic = unique_name("full_source");
    let project = support::Project {
        name: "fullsource",
        sync: "types = [\"schema\", \"full\", \"incremental\"]\nformat = \"Default\"",
        tables: "\"shop.t\"",
        topic: &topic,
        ..Default::default()
    };
    let settings = support::settings_on(&lim, &services.kafka_bootstrap, &project);
    let state = std::env::temp_dir().join(unique_name("full_source_state"));
    let handle = ProjectHandle::start(settings, state);
    support::wait_for(
        &handle,
        support::TIMEOUT,
        "no warning about the full source",
        |s| {
            s.warning
                .as_ref()
                .is_some_and(|w| w.message.contains("max_connections"))
        },
    )
    .await;
    let warning = handle.status().warning.unwrap().message;
    // The real cause and obsync's own share of it, never the credentials.
    assert!(warning.contains("Too many connections"), "{warning}");
    assert!(
        warning.contains("obsync holds up to 1 connections on it for 1 running projects"),
        "{warning}"
    );
    assert!(!warning.contains("password"), "{warning}");
    // Retried, not failed: still running after a few more attempts.
    tokio::time::sleep(Duration::from_secs(4)).await;
    assert_eq!(handle.status().state, RunState::Running);

    admin.execute("SET GLOBAL max_connections = 200");
    drop(sleepers);
    support::wait_for(&handle, support::TIMEOUT, "not streaming", |s| {
        s.stage == Stage::Incremental && s.warning.is_none()
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    admin.execute("INSERT INTO shop.t VALUES (3)");
    let bootstrap = &services.kafka_bootstrap;
    wait_until("the snapshot and the change arrive", || {
        ids(bootstrap, &topic) == ["1", "2", "3"]
    })
    .await
    .unwrap();
    handle.stop();
    handle.join().await.expect("the project stops cleanly");
}

#[tokio::test]
async fn projects_on_one_target_share_one_producer_and_stop_on_their_own() {
    let services = Services::load();
    let m = &services.mariadb;
    let (db_a, db_b) = (unique_name("sharea"), unique_name("shareb"));
    let (topic_a, topic_b) = (unique_name("sharea_topic"), unique_name("shareb_topic"));
    m.execute(&format!(
        "CREATE DATABASE {db_a}; CREATE TABLE {db_a}.t (id INT PRIMARY KEY); \
         CREATE DATABASE {db_b}; CREATE TABLE {db_b}.t (id INT PRIMARY KEY)"
    ));
    let start = |name: &str, db: &str, topic: &str| {
        let tables = format!("\"{db}.t\"");
        let project = support::Project {
            name,
            sync: "types = [\"schema\", \"incremental\"]\nformat = \"Default\"",
            tables: &tables,
            topic,
            ..Default::default()
        };
        let settings = support::settings_on(m, &services.kafka_bootstrap, &project);
        support::start_streaming(
            settings,
            std::env::temp_dir().join(unique_name("share_state")),
        )
    };
    let a = start("sharea", &db_a, &topic_a).await;
    let b = start("shareb", &db_b, &topic_b).await;
    let client = metric(&a, "obsync_kafka_producer_client");
    assert!(client > 0);
    assert_eq!(
        metric(&b, "obsync_kafka_producer_client"),
        client,
        "two projects on one target configuration use one producer client"
    );

    m.execute(&format!(
        "INSERT INTO {db_a}.t VALUES (1), (2); INSERT INTO {db_b}.t VALUES (10), (20)"
    ));
    let bootstrap = &services.kafka_bootstrap;
    wait_until("both projects deliver", || {
        ids(bootstrap, &topic_a) == ["1", "2"] && ids(bootstrap, &topic_b) == ["10", "20"]
    })
    .await
    .unwrap();

    // A's stop leaves B's client and deliveries alone.
    a.stop();
    a.join().await.expect("A stops cleanly");
    m.execute(&format!("INSERT INTO {db_b}.t VALUES (30)"));
    let mut seen = Vec::new();
    wait_until("B delivers after A stopped", || {
        seen = ids(bootstrap, &topic_b);
        seen == ["10", "20", "30"]
    })
    .await
    .unwrap_or_else(|e| panic!("{e}: {seen:?}, {:?}", b.status()));
    assert_eq!(metric(&b, "obsync_kafka_producer_client"), client);
    assert_eq!(metric(&b, "obsync_kafka_errors_total"), 0);
    assert_eq!(ids(bootstrap, &topic_a), ["1", "2"], "A sent nothing more");
    b.stop();
    b.join().await.expect("B stops cleanly");
    m.execute(&format!("DROP DATABASE {db_a}; DROP DATABASE {db_b}"));
}
