//! The cluster's topics on the control Kafka: created at the first server's start,
//! checked at every other.

use std::time::Duration;

use obsync_kafka::{ClientRole, KafkaTarget};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::ClientConfig;

use super::{ClusterError, ClusterName, ClusterOptions, CONTROL_TIMEOUT, DEFAULT_BUCKETS};

pub fn buckets(name: &ClusterName) -> String {
    format!("obsync.{}.buckets", name.as_str())
}

pub fn config(name: &ClusterName) -> String {
    format!("obsync.{}.config", name.as_str())
}

pub fn checkpoints(name: &ClusterName) -> String {
    format!("obsync.{}.checkpoints", name.as_str())
}

pub fn status(name: &ClusterName) -> String {
    format!("obsync.{}.status", name.as_str())
}

/// A client config for the control Kafka: its brokers and security (SASL, TLS) as the
/// data path sets them (`KafkaTarget`'s admin properties), for every control client.
pub fn client(control: &KafkaTarget) -> ClientConfig {
    let mut config = control.client_config(ClientRole::Admin);
    config
        .set("socket.timeout.ms", "10000")
        .set("log_level", "4");
    config
}

/// Creates the topics that are missing and returns the bucket count: the existing
/// bucket topic's partitions (refusing a `--buckets` that differs), else the one given
/// or [`DEFAULT_BUCKETS`].
pub async fn prepare(options: &ClusterOptions) -> Result<i32, ClusterError> {
    let bootstrap = &options.control_kafka.bootstrap_servers;
    let admin: AdminClient<DefaultClientContext> = client(&options.control_kafka)
        .create()
        .map_err(|source| ClusterError::Client {
            what: "the control Kafka's admin".into(),
            source,
        })?;
    let name = &options.name;
    let bucket_topic = buckets(name);
    let (brokers, existing) = {
        let topic = bucket_topic.clone();
        let metadata = admin
            .inner()
            .fetch_metadata(None, CONTROL_TIMEOUT)
            .map_err(|source| ClusterError::Unreachable {
                bootstrap: bootstrap.clone(),
                waited: CONTROL_TIMEOUT,
                source,
            })?;
        let existing = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic && t.error().is_none())
            .map(|t| t.partitions().len() as i32);
        (metadata.brokers().len().max(1), existing)
    };
    let count = match (existing, options.buckets) {
        (Some(existing), Some(given)) if existing != given => {
            return Err(ClusterError::BucketsDiffer {
                cluster: name.as_str().to_string(),
                topic: bucket_topic,
                existing,
                given,
            })
        }
        (Some(existing), _) => existing,
        (None, given) => given.unwrap_or(DEFAULT_BUCKETS),
    };
    // Three copies where the control Kafka has three brokers: losing the config log
    // loses every definition.
    let replication = || TopicReplication::Fixed(brokers.min(3) as i32);
    let config_topic = config(name);
    let checkpoint_topic = checkpoints(name);
    let status_topic = status(name);
    let wanted = [
        NewTopic::new(&bucket_topic, count, replication()),
        // One partition: every server applies the changes in one order.
        NewTopic::new(&config_topic, 1, replication()).set("cleanup.policy", "compact"),
        NewTopic::new(&checkpoint_topic, count, replication()).set("cleanup.policy", "compact"),
        NewTopic::new(&status_topic, count, replication()).set("cleanup.policy", "compact"),
    ];
    let results = admin
        .create_topics(
            &wanted,
            &AdminOptions::new().operation_timeout(Some(CONTROL_TIMEOUT)),
        )
        .await
        .map_err(|source| ClusterError::Topic {
            topic: bucket_topic.clone(),
            source,
        })?;
    for result in results {
        match result {
            Ok(_) => {}
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(ClusterError::Topic {
                    topic,
                    source: KafkaError::AdminOp(code),
                })
            }
        }
    }
    wait_visible(
        &admin,
        &[
            &bucket_topic,
            &config_topic,
            &checkpoint_topic,
            &status_topic,
        ],
    )?;
    Ok(count)
}

/// Waits until the broker's metadata shows every topic with its partitions' leaders (a
/// new topic takes a moment).
fn wait_visible(
    admin: &AdminClient<DefaultClientContext>,
    topics: &[&str],
) -> Result<(), ClusterError> {
    let deadline = std::time::Instant::now() + CONTROL_TIMEOUT;
    for topic in topics {
        loop {
            let seen = admin
                .inner()
                .fetch_metadata(Some(topic), CONTROL_TIMEOUT)
                .map(|m| {
                    // With a leader for every partition: before that, reads of a new
                    // topic fail with "not leader for partition".
                    m.topics().iter().any(|t| {
                        t.error().is_none()
                            && !t.partitions().is_empty()
                            && t.partitions().iter().all(|p| p.leader() >= 0)
                    })
                });
            match seen {
                Ok(true) => break,
                Ok(false) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(200))
                }
                Ok(false) => {
                    return Err(ClusterError::Topic {
                        topic: topic.to_string(),
                        source: KafkaError::MetadataFetch(
                            RDKafkaErrorCode::UnknownTopicOrPartition,
                        ),
                    })
                }
                Err(source) => {
                    return Err(ClusterError::Topic {
                        topic: topic.to_string(),
                        source,
                    })
                }
            }
        }
    }
    Ok(())
}
