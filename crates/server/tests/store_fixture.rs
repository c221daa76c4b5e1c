//! The server's database of the first stored format (`tests/fixtures/store-v1`: the
//! database, its `secret.key` and what the server served from it when it was written)
//! must open and serve every record in every later release.
//!
//! The fixture was written once by `write_the_store_v1_fixture` (ignored; run it with
//! `OBSYNC_WRITE_STORE_FIXTURE=1 cargo test -p obsync-server --test store_fixture --
//! --ignored` only to make a fixture of a new format, in a directory of its own).

mod support;

use std::path::{Path, PathBuf};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{Api, TestServer};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/store-v1")
}

/// Every GET whose answer the fixture records, besides the per-project ones.
const LISTS: &[&str] = &[
    "/api/v1/datasources",
    "/api/v1/tags",
    "/api/v1/projects?page_size=150",
    "/api/v1/users",
    "/api/v1/tokens",
    "/api/v1/audit?page_size=150",
];

/// Per-project GETs (after `/api/v1/projects/{id}`).
const PER_PROJECT: &[&str] = &["", "/precheck", "/events?page_size=150"];

/// What the server answers for every record, by path; exports with the data directory
/// written as `<data-dir>` (it holds the certificate files an export names).
async fn served(api: &Api, dir: &Path) -> serde_json::Map<String, Value> {
    let mut out = serde_json::Map::new();
    for path in LISTS {
        out.insert(path.to_string(), api.get(path).await);
    }
    let projects = api.get("/api/v1/projects?page_size=150").await;
    for project in projects["items"].as_array().unwrap() {
        let id = project["id"].as_str().unwrap();
        for tail in PER_PROJECT {
            let path = format!("/api/v1/projects/{id}{tail}");
            out.insert(path.clone(), api.get(&path).await);
        }
        let path = format!("/api/v1/projects/{id}/export");
        let (status, text) = api.call(Method::GET, &path, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {text}");
        let text = text
            .as_str()
            .unwrap()
            .replace(dir.to_str().unwrap(), "<data-dir>");
        out.insert(path, Value::String(text));
    }
    let sources = api.get("/api/v1/datasources").await;
    for ds in sources["items"].as_array().unwrap() {
        let path = format!("/api/v1/datasources/{}", ds["id"].as_str().unwrap());
        out.insert(path.clone(), api.get(&path).await);
    }
    out
}

/// `expected` is in `actual`: equal scalars and arrays of equal length, objects with at
/// least `expected`'s keys (a later format may add fields, never drop or change one).
fn assert_contains(path: &str, expected: &Value, actual: &Value) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, value) in e {
                let found = a
                    .get(key)
                    .unwrap_or_else(|| panic!("{path}: field {key} is gone from {actual}"));
                assert_contains(&format!("{path}.{key}"), value, found);
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            assert_eq!(e.len(), a.len(), "{path}: {actual}");
            for (i, (e, a)) in e.iter().zip(a).enumerate() {
                assert_contains(&format!("{path}[{i}]"), e, a);
            }
        }
        _ => assert_eq!(expected, actual, "{path}"),
    }
}

