//! Kafka precheck items: connectivity, version limits, and the mapped topics.

use std::time::Duration;

use obsync_model::{CheckItem, ErrorChain};

use crate::admin::{AdminError, KafkaAdmin, NewTopicSpec, TopicInfo};
use crate::config::{KafkaTarget, KafkaVersion};

/// How long the precheck waits for the cluster: long enough for a TLS + SASL handshake to a
/// distant cluster, short enough that a wrong address fails the precheck promptly.
pub const PRECHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Checks the target before a project starts. `topics` are the mapped topics, each as schema
/// sync would create it; `schema_sync` says whether the project creates missing topics.
///
/// Items: `kafka.connectivity`, `kafka.version`, and one `kafka.topic.<name>` per topic.
/// Never fails as a whole: every problem is an item with a fix.
pub async fn kafka_precheck(
    target: &KafkaTarget,
    topics: &[NewTopicSpec],
    schema_sync: bool,
    timeout: Duration,
) -> Vec<CheckItem> {
    let mut items = Vec::with_capacity(topics.len() + 2);
    let listing = connect(target, timeout).await;
    items.push(match &listing {
        Ok((brokers, _)) => CheckItem::pass(
            "kafka.connectivity",
            format!(
                "connected to {}: {} broker(s), ids {:?}",
                target.bootstrap_servers,
                brokers.len(),
                brokers
            ),
        ),
        Err(e) => CheckItem::fail(
            "kafka.connectivity",
            ErrorChain(e).to_string(),
            connectivity_fix(target),
        ),
    });
    items.push(version_item(target.version, schema_sync));
    for spec in topics {
        items.push(topic_item(spec, &listing, schema_sync, target.version));
    }
    items
}

type Listing = Result<(Vec<i32>, Vec<TopicInfo>), AdminError>;

async fn connect(target: &KafkaTarget, timeout: Duration) -> Listing {
    let admin = KafkaAdmin::with_timeout(target, timeout)?;
    let cluster = admin.cluster().await?;
    let topics = admin.list_topics().await?;
    Ok((cluster.brokers.iter().map(|b| b.id).collect(), topics))
}

fn connectivity_fix(target: &KafkaTarget) -> String {
    format!(
        "check that {} is the right host:port list, that the brokers run and advertise \
         listeners this host can reach, and that the security settings (SASL: {}, TLS: {}) \
         match the broker's listener",
        target.bootstrap_servers,
        if target.sasl.is_some() { "on" } else { "off" },
        if target.tls.is_some() { "on" } else { "off" },
    )
}

fn version_item(version: KafkaVersion, schema_sync: bool) -> CheckItem {
    const NAME: &str = "kafka.version";
    match (version, schema_sync) {
        (KafkaVersion::V0_9, true) => CheckItem::fail(
            NAME,
            "Kafka 0.9 cannot create topics through the protocol, so schema sync is unavailable",
            "turn schema sync off and create the topics with kafka-topics.sh, or use Kafka 1.0 \
             or later",
        ),
        (KafkaVersion::V0_9, false) => CheckItem::warn(
            NAME,
            "Kafka 0.9: no idempotent producer, so obsync sends one request at a time per \
             broker to keep order (lower throughput); schema sync is unavailable",
            "use Kafka 1.0 or later for higher throughput",
        ),
        (v, _) => CheckItem::pass(
            NAME,
            format!(
                "configured for Kafka {} (version in [target]): idempotent producer, topic \
                 creation available",
                v.as_str()
            ),
        ),
    }
}

fn topic_item(
    spec: &NewTopicSpec,
    listing: &Listing,
    schema_sync: bool,
    version: KafkaVersion,
) -> CheckItem {
    let name = format!("kafka.topic.{}", spec.name);
    let (brokers, topics) = match listing {
        Ok(l) => l,
        Err(_) => {
            return CheckItem::fail(
                name,
                format!("topic \"{}\" not checked: Kafka is unreachable", spec.name),
                "fix kafka.connectivity first",
            )
        }
    };
    if let Some(t) = topics.iter().find(|t| t.name == spec.name) {
        return CheckItem::pass(
            name,
            format!(
                "topic \"{}\" exists with {} partition(s)",
                t.name, t.partitions
            ),
        );
    }
    if !schema_sync || !version.supports_topic_creation() {
        return CheckItem::fail(
            name,
            format!(
                "topic \"{}\" does not exist and schema sync is off",
                spec.name
            ),
            format!(
                "create it (kafka-topics.sh --create --topic {} --partitions {}), map the \
                 table to an existing topic, or turn schema sync on",
                spec.name, spec.partitions
            ),
        );
    }
    if spec.replication as usize > brokers.len() {
        return CheckItem::fail(
            name,
            format!(
                "topic \"{}\" would need replication factor {} but the cluster has {} broker(s)",
                spec.name,
                spec.replication,
                brokers.len()
            ),
            "lower the replication factor or create the topic by hand",
        );
    }
    CheckItem::pass(
        name,
        format!(
            "topic \"{}\" does not exist yet: schema sync will create it with {} partition(s), \
             replication factor {}",
            spec.name, spec.partitions, spec.replication
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_model::CheckStatus;

    fn listing(topics: &[(&str, i32)]) -> Listing {
        Ok((
            vec![1],
            topics
                .iter()
                .map(|(n, p)| TopicInfo {
                    name: n.to_string(),
                    partitions: *p,
                })
                .collect(),
        ))
    }

    #[test]
    fn existing_topic_passes_with_its_partition_count() {
        let spec = NewTopicSpec::schema_sync_default("orders");
        let item = topic_item(
            &spec,
            &listing(&[("orders", 6)]),
            false,
            KafkaVersion::V3Plus,
        );
        assert_eq!(item.status, CheckStatus::Pass);
        assert_eq!(item.detail, "topic \"orders\" exists with 6 partition(s)");
    }

    #[test]
    fn missing_topic_passes_when_schema_sync_creates_it() {
        let spec = NewTopicSpec::schema_sync_default("orders");
        let item = topic_item(&spec, &listing(&[]), true, KafkaVersion::V2);
        assert_eq!(item.status, CheckStatus::Pass);
        assert!(item
            .detail
            .contains("create it with 3 partition(s), replication factor 1"));
    }

    #[test]
    fn missing_topic_fails_without_schema_sync_and_says_how_to_fix() {
        let spec = NewTopicSpec::schema_sync_default("orders");
        let item = topic_item(&spec, &listing(&[]), false, KafkaVersion::V2);
        assert_eq!(item.status, CheckStatus::Fail);
        assert!(item.fix.unwrap().contains("turn schema sync on"));
    }

    #[test]
    fn replication_above_broker_count_fails() {
        let mut spec = NewTopicSpec::schema_sync_default("orders");
        spec.replication = 3;
        let item = topic_item(&spec, &listing(&[]), true, KafkaVersion::V3Plus);
        assert_eq!(item.status, CheckStatus::Fail);
    }

    #[test]
    fn kafka_0_9_fails_schema_sync_and_warns_otherwise() {
        assert_eq!(
            version_item(KafkaVersion::V0_9, true).status,
            CheckStatus::Fail
        );
        assert_eq!(
            version_item(KafkaVersion::V0_9, false).status,
            CheckStatus::Warn
        );
        assert_eq!(
            version_item(KafkaVersion::V1_0, true).status,
            CheckStatus::Pass
        );
    }
}
