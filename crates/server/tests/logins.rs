//! Password guessing against a real server in this process: concurrent guesses cannot
//! beat the limit or the memory, another address is never locked out, and huge user
//! names cost nothing. Clients are told apart by their source address on loopback
//! (127.0.0.2 vs 127.0.0.1; Linux routes all of 127/8 to `lo`).

mod support;

use std::net::IpAddr;
use std::time::Duration;

use futures::future::join_all;
use reqwest::StatusCode;
use serde_json::json;
use support::*;

/// The failures of one user name from one address that are checked before the delays.
const LIMIT: usize = 5;

fn client_from(ip: &str) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(ip.parse::<IpAddr>().unwrap())
        .timeout(Duration::from_secs(60))
        .build()
        .unwrap()
}

/// This process's resident memory in bytes (the server runs in it).
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    let kb: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kb * 1024
}

const MB: u64 = 1024 * 1024;

/// The tests measure this process's memory: one at a time.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn login(
    client: &reqwest::Client,
    base: &str,
    user: impl Into<String>,
    password: impl Into<String>,
) -> (StatusCode, Option<String>) {
    let (user, password) = (user.into(), password.into());
    let resp = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": user, "password": password}))
        .send()
        .await
        .expect("the server answers");
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_string());
    (resp.status(), retry_after)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_wrong_logins_verify_at_most_the_limit_and_never_lock_out_a_clean_address() {
    let _serial = SERIAL.lock().await;
    let server = TestServer::start("logins").await;
    let idle = rss();
    let attacker = client_from("127.0.0.2");

    // 100 guesses at once for the admin: at most LIMIT are checked (401), the others
    // are refused before any hashing (429 with Retry-After; 503 if a reserved one
    // found no free check slot in time on a busy machine).
    let answers =
        join_all((0..100).map(|i| login(&attacker, &server.base, "admin", format!("guess-{i}"))))
            .await;
    let checked = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    let refused: Vec<_> = answers
        .iter()
        .filter(|(s, _)| {
            *s == StatusCode::TOO_MANY_REQUESTS || *s == StatusCode::SERVICE_UNAVAILABLE
        })
        .collect();
    assert!(
        checked <= LIMIT,
        "{checked} of 100 concurrent guesses were checked"
    );
    assert_eq!(checked + refused.len(), 100, "{answers:?}");
    assert!(
        refused.iter().all(|(_, after)| after.is_some()),
        "429 without Retry-After"
    );

    // The attacked address waits, even with the right password; the admin's own
    // address is not affected.
    let (status, after) = login(&attacker, &server.base, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
    assert!(after.is_some());
    let admin = client_from("127.0.0.1");
    let (status, _) = login(&admin, &server.base, "admin", ADMIN_PASSWORD).await;
    assert_eq!(status, StatusCode::OK, "a clean address was refused");

    // 100 guesses at once for 100 different names: each is checked (unknown names
    // against a dummy hash), but only a few at a time: memory stays bounded.
    let answers =
        join_all((0..100).map(|i| login(&attacker, &server.base, format!("nobody{i}"), "guess")))
            .await;
    let checked = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    eprintln!("{checked} of 100 guesses of unknown names were checked, the others 503");
    for (status, after) in &answers {
        assert!(
            *status == StatusCode::UNAUTHORIZED
                || (*status == StatusCode::SERVICE_UNAVAILABLE && after.is_some()),
            "{status} {after:?}"
        );
    }
    let grown = rss().saturating_sub(idle);
    eprintln!("memory grew by {} MB", grown / MB);
    assert!(grown < 100 * MB, "memory grew by {} MB", grown / MB);

    // Failed logins and the delay are in the audit trail, with the address.
    let audit = server.api.get("/api/v1/audit?page_size=150").await;
    let items = audit["items"].as_array().unwrap();
    assert!(
        items.iter().any(|e| e["kind"] == "security"
            && e["client"] == "127.0.0.2"
            && e["message"].as_str().unwrap().contains("wait")),
        "{audit}"
    );
    assert!(
        !audit.to_string().contains("nobody1"),
        "an unknown user name was recorded"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn huge_user_names_are_refused_before_hashing_and_not_kept() {
    let _serial = SERIAL.lock().await;
    let server = TestServer::start("logins_big").await;
    let client = client_from("127.0.0.3");
    let idle = rss();
    let name = "n".repeat(1024 * 1024);
    let mut statuses = Vec::new();
    for i in 0..100 {
        statuses.push(
            login(&client, &server.base, format!("{name}{i}"), "guess")
                .await
                .0,
        );
    }
    // 100 names of 1 MB: were they kept, this would be 100 MB more.
    let grown = rss().saturating_sub(idle);
    eprintln!("memory grew by {} MB", grown / MB);
    assert!(grown < 40 * MB, "memory grew by {} MB", grown / MB);
    assert!(
        statuses.iter().all(|s| *s == StatusCode::BAD_REQUEST),
        "{statuses:?}"
    );
    server.stop().await;
}
