//! `[sync.format_options]`: rendering choices of one format, each defaulting to what the
//! format's own producer (OMS, Maxwell) writes. A key for another format than the
//! project's is an error, so a typo'd format never silently ignores a choice.

use obsync_format::{
    CanalBinary, FormatKind, MaxwellKeyFormat, MaxwellOptions, MaxwellSnapshotType,
    TimestampFraction,
};
use toml::Spanned;

use crate::error::Problems;
use crate::raw::RawFormatOptions;

/// The validated `[sync.format_options]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FormatChoices {
    /// Canal binary values: ISO-8859-1 characters (Canal's) or Base64 (Flink's).
    pub canal_binary: CanalBinary,
    /// Default family TIMESTAMP fraction digits: the column's or nine.
    pub timestamp_fraction: TimestampFraction,
    /// Maxwell's key format, snapshot `type` and `output_*` switches.
    pub maxwell: MaxwellOptions,
}

/// Which formats read a key.
fn applies(key: &str, format: FormatKind) -> bool {
    match key {
        "canal_binary" => format == FormatKind::Canal,
        "timestamp_fraction" => matches!(
            format,
            FormatKind::Default | FormatKind::DefaultExtendColumnType
        ),
        _ => format == FormatKind::Maxwell,
    }
}

fn formats_of(key: &str) -> &'static str {
    match key {
        "canal_binary" => "Canal",
        "timestamp_fraction" => "Default and DefaultExtendColumnType",
        _ => "Maxwell",
    }
}

pub(crate) fn check_format_options(
    raw: Option<&RawFormatOptions>,
    format: Option<FormatKind>,
    problems: &mut Problems<'_>,
) -> Option<FormatChoices> {
    let mut out = FormatChoices::default();
    let Some(raw) = raw else {
        return Some(out);
    };
    let before = problems.len();
    let mut choice = |key: &str, value: &Spanned<String>, allowed: &[&str]| -> Option<usize> {
        let field = format!("sync.format_options.{key}");
        if let Some(format) = format.filter(|f| !applies(key, *f)) {
            problems.report(
                value.span(),
                field,
                format!(
                    "{key} applies to {}, the format is {format}",
                    formats_of(key)
                ),
                format!("remove {key}, or choose a format it applies to"),
            );
            return None;
        }
        let found = allowed
            .iter()
            .position(|a| a.eq_ignore_ascii_case(value.get_ref()));
        if found.is_none() {
            problems.report(
                value.span(),
                field,
                format!("{key} {:?} is not one of its values", value.get_ref()),
                format!(
                    "use {}",
                    allowed
                        .iter()
                        .map(|a| format!("{a:?}"))
                        .collect::<Vec<_>>()
                        .join(" or ")
                ),
            );
        }
        found
    };
    if let Some(v) = &raw.canal_binary {
        if let Some(i) = choice("canal_binary", v, &["latin1", "base64"]) {
            out.canal_binary = [CanalBinary::Latin1, CanalBinary::Base64][i];
        }
    }
    if let Some(v) = &raw.timestamp_fraction {
        if let Some(i) = choice("timestamp_fraction", v, &["column", "nanos"]) {
            out.timestamp_fraction = [TimestampFraction::Column, TimestampFraction::Nanos][i];
        }
    }
    if let Some(v) = &raw.maxwell_key_format {
        if let Some(i) = choice("maxwell_key_format", v, &["hash", "array"]) {
            out.maxwell.key_format = [MaxwellKeyFormat::Hash, MaxwellKeyFormat::Array][i];
        }
    }
    if let Some(v) = &raw.maxwell_snapshot_type {
        if let Some(i) = choice("maxwell_snapshot_type", v, &["bootstrap-insert", "insert"]) {
            out.maxwell.snapshot_type = [
                MaxwellSnapshotType::BootstrapInsert,
                MaxwellSnapshotType::Insert,
            ][i];
        }
    }
    let m = &mut out.maxwell;
    for (key, value, slot) in [
        (
            "maxwell_position",
            &raw.maxwell_position,
            &mut m.binlog_position,
        ),
        ("maxwell_gtid", &raw.maxwell_gtid, &mut m.gtid_position),
        ("maxwell_xoffset", &raw.maxwell_xoffset, &mut m.xoffset),
        (
            "maxwell_primary_keys",
            &raw.maxwell_primary_keys,
            &mut m.primary_keys,
        ),
        (
            "maxwell_primary_key_columns",
            &raw.maxwell_primary_key_columns,
            &mut m.primary_key_columns,
        ),
    ] {
        let Some(flag) = value else { continue };
        if let Some(format) = format.filter(|f| !applies(key, *f)) {
            problems.report(
                flag.span(),
                format!("sync.format_options.{key}"),
                format!("{key} applies to Maxwell, the format is {format}"),
                format!("remove {key}, or set format = \"Maxwell\""),
            );
            continue;
        }
        *slot = *flag.get_ref();
    }
    (problems.len() == before).then_some(out)
}
