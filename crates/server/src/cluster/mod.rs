//! Cluster mode: several `obsync server`s share their projects through a Kafka cluster,
//! the control Kafka, which is the only coordinator (no consensus of obsync's own).
//!
//! - **Buckets** ([`membership`]): topic `obsync.NAME.buckets` has P partitions, fixed
//!   at creation. Every server joins consumer group `obsync.NAME` subscribed to it
//!   (cooperative-sticky, static membership by node id); the partitions a server is
//!   assigned are the buckets it owns. Project `id` belongs to bucket
//!   [`bucket_of`]`(id)`. A server runs the running projects of its buckets; it stops
//!   those of a bucket it loses before the revocation is acknowledged.
//! - **Definitions** ([`config_log`]): `obsync.NAME.config` (1 partition, compacted)
//!   carries every write of projects, data sources, tags, users, sessions and tokens;
//!   each server applies the log in order into its SQLite store, which is a cache of
//!   it, and the first write in log order at a revision wins (the others answer 409;
//!   their writers append the winner's state, so compaction keeps it).
//! - **Checkpoints** ([`checkpoints`]): `obsync.NAME.checkpoints` (P partitions,
//!   compacted, keyed by project), written through one transactional producer per owned
//!   bucket (`transactional.id` `obsync.NAME.bucket.N`): the next owner's producer fences
//!   the previous one, whose next checkpoint write fails, so a server that lost a bucket
//!   without knowing it never moves a checkpoint.
//! - **Forwarding** ([`forward`]): an object change or re-sync asked on a server that
//!   does not run the project is sent to its owner through the config log; the owner
//!   takes it into the run as its own and answers through the log.
//! - **Status** ([`status`]): `obsync.NAME.status` (compacted, keyed by project): which
//!   node runs each project, its lag and last error, for every server's API.
//!
//! The user guide is docs/cluster.md.

pub mod checkpoints;
pub mod config_log;
pub mod forward;
pub mod membership;
pub mod status;
mod topics;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rdkafka::error::KafkaError;

pub use checkpoints::BucketWriter;
pub use config_log::ConfigLog;
pub use status::StatusBoard;

/// Buckets of a new cluster when `--buckets` is not given.
pub const DEFAULT_BUCKETS: i32 = 16;
/// The most buckets a cluster may have: each owned bucket holds a transactional producer.
pub const MAX_BUCKETS: i32 = 256;
/// The group's session timeout when not given: a dead server's buckets move after it.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a call to the control Kafka may take before the server gives up on it.
pub const CONTROL_TIMEOUT: Duration = Duration::from_secs(15);

/// How a server joins a cluster (`obsync server --cluster …`), validated at the edge.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    pub name: ClusterName,
    /// The control Kafka: its brokers and security, as a data source's (it needs
    /// transactions). Only the brokers, the version, SASL and TLS are used.
    pub control_kafka: obsync_kafka::KafkaTarget,
    /// The bucket count: required to equal the existing topic's; `None` takes the
    /// existing one, or [`DEFAULT_BUCKETS`] for a new cluster.
    pub buckets: Option<i32>,
    /// This server's stable name in the group (`group.instance.id`).
    pub node: NodeId,
    pub session_timeout: Duration,
}

/// A cluster's name: the middle of its topics' names and its group id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterName(String);

/// A server's name in its cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeId(String);

/// Letters, digits, `.`, `_` and `-`, as Kafka topic names allow.
fn name_problem(what: &str, value: &str, max: usize) -> Option<String> {
    let ok = !value.is_empty()
        && value.len() <= max
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    (!ok).then(|| {
        format!("{what} {value:?} is invalid: use 1-{max} of A-Z a-z 0-9 . _ - (it names Kafka topics and the consumer group)")
    })
}

