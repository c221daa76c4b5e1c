//! End-to-end: MariaDB → `obsync run` → Kafka in Maxwell and Canal, read back with Apache
//! Flink's own `maxwell-json` and `canal-json` deserializers (flink-json 1.20, the
//! `maxwell-json` and `canal-json` modes of `tests/consumers/ConsumerCheck.java`, both
//! topics in one JVM), which must rebuild the source table exactly from full and
//! incremental sync. Maxwell runs with
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

/// The table and the Flink type of each column, in order.
const DDL: &str = "CREATE TABLE ft (
    id INT PRIMARY KEY, bi BIGINT, dec_v DECIMAL(10,2), s VARCHAR(40), b VARBINARY(8),
    dtm DATETIME(3), n INT
) CHARACTER SET utf8mb4";
const FLINK_COLUMNS: &str =
    "id:INT;bi:BIGINT;dec_v:DECIMAL(10,2);s:STRING;b:BYTES;dtm:TIMESTAMP(3);n:INT";
/// The source rows in the checker's text.
const SOURCE_ROWS: &str = "SELECT JSON_OBJECT('id', CAST(id AS CHAR), 'bi', CAST(bi AS CHAR), \
    'dec_v', CAST(dec_v AS CHAR), 's', s, 'b', LOWER(HEX(b)), \
    'dtm', DATE_FORMAT(dtm, '%Y-%m-%d %H:%i:%s.%f'), 'n', CAST(n AS CHAR)) FROM ft ORDER BY id";

/// ConsumerCheck's jobs: each project's topic read by its Flink format.
fn jobs(bootstrap: &str, topics: &[(String, &str)]) -> String {
    let columns: Vec<Json> = FLINK_COLUMNS
        .split(';')
        .map(|c| {
            let (name, ty) = c.split_once(':').unwrap();
            serde_json::json!({"name": name, "type": ty})
        })
        .collect();
    let jobs: Vec<Json> = topics
        .iter()
        .map(|(topic, mode)| {
            serde_json::json!({"name": mode, "mode": mode, "topic": topic, "columns": columns})
        })
        .collect();
    serde_json::json!({"bootstrap": bootstrap, "jobs": jobs}).to_string()
}

/// The table Flink's changelog leaves behind, by id.
fn rebuild(rows: &[Json]) -> BTreeMap<String, Json> {
    let mut table = BTreeMap::new();
    for r in rows {
        assert!(r.get("error").is_none(), "Flink refused a record: {r}");
        let id = r["row"]["id"].as_str().unwrap().to_string();
        match r["kind"].as_str().unwrap() {
            "INSERT" | "UPDATE_AFTER" => {
                table.insert(id, r["row"].clone());
            }
            "UPDATE_BEFORE" | "DELETE" => {
                table.remove(&id);
            }
            k => panic!("unknown row kind {k}"),
        }
    }
    table
}

#[test]
fn flink_maxwell_json_and_canal_json_rebuild_the_source() {
    let started = Instant::now();
    let services = Services::load();
    let db = SourceDb::create(&services);
    db.exec(DDL);
    db.exec(
        "INSERT INTO ft SELECT seq, seq * 1000003, seq / 8, CONCAT('row ', seq), \
         UNHEX(HEX(seq)), TIMESTAMPADD(SECOND, seq, '2024-01-01 00:00:00.125'), \
         IF(seq % 3 = 0, NULL, seq) FROM seq_1_to_200",
    );
    let mut runs = Vec::new();
    let mut specs = Vec::new();
    for (format, option) in [
        ("Maxwell", "maxwell_snapshot_type = \"insert\""),
        ("Canal", "canal_binary = \"base64\""),
    ] {
        let mut spec = ProjectSpec::new(&services, &db, format);
        spec.topic = TopicMode::Named(format!("t_{}_{}", db.name(), format.to_lowercase()));
        spec.extra_sync = vec!["[sync.format_options]".into(), option.into()];
        let dir = scratch_dir(&spec.name);
        let config = spec.write_project(&dir);
        runs.push(Obsync::start(&config, &dir.join("state")));
        specs.push(spec);
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
    ]);
    let want: BTreeMap<String, Json> = db
        .query_column(SOURCE_ROWS)
        .into_iter()
        .map(|r| {
            let row: Json = serde_json::from_str(&r.unwrap()).unwrap();
            (row["id"].as_str().unwrap().to_string(), row)
        })
        .collect();
    let topics: Vec<(String, &str)> = specs
        .iter()
        .zip(["maxwell-json", "canal-json"])
        .map(|(spec, mode)| (spec.topics(&["ft"]).remove(0), mode))
        .collect();
    let deadline = Instant::now() + CATCH_UP;
    loop {
        // Both topics in one JVM; again until both have caught up.
        let lines: Vec<Json> = consumer_check(&services, &jobs(&services.kafka_bootstrap, &topics))
            .iter()
            .map(|l| serde_json::from_str(l).expect("a JSON line"))
            .collect();
        let behind: Vec<String> = topics
            .iter()
            .filter_map(|(_, mode)| {
                let rows: Vec<Json> = lines
                    .iter()
                    .filter(|l| l["job"] == *mode)
                    .cloned()
                    .collect();
                let got = rebuild(&rows);
                (got != want).then(|| {
                    format!(
                        "{mode}: {} rows, want {}; first difference: {:?}",
                        got.len(),
                        want.len(),
                        want.iter().find(|(k, v)| got.get(*k) != Some(v))
                    )
                })
            })
            .collect();
        if behind.is_empty() {
            eprintln!(
                "{} Flink rows rebuild the source in both formats",
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
