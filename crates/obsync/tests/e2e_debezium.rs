//! End-to-end: MariaDB → `obsync run` in the Debezium formats → Kafka → real consumer
//! libraries. Three projects read one database (full + incremental: the type matrix, a
//! composite key, a table without a key, key-changing updates, deletes, a multi-row
//! transaction):
//!
//! - `Debezium` with the JSON converter's schemas: decoded by Kafka Connect's
//!   `JsonConverter` (structs whose logical types must match the source columns, keys,
//!   key-change headers) and by Flink's `debezium-json` with `schema-include`;
//! - `Debezium` without schemas, decimals as strings: Flink's `debezium-json`;
//! - `DebeziumFlattened` (deletes rewritten as `__deleted` rows, `__op`, `__db`,
//!   `__table` added): obsync's own decoder.
//!
//! Each consumer's output rebuilds the source tables exactly. Where a library cannot
//! represent a value, its type here says so (see `flink_type`). Needs the shared services
//! and Java with Maven (`tests/consumers`).

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use obsync_format::debezium::value::decimal_text;
use obsync_format::decode::{canonical_value, decode, DecodedOp, Image};
use obsync_format::{AddField, DecimalHandling, DeleteHandling, FormatKind, FormatOptions};
use obsync_model::{
    Column, ColumnType, DateTime, KeySource, TableMeta, Time as Duration64, Timestamp as Instant64,
    Value,
};
use obsync_testkit::all_types::{COLUMNS as TYPES_COLS, DDL as TYPES_DDL, EDGE_ROWS};
use obsync_testkit::consumer_check;
use serde_json::Value as Json;
use support::*;

const COMP_DDL: &str = "CREATE TABLE comp (
    a INT NOT NULL, b VARCHAR(20) NOT NULL, v INT DEFAULT 7, note VARCHAR(40) DEFAULT 'it''s',
    PRIMARY KEY (a, b)
) CHARACTER SET utf8mb4";

const NOKEY_DDL: &str = "CREATE TABLE nokey (a INT, b VARCHAR(10), c DOUBLE) CHARACTER SET utf8mb4";

const TABLES: &[&str] = &["types", "comp", "nokey"];

/// How long the consumers may take to see the source's last change.
const CATCH_UP: Duration = Duration::from_secs(120);

/// One project of the test: its name, format and `[sync.debezium]` lines.
struct Project {
    label: &'static str,
    format: FormatKind,
    options: &'static str,
    name: String,
}

impl Project {
    fn topic(&self, db: &str, table: &str) -> String {
        format!("{}_{db}_{table}", self.label)
    }

    fn write(&self, spec: &ProjectSpec, dir: &std::path::Path) -> std::path::PathBuf {
        let mut s = format!(
            "[project]\nname = {name:?}\n\n\
             [source]\nkind = \"mariadb\"\nhost = {host:?}\nport = {port}\nuser = {user:?}\npassword = {password:?}\n\n\
             [target]\nbootstrap_servers = {bootstrap:?}\nversion = \"3.x\"\n\n\
             [sync]\ntypes = [\"schema\", \"full\", \"incremental\"]\nformat = {format:?}\n\
             topic_partitions = 3\nsnapshot_chunk_rows = 2\n\n[sync.debezium]\n{options}\n",
            name = self.name,
            host = spec.host,
            port = spec.port,
            user = spec.user,
            password = spec.password,
            bootstrap = spec.bootstrap,
            format = self.format.name(),
            options = self.options,
        );
        for t in TABLES {
            s.push_str(&format!(
                "\n[[objects]]\ntables = [\"{db}.{t}\"]\ntopic = {topic:?}\n",
                db = spec.db,
                topic = self.topic(&spec.db, t)
            ));
        }
        let path = dir.join(format!("{}.toml", self.name));
        std::fs::write(&path, s).unwrap();
        path
    }
}

fn create_tables(db: &SourceDb) {
    db.exec_many(&[TYPES_DDL, COMP_DDL, NOKEY_DDL]);
    db.exec_many(EDGE_ROWS);
    db.exec_many(&[
        "INSERT INTO comp VALUES (1, 'k1', 10, NULL), (1, 'k2', 11, 'x'), (2, 'k1', 20, NULL), (3, 'k3', 30, 'y')",
        // Identical rows in a table without a key must arrive as two rows.
        "INSERT INTO nokey VALUES (1, 'same', 0.5), (1, 'same', 0.5), (2, 'other', NULL), (NULL, NULL, NULL)",
    ]);
}

