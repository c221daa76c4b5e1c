//! `obsync server`: the web console and REST API over many projects.

use std::process::ExitCode;
use std::time::Duration;

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
