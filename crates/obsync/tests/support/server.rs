//! The `obsync server` process and a blocking API client for the server's end-to-end
//! tests.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use obsync_testkit::{unique_name, Services, SqlServer};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use serde_json::{json, Value};

pub const ADMIN_PASSWORD: &str = "Scenario-admin-pw9";
/// How long the API helpers wait for a state.
const TIMEOUT: Duration = Duration::from_secs(120);

/// A running `obsync server` process, its log appended to `<dir>.log`.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl ServerProcess {
    pub fn start(dir: &Path, port: u16) -> ServerProcess {
        ServerProcess::start_with(dir, port, &[])
    }

    /// [`start`](Self::start) with more arguments (e.g. the cluster flags).
    pub fn start_with(dir: &Path, port: u16, extra: &[String]) -> ServerProcess {
        let log = dir.with_extension("log");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_obsync"))
            .args([
                "server",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--data-dir",
            ])
            .arg(dir)
            .args(extra)
            .env("OBSYNC_ADMIN_PASSWORD", ADMIN_PASSWORD)
            // `OBSYNC_TEST_SERVER_LOG` (a RUST_LOG filter) to see more of a failing run.
            .env(
                "RUST_LOG",
                std::env::var("OBSYNC_TEST_SERVER_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("obsync server starts");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        while Client::new()
            .get(format!("{base}/api/v1/health"))
            .send()
            .is_err()
        {
            assert!(Instant::now() < deadline, "the server never answered");
            std::thread::sleep(Duration::from_millis(100));
        }
        ServerProcess { child, base, log }
    }

    pub fn signal(&mut self, sig: &str) {
        let ok = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -{sig} failed");
    }

    pub fn wait_exit(&mut self, deadline: Duration) -> std::process::ExitStatus {
        let end = Instant::now() + deadline;
        loop {
            if let Some(code) = self.child.try_wait().unwrap() {
                return code;
            }
            assert!(
                Instant::now() < end,
                "the server did not exit within {deadline:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        if std::thread::panicking() {
            let text = std::fs::read_to_string(&self.log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!(
                "--- server log tail ---\n{}",
                lines[lines.len().saturating_sub(60)..].join("\n")
            );
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A logged-in API client that keeps every answer for the secrets scan.
pub struct Api {
    pub base: String,
    pub client: Client,
    pub bodies: Vec<String>,
}

impl Api {
    pub fn login(base: &str) -> Api {
        let mut api = Api {
            base: base.to_string(),
            client: Client::builder()
                .cookie_store(true)
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            bodies: Vec::new(),
        };
        let (status, body) = api.call(
            "POST",
            "/api/v1/session",
            Some(json!({"username": "admin", "password": ADMIN_PASSWORD})),
        );
        assert_eq!(status, StatusCode::OK, "{body}");
        api
    }

    pub fn call(&mut self, method: &str, path: &str, body: Option<Value>) -> (StatusCode, Value) {
        let mut req = self
            .client
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().expect("the server answers");
        let status = resp.status();
        let text = resp.text().unwrap();
        self.bodies.push(text.clone());
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub fn ok(&mut self, method: &str, path: &str, body: Option<Value>, want: StatusCode) -> Value {
        let (status, answer) = self.call(method, path, body);
        assert_eq!(status, want, "{method} {path}: {answer}");
        answer
    }

    pub fn wait(&mut self, path: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + TIMEOUT;
        loop {
            let (status, body) = self.call("GET", path, None);
            if status == StatusCode::OK && done(&body) {
                return body;
            }
            assert!(Instant::now() < end, "{what}: {body}");
            std::thread::sleep(Duration::from_millis(300));
        }
    }
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Creates a MariaDB data source logging in as `login` and a Kafka data source on the
/// shared services; returns their ids.
pub fn data_sources_as(api: &mut Api, services: &Services, login: &SqlServer) -> (String, String) {
    let source = api.ok(
        "POST",
        "/api/v1/datasources",
        Some(
            json!({"name": unique_name("maria").replace('_', ""), "kind": "mariadb",
            "source": {"host": login.host, "port": login.port, "user": login.user,
                       "password": login.password}}),
        ),
        StatusCode::CREATED,
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    let target = api.ok(
        "POST",
        "/api/v1/datasources",
        Some(
            json!({"name": unique_name("kafka").replace('_', ""), "kind": "kafka",
            "kafka": {"bootstrap_servers": services.kafka_bootstrap, "version": "3.x"}}),
        ),
        StatusCode::CREATED,
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
    (source, target)
}

/// [`data_sources_as`] with the shared MariaDB's `obsync` login.
pub fn data_sources(api: &mut Api, services: &Services) -> (String, String) {
    data_sources_as(api, services, &services.mariadb)
}

/// Creates, prechecks and starts a project; returns its id once it streams.
pub fn start_project(api: &mut Api, spec: Value) -> String {
    let id = api.ok(
        "POST",
        "/api/v1/projects",
        Some(json!({ "spec": spec })),
        StatusCode::CREATED,
    )["id"]
        .as_str()
        .unwrap()
        .to_string();
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
    api.wait(
        &format!("/api/v1/projects/{id}/progress"),
        "the project streams",
        |p| p["stage"] == "incremental",
    );
    id
}

/// Sets its flag when dropped: a scenario's background writer stops when the scenario
/// leaves its thread scope, also by a failed assertion (the scope would otherwise wait
/// for the writer forever).
pub struct StopOnDrop<'a>(pub &'a std::sync::atomic::AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }
}
