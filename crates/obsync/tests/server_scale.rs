//! Fifty small projects at once in one `obsync server`: every one reaches incremental
//! sync and delivers a change, and the server's RSS and CPU are measured (results in
//! docs/performance.md). A measurement, not part of the default run:
//! `cargo test -p obsync --test server_scale -- --ignored --nocapture`.

mod support;

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::json;
use support::server::*;
use support::*;

const PROJECTS: usize = 50;

/// The threads of process `pid` (librdkafka runs several per producer).
fn threads(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("Threads:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap()
}

/// (RSS in KiB, CPU seconds used so far) of process `pid`.
fn usage(pid: u32) -> (u64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let rss = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .unwrap()
        .1
        .split_whitespace()
        .collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    (rss, ticks / 100.0)
}

#[test]
#[ignore = "measurement (about 3 minutes): run with --ignored; results go to docs/performance.md"]
fn fifty_small_projects_run_at_once_in_one_server() {
    let services = Services::load();
    let db = SourceDb::create(&services);
    for i in 0..PROJECTS {
        db.exec(&format!(
            "CREATE TABLE t{i} (id INT PRIMARY KEY, v VARCHAR(16))"
        ));
        db.exec(&format!(
            "INSERT INTO t{i} VALUES (1, 'a'), (2, 'b'), (3, 'c')"
        ));
    }
    let dir = scratch_dir(&format!("scale_{}", db.name()));
    let mut server = ServerProcess::start(&dir.join("data"), free_port());
    let pid = server.child.id();
    let (rss_idle, _) = usage(pid);
    let mut api = Api::login(&server.base);
    let m = &services.mariadb;
    let src = api.ok(
        "POST",
        "/api/v1/datasources",
        Some(json!({"name": "scale-maria", "kind": "mariadb",
        "source": {"host": m.host, "port": m.port, "user": m.user, "password": m.password}})),
        StatusCode::CREATED,
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dst = api.ok(
        "POST",
        "/api/v1/datasources",
        Some(json!({"name": "scale-kafka", "kind": "kafka",
        "kafka": {"bootstrap_servers": services.kafka_bootstrap, "version": "3.x"}})),
        StatusCode::CREATED,
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let started = Instant::now();
    let mut ids = Vec::new();
    for i in 0..PROJECTS {
        let name = format!("scale{i}{}", db.name().replace('_', ""));
        let name: String = name.chars().take(64).collect();
        let id = api.ok("POST", "/api/v1/projects", Some(json!({"spec": {
            "name": name, "source_id": src, "target_id": dst,
            "sync": {"types": ["schema", "full", "incremental"]},
            "objects": [{"tables": [format!("{}.t{i}", db.name())], "topic": format!("scale_{}_{i}", db.name())}]}})),
            StatusCode::CREATED)["id"].as_str().unwrap().to_string();
        let pre = api.ok(
            "POST",
            &format!("/api/v1/projects/{id}/precheck"),
            None,
            StatusCode::OK,
        );
        assert_eq!(pre["passed"], true, "{pre}");
        api.ok(
            "POST",
            &format!("/api/v1/projects/{id}/start"),
            None,
            StatusCode::OK,
        );
        ids.push(id);
    }
    for id in &ids {
        api.wait(
            &format!("/api/v1/projects/{id}/progress"),
            "streaming",
            |p| p["stage"] == "incremental" && p["acked_messages"].as_u64() >= Some(3),
        );
    }
    let all_streaming = started.elapsed();
    std::thread::sleep(Duration::from_secs(2));
    for i in 0..PROJECTS {
        db.exec(&format!("INSERT INTO t{i} VALUES (4, 'd')"));
    }
    for id in &ids {
        api.wait(
            &format!("/api/v1/projects/{id}/progress"),
            "the change arrives",
            |p| p["acked_messages"].as_u64() >= Some(4),
        );
    }
    // Steady state: 60 s with one change per project every 2 s.
    let (_, cpu_before) = usage(pid);
    let window = Instant::now();
    let mut n = 5;
    while window.elapsed() < Duration::from_secs(60) {
        for i in 0..PROJECTS {
            db.exec(&format!("INSERT INTO t{i} VALUES ({n}, 'x')"));
        }
        n += 1;
        std::thread::sleep(Duration::from_secs(2));
    }
    let secs = window.elapsed().as_secs_f64();
    let (rss, cpu_after) = usage(pid);
    let cpu = (cpu_after - cpu_before) / secs * 100.0;
    let threads = threads(pid);
    println!(
        "RESULT projects={PROJECTS} rss_idle_kib={rss_idle} rss_kib={rss} threads={threads} cpu_percent_of_one_core={cpu:.1} rows_per_sec={:.0} all_streaming_after_s={:.1}",
        (PROJECTS as f64) / 2.0,
        all_streaming.as_secs_f64()
    );
    assert_eq!(
        api.ok(
            "GET",
            "/api/v1/projects?state=running&page_size=150",
            None,
            StatusCode::OK
        )["total"],
        PROJECTS
    );
    server.signal("TERM");
    assert!(server.wait_exit(Duration::from_secs(120)).success());
}
