//! The REST API against the real MariaDB and Kafka: auth, cross-site refusal, data
//! sources, tags, validation, the whole project lifecycle, export/import, the OpenAPI
//! document, and a scan of every answer for the secrets used.

mod support;

use std::time::Duration;

use obsync_config::{Environment, ProjectConfig};
use obsync_testkit::Services;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::*;

const TIMEOUT: Duration = Duration::from_secs(90);

fn project_name() -> String {
    obsync_testkit::unique_name("p").replace('_', "")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn everything_but_health_needs_a_login_and_logins_are_rate_limited() {
    let server = TestServer::start("auth").await;
    let anon = server.api.anonymous();
    for path in [
        "/api/v1/projects",
        "/api/v1/datasources",
        "/api/v1/tags",
        "/api/v1/me",
        "/metrics",
    ] {
        let (status, body) = anon.call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        if path != "/metrics" {
            assert_eq!(body["code"], "UNAUTHENTICATED", "{path}");
        }
    }
    let (status, _) = anon.post("/api/v2?Action=ListProjects", json!({})).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(anon.get("/api/v1/health").await["status"], "ok");

    // The session cookie is HttpOnly and SameSite=Strict.
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/session", server.base))
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = resp.headers()["set-cookie"].to_str().unwrap().to_string();
    assert!(cookie.starts_with("obsync_session="), "{cookie}");
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Max-Age="),
        "{cookie}"
    );
    assert_eq!(server.api.get("/api/v1/me").await["username"], "admin");

    // API tokens: shown once, work as Bearer, stop working when deleted.
    let token = server
        .api
        .post_ok("/api/v1/tokens", json!({"name": "ci"}), StatusCode::CREATED)
        .await;
    let text = token["token"].as_str().unwrap().to_string();
    let listed = server.api.get("/api/v1/tokens").await;
    assert_eq!(listed["items"][0]["token"], Value::Null);
    let bearer = |t: &str| {
        reqwest::Client::new()
            .get(format!("{}/api/v1/me", server.base))
            .bearer_auth(t)
    };
    assert_eq!(anon.send(bearer(&text)).await.0, StatusCode::OK);
    let (status, _) = server
        .api
        .call(
            Method::DELETE,
            &format!("/api/v1/tokens/{}", token["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(anon.send(bearer(&text)).await.0, StatusCode::UNAUTHORIZED);

    // Wrong passwords: 401 five times, then 429 even with the right one.
    for _ in 0..5 {
        let (status, body) = anon
            .post(
                "/api/v1/session",
                json!({"username": "admin", "password": "wrong"}),
            )
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert_eq!(body["code"], "BAD_CREDENTIALS");
    }
    let (status, body) = anon
        .post(
            "/api/v1/session",
            json!({"username": "admin", "password": ADMIN_PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS, "{body}");
    assert_eq!(body["code"], "TOO_MANY_ATTEMPTS");

    // Logout ends the session.
    let (status, _) = server
        .api
        .call(Method::DELETE, "/api/v1/session", None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        server.api.call(Method::GET, "/api/v1/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert!(!server.api.all_bodies().contains(ADMIN_PASSWORD));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cross_site_state_changing_request_is_refused() {
    let server = TestServer::start("csrf").await;
    let api = &server.api;
    let url = format!("{}/api/v1/tags", server.base);
    for (header, value) in [
        ("sec-fetch-site", "cross-site"),
        ("origin", "http://evil.example"),
    ] {
        let (status, body) = api
            .send(
                api.client
                    .post(&url)
                    .header(header, value)
                    .json(&json!({"name": "x1"})),
            )
            .await;
        assert_eq!(status, StatusCode::FORBIDDEN, "{header}: {body}");
        assert_eq!(body["code"], "CROSS_SITE_REQUEST");
    }
    // The console itself (same origin) may.
    let (status, _) = api
        .send(
            api.client
                .post(&url)
                .header("sec-fetch-site", "same-origin")
                .json(&json!({"name": "x1"})),
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    // Reading is not state-changing.
    let (status, _) = api
        .send(api.client.get(&url).header("sec-fetch-site", "cross-site"))
        .await;
    assert_eq!(status, StatusCode::OK);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn data_sources_are_tested_browsed_and_never_return_secrets() {
    let services = Services::load();
    let user = secret_user(&services);
    let db = orders_db(&services, 3);
    services.mariadb.execute(&format!(
        "CREATE VIEW {db}.v AS SELECT id FROM {db}.orders; CREATE TABLE {db}.nokey (a INT); CREATE TABLE {db}.`订单` (id INT PRIMARY KEY);"
    ));
    let topic = obsync_testkit::unique_name("srvtopic");
    services.create_topic(&topic, 2);
    let server = TestServer::start("ds").await;
    let api = &server.api;
    let (src, kafka) = create_datasources_as(api, &services, &user).await;

    let shown = api.get(&format!("/api/v1/datasources/{src}")).await;
    assert_eq!(shown["source"]["password_set"], true);
    assert_eq!(shown["source"]["user"], user.user.as_str());
    assert!(shown["source"].get("password").is_none());

    let test = api
        .post_ok(
            &format!("/api/v1/datasources/{src}/test"),
            json!({}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(test["ok"], true, "{test}");
    assert!(
        test["summary"].as_str().unwrap().contains("mariadb"),
        "{test}"
    );
    // The summary by code for the console: the server found, and how TLS went.
    assert!(
        test["code"]
            .as_str()
            .unwrap()
            .starts_with("connection.source_"),
        "{test}"
    );
    assert!(
        test["params"]["server"]
            .as_str()
            .unwrap()
            .contains("mariadb"),
        "{test}"
    );
    assert!(
        test["details"]["version"]
            .as_str()
            .unwrap()
            .contains("MariaDB"),
        "{test}"
    );

    let m = &services.mariadb;
    let bad = api
        .post_ok(
            "/api/v1/datasources/test",
            json!({"name": "x", "kind": "mariadb", "source": {"host": m.host, "port": m.port, "user": user.user, "password": "not-it"}}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(bad["ok"], false, "{bad}");
    let message = bad["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("cannot connect") && message.contains("Access denied"),
        "{bad}"
    );
    assert!(!bad["error"]["advice"].as_str().unwrap().is_empty());
    // By code: the refusal in MariaDB's own words, without obsync's English around it.
    assert_eq!(
        (bad["code"].as_str(), bad["error"]["code"].as_str()),
        (Some("connection.failed"), Some("CONNECTION_FAILED")),
        "{bad}"
    );
    let cause = bad["error"]["params"]["error"].as_str().unwrap();
    assert!(
        cause.contains("Access denied") && !cause.contains("cannot connect"),
        "{bad}"
    );

    let ktest = api
        .post_ok(
            &format!("/api/v1/datasources/{kafka}/test"),
            json!({}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(ktest["ok"], true, "{ktest}");
    assert_eq!(ktest["code"], "connection.kafka", "{ktest}");
    assert!(ktest["params"]["version"].is_string(), "{ktest}");
    assert!(
        !ktest["details"]["broker_ids"]
            .as_array()
            .unwrap()
            .is_empty(),
        "{ktest}"
    );

    // Browse: databases → physical tables (view excluded, Chinese name flagged) → columns.
    let dbs = api
        .get(&format!("/api/v1/datasources/{src}/databases"))
        .await;
    let names: Vec<&str> = dbs["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert!(names.contains(&db.as_str()), "{dbs}");
    assert!(
        !names.contains(&"mysql") && !names.contains(&"information_schema"),
        "{dbs}"
    );
    let tables = api
        .get(&format!("/api/v1/datasources/{src}/databases/{db}/tables"))
        .await;
    let find = |n: &str| {
        tables["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == n)
            .cloned()
    };
    assert_eq!(find("orders").unwrap()["has_primary_key"], true, "{tables}");
    assert_eq!(find("nokey").unwrap()["has_primary_key"], false, "{tables}");
    assert!(find("v").is_none(), "views are not offered: {tables}");
    assert!(
        find("订单").unwrap()["invalid_reason"]
            .as_str()
            .unwrap()
            .contains("Chinese"),
        "{tables}"
    );
    let columns = api
        .get(&format!(
            "/api/v1/datasources/{src}/databases/{db}/tables/orders/columns"
        ))
        .await;
    assert_eq!(columns["items"][0]["name"], "id");
    assert_eq!(columns["items"][0]["primary_key"], true);
    assert_eq!(columns["items"][1]["type"], "varchar(64)");
    let topics = api
        .get(&format!("/api/v1/datasources/{kafka}/topics"))
        .await;
    let t = topics["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == topic.as_str())
        .cloned();
    assert_eq!(t.unwrap()["partitions"], 2, "{topics}");

    // Edit without a password keeps the stored one.
    let (status, body) = api
        .call(
            Method::PUT,
            &format!("/api/v1/datasources/{src}"),
            Some(
                json!({"name": "renamed-src", "kind": "mariadb", "description": "edited",
                          "source": {"host": m.host, "port": m.port, "user": user.user}}),
            ),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["name"], "renamed-src");
    let test = api
        .post_ok(
            &format!("/api/v1/datasources/{src}/test"),
            json!({}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(test["ok"], true, "{test}");

    // A SASL password is write-only too.
    let sasl_secret = format!("Sasl{}", obsync_testkit::unique_name("k"));
    let sasl = api
        .post_ok("/api/v1/datasources",
            json!({"name": "sasl-kafka", "kind": "kafka", "kafka": {"bootstrap_servers": "127.0.0.1:1", "version": "2.x",
                   "sasl": {"mechanism": "SCRAM-SHA-256", "username": "u", "password": sasl_secret}}}),
            StatusCode::CREATED)
        .await;
    assert_eq!(sasl["kafka"]["sasl"]["password_set"], true);

    // Validation errors name the field.
    let (status, body) = api
        .post("/api/v1/datasources", json!({"name": "bad", "kind": "kafka", "kafka": {"bootstrap_servers": "h:1", "version": "7"}}))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("kafka.version")),
        "{body}"
    );
    // The broken rule by code, for the console; the English stays in `message`.
    assert_eq!(
        (
            body["rule"]["code"].as_str(),
            body["rule"]["params"]["version"].as_str()
        ),
        (Some("rule.kafka_version"), Some("7")),
        "{body}"
    );
    let (status, body) = api
        .post("/api/v1/datasources", json!({"name": "has space", "kind": "mysql", "source": {"host": "h", "port": 1, "user": "u"}}))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("name")),
        "{body}"
    );
    let (status, body) = api
        .post("/api/v1/datasources", json!({"name": "ob1", "kind": "oceanbase", "source": {"host": "h", "port": 2881, "user": "root"}}))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("source.user")),
        "{body}"
    );

    // A used data source cannot be deleted; the answer names the project.
    let name = project_name();
    api.post_ok(
        "/api/v1/projects",
        json!({"spec": spec(&name, &src, &kafka, &["full"], &[format!("{db}.orders")], &topic)}),
        StatusCode::CREATED,
    )
    .await;
    let (status, body) = api
        .call(Method::DELETE, &format!("/api/v1/datasources/{src}"), None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert_eq!(body["code"], "DATASOURCE_IN_USE");
    assert!(body["message"].as_str().unwrap().contains(&name), "{body}");
    let used = api.get(&format!("/api/v1/datasources/{src}")).await;
    assert_eq!(used["used_by"][0]["name"], name.as_str());
    let (status, _) = api
        .call(
            Method::DELETE,
            &format!("/api/v1/datasources/{}", sasl["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, _) = api
        .call(
            Method::GET,
            &format!("/api/v1/datasources/{}", sasl["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let kafkas = api.get("/api/v1/datasources?kind=kafka").await;
    assert!(
        kafkas["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["kind"] == "kafka"),
        "{kafkas}"
    );

    let all = api.all_bodies();
    for secret in [&user.password, &sasl_secret] {
        assert!(!all.contains(secret.as_str()), "a secret was returned");
    }
    let db_file = std::fs::read(server.dir.join("obsync.db")).unwrap();
    let wal = std::fs::read(server.dir.join("obsync.db-wal")).unwrap_or_default();
    for secret in [&user.password, &sasl_secret] {
        let needle = secret.as_bytes();
        assert!(
            !db_file.windows(needle.len()).any(|w| w == needle),
            "a secret is stored in clear"
        );
        assert!(
            !wal.windows(needle.len()).any(|w| w == needle),
            "a secret is stored in clear (WAL)"
        );
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tags_are_created_renamed_deleted_and_filter_projects() {
    let services = Services::load();
    let server = TestServer::start("tags").await;
    let api = &server.api;
    let (src, kafka) = create_datasources(api, &services).await;
    let tag = api
        .post_ok("/api/v1/tags", json!({"name": "华东"}), StatusCode::CREATED)
        .await;
    let tag_id = tag["id"].as_str().unwrap().to_string();
    let (status, body) = api.post("/api/v1/tags", json!({"name": "华东"})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("NAME_TAKEN"))
    );
    let (status, body) = api.post("/api/v1/tags", json!({"name": "has space"})).await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("name"))
    );
    let (status, body) = api
        .call(
            Method::PUT,
            &format!("/api/v1/tags/{tag_id}"),
            Some(json!({"name": "east"})),
        )
        .await;
    assert_eq!(
        (status, body["name"].as_str()),
        (StatusCode::OK, Some("east"))
    );

    let mut tagged = spec(
        &project_name(),
        &src,
        &kafka,
        &["full"],
        &["d.t".into()],
        "topic1",
    );
    tagged["tag_ids"] = json!([tag_id]);
    let p1 = api
        .post_ok(
            "/api/v1/projects",
            json!({"spec": tagged}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(p1["tags"][0]["name"], "east");
    api.post_ok(
        "/api/v1/projects",
        json!({"spec": spec(&project_name(), &src, &kafka, &["full"], &["d.t".into()], "topic2")}),
        StatusCode::CREATED,
    )
    .await;
    let filtered = api.get(&format!("/api/v1/projects?tag={tag_id}")).await;
    assert_eq!(filtered["total"], 1, "{filtered}");
    assert_eq!(filtered["items"][0]["id"], p1["id"]);
    assert_eq!(api.get("/api/v1/projects").await["total"], 2);
    assert_eq!(api.get("/api/v1/projects?state=running").await["total"], 0);
    assert_eq!(
        api.get("/api/v1/projects?page_size=1").await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (status, body) = api
        .call(Method::GET, "/api/v1/projects?page_size=151", None)
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("page_size"))
    );
    // The exported file carries the tag by name.
    let exported = api
        .client
        .get(format!(
            "{}/api/v1/projects/{}/export",
            server.base,
            p1["id"].as_str().unwrap()
        ))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(exported.contains("tags = [\"east\"]"), "{exported}");

    let (status, _) = api
        .call(Method::DELETE, &format!("/api/v1/tags/{tag_id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let p1 = api
        .get(&format!("/api/v1/projects/{}", p1["id"].as_str().unwrap()))
        .await;
    assert_eq!(p1["tags"], json!([]));
    assert_eq!(p1["spec"]["tag_ids"], json!([]));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_project_definitions_are_refused_naming_the_field() {
    let services = Services::load();
    let server = TestServer::start("valid").await;
    let api = &server.api;
    let (src, kafka) = create_datasources(api, &services).await;
    let ok = spec(
        &project_name(),
        &src,
        &kafka,
        &["full", "incremental"],
        &["d.t".into()],
        "good-topic",
    );
    let cases: Vec<(Value, &str)> = vec![
        (
            {
                let mut s = ok.clone();
                s["objects"][0]["topic"] = json!("a b");
                s
            },
            "objects[0].topic",
        ),
        (
            {
                let mut s = ok.clone();
                s["name"] = json!("bad name!");
                s
            },
            "name",
        ),
        (
            {
                let mut s = ok.clone();
                s["sync"]["format"] = json!("Protobuf");
                s
            },
            "sync.format",
        ),
        (
            {
                let mut s = ok.clone();
                s["sync"]["types"] = json!(["everything"]);
                s
            },
            "sync.types",
        ),
        (
            {
                let mut s = ok.clone();
                s["sync"]["start_time"] = json!(1_700_000_000);
                s
            },
            "sync.start_time",
        ),
        (
            {
                let mut s = ok.clone();
                s["objects"][0]["tables"] = json!(["订单.t"]);
                s
            },
            "objects[0].tables",
        ),
        (
            {
                let mut s = ok.clone();
                s["source_id"] = json!("ds_nope");
                s
            },
            "source_id",
        ),
        (
            {
                let mut s = ok.clone();
                s["source_id"] = json!(kafka);
                s
            },
            "source_id",
        ),
        (
            {
                let mut s = ok.clone();
                s["target_id"] = json!(src);
                s
            },
            "target_id",
        ),
        (
            {
                let mut s = ok.clone();
                s["tag_ids"] = json!(["tag_nope"]);
                s
            },
            "tag_ids",
        ),
    ];
    // The rules the console says by code (the problem and each of `details`).
    let rules = [
        ("objects[0].topic", "rule.topic.bad_char"),
        ("name", "rule.project_name.bad_char"),
        ("objects[0].tables", "rule.pattern.chinese"),
    ];
    for (bad, field) in cases {
        let (status, body) = api.post("/api/v1/projects", json!({"spec": bad})).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {body}");
        assert_eq!(body["code"], "INVALID_PROJECT", "{body}");
        assert_eq!(body["field"], field, "{body}");
        if let Some((_, rule)) = rules.iter().find(|(f, _)| *f == field) {
            assert_eq!(body["rule"]["code"], *rule, "{body}");
            assert_eq!(body["details"][0]["rule"]["code"], *rule, "{body}");
        }
        assert!(
            !body["advice"].as_str().unwrap_or("").is_empty() || field.ends_with("_id"),
            "{body}"
        );
    }
    // Malformed JSON is a 4xx, never a 5xx.
    let (status, _) = api
        .send(
            api.client
                .post(format!("{}/api/v1/projects", server.base))
                .header("content-type", "application/json")
                .body("{\"spec\": 1}"),
        )
        .await;
    assert!(status.is_client_error(), "{status}");
    let (status, body) = api
        .call(Method::GET, "/api/v1/projects/np_missing", None)
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
    let (status, body) = api.call(Method::GET, "/api/v1/nothing-here", None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("NOT_FOUND"))
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_project_goes_through_its_whole_life_and_refuses_what_its_state_does_not_allow() {
    let services = Services::load();
    let user = secret_user(&services);
    let db = orders_db(&services, 5);
    let topic = obsync_testkit::unique_name("srvlife");
    services.create_topic(&topic, 3);
    let server = TestServer::start("life").await;
    let api = &server.api;
    let (src, kafka) = create_datasources_as(api, &services, &user).await;
    let name = project_name();
    let created = api
        .post_ok("/api/v1/projects",
            json!({"spec": spec(&name, &src, &kafka, &["full", "incremental"], &[format!("{db}.orders")], &topic)}),
            StatusCode::CREATED)
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    assert_eq!(created["state"], "not_started");
    assert_eq!(created["oms_status"], "INIT");
    assert_eq!(
        created["allowed_actions"],
        json!(["precheck", "start", "delete", "edit", "clone"])
    );
    let p = |action: &str| format!("/api/v1/projects/{id}/{action}");

    // Not started: pause/resume/release are refused with the allowed actions named.
    for action in ["pause", "resume", "release"] {
        let (status, body) = api.post(&p(action), json!({})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{action}: {body}");
        assert_eq!(body["code"], "INVALID_STATE");
        let message = body["message"].as_str().unwrap();
        assert!(
            message.contains("not_started")
                && message.contains("precheck, start, delete, edit, clone"),
            "{message}"
        );
    }
    let (status, body) = api.post(&p("start"), json!({})).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("PRECHECK_REQUIRED")),
        "{body}"
    );
    assert_eq!(api.get(&p("precheck")).await["passed"], false);

    // Edit while not started.
    let mut edited = created["spec"].clone();
    edited["sync"]["partition_rule"] = json!("one");
    let (status, body) = api
        .call(
            Method::PUT,
            &format!("/api/v1/projects/{id}"),
            Some(json!({"spec": edited})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["spec"]["sync"]["partition_rule"], "one");

    let pre = api.post_ok(&p("precheck"), json!({}), StatusCode::OK).await;
    assert_eq!(pre["passed"], true, "{pre}");
    assert!(
        pre["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["name"] == "objects.resolve" && i["status"] == "pass"),
        "{pre}"
    );
    assert_eq!(api.get(&p("precheck")).await["current"], true);

    let started = api.post_ok(&p("start"), json!({}), StatusCode::OK).await;
    assert_eq!(started["state"], "running");
    assert_eq!(started["oms_status"], "RUNNING");
    let progress = wait_until(
        api,
        &p("progress"),
        TIMEOUT,
        "full sync then incremental",
        |b| b["stage"] == "incremental" && b["acked_messages"].as_u64().unwrap_or(0) >= 5,
    )
    .await;
    let table = &progress["full"]["tables"][0];
    assert_eq!(
        (table["rows_done"].as_u64(), table["done"].as_bool()),
        (Some(5), Some(true)),
        "{progress}"
    );
    for action in ["start", "resume", "release", "delete"] {
        let (status, body) = api.post(&p(action), json!({})).await;
        let status = if action == "delete" {
            api.call(Method::DELETE, &format!("/api/v1/projects/{id}"), None)
                .await
                .0
        } else {
            status
        };
        assert_eq!(
            status,
            StatusCode::CONFLICT,
            "{action} while running: {body}"
        );
    }
    let (status, _) = api
        .call(
            Method::PUT,
            &format!("/api/v1/projects/{id}"),
            Some(json!({"spec": edited})),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT, "edit while running");

    // Incremental changes reach Kafka (read by kcat).
    tokio::time::sleep(Duration::from_millis(500)).await;
    services.mariadb.execute(&format!("INSERT INTO {db}.orders VALUES (100, 'live'); UPDATE {db}.orders SET note = 'changed' WHERE id = 1; DELETE FROM {db}.orders WHERE id = 2;"));
    wait_until(
        api,
        &p("progress"),
        TIMEOUT,
        "incremental changes acknowledged",
        |b| {
            b["acked_messages"].as_u64().unwrap_or(0) >= 8
                && b["incremental"]["position"]["file"].is_string()
        },
    )
    .await;
    let messages = consume(&services.kafka_bootstrap, &topic);
    assert!(
        messages.iter().any(|m| m.contains("\"live\"")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("\"changed\"")),
        "{messages:?}"
    );
    assert!(
        messages.iter().any(|m| m.contains("DELETE")),
        "{messages:?}"
    );

    // /metrics carries the project label.
    let metrics = api
        .client
        .get(format!("{}/metrics", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains(&format!("project=\"{name}\"")),
        "{metrics}"
    );

    let paused = api.post_ok(&p("pause"), json!({}), StatusCode::OK).await;
    assert_eq!(
        (paused["state"].as_str(), paused["oms_status"].as_str()),
        (Some("paused"), Some("SUSPEND")),
        "{paused}"
    );
    assert_eq!(
        paused["allowed_actions"],
        json!(["resume", "release", "clone"])
    );
    let (status, _) = api.post(&p("pause"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);
    // Paused, nothing runs: the progress comes from the checkpoint and the record.
    let while_paused = api.get(&p("progress")).await;
    let acked_before = while_paused["acked_messages"].as_u64().unwrap_or(0);
    assert!(acked_before >= 8, "{while_paused}");
    assert_eq!(
        while_paused["full"]["tables"][0],
        json!({"table": format!("{db}.orders"), "rows_done": 5, "rows_estimated": 5, "done": true}),
        "{while_paused}"
    );
    assert!(
        while_paused["incremental"]["position"]["file"].is_string(),
        "{while_paused}"
    );
    // Changes while paused arrive after resume.
    services.mariadb.execute(&format!(
        "INSERT INTO {db}.orders VALUES (101, 'while-paused');"
    ));
    let resumed = api.post_ok(&p("resume"), json!({}), StatusCode::OK).await;
    assert_eq!(resumed["state"], "running");
    let deadline = std::time::Instant::now() + TIMEOUT;
    while !consume(&services.kafka_bootstrap, &topic)
        .iter()
        .any(|m| m.contains("while-paused"))
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the change made while paused never arrived"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    // The resumed run skips full sync and counts from zero: the answer still lists the
    // snapshot's tables and adds the earlier runs' acknowledgements.
    let after_resume = wait_until(
        api,
        &p("progress"),
        TIMEOUT,
        "the row written while paused acknowledged",
        |b| b["acked_messages"].as_u64().unwrap_or(0) > acked_before,
    )
    .await;
    assert_eq!(
        after_resume["full"]["tables"], while_paused["full"]["tables"],
        "{after_resume}"
    );

    // Clone: a new project, not started, same definition.
    let copy = api.post_ok(&p("clone"), json!({}), StatusCode::OK).await;
    assert_eq!(copy["state"], "not_started");
    assert_ne!(copy["id"], json!(id));
    assert_eq!(copy["spec"]["objects"], resumed["spec"]["objects"]);

    api.post_ok(&p("pause"), json!({}), StatusCode::OK).await;
    let released = api.post_ok(&p("release"), json!({}), StatusCode::OK).await;
    assert_eq!(
        (released["state"].as_str(), released["oms_status"].as_str()),
        (Some("released"), Some("RELEASED"))
    );
    let (status, _) = api.post(&p("resume"), json!({})).await;
    assert_eq!(status, StatusCode::CONFLICT);

    let events = api
        .get(&format!("/api/v1/projects/{id}/events?page_size=150"))
        .await;
    let items = events["items"].as_array().unwrap();
    let has = |kind: &str, text: &str| {
        items
            .iter()
            .any(|e| e["kind"] == kind && e["message"].as_str().unwrap().contains(text))
    };
    assert!(
        has("audit", "started")
            && has("audit", "paused")
            && has("audit", "resumed")
            && has("audit", "released"),
        "{events}"
    );
    assert!(
        has("state", "running → paused") || has("state", "paused"),
        "{events}"
    );
    assert!(items.iter().any(|e| e["actor"] == "admin"), "{events}");
    // Every event carries its code, stored when it was written, with the params its text names.
    assert!(items.iter().all(|e| e["code"].is_string()), "{events}");
    let coded = |code: &str| items.iter().find(|e| e["code"] == code);
    assert!(coded("event.audit.started").is_some(), "{events}");
    let paused = coded("event.state.checkpoint_saved").expect("the pause's state event");
    assert_eq!(
        (&paused["params"]["from"], &paused["params"]["to"]),
        (&json!("running"), &json!("paused")),
        "{paused}"
    );

    let (status, _) = api
        .call(Method::DELETE, &format!("/api/v1/projects/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(
        !server.dir.join("projects").join(&id).exists(),
        "the checkpoint folder goes with the project"
    );
    let (status, _) = api
        .call(Method::GET, &format!("/api/v1/projects/{id}"), None)
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        !api.all_bodies().contains(&user.password),
        "a secret was returned"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_is_a_project_file_obsync_run_accepts_and_import_brings_it_back() {
    let services = Services::load();
    let user = secret_user(&services);
    let server = TestServer::start("export").await;
    let api = &server.api;
    let (src, kafka) = create_datasources_as(api, &services, &user).await;
    let mut s = spec(
        &project_name(),
        &src,
        &kafka,
        &["schema", "full"],
        &["shop.orders".into(), "shop.items".into()],
        "shop-orders",
    );
    s["sync"]["partition_rule"] = json!("one");
    s["objects"][0]["shard_columns"] = json!({"shop.orders": ["customer_id"]});
    s["objects"]
        .as_array_mut()
        .unwrap()
        .push(json!({"tables": ["crm.*"], "exclude": ["crm.tmp_*"], "topic_rule": "batch"}));
    let created = api
        .post_ok("/api/v1/projects", json!({"spec": s}), StatusCode::CREATED)
        .await;
    let id = created["id"].as_str().unwrap();
    let resp = api
        .client
        .get(format!("{}/api/v1/projects/{id}/export", server.base))
        .send()
        .await
        .unwrap();
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = resp.text().await.unwrap();
    assert!(!text.contains(&user.password), "the export holds no secret");
    assert!(
        text.contains("password_env = \"OBSYNC_SOURCE_PASSWORD\""),
        "{text}"
    );

    // `obsync run` loads it (the same loader) once the variable is set.
    let env = Environment::fixed(
        chrono_now(),
        [("OBSYNC_SOURCE_PASSWORD", user.password.as_str())],
    );
    let config = ProjectConfig::parse_with(&text, "export.toml", &env)
        .unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(
        config.name.as_str(),
        created["spec"]["name"].as_str().unwrap()
    );
    assert_eq!(config.source.password.expose(), user.password);
    assert_eq!(config.objects.len(), 2);

    // Import: the same data sources are found again, the project comes back equal.
    let resp = api
        .client
        .post(format!("{}/api/v1/projects/import", server.base))
        .header("content-type", "text/plain")
        .body(text.replace(created["spec"]["name"].as_str().unwrap(), "imported01"))
        .send()
        .await
        .unwrap();
    let (status, imported) = (resp.status(), resp.json::<Value>().await.unwrap());
    assert_eq!(status, StatusCode::CREATED, "{imported}");
    let mut expected = created["spec"].clone();
    expected["name"] = json!("imported01");
    assert_eq!(imported["spec"], expected);
    assert_eq!(
        api.get("/api/v1/datasources").await["total"],
        2,
        "no duplicate data sources"
    );

    // A file naming an unknown source with only password_env cannot be imported.
    let foreign = text
        .replace(&format!("port = {}", services.mariadb.port), "port = 3999")
        .replace(created["spec"]["name"].as_str().unwrap(), "imported02");
    let resp = api
        .client
        .post(format!("{}/api/v1/projects/import", server.base))
        .body(foreign)
        .send()
        .await
        .unwrap();
    let (status, body) = (resp.status(), resp.json::<Value>().await.unwrap());
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "source.password_env");
    assert_eq!(
        api.get("/api/v1/datasources").await["total"],
        2,
        "a failed import leaves no data source behind"
    );
    server.stop().await;
}

fn chrono_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_openapi_document_is_the_committed_one() {
    let server = TestServer::start("openapi").await;
    let served = server.api.get("/api/v1/openapi.json").await;
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
    let pretty = serde_json::to_string_pretty(&served).unwrap() + "\n";
    if std::env::var_os("OBSYNC_UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &pretty).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == pretty,
        "docs/openapi.json differs from the served document: run OBSYNC_UPDATE_OPENAPI=1 cargo test -p obsync-server --test api the_served_openapi_document_is_the_committed_one"
    );
    for path in [
        "/api/v1/projects/{id}/start",
        "/api/v1/datasources/{id}/test",
        "/api/v1/tags/{id}",
        "/api/v1/session",
    ] {
        assert!(served["paths"].get(path).is_some(), "{path} missing");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_renders_the_exact_records_and_writes_nothing() {
    let services = Services::load();
    let db = orders_db(&services, 4);
    let topic = obsync_testkit::unique_name("srvprev");
    let server = TestServer::start("preview").await;
    let api = &server.api;
    let (src, kafka) = create_datasources(api, &services).await;
    let mut s = spec(
        &project_name(),
        &src,
        &kafka,
        &["schema", "full"],
        &[format!("{db}.orders")],
        &topic,
    );
    s["sync"]["format"] = json!("Canal");
    let preview = api
        .post_ok(
            "/api/v1/preview",
            json!({"spec": s, "table": format!("{db}.orders"), "limit": 3}),
            StatusCode::OK,
        )
        .await;
    let records = preview["records"].as_array().unwrap();
    assert_eq!(records.len(), 3, "{preview}");
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r["topic"], topic.as_str());
        let p = r["partition"].as_i64().unwrap();
        assert!((0..3).contains(&p), "schema sync creates 3 partitions: {r}");
        let value: Value = serde_json::from_str(r["value"].as_str().unwrap()).unwrap();
        assert_eq!(value["table"], "orders", "Canal value: {value}");
        assert_eq!(
            value["data"][0]["note"],
            format!("row {}", i + 1),
            "{value}"
        );
        assert_eq!(
            r["key"],
            (i + 1).to_string(),
            "the key is the primary key: {r}"
        );
    }
    // Nothing was written: the topic still does not exist.
    let topics = api
        .get(&format!("/api/v1/datasources/{kafka}/topics"))
        .await;
    assert!(
        !topics["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == topic.as_str()),
        "{topics}"
    );
    let (status, body) = api
        .post(
            "/api/v1/preview",
            json!({"spec": s, "table": format!("{db}.other"), "limit": 3}),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("table")),
        "{body}"
    );
    // DebeziumAvro: the records' bytes in hex, schema id 0 in the registry header (the
    // preview registers nothing: the registry here does not even listen).
    s["sync"]["format"] = json!("DebeziumAvro");
    s["sync"]["format_options"] = json!({"schema_registry_url": "http://127.0.0.1:1"});
    let avro = api
        .post_ok(
            "/api/v1/preview",
            json!({"spec": s, "table": format!("{db}.orders"), "limit": 1}),
            StatusCode::OK,
        )
        .await;
    let record = &avro["records"][0];
    assert!(
        record["key"].as_str().unwrap().starts_with("0000000000")
            && record["value"].as_str().unwrap().starts_with("0000000000"),
        "{avro}"
    );
    server.stop().await;
}

/// The preview gives the engine's answer: a shard column the table lacks stops a run
/// (it would move keys to other partitions), so the preview refuses it too, instead of
/// hashing the columns that are left.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preview_refuses_a_missing_shard_column_as_a_run_would() {
    let services = Services::load();
    let db = orders_db(&services, 2);
    let topic = obsync_testkit::unique_name("srvprevshard");
    let server = TestServer::start("preview_shard").await;
    let api = &server.api;
    let (src, kafka) = create_datasources(api, &services).await;
    let table = format!("{db}.orders");
    let mut s = spec(
        &project_name(),
        &src,
        &kafka,
        &["full"],
        std::slice::from_ref(&table),
        &topic,
    );
    s["objects"][0]["shard_columns"] = json!({ (table.clone()): ["note", "gone"] });
    let (status, body) = api
        .post(
            "/api/v1/preview",
            json!({"spec": s, "table": table, "limit": 2}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("INVALID_PROJECT")),
        "{body}"
    );
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("\"gone\"") && message.contains("orders"),
        "{message}"
    );
    // With columns the table has, the rows are rendered.
    s["objects"][0]["shard_columns"] = json!({ (table.clone()): ["note"] });
    let preview = api
        .post_ok(
            "/api/v1/preview",
            json!({"spec": s, "table": table, "limit": 2}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(preview["records"].as_array().unwrap().len(), 2, "{preview}");
    server.stop().await;
}

/// What a new user's mistakes get: malformed JSON, a wrong type, a missing content
/// type, a bad query value and unknown ids each answer a 4xx `{code, message, advice}`
/// that names the problem (and the field where there is one), never a 500 or plain text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_and_unknown_ids_get_a_4xx_error_body() {
    let server = TestServer::start("badinput").await;
    let api = &server.api;
    let raw = |method: Method, path: &str, content_type: Option<&str>, body: &str| {
        let mut req = api
            .client
            .request(method, format!("{}{path}", server.base))
            .body(body.to_string());
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        req
    };
    let json_ct = Some("application/json");
    let cases = [
        (
            raw(Method::POST, "/api/v1/tags", json_ct, "{\"name\": "),
            StatusCode::BAD_REQUEST,
            "Failed to parse the request body as JSON",
            None,
        ),
        (
            raw(Method::POST, "/api/v1/tags", json_ct, "{\"name\": 7}"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid type: integer `7`, expected a string",
            Some("name"),
        ),
        (
            raw(
                Method::POST,
                "/api/v1/projects",
                json_ct,
                r#"{"spec": {"name": "p", "source_id": "s", "target_id": "t", "sync": {"types": "full"}, "objects": []}}"#,
            ),
            StatusCode::UNPROCESSABLE_ENTITY,
            "expected a sequence",
            Some("spec.sync.types"),
        ),
        (
            raw(Method::POST, "/api/v1/datasources", json_ct, "{}"),
            StatusCode::UNPROCESSABLE_ENTITY,
            "missing field",
            None,
        ),
        (
            raw(Method::POST, "/api/v1/tags", None, "{\"name\": \"x\"}"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Content-Type: application/json",
            None,
        ),
        (
            raw(Method::GET, "/api/v1/projects?page=first", None, ""),
            StatusCode::BAD_REQUEST,
            "page: invalid digit",
            None,
        ),
        (
            raw(Method::GET, "/api/v1/datasources?kind=oracle", None, ""),
            StatusCode::BAD_REQUEST,
            "unknown variant `oracle`",
            None,
        ),
        (
            raw(
                Method::GET,
                "/api/v1/projects/np_1/metrics?seconds=-5",
                None,
                "",
            ),
            StatusCode::BAD_REQUEST,
            "seconds: invalid digit",
            None,
        ),
    ];
    for (req, status, message, field) in cases {
        let (got, body) = api.send(req).await;
        assert_eq!(got, status, "{body}");
        assert_eq!(body["code"], "INVALID_REQUEST", "{body}");
        assert!(
            body["message"].as_str().unwrap().contains(message),
            "{message:?} not in {body}"
        );
        assert!(!body["advice"].as_str().unwrap().is_empty(), "{body}");
        if let Some(field) = field {
            assert_eq!(body["field"], field, "{body}");
        }
    }

    // Unknown ids, on every operation that takes one: 404 naming the id. The
    // operations that would connect somewhere (test, browse) answer before trying.
    let unknown = [
        (Method::GET, "/api/v1/datasources/ds_nope"),
        (Method::PUT, "/api/v1/datasources/ds_nope"),
        (Method::DELETE, "/api/v1/datasources/ds_nope"),
        (Method::POST, "/api/v1/datasources/ds_nope/test"),
        (Method::GET, "/api/v1/datasources/ds_nope/databases"),
        (
            Method::GET,
            "/api/v1/datasources/ds_nope/databases/d/tables",
        ),
        (
            Method::GET,
            "/api/v1/datasources/ds_nope/databases/d/tables/t/columns",
        ),
        (Method::GET, "/api/v1/datasources/ds_nope/topics"),
        (Method::PUT, "/api/v1/tags/tag_nope"),
        (Method::DELETE, "/api/v1/tags/tag_nope"),
        (Method::DELETE, "/api/v1/tokens/tok_nope"),
        (Method::GET, "/api/v1/projects/np_nope"),
        (Method::PUT, "/api/v1/projects/np_nope"),
        (Method::DELETE, "/api/v1/projects/np_nope"),
        (Method::GET, "/api/v1/projects/np_nope/precheck"),
        (Method::POST, "/api/v1/projects/np_nope/precheck"),
        (Method::POST, "/api/v1/projects/np_nope/start"),
        (Method::POST, "/api/v1/projects/np_nope/pause"),
        (Method::POST, "/api/v1/projects/np_nope/resume"),
        (Method::POST, "/api/v1/projects/np_nope/release"),
        (Method::POST, "/api/v1/projects/np_nope/clone"),
        (Method::GET, "/api/v1/projects/np_nope/progress"),
        (Method::GET, "/api/v1/projects/np_nope/metrics"),
        (Method::GET, "/api/v1/projects/np_nope/events"),
        (Method::GET, "/api/v1/projects/np_nope/export"),
    ];
    let bodies = [
        (
            "/api/v1/datasources/",
            json!({"name": "x", "kind": "kafka", "kafka": {"bootstrap_servers": "127.0.0.1:1", "version": "3.x"}}),
        ),
        ("/api/v1/tags/", json!({"name": "x"})),
        (
            "/api/v1/projects/",
            json!({"spec": {"name": "p", "source_id": "s", "target_id": "t", "sync": {"types": ["full"]}, "objects": []}}),
        ),
    ];
    for (method, path) in unknown {
        let body = bodies
            .iter()
            .find(|(prefix, _)| method == Method::PUT && path.starts_with(prefix))
            .map(|(_, b)| b.clone());
        let (status, answer) = api.call(method.clone(), path, body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}: {answer}");
        assert_eq!(answer["code"], "NOT_FOUND", "{method} {path}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains("nope"),
            "{method} {path}: {answer}"
        );
        assert!(!answer["advice"].as_str().unwrap().is_empty());
    }
    server.stop().await;
}

/// A MariaDB data source with TLS (verify_identity, the CA, a client certificate for a user
/// created REQUIRE X509): test connection, browse and precheck go over verified TLS as a
/// run does; the key is never shown, exported or answered, and bad TLS input is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_with_tls_is_tested_browsed_and_prechecked_over_tls_and_hides_its_key() {
    use obsync_testkit::{MariaDbInstance, TestPki};
    let services = Services::load();
    let pki = TestPki::create(&["localhost"]);
    let db = MariaDbInstance::spawn_with_tls(pki.mariadb_tls());
    db.server().execute(
        "CREATE USER 'x509'@'%' IDENTIFIED BY 'x509-pw' REQUIRE X509;
         GRANT ALL PRIVILEGES ON *.* TO 'x509'@'%';
         CREATE DATABASE shop; CREATE TABLE shop.orders (id INT PRIMARY KEY);",
    );
    let server = TestServer::start("srctls").await;
    let api = &server.api;
    let key = TestPki::read(&pki.client_key);
    let source = |tls: Value| json!({"host": "localhost", "port": db.port(), "user": "x509", "password": "x509-pw", "tls": tls});
    let tls = json!({"mode": "verify_identity", "ca_pem": TestPki::read(&pki.ca),
                     "client_cert_pem": TestPki::read(&pki.client_cert), "client_key_pem": key});
    let created = api
        .post_ok(
            "/api/v1/datasources",
            json!({"name": "tls-maria", "kind": "mariadb", "source": source(tls.clone())}),
            StatusCode::CREATED,
        )
        .await;
    let src = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        created["source"]["tls"],
        json!({"mode": "verify_identity", "ca_set": true, "client_cert_set": true, "client_key_set": true})
    );

    let test = api
        .post_ok(
            &format!("/api/v1/datasources/{src}/test"),
            json!({}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(test["ok"], true, "{test}");
    assert!(
        test["summary"]
            .as_str()
            .unwrap()
            .ends_with("; TLS (verify_identity)"),
        "{test}"
    );
    let dbs = api
        .get(&format!("/api/v1/datasources/{src}/databases"))
        .await;
    assert!(
        dbs["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "shop"),
        "{dbs}"
    );

    // The wrong CA fails the test with the reason; a server without TLS fails `required`.
    let mut wrong = tls.clone();
    wrong["ca_pem"] = json!(TestPki::read(&pki.other_ca));
    let failed = api
        .post_ok(
            "/api/v1/datasources/test",
            json!({"name": "x", "kind": "mariadb", "source": source(wrong)}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(failed["ok"], false, "{failed}");
    let message = failed["error"]["message"].as_str().unwrap();
    assert!(message.contains("certificate verify failed"), "{failed}");
    assert!(message.contains("signed by the CA file"), "{failed}");
    let m = &services.mariadb;
    let plain = api
        .post_ok(
            "/api/v1/datasources/test",
            json!({"name": "x", "kind": "mariadb", "source": {"host": m.host, "port": m.port,
                   "user": m.user, "password": m.password, "tls": {"mode": "required"}}}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(plain["ok"], false, "{plain}");
    assert!(
        plain["error"]["message"]
            .as_str()
            .unwrap()
            .contains("the server offers no TLS"),
        "{plain}"
    );

    // Bad TLS input is refused at the edge, naming the field.
    for (bad, field) in [
        (
            json!({"mode": "required", "ca_pem": TestPki::read(&pki.ca)}),
            "source.tls.ca_pem",
        ),
        (
            json!({"mode": "verify_ca", "client_cert_pem": TestPki::read(&pki.client_cert)}),
            "source.tls.client_cert_pem",
        ),
        (
            json!({"mode": "verify_ca", "client_key_pem": "not a key"}),
            "source.tls.client_key_pem",
        ),
        (
            json!({"mode": "verify_ca", "ca_pem": "not a certificate"}),
            "source.tls.ca_pem",
        ),
    ] {
        let (status, body) = api
            .post(
                "/api/v1/datasources",
                json!({"name": "bad-tls", "kind": "mariadb", "source": source(bad)}),
            )
            .await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["field"], field, "{body}");
    }
    let (status, body) = api
        .post(
            "/api/v1/datasources",
            json!({"name": "bad-tls", "kind": "mariadb", "source": source(json!({"mode": "verify-ca"}))}),
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "source.tls.mode", "{body}");

    // An update without the PEM fields keeps them (and the key).
    let (status, kept) = api
        .call(
            Method::PUT,
            &format!("/api/v1/datasources/{src}"),
            Some(json!({"name": "tls-maria", "kind": "mariadb",
                        "source": {"host": "localhost", "port": db.port(), "user": "x509",
                                   "tls": {"mode": "verify_identity"}}})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{kept}");
    assert_eq!(kept["source"]["tls"], created["source"]["tls"]);

    // A project on it: the precheck connects like the run, the export names the key file.
    let kafka = api
        .post_ok(
            "/api/v1/datasources",
            json!({"name": obsync_testkit::unique_name("kafka"), "kind": "kafka",
                   "kafka": {"bootstrap_servers": services.kafka_bootstrap, "version": "3.x"}}),
            StatusCode::CREATED,
        )
        .await;
    let kafka = kafka["id"].as_str().unwrap();
    let spec = spec(
        &project_name(),
        &src,
        kafka,
        &["full"],
        &["shop.orders".into()],
        "tls-orders",
    );
    let project = api
        .post_ok(
            "/api/v1/projects",
            json!({"spec": spec}),
            StatusCode::CREATED,
        )
        .await;
    let id = project["id"].as_str().unwrap();
    let pre = api
        .post_ok(
            &format!("/api/v1/projects/{id}/precheck"),
            json!({}),
            StatusCode::OK,
        )
        .await;
    let item = pre["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "source.tls")
        .unwrap_or_else(|| panic!("{pre}"));
    assert_eq!(item["status"], "pass", "{pre}");
    assert!(
        item["message"].as_str().unwrap().contains("names the host"),
        "{item}"
    );
    let export = api
        .client
        .get(format!("{}/api/v1/projects/{id}/export", server.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(export.contains("mode = \"verify_identity\""), "{export}");
    assert!(
        export.contains("client_key_pem_env = \"OBSYNC_SOURCE_CLIENT_KEY\""),
        "{export}"
    );
    let key_body = key.lines().nth(1).unwrap();
    assert!(!export.contains(key_body), "the export holds no key");
    assert!(
        !api.all_bodies().contains(key_body),
        "no answer holds the key"
    );
    // The key went to the connections in memory: no file under the data directory
    // holds it after a test, a precheck and an export.
    let dir = server.dir.clone();
    server.stop().await;
    let mut pending = vec![dir];
    while let Some(path) = pending.pop() {
        if path.is_dir() {
            pending.extend(std::fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else if let Ok(bytes) = std::fs::read(&path) {
            assert!(
                !String::from_utf8_lossy(&bytes).contains(key_body),
                "{} holds the client key",
                path.display()
            );
        }
    }
}

/// The count of `table` in a progress answer: `[snapshot_rows, inserts, updates, deletes]`.
fn counts_of(progress: &Value, table: &str) -> [u64; 4] {
    let tables = progress["tables"].as_array().expect("tables");
    let t = tables
        .iter()
        .find(|t| t["table"] == table)
        .unwrap_or_else(|| panic!("{table} not in {progress}"));
    ["snapshot_rows", "inserts", "updates", "deletes"].map(|k| t[k].as_u64().unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_table_counts_and_the_stage_timeline_survive_pause_and_a_server_restart() {
    let services = Services::load();
    let db = orders_db(&services, 5);
    services.mariadb.execute(&format!(
        "CREATE TABLE {db}.items (id INT PRIMARY KEY, qty INT); INSERT INTO {db}.items VALUES (1, 1), (2, 2), (3, 3);"
    ));
    let (orders, items) = (format!("{db}.orders"), format!("{db}.items"));
    let topic = obsync_testkit::unique_name("srvcounts");
    services.create_topic(&topic, 3);
    let server = TestServer::start("counts").await;
    let api = &server.api;
    let (src, kafka) = create_datasources(api, &services).await;
    let spec = spec(
        &project_name(),
        &src,
        &kafka,
        &["full", "incremental"],
        &[orders.clone(), items.clone()],
        &topic,
    );
    let created = api
        .post_ok(
            "/api/v1/projects",
            json!({ "spec": spec }),
            StatusCode::CREATED,
        )
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let p = |action: &str| format!("/api/v1/projects/{id}/{action}");
    let pre = api.post_ok(&p("precheck"), json!({}), StatusCode::OK).await;
    assert_eq!(pre["passed"], true, "{pre}");
    api.post_ok(&p("start"), json!({}), StatusCode::OK).await;
    // The position is known once the reader passed a transaction: one on a table outside
    // the project gives it one, whatever other tests write (or not) meanwhile.
    services.mariadb.execute(&format!(
        "CREATE TABLE {db}.ticks (id INT PRIMARY KEY AUTO_INCREMENT)"
    ));
    let in_incremental = wait_until(api, &p("progress"), TIMEOUT, "incremental sync", |b| {
        let incremental = b["stage"] == "incremental";
        let positioned = incremental && b["incremental"]["position"]["file"].is_string();
        if incremental && !positioned {
            services
                .mariadb
                .execute(&format!("INSERT INTO {db}.ticks VALUES ()"));
        }
        positioned
    })
    .await;
    assert_eq!(counts_of(&in_incremental, &orders), [5, 0, 0, 0]);
    assert_eq!(counts_of(&in_incremental, &items), [3, 0, 0, 0]);

    // Known changes: one statement updating two rows counts two updates.
    services.mariadb.execute(&format!(
        "INSERT INTO {db}.orders VALUES (10, 'a'), (11, 'b'), (12, 'c');
         UPDATE {db}.orders SET note = 'u' WHERE id IN (1, 2);
         DELETE FROM {db}.orders WHERE id = 3;
         INSERT INTO {db}.items VALUES (4, 4); DELETE FROM {db}.items WHERE id = 1;"
    ));
    let expected =
        |b: &Value| counts_of(b, &orders) == [5, 3, 2, 1] && counts_of(b, &items) == [3, 1, 0, 1];
    let counted = wait_until(
        api,
        &p("progress"),
        TIMEOUT,
        "the changes counted",
        expected,
    )
    .await;
    // Counted at the acknowledgement: every counted change is in Kafka.
    let messages = consume(&services.kafka_bootstrap, &topic);
    for row in ["\"a\"", "\"b\"", "\"c\"", "DELETE"] {
        assert!(
            messages.iter().any(|m| m.contains(row)),
            "{row}: {messages:?}"
        );
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        expected(&api.get(&p("progress")).await),
        "counted twice: {counted}"
    );

    // Paused: the counts come from the checkpoint; a change made meanwhile is counted
    // after the resume, once.
    api.post_ok(&p("pause"), json!({}), StatusCode::OK).await;
    let paused = api.get(&p("progress")).await;
    assert!(expected(&paused), "{paused}");
    services
        .mariadb
        .execute(&format!("INSERT INTO {db}.orders VALUES (13, 'paused');"));
    api.post_ok(&p("resume"), json!({}), StatusCode::OK).await;
    wait_until(
        api,
        &p("progress"),
        TIMEOUT,
        "the paused change counted",
        |b| counts_of(b, &orders) == [5, 4, 2, 1] && counts_of(b, &items) == [3, 1, 0, 1],
    )
    .await;
    let before_restart = api.get(&p("progress")).await;

    // A server restart: the project resumes with the same counts and timeline.
    let dir = server.dir.clone();
    server.stop().await;
    let server = TestServer::start_in(dir).await;
    let api = &server.api;
    let after = wait_until(
        api,
        &p("progress"),
        TIMEOUT,
        "resumed after the restart",
        |b| b["state"] == "running" && b["stage"] == "incremental",
    )
    .await;
    assert_eq!(counts_of(&after, &orders), [5, 4, 2, 1], "{after}");
    assert_eq!(counts_of(&after, &items), [3, 1, 0, 1], "{after}");

    let timeline = after["timeline"].as_array().expect("timeline").clone();
    let stages: Vec<&str> = timeline
        .iter()
        .map(|s| s["stage"].as_str().unwrap())
        .collect();
    // The project asks for no schema stage (its topic exists).
    assert_eq!(stages, ["full", "incremental"], "{after}");
    for (done, next) in timeline.iter().zip(timeline.iter().skip(1)) {
        assert_eq!(done["ended_at"], next["started_at"], "{after}");
        assert!(done["duration_ms"].is_u64(), "{after}");
    }
    let current = &timeline[1];
    assert!(current["ended_at"].is_null(), "{after}");
    assert!(current["duration_ms"].as_u64().unwrap() >= 1500, "{after}");
    assert_eq!(
        timeline
            .iter()
            .map(|s| &s["started_at"])
            .collect::<Vec<_>>(),
        before_restart["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| &s["started_at"])
            .collect::<Vec<_>>(),
        "the restart continues the same timeline"
    );
    api.post_ok(&p("pause"), json!({}), StatusCode::OK).await;
    server.stop().await;
}

/// `POST /projects/{id}/verify` starts a read-only verify run in the background, one at a
/// time; `GET` shows its progress, then the per-table report: clean while the project
/// runs, and a row deleted at the source while it is paused is an extra key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_runs_in_the_background_and_reports_per_table() {
    let services = Services::load();
    let db = orders_db(&services, 20);
    let topic = obsync_testkit::unique_name("srvverify");
    services.create_topic(&topic, 3);
    let server = TestServer::start("verify").await;
    let api = &server.api;
    let (src, kafka) = create_datasources(api, &services).await;
    let created = api
        .post_ok("/api/v1/projects",
            json!({"spec": spec(&project_name(), &src, &kafka, &["full", "incremental"], &[format!("{db}.orders")], &topic)}),
            StatusCode::CREATED)
        .await;
    let id = created["id"].as_str().unwrap().to_string();
    let p = |action: &str| format!("/api/v1/projects/{id}/{action}");
    assert_eq!(api.get(&p("verify")).await["state"], "none");

    api.post_ok(&p("precheck"), json!({}), StatusCode::OK).await;
    api.post_ok(&p("start"), json!({}), StatusCode::OK).await;
    wait_until(api, &p("progress"), TIMEOUT, "incremental sync", |b| {
        b["stage"] == "incremental" && b["acked_messages"].as_u64().unwrap_or(0) >= 20
    })
    .await;

    let started = api
        .post_ok(&p("verify"), json!({}), StatusCode::ACCEPTED)
        .await;
    assert_eq!(started["state"], "running", "{started}");
    let (status, again) = api.post(&p("verify"), json!({})).await;
    assert_eq!(
        (status, again["code"].as_str()),
        (StatusCode::CONFLICT, Some("VERIFY_RUNNING")),
        "one run at a time: {again}"
    );
    let done = wait_until(api, &p("verify"), TIMEOUT, "verify finished", |b| {
        b["state"] != "running"
    })
    .await;
    assert_eq!(done["state"], "finished", "{done}");
    assert_eq!(done["clean"], true, "{done}");
    let table = &done["tables"][0];
    assert_eq!(table["table"], format!("{db}.orders"));
    assert_eq!(table["comparison"], "key");
    assert_eq!(table["key_columns"], json!(["id"]));
    assert_eq!(table["rows_checked"], 20);
    assert_eq!(done["rows_checked"], 20, "{done}");
    assert_eq!(done["topics"][0]["sequence_regressions"], 0, "{done}");

    // Paused: a row deleted at the source is still in the topic: an extra key.
    api.post_ok(&p("pause"), json!({}), StatusCode::OK).await;
    services
        .mariadb
        .execute(&format!("DELETE FROM {db}.orders WHERE id = 7"));
    api.post_ok(&p("verify"), json!({}), StatusCode::ACCEPTED)
        .await;
    let done = wait_until(api, &p("verify"), TIMEOUT, "verify finished", |b| {
        b["state"] != "running"
    })
    .await;
    assert_eq!(done["clean"], false, "{done}");
    let table = &done["tables"][0];
    assert_eq!(table["extra"]["count"], 1, "{done}");
    assert!(
        table["extra"]["examples"][0]
            .as_str()
            .unwrap()
            .contains('7'),
        "{done}"
    );
    assert_eq!(
        (
            table["missing"]["count"].as_u64(),
            table["different"]["count"].as_u64()
        ),
        (Some(0), Some(0)),
        "{done}"
    );
    let events = api.get(&p("events")).await.to_string();
    assert!(
        events.contains("verify started") && events.contains("verify finished: differences found"),
        "{events}"
    );
    server.stop().await;
}
