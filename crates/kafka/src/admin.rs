//! Cluster metadata and topic creation.
//!
//! Metadata is always fetched for all topics: asking for one named topic can make a broker
//! with `auto.create.topics.enable=true` create it (Kafka 0.9/0.10 ignore the client's "do not
//! create" flag), and listing is cheap next to a sync's lifetime.

use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::metadata::Metadata;

use crate::client_context::TracingContext;
use crate::config::{ClientRole, KafkaTarget, KafkaVersion};
use crate::kerberos::{login, KerberosLogin, KinitError};

/// Default time allowed for one metadata or admin request round.
pub const DEFAULT_ADMIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Topics Kafka keeps for itself; never offered to users as sync targets.
const INTERNAL_TOPICS: &[&str] = &[
    "__consumer_offsets",
    "__transaction_state",
    "__share_group_state",
];

/// A topic and its partition count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicInfo {
    pub name: String,
    pub partitions: i32,
}

/// A broker as listed in the cluster metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerInfo {
    pub id: i32,
    pub host: String,
    pub port: i32,
}

/// What the cluster metadata says about the cluster itself (the broker's version is read
/// separately, by [`crate::version_probe`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    /// The broker that answered.
    pub answered_by: i32,
    pub brokers: Vec<BrokerInfo>,
    /// Number of topics, internal ones excluded.
    pub topic_count: usize,
}

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopicSpec {
    pub name: String,
    pub partitions: i32,
    pub replication: i32,
}

impl NewTopicSpec {
    /// A topic as schema sync creates it: 3 partitions, replication factor 1 (the OMS
    /// defaults, which users of the OMS console expect).
    pub fn schema_sync_default(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            partitions: 3,
            replication: 1,
        }
    }
}

/// Outcome of creating one topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TopicCreation {
    Created,
    /// The topic existed already; it was left as it is (its partition count may differ).
    AlreadyExists,
}

/// An admin operation that failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// librdkafka refused to create the client.
    #[error("cannot create the Kafka admin client: {0}")]
    Client(KafkaError),
    /// No Kerberos ticket for a GSSAPI target.
    #[error(transparent)]
    Kerberos(#[from] KinitError),
    /// No broker answered in time.
    #[error(
        "cannot reach Kafka at {bootstrap} within {timeout:?} ({reason}): check the bootstrap \
         servers, that the brokers run and advertise reachable listeners, and the SASL/TLS \
         settings"
    )]
    Unreachable {
        bootstrap: String,
        timeout: Duration,
        reason: String,
    },
    /// The topic is not in the cluster metadata.
    #[error("topic \"{0}\" does not exist: create it, or enable schema sync to have it created")]
    TopicNotFound(String),
    /// The operation needs a newer Kafka.
    #[error(
        "{operation} is not supported on Kafka {version}: create the topics with Kafka's own \
         tools (kafka-topics.sh) and turn schema sync off"
    )]
    UnsupportedOnVersion {
        operation: &'static str,
        version: &'static str,
    },
    /// The broker refused to create a topic.
    #[error("cannot create topic \"{topic}\": {code}: {fix}")]
    CreateFailed {
        topic: String,
        code: RDKafkaErrorCode,
        fix: &'static str,
    },
}

/// Topic and cluster administration for one Kafka target.
pub struct KafkaAdmin {
    client: Arc<AdminClient<TracingContext>>,
    /// Keeps the Kerberos ticket renewed while the client lives (GSSAPI only).
    _kerberos: Option<Arc<KerberosLogin>>,
    bootstrap: String,
    version: KafkaVersion,
    timeout: Duration,
}

impl std::fmt::Debug for KafkaAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KafkaAdmin")
            .field("bootstrap", &self.bootstrap)
            .field("version", &self.version)
            .finish_non_exhaustive()
    }
}

impl KafkaAdmin {
    /// Builds the admin client with [`DEFAULT_ADMIN_TIMEOUT`]. Does not connect yet.
    pub fn new(target: &KafkaTarget) -> Result<Self, AdminError> {
        Self::with_timeout(target, DEFAULT_ADMIN_TIMEOUT)
    }

    /// Builds the admin client; each request waits at most `timeout` for the cluster.
    pub fn with_timeout(target: &KafkaTarget, timeout: Duration) -> Result<Self, AdminError> {
        let kerberos = login(target.sasl.as_ref())?;
        let client = target
            .client_config(ClientRole::Admin)
            .create_with_context(TracingContext::new(&target.bootstrap_servers))
            .map_err(AdminError::Client)?;
        Ok(Self {
            client: Arc::new(client),
            _kerberos: kerberos,
            bootstrap: target.bootstrap_servers.clone(),
            version: target.version,
            timeout,
        })
    }

