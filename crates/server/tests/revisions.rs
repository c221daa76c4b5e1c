//! Compare-and-swap over the API: every project and data source has a revision, shown as
//! its `ETag`; a change sent with `If-Match` applies only to that revision, so of two
//! clients editing the same record one gets 409 instead of overwriting the other.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use support::{Api, TestServer};

/// Data sources that need no running service: nothing here connects.
async fn datasources(api: &Api) -> (String, String) {
    let src = api
        .post_ok(
            "/api/v1/datasources",
            json!({"name": "maria", "kind": "mariadb",
                   "source": {"host": "127.0.0.1", "port": 1, "user": "u", "password": "pw-1"}}),
            StatusCode::CREATED,
        )
        .await;
    let kafka = api
        .post_ok(
            "/api/v1/datasources",
            json!({"name": "kafka", "kind": "kafka",
                   "kafka": {"bootstrap_servers": "127.0.0.1:2", "version": "3.x"}}),
            StatusCode::CREATED,
        )
        .await;
    (
        src["id"].as_str().unwrap().into(),
        kafka["id"].as_str().unwrap().into(),
    )
}

/// A request with `If-Match: "<revision>"`; the status, `ETag` and body.
async fn send_if(
    api: &Api,
    method: Method,
    path: &str,
    revision: &str,
    body: Option<Value>,
) -> (StatusCode, Option<String>, Value) {
    let mut req = api
        .client
        .request(method, format!("{}{path}", api.base))
        .header("If-Match", revision);
    if let Some(body) = body {
        req = req.json(&body);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let etag = resp
        .headers()
        .get("etag")
        .map(|v| v.to_str().unwrap().to_string());
    let text = resp.text().await.unwrap();
    (
        status,
        etag,
        serde_json::from_str(&text).unwrap_or(Value::Null),
    )
}

async fn etag_of(api: &Api, path: &str) -> String {
    let resp = api
        .client
        .get(format!("{}{path}", api.base))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    resp.headers()["etag"].to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_concurrent_edits_of_one_revision_make_one_change_and_one_409() {
    let server = TestServer::start("revisions").await;
    let api = &server.api;
    let (src, kafka) = datasources(api).await;
    let spec = |name: &str| {
        json!({"spec": {"name": name, "source_id": src, "target_id": kafka,
                        "sync": {"types": ["full"]},
                        "objects": [{"tables": ["db.orders"], "topic": "orders"}]}})
    };
    let created = api
        .post_ok("/api/v1/projects", spec("first"), StatusCode::CREATED)
        .await;
    let id = created["id"].as_str().unwrap();
    let path = format!("/api/v1/projects/{id}");
    let read = etag_of(api, &path).await;
    assert_eq!(read, format!("\"{}\"", created["revision"]));

    let (a, b) = tokio::join!(
        send_if(api, Method::PUT, &path, &read, Some(spec("editA"))),
        send_if(api, Method::PUT, &path, &read, Some(spec("editB"))),
    );
    let mut statuses = [a.0, b.0];
    statuses.sort();
    assert_eq!(
        statuses,
        [StatusCode::OK, StatusCode::CONFLICT],
        "{a:?} {b:?}"
    );
    let (won, lost) = if a.0 == StatusCode::OK {
        (a, b)
    } else {
        (b, a)
    };
    assert_eq!(lost.2["code"], "REVISION_CONFLICT", "{lost:?}");
    let now = api.get(&path).await;
    assert_eq!(now["spec"]["name"], won.2["spec"]["name"]);
    let current = won.1.expect("the change answers its new ETag");
    assert_ne!(current, read);
    assert_eq!(etag_of(api, &path).await, current);

    // A delete decided on the old revision is refused; on the current one it happens.
    let (status, _, body) = send_if(api, Method::DELETE, &path, &read, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("REVISION_CONFLICT"))
    );
    let (status, _, _) = send_if(api, Method::DELETE, &path, &current, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Data sources: an edit of a stale revision is refused and changes nothing.
    let ds_path = format!("/api/v1/datasources/{src}");
    let ds_read = etag_of(api, &ds_path).await;
    let edit = |host: &str| {
        json!({"name": "maria", "kind": "mariadb",
               "source": {"host": host, "port": 1, "user": "u"}})
    };
    let (status, fresh, _) = send_if(
        api,
        Method::PUT,
        &ds_path,
        &ds_read,
        Some(edit("127.0.0.2")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, body) = send_if(
        api,
        Method::PUT,
        &ds_path,
        &ds_read,
        Some(edit("127.0.0.3")),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("REVISION_CONFLICT"))
    );
    assert_eq!(api.get(&ds_path).await["source"]["host"], "127.0.0.2");
    let (status, _, body) = send_if(api, Method::DELETE, &ds_path, &ds_read, None).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::CONFLICT, Some("REVISION_CONFLICT"))
    );
    let (status, _, _) = send_if(api, Method::DELETE, &ds_path, &fresh.unwrap(), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);

    // Not an ETag: a 400 on the header, not a silent change.
    let (status, _, body) = send_if(
        api,
        Method::PUT,
        &format!("/api/v1/datasources/{kafka}"),
        "3",
        Some(json!({})),
    )
    .await;
    assert_eq!(
        (status, body["field"].as_str()),
        (StatusCode::BAD_REQUEST, Some("If-Match"))
    );
    server.stop().await;
}
