//! The one way an error reaches a person: its message and every cause after it.
//!
//! Convention (see ARCHITECTURE.md, "Cross-cutting"): an error's message never repeats
//! its cause; the cause is only its `source()`. Printing the chain once at the edge
//! (CLI, status `last_error`, precheck items, log fields) then shows every cause
//! exactly once, the driver's own text included.

use serde::{Deserialize, Serialize};
use std::error::Error;
use std::fmt;

/// An error's causes, outermost first (its `source()`, that one's, and so on): the one
/// walk of a chain, which [`ErrorChain`] and [`ErrorReport`] share.
pub fn causes<'a>(error: &'a (dyn Error + 'a)) -> impl Iterator<Item = &'a (dyn Error + 'static)> {
    std::iter::successors(error.source(), |&c| c.source())
}

/// Displays an error and its `source()` chain on one line, joined by `": "`.
///
/// ```
/// use obsync_model::ErrorChain;
/// let io = std::io::Error::new(std::io::ErrorKind::Other, "disk full");
/// assert_eq!(ErrorChain(&io).to_string(), "disk full");
/// ```
#[derive(Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn Error + 'a));

impl fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        for cause in causes(self.0) {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// An error kept as data: its message and each cause's, for a status, an event log or
/// an API answer that shows them apart. Displays as [`ErrorChain`] does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorReport {
    pub message: String,
    /// The causes, outermost first.
    pub causes: Vec<String>,
}

impl ErrorReport {
    pub fn from_error(error: &(dyn Error + '_)) -> ErrorReport {
        ErrorReport {
            message: error.to_string(),
            causes: causes(error).map(|c| c.to_string()).collect(),
        }
    }
}

impl fmt::Display for ErrorReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.message)?;
        for cause in &self.causes {
            write!(f, ": {cause}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading the orders failed")]
    struct Outer {
        #[source]
        source: Middle,
    }

    #[derive(Debug, thiserror::Error)]
    #[error("query on shop.orders failed")]
    struct Middle {
        #[source]
        source: std::io::Error,
    }

    #[test]
    fn every_cause_is_printed_once_in_order() {
        let e = Outer {
            source: Middle {
                source: std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused"),
            },
        };
        assert_eq!(
            ErrorChain(&e).to_string(),
            "reading the orders failed: query on shop.orders failed: refused"
        );
        assert_eq!(format!("{:?}", ErrorChain(&e)), ErrorChain(&e).to_string());
    }

    #[test]
    fn a_report_keeps_each_cause_apart_and_displays_as_the_chain() {
        let e = Outer {
            source: Middle {
                source: std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused"),
            },
        };
        let report = ErrorReport::from_error(&e);
        assert_eq!(report.message, "reading the orders failed");
        assert_eq!(report.causes, ["query on shop.orders failed", "refused"]);
        assert_eq!(report.to_string(), ErrorChain(&e).to_string());
    }
}
