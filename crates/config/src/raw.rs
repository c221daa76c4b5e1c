//! The project file as written: serde shapes with spans, deserialized one section at a time
//! from a single parse.
//!
//! `toml` stops at the first error it meets. To report a typo in `[source]` *and* one in
//! `[sync]` in a single run, the text is parsed once into a tree (`toml_edit`, which keeps
//! every value's span) and every section, and each `[[objects]]` entry, is deserialized
//! from its own part of that tree.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::de::{DeserializeOwned, IgnoredAny, IntoDeserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;
use toml_edit::{Item, Value};

use crate::error::Problems;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProject {
    pub name: Spanned<String>,
    #[serde(default)]
    pub tags: Vec<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSource {
    pub kind: Spanned<String>,
    pub host: Spanned<String>,
    pub port: Spanned<i64>,
    pub user: Spanned<String>,
    pub password: Option<Spanned<String>>,
    pub password_env: Option<Spanned<String>>,
    pub server_id: Option<Spanned<i64>>,
    pub tenant: Option<Spanned<String>>,
    pub binlog_positioning: Option<Spanned<String>>,
    pub tls: Option<RawSourceTls>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSourceTls {
    pub mode: Option<Spanned<String>>,
    pub ca_file: Option<Spanned<String>>,
    pub ca_pem: Option<Spanned<String>>,
    pub client_cert_file: Option<Spanned<String>>,
    pub client_cert_pem: Option<Spanned<String>>,
    pub client_key_file: Option<Spanned<String>>,
    pub client_key_pem_env: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTarget {
    pub bootstrap_servers: Spanned<String>,
    pub version: Spanned<String>,
    pub compression: Option<Spanned<String>>,
    pub sasl: Option<RawSasl>,
    pub tls: Option<RawTls>,
    #[serde(default)]
    pub producer: BTreeMap<Spanned<String>, PropertyValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSasl {
    pub mechanism: Spanned<String>,
    pub username: Option<Spanned<String>>,
    pub password: Option<Spanned<String>>,
    pub password_env: Option<Spanned<String>>,
    pub kerberos_principal: Option<Spanned<String>>,
    pub kerberos_keytab: Option<Spanned<String>>,
    pub kerberos_service_name: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTls {
    pub enabled: Option<bool>,
    pub ca_file: Option<Spanned<String>>,
    pub ca_pem: Option<Spanned<String>>,
    pub cert_file: Option<Spanned<String>>,
    pub cert_pem: Option<Spanned<String>>,
    pub key_file: Option<Spanned<String>>,
    pub key_pem_env: Option<Spanned<String>>,
    pub verify_hostname: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawSync {
    pub types: Spanned<Vec<Spanned<String>>>,
    pub start_time: Option<Spanned<toml::Value>>,
    pub time_zone: Option<Spanned<String>>,
    pub format: Option<Spanned<String>>,
    pub tx_sequence: Option<Spanned<bool>>,
    pub partition_rule: Option<Spanned<String>>,
    pub ddl_messages: Option<bool>,
    pub split_key_updates: Option<bool>,
    pub heartbeat_interval_secs: Option<Spanned<i64>>,
    pub topic_partitions: Option<Spanned<i64>>,
    pub topic_replication_factor: Option<Spanned<i64>>,
    pub snapshot_chunk_rows: Option<Spanned<i64>>,
    pub snapshot_parallelism: Option<Spanned<i64>>,
    pub backfill: Option<Vec<Spanned<String>>>,
    pub debezium: Option<RawDebezium>,
    pub format_options: Option<RawFormatOptions>,
}

/// `[sync.debezium]`: options of the Debezium formats, named after Debezium's own.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDebezium {
    pub schemas: Option<bool>,
    pub decimal_handling: Option<Spanned<String>>,
    pub tombstones_on_delete: Option<bool>,
    pub transaction_metadata: Option<bool>,
    pub topic_prefix: Option<Spanned<String>>,
    pub delete_handling: Option<Spanned<String>>,
    pub add_fields: Option<Vec<Spanned<String>>>,
}

/// `[sync.format_options]` (see `format_options.rs`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFormatOptions {
    pub canal_binary: Option<Spanned<String>>,
    pub timestamp_fraction: Option<Spanned<String>>,
    pub maxwell_key_format: Option<Spanned<String>>,
    pub maxwell_snapshot_type: Option<Spanned<String>>,
    pub maxwell_position: Option<Spanned<bool>>,
    pub maxwell_gtid: Option<Spanned<bool>>,
    pub maxwell_xoffset: Option<Spanned<bool>>,
    pub maxwell_primary_keys: Option<Spanned<bool>>,
    pub maxwell_primary_key_columns: Option<Spanned<bool>>,
    pub schema_registry_url: Option<Spanned<String>>,
    pub schema_registry_username: Option<Spanned<String>>,
    pub schema_registry_password: Option<Spanned<String>>,
    pub schema_registry_password_env: Option<Spanned<String>>,
    pub subject_name_strategy: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawObject {
    pub tables: Spanned<Vec<Spanned<String>>>,
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    pub topic: Option<Spanned<String>>,
    pub topic_rule: Option<Spanned<String>>,
    #[serde(default)]
    pub shard_columns: BTreeMap<Spanned<String>, Spanned<Vec<Spanned<String>>>>,
}

/// A `[target.producer]` value. A table here is almost always an unquoted dotted key
/// (`linger.ms = 5`), which gets its own message. Neither `toml::Value` nor `Spanned` can
/// hold such a value: a dotted-key table has no span, and both then fail with a confusing
/// message.
pub(crate) enum PropertyValue {
    Text(String),
    Table,
    Other,
}

impl<'de> Deserialize<'de> for PropertyValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PropertyVisitor)
    }
}

struct PropertyVisitor;

impl<'de> Visitor<'de> for PropertyVisitor {
    type Value = PropertyValue;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a string, number or boolean")
    }

    fn visit_str<E>(self, v: &str) -> Result<PropertyValue, E> {
        Ok(PropertyValue::Text(v.to_string()))
    }

    fn visit_i64<E>(self, v: i64) -> Result<PropertyValue, E> {
        Ok(PropertyValue::Text(v.to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<PropertyValue, E> {
        Ok(PropertyValue::Text(v.to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<PropertyValue, E> {
        Ok(PropertyValue::Text(v.to_string()))
    }

    fn visit_bool<E>(self, v: bool) -> Result<PropertyValue, E> {
        Ok(PropertyValue::Text(v.to_string()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<PropertyValue, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(PropertyValue::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PropertyValue, A::Error> {
        // TOML date-times arrive as a map with one private key; they are "other", not tables.
        let mut value = PropertyValue::Table;
        while let Some(key) = map.next_key::<String>()? {
            if key.starts_with("$__toml_private") {
                value = PropertyValue::Other;
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(value)
    }
}

/// The sections of a file that deserialized; a missing entry was reported as a problem
/// (or is absent from the file, which the caller reports).
#[derive(Default)]
pub(crate) struct RawFile {
    pub project: Option<RawProject>,
    pub source: Option<RawSource>,
    pub target: Option<RawTarget>,
    pub sync: Option<RawSync>,
    /// One entry per `[[objects]]` table; `None` where that entry did not deserialize.
    pub objects: Option<Vec<Option<RawObject>>>,
}

/// The largest project file obsync reads: 16 MiB holds well over 100,000 `[[objects]]`
/// entries; anything larger is refused before parsing, so a hostile import cannot pin a
/// server's memory.
pub const MAX_FILE_BYTES: usize = 16 << 20;

/// The most `[[objects]]` entries a project file may have (each may select many tables).
pub const MAX_OBJECTS: usize = 100_000;

/// The top-level sections; any other key is reported as unknown.
const SECTIONS: [&str; 5] = ["project", "source", "target", "sync", "objects"];

impl RawFile {
    /// Parses the text once and deserializes every section it can from that one tree,
    /// reporting the others. Returns `None` when the text is not TOML at all (then the one
    /// syntax error is the only problem reported) or is over the limits.
    ///
    /// Each section, and each `[[objects]]` entry, is deserialized on its own from the
    /// parsed tree, so a typo in `[source]` and one in `[sync]` are both reported, and
    /// the cost stays linear in the file's size (the earlier design re-parsed the whole
    /// text per entry: 4,000 entries took 39 s).
    pub(crate) fn load(problems: &mut Problems<'_>) -> Option<RawFile> {
        let text = problems.text();
        if text.len() > MAX_FILE_BYTES {
            problems.report(
                0..0,
                "",
                format!(
                    "the project file has {} bytes, more than the {} MiB obsync reads",
                    text.len(),
                    MAX_FILE_BYTES >> 20
                ),
                "select tables with patterns (tables = [\"shop.*\"]) instead of listing each one",
            );
            return None;
        }
        let root = match toml_edit::ImDocument::parse(text) {
            Ok(document) => document.into_item(),
            Err(error) => {
                report_toml(problems, error.span(), error.message(), "");
                return None;
            }
        };
        let Ok(root) = root.into_table() else {
            return None;
        };
        let mut file = RawFile::default();
        for key in root
            .iter()
            .map(|(key, _)| key.to_string())
            .collect::<Vec<_>>()
        {
            if !SECTIONS.contains(&key.as_str()) {
                let span = root.key(&key).and_then(|k| k.span());
                let expected = SECTIONS.map(|s| format!("`{s}`")).join(", ");
                report_toml(
                    problems,
                    span,
                    &format!("unknown field `{key}`, expected one of {expected}"),
                    "",
                );
            }
        }
        for (key, item) in root {
            match key.as_str() {
                "project" => file.project = section(problems, item, "project"),
                "source" => file.source = section(problems, item, "source"),
                "target" => file.target = section(problems, item, "target"),
                "sync" => file.sync = section(problems, item, "sync"),
                "objects" => file.objects = objects(problems, item),
                _ => {}
            }
        }
        Some(file)
    }
}

/// Each `[[objects]]` entry deserialized on its own; `None` (reported) when `objects` is
/// not an array of tables or has more than [`MAX_OBJECTS`] entries.
fn objects(problems: &mut Problems<'_>, item: Item) -> Option<Vec<Option<RawObject>>> {
    let span = item.span();
    let entries: Vec<(Option<Range<usize>>, Item)> = match item {
        Item::ArrayOfTables(tables) => tables
            .into_iter()
            .map(|t| (t.span(), Item::Table(t)))
            .collect(),
        Item::Value(Value::Array(values)) => values
            .into_iter()
            .map(|v| (v.span(), Item::Value(v)))
            .collect(),
        _ => {
            report_toml(
                problems,
                span,
                "invalid type: a single value, expected a sequence",
                "objects",
            );
            return None;
        }
    };
    if entries.len() > MAX_OBJECTS {
        problems.report(
            span.unwrap_or(0..0),
            "objects",
            format!(
                "the file has {} [[objects]] entries, more than the {MAX_OBJECTS} obsync reads",
                entries.len()
            ),
            "select tables with patterns (tables = [\"shop.*\"]) in fewer entries",
        );
        return None;
    }
    Some(
        entries
            .into_iter()
            .enumerate()
            .map(|(i, (span, item))| {
                deserialize(item).unwrap_or_else(|error| {
                    let span = error.span().or(span);
                    report_toml(problems, span, error.message(), &format!("objects[{i}]"));
                    None
                })
            })
            .collect(),
    )
}

fn section<T: DeserializeOwned>(
    problems: &mut Problems<'_>,
    item: Item,
    key: &'static str,
) -> Option<T> {
    deserialize(item).unwrap_or_else(|error| {
        report_toml(problems, error.span(), error.message(), key);
        None
    })
}

/// Deserializes one item of the parsed tree; `Ok(None)` for an empty item. The spans of
/// its values are kept, so `Spanned` fields and errors point into the file.
fn deserialize<T: DeserializeOwned>(item: Item) -> Result<Option<T>, toml_edit::de::Error> {
    let value = match item {
        Item::None => return Ok(None),
        Item::Value(value) => value,
        // toml_edit exposes deserializers for values only; a table becomes an inline
        // table with its entries (and their spans) unchanged.
        Item::Table(table) => Value::InlineTable(table.into_inline_table()),
        Item::ArrayOfTables(tables) => Value::Array(tables.into_array()),
    };
    T::deserialize(value.into_deserializer()).map(Some)
}

/// Reports a `toml` error (syntax, unknown field, wrong type, missing field) with the field
/// path recovered from the text around it. `label` names the section being loaded.
fn report_toml(
    problems: &mut Problems<'_>,
    span: Option<Range<usize>>,
    message: &str,
    label: &str,
) {
    let text = problems.text();
    let span = span.unwrap_or_else(|| header_span(text, label).unwrap_or(0..0));
    let mut message = message.trim().replace('\n', "; ");
    // A spanned value that turns out to be an implicit table (from an unquoted dotted key
    // such as `shop.orders = [...]`) fails inside `Spanned` with this serde message.
    if message.ends_with("expected a borrowed string") {
        message = "an unquoted dotted key makes a nested table here".to_string();
    }
    let fix = if message.starts_with("an unquoted dotted key") {
        "quote keys that contain dots, e.g. \"shop.orders\" = [\"customer_id\"]"
    } else if message.starts_with("unknown field") {
        "check the spelling; every field is listed in docs/configuration.md"
    } else if message.starts_with("missing field") {
        "add the field; see docs/configuration.md"
    } else if message.contains("expected a sequence") && label == "objects" {
        "write each entry as [[objects]] (double brackets)"
    } else if message.contains("invalid type: map, expected a string") {
        "quote dotted property names, e.g. \"linger.ms\" = \"5\""
    } else {
        ""
    };
    problems.report(span.clone(), field_at(text, span, label), message, fix);
}

/// The span of the `[label]` (or `[[objects]]` number i for `objects[i]`) header, if the
/// section is written as a header.
pub(crate) fn header_span(text: &str, label: &str) -> Option<Range<usize>> {
    let (name, nth) = match label.split_once('[') {
        Some((name, rest)) => (name, rest.trim_end_matches(']').parse().ok()?),
        None => (label, 0),
    };
    let mut offset = 0;
    let mut seen = 0;
    for line in text.split_inclusive('\n') {
        if header_name(line).as_deref() == Some(name) {
            if seen == nth {
                let start = offset + (line.len() - line.trim_start().len());
                return Some(start..start + line.trim().len());
            }
            seen += 1;
        }
        offset += line.len();
    }
    None
}

/// `[a.b]` or `[[a]]` → `a.b` / `a`, with spaces and quotes removed.
fn header_name(line: &str) -> Option<String> {
    let line = line.trim();
    if !line.starts_with('[') {
        return None;
    }
    let end = line.rfind(']')?;
    let inner: String = line[..end]
        .chars()
        .filter(|c| !matches!(c, '[' | ']' | ' ' | '\t' | '"' | '\''))
        .collect();
    Some(inner)
}

/// A best-effort dotted path of the field at `span`: the nearest table header before it
/// plus the key on its line. `label` (e.g. `objects[1]`) replaces the header's first part.
fn field_at(text: &str, span: Range<usize>, label: &str) -> String {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line = &text[line_start..line_end];
    let key = match line.split_once('=') {
        Some((key, _)) if !line.trim_start().starts_with('[') => key
            .trim()
            .trim_matches(|c| c == '"' || c == '\'')
            .to_string(),
        _ => String::new(),
    };
    let mut header = header_name(line)
        .or_else(|| text[..line_start].lines().rev().find_map(header_name))
        .unwrap_or_default();
    if !label.is_empty() {
        let first = label.split('[').next().unwrap_or(label);
        header = if header == first || header.starts_with(&format!("{first}.")) {
            format!("{label}{}", &header[first.len()..])
        } else {
            label.to_string()
        };
    }
    match (header.is_empty(), key.is_empty()) {
        (false, false) => format!("{header}.{key}"),
        (false, true) => header,
        (true, _) => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_path_combines_header_and_key() {
        let text = "[target]\nversion = \"3.x\"\n[target.sasl]\nmechanizm = \"PLAIN\"\n";
        let at = text.find("mechanizm").unwrap();
        assert_eq!(
            field_at(text, at..at + 9, "target"),
            "target.sasl.mechanizm"
        );
    }

    #[test]
    fn field_path_of_an_objects_entry_carries_its_index() {
        let text = "[[objects]]\ntables = []\n[[objects]]\ntopik = \"x\"\n";
        let at = text.find("topik").unwrap();
        assert_eq!(field_at(text, at..at + 5, "objects[1]"), "objects[1].topik");
        assert_eq!(header_span(text, "objects[1]"), Some(24..35));
    }
}
