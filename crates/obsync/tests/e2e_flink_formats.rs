//! End-to-end: MariaDB → `obsync run` → Kafka in Maxwell and Canal, read back with Apache
//! Flink's own `maxwell-json` and `canal-json` deserializers (flink-json 1.20, driven by
//! `tests/consumers/flink-formats/FlinkFormats.java`), which must rebuild the source
//! table exactly from full and incremental sync. Maxwell runs with
//! `maxwell_snapshot_type = "insert"` (Flink refuses `bootstrap-insert`) and Canal with
//! `canal_binary = "base64"` (Flink reads BYTES from Base64): the interop options exist
//! for exactly these consumers.
//!
//! Needs the shared services and Java; the jars come from Maven Central on first use
//! (cached in `.obsync-dev/flink-formats`).

mod support;

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

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

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn classpath(services: &Services) -> String {
    let libs = services.dev_dir.join("flink-formats/libs");
    if !libs.join("flink-json-1.20.1.jar").is_file() {
        let pom = repo_root().join("tests/consumers/flink-formats/pom.xml");
        eprintln!(
            "fetching flink-json's jars from Maven Central into {}",
            libs.display()
        );
        let status = Command::new("mvn")
            .args(["-q", "-B", "-Dstyle.color=never", "-f"])
            .arg(&pom)
            .arg("dependency:copy-dependencies")
            .arg(format!("-DoutputDirectory={}", libs.display()))
            .status()
            .expect("mvn runs");
        assert!(status.success(), "mvn could not fetch flink-json's jars");
    }
    format!("{}/*", libs.display())
}

/// Flink's changelog rows for the records' values, in the order given.
fn flink_rows(services: &Services, mode: &str, records: &[KafkaRecord]) -> Vec<Json> {
    let mut input = String::new();
    for r in records {
        input.extend(r.value.iter().map(|b| format!("{b:02x}")));
        input.push('\n');
    }
    let mut child = Command::new("java")
        .arg("-cp")
        .arg(classpath(services))
        .arg(repo_root().join("tests/consumers/flink-formats/FlinkFormats.java"))
        .args([mode, FLINK_COLUMNS])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("java runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "FlinkFormats failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
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
    for (spec, mode) in specs.iter().zip(["maxwell-json", "canal-json"]) {
        let topic = spec.topics(&["ft"]).remove(0);
        let deadline = Instant::now() + CATCH_UP;
        loop {
            let mut records = try_consume(&services.kafka_bootstrap, &topic).unwrap_or_default();
            records.sort_by_key(|r| (r.partition, r.offset));
            let got = rebuild(&flink_rows(&services, mode, &records));
            if got == want {
                eprintln!("{mode}: {} records rebuild the source", records.len());
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{mode} does not rebuild the source after {CATCH_UP:?}: {} rows, want {}; first difference: {:?}",
                got.len(),
                want.len(),
                want.iter().find(|(k, v)| got.get(*k) != Some(v))
            );
            std::thread::sleep(Duration::from_secs(2));
        }
    }
    for run in &runs {
        run.terminate();
    }
    for mut run in runs {
        assert!(run.wait_exit(Duration::from_secs(60)).success());
    }
    eprintln!("flink formats: {:?}", started.elapsed());
}
