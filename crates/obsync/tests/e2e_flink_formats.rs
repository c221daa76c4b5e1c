//! End-to-end: MariaDB → `obsync run` → Kafka in Maxwell and Canal, read back with Apache
//! Flink's own `maxwell-json` and `canal-json` deserializers (flink-json 1.20, the
//! `maxwell-json` and `canal-json` modes of `tests/consumers/ConsumerCheck.java`, every
//! topic in one JVM), which must rebuild the source tables exactly from full and
//! incremental sync: the type matrix the Debezium test uses
//! (`obsync_testkit::all_types`), a table with a composite key and one without a key
//! (identical rows included), with key-changing updates, updates from and to NULL,
//! deletes and a multi-row transaction. Maxwell runs with
//! `maxwell_snapshot_type = "insert"` (Flink refuses `bootstrap-insert`) and Canal with
//! `canal_binary = "base64"` (Flink reads BYTES from Base64): the interop options exist
//! for exactly these consumers.
//!
//! Where Flink cannot hold a column's value in the type a user would first reach for,
//! [`flink_type`] declares the type that does and names the case (docs/formats.md, "Flink
//! `maxwell-json` and `canal-json`", says the same).
//!
//! Needs the shared services and Java; the jars come from Maven Central on first use
//! (cached in `.obsync-dev/consumers`).

mod support;

use std::time::{Duration, Instant};

use obsync_format::decode::{canonical_value, Image};
use obsync_model::{Column, ColumnType, Date, DateTime, KeySource, TableMeta, Time, Value};
use obsync_testkit::all_types::{COLUMNS as TYPES_COLS, DDL as TYPES_DDL, EDGE_ROWS};
use obsync_testkit::consumer_check;
use serde_json::Value as Json;
use support::*;

const STAGE: Duration = Duration::from_secs(120);
const CATCH_UP: Duration = Duration::from_secs(120);

const COMP_DDL: &str = "CREATE TABLE comp (
    a INT NOT NULL, b VARCHAR(20) NOT NULL, v INT DEFAULT 7, note VARCHAR(40),
    PRIMARY KEY (a, b)
) CHARACTER SET utf8mb4";

const NOKEY_DDL: &str = "CREATE TABLE nokey (a INT, b VARCHAR(10), c DOUBLE) CHARACTER SET utf8mb4";

const TABLES: &[&str] = &["types", "comp", "nokey"];

/// The two formats: project format, Flink mode, the interop option Flink needs.
const FORMATS: &[(&str, &str, &str)] = &[
    (
        "Maxwell",
        "maxwell-json",
        "maxwell_snapshot_type = \"insert\"",
    ),
    ("Canal", "canal-json", "canal_binary = \"base64\""),
];

/// The matrix's JSON column (MariaDB's JSON is LONGTEXT: the metadata has no JSON type).
const JSON_COLUMN: &str = "j";

/// The Flink SQL type a user declares for a column of Maxwell or Canal JSON (Flink CDC's
/// MySQL mapping), except where Flink cannot hold the value there:
/// - DECIMAL above precision 38 (Flink's maximum): `STRING`, the exact digits;
/// - TIME: Flink's TIME is a time of day in milliseconds, MySQL's up to ±838 hours in
///   microseconds: `STRING`;
/// - BIT: both formats write the bits as a number, which Flink's BOOLEAN does not read
///   (it reads `true`/`false`): `BIGINT`, BIT(64) `DECIMAL(20, 0)`;
/// - TIMESTAMP: written as UTC wall-clock text, which Flink's TIMESTAMP_LTZ reads only
///   with a trailing `Z` in its SQL format: `TIMESTAMP(6)` holding UTC;
/// - SET: Maxwell writes a JSON array, Canal the labels joined by `,`: `STRING` (Flink
///   gives the array as its JSON text).
fn flink_type(col: &Column) -> &'static str {
    use ColumnType::*;
    match (col.kind, col.unsigned) {
        (TinyInt, false) => "TINYINT",
        (TinyInt, true) | (SmallInt, false) => "SMALLINT",
        (SmallInt, true) | (MediumInt, _) | (Int, false) => "INT",
        (Int, true) | (BigInt, false) => "BIGINT",
        (BigInt, true) => "DECIMAL(20,0)",
        (Decimal, _) if col.precision.unwrap_or(10) > 38 => "STRING",
        (Decimal, _) => "DECIMAL",
        (Float, _) => "FLOAT",
        (Double, _) => "DOUBLE",
        (Bit, _) if col.length.unwrap_or(1) < 64 => "BIGINT",
        (Bit, _) => "DECIMAL(20,0)",
        (ColumnType::Date, _) => "DATE",
        (ColumnType::DateTime, _) | (ColumnType::Timestamp, _) => "TIMESTAMP(6)",
        (Year, _) => "INT",
        (Binary, _)
        | (VarBinary, _)
        | (TinyBlob, _)
        | (Blob, _)
        | (MediumBlob, _)
        | (LongBlob, _) => "BYTES",
        _ => "STRING",
    }
}

