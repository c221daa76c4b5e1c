//! `[sync.format_options]`: rendering choices of one format, each defaulting to what the
//! format's own producer (OMS, Maxwell) writes. A key for another format than the
//! project's is an error, so a typo'd format never silently ignores a choice.

use obsync_format::{
    CanalBinary, FormatKind, MaxwellKeyFormat, MaxwellOptions, MaxwellSnapshotType,
    SubjectNameStrategy, TimestampFraction,
};
use toml::Spanned;

use crate::error::Problems;
use crate::raw::RawFormatOptions;
use crate::secret::{resolve_password, Environment, Secret};

/// Where an Avro format registers its schemas (a Confluent-compatible REST API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaRegistry {
    /// The API's base URL, without a trailing `/` (`http://host:8081`,
    /// `http://host:8080/apis/ccompat/v7`).
    pub url: String,
    /// HTTP basic authentication, if the registry wants it.
    pub username: Option<String>,
    /// The basic-authentication password (from `schema_registry_password` or `_env`).
    pub password: Option<Secret>,
    /// How subjects are named: `<topic>-key`/`-value`, the record name, or both.
    pub subject_name_strategy: SubjectNameStrategy,
}

/// The validated `[sync.format_options]` table.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FormatChoices {
    /// Canal binary values: ISO-8859-1 characters (Canal's) or Base64 (Flink's).
    pub canal_binary: CanalBinary,
    /// Default family TIMESTAMP fraction digits: the column's or nine.
    pub timestamp_fraction: TimestampFraction,
    /// Maxwell's key format, snapshot `type` and `output_*` switches.
    pub maxwell: MaxwellOptions,
    /// The schema registry of the Avro format (required with it, refused without).
    pub schema_registry: Option<SchemaRegistry>,
}

/// Which formats read a key.
fn applies(key: &str, format: FormatKind) -> bool {
    match key {
        "canal_binary" => format == FormatKind::Canal,
        "timestamp_fraction" => matches!(
            format,
            FormatKind::Default | FormatKind::DefaultExtendColumnType
        ),
        k if k.starts_with("schema_registry") || k == "subject_name_strategy" => {
            format.needs_schema_registry()
        }
        _ => format == FormatKind::Maxwell,
    }
}

fn formats_of(key: &str) -> &'static str {
    match key {
        "canal_binary" => "Canal",
        "timestamp_fraction" => "Default and DefaultExtendColumnType",
        k if k.starts_with("schema_registry") || k == "subject_name_strategy" => "DebeziumAvro",
        _ => "Maxwell",
    }
}

pub(crate) fn check_format_options(
    raw: Option<&RawFormatOptions>,
    format: Option<FormatKind>,
    format_span: std::ops::Range<usize>,
    env: &Environment,
    problems: &mut Problems<'_>,
) -> Option<FormatChoices> {
    let mut out = FormatChoices::default();
    let Some(raw) = raw else {
        if format.is_some_and(FormatKind::needs_schema_registry) {
            problems.report(
                format_span,
                "sync.format_options.schema_registry_url",
                "the DebeziumAvro format needs a schema registry, and none is configured",
                "add [sync.format_options] schema_registry_url = \"http://host:8081\"",
            );
            return None;
        }
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
    let strategy = match &raw.subject_name_strategy {
        Some(v) => choice(
            "subject_name_strategy",
            v,
            &["topic", "record", "topic_record"],
        )
        .map(|i| {
            [
                SubjectNameStrategy::Topic,
                SubjectNameStrategy::Record,
                SubjectNameStrategy::TopicRecord,
            ][i]
        }),
        None => Some(SubjectNameStrategy::Topic),
    };
    for (key, value) in [
        ("schema_registry_url", &raw.schema_registry_url),
        ("schema_registry_username", &raw.schema_registry_username),
        ("schema_registry_password", &raw.schema_registry_password),
        (
            "schema_registry_password_env",
            &raw.schema_registry_password_env,
        ),
    ] {
        if let (Some(v), Some(format)) = (value, format) {
            if !applies(key, format) {
                problems.report(
                    v.span(),
                    format!("sync.format_options.{key}"),
                    format!("{key} applies to DebeziumAvro, the format is {format}"),
                    format!("remove {key}, or set format = \"DebeziumAvro\""),
                );
            }
        }
    }
    if format.is_some_and(FormatKind::needs_schema_registry) {
        out.schema_registry = check_registry(
            raw,
            strategy.unwrap_or_default(),
            format_span,
            env,
            problems,
        );
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

fn check_registry(
    raw: &RawFormatOptions,
    subject_name_strategy: SubjectNameStrategy,
    format_span: std::ops::Range<usize>,
    env: &Environment,
    problems: &mut Problems<'_>,
) -> Option<SchemaRegistry> {
    let Some(url) = &raw.schema_registry_url else {
        problems.report(
            format_span,
            "sync.format_options.schema_registry_url",
            "the DebeziumAvro format needs a schema registry, and none is configured",
            "add schema_registry_url = \"http://host:8081\" to [sync.format_options]",
        );
        return None;
    };
    let text = url.get_ref().trim().trim_end_matches('/');
    let rest = text
        .strip_prefix("http://")
        .or_else(|| text.strip_prefix("https://"));
    if rest.is_none_or(|r| r.is_empty() || r.starts_with('/') || r.contains(char::is_whitespace)) {
        problems.report(
            url.span(),
            "sync.format_options.schema_registry_url",
            format!("schema_registry_url {:?} is not an http(s) URL", url.get_ref()),
            "write http://host:port, with the API's path if it has one (Apicurio: http://host:8080/apis/ccompat/v7)",
        );
        return None;
    }
    let password = match (
        &raw.schema_registry_password,
        &raw.schema_registry_password_env,
    ) {
        (None, None) => None,
        (password, password_env) => resolve_password(
            password.as_ref(),
            password_env.as_ref(),
            "sync.format_options.schema_registry",
            url.span(),
            env,
            problems,
        ),
    };
    if password.is_some() != raw.schema_registry_username.is_some() {
        problems.report(
            url.span(),
            "sync.format_options.schema_registry_username",
            "basic authentication needs both schema_registry_username and a password",
            "set both, or neither",
        );
        return None;
    }
    Some(SchemaRegistry {
        url: text.to_string(),
        username: raw
            .schema_registry_username
            .as_ref()
            .map(|u| u.get_ref().clone()),
        password,
        subject_name_strategy,
    })
}