impl ClusterName {
    pub fn parse(value: &str) -> Result<ClusterName, String> {
        match name_problem("cluster name", value, 100) {
            Some(problem) => Err(problem),
            None => Ok(ClusterName(value.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl NodeId {
    pub fn parse(value: &str) -> Result<NodeId, String> {
        match name_problem("node id", value, 100) {
            Some(problem) => Err(problem),
            None => Ok(NodeId(value.to_string())),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for NodeId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why cluster mode could not start or lost its footing.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    #[error("the control Kafka at {bootstrap} does not answer within {waited:?}: check --control-kafka or the bootstrap_servers of --control-kafka-config (host:port of its brokers) and that they run")]
    Unreachable {
        bootstrap: String,
        waited: Duration,
        #[source]
        source: KafkaError,
    },
    #[error("the control Kafka at {bootstrap} refuses transactions, which fence a server that lost its buckets: use Kafka 1.0 or newer (not 2.8 in KRaft mode) with transaction.state.log settings its broker count can meet")]
    NoTransactions {
        bootstrap: String,
        #[source]
        source: KafkaError,
    },
    #[error("cluster {cluster} has {existing} buckets (partitions of {topic}), but --buckets says {given}: buckets are fixed when a cluster is created; drop --buckets or pass {existing}")]
    BucketsDiffer {
        cluster: String,
        topic: String,
        existing: i32,
        given: i32,
    },
    #[error("cannot create or read topic {topic} on the control Kafka: check that its user may create and describe topics")]
    Topic {
        topic: String,
        #[source]
        source: KafkaError,
    },
    #[error("cannot connect to the control Kafka at {bootstrap}: {detail}. Fix: {fix} (in the file of --control-kafka-config)")]
    Refused {
        bootstrap: String,
        detail: String,
        fix: String,
    },
    #[error("cannot create a Kafka client for {what}")]
    Client {
        what: String,
        #[source]
        source: KafkaError,
    },
    #[error("cannot read topic {topic} of the control Kafka")]
    Read {
        topic: String,
        #[source]
        source: KafkaError,
    },
    #[error("topic {topic} of the control Kafka holds a record this obsync cannot read at offset {offset}: it was written by a newer obsync; run that version")]
    Record {
        topic: String,
        offset: i64,
        #[source]
        source: serde_json::Error,
    },
}

/// A joined cluster: its settings, the buckets this server owns with their fenced
/// checkpoint writers, and the shared logs.
pub struct Cluster {
    pub name: ClusterName,
    pub node: NodeId,
    /// P, fixed when the cluster was created.
    pub buckets: i32,
    control: obsync_kafka::KafkaTarget,
    session_timeout: Duration,
    /// Owned buckets, each with its transactional producer.
    owned: Mutex<BTreeMap<i32, Arc<BucketWriter>>>,
    /// Buckets this server lost by being fenced (for the events that say so).
    fenced: Mutex<BTreeSet<i32>>,
    pub config: Arc<ConfigLog>,
    pub status: StatusBoard,
}

impl Cluster {
    /// Checks the control Kafka (reachable, with transactions), creates or checks the
    /// cluster's topics, and opens the config and status logs. The group is joined
    /// later ([`membership::join`]), once the store has caught up with the config log.
    pub async fn connect(options: ClusterOptions) -> Result<Arc<Cluster>, ClusterError> {
        refuse_unusable(&options.control_kafka).await?;
        let buckets = topics::prepare(&options).await?;
        checkpoints::probe_transactions(&options)?;
        let config = ConfigLog::open(&options)?;
        let status = StatusBoard::open(&options, buckets)?;
        Ok(Arc::new(Cluster {
            name: options.name,
            node: options.node,
            buckets,
            control: options.control_kafka,
            session_timeout: options.session_timeout,
            owned: Mutex::default(),
            fenced: Mutex::default(),
            config: Arc::new(config),
            status,
        }))
    }

    /// The bucket of project `id`: Kafka's murmur2 of its id (as the Java client's
    /// default partitioner hashes a key), positive, modulo the bucket count. Stable:
    /// the same on every server and in every release.
    pub fn bucket_of(&self, id: &str) -> i32 {
        bucket_of(id, self.buckets)
    }

    /// Whether this server owns project `id`'s bucket now.
    pub fn owns(&self, id: &str) -> bool {
        self.owned_lock().contains_key(&self.bucket_of(id))
    }

    /// The writer of project `id`'s bucket, when this server owns it.
    pub fn writer_of(&self, id: &str) -> Option<Arc<BucketWriter>> {
        self.owned_lock().get(&self.bucket_of(id)).cloned()
    }

    /// The buckets this server owns, ascending.
    pub fn owned_buckets(&self) -> Vec<i32> {
        self.owned_lock().keys().copied().collect()
    }

    fn owned_lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<i32, Arc<BucketWriter>>> {
        self.owned.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Whether this server still owns project `id`'s bucket: assigned, and its producer
    /// not fenced by a newer owner. A fenced bucket is dropped here at once: its other
    /// projects fail their next checkpoint write and stop too.
    pub fn still_owns(&self, id: &str) -> bool {
        let n = self.bucket_of(id);
        let mut owned = self.owned_lock();
        match owned.get(&n) {
            Some(writer) if writer.is_fenced() => {
                owned.remove(&n);
                self.fenced_lock().insert(n);
                false
            }
            Some(_) => true,
            None => false,
        }
    }

    fn fenced_lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<i32>> {
        self.fenced.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Drops bucket `n` from the owned ones (revoked, or fenced by another owner);
    /// `true` when it was owned.
    pub fn disown(&self, n: i32) -> bool {
        self.owned_lock().remove(&n).is_some()
    }

    fn own(&self, n: i32, writer: Arc<BucketWriter>) {
        self.fenced_lock().remove(&n);
        self.owned_lock().insert(n, writer);
    }

    /// The bucket topic (one partition per bucket).
    pub fn buckets_topic(&self) -> String {
        topics::buckets(&self.name)
    }
}

/// Brings this server into the cluster once its HTTP side is ready: applies the config
/// log into `local` until it has caught up (the store then holds every definition),
/// follows it from then on, and joins the group, whose assignments start the projects
/// of the buckets this server gets.
pub async fn start(
    state: &crate::state::AppState,
    cluster: &Arc<Cluster>,
    local: Arc<crate::store::SqliteStore>,
) -> Result<(), ClusterError> {
    let (applied_tx, applied_rx) = tokio::sync::mpsc::unbounded_channel();
    cluster
        .config
        .start_applier(&cluster.control, local, &state.data_dir, applied_tx)?;
    cluster.config.caught_up(&cluster.control).await?;
    tokio::spawn(membership::follow_config(state.clone(), applied_rx));
    membership::join(state, cluster)?;
    tracing::info!(cluster = cluster.name.as_str(), node = %cluster.node, buckets = cluster.buckets, "joined the cluster");
    Ok(())
}

/// The event a server records when it stops a project whose bucket another server owns
/// now (`error`: how the run ended, when it failed).
pub fn handed_over_note(
    cluster: &Cluster,
    id: &str,
    error: Option<&obsync_pipeline::RunError>,
) -> (String, obsync_model::Coded) {
    use obsync_model::MessageCode;
    let n = cluster.bucket_of(id);
    let fenced = cluster.fenced_lock().contains(&n) || error.is_some_and(was_fenced);
    let (node, bucket, name) = (
        cluster.node.to_string(),
        n as u32,
        cluster.name.as_str().to_string(),
    );
    let coded = if fenced {
        crate::runtime::RunMessage::Fenced {
            node,
            bucket,
            cluster: name,
        }
    } else {
        crate::runtime::RunMessage::HandedOver {
            node,
            bucket,
            cluster: name,
        }
    }
    .coded();
    let why = if fenced {
        format!(
            "this server was fenced: the bucket's new owner took over its checkpoint producer obsync.{}.bucket.{n}, so no checkpoint was moved from here",
            cluster.name.as_str()
        )
    } else {
        "the bucket was revoked from this server, which saved the checkpoint first".to_string()
    };
    let ended = error.map_or(String::new(), |e| {
        format!(" (the run ended with: {})", obsync_model::ErrorChain(e))
    });
    let text = format!(
        "stopped on node {}: bucket {n} of cluster {} belongs to another server now; {why}. The new owner resumes the project from its last checkpoint{ended}",
        cluster.node,
        cluster.name.as_str()
    );
    (text, coded)
}

/// Whether `error` came from a checkpoint write refused because a newer owner fenced
/// this server (found by type along its causes).
fn was_fenced(error: &obsync_pipeline::RunError) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(e) = cause {
        if matches!(
            e.downcast_ref::<checkpoints::WriteError>(),
            Some(checkpoints::WriteError::Fenced { .. })
        ) {
            return true;
        }
        cause = e.source();
    }
    false
}

/// How long the start waits for the control Kafka to accept or refuse a connection.
const CONNECT_CHECK_TIMEOUT: Duration = Duration::from_secs(10);

/// Fails the start at once, naming the cause and the fix, when the control Kafka
/// refuses the connection (a wrong password, an untrusted certificate), instead of
/// letting every control client retry it until its own timeout.
async fn refuse_unusable(control: &obsync_kafka::KafkaTarget) -> Result<(), ClusterError> {
    match obsync_kafka::connection_problem(control, CONNECT_CHECK_TIMEOUT).await {
        None => Ok(()),
        Some((detail, fix)) => Err(ClusterError::Refused {
            bootstrap: control.bootstrap_servers.clone(),
            detail,
            fix,
        }),
    }
}

/// [`Cluster::bucket_of`] for `buckets` buckets.
pub fn bucket_of(id: &str, buckets: i32) -> i32 {
    obsync_kafka::partitioner::to_positive(obsync_kafka::murmur2(id.as_bytes())) % buckets
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_project_keeps_its_bucket_and_projects_spread_over_buckets() {
        // Kafka's murmur2 of "np_1" (Utils.murmur2 in the Java client) fixes the bucket
        // for every server and release.
        let b = bucket_of("np_1", 16);
        assert_eq!(b, bucket_of("np_1", 16));
        assert!((0..16).contains(&b));
        let mut seen = std::collections::BTreeSet::new();
        for i in 0..200 {
            seen.insert(bucket_of(&format!("np_{i:x}"), 16));
        }
        assert_eq!(seen.len(), 16, "{seen:?}");
    }

    #[test]
    fn names_are_checked_at_the_edge() {
        assert!(ClusterName::parse("prod-1").is_ok());
        assert!(ClusterName::parse("a b")
            .unwrap_err()
            .contains("A-Z a-z 0-9 . _ -"));
        assert!(NodeId::parse("").is_err());
    }
}