    /// The brokers of the cluster; proves connectivity (and authentication).
    pub async fn cluster(&self) -> Result<ClusterInfo, AdminError> {
        let metadata = self.metadata().await?;
        Ok(ClusterInfo {
            answered_by: metadata.orig_broker_id(),
            brokers: metadata
                .brokers()
                .iter()
                .map(|b| BrokerInfo {
                    id: b.id(),
                    host: b.host().to_owned(),
                    port: b.port(),
                })
                .collect(),
            topic_count: topics(&metadata).len(),
        })
    }

    /// All user topics, sorted by name, with their partition counts.
    pub async fn list_topics(&self) -> Result<Vec<TopicInfo>, AdminError> {
        let metadata = self.metadata().await?;
        let mut list = topics(&metadata);
        list.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(list)
    }

    /// The partition count of `topic`, or [`AdminError::TopicNotFound`].
    pub async fn partition_count(&self, topic: &str) -> Result<i32, AdminError> {
        let metadata = self.metadata().await?;
        topics(&metadata)
            .into_iter()
            .find(|t| t.name == topic)
            .map(|t| t.partitions)
            .ok_or_else(|| AdminError::TopicNotFound(topic.to_owned()))
    }

    /// Creates the topics that do not exist; existing ones are reported, not changed.
    /// Idempotent: running it twice gives `AlreadyExists` for all the second time.
    /// Results are in the order of `specs`.
    pub async fn create_topics(
        &self,
        specs: &[NewTopicSpec],
    ) -> Result<Vec<TopicCreation>, AdminError> {
        if !self.version.supports_topic_creation() {
            return Err(AdminError::UnsupportedOnVersion {
                operation: "creating topics",
                version: self.version.as_str(),
            });
        }
        let new_topics: Vec<NewTopic<'_>> = specs
            .iter()
            .map(|s| {
                NewTopic::new(
                    &s.name,
                    s.partitions,
                    TopicReplication::Fixed(s.replication),
                )
            })
            .collect();
        // The broker answers once the topic exists on the controller; `operation_timeout`
        // lets it wait for that instead of answering "in progress".
        let options = AdminOptions::new()
            .request_timeout(Some(self.timeout))
            .operation_timeout(Some(self.timeout));
        let results = self
            .client
            .create_topics(&new_topics, &options)
            .await
            .map_err(|e| self.unreachable(e))?;
        let mut out = Vec::with_capacity(specs.len());
        for spec in specs {
            let result = results.iter().find(|r| match r {
                Ok(name) | Err((name, _)) => *name == spec.name,
            });
            out.push(match result {
                Some(Ok(_)) => TopicCreation::Created,
                Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => {
                    TopicCreation::AlreadyExists
                }
                Some(Err((_, code))) => return Err(create_failed(&spec.name, *code)),
                None => return Err(create_failed(&spec.name, RDKafkaErrorCode::Fail)),
            });
        }
        Ok(out)
    }

    async fn metadata(&self) -> Result<Metadata, AdminError> {
        let client = Arc::clone(&self.client);
        let timeout = self.timeout;
        // fetch_metadata blocks until the answer or the timeout: not on the runtime's threads.
        tokio::task::spawn_blocking(move || client.inner().fetch_metadata(None, timeout))
            .await
            .expect("metadata task panicked")
            .map_err(|e| self.unreachable(e))
    }

    fn unreachable(&self, error: KafkaError) -> AdminError {
        AdminError::Unreachable {
            bootstrap: self.bootstrap.clone(),
            timeout: self.timeout,
            reason: error.to_string(),
        }
    }
}

fn topics(metadata: &Metadata) -> Vec<TopicInfo> {
    metadata
        .topics()
        .iter()
        // A topic just created may carry a transient error (leader not yet elected) but
        // exists; only "unknown topic" means it is absent.
        .filter(|t| {
            t.error().map(RDKafkaErrorCode::from) != Some(RDKafkaErrorCode::UnknownTopicOrPartition)
                && !INTERNAL_TOPICS.contains(&t.name())
        })
        .map(|t| TopicInfo {
            name: t.name().to_owned(),
            partitions: t.partitions().len() as i32,
        })
        .collect()
}

fn create_failed(topic: &str, code: RDKafkaErrorCode) -> AdminError {
    use RDKafkaErrorCode::*;
    let fix = match code {
        TopicAuthorizationFailed | ClusterAuthorizationFailed => {
            "grant the obsync user CREATE on the cluster or the topic, or create the topic by \
             hand and turn schema sync off"
        }
        InvalidReplicationFactor => {
            "the cluster has fewer brokers than the replication factor: lower it or add brokers"
        }
        InvalidPartitions => "use at least one partition",
        InvalidTopic => "use 3-64 characters of A-Z a-z 0-9 - _ .",
        PolicyViolation => "the broker's create-topic policy refused it: ask the Kafka admin",
        _ => "check the broker logs for the cause",
    };
    AdminError::CreateFailed {
        topic: topic.to_owned(),
        code,
        fix,
    }
}
