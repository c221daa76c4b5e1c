//! One door for secrets: reading a project (progress, which a console polls every few
//! seconds, the export, the definition's validation) opens no stored secret and writes
//! no file; only the paths that connect do open them (counted on `/metrics`).

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use obsync_testkit::TestPki;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{Api, TestServer};

/// `obsync_server_secret_opens_total` from `/metrics`.
async fn secret_opens(api: &Api) -> u64 {
    let (status, body) = api.call(Method::GET, "/metrics", None).await;
    assert_eq!(status, StatusCode::OK);
    let text = body.as_str().unwrap_or_default().to_string();
    text.lines()
        .find_map(|l| l.strip_prefix("obsync_server_secret_opens_total "))
        .unwrap_or_else(|| panic!("no secret counter in {text}"))
        .trim()
        .parse()
        .unwrap()
}

/// Every file under `dir` with its size and modification time.
fn files(dir: &Path) -> BTreeMap<PathBuf, (u64, SystemTime)> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let entry = entry.unwrap();
            let meta = entry.metadata().unwrap();
            if meta.is_dir() {
                todo.push(entry.path());
            } else {
                out.insert(entry.path(), (meta.len(), meta.modified().unwrap()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_a_project_opens_no_secret_and_writes_no_file() {
    let pki = TestPki::create(&["localhost"]);
    let pem = |p: &Path| TestPki::read(p);
    let server = TestServer::start("secret_door").await;
    let api = &server.api;
    let source = api
        .post_ok(
            "/api/v1/datasources",
            json!({"name": "maria", "kind": "mariadb",
                   "source": {"host": "127.0.0.1", "port": 1, "user": "u", "password": "door-pw-1",
                              "tls": {"mode": "verify_ca", "ca_pem": pem(&pki.ca),
                                      "client_cert_pem": pem(&pki.client_cert),
                                      "client_key_pem": pem(&pki.client_key)}}}),
            StatusCode::CREATED,
        )
        .await;
    let kafka = api
        .post_ok(
            "/api/v1/datasources",
            json!({"name": "kafka", "kind": "kafka",
                   "kafka": {"bootstrap_servers": "127.0.0.1:2", "version": "3.x",
                             "sasl": {"mechanism": "PLAIN", "username": "u", "password": "door-pw-2"},
                             "tls": {"enabled": true, "ca_pem": pem(&pki.ca),
                                     "client_cert_pem": pem(&pki.client_cert),
                                     "client_key_pem": pem(&pki.client_key)}}}),
            StatusCode::CREATED,
        )
        .await;
    let before = secret_opens(api).await;
    // Validating a definition (create, edit) judges it with the secrets unopened.
    let spec = |name: &str| {
        json!({"spec": {"name": name, "source_id": source["id"], "target_id": kafka["id"],
                        "sync": {"types": ["full", "incremental"]},
                        "objects": [{"tables": ["shop.orders"], "topic": "orders"}]}})
    };
    let project = api
        .post_ok("/api/v1/projects", spec("door1"), StatusCode::CREATED)
        .await;
    let id = project["id"].as_str().unwrap();
    let (status, body) = api
        .call(
            Method::PUT,
            &format!("/api/v1/projects/{id}"),
            Some(spec("door2")),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        secret_opens(api).await,
        before,
        "validation opened a secret"
    );

    let on_disk = files(&server.dir);
    for path in [
        format!("/api/v1/projects/{id}/progress"),
        format!("/api/v1/projects/{id}/progress"),
        format!("/api/v1/projects/{id}/export"),
        format!("/api/v1/projects/{id}"),
        format!("/api/v1/projects/{id}/precheck"),
        "/api/v1/projects".to_string(),
    ] {
        let (status, body) = api.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
    }
    assert_eq!(secret_opens(api).await, before, "a read opened a secret");
    assert_eq!(files(&server.dir), on_disk, "a read wrote a file");

    // The counter does count: a probe connects, so it opens the source's secrets.
    api.post_ok(
        &format!(
            "/api/v1/datasources/{}/test",
            source["id"].as_str().unwrap()
        ),
        json!({}),
        StatusCode::OK,
    )
    .await;
    assert!(secret_opens(api).await > before, "a probe opened nothing");
    server.stop().await;
}
