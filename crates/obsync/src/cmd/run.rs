//! `obsync run`: runs a project from its file.

use std::process::ExitCode;

use crate::cli::RunArgs;

/// Runs the project in `args.config`. Not built yet: the pipeline brings it.
pub async fn execute(args: RunArgs) -> anyhow::Result<ExitCode> {
    tracing::debug!(config = %args.config.display(), state_dir = %args.state_dir.display(), "run requested");
    Ok(super::not_ready("run"))
}
