//! The Kafka crate against real brokers of every supported release (0.9.0.1, 1.0.2, 2.8.2,
//! 3.9.1, 4.1.1; crates/testkit starts them): the version probe reads each broker's real
//! version, the precheck fails with the fix when the declared version is wrong in either
//! direction, and the per-version producer settings deliver messages that kcat reads back.
//!
//! One test per release: each starts its broker once and runs every scenario against it.

mod common;

use std::time::Duration;

use obsync_kafka::{
    kafka_precheck, probe_broker_version, Generation, KafkaAdmin, KafkaTarget, KafkaVersion,
    NewTopicSpec, PartitionRule,
};
use obsync_model::{CheckItem, CheckStatus};
use obsync_testkit::{unique_name, KafkaBroker, KafkaRelease};

const TIMEOUT: Duration = Duration::from_secs(10);

fn family(release: KafkaRelease) -> KafkaVersion {
    match release {
        KafkaRelease::V0_9 => KafkaVersion::V0_9,
        KafkaRelease::V1_0 => KafkaVersion::V1_0,
        KafkaRelease::V2_8 => KafkaVersion::V2,
        KafkaRelease::V3_9 | KafkaRelease::V4_1 => KafkaVersion::V3Plus,
    }
}

fn generation(release: KafkaRelease) -> Generation {
    match release {
        KafkaRelease::V0_9 => Generation::V0_9,
        KafkaRelease::V1_0 => Generation::V1,
        KafkaRelease::V2_8 => Generation::V2_1Plus,
        KafkaRelease::V3_9 => Generation::V3,
        KafkaRelease::V4_1 => Generation::V4Plus,
    }
}

fn item<'a>(items: &'a [CheckItem], name: &str) -> &'a CheckItem {
    items
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no item {name} in {items:#?}"))
}

/// Every scenario against one broker of `release`.
async fn release_scenarios(release: KafkaRelease) {
    let started = std::time::Instant::now();
    let broker = tokio::task::spawn_blocking(move || KafkaBroker::spawn(release))
        .await
        .unwrap();
    eprintln!("{release:?}: broker up after {:?}", started.elapsed());
    let mut target = KafkaTarget::new(broker.bootstrap());
    target.version = family(release);

    // The probe reads the real version.
    let probed = probe_broker_version(&target, TIMEOUT).await.unwrap();
    assert_eq!(probed.generation(), generation(release), "{probed:?}");
    eprintln!("{release:?}: probed at {:?}", started.elapsed());

    // Declared right: connectivity and the version pass.
    let topic = unique_name("versions");
    let topics = [NewTopicSpec::schema_sync_default(&topic)];
    let schema_sync = release != KafkaRelease::V0_9;
    let items = kafka_precheck(&target, &topics, schema_sync, TIMEOUT).await;
    assert_eq!(item(&items, "kafka.connectivity").status, CheckStatus::Pass);
    let version = item(&items, "kafka.broker_version");
    assert_eq!(version.status, CheckStatus::Pass, "{version:?}");
    assert!(
        version.detail.contains(generation(release).label()),
        "{version:?}"
    );
    if release == KafkaRelease::V0_9 {
        // 0.9: no schema sync, said by the precheck.
        let with_schema = kafka_precheck(&target, &topics, true, TIMEOUT).await;
        let v = item(&with_schema, "kafka.version");
        assert_eq!(v.status, CheckStatus::Fail);
        assert!(v.detail.contains("schema sync is unavailable"), "{v:?}");
        let t = item(&items, &format!("kafka.topic.{topic}"));
        assert_eq!(t.status, CheckStatus::Fail, "missing topic on 0.9: {t:?}");
    } else {
        let t = item(&items, &format!("kafka.topic.{topic}"));
        assert_eq!(t.status, CheckStatus::Pass, "{t:?}");
    }

    eprintln!(
        "{release:?}: right-version prechecks done at {:?}",
        started.elapsed()
    );
    // Declared wrong, below and above: the version item fails and names the right value.
    let wrong: Vec<KafkaVersion> = [
        KafkaVersion::V0_9,
        KafkaVersion::V1_0,
        KafkaVersion::V2,
        KafkaVersion::V3Plus,
    ]
    .into_iter()
    .filter(|v| *v != family(release))
    .collect();
    let want_value = generation(release).config_value().unwrap();
    // Concurrently: against a 0.9 broker each waits out the connection timeout.
    let checks = wrong.into_iter().map(|declared| {
        let mut wrong_target = target.clone();
        wrong_target.version = declared;
        let topics = topics.clone();
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let items = kafka_precheck(&wrong_target, &topics, false, TIMEOUT).await;
            (declared, items, started.elapsed())
        })
    });
    let checks: Vec<_> = checks.collect();
    for check in checks {
        let (declared, items, elapsed) = check.await.unwrap();
        let v = item(&items, "kafka.broker_version");
        assert_eq!(
            v.status,
            CheckStatus::Fail,
            "declared {declared:?} on {release:?}: {v:?}"
        );
        assert!(
            v.detail.contains(&format!(
                "target.version is \"{}\" but the broker at",
                declared.as_str()
            )),
            "{v:?}"
        );
        assert_eq!(
            v.fix.as_deref(),
            Some(
                format!("set version = \"{want_value}\" in the [target] table of the project file")
                    .as_str()
            )
        );
        assert!(
            elapsed < TIMEOUT + Duration::from_secs(5),
            "the precheck took {elapsed:?}"
        );
    }
    eprintln!(
        "{release:?}: wrong-version prechecks done at {:?}",
        started.elapsed()
    );
    // The release's producer settings deliver, in order, what kcat reads back.
    if release == KafkaRelease::V0_9 {
        broker.create_topic(&topic, 3);
    } else {
        let admin = KafkaAdmin::with_timeout(&target, TIMEOUT).unwrap();
        admin.create_topics(&topics).await.unwrap();
    }
    let partition = |i: usize| PartitionRule::Hash.partition(format!("k{}", i % 17).as_bytes(), 3);
    let what = format!("{release:?}");
    common::send_numbered(
        &what,
        &target,
        &topic,
        300,
        |i| format!("k{}", i % 17),
        partition,
    )
    .await;
    let args = broker.kcat_args();
    let consumed = tokio::task::spawn_blocking(move || common::consume_with(&args, &topic))
        .await
        .unwrap();
    assert_eq!(consumed.len(), 300, "{release:?}");
    common::assert_complete_and_ordered(&consumed, 300, partition);
    eprintln!("{release:?}: all scenarios in {:?}", started.elapsed());
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_0_9_0_1() {
    release_scenarios(KafkaRelease::V0_9).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_1_0_2() {
    release_scenarios(KafkaRelease::V1_0).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_2_8_2() {
    release_scenarios(KafkaRelease::V2_8).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_3_9_1() {
    release_scenarios(KafkaRelease::V3_9).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn kafka_4_1_1() {
    release_scenarios(KafkaRelease::V4_1).await;
}
