//! Bucket ownership through Kafka's group protocol: every server of cluster NAME is a
//! member of consumer group `obsync.NAME` subscribed to the bucket topic; the
//! partitions it is assigned are the buckets it owns. The group's assignor
//! (cooperative-sticky) spreads the buckets and moves only those that must move; static
//! membership (`group.instance.id` = node id) keeps a restarted server's buckets for a
//! session timeout.
//!
//! The rebalance callbacks run on the group's own thread, which may block: a revoked
//! bucket's projects are stopped (in-flight messages delivered, checkpoint saved)
//! before the callback returns and the revocation is acknowledged; a gained bucket's
//! producer is initialized (fencing the previous owner), its checkpoints are read and
//! its running projects started before the thread polls again.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer, ConsumerContext, Rebalance};
use rdkafka::TopicPartitionList;
use tokio::runtime::Handle;
use tokio::sync::mpsc;

use super::checkpoints::{read_bucket, restore, BucketWriter};
use super::config_log::Applied;
use super::{topics, Cluster, ClusterError};
use crate::lifecycle::ProjectState;
use crate::state::AppState;

/// How often a bucket whose producer or checkpoints cannot be read is tried again
/// before it is left unserved (logged as an error).
const GAIN_ATTEMPTS: u32 = 5;

struct GroupContext {
    state: AppState,
    cluster: Arc<Cluster>,
    runtime: Handle,
}

impl ClientContext for GroupContext {}

impl ConsumerContext for GroupContext {
    fn pre_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Revoke(tpl) => {
                let lost = buckets(tpl);
                tracing::info!(node = %self.cluster.node, buckets = ?lost, "buckets revoked: stopping their projects");
                for n in &lost {
                    self.cluster.disown(*n);
                }
                self.runtime
                    .block_on(stop_buckets(&self.state, &self.cluster, &lost));
            }
            Rebalance::Assign(_) => {}
            Rebalance::Error(e) => {
                tracing::warn!(node = %self.cluster.node, error = %e, "the cluster's group reported an error");
            }
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(tpl) = rebalance {
            let owned: BTreeSet<i32> = self.cluster.owned_buckets().into_iter().collect();
            let gained: Vec<i32> = buckets(tpl)
                .into_iter()
                .filter(|n| !owned.contains(n))
                .collect();
            tracing::info!(node = %self.cluster.node, buckets = ?gained, "buckets assigned");
            for n in gained {
                gain(&self.state, &self.cluster, &self.runtime, n);
            }
        }
    }
}

fn buckets(tpl: &TopicPartitionList) -> Vec<i32> {
    tpl.elements().iter().map(|e| e.partition()).collect()
}

/// Takes bucket `n`: fences its previous owner, copies its checkpoints from Kafka into
/// the projects' folders, then starts its running projects.
fn gain(state: &AppState, cluster: &Arc<Cluster>, runtime: &Handle, n: i32) {
    let name = cluster.name.as_str();
    for attempt in 1..=GAIN_ATTEMPTS {
        let taken = BucketWriter::open(&cluster.control, name, n).and_then(|writer| {
            let latest = read_bucket(&cluster.control, name, n)?;
            Ok((writer, latest))
        });
        match taken {
            Ok((writer, latest)) => {
                let projects = runtime
                    .block_on(state.store.list_projects())
                    .unwrap_or_default();
                for p in projects.iter().filter(|p| cluster.bucket_of(&p.id) == n) {
                    let value = latest.get(&p.id).map(Vec::as_slice);
                    if let Err(e) = restore(&p.id, &state.project_dir(&p.id), value) {
                        tracing::error!(project = %p.id, error = %obsync_model::ErrorChain(&e), "cannot restore the project's checkpoint from the cluster; it does not start here");
                    }
                }
                cluster.own(n, Arc::new(writer));
                runtime.block_on(start_bucket(state, cluster, n));
                return;
            }
            Err(e) => {
                tracing::error!(bucket = n, attempt, error = %obsync_model::ErrorChain(&e), "cannot take over a bucket");
                std::thread::sleep(Duration::from_secs(attempt as u64));
            }
        }
    }
}

/// Starts every running project of bucket `n` that does not run here yet.
async fn start_bucket(state: &AppState, cluster: &Cluster, n: i32) {
    let Ok(projects) = state.store.list_projects().await else {
        return;
    };
    for p in projects {
        if cluster.bucket_of(&p.id) == n {
            reconcile(state, &p.id).await;
        }
    }
}

