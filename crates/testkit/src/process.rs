//! A server process a private instance starts, stops, kills and restarts.

use std::ffi::OsString;
use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How often readiness and exit are polled.
const POLL: Duration = Duration::from_millis(100);
/// Lines of each log shown when a server fails.
const LOG_TAIL_LINES: usize = 40;

/// One server binary with fixed arguments, run as a child of the test process.
///
/// The child stays in the test's process group, so an interrupted `cargo test` takes it
/// down too; its pid is also written to `pid_file`, where `scripts/services down` finds
/// instances whose test died without cleaning up.
pub(crate) struct ServerProcess {
    /// What the messages call it: "private MariaDB on port 40123".
    label: String,
    program: PathBuf,
    args: Vec<OsString>,
    /// The child's stdout and stderr; more logs may be listed in `extra_logs`.
    output_log: PathBuf,
    extra_logs: Vec<PathBuf>,
    env: Vec<(OsString, OsString)>,
    pid_file: PathBuf,
    child: Option<Child>,
}

impl ServerProcess {
    pub(crate) fn new(
        label: String,
        program: PathBuf,
        args: Vec<OsString>,
        output_log: PathBuf,
        pid_file: PathBuf,
    ) -> ServerProcess {
        ServerProcess {
            label,
            program,
            args,
            output_log,
            extra_logs: Vec::new(),
            env: Vec::new(),
            pid_file,
            child: None,
        }
    }

    /// Logs besides stdout/stderr whose tail a failure should show.
    pub(crate) fn with_extra_log(mut self, log: PathBuf) -> ServerProcess {
        self.extra_logs.push(log);
        self
    }

    /// Environment variables the process gets besides the test's own.
    pub(crate) fn with_env(mut self, env: Vec<(OsString, OsString)>) -> ServerProcess {
        self.env = env;
        self
    }

    /// Starts the process; call [`ServerProcess::wait_until`] for readiness.
    ///
    /// # Panics
    /// If it is already running or cannot be spawned.
    pub(crate) fn start(&mut self) {
        assert!(!self.is_running(), "{} is already running", self.label);
        let log = File::options()
            .create(true)
            .append(true)
            .open(&self.output_log)
            .unwrap_or_else(|e| panic!("opening {}: {e}", self.output_log.display()));
        let log_err = log.try_clone().expect("cloning a log file handle");
        let child = Command::new(&self.program)
            .args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_err)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.program.display()));
        std::fs::write(&self.pid_file, child.id().to_string())
            .unwrap_or_else(|e| panic!("writing {}: {e}", self.pid_file.display()));
        self.child = Some(child);
    }

    pub(crate) fn is_running(&mut self) -> bool {
        match &mut self.child {
            None => false,
            Some(child) => matches!(child.try_wait(), Ok(None)),
        }
    }

    /// Polls `ready` until it returns true.
    ///
    /// # Panics
    /// If the process exits first, or `timeout` passes (then the process is killed). The
    /// message shows the tail of its logs.
    pub(crate) fn wait_until(&mut self, timeout: Duration, mut ready: impl FnMut() -> bool) {
        let start = Instant::now();
        loop {
            if ready() {
                return;
            }
            if !self.is_running() {
                let status = self.child.take().and_then(|mut c| c.wait().ok());
                panic!(
                    "{} exited while starting ({status:?})\n{}",
                    self.label,
                    self.log_tails()
                );
            }
            if start.elapsed() > timeout {
                self.kill();
                panic!(
                    "{} did not become ready within {timeout:?}\n{}",
                    self.label,
                    self.log_tails()
                );
            }
            std::thread::sleep(POLL);
        }
    }

    /// SIGTERM, then waits for the exit: the server's clean shutdown.
    ///
    /// # Panics
    /// If it is still running after `timeout` (it is then killed).
    pub(crate) fn terminate(&mut self, timeout: Duration) {
        let Some(child) = &mut self.child else { return };
        // std only sends SIGKILL; `kill` from procps/util-linux is on every Linux machine.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(child.id().to_string())
            .status();
        let start = Instant::now();
        while matches!(child.try_wait(), Ok(None)) {
            if start.elapsed() > timeout {
                self.kill();
                panic!(
                    "{} ignored SIGTERM for {timeout:?}; killed\n{}",
                    self.label,
                    self.log_tails()
                );
            }
            std::thread::sleep(POLL);
        }
        self.child = None;
        let _ = std::fs::remove_file(&self.pid_file);
    }

    /// SIGKILL, and waits until the process is gone.
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_file(&self.pid_file);
    }

    fn log_tails(&self) -> String {
        std::iter::once(&self.output_log)
            .chain(&self.extra_logs)
            .map(|path| {
                format!(
                    "----- last lines of {} -----\n{}",
                    path.display(),
                    tail(path)
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

fn tail(path: &Path) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
        }
        Err(e) => format!("(cannot read: {e})"),
    }
}

/// A TCP port on 127.0.0.1 that nothing listens on right now.
///
/// The port is free when this returns; another process may still take it before the server
/// binds it, which is rare enough for tests.
pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding 127.0.0.1:0 to find a free port")
}

/// Whether this process runs as root (uid 0), read without libc.
pub(crate) fn is_root() -> bool {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// Runs a command to completion; panics with its output when it fails.
pub(crate) fn run_checked(cmd: &mut Command, what: &str) -> String {
    let output = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{what}: cannot run {:?}: {e}", cmd.get_program()));
    if !output.status.success() {
        panic!(
            "{what} failed ({}):\n{}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    String::from_utf8_lossy(&output.stdout).into_owned()
}
