//! `obsync precheck`: checks a project against the real source and Kafka.

use std::process::ExitCode;

use obsync_pipeline::precheck;

use crate::cli::PrecheckArgs;

/// Exit code when at least one precheck item failed.
pub const EXIT_PRECHECK_FAILED: u8 = 4;

/// Prints the precheck report of `args.config`; exits 0 when it passed, 4 when not.
pub async fn execute(args: PrecheckArgs) -> anyhow::Result<ExitCode> {
    let settings = match super::load_settings(&args.config, super::Purpose::Connect) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let items = precheck::run(&settings, &args.state_dir).await;
    print!("{}", precheck::report(&items));
    Ok(if precheck::passed(&items) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_PRECHECK_FAILED)
    })
}
