//! `obsync server reset-admin-password` as an operator runs it: refused while the server
//! runs, then (server stopped) the new password from stdin or the environment, never
//! printed; and the warning when OBSYNC_ADMIN_PASSWORD is not the stored password.

mod support;

use std::io::Write;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::json;
use support::server::*;
use support::*;

fn reset(dir: &std::path::Path, env_password: Option<&str>, stdin: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_obsync"));
    cmd.args(["server", "reset-admin-password", "--data-dir"])
        .arg(dir)
        .env_remove("OBSYNC_ADMIN_PASSWORD")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(p) = env_password {
        cmd.env("OBSYNC_ADMIN_PASSWORD", p);
    }
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn login_status(base: &str, password: &str) -> StatusCode {
    reqwest::blocking::Client::new()
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"username": "admin", "password": password}))
        .send()
        .unwrap()
        .status()
}

#[test]
fn reset_admin_password_works_on_a_stopped_server_and_prints_no_secret() {
    let dir = scratch_dir("reset_admin").join("data");
    let missing = reset(&dir, None, "whatever-long-pw\n");
    assert!(!missing.status.success());
    assert!(
        text(&missing).contains("holds no obsync server data"),
        "{}",
        text(&missing)
    );

    let port = free_port();
    let mut server = ServerProcess::start(&dir, port);
    let running = reset(&dir, None, "from-stdin-password-1\n");
    assert!(!running.status.success());
    assert!(
        text(&running).contains("stop it first"),
        "{}",
        text(&running)
    );
    server.signal("TERM");
    server.wait_exit(Duration::from_secs(30));

    let short = reset(&dir, None, "short\n");
    assert!(!short.status.success());
    assert!(text(&short).contains("at least 12"), "{}", text(&short));

    let from_stdin = "from-stdin-password-1";
    let out = reset(&dir, None, &format!("{from_stdin}\n"));
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(from_stdin), "the password was printed");

    // The server starts with OBSYNC_ADMIN_PASSWORD still the old one: it warns, and the
    // reset password is the one that works.
    let mut server = ServerProcess::start(&dir, port);
    assert_eq!(login_status(&server.base, from_stdin), StatusCode::OK);
    assert_eq!(
        login_status(&server.base, ADMIN_PASSWORD),
        StatusCode::UNAUTHORIZED
    );
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(
        log.contains("OBSYNC_ADMIN_PASSWORD is not the stored password"),
        "{log}"
    );
    server.signal("TERM");
    server.wait_exit(Duration::from_secs(30));

    // From the environment, which then matches again: no warning at the next start.
    let out = reset(&dir, Some(ADMIN_PASSWORD), "");
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).contains(ADMIN_PASSWORD));
    std::fs::write(&server.log, "").unwrap();
    let server = ServerProcess::start(&dir, port);
    assert_eq!(login_status(&server.base, ADMIN_PASSWORD), StatusCode::OK);
    let log = std::fs::read_to_string(&server.log).unwrap();
    assert!(!log.contains("is not the stored password"), "{log}");
}
