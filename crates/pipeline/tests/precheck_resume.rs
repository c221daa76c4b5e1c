//! The precheck of a project that resumes opens the change log where the run will: at
//! the checkpoint's position (or GTID state), in the project's positioning mode. A
//! checkpoint whose binlog is gone fails `source.binlog_dump` with the server's own
//! answer before `obsync run` would; a corrupt checkpoint fails the `checkpoint` item.

mod support;

use obsync_model::{BinlogCoord, CheckItem, CheckStatus, Gtid, LogPosition};
use obsync_pipeline::checkpoint::{CheckpointStore, IncrementalCheckpoint, ProjectState};
use obsync_pipeline::precheck;
use obsync_testkit::{unique_name, MariaDbInstance, Services, SqlServer};
use std::path::{Path, PathBuf};
use support::Project;

const SYNC: &str = r#"types = ["schema", "incremental"]"#;

fn item<'a>(items: &'a [CheckItem], name: &str) -> &'a CheckItem {
    items
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no item {name} in {items:#?}"))
}

/// A database with one table on `server`; returns the database's name.
fn database(server: &SqlServer) -> String {
    let db = unique_name("resume");
    server.execute(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY); \
         INSERT INTO {db}.t VALUES (1), (2)"
    ));
    db
}

/// `SHOW MASTER STATUS` and `@@gtid_binlog_pos`: where `server`'s binlog ends now.
fn binlog_end(server: &SqlServer) -> (BinlogCoord, String) {
    let rows = server.query("SHOW MASTER STATUS");
    let file = rows[0][0].clone();
    let pos: u64 = rows[0][1].parse().unwrap();
    let gtid = server.query("SELECT @@gtid_binlog_pos")[0][0].clone();
    (BinlogCoord::new(file, pos), gtid)
}

/// A state directory whose checkpoint resumes incremental sync at `coord` (with `gtid`).
fn checkpoint_at(coord: BinlogCoord, gtid: Option<&str>) -> PathBuf {
    checkpoint_from(None, coord, gtid)
}

/// [`checkpoint_at`], read from the server `server` (its `source_server`).
fn checkpoint_from(server: Option<&str>, coord: BinlogCoord, gtid: Option<&str>) -> PathBuf {
    let dir = std::env::temp_dir().join(unique_name("resume_state"));
    let state = ProjectState {
        source_server: server.map(str::to_string),
        schema_done: true,
        incremental: Some(IncrementalCheckpoint {
            position: LogPosition {
                coord,
                gtid: gtid.map(|g| Gtid(g.to_string())),
            },
            timestamp: 1,
        }),
        ..Default::default()
    };
    CheckpointStore::open(&dir).unwrap().save(&state).unwrap();
    dir
}

async fn precheck_on(
    server: &SqlServer,
    db: &str,
    positioning: &str,
    state_dir: &Path,
) -> Vec<CheckItem> {
    let services = Services::load();
    let tables = format!("\"{db}.t\"");
    let source_extra = format!("binlog_positioning = \"{positioning}\"");
    let project = Project {
        name: "resume",
        sync: SYNC,
        tables: &tables,
        topic: &format!("{db}-topic"),
        source_extra: &source_extra,
        ..Default::default()
    };
    let settings = support::settings_on(server, &services.kafka_bootstrap, &project);
    precheck::run(&settings, state_dir).await
}

/// A dump item failed naming `cause` (decided from the server's binlog index and GTID
/// state before dumping, or read from its 1236 answer) and the fix.
fn assert_refused_as_gone(dump: &CheckItem, from: &str, cause: &str) {
    assert_eq!(dump.status, CheckStatus::Fail, "{dump:#?}");
    assert!(
        dump.detail
            .contains("resuming from the checkpoint's position"),
        "{dump:#?}"
    );
    assert!(dump.detail.contains(from), "{dump:#?}");
    assert!(dump.detail.contains(cause), "{dump:#?}");
    let fix = dump.fix.as_deref().unwrap_or_default();
    assert!(
        fix.contains("restart the project from a snapshot"),
        "{dump:#?}"
    );
}

