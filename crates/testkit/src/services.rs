//! The shared services `scripts/services up` runs, as typed endpoints.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// Overrides where [`Services::load`] reads the services file from.
pub const SERVICES_ENV_VAR: &str = "OBSYNC_SERVICES_ENV";

/// The message of every test that needs the services when they are not running.
const NOT_RUNNING: &str =
    "services are not running: start them with scripts/services up (or run make test)";

/// Endpoints of the shared local services, read from `.obsync-dev/services.env`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Services {
    /// `.obsync-dev` in the repo root: home of all service data, and of private instances.
    pub dev_dir: PathBuf,
    /// `host:port` of the single-node Kafka 3.9 broker (PLAINTEXT, topic auto-creation off).
    pub kafka_bootstrap: String,
    /// Directory of the Kafka jars, for `java -cp '<kafka_libs>/*'` tools and private brokers.
    pub kafka_libs: PathBuf,
    /// MariaDB with a row binlog, as the `obsync` user (all privileges, with grant option).
    pub mariadb: SqlServer,
    /// The same MariaDB as `root` over TCP.
    pub mariadb_root: SqlServer,
    /// seekdb (OceanBase 4.3 kernel, MySQL protocol, no binlog) as `root`, empty password.
    pub seekdb: SqlServer,
    /// The `mariadbd` binary the shared MariaDB runs, for private instances.
    pub mariadbd: PathBuf,
    /// The `mariadb-install-db` script, for private instances.
    pub mariadb_install_db: PathBuf,
    /// The schema registry's Confluent-compatible API (`scripts/services start
    /// schema-registry`), for the Avro tests; `OBSYNC_SCHEMA_REGISTRY_URL` overrides it.
    pub schema_registry_url: Option<String>,
}

impl Services {
    /// Reads the services file of this checkout.
    ///
    /// The file is `$OBSYNC_SERVICES_ENV` when set, else `.obsync-dev/services.env` in the
    /// repo root, found by walking up from the test crate's `CARGO_MANIFEST_DIR`.
    ///
    /// # Panics
    /// When the file is missing (the services are not running) or lacks a setting: tests
    /// that need the services fail, they never skip.
    pub fn load() -> Services {
        Services::load_from(&services_env_path())
    }

    /// Reads the given services file. Panics like [`Services::load`].
    pub fn load_from(path: &Path) -> Services {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                panic!("{NOT_RUNNING} (no {})", path.display())
            }
            Err(e) => panic!("reading {}: {e}", path.display()),
        };
        Services::parse(&text).unwrap_or_else(|missing| {
            panic!(
                "{} has no {missing}: rerun scripts/services up to rewrite it",
                path.display()
            )
        })
    }

    /// Parses `KEY=value` lines; `Err` names the first missing setting.
    fn parse(text: &str) -> Result<Services, String> {
        let vars = parse_env(text);
        let get = |key: &str| vars.get(key).cloned().ok_or_else(|| key.to_owned());
        let port = |key: &str| {
            get(key)?
                .parse::<u16>()
                .map_err(|_| format!("valid port in {key}"))
        };
        Ok(Services {
            dev_dir: get("OBSYNC_DEV_DIR")?.into(),
            kafka_bootstrap: get("KAFKA_BOOTSTRAP")?,
            kafka_libs: get("KAFKA_LIBS")?.into(),
            mariadb: SqlServer {
                host: get("MARIADB_HOST")?,
                port: port("MARIADB_PORT")?,
                user: get("MARIADB_USER")?,
                password: get("MARIADB_PASSWORD")?,
            },
            mariadb_root: SqlServer {
                host: get("MARIADB_HOST")?,
                port: port("MARIADB_PORT")?,
                user: get("MARIADB_ROOT_USER")?,
                password: get("MARIADB_ROOT_PASSWORD")?,
            },
            seekdb: SqlServer {
                host: get("SEEKDB_HOST")?,
                port: port("SEEKDB_PORT")?,
                user: get("SEEKDB_USER")?,
                password: get("SEEKDB_PASSWORD")?,
            },
            mariadbd: get("MARIADBD")?.into(),
            mariadb_install_db: get("MARIADB_INSTALL_DB")?.into(),
            schema_registry_url: std::env::var("OBSYNC_SCHEMA_REGISTRY_URL")
                .ok()
                .or_else(|| vars.get("SCHEMA_REGISTRY_URL").cloned()),
        })
    }

    /// Creates `topic` with `partitions` partitions (replication factor 1) on the shared
    /// broker. Panics with Kafka's message when that fails.
    pub fn create_topic(&self, topic: &str, partitions: u32) {
        crate::kafka::create_topic(&self.kafka_libs, &self.kafka_bootstrap, topic, partitions);
    }
}

