//! Online object changes through the server's API only (docs/online-changes.md): a
//! running project with churn on its tables gets a table added with backfill (while
//! writes hit it), one added from now on, one removed and a shard column changed; the
//! server is killed with `kill -9` in the middle of the backfill. Kafka must rebuild every
//! table exactly: the backfilled table from its snapshot rows and changes alone, the
//! from-now-on table holding exactly its changes after the add, the removed table none of
//! its later changes. And a re-sync of one table under churn: the records sent from the
//! re-sync on rebuild the table alone.
//!
//! Needs the shared services (`scripts/services up`).

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::server::*;
use support::*;

const TIMEOUT: Duration = Duration::from_secs(60);

/// Writes to `tables` (each `(id PK, grp, v)` with its initial row count) until `stop`:
/// updates of every 97th row, inserts of new ones (ids from
/// `first_new`) and deletes, a transaction every few ms. `grp` never changes: a row
/// moving between partitions over and over cannot be rebuilt partition by partition.
fn churn(db: &SourceDb, tables: &[(&str, i64)], first_new: i64, stop: &AtomicBool) -> u64 {
    let mut n = 0u64;
    let mut next = first_new;
    while !stop.load(Ordering::Relaxed) {
        for (t, rows) in tables {
            let k = (n as i64 * 7919) % rows + 1;
            db.exec_many(&[
                "BEGIN".to_string(),
                // Rows all over the table: some are in the chunk a backfill holds.
                format!("UPDATE {t} SET v = v + 1 WHERE id % 97 = {}", n % 97),
                format!("INSERT INTO {t} VALUES ({next}, {}, 0)", next % 5),
                format!("DELETE FROM {t} WHERE id = {}", (k * 31) % rows + 1),
                "COMMIT".to_string(),
            ]);
        }
        next += 1;
        n += 1;
        std::thread::sleep(Duration::from_millis(5));
    }
    n
}

/// The tables rebuilt from `records`, and the source's, for `names`. The records of
/// `resharded` (a table whose shard columns changed, so its keys moved partitions at the
/// change) are applied in sequence order, full-sync rows first: partition by partition
/// would apply a key's later partition before its earlier one. The others in offset
/// order per partition, as a consumer does.
fn rebuilt_and_source(
    db: &SourceDb,
    spec: &ProjectSpec,
    names: &[&str],
    resharded: Option<&str>,
    records: &[KafkaRecord],
) -> (Tables, Tables) {
    let metas = db.table_metas(names);
    let opts = spec.format_options();
    let all = reconstruct(records, &opts, &metas);
    let mut rebuilt = all.tables.clone();
    if let Some(table) = resharded {
        let mut own: Vec<(u64, KafkaRecord)> = all
            .records
            .iter()
            .filter(|(_, d)| d.table == table)
            .map(|(r, d)| (d.sequence.unwrap_or(0), r.clone()))
            .collect();
        own.sort_by_key(|(seq, _)| *seq);
        let own: Vec<KafkaRecord> = own.into_iter().map(|(_, r)| r).collect();
        let again = reconstruct(&own, &opts, &metas).tables;
        for (name, rows) in again {
            rebuilt.insert(name, rows);
        }
    }
    (rebuilt, source_state(db, &metas))
}

