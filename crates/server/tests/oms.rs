//! The OMS OpenAPI shim drives a project through its whole life with OMS's actions only,
//! against the real MariaDB and Kafka.

mod support;

use std::time::{Duration, Instant};

use obsync_testkit::Services;
use reqwest::StatusCode;
use serde_json::{json, Value};
use support::*;

async fn oms(api: &Api, action: &str, body: Value) -> Value {
    let answer = api
        .post_ok(&format!("/api/v2?Action={action}"), body, StatusCode::OK)
        .await;
    assert!(
        answer["requestId"].is_string() && answer["cost"].is_string(),
        "{answer}"
    );
    answer
}

async fn ok(api: &Api, action: &str, body: Value) -> Value {
    let answer = oms(api, action, body).await;
    assert_eq!(answer["success"], true, "{action}: {answer}");
    answer
}

async fn status(api: &Api, id: &str) -> String {
    ok(api, "DescribeProject", json!({"id": id})).await["data"]["status"]
        .as_str()
        .unwrap()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_lives_and_dies_through_oms_actions_only() {
    let services = Services::load();
    let db = orders_db(&services, 3);
    let topic = obsync_testkit::unique_name("srvoms");
    services.create_topic(&topic, 1);
    let server = TestServer::start("oms").await;
    let api = &server.api;

    let created = ok(api, "CreateKafkaDataSource", json!({"name": "oms-kafka", "endpoint": services.kafka_bootstrap, "description": "via OMS"})).await;
    let kafka = created["data"]["id"].as_str().unwrap().to_string();
    let m = &services.mariadb;
    let src = api
        .post_ok("/api/v1/datasources", json!({"name": "oms-maria", "kind": "mariadb", "source": {"host": m.host, "port": m.port, "user": m.user, "password": m.password}}), StatusCode::CREATED)
        .await["id"].as_str().unwrap().to_string();
    let listed = ok(
        api,
        "ListDataSource",
        json!({"pageNumber": 1, "pageSize": 10}),
    )
    .await;
    assert_eq!(listed["totalCount"], 2, "{listed}");
    let types: Vec<&str> = listed["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["type"].as_str().unwrap())
        .collect();
    assert!(
        types.contains(&"KAFKA") && types.contains(&"MARIADB"),
        "{listed}"
    );

    let name = obsync_testkit::unique_name("oms").replace('_', "");
    let project = api
        .post_ok("/api/v1/projects", json!({"spec": spec(&name, &src, &kafka, &["full", "incremental"], &[format!("{db}.orders")], &topic)}), StatusCode::CREATED)
        .await;
    let id = project["id"].as_str().unwrap().to_string();

    let list = ok(
        api,
        "ListProjects",
        json!({"searchKey": name, "pageNumber": 1, "pageSize": 10}),
    )
    .await;
    assert_eq!(
        (list["totalCount"].as_u64(), list["pageNumber"].as_u64()),
        (Some(1), Some(1)),
        "{list}"
    );
    assert_eq!(list["data"][0]["status"], "INIT");
    assert_eq!(
        ok(api, "ListProjects", json!({"status": ["RUNNING"]})).await["totalCount"],
        0
    );

    // A state that does not allow the action: OMS's envelope with the error and advice.
    let refused = oms(api, "ReleaseProject", json!({"id": id})).await;
    assert_eq!(refused["success"], false, "{refused}");
    assert_eq!(refused["errorDetail"]["code"], "INVALID_STATE");
    assert!(refused["errorDetail"]["advice"].is_string());

    // StartProject runs the precheck itself, as OMS does.
    ok(api, "StartProject", json!({"id": id})).await;
    assert_eq!(status(api, &id).await, "RUNNING");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let p = ok(api, "DescribeProjectProgress", json!({"id": id})).await;
        if p["data"]["currentStep"] == "INCR_TRANSFER"
            && p["data"]["ackedMessages"].as_u64() >= Some(3)
        {
            break;
        }
        assert!(Instant::now() < deadline, "never reached incremental: {p}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    let steps = ok(api, "DescribeProjectSteps", json!({"id": id})).await;
    let names: Vec<&str> = steps["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["TRANSFER_PRECHECK", "FULL_TRANSFER", "INCR_TRANSFER"],
        "{steps}"
    );
    assert_eq!(steps["data"][1]["status"], "FINISHED");
    assert_eq!(steps["data"][2]["status"], "MONITORING");

    ok(api, "StopProject", json!({"id": id})).await;
    assert_eq!(status(api, &id).await, "SUSPEND");
    ok(api, "ResumeProject", json!({"id": id})).await;
    assert_eq!(status(api, &id).await, "RUNNING");
    let refused = oms(api, "DeleteProject", json!({"id": id})).await;
    assert_eq!(refused["success"], false, "delete while running: {refused}");
    ok(api, "StopProject", json!({"id": id})).await;
    ok(api, "ReleaseProject", json!({"id": id})).await;
    assert_eq!(status(api, &id).await, "RELEASED");
    ok(api, "DeleteProject", json!({"id": id})).await;
    let gone = oms(api, "DescribeProject", json!({"id": id})).await;
    assert_eq!(
        (
            gone["success"].as_bool(),
            gone["errorDetail"]["code"].as_str()
        ),
        (Some(false), Some("NOT_FOUND")),
        "{gone}"
    );
    let unknown = oms(api, "CreateMigrationProject", json!({})).await;
    assert_eq!(unknown["errorDetail"]["code"], "ActionNotSupported");
    server.stop().await;
}
