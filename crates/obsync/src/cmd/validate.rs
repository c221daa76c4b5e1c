//! `obsync validate`: checks a project file offline and prints what it defines.

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use obsync_config::{ObjectRule, ProjectConfig, StartPosition};

use crate::cli::ValidateArgs;

/// Validates `args.config` by building the same settings `run` builds, short of connecting:
/// prints every problem to stderr (exit 2) or a summary to stdout (exit 0).
pub async fn execute(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    match super::load_settings(&args.config, super::Purpose::Check) {
        Ok(settings) => {
            print!("{}", summary(&settings.config, &args.config));
            Ok(ExitCode::SUCCESS)
        }
        Err(code) => Ok(code),
    }
}

/// A few lines saying what the project does, for a human to check at a glance.
fn summary(config: &ProjectConfig, path: &Path) -> String {
    let mut out = String::new();
    let (source, target, sync) = (&config.source, &config.target, &config.sync);
    let on_off = |on: bool| if on { "on" } else { "off" };
    // Writing to a String cannot fail.
    let _ = writeln!(out, "{}: project {} is valid", path.display(), config.name);
    if !config.tags.is_empty() {
        let tags: Vec<&str> = config.tags.iter().map(|t| t.as_str()).collect();
        let _ = writeln!(out, "  tags:      {}", tags.join(", "));
    }
    let tenant = match &source.message_tenant {
        Some(tenant) => format!(", message tenant {tenant}"),
        None => String::new(),
    };
    let _ = writeln!(
        out,
        "  source:    {} {} at {}:{} (server_id {}{tenant})",
        source.kind, source.user, source.host, source.port, source.server_id
    );
    let mut security = Vec::new();
    if let Some(sasl) = &target.sasl {
        security.push(format!("SASL {} as {}", sasl.mechanism, sasl.username));
    }
    if target.tls.is_some() {
        security.push("TLS".to_string());
    }
    let _ = writeln!(
        out,
        "  target:    Kafka {} at {} (compression {}{}{})",
        target.version,
        target.bootstrap_servers_string(),
        target.compression,
        if security.is_empty() { "" } else { ", " },
        security.join(", ")
    );
    let start = match sync.start {
        StartPosition::None => String::new(),
        start => format!("; incremental starts {start}"),
    };
    let _ = writeln!(out, "  sync:      {}{start}", sync.types);
    let heartbeat = match sync.heartbeat_interval {
        Some(every) => format!("every {}s", every.as_secs()),
        None => "off".to_string(),
    };
    let _ = writeln!(
        out,
        "  format:    {} (tx_sequence {}, DDL messages {}, heartbeats {heartbeat})",
        sync.format,
        on_off(sync.tx_sequence),
        on_off(sync.ddl_messages)
    );
    let _ = writeln!(
        out,
        "  partition: {}; new topics get {} partitions, replication factor {}",
        sync.partition_rule, sync.topic_partitions, sync.topic_replication_factor
    );
    let _ = writeln!(out, "  objects (first match wins):");
    for (i, rule) in config.objects.iter().enumerate() {
        write_rule(&mut out, i + 1, rule);
    }
    out
}

fn write_rule(out: &mut String, number: usize, rule: &ObjectRule) {
    let join = |patterns: &[obsync_config::TablePattern]| {
        patterns
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let exclude = if rule.exclude.is_empty() {
        String::new()
    } else {
        format!(" except {}", join(&rule.exclude))
    };
    let _ = writeln!(
        out,
        "    {number}. {}{exclude} -> {}",
        join(&rule.include),
        rule.topic
    );
    for (table, columns) in &rule.shard_columns {
        let _ = writeln!(
            out,
            "       shard columns of {table}: {}",
            columns.join(", ")
        );
    }
}
