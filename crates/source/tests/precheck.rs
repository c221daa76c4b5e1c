//! Source precheck against the real MariaDB and seekdb. Needs `scripts/services up`.

mod common;

use common::endpoint;
use mysql_async::prelude::Queryable;
use obsync_model::{CheckItem, CheckStatus, TableId};
use obsync_source::precheck::{check_source, SourceCheckPlan};
use obsync_source::{SourceEndpoint, SourceFlavor};
use obsync_testkit::unique_name;
use std::time::{SystemTime, UNIX_EPOCH};

async fn database_with(ep: &SourceEndpoint, ddl: &[&str]) -> String {
    let db = unique_name("pre");
    let mut conn = ep.connect().await.unwrap();
    conn.query_drop(format!("CREATE DATABASE {db}"))
        .await
        .unwrap();
    conn.query_drop(format!("USE {db}")).await.unwrap();
    for stmt in ddl {
        conn.query_drop(*stmt)
            .await
            .unwrap_or_else(|e| panic!("{stmt}: {e}"));
    }
    db
}

async fn drop_database(ep: &SourceEndpoint, db: &str) {
    let mut conn = ep.connect().await.unwrap();
    conn.query_drop(format!("DROP DATABASE {db}"))
        .await
        .unwrap();
}

fn item<'a>(items: &'a [CheckItem], name: &str) -> &'a CheckItem {
    items
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("no item {name} in {items:#?}"))
}

fn now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32
}

/// `YYYY-MM-DD HH:MM:SS UTC` of a Unix time, by `date -u` (an independent clock
/// formatter).
fn utc_text(t: u32) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("@{t}"), "+%Y-%m-%d %H:%M:%S UTC"])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

const GOOD_TABLES: &[&str] = &[
    "CREATE TABLE orders (id BIGINT PRIMARY KEY, customer INT NOT NULL, note VARCHAR(20))",
    "CREATE TABLE events (a INT, b INT)",
];

#[tokio::test]
async fn mariadb_plan_with_incremental_passes() {
    let ep = endpoint(SourceFlavor::MariaDb);
    let db = database_with(&ep, GOOD_TABLES).await;
    let plan = SourceCheckPlan {
        tables: Some(vec![
            TableId::new(&db, "orders"),
            TableId::new(&db, "events"),
        ]),
        shard_columns: vec![(TableId::new(&db, "orders"), vec!["customer".into()])],
        need_incremental: true,
        start_time: Some(now()),
        ..Default::default()
    };
    let items = check_source(&ep, &plan).await;
    for i in &items {
        assert_eq!(i.status, CheckStatus::Pass, "{i:#?}");
    }
    let names: Vec<&str> = items.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "source.connect",
            "source.tls",
            "source.version",
            "source.tables",
            "source.column_types",
            "source.names",
            "source.shard_columns",
            "source.privileges.select",
            "source.binlog",
            "source.binlog_service",
            "source.binlog_lineage",
            "source.binlog_history",
            "source.binlog_format",
            "source.binlog_row_image",
            "source.privileges.replication",
            "source.binlog_retention",
            "source.binlog_dump",
        ]
    );
    assert!(item(&items, "source.version").detail.contains("MariaDB"));
    // Who serves the change log, which history it is, how far back it goes.
    let service = item(&items, "source.binlog_service");
    assert!(
        service
            .detail
            .starts_with("the mariadb server itself serves its binlog")
            && service.detail.contains("; it writes mysql-bin."),
        "{service:#?}"
    );
    let mut conn = ep.connect().await.unwrap();
    let (server_id, state): (String, String) = conn
        .query_first("SELECT @@GLOBAL.server_id, @@GLOBAL.gtid_binlog_state")
        .await
        .unwrap()
        .unwrap();
    let lineage = item(&items, "source.binlog_lineage");
    assert!(
        lineage
            .detail
            .starts_with(&format!("MariaDB server_id {server_id}, GTID state ")),
        "{lineage:#?}"
    );
    // The state moves with other tests' writes; its domain-server prefix does not.
    let prefix = state.split(',').next().unwrap().rsplit_once('-').unwrap().0;
    assert!(lineage.detail.contains(prefix), "{lineage:#?}");
    let files: Vec<(String, u64)> = conn.query("SHOW BINARY LOGS").await.unwrap();
    let history = item(&items, "source.binlog_history");
    let oldest = obsync_source::binlog::oldest_retained_time(&ep)
        .await
        .unwrap();
    let begun = utc_text(oldest);
    assert!(
        history.detail.starts_with(&format!(
            "the change log goes back to {}, begun {begun} (",
            files[0].0
        )) && history
            .detail
            .contains(&format!("; {} file(s); ", files.len())),
        "{history:#?}"
    );

    // A start time before the oldest retained binlog fails the retention item.
    let early = SourceCheckPlan {
        start_time: Some(1_000_000),
        ..plan
    };
    let items = check_source(&ep, &early).await;
    let retention = item(&items, "source.binlog_retention");
    assert_eq!(retention.status, CheckStatus::Fail, "{retention:#?}");
    drop_database(&ep, &db).await;
}

