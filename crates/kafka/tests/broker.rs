//! The Kafka crate against the shared local broker (scripts/services up). These tests fail,
//! not skip, when the broker is down.

mod common;

use std::time::Duration;

use common::{assert_complete_and_ordered, consume_all, create_topic};
use obsync_kafka::{
    kafka_precheck, AdminError, KafkaAdmin, KafkaProducer, KafkaTarget, NewTopicSpec,
    PartitionRule, ProduceError, TopicCreation,
};
use obsync_model::CheckStatus;
use obsync_testkit::{unique_name, Services};

fn target() -> KafkaTarget {
    KafkaTarget::new(Services::load().kafka_bootstrap)
}

#[tokio::test(flavor = "multi_thread")]
async fn topics_are_created_once_then_reported_as_existing() {
    let admin = KafkaAdmin::new(&target()).unwrap();
    let specs: Vec<NewTopicSpec> = ["a", "b"]
        .iter()
        .map(|s| NewTopicSpec::schema_sync_default(unique_name(&format!("admin_{s}"))))
        .collect();

    let first = admin.create_topics(&specs).await.unwrap();
    assert_eq!(first, vec![TopicCreation::Created, TopicCreation::Created]);
    let again = admin.create_topics(&specs).await.unwrap();
    assert_eq!(again, vec![TopicCreation::AlreadyExists; 2]);

    let listed = admin.list_topics().await.unwrap();
    for spec in &specs {
        let t = listed.iter().find(|t| t.name == spec.name).expect("listed");
        assert_eq!(t.partitions, 3);
        assert_eq!(admin.partition_count(&spec.name).await.unwrap(), 3);
    }
    assert!(listed.iter().all(|t| !t.name.starts_with("__")));
    assert!(matches!(
        admin.partition_count("no_such_topic_ever").await,
        Err(AdminError::TopicNotFound(_))
    ));
    let cluster = admin.cluster().await.unwrap();
    assert_eq!(cluster.brokers.len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn ten_thousand_keyed_messages_arrive_complete_and_in_order_per_partition() {
    const COUNT: usize = 10_000;
    let target = target();
    let topic = unique_name("produce");
    create_topic(&target, &topic, 3).await;
    let producer = KafkaProducer::new(&target).unwrap();
    let key = |i: usize| format!("key-{}", i % 701);
    let partition = |i: usize| PartitionRule::Hash.partition(key(i).as_bytes(), 3);

    let mut tickets = Vec::with_capacity(COUNT);
    for i in 0..COUNT {
        let value = i.to_string();
        let ticket = producer
            .send(
                &topic,
                partition(i),
                key(i).as_bytes(),
                value.as_bytes(),
                None,
            )
            .await
            .unwrap();
        tickets.push(ticket);
    }
    let mut acked = Vec::with_capacity(COUNT);
    for ticket in tickets {
        acked.push(ticket.acknowledged().await.unwrap());
    }

    let consumed = consume_all(&target.bootstrap_servers, &topic);
    assert_eq!(consumed.len(), COUNT);
    assert_complete_and_ordered(&consumed, COUNT, partition);
    for m in &consumed {
        let i: usize = m.value.parse().unwrap();
        assert_eq!(m.key, key(i));
        assert_eq!(
            (acked[i].partition, acked[i].offset),
            (m.partition, m.offset)
        );
    }
    let metrics = producer.metrics();
    let sent = metrics
        .messages_sent
        .load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(sent, COUNT as u64);
    assert_eq!(metrics.errors.load(std::sync::atomic::Ordering::Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_full_queue_makes_send_wait_and_every_counter_moves() {
    use std::sync::atomic::Ordering::Relaxed;
    const COUNT: u64 = 50;
    let mut target = target();
    // 1 KiB of queue holds one 900-byte message: every further send must wait.
    target.producer.queue_max_bytes = 1024;
    let topic = unique_name("queuefull");
    create_topic(&target, &topic, 1).await;
    let producer = KafkaProducer::new(&target).unwrap();
    let value = vec![b'v'; 900];
    let mut tickets = Vec::new();
    for _ in 0..COUNT {
        tickets.push(producer.send(&topic, 0, b"k", &value, None).await.unwrap());
    }
    for ticket in tickets {
        ticket.acknowledged().await.unwrap();
    }
    let m = producer.metrics();
    assert!(m.queue_full_waits.load(Relaxed) > 0, "send never waited");
    assert_eq!(m.messages_enqueued.load(Relaxed), COUNT);
    assert_eq!(m.messages_sent.load(Relaxed), COUNT);
    assert_eq!(m.bytes_sent.load(Relaxed), COUNT * 901);
    assert_eq!(m.errors.load(Relaxed), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_message_fails_before_sending_and_names_the_fix() {
    let mut target = target();
    target.producer.max_message_bytes = 10_000;
    let topic = unique_name("oversize");
    create_topic(&target, &topic, 3).await;
    let producer = KafkaProducer::new(&target).unwrap();

    let value = vec![b'x'; 10_000];
    let err = producer
        .send(&topic, 1, b"k1", &value, Some("shop.orders id=1"))
        .await
        .unwrap_err();
    assert!(matches!(
        err,
        ProduceError::Oversized {
            size: 10_038,
            max: 10_000,
            ..
        }
    ));
    assert!(err.is_fatal());
    assert_eq!(
        err.to_string(),
        format!(
            "message for topic \"{topic}\" partition 1 (shop.orders id=1) is 10038 bytes (key + \
             value + 36 bytes framing), over the 10000-byte limit: raise the topic's \
             max.message.bytes (or the broker's message.max.bytes) and \"message.max.bytes\" \
             in the project's [target.producer] to at least 10038, or leave the large column \
             out of the sync"
        )
    );
    // A message just under the limit goes through; nothing of the oversized one does.
    let fits = vec![b'y'; 10_000 - 36 - 2];
    producer
        .send(&topic, 1, b"k2", &fits, None)
        .await
        .unwrap()
        .acknowledged()
        .await
        .unwrap();
    let consumed = consume_all(&target.bootstrap_servers, &topic);
    assert_eq!(consumed.len(), 1);
    assert_eq!(consumed[0].key, "k2");
}

#[tokio::test(flavor = "multi_thread")]
async fn message_for_a_missing_topic_fails_naming_topic_partition_and_label() {
    let mut target = target();
    // librdkafka waits this long for a topic to appear before failing its messages.
    target
        .extra
        .insert("topic.metadata.propagation.max.ms".into(), "1000".into());
    let producer = KafkaProducer::new(&target).unwrap();
    let topic = unique_name("missing");
    let err = producer
        .send(&topic, 2, b"k", b"v", Some("shop.orders id=7"))
        .await
        .unwrap()
        .acknowledged()
        .await
        .unwrap_err();
    assert!(err.is_fatal(), "{err}");
    let text = err.to_string();
    assert!(
        text.starts_with(&format!(
            "Kafka refused the message for topic \"{topic}\" partition 2 (shop.orders id=7)"
        )),
        "{text}"
    );
    assert!(text.contains("create the topic"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn precheck_reports_existing_creatable_and_missing_topics() {
    let target = target();
    let existing = unique_name("pre_exists");
    create_topic(&target, &existing, 5).await;
    let missing = unique_name("pre_missing");
    let topics = [
        NewTopicSpec::schema_sync_default(&existing),
        NewTopicSpec::schema_sync_default(&missing),
    ];

    let items = kafka_precheck(&target, &topics, true, Duration::from_secs(10)).await;
    let statuses: Vec<_> = items.iter().map(|i| (i.name.as_str(), i.status)).collect();
    assert_eq!(statuses[0], ("kafka.connectivity", CheckStatus::Pass));
    assert_eq!(statuses[1], ("kafka.version", CheckStatus::Pass));
    assert_eq!(statuses[2], ("kafka.broker_version", CheckStatus::Pass));
    assert_eq!(
        items[3].detail,
        format!("topic \"{existing}\" exists with 5 partition(s)")
    );
    assert_eq!(items[4].status, CheckStatus::Pass);
    assert!(items[4]
        .detail
        .contains("will create it with 3 partition(s)"));

    let items = kafka_precheck(&target, &topics, false, Duration::from_secs(10)).await;
    assert_eq!(items[3].status, CheckStatus::Pass);
    assert_eq!(items[4].status, CheckStatus::Fail);
    assert!(items[4]
        .fix
        .as_deref()
        .unwrap()
        .contains("turn schema sync on"));
}

#[tokio::test(flavor = "multi_thread")]
async fn unreachable_bootstrap_fails_connectivity_naming_the_servers() {
    // Port 1 on loopback: nothing listens there, connections are refused at once.
    let target = KafkaTarget::new("127.0.0.1:1");
    let topics = [NewTopicSpec::schema_sync_default("orders")];
    let items = kafka_precheck(&target, &topics, true, Duration::from_secs(3)).await;
    assert_eq!(items[0].name, "kafka.connectivity");
    assert_eq!(items[0].status, CheckStatus::Fail);
    assert!(
        items[0]
            .detail
            .starts_with("cannot reach Kafka at 127.0.0.1:1 within 3s"),
        "{}",
        items[0].detail
    );
    assert!(items[0].fix.as_deref().unwrap().contains("127.0.0.1:1"));
    for i in &items[2..] {
        assert_eq!(i.status, CheckStatus::Fail, "{i:?}");
        assert_eq!(i.fix.as_deref(), Some("fix kafka.connectivity first"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn flush_waits_for_every_acknowledgement_and_times_out_when_kafka_is_away() {
    let target = target();
    let topic = unique_name("flush");
    create_topic(&target, &topic, 3).await;
    let producer = KafkaProducer::new(&target).unwrap();
    let mut tickets = Vec::new();
    for i in 0..1_000 {
        let value = format!("{i}");
        tickets.push(
            producer
                .send(&topic, i % 3, b"k", value.as_bytes(), None)
                .await
                .unwrap(),
        );
    }
    producer.flush(Duration::from_secs(30)).await.unwrap();
    assert_eq!(producer.in_flight(), 0);
    for ticket in tickets {
        ticket.acknowledged().await.unwrap();
    }

    let away = KafkaProducer::new(&KafkaTarget::new("127.0.0.1:1")).unwrap();
    let _pending = away.send("t", 0, b"k", b"v", None).await.unwrap();
    let err = away.flush(Duration::from_secs(1)).await.unwrap_err();
    assert!(!err.is_fatal());
    assert_eq!(
        err.to_string(),
        "1 messages were still unacknowledged after waiting 1s for Kafka"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_0_9_settings_deliver_in_order_and_refuse_topic_creation() {
    const COUNT: usize = 2_000;
    let modern = target();
    let topic = unique_name("v0_9");
    create_topic(&modern, &topic, 3).await;
    // The 3.9 broker still speaks the 0.9 protocol versions librdkafka falls back to.
    let mut old = modern.clone();
    old.version = obsync_kafka::KafkaVersion::V0_9;

    let err = KafkaAdmin::new(&old)
        .unwrap()
        .create_topics(&[NewTopicSpec::schema_sync_default(&topic)])
        .await
        .unwrap_err();
    assert!(matches!(err, AdminError::UnsupportedOnVersion { .. }));
    assert_eq!(
        err.to_string(),
        "creating topics is not supported on Kafka 0.9: create the topics with Kafka's own \
         tools (kafka-topics.sh) and turn schema sync off"
    );

    let producer = KafkaProducer::new(&old).unwrap();
    let partition = |i: usize| (i % 3) as i32;
    let mut tickets = Vec::new();
    for i in 0..COUNT {
        let value = i.to_string();
        tickets.push(
            producer
                .send(&topic, partition(i), b"k", value.as_bytes(), None)
                .await
                .unwrap(),
        );
    }
    for ticket in tickets {
        ticket.acknowledged().await.unwrap();
    }
    let consumed = consume_all(&old.bootstrap_servers, &topic);
    assert_eq!(consumed.len(), COUNT);
    assert_complete_and_ordered(&consumed, COUNT, partition);
}
