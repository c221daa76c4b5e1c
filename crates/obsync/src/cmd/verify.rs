//! `obsync verify`: compares the tables rebuilt from a project's topics with the source.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use obsync_pipeline::verify::{self, Progress, VerifyOptions};

use crate::cli::{VerifyArgs, VerifyProgress};

/// Exit code when some table differs (or `storeDataSequence` goes back).
pub const EXIT_DIFFERENT: u8 = 1;
/// Exit code when verify could not finish (the project file included).
pub const EXIT_ERROR: u8 = 2;

/// Prints the verify report of `args.config`; exits 0 when clean, 1 on differences, 2
/// when it could not verify.
pub async fn execute(args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let settings = match super::load_settings(&args.config, super::Purpose::Connect) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let options = VerifyOptions {
        examples: args.examples,
        chunk_rows: usize::try_from(args.chunk_rows).unwrap_or(usize::MAX),
        rechecks: args.rechecks,
        ..VerifyOptions::default()
    };
    let bar = spinner(args.progress);
    let shown = bar.clone();
    let progress: verify::ProgressFn = Arc::new(move |p| shown.set_message(describe(&p)));
    let result = verify::verify(&settings, &options, progress).await;
    bar.finish_and_clear();
    match result {
        Ok(report) => {
            print!("{report}");
            Ok(if report.is_clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_DIFFERENT)
            })
        }
        // Not the generic failure exit (1): that would read as "differences".
        Err(e) => {
            eprintln!("error: {}", obsync_model::ErrorChain(&e));
            Ok(ExitCode::from(EXIT_ERROR))
        }
    }
}

fn spinner(mode: VerifyProgress) -> ProgressBar {
    let bar = match mode {
        // indicatif draws nothing when stderr is not a terminal.
        VerifyProgress::Bars => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
        VerifyProgress::Off => ProgressBar::hidden(),
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} {elapsed} {msg}").expect("static template"),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn describe(p: &Progress) -> String {
    match p {
        Progress::TopicRead { topic, records } => format!("topic {topic}: {records} records read"),
        Progress::RowsChecked { table, rows } => {
            format!("table {table}: {rows} source rows compared")
        }
        Progress::Recheck { topic, round, keys } => {
            format!("topic {topic}: checking {keys} differing keys again (round {round})")
        }
    }
}
