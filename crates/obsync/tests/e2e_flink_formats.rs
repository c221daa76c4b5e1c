//! End-to-end: MariaDB → `obsync run` → Kafka in Maxwell and Canal, read back with Apache
//! Flink's own `maxwell-json` and `canal-json` deserializers (flink-json 1.20, the
//! `maxwell-json` and `canal-json` modes of `tests/consumers/ConsumerCheck.java`, every
//! topic in one JVM), which must rebuild the source tables exactly from full and
//! incremental sync: a table of the types Flink reads, one with a composite key and one
//! without a key (identical rows included). Maxwell runs with
//! `maxwell_snapshot_type = "insert"` (Flink refuses `bootstrap-insert`) and Canal with
//! `canal_binary = "base64"` (Flink reads BYTES from Base64): the interop options exist
//! for exactly these consumers.
//!
//! Needs the shared services and Java; the jars come from Maven Central on first use
//! (cached in `.obsync-dev/consumers`).

mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use obsync_testkit::consumer_check;
use serde_json::Value as Json;
use support::*;

const STAGE: Duration = Duration::from_secs(120);
const CATCH_UP: Duration = Duration::from_secs(120);

/// One source table: its DDL, the Flink type of each column, its key columns (none: the
/// rows are a multiset) and a query of its rows in the checker's text.
struct Table {
    name: &'static str,
    ddl: &'static str,
    flink_columns: &'static str,
    key: &'static [&'static str],
    rows: &'static str,
}

const TABLES: &[Table] = &[
    Table {
        name: "ft",
        ddl: "CREATE TABLE ft (
            id INT PRIMARY KEY, bi BIGINT, dec_v DECIMAL(10,2), s VARCHAR(40), b VARBINARY(8),
            dtm DATETIME(3), n INT
        ) CHARACTER SET utf8mb4",
        flink_columns:
            "id:INT;bi:BIGINT;dec_v:DECIMAL(10,2);s:STRING;b:BYTES;dtm:TIMESTAMP(3);n:INT",
        key: &["id"],
        rows: "SELECT JSON_OBJECT('id', CAST(id AS CHAR), 'bi', CAST(bi AS CHAR), \
            'dec_v', CAST(dec_v AS CHAR), 's', s, 'b', LOWER(HEX(b)), \
            'dtm', DATE_FORMAT(dtm, '%Y-%m-%d %H:%i:%s.%f'), 'n', CAST(n AS CHAR)) FROM ft",
    },
    Table {
        name: "fc",
        ddl: "CREATE TABLE fc (a INT NOT NULL, b VARCHAR(10) NOT NULL, v INT, PRIMARY KEY (a, b)) \
            CHARACTER SET utf8mb4",
        flink_columns: "a:INT;b:STRING;v:INT",
        key: &["a", "b"],
        rows: "SELECT JSON_OBJECT('a', CAST(a AS CHAR), 'b', b, 'v', CAST(v AS CHAR)) FROM fc",
    },
    Table {
        name: "fk",
        ddl: "CREATE TABLE fk (a INT, b VARCHAR(10)) CHARACTER SET utf8mb4",
        flink_columns: "a:INT;b:STRING",
        key: &[],
        rows: "SELECT JSON_OBJECT('a', CAST(a AS CHAR), 'b', b) FROM fk",
    },
];

/// A table's rows by key (every column for a table without a key), each key with its
/// rows: one for a keyed table, as many as there are identical rows otherwise.
type Rows = BTreeMap<String, Vec<Json>>;

fn row_key(table: &Table, row: &Json) -> String {
    if table.key.is_empty() {
        return row.to_string();
    }
    let key: Vec<&Json> = table.key.iter().map(|k| &row[*k]).collect();
    serde_json::to_string(&key).unwrap()
}

/// ConsumerCheck's jobs: each project's topic of each table, read by its Flink format.
fn jobs(bootstrap: &str, topics: &[(String, &str, &Table)]) -> String {
    let jobs: Vec<Json> = topics
        .iter()
        .map(|(topic, mode, table)| {
            let columns: Vec<Json> = table
                .flink_columns
                .split(';')
                .map(|c| {
                    let (name, ty) = c.split_once(':').unwrap();
                    serde_json::json!({"name": name, "type": ty})
                })
                .collect();
            serde_json::json!({"name": topic, "mode": mode, "topic": topic, "columns": columns})
        })
        .collect();
    serde_json::json!({"bootstrap": bootstrap, "jobs": jobs}).to_string()
}

/// The table Flink's changelog leaves behind.
fn rebuild(table: &Table, lines: &[&Json]) -> Rows {
    let mut rows = Rows::new();
    for r in lines {
        assert!(r.get("error").is_none(), "Flink refused a record: {r}");
        let key = row_key(table, &r["row"]);
        match r["kind"].as_str().unwrap() {
            "INSERT" | "UPDATE_AFTER" if table.key.is_empty() => {
                rows.entry(key).or_default().push(r["row"].clone());
            }
            "INSERT" | "UPDATE_AFTER" => {
                rows.insert(key, vec![r["row"].clone()]);
            }
            "UPDATE_BEFORE" | "DELETE" => {
                if let Some(same) = rows.get_mut(&key) {
                    same.pop();
                    if same.is_empty() {
                        rows.remove(&key);
                    }
                }
            }
            k => panic!("unknown row kind {k}"),
        }
    }
    rows
}

