//! `obsync server`: the web console and REST API.

use std::process::ExitCode;

use crate::cli::ServerArgs;

/// Serves the console on `args.listen`. Not built yet: the service brings it.
pub async fn execute(args: ServerArgs) -> anyhow::Result<ExitCode> {
    tracing::debug!(listen = %args.listen, "server requested");
    Ok(super::not_ready("server (web console and REST API)"))
}
