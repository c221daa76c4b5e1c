//! One module per command, each with `execute(args) -> anyhow::Result<ExitCode>`.

pub mod capture;
pub mod precheck;
pub mod run;
pub mod server;
pub mod validate;
pub mod verify;

use std::path::Path;
use std::process::ExitCode;

use obsync_config::ProjectConfig;

/// Exit code when the project file has problems (clap uses 2 for bad arguments too).
pub const EXIT_INVALID_CONFIG: u8 = 2;

/// What a project file is loaded for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Only checked (`validate`): an unset `password_env` variable is a warning, since it is
    /// needed where the project runs, not to check the file.
    Check,
    /// Connected with (`run`, `precheck`): every password must be there.
    Connect,
}

/// Loads the project file, printing its warnings to stderr, or prints every problem to
/// stderr and returns the exit code.
pub fn load_config(path: &Path, purpose: Purpose) -> Result<ProjectConfig, ExitCode> {
    let env = obsync_pipeline::settings::project_environment();
    let env = match purpose {
        Purpose::Check => env.unset_passwords_warn(),
        Purpose::Connect => env,
    };
    let loaded = ProjectConfig::from_file_with(path, &env);
    if let Ok(config) = &loaded {
        for warning in &config.warnings {
            eprintln!("warning: {warning}");
        }
    }
    loaded.map_err(|errors| {
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

/// Loads the project file and builds the engine's settings from it, everything `run`
/// builds short of connecting; or prints what is wrong and returns the exit code.
pub fn load_settings(path: &Path, purpose: Purpose) -> Result<obsync_pipeline::Settings, ExitCode> {
    Ok(obsync_pipeline::Settings::from_config(load_config(
        path, purpose,
    )?))
}
