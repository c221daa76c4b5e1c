//! `obsync run`: runs a project from its file until it finishes or is stopped.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use obsync_model::ErrorChain;
use obsync_pipeline::{precheck, ProjectHandle, RunOutcome};

use super::precheck::EXIT_PRECHECK_FAILED;
use crate::cli::{ProgressMode, RunArgs};
use crate::progress;

/// Exit code of a run that failed (the checkpoint is intact; fix the cause and rerun).
pub const EXIT_RUN_FAILED: u8 = 1;

pub async fn execute(args: RunArgs) -> anyhow::Result<ExitCode> {
    let settings = match super::load_settings(&args.config, super::Purpose::Connect) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    if !args.skip_precheck {
        let items = precheck::run(&settings, &args.state_dir).await;
        if !precheck::passed(&items) {
            eprint!("{}", precheck::report(&items));
            eprintln!(
                "not starting: fix the failed items (obsync precheck -c {}) and run again",
                args.config.display()
            );
            return Ok(ExitCode::from(EXIT_PRECHECK_FAILED));
        }
        tracing::info!(items = items.len(), "precheck passed");
    }
    let handle = ProjectHandle::start(settings, args.state_dir.clone());
    if args.metrics_listen != "off" {
        let addr: std::net::SocketAddr = args.metrics_listen.parse().with_context(|| {
            format!(
                "--metrics-listen {:?} is not host:port or off",
                args.metrics_listen
            )
        })?;
        let listener = tokio::net::TcpListener::bind(addr).await.with_context(|| {
            format!("cannot listen on {addr} for metrics: choose another --metrics-listen or off")
        })?;
        tracing::info!(%addr, "metrics on http://{addr}/metrics, status on http://{addr}/status");
        tokio::spawn(crate::http::serve(listener, handle.clone()));
    }
    tokio::spawn(stop_on_signal(handle.clone()));
    let mode = args.progress.unwrap_or(if std::io::stderr().is_terminal() {
        ProgressMode::Bars
    } else {
        ProgressMode::Lines
    });
    let display = tokio::spawn(progress::show(handle.clone(), mode));
    let outcome = handle.join().await;
    display.abort();
    progress::final_line(&handle.status());
    match outcome {
        Ok(RunOutcome::Finished) => {
            eprintln!("finished: every requested stage is done");
            Ok(ExitCode::SUCCESS)
        }
        Ok(RunOutcome::Stopped) => {
            eprintln!(
                "stopped; the checkpoint is saved in {}: run again to resume",
                args.state_dir.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {}", ErrorChain(&e));
            eprintln!("the project failed; its checkpoint in {} is intact: fix the cause and run again to resume", args.state_dir.display());
            Ok(ExitCode::from(EXIT_RUN_FAILED))
        }
    }
}

/// First SIGINT/SIGTERM: stop gracefully (deliver in-flight messages, checkpoint).
/// A second one exits at once; the checkpoint on disk is still consistent.
async fn stop_on_signal(handle: ProjectHandle) {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %ErrorChain(&e), "cannot listen for SIGTERM");
            return;
        }
    };
    for round in 0.. {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        if round == 0 {
            eprintln!("stopping: delivering in-flight messages and saving the checkpoint (signal again to exit at once)");
            handle.stop();
        } else {
            eprintln!("exiting at once; the saved checkpoint is consistent, recent progress will be replayed");
            std::process::exit(130);
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}
