//! End-to-end: `obsync verify` against a running project (clean under concurrent
//! writes), a copy of its topic with one key's messages removed (that key missing), and
//! source changes made while the project is stopped (missing, extra and different keys).
//!
//! Needs the shared services (`scripts/services up`).

mod support;

use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

use obsync_kafka::{KafkaAdmin, KafkaTarget, NewTopicSpec};
use support::*;

const STAGE: Duration = Duration::from_secs(120);
const CATCH_UP: Duration = Duration::from_secs(60);

fn stage(status: &serde_json::Value) -> &str {
    status["stage"].as_str().unwrap_or("")
}

/// A keyed table of 300 rows and a table without a key holding duplicate rows.
fn create_tables(db: &SourceDb) {
    db.exec_many(&[
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40), n DECIMAL(10,2))",
        "INSERT INTO t SELECT seq, CONCAT('v', seq), seq / 4 FROM seq_1_to_300",
        "CREATE TABLE nokey (a INT, b VARCHAR(10))",
        "INSERT INTO nokey VALUES (1, 'same'), (1, 'same'), (2, NULL)",
    ]);
}

/// Starts a `format`/hash project over `db` and waits for incremental sync.
fn start_project(
    services: &Services,
    db: &SourceDb,
    format: &str,
) -> (ProjectSpec, std::path::PathBuf, Obsync) {
    let spec = ProjectSpec::new(services, db, format);
    let dir = scratch_dir(&spec.name);
    let config = spec.write_project(&dir);
    let mut run = Obsync::start(&config, &dir.join("state"));
    run.wait_for("incremental sync", STAGE, |s| stage(s) == "incremental");
    (spec, config, run)
}

