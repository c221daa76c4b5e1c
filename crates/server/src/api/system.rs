//! Health, version and the Prometheus endpoint.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::state::AppState;

pub fn public_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(health))
}

pub fn protected_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(version))
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// Always `ok` when the server answers.
    pub status: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Version {
    pub version: String,
    pub running_projects: u64,
}

/// Liveness; needs no login.
#[utoipa::path(get, path = "/api/v1/health", tag = "system", responses((status = 200, body = Health)))]
async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// The server's version.
#[utoipa::path(get, path = "/api/v1/version", tag = "system", responses((status = 200, body = Version)))]
async fn version(State(state): State<AppState>) -> Json<Version> {
    let running = state
        .store
        .list_projects()
        .await
        .map(|p| {
            p.into_iter()
                .filter(|p| state.runtime.is_running(&p.id))
                .count()
        })
        .unwrap_or(0);
    Json(Version {
        version: env!("CARGO_PKG_VERSION").into(),
        running_projects: running as u64,
    })
}

/// `/metrics`: every running project's metrics, each with its `project` label. Behind
/// the login like the API (scrape it with an API token).
pub fn metrics_route(state: AppState) -> Router<AppState> {
    Router::new().route(
        "/metrics",
        get(metrics).layer(axum::middleware::from_fn_with_state(
            state,
            crate::api::guard::require_login,
        )),
    )
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    let mut text = state.runtime.render_metrics();
    text.push_str(&format!(
        "# HELP obsync_server_secret_opens_total Stored secrets the server decrypted since it started.\n\
         # TYPE obsync_server_secret_opens_total counter\n\
         obsync_server_secret_opens_total {}\n",
        state.key.opens()
    ));
    text.push_str(&source_metrics(&obsync_source::usage::sources()));
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

use obsync_source::usage::Usage;

/// What the server holds on each source: binlog dumps (own and shared), projects on the
/// shared ones, connections at most.
fn source_metrics(sources: &[(String, Usage)]) -> String {
    type Family = (&'static str, &'static str, fn(&Usage) -> u32);
    let families: [Family; 4] = [
        (
            "obsync_source_binlog_dumps",
            "Binlog dumps the server holds on the source (own and shared).",
            |u| u.dumps,
        ),
        (
            "obsync_source_shared_binlog_dumps",
            "Shared binlog dumps on the source (one per source endpoint).",
            |u| u.shared_dumps,
        ),
        (
            "obsync_source_shared_stream_members",
            "Projects reading (or catching up to) a shared dump of the source.",
            |u| u.shared_members,
        ),
        (
            "obsync_source_connections",
            "Connections the server holds on the source at most.",
            |u| u.total(),
        ),
    ];
    let mut text = String::new();
    for (name, help, value) in families {
        text.push_str(&format!("# HELP {name} {help}\n# TYPE {name} gauge\n"));
        for (source, usage) in sources {
            text.push_str(&format!("{name}{{source=\"{source}\"}} {}\n", value(usage)));
        }
    }
    text
}
