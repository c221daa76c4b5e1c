//! Rebuilds tables' latest rows from their topic's records: the pure core of verify.
//!
//! Records are applied per partition in offset order, the order obsync writes and
//! documents (docs/formats.md): every key's changes stay in one partition. INSERT and
//! full-sync rows set the key's row, UPDATE removes the before key and sets the after
//! row, DELETE removes the before key. `storeDataSequence` is cross-checked on the way:
//! within a partition it must strictly increase in offset order.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use obsync_format::decode::{decode, DecodedOp, DecodedRecord, Image};
use obsync_format::{FormatKind, FormatOptions};
use obsync_kafka::TopicRecord;
use obsync_model::{KeySource, TableId, TableMeta, Value};

use super::VerifyError;

/// One distinct row: its image, and how many copies (always 1 for a keyed table; the
/// multiplicity of identical rows of a table without a key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct RowEntry {
    pub image: Image,
    pub count: u64,
}

/// A table rebuilt from its topic: row key ([`row_key`]) → row.
#[derive(Debug)]
pub(super) struct TableState {
    pub meta: Arc<TableMeta>,
    pub rows: HashMap<String, RowEntry>,
}

impl TableState {
    pub fn keyless(&self) -> bool {
        self.meta.key_source == KeySource::AllColumns
    }

    pub fn row_count(&self) -> u64 {
        self.rows.values().map(|r| r.count).sum()
    }

    fn upsert(&mut self, image: Image) {
        let key = row_key(&self.meta, &image);
        if self.keyless() {
            self.rows
                .entry(key)
                .or_insert(RowEntry { image, count: 0 })
                .count += 1;
        } else {
            self.rows.insert(key, RowEntry { image, count: 1 });
        }
    }

    fn remove(&mut self, image: &Image) {
        let key = row_key(&self.meta, image);
        if self.keyless() {
            if let Some(entry) = self.rows.get_mut(&key) {
                entry.count -= 1;
                if entry.count == 0 {
                    self.rows.remove(&key);
                }
            }
        } else {
            self.rows.remove(&key);
        }
    }
}

/// The row identity of `image` as readable text: the key columns as `name=value`
/// (every column for a table without a key), joined with `, `.
pub fn row_key(meta: &TableMeta, image: &Image) -> String {
    let cell = |name: &str| match image.get(name) {
        Some(Some(v)) => format!("{name}={v}"),
        Some(None) => format!("{name}=NULL"),
        None => format!("{name}=?"),
    };
    let names: Vec<String> = if meta.key_source == KeySource::AllColumns {
        meta.columns.iter().map(|c| cell(&c.name)).collect()
    } else {
        meta.key
            .iter()
            .map(|&i| cell(&meta.columns[i].name))
            .collect()
    };
    names.join(", ")
}

/// The key values of `image` parsed back from their text, to re-read the row at the
/// source; `None` when a key column's text does not parse (e.g. binary keys).
pub(super) fn key_values(meta: &TableMeta, image: &Image) -> Option<Vec<Value>> {
    meta.key
        .iter()
        .map(|&i| {
            let column = &meta.columns[i];
            let text = image.get(&column.name)?.clone()?;
            obsync_source::snapshot::decode_text(column, Some(text.into_bytes())).ok()
        })
        .collect()
}

/// The `storeDataSequence` cross-check of one topic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SequenceCheck {
    /// Records that carried a sequence.
    pub numbered: u64,
    /// Records whose sequence was not above the previous one of their partition.
    pub regressions: u64,
    /// The first of them, as text.
    pub first_regression: Option<String>,
}

/// Everything read back from one topic.
#[derive(Debug)]
pub(super) struct TopicRebuild {
    pub topic: String,
    format: FormatOptions,
    metas: Vec<TableMeta>,
    pub tables: BTreeMap<TableId, TableState>,
    /// Per partition: the last sequence seen and its offset.
    last_sequence: HashMap<i32, (u64, i64)>,
    /// `None` for formats without a storeDataSequence (Canal's id counts per run).
    pub sequence: Option<SequenceCheck>,
    pub records: u64,
    /// Row records of tables outside the project (another project sharing the topic).
    pub other_records: u64,
    /// The first record that could not be applied; reading stops mattering after it.
    pub error: Option<VerifyError>,
}

impl TopicRebuild {
    pub fn new(topic: &str, format: &FormatOptions, metas: &[Arc<TableMeta>]) -> Self {
        Self {
            topic: topic.to_owned(),
            format: format.clone(),
            metas: metas.iter().map(|m| (**m).clone()).collect(),
            tables: metas
                .iter()
                .map(|m| {
                    let state = TableState {
                        meta: m.clone(),
                        rows: HashMap::new(),
                    };
                    (m.id.clone(), state)
                })
                .collect(),
            last_sequence: HashMap::new(),
            sequence: (format.kind != FormatKind::Canal).then(SequenceCheck::default),
            records: 0,
            other_records: 0,
            error: None,
        }
    }

    /// Applies one record (they arrive per partition in offset order).
    pub fn apply(&mut self, record: TopicRecord) {
        if self.error.is_some() {
            return;
        }
        self.records += 1;
        // A record without a value is no obsync message (a tombstone): nothing to apply.
        let Some(value) = &record.value else { return };
        let decoded = match decode(&self.format, value, &self.metas) {
            Ok(d) => d,
            Err(source) => {
                self.error = Some(VerifyError::Decode {
                    topic: self.topic.clone(),
                    partition: record.partition,
                    offset: record.offset,
                    source,
                });
                return;
            }
        };
        self.check_sequence(&record, &decoded);
        if let Err(detail) = self.apply_row(decoded) {
            self.error = Some(VerifyError::Record {
                topic: self.topic.clone(),
                partition: record.partition,
                offset: record.offset,
                detail,
            });
        }
    }