/// The source table in the checker's text.
fn source_rows(db: &SourceDb, table: &Table) -> Rows {
    let mut rows = Rows::new();
    for r in db.query_column(table.rows) {
        let row: Json = serde_json::from_str(&r.unwrap()).unwrap();
        rows.entry(row_key(table, &row)).or_default().push(row);
    }
    rows
}

#[test]
fn flink_maxwell_json_and_canal_json_rebuild_the_source() {
    let started = Instant::now();
    let services = Services::load();
    let db = SourceDb::create(&services);
    for t in TABLES {
        db.exec(t.ddl);
    }
    db.exec(
        "INSERT INTO ft SELECT seq, seq * 1000003, seq / 8, CONCAT('row ', seq), \
         UNHEX(HEX(seq)), TIMESTAMPADD(SECOND, seq, '2024-01-01 00:00:00.125'), \
         IF(seq % 3 = 0, NULL, seq) FROM seq_1_to_200",
    );
    db.exec_many(&[
        "INSERT INTO fc VALUES (1, 'k1', 10), (1, 'k2', NULL), (2, 'k1', 20)",
        // Identical rows in a table without a key must stay two rows.
        "INSERT INTO fk VALUES (1, 'same'), (1, 'same'), (2, NULL), (NULL, NULL)",
    ]);
    let mut runs = Vec::new();
    let mut topics = Vec::new();
    for (format, mode, option) in [
        (
            "Maxwell",
            "maxwell-json",
            "maxwell_snapshot_type = \"insert\"",
        ),
        ("Canal", "canal-json", "canal_binary = \"base64\""),
    ] {
        let mut spec = ProjectSpec::new(&services, &db, format);
        let prefix = format!("t_{}_{}", db.name(), format.to_lowercase());
        spec.topic = TopicMode::Named(prefix.clone());
        spec.extra_sync = vec!["[sync.format_options]".into(), option.into()];
        let dir = scratch_dir(&spec.name);
        let config = spec.write_project(&dir);
        // A topic per table: Flink decodes a topic with one row type.
        let text = std::fs::read_to_string(&config).unwrap();
        let one = format!(
            "\n[[objects]]\ntables = [\"{}.*\"]\ntopic = {prefix:?}\n",
            db.name()
        );
        assert!(text.contains(&one), "{text}");
        let per_table: String = TABLES
            .iter()
            .map(|t| {
                topics.push((format!("{prefix}_{}", t.name), mode, t));
                format!(
                    "\n[[objects]]\ntables = [\"{}.{}\"]\ntopic = \"{prefix}_{}\"\n",
                    db.name(),
                    t.name,
                    t.name
                )
            })
            .collect();
        std::fs::write(&config, text.replace(&one, &per_table)).unwrap();
        runs.push(Obsync::start(&config, &dir.join("state")));
    }
    for run in &mut runs {
        run.wait_for("incremental sync", STAGE, |s| {
            s["stage"].as_str() == Some("incremental")
        });
    }
    db.exec_many(&[
        // A multi-row transaction, updates (one to and one from NULL, one changing the
        // key, binary and time values), deletes.
        "INSERT INTO ft VALUES (1001, -5, -0.25, '中文 \"q\" \\\\ x', X'00FF', '2030-06-01 12:00:00.001', 7), \
         (1002, NULL, NULL, NULL, NULL, NULL, NULL)",
        "UPDATE ft SET n = 42, s = 'upd', b = X'DEADBEEF', dtm = '1999-12-31 23:59:59.999' WHERE id % 10 = 3",
        "UPDATE ft SET n = NULL WHERE id = 4",
        "UPDATE ft SET id = 5000 WHERE id = 7",
        "DELETE FROM ft WHERE id % 25 = 0",
        // Composite key: a change of one key column, a delete, a new row.
        "UPDATE fc SET b = 'moved', v = 11 WHERE a = 1 AND b = 'k1'",
        "DELETE FROM fc WHERE a = 2",
        "INSERT INTO fc VALUES (3, 'k3', 30)",
        // No key: one of two identical rows deleted, an update, a new row.
        "DELETE FROM fk WHERE a = 1 LIMIT 1",
        "UPDATE fk SET b = 'upd' WHERE a = 2",
        "INSERT INTO fk VALUES (3, 'x')",
    ]);
    let want: BTreeMap<&str, Rows> = TABLES
        .iter()
        .map(|t| (t.name, source_rows(&db, t)))
        .collect();
    let deadline = Instant::now() + CATCH_UP;
    loop {
        // Every topic in one JVM; again until all have caught up.
        let lines: Vec<Json> = consumer_check(&services, &jobs(&services.kafka_bootstrap, &topics))
            .iter()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        let behind: Vec<String> = topics
            .iter()
            .filter_map(|(topic, mode, table)| {
                let mine: Vec<&Json> = lines.iter().filter(|l| l["job"] == *topic).collect();
                let got = rebuild(table, &mine);
                let want = &want[table.name];
                (got != *want).then(|| {
                    format!(
                        "{mode} {}: {} keys, want {}; first difference: {:?}",
                        table.name,
                        got.len(),
                        want.len(),
                        want.iter().find(|(k, v)| got.get(*k) != Some(v))
                    )
                })
            })
            .collect();
        if behind.is_empty() {
            eprintln!(
                "{} Flink rows rebuild the source tables in both formats",
                lines.len()
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not rebuilt after {CATCH_UP:?}: {}",
            behind.join("; ")
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
