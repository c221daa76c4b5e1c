//! A private, throwaway MariaDB for fault tests.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use crate::process::{free_port, is_root, run_checked, ServerProcess};
use crate::{unique_name, Services, SqlServer};

const HOST: &str = "127.0.0.1";
/// A private instance starts in about a second; the margin covers a machine busy compiling.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// A clean shutdown flushes InnoDB; seconds even under load.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// Unix socket paths are limited to 108 bytes; longer ones go to the temp directory.
const MAX_SOCKET_PATH: usize = 100;

/// A MariaDB server of its own (data directory under `.obsync-dev/private/`, a free port),
/// configured like the shared one: row binlog with full row images, server id 1, user
/// `obsync`/`obsync` with all privileges.
///
/// For tests that stop, kill or restart the server while obsync reads from it. Dropping it
/// kills the server and removes its directory.
///
/// ```no_run
/// let mut db = obsync_testkit::MariaDbInstance::spawn();
/// db.server().execute("CREATE DATABASE shop");
/// db.kill();
/// db.start(); // same data directory and port
/// ```
pub struct MariaDbInstance {
    dir: PathBuf,
    socket: PathBuf,
    port: u16,
    process: ServerProcess,
}

/// The TLS files of a private MariaDB (PEM), passed as `--ssl-ca`, `--ssl-cert` and
/// `--ssl-key`: with them the server offers TLS and checks client certificates (for users
/// created `REQUIRE X509`) against `ca`.
#[derive(Debug, Clone)]
pub struct MariaDbTls {
    /// The CA client certificates must be signed by.
    pub ca: PathBuf,
    /// The server's certificate.
    pub cert: PathBuf,
    /// The server certificate's private key.
    pub key: PathBuf,
}

impl MariaDbInstance {
    /// Creates a data directory, starts the server and waits until it answers.
    ///
    /// # Panics
    /// When the shared services are not set up (the binaries' paths come from there), or
    /// the server does not start (the message shows its log).
    pub fn spawn() -> MariaDbInstance {
        Self::spawn_with(None)
    }

    /// [`MariaDbInstance::spawn`] with TLS on.
    pub fn spawn_with_tls(tls: MariaDbTls) -> MariaDbInstance {
        Self::spawn_with(Some(tls))
    }

    fn spawn_with(tls: Option<MariaDbTls>) -> MariaDbInstance {
        let services = Services::load();
        let name = unique_name("mariadb");
        let dir = services.dev_dir.join("private").join(&name);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
        let data = dir.join("data");
        // A temporary directory of its own: bootstraps running side by side in a shared
        // /tmp were seen to lose their temporary tables ("Unknown table
        // 'mysql.tmp_user_sys'").
        let tmp = dir.join("tmp");
        std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("creating {}: {e}", tmp.display()));
        let mut install = Command::new(&services.mariadb_install_db);
        install
            .env("TMPDIR", &tmp)
            .arg("--no-defaults")
            .arg(format!("--datadir={}", data.display()))
            .arg("--auth-root-authentication-method=normal")
            .arg("--skip-test-db");
        if is_root() {
            install.arg("--user=root");
        }
        run_checked(&mut install, "mariadb-install-db for a private MariaDB");

