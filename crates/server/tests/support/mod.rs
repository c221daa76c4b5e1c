//! Shared helpers of the server's API tests: an in-process server on a free port with
//! its own data directory, and a client that keeps every answer for the secrets scan.
#![allow(dead_code)] // each test binary uses a different subset

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use obsync_server::{HttpOptions, Server, ServerOptions};
use obsync_testkit::Services;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

/// The first admin's password in every test server.
pub const ADMIN_PASSWORD: &str = "Adm1n-test-pw!";

/// A server running in this process; stopped (projects checkpointed) by [`TestServer::stop`].
pub struct TestServer {
    pub base: String,
    pub dir: PathBuf,
    pub api: Api,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<Result<(), obsync_server::ServerError>>>,
}

impl TestServer {
    /// A fresh server in a new data directory, logged in as admin.
    pub async fn start(name: &str) -> TestServer {
        let dir =
            std::env::temp_dir().join(obsync_testkit::unique_name(&format!("obsync_srv_{name}")));
        TestServer::start_in(dir).await
    }

    /// A server on an existing data directory (a restart), logged in as admin.
    pub async fn start_in(dir: PathBuf) -> TestServer {
        TestServer::start_in_with(dir, HttpOptions::default()).await
    }

    /// A fresh server with these HTTP listener settings, logged in as admin.
    pub async fn start_with(name: &str, http: HttpOptions) -> TestServer {
        let dir =
            std::env::temp_dir().join(obsync_testkit::unique_name(&format!("obsync_srv_{name}")));
        TestServer::start_in_with(dir, http).await
    }

    async fn start_in_with(dir: PathBuf, http: HttpOptions) -> TestServer {
        let server = Server::bind(ServerOptions {
            data_dir: dir.clone(),
            listen: "127.0.0.1:0".parse().unwrap(),
            tls: None,
            insecure_listen: false,
            admin_password: Some(ADMIN_PASSWORD.into()),
            http,
            secret_key: None,
            cluster: None,
            shared_stream: true,
        })
        .await
        .expect("server binds");
        let base = format!("http://{}", server.local_addr().unwrap());
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(server.run(async {
            let _ = rx.await;
        }));
        let api = Api::new(&base);
        let (status, body) = api
            .call(
                Method::POST,
                "/api/v1/session",
                Some(json!({"username": "admin", "password": ADMIN_PASSWORD})),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        TestServer {
            base,
            dir,
            api,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server the way SIGTERM does and waits until every project checkpointed.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await
                .expect("server task")
                .expect("server stops cleanly");
        }
    }
}

/// A logged-in (once `login` ran) client that records every answer body.
#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub client: reqwest::Client,
    pub bodies: Arc<Mutex<Vec<String>>>,
}

impl Api {
    pub fn new(base: &str) -> Api {
        Api {
            base: base.to_string(),
            client: reqwest::Client::builder()
                .cookie_store(true)
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            bodies: Default::default(),
        }
    }

    /// A client without the session cookie.
    pub fn anonymous(&self) -> Api {
        Api {
            bodies: self.bodies.clone(),
            ..Api::new(&self.base)
        }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> (StatusCode, Value) {
        let resp = req.send().await.expect("request reaches the server");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        self.bodies.lock().unwrap().push(text.clone());
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        (status, value)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        self.send(req).await
    }

    pub async fn get(&self, path: &str) -> Value {
        let (status, body) = self.call(Method::GET, path, None).await;
        assert_eq!(status, StatusCode::OK, "GET {path}: {body}");
        body
    }

    pub async fn post(&self, path: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(body)).await
    }

    /// POST that must answer `expected`; returns the body.
    pub async fn post_ok(&self, path: &str, body: Value, expected: StatusCode) -> Value {
        let (status, answer) = self.post(path, body).await;
        assert_eq!(status, expected, "POST {path}: {answer}");
        answer
    }

    /// Every answer so far, for the secrets scan.
    pub fn all_bodies(&self) -> String {
        self.bodies.lock().unwrap().join("\n")
    }
}

