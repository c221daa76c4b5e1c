//! Resolving the project's [[objects]] rules against the real MariaDB: a table named
//! without wildcards that does not exist fails the precheck, naming it.

mod support;

use obsync_model::{CheckStatus, TableId};
use obsync_pipeline::plan::{self, PlanError};
use obsync_source::metadata::MetadataReader;
use obsync_testkit::{unique_name, Services};

#[tokio::test]
async fn a_named_table_that_does_not_exist_fails_the_precheck_by_name() {
    let services = Services::load();
    let db = unique_name("objects");
    services.mariadb.execute(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.orders (id INT PRIMARY KEY); \
         CREATE TABLE {db}.items (id INT PRIMARY KEY)"
    ));
    let sync = r#"types = ["schema", "full"]"#;

    // A typo and a wrong case next to a real table and a wildcard that matches.
    let tables = format!("\"{db}.orders\", \"{db}.ordres\", \"{db}.Items\", \"{db}.it*\"");
    let settings = support::settings(&services, "objects", sync, &tables, "objects-topic");
    let reader = MetadataReader::from_endpoint(&settings.source);
    match plan::resolve(&settings.config, &reader).await {
        Err(PlanError::NamedTablesMissing(missing)) => assert_eq!(
            missing,
            vec![TableId::new(&db, "Items"), TableId::new(&db, "ordres")]
        ),
        other => panic!("expected the missing tables, got {other:?}"),
    }
    let items = obsync_pipeline::precheck::run(&settings, &support::no_state_dir()).await;
    let resolve = items.iter().find(|i| i.name == "objects.resolve").unwrap();
    assert_eq!(resolve.status, CheckStatus::Fail);
    assert!(
        resolve.detail.contains(&format!("{db}.Items, {db}.ordres")),
        "{}",
        resolve.detail
    );
    assert!(!obsync_pipeline::precheck::passed(&items));

    // With the names fixed, the rules resolve to the two tables.
    let tables = format!("\"{db}.orders\", \"{db}.it*\"");
    let settings = support::settings(&services, "objects", sync, &tables, "objects-topic");
    let plan = plan::resolve(&settings.config, &reader).await.unwrap();
    assert_eq!(
        plan.tables.keys().cloned().collect::<Vec<_>>(),
        vec![TableId::new(&db, "items"), TableId::new(&db, "orders")]
    );
    services.mariadb.execute(&format!("DROP DATABASE {db}"));
}

/// Tried as a new user would: the rules match a table with a column named in Chinese, so
/// they do not resolve; the items about the tables then say they were not checked
/// instead of passing over an empty list.
#[tokio::test]
async fn items_after_unresolved_objects_are_not_checked_never_passed() {
    let services = Services::load();
    let db = unique_name("probe");
    services.mariadb.execute(&format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, `名字` VARCHAR(10))"
    ));
    let sync = r#"types = ["schema", "full"]"#;
    let settings = support::settings(
        &services,
        "probe",
        sync,
        &format!("\"{db}.*\""),
        "probe-topic",
    );
    let items = obsync_pipeline::precheck::run(&settings, &support::no_state_dir()).await;
    services.mariadb.execute(&format!("DROP DATABASE {db}"));
    let status = |name: &str| {
        items
            .iter()
            .find(|i| i.name == name)
            .unwrap_or_else(|| panic!("no {name}: {items:#?}"))
    };
    assert_eq!(status("objects.resolve").status, CheckStatus::Fail);
    for name in [
        "source.tables",
        "source.names",
        "source.column_types",
        "source.privileges.select",
    ] {
        let item = status(name);
        assert_eq!(item.status, CheckStatus::NotChecked, "{item:#?}");
        assert_eq!(
            item.detail, "not checked: the object rules could not be resolved",
            "{item:#?}"
        );
    }
    assert!(!obsync_pipeline::precheck::report(&items).contains("[PASS] source.tables"));
}
