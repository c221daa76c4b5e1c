//! `obsync server`: many sync projects in one process, managed over a REST API and the
//! web console. Each project runs on the same engine as `obsync run`
//! ([`obsync_pipeline::ProjectHandle`]); its definition is checked by the same rules as
//! a project file (`obsync-config`).
//!
//! Map: [`api`] (HTTP shapes, OpenAPI, OMS shim, the one table from [`error`] to
//! answers), [`service`] (project operations), [`lifecycle`] (states, events and the
//! transition table), [`transition`] (the one writer of a project's state), [`runtime`]
//! (running projects, metric history, notices), [`store`] (SQLite behind a trait),
//! [`spec`] (spec → project file), [`auth`], [`secrets`], [`console`].

pub mod api;
pub mod audit;
pub mod auth;
pub mod cluster;
mod console;
pub mod datasources;
pub mod error;
pub mod http;
mod import;
pub mod lifecycle;
pub mod login;
pub mod message_codes;
pub mod model;
pub mod names;
pub mod objects;
pub mod passwords;
pub mod roles;
pub mod rules;
pub mod runtime;
pub mod secrets;
pub mod service;
pub mod spec;
pub mod state;
pub mod store;
pub mod tags;
pub mod timeline;
pub mod tls;
pub mod transition;
pub mod verify_runs;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use crate::http::{HttpLimits, Listener};
use crate::secrets::{SecretError, SecretKey};
use crate::state::{AppState, ServerState};
use crate::store::{EventStore, SqliteStore, Store, StoreError, UserStore};
use crate::tls::{TlsError, TlsFiles, TlsListener};

/// How the server is started.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// Where the database, the secret key and the projects' checkpoints live.
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// Serve HTTPS with this certificate and key (session cookies are then `Secure`).
    pub tls: Option<TlsFiles>,
    /// Allow a non-loopback address without TLS.
    pub insecure_listen: bool,
    /// The first admin's password (`OBSYNC_ADMIN_PASSWORD`); generated when `None`.
    pub admin_password: Option<String>,
    /// Host names, connection cap and idle timeout of the HTTP listener.
    pub http: HttpOptions,
    /// The secret key file when not `<data_dir>/secret.key` (a cluster's servers share
    /// one key: each opens the data sources' secrets the others sealed).
    pub secret_key: Option<PathBuf>,
    /// Join this cluster (`--cluster`) instead of running alone.
    pub cluster: Option<cluster::ClusterOptions>,
    /// Projects on one source endpoint read one shared binlog dump (default); `false`
    /// gives each its own (`--no-shared-stream`).
    pub shared_stream: bool,
}

