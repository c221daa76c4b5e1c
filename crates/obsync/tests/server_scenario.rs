//! `obsync server` end to end through its API only: two projects (MariaDB full +
//! incremental, seekdb full only), DML seen in Kafka, pause/resume, `kill -9` of the
//! server mid-run and a restart (both projects back in their states, Kafka rebuilds the
//! sources exactly), SIGTERM, and no secret in any answer or in the server's log.
//!
//! Needs the shared services (`scripts/services up`).

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::server::*;
use support::*;

const TIMEOUT: Duration = Duration::from_secs(120);

fn project_body(spec: &ProjectSpec, source: &str, target: &str) -> Value {
    let TopicMode::Named(topic) = &spec.topic else {
        panic!("named topic expected")
    };
    json!({"spec": {
        "name": spec.name, "source_id": source, "target_id": target,
        "sync": {"types": spec.types, "format": spec.format, "partition_rule": spec.partition_rule},
        "objects": [{"tables": [format!("{}.*", spec.db)], "topic": topic}],
    }})
}

#[test]
fn two_projects_survive_pause_kill_9_and_restart_through_the_api_only() {
    let services = Services::load();
    // A MariaDB login of its own, so its password appears nowhere else.
    let user = unique_name("scen");
    let password = format!("Sk{}q", unique_name("pw").replace('_', ""));
    services.mariadb_root.execute(&format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'; GRANT ALL PRIVILEGES ON *.* TO '{user}'@'%';"
    ));
    let maria = SourceDb::create(&services);
    maria.exec("CREATE TABLE orders (id INT PRIMARY KEY, note VARCHAR(64), qty INT)");
    let rows: Vec<String> = (1..=200)
        .map(|i| format!("({i}, 'initial {i}', {i})"))
        .collect();
    maria.exec(&format!("INSERT INTO orders VALUES {}", rows.join(",")));
    let seek = SourceDb::create_seekdb(&services);
    seek.exec("CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(32))");
    let items: Vec<String> = (1..=120).map(|i| format!("({i}, 'item {i}')")).collect();
    seek.exec(&format!("INSERT INTO items VALUES {}", items.join(",")));

    let spec_a = ProjectSpec::new(&services, &maria, "DefaultExtendColumnType");
    let mut spec_b = ProjectSpec::new(&services, &seek, "Default");
    spec_b.types = vec!["schema".into(), "full".into()];

    let dir = scratch_dir(&format!("server_{}", spec_a.name));
    let data_dir = dir.join("data");
    let port = free_port();
    let mut server = ServerProcess::start(&data_dir, port);
    let mut api = Api::login(&server.base);
    let m = &services.mariadb;
    let s = &services.seekdb;
    let maria_ds = api.ok(
        "POST",
        "/api/v1/datasources",
        Some(json!({"name": "scenario-maria", "kind": "mariadb",
        "source": {"host": m.host, "port": m.port, "user": user, "password": password}})),
        StatusCode::CREATED,
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let seek_ds = api.ok("POST", "/api/v1/datasources", Some(json!({"name": "scenario-seekdb", "kind": "oceanbase",
        "source": {"host": s.host, "port": s.port, "user": format!("{}@sys", s.user), "password": s.password}})), StatusCode::CREATED)["id"].as_str().unwrap().to_string();
    let kafka_ds = api.ok(
        "POST",
        "/api/v1/datasources",
        Some(json!({"name": "scenario-kafka", "kind": "kafka",
        "kafka": {"bootstrap_servers": services.kafka_bootstrap, "version": "3.x"}})),
        StatusCode::CREATED,
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    for ds in [&maria_ds, &seek_ds, &kafka_ds] {
        let test = api.ok(
            "POST",
            &format!("/api/v1/datasources/{ds}/test"),
            None,
            StatusCode::OK,
        );
        assert_eq!(test["ok"], true, "{test}");
    }

    let a = api.ok(
        "POST",
        "/api/v1/projects",
        Some(project_body(&spec_a, &maria_ds, &kafka_ds)),
        StatusCode::CREATED,
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = api.ok(
        "POST",
        "/api/v1/projects",
        Some(project_body(&spec_b, &seek_ds, &kafka_ds)),
        StatusCode::CREATED,
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    for id in [&a, &b] {
        let pre = api.ok(
            "POST",
            &format!("/api/v1/projects/{id}/precheck"),
            None,
            StatusCode::OK,
        );
        assert_eq!(pre["passed"], true, "{pre}");
        let started = api.ok(
            "POST",
            &format!("/api/v1/projects/{id}/start"),
            None,
            StatusCode::OK,
        );
        assert_eq!(started["state"], "running");
    }
    api.wait(
        &format!("/api/v1/projects/{a}/progress"),
        "A streams",
        |p| p["stage"] == "incremental" && p["acked_messages"].as_u64() >= Some(200),
    );
    api.wait(&format!("/api/v1/projects/{b}"), "B finishes", |p| {
        p["state"] == "finished"
    });
    // The server reads each source through one shared dump by default.
    let shared = format!(
        "obsync_source_shared_binlog_dumps{{source=\"{}:{}\"}} 1",
        m.host, m.port
    );
    api.wait("/metrics", "A reads the source's shared dump", |t| {
        t.as_str().is_some_and(|t| t.contains(&shared))
    });
    std::thread::sleep(Duration::from_millis(500));

    maria.exec_many(&[
        "INSERT INTO orders VALUES (1001, 'new', 1)",
        "UPDATE orders SET note = 'updated', qty = qty + 100 WHERE id <= 10",
        "DELETE FROM orders WHERE id BETWEEN 11 AND 20",
    ]);
    wait_until_equal(&maria, &spec_a, &["orders"], TIMEOUT);

    let paused = api.ok(
        "POST",
        &format!("/api/v1/projects/{a}/pause"),
        None,
        StatusCode::OK,
    );
    assert_eq!(paused["state"], "paused");
    maria.exec("UPDATE orders SET note = 'while paused' WHERE id BETWEEN 30 AND 40");
    let resumed = api.ok(
        "POST",
        &format!("/api/v1/projects/{a}/resume"),
        None,
        StatusCode::OK,
    );
    assert_eq!(resumed["state"], "running");
    wait_until_equal(&maria, &spec_a, &["orders"], TIMEOUT);

    // kill -9 while changes stream in.
    for k in 0..5 {
        maria.exec(&format!(
            "INSERT INTO orders VALUES ({}, 'burst', {k})",
            2000 + k
        ));
    }
    server.signal("KILL");
    server.wait_exit(Duration::from_secs(10));
    maria.exec_many(&[
        "DELETE FROM orders WHERE id BETWEEN 50 AND 60",
        "UPDATE orders SET qty = -1 WHERE id = 1001",
    ]);

    let mut server = ServerProcess::start(&data_dir, port);
    let bodies_before = std::mem::take(&mut api.bodies);
    let mut api = Api::login(&server.base);
    api.bodies = bodies_before;
    assert_eq!(
        api.ok(
            "GET",
            &format!("/api/v1/projects/{a}"),
            None,
            StatusCode::OK
        )["state"],
        "running"
    );
    assert_eq!(
        api.ok(
            "GET",
            &format!("/api/v1/projects/{b}"),
            None,
            StatusCode::OK
        )["state"],
        "finished"
    );
    api.wait(
        &format!("/api/v1/projects/{a}/progress"),
        "A streams again",
        |p| p["stage"] == "incremental",
    );
    maria.exec("INSERT INTO orders VALUES (3000, 'after restart', 3)");
    let r = wait_until_equal(&maria, &spec_a, &["orders"], TIMEOUT);
    assert!(
        r.inserts > 0 && r.updates > 0 && r.deletes > 0,
        "all three DML kinds arrived"
    );
    wait_until_equal(&seek, &spec_b, &["items"], TIMEOUT);
    let events = api.ok(
        "GET",
        &format!("/api/v1/projects/{a}/events?page_size=150"),
        None,
        StatusCode::OK,
    );
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["message"]
                .as_str()
                .unwrap()
                .contains("after a server start")),
        "{events}"
    );

    // SIGTERM: projects checkpoint, the server exits 0, and A is still `running` (it
    // resumes at the next start).
    server.signal("TERM");
    let code = server.wait_exit(Duration::from_secs(60));
    assert!(code.success(), "SIGTERM exit: {code}");
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(log.contains("every project's checkpoint is saved"), "{log}");
    let server = ServerProcess::start(&data_dir, port);
    let mut api2 = Api::login(&server.base);
    assert_eq!(
        api2.ok(
            "GET",
            &format!("/api/v1/projects/{a}"),
            None,
            StatusCode::OK
        )["state"],
        "running"
    );
    api.bodies.append(&mut api2.bodies);
    drop(server);

    let all = api.bodies.join("\n");
    assert!(
        !all.contains(&password),
        "the source password was in an answer"
    );
    let log = std::fs::read_to_string(data_dir.with_extension("log")).unwrap();
    assert!(
        !log.contains(&password),
        "the source password is in the server log"
    );
    assert!(
        !log.contains(ADMIN_PASSWORD),
        "the admin password is in the server log"
    );
}
