//! The MySQL client library's errors, shown once.

use std::fmt;

/// An error of `mysql_async`, displayed as its innermost text and ending the chain.
///
/// `mysql_async` writes each cause into its parent's message *and* returns it from
/// `source()` (`Input/output error: Input/output error: Connection refused`), so a
/// chain printer walking it repeats the cause. This wrapper shows the part a person
/// acts on once: the server's `ERROR 1045 (28000): Access denied …`, the operating
/// system's `Connection refused`, or the driver's own complaint.
#[derive(Debug)]
pub struct SqlError(mysql_async::Error);

impl SqlError {
    /// The library's error, for matching on its variants.
    pub fn inner(&self) -> &mysql_async::Error {
        &self.0
    }

    /// The server's error code, when the server answered with an error.
    pub fn server_code(&self) -> Option<u16> {
        match &self.0 {
            mysql_async::Error::Server(s) => Some(s.code),
            _ => None,
        }
    }

    /// Whether a fresh connection may succeed where this failed: the network, a server
    /// restart or shutdown, a killed connection, a full server
    /// ([`SqlError::is_connection_limit`]). Never a refused login or certificate.
    pub fn is_transient(&self) -> bool {
        crate::binlog::is_transient_sql(&self.0)
    }

    /// Whether nothing answered: the network or the operating system failed (refused,
    /// reset, timed out), not the server.
    pub fn is_unanswered(&self) -> bool {
        matches!(&self.0, mysql_async::Error::Io(mysql_async::IoError::Io(_)))
    }

    /// Whether the server refused the connection for want of a free one: 1040 (its
    /// `max_connections`) or 1203 (the user's `max_user_connections`).
    pub fn is_connection_limit(&self) -> bool {
        matches!(self.server_code(), Some(1040 | 1203))
    }
}

impl From<mysql_async::Error> for SqlError {
    fn from(e: mysql_async::Error) -> Self {
        Self(e)
    }
}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use mysql_async::{Error, IoError};
        match &self.0 {
            Error::Server(s) => write!(f, "{s}"),
            Error::Io(IoError::Io(e)) => write!(f, "{e}"),
            #[allow(unreachable_patterns)] // the TLS variant exists with a TLS feature only
            Error::Io(e) => write!(f, "{e}"),
            Error::Driver(e) => write!(f, "{e}"),
            Error::Url(e) => write!(f, "{e}"),
            Error::Other(e) => write!(f, "{e}"),
        }
    }
}

/// Ends the chain: the text above already holds the one cause worth showing.
impl std::error::Error for SqlError {}

#[cfg(test)]
mod tests {
    use super::*;
    use obsync_model::ErrorChain;

    #[test]
    fn an_io_error_is_shown_once() {
        let e = SqlError::from(mysql_async::Error::Io(mysql_async::IoError::Io(
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused"),
        )));
        assert_eq!(ErrorChain(&e).to_string(), "Connection refused");
    }
}