fn services_env_path() -> PathBuf {
    if let Some(path) = std::env::var_os(SERVICES_ENV_VAR) {
        return PathBuf::from(path);
    }
    // At run time cargo sets CARGO_MANIFEST_DIR to the crate under test; the compile-time
    // value (this crate) is the fallback for binaries run by hand.
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    repo_root(&start).join(".obsync-dev").join("services.env")
}

/// The nearest ancestor holding `.obsync-dev`, else the outermost one with a Cargo.toml (the
/// workspace root), so the "not running" message names the right place.
fn repo_root(start: &Path) -> PathBuf {
    if let Some(dir) = start.ancestors().find(|d| d.join(".obsync-dev").is_dir()) {
        return dir.to_path_buf();
    }
    start
        .ancestors()
        .filter(|d| d.join("Cargo.toml").is_file())
        .last()
        .unwrap_or(start)
        .to_path_buf()
}

/// Shell `KEY=value` lines; `#` comments and blank lines skipped, one level of quotes removed.
fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .filter_map(|line| line.split_once('='))
        .map(|(key, value)| {
            let value = value.trim();
            let unquoted = ['"', '\'']
                .iter()
                .find_map(|q| value.strip_prefix(*q).and_then(|v| v.strip_suffix(*q)))
                .unwrap_or(value);
            (key.trim().to_owned(), unquoted.to_owned())
        })
        .collect()
}

/// A MySQL-protocol server and the account to use on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SqlServer {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
}

impl SqlServer {
    /// `mysql://user:password@host:port` (no `:password` when it is empty). User and
    /// password are used as they are: the local services' accounts need no escaping.
    pub fn url(&self) -> String {
        let auth = if self.password.is_empty() {
            self.user.clone()
        } else {
            format!("{}:{}", self.user, self.password)
        };
        format!("mysql://{auth}@{}:{}", self.host, self.port)
    }

    /// [`SqlServer::url`] with a default database.
    pub fn url_with_db(&self, database: &str) -> String {
        format!("{}/{database}", self.url())
    }

    /// The `mariadb` CLI logged in over TCP, in batch mode without column names: one row per
    /// line, columns separated by tabs, NULL as `NULL`, tabs, newlines and backslashes in
    /// values escaped as `\t`, `\n`, `\\`.
    pub fn cli(&self) -> Command {
        let mut cmd = Command::new("mariadb");
        cmd.arg("--no-defaults")
            .arg("--protocol=tcp")
            .arg(format!("--host={}", self.host))
            .arg(format!("--port={}", self.port))
            .arg(format!("--user={}", self.user))
            .arg("--batch")
            .arg("--skip-column-names")
            .arg("--connect-timeout=10");
        if !self.password.is_empty() {
            cmd.arg(format!("--password={}", self.password));
        }
        cmd
    }

    /// Runs SQL statements (separated by `;`), returning the CLI's output, or its error
    /// message when a statement fails or the server cannot be reached.
    pub fn try_query(&self, sql: &str) -> Result<String, String> {
        let output = run_with_stdin(self.cli(), sql.as_bytes()).map_err(|e| {
            format!("running the mariadb CLI: {e} (scripts/install-prereqs installs it)")
        })?;
        if output.status.success() {
            Ok(String::from_utf8_lossy(&output.stdout).into_owned())
        } else {
            Err(String::from_utf8_lossy(&output.stderr).trim().to_owned())
        }
    }