/// Stops the projects of `lost` buckets that run here, each with its checkpoint saved
/// (as at a shutdown: they stay `running` and their new owner resumes them).
async fn stop_buckets(state: &AppState, cluster: &Cluster, lost: &[i32]) {
    let ids: Vec<String> = state
        .runtime
        .running_ids()
        .into_iter()
        .filter(|id| lost.contains(&cluster.bucket_of(id)))
        .collect();
    futures::future::join_all(ids.iter().map(|id| crate::runtime::hand_over(state, id))).await;
}

/// Makes this server's runtime match project `id`'s record: a running project of an
/// owned bucket runs here; a deleted one does not.
pub async fn reconcile(state: &AppState, id: &str) {
    let Some(cluster) = state.cluster.clone() else {
        return;
    };
    if !cluster.owns(id) {
        return;
    }
    let _guard = state.lifecycle.lock().await;
    let record = match state.store.get_project(id).await {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(project = id, error = %obsync_model::ErrorChain(&e), "cannot read the project to reconcile it");
            return;
        }
    };
    match record {
        // A restart under way starts the run itself, with its own settings.
        Some(r)
            if r.state == ProjectState::Running
                && !state.runtime.is_running(id)
                && !state.runtime.is_restarting(id) =>
        {
            match crate::service::settings(state, &r.spec).await {
                Ok(settings) => crate::runtime::start(state, id, settings),
                Err(e) => {
                    tracing::error!(project = id, error = %obsync_model::ErrorChain(&e), "cannot start the project of an owned bucket")
                }
            }
        }
        None if state.runtime.is_running(id) => {
            drop(_guard);
            crate::runtime::hand_over(state, id).await;
        }
        _ => {}
    }
}

/// Acts on the projects the config log changed (on any server), in order.
pub async fn follow_config(state: AppState, mut applied: mpsc::UnboundedReceiver<Applied>) {
    while let Some(Applied { project, command }) = applied.recv().await {
        match command {
            Some(super::config_log::Command::Pause) => {
                if state.cluster.as_ref().is_some_and(|c| c.owns(&project)) {
                    let state = state.clone();
                    tokio::spawn(async move { crate::runtime::pause(&state, &project).await });
                }
            }
            Some(super::config_log::Command::Forwarded {
                request,
                from,
                at_ms,
                action,
            }) => {
                let state = state.clone();
                tokio::spawn(async move {
                    super::forward::take_up(&state, &project, &request, &from, at_ms, &action).await
                });
            }
            None => reconcile(&state, &project).await,
        }
    }
}

/// Joins the cluster's group on a thread of its own, which serves the rebalances.
pub fn join(state: &AppState, cluster: &Arc<Cluster>) -> Result<(), ClusterError> {
    let context = GroupContext {
        state: state.clone(),
        cluster: cluster.clone(),
        runtime: Handle::current(),
    };
    let session = cluster.session_timeout.as_millis().to_string();
    let heartbeat = (cluster.session_timeout.as_millis() / 5)
        .max(500)
        .to_string();
    let consumer: BaseConsumer<GroupContext> = topics::client(&cluster.control)
        .set("group.id", format!("obsync.{}", cluster.name.as_str()))
        .set("group.instance.id", cluster.node.as_str())
        .set("partition.assignment.strategy", "cooperative-sticky")
        .set("session.timeout.ms", &session)
        .set("heartbeat.interval.ms", &heartbeat)
        // A gain (fencing, reading checkpoints, starting runs) blocks the poll thread;
        // the group waits this long before it deems the member stuck.
        .set("max.poll.interval.ms", "300000")
        .set("enable.auto.commit", "false")
        .create_with_context(context)
        .map_err(|source| ClusterError::Client {
            what: "the cluster's group member".into(),
            source,
        })?;
    let topic = cluster.buckets_topic();
    consumer
        .subscribe(&[&topic])
        .map_err(|source| ClusterError::Topic { topic, source })?;
    std::thread::Builder::new()
        .name("obsync-cluster-group".into())
        .spawn(move || loop {
            // The bucket topic carries no messages: polling serves the rebalances.
            if let Some(Err(e)) = consumer.poll(Duration::from_millis(500)) {
                tracing::warn!(error = %e, "the cluster's group member reported an error");
            }
        })
        .expect("a thread starts");
    Ok(())
}
