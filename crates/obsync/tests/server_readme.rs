//! The README's "Server" curl session runs as written against a real `obsync server`
//! and the local services.

mod support;

use std::process::Command;
use std::time::Duration;

use support::server::*;
use support::*;

fn readme_block() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let start = readme
        .find("<!-- server-curl-start -->")
        .expect("the README marks its curl session");
    let end = readme.find("<!-- server-curl-end -->").unwrap();
    let block = &readme[start..end];
    let body_start = block.find("```sh\n").unwrap() + 6;
    let body_end = block.rfind("```").unwrap();
    block[body_start..body_end].to_string()
}

#[test]
fn the_readme_server_session_runs_as_written() {
    let services = Services::load();
    let db = SourceDb::create(&services);
    db.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10))");
    db.exec("INSERT INTO t VALUES (1, 'a'), (2, 'b')");
    let dir = scratch_dir(&format!("readme_{}", db.name()));
    let port = free_port();
    let mut server = ServerProcess::start(&dir.join("data"), port);
    let m = &services.mariadb;
    // Bounded: the session's wait loop must not hang the test run.
    let out = Command::new("timeout")
        .args(["300", "bash", "-c"])
        .arg(format!("set -euo pipefail\n{}", readme_block()))
        .current_dir(&dir)
        .env("OBSYNC", &server.base)
        .env("OBSYNC_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("MARIADB_HOST", &m.host)
        .env("MARIADB_PORT", m.port.to_string())
        .env("MARIADB_USER", &m.user)
        .env("MARIADB_PASSWORD", &m.password)
        .env("KAFKA_BOOTSTRAP", &services.kafka_bootstrap)
        .env("DB", db.name())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the README session failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for expected in [
        "mariadb",
        db.name(),
        "pass objects.resolve",
        "running",
        "\"stage\": \"incremental\"",
        "paused",
        "[project]",
        "SUSPEND",
    ] {
        assert!(
            stdout.contains(expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(60)).success());
}
