//! The MySQL server's own words reach the user once, at every edge: the run's error,
//! the status `last_error` and the precheck item.

mod support;

use obsync_model::{CheckStatus, ErrorChain};
use obsync_pipeline::{precheck, ProjectHandle, RunState};
use obsync_testkit::Services;
use std::time::Duration;

/// What MariaDB says to a wrong password (`ERROR 1045 (28000): Access denied for user …`).
const SERVER_TEXT: &str = "Access denied for user";

fn once(text: &str) {
    assert_eq!(
        text.matches(SERVER_TEXT).count(),
        1,
        "the server's text must appear exactly once: {text}"
    );
    assert!(text.contains("ERROR 1045 (28000)"), "{text}");
}

fn wrong_password() -> obsync_pipeline::Settings {
    let services = Services::load();
    let mut settings = support::settings(
        &services,
        "chain",
        r#"types = ["full"]"#,
        "\"chain_db.t\"",
        "chain_topic",
    );
    settings.source.password = "not-the-password".into();
    settings
}

#[tokio::test]
async fn a_failed_run_shows_the_server_error_once_in_its_error_and_status() {
    let dir = std::env::temp_dir().join(format!("obsync-chain-{}", std::process::id()));
    let handle = ProjectHandle::start(wrong_password(), dir.clone());
    let error = tokio::time::timeout(Duration::from_secs(60), handle.join())
        .await
        .expect("the run ends")
        .expect_err("a wrong password fails the run");
    once(&ErrorChain(&error).to_string());
    let status = handle.status();
    assert_eq!(status.state, RunState::Failed);
    once(&status.last_error.expect("last_error is set").to_string());
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn the_precheck_connect_item_shows_the_server_error_once() {
    let items = precheck::run(&wrong_password(), &support::no_state_dir()).await;
    let connect = items
        .iter()
        .find(|i| i.name == "source.connect")
        .expect("a source.connect item");
    assert_eq!(connect.status, CheckStatus::Fail);
    once(&connect.detail);
}
