//! One module per command, each with `execute(args) -> anyhow::Result<ExitCode>`.

pub mod precheck;
pub mod run;
pub mod server;
pub mod validate;

use std::path::Path;
use std::process::ExitCode;

use obsync_config::ProjectConfig;

/// Exit code when the project file has problems (clap uses 2 for bad arguments too).
pub const EXIT_INVALID_CONFIG: u8 = 2;

/// Exit code of commands whose engine is not built yet.
pub const EXIT_NOT_READY: u8 = 3;

/// Loads the project file, or prints every problem to stderr and returns the exit code.
pub fn load_config(path: &Path) -> Result<ProjectConfig, ExitCode> {
    ProjectConfig::from_file(path).map_err(|errors| {
        for error in &errors {
            eprintln!("{error}");
        }
        let count = errors.len();
        eprintln!(
            "{}: {count} problem{} found",
            path.display(),
            if count == 1 { "" } else { "s" }
        );
        ExitCode::from(EXIT_INVALID_CONFIG)
    })
}

/// Loads the project file and turns it into the engine's settings, or prints what is
/// wrong and returns the exit code.
pub fn load_settings(path: &Path) -> Result<obsync_pipeline::Settings, ExitCode> {
    let config = load_config(path)?;
    obsync_pipeline::Settings::from_config(config).map_err(|e| {
        eprintln!("{}: {}", path.display(), obsync_model::ErrorChain(&e));
        ExitCode::from(EXIT_INVALID_CONFIG)
    })
}

/// Says plainly that `engine` is not there yet and returns [`EXIT_NOT_READY`].
pub fn not_ready(engine: &str) -> ExitCode {
    eprintln!("not ready yet: the {engine} arrives in a later release; run projects with `obsync run -c FILE` meanwhile");
    ExitCode::from(EXIT_NOT_READY)
}
