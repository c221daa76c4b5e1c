//! The shared services scripts/services runs answer as services.env says.

use std::process::Command;

use obsync_testkit::Services;

#[test]
fn shared_mariadb_answers_with_a_row_binlog() {
    let services = Services::load();
    let rows = services
        .mariadb
        .query("SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata");
    assert_eq!(rows, [["1", "ROW", "FULL", "NO_LOG"]]);
}

#[test]
fn shared_mariadb_lets_obsync_create_databases_and_root_log_in_over_tcp() {
    let services = Services::load();
    let db = obsync_testkit::unique_name("testkit");
    services.mariadb.execute(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY); DROP DATABASE {db}"
    ));
    let user = services.mariadb_root.query("SELECT CURRENT_USER()");
    assert_eq!(user, [["root@127.0.0.1"]]);
}

#[test]
fn shared_seekdb_answers_as_oceanbase_with_a_long_query_timeout() {
    let services = Services::load();
    let rows = services
        .seekdb
        .query("SELECT version(), @@ob_query_timeout");
    assert!(rows[0][0].contains("OceanBase"), "version {:?}", rows[0][0]);
    assert_eq!(rows[0][1], "3600000000");
}

#[test]
fn shared_kafka_serves_metadata_and_runs_the_java_tools() {
    let services = Services::load();
    let metadata = Command::new("kcat")
        .args(["-b", &services.kafka_bootstrap, "-L"])
        .output()
        .expect("running kcat");
    assert!(metadata.status.success(), "{metadata:?}");
    assert!(String::from_utf8_lossy(&metadata.stdout).contains(" 1 brokers:"));
    assert!(services.kafka_libs.join("kafka-tools-3.9.1.jar").is_file());
}
