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

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(cli.log_format);
    let result = match cli.command {
        Command::Run(args) => cmd::run::execute(args).await,
        Command::Precheck(args) => cmd::precheck::execute(args).await,
        Command::Validate(args) => cmd::validate::execute(args).await,
        Command::Server(args) => cmd::server::execute(args).await,
    };
    result.unwrap_or_else(|error| {
        eprintln!("error: {}", obsync_model::ErrorChain(error.as_ref()));
        ExitCode::FAILURE
    })
}