#[tokio::test]
async fn seekdb_passes_full_sync_but_fails_binlog() {
    let ep = endpoint(SourceFlavor::OceanBase);
    let db = database_with(&ep, GOOD_TABLES).await;
    let plan = SourceCheckPlan {
        tables: Some(vec![
            TableId::new(&db, "orders"),
            TableId::new(&db, "events"),
        ]),
        shard_columns: vec![],
        need_incremental: true,
        start_time: None,
        ..Default::default()
    };
    let items = check_source(&ep, &plan).await;
    assert!(item(&items, "source.version").detail.contains("4.3"));
    for name in ["source.tables", "source.privileges.select", "source.names"] {
        assert_eq!(item(&items, name).status, CheckStatus::Pass, "{name}");
    }
    // seekdb's variables claim a ROW binlog ...
    assert_eq!(
        item(&items, "source.binlog_format").status,
        CheckStatus::Pass
    );
    // ... but it has none.
    let binlog = item(&items, "source.binlog");
    assert_eq!(binlog.status, CheckStatus::Fail);
    assert!(
        binlog.detail.starts_with(
            "the server reports log_bin=ON but refuses SHOW BINARY LOGS: it has no binlog"
        ),
        "{binlog:#?}"
    );
    assert_eq!(
        binlog.fix.as_deref(),
        Some("for OceanBase CE enable the Binlog Service, or turn off incremental sync")
    );
    // It is OceanBase without a Binlog Service on this connection: said, with the fix.
    let service = item(&items, "source.binlog_service");
    assert_eq!(service.status, CheckStatus::Fail, "{service:#?}");
    assert!(
        service
            .detail
            .contains("answers no binlog command (SHOW MASTER STATUS, SHOW BINARY LOGS)"),
        "{service:#?}"
    );
    let fix = service.fix.as_deref().unwrap();
    assert!(
        fix.starts_with("deploy the OceanBase Binlog Service and create the tenant's binlog")
            && fix.contains("ODP 4.2.1+"),
        "{fix}"
    );
    for name in ["source.binlog_lineage", "source.binlog_history"] {
        assert_eq!(item(&items, name).status, CheckStatus::NotChecked, "{name}");
    }
    drop_database(&ep, &db).await;
}

#[tokio::test]
async fn unreachable_port_fails_connect_naming_host_and_port() {
    // A port nothing listens on: bind one, note it, release it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let ep = SourceEndpoint {
        flavor: SourceFlavor::MySql,
        host: "127.0.0.1".into(),
        port,
        user: "u".into(),
        password: "p".into(),
        tls: Default::default(),
    };
    let items = check_source(&ep, &SourceCheckPlan::default()).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].name, "source.connect");
    assert_eq!(items[0].status, CheckStatus::Fail);
    assert!(
        items[0].detail.contains(&format!("127.0.0.1:{port}")),
        "{:#?}",
        items[0]
    );
    assert!(items[0].fix.as_deref().unwrap().contains("reachable"));
}

#[tokio::test]
async fn wrong_password_fails_connect_with_a_credentials_fix() {
    let mut ep = endpoint(SourceFlavor::MariaDb);
    ep.password = "wrong".into();
    let items = check_source(&ep, &SourceCheckPlan::default()).await;
    assert_eq!(items.len(), 1);
    assert_eq!(items[0].status, CheckStatus::Fail);
    assert!(items[0]
        .fix
        .as_deref()
        .unwrap()
        .contains("user and password"));
}

async fn bad_objects_fail_with_their_names(flavor: SourceFlavor) {
    let ep = endpoint(flavor);
    let db = database_with(
        &ep,
        &[
            GOOD_TABLES[0],
            "CREATE VIEW v_orders AS SELECT id FROM orders",
            "CREATE TABLE `订单` (id INT PRIMARY KEY)",
            "CREATE TABLE wide (id INT PRIMARY KEY, `金额` INT)",
        ],
    )
    .await;
    let plan = SourceCheckPlan {
        tables: Some(vec![
            TableId::new(&db, "orders"),
            TableId::new(&db, "nope"),
            TableId::new(&db, "v_orders"),
            TableId::new(&db, "订单"),
            TableId::new(&db, "wide"),
        ]),
        shard_columns: vec![(
            TableId::new(&db, "orders"),
            vec!["id".into(), "region".into()],
        )],
        need_incremental: false,
        start_time: None,
        ..Default::default()
    };
    let items = check_source(&ep, &plan).await;

    let tables = item(&items, "source.tables");
    assert_eq!(tables.status, CheckStatus::Fail);
    assert!(tables.detail.contains(&format!("{db}.nope")), "{tables:#?}");
    assert!(
        tables.detail.contains(&format!("{db}.v_orders is a view")),
        "{tables:#?}"
    );

    let names = item(&items, "source.names");
    assert_eq!(names.status, CheckStatus::Fail);
    assert!(
        names.detail.contains(&format!("table {db}.订单")),
        "{names:#?}"
    );
    assert!(names.detail.contains("金额"), "{names:#?}");

    let shard = item(&items, "source.shard_columns");
    assert_eq!(shard.status, CheckStatus::Fail);
    assert!(
        shard.detail.contains(&format!("{db}.orders.region")),
        "{shard:#?}"
    );
    assert!(!shard.detail.contains(".id"), "{shard:#?}");
    assert!(items.iter().all(|i| !i.name.starts_with("source.binlog")));
    drop_database(&ep, &db).await;
}