    fn check_sequence(&mut self, record: &TopicRecord, decoded: &DecodedRecord) {
        let Some(check) = &mut self.sequence else {
            return;
        };
        // Full-sync rows carry none (or 0): they come before the numbered ones.
        let Some(seq) = decoded.sequence.filter(|&s| s > 0) else {
            return;
        };
        check.numbered += 1;
        if let Some(&(prev, at)) = self.last_sequence.get(&record.partition) {
            if seq <= prev {
                check.regressions += 1;
                check.first_regression.get_or_insert_with(|| {
                    format!(
                        "partition {}: {prev} at offset {at}, then {seq} at offset {}",
                        record.partition, record.offset
                    )
                });
            }
        }
        self.last_sequence
            .insert(record.partition, (seq, record.offset));
    }

    fn apply_row(&mut self, d: DecodedRecord) -> Result<(), String> {
        if matches!(d.op, DecodedOp::Ddl | DecodedOp::Heartbeat) {
            return Ok(());
        }
        let id = TableId::new(d.database.clone(), d.table.clone());
        let Some(state) = self.tables.get_mut(&id) else {
            self.other_records += 1;
            return Ok(());
        };
        let image = |img: Option<Image>, what: &str| {
            img.ok_or_else(|| format!("{:?} record of {id} has no {what} image", d.op))
        };
        match d.op {
            DecodedOp::Insert | DecodedOp::Snapshot => state.upsert(image(d.after, "after")?),
            DecodedOp::Update => {
                state.remove(&image(d.before.clone(), "before")?);
                state.upsert(image(d.after, "after")?);
            }
            DecodedOp::Delete => state.remove(&image(d.before, "before")?),
            DecodedOp::Ddl | DecodedOp::Heartbeat => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_model::{Column, ColumnType};

    fn meta() -> Arc<TableMeta> {
        Arc::new(TableMeta {
            id: TableId::new("shop", "t"),
            columns: vec![
                Column::new("id", ColumnType::Int),
                Column::new("v", ColumnType::VarChar),
            ],
            key: vec![0],
            key_source: KeySource::PrimaryKey,
            primary_key: vec![0],
            unique_keys: Vec::new(),
            estimated_rows: 0,
        })
    }

    /// A Default-format record of `shop.t`.
    fn record(
        partition: i32,
        offset: i64,
        op: &str,
        seq: u64,
        before: &str,
        after: &str,
    ) -> TopicRecord {
        let seq = if seq == 0 {
            String::new()
        } else {
            format!(r#","storeDataSequence":{seq}"#)
        };
        let value = format!(
            r#"{{"prevStruct":{before},"postStruct":{after},"allMetaData":{{"db":"t1.shop","table_name":"t"{seq}}},"recordType":"{op}"}}"#
        );
        TopicRecord {
            partition,
            offset,
            key: None,
            value: Some(value.into_bytes()),
            timestamp_ms: None,
        }
    }

    #[test]
    fn records_apply_in_offset_order_and_a_sequence_going_back_is_counted() {
        let m = meta();
        let mut r = TopicRebuild::new(
            "topic",
            &FormatOptions::new(FormatKind::Default),
            std::slice::from_ref(&m),
        );
        for rec in [
            record(0, 0, "ROW", 0, "null", r#"{"id":"1","v":"a"}"#),
            record(0, 1, "INSERT", 10, "null", r#"{"id":"2","v":"b"}"#),
            record(
                0,
                2,
                "UPDATE",
                9,
                r#"{"id":"1","v":"a"}"#,
                r#"{"id":"1","v":"c"}"#,
            ),
            record(0, 3, "DELETE", 11, r#"{"id":"2","v":"b"}"#, "null"),
            // Another partition numbers on its own.
            record(1, 0, "INSERT", 5, "null", r#"{"id":"3","v":"d"}"#),
        ] {
            r.apply(rec);
        }
        assert!(r.error.is_none(), "{:?}", r.error);
        let rows = &r.tables[&m.id].rows;
        let keys: std::collections::BTreeSet<&str> = rows.keys().map(String::as_str).collect();
        assert_eq!(keys, ["id=1", "id=3"].into_iter().collect());
        assert_eq!(rows["id=1"].image["v"].as_deref(), Some("c"));
        let check = r.sequence.unwrap();
        assert_eq!((check.numbered, check.regressions), (4, 1));
        assert_eq!(
            check.first_regression.as_deref(),
            Some("partition 0: 10 at offset 1, then 9 at offset 2")
        );
    }

    #[test]
    fn a_record_of_another_format_stops_the_rebuild_with_its_place() {
        let m = meta();
        let mut r = TopicRebuild::new("topic", &FormatOptions::new(FormatKind::Default), &[m]);
        r.apply(TopicRecord {
            partition: 2,
            offset: 7,
            key: None,
            value: Some(b"not json".to_vec()),
            timestamp_ms: None,
        });
        let e = r.error.expect("an error");
        assert!(
            e.to_string()
                .contains("offset 7 of partition 2 of topic topic"),
            "{e}"
        );
    }
}
