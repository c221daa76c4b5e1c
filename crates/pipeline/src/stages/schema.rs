//! Schema sync: create every mapped topic that does not exist yet.

use crate::plan::ProjectPlan;
use crate::project::RunContext;
use crate::status::Stage;
use crate::RunError;
use obsync_kafka::{KafkaAdmin, NewTopicSpec, TopicCreation};

pub async fn run(ctx: &RunContext, plan: &ProjectPlan, admin: &KafkaAdmin) -> Result<(), RunError> {
    ctx.status.set_stage(Stage::Schema);
    let s = &ctx.settings;
    let specs: Vec<NewTopicSpec> = plan
        .topics()
        .keys()
        .map(|name| NewTopicSpec {
            name: name.to_string(),
            partitions: s.topic_partitions,
            replication: s.topic_replication_factor,
        })
        .collect();
    let results = admin
        .create_topics(&specs)
        .await
        .map_err(|e| RunError::Topic {
            topic: "(schema sync)".into(),
            reason: e.to_string(),
        })?;
    for (spec, result) in specs.iter().zip(results) {
        match result {
            TopicCreation::Created => {
                tracing::info!(topic = %spec.name, partitions = spec.partitions, "topic created")
            }
            TopicCreation::AlreadyExists => tracing::info!(topic = %spec.name, "topic exists"),
        }
    }
    Ok(())
}
