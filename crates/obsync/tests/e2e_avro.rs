//! End-to-end: MariaDB → `obsync run` (DebeziumAvro) → Kafka + a real schema registry
//! (Apicurio Registry, `scripts/services start schema-registry`), read back with Apache
//! Avro's own Java reader (the `avro` mode of `tests/consumers/ConsumerCheck.java`: the
//! registry header stripped, the writer's schema fetched by id, `GenericDatumReader`).
//! The rows the reader rebuilds from full and incremental sync equal the source; the
//! columns' defaults are the schema's field defaults; a DDL gives the table's subject a
//! second schema version, and later records use it. A table without a primary key gets
//! null Kafka keys (Debezium's choice) and no key subject; its rows, identical ones
//! included, are rebuilt from the value's `before` and `after` images.
//!
//! Needs the shared services, the registry and Java; the reader's jars come from Maven
//! Central on first use (cached in `.obsync-dev/consumers`).

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use obsync_testkit::all_types::{DDL as TYPES_DDL, EDGE_ROWS as TYPES_EDGE_ROWS};
use obsync_testkit::consumer_check;
use serde_json::Value as Json;
use support::*;

const STAGE: Duration = Duration::from_secs(120);
const CATCH_UP: Duration = Duration::from_secs(120);

/// Defaults on a key column (NOT NULL: a plain type with a default) and on nullable ones
/// (the union's first branch is then the default's type).
const COMP_DDL: &str = "CREATE TABLE comp (
    a INT NOT NULL, b VARCHAR(20) NOT NULL DEFAULT 'kk', v INT DEFAULT 7,
    note VARCHAR(40) DEFAULT 'it''s', PRIMARY KEY (a, b)
) CHARACTER SET utf8mb4";

/// A table without a primary key, identical rows included.
const NOKEY_DDL: &str = "CREATE TABLE nokey (a INT, b VARCHAR(10), c DOUBLE) CHARACTER SET utf8mb4";

/// Every record of `topics` decoded by Apache Avro's Java reader, in partition order per
/// topic.
fn java_decode(services: &Services, registry: &str, topics: &[String]) -> Vec<Json> {
    let jobs: Vec<Json> = topics
        .iter()
        .map(|t| serde_json::json!({"name": t, "mode": "avro", "topic": t, "registry": registry}))
        .collect();
    let jobs = serde_json::json!({"bootstrap": services.kafka_bootstrap, "jobs": jobs});
    consumer_check(services, &jobs.to_string())
        .iter()
        .map(|l| {
            let line: Json = serde_json::from_str(l).expect("a JSON line");
            assert!(
                line.get("error").is_none(),
                "the Avro reader failed: {line}"
            );
            line
        })
        .collect()
}

/// The rows the records leave behind, per table, keyed by the key record's JSON.
fn rebuild(decoded: &[Json]) -> BTreeMap<String, BTreeMap<String, Json>> {
    let mut tables: BTreeMap<String, BTreeMap<String, Json>> = BTreeMap::new();
    for d in decoded.iter().filter(|d| !d["key"].is_null()) {
        let v = &d["value"];
        let table = v["source"]["table"].as_str().unwrap().to_string();
        let rows = tables.entry(table).or_default();
        match v["op"].as_str().unwrap() {
            "r" | "c" => {
                rows.insert(d["key"].to_string(), v["after"].clone());
            }
            "u" => {
                // The before image names the row the update changed (its old key).
                let old: serde_json::Map<String, Json> = d["key"]
                    .as_object()
                    .unwrap()
                    .keys()
                    .map(|k| (k.clone(), v["before"][k].clone()))
                    .collect();
                rows.remove(&Json::Object(old).to_string());
                rows.insert(d["key"].to_string(), v["after"].clone());
            }
            "d" => {
                rows.remove(&d["key"].to_string());
            }
            op => panic!("unknown op {op}"),
        }
    }
    tables
}

/// The rows of a table without a key (null keys): a multiset of whole rows, each change
/// removing its `before` image and adding its `after` image.
fn rebuild_keyless(decoded: &[Json], table: &str) -> Vec<Json> {
    let mut rows: Vec<Json> = Vec::new();
    for d in decoded
        .iter()
        .filter(|d| d["value"]["source"]["table"] == table)
    {
        let v = &d["value"];
        if !v["before"].is_null() {
            let at = rows
                .iter()
                .position(|r| *r == v["before"])
                .unwrap_or_else(|| panic!("{table}: no row {} to change", v["before"]));
            rows.remove(at);
        }
        if !v["after"].is_null() {
            rows.push(v["after"].clone());
        }
    }
    rows.sort_by_key(Json::to_string);
    rows
}

