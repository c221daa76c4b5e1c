//! Helpers shared by the tests against real brokers. kcat is the independent client: what it
//! reads back is what any Kafka consumer would see.

#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::time::Duration;

use obsync_kafka::{
    DeliveryTicket, KafkaAdmin, KafkaProducer, KafkaTarget, NewTopicSpec, TopicCreation,
};

/// One message as kcat read it back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consumed {
    pub partition: i32,
    pub offset: i64,
    pub key: String,
    pub value: String,
}

/// Every message of `topic`, read with `kcat -C -e` from the beginning of all partitions.
pub fn consume_all(bootstrap: &str, topic: &str) -> Vec<Consumed> {
    consume_with(&["-b".to_string(), bootstrap.to_string()], topic)
}

/// Like [`consume_all`], with the connection given as kcat arguments (`-b …`, `-X …`).
pub fn consume_with(connection: &[String], topic: &str) -> Vec<Consumed> {
    obsync_testkit::kcat::try_consume(connection, topic)
        .unwrap_or_else(|e| panic!("{e}"))
        .into_iter()
        .map(|r| Consumed {
            partition: r.partition,
            offset: r.offset,
            key: r.key_str().to_owned(),
            value: r.value_str().to_owned(),
        })
        .collect()
}

/// Creates `topic` with `partitions` partitions through our admin client.
pub async fn create_topic(target: &KafkaTarget, topic: &str, partitions: i32) {
    let admin = KafkaAdmin::new(target).unwrap();
    let spec = NewTopicSpec {
        name: topic.to_owned(),
        partitions,
        replication: 1,
    };
    assert_eq!(
        admin.create_topics(&[spec]).await.unwrap(),
        vec![TopicCreation::Created]
    );
}

/// Asserts that `consumed` holds each of `0..count` exactly once (values are the decimal
/// sequence number), that each partition holds its values in increasing order, and that every
/// message sits in `expected_partition(seq)`.
pub fn assert_complete_and_ordered(
    consumed: &[Consumed],
    count: usize,
    expected_partition: impl Fn(usize) -> i32,
) {
    let mut seen = vec![0u32; count];
    let mut last: BTreeMap<i32, usize> = BTreeMap::new();
    for m in consumed {
        let seq: usize = m.value.parse().unwrap();
        seen[seq] += 1;
        assert_eq!(m.partition, expected_partition(seq), "message {seq}");
        if let Some(prev) = last.insert(m.partition, seq) {
            assert!(
                prev < seq,
                "partition {} has {seq} after {prev} (offset {})",
                m.partition,
                m.offset
            );
        }
    }
    let missing: Vec<usize> = (0..count).filter(|i| seen[*i] == 0).collect();
    let doubled: Vec<usize> = (0..count).filter(|i| seen[*i] > 1).collect();
    assert!(
        missing.is_empty(),
        "{} missing, first {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    assert!(
        doubled.is_empty(),
        "{} duplicated, first {:?}",
        doubled.len(),
        &doubled[..doubled.len().min(10)]
    );
}

/// Awaits tickets in send order, as the pipeline does, and returns (partition, offset) of each.
pub async fn await_in_order(
    mut tickets: tokio::sync::mpsc::Receiver<DeliveryTicket>,
) -> Vec<(i32, i64)> {
    let mut out = Vec::new();
    while let Some(ticket) = tickets.recv().await {
        let d = tokio::time::timeout(Duration::from_secs(600), ticket.acknowledged())
            .await
            .expect("no acknowledgement within 10 minutes")
            .unwrap_or_else(|e| panic!("message {} failed: {e}", out.len()));
        out.push((d.partition, d.offset));
    }
    out
}

/// Sends values `0..count` to `topic` (key `key(i)`, partition `partition(i)`) and waits until
/// Kafka acknowledged every one; panics naming `what` on a failure.
pub async fn send_numbered(
    what: &str,
    target: &KafkaTarget,
    topic: &str,
    count: usize,
    key: impl Fn(usize) -> String,
    partition: impl Fn(usize) -> i32,
) {
    let producer = KafkaProducer::new(target).unwrap_or_else(|e| panic!("{what}: {e}"));
    let mut tickets = Vec::with_capacity(count);
    for i in 0..count {
        let value = i.to_string();
        let ticket = producer
            .send(
                topic,
                partition(i),
                key(i).as_bytes(),
                value.as_bytes(),
                None,
            )
            .await
            .unwrap_or_else(|e| panic!("{what}: message {i}: {e}"));
        tickets.push(ticket);
    }
    for t in tickets {
        t.acknowledged()
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
    }
}