/// Changes made while the projects stream: the type matrix through the binlog, updates,
/// key changes, deletes and a multi-row transaction over two tables.
fn incremental_changes(db: &SourceDb) {
    db.exec_many(&[
        format!("INSERT INTO types (id, {TYPES_COLS}) SELECT id + 1000, {TYPES_COLS} FROM types WHERE id <= 4"),
        // BIT(64) = 1 tells little-endian (Debezium's) from big-endian bytes.
        "UPDATE types SET s = 'updated', dec65 = -1.5, ts = '2024-05-01 10:00:00.5', b64 = b'1' WHERE id = 1001".into(),
        "UPDATE types SET id = 2004 WHERE id = 1004".into(),
        "DELETE FROM types WHERE id = 1003".into(),
        "BEGIN".into(),
        "INSERT INTO comp VALUES (4, 'k4', 40, 'new'), (4, 'k5', 41, NULL)".into(),
        "UPDATE comp SET b = 'moved' WHERE a = 1 AND b = 'k1'".into(),
        "DELETE FROM comp WHERE a = 2".into(),
        "UPDATE comp SET v = v + 1 WHERE a = 3".into(),
        "UPDATE types SET i = 42 WHERE id = 2".into(),
        "COMMIT".into(),
        "INSERT INTO nokey VALUES (3, 'x', 1.5)".into(),
        "DELETE FROM nokey WHERE a = 1 LIMIT 1".into(),
        "UPDATE nokey SET c = 2.5 WHERE a = 2".into(),
    ]);
}

