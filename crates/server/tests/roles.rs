//! Users and roles against a real server in this process: every operation of the
//! served OpenAPI document is tried as a viewer and as an operator, the OMS shim too;
//! the users API, password change, API tokens and the audit trail.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::*;

const PASSWORD: &str = "long-enough-pw-1";

fn rank(role: &str) -> u8 {
    match role {
        "viewer" => 0,
        "operator" => 1,
        "admin" => 2,
        other => panic!("not a role: {other}"),
    }
}

/// The role each operation must need, written from the rules (not read from the
/// document, which is what is checked).
fn expected_role(method: &str, path: &str) -> &'static str {
    let admin_only = path.starts_with("/api/v1/users") || path == "/api/v1/audit";
    if admin_only {
        "admin"
    } else if path == "/api/v1/projects/{id}/messages" {
        // The topic viewer shows row data: not for viewers.
        "operator"
    } else if method == "get"
        || path == "/api/v1/session"
        || path == "/api/v1/me/password"
        || path.starts_with("/api/v1/tokens")
    {
        // Reading, and managing the own session, password and tokens.
        "viewer"
    } else if path.starts_with("/api/v1/projects")
        || path.starts_with("/api/v1/tags")
        || path == "/api/v1/preview"
    {
        "operator"
    } else {
        "admin"
    }
}

/// A new user with `role`, logged in on its own client.
async fn user(server: &TestServer, name: &str, role: &str) -> Api {
    server
        .api
        .post_ok(
            "/api/v1/users",
            json!({"username": name, "password": PASSWORD, "role": role}),
            StatusCode::CREATED,
        )
        .await;
    logged_in(server, name, PASSWORD).await
}

async fn logged_in(server: &TestServer, name: &str, password: &str) -> Api {
    let api = Api::new(&server.base);
    let me = api
        .post_ok(
            "/api/v1/session",
            json!({"username": name, "password": password}),
            StatusCode::OK,
        )
        .await;
    assert_eq!(me["username"], name);
    api
}

