//! The run's small HTTP endpoint: Prometheus metrics and the status as JSON.

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use obsync_pipeline::ProjectHandle;

pub async fn serve(listener: tokio::net::TcpListener, handle: ProjectHandle) {
    let app = Router::new()
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .with_state(handle);
    if let Err(e) = axum::serve(listener, app).await {
        tracing::warn!(error = %obsync_model::ErrorChain(&e), "metrics endpoint stopped");
    }
}

async fn metrics(State(handle): State<ProjectHandle>) -> impl IntoResponse {
    // Refreshes the lag gauge before rendering.
    let _ = handle.status();
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        handle.metrics().render(),
    )
}

async fn status(State(handle): State<ProjectHandle>) -> impl IntoResponse {
    Json(handle.status())
}
