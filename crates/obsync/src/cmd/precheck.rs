//! `obsync precheck`: checks a project against the real source and Kafka.

use std::process::ExitCode;

use crate::cli::PrecheckArgs;

/// Prechecks the project in `args.config`. Not built yet: the pipeline brings it.
pub async fn execute(args: PrecheckArgs) -> anyhow::Result<ExitCode> {
    tracing::debug!(config = %args.config.display(), "precheck requested");
    Ok(super::not_ready("precheck"))
}