async fn try_operation(api: &Api, method: &str, path: &str) -> (StatusCode, Value) {
    let path = path
        .replace("{id}", "x")
        .replace("{username}", "nobody")
        .replace("{db}", "x")
        .replace("{table}", "x");
    let method: Method = method.to_uppercase().parse().unwrap();
    let mut req = api
        .client
        .request(method.clone(), format!("{}{path}", api.base));
    if path == "/api/v1/projects/import" {
        req = req.header("content-type", "text/plain").body("x = 1");
    } else if method != Method::GET && method != Method::DELETE {
        req = req.json(&json!({}));
    }
    api.send(req).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_operation_refuses_a_role_below_the_one_it_needs() {
    let server = TestServer::start("roles").await;
    let viewer = user(&server, "vera", "viewer").await;
    let operator = user(&server, "otto", "operator").await;
    assert_eq!(viewer.get("/api/v1/me").await["role"], "viewer");
    assert_eq!(operator.get("/api/v1/me").await["role"], "operator");

    let doc = server.api.get("/api/v1/openapi.json").await;
    let mut checked = 0;
    let mut logout = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(declared) = op.get("x-obsync-role").and_then(Value::as_str) else {
                // Only the public operations carry no role.
                assert!(
                    path == "/api/v1/health" || (path == "/api/v1/session" && method == "post"),
                    "{method} {path} declares no role"
                );
                continue;
            };
            assert_eq!(declared, expected_role(method, path), "{method} {path}");
            // What a lower role gets is documented, for clients and schemathesis alike.
            assert!(
                rank(declared) == rank("viewer") || op["responses"].get("403").is_some(),
                "{method} {path}: a lower role's 403 is not documented"
            );
            if path == "/api/v1/session" && method == "delete" {
                logout.push((method.clone(), path.clone()));
                continue;
            }
            for (who, api) in [("viewer", &viewer), ("operator", &operator)] {
                let (status, body) = try_operation(api, method, path).await;
                let refused = status == StatusCode::FORBIDDEN && body["code"] == "FORBIDDEN_ROLE";
                assert_eq!(
                    refused,
                    rank(who) < rank(declared),
                    "{who} {method} {path}: {status} {body}"
                );
                checked += 1;
            }
        }
    }
    assert!(checked > 60, "only {checked} calls");
    for (method, path) in logout {
        for api in [&viewer, &operator] {
            assert_eq!(
                try_operation(api, &method, &path).await.0,
                StatusCode::NO_CONTENT
            );
        }
    }

    // The OMS shim maps its actions onto the same roles.
    let viewer = logged_in(&server, "vera", PASSWORD).await;
    let operator = logged_in(&server, "otto", PASSWORD).await;
    let oms = |api: &Api, action: &str| {
        let api = api.clone();
        let action = action.to_string();
        async move {
            api.post_ok(
                &format!("/api/v2?Action={action}"),
                json!({"id": "x", "name": "k", "endpoint": "127.0.0.1:1"}),
                StatusCode::OK,
            )
            .await["errorDetail"]["code"]
                .clone()
        }
    };
    assert_eq!(oms(&viewer, "ListProjects").await, Value::Null);
    assert_eq!(oms(&viewer, "StartProject").await, "FORBIDDEN_ROLE");
    assert_eq!(oms(&operator, "StartProject").await, "NOT_FOUND");
    assert_eq!(
        oms(&operator, "CreateKafkaDataSource").await,
        "FORBIDDEN_ROLE"
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_passwords_tokens_and_the_audit_trail() {
    let server = TestServer::start("users").await;
    let admin = &server.api;

    // Passwords have a minimum length, said in the error; names are checked.
    let (status, body) = admin
        .post(
            "/api/v1/users",
            json!({"username": "amy", "password": "short", "role": "viewer"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("WEAK_PASSWORD"))
    );
    assert!(body["message"].as_str().unwrap().contains("12"), "{body}");
    let (status, _) = admin
        .post(
            "/api/v1/users",
            json!({"username": "a b", "password": PASSWORD, "role": "viewer"}),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let amy = user(&server, "amy", "operator").await;
    let (status, _) = admin
        .post(
            "/api/v1/users",
            json!({"username": "amy", "password": PASSWORD, "role": "viewer"}),
        )
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // The last admin can be neither demoted nor deleted; another admin lifts that.
    let (status, body) = admin
        .call(
            Method::PUT,
            "/api/v1/users/admin",
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("LAST_ADMIN"))
    );
    let (status, _) = admin
        .call(Method::DELETE, "/api/v1/users/admin", None)
        .await;
    assert_eq!(status, StatusCode::CONFLICT);

    // A role change applies to the next request.
    assert_eq!(amy.get("/api/v1/me").await["role"], "operator");
    let (status, _) = admin
        .call(
            Method::PUT,
            "/api/v1/users/amy",
            Some(json!({"role": "viewer"})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(amy.get("/api/v1/me").await["role"], "viewer");

    // Password change: needs the current password, ends the other sessions only.
    let amy_elsewhere = logged_in(&server, "amy", PASSWORD).await;
    let new_password = "another-long-pw-2";
    let (status, body) = amy
        .call(
            Method::PUT,
            "/api/v1/me/password",
            Some(json!({"current_password": "wrong-wrong-wrong", "new_password": new_password})),
        )
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("current_password"))
    );
    let (status, body) = amy
        .call(
            Method::PUT,
            "/api/v1/me/password",
            Some(json!({"current_password": PASSWORD, "new_password": "short"})),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("WEAK_PASSWORD"))
    );
    let (status, _) = amy
        .call(
            Method::PUT,
            "/api/v1/me/password",
            Some(json!({"current_password": PASSWORD, "new_password": new_password})),
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(amy.get("/api/v1/me").await["username"], "amy");
    let (status, _) = amy_elsewhere.call(Method::GET, "/api/v1/me", None).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "the other session survived"
    );
    let (status, _) = Api::new(&server.base)
        .post(
            "/api/v1/session",
            json!({"username": "amy", "password": PASSWORD}),
        )
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    logged_in(&server, "amy", new_password).await;

    // API tokens: expiry chosen within 1-365 days, at most the user's role, and a token
    // cannot create tokens.
    for days in [0, 366] {
        let (status, body) = amy
            .post(
                "/api/v1/tokens",
                json!({"name": "ci", "expires_in_days": days}),
            )
            .await;
        assert_eq!(
            (status, body["field"].as_str()),
            (StatusCode::BAD_REQUEST, Some("expires_in_days"))
        );
    }
    let (status, body) = amy
        .post("/api/v1/tokens", json!({"name": "ci", "role": "admin"}))
        .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("role"))
    );
    let token = amy
        .post_ok(
            "/api/v1/tokens",
            json!({"name": "ci", "expires_in_days": 7}),
            StatusCode::CREATED,
        )
        .await;
    assert_eq!(token["role"], "viewer");
    let expires =
        chrono::DateTime::parse_from_rfc3339(token["expires_at"].as_str().unwrap()).unwrap();
    let days = (expires.timestamp() - chrono::Utc::now().timestamp()) / 86_400;
    assert!((6..=7).contains(&days), "{token}");
    let secret = token["token"].as_str().unwrap().to_string();
    let bearer = |method: Method, path: &str| {
        amy.client
            .request(method, format!("{}{path}", server.base))
            .bearer_auth(&secret)
    };
    let (status, me) = amy.send(bearer(Method::GET, "/api/v1/me")).await;
    assert_eq!(
        (status, me["role"].as_str()),
        (StatusCode::OK, Some("viewer"))
    );
    let (status, body) = amy
        .send(bearer(Method::POST, "/api/v1/tokens").json(&json!({"name": "more"})))
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("SESSION_REQUIRED"))
    );
    let listed = amy.get("/api/v1/tokens").await;
    assert!(listed["items"][0]["last_used_at"].is_string(), "{listed}");
    assert_eq!(listed["items"][0]["token"], Value::Null);

    // Deleting the user ends its sessions and tokens.
    let (status, _) = admin.call(Method::DELETE, "/api/v1/users/amy", None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        amy.send(bearer(Method::GET, "/api/v1/me")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        amy.call(Method::GET, "/api/v1/me", None).await.0,
        StatusCode::UNAUTHORIZED
    );

    // Every change is in the audit trail with who and from where.
    let audit = admin.get("/api/v1/audit?page_size=150").await;
    let items = audit["items"].as_array().unwrap();
    for (subject, actor, text) in [
        ("user", "admin", "created user \"amy\" (operator)"),
        ("user", "admin", "set the role of \"amy\" to viewer"),
        ("user", "amy", "changed the own password"),
        ("token", "amy", "created API token \"ci\""),
        ("user", "admin", "deleted user \"amy\""),
    ] {
        assert!(
            items.iter().any(|e| e["subject"] == subject
                && e["actor"] == actor
                && e["client"] == "127.0.0.1"
                && e["message"].as_str().unwrap().starts_with(text)),
            "{subject} {actor} {text}: {audit}"
        );
    }
    assert!(!admin.all_bodies().contains(PASSWORD) && !admin.all_bodies().contains(new_password));
    server.stop().await;
}
