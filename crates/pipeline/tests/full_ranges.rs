//! Full sync of one big table in parallel key ranges, driven through the library API
//! (no CLI), against the real MariaDB and Kafka: every row arrives exactly once, and a
//! stop in the middle resumes each range where it stopped.

mod support;

use obsync_pipeline::checkpoint::CheckpointStore;
use obsync_pipeline::{ProjectHandle, RunOutcome, Settings};
use obsync_testkit::{unique_name, Services};
use std::collections::BTreeMap;
use std::time::Duration;

const ROWS: u64 = 20_000;

fn project(services: &Services, db: &str, topic: &str) -> Settings {
    let sync = r#"types = ["schema", "full"]
format = "Default"
snapshot_chunk_rows = 200
snapshot_parallelism = 4"#;
    support::settings(services, "ranges", sync, &format!("\"{db}.big\""), topic)
}

/// Message count per key in the topic, read with kcat (an independent client).
fn keys_in_topic(bootstrap: &str, topic: &str) -> BTreeMap<u64, u32> {
    let mut counts = BTreeMap::new();
    for record in obsync_testkit::kcat::consume(bootstrap, topic) {
        *counts
            .entry(record.key_str().parse::<u64>().expect("numeric key"))
            .or_insert(0) += 1;
    }
    counts
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_table_is_read_in_parallel_ranges_and_resumes_each_range_after_a_stop() {
    let services = Services::load();
    let db = unique_name("ranges");
    let topic = unique_name("ranges_topic");
    services.mariadb.query(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.big (id BIGINT PRIMARY KEY, v VARCHAR(40)); \
         INSERT INTO {db}.big SELECT seq, CONCAT('row-', seq) FROM {db}.seq_1_to_{ROWS}"
    ));
    let state_dir = std::env::temp_dir().join(unique_name("ranges_state"));

    // First run: stop as soon as some rows are acknowledged.
    let handle = ProjectHandle::start(project(&services, &db, &topic), state_dir.clone());
    support::wait_for(&handle, Duration::from_secs(120), "no progress", |s| {
        s.messages_acked >= 1_000
    })
    .await;
    handle.stop();
    assert_eq!(handle.join().await.unwrap(), RunOutcome::Stopped);

    let state = CheckpointStore::open(&state_dir).unwrap().load().unwrap();
    let table = &state.tables[&format!("{db}.big")];
    assert!(
        !table.done,
        "stopped early, the table cannot be done: {table:?}"
    );
    assert_eq!(
        table.ranges.len(),
        4,
        "a 20k-row table with parallelism 4 is read in 4 ranges"
    );
    assert!(
        table.ranges.iter().filter(|r| r.last_key.is_some()).count() >= 2,
        "ranges progress side by side: {:?}",
        table.ranges
    );
    let first_run = keys_in_topic(&services.kafka_bootstrap, &topic);
    assert_eq!(
        first_run.values().sum::<u32>() as u64,
        table.rows,
        "checkpoint = acknowledged rows"
    );

    // Second run: finishes the remaining ranges from their resume keys.
    let handle = ProjectHandle::start(project(&services, &db, &topic), state_dir.clone());
    assert_eq!(handle.join().await.unwrap(), RunOutcome::Finished);
    let keys = keys_in_topic(&services.kafka_bootstrap, &topic);
    assert_eq!(keys.len() as u64, ROWS, "every row arrived");
    assert_eq!(*keys.keys().next().unwrap(), 1);
    assert_eq!(*keys.keys().last().unwrap(), ROWS);
    let dups: Vec<_> = keys.iter().filter(|(_, n)| **n > 1).collect();
    assert!(
        dups.is_empty(),
        "a graceful stop re-sends nothing: {dups:?}"
    );
    let state = CheckpointStore::open(&state_dir).unwrap().load().unwrap();
    assert!(state.full_done && state.tables[&format!("{db}.big")].done);
    services.mariadb.query(&format!("DROP DATABASE {db}"));
}
