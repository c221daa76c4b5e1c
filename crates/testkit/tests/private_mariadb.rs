//! A private MariaDB survives clean and unclean restarts and leaves nothing behind.

use obsync_testkit::{MariaDbInstance, Services};

#[test]
fn private_mariadb_keeps_committed_rows_across_stop_start_and_kill() {
    let mut db = MariaDbInstance::spawn();
    let server = db.server();
    server.execute(
        "CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY, note VARCHAR(20));
         INSERT INTO shop.orders VALUES (1, 'before stop')",
    );

    db.stop();
    assert!(!db.is_running());
    assert!(
        server.try_query("SELECT 1").is_err(),
        "a stopped server still answers"
    );
    db.start();
    server.execute("INSERT INTO shop.orders VALUES (2, 'before kill')");

    db.kill();
    assert!(!db.is_running());
    db.start();
    let rows = server.query("SELECT id, note FROM shop.orders ORDER BY id");
    assert_eq!(rows, [["1", "before stop"], ["2", "before kill"]]);
}

#[test]
fn private_mariadb_is_configured_like_the_shared_one_on_its_own_port() {
    let shared = Services::load();
    let db = MariaDbInstance::spawn();
    assert_ne!(db.port(), shared.mariadb.port);
    assert_eq!(
        db.url(),
        format!("mysql://obsync:obsync@127.0.0.1:{}", db.port())
    );
    let rows = db.server().query(
        "SELECT @@log_bin, @@binlog_format, @@binlog_row_image, @@binlog_row_metadata, @@server_id",
    );
    assert_eq!(rows, [["1", "ROW", "FULL", "NO_LOG", "1"]]);
    let grants = db.server().query("SHOW GRANTS");
    assert!(grants[0][0].contains("ALL PRIVILEGES ON *.*"), "{grants:?}");
    assert!(grants[0][0].contains("WITH GRANT OPTION"), "{grants:?}");
}

#[test]
fn dropping_a_private_mariadb_stops_it_and_removes_its_directory() {
    let db = MariaDbInstance::spawn();
    let dir = db.dir().to_path_buf();
    let server = db.server();
    assert!(dir.is_dir());
    drop(db);
    assert!(!dir.exists(), "{} is left behind", dir.display());
    assert!(
        server.try_query("SELECT 1").is_err(),
        "a dropped server still answers"
    );
}
