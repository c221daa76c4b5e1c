//! The server's shared change-log stream under a real `kill -9`: 20 projects on one
//! source hold one binlog dump between them; the server process is killed while writes
//! hit every project's table; after the restart each project resumes from its own
//! checkpoint (on a dump of its own until it reaches the shared one), they share one dump
//! again, and every table rebuilt from its project's topic equals the source, in offset
//! order and by `storeDataSequence`. The in-process version (the engine's runtime
//! dropped) is in `pipeline/tests/shared_stream.rs`; this one also kills what a process
//! holds: file writes in flight, the Kafka client.
//!
//! Needs the shared services (`scripts/services up`).

mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use obsync_testkit::SqlServer;
use serde_json::json;
use support::server::*;
use support::*;

const PROJECTS: usize = 20;
const TIMEOUT: Duration = Duration::from_secs(90);

/// The `Binlog Dump` threads `user` holds on the source.
fn dumps(admin: &SqlServer, user: &str) -> usize {
    admin
        .query(&format!(
            "SELECT ID FROM information_schema.PROCESSLIST \
             WHERE USER = '{user}' AND COMMAND = 'Binlog Dump'"
        ))
        .len()
}

fn wait_for_dumps(admin: &SqlServer, user: &str, want: usize, what: &str) {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let n = dumps(admin, user);
        if n == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {n} binlog dumps of {user}, not {want}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Until `stop`: one transaction every few ms inserting, updating and deleting rows of
/// every table `t0..tN`, so that the kill lands inside the stream of each project.
fn churn(db: &SourceDb, stop: &AtomicBool) -> u64 {
    let mut round = 1_000i64;
    while !stop.load(Ordering::Relaxed) {
        let mut sqls = vec!["BEGIN".to_string()];
        for i in 0..PROJECTS {
            sqls.push(format!("INSERT INTO t{i} VALUES ({round}, {round})"));
            sqls.push(format!(
                "UPDATE t{i} SET v = v + 1 WHERE id = {}",
                round % 200 + 1
            ));
            sqls.push(format!("DELETE FROM t{i} WHERE id = {}", round - 3));
        }
        sqls.push("COMMIT".to_string());
        db.exec_many(&sqls);
        round += 1;
        std::thread::sleep(Duration::from_millis(10));
    }
    (round - 1_000) as u64
}

#[test]
fn projects_sharing_one_dump_survive_kill_9_of_the_server() {
    let services = Services::load();
    let db = SourceDb::create(&services);
    // A login of the test's own, so that its binlog dumps can be counted.
    let user = unique_name("shkill");
    let admin = services.mariadb.clone();
    admin.execute(&format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'; \
         GRANT SELECT, RELOAD, REPLICATION SLAVE, REPLICATION CLIENT, BINLOG MONITOR ON *.* TO '{user}'@'%'"
    ));
    let login = SqlServer {
        user: user.clone(),
        password: "pw".into(),
        ..admin.clone()
    };
    for i in 0..PROJECTS {
        db.exec(&format!(
            "CREATE TABLE t{i} (id INT PRIMARY KEY, v INT NOT NULL)"
        ));
        db.exec(&format!("INSERT INTO t{i} SELECT seq, 0 FROM seq_1_to_200"));
    }

    let d = db.name().to_string();
    let dir = scratch_dir(&format!("server_shared_{d}"));
    let data_dir = dir.join("data");
    let port = free_port();
    let mut server = ServerProcess::start(&data_dir, port);
    let mut api = Api::login(&server.base);
    let (source, target) = data_sources_as(&mut api, &services, &login);
    let mut specs = Vec::new();
    for i in 0..PROJECTS {
        let mut spec = ProjectSpec::new(&services, &db, "DefaultExtendColumnType");
        spec.topic = TopicMode::Named(format!("t_{d}_{i}"));
        start_project(
            &mut api,
            json!({
                "name": spec.name, "source_id": source, "target_id": target,
                "sync": {"types": ["schema", "full", "incremental"], "format": spec.format},
                "objects": [{"tables": [format!("{d}.t{i}")], "topic": format!("t_{d}_{i}")}],
            }),
        );
        specs.push(spec);
    }
    wait_for_dumps(&admin, &user, 1, "the projects share one dump");

    let stop = AtomicBool::new(false);
    std::thread::scope(|scope| {
        let churner = scope.spawn(|| churn(&db, &stop));
        let _stop_churn = StopOnDrop(&stop);
        std::thread::sleep(Duration::from_secs(3));
        server.signal("KILL");
        server.wait_exit(Duration::from_secs(10));
        // Writes go on while the server is down, and after it is back.
        std::thread::sleep(Duration::from_secs(1));
        server = ServerProcess::start(&data_dir, port);
        api = Api::login(&server.base);
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let list = api.ok("GET", "/api/v1/projects", None, reqwest::StatusCode::OK);
            let items = list["items"].as_array().unwrap();
            let running = items.iter().filter(|p| p["state"] == "running").count();
            if running == PROJECTS {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{running} of {PROJECTS} projects run again: {list}"
            );
            std::thread::sleep(Duration::from_millis(300));
        }
        std::thread::sleep(Duration::from_secs(3));
        stop.store(true, Ordering::Relaxed);
        let rounds = churner.join().unwrap();
        assert!(rounds > 50, "the churn barely ran: {rounds} transactions");
    });

    wait_for_dumps(&admin, &user, 1, "one dump again after the restart");
    // Rebuilt in offset order equal to the source, and by storeDataSequence the same
    // (the numbers strictly increase per partition across the killed run and the next).
    let mut numbered = 0;
    for (i, spec) in specs.iter().enumerate() {
        let table = format!("t{i}");
        let rebuilt = wait_until_equal(&db, spec, &[table.as_str()], TIMEOUT);
        numbered += assert_sequence_order(spec, &db.table_metas(&[table.as_str()]), &rebuilt);
    }
    assert!(numbered > 0, "no change record was checked by sequence");
    drop(server);
    admin.execute(&format!("DROP USER '{user}'@'%'"));
}
