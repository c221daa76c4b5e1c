//! `obsync server` under a low open-files limit, flooded with silent connections (about
//! the attack that stopped the API: 130 idle sockets on a 128-descriptor limit). The
//! connection cap keeps accepting from exhausting descriptors, the idle timeout frees the
//! slots, and the API answers again without a restart.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One `GET /api/v1/health`; the status line, or `None` when no answer came in `timeout`.
fn health(addr: &str, timeout: Duration) -> Option<String> {
    let mut stream = TcpStream::connect_timeout(&addr.parse().ok()?, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream
        .write_all(b"GET /api/v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    answer.lines().next().map(str::to_string)
}

#[test]
fn the_api_answers_again_after_a_flood_of_silent_connections_at_the_fd_limit() {
    let dir = std::env::temp_dir().join(format!("obsync-fd-limit-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let addr = format!("127.0.0.1:{}", free_port());
    // prlimit (util-linux) sets both limits, so the server cannot raise its soft limit.
    let server = Running(
        Command::new("prlimit")
            .args(["--nofile=128:128", "--"])
            .arg(env!("CARGO_BIN_EXE_obsync"))
            .args([
                "server",
                "--listen",
                &addr,
                "--idle-timeout",
                "2",
                "--data-dir",
            ])
            .arg(&dir)
            .env("OBSYNC_ADMIN_PASSWORD", "fd-limit-test-password")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prlimit runs obsync server"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while health(&addr, Duration::from_secs(1)).is_none() {
        assert!(Instant::now() < deadline, "the server did not start");
        std::thread::sleep(Duration::from_millis(200));
    }

    // More silent clients than the process has descriptors.
    let silent: Vec<TcpStream> = (0..200)
        .filter_map(|_| TcpStream::connect(&addr).ok())
        .collect();
    assert!(
        silent.len() > 128,
        "only {} connections opened",
        silent.len()
    );

    // The API answers while they wait (slots freed by the idle timeout) ...
    let started = Instant::now();
    let mut answer = None;
    while started.elapsed() < Duration::from_secs(40) {
        answer = health(&addr, Duration::from_secs(3));
        if answer.is_some() {
            break;
        }
    }
    assert_eq!(
        answer.as_deref(),
        Some("HTTP/1.1 200 OK"),
        "no answer within 40 s of the flood"
    );
    // ... and the silent ones are all closed by the server in the end.
    let deadline = Instant::now() + Duration::from_secs(40);
    let mut still_open = 0;
    for mut stream in silent {
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        stream.set_read_timeout(Some(left)).unwrap();
        let mut buf = [0u8; 64];
        if let Err(e) = stream.read(&mut buf) {
            if e.kind() != std::io::ErrorKind::ConnectionReset {
                still_open += 1;
            }
        }
    }
    assert_eq!(still_open, 0, "silent connections left open");
    assert_eq!(
        health(&addr, Duration::from_secs(5)).as_deref(),
        Some("HTTP/1.1 200 OK")
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