#[tokio::test]
async fn mariadb_bad_objects_fail_with_their_names() {
    bad_objects_fail_with_their_names(SourceFlavor::MariaDb).await;
}

#[tokio::test]
async fn seekdb_bad_objects_fail_with_their_names() {
    bad_objects_fail_with_their_names(SourceFlavor::OceanBase).await;
}

#[tokio::test]
async fn mariadb_user_without_privileges_fails_select_and_replication() {
    let ep = endpoint(SourceFlavor::MariaDb);
    let db = database_with(&ep, &[GOOD_TABLES[0]]).await;
    let user = unique_name("ro");
    let mut conn = ep.connect().await.unwrap();
    conn.query_drop(format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'; \
         GRANT SHOW VIEW ON {db}.* TO '{user}'@'%'"
    ))
    .await
    .unwrap();
    let restricted = SourceEndpoint {
        user: user.clone(),
        password: "pw".into(),
        ..ep.clone()
    };
    let plan = SourceCheckPlan {
        tables: Some(vec![TableId::new(&db, "orders")]),
        need_incremental: true,
        ..Default::default()
    };
    let items = check_source(&restricted, &plan).await;
    assert_eq!(item(&items, "source.connect").status, CheckStatus::Pass);
    assert_eq!(
        item(&items, "source.privileges.select").status,
        CheckStatus::Fail,
        "{items:#?}"
    );
    let repl = item(&items, "source.privileges.replication");
    assert_eq!(repl.status, CheckStatus::Fail, "{repl:#?}");
    assert!(repl.fix.as_deref().unwrap().contains("REPLICATION SLAVE"));
    conn.query_drop(format!("DROP USER '{user}'@'%'"))
        .await
        .unwrap();
    drop_database(&ep, &db).await;
}

/// The items about tables, and their statuses, in `items`.
fn table_statuses(items: &[CheckItem]) -> Vec<(&str, CheckStatus)> {
    items
        .iter()
        .filter(|i| !["source.connect", "source.tls", "source.version"].contains(&i.name.as_str()))
        .map(|i| (i.name.as_str(), i.status))
        .collect()
}

#[tokio::test]
async fn table_items_are_not_checked_when_the_object_rules_did_not_resolve() {
    let ep = endpoint(SourceFlavor::MariaDb);
    let plan = SourceCheckPlan {
        tables: None,
        ..Default::default()
    };
    let items = check_source(&ep, &plan).await;
    let statuses = table_statuses(&items);
    assert_eq!(statuses.len(), 4, "{items:#?}");
    for (name, status) in statuses {
        assert_eq!(status, CheckStatus::NotChecked, "{name}: {items:#?}");
        assert!(
            item(&items, name)
                .detail
                .contains("not checked: the object rules could not be resolved"),
            "{items:#?}"
        );
    }
}

#[tokio::test]
async fn table_items_are_not_checked_when_no_table_is_selected() {
    let ep = endpoint(SourceFlavor::MariaDb);
    let plan = SourceCheckPlan {
        tables: Some(vec![]),
        ..Default::default()
    };
    let items = check_source(&ep, &plan).await;
    for (name, status) in table_statuses(&items) {
        assert_eq!(status, CheckStatus::NotChecked, "{name}: {items:#?}");
    }
    assert!(item(&items, "source.tables")
        .detail
        .contains("no table is selected"));
}

#[tokio::test]
async fn column_and_privilege_items_are_not_checked_when_no_selected_table_exists() {
    let ep = endpoint(SourceFlavor::MariaDb);
    let db = database_with(&ep, &[]).await;
    let missing = TableId::new(&db, "nope");
    let plan = SourceCheckPlan {
        tables: Some(vec![missing.clone()]),
        shard_columns: vec![(missing, vec!["id".into()])],
        ..Default::default()
    };
    let items = check_source(&ep, &plan).await;
    drop_database(&ep, &db).await;
    assert_eq!(item(&items, "source.tables").status, CheckStatus::Fail);
    for name in [
        "source.column_types",
        "source.names",
        "source.shard_columns",
        "source.privileges.select",
    ] {
        let i = item(&items, name);
        assert_eq!(i.status, CheckStatus::NotChecked, "{i:#?}");
        assert!(i.detail.starts_with("not checked: "), "{i:#?}");
    }
}
