//! How to reach the source server.

use crate::tls::{SourceTls, TlsMode, TlsSetupError};
use crate::SqlError;
use mysql_async::{Conn, DriverError, IoError, Opts, OptsBuilder, Pool, SslOpts};
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
    /// TLS on every connection (`preferred` by default, as MySQL's clients do).
    pub tls: SourceTls,
}

impl fmt::Debug for SourceEndpoint {
    // The password never reaches logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceEndpoint")
            .field("flavor", &self.flavor)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("tls", &self.tls.mode)
            .finish_non_exhaustive()
    }
}

/// Failure to open a connection, with the address so the user knows which server.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to the {flavor} source at {host}:{port} as {user:?} ({}{})", advice(.source, *.tls), held_text(.held))]
pub struct ConnectError {
    pub flavor: SourceFlavor,
    pub host: String,
    pub port: u16,
    /// Boxed, as `held`: every connection result carries this type.
    pub user: Box<str>,
    /// The TLS mode in use.
    pub tls: TlsMode,
    /// When the server is full for want of connections: what this process held on it
    /// then ([`crate::usage`]; read at the refusal, as the run that holds them may be
    /// gone when the error is shown).
    pub held: Option<Box<crate::usage::Usage>>,
    #[source]
    pub source: ConnectFailure,
}

/// Why a connection could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ConnectFailure {
    /// The client library or the server refused.
    #[error(transparent)]
    Sql(#[from] SqlError),
    /// The TLS settings could not be used; nothing was sent. (Boxed: a rare failure
    /// should not make every connection result larger.)
    #[error(transparent)]
    TlsSetup(Box<TlsSetupError>),
}

impl From<TlsSetupError> for ConnectFailure {
    fn from(e: TlsSetupError) -> Self {
        ConnectFailure::TlsSetup(Box::new(e))
    }
}

impl ConnectError {
    /// The client library's error, when the failure came from it.
    pub fn sql(&self) -> Option<&SqlError> {
        match &self.source {
            ConnectFailure::Sql(e) => Some(e),
            ConnectFailure::TlsSetup(_) => None,
        }
    }

    /// Whether TLS failed: the settings, the server's lack of TLS, or the handshake
    /// (a certificate refused either way).
    pub fn is_tls(&self) -> bool {
        match &self.source {
            ConnectFailure::TlsSetup(_) => true,
            ConnectFailure::Sql(e) => is_tls_failure(e.inner()),
        }
    }
}

fn is_tls_failure(e: &mysql_async::Error) -> bool {
    matches!(
        e,
        mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer)
            | mysql_async::Error::Io(IoError::Tls(_))
    )
}

/// How long a connection attempt may take before it counts as unreachable.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

impl SourceEndpoint {
    /// Connection options; every session runs in UTC so TIMESTAMP text is unambiguous.
    /// `setup` (not `init`) so the setting survives the reset a pool does when a
    /// connection comes back (`COM_RESET_CONNECTION` restores the server default zone,
    /// `+08:00` on OceanBase).
    fn opts(&self, ssl: Option<SslOpts>) -> Opts {
        OptsBuilder::default()
            .ip_or_hostname(self.host.clone())
            .tcp_port(self.port)
            .user(Some(self.user.clone()))
            .pass(Some(self.password.clone()))
            .prefer_socket(false)
            .ssl_opts(ssl)
            .setup(vec!["SET time_zone = '+00:00'".to_string()])
            .into()
    }

    pub fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Opens one connection, failing after a bounded time when the host does not answer.
    pub async fn connect(&self) -> Result<Conn, ConnectError> {
        Ok(self.connect_with_tls().await?.0)
    }

    /// Opens one connection with the endpoint's TLS mode; also says whether the
    /// connection is encrypted. `preferred` is a TLS attempt followed, only when the server
    /// offers no TLS at all, by a plain one: `mysql_async` has no such mode itself (with
    /// TLS options it requires TLS), and a failed handshake or a refused certificate must
    /// not silently become a plain connection.
    pub async fn connect_with_tls(&self) -> Result<(Conn, bool), ConnectError> {
        let ssl = self
            .tls
            .ssl_opts()
            .map_err(|e| self.connect_error_of(e.into()))?;
        let Some(ssl) = ssl else {
            return Ok((self.open(self.opts(None)).await?, false));
        };
        match self.open(self.opts(Some(ssl))).await {
            Ok(conn) => Ok((conn, true)),
            Err(e)
                if self.tls.mode == TlsMode::Preferred
                    && e.sql().is_some_and(|s| server_lacks_tls(s.inner())) =>
            {
                tracing::debug!(source = %self.address(), "the source offers no TLS; connecting without (tls mode preferred)");
                Ok((self.open(self.opts(None)).await?, false))
            }
            Err(e) => Err(e),
        }
    }

