//! `obsync`: the command-line entry. Parses arguments, sets up logging and hands over to
//! one module per command under `cmd/`; all the work lives in the library crates.

mod cli;
mod cmd;
mod http;
mod logging;
mod progress;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

// glibc malloc/free took ~29% of obsync's CPU in full sync (docs/performance.md, "Where
// obsync's time goes"): the client libraries allocate per row and per message, from
// several threads. mimalloc's thread-local free lists make those allocations cheap.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    // Kerberos tickets go to a private cache in the server's data directory or the run's
    // state directory. It is named in the environment, so before any thread starts.
    let private_dir = match &cli.command {
        Command::Run(args) => Some(args.state_dir.join("krb5")),
        Command::Precheck(args) => Some(args.state_dir.join("krb5")),
        Command::Verify(args) => Some(args.state_dir.join("krb5")),
        Command::Server(args) => Some(args.data_dir.join("krb5")),
        Command::Validate(_) | Command::Capture(_) => None,
    };
    if let Some(dir) = private_dir {
        obsync_kafka::use_private_credential_cache(&dir);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => cmd::run::execute(args).await,
            Command::Precheck(args) => cmd::precheck::execute(args).await,
            Command::Validate(args) => cmd::validate::execute(args).await,
            Command::Verify(args) => cmd::verify::execute(args).await,
            Command::Capture(args) => cmd::capture::execute(args).await,
            Command::Server(args) => cmd::server::execute(args).await,
        }
    });
    result.unwrap_or_else(|error| {
        eprintln!("error: {}", obsync_model::ErrorChain(error.as_ref()));
        ExitCode::FAILURE
    })
}
