//! End-to-end: MariaDB → obsync → Kafka in every format, reconstructed and compared.

mod support;

use std::time::Duration;
use support::*;

#[test]
fn harness_smoke_default_hash() {
    let services = Services::load();
    let db = SourceDb::create(&services);
    db.exec_many(&[
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))",
        "INSERT INTO t VALUES (1,'a'),(2,'😀'),(3,NULL)",
        "CREATE TABLE nk (a INT, b INT)",
        "INSERT INTO nk VALUES (1,1),(1,1),(2,2)",
    ]);
    let spec = ProjectSpec::new(&services, &db, "Default");
    let dir = scratch_dir(&spec.name);
    let config = spec.write_project(&dir);
    let mut run = Obsync::start(&config, &dir.join("state"));
    run.wait_for("incremental", Duration::from_secs(60), |s| {
        s["stage"] == "incremental"
    });
    db.exec_many(&[
        "BEGIN",
        "INSERT INTO t VALUES (4,'d')",
        "UPDATE t SET id=5 WHERE id=1",
        "DELETE FROM nk WHERE a=2",
        "INSERT INTO nk VALUES (1,1)",
        "COMMIT",
    ]);
    let r = wait_until_equal(&db, &spec, &["t", "nk"], Duration::from_secs(60));
    assert_eq!(
        r.tables[&format!("{}.nk", db.name())]
            .values()
            .map(|e| e.count)
            .sum::<usize>(),
        3
    );
    run.terminate();
    assert!(run.wait_exit(Duration::from_secs(30)).success());
}