    /// Runs SQL statements and returns the rows of the last result, each split into columns.
    ///
    /// # Panics
    /// With the server's message when a statement fails.
    pub fn query(&self, sql: &str) -> Vec<Vec<String>> {
        self.try_query(sql)
            .unwrap_or_else(|e| panic!("SQL on {}:{} failed: {e}\n{sql}", self.host, self.port))
            .lines()
            .map(|line| line.split('\t').map(str::to_owned).collect())
            .collect()
    }

    /// Runs SQL statements for their effect. Panics like [`SqlServer::query`].
    pub fn execute(&self, sql: &str) {
        self.query(sql);
    }
}

pub(crate) fn run_with_stdin(mut cmd: Command, input: &[u8]) -> std::io::Result<Output> {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    // Write from another thread: a large input could otherwise fill the pipe while the
    // child blocks on its own full stdout.
    let mut stdin = child.stdin.take().expect("stdin is piped");
    let input = input.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output()?;
    // A child that exits early closes its stdin; its exit status tells the real story.
    let _ = writer.join();
    Ok(output)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
# comment
OBSYNC_DEV_DIR=/repo/.obsync-dev
KAFKA_BOOTSTRAP=127.0.0.1:19092
KAFKA_LIBS='/repo/.obsync-dev/kafka/libs'
MARIADB_HOST=127.0.0.1
MARIADB_PORT=13306
MARIADB_USER=obsync
MARIADB_PASSWORD=obsync
MARIADB_ROOT_USER=root
MARIADB_ROOT_PASSWORD=\"r=1\"

SEEKDB_HOST=127.0.0.1
SEEKDB_PORT=12881
SEEKDB_USER=root
SEEKDB_PASSWORD=
MARIADBD=/usr/sbin/mariadbd
MARIADB_INSTALL_DB=/usr/bin/mariadb-install-db
";

    #[test]
    fn services_file_becomes_typed_endpoints() {
        let s = Services::parse(SAMPLE).unwrap();
        assert_eq!(s.kafka_bootstrap, "127.0.0.1:19092");
        assert_eq!(s.kafka_libs, PathBuf::from("/repo/.obsync-dev/kafka/libs"));
        assert_eq!(s.mariadb.port, 13306);
        assert_eq!(s.mariadb.url(), "mysql://obsync:obsync@127.0.0.1:13306");
        assert_eq!(s.mariadb_root.password, "r=1");
        assert_eq!(s.seekdb.password, "");
        assert_eq!(
            s.seekdb.url_with_db("test"),
            "mysql://root@127.0.0.1:12881/test"
        );
    }

    #[test]
    fn a_missing_setting_is_named() {
        let text = SAMPLE.replace("SEEKDB_PORT=12881\n", "");
        assert_eq!(Services::parse(&text).unwrap_err(), "SEEKDB_PORT");
    }

    #[test]
    fn a_bad_port_is_named() {
        let text = SAMPLE.replace("MARIADB_PORT=13306", "MARIADB_PORT=x");
        assert_eq!(
            Services::parse(&text).unwrap_err(),
            "valid port in MARIADB_PORT"
        );
    }

    #[test]
    #[should_panic(
        expected = "services are not running: start them with scripts/services up (or run make test)"
    )]
    fn a_missing_services_file_fails_the_test_with_the_way_out() {
        Services::load_from(Path::new("/nonexistent/.obsync-dev/services.env"));
    }

    #[test]
    fn repo_root_is_the_directory_holding_obsync_dev() {
        let base = std::env::temp_dir().join(crate::unique_name("root"));
        let crate_dir = base.join("crates").join("x");
        std::fs::create_dir_all(&crate_dir).unwrap();
        std::fs::create_dir_all(base.join(".obsync-dev")).unwrap();
        assert_eq!(repo_root(&crate_dir), base);
        std::fs::remove_dir_all(&base).unwrap();
    }
}
