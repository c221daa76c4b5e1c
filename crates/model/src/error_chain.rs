//! The one way an error reaches a person: its message and every cause after it.
//!
//! Convention (see ARCHITECTURE.md, "Cross-cutting"): an error's message never repeats
//! its cause; the cause is only its `source()`. Printing the chain once at the edge
//! (CLI, status `last_error`, precheck items, log fields) then shows every cause
//! exactly once, the driver's own text included.

use std::error::Error;
use std::fmt;

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
        let mut cause = self.0.source();
        while let Some(c) = cause {
            write!(f, ": {c}")?;
            cause = c.source();
        }
        Ok(())
    }
}

impl fmt::Debug for ErrorChain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
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
}