    async fn open(&self, opts: Opts) -> Result<Conn, ConnectError> {
        let attempt = tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(opts)).await;
        let result = match attempt {
            Ok(r) => r,
            Err(_) => Err(mysql_async::Error::Io(mysql_async::IoError::Io(
                std::io::Error::new(std::io::ErrorKind::TimedOut, "connection timed out"),
            ))),
        };
        result.map_err(|source| self.connect_error(source))
    }

    /// A pool for parallel readers, with the TLS the endpoint's mode settles on: for
    /// `preferred` one connection is opened first to learn whether the server offers TLS
    /// (a pool keeps one set of options for all its connections).
    pub async fn pool(&self) -> Result<Pool, ConnectError> {
        let ssl = self
            .tls
            .ssl_opts()
            .map_err(|e| self.connect_error_of(e.into()))?;
        let ssl = match (ssl, self.tls.mode) {
            (Some(ssl), TlsMode::Preferred) => {
                let (probe, encrypted) = self.connect_with_tls().await?;
                // The probe only answered a question; a failed goodbye changes nothing.
                let _ = probe.disconnect().await;
                encrypted.then_some(ssl)
            }
            (ssl, _) => ssl,
        };
        Ok(Pool::new(self.opts(ssl)))
    }

    pub fn connect_error(&self, source: mysql_async::Error) -> ConnectError {
        self.connect_error_of(SqlError::from(source).into())
    }

    fn connect_error_of(&self, source: ConnectFailure) -> ConnectError {
        let full = matches!(&source, ConnectFailure::Sql(s) if s.is_connection_limit());
        ConnectError {
            held: full.then(|| Box::new(crate::usage::usage(&self.address()))),
            flavor: self.flavor,
            host: self.host.clone(),
            port: self.port,
            user: self.user.as_str().into(),
            tls: self.tls.mode,
            source,
        }
    }
}

/// What this process held on a full server.
fn held_text(held: &Option<Box<crate::usage::Usage>>) -> String {
    held.as_ref().map(|u| format!("; {u}")).unwrap_or_default()
}

/// What to check, from the kind of failure.
fn advice(failure: &ConnectFailure, mode: TlsMode) -> &'static str {
    let sql = match failure {
        ConnectFailure::TlsSetup(_) => return "check the TLS settings",
        ConnectFailure::Sql(sql) => sql,
    };
    // ER_CON_COUNT_ERROR / ER_TOO_MANY_USER_CONNECTIONS: the login was fine, the server
    // (or the user's quota) is full; a running project retries it.
    if sql.is_connection_limit() {
        return "the server has no free connection for this user (max_connections, or the \
                user's max_user_connections): raise it on the server above what obsync and \
                the other clients hold, lower snapshot_parallelism, or run fewer projects on \
                this source at once; a running project keeps retrying with backoff";
    }
    let e = sql.inner();
    if server_lacks_tls(e) {
        return "the server offers no TLS, which the TLS mode needs: enable TLS on the \
                server (ssl_cert and ssl_key), or choose TLS mode preferred or disabled";
    }
    if !is_tls_failure(e) {
        return "check host, port, user and password, and that the server is running";
    }
    match mode {
        TlsMode::VerifyIdentity => {
            "the TLS handshake failed: check that the server's certificate is signed by \
             the CA file (by a CA the system trusts when none is set) and names the host \
             connected to, or use TLS mode verify_ca to skip the name check"
        }
        TlsMode::VerifyCa => {
            "the TLS handshake failed: check that the server's certificate is signed by \
             the CA file (by a CA the system trusts when none is set)"
        }
        _ => {
            "the TLS handshake failed: check the server's TLS setup and, when the user is \
             created REQUIRE X509, the client certificate"
        }
    }
}

fn server_lacks_tls(e: &mysql_async::Error) -> bool {
    matches!(
        e,
        mysql_async::Error::Driver(DriverError::NoClientSslFlagFromServer)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_error(code: u16) -> ConnectFailure {
        ConnectFailure::Sql(SqlError::from(mysql_async::Error::Server(
            mysql_async::ServerError {
                code,
                message: "refused".into(),
                state: "HY000".into(),
            },
        )))
    }

    #[test]
    fn a_full_server_is_not_blamed_on_the_credentials() {
        let full = advice(&server_error(1040), TlsMode::Preferred);
        assert!(full.contains("max_connections"), "{full}");
        assert!(!full.contains("password"), "{full}");
        let denied = advice(&server_error(1045), TlsMode::Preferred);
        assert!(denied.contains("user and password"), "{denied}");
    }
}
