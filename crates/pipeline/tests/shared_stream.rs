//! One binlog dump per source endpoint shared by the projects on it
//! (`obsync_source::binlog::shared`): projects hold one dump, a project added later
//! catches up on its own dump and joins without disturbing the others, a lagging one
//! falls back to its own dump and rejoins, and a killed engine with 20 projects resumes
//! and rebuilds every table exactly. Against the shared MariaDB and Kafka, each test
//! with a source user of its own so that its dumps can be counted.

mod support;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use obsync_pipeline::verify::{verify, VerifyOptions};
use obsync_pipeline::{ProjectHandle, Settings, Stage};
use obsync_testkit::{unique_name, Services, SqlServer};

/// The value of the gauge or counter `metric` of a project.
fn metric(handle: &ProjectHandle, metric: &str) -> i64 {
    let text = handle.metrics().render();
    text.lines()
        .find(|l| l.starts_with(&format!("{metric} ")) || l.starts_with(&format!("{metric}{{")))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {metric} in:\n{text}"))
}

/// A source user of the test's own: its `Binlog Dump` threads are the test's.
fn user_of_own(admin: &SqlServer, name: &str) -> SqlServer {
    admin.execute(&format!(
        "CREATE USER '{name}'@'%' IDENTIFIED BY 'pw'; \
         GRANT SELECT, RELOAD, REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '{name}'@'%'"
    ));
    SqlServer {
        user: name.into(),
        password: "pw".into(),
        ..admin.clone()
    }
}

/// The binlog dumps `user` holds on the server.
fn dumps(admin: &SqlServer, user: &str) -> usize {
    admin.query(&format!(
        "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '{user}' AND COMMAND = 'Binlog Dump'"
    ))
    .len()
}

/// The ids of the dump threads of `user`.
fn dump_ids(admin: &SqlServer, user: &str) -> Vec<String> {
    admin
        .query(&format!(
            "SELECT ID FROM information_schema.PROCESSLIST WHERE USER = '{user}' AND COMMAND = 'Binlog Dump' ORDER BY ID"
        ))
        .into_iter()
        .map(|r| r[0].clone())
        .collect()
}

