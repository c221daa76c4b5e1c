//! `obsync server`: the web console and REST API over many projects.

use std::process::ExitCode;
use std::time::Duration;

use obsync_kafka::KafkaTarget;
use obsync_server::cluster::{ClusterName, ClusterOptions, NodeId, DEFAULT_SESSION_TIMEOUT};
use obsync_server::tls::TlsFiles;
use obsync_server::{HttpOptions, Server, ServerOptions};

use crate::cli::{ResetAdminPasswordArgs, ServerArgs, ServerCommand};

/// Serves until SIGINT/SIGTERM, then stops every project with a saved checkpoint.
pub async fn execute(args: ServerArgs) -> anyhow::Result<ExitCode> {
    if let Some(ServerCommand::ResetAdminPassword(reset)) = args.command {
        return reset_admin_password(reset).await;
    }
    let server = Server::bind(ServerOptions {
        data_dir: args.data_dir.clone(),
        listen: args.listen,
        // clap makes the two arguments come together.
        tls: args
            .tls_cert
            .zip(args.tls_key)
            .map(|(cert, key)| TlsFiles { cert, key }),
        insecure_listen: args.insecure_listen,
        admin_password: std::env::var("OBSYNC_ADMIN_PASSWORD").ok(),
        http: HttpOptions {
            public_names: args.public_name,
            max_connections: args.max_connections.map(|n| n as usize),
            idle_timeout: args.idle_timeout.map(Duration::from_secs),
        },
        secret_key: args.secret_key,
        cluster: cluster_options(
            args.cluster.as_deref(),
            control_kafka(args.control_kafka, args.control_kafka_config.as_deref())?,
            args.buckets,
            args.node_id,
            args.session_timeout,
        )?,
        shared_stream: !args.no_shared_stream,
    })
    .await?;
    let url = server.url()?;
    if let Some(password) = &server.generated_admin_password {
        // Printed once, on the terminal only: it is not kept anywhere in clear text.
        eprintln!("first start: created user \"admin\" with password {password}  (shown only now; set OBSYNC_ADMIN_PASSWORD to choose it)");
    }
    eprintln!(
        "obsync server on {url}/ (API {url}/api/v1, data in {})",
        args.data_dir.display()
    );
    server.run(shutdown_signal()).await?;
    eprintln!("stopped; every project's checkpoint is saved and running projects resume at the next start");
    Ok(ExitCode::SUCCESS)
}

/// The control Kafka of `--control-kafka` (plaintext) or `--control-kafka-config` (with
/// SASL and TLS, checked as a project file's `[target]`); clap keeps them apart.
fn control_kafka(
    bootstrap: Option<String>,
    file: Option<&std::path::Path>,
) -> anyhow::Result<Option<KafkaTarget>> {
    let target = match (bootstrap, file) {
        (Some(bootstrap), _) => KafkaTarget::new(bootstrap),
        (None, Some(file)) => {
            let config = obsync_config::control_kafka_from_file(
                file,
                &obsync_config::Environment::process(),
            )
            .map_err(|e| anyhow::anyhow!("--control-kafka-config: {e}"))?;
            KafkaTarget::from(&config)
        }
        (None, None) => return Ok(None),
    };
    if target
        .sasl
        .as_ref()
        .is_some_and(|s| s.mechanism == obsync_config::SaslMechanism::Gssapi)
    {
        anyhow::bail!(
            "--control-kafka-config: the control Kafka does not take SASL GSSAPI (Kerberos) yet: use SCRAM-SHA-512, SCRAM-SHA-256 or PLAIN over TLS for the servers' user"
        );
    }
    Ok(Some(target))
}

/// The cluster flags as typed options.
fn cluster_options(
    name: Option<&str>,
    control_kafka: Option<KafkaTarget>,
    buckets: Option<i32>,
    node_id: Option<String>,
    session_timeout: Option<u64>,
) -> anyhow::Result<Option<ClusterOptions>> {
    let Some(name) = name else {
        return Ok(None);
    };
    let Some(control_kafka) = control_kafka else {
        anyhow::bail!("--cluster needs the Kafka that coordinates the cluster: pass --control-kafka HOST:PORT,... or --control-kafka-config FILE");
    };
    let node = match node_id {
        Some(id) => id,
        None => std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "cannot read this machine's host name for the node id: pass --node-id"
                )
            })?,
    };
    Ok(Some(ClusterOptions {
        name: ClusterName::parse(name).map_err(|e| anyhow::anyhow!("--cluster: {e}"))?,
        control_kafka,
        buckets,
        node: NodeId::parse(&node).map_err(|e| anyhow::anyhow!("--node-id: {e}"))?,
        session_timeout: session_timeout
            .map(Duration::from_secs)
            .unwrap_or(DEFAULT_SESSION_TIMEOUT),
    }))
}

/// The new password from OBSYNC_ADMIN_PASSWORD, else stdin's first line; never printed.
async fn reset_admin_password(args: ResetAdminPasswordArgs) -> anyhow::Result<ExitCode> {
    let password = match std::env::var("OBSYNC_ADMIN_PASSWORD") {
        Ok(p) if !p.is_empty() => p,
        _ => {
            use std::io::IsTerminal;
            if std::io::stdin().is_terminal() {
                eprintln!(
                    "new password for \"admin\" (read from this line; it is shown as typed):"
                );
            }
            let mut line = String::new();
            std::io::stdin().read_line(&mut line)?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
    };
    obsync_server::reset_admin_password(&args.data_dir, &password).await?;
    eprintln!(
        "the password of user \"admin\" in {} is reset and its sessions are ended",
        args.data_dir.display()
    );
    Ok(ExitCode::SUCCESS)
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, "cannot listen for SIGTERM");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