#[tokio::test]
async fn a_valid_checkpoint_passes_and_is_where_the_dump_opens() {
    let services = Services::load();
    let server = &services.mariadb;
    let db = database(server);
    let (end, gtid) = binlog_end(server);
    let dir = checkpoint_at(end.clone(), Some(&gtid));

    let items = precheck_on(server, &db, "auto", &dir).await;
    for i in &items {
        assert_ne!(i.status, CheckStatus::Fail, "{i:#?}");
    }
    let checkpoint = item(&items, "checkpoint");
    assert_eq!(checkpoint.status, CheckStatus::Pass);
    assert!(
        checkpoint.detail.contains(&end.to_string()),
        "{checkpoint:#?}"
    );
    // MariaDB is positioned by file in `auto`: the dump starts at the saved offset,
    // not at the binlog's end (which has moved on meanwhile: the table above).
    server.execute(&format!("INSERT INTO {db}.t VALUES (3)"));
    let items = precheck_on(server, &db, "auto", &dir).await;
    let dump = item(&items, "source.binlog_dump");
    assert_eq!(dump.status, CheckStatus::Pass, "{dump:#?}");
    assert!(
        dump.detail
            .contains(&format!("by file and position from {end}")),
        "{dump:#?}"
    );

    // Forced GTID positioning sends the checkpoint's GTID state.
    let items = precheck_on(server, &db, "gtid", &dir).await;
    let dump = item(&items, "source.binlog_dump");
    assert_eq!(dump.status, CheckStatus::Pass, "{dump:#?}");
    assert!(
        dump.detail.contains(&format!("GTID state {gtid:?}")),
        "{dump:#?}"
    );

    // Without a checkpoint the dump opens at the binlog's current end.
    let fresh = support::no_state_dir();
    let items = precheck_on(server, &db, "auto", &fresh).await;
    assert!(item(&items, "checkpoint").detail.contains("no checkpoint"));
    let dump = item(&items, "source.binlog_dump");
    assert_eq!(dump.status, CheckStatus::Pass, "{dump:#?}");
    assert!(!dump.detail.contains("resuming"), "{dump:#?}");
    assert!(
        !fresh.exists(),
        "the precheck must not create the state directory"
    );
    server.execute(&format!("DROP DATABASE {db}"));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_checkpoint_in_a_binlog_file_that_does_not_exist_fails_the_dump_item() {
    let services = Services::load();
    let server = &services.mariadb;
    let db = database(server);
    let (end, _) = binlog_end(server);
    // The next file's name after the current one: the server has not written it.
    let (stem, n) = end.file.rsplit_once('.').unwrap();
    let missing = format!("{stem}.{:06}", n.parse::<u32>().unwrap() + 1000);
    let dir = checkpoint_at(BinlogCoord::new(&missing, 4), None);

    let items = precheck_on(server, &db, "auto", &dir).await;
    // Later than the newest file: not this server's history (a reset, another server).
    assert_refused_as_gone(
        item(&items, "source.binlog_dump"),
        &missing,
        "does not contain",
    );
    assert!(!precheck::passed(&items));
    server.execute(&format!("DROP DATABASE {db}"));
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_checkpoint_whose_binlog_was_purged_fails_by_file_and_by_gtid() {
    let mariadb = MariaDbInstance::spawn();
    let server = mariadb.server();
    let db = database(&server);
    let (saved, gtid) = binlog_end(&server);
    server.execute(&format!(
        "INSERT INTO {db}.t VALUES (3); FLUSH BINARY LOGS; INSERT INTO {db}.t VALUES (4)"
    ));
    let (now, _) = binlog_end(&server);
    assert_ne!(now.file, saved.file, "FLUSH BINARY LOGS starts a new file");
    server.execute(&format!("PURGE BINARY LOGS TO '{}'", now.file));
    let dir = checkpoint_at(saved.clone(), Some(&gtid));

    // `auto` on MariaDB: by file, which is gone.
    let items = precheck_on(&server, &db, "auto", &dir).await;
    assert_refused_as_gone(
        item(&items, "source.binlog_dump"),
        &saved.to_string(),
        "purged",
    );
    // `gtid`: the same checkpoint by its GTID state, whose transactions are gone too.
    let items = precheck_on(&server, &db, "gtid", &dir).await;
    assert_refused_as_gone(item(&items, "source.binlog_dump"), &gtid, "purged");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn a_corrupt_checkpoint_fails_its_item_naming_the_file() {
    let services = Services::load();
    let server = &services.mariadb;
    let db = database(server);
    let dir = std::env::temp_dir().join(unique_name("corrupt_state"));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("state.json");
    std::fs::write(&file, "{\"version\": \"1\", \"schema_done\": tru").unwrap();

    let items = precheck_on(server, &db, "auto", &dir).await;
    let checkpoint = item(&items, "checkpoint");
    assert_eq!(checkpoint.status, CheckStatus::Fail, "{checkpoint:#?}");
    assert!(
        checkpoint.detail.contains(&file.display().to_string()),
        "{checkpoint:#?}"
    );
    assert!(checkpoint.fix.as_deref().unwrap().contains("backup"));
    // Where the run would start is unknown: the dump is not checked, never passed.
    let dump = item(&items, "source.binlog_dump");
    assert_eq!(dump.status, CheckStatus::NotChecked, "{dump:#?}");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "{\"version\": \"1\", \"schema_done\": tru",
        "the precheck must leave the checkpoint as it was"
    );
    server.execute(&format!("DROP DATABASE {db}"));
    let _ = std::fs::remove_dir_all(dir);
}

/// A checkpoint read from another server (a failover, or the wrong address in
/// [source]): by file and offset the dump is refused with the way out; by GTID it
/// opens, as this server's binlog holds the checkpoint's GTID state.
#[tokio::test]
async fn a_checkpoint_from_another_server_resumes_only_by_gtid() {
    let services = Services::load();
    let server = &services.mariadb;
    let db = database(server);
    let (end, gtid) = binlog_end(server);
    let dir = checkpoint_from(Some("server_id:424242"), end, Some(&gtid));

    let items = precheck_on(server, &db, "file", &dir).await;
    let dump = item(&items, "source.binlog_dump");
    assert_eq!(dump.status, CheckStatus::Fail, "{dump:#?}");
    assert!(
        dump.detail
            .contains("read from the server server_id:424242"),
        "{dump:#?}"
    );
    let fix = dump.fix.as_deref().unwrap_or_default();
    assert!(fix.contains("binlog_positioning = \"gtid\""), "{dump:#?}");
    assert!(fix.contains("snapshot"), "{dump:#?}");

    let items = precheck_on(server, &db, "gtid", &dir).await;
    let dump = item(&items, "source.binlog_dump");
    assert_eq!(dump.status, CheckStatus::Pass, "{dump:#?}");
    server.execute(&format!("DROP DATABASE {db}"));
}
