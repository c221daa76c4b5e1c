//! `/api/v1/cluster`: the cluster this server belongs to, the buckets it owns, and for
//! every project its bucket and the server running it (from the status log), so any
//! server answers for all (docs/cluster.md).

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ApiResult, ErrorBody};
use super::extract::Json;
use crate::lifecycle::ProjectState;
use crate::state::AppState;

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(cluster))
}

/// The cluster as this server sees it; every field but `projects` is empty on a server
/// that runs alone.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClusterView {
    /// The cluster's name (`--cluster`).
    pub name: Option<String>,
    /// This server's node id.
    pub node: Option<String>,
    /// The cluster's bucket count.
    pub buckets: Option<i32>,
    /// The buckets this server owns, ascending.
    pub owned_buckets: Vec<i32>,
    pub projects: Vec<ClusterProject>,
}

/// A project's place in the cluster.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClusterProject {
    pub id: String,
    pub name: String,
    pub state: ProjectState,
    /// Its bucket; 0 on a server that runs alone.
    pub bucket: i32,
    /// The node running it, as the status log last said; absent while none does.
    pub owner: Option<String>,
    /// Seconds its Kafka lags behind the source, as its owner last said.
    pub lag_seconds: Option<u64>,
    /// The last error its owner reported.
    pub last_error: Option<String>,
}

/// This server's cluster, its buckets, and who runs each project.
#[utoipa::path(get, path = "/api/v1/cluster", tag = "system", responses((status = 200, body = ClusterView), (status = 401, body = ErrorBody)))]
async fn cluster(State(state): State<AppState>) -> ApiResult<Json<ClusterView>> {
    let projects = state.store.list_projects().await?;
    let Some(cluster) = &state.cluster else {
        return Ok(Json(ClusterView {
            name: None,
            node: None,
            buckets: None,
            owned_buckets: Vec::new(),
            projects: projects
                .into_iter()
                .map(|p| ClusterProject {
                    owner: None,
                    bucket: 0,
                    lag_seconds: None,
                    last_error: None,
                    id: p.id,
                    name: p.spec.name,
                    state: p.state,
                })
                .collect(),
        }));
    };
    let statuses = cluster.status.all();
    Ok(Json(ClusterView {
        name: Some(cluster.name.as_str().to_string()),
        node: Some(cluster.node.to_string()),
        buckets: Some(cluster.buckets),
        owned_buckets: cluster.owned_buckets(),
        projects: projects
            .into_iter()
            .map(|p| {
                let status = statuses.get(&p.id);
                ClusterProject {
                    bucket: cluster.bucket_of(&p.id),
                    owner: status.filter(|s| s.running).map(|s| s.node.clone()),
                    lag_seconds: status.and_then(|s| s.lag_seconds),
                    last_error: status.and_then(|s| s.last_error.clone()),
                    id: p.id,
                    name: p.spec.name,
                    state: p.state,
                }
            })
            .collect(),
    }))
}