fn verify(config: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_obsync"))
        .args(["verify", "-c"])
        .arg(config)
        .arg("--state-dir")
        .arg(config.parent().unwrap().join("verify-state"))
        .stdin(Stdio::null())
        .output()
        .expect("running obsync verify")
}

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_clean_project_verifies_clean_while_the_source_keeps_changing() {
    let services = Services::load();
    let db = SourceDb::create(&services);
    create_tables(&db);
    // Canal: another format than the other test's, and one without storeDataSequence.
    let (spec, config, mut run) = start_project(&services, &db, "Canal");
    wait_until_equal(&db, &spec, &["t", "nokey"], CATCH_UP);

    let stop = AtomicBool::new(false);
    let writes = AtomicU32::new(0);
    let out = std::thread::scope(|s| {
        s.spawn(|| {
            let mut n = 0u32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let key = 1 + (n * 37) % 300;
                db.exec_many(&[
                    format!("UPDATE t SET v = 'w{n}', n = n + 1 WHERE id = {key}"),
                    format!("INSERT INTO t VALUES ({}, 'new', {n})", 1000 + n),
                    format!("DELETE FROM t WHERE id = {}", 1000 + n / 2),
                ]);
                writes.store(n, Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
        });
        // Let the writes get going, so verify starts behind a moving source.
        std::thread::sleep(Duration::from_millis(300));
        let out = verify(&config);
        stop.store(true, Ordering::Relaxed);
        out
    });
    let (stdout, stderr) = text(&out);
    assert_eq!(
        out.status.code(),
        Some(0),
        "verify of a clean project under writes:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("result: clean"), "{stdout}");
    assert!(
        stdout.contains("no storeDataSequence in this format"),
        "{stdout}"
    );
    let table = format!(
        "table {}.t (topic t_{}), compared by key (id)",
        db.name(),
        db.name()
    );
    assert!(stdout.contains(&table), "{stdout}");
    assert!(
        stdout.contains("as a multiset of whole rows"),
        "the table without a key is compared as a multiset: {stdout}"
    );
    assert!(
        writes.load(Ordering::Relaxed) > 5,
        "the source must change while verify runs"
    );
    run.terminate();
    assert!(run.wait_exit(Duration::from_secs(60)).success());
}

/// Copies every record of `from` into `to` (same partition, key and value) except those
/// whose key is `skip_key`, with kcat.
fn copy_topic_without_key(spec: &ProjectSpec, from: &str, to: &str, skip_key: &str) -> usize {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let admin = KafkaAdmin::new(&KafkaTarget::new(spec.bootstrap.clone())).unwrap();
    let partitions = rt.block_on(admin.partition_count(from)).unwrap();
    rt.block_on(admin.create_topics(&[NewTopicSpec {
        name: to.to_string(),
        partitions,
        replication: 1,
    }]))
    .unwrap();
    let records = consume(&spec.bootstrap, from);
    let mut skipped = 0;
    for p in 0..partitions {
        let mut input = Vec::new();
        for r in records.iter().filter(|r| r.partition == p) {
            if r.key == skip_key.as_bytes() {
                skipped += 1;
                continue;
            }
            input.extend_from_slice(&r.key);
            input.push(0x02);
            input.extend_from_slice(&r.value);
            input.push(0x03);
        }
        let mut child = Command::new("kcat")
            .args(["-P", "-b", &spec.bootstrap, "-t", to, "-p", &p.to_string()])
            .args(["-K", "\\x02", "-D", "\\x03"])
            .stdin(Stdio::piped())
            .spawn()
            .expect("running kcat");
        use std::io::Write;
        child.stdin.take().unwrap().write_all(&input).unwrap();
        assert!(child.wait().unwrap().success(), "kcat -P into {to}");
    }
    skipped
}

#[test]
fn verify_finds_a_removed_key_and_changes_made_while_the_project_is_stopped() {
    let services = Services::load();
    let db = SourceDb::create(&services);
    create_tables(&db);
    let (spec, config, mut run) = start_project(&services, &db, "Default");
    db.exec("UPDATE t SET v = 'updated once' WHERE id = 42");
    wait_until_equal(&db, &spec, &["t", "nokey"], CATCH_UP);
    run.terminate();
    assert!(run.wait_exit(Duration::from_secs(60)).success());

    // A copy of the topic without row 42's two messages (its ROW and its UPDATE).
    let topic = format!("t_{}", db.name());
    let copy = format!("{topic}_copy");
    assert_eq!(copy_topic_without_key(&spec, &topic, &copy, "42"), 2);
    let mut copied = spec.clone();
    copied.topic = TopicMode::Named(copy.clone());
    copied.name = format!("{}copy", spec.name);
    let copy_config = copied.write_project(config.parent().unwrap());
    let out = verify(&copy_config);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("rows checked 300, rows in topic 299, missing 1, extra 0, different 0"),
        "{stdout}"
    );
    assert!(
        stdout.contains("missing (in the source, not in the topic), e.g.:\n    id=42\n"),
        "{stdout}"
    );

    // Changes the stopped project has not sent: one of each kind.
    db.exec_many(&[
        "UPDATE t SET v = 'changed while stopped' WHERE id = 7",
        "INSERT INTO t VALUES (5000, 'inserted while stopped', 1)",
        "DELETE FROM t WHERE id = 8",
        "INSERT INTO nokey VALUES (2, NULL)",
    ]);
    let out = verify(&config);
    let (stdout, stderr) = text(&out);
    // The report as docs/verify.md shows it (`-- --nocapture`).
    eprintln!("obsync verify -c {}\n{stdout}", config.display());
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    for expected in [
        "rows checked 300, rows in topic 300, missing 1, extra 1, different 1",
        "missing (in the source, not in the topic), e.g.:\n    id=5000\n",
        "extra (in the topic, not in the source), e.g.:\n    id=8\n",
        "different, e.g.:\n    id=7\n",
        "missing 1, extra 0, different 0",
        "    a=2, b=NULL\n",
        "result: 2 of 2 tables differ",
    ] {
        assert!(
            stdout.contains(expected),
            "expected {expected:?} in:\n{stdout}"
        );
    }
}
