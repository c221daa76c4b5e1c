//! How to reach the source server.

use crate::SqlError;
use mysql_async::{Conn, Opts, OptsBuilder, Pool};
use std::fmt;
use std::time::Duration;

/// Which kind of server is behind the endpoint; decides a few dialect details
/// (OceanBase query timeouts, MariaDB replication capabilities).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceFlavor {
    OceanBase,
    MySql,
    MariaDb,
}

impl fmt::Display for SourceFlavor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SourceFlavor::OceanBase => "oceanbase",
            SourceFlavor::MySql => "mysql",
            SourceFlavor::MariaDb => "mariadb",
        })
    }
}

/// Connection facts for one source server. `user` is passed as written, so an
/// OceanBase login such as `root@sys` or `user@tenant#cluster` works unchanged.
#[derive(Clone, PartialEq, Eq)]
pub struct SourceEndpoint {
    pub flavor: SourceFlavor,
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: String,
}

impl fmt::Debug for SourceEndpoint {
    // The password never reaches logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceEndpoint")
            .field("flavor", &self.flavor)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .finish_non_exhaustive()
    }
}

/// Failure to open a connection, with the address so the user knows which server.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to the {flavor} source at {host}:{port} as {user:?} (check host, port, user and password, and that the server is running)")]
pub struct ConnectError {
    pub flavor: SourceFlavor,
    pub host: String,
    pub port: u16,
    pub user: String,
    #[source]
    pub source: SqlError,
}

/// How long a connection attempt may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl SourceEndpoint {
    /// Connection options; every session runs in UTC so TIMESTAMP text is unambiguous.
    /// `setup` (not `init`) so the setting survives the reset a pool does when a
    /// connection comes back (`COM_RESET_CONNECTION` restores the server default zone,
    /// `+08:00` on OceanBase).
    pub fn opts(&self) -> Opts {
        OptsBuilder::default()
            .ip_or_hostname(self.host.clone())
            .tcp_port(self.port)
            .user(Some(self.user.clone()))
            .pass(Some(self.password.clone()))
            .prefer_socket(false)
            .setup(vec!["SET time_zone = '+00:00'".to_string()])
            .into()
    }

    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Opens one connection, failing after a bounded time when the host does not answer.
    pub async fn connect(&self) -> Result<Conn, ConnectError> {
        let attempt = tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(self.opts())).await;
        let result = match attempt {
            Ok(r) => r,
            Err(_) => Err(mysql_async::Error::Io(mysql_async::IoError::Io(
                std::io::Error::new(std::io::ErrorKind::TimedOut, "connection timed out"),
            ))),
        };
        result.map_err(|source| self.connect_error(source))
    }

    /// A pool for parallel snapshot readers.
    pub fn pool(&self) -> Pool {
        Pool::new(self.opts())
    }

    pub fn connect_error(&self, source: mysql_async::Error) -> ConnectError {
        ConnectError {
            flavor: self.flavor,
            host: self.host.clone(),
            port: self.port,
            user: self.user.clone(),
            source: source.into(),
        }
    }
}
