//! The HTTP listener's armour, attacked as a client would: security headers on every
//! answer, a foreign `Host` refused (DNS rebinding), silent connections closed by the idle
//! timeout, and the connection cap keeping a flood of them from starving the API.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use obsync_server::HttpOptions;
use reqwest::StatusCode;
use support::TestServer;

#[tokio::test]
async fn every_answer_carries_the_security_headers_and_the_api_is_not_cached() {
    let server = TestServer::start("headers").await;
    for path in ["/", "/projects", "/api/v1/health", "/api/v1/me"] {
        let response = server
            .api
            .client
            .get(format!("{}{path}", server.base))
            .send()
            .await
            .unwrap();
        let headers = response.headers();
        let csp = headers["content-security-policy"].to_str().unwrap();
        for directive in [
            "script-src 'self'",
            "frame-ancestors 'none'",
            "object-src 'none'",
        ] {
            assert!(csp.contains(directive), "{path}: {csp}");
        }
        assert!(!csp.contains("script-src 'self' 'unsafe"), "{path}: {csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(headers["x-frame-options"], "DENY", "{path}");
        assert_eq!(headers["referrer-policy"], "no-referrer", "{path}");
        assert!(
            headers.get("strict-transport-security").is_none(),
            "{path}: HSTS only under TLS"
        );
        let cache = headers.get("cache-control").map(|v| v.to_str().unwrap());
        if path.starts_with("/api/") {
            assert_eq!(cache, Some("no-store"), "{path}");
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn a_foreign_host_name_is_refused_before_login() {
    let server = TestServer::start("host").await;
    let port = server.base.rsplit(':').next().unwrap().to_string();
    let client = reqwest::Client::new();
    let login = serde_json::json!({"username": "admin", "password": support::ADMIN_PASSWORD});
    for (host, expected) in [
        (
            format!("attacker.example:{port}"),
            StatusCode::MISDIRECTED_REQUEST,
        ),
        (
            "127.0.0.1.nip.io".to_string(),
            StatusCode::MISDIRECTED_REQUEST,
        ),
        (format!("localhost:{port}"), StatusCode::OK),
        (format!("127.0.0.1:{port}"), StatusCode::OK),
    ] {
        let response = client
            .post(format!("{}/api/v1/session", server.base))
            .header("host", &host)
            .json(&login)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), expected, "Host: {host}");
        let cookie = response.headers().get("set-cookie").is_some();
        assert_eq!(cookie, expected == StatusCode::OK, "Host: {host}");
        if expected != StatusCode::OK {
            let body: serde_json::Value = response.json().await.unwrap();
            assert_eq!(body["code"], "UNKNOWN_HOST", "{body}");
            assert!(
                body["advice"].as_str().unwrap().contains("--public-name"),
                "{body}"
            );
        }
    }
    server.stop().await;

    let named = TestServer::start_with(
        "host_named",
        HttpOptions {
            public_names: vec!["obsync.example.com".into()],
            ..HttpOptions::default()
        },
    )
    .await;
    let response = client
        .get(format!("{}/api/v1/health", named.base))
        .header("host", "OBSYNC.example.com:8443")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    named.stop().await;
}

/// Reads until the server closes the connection; `Err` when it is still open at `deadline`.
fn wait_closed(stream: &mut TcpStream, deadline: Instant) -> Result<(), ()> {
    let mut buf = [0u8; 256];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(());
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(()),
            Err(_) => return Err(()),
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_connections_are_closed_and_the_cap_keeps_the_api_answering() {
    const CAP: usize = 8;
    let server = TestServer::start_with(
        "idle",
        HttpOptions {
            max_connections: Some(CAP),
            idle_timeout: Some(Duration::from_secs(1)),
            ..HttpOptions::default()
        },
    )
    .await;
    // The login's kept-alive connection holds a slot until the idle timeout closes it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let addr = server.base.trim_start_matches("http://").to_string();
    let result = tokio::task::spawn_blocking(move || {
        // 40 clients that connect and say nothing (a slowloris), 5x the cap.
        let mut silent: Vec<TcpStream> = (0..5 * CAP)
            .map(|_| TcpStream::connect(&addr).unwrap())
            .collect();
        // A real request behind them gets its answer once idle timeouts free slots.
        let started = Instant::now();
        let mut client = TcpStream::connect(&addr).unwrap();
        client
            .write_all(
                b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
            )
            .unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut answer = String::new();
        client.read_to_string(&mut answer).unwrap();
        let waited = started.elapsed();
        // Every silent client was closed by the server.
        let deadline = Instant::now() + Duration::from_secs(15);
        let open = silent
            .iter_mut()
            .map(|s| wait_closed(s, deadline))
            .filter(Result::is_err)
            .count();
        (answer, waited, open)
    })
    .await
    .unwrap();
    let (answer, waited, still_open) = result;
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert_eq!(
        still_open, 0,
        "silent connections the idle timeout did not close"
    );
    // The 41st connection waited for slots: the cap held (without it, it is answered at
    // once while 40 silent sockets stay open for ever).
    assert!(
        waited >= Duration::from_millis(900),
        "answered after {waited:?}: the connection cap did not hold"
    );
    server.stop().await;
}
