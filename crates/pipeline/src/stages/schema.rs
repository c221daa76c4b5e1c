//! Schema sync: create every mapped topic that does not exist yet.

use crate::plan::ProjectPlan;
use crate::project::RunContext;
use crate::status::Stage;
use crate::RunError;
use obsync_kafka::{AdminError, KafkaAdmin, NewTopicSpec, TopicCreation};
use std::time::{Duration, Instant};

/// How long a topic just created may take to show in the broker's metadata with all its
/// partitions. The broker answers CreateTopics once the controller has the topic, but
/// (KRaft) brokers learn it asynchronously: reading the partition count at once may find
/// no topic, or no partitions yet.
const VISIBLE_TIMEOUT: Duration = Duration::from_secs(30);
const VISIBLE_POLL: Duration = Duration::from_millis(100);

pub async fn run(ctx: &RunContext, plan: &ProjectPlan, admin: &KafkaAdmin) -> Result<(), RunError> {
    ctx.status.set_stage(Stage::Schema);
    let s = &ctx.settings;
    let mut specs: Vec<NewTopicSpec> = plan
        .topics()
        .keys()
        .map(|name| NewTopicSpec {
            name: name.to_string(),
            partitions: s.topic_partitions,
            replication: s.topic_replication_factor,
        })
        .collect();
    // Debezium's transaction records go to one topic of their own, one partition (a
    // transaction's BEGIN and END stay in order).
    if s.format.kind.is_debezium() && s.format.debezium.transaction_metadata {
        specs.push(NewTopicSpec {
            name: obsync_format::transaction_topic(&s.format.debezium),
            partitions: 1,
            replication: s.topic_replication_factor,
        });
    }
    let results = admin.create_topics(&specs).await?;
    for (spec, result) in specs.iter().zip(results) {
        match result {
            TopicCreation::Created => {
                wait_visible(admin, spec).await?;
                tracing::info!(topic = %spec.name, partitions = spec.partitions, "topic created")
            }
            TopicCreation::AlreadyExists => tracing::info!(topic = %spec.name, "topic exists"),
        }
    }
    Ok(())
}

/// Waits until the metadata shows `spec`'s topic with all its partitions, so later stages
/// never see a topic schema sync has created as missing.
async fn wait_visible(admin: &KafkaAdmin, spec: &NewTopicSpec) -> Result<(), RunError> {
    let deadline = Instant::now() + VISIBLE_TIMEOUT;
    loop {
        let seen = match admin.partition_count(&spec.name).await {
            Ok(n) if n >= spec.partitions => return Ok(()),
            Ok(n) => n,
            Err(AdminError::TopicNotFound(_)) => 0,
            Err(source) => {
                return Err(RunError::Topic {
                    topic: spec.name.clone(),
                    source,
                })
            }
        };
        if Instant::now() >= deadline {
            return Err(RunError::TopicNotVisible {
                topic: spec.name.clone(),
                partitions: spec.partitions,
                seen,
                waited: VISIBLE_TIMEOUT,
            });
        }
        tokio::time::sleep(VISIBLE_POLL).await;
    }
}
