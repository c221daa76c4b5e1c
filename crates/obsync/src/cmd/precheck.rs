//! `obsync precheck`: checks a project against the real source and Kafka.

use std::process::ExitCode;

use obsync_pipeline::{precheck, Settings};

use crate::cli::PrecheckArgs;

/// Exit code when at least one precheck item failed.
pub const EXIT_PRECHECK_FAILED: u8 = 4;

/// Prints the precheck report of `args.config`; exits 0 when it passed, 4 when not.
pub async fn execute(args: PrecheckArgs) -> anyhow::Result<ExitCode> {
    let config = match super::load_config(&args.config) {
        Ok(c) => c,
        Err(code) => return Ok(code),
    };
    let settings = match Settings::from_config(config) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: {e}", args.config.display());
            return Ok(ExitCode::from(super::EXIT_INVALID_CONFIG));
        }
    };
    let items = precheck::run(&settings).await;
    print!("{}", precheck::report(&items));
    Ok(if precheck::passed(&items) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_PRECHECK_FAILED)
    })
}
