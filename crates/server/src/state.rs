//! What every request handler shares.

use std::path::PathBuf;
use std::sync::Arc;

use crate::login::LoginLimiter;
use crate::runtime::Runtime;
use crate::secrets::SecretKey;
use crate::store::Store;

/// The server's shared state; cheap to clone.
pub type AppState = Arc<ServerState>;

pub struct ServerState {
    pub store: Arc<dyn Store>,
    pub key: SecretKey,
    pub data_dir: PathBuf,
    pub runtime: Runtime,
    pub logins: LoginLimiter,
    /// Whether the server speaks TLS (session cookies are then `Secure`).
    pub tls: bool,
    /// Serialises lifecycle changes so that a state is read and written as one step.
    pub lifecycle: tokio::sync::Mutex<()>,
    /// The `Host` names requests may carry.
    pub allowed_hosts: Arc<crate::http::AllowedHosts>,
    /// How long a request may take before it is answered 503.
    pub request_timeout: std::time::Duration,
    /// Verify runs started from the API, the last one per project.
    pub verifies: crate::verify_runs::VerifyRuns,
    /// The cluster this server is a member of (`--cluster`); `None` for a single server.
    pub cluster: Option<Arc<crate::cluster::Cluster>>,
    /// Projects read their source's shared binlog stream (`ServerOptions::shared_stream`).
    pub shared_stream: bool,
}

impl ServerState {
    /// Where project `id` keeps its checkpoint.
    pub fn project_dir(&self, id: &str) -> PathBuf {
        self.data_dir.join("projects").join(id)
    }
}