/// The declared type with a DECIMAL's precision and scale.
fn flink_type_text(col: &Column) -> String {
    match flink_type(col) {
        "DECIMAL" => format!(
            "DECIMAL({},{})",
            col.precision.unwrap_or(10),
            col.scale.unwrap_or(0)
        ),
        t => t.to_string(),
    }
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// `text` (plain or Java's `1E-30` notation) with exactly `scale` fraction digits.
fn plain_decimal(text: &str, scale: usize) -> String {
    let (mantissa, exp) = match text.split_once(['E', 'e']) {
        Some((m, e)) => (m, e.parse::<i64>().unwrap()),
        None => (text, 0),
    };
    let (negative, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    // The decimal point sits `point` digits into `digits`.
    let point = int.len() as i64 + exp;
    let (int, frac) = if point <= 0 {
        (
            "0".to_string(),
            format!("{}{digits}", "0".repeat((-point) as usize)),
        )
    } else if point as usize >= digits.len() {
        (
            format!("{digits}{}", "0".repeat(point as usize - digits.len())),
            String::new(),
        )
    } else {
        (
            digits[..point as usize].to_string(),
            digits[point as usize..].to_string(),
        )
    };
    let int = int.trim_start_matches('0');
    let int = if int.is_empty() { "0" } else { int };
    let mut frac = frac;
    assert!(
        frac.len() <= scale || frac[scale..].chars().all(|c| c == '0'),
        "{text}: more than {scale} fraction digits"
    );
    frac.truncate(scale);
    while frac.len() < scale {
        frac.push('0');
    }
    let sign = if negative && (int != "0" || frac.chars().any(|c| c != '0')) {
        "-"
    } else {
        ""
    };
    if scale == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

fn date(t: &str) -> Date {
    let p: Vec<&str> = t.split('-').collect();
    Date {
        year: p[0].parse().unwrap(),
        month: p[1].parse().unwrap(),
        day: p[2].parse().unwrap(),
    }
}

/// `yyyy-MM-dd HH:mm:ss.SSSSSS` (ConsumerCheck's TIMESTAMP text).
fn datetime(t: &str) -> DateTime {
    let (d, time) = t.split_once(' ').unwrap();
    let (hms, micros) = time.split_once('.').unwrap_or((time, "0"));
    let p: Vec<&str> = hms.split(':').collect();
    DateTime {
        date: date(d),
        hour: p[0].parse().unwrap(),
        minute: p[1].parse().unwrap(),
        second: p[2].parse().unwrap(),
        micros: format!("{micros:0<6}").parse().unwrap(),
    }
}

/// MySQL's `[-]H:MM:SS[.f]` text.
fn time(t: &str) -> Time {
    let (negative, t) = match t.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let (hms, micros) = t.split_once('.').unwrap_or((t, "0"));
    let p: Vec<&str> = hms.split(':').collect();
    Time {
        negative,
        hours: p[0].parse().unwrap(),
        minutes: p[1].parse().unwrap(),
        seconds: p[2].parse().unwrap(),
        micros: format!("{micros:0<6}").parse().unwrap(),
    }
}

/// A JSON document in one text (compact, keys as written), to compare documents rather
/// than their spacing: Flink re-serializes Maxwell's embedded JSON.
fn json_text(t: &str) -> String {
    serde_json::from_str::<Json>(t)
        .map(|j| j.to_string())
        .unwrap_or_else(|_| t.to_string())
}

/// The source value of one column from Flink's row in ConsumerCheck's neutral text.
fn flink_value(col: &Column, text: Option<&str>) -> Value {
    use ColumnType::*;
    let Some(t) = text else {
        return Value::Null;
    };
    match col.kind {
        TinyInt | SmallInt | MediumInt | Int | BigInt if col.unsigned => {
            Value::UInt(t.parse().unwrap())
        }
        TinyInt | SmallInt | MediumInt | Int | BigInt => Value::Int(t.parse().unwrap()),
        Decimal => Value::Decimal(plain_decimal(t, col.scale.unwrap_or(0) as usize)),
        Float => Value::Float(t.parse().unwrap()),
        Double => Value::Double(t.parse().unwrap()),
        Bit => Value::Bit(t.parse().unwrap()),
        ColumnType::Date => Value::Date(date(t)),
        ColumnType::DateTime => Value::DateTime(datetime(t)),
        ColumnType::Timestamp => {
            Value::Timestamp(obsync_model::Timestamp::from_utc_datetime(&datetime(t)))
        }
        ColumnType::Time => Value::Time(time(t)),
        Year => Value::Year(t.parse().unwrap()),
        Binary | VarBinary | TinyBlob | Blob | MediumBlob | LongBlob => Value::Bytes(unhex(t)),
        // Maxwell's SET is a JSON array (Flink gives its text), Canal's the joined labels.
        Set if t.starts_with('[') => {
            let labels: Vec<String> = serde_json::from_str(t).unwrap();
            Value::Text(labels.join(","))
        }
        _ => Value::Text(t.to_string()),
    }
}

/// A Flink row as a canonical image, the JSON column's document normalized.
fn flink_image(meta: &TableMeta, row: &Json) -> Image {
    meta.columns
        .iter()
        .map(|c| {
            let v = flink_value(c, row[&c.name].as_str());
            let text = canonical_value(c, &v);
            let text = match text {
                Some(t) if c.name == JSON_COLUMN => Some(json_text(&t)),
                t => t,
            };
            (c.name.clone(), text)
        })
        .collect()
}

/// The source tables, the JSON column's documents normalized as [`flink_image`] does.
fn expected(db: &SourceDb, metas: &[TableMeta]) -> Tables {
    let mut tables = source_state(db, metas);
    for rows in tables.values_mut() {
        for entry in rows.values_mut() {
            if let Some(Some(doc)) = entry.image.get_mut(JSON_COLUMN) {
                *doc = json_text(doc);
            }
        }
    }
    tables
}

fn topic(db: &str, format: &str, table: &str) -> String {
    format!("t_{db}_{}_{table}", format.to_lowercase())
}

/// ConsumerCheck's jobs: each format's topic of each table, read by its Flink format.
fn jobs(bootstrap: &str, db: &str, metas: &[TableMeta]) -> String {
    let mut jobs = Vec::new();
    for (format, mode, _) in FORMATS {
        for meta in metas {
            let columns: Vec<Json> = meta
                .columns
                .iter()
                .map(|c| serde_json::json!({"name": c.name, "type": flink_type_text(c)}))
                .collect();
            let topic = topic(db, format, &meta.id.table);
            jobs.push(serde_json::json!({
                "name": format!("{mode}_{}", meta.id.table), "mode": mode, "topic": topic,
                "columns": columns,
            }));
        }
    }
    serde_json::json!({"bootstrap": bootstrap, "jobs": jobs}).to_string()
}

/// The tables Flink's changelog of one format leaves behind.
fn rebuild(lines: &[Json], mode: &str, db: &str, metas: &[TableMeta]) -> Tables {
    let mut tables = Tables::new();
    for meta in metas {
        let job = format!("{mode}_{}", meta.id.table);
        let rows = tables.entry(format!("{db}.{}", meta.id.table)).or_default();
        let keyless = meta.key_source == KeySource::AllColumns;
        for l in lines.iter().filter(|l| l["job"] == job.as_str()) {
            assert!(
                l.get("error").is_none(),
                "{job}: Flink refused a record: {l}"
            );
            let image = flink_image(meta, &l["row"]);
            match l["kind"].as_str().unwrap() {
                "INSERT" | "UPDATE_AFTER" => {
                    upsert(rows, meta, image, keyless);
                }
                "UPDATE_BEFORE" | "DELETE" => remove(rows, &row_key(meta, &image), keyless),
                k => panic!("{job}: unknown row kind {k}"),
            }
        }
    }
    tables
}

fn write_project(
    spec: &ProjectSpec,
    dir: &std::path::Path,
    format: &str,
    option: &str,
) -> std::path::PathBuf {
    let name = format!("{}{}", spec.name, format.to_lowercase());
    let mut s = format!(
        "[project]\nname = {name:?}\n\n\
         [source]\nkind = \"mariadb\"\nhost = {host:?}\nport = {port}\nuser = {user:?}\npassword = {password:?}\n\n\
         [target]\nbootstrap_servers = {bootstrap:?}\nversion = \"3.x\"\n\n\
         [sync]\ntypes = [\"schema\", \"full\", \"incremental\"]\nformat = {format:?}\n\
         topic_partitions = 3\nsnapshot_chunk_rows = 2\n\n[sync.format_options]\n{option}\n",
        host = spec.host,
        port = spec.port,
        user = spec.user,
        password = spec.password,
        bootstrap = spec.bootstrap,
    );
    // A topic per table: Flink decodes a topic with one row type.
    for t in TABLES {
        s.push_str(&format!(
            "\n[[objects]]\ntables = [\"{db}.{t}\"]\ntopic = {topic:?}\n",
            db = spec.db,
            topic = topic(&spec.db, format, t)
        ));
    }
    let path = dir.join(format!("{name}.toml"));
    std::fs::write(&path, s).unwrap();
    path
}

#[test]
fn flink_maxwell_json_and_canal_json_rebuild_the_type_matrix() {
    let started = Instant::now();
    let services = Services::load();
    let db = SourceDb::create(&services);
    db.exec_many(&[TYPES_DDL, COMP_DDL, NOKEY_DDL]);
    db.exec_many(EDGE_ROWS);
    db.exec_many(&[
        "INSERT INTO comp VALUES (1, 'k1', 10, NULL), (1, 'k2', 11, 'x'), (2, 'k1', 20, NULL), (3, 'k3', 30, 'y')",
        // Identical rows in a table without a key must stay two rows.
        "INSERT INTO nokey VALUES (1, 'same', 0.5), (1, 'same', 0.5), (2, 'other', NULL), (NULL, NULL, NULL)",
    ]);
    let spec = ProjectSpec::new(&services, &db, "Maxwell");
    let dir = scratch_dir(&spec.name);
    let mut runs: Vec<Obsync> = FORMATS
        .iter()
        .map(|(format, _, option)| {
            let config = write_project(&spec, &dir, format, option);
            Obsync::start(&config, &dir.join(format!("state-{format}")))
        })
        .collect();
    for run in &mut runs {
        run.wait_for("incremental sync", STAGE, |s| {
            s["stage"].as_str() == Some("incremental")
        });
    }
    db.exec_many(&[
        // The type matrix through the binlog, then updates (from and to NULL, of the key,
        // of decimals, times and bits), a delete.
        format!("INSERT INTO types (id, {TYPES_COLS}) SELECT id + 1000, {TYPES_COLS} FROM types WHERE id <= 4"),
        "UPDATE types SET s = 'updated', dec65 = -1.5, ts = '2024-05-01 10:00:00.5', b64 = b'1', tm = '-12:00:00.25' WHERE id = 1001".into(),
        "UPDATE types SET ti = 5, s = 'from null', j = '{\"x\": 1}', dt = '2000-02-29' WHERE id = 1003".into(),
        "UPDATE types SET i = NULL, s = NULL, bin = NULL WHERE id = 1002".into(),
        "UPDATE types SET id = 2004 WHERE id = 1004".into(),
        "DELETE FROM types WHERE id = 4".into(),
        // A multi-row transaction over two tables: a composite-key change, a delete.
        "BEGIN".into(),
        "INSERT INTO comp VALUES (4, 'k4', 40, 'new'), (4, 'k5', 41, NULL)".into(),
        "UPDATE comp SET b = 'moved' WHERE a = 1 AND b = 'k1'".into(),
        "DELETE FROM comp WHERE a = 2".into(),
        "UPDATE comp SET v = v + 1, note = 'was null' WHERE a = 3 OR (a = 1 AND b = 'k2')".into(),
        "UPDATE types SET i = 42 WHERE id = 2".into(),
        "COMMIT".into(),
        // No key: one of two identical rows deleted, an update from NULL, a new row.
        "INSERT INTO nokey VALUES (3, 'x', 1.5)".into(),
        "DELETE FROM nokey WHERE a = 1 LIMIT 1".into(),
        "UPDATE nokey SET c = 2.5 WHERE a = 2".into(),
    ]);
    let metas = db.table_metas(TABLES);
    let want = expected(&db, &metas);
    let deadline = Instant::now() + CATCH_UP;
    loop {
        // Every topic in one JVM; again until all have caught up.
        let lines: Vec<Json> = consumer_check(&services, &jobs(&spec.bootstrap, &spec.db, &metas))
            .iter()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        let diffs: Vec<String> = FORMATS
            .iter()
            .filter_map(|(_, mode, _)| {
                diff_tables(&want, &rebuild(&lines, mode, &spec.db, &metas))
                    .map(|d| format!("{mode}:\n{d}"))
            })
            .collect();
        if diffs.is_empty() {
            eprintln!(
                "{} Flink rows rebuild the source tables in both formats",
                lines.len()
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not rebuilt after {CATCH_UP:?}:\n{}",
            diffs.join("\n")
        );
        std::thread::sleep(Duration::from_secs(2));
    }
    for run in &runs {
        run.terminate();
    }
    for mut run in runs {
        assert!(run.wait_exit(Duration::from_secs(60)).success());
    }
    eprintln!("flink formats: {:?}", started.elapsed());
}

#[test]
fn plain_decimal_reads_java_notation() {
    assert_eq!(plain_decimal("1E-30", 30), format!("0.{}1", "0".repeat(29)));
    assert_eq!(plain_decimal("0E-30", 30), format!("0.{}", "0".repeat(30)));
    assert_eq!(plain_decimal("-1.5", 3), "-1.500");
    assert_eq!(plain_decimal("12", 0), "12");
    assert_eq!(plain_decimal("1.25E+2", 1), "125.0");
}
