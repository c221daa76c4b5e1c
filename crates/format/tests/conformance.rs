//! The reference's §3.3 must-pass checklist (what wentaojin/dbms needs from
//! DefaultExtendColumnType), run against the serializer's output with serde_json.

mod common;

use base64::Engine as _;
use common::*;
use obsync_format::{FormatKind, Serializer};
use serde_json::Value as Json;

const STRING_FIELDS: [&str; 12] = [
    "checkpoint",
    "record_primary_key",
    "record_primary_value",
    "source_identity",
    "dbType",
    "table_name",
    "db",
    "timestamp",
    "uniqueId",
    "transId",
    "clusterId",
    "ddlType",
];

fn matches_shape(s: &str, shape: &str) -> bool {
    // shape: `9` = digit, anything else literal
    s.len() == shape.len()
        && s.bytes().zip(shape.bytes()).all(|(c, p)| {
            if p == b'9' {
                c.is_ascii_digit()
            } else {
                c == p
            }
        })
}

fn is_epoch(s: &str) -> bool {
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && !frac.is_empty()
        && frac.bytes().all(|b| b.is_ascii_digit())
}

fn is_plain_decimal(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let (int, frac) = s.split_once('.').unwrap_or((s, "0"));
    !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && !frac.is_empty()
        && frac.bytes().all(|b| b.is_ascii_digit())
}

#[test]
fn default_extend_column_type_passes_the_dbms_checklist() {
    let ser = Serializer::new(options(FormatKind::DefaultExtendColumnType));
    let script = golden_script();
    let tables = all_tables();
    let mut last_sequence = 0u64;
    for item in &script.items {
        if matches!(item.payload, Payload::Heartbeat) {
            continue; // 3. heartbeats are opt-in and dbms rejects them: the pipeline does not send them to it
        }
        let what = &item.label;
        let (key, value) = encode(&ser, item).unwrap();
        // 1. non-empty key and value
        assert!(!key.is_empty() && !value.is_empty(), "{what}");
        // 2. exactly one JSON object; string fields strings, storeDataSequence a u64
        let j: Json = serde_json::from_slice(&value).unwrap();
        let meta = j["allMetaData"].as_object().expect("allMetaData object");
        for f in STRING_FIELDS {
            if let Some(v) = meta.get(f) {
                assert!(v.is_string() || v.is_null(), "{what}: {f} = {v}");
            }
        }
        let record_type = j["recordType"].as_str().unwrap();
        // 3. recordType
        assert!(
            ["INSERT", "UPDATE", "DELETE", "DDL", "ROW"].contains(&record_type),
            "{what}"
        );
        // 4. db = tenant.database
        let db = meta["db"].as_str().unwrap();
        assert_eq!(db.split('.').nth(1), Some("shop"), "{what}");
        assert_eq!(db.split('.').count(), 2, "{what}");
        if record_type == "DDL" {
            // 9. ddl text is a string, ddlType in SQL keyword spelling, copies identical
            assert!(j["postStruct"]["ddl"].is_string(), "{what}");
            let ddl_type = meta["ddlType"].as_str().unwrap();
            assert!(
                [
                    "ALTER TABLE",
                    "CREATE TABLE",
                    "TRUNCATE TABLE",
                    "CREATE DATABASE"
                ]
                .contains(&ddl_type),
                "{what}: {ddl_type}"
            );
            assert_eq!(
                encode(&ser, item).unwrap(),
                (key, value),
                "{what}: fan-out copies"
            );
            let seq = meta["storeDataSequence"].as_u64().unwrap();
            assert!(seq > last_sequence, "{what}");
            last_sequence = seq;
            continue;
        }
        // 5. key names and values split into the same number of parts
        let names: Vec<&str> = meta["record_primary_key"]
            .as_str()
            .unwrap()
            .split('\u{1}')
            .collect();
        let values: Vec<&str> = meta["record_primary_value"]
            .as_str()
            .unwrap()
            .split('\u{1}')
            .collect();
        assert_eq!(names.len(), values.len(), "{what}");
        // 6. incremental sequence > 0, strictly increasing (one partition)
        if record_type != "ROW" {
            let seq = meta["storeDataSequence"]
                .as_u64()
                .expect("storeDataSequence is a u64");
            assert!(seq > last_sequence, "{what}");
            last_sequence = seq;
        }
        // 7. __light_type in postStruct (INSERT/UPDATE/ROW) or prevStruct (DELETE)
        let image = if record_type == "DELETE" {
            &j["prevStruct"]
        } else {
            &j["postStruct"]
        };
        let image = image.as_object().unwrap();
        let light = image["__light_type"]
            .as_object()
            .expect("__light_type object");
        let columns: Vec<&String> = image.keys().filter(|k| *k != "__light_type").collect();
        assert_eq!(
            light.keys().collect::<Vec<_>>(),
            columns,
            "{what}: same column keys"
        );
        let table = tables
            .iter()
            .find(|t| t.id.table == meta["table_name"])
            .unwrap();
        for (name, t) in light {
            let schema_type = t["schemaType"].as_str().expect("schemaType string");
            let col = &table.columns[table.column_index(name).unwrap()];
            assert_eq!(schema_type, col.kind.name());
            let Some(v) = image[name].as_str() else {
                continue;
            };
            // 8. binary/BIT valid padded Base64; TIMESTAMP epoch seconds
            // 10. other values in the text the target database accepts
            match schema_type {
                "TINYBLOB" | "BLOB" | "MEDIUMBLOB" | "LONGBLOB" | "BINARY" | "VARBINARY"
                | "BIT" | "GEOMETRY" => {
                    base64::engine::general_purpose::STANDARD
                        .decode(v)
                        .unwrap_or_else(|e| panic!("{what}: {name} {v}: {e}"));
                }
                "TIMESTAMP" => assert!(is_epoch(v), "{what}: {name} {v}"),
                "DATETIME" => assert!(
                    matches_shape(&v[..19.min(v.len())], "9999-99-99 99:99:99")
                        && (v.len() == 19 || v[19..].starts_with('.')),
                    "{what}: {name} {v}"
                ),
                "DATE" => assert!(matches_shape(v, "9999-99-99"), "{what}: {name} {v}"),
                "DECIMAL" => assert!(is_plain_decimal(v), "{what}: {name} {v}"),
                "YEAR" => assert!(matches_shape(v, "9999"), "{what}: {name} {v}"),
                "TINYINT" | "SMALLINT" | "MEDIUMINT" | "INT" | "BIGINT" => {
                    assert!(v.parse::<i128>().is_ok(), "{what}: {name} {v}")
                }
                _ => {}
            }
        }
    }
}

#[test]
fn heartbeat_is_its_own_record_type_and_has_a_key() {
    let ser = Serializer::new(options(FormatKind::DefaultExtendColumnType));
    let script = golden_script();
    let item = script
        .items
        .iter()
        .find(|i| i.label == "heartbeat")
        .unwrap();
    let (key, value) = encode(&ser, item).unwrap();
    assert!(!key.is_empty());
    let j: Json = serde_json::from_slice(&value).unwrap();
    assert_eq!(j["recordType"], "HEARTBEAT");
    assert!(j.get("prevStruct").is_none() && j.get("postStruct").is_none());
}