/// The Flink SQL type a user declares for a Debezium-JSON column: the Connect primitive.
/// Flink cannot represent, and the docs say so: DECIMAL above precision 38 (`dec65` is
/// read as text or bytes), and Debezium's temporal integers (Flink's JSON DATE/TIME/
/// TIMESTAMP want text), which are read as INT/BIGINT and converted by the consumer.
fn flink_type(col: &Column, decimal_as_text: bool) -> &'static str {
    use ColumnType::*;
    match (col.kind, col.unsigned) {
        (TinyInt, _) | (SmallInt, false) => "SMALLINT",
        (SmallInt, true) | (MediumInt, _) | (Int, false) => "INT",
        (Int, true) | (BigInt, _) => "BIGINT",
        (Decimal, _) if decimal_as_text => "STRING",
        (Decimal, _) => "BYTES",
        (Float, _) => "FLOAT",
        (Double, _) => "DOUBLE",
        (Bit, _) if col.length.unwrap_or(1) <= 1 => "BOOLEAN",
        (Bit, _) => "BYTES",
        (Date, _) | (Year, _) => "INT",
        (Time, _) | (DateTime, _) => "BIGINT",
        (Timestamp, _) => "TIMESTAMP_LTZ(6)",
        (Binary, _)
        | (VarBinary, _)
        | (TinyBlob, _)
        | (Blob, _)
        | (MediumBlob, _)
        | (LongBlob, _)
        | (Geometry, _) => "BYTES",
        _ => "STRING",
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn from_micros(us: i64) -> DateTime {
    Instant64 {
        secs: us.div_euclid(1_000_000),
        micros: us.rem_euclid(1_000_000) as u32,
    }
    .to_utc_datetime()
}

/// The source value of one column from the consumers' neutral text (see
/// ConsumerCheck.java), by Debezium's mapping of the column's type.
/// `decimal_hex`: decimals arrive as the bytes of Connect's Decimal (Flink reading them
/// as BYTES), else as decimal text.
fn neutral_value(col: &Column, text: Option<&str>, decimal_hex: bool) -> Value {
    use ColumnType::*;
    let Some(t) = text else {
        return Value::Null;
    };
    let int = || {
        t.parse::<i64>()
            .unwrap_or_else(|_| panic!("{}: {t:?} is not an integer", col.name))
    };
    match col.kind {
        TinyInt | SmallInt | MediumInt | Int | BigInt if col.unsigned => Value::UInt(int() as u64),
        TinyInt | SmallInt | MediumInt | Int | BigInt => Value::Int(int()),
        Decimal if decimal_hex => Value::Decimal(decimal_text(&unhex(t), col.scale.unwrap_or(0))),
        Decimal => Value::Decimal(t.to_string()),
        Float => Value::Float(t.parse().unwrap()),
        Double => Value::Double(t.parse().unwrap()),
        Bit if t == "true" || t == "false" => Value::Bit((t == "true") as u64),
        Bit => {
            let mut le = [0u8; 8];
            for (i, b) in unhex(t).into_iter().take(8).enumerate() {
                le[i] = b;
            }
            Value::Bit(u64::from_le_bytes(le))
        }
        ColumnType::Date => Value::Date(
            Instant64 {
                secs: int() * 86_400,
                micros: 0,
            }
            .to_utc_datetime()
            .date,
        ),
        ColumnType::DateTime if col.fsp.unwrap_or(0) > 3 => Value::DateTime(from_micros(int())),
        ColumnType::DateTime => Value::DateTime(from_micros(int() * 1000)),
        ColumnType::Timestamp => {
            let (secs, micros) = t.split_once('.').unwrap();
            Value::Timestamp(Instant64 {
                secs: secs.parse().unwrap(),
                micros: micros.parse().unwrap(),
            })
        }
        ColumnType::Time => {
            let us = int();
            let a = us.unsigned_abs();
            let secs = a / 1_000_000;
            Value::Time(Duration64 {
                negative: us < 0,
                hours: (secs / 3600) as u32,
                minutes: (secs / 60 % 60) as u8,
                seconds: (secs % 60) as u8,
                micros: (a % 1_000_000) as u32,
            })
        }
        Year => Value::Year(int() as u16),
        Binary | VarBinary | TinyBlob | Blob | MediumBlob | LongBlob | Geometry => {
            Value::Bytes(unhex(t))
        }
        _ => Value::Text(t.to_string()),
    }
}

/// A row object of neutral texts as a canonical image.
fn neutral_image(meta: &TableMeta, row: &Json, decimal_hex: bool) -> Image {
    meta.columns
        .iter()
        .map(|c| {
            let v = neutral_value(c, row[&c.name].as_str(), decimal_hex);
            (c.name.clone(), canonical_value(c, &v))
        })
        .collect()
}

/// Tables rebuilt from the lines of one consumer job (`job` = `<label>_<table>`).
fn rebuild(lines: &[Json], label: &str, db: &str, metas: &[TableMeta]) -> Tables {
    let mut tables = Tables::new();
    for meta in metas {
        let job = format!("{label}_{}", meta.id.table);
        let rows = tables.entry(format!("{db}.{}", meta.id.table)).or_default();
        let keyless = meta.key_source == KeySource::AllColumns;
        // Flink reads Connect's Decimal bytes as BYTES; JsonConverter makes BigDecimals.
        let decimal_hex = label == "s-flink";
        for l in lines.iter().filter(|l| l["job"] == job.as_str()) {
            assert!(l.get("error").is_none(), "{job}: the consumer failed: {l}");
            let image = |v: &Json| neutral_image(meta, v, decimal_hex);
            let key = |img: &Image| row_key(meta, img);
            // Flink's rows: INSERT / UPDATE_BEFORE / UPDATE_AFTER / DELETE.
            if let Some(kind) = l["kind"].as_str() {
                match kind {
                    "INSERT" | "UPDATE_AFTER" => {
                        upsert(rows, meta, image(&l["row"]), keyless);
                    }
                    "UPDATE_BEFORE" | "DELETE" => remove(rows, &key(&image(&l["row"])), keyless),
                    "TOMBSTONE" => {}
                    other => panic!("{job}: unknown row kind {other}"),
                }
                continue;
            }
            // JsonConverter's envelopes.
            match l["op"].as_str().unwrap() {
                "c" | "r" => {
                    upsert(rows, meta, image(&l["after"]), keyless);
                }
                "u" => {
                    remove(rows, &key(&image(&l["before"])), keyless);
                    upsert(rows, meta, image(&l["after"]), keyless);
                }
                "d" => remove(rows, &key(&image(&l["before"])), keyless),
                "tombstone" => {}
                other => panic!("{job}: unknown op {other}"),
            }
        }
    }
    tables
}

/// Tables rebuilt with obsync's decoder from the flattened project's topics.
fn rebuild_flattened(
    p: &Project,
    spec: &ProjectSpec,
    opts: &FormatOptions,
    metas: &[TableMeta],
) -> Tables {
    let mut tables = Tables::new();
    for meta in metas {
        let rows = tables
            .entry(format!("{}.{}", spec.db, meta.id.table))
            .or_default();
        let keyless = meta.key_source == KeySource::AllColumns;
        for rec in consume(&spec.bootstrap, &p.topic(&spec.db, &meta.id.table)) {
            let d = decode(opts, &rec.value, metas).unwrap_or_else(|e| {
                panic!(
                    "{}: {e}: {}",
                    rec.topic,
                    String::from_utf8_lossy(&rec.value)
                )
            });
            match d.op {
                DecodedOp::Delete => {
                    remove(rows, &row_key(meta, d.before.as_ref().unwrap()), keyless)
                }
                _ => {
                    upsert(rows, meta, d.after.unwrap(), keyless);
                }
            }
        }
    }
    tables
}

/// The jobs file of ConsumerCheck.java.
fn jobs(bootstrap: &str, db: &str, projects: &[&Project], metas: &[TableMeta]) -> String {
    let mut jobs = Vec::new();
    for p in projects {
        for meta in metas {
            let topic = p.topic(db, &meta.id.table);
            let name = |mode: &str| format!("{}-{mode}_{}", p.label, meta.id.table);
            let schemas = !p.options.contains("schemas = false");
            let decimal_as_text = p.options.contains("decimal_handling = \"string\"");
            let columns: Vec<Json> = meta
                .columns
                .iter()
                .map(
                    |c| serde_json::json!({"name": c.name, "type": flink_type(c, decimal_as_text)}),
                )
                .collect();
            jobs.push(serde_json::json!({
                "name": name("flink"), "mode": "debezium-json", "topic": topic,
                "schema_include": schemas, "columns": columns,
            }));
            if schemas {
                jobs.push(serde_json::json!({"name": name("connect"), "mode": "connect-json", "topic": topic}));
            }
        }
    }
    serde_json::json!({"bootstrap": bootstrap, "jobs": jobs}).to_string()
}

/// The Connect schema of each `types` column as JsonConverter rebuilds it
/// (`describe` in ConsumerCheck.java), from shared/reference/debezium-output.md.
const TYPES_SCHEMA: &[(&str, &str)] = &[
    ("id", "int32"),
    ("ti", "int16?"),
    ("tiu", "int16?"),
    ("si", "int16?"),
    ("siu", "int32?"),
    ("mi", "int32?"),
    ("miu", "int32?"),
    ("i", "int32?"),
    ("iu", "int64?"),
    ("bi", "int64?"),
    ("biu", "int64?"),
    (
        "dec65",
        "bytes org.apache.kafka.connect.data.Decimal connect.decimal.precision=65,scale=30?",
    ),
    ("f", "float32?"),
    ("d", "float64?"),
    ("b1", "boolean?"),
    ("b64", "bytes io.debezium.data.Bits length=64?"),
    ("dt", "int32 io.debezium.time.Date?"),
    ("dtm", "int64 io.debezium.time.MicroTimestamp?"),
    ("ts", "string io.debezium.time.ZonedTimestamp?"),
    ("tm", "int64 io.debezium.time.MicroTime?"),
    ("y", "int32 io.debezium.time.Year?"),
    ("s", "string?"),
    ("c", "string?"),
    ("bin", "bytes?"),
    ("vb", "bytes?"),
    ("blb", "bytes?"),
    ("txt", "string?"),
    ("e", "string io.debezium.data.Enum allowed=a,b,c?"),
    ("st", "string io.debezium.data.EnumSet allowed=x,y,z?"),
    // MariaDB's JSON is LONGTEXT: a plain string, as Debezium's MariaDB connector has it.
    ("j", "string?"),
];

/// What only JsonConverter shows: the schemas, keys, snapshot markers and the
/// key-change records with their headers.
fn check_connect_records(lines: &[Json], label: &str, db: &str) {
    let types: Vec<&Json> = lines
        .iter()
        .filter(|l| l["job"] == format!("{label}-connect_types").as_str())
        .collect();
    let first = types
        .iter()
        .find(|l| l.get("schema").is_some())
        .expect("a described record");
    for (col, want) in TYPES_SCHEMA {
        assert_eq!(
            first["schema"][col].as_str(),
            Some(*want),
            "Connect schema of types.{col}"
        );
    }
    assert!(first["envelope"]
        .as_str()
        .unwrap()
        .ends_with(&format!(".{db}.types.Envelope v2")));
    // Column defaults reach Connect's schema as its default values.
    let comp = lines
        .iter()
        .find(|l| l["job"] == format!("{label}-connect_comp").as_str() && l.get("schema").is_some())
        .expect("a described comp record");
    assert_eq!(comp["schema"]["v"], "int32 default=7?", "{comp}");
    assert_eq!(comp["schema"]["note"], "string default=it's?", "{comp}");
    assert_eq!(comp["schema"]["a"], "int32", "{comp}");
    assert_eq!(first["source_schema"]["snapshot"], "string io.debezium.data.Enum allowed=true,first,first_in_data_collection,last_in_data_collection,last,false,incremental default=false?");
    for l in &types {
        if l["op"] == "tombstone" {
            continue;
        }
        assert_eq!(l["db"], db);
        let image = if l["after"].is_null() {
            &l["before"]
        } else {
            &l["after"]
        };
        assert_eq!(
            l["key"]["id"], image["id"],
            "the key is the row's primary key: {l}"
        );
        let snapshot = l["snapshot"].as_str().unwrap();
        match l["op"].as_str().unwrap() {
            "r" => assert!(snapshot != "false", "{l}"),
            _ => assert_eq!(snapshot, "false", "{l}"),
        }
        let h: Vec<&str> = l["headers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h.as_str().unwrap())
            .collect();
        assert!(
            h.ends_with(&[
                "__debezium.context.connectorLogicalName",
                "__debezium.context.taskId",
                "__debezium.context.connectorName",
                "__debezium.context.runId",
            ]),
            "context headers: {h:?}"
        );
    }
    // Snapshot markers over the whole snapshot: one first, one last.
    let all_r: Vec<&str> = lines
        .iter()
        .filter(|l| {
            l["job"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{label}-connect_"))
                && l["op"] == "r"
        })
        .map(|l| l["snapshot"].as_str().unwrap())
        .collect();
    assert_eq!(
        all_r.iter().filter(|m| **m == "first").count(),
        1,
        "{all_r:?}"
    );
    assert_eq!(
        all_r.iter().filter(|m| **m == "last").count(),
        1,
        "{all_r:?}"
    );
    // UPDATE types SET id = 2004 WHERE id = 1004: delete + tombstone (old key, header
    // newkey) and create (new key, header oldkey).
    let moved: Vec<&&Json> = types
        .iter()
        .filter(|l| l["key"]["id"] == "1004" || l["key"]["id"] == "2004")
        .filter(|l| l["op"] != "c" || l["key"]["id"] == "2004")
        .collect();
    let ops: Vec<&str> = moved.iter().map(|l| l["op"].as_str().unwrap()).collect();
    assert!(
        ops.ends_with(&["d", "tombstone"]) || ops.contains(&"d"),
        "{ops:?}"
    );
    let d = moved
        .iter()
        .find(|l| l["op"] == "d" && l["key"]["id"] == "1004")
        .expect("the key change's delete");
    assert_eq!(d["newkey"]["id"], "2004", "{d}");
    let c = moved
        .iter()
        .find(|l| l["op"] == "c" && l["key"]["id"] == "2004")
        .expect("the key change's create");
    assert_eq!(c["oldkey"]["id"], "1004", "{c}");
    // DELETE FROM types WHERE id = 1003: a delete, then its tombstone.
    assert!(types
        .iter()
        .any(|l| l["op"] == "d" && l["key"]["id"] == "1003"));
    assert!(types
        .iter()
        .any(|l| l["op"] == "tombstone" && l["key"]["id"] == "1003"));
    // The table without a key has null keys.
    assert!(lines
        .iter()
        .filter(|l| l["job"] == format!("{label}-connect_nokey").as_str())
        .all(|l| l["key"].is_null()));
}

#[test]
fn debezium_records_rebuild_the_source_in_real_consumers() {
    let started = Instant::now();
    let services = Services::load();
    let db = SourceDb::create(&services);
    create_tables(&db);
    let spec = ProjectSpec::new(&services, &db, "Debezium");
    let dir = scratch_dir(&spec.name);
    let projects = [
        Project {
            label: "s",
            format: FormatKind::Debezium,
            options: "transaction_metadata = true",
            name: format!("{}s", spec.name),
        },
        Project {
            label: "n",
            format: FormatKind::Debezium,
            options: "schemas = false\ndecimal_handling = \"string\"",
            name: format!("{}n", spec.name),
        },
        Project {
            label: "f",
            format: FormatKind::DebeziumFlattened,
            options: "schemas = false\ndelete_handling = \"rewrite\"\nadd_fields = [\"op\", \"db\", \"table\"]",
            name: format!("{}f", spec.name),
        },
    ];
    let mut runs: Vec<Obsync> = projects
        .iter()
        .map(|p| {
            Obsync::start(
                &p.write(&spec, &dir),
                &dir.join(format!("state-{}", p.label)),
            )
        })
        .collect();
    for run in &mut runs {
        run.wait_for("incremental sync", Duration::from_secs(120), |s| {
            s["stage"].as_str() == Some("incremental")
        });
    }
    incremental_changes(&db);

    let metas = db.table_metas(TABLES);
    let expected = source_state(&db, &metas);
    let mut flat_opts = FormatOptions::new(FormatKind::DebeziumFlattened);
    flat_opts.debezium.decimal_handling = DecimalHandling::Precise;
    flat_opts.debezium.flatten.delete_handling = DeleteHandling::Rewrite;
    flat_opts.debezium.flatten.add_fields = ["op", "db", "table"]
        .iter()
        .map(|f| AddField::parse(f).unwrap())
        .collect();
    let deadline = Instant::now() + CATCH_UP;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let lines: Vec<Json> = consumer_check(
            &services,
            &jobs(
                &spec.bootstrap,
                &spec.db,
                &[&projects[0], &projects[1]],
                &metas,
            ),
        )
        .iter()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
        let mut rebuilt: BTreeMap<String, Tables> = BTreeMap::new();
        for label in ["s-connect", "s-flink", "n-flink"] {
            rebuilt.insert(label.into(), rebuild(&lines, label, &spec.db, &metas));
        }
        rebuilt.insert(
            "f (obsync decoder)".into(),
            rebuild_flattened(&projects[2], &spec, &flat_opts, &metas),
        );
        let diffs: Vec<String> = rebuilt
            .iter()
            .filter_map(|(k, t)| diff_tables(&expected, t).map(|d| format!("{k}:\n{d}")))
            .collect();
        if diffs.is_empty() {
            check_connect_records(&lines, "s", &spec.db);
            eprintln!(
                "{} consumer lines, {attempts} consumer run(s), {:?}",
                lines.len(),
                started.elapsed()
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the consumers do not rebuild the source after {CATCH_UP:?}:\n{}",
            diffs.join("\n")
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    check_transaction_topic(&spec.bootstrap, &projects[0].name, &spec.db);
    for run in &runs {
        run.terminate();
    }
    for mut run in runs {
        assert!(run.wait_exit(Duration::from_secs(60)).success());
    }
}

/// `provide.transaction.metadata`: every transaction's BEGIN and END on
/// `<prefix>.transaction`, the multi-table transaction of [`incremental_changes`]
/// counted per table.
fn check_transaction_topic(bootstrap: &str, prefix: &str, db: &str) {
    let records = consume(bootstrap, &format!("{prefix}.transaction"));
    let payloads: Vec<(Json, Json)> = records
        .iter()
        .map(|r| {
            let key: Json = serde_json::from_slice(&r.key).unwrap();
            let value: Json = serde_json::from_slice(&r.value).unwrap();
            assert_eq!(
                value["schema"]["name"],
                "io.debezium.connector.common.TransactionMetadataValue"
            );
            (key["payload"].clone(), value["payload"].clone())
        })
        .collect();
    assert!(!payloads.is_empty(), "no transaction records");
    // BEGIN and END alternate, each pair with one id, which is also the key.
    for pair in payloads.chunks(2) {
        let [(bk, begin), (ek, end)] = pair else {
            panic!("a BEGIN without its END: {pair:?}");
        };
        assert_eq!(begin["status"], "BEGIN", "{begin}");
        assert_eq!(end["status"], "END", "{end}");
        assert_eq!(begin["id"], end["id"]);
        assert_eq!(bk["id"], begin["id"]);
        assert_eq!(ek["id"], end["id"]);
        assert!(begin["event_count"].is_null() && begin["data_collections"].is_null());
        let per_table: u64 = end["data_collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["event_count"].as_u64().unwrap())
            .sum();
        assert_eq!(end["event_count"].as_u64(), Some(per_table), "{end}");
    }
    let multi = payloads
        .iter()
        .map(|(_, v)| v)
        .find(|v| v["status"] == "END" && v["data_collections"].as_array().unwrap().len() > 1)
        .expect("the END of the transaction that changed comp and types");
    assert_eq!(
        multi["data_collections"],
        serde_json::json!([
            {"data_collection": format!("{db}.comp"), "event_count": 5},
            {"data_collection": format!("{db}.types"), "event_count": 1},
        ]),
        "{multi}"
    );
    assert_eq!(multi["event_count"], 6);
}
