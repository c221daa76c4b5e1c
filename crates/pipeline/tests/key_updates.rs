//! Hash partitioning keeps each key's changes in one partition even when an UPDATE
//! changes the key: the move is sent as DELETE (old key's partition) + INSERT (new
//! key's partition). Against the real MariaDB and Kafka, driven through the library.

mod support;

use obsync_pipeline::Settings;
use obsync_testkit::{unique_name, Services};

fn settings(services: &Services, db: &str, topic: &str, split: bool) -> Settings {
    let sync = format!(
        r#"types = ["schema", "incremental"]
format = "Default"
partition_rule = "hash"
split_key_updates = {split}"#
    );
    let name = format!("keyupd{split}");
    support::settings(services, &name, &sync, &format!("\"{db}.t\""), topic)
}

/// (partition, recordType, prevStruct.id, postStruct.id) of every message, by offset.
fn records(bootstrap: &str, topic: &str) -> Vec<(i32, String, Option<String>, Option<String>)> {
    let mut v: Vec<_> = obsync_testkit::kcat::consume(bootstrap, topic)
        .iter()
        .map(|r| {
            let m: serde_json::Value = serde_json::from_slice(&r.value).unwrap();
            let id = |img: &str| m[img]["id"].as_str().map(str::to_string);
            (
                r.partition,
                m["recordType"].as_str().unwrap().to_string(),
                id("prevStruct"),
                id("postStruct"),
            )
        })
        .collect();
    v.sort_by_key(|r| r.0); // stable: keeps offset order inside each partition
    v
}

/// An id whose key hashes to another of the 3 partitions than id 1.
fn id_in_other_partition() -> u64 {
    let p = |id: u64| obsync_kafka::PartitionRule::Hash.partition(id.to_string().as_bytes(), 3);
    (2..).find(|&id| p(id) != p(1)).unwrap()
}

async fn run_case(split: bool) -> Vec<(i32, String, Option<String>, Option<String>)> {
    let services = Services::load();
    let db = unique_name("keyupd");
    let topic = unique_name("keyupd_topic");
    services.mariadb.execute(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id BIGINT PRIMARY KEY, v INT)"
    ));
    let state_dir = std::env::temp_dir().join(unique_name("keyupd_state"));
    let handle = support::start_streaming(settings(&services, &db, &topic, split), state_dir).await;
    let k = id_in_other_partition();
    services.mariadb.execute(&format!(
        "INSERT INTO {db}.t VALUES (1, 10); UPDATE {db}.t SET id = {k} WHERE id = 1; \
         UPDATE {db}.t SET v = 11 WHERE id = {k}"
    ));
    let expected = if split { 4 } else { 3 };
    support::wait_for(&handle, support::TIMEOUT, "not delivered", |s| {
        s.messages_acked >= expected
    })
    .await;
    handle.stop();
    handle.join().await.unwrap();
    services.mariadb.execute(&format!("DROP DATABASE {db}"));
    records(&services.kafka_bootstrap, &topic)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_changing_update_is_split_so_each_key_stays_in_its_partition() {
    let k = id_in_other_partition().to_string();
    let p = |id: &str| obsync_kafka::PartitionRule::Hash.partition(id.as_bytes(), 3);
    let one = Some("1".to_string());
    let new = Some(k.clone());
    let mut want = vec![
        (p("1"), "INSERT".to_string(), None, one.clone()),
        (p("1"), "DELETE".to_string(), one.clone(), None),
        (p(&k), "INSERT".to_string(), None, new.clone()),
        (p(&k), "UPDATE".to_string(), new.clone(), new.clone()),
    ];
    want.sort_by_key(|r| r.0);
    assert_eq!(run_case(true).await, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_splitting_the_update_goes_to_the_old_keys_partition_as_in_oms() {
    let k = id_in_other_partition().to_string();
    let p = |id: &str| obsync_kafka::PartitionRule::Hash.partition(id.as_bytes(), 3);
    let one = Some("1".to_string());
    let new = Some(k.clone());
    let mut want = vec![
        (p("1"), "INSERT".to_string(), None, one.clone()),
        (p("1"), "UPDATE".to_string(), one.clone(), new.clone()),
        (p(&k), "UPDATE".to_string(), new.clone(), new.clone()),
    ];
    want.sort_by_key(|r| r.0);
    assert_eq!(run_case(false).await, want);
}
