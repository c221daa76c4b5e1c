//! Progress on stderr while a project runs: bars per table during full sync and a
//! status line during incremental sync (or plain lines when stderr is not a terminal).

use std::collections::BTreeMap;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use obsync_pipeline::{ProjectHandle, Stage, StatusSnapshot};

use crate::cli::ProgressMode;

pub async fn show(handle: ProjectHandle, mode: ProgressMode) {
    match mode {
        ProgressMode::Off => {}
        ProgressMode::Lines => loop {
            tokio::time::sleep(Duration::from_secs(10)).await;
            eprintln!("{}", summary(&handle.status()));
        },
        ProgressMode::Bars => bars(handle).await,
    }
}

async fn bars(handle: ProjectHandle) {
    let multi = MultiProgress::new();
    let line = multi.add(ProgressBar::new_spinner());
    let style = ProgressStyle::with_template("{prefix:>28} [{bar:30}] {pos}/{len} rows {percent}%")
        .expect("static template")
        .progress_chars("=> ");
    let mut tables: BTreeMap<String, ProgressBar> = BTreeMap::new();
    loop {
        let s = handle.status();
        line.set_message(summary(&s));
        line.tick();
        if s.stage == Stage::Full {
            for (name, t) in &s.tables {
                let bar = tables.entry(name.clone()).or_insert_with(|| {
                    let b = multi.add(ProgressBar::new(t.rows_estimated.max(1)));
                    b.set_style(style.clone());
                    b.set_prefix(name.clone());
                    b
                });
                // The estimate can be low; the bar grows instead of overflowing.
                bar.set_length(t.rows_estimated.max(t.rows_done).max(1));
                bar.set_position(t.rows_done);
                if t.done && !bar.is_finished() {
                    bar.finish();
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// One line: state, stage, rows, checkpoint, lag, rate, error and the latest notice.
pub fn summary(s: &StatusSnapshot) -> String {
    let mut out = format!(
        "{:?} {:?}: {} rows read, {} messages acknowledged, {:.0} rows/s",
        s.state, s.stage, s.rows_read, s.messages_acked, s.rows_per_second
    );
    if let Some(c) = &s.checkpoint {
        out.push_str(&format!(", checkpoint {c}"));
    }
    match (s.lag_seconds, s.idle_since) {
        (_, Some(since)) => out.push_str(&format!(
            ", caught up (idle for {}s)",
            (obsync_pipeline::delivery::unix_ms() / 1000).saturating_sub(since)
        )),
        (Some(lag), None) => out.push_str(&format!(", lag {lag}s")),
        (None, None) => {}
    }
    if let Some(e) = &s.last_error {
        out.push_str(&format!(", error: {e}"));
    }
    if let Some(last) = s.notices.last() {
        out.push_str(&format!(
            ", {} notice(s), latest: {}",
            s.notices.len(),
            last.message
        ));
    }
    out
}

pub fn final_line(s: &StatusSnapshot) {
    eprintln!("{}", summary(s));
}