async fn wait_until(what: &str, timeout: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A streaming project of one table `db.t` on `source`, sharing its source's stream.
fn project(
    source: &SqlServer,
    kafka: &str,
    name: &str,
    db: &str,
    topic: &str,
    snapshot: bool,
) -> Settings {
    let tables = format!("\"{db}.t\"");
    let sync = if snapshot {
        "types = [\"schema\", \"full\", \"incremental\"]\nformat = \"Default\""
    } else {
        "types = [\"schema\", \"incremental\"]\nformat = \"Default\""
    };
    let p = support::Project {
        name,
        sync,
        tables: &tables,
        topic,
        ..Default::default()
    };
    let mut settings = support::settings_on(source, kafka, &p);
    settings.shared_stream = true;
    settings
}

/// Waits until the project's topic, rebuilt, equals its source table (verify, with its
/// re-checks), and `storeDataSequence` never went back.
async fn assert_exact(settings: &Settings, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let options = VerifyOptions {
        rechecks: 2,
        kafka_timeout: Duration::from_secs(10),
        ..Default::default()
    };
    loop {
        let report = verify(settings, &options, Arc::new(|_| {}))
            .await
            .expect("verify runs");
        if report.is_clean() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{}: the topic does not rebuild the table: {report:?}",
            settings.name
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Records in `topic` (duplicates count).
fn records(bootstrap: &str, topic: &str) -> usize {
    obsync_testkit::kcat::consume(bootstrap, topic).len()
}

fn state_dir() -> PathBuf {
    std::env::temp_dir().join(unique_name("shared_stream_state"))
}

#[tokio::test]
async fn projects_share_one_dump_and_a_late_project_joins_without_disturbing_them() {
    let services = Services::load();
    let admin = &services.mariadb;
    let kafka = &services.kafka_bootstrap;
    let user = unique_name("shr");
    let source = user_of_own(admin, &user);
    let dbs: Vec<String> = (0..3).map(|i| unique_name(&format!("shr{i}"))).collect();
    let topics: Vec<String> = (0..3).map(|i| unique_name(&format!("shr{i}_t"))).collect();
    for db in &dbs {
        admin.execute(&format!(
            "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20)); \
             INSERT INTO {db}.t VALUES (1, 'before')"
        ));
    }
    let settings: Vec<Settings> = (0..3)
        .map(|i| {
            project(
                &source,
                kafka,
                &format!("shr{i}"),
                &dbs[i],
                &topics[i],
                i == 2,
            )
        })
        .collect();
    let a = support::start_streaming(settings[0].clone(), state_dir()).await;
    let b = support::start_streaming(settings[1].clone(), state_dir()).await;
    wait_until("A and B on one dump", support::TIMEOUT, || {
        metric(&a, "obsync_binlog_shared") == 1
            && metric(&b, "obsync_binlog_shared") == 1
            && dumps(admin, &user) == 1
    })
    .await;
    let joins = |h: &ProjectHandle| metric(h, "obsync_binlog_shared_joins_total");
    let (joins_a, joins_b) = (joins(&a), joins(&b));
    let dump = dump_ids(admin, &user);

    // C starts from a snapshot while A and B receive changes: its start position is
    // behind the shared stream, so it reads its own dump, then joins.
    let writes = |from: i32, to: i32| {
        let mut sql = String::new();
        for id in from..to {
            for db in &dbs {
                sql.push_str(&format!(
                    "INSERT INTO {db}.t VALUES ({id}, 'v{id}'); UPDATE {db}.t SET v = 'u{id}' WHERE id = {};",
                    id - 1
                ));
            }
        }
        admin.execute(&sql);
    };
    writes(2, 20);
    let c = ProjectHandle::start(settings[2].clone(), state_dir());
    writes(20, 60);
    support::wait_for(&c, support::TIMEOUT, "C does not stream", |s| {
        s.stage == Stage::Incremental
    })
    .await;
    writes(60, 80);
    wait_until("C joins the shared stream", support::TIMEOUT, || {
        metric(&c, "obsync_binlog_shared") == 1
    })
    .await;
    writes(80, 90);
    for s in &settings {
        assert_exact(s, support::TIMEOUT).await;
    }
    // A and B never left the stream, which never restarted.
    assert_eq!((joins(&a), joins(&b)), (joins_a, joins_b));
    for h in [&a, &b] {
        assert_eq!(metric(h, "obsync_binlog_shared_fallbacks_total"), 0);
        assert_eq!(metric(h, "obsync_binlog_reconnects_total"), 0);
    }
    assert!(joins(&c) >= 1);
    wait_until("C's own dump closed", support::TIMEOUT, || {
        dump_ids(admin, &user) == dump
    })
    .await;
    // Nothing of A and B delivered twice: ids 2..89 inserted, each with an update.
    for topic in &topics[..2] {
        assert_eq!(records(kafka, topic), 88 * 2, "{topic}");
    }

    for h in [a, b, c] {
        h.stop();
        h.join().await.expect("the project stops cleanly");
    }
    wait_until(
        "the dump closes with its last member",
        support::TIMEOUT,
        || dumps(admin, &user) == 0,
    )
    .await;
    for db in &dbs {
        admin.execute(&format!("DROP DATABASE {db}"));
    }
    admin.execute(&format!("DROP USER '{user}'@'%'"));
}

#[tokio::test]
async fn a_lagging_project_falls_back_to_its_own_dump_and_rejoins() {
    let services = Services::load();
    let admin = &services.mariadb;
    let kafka = &services.kafka_bootstrap;
    let user = unique_name("lag");
    let source = user_of_own(admin, &user);
    let (db_a, db_s) = (unique_name("laga"), unique_name("lags"));
    let (topic_a, topic_s) = (unique_name("laga_t"), unique_name("lags_t"));
    for db in [&db_a, &db_s] {
        admin.execute(&format!(
            "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20))"
        ));
    }
    let a_settings = project(&source, kafka, "laga", &db_a, &topic_a, false);
    let mut s_settings = project(&source, kafka, "lags", &db_s, &topic_s, false);
    // A queue this small overflows at the first big transaction: the project is
    // detached from the stream inside it.
    s_settings.shared_queue_events = 8;
    let a = support::start_streaming(a_settings.clone(), state_dir()).await;
    let s = support::start_streaming(s_settings.clone(), state_dir()).await;
    wait_until("A and S on the shared stream", support::TIMEOUT, || {
        metric(&a, "obsync_binlog_shared") == 1 && metric(&s, "obsync_binlog_shared") == 1
    })
    .await;

    // One transaction of 2,000 rows for S, with A's rows around it.
    let many: Vec<String> = (1..=2000).map(|i| format!("({i}, 'r{i}')")).collect();
    admin.execute(&format!(
        "INSERT INTO {db_a}.t VALUES (1, 'a1'); \
         INSERT INTO {db_s}.t VALUES {}; \
         INSERT INTO {db_a}.t VALUES (2, 'a2'); \
         UPDATE {db_s}.t SET v = 'changed' WHERE id <= 10",
        many.join(",")
    ));
    wait_until("S falls back to its own dump", support::TIMEOUT, || {
        metric(&s, "obsync_binlog_shared_fallbacks_total") >= 1
    })
    .await;
    wait_until("S rejoins the shared stream", support::TIMEOUT, || {
        metric(&s, "obsync_binlog_shared") == 1
            && metric(&s, "obsync_binlog_shared_joins_total") >= 2
    })
    .await;
    admin.execute(&format!(
        "INSERT INTO {db_a}.t VALUES (3, 'a3'); INSERT INTO {db_s}.t VALUES (5000, 'after')"
    ));
    assert_exact(&a_settings, support::TIMEOUT).await;
    assert_exact(&s_settings, support::TIMEOUT).await;
    // The detach inside the transaction repeated none of its rows.
    assert_eq!(records(kafka, &topic_s), 2000 + 10 + 1);
    assert_eq!(records(kafka, &topic_a), 3);
    assert_eq!(metric(&a, "obsync_binlog_shared_fallbacks_total"), 0);
    wait_until("one dump again", support::TIMEOUT, || {
        dumps(admin, &user) == 1
    })
    .await;

    for h in [a, s] {
        h.stop();
        h.join().await.expect("the project stops cleanly");
    }
    admin.execute(&format!(
        "DROP DATABASE {db_a}; DROP DATABASE {db_s}; DROP USER '{user}'@'%'"
    ));
}

/// 20 projects on one source; the engine is killed (its runtime dropped without a
/// stop: no final checkpoint, no goodbye to the source) while changes are written,
/// then started again: every table rebuilds exactly from its topic, over one dump.
#[test]
fn twenty_projects_on_one_source_survive_a_killed_engine() {
    const N: usize = 20;
    let services = Services::load();
    let admin = services.mariadb.clone();
    let kafka = services.kafka_bootstrap.clone();
    let user = unique_name("kill");
    let source = user_of_own(&admin, &user);
    let db = unique_name("kill");
    let mut ddl = format!("CREATE DATABASE {db};");
    for i in 0..N {
        ddl.push_str(&format!(
            "CREATE TABLE {db}.t{i} (id INT PRIMARY KEY, v INT); \
             INSERT INTO {db}.t{i} VALUES (1, 0), (2, 0), (3, 0);"
        ));
    }
    admin.execute(&ddl);
    let settings: Vec<Settings> = (0..N)
        .map(|i| {
            let tables = format!("\"{db}.t{i}\"");
            let topic = unique_name(&format!("kill{i}_t"));
            let p = support::Project {
                name: &format!("kill{i}"),
                sync: "types = [\"schema\", \"full\", \"incremental\"]\nformat = \"Default\"",
                tables: &tables,
                topic: &topic,
                ..Default::default()
            };
            let mut s = support::settings_on(&source, &kafka, &p);
            s.shared_stream = true;
            s
        })
        .collect();
    let dirs: Vec<PathBuf> = (0..N).map(|_| state_dir()).collect();

    // Changes all along: inserts, updates and deletes over every table.
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (admin, db, stop) = (admin.clone(), db.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut round = 10;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let mut sql = String::from("BEGIN;");
                for i in 0..N {
                    sql.push_str(&format!(
                        "INSERT INTO {db}.t{i} VALUES ({round}, {round}); \
                         UPDATE {db}.t{i} SET v = v + 1 WHERE id = {}; \
                         DELETE FROM {db}.t{i} WHERE id = {};",
                        round - 1,
                        round - 5
                    ));
                    if i % 5 == 4 {
                        sql.push_str("COMMIT; BEGIN;");
                    }
                }
                sql.push_str("COMMIT;");
                admin.execute(&sql);
                round += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
        })
    };

    let first = tokio::runtime::Runtime::new().unwrap();
    first.block_on(async {
        let handles: Vec<ProjectHandle> = settings
            .iter()
            .zip(&dirs)
            .map(|(s, d)| ProjectHandle::start(s.clone(), d.clone()))
            .collect();
        for h in &handles {
            support::wait_for(h, support::TIMEOUT, "not streaming", |s| {
                s.stage == Stage::Incremental
            })
            .await;
        }
        wait_until(
            "every project on the shared stream",
            support::TIMEOUT,
            || {
                handles
                    .iter()
                    .all(|h| metric(h, "obsync_binlog_shared") == 1)
            },
        )
        .await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        // The handles go with the runtime: nothing stops the projects.
        std::mem::forget(handles);
    });
    // kill -9 of the engine: every task dropped where it stands.
    first.shutdown_background();
    std::thread::sleep(Duration::from_millis(500));

    let second = tokio::runtime::Runtime::new().unwrap();
    second.block_on(async {
        let handles: Vec<ProjectHandle> = settings
            .iter()
            .zip(&dirs)
            .map(|(s, d)| ProjectHandle::start(s.clone(), d.clone()))
            .collect();
        wait_until(
            "every project back on the shared stream",
            support::TIMEOUT,
            || {
                handles.iter().all(|h| {
                    h.status().stage == Stage::Incremental && metric(h, "obsync_binlog_shared") == 1
                })
            },
        )
        .await;
        tokio::time::sleep(Duration::from_secs(1)).await;
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        writer.join().unwrap();
        wait_until("one dump for 20 projects", support::TIMEOUT, || {
            dumps(&admin, &user) == 1
        })
        .await;
        for s in &settings {
            assert_exact(s, support::TIMEOUT).await;
        }
        for h in handles {
            h.stop();
            h.join().await.expect("the project stops cleanly");
        }
    });
    admin.execute(&format!("DROP DATABASE {db}; DROP USER '{user}'@'%'"));
}

/// The shared dump's connection killed on the source: the shared reader reconnects for
/// every member (each counts the reconnect), none falls back to a dump of its own, and
/// nothing is lost or repeated.
#[tokio::test]
async fn a_dropped_shared_dump_is_reconnected_for_every_member() {
    let services = Services::load();
    let admin = &services.mariadb;
    let kafka = &services.kafka_bootstrap;
    let user = unique_name("drop");
    let source = user_of_own(admin, &user);
    let (db_a, db_b) = (unique_name("dropa"), unique_name("dropb"));
    let (topic_a, topic_b) = (unique_name("dropa_t"), unique_name("dropb_t"));
    for db in [&db_a, &db_b] {
        admin.execute(&format!(
            "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(20))"
        ));
    }
    let a_settings = project(&source, kafka, "dropa", &db_a, &topic_a, false);
    let b_settings = project(&source, kafka, "dropb", &db_b, &topic_b, false);
    let a = support::start_streaming(a_settings.clone(), state_dir()).await;
    let b = support::start_streaming(b_settings.clone(), state_dir()).await;
    wait_until("A and B on one dump", support::TIMEOUT, || {
        metric(&a, "obsync_binlog_shared") == 1
            && metric(&b, "obsync_binlog_shared") == 1
            && dumps(admin, &user) == 1
    })
    .await;
    admin.execute(&format!(
        "INSERT INTO {db_a}.t VALUES (1, 'a'); INSERT INTO {db_b}.t VALUES (1, 'b')"
    ));
    let killed = dump_ids(admin, &user);
    admin.execute(&format!("KILL {}", killed[0]));
    admin.execute(&format!(
        "INSERT INTO {db_a}.t VALUES (2, 'a'); INSERT INTO {db_b}.t VALUES (2, 'b')"
    ));
    wait_until("both count the shared reconnect", support::TIMEOUT, || {
        metric(&a, "obsync_binlog_reconnects_total") >= 1
            && metric(&b, "obsync_binlog_reconnects_total") >= 1
    })
    .await;
    assert_exact(&a_settings, support::TIMEOUT).await;
    assert_exact(&b_settings, support::TIMEOUT).await;
    assert_eq!(records(kafka, &topic_a), 2);
    assert_eq!(records(kafka, &topic_b), 2);
    for h in [&a, &b] {
        assert_eq!(metric(h, "obsync_binlog_shared_fallbacks_total"), 0);
        assert_eq!(metric(h, "obsync_binlog_shared"), 1);
    }
    let now = dump_ids(admin, &user);
    assert_eq!(now.len(), 1);
    assert_ne!(now, killed, "a new dump connection");
    for h in [a, b] {
        h.stop();
        h.join().await.expect("the project stops cleanly");
    }
    admin.execute(&format!(
        "DROP DATABASE {db_a}; DROP DATABASE {db_b}; DROP USER '{user}'@'%'"
    ));
}
