//! An idle source does not make the lag grow: once the reader has read everything the
//! source wrote (MariaDB's heartbeats say so) and Kafka has it, the lag is 0 and the
//! status says since when the project is idle, however old the last change is. Then a
//! new row is delivered as usual. Against a private MariaDB (the shared one is never
//! idle while other tests write) and the shared Kafka.

mod support;

use obsync_testkit::{unique_name, MariaDbInstance, Services};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use support::Project;

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The reader's heartbeat period (`BinlogOptions::new`'s default, which the pipeline uses).
const HEARTBEAT: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_source_keeps_the_lag_at_zero_and_a_new_row_still_arrives() {
    let services = Services::load();
    let mariadb = tokio::task::block_in_place(MariaDbInstance::spawn);
    let server = mariadb.server();
    let db = unique_name("idle");
    let topic = unique_name("idle_topic");
    server.execute(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20))"
    ));
    let tables = format!("\"{db}.t\"");
    let project = Project {
        name: "idle",
        sync: "types = [\"schema\", \"incremental\"]\nformat = \"Default\"",
        tables: &tables,
        topic: &topic,
        ..Default::default()
    };
    let settings = support::settings_on(&server, &services.kafka_bootstrap, &project);
    let state_dir = std::env::temp_dir().join(unique_name("idle_state"));
    let handle = support::start_streaming(settings, state_dir).await;

    server.execute(&format!("INSERT INTO {db}.t VALUES (1, 'first')"));
    support::wait_for(&handle, support::TIMEOUT, "row 1 not delivered", |s| {
        s.messages_acked >= 1
    })
    .await;
    let last_change = handle.status().checkpoint_time.expect("a checkpoint");

    // Idle for several heartbeat periods; the lag never counts the idle time.
    let idle_until = Instant::now() + HEARTBEAT * 4;
    let mut worst = 0;
    while Instant::now() < idle_until {
        let s = handle.status();
        worst = worst.max(s.lag_seconds.unwrap_or(0));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let s = handle.status();
    assert!(
        now() - last_change >= 4 * HEARTBEAT.as_secs() - 1,
        "the last change is old: {s:?}"
    );
    assert_eq!(s.lag_seconds, Some(0), "caught up: {s:?}");
    let since = s.idle_since.expect("the status says since when it is idle");
    assert!(since >= last_change && since <= now(), "{s:?}");
    // Before the first heartbeat the lag is the time since row 1's commit, at most a
    // heartbeat period; never the idle time. (Without MariaDB's heartbeats the reader
    // would learn it is caught up only after a 15 s silence: this bound proves they
    // arrive and count.)
    assert!(
        worst <= HEARTBEAT.as_secs() + 2,
        "worst lag {worst}s: {s:?}"
    );

    server.execute(&format!("INSERT INTO {db}.t VALUES (2, 'after idle')"));
    support::wait_for(&handle, support::TIMEOUT, "row 2 not delivered", |s| {
        s.messages_acked >= 2
    })
    .await;
    let after = handle.status();
    assert!(
        after.checkpoint_time.unwrap() > last_change,
        "the checkpoint moved to row 2: {after:?}"
    );
    // A new idle stretch (if a heartbeat came already) starts after row 2.
    if let Some(again) = after.idle_since {
        assert!(again > since, "{after:?}");
    }
    handle.stop();
    handle.join().await.unwrap();
    let values: Vec<String> = obsync_testkit::kcat::consume(&services.kafka_bootstrap, &topic)
        .iter()
        .map(|r| r.value_str().to_string())
        .collect();
    assert_eq!(values.len(), 2, "{values:?}");
    assert!(values[0].contains("first"), "{values:?}");
    assert!(values[1].contains("after idle"), "{values:?}");
}

/// A change log that other tables keep busy sends no heartbeat and never falls silent,
/// so neither tells the reader it is caught up; it asks where the server's binlog ends
/// instead. A project whose own table is quiet still shows a lag of 0 (before, its lag
/// stayed unknown for as long as the other writes went on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_log_of_other_tables_still_shows_the_project_caught_up() {
    let services = Services::load();
    let mariadb = tokio::task::block_in_place(MariaDbInstance::spawn);
    let server = mariadb.server();
    let db = unique_name("busy");
    let topic = unique_name("busy_topic");
    server.execute(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20)); \
         CREATE TABLE {db}.other (id INT AUTO_INCREMENT PRIMARY KEY, v VARCHAR(20))"
    ));
    let tables = format!("\"{db}.t\"");
    let project = Project {
        name: "busy",
        sync: "types = [\"schema\", \"incremental\"]\nformat = \"Default\"",
        tables: &tables,
        topic: &topic,
        ..Default::default()
    };
    let settings = support::settings_on(&server, &services.kafka_bootstrap, &project);
    let state_dir = std::env::temp_dir().join(unique_name("busy_state"));
    let handle = support::start_streaming(settings, state_dir).await;

    // Another table written 5 times a second: shorter gaps than the heartbeat period.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let server = server.clone();
        let db = db.clone();
        std::thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                server.execute(&format!("INSERT INTO {db}.other (v) VALUES ('x')"));
                std::thread::sleep(Duration::from_millis(200));
            }
        })
    };
    let deadline = Instant::now() + HEARTBEAT * 5;
    let mut seen = None;
    while Instant::now() < deadline {
        let s = handle.status();
        if s.lag_seconds == Some(0) {
            seen = Some(s);
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    let s = seen.unwrap_or_else(|| {
        panic!(
            "the lag never showed caught up while other tables were written: {:?}",
            handle.status()
        )
    });
    assert!(s.idle_since.is_some(), "{s:?}");
    handle.stop();
    handle.join().await.unwrap();
}

/// A project that starts on the shared change-log stream of an idle source joins it
/// where the stream stands, and no event ever passes its join point: the stream's
/// heartbeat catch-ups are still its own, so its lag becomes 0 without any change at
/// the source (before, it stayed unknown until the first change).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_joining_the_shared_stream_of_an_idle_source_is_caught_up() {
    let services = Services::load();
    let mariadb = tokio::task::block_in_place(MariaDbInstance::spawn);
    let server = mariadb.server();
    let db = unique_name("idle_shared");
    let topic = unique_name("idle_shared_topic");
    server.execute(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY); INSERT INTO {db}.t VALUES (1)"
    ));
    let tables = format!("\"{db}.t\"");
    let project = Project {
        name: "idleshared",
        sync: "types = [\"schema\", \"full\", \"incremental\"]\nformat = \"Default\"",
        tables: &tables,
        topic: &topic,
        ..Default::default()
    };
    let mut settings = support::settings_on(&server, &services.kafka_bootstrap, &project);
    settings.shared_stream = true;
    let state_dir = std::env::temp_dir().join(unique_name("idle_shared_state"));
    let handle = support::start_streaming(settings, state_dir).await;
    // Three heartbeat periods, nothing written.
    support::wait_for(
        &handle,
        HEARTBEAT * 3,
        "caught up on the idle source",
        |s| s.lag_seconds == Some(0) && s.idle_since.is_some(),
    )
    .await;
    handle.stop();
    handle.join().await.unwrap();
}