/// The HTTP listener's settings beyond its address; the defaults suit most servers.
#[derive(Debug, Clone, Default)]
pub struct HttpOptions {
    /// Names the server is reached by besides its IP addresses and `localhost` (a proxy's
    /// or DNS name); requests for other names are refused (DNS rebinding).
    pub public_names: Vec<String>,
    /// Open connections at most; default a quarter of the open-files limit, 16 to 1,024.
    pub max_connections: Option<usize>,
    /// How long a connection may stay silent before its request headers or between
    /// requests; default 15 s.
    pub idle_timeout: Option<Duration>,
}

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    #[error(
        "cannot create the data directory {path} (mode 0700): check that the server's user owns it"
    )]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Settling the projects' states at start failed.
    #[error(transparent)]
    Recover(#[from] error::Error),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("refusing to listen on {addr} without TLS: other machines could read passwords and sessions; listen on 127.0.0.1, pass --tls-cert and --tls-key, or pass --insecure-listen if a TLS proxy sits in front")]
    InsecureListen { addr: SocketAddr },
    #[error("cannot listen on {addr}: choose another --listen address")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot lock {path}")]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("another obsync server uses the data directory {dir}: stop it first (one server per data directory; reset-admin-password needs it stopped)")]
    Running { dir: PathBuf },
    #[error("{dir} holds no obsync server data ({file} is missing): pass the --data-dir the server runs with")]
    NoData { dir: PathBuf, file: &'static str },
    #[error("the new admin password is refused: {problem}")]
    WeakPassword { problem: String },
    #[error(transparent)]
    Hash(#[from] passwords::HashError),
    #[error(transparent)]
    Cluster(#[from] cluster::ClusterError),
}

/// The file a running server holds an exclusive lock on, so that a second server or
/// `reset-admin-password` cannot work on the same data directory at the same time.
const LOCK_FILE: &str = "server.lock";

/// Takes the data directory's lock (released when the file is dropped).
fn lock_data_dir(dir: &std::path::Path) -> Result<std::fs::File, ServerError> {
    let path = dir.join(LOCK_FILE);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| ServerError::Lock {
            path: path.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(ServerError::Running {
            dir: dir.to_path_buf(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(ServerError::Lock { path, source }),
    }
}

/// `obsync server reset-admin-password`: sets the password of user `admin` (creating it,
/// or making it admin again, if needed) and ends its sessions. Works on the data
/// directory of a stopped server; the change is in the audit trail.
pub async fn reset_admin_password(
    data_dir: &std::path::Path,
    password: &str,
) -> Result<(), ServerError> {
    if let Some(problem) = auth::password_problem(password) {
        return Err(ServerError::WeakPassword { problem });
    }
    if !data_dir.join(store::DB_FILE).exists() {
        return Err(ServerError::NoData {
            dir: data_dir.to_path_buf(),
            file: store::DB_FILE,
        });
    }
    let _lock = lock_data_dir(data_dir)?;
    let store = SqliteStore::open(data_dir)?;
    let hash = passwords::hash(password)?;
    if !store.set_user_password(auth::ADMIN_USER, &hash).await? {
        store
            .create_user(&store::NewUser {
                username: auth::ADMIN_USER,
                password_hash: &hash,
                role: roles::Role::Admin,
            })
            .await?;
    }
    store
        .set_user_role(auth::ADMIN_USER, roles::Role::Admin)
        .await?;
    store.delete_sessions_of(auth::ADMIN_USER, None).await?;
    store
        .add_audit(&store::AuditEntry {
            subject: "user",
            subject_id: auth::ADMIN_USER,
            kind: model::EventKind::Audit,
            actor: "obsync server reset-admin-password",
            client: None,
            message: &audit::AuditMessage::AdminPasswordReset {}.english(),
            coded: &obsync_model::MessageCode::coded(&audit::AuditMessage::AdminPasswordReset {}),
        })
        .await?;
    Ok(())
}

/// Creates the data directory 0700 (it holds the key, the database and Kerberos tickets),
/// tightens an existing one to 0700, and removes the data sources' folders under `tls/`
/// where earlier versions wrote Kafka client keys (keys now go to the client in memory).
fn private_data_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    // Only the data sources' folders (`tls/ds_…`): the folder may hold other files.
    let legacy = dir.join("tls");
    if let Ok(entries) = std::fs::read_dir(&legacy) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with("ds_") {
                std::fs::remove_dir_all(entry.path())?;
            }
        }
        let _ = std::fs::remove_dir(&legacy); // only if now empty
    }
    Ok(())
}

/// A server bound to its address, ready to run.
pub struct Server {
    state: AppState,
    listener: Listener,
    limits: HttpLimits,
    /// Held while the server runs ([`LOCK_FILE`]).
    lock: std::fs::File,
    /// The SQLite store (in cluster mode the cache the config log is applied to).
    local: Arc<SqliteStore>,
    /// The generated first admin password, to be printed once.
    pub generated_admin_password: Option<String>,
    /// Cluster mode: `OBSYNC_ADMIN_PASSWORD`, for the cluster's first admin.
    cluster_admin_password: Option<String>,
}

/// Warns when `OBSYNC_ADMIN_PASSWORD` is set and is not the stored admin's password.
async fn warn_env_password(store: &dyn Store, env_password: Option<&str>, cluster: bool) {
    if !auth::env_password_differs(store, env_password).await {
        return;
    }
    if cluster {
        tracing::warn!(
            "OBSYNC_ADMIN_PASSWORD is not the password of the cluster's user \"admin\": it only sets the password when the cluster makes its first admin (on whichever server does so first) and is ignored now; unset it, or give every server the same one before the cluster's first start; change the password with PUT /api/v1/me/password"
        );
    } else {
        tracing::warn!(
            "OBSYNC_ADMIN_PASSWORD is not the stored password of user \"admin\": it only sets the password at the first start and is ignored now; unset it, or run `obsync server reset-admin-password` with the server stopped to make it the password"
        );
    }
}

impl Server {
    /// Opens the data directory (creating the store, the key and the first admin) and
    /// binds the address.
    pub async fn bind(options: ServerOptions) -> Result<Server, ServerError> {
        if !options.listen.ip().is_loopback() && options.tls.is_none() && !options.insecure_listen {
            return Err(ServerError::InsecureListen {
                addr: options.listen,
            });
        }
        // Before anything is created: a bad certificate leaves no data directory behind.
        let tls = options.tls.as_ref().map(tls::load).transpose()?;
        private_data_dir(&options.data_dir).map_err(|source| ServerError::DataDir {
            path: options.data_dir.clone(),
            source,
        })?;
        let lock = lock_data_dir(&options.data_dir)?;
        let store = SqliteStore::open(&options.data_dir)?;
        let key = match &options.secret_key {
            Some(path) => SecretKey::load_or_create_at(path.clone())?,
            None => SecretKey::load_or_create(&options.data_dir)?,
        };
        // In cluster mode the users are the cluster's: the first admin is made once
        // the store has caught up with the config log (`run`).
        let (generated_admin_password, cluster_admin_password) = if options.cluster.is_none() {
            warn_env_password(&store, options.admin_password.as_deref(), false).await;
            (
                auth::ensure_admin(&store, options.admin_password).await?,
                None,
            )
        } else {
            (None, options.admin_password)
        };
        let listener = tokio::net::TcpListener::bind(options.listen)
            .await
            .map_err(|source| ServerError::Listen {
                addr: options.listen,
                source,
            })?;
        let mut limits = HttpLimits::for_fd_limit(http::raise_fd_limit());
        if let Some(max) = options.http.max_connections {
            limits.max_connections = max.max(1);
        }
        if let Some(idle) = options.http.idle_timeout {
            limits.header_read_timeout = idle;
        }
        let local = Arc::new(store);
        let (store, cluster) = match options.cluster {
            None => (local.clone() as Arc<dyn Store>, None),
            Some(cluster_options) => {
                let cluster = cluster::Cluster::connect(cluster_options).await?;
                let store = cluster::config_log::ReplicatedStore::new(
                    local.clone(),
                    cluster.config.clone(),
                );
                (Arc::new(store) as Arc<dyn Store>, Some(cluster))
            }
        };
        let state = Arc::new(ServerState {
            store,
            cluster,
            key,
            data_dir: options.data_dir,
            runtime: Default::default(),
            logins: Default::default(),
            tls: tls.is_some(),
            lifecycle: Default::default(),
            allowed_hosts: Arc::new(http::AllowedHosts::new(&options.http.public_names)),
            request_timeout: limits.request_timeout,
            verifies: Default::default(),
            shared_stream: options.shared_stream,
        });
        Ok(Server {
            state,
            listener: match tls {
                None => Listener::Plain(listener),
                Some(acceptor) => {
                    Listener::Tls(TlsListener::new(listener, acceptor).map_err(|source| {
                        ServerError::Listen {
                            addr: options.listen,
                            source,
                        }
                    })?)
                }
            },
            limits,
            generated_admin_password,
            cluster_admin_password,
            lock,
            local,
        })
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The server's base URL (`https://` under TLS).
    pub fn url(&self) -> std::io::Result<String> {
        let scheme = match self.listener {
            Listener::Plain(_) => "http",
            Listener::Tls(_) => "https",
        };
        Ok(format!("{scheme}://{}", self.local_addr()?))
    }

    /// The server's shared state (tests and the OpenAPI export use it).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Resumes the projects that were running, serves until `shutdown` completes, then
    /// stops every project (each delivers its in-flight messages and checkpoints, and
    /// resumes at the next start).
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServerError> {
        let state = self.state;
        let _lock = self.lock;
        match state.cluster.clone() {
            // Which projects run here is the group's to say, once the store holds the
            // cluster's definitions.
            Some(cluster) => {
                cluster::start(&state, &cluster, self.local).await?;
                // The cluster makes its first admin once: the first server to find no
                // user appends it, and a second server's admin, appended before it saw
                // the first, loses on the taken name in log order (no second admin).
                let password = self.cluster_admin_password;
                warn_env_password(&*state.store, password.as_deref(), true).await;
                if let Some(generated) = auth::ensure_admin(&*state.store, password).await? {
                    // Printed once, on the terminal only, as the CLI does outside a cluster.
                    eprintln!("first start of the cluster: created user \"admin\" with password {generated}  (shown only now; set OBSYNC_ADMIN_PASSWORD to choose it)");
                }
            }
            None => service::recover(&state).await?,
        }
        let sampler = tokio::spawn(runtime::sample_forever(state.clone()));
        // The HTTP loop hands the client's address to the router (`ConnectInfo`): the
        // login limits and the audit trail use it.
        let app = api::app(state.clone());
        http::serve(self.listener, app, self.limits, shutdown).await;
        tracing::info!(
            "stopping: delivering in-flight messages and saving every project's checkpoint"
        );
        runtime::shutdown(&state).await;
        sampler.abort();
        Ok(())
    }
}
