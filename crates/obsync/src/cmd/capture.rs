//! `obsync capture`: records a source's facts and a bounded binlog dump into one file.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use obsync_config::TablePattern;
use obsync_model::{BinlogCoord, TableId};
use obsync_source::binlog::TableFilter;
use obsync_source::capture::{self, CaptureFrom, CaptureOptions, CaptureProgress};

use crate::cli::CaptureArgs;

/// Writes the capture; exits 0 when the file is complete.
pub async fn execute(args: CaptureArgs) -> anyhow::Result<ExitCode> {
    let from = match args.from.as_str() {
        "end" => CaptureFrom::End,
        "last-file" => CaptureFrom::LastFile,
        other => CaptureFrom::At(coord(other).with_context(|| {
            format!("--from {other:?}: use end, last-file or FILE:POS (e.g. mysql-bin.000042:4)")
        })?),
    };
    let to = args
        .to
        .as_deref()
        .map(|t| {
            coord(t)
                .with_context(|| format!("--to {t:?}: use FILE:POS (e.g. mysql-bin.000042:90210)"))
        })
        .transpose()?;
    let settings = match super::load_settings(&args.config, super::Purpose::Connect) {
        Ok(s) => s,
        Err(code) => return Ok(code),
    };
    let tables = table_filter(&args.tables, &settings.config.objects)?;
    let options = CaptureOptions {
        tables,
        from,
        to,
        max_events: args.events,
        max_duration: Duration::from_secs(args.seconds),
        mask: args.mask,
        // Not the project's own id, nor another capture's: a second replica with the
        // same id makes the server drop the first one's dump.
        server_id: obsync_config::derived_server_id(&format!(
            "{}/capture/{}/{:?}",
            settings.name,
            std::process::id(),
            std::time::SystemTime::now()
        )),
    };
    let file = tokio::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&args.output)
        .await
        .with_context(|| {
            format!(
                "cannot create the capture file {} (it must not exist yet: choose another name or delete it)",
                args.output.display()
            )
        })?;
    let mut out = tokio::io::BufWriter::new(file);
    let stop = async {
        // Without a signal handler Ctrl-C only ends the capture early, as asked.
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    let end = capture::record(&settings.source, &options, &mut out, report, stop).await?;
    eprintln!(
        "wrote {} events to {} (stopped: {}, at {}:{})",
        end.events,
        args.output.display(),
        end.stopped,
        end.file,
        end.pos
    );
    Ok(ExitCode::SUCCESS)
}

/// One progress line on stderr.
fn report(p: &CaptureProgress) {
    eprintln!(
        "capture: {} events ({} KiB), at {}, {} s",
        p.events,
        p.bytes / 1024,
        p.at,
        p.elapsed.as_secs()
    );
}

/// `FILE:POS`.
fn coord(text: &str) -> Option<BinlogCoord> {
    let (file, pos) = text.rsplit_once(':')?;
    let pos: u64 = pos.parse().ok()?;
    (!file.is_empty() && pos >= 4).then(|| BinlogCoord::new(file, pos))
}

/// `--tables` patterns, or the project's table selection.
fn table_filter(
    patterns: &[String],
    objects: &[obsync_config::ObjectRule],
) -> anyhow::Result<TableFilter> {
    if patterns.is_empty() {
        let objects = objects.to_vec();
        return Ok(Arc::new(move |t: &TableId| {
            objects.iter().any(|o| o.selects(t))
        }));
    }
    let parsed = patterns
        .iter()
        .map(|p| {
            TablePattern::parse(p.trim()).map_err(|e| anyhow::anyhow!("--tables: {e}: {}", e.fix()))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Arc::new(move |t: &TableId| {
        parsed.iter().any(|p| p.matches(t))
    }))
}