#[test]
fn debezium_avro_records_decode_with_apache_avro_and_a_ddl_makes_a_new_schema_version() {
    let started = Instant::now();
    let services = Services::load();
    let registry = services.schema_registry_url.clone().expect(
        "no schema registry: run scripts/services start schema-registry (or set OBSYNC_SCHEMA_REGISTRY_URL)",
    );
    let db = SourceDb::create(&services);
    db.exec_many(&[TYPES_DDL, COMP_DDL, NOKEY_DDL]);
    db.exec_many(TYPES_EDGE_ROWS);
    db.exec("INSERT INTO comp SELECT seq % 5, CONCAT('k', seq), seq, NULL FROM seq_1_to_20");
    db.exec(
        "INSERT INTO nokey VALUES (1, 'same', 0.5), (1, 'same', 0.5), (2, NULL, NULL), (NULL, NULL, NULL)",
    );

    let mut spec = ProjectSpec::new(&services, &db, "DebeziumAvro");
    spec.topic = TopicMode::Batch;
    spec.extra_sync = vec![
        "[sync.format_options]".into(),
        format!("schema_registry_url = {registry:?}"),
    ];
    let dir = scratch_dir(&spec.name);
    let config = spec.write_project(&dir);
    let mut run = Obsync::start(&config, &dir.join("state"));
    run.wait_for("incremental sync", STAGE, |s| {
        s["stage"].as_str() == Some("incremental")
    });

    db.exec_many(&[
        // A multi-row transaction, an update, a key change and a delete.
        "INSERT INTO comp VALUES (7, 'x', 70, 'new'), (7, 'y', 71, NULL), (8, 'z', 80, '中文')",
        "UPDATE comp SET v = v + 1000, note = 'upd' WHERE a = 1",
        "UPDATE comp SET b = 'moved' WHERE a = 7 AND b = 'x'",
        "DELETE FROM comp WHERE a = 2",
        "UPDATE types SET s = 'changed', dec65 = -0.5 WHERE id = 4",
        "DELETE FROM types WHERE id = 3",
        "ALTER TABLE comp ADD COLUMN extra VARCHAR(10)",
        // Without a key: one of two identical rows deleted, an update, an insert.
        "DELETE FROM nokey WHERE a = 1 LIMIT 1",
        "UPDATE nokey SET b = 'upd', c = -1.25 WHERE a = 2",
        "INSERT INTO nokey VALUES (3, 'x', 1.5)",
        "INSERT INTO comp VALUES (9, 'after-ddl', 90, NULL, 'e1')",
    ]);
    let topics = spec.topics(&["types", "comp", "nokey"]);
    let comp_topic = topics
        .iter()
        .find(|t| t.ends_with("_comp"))
        .unwrap()
        .clone();
    // 4 + 20 + 4 snapshot rows; then the changes above, the DDL's row last.
    let deadline = Instant::now() + CATCH_UP;
    let records = loop {
        let records = try_consume_all(&services.kafka_bootstrap, &topics).unwrap_or_default();
        let after_ddl = records
            .iter()
            .filter(|r| r.topic == comp_topic)
            .any(|r| String::from_utf8_lossy(&r.value).contains("after-ddl"));
        if after_ddl {
            break records;
        }
        assert!(
            Instant::now() < deadline,
            "the row inserted after the DDL did not arrive: {}",
            run.log_tail(40)
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let decoded = java_decode(&services, &registry, &topics);
    assert_eq!(decoded.len(), records.len(), "one decoded line per record");
    let tables = rebuild(&decoded);

    // The columns' defaults, as Debezium's AvroConverter declares them, read by Avro's
    // own schema parser (which checks each default against the field's first type).
    let comp_defaults = decoded
        .iter()
        .find(|d| d["job"] == comp_topic.as_str() && d.get("defaults").is_some())
        .expect("comp's first record");
    assert_eq!(
        comp_defaults["defaults"],
        serde_json::json!({"b": "kk", "v": 7, "note": "it's"}),
        "{comp_defaults}"
    );

    // comp: every row equal to the source, column by column.
    let source = db.query_column(
        "SELECT JSON_OBJECT('a', a, 'b', b, 'v', v, 'note', note, 'extra', extra) FROM comp ORDER BY a, b",
    );
    let mut want: Vec<Json> = source
        .iter()
        .map(|r| serde_json::from_str(r.as_deref().unwrap()).unwrap())
        .collect();
    let mut got: Vec<Json> = tables["comp"].values().cloned().collect();
    // Rows written before the DDL have no `extra` (their schema had none): null.
    for row in &mut got {
        row.as_object_mut()
            .unwrap()
            .entry("extra")
            .or_insert(Json::Null);
    }
    let order = |r: &Json| (r["a"].as_i64(), r["b"].as_str().map(str::to_string));
    got.sort_by_key(order);
    want.sort_by_key(order);
    assert_eq!(got, want, "comp rebuilt from Avro differs from the source");

    // types: the edge rows' values as Avro's logical types give them.
    let types = &tables["types"];
    assert_eq!(types.len(), 3, "ids 1, 2 and 4 (3 was deleted): {types:?}");
    let max = &types[r#"{"id":2}"#];
    for (col, value) in [
        ("biu", Json::from(-1i64)), // BIGINT UNSIGNED max wraps, as Debezium's long mode
        ("bi", Json::from(i64::MAX)),
        (
            "dec65",
            Json::from("99999999999999999999999999999999999.999999999999999999999999999999"),
        ),
        ("d", Json::from(f64::MAX)),
        ("b1", Json::from(true)),
        ("b64", Json::from("//////////8=")),
        ("dt", Json::from("9999-12-31")),
        ("dtm", Json::from("9999-12-31T23:59:59.999999Z")),
        ("ts", Json::from("2038-01-19T03:14:07.999999Z")),
        ("tm", Json::from(3_020_399_000_000i64)),
        ("y", Json::from(2155)),
        ("s", Json::from("😀 emoji 中文 \"quoted\" \\ back")),
        ("bin", Json::from("AP9/gA==")),
        ("st", Json::from("x,y,z")),
        ("e", Json::from("c")),
    ] {
        assert_eq!(max[col], value, "column {col} of the max edge row");
    }
    let changed = &types[r#"{"id":4}"#];
    assert_eq!(changed["s"], Json::from("changed"));
    assert_eq!(
        changed["dec65"],
        Json::from("-0.500000000000000000000000000000")
    );
    assert_eq!(changed["tm"], Json::from(-1i64), "TIME -00:00:00.000001");

    // The DDL: comp's value subject has two versions, and the last record uses the second.
    let versions: Vec<u32> =
        reqwest::blocking::get(format!("{registry}/subjects/{comp_topic}-value/versions"))
            .unwrap()
            .json()
            .unwrap();
    assert_eq!(versions, [1, 2], "versions of {comp_topic}-value");
    let ids: std::collections::BTreeSet<i64> = decoded
        .iter()
        .filter(|d| d["value"]["source"]["table"] == "comp")
        .map(|d| d["value_schema"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids.len(),
        2,
        "comp's records use two value schemas: {ids:?}"
    );
    // The row inserted after the DDL carries the new column under the new schema.
    let after_ddl = decoded
        .iter()
        .find(|d| d["value"]["after"]["b"] == "after-ddl")
        .unwrap();
    assert_eq!(after_ddl["value"]["after"]["extra"], Json::from("e1"));
    assert_eq!(
        after_ddl["value_schema"].as_i64(),
        ids.iter().max().copied(),
        "the row after the DDL uses the subject's second version"
    );
    let snapshot_ops = decoded.iter().filter(|d| d["value"]["op"] == "r").count();
    assert_eq!(snapshot_ops, 28, "snapshot rows (op r)");
    // Debezium's snapshot markers: one first and one last row of the whole snapshot,
    // each table's first and last marked (two tables: one of each besides those).
    let markers: Vec<&str> = decoded
        .iter()
        .filter(|d| d["value"]["op"] == "r")
        .map(|d| d["value"]["source"]["snapshot"].as_str().unwrap())
        .collect();
    let count = |m: &str| markers.iter().filter(|x| **x == m).count();
    assert_eq!(
        [
            count("first"),
            count("first_in_data_collection"),
            count("last_in_data_collection"),
            count("last"),
            count("true"),
        ],
        [1, 2, 2, 1, 22],
        "{markers:?}"
    );

    // nokey: null Kafka keys (as Debezium writes them for a table without a primary key),
    // no key schema registered, and the rows rebuilt from the value's images.
    let nokey_topic = topics.iter().find(|t| t.ends_with("_nokey")).unwrap();
    let nokey: Vec<&Json> = decoded
        .iter()
        .filter(|d| d["value"]["source"]["table"] == "nokey")
        .collect();
    // 4 snapshot rows, the delete, the insert and the update: one `u`, or a `d` and a `c`
    // when the changed row hashes to another partition (`split_key_updates`).
    let ops: Vec<&str> = nokey
        .iter()
        .map(|d| d["value"]["op"].as_str().unwrap())
        .collect();
    let count = |op: &str| ops.iter().filter(|o| **o == op).count();
    assert!(
        [count("r"), count("u"), count("d"), count("c")] == [4, 1, 1, 1]
            || [count("r"), count("u"), count("d"), count("c")] == [4, 0, 2, 2],
        "nokey's records: {ops:?}"
    );
    for d in &nokey {
        assert_eq!(d["key_null"], true, "a null Kafka key: {d}");
        assert!(d["key_schema"].is_null(), "{d}");
    }
    let key_subject =
        reqwest::blocking::get(format!("{registry}/subjects/{nokey_topic}-key/versions")).unwrap();
    assert_eq!(
        key_subject.status().as_u16(),
        404,
        "no key subject for a table without a key"
    );
    let mut want: Vec<Json> = db
        .query_column("SELECT JSON_OBJECT('a', a, 'b', b, 'c', c) FROM nokey")
        .iter()
        .map(|r| serde_json::from_str(r.as_deref().unwrap()).unwrap())
        .collect();
    want.sort_by_key(Json::to_string);
    assert_eq!(
        rebuild_keyless(&decoded, "nokey"),
        want,
        "nokey rebuilt from Avro differs from the source"
    );

    run.terminate();
    assert!(run.wait_exit(Duration::from_secs(60)).success());
    eprintln!("avro: {} records in {:?}", records.len(), started.elapsed());
}