fn only(tables: &Tables, names: &[String]) -> Tables {
    tables
        .iter()
        .filter(|(k, _)| names.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn progress_backfill(api: &mut Api, id: &str, table: &str) -> Option<Value> {
    let p = api.ok(
        "GET",
        &format!("/api/v1/projects/{id}/progress"),
        None,
        StatusCode::OK,
    );
    p["backfills"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["table"] == table)
        .cloned()
}

#[test]
fn tables_added_removed_and_resharded_while_running_survive_kill_9_mid_backfill() {
    let started = Instant::now();
    let services = Services::load();
    let db = SourceDb::create(&services);
    let d = db.name().to_string();
    for t in ["a", "gone", "big", "later"] {
        db.exec(&format!(
            "CREATE TABLE {t} (id INT PRIMARY KEY, grp INT NOT NULL, v INT NOT NULL)"
        ));
    }
    db.exec("INSERT INTO a SELECT seq, seq % 5, 0 FROM seq_1_to_300");
    db.exec("INSERT INTO gone SELECT seq, seq % 5, 0 FROM seq_1_to_50");
    // 200 chunks of 200 rows: long enough that the kill lands in the middle of it.
    const BIG: i64 = 40_000;
    db.exec(&format!(
        "INSERT INTO big SELECT seq, seq % 5, 0 FROM seq_1_to_{BIG}"
    ));
    db.exec("INSERT INTO later SELECT seq, seq % 5, 0 FROM seq_1_to_50");

    let spec = ProjectSpec::new(&services, &db, "DefaultExtendColumnType");
    let TopicMode::Named(topic) = spec.topic.clone() else {
        unreachable!()
    };
    let dir = scratch_dir(&format!("server_online_{}", spec.name));
    let data_dir = dir.join("data");
    let port = free_port();
    let mut server = ServerProcess::start(&data_dir, port);
    let mut api = Api::login(&server.base);
    let (source, target) = data_sources(&mut api, &services);
    let id = start_project(
        &mut api,
        json!({
            "name": spec.name, "source_id": source, "target_id": target,
            "sync": {"types": ["schema", "full", "incremental"], "format": spec.format,
                     "snapshot_chunk_rows": 200},
            "objects": [{"tables": [format!("{d}.a"), format!("{d}.gone")], "topic": topic}],
        }),
    );

    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let churner = scope.spawn(|| churn(&db, &[("a", 300), ("big", BIG)], 100_000, &stop));
        let _stop_churn = StopOnDrop(&stop);
        std::thread::sleep(Duration::from_millis(500));
        // Changes of `later` before it joins: never in Kafka.
        db.exec("UPDATE later SET v = 7 WHERE id <= 10");

        let change = json!({
            "objects": [{
                "tables": [format!("{d}.a"), format!("{d}.big"), format!("{d}.later")],
                "topic": topic,
                "shard_columns": {format!("{d}.a"): ["grp"]},
            }],
            "backfill": [format!("{d}.big")],
        });
        let preview = api.ok(
            "POST",
            &format!("/api/v1/projects/{id}/objects/preview"),
            Some(change.clone()),
            StatusCode::OK,
        );
        assert_eq!(
            preview["added"],
            json!([
                {"table": format!("{d}.big"), "topic": topic, "backfill": true},
                {"table": format!("{d}.later"), "topic": topic, "backfill": false},
            ]),
            "{preview}"
        );
        assert_eq!(preview["removed"], json!([{"table": format!("{d}.gone")}]));
        assert_eq!(preview["changed"][0]["to"]["shard_columns"], json!(["grp"]));
        assert!(
            preview["precheck"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["status"] == "pass"),
            "{preview}"
        );
        let applied = api.ok(
            "POST",
            &format!("/api/v1/projects/{id}/objects"),
            Some(change.clone()),
            StatusCode::OK,
        );
        assert_eq!(applied["takes_effect"], "now", "{applied}");
        assert_eq!(applied["project"]["state"], "running");
        let (status, again) = api.call(
            "POST",
            &format!("/api/v1/projects/{id}/objects"),
            Some(change),
        );
        assert_eq!(status, StatusCode::CONFLICT, "{again}");
        assert_eq!(again["code"], "OBJECTS_UNCHANGED");
        let events = api.ok(
            "GET",
            &format!("/api/v1/projects/{id}/events"),
            None,
            StatusCode::OK,
        );
        let audit = events["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| {
                e["kind"] == "audit" && e["message"].as_str().unwrap().contains("changed objects")
            })
            .unwrap_or_else(|| panic!("no audit event of the change: {events}"));
        assert_eq!(audit["actor"], "admin", "{audit}");
        let message = audit["message"].as_str().unwrap();
        for part in [
            format!("added {d}.big, {d}.later"),
            format!("(backfilled: {d}.big)"),
            format!("removed {d}.gone"),
            format!("re-routed {d}.a"),
        ] {
            assert!(message.contains(&part), "{message}");
        }
        // The console says it by code, the tables as parameters.
        assert_eq!(audit["code"], "event.audit.objects_changed", "{audit}");
        assert_eq!(audit["params"]["backfilled"], format!("{d}.big"), "{audit}");

        // After the answer: the removed table's changes stay out, the new one's come in.
        db.exec("INSERT INTO gone SELECT seq, 0, 0 FROM seq_900000_to_900020");
        db.exec_many(&[
            "INSERT INTO later SELECT seq, seq % 5, 1 FROM seq_1000_to_1100",
            "UPDATE later SET v = v + 1 WHERE id BETWEEN 1000 AND 1050",
            "DELETE FROM later WHERE id BETWEEN 1090 AND 1100",
        ]);

        // kill -9 in the middle of the backfill.
        let deadline = Instant::now() + TIMEOUT;
        let at_kill = loop {
            let b = progress_backfill(&mut api, &id, &format!("{d}.big"));
            if let Some(b) = b.filter(|b| b["chunks"].as_u64() >= Some(3)) {
                assert_ne!(
                    b["state"], "done",
                    "the backfill finished before the kill: raise BIG"
                );
                break b;
            }
            assert!(Instant::now() < deadline, "the backfill does not start");
            std::thread::sleep(Duration::from_millis(50));
        };
        server.signal("KILL");
        server.wait_exit(Duration::from_secs(10));
        db.exec("UPDATE later SET v = 99 WHERE id = 1001");
        server = ServerProcess::start(&data_dir, port);
        api = Api::login(&server.base);
        // After the restart each chunk waits for the change log to pass its watermark.
        let deadline = Instant::now() + TIMEOUT * 3;
        let done = loop {
            let b = progress_backfill(&mut api, &id, &format!("{d}.big")).unwrap();
            if b["state"] == "done" {
                break b;
            }
            assert!(
                Instant::now() < deadline,
                "the backfill does not finish: {b}"
            );
            std::thread::sleep(Duration::from_millis(200));
        };
        assert!(
            done["chunks"].as_u64() > at_kill["chunks"].as_u64(),
            "{at_kill} {done}"
        );
        stop.store(true, Ordering::Relaxed);
        let writes = churner.join().unwrap();
        assert!(writes > 20, "the churn barely ran: {writes} transactions");
    });

    // Everything rebuilds: a and big equal the source, later holds exactly its rows
    // written after it joined, gone holds none of its later rows.
    let names = ["a", "big", "later", "gone"];
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let records = consume(&spec.bootstrap, &topic);
        let (rebuilt, source) = rebuilt_and_source(&db, &spec, &names, Some("a"), &records);
        let same = [format!("{d}.a"), format!("{d}.big")];
        let mut expected = only(&source, &same);
        let later = source[&format!("{d}.later")]
            .iter()
            .filter(|(_, r)| r.image["id"].as_deref().unwrap().parse::<i64>().unwrap() >= 1000)
            .map(|(k, r)| (k.clone(), r.clone()))
            .collect();
        expected.insert(format!("{d}.later"), later);
        let gone_rows = &rebuilt[&format!("{d}.gone")];
        assert!(
            gone_rows
                .values()
                .all(|r| r.image["id"].as_deref().unwrap().len() < 6),
            "rows of the removed table written after its removal are in Kafka"
        );
        assert_eq!(gone_rows.len(), 50);
        let problem = diff_tables(
            &expected,
            &only(
                &rebuilt,
                &[same[0].clone(), same[1].clone(), format!("{d}.later")],
            ),
        );
        match problem {
            None => break,
            Some(p) if Instant::now() > deadline => {
                panic!("Kafka does not rebuild the source:\n{p}")
            }
            Some(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    let records = consume(&spec.bootstrap, &topic);
    let per_table: BTreeMap<String, usize> = records.iter().fold(BTreeMap::new(), |mut m, r| {
        let v = String::from_utf8_lossy(&r.value);
        for t in names {
            if v.contains(&format!("\"{t}\"")) {
                *m.entry(t.to_string()).or_default() += 1;
            }
        }
        m
    });
    eprintln!(
        "online changes: {} records ({per_table:?}); {:.1?}",
        records.len(),
        started.elapsed()
    );
}

#[test]
fn a_resynced_table_rebuilds_from_the_records_sent_since_the_resync() {
    let started = Instant::now();
    let services = Services::load();
    let db = SourceDb::create(&services);
    let d = db.name().to_string();
    db.exec("CREATE TABLE r (id INT PRIMARY KEY, grp INT NOT NULL, v INT NOT NULL)");
    db.exec("INSERT INTO r SELECT seq, seq % 5, 0 FROM seq_1_to_5000");
    let spec = ProjectSpec::new(&services, &db, "DefaultExtendColumnType");
    let TopicMode::Named(topic) = spec.topic.clone() else {
        unreachable!()
    };
    let dir = scratch_dir(&format!("server_resync_{}", spec.name));
    let server = ServerProcess::start(&dir.join("data"), free_port());
    let mut api = Api::login(&server.base);
    let (source, target) = data_sources(&mut api, &services);
    let id = start_project(
        &mut api,
        json!({
            "name": spec.name, "source_id": source, "target_id": target,
            "sync": {"types": ["schema", "full", "incremental"], "format": spec.format,
                     "snapshot_chunk_rows": 250},
            "objects": [{"tables": [format!("{d}.r")], "topic": topic}],
        }),
    );
    let table = format!("{d}.r");
    let (status, refused) = api.call(
        "POST",
        &format!("/api/v1/projects/{id}/tables/{d}.missing/resync"),
        None,
    );
    assert_eq!(status, StatusCode::NOT_FOUND, "{refused}");

    let stop = AtomicBool::new(false);
    let before = std::thread::scope(|scope| {
        let churner = scope.spawn(|| churn(&db, &[("r", 5000)], 100_000, &stop));
        let _stop_churn = StopOnDrop(&stop);
        std::thread::sleep(Duration::from_millis(500));
        // Where the topic ends before the re-sync: what follows must rebuild the table.
        let before: BTreeMap<i32, i64> =
            consume(&spec.bootstrap, &topic)
                .iter()
                .fold(BTreeMap::new(), |mut m, r| {
                    let e = m.entry(r.partition).or_insert(-1);
                    *e = (*e).max(r.offset);
                    m
                });
        api.ok(
            "POST",
            &format!("/api/v1/projects/{id}/tables/{table}/resync"),
            None,
            StatusCode::ACCEPTED,
        );
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let b = progress_backfill(&mut api, &id, &table);
            if b.as_ref().is_some_and(|b| b["state"] == "done") {
                assert!(b.unwrap()["chunks"].as_u64() >= Some(20));
                break;
            }
            assert!(
                Instant::now() < deadline,
                "the re-sync does not finish: {b:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        std::thread::sleep(Duration::from_millis(300));
        stop.store(true, Ordering::Relaxed);
        churner.join().unwrap();
        before
    });
    // The backfill's rows count as snapshot rows of the table, after full sync's 5,000.
    let p = api.ok(
        "GET",
        &format!("/api/v1/projects/{id}/progress"),
        None,
        StatusCode::OK,
    );
    let backfilled = p["backfills"][0]["rows"].as_u64().unwrap();
    let counted = p["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == table.as_str())
        .and_then(|t| t["snapshot_rows"].as_u64());
    assert_eq!(counted, Some(5000 + backfilled), "{p}");
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let since: Vec<KafkaRecord> = consume(&spec.bootstrap, &topic)
            .into_iter()
            .filter(|r| before.get(&r.partition).is_none_or(|&o| r.offset > o))
            .collect();
        let (rebuilt, source) = rebuilt_and_source(&db, &spec, &["r"], None, &since);
        match diff_tables(&source, &rebuilt) {
            None => break,
            Some(p) if Instant::now() > deadline => {
                panic!("the records since the re-sync do not rebuild the table:\n{p}")
            }
            Some(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
    eprintln!("re-sync under churn: {:.1?}", started.elapsed());
}

#[test]
fn a_table_added_from_now_on_to_a_paused_project_holds_only_changes_after_the_resume() {
    let services = Services::load();
    let db = SourceDb::create(&services);
    let d = db.name().to_string();
    for t in ["a", "later"] {
        db.exec(&format!(
            "CREATE TABLE {t} (id INT PRIMARY KEY, grp INT NOT NULL, v INT NOT NULL)"
        ));
        db.exec(&format!(
            "INSERT INTO {t} SELECT seq, seq % 5, 0 FROM seq_1_to_20"
        ));
    }
    let spec = ProjectSpec::new(&services, &db, "DefaultExtendColumnType");
    let TopicMode::Named(topic) = spec.topic.clone() else {
        unreachable!()
    };
    let dir = scratch_dir(&format!("server_paused_{}", spec.name));
    let server = ServerProcess::start(&dir.join("data"), free_port());
    let mut api = Api::login(&server.base);
    let (source, target) = data_sources(&mut api, &services);
    let id = start_project(
        &mut api,
        json!({
            "name": spec.name, "source_id": source, "target_id": target,
            "sync": {"types": ["schema", "full", "incremental"], "format": spec.format},
            "objects": [{"tables": [format!("{d}.a")], "topic": topic}],
        }),
    );
    api.ok(
        "POST",
        &format!("/api/v1/projects/{id}/pause"),
        None,
        StatusCode::OK,
    );
    // Written while paused, before the table joins at the resume: in the change log the
    // resumed run re-reads, and never sent.
    db.exec("UPDATE later SET v = 5 WHERE id <= 10");
    let applied = api.ok(
        "POST",
        &format!("/api/v1/projects/{id}/objects"),
        Some(json!({"objects": [{"tables": [format!("{d}.a"), format!("{d}.later")], "topic": topic}]})),
        StatusCode::OK,
    );
    assert_eq!(applied["takes_effect"], "at_resume", "{applied}");
    assert_eq!(applied["plan"]["added"][0]["backfill"], false, "{applied}");
    db.exec("INSERT INTO later SELECT seq, 0, 0 FROM seq_100_to_110");
    api.ok(
        "POST",
        &format!("/api/v1/projects/{id}/resume"),
        None,
        StatusCode::OK,
    );
    // The resumed run records the change in its checkpoint before it streams on.
    let state = dir
        .join("data")
        .join("projects")
        .join(&id)
        .join("state.json");
    let joined = format!("{d}.later");
    let deadline = Instant::now() + TIMEOUT;
    while !std::fs::read_to_string(&state)
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok())
        .is_some_and(|v| {
            v["objects"]
                .as_array()
                .is_some_and(|o| o.iter().any(|t| *t == joined))
        })
    {
        assert!(
            Instant::now() < deadline,
            "the resumed run never took the change"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    db.exec_many(&[
        "INSERT INTO later SELECT seq, 1, 1 FROM seq_1000_to_1010",
        "UPDATE later SET v = 9 WHERE id = 1005",
        "UPDATE a SET v = 3 WHERE id = 1",
    ]);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let records = consume(&spec.bootstrap, &topic);
        let (rebuilt, source) = rebuilt_and_source(&db, &spec, &["a", "later"], None, &records);
        let mut expected = only(&source, &[format!("{d}.a")]);
        let later = source[&format!("{d}.later")]
            .iter()
            .filter(|(_, r)| r.image["id"].as_deref().unwrap().parse::<i64>().unwrap() >= 1000)
            .map(|(k, r)| (k.clone(), r.clone()))
            .collect();
        expected.insert(format!("{d}.later"), later);
        match diff_tables(&expected, &rebuilt) {
            None => break,
            Some(p) if Instant::now() > deadline => {
                panic!("the from-now-on table does not hold exactly its later changes:\n{p}")
            }
            Some(_) => std::thread::sleep(Duration::from_millis(500)),
        }
    }
}
