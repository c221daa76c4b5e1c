//! The topic viewer (`GET /api/v1/projects/{id}/messages`) against the shared Kafka:
//! messages produced by kcat (an independent client) come back newest first with their
//! partition, offset, key and value; a key search finds one message among many; a
//! partition, a topic or a limit the project does not have is a 422 naming the field; and
//! the read writes nothing. (`roles.rs` checks that a viewer is refused.)

mod support;

use std::io::Write;
use std::process::{Command, Stdio};

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::*;

/// Produces `key:value` lines to `partition` of `topic` with kcat.
fn produce(bootstrap: &str, topic: &str, partition: u32, lines: &[String]) {
    let mut kcat = Command::new("kcat")
        .args(["-b", bootstrap, "-t", topic, "-P", "-K", ":", "-p"])
        .arg(partition.to_string())
        .stdin(Stdio::piped())
        .spawn()
        .expect("kcat runs");
    let mut stdin = kcat.stdin.take().unwrap();
    for line in lines {
        writeln!(stdin, "{line}").unwrap();
    }
    drop(stdin);
    assert!(kcat.wait().unwrap().success(), "kcat produced");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_topic_viewer_shows_the_latest_messages_and_finds_a_key() {
    let services = obsync_testkit::Services::load();
    let server = TestServer::start("topic_viewer").await;
    let api = &server.api;
    let (source, target) = create_datasources(api, &services).await;
    let topic = obsync_testkit::unique_name("viewer");
    services.create_topic(&topic, 2);
    let project = api
        .post_ok(
            "/api/v1/projects",
            json!({"spec": spec(&obsync_testkit::unique_name("viewer").replace(['-', '_'], ""),
                &source, &target, &["full"], &["shop.orders".to_string()], &topic)}),
            StatusCode::CREATED,
        )
        .await;
    let id = project["id"].as_str().unwrap();

    // 30 messages in partition 0, 30 in partition 1; one JSON value, one tombstone-free key
    // to search for in the middle of partition 1.
    let p0: Vec<String> = (0..30).map(|i| format!("k0-{i}:value-0-{i}")).collect();
    let mut p1: Vec<String> = (0..30).map(|i| format!("k1-{i}:value-1-{i}")).collect();
    p1[12] = r#"needle-42:{"id":42,"note":"found"}"#.to_string();
    produce(&services.kafka_bootstrap, &topic, 0, &p0);
    produce(&services.kafka_bootstrap, &topic, 1, &p1);

    let path = |q: &str| format!("/api/v1/projects/{id}/messages?topic={topic}{q}");
    let page = api.get(&path("&limit=5")).await;
    assert_eq!(page["partitions"], 2);
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 5, "{page}");
    // The newest of each partition are among them; each is the tail of its partition.
    for m in items {
        let partition = m["partition"].as_i64().unwrap();
        let offset = m["offset"].as_i64().unwrap();
        assert!(offset >= 25, "only the latest messages: {m}");
        assert_eq!(
            m["key"],
            Value::from(format!("k{partition}-{offset}")),
            "key as produced: {m}"
        );
        assert_eq!(
            m["value"],
            Value::from(format!("value-{partition}-{offset}"))
        );
        assert!(m["timestamp"].as_str().unwrap().ends_with('Z'));
    }
    let times: Vec<&str> = items
        .iter()
        .map(|m| m["timestamp"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");

    // One partition only.
    let one = api.get(&path("&partition=1&limit=200")).await;
    let items = one["items"].as_array().unwrap();
    assert_eq!(items.len(), 30);
    assert!(items.iter().all(|m| m["partition"] == 1));

    // A key search finds the one message, with its JSON value intact.
    let found = api.get(&path("&key=needle")).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    assert_eq!(found["items"][0]["offset"], 12);
    assert_eq!(found["items"][0]["value"], r#"{"id":42,"note":"found"}"#);
    assert_eq!(found["scanned"], 60);

    // What the project does not have is refused, naming the field.
    for (query, field) in [
        ("&partition=7", "partition"),
        ("&limit=0", "limit"),
        ("&limit=201", "limit"),
    ] {
        let (status, body) = api.call(reqwest::Method::GET, &path(query), None).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {body}");
        assert_eq!(body["field"], field, "{body}");
    }
    let (status, body) = api
        .call(
            reqwest::Method::GET,
            &format!("/api/v1/projects/{id}/messages?topic=__consumer_offsets"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["field"], "topic");
    assert!(body["advice"].as_str().unwrap().contains(&topic), "{body}");

    // Reading wrote nothing: the topic still holds its 60 messages.
    assert_eq!(
        obsync_testkit::kcat::consume(&services.kafka_bootstrap, &topic).len(),
        60
    );
    server.stop().await;
}
