//! The project file as written: serde shapes with spans, loaded one section at a time.
//!
//! `toml` stops at the first error it meets. To report a typo in `[source]` *and* one in
//! `[sync]` in a single run, every section is deserialized in its own pass over the text
//! (the other sections are skipped as `IgnoredAny`), and each `[[objects]]` entry in its own
//! pass too. Project files are small, so the repeated parsing costs nothing noticeable.

use std::collections::BTreeMap;
use std::marker::PhantomData;
use std::ops::Range;

use serde::de::{DeserializeOwned, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use toml::Spanned;

use crate::error::Problems;

/// The top-level keys; only used to reject unknown sections.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)] // fields exist so that serde knows the allowed names
pub(crate) struct RawRoot {
    project: Option<IgnoredAny>,
    source: Option<IgnoredAny>,
    target: Option<IgnoredAny>,
    sync: Option<IgnoredAny>,
    objects: Option<IgnoredAny>,
}

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
pub(crate) struct RawFile {
    pub project: Option<RawProject>,
    pub source: Option<RawSource>,
    pub target: Option<RawTarget>,
    pub sync: Option<RawSync>,
    /// One entry per `[[objects]]` table; `None` where that entry did not deserialize.
    pub objects: Option<Vec<Option<RawObject>>>,
}

impl RawFile {
    /// Deserializes every section it can, reporting the others. Returns `None` when the
    /// text is not TOML at all (then the one syntax error is the only problem reported).
    pub(crate) fn load(problems: &mut Problems<'_>) -> Option<RawFile> {
        let text = problems.text();
        if let Err(error) = toml::from_str::<toml::Table>(text) {
            report_toml(problems, &error, "");
            return None;
        }
        if let Err(error) = toml::from_str::<RawRoot>(text) {
            report_toml(problems, &error, "");
        }
        let objects = match pick::<Vec<IgnoredAny>>(text, "objects", None) {
            Ok(entries) => entries.map(|entries| {
                (0..entries.len())
                    .map(|i| section(problems, "objects", Some(i)))
                    .collect()
            }),
            Err(error) => {
                report_toml(problems, &error, "objects");
                None
            }
        };
        Some(RawFile {
            project: section(problems, "project", None),
            source: section(problems, "source", None),
            target: section(problems, "target", None),
            sync: section(problems, "sync", None),
            objects,
        })
    }
}

fn section<T: DeserializeOwned>(
    problems: &mut Problems<'_>,
    key: &'static str,
    index: Option<usize>,
) -> Option<T> {
    match pick::<T>(problems.text(), key, index) {
        Ok(found) => found,
        Err(error) => {
            let label = match index {
                Some(i) => format!("{key}[{i}]"),
                None => key.to_string(),
            };
            report_toml(problems, &error, &label);
            None
        }
    }
}

/// Deserializes the value of top-level `key` (or element `index` of that array) strictly
/// and skips everything else.
fn pick<T: DeserializeOwned>(
    text: &str,
    key: &'static str,
    index: Option<usize>,
) -> Result<Option<T>, toml::de::Error> {
    Pick::<T> {
        key,
        index,
        marker: PhantomData,
    }
    .deserialize(toml::Deserializer::new(text))
}

struct Pick<T> {
    key: &'static str,
    index: Option<usize>,
    marker: PhantomData<fn() -> T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Pick<T> {
    type Value = Option<T>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Pick<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a TOML document")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            if key != self.key {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            found = match self.index {
                None => Some(map.next_value::<T>()?),
                Some(index) => map.next_value_seed(Nth::<T> {
                    index,
                    marker: PhantomData,
                })?,
            };
        }
        Ok(found)
    }
}

struct Nth<T> {
    index: usize,
    marker: PhantomData<fn() -> T>,
}

impl<'de, T: DeserializeOwned> DeserializeSeed<'de> for Nth<T> {
    type Value = Option<T>;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T: DeserializeOwned> Visitor<'de> for Nth<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an array of tables")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        for i in 0.. {
            if i == self.index {
                match seq.next_element::<T>()? {
                    Some(value) => found = Some(value),
                    None => break,
                }
            } else if seq.next_element::<IgnoredAny>()?.is_none() {
                break;
            }
        }
        Ok(found)
    }
}

/// Reports a `toml` error (syntax, unknown field, wrong type, missing field) with the field
/// path recovered from the text around it. `label` names the section being loaded.
fn report_toml(problems: &mut Problems<'_>, error: &toml::de::Error, label: &str) {
    let text = problems.text();
    let span = error
        .span()
        .unwrap_or_else(|| header_span(text, label).unwrap_or(0..0));
    let mut message = error.message().trim().replace('\n', "; ");
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
