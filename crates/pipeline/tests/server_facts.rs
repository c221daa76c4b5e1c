//! The source is identified once per endpoint (`ServerInfo`), not once per table: a run
//! over several tables (schema, snapshot with its position, incremental sync) asks
//! `SELECT VERSION()` a fixed number of times. Counted in the general query log of a
//! private MariaDB, where nothing else runs.

mod support;

use obsync_testkit::{unique_name, MariaDbInstance, Services};
use support::Project;

const TABLES: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_over_many_tables_identifies_the_source_once_per_reader() {
    let services = Services::load();
    let mariadb = tokio::task::block_in_place(MariaDbInstance::spawn);
    let server = mariadb.server();
    let db = unique_name("facts");
    let mut ddl = format!("CREATE DATABASE {db};");
    for t in 0..TABLES {
        ddl.push_str(&format!(
            "CREATE TABLE {db}.t{t} (id INT PRIMARY KEY); INSERT INTO {db}.t{t} VALUES (1), (2);"
        ));
    }
    server.execute(&ddl);
    server.execute("SET GLOBAL log_output = 'TABLE'; SET GLOBAL general_log = ON");

    let tables = format!("\"{db}.*\"");
    let topic = unique_name("facts_topic");
    let project = Project {
        name: "facts",
        sync: "types = [\"schema\", \"full\", \"incremental\"]\nsnapshot_chunk_rows = 1",
        tables: &tables,
        topic: &topic,
        ..Default::default()
    };
    let settings = support::settings_on(&server, &services.kafka_bootstrap, &project);
    let state_dir = std::env::temp_dir().join(unique_name("facts_state"));
    let handle = support::start_streaming(settings, state_dir).await;
    server.execute(&format!("INSERT INTO {db}.t0 VALUES (3)"));
    let rows = (2 * TABLES + 1) as u64;
    support::wait_for(&handle, support::TIMEOUT, "not delivered", |s| {
        s.messages_acked >= rows
    })
    .await;
    handle.stop();
    handle.join().await.unwrap();

    let asked = server.query(
        "SET GLOBAL general_log = OFF; \
         SELECT COUNT(*) FROM mysql.general_log WHERE argument LIKE 'SELECT VERSION()%'",
    );
    let asked: usize = asked[0][0].parse().unwrap();
    // Once for the object rules' metadata reader (whose answer the snapshot and the
    // positions reuse), once for the binlog reader; never once per table.
    assert!(
        (1..=2).contains(&asked),
        "SELECT VERSION() ran {asked} times for {TABLES} tables"
    );
}