        let socket = socket_path(&dir, &name);
        let port = free_port();
        let process = ServerProcess::new(
            format!("private MariaDB on port {port}"),
            services.mariadbd.clone(),
            server_args(&dir, &data, &socket, port, tls.as_ref()),
            dir.join("stdout.log"),
            dir.join("pid"),
        )
        .with_extra_log(dir.join("error.log"));
        let mut instance = MariaDbInstance {
            dir,
            socket,
            port,
            process,
        };
        instance.start();
        instance.create_users();
        instance
    }

    /// The TCP port, on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The host to connect to: `127.0.0.1`.
    pub fn host(&self) -> &str {
        HOST
    }

    /// The server as the `obsync` user (password `obsync`, all privileges).
    pub fn server(&self) -> SqlServer {
        SqlServer {
            host: HOST.to_owned(),
            port: self.port,
            user: "obsync".to_owned(),
            password: "obsync".to_owned(),
        }
    }

    /// `mysql://obsync:obsync@127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        self.server().url()
    }

    /// The instance's directory (data directory, logs).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Whether the server process is alive.
    pub fn is_running(&mut self) -> bool {
        self.process.is_running()
    }

    /// Starts the server on the same data directory and port and waits until it answers.
    ///
    /// # Panics
    /// If it is running already, or does not answer within a minute.
    pub fn start(&mut self) {
        self.process.start();
        let socket = self.socket.clone();
        self.process.wait_until(READY_TIMEOUT, || {
            root_cli(&socket)
                .arg("-e")
                .arg("SELECT 1")
                .output()
                .is_ok_and(|o| o.status.success())
        });
    }

    /// Clean shutdown (SIGTERM; InnoDB flushes, the binlog is closed). No-op when stopped.
    pub fn stop(&mut self) {
        self.process.terminate(STOP_TIMEOUT);
    }

    /// SIGKILL: a crash, for recovery tests. No-op when stopped.
    pub fn kill(&mut self) {
        self.process.kill();
    }

    fn create_users(&self) {
        let sql = "\
            CREATE USER 'obsync'@'127.0.0.1' IDENTIFIED BY 'obsync';
            CREATE USER 'obsync'@'localhost' IDENTIFIED BY 'obsync';
            GRANT ALL PRIVILEGES ON *.* TO 'obsync'@'127.0.0.1' WITH GRANT OPTION;
            GRANT ALL PRIVILEGES ON *.* TO 'obsync'@'localhost' WITH GRANT OPTION;
            GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'obsync'@'127.0.0.1';
            GRANT REPLICATION SLAVE, REPLICATION CLIENT ON *.* TO 'obsync'@'localhost';";
        run_checked(
            root_cli(&self.socket).arg("-e").arg(sql),
            "creating user obsync on a private MariaDB",
        );
    }
}

impl Drop for MariaDbInstance {
    fn drop(&mut self) {
        self.process.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
        let _ = std::fs::remove_file(&self.socket);
    }
}

/// The options of the shared MariaDB (scripts/services), on a private directory and port.
/// `binlog_row_metadata` stays at its default (NO_LOG) on purpose, as there.
fn server_args(
    dir: &Path,
    data: &Path,
    socket: &Path,
    port: u16,
    tls: Option<&MariaDbTls>,
) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "--no-defaults".into(),
        format!("--datadir={}", data.display()).into(),
        format!("--port={port}").into(),
        format!("--bind-address={HOST}").into(),
        format!("--socket={}", socket.display()).into(),
        format!("--pid-file={}", dir.join("mariadbd.pid").display()).into(),
        format!("--log-error={}", dir.join("error.log").display()).into(),
        format!("--tmpdir={}", dir.join("tmp").display()).into(),
        "--skip-name-resolve".into(),
        "--character-set-server=utf8mb4".into(),
        "--collation-server=utf8mb4_general_ci".into(),
        "--log-bin=mysql-bin".into(),
        "--binlog-format=ROW".into(),
        "--binlog-row-image=FULL".into(),
        "--server-id=1".into(),
        "--max-allowed-packet=64M".into(),
        // Smaller than the shared server's 256M: several private instances may run at once.
        "--innodb-buffer-pool-size=64M".into(),
    ];
    if let Some(tls) = tls {
        args.push(format!("--ssl-ca={}", tls.ca.display()).into());
        args.push(format!("--ssl-cert={}", tls.cert.display()).into());
        args.push(format!("--ssl-key={}", tls.key.display()).into());
    }
    if is_root() {
        args.push("--user=root".into());
    }
    args
}

fn socket_path(dir: &Path, name: &str) -> PathBuf {
    let socket = dir.join("mysqld.sock");
    if socket.as_os_str().len() <= MAX_SOCKET_PATH {
        socket
    } else {
        std::env::temp_dir().join(format!("{name}.sock"))
    }
}

/// `mariadb` as root over the Unix socket: root has no password on a private instance, and
/// the socket works before any TCP account exists.
fn root_cli(socket: &Path) -> Command {
    let mut cmd = Command::new("mariadb");
    cmd.arg("--no-defaults")
        .arg(format!("--socket={}", socket.display()))
        .arg("--user=root")
        .arg("--connect-timeout=5");
    cmd
}