/// Creates the MariaDB source and the Kafka target data sources; returns their ids.
pub async fn create_datasources(api: &Api, services: &Services) -> (String, String) {
    let m = &services.mariadb;
    let src = api
        .post_ok(
            "/api/v1/datasources",
            json!({"name": obsync_testkit::unique_name("maria"), "kind": "mariadb",
                   "source": {"host": m.host, "port": m.port, "user": m.user, "password": m.password}}),
            StatusCode::CREATED,
        )
        .await;
    let kafka = api
        .post_ok(
            "/api/v1/datasources",
            json!({"name": obsync_testkit::unique_name("kafka"), "kind": "kafka",
                   "kafka": {"bootstrap_servers": services.kafka_bootstrap, "version": "3.x"}}),
            StatusCode::CREATED,
        )
        .await;
    (
        src["id"].as_str().unwrap().to_string(),
        kafka["id"].as_str().unwrap().to_string(),
    )
}

/// A project spec over `tables` into `topic`.
pub fn spec(
    name: &str,
    source: &str,
    target: &str,
    types: &[&str],
    tables: &[String],
    topic: &str,
) -> Value {
    json!({
        "name": name,
        "source_id": source,
        "target_id": target,
        "sync": {"types": types, "format": "DefaultExtendColumnType"},
        "objects": [{"tables": tables, "topic": topic}],
    })
}

/// Polls `GET path` until `done` holds for the answer; fails with the last answer after
/// `timeout`.
pub async fn wait_until(
    api: &Api,
    path: &str,
    timeout: Duration,
    what: &str,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + timeout;
    loop {
        let (status, body) = api.call(Method::GET, path, None).await;
        if status == StatusCode::OK && done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "{what}: {status} {body}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Every message of `topic` as `key\tvalue` lines, read by kcat (an independent client).
pub fn consume(bootstrap: &str, topic: &str) -> Vec<String> {
    obsync_testkit::kcat::consume(bootstrap, topic)
        .iter()
        .map(|r| format!("{}\t{}", r.key_str(), r.value_str()))
        .collect()
}

/// A MariaDB user of its own with a password no other text contains, so the secrets
/// scan can look for it.
pub struct SecretUser {
    pub user: String,
    pub password: String,
}

pub fn secret_user(services: &Services) -> SecretUser {
    let user = obsync_testkit::unique_name("u");
    let user: String = user.chars().take(32).collect();
    let password = format!(
        "Pw{}x",
        obsync_testkit::unique_name("s").replace(['-', '_'], "")
    );
    services.mariadb_root.execute(&format!(
        "CREATE USER '{user}'@'%' IDENTIFIED BY '{password}'; GRANT ALL PRIVILEGES ON *.* TO '{user}'@'%';"
    ));
    SecretUser { user, password }
}

/// A new database with table `orders (id INT PRIMARY KEY, note VARCHAR(64))` holding
/// `rows` rows.
pub fn orders_db(services: &Services, rows: usize) -> String {
    let db = obsync_testkit::unique_name("srv");
    let mut sql = format!(
        "CREATE DATABASE {db}; CREATE TABLE {db}.orders (id INT PRIMARY KEY, note VARCHAR(64));"
    );
    if rows > 0 {
        let values: Vec<String> = (1..=rows).map(|i| format!("({i}, 'row {i}')")).collect();
        sql.push_str(&format!(
            "INSERT INTO {db}.orders VALUES {};",
            values.join(",")
        ));
    }
    services.mariadb.execute(&sql);
    db
}

/// Creates a MariaDB data source for `user` and the Kafka target; returns their ids.
pub async fn create_datasources_as(
    api: &Api,
    services: &Services,
    user: &SecretUser,
) -> (String, String) {
    let m = &services.mariadb;
    let src = api
        .post_ok(
            "/api/v1/datasources",
            json!({"name": obsync_testkit::unique_name("maria"), "kind": "mariadb",
                   "source": {"host": m.host, "port": m.port, "user": user.user, "password": user.password}}),
            StatusCode::CREATED,
        )
        .await;
    let kafka = api
        .post_ok(
            "/api/v1/datasources",
            json!({"name": obsync_testkit::unique_name("kafka"), "kind": "kafka",
                   "kafka": {"bootstrap_servers": services.kafka_bootstrap, "version": "3.x"}}),
            StatusCode::CREATED,
        )
        .await;
    (
        src["id"].as_str().unwrap().to_string(),
        kafka["id"].as_str().unwrap().to_string(),
    )
}