/// Copies the fixture into a fresh data directory (git keeps no file modes: the key
/// file gets its 0600 back).
fn data_dir_from_fixture() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let dir = std::env::temp_dir().join(obsync_testkit::unique_name("obsync_store_v1"));
    std::fs::create_dir_all(&dir).unwrap();
    for file in ["obsync.db", "secret.key"] {
        std::fs::copy(fixture_dir().join(file), dir.join(file)).unwrap();
        std::fs::set_permissions(dir.join(file), std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    dir
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_stored_format_opens_and_serves_every_record() {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture_dir().join("served.json")).unwrap())
            .unwrap();
    let dir = data_dir_from_fixture();
    let server = TestServer::start_in(dir.clone()).await;
    let actual = served(&server.api, &dir).await;
    let expected = expected.as_object().unwrap();
    assert_eq!(
        expected.keys().collect::<Vec<_>>(),
        actual.keys().collect::<Vec<_>>(),
        "the same records"
    );
    for (path, want) in expected {
        let got = &actual[path];
        if path.ends_with("/export") {
            let parse = |v: &Value| -> toml::Value { toml::from_str(v.as_str().unwrap()).unwrap() };
            assert_eq!(parse(want), parse(got), "{path}:\n{got}");
        } else {
            assert_contains(path, want, got);
        }
    }
    // The sealed secrets open with the fixture's key: a probe of each database source
    // (port 1: refused at once) gets as far as connecting, not a 500.
    for ds in actual["/api/v1/datasources"]["items"].as_array().unwrap() {
        if ds["kind"] != "kafka" {
            let path = format!("/api/v1/datasources/{}/test", ds["id"].as_str().unwrap());
            let answer = server.api.post_ok(&path, json!({}), StatusCode::OK).await;
            assert_eq!(answer["error"]["code"], "CONNECTION_FAILED", "{answer}");
        }
    }
    server.stop().await;
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Writes `tests/fixtures/store-v1` with the code of the day: data sources of every kind
/// with secrets and TLS, tags, users, tokens, and projects in several states.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "writes the fixture; run by hand for a new store format"]
async fn write_the_store_v1_fixture() {
    if std::env::var_os("OBSYNC_WRITE_STORE_FIXTURE").is_none() {
        return;
    }
    let pki = obsync_testkit::TestPki::create(&["localhost"]);
    let pem = |p: &Path| obsync_testkit::TestPki::read(p);
    let server = TestServer::start("store_v1").await;
    let api = &server.api;
    let created = |body: Value| async move {
        api.post_ok("/api/v1/datasources", body, StatusCode::CREATED)
            .await["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let ob = created(json!({"name": "ob-prod", "kind": "oceanbase", "description": "the OceanBase tenant",
        "source": {"host": "127.0.0.1", "port": 1, "user": "sync@tenant#cluster", "password": "ob-pass-1",
                   "tls": {"mode": "verify_identity", "ca_pem": pem(&pki.ca),
                           "client_cert_pem": pem(&pki.client_cert), "client_key_pem": pem(&pki.client_key)}}}))
    .await;
    let mysql = created(json!({"name": "mysql-8", "kind": "mysql",
        "source": {"host": "127.0.0.1", "port": 1, "user": "repl", "password": "mysql-pass-2",
                   "tls": {"mode": "required"}}}))
    .await;
    let maria = created(json!({"name": "maria", "kind": "mariadb",
        "source": {"host": "127.0.0.1", "port": 1, "user": "root"}}))
    .await;
    let kafka_plain = created(json!({"name": "kafka-plain", "kind": "kafka",
        "kafka": {"bootstrap_servers": "127.0.0.1:2", "version": "3.x"}}))
    .await;
    let kafka_sasl = created(json!({"name": "kafka-scram", "kind": "kafka",
        "kafka": {"bootstrap_servers": "127.0.0.1:3,127.0.0.1:4", "version": "2.x",
                  "sasl": {"mechanism": "SCRAM-SHA-512", "username": "obsync", "password": "kafka-pass-3"},
                  "tls": {"enabled": true, "verify_hostname": false, "ca_pem": pem(&pki.ca),
                          "client_cert_pem": pem(&pki.client_cert), "client_key_pem": pem(&pki.client_key)}}}))
    .await;
    let kafka_old = created(json!({"name": "kafka-1.0", "kind": "kafka",
        "kafka": {"bootstrap_servers": "127.0.0.1:5", "version": "1.0",
                  "sasl": {"mechanism": "PLAIN", "username": "u", "password": "kafka-pass-4"}}}))
    .await;

    let tag = |name: &'static str| async move {
        api.post_ok("/api/v1/tags", json!({"name": name}), StatusCode::CREATED)
            .await["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let orders = tag("orders").await;
    let nightly = tag("夜间").await;

    for (name, role) in [("ops", "operator"), ("watcher", "viewer")] {
        api.post_ok(
            "/api/v1/users",
            json!({"username": name, "password": "a-long-password-1", "role": role}),
            StatusCode::CREATED,
        )
        .await;
    }
    for (name, role) in [("ci", "viewer"), ("deploy", "operator")] {
        api.post_ok(
            "/api/v1/tokens",
            json!({"name": name, "role": role, "expires_in_days": 365}),
            StatusCode::CREATED,
        )
        .await;
    }

    let project = |spec: Value| async move {
        api.post_ok(
            "/api/v1/projects",
            json!({"spec": spec}),
            StatusCode::CREATED,
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let not_started = project(
        json!({"name": "订单同步", "tag_ids": [orders], "source_id": ob,
        "target_id": kafka_sasl,
        "sync": {"types": ["schema", "full", "incremental"], "format": "DefaultExtendColumnType",
                 "partition_rule": "hash"},
        "objects": [{"tables": ["shop.orders", "shop.items"], "topic": "orders",
                     "shard_columns": {"shop.orders": ["customer_id"]}},
                    {"tables": ["shop.*"], "topic_rule": "batch", "exclude": ["shop.tmp_*"]}]}),
    )
    .await;
    let precheck_failed = project(
        json!({"name": "canal", "source_id": mysql, "target_id": kafka_plain,
        "sync": {"types": ["full"], "format": "Canal", "partition_rule": "one"},
        "objects": [{"tables": ["app.users"], "topic": "users"}]}),
    )
    .await;
    let paused = project(
        json!({"name": "shareplex", "tag_ids": [orders, nightly], "source_id": maria,
        "target_id": kafka_old,
        "sync": {"types": ["incremental"], "format": "SharePlex", "tx_sequence": true,
                 "start_time": 1_767_225_600}, // 2026-01-01
        "objects": [{"tables": ["db1.t1"], "topic": "topic1"}]}),
    )
    .await;
    let failed = project(
        json!({"name": "dataworks", "source_id": mysql, "target_id": kafka_plain,
        "sync": {"types": ["full", "incremental"], "format": "DataWorks"},
        "objects": [{"tables": ["app.*"], "topic": "app"}]}),
    )
    .await;
    let finished = project(
        json!({"name": "default", "tag_ids": [nightly], "source_id": maria,
        "target_id": kafka_plain, "sync": {"types": ["schema", "full"]},
        "objects": [{"tables": ["db1.t2"], "topic": "topic2"}]}),
    )
    .await;
    let released = project(
        json!({"name": "old", "source_id": maria, "target_id": kafka_plain,
        "sync": {"types": ["full"], "format": "Default"},
        "objects": [{"tables": ["db1.t3"], "topic": "topic3"}]}),
    )
    .await;
    // A real precheck against sources that do not answer (port 1).
    api.post_ok(
        &format!("/api/v1/projects/{precheck_failed}/precheck"),
        json!({}),
        StatusCode::OK,
    )
    .await;
    let _ = not_started;

    let dir = server.dir.clone();
    server.stop().await;
    // States a run would have left, written as the runtime writes them (same JSON shape).
    let conn = rusqlite::Connection::open(dir.join("obsync.db")).unwrap();
    for (id, set) in [
        (
            &paused,
            r#"json_set(body, '$.state', 'paused', '$.stage', 'incremental', '$.acked_messages', 1200)"#,
        ),
        (
            &failed,
            r#"json_set(body, '$.state', 'failed', '$.stage', 'full', '$.last_error', json('{"message":"the source failed","chain":["ERROR 1045 (28000): Access denied for user ''repl''"]}'))"#,
        ),
        (
            &finished,
            r#"json_set(body, '$.state', 'finished', '$.stage', 'full', '$.acked_messages', 42)"#,
        ),
        (
            &released,
            r#"json_set(body, '$.state', 'released', '$.stage', 'full', '$.acked_messages', 7)"#,
        ),
    ] {
        conn.execute(
            &format!("UPDATE projects SET body = {set} WHERE id = ?1"),
            [id],
        )
        .unwrap();
    }
    conn.execute(
        "INSERT INTO events (project_id, at, kind, actor, message, chain)
         VALUES (?1, '2026-01-02T03:04:05Z', 'error', 'system', 'the source failed', '[\"ERROR 1045 (28000): Access denied\"]')",
        [&failed],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO metrics (project_id, t, body) VALUES (?1, 1767225600,
         '{\"t\":1767225600,\"lag_seconds\":3,\"rows_per_sec\":12.5,\"acked_messages\":1200}')",
        [&paused],
    )
    .unwrap();
    drop(conn);

    // What today's code serves from it, then the database and its key.
    let server = TestServer::start_in(dir.clone()).await;
    let answers = served(&server.api, &dir).await;
    server.stop().await;
    // One self-contained file (no -wal beside it), as the store left it.
    let out = fixture_dir();
    std::fs::create_dir_all(&out).unwrap();
    let db = out.join("obsync.db");
    let _ = std::fs::remove_file(&db);
    rusqlite::Connection::open(dir.join("obsync.db"))
        .unwrap()
        .execute("VACUUM INTO ?1", [db.to_str().unwrap()])
        .unwrap();
    std::fs::copy(dir.join("secret.key"), out.join("secret.key")).unwrap();
    std::fs::write(
        out.join("served.json"),
        serde_json::to_string_pretty(&Value::Object(answers)).unwrap() + "\n",
    )
    .unwrap();
}
